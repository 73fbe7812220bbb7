//! The embedded state store: an SQLite database holding the newest configuration item of every
//! resource scanned (tombstones for deleted ones), the complete recordings seen per account and
//! region, the current result per resource × check, plan readiness, and the history of
//! transitions and scans, so that a scan can say what changed since the previous one. What to
//! keep is decided by `crate::mirror`; the comparison of results is `shared::domain::state`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};
use shared::domain::model::{ConfigurationItem, LiveFacts};
use shared::domain::plans::PlanStatus;
use shared::domain::state::{self, Diff, PlanTransition};
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

const SCHEMA_VERSION: i64 = 3;

/// The compliance codes of `results` and `changes` (0..=3), and the names the views show.
const COMPLIANCE_CODES: [Compliance; 4] = [
    Compliance::Compliant,
    Compliance::NonCompliant,
    Compliance::NotApplicable,
    Compliance::InsufficientData,
];

fn compliance_code(c: Compliance) -> i64 {
    COMPLIANCE_CODES.iter().position(|x| *x == c).unwrap_or(0) as i64
}

/// The compliance a code stands for (`None`: not a code this version writes).
fn compliance_of(code: i64) -> Option<Compliance> {
    usize::try_from(code)
        .ok()
        .and_then(|c| COMPLIANCE_CODES.get(c).copied())
}

/// A compliance code as SQL shows it (`column`'s name), for the views.
macro_rules! compliance_name_sql {
    ($column:literal) => {
        concat!(
            "CASE ",
            $column,
            " WHEN 0 THEN 'COMPLIANT' WHEN 1 THEN 'NON_COMPLIANT' ",
            "WHEN 2 THEN 'NOT_APPLICABLE' WHEN 3 THEN 'INSUFFICIENT_DATA' END"
        )
    };
}

