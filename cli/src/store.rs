//! The embedded state store: an SQLite database holding the newest configuration item of every
//! resource scanned (tombstones for deleted ones), the complete recordings seen per account and
//! region, the current result per resource × check, plan readiness, and the history of
//! transitions and scans, so that a scan can say what changed since the previous one. What to
//! keep is decided by `crate::mirror`; the comparison of results is `shared::domain::state`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use shared::domain::engine::ScanResult;
use shared::domain::model::{ConfigurationItem, LiveFacts};
use shared::domain::plans::PlanStatus;
use shared::domain::state::{self, Diff, EvalKey, PlanTransition, Recorded};
use shared::domain::vocab::{Compliance, Plan};

use crate::mirror::{Coverage, Key, StoredItem};

/// Errors of the store, naming the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("state database {path}: {source}")]
    Sql { path: String, source: rusqlite::Error },
    /// The directory could not be created.
    #[error("state database {path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The database holds something this version does not understand.
    #[error("state database {path}: {message}")]
    Corrupt { path: String, message: String },
}

const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scans (
  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, source TEXT NOT NULL, snapshot_id TEXT,
  items INTEGER NOT NULL, evaluations INTEGER NOT NULL, written INTEGER NOT NULL,
  removed INTEGER NOT NULL, stale INTEGER NOT NULL, tombstoned INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  account_id TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, aws_region TEXT NOT NULL,
  capture_time TEXT, deleted INTEGER NOT NULL, body TEXT, facts TEXT, scan_id INTEGER NOT NULL,
  PRIMARY KEY (account_id, resource_type, resource_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS coverage (
  account_id TEXT NOT NULL, aws_region TEXT NOT NULL, captured_at TEXT, resource_types TEXT NOT NULL,
  source TEXT NOT NULL, scan_id INTEGER NOT NULL,
  PRIMARY KEY (account_id, aws_region)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS evaluations (
  account_id TEXT NOT NULL, aws_region TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
  check_id TEXT NOT NULL, plan TEXT NOT NULL, compliance TEXT NOT NULL, annotation TEXT NOT NULL,
  capture_time TEXT, scan_id INTEGER NOT NULL,
  PRIMARY KEY (account_id, aws_region, resource_type, resource_id, check_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS evaluations_by_plan ON evaluations (plan, compliance, account_id);
CREATE TABLE IF NOT EXISTS plan_status (
  account_id TEXT NOT NULL, aws_region TEXT NOT NULL, plan TEXT NOT NULL, status TEXT NOT NULL,
  blockers TEXT NOT NULL, unverified INTEGER NOT NULL, scan_id INTEGER NOT NULL,
  PRIMARY KEY (account_id, aws_region, plan)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS transitions (
  id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL, account_id TEXT NOT NULL, aws_region TEXT NOT NULL,
  resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, check_id TEXT NOT NULL, plan TEXT NOT NULL,
  previous TEXT, current TEXT, annotation TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plan_transitions (
  id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL, account_id TEXT NOT NULL, aws_region TEXT NOT NULL,
  plan TEXT NOT NULL, previous TEXT, current TEXT NOT NULL);
";

/// The tables that hold rows of an account.
const ACCOUNT_TABLES: [&str; 6] = [
    "items",
    "coverage",
    "evaluations",
    "plan_status",
    "transitions",
    "plan_transitions",
];

/// The store.
pub struct Store {
    conn: Connection,
    path: String,
}

/// One account as `store list` shows it.
pub struct AccountSummary {
    /// The account id.
    pub account_id: String,
    /// Regions (and `global`) with a complete recording.
    pub recorded_regions: usize,
    /// Resources recorded (not deleted).
    pub resources: usize,
    /// Results recorded.
    pub results: usize,
    /// When a scan last recorded one of its items.
    pub last_scan: Option<DateTime<Utc>>,
}

/// What recording a scan changed.
pub struct Recording {
    /// Start time of the previous scan, if any.
    pub previous_scan: Option<DateTime<Utc>>,
    /// The evaluation diff.
    pub diff: Diff,
    /// Plan readiness changes.
    pub plan_transitions: Vec<PlanTransition>,
}

/// Creates the store's directory (owner only) and its file (owner read and write) if they do
/// not exist: the store holds the accounts' configuration. SQLite gives its WAL and
/// shared-memory files the database file's mode.
#[cfg(unix)]
fn create_private(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

#[cfg(not(unix))]
fn create_private(file: &Path) -> std::io::Result<()> {
    match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir),
        None => Ok(()),
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let p = path.display().to_string();
        let io = |source| StoreError::Io {
            path: p.clone(),
            source,
        };
        create_private(path).map_err(io)?;
        let sql = |source| StoreError::Sql {
            path: p.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            .map_err(sql)?;
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0))
            .optional()
            .map_err(sql)?;
        match version.as_deref().map(str::parse::<i64>) {
            None => {
                conn.execute_batch(SCHEMA).map_err(sql)?;
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )
                .map_err(sql)?;
            }
            Some(Ok(SCHEMA_VERSION)) => conn.execute_batch(SCHEMA).map_err(sql)?,
            Some(Ok(older)) if older < SCHEMA_VERSION => {
                return Err(StoreError::Corrupt {
                    path: p,
                    message: format!(
                        "written by an earlier version (schema {older}), which kept results but not the \
                         configuration items this version merges: move it away or pass another --db, \
                         and scan again"
                    ),
                })
            }
            Some(_) => {
                return Err(StoreError::Corrupt {
                    path: p,
                    message: format!("schema version {version:?} is not {SCHEMA_VERSION}: use another --db"),
                })
            }
        }
        Ok(Self { conn, path: p })
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, message: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            message,
        }
    }

    fn load(&self, accounts: &BTreeSet<String>) -> Result<HashMap<EvalKey, Recorded>, StoreError> {
        let mut out = HashMap::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT aws_region, resource_type, resource_id, check_id, plan, compliance, annotation, capture_time
                 FROM evaluations WHERE account_id = ?1",
            )
            .map_err(self.sql())?;
        for account in accounts {
            let rows = stmt
                .query_map([account], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                })
                .map_err(self.sql())?;
            for row in rows {
                let (region, rtype, rid, check, plan, compliance, annotation, capture) = row.map_err(self.sql())?;
                let plan = Plan::parse(&plan).ok_or_else(|| self.corrupt(format!("unknown plan `{plan}`")))?;
                let compliance = Compliance::parse(&compliance)
                    .ok_or_else(|| self.corrupt(format!("unknown compliance `{compliance}`")))?;
                let capture_time = self.time(capture)?;
                out.insert(
                    EvalKey {
                        account_id: account.clone(),
                        aws_region: region,
                        resource_type: rtype,
                        resource_id: rid,
                        check_id: check,
                    },
                    Recorded {
                        plan,
                        compliance,
                        annotation,
                        capture_time,
                    },
                );
            }
        }
        Ok(out)
    }

    fn load_plans(
        &self,
        accounts: &BTreeSet<String>,
    ) -> Result<BTreeMap<(String, String, Plan), PlanStatus>, StoreError> {
        let mut out = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT aws_region, plan, status FROM plan_status WHERE account_id = ?1")
            .map_err(self.sql())?;
        for account in accounts {
            let rows = stmt
                .query_map([account], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })
                .map_err(self.sql())?;
            for row in rows {
                let (region, plan, status) = row.map_err(self.sql())?;
                let plan = Plan::parse(&plan).ok_or_else(|| self.corrupt(format!("unknown plan `{plan}`")))?;
                let status = PlanStatus::parse(&status)
                    .ok_or_else(|| self.corrupt(format!("unknown plan status `{status}`")))?;
                out.insert((account.clone(), region, plan), status);
            }
        }
        Ok(out)
    }

    /// Every recorded result of `account` (the report's input).
    pub fn results(&self, account: &str) -> Result<Vec<shared::domain::vocab::Evaluation>, StoreError> {
        let mut out: Vec<shared::domain::vocab::Evaluation> = self
            .load(&BTreeSet::from([account.to_owned()]))?
            .into_iter()
            .map(|(k, r)| r.into_evaluation(k))
            .collect();
        out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Ok(out)
    }

    /// Every recorded readiness (the report's input).
    pub fn readiness_rows(&self) -> Result<Vec<shared::domain::plans::ReadinessRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT account_id, aws_region, plan, status, blockers, unverified FROM plan_status
                 ORDER BY account_id, aws_region, plan",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (account_id, aws_region, plan, status, blockers, unverified) = row.map_err(self.sql())?;
            // The store keeps every blocker.
            let blockers: Vec<shared::domain::plans::Blocker> =
                serde_json::from_str(&blockers).map_err(|e| self.corrupt(format!("blockers: {e}")))?;
            out.push(shared::domain::plans::ReadinessRow {
                account_id,
                aws_region,
                plan: Plan::parse(&plan).ok_or_else(|| self.corrupt(format!("unknown plan `{plan}`")))?,
                status: PlanStatus::parse(&status)
                    .ok_or_else(|| self.corrupt(format!("unknown plan status `{status}`")))?,
                blocker_count: blockers.len(),
                blockers,
                unverified: usize::try_from(unverified).unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// The recorded resources of `accounts` (without their text).
    pub fn stored_items(&self, accounts: &BTreeSet<String>) -> Result<HashMap<Key, StoredItem>, StoreError> {
        let mut out = HashMap::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT resource_type, resource_id, aws_region, capture_time, deleted, facts IS NOT NULL FROM items
                 WHERE account_id = ?1",
            )
            .map_err(self.sql())?;
        for account in accounts {
            let rows = stmt
                .query_map([account], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, bool>(5)?,
                    ))
                })
                .map_err(self.sql())?;
            for row in rows {
                let (rtype, rid, region, capture, deleted, has_facts) = row.map_err(self.sql())?;
                out.insert(
                    (account.clone(), rtype, rid),
                    StoredItem {
                        region,
                        capture_time: self.time(capture)?,
                        deleted,
                        has_facts,
                    },
                );
            }
        }
        Ok(out)
    }

    fn time(&self, t: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
        t.map(|c| DateTime::parse_from_rfc3339(&c).map(|t| t.with_timezone(&Utc)))
            .transpose()
            .map_err(|e| self.corrupt(format!("bad time: {e}")))
    }

    /// The complete recordings of `accounts`, per account and region.
    pub fn coverage(&self, accounts: &BTreeSet<String>) -> Result<BTreeMap<(String, String), Coverage>, StoreError> {
        let mut out = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT aws_region, captured_at, resource_types, source FROM coverage WHERE account_id = ?1")
            .map_err(self.sql())?;
        for account in accounts {
            let rows = stmt
                .query_map([account], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .map_err(self.sql())?;
            for row in rows {
                let (region, time, types, source) = row.map_err(self.sql())?;
                let types = serde_json::from_str(&types).map_err(|e| self.corrupt(format!("coverage types: {e}")))?;
                out.insert(
                    (account.clone(), region),
                    Coverage {
                        time: self.time(time)?,
                        types,
                        source,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Every account recorded, with what is recorded of it.
    pub fn accounts(&self) -> Result<Vec<AccountSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.account_id,
                   (SELECT COUNT(*) FROM coverage c WHERE c.account_id = a.account_id),
                   (SELECT COUNT(*) FROM items i WHERE i.account_id = a.account_id AND i.deleted = 0),
                   (SELECT COUNT(*) FROM evaluations e WHERE e.account_id = a.account_id),
                   (SELECT MAX(s.started_at) FROM scans s WHERE s.id IN
                      (SELECT scan_id FROM items i WHERE i.account_id = a.account_id))
                 FROM (SELECT account_id FROM items UNION SELECT account_id FROM evaluations
                       UNION SELECT account_id FROM coverage) a ORDER BY a.account_id",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (account_id, regions, resources, results, last) = row.map_err(self.sql())?;
            out.push(AccountSummary {
                account_id,
                recorded_regions: usize::try_from(regions).unwrap_or(0),
                resources: usize::try_from(resources).unwrap_or(0),
                results: usize::try_from(results).unwrap_or(0),
                last_scan: self.time(last)?,
            });
        }
        Ok(out)
    }

    /// Removes every row of `accounts` (items, coverage, results, readiness, changes); returns
    /// how many.
    pub fn forget(&mut self, accounts: &[String]) -> Result<usize, StoreError> {
        let statements: Vec<(String, Option<&str>)> = ACCOUNT_TABLES
            .iter()
            .flat_map(|t| {
                accounts
                    .iter()
                    .map(move |a| (format!("DELETE FROM {t} WHERE account_id = ?1"), Some(a.as_str())))
            })
            .collect();
        self.delete_in_one_transaction(&statements)
    }

    /// Removes everything recorded; returns how many rows.
    pub fn reset(&mut self) -> Result<usize, StoreError> {
        let statements: Vec<(String, Option<&str>)> = ACCOUNT_TABLES
            .iter()
            .chain(&["scans"])
            .map(|t| (format!("DELETE FROM {t}"), None))
            .collect();
        self.delete_in_one_transaction(&statements)
    }

    fn delete_in_one_transaction(&mut self, statements: &[(String, Option<&str>)]) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let mut removed = 0;
        for (statement, account) in statements {
            removed += match account {
                Some(a) => tx.execute(statement, [a]),
                None => tx.execute(statement, []),
            }
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(removed)
    }

    /// The service-API facts recorded with the resources `wanted` (JSON of `LiveFacts`), for those
    /// that have them.
    pub fn facts_of(&self, wanted: &HashSet<&Key>) -> Result<HashMap<Key, String>, StoreError> {
        let accounts: BTreeSet<&str> = wanted.iter().map(|k| k.0.as_str()).collect();
        let mut out = HashMap::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT resource_type, resource_id, facts FROM items
                 WHERE account_id = ?1 AND deleted = 0 AND facts IS NOT NULL",
            )
            .map_err(self.sql())?;
        for account in accounts {
            let mut rows = stmt.query([account]).map_err(self.sql())?;
            while let Some(r) = rows.next().map_err(self.sql())? {
                let key: Key = (
                    account.to_owned(),
                    r.get(0).map_err(self.sql())?,
                    r.get(1).map_err(self.sql())?,
                );
                if wanted.contains(&key) {
                    out.insert(key, r.get(2).map_err(self.sql())?);
                }
            }
        }
        Ok(out)
    }

    /// The recorded configuration items `wanted` (each must be recorded and not deleted).
    pub fn items_of(&self, wanted: &HashSet<&Key>) -> Result<Vec<ConfigurationItem>, StoreError> {
        let accounts: BTreeSet<&str> = wanted.iter().map(|k| k.0.as_str()).collect();
        let mut out = Vec::with_capacity(wanted.len());
        let mut stmt = self
            .conn
            .prepare("SELECT resource_type, resource_id, body, facts FROM items WHERE account_id = ?1 AND deleted = 0")
            .map_err(self.sql())?;
        for account in accounts {
            let mut rows = stmt.query([account]).map_err(self.sql())?;
            while let Some(r) = rows.next().map_err(self.sql())? {
                let key: Key = (
                    account.to_owned(),
                    r.get(0).map_err(self.sql())?,
                    r.get(1).map_err(self.sql())?,
                );
                if !wanted.contains(&key) {
                    continue;
                }
                // Compressed (a BLOB), or plain text as stores before compression wrote it.
                let body = match r.get_ref(2).map_err(self.sql())? {
                    rusqlite::types::ValueRef::Blob(b) => inflate(b).map_err(|e| {
                        self.corrupt(format!("item {} {}: its text cannot be inflated: {e}", key.1, key.2))
                    })?,
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    _ => return Err(self.corrupt(format!("item {} {} has no text", key.1, key.2))),
                };
                let mut item = ConfigurationItem::from_json(&body, None)
                    .map_err(|e| self.corrupt(format!("recorded item {} {}: {e}", key.1, key.2)))?;
                let facts: Option<String> = r.get(3).map_err(self.sql())?;
                if let Some(facts) = facts {
                    let facts: LiveFacts = serde_json::from_str(&facts)
                        .map_err(|e| self.corrupt(format!("recorded facts of {} {}: {e}", key.1, key.2)))?;
                    item.resource
                        .apply_live(facts)
                        .map_err(|e| self.corrupt(format!("recorded facts of {} {}: {e}", key.1, key.2)))?;
                }
                out.push(item);
            }
        }
        if out.len() != wanted.len() {
            return Err(self.corrupt(format!(
                "{} recorded items could not be found",
                wanted.len() - out.len()
            )));
        }
        Ok(out)
    }

    /// Records a scan in one transaction: nothing is half-written if it fails.
    pub fn record(&mut self, scan: &ScanRecord<'_>) -> Result<Recording, StoreError> {
        let result = scan.result;
        let previous = self.load(scan.accounts)?;
        let previous_plans = self.load_plans(scan.accounts)?;
        let previous_scan: Option<String> = self
            .conn
            .query_row("SELECT MAX(started_at) FROM scans", [], |r| r.get(0))
            .map_err(self.sql())?;
        let previous_scan = previous_scan
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc));
        let mut diff = state::replace(&previous, &result.evaluations, scan.accounts);
        // The results of a resource the input held but could not read are kept as they are.
        let kept = |k: &EvalKey| {
            scan.unreadable
                .contains(&(k.resource_type.clone(), k.resource_id.clone()))
        };
        diff.removals.retain(|k| !kept(k));
        diff.transitions.retain(|t| t.current.is_some() || !kept(&t.key));
        diff.stale = scan.stale;
        let plan_transitions = state::plan_diff(&previous_plans, &result.plans);
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        tx.execute(
            "INSERT INTO scans (started_at, source, snapshot_id, items, evaluations, written, removed, stale, tombstoned)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                now,
                scan.source,
                scan.snapshot_id,
                result.items as i64,
                result.evaluations.len() as i64,
                diff.upserts.len() as i64,
                diff.removals.len() as i64,
                diff.stale as i64,
                scan.tombstoned as i64
            ],
        )
        .map_err(sql)?;
        let scan_id = tx.last_insert_rowid();
        {
            let mut put = tx
                .prepare(
                    "INSERT OR REPLACE INTO items (account_id, resource_type, resource_id, aws_region, capture_time,
                       deleted, body, facts, scan_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(sql)?;
            for w in &scan.items {
                put.execute(params![
                    w.key.0,
                    w.key.1,
                    w.key.2,
                    w.region,
                    time(w.capture_time),
                    w.body.is_none(),
                    w.body.map(deflate),
                    w.facts,
                    scan_id
                ])
                .map_err(sql)?;
            }
            let mut cov = tx
                .prepare(
                    "INSERT OR REPLACE INTO coverage (account_id, aws_region, captured_at, resource_types, source, scan_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sql)?;
            for ((account, region), c) in &scan.coverage {
                cov.execute(params![
                    account,
                    region,
                    time(c.time),
                    serde_json::to_string(&c.types).unwrap_or_else(|_| "[]".to_owned()),
                    c.source,
                    scan_id
                ])
                .map_err(sql)?;
            }
            let mut up = tx
                .prepare(
                    "INSERT OR REPLACE INTO evaluations (account_id, aws_region, resource_type, resource_id, check_id,
                       plan, compliance, annotation, capture_time, scan_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sql)?;
            for (k, r) in &diff.upserts {
                up.execute(params![
                    k.account_id,
                    k.aws_region,
                    k.resource_type,
                    k.resource_id,
                    k.check_id,
                    r.plan.as_str(),
                    r.compliance.as_str(),
                    r.annotation,
                    time(r.capture_time),
                    scan_id
                ])
                .map_err(sql)?;
            }
            let mut del = tx
                .prepare(
                    "DELETE FROM evaluations WHERE account_id = ?1 AND aws_region = ?2 AND resource_type = ?3
                     AND resource_id = ?4 AND check_id = ?5",
                )
                .map_err(sql)?;
            for k in &diff.removals {
                del.execute(params![
                    k.account_id,
                    k.aws_region,
                    k.resource_type,
                    k.resource_id,
                    k.check_id
                ])
                .map_err(sql)?;
            }
            let mut tr = tx
                .prepare(
                    "INSERT INTO transitions (scan_id, account_id, aws_region, resource_type, resource_id, check_id,
                       plan, previous, current, annotation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sql)?;
            // An account's first recording is its starting state: of its results, only the open
            // ones (NON_COMPLIANT, INSUFFICIENT_DATA) are recorded as changes ("first seen
            // failing"); a first COMPLIANT or NOT_APPLICABLE result is not a change worth a row (a
            // first scan of 100,000 items wrote 600,000 "new" rows). Accounts with results
            // before get every transition.
            let known: std::collections::HashSet<&str> = previous.keys().map(|k| k.account_id.as_str()).collect();
            let worth_a_row = |t: &&state::Transition| {
                t.previous.is_some()
                    || known.contains(t.key.account_id.as_str())
                    || matches!(t.current, Some(Compliance::NonCompliant | Compliance::InsufficientData))
            };
            for t in diff.transitions.iter().filter(worth_a_row) {
                tr.execute(params![
                    scan_id,
                    t.key.account_id,
                    t.key.aws_region,
                    t.key.resource_type,
                    t.key.resource_id,
                    t.key.check_id,
                    t.plan.as_str(),
                    t.previous.map(Compliance::as_str),
                    t.current.map(Compliance::as_str),
                    t.annotation
                ])
                .map_err(sql)?;
            }
            // Plan rows are the rollup of the results just recorded, for the whole accounts.
            let mut clear = tx
                .prepare("DELETE FROM plan_status WHERE account_id = ?1")
                .map_err(sql)?;
            for account in scan.accounts {
                clear.execute([account]).map_err(sql)?;
            }
            let mut ps = tx
                .prepare(
                    "INSERT OR REPLACE INTO plan_status (account_id, aws_region, plan, status, blockers, unverified, scan_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql)?;
            for p in &result.plans {
                let blockers = serde_json::to_string(&p.blockers).unwrap_or_else(|_| "[]".to_owned());
                ps.execute(params![
                    p.account_id,
                    p.aws_region,
                    p.plan.as_str(),
                    p.status.as_str(),
                    blockers,
                    p.unverified.len() as i64,
                    scan_id
                ])
                .map_err(sql)?;
            }
            let mut pt = tx
                .prepare(
                    "INSERT INTO plan_transitions (scan_id, account_id, aws_region, plan, previous, current)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sql)?;
            for t in &plan_transitions {
                pt.execute(params![
                    scan_id,
                    t.account_id,
                    t.aws_region,
                    t.plan.as_str(),
                    t.previous.map(PlanStatus::as_str),
                    t.current.as_str()
                ])
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(Recording {
            previous_scan,
            diff,
            plan_transitions,
        })
    }
}

/// An item's text as the store keeps it: zlib-compressed (configuration items are repetitive
/// JSON: about a tenth of their size), read back by [`inflate`].
fn deflate(text: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::with_capacity(text.len() / 4), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(text.as_bytes());
    z.finish().unwrap_or_default()
}

fn inflate(bytes: &[u8]) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(bytes).read_to_string(&mut text)?;
    Ok(text)
}

/// One resource to write: its newest item (`body`), or a tombstone (`body` None).
pub struct ItemWrite<'a> {
    /// The resource.
    pub key: &'a Key,
    /// Its region.
    pub region: &'a str,
    /// Capture time of the item, or of the recording it was absent from.
    pub capture_time: Option<DateTime<Utc>>,
    /// The item's JSON text (None: deleted).
    pub body: Option<&'a str>,
    /// Service-API facts read with it (JSON).
    pub facts: Option<&'a str>,
}

/// What a scan records.
pub struct ScanRecord<'a> {
    /// The evaluation of the whole accounts concerned, from their newest items.
    pub result: &'a ScanResult,
    /// The accounts concerned.
    pub accounts: &'a BTreeSet<String>,
    /// The inputs, named.
    pub source: &'a str,
    /// Snapshot id, with one snapshot input.
    pub snapshot_id: Option<&'a str>,
    /// Items and tombstones to write.
    pub items: Vec<ItemWrite<'a>>,
    /// Coverage rows to write.
    pub coverage: Vec<(&'a (String, String), &'a Coverage)>,
    /// Input items older than what was recorded.
    pub stale: usize,
    /// Resources newly marked deleted.
    pub tombstoned: usize,
    /// (type, id) of items the inputs held but could not read: their results are kept.
    pub unreadable: &'a HashSet<(String, String)>,
}

fn port_error(e: StoreError) -> shared::app::ports::PortError {
    shared::app::ports::PortError {
        operation: "sqlite",
        message: e.to_string(),
        retryable: false,
    }
}

impl shared::app::ports::ReadinessReader for Store {
    async fn readiness(&self) -> Result<Vec<shared::domain::plans::ReadinessRow>, shared::app::ports::PortError> {
        self.readiness_rows().map_err(port_error)
    }

    async fn results(
        &self,
        account: &str,
    ) -> Result<Vec<shared::domain::vocab::Evaluation>, shared::app::ports::PortError> {
        Store::results(self, account).map_err(port_error)
    }

    async fn changes(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<shared::domain::state::RecordedChange>, shared::app::ports::PortError> {
        self.changes_since(since).map_err(port_error)
    }
}

impl Store {
    /// The changes recorded by scans that started at or after `since`.
    pub fn changes_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<shared::domain::state::RecordedChange>, StoreError> {
        let since = since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut out = Vec::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.started_at, t.account_id, t.aws_region, t.plan, t.resource_type, t.resource_id, t.check_id,
                        COALESCE(t.previous, ''), COALESCE(t.current, '')
                 FROM transitions t JOIN scans s ON s.id = t.scan_id WHERE s.started_at >= ?1
                 UNION ALL
                 SELECT s.started_at, p.account_id, p.aws_region, p.plan, NULL, NULL, NULL,
                        COALESCE(p.previous, ''), p.current
                 FROM plan_transitions p JOIN scans s ON s.id = p.scan_id WHERE s.started_at >= ?1",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([&since], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                ))
            })
            .map_err(self.sql())?;
        for row in rows {
            let (at, account_id, aws_region, plan, rtype, rid, check, previous, current) = row.map_err(self.sql())?;
            out.push(shared::domain::state::RecordedChange {
                at: DateTime::parse_from_rfc3339(&at)
                    .map_err(|e| self.corrupt(format!("scan time: {e}")))?
                    .with_timezone(&Utc),
                account_id,
                aws_region,
                plan: Plan::parse(&plan).ok_or_else(|| self.corrupt(format!("unknown plan `{plan}`")))?,
                result: match (rtype, rid, check) {
                    (Some(t), Some(i), Some(c)) => Some((t, i, c)),
                    _ => None,
                },
                previous,
                current,
            });
        }
        Ok(out)
    }
}