/// Results are kept compactly: each resource, check and annotation text once (`resources`,
/// `checks`, `texts`), a result as small integers (`results`: resource, check, compliance code,
/// text, capture time in milliseconds), and likewise the history of changes (`changes`). The
/// views `evaluations` and `transitions` show them with their names, as a user queries them.
const SCHEMA: &str = concat!(
    "
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
CREATE TABLE IF NOT EXISTS dictionaries (
  account_id TEXT NOT NULL, resource_type TEXT NOT NULL, dictionary BLOB NOT NULL,
  PRIMARY KEY (account_id, resource_type)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS resources (
  rid INTEGER PRIMARY KEY, account_id TEXT NOT NULL, aws_region TEXT NOT NULL, resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL, UNIQUE (account_id, aws_region, resource_type, resource_id));
CREATE TABLE IF NOT EXISTS checks (cid INTEGER PRIMARY KEY, check_id TEXT NOT NULL UNIQUE, plan TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS texts (tid INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS results (
  rid INTEGER NOT NULL, cid INTEGER NOT NULL, compliance INTEGER NOT NULL, tid INTEGER NOT NULL,
  capture_ms INTEGER, scan_id INTEGER NOT NULL, PRIMARY KEY (rid, cid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
  id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL, rid INTEGER NOT NULL, cid INTEGER NOT NULL,
  previous INTEGER, current INTEGER, tid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS changes_by_resource ON changes (rid);
CREATE TABLE IF NOT EXISTS plan_status (
  account_id TEXT NOT NULL, aws_region TEXT NOT NULL, plan TEXT NOT NULL, status TEXT NOT NULL,
  blockers TEXT NOT NULL, unverified INTEGER NOT NULL, scan_id INTEGER NOT NULL, blocker_count INTEGER,
  PRIMARY KEY (account_id, aws_region, plan)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS plan_transitions (
  id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL, account_id TEXT NOT NULL, aws_region TEXT NOT NULL,
  plan TEXT NOT NULL, previous TEXT, current TEXT NOT NULL);
CREATE VIEW IF NOT EXISTS evaluations AS
  SELECT r.account_id, r.aws_region, r.resource_type, r.resource_id, c.check_id, c.plan,
    ",
    compliance_name_sql!("e.compliance"),
    " AS compliance, t.text AS annotation,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.capture_ms / 1000.0, 'unixepoch') AS capture_time, e.scan_id
  FROM results e JOIN resources r ON r.rid = e.rid JOIN checks c ON c.cid = e.cid JOIN texts t ON t.tid = e.tid;
CREATE VIEW IF NOT EXISTS transitions AS
  SELECT h.id, h.scan_id, r.account_id, r.aws_region, r.resource_type, r.resource_id, c.check_id, c.plan,
    ",
    compliance_name_sql!("h.previous"),
    " AS previous, ",
    compliance_name_sql!("h.current"),
    " AS current, t.text AS annotation
  FROM changes h JOIN resources r ON r.rid = h.rid JOIN checks c ON c.cid = h.cid JOIN texts t ON t.tid = h.tid;
"
);

/// From schema 2 (results and changes with their names in every row) to 3: the rows move to
/// the compact tables, then the old tables go (run in one transaction, after [`SCHEMA`]'s
/// tables exist under the old tables' renamed copies).
const MIGRATE_2_TO_3: &str = concat!(
    "
ALTER TABLE evaluations RENAME TO evaluations_v2;
ALTER TABLE transitions RENAME TO transitions_v2;
DROP INDEX IF EXISTS evaluations_by_plan;
",
    "@SCHEMA@",
    "
INSERT OR IGNORE INTO resources (account_id, aws_region, resource_type, resource_id)
  SELECT account_id, aws_region, resource_type, resource_id FROM evaluations_v2
  UNION SELECT account_id, aws_region, resource_type, resource_id FROM transitions_v2;
INSERT OR IGNORE INTO checks (check_id, plan)
  SELECT check_id, plan FROM evaluations_v2 UNION SELECT check_id, plan FROM transitions_v2;
INSERT OR IGNORE INTO texts (text)
  SELECT annotation FROM evaluations_v2 UNION SELECT annotation FROM transitions_v2;
INSERT INTO results (rid, cid, compliance, tid, capture_ms, scan_id)
  SELECT r.rid, c.cid,
    CASE e.compliance WHEN 'COMPLIANT' THEN 0 WHEN 'NON_COMPLIANT' THEN 1 WHEN 'NOT_APPLICABLE' THEN 2 ELSE 3 END,
    t.tid, CAST(ROUND((julianday(e.capture_time) - 2440587.5) * 86400000.0) AS INTEGER), e.scan_id
  FROM evaluations_v2 e
  JOIN resources r ON r.account_id = e.account_id AND r.aws_region = e.aws_region
    AND r.resource_type = e.resource_type AND r.resource_id = e.resource_id
  JOIN checks c ON c.check_id = e.check_id JOIN texts t ON t.text = e.annotation;
INSERT INTO changes (id, scan_id, rid, cid, previous, current, tid)
  SELECT h.id, h.scan_id, r.rid, c.cid,
    CASE h.previous WHEN 'COMPLIANT' THEN 0 WHEN 'NON_COMPLIANT' THEN 1 WHEN 'NOT_APPLICABLE' THEN 2
      WHEN 'INSUFFICIENT_DATA' THEN 3 END,
    CASE h.current WHEN 'COMPLIANT' THEN 0 WHEN 'NON_COMPLIANT' THEN 1 WHEN 'NOT_APPLICABLE' THEN 2
      WHEN 'INSUFFICIENT_DATA' THEN 3 END,
    t.tid
  FROM transitions_v2 h
  JOIN resources r ON r.account_id = h.account_id AND r.aws_region = h.aws_region
    AND r.resource_type = h.resource_type AND r.resource_id = h.resource_id
  JOIN checks c ON c.check_id = h.check_id JOIN texts t ON t.text = h.annotation;
DROP TABLE evaluations_v2;
DROP TABLE transitions_v2;
UPDATE meta SET value = '3' WHERE key = 'schema_version';
"
);

/// The statements that remove an account's rows (`?1`); the last two remove only names.
const FORGET_ACCOUNT: [&str; 8] = [
    "DELETE FROM results WHERE rid IN (SELECT rid FROM resources WHERE account_id = ?1)",
    "DELETE FROM changes WHERE rid IN (SELECT rid FROM resources WHERE account_id = ?1)",
    "DELETE FROM items WHERE account_id = ?1",
    "DELETE FROM coverage WHERE account_id = ?1",
    "DELETE FROM plan_status WHERE account_id = ?1",
    "DELETE FROM plan_transitions WHERE account_id = ?1",
    "DELETE FROM dictionaries WHERE account_id = ?1",
    "DELETE FROM resources WHERE account_id = ?1",
];

/// The tables `store reset` empties; rows of the last four are not counted (what other rows point to).
const ALL_TABLES: [&str; 11] = [
    "results",
    "changes",
    "items",
    "coverage",
    "plan_status",
    "plan_transitions",
    "scans",
    "dictionaries",
    "resources",
    "checks",
    "texts",
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

impl Recording {
    /// Adds what another part of the same scan changed (other accounts).
    pub fn absorb(&mut self, other: Recording) {
        let (d, o) = (&mut self.diff, other.diff);
        d.upserts.extend(o.upserts);
        d.removals.extend(o.removals);
        d.transitions.extend(o.transitions);
        d.stale += o.stale;
        d.unchanged += o.unchanged;
        d.redated += o.redated;
        self.plan_transitions.extend(other.plan_transitions);
    }
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
        let sql = sql_error(&p);
        let conn = Connection::open(path).map_err(sql)?;
        // Pages of 16 KB for a store created now (SQLite fixes the page size when it creates the
        // database; on an existing one this does nothing): a first scan of 100,000 items was
        // recorded a tenth faster than with the default 4 KB (32 KB was slower).
        conn.pragma_update(None, "page_size", 16384).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
        // Statement journals in memory: each statement of rows (`Rows`) journals the pages it
        // changes that existed before it, a page or two; into a temporary file, a first scan of
        // 100,000 items wrote 550 MB there.
        conn.pragma_update(None, "temp_store", "MEMORY").map_err(sql)?;
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
            Some(Ok(2)) => {
                let migrate = format!(
                    "BEGIN IMMEDIATE;\n{}\nCOMMIT;",
                    MIGRATE_2_TO_3.replace("@SCHEMA@", SCHEMA)
                );
                if let Err(e) = conn.execute_batch(&migrate) {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(sql(e));
                }
            }
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
        // A plan row keeps its first blockers and their count (`blocker_count`, added to schema
        // 3 in place: a row without one keeps every blocker).
        let counted: bool = conn
            .query_row(
                "SELECT COUNT(*) > 0 FROM pragma_table_info('plan_status') WHERE name = 'blocker_count'",
                [],
                |r| r.get(0),
            )
            .map_err(sql)?;
        if !counted {
            conn.execute_batch("ALTER TABLE plan_status ADD COLUMN blocker_count INTEGER")
                .map_err(sql)?;
        }
        Ok(Self { conn, path: p })
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
        sql_error(&self.path)
    }

    fn corrupt(&self, message: String) -> StoreError {
        corrupt_error(&self.path, message)
    }

    /// Every recorded result of `account` (the report's input), in key order.
    pub fn results(&self, account: &str) -> Result<Vec<shared::domain::vocab::Evaluation>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.aws_region, r.resource_type, r.resource_id, c.check_id, c.plan, e.compliance, t.text,
                        e.capture_ms
                 FROM resources r JOIN results e ON e.rid = r.rid JOIN checks c ON c.cid = e.cid
                   JOIN texts t ON t.tid = e.tid
                 WHERE r.account_id = ?1",
            )
            .map_err(self.sql())?;
        let mut rows = stmt.query([account]).map_err(self.sql())?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(self.sql())? {
            let get = |n| r.get::<_, String>(n);
            let plan: String = get(4).map_err(self.sql())?;
            out.push(shared::domain::vocab::Evaluation {
                account_id: account.into(),
                aws_region: get(0).map_err(self.sql())?.into(),
                resource_type: get(1).map_err(self.sql())?.into(),
                resource_id: get(2).map_err(self.sql())?.into(),
                check_id: get(3).map_err(self.sql())?.into(),
                plan: Plan::parse(&plan).ok_or_else(|| self.corrupt(format!("unknown plan `{plan}`")))?,
                compliance: self.compliance(r.get(5).map_err(self.sql())?)?,
                annotation: get(6).map_err(self.sql())?.into(),
                capture_time: r.get::<_, Option<i64>>(7).map_err(self.sql())?.and_then(from_ms),
            });
        }
        out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Ok(out)
    }

    fn compliance(&self, code: i64) -> Result<Compliance, StoreError> {
        compliance_of(code).ok_or_else(|| self.corrupt(format!("unknown compliance code {code}")))
    }

    /// Every recorded readiness (the report's input).
    pub fn readiness_rows(&self) -> Result<Vec<shared::domain::plans::ReadinessRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT account_id, aws_region, plan, status, blockers, unverified, blocker_count FROM plan_status
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
                    r.get::<_, Option<i64>>(6)?,
                ))
            })
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (account_id, aws_region, plan, status, blockers, unverified, count) = row.map_err(self.sql())?;
            // The first blockers and their count; every blocker in a row written without one.
            let blockers: Vec<shared::domain::plans::Blocker> =
                serde_json::from_str(&blockers).map_err(|e| self.corrupt(format!("blockers: {e}")))?;
            out.push(shared::domain::plans::ReadinessRow {
                account_id,
                aws_region,
                plan: Plan::parse(&plan).ok_or_else(|| self.corrupt(format!("unknown plan `{plan}`")))?,
                status: PlanStatus::parse(&status)
                    .ok_or_else(|| self.corrupt(format!("unknown plan status `{status}`")))?,
                blocker_count: count.map_or(blockers.len(), |n| usize::try_from(n).unwrap_or(0)),
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
                   (SELECT COUNT(*) FROM resources r JOIN results e ON e.rid = r.rid
                      WHERE r.account_id = a.account_id),
                   (SELECT MAX(s.started_at) FROM scans s WHERE s.id IN
                      (SELECT scan_id FROM items i WHERE i.account_id = a.account_id))
                 FROM (SELECT account_id FROM items UNION SELECT account_id FROM resources
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
        let statements: Vec<(String, Option<&str>)> = FORGET_ACCOUNT
            .iter()
            .flat_map(|t| accounts.iter().map(move |a| ((*t).to_owned(), Some(a.as_str()))))
            .collect();
        let names = 2 * accounts.len();
        self.delete_in_one_transaction(&statements, names)
    }

    /// Removes everything recorded; returns how many rows.
    pub fn reset(&mut self) -> Result<usize, StoreError> {
        let statements: Vec<(String, Option<&str>)> =
            ALL_TABLES.iter().map(|t| (format!("DELETE FROM {t}"), None)).collect();
        self.delete_in_one_transaction(&statements, 4)
    }

    /// Runs `statements` in one transaction; returns the rows removed by all but the last
    /// `names` statements (those remove only the names other rows pointed to).
    fn delete_in_one_transaction(
        &mut self,
        statements: &[(String, Option<&str>)],
        names: usize,
    ) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let sql = sql_error(&path);
        let tx = self.conn.transaction().map_err(sql)?;
        let mut removed = 0;
        let counted = statements.len().saturating_sub(names);
        for (n, (statement, account)) in statements.iter().enumerate() {
            let rows = match account {
                Some(a) => tx.execute(statement, [a]),
                None => tx.execute(statement, []),
            }
            .map_err(sql)?;
            if n < counted {
                removed += rows;
            }
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
        let dictionaries = dictionaries_of(&self.conn).map_err(self.sql())?;
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
                    rusqlite::types::ValueRef::Blob(b) => {
                        inflate(b, dictionaries.get(&(key.0.clone(), key.1.clone())).map(Vec::as_slice)).map_err(
                            |e| self.corrupt(format!("item {} {}: its text cannot be inflated: {e}", key.1, key.2)),
                        )?
                    }
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

    /// The compression dictionaries of `items` within the open scan: the store's own, and for
    /// an account and type it holds none of, the first such item's text, recorded as its
    /// dictionary (forgetting the account removes it).
    pub fn packer(&mut self, _open: &OpenScan, items: &[ItemWrite<'_>]) -> Result<Packer, StoreError> {
        let sql = self.sql();
        let mut dictionaries: HashMap<String, HashMap<String, Vec<u8>>> = HashMap::new();
        for ((account, rtype), dictionary) in dictionaries_of(&self.conn).map_err(&sql)? {
            dictionaries.entry(account).or_default().insert(rtype, dictionary);
        }
        let mut insert = self
            .conn
            .prepare_cached("INSERT INTO dictionaries (account_id, resource_type, dictionary) VALUES (?1, ?2, ?3)")
            .map_err(&sql)?;
        for w in items {
            let Some(text) = w.body else { continue };
            let types = dictionaries.entry(w.key.0.clone()).or_default();
            if !types.contains_key(&w.key.1) {
                insert
                    .execute(params![w.key.0, w.key.1, text.as_bytes()])
                    .map_err(&sql)?;
                types.insert(w.key.1.clone(), text.as_bytes().to_vec());
            }
        }
        Ok(Packer { dictionaries })
    }

    /// Starts recording a scan: one transaction, ended by [`Store::commit_scan`] (or
    /// [`Store::rollback_scan`]), into which [`Store::record_part`] writes the accounts in parts
    /// (an organization an account at a time). The store's reads see what the parts wrote.
    pub fn begin_scan(&mut self) -> Result<OpenScan, StoreError> {
        let previous_scan: Option<String> = self
            .conn
            .query_row("SELECT MAX(started_at) FROM scans", [], |r| r.get(0))
            .map_err(self.sql())?;
        let previous_scan = previous_scan
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc));
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(self.sql())?;
        let inserted = self.conn.execute(
            "INSERT INTO scans (started_at, source, snapshot_id, items, evaluations, written, removed, stale, tombstoned)
             VALUES (?1, '', NULL, 0, 0, 0, 0, 0, 0)",
            params![now],
        );
        if let Err(e) = inserted {
            self.rollback_scan();
            return Err(self.sql()(e));
        }
        Ok(OpenScan {
            scan_id: self.conn.last_insert_rowid(),
            previous_scan,
            totals: [0; 6],
        })
    }

    /// Ends the scan's transaction, its row counting what its parts wrote.
    pub fn commit_scan(&mut self, open: OpenScan, source: &str, snapshot_id: Option<&str>) -> Result<(), StoreError> {
        let [items, evaluations, written, removed, stale, tombstoned] = open.totals;
        let done = self
            .conn
            .execute(
                "UPDATE scans SET source = ?1, snapshot_id = ?2, items = ?3, evaluations = ?4, written = ?5,
                   removed = ?6, stale = ?7, tombstoned = ?8 WHERE id = ?9",
                params![
                    source,
                    snapshot_id,
                    items,
                    evaluations,
                    written,
                    removed,
                    stale,
                    tombstoned,
                    open.scan_id
                ],
            )
            .and_then(|_| self.conn.execute_batch("COMMIT"));
        if let Err(e) = done {
            self.rollback_scan();
            return Err(self.sql()(e));
        }
        Ok(())
    }

    /// Abandons the scan's transaction: nothing of it is recorded.
    pub fn rollback_scan(&mut self) {
        // Nothing to do if SQLite already rolled it back (it does on some errors).
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    /// Starts recording one part of a scan (some accounts, whole) in its transaction: what
    /// changed since the previous scan for those accounts. The part's results are then given
    /// as they come ([`PartRecorder::results`]), its items once compressed
    /// ([`PartRecorder::items`]), and [`PartRecorder::finish`] writes the rest.
    pub fn recorder<'s>(
        &'s mut self,
        open: &OpenScan,
        scan: &'s ScanRecord<'s>,
    ) -> Result<PartRecorder<'s>, StoreError> {
        let sql = self.sql();
        let tx = &self.conn;
        Ok(PartRecorder {
            path: &self.path,
            tx,
            scan,
            scan_id: open.scan_id,
            previous_scan: open.previous_scan,
            names: Names::new(tx).map_err(&sql)?,
            up: Rows::new(
                tx,
                "INSERT OR REPLACE INTO results (rid, cid, compliance, tid, capture_ms, scan_id) VALUES ",
            ),
            previous_of: tx
                .prepare(
                    "SELECT e.rid, e.cid, e.compliance, e.tid, e.capture_ms FROM resources r
                         JOIN results e ON e.rid = r.rid WHERE r.account_id = ?1",
                )
                .map_err(&sql)?,
            diff: Diff {
                stale: scan.stale,
                ..Diff::default()
            },
            counts: [0; 3],
            changes: Rows::new(
                tx,
                "INSERT INTO changes (scan_id, rid, cid, previous, current, tid) VALUES ",
            ),
            transitions: Vec::new(),
            account: None,
            done: BTreeSet::new(),
            items_written: false,
        })
    }
}

/// One part of a scan being recorded (see [`Store::recorder`]): each account's results are
/// compared with what is recorded and written as they come, so that a large account's results
/// are never all held.
pub struct PartRecorder<'s> {
    path: &'s str,
    tx: &'s Connection,
    scan: &'s ScanRecord<'s>,
    scan_id: i64,
    previous_scan: Option<DateTime<Utc>>,
    names: Names<'s>,
    up: Rows<'s, Option<i64>, 6>,
    previous_of: rusqlite::Statement<'s>,
    diff: Diff,
    /// Results given, written, removed.
    counts: [i64; 3],
    changes: Rows<'s, Option<i64>, 6>,
    /// The transitions listed (see [`PartRecorder::listed`]).
    transitions: Vec<state::Transition>,
    /// The account whose results are coming.
    account: Option<AccountResults>,
    /// The accounts whose results came.
    done: BTreeSet<String>,
    items_written: bool,
}

/// What is recorded of the account whose results are coming.
struct AccountResults {
    id: String,
    previous: Previous,
    /// Whether the account has results recorded before (see [`PartRecorder::results`]).
    known: bool,
}

impl PartRecorder<'_> {
    fn corrupt(&self, message: String) -> StoreError {
        corrupt_error(self.path, message)
    }

    /// Which transitions the recording lists (rows are written for them either way).
    fn listed(&self) -> bool {
        match self.scan.listing {
            Listing::Every => true,
            Listing::AfterFirstScan => self.previous_scan.is_some(),
            Listing::None => false,
        }
    }

    /// Compares results of the scan with what is recorded, and writes what changed: each
    /// account's results given one after another (any number of calls; in any order within
    /// the account).
    pub fn results(&mut self, part: &[shared::domain::vocab::Evaluation]) -> Result<(), StoreError> {
        let listed = self.listed();
        for e in part {
            if self.account.as_ref().is_none_or(|a| a.id != *e.account_id) {
                self.end_account()?;
                self.begin_account(&e.account_id)?;
            }
            let sql = sql_error(self.path);
            let rid = self
                .names
                .resource(&e.aws_region, &e.resource_type, &e.resource_id)
                .map_err(sql)?;
            let cid = self.names.check(&e.check_id, e.plan).map_err(sql)?;
            let tid = self.names.text(&e.annotation).map_err(sql)?;
            let code = compliance_code(e.compliance);
            let ms = e.capture_time.map(|t| t.timestamp_millis());
            let Some(account) = self.account.as_mut() else {
                continue;
            };
            // The change to record and list, if any: the previous compliance and the text
            // kept with it (-1: listed, not kept).
            let (write, change) = match account.previous.take((rid, cid)) {
                // The same result from a newer capture: re-dated (no transition), so that a late
                // input captured in between cannot win over this newer evidence.
                Some((c, t, old_ms)) if c == code && t == tid => {
                    if ms > old_ms {
                        self.diff.redated += 1;
                        (true, None)
                    } else {
                        self.diff.unchanged += 1;
                        (false, None)
                    }
                }
                Some((c, _, _)) => (true, (c != code).then(|| (compliance_of(c), tid))),
                None => {
                    // An account's first recording is its starting state: of its results, only
                    // the open ones (NON_COMPLIANT, INSUFFICIENT_DATA) are recorded as changes
                    // ("first seen failing"); a first COMPLIANT or NOT_APPLICABLE result is not
                    // a change worth a row (a first scan of 100,000 items wrote 600,000 "new"
                    // rows). Accounts with results before get every transition.
                    let worth_a_row = account.known
                        || matches!(e.compliance, Compliance::NonCompliant | Compliance::InsufficientData);
                    (
                        true,
                        worth_a_row.then_some((None, tid)).or(listed.then_some((None, -1))),
                    )
                }
            };
            if let Some((previous, kept)) = change {
                if kept >= 0 {
                    self.changes
                        .push([
                            Some(self.scan_id),
                            Some(rid),
                            Some(cid),
                            previous.map(compliance_code),
                            Some(code),
                            Some(kept),
                        ])
                        .map_err(sql)?;
                }
                if listed {
                    self.transitions.push(state::Transition {
                        key: state::EvalKey::of(e),
                        plan: e.plan,
                        previous,
                        current: Some(e.compliance),
                        annotation: e.annotation.clone(),
                    });
                }
            }
            if write {
                self.up
                    .push([Some(rid), Some(cid), Some(code), Some(tid), ms, Some(self.scan_id)])
                    .map_err(sql)?;
                self.counts[1] += 1;
            }
        }
        self.counts[0] += part.len() as i64;
        Ok(())
    }

    fn begin_account(&mut self, account: &str) -> Result<(), StoreError> {
        if self.done.contains(account) {
            return Err(self.corrupt(format!(
                "the results of account {account} were given apart (an account's come one after another)"
            )));
        }
        let sql = sql_error(self.path);
        let previous = Previous::read(&mut self.previous_of, account).map_err(sql)?;
        self.names.load_resources(account, previous.resources()).map_err(sql)?;
        self.account = Some(AccountResults {
            id: account.to_owned(),
            known: !previous.is_empty(),
            previous,
        });
        Ok(())
    }

    /// Ends the account whose results came last: the rest of its new resources and results
    /// are written, then its recorded results the input no longer holds are removed, where the
    /// input covers the account, unless their resource was in the input but could not be read.
    fn end_account(&mut self) -> Result<(), StoreError> {
        let Some(account) = self.account.take() else {
            return Ok(());
        };
        let sql = sql_error(self.path);
        self.names.flush().map_err(sql)?;
        self.up.flush().map_err(sql)?;
        self.done.insert(account.id.clone());
        if !self.scan.accounts.contains(&account.id) {
            return Ok(());
        }
        let listed = self.listed();
        for ((rid, cid), (c, tid, _)) in account.previous.rest() {
            let (region, rtype, id) = self.names.resource_key(rid).map_err(sql)?;
            if self.scan.unreadable.contains(&(rtype.clone(), id.clone())) {
                continue;
            }
            let before = compliance_of(c).ok_or_else(|| self.corrupt(format!("unknown compliance code {c}")))?;
            self.changes
                .push([Some(self.scan_id), Some(rid), Some(cid), Some(c), None, Some(tid)])
                .map_err(sql)?;
            if listed {
                let (check_id, plan) = self.names.check_key(cid).map_err(sql)?;
                let plan = Plan::parse(&plan).ok_or_else(|| self.corrupt(format!("unknown plan `{plan}`")))?;
                self.transitions.push(state::Transition {
                    key: state::EvalKey {
                        account_id: account.id.as_str().into(),
                        aws_region: region.into(),
                        resource_type: rtype.into(),
                        resource_id: id.into(),
                        check_id: check_id.into(),
                    },
                    plan,
                    previous: Some(before),
                    current: None,
                    annotation: self.names.text_of(tid).map_err(sql)?.into(),
                });
            }
            self.tx
                .prepare_cached("DELETE FROM results WHERE rid = ?1 AND cid = ?2")
                .and_then(|mut del| del.execute(params![rid, cid]))
                .map_err(sql)?;
            self.counts[2] += 1;
        }
        self.changes.flush().map_err(sql)
    }

    /// Writes the part's items (`packed`: `scan.items` compressed by this scan's
    /// [`Store::packer`]), once; at any time before [`PartRecorder::finish`].
    pub fn items(&mut self, packed: Packed) -> Result<(), StoreError> {
        let scan = self.scan;
        if self.items_written {
            return Err(self.corrupt("the part's items were given twice".to_owned()));
        }
        if packed.0.len() != scan.items.len() {
            return Err(self.corrupt(format!(
                "{} items to write but {} compressed",
                scan.items.len(),
                packed.0.len()
            )));
        }
        let path = self.path;
        let sql = sql_error(path);
        let time = time_text;
        let mut put = Rows::new(
            self.tx,
            "INSERT OR REPLACE INTO items (account_id, resource_type, resource_id, aws_region, capture_time,
               deleted, body, facts, scan_id) VALUES ",
        );
        let text = text_value;
        let null = ToSqlOutput::Owned(Value::Null);
        for (w, body) in scan.items.iter().zip(packed.0) {
            put.push([
                text(&w.key.0),
                text(&w.key.1),
                text(&w.key.2),
                text(w.region),
                time(w.capture_time).map_or(null.clone(), |t| ToSqlOutput::Owned(Value::Text(t))),
                ToSqlOutput::Owned(Value::Integer(i64::from(w.body.is_none()))),
                body.map_or(null.clone(), |b| ToSqlOutput::Owned(Value::Blob(b))),
                w.facts.map_or(null.clone(), text),
                ToSqlOutput::Owned(Value::Integer(self.scan_id)),
            ])
            .map_err(sql)?;
        }
        put.flush().map_err(sql)?;
        self.items_written = true;
        Ok(())
    }

    /// Ends the part (its items written): the accounts concerned that had no result, the plan
    /// rows (`plans`: the rollup of the part's results, for the whole accounts) and the coverage.
    /// `items`: how many items the part evaluated.
    pub fn finish(
        mut self,
        open: &mut OpenScan,
        plans: &[shared::domain::plans::PlanReadiness],
        items: usize,
    ) -> Result<Recording, StoreError> {
        if !self.items_written {
            return Err(self.corrupt("the part's items were not written".to_owned()));
        }
        self.end_account()?;
        let scan = self.scan;
        for account in scan.accounts {
            if !self.done.contains(account) {
                self.begin_account(account)?;
                self.end_account()?;
            }
        }
        let Self {
            path,
            tx,
            scan_id,
            previous_scan,
            mut diff,
            mut transitions,
            counts: [evaluations, written, removed],
            ..
        } = self;
        let sql = sql_error(path);
        // In key order, whatever the order the results came in (stable: a key given twice
        // keeps the order given).
        transitions.sort_by(|a, b| a.key.cmp(&b.key));
        diff.transitions = transitions;
        // Plan rows are the rollup of the results just recorded, for the whole accounts.
        let previous_plans = load_plans(tx, path, scan.accounts)?;
        let plan_transitions = state::plan_diff(&previous_plans, plans);
        let mut clear = tx
            .prepare("DELETE FROM plan_status WHERE account_id = ?1")
            .map_err(sql)?;
        for account in scan.accounts {
            clear.execute([account]).map_err(sql)?;
        }
        let mut ps = tx
            .prepare(
                "INSERT OR REPLACE INTO plan_status
                   (account_id, aws_region, plan, status, blockers, unverified, scan_id, blocker_count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(sql)?;
        for p in plans {
            // The first blockers and their count, as the deployed store keeps them (a large
            // account's rows held 15 MB of blockers, every one of which is a result row anyway).
            let listed = &p.blockers[..p.blockers.len().min(shared::app::record::BLOCKERS_KEPT)];
            let blockers = serde_json::to_string(listed).unwrap_or_else(|_| "[]".to_owned());
            ps.execute(params![
                p.account_id,
                p.aws_region,
                p.plan.as_str(),
                p.status.as_str(),
                blockers,
                p.unverified.len() as i64,
                scan_id,
                p.blocker_count as i64
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
        let time = time_text;
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
        for (total, n) in open.totals.iter_mut().zip([
            items as i64,
            evaluations,
            written,
            removed,
            scan.stale as i64,
            scan.tombstoned as i64,
        ]) {
            *total += n;
        }
        Ok(Recording {
            previous_scan,
            diff,
            plan_transitions,
        })
    }
}

/// A time as the store writes it (RFC 3339, milliseconds).
fn time_text(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// What SQLite failing on the store at `path` is.
fn sql_error(path: &str) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
    move |source| StoreError::Sql {
        path: path.to_owned(),
        source,
    }
}

/// The store at `path` holding something this version does not understand.
fn corrupt_error(path: &str, message: String) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        message,
    }
}

/// The plan rows recorded of `accounts`.
fn load_plans(
    conn: &Connection,
    path: &str,
    accounts: &BTreeSet<String>,
) -> Result<BTreeMap<(String, String, Plan), PlanStatus>, StoreError> {
    let sql = sql_error(path);
    let corrupt = |message| corrupt_error(path, message);
    let mut out = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT aws_region, plan, status FROM plan_status WHERE account_id = ?1")
        .map_err(sql)?;
    for account in accounts {
        let rows = stmt
            .query_map([account], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(sql)?;
        for row in rows {
            let (region, plan, status) = row.map_err(sql)?;
            let plan = Plan::parse(&plan).ok_or_else(|| corrupt(format!("unknown plan `{plan}`")))?;
            let status =
                PlanStatus::parse(&status).ok_or_else(|| corrupt(format!("unknown plan status `{status}`")))?;
            out.insert((account.clone(), region, plan), status);
        }
    }
    Ok(out)
}

/// A scan being recorded (see [`Store::begin_scan`]).
#[derive(Debug)]
pub struct OpenScan {
    scan_id: i64,
    previous_scan: Option<DateTime<Utc>>,
    /// Items, evaluations, written, removed, stale, tombstoned, over the parts so far.
    totals: [i64; 6],
}

/// A text bound without a copy.
fn text_value(t: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes()))
}

/// Rows inserted a hundred to a statement: one statement's overhead, not a hundred (600,000
/// results of a first scan of 100,000 items took half as long).
struct Rows<'c, T, const N: usize> {
    conn: &'c Connection,
    /// The statement up to its rows: `INSERT INTO t (a, b) VALUES `.
    insert: &'static str,
    rows: Vec<[T; N]>,
}

impl<'c, T: rusqlite::ToSql, const N: usize> Rows<'c, T, N> {
    const AT_ONCE: usize = 100;

    fn new(conn: &'c Connection, insert: &'static str) -> Self {
        Self {
            conn,
            insert,
            rows: Vec::with_capacity(Self::AT_ONCE),
        }
    }

    fn push(&mut self, row: [T; N]) -> rusqlite::Result<()> {
        self.rows.push(row);
        if self.rows.len() == Self::AT_ONCE {
            self.flush()?;
        }
        Ok(())
    }

    /// Inserts the rows pushed so far.
    fn flush(&mut self) -> rusqlite::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let row = format!("({}),", vec!["?"; N].join(","));
        let mut sql = String::from(self.insert);
        sql.push_str(&row.repeat(self.rows.len()));
        sql.pop();
        let mut stmt = self.conn.prepare_cached(&sql)?;
        for (i, value) in self.rows.iter().flatten().enumerate() {
            stmt.raw_bind_parameter(i + 1, value)?;
        }
        stmt.raw_execute()?;
        self.rows.clear();
        Ok(())
    }
}

/// The compression dictionary of each account and resource type (see [`deflate`]).
fn dictionaries_of(conn: &Connection) -> rusqlite::Result<HashMap<(String, String), Vec<u8>>> {
    let mut stmt = conn.prepare("SELECT account_id, resource_type, dictionary FROM dictionaries")?;
    let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
    rows.collect()
}

/// A time kept as milliseconds since the epoch, read back.
fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The row ids of the names results point to (resources, checks, annotation texts), looked up
/// and added within a recording's transaction; each name is asked of SQLite once per scan.
struct Names<'t> {
    tx: &'t Connection,
    /// The number the next new resource takes (the scan is the store's only writer).
    next_rid: i64,
    /// New resources not inserted yet (see [`Names::flush`]).
    new_resources: Rows<'t, Value, 5>,
    account: String,
    resources: FastMap<(String, String, String), i64>,
    last: Option<((String, String, String), i64)>,
    checks: FastMap<String, (i64, String)>,
    texts: FastMap<String, i64>,
}

/// A map looked up once or more per result: hashed with foldhash (randomly seeded) rather than
/// SipHash, which was a tenth of the recording thread's time.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

impl<'t> Names<'t> {
    fn new(tx: &'t Connection) -> rusqlite::Result<Self> {
        let mut checks = FastMap::default();
        let mut stmt = tx.prepare("SELECT cid, check_id, plan FROM checks")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            checks.insert(r.get(1)?, (r.get(0)?, r.get(2)?));
        }
        let next_rid = tx.query_row("SELECT COALESCE(MAX(rid), 0) + 1 FROM resources", [], |r| r.get(0))?;
        Ok(Self {
            tx,
            next_rid,
            new_resources: Rows::new(
                tx,
                "INSERT INTO resources (rid, account_id, aws_region, resource_type, resource_id) VALUES ",
            ),
            account: String::new(),
            resources: FastMap::default(),
            last: None,
            checks,
            texts: FastMap::default(),
        })
    }

    /// The resources of `account` (one account's at a time), with room for `more`.
    fn load_resources(&mut self, account: &str, more: usize) -> rusqlite::Result<()> {
        self.account = account.to_owned();
        self.resources.clear();
        self.resources.reserve(more);
        self.last = None;
        let mut stmt = self.tx.prepare_cached(
            "SELECT rid, aws_region, resource_type, resource_id FROM resources WHERE account_id = ?1",
        )?;
        let mut rows = stmt.query([account])?;
        while let Some(r) = rows.next()? {
            self.resources.insert((r.get(1)?, r.get(2)?, r.get(3)?), r.get(0)?);
        }
        Ok(())
    }

    fn resource(&mut self, region: &str, rtype: &str, id: &str) -> rusqlite::Result<i64> {
        // A resource's results come one after another: the last one asked, without a lookup.
        if let Some((k, rid)) = &self.last {
            if k.0 == region && k.1 == rtype && k.2 == id {
                return Ok(*rid);
            }
        }
        let key = (region.to_owned(), rtype.to_owned(), id.to_owned());
        if let Some(rid) = self.resources.get(&key) {
            self.last = Some((key, *rid));
            return Ok(*rid);
        }
        let rid = self.next_rid;
        self.next_rid += 1;
        self.new_resources.push([
            Value::Integer(rid),
            Value::Text(self.account.clone()),
            Value::Text(key.0.clone()),
            Value::Text(key.1.clone()),
            Value::Text(key.2.clone()),
        ])?;
        self.resources.insert(key.clone(), rid);
        self.last = Some((key, rid));
        Ok(rid)
    }

    /// Inserts the new resources [`Names::resource`] numbered.
    fn flush(&mut self) -> rusqlite::Result<()> {
        self.new_resources.flush()
    }

    fn resource_key(&self, rid: i64) -> rusqlite::Result<(String, String, String)> {
        self.tx
            .prepare_cached("SELECT aws_region, resource_type, resource_id FROM resources WHERE rid = ?1")?
            .query_row([rid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    }

    fn check(&mut self, check_id: &str, plan: Plan) -> rusqlite::Result<i64> {
        match self.checks.get(check_id) {
            Some((cid, p)) if p == plan.as_str() => return Ok(*cid),
            Some((cid, _)) => {
                let cid = *cid;
                self.tx.execute(
                    "UPDATE checks SET plan = ?1 WHERE cid = ?2",
                    params![plan.as_str(), cid],
                )?;
                self.checks.insert(check_id.to_owned(), (cid, plan.as_str().to_owned()));
                return Ok(cid);
            }
            None => {}
        }
        self.tx.execute(
            "INSERT INTO checks (check_id, plan) VALUES (?1, ?2)",
            params![check_id, plan.as_str()],
        )?;
        let cid = self.tx.last_insert_rowid();
        self.checks.insert(check_id.to_owned(), (cid, plan.as_str().to_owned()));
        Ok(cid)
    }

    fn check_key(&self, cid: i64) -> rusqlite::Result<(String, String)> {
        self.tx
            .prepare_cached("SELECT check_id, plan FROM checks WHERE cid = ?1")?
            .query_row([cid], |r| Ok((r.get(0)?, r.get(1)?)))
    }

    fn text(&mut self, text: &str) -> rusqlite::Result<i64> {
        if let Some(tid) = self.texts.get(text) {
            return Ok(*tid);
        }
        let found: Option<i64> = self
            .tx
            .prepare_cached("SELECT tid FROM texts WHERE text = ?1")?
            .query_row([text], |r| r.get(0))
            .optional()?;
        let tid = match found {
            Some(tid) => tid,
            None => {
                self.tx
                    .prepare_cached("INSERT INTO texts (text) VALUES (?1)")?
                    .execute([text])?;
                self.tx.last_insert_rowid()
            }
        };
        self.texts.insert(text.to_owned(), tid);
        Ok(tid)
    }

    fn text_of(&self, tid: i64) -> rusqlite::Result<String> {
        self.tx
            .prepare_cached("SELECT text FROM texts WHERE tid = ?1")?
            .query_row([tid], |r| r.get(0))
    }
}

/// An item's text as the store keeps it: zlib-compressed with a preset dictionary, the first
/// item of its resource type the store recorded (`dictionaries`; items of one type share most
/// of their text, so an item keeps mostly what differs: about a seventh of what compressing it
/// alone keeps). Read back by [`inflate`].
fn deflate(z: &mut flate2::Compress, text: &str, dictionary: Option<&[u8]>) -> Vec<u8> {
    z.reset();
    let mut out = Vec::with_capacity(text.len() / 4 + 64);
    // A dictionary is accepted before any input; compressing into a Vec cannot fail but for
    // room, which the loop gives. (Without one, the text inflates without one.)
    if let Some(dictionary) = dictionary {
        let _ = z.set_dictionary(dictionary);
    }
    let mut input = text.as_bytes();
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64));
        }
        let before = z.total_in();
        match z.compress_vec(input, &mut out, flate2::FlushCompress::Finish) {
            Ok(flate2::Status::StreamEnd) | Err(_) => {
                // Held until the items are written: what it takes, not the room it was given
                // (three times as much).
                out.shrink_to_fit();
                return out;
            }
            Ok(_) => input = &input[(z.total_in() - before) as usize..],
        }
    }
}

/// An item's text from [`deflate`] (with the dictionary of its type, when the stream asks for
/// one) or from a store that compressed items without one.
fn inflate(bytes: &[u8], dictionary: Option<&[u8]>) -> std::io::Result<String> {
    let mut z = flate2::Decompress::new(true);
    let mut out = Vec::with_capacity(bytes.len() * 4);
    let mut input = bytes;
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1024));
        }
        let (before_in, before_out) = (z.total_in(), z.total_out());
        match z.decompress_vec(input, &mut out, flate2::FlushDecompress::Finish) {
            Ok(flate2::Status::StreamEnd) => break,
            Ok(_) => {}
            Err(e) if e.needs_dictionary().is_some() => {
                let dictionary = dictionary
                    .ok_or_else(|| std::io::Error::other("compressed with a dictionary the store does not hold"))?;
                z.set_dictionary(dictionary).map_err(std::io::Error::other)?;
            }
            Err(e) => return Err(std::io::Error::other(e)),
        }
        input = &input[(z.total_in() - before_in) as usize..];
        if input.is_empty() && z.total_out() == before_out && out.len() < out.capacity() {
            return Err(std::io::Error::other("the compressed text is cut short"));
        }
    }
    String::from_utf8(out).map_err(std::io::Error::other)
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
    /// The accounts concerned.
    pub accounts: &'a BTreeSet<String>,
    /// Items and tombstones to write (fastest in key order), compressed by a [`Packer`].
    pub items: Vec<ItemWrite<'a>>,
    /// Coverage rows to write.
    pub coverage: Vec<(&'a (String, String), &'a Coverage)>,
    /// Input items older than what was recorded.
    pub stale: usize,
    /// Resources newly marked deleted.
    pub tombstoned: usize,
    /// (type, id) of items the inputs held but could not read: their results are kept.
    pub unreadable: &'a HashSet<(String, String)>,
    /// Which transitions the [`Recording`] lists.
    pub listing: Listing,
}

/// Which transitions a [`Recording`] lists: the ones the output shows. Each is written to the
/// store's `changes` either way when it is worth a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Every transition.
    Every,
    /// Every transition, but none of a first scan (the starting state).
    AfterFirstScan,
    /// None.
    None,
}

/// A result's row key: (rid, cid).
type ResultKey = (i64, i64);
/// A recorded result's compliance code, text id and capture time in milliseconds.
type RecordedCodes = (i64, i64, Option<i64>);

/// What is recorded of an account, as codes: (resource, check) -> (compliance, text, capture
/// time), in key order for lookups (a sorted vector: a third of the time a hash map took for
/// 600,000 results, and less memory); each result is taken once.
struct Previous {
    rows: Vec<(ResultKey, RecordedCodes)>,
    taken: Vec<bool>,
}

impl Previous {
    /// The account's results (`stmt`: rid, cid, compliance, tid, capture_ms of an account).
    fn read(stmt: &mut rusqlite::Statement<'_>, account: &str) -> rusqlite::Result<Self> {
        let mut rows = Vec::new();
        let mut found = stmt.query([account])?;
        while let Some(r) = found.next()? {
            rows.push(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?, r.get(4)?)));
        }
        rows.sort_unstable_by_key(|(key, _)| *key);
        let taken = vec![false; rows.len()];
        Ok(Self { rows, taken })
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many resources the results are of.
    fn resources(&self) -> usize {
        self.rows.chunk_by(|(a, _), (b, _)| a.0 == b.0).count()
    }

    /// The result recorded under `key`, unless taken already.
    fn take(&mut self, key: ResultKey) -> Option<RecordedCodes> {
        let at = self.rows.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        if std::mem::replace(&mut self.taken[at], true) {
            return None;
        }
        Some(self.rows[at].1)
    }

    /// The results not taken, in key order.
    fn rest(self) -> impl Iterator<Item = (ResultKey, RecordedCodes)> {
        self.rows
            .into_iter()
            .zip(self.taken)
            .filter(|(_, taken)| !taken)
            .map(|(row, _)| row)
    }
}

/// The compression dictionary of each account and resource type a scan's items bring (see
/// [`Store::packer`]).
pub struct Packer {
    dictionaries: HashMap<String, HashMap<String, Vec<u8>>>,
}

/// Items' texts compressed by [`Packer::pack`], in the items' order (None: a tombstone).
pub struct Packed(Vec<Option<Vec<u8>>>);

impl Packer {
    /// Compresses the items' texts, each with the dictionary of its account and type. Pure: it
    /// runs on another thread while the accounts are evaluated.
    pub fn pack(&self, items: &[ItemWrite<'_>]) -> Packed {
        // The fastest level: with the dictionary it keeps most of the default level's gain
        // (100,000 items of 112 MB: 9.1 MB against 7.6 MB) in half the time, and compressing
        // takes no longer than evaluating.
        let mut z = flate2::Compress::new(flate2::Compression::fast(), true);
        Packed(
            items
                .iter()
                .map(|w| {
                    let dictionary = self
                        .dictionaries
                        .get(&w.key.0)
                        .and_then(|types| types.get(&w.key.1))
                        .map(Vec::as_slice);
                    w.body.map(|text| deflate(&mut z, text, dictionary))
                })
                .collect(),
        )
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::vocab::Evaluation;

    fn result(account: &str, id: &str, check: &str, compliance: Compliance) -> Evaluation {
        Evaluation {
            account_id: account.into(),
            aws_region: "eu-west-1".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: id.into(),
            check_id: check.into(),
            plan: Plan::Servers,
            compliance,
            annotation: format!("{check} of {id}").into(),
            capture_time: DateTime::from_timestamp_millis(1_700_000_000_000),
        }
    }

    /// Records `parts` as one scan of `accounts` into the store at `db`; the transitions listed.
    fn record(db: &Path, accounts: &[&str], parts: &[&[Evaluation]]) -> Result<Vec<String>, StoreError> {
        record_with(db, accounts, parts, &[])
    }

    fn record_with(
        db: &Path,
        accounts: &[&str],
        parts: &[&[Evaluation]],
        plans: &[shared::domain::plans::PlanReadiness],
    ) -> Result<Vec<String>, StoreError> {
        let mut store = Store::open(db)?;
        let mut open = store.begin_scan()?;
        let accounts: BTreeSet<String> = accounts.iter().map(|a| (*a).to_owned()).collect();
        let unreadable = HashSet::new();
        let scan = ScanRecord {
            accounts: &accounts,
            items: Vec::new(),
            coverage: Vec::new(),
            stale: 0,
            tombstoned: 0,
            unreadable: &unreadable,
            listing: Listing::Every,
        };
        let recorded = store.recorder(&open, &scan).and_then(|mut r| {
            for part in parts {
                r.results(part)?;
            }
            r.items(Packed(Vec::new()))?;
            r.finish(&mut open, plans, 0)
        });
        let recorded = match recorded {
            Ok(r) => r,
            Err(e) => {
                store.rollback_scan();
                return Err(e);
            }
        };
        store.commit_scan(open, "test", None)?;
        Ok(recorded
            .diff
            .transitions
            .iter()
            .map(|t| {
                format!(
                    "{} {} {:?}->{:?}",
                    t.key.resource_id, t.key.check_id, t.previous, t.current
                )
            })
            .collect())
    }

    fn rows(db: &Path, query: &str) -> Vec<String> {
        let conn = Connection::open(db).unwrap();
        let mut stmt = conn.prepare(query).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| r.get::<_, Value>(i).map(|v| format!("{v:?}")))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map(|v| v.join(" "))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    #[test]
    fn results_given_in_parts_in_any_order_within_an_account_record_what_they_record_given_at_once() {
        use Compliance::{Compliant, NonCompliant};
        let dir = tempfile::tempdir().unwrap();
        let first = [
            result("111111111111", "i-2", "servers.b", NonCompliant),
            result("111111111111", "i-1", "servers.a", Compliant),
            result("111111111111", "i-1", "servers.b", NonCompliant),
            result("222222222222", "i-9", "servers.a", Compliant),
        ];
        // The second scan: i-1's servers.a fails, i-2 is gone, i-3 is new.
        let second = [
            result("111111111111", "i-3", "servers.a", Compliant),
            result("111111111111", "i-1", "servers.b", NonCompliant),
            result("111111111111", "i-1", "servers.a", NonCompliant),
            result("222222222222", "i-9", "servers.a", Compliant),
        ];
        let accounts = ["111111111111", "222222222222"];
        let whole = dir.path().join("whole.db");
        let split = dir.path().join("split.db");
        let listed_whole = [
            record(&whole, &accounts, &[&first]).unwrap(),
            record(&whole, &accounts, &[&second]).unwrap(),
        ];
        // Account 111111111111's results in another order, in parts (one empty).
        let reordered =
            |r: &[Evaluation]| -> Vec<Evaluation> { [r[2].clone(), r[0].clone(), r[1].clone(), r[3].clone()].into() };
        let (first_split, second_split) = (reordered(&first), reordered(&second));
        let listed_split = [
            record(
                &split,
                &accounts,
                &[&first_split[..1], &first_split[1..3], &[], &first_split[3..]],
            )
            .unwrap(),
            record(
                &split,
                &accounts,
                &[&second_split[..2], &second_split[2..3], &second_split[3..]],
            )
            .unwrap(),
        ];
        assert_eq!(listed_split, listed_whole);
        // Listed in key order, whatever the order given.
        assert_eq!(
            listed_whole[1],
            [
                "i-1 servers.a Some(Compliant)->Some(NonCompliant)",
                "i-2 servers.b Some(NonCompliant)->None",
                "i-3 servers.a None->Some(Compliant)",
            ]
        );
        for query in [
            "SELECT account_id, resource_id, check_id, compliance, annotation, capture_time, scan_id FROM evaluations
             ORDER BY 1, 2, 3",
            "SELECT scan_id, account_id, resource_id, check_id, previous, current, annotation FROM transitions
             ORDER BY 1, 2, 3, 4",
            "SELECT items, evaluations, written, removed FROM scans ORDER BY id",
        ] {
            assert_eq!(rows(&split, query), rows(&whole, query), "{query}");
        }
        assert_eq!(rows(&whole, "SELECT COUNT(*) FROM results"), ["Integer(4)"]);
    }

    #[test]
    fn an_accounts_results_given_apart_fail_the_part_and_record_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let apart = [
            result("111111111111", "i-1", "servers.a", Compliance::Compliant),
            result("222222222222", "i-9", "servers.a", Compliance::Compliant),
            result("111111111111", "i-2", "servers.a", Compliance::Compliant),
        ];
        let e = record(&db, &["111111111111", "222222222222"], &[&apart]).unwrap_err();
        assert!(e.to_string().contains("given apart"), "{e}");
        assert_eq!(rows(&db, "SELECT COUNT(*) FROM results"), ["Integer(0)"]);
        assert_eq!(rows(&db, "SELECT COUNT(*) FROM scans"), ["Integer(0)"]);
    }

    #[test]
    fn a_plan_row_keeps_its_first_blockers_and_their_count_and_an_older_row_all_of_them() {
        use shared::domain::plans::{Blocker, PlanReadiness, PlanStatus};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let blockers: Vec<Blocker> = (0..150)
            .map(|n| Blocker::Check {
                check_id: "servers.a".into(),
                resource_type: "AWS::EC2::Instance".into(),
                resource_id: format!("i-{n:03}").into(),
                annotation: "why".into(),
            })
            .collect();
        let row = PlanReadiness {
            account_id: "111111111111".into(),
            aws_region: "eu-west-1".into(),
            plan: Plan::Servers,
            status: PlanStatus::Blocked,
            blocker_count: blockers.len(),
            blockers: blockers.clone(),
            unverified: Vec::new(),
            unverified_count: 0,
            non_compliant_resources: 150,
        };
        record_with(&db, &["111111111111"], &[], &[row]).unwrap();
        let read = Store::open(&db).unwrap().readiness_rows().unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].blocker_count, 150);
        assert_eq!(read[0].blockers, blockers[..shared::app::record::BLOCKERS_KEPT]);
        // A store of schema 3 written before rows counted their blockers: the column is added
        // when it is opened, and its rows' blockers are all of them.
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "ALTER TABLE plan_status DROP COLUMN blocker_count;
             UPDATE plan_status SET blockers = json_array(json_object('kind', 'plan', 'plan', 'cspm'));",
        )
        .unwrap();
        drop(conn);
        let read = Store::open(&db).unwrap().readiness_rows().unwrap();
        assert_eq!((read[0].blocker_count, read[0].blockers.len()), (1, 1));
        assert_eq!(
            rows(
                &db,
                "SELECT COUNT(*) FROM pragma_table_info('plan_status') WHERE name = 'blocker_count'"
            ),
            ["Integer(1)"]
        );
    }
}
