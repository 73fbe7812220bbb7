//! The scan's inputs: files, directories (every `.json` / `.json.gz` below them) and standard
//! input, each read into the configuration items the checks read, with what the input covers.
//!
//! An AWS Config snapshot file is a complete recording of the accounts and regions it holds items
//! of (and of the account and region its delivery file name states): inside that scope, a
//! resource of a type it records that is absent from it did not exist when it was captured.
//! Every other input (an event, an API output, a list of items) covers only the resources it
//! holds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use shared::domain::graph::region_key;
use shared::domain::model::types;
use shared::domain::model::ConfigurationItem;
use shared::domain::snapshot;
use shared::domain::vocab::GLOBAL_REGION;

/// One item of an input, with its JSON text (what the store keeps).
pub struct Incoming {
    /// The parsed item.
    pub item: ConfigurationItem,
    /// Its JSON text as the input held it.
    pub body: Box<str>,
    /// Service-API facts a live read attached to it (JSON of `LiveFacts`), kept beside the item.
    pub facts: Option<Box<str>>,
}

/// How inputs are read.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// Skip unreadable items (listed in the input's errors) instead of failing.
    pub keep_going: bool,
    /// Keep each item's JSON text beside the parsed item (the store records it); a scan that
    /// records nothing keeps only the parsed items.
    pub keep_text: bool,
}

/// What a complete recording covers.
#[derive(Debug, Clone)]
pub struct Scope {
    /// When it was captured: the time in the snapshot's delivery file name, else the newest
    /// capture time of its items (a lower bound of the snapshot's time). None: no way to tell.
    pub time: Option<DateTime<Utc>>,
    /// (account, region or `global`) → the resource types recorded there (those it holds items
    /// of, and those the settings declare recorded).
    pub covers: BTreeMap<(String, String), BTreeSet<String>>,
}

/// One input, read.
pub struct Input {
    /// Its name (a path, or `-` for standard input).
    pub source: String,
    /// What it was, in words.
    pub shape: &'static str,
    /// `configSnapshotId`, for a snapshot file.
    pub snapshot_id: Option<String>,
    /// Items in the input, of any type.
    pub read: usize,
    /// Items of types no check reads, by type (not kept).
    pub ignored: BTreeMap<String, usize>,
    /// Items of the types the checks read.
    pub items: Vec<Incoming>,
    /// Items skipped with keep-going.
    pub errors: Vec<shared::Error>,
    /// What the input covers in full (None: only its own items).
    pub scope: Option<Scope>,
}

/// The command line's inputs, expanded.
#[derive(Debug, Default)]
pub struct Expanded {
    /// The files to read, in order (`-` is standard input).
    pub paths: Vec<PathBuf>,
    /// What was left out and why (for the report's notes).
    pub notes: Vec<String>,
    /// `s3://bucket/prefix` inputs: a Config bucket read with the AWS SDK.
    pub s3: Vec<String>,
}

/// The file AWS Config writes to test that it may write to the bucket (`AWSLogs/<account>/Config/
/// ConfigWritabilityCheckFile`): no configuration items. Both spellings are found in buckets.
pub fn is_writability_check(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("ConfigWritabilityCheckFile" | "ConfigWriteabilityCheckFile")
    )
}

/// A file a directory or bucket scan reads: `.json` or `.json.gz`.
pub fn is_json_input(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.ends_with(".json") || name.ends_with(".json.gz")
}

/// Expands the command line's inputs: `-` is standard input, a directory stands for every
/// `.json` and `.json.gz` file below it (sorted). An input named twice is read once. Files named
/// as AWS Config's delivery channel names them (`AWSLogs/<account>/Config/<region>/<y>/<m>/<d>/
/// ConfigSnapshot|ConfigHistory/...`) are chosen as a synced Config bucket needs: the newest
/// snapshot of each account and region, and the history files that end after it; the older ones
/// and the writability check file are left out, with a note.
pub fn expand(args: &[PathBuf]) -> Result<Expanded, String> {
    let mut out = Expanded::default();
    let mut writability = 0usize;
    for a in args {
        if let Some(url) = a.to_str().filter(|u| u.starts_with("s3://")) {
            out.s3.push(url.to_owned());
        } else if a.as_os_str() == "-" {
            out.paths.push(a.clone());
        } else if a.is_dir() {
            let before = out.paths.len();
            let mut visited = BTreeSet::new();
            walk(a, &mut out.paths, &mut writability, &mut visited).map_err(|e| format!("{}: {e}", a.display()))?;
            if out.paths.len() == before {
                return Err(format!("{}: no .json or .json.gz files in this directory", a.display()));
            }
        } else if is_writability_check(a) {
            writability += 1;
        } else {
            out.paths.push(a.clone());
        }
    }
    // The same file reached twice (named twice, or through a symbolic link) is read once.
    let mut seen = BTreeSet::new();
    out.paths
        .retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    if writability > 0 {
        out.notes.push(format!(
            "skipped {writability} ConfigWritabilityCheckFile (AWS Config's test that it may write to the bucket: no configuration items)"
        ));
    }
    choose_deliveries(&mut out.paths, &mut out.notes);
    Ok(out)
}

/// The files of a synced Config bucket by account: Some when every file is a snapshot or history
/// file named as AWS Config's delivery channel names them (the name says whose it is) and they
/// are of more than one account; such a scan can read one account at a time.
pub fn by_account(paths: &[PathBuf]) -> Option<BTreeMap<String, Vec<PathBuf>>> {
    let mut accounts: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for p in paths {
        let account = match (delivery_name(p), history_name(p)) {
            (Some((account, _, _)), _) => account,
            (None, Some(h)) => h.account,
            (None, None) => return None,
        };
        accounts.entry(account).or_default().push(p.clone());
    }
    (accounts.len() > 1).then_some(accounts)
}

/// Of files named as AWS Config's delivery channel names them, keeps the newest snapshot of each
/// account and region and the history files that end after it; the others are left out, with a
/// note. Other files are kept.
pub fn choose_deliveries(paths: &mut Vec<PathBuf>, notes: &mut Vec<String>) {
    let mut newest: BTreeMap<(String, String), DateTime<Utc>> = BTreeMap::new();
    for p in paths.iter() {
        if let Some((account, region, time)) = delivery_name(p) {
            let t = newest.entry((account, region)).or_insert(time);
            *t = (*t).max(time);
        }
    }
    let (mut older, mut covered) = (BTreeMap::<(String, String), usize>::new(), 0usize);
    paths.retain(|p| {
        if let Some((account, region, time)) = delivery_name(p) {
            let key = (account, region);
            if newest.get(&key).is_some_and(|n| *n > time) {
                *older.entry(key).or_default() += 1;
                return false;
            }
        } else if let Some(h) = history_name(p) {
            if newest
                .get(&(h.account.clone(), h.region.clone()))
                .is_some_and(|n| *n >= h.end)
            {
                covered += 1;
                return false;
            }
        }
        true
    });
    for ((account, region), n) in older {
        notes.push(format!(
            "skipped {n} older AWS Config snapshot(s) of account {account} in {region}: the newest ({}) is read",
            newest[&(account.clone(), region.clone())].format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    if covered > 0 {
        notes.push(format!(
            "skipped {covered} AWS Config history file(s) that end before the newest snapshot of their account and region (the snapshot holds their changes)"
        ));
    }
}

fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    writability: &mut usize,
    visited: &mut BTreeSet<PathBuf>,
) -> std::io::Result<()> {
    // A directory reached twice (a symbolic link to an ancestor or a sibling) is read once.
    if !visited.insert(std::fs::canonicalize(dir)?) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out, writability, visited)?;
        } else if is_writability_check(&p) {
            *writability += 1;
        } else {
            if is_json_input(&p) {
                out.push(p);
            }
        }
    }
    Ok(())
}

/// The account, region and time of an AWS Config snapshot's delivery file name
/// (`123456789012_Config_us-east-2_ConfigSnapshot_20160927T183939Z_<id>.json.gz`).
pub fn delivery_name(path: &Path) -> Option<(String, String, DateTime<Utc>)> {
    let (account, region, kind, mut rest) = delivery_parts(path)?;
    if kind != "ConfigSnapshot" {
        return None;
    }
    let time = NaiveDateTime::parse_from_str(rest.next()?, "%Y%m%dT%H%M%SZ")
        .ok()?
        .and_utc();
    Some((account, region, time))
}

/// A configuration history file's delivery name
/// (`123456789012_Config_us-east-2_ConfigHistory_AWS::EC2::Instance_<start>_<end>_<n>.json.gz`).
#[derive(Debug, PartialEq, Eq)]
pub struct HistoryName {
    pub account: String,
    pub region: String,
    pub resource_type: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The parts of a history file's delivery name.
pub fn history_name(path: &Path) -> Option<HistoryName> {
    let (account, region, kind, mut rest) = delivery_parts(path)?;
    if kind != "ConfigHistory" {
        return None;
    }
    let resource_type = rest.next()?.to_owned();
    let time = |t: &str| {
        NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ")
            .ok()
            .map(|t| t.and_utc())
    };
    let start = time(rest.next()?)?;
    let end = time(rest.next()?)?;
    Some(HistoryName {
        account,
        region,
        resource_type,
        start,
        end,
    })
}

fn delivery_parts(path: &Path) -> Option<(String, String, &str, std::str::Split<'_, char>)> {
    let name = path.file_name()?.to_str()?;
    let mut parts = name.split('_');
    let account = parts.next()?;
    let (config, region, kind) = (parts.next()?, parts.next()?, parts.next()?);
    if config != "Config" || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((account.to_owned(), region.to_owned(), kind, parts))
}

/// Reads one input. `declared` are the types the settings declare recorded in every complete
/// recording. `progress(done, total)` is told the bytes read of the file (or of standard input's
/// text once it is held).
pub fn read(
    path: &Path,
    how: Reading,
    declared: &[String],
    mut progress: impl FnMut(u64, u64),
) -> Result<Input, String> {
    let stdin = path.as_os_str() == "-";
    let source = if stdin {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    if !stdin {
        match stream_file(path, how, declared, false, &mut progress)? {
            Streamed::Read(input) => return Ok(input),
            // Another shape, or not well-formed: read whole, as `split` reads it.
            Streamed::Whole | Streamed::SeveralAccounts => {}
        }
    }
    let bytes = if stdin {
        snapshot::read_from(std::io::stdin().lock(), &source, snapshot::MAX_SNAPSHOT_BYTES)
    } else {
        snapshot::read_bytes(path)
    }
    .map_err(|e| e.to_string())?;
    parse(&bytes, source, (!stdin).then_some(path), how, declared, progress)
}

/// Opens a file to read, its error naming it.
fn open_file(path: &Path) -> Result<std::fs::File, String> {
    std::fs::File::open(path).map_err(|e| {
        shared::Error::Io {
            path: path.display().to_string(),
            source: e,
        }
        .to_string()
    })
}

/// How [`stream_file`] ended.
enum Streamed {
    /// The file, read.
    Read(Input),
    /// Not of a shape read an item at a time, or not well-formed: to be read whole.
    Whole,
    /// An item of a second account came (asked to stop there).
    SeveralAccounts,
}

/// Reads a file an item at a time where its shape allows (snapshots, history files, API outputs,
/// lists of items): memory for the parsed items, not for the file's text too. With
/// `one_account`, stops at the first item of a second account.
fn stream_file(
    path: &Path,
    how: Reading,
    declared: &[String],
    one_account: bool,
    progress: &mut impl FnMut(u64, u64),
) -> Result<Streamed, String> {
    let source = path.display().to_string();
    let file = open_file(path)?;
    let size = file.metadata().map_or(0, |m| m.len());
    let counted = Counted {
        inner: file,
        done: 0,
        tell: |done| progress(done, size),
    };
    let mut collect = Collect::new(source.clone(), Some(path), how, declared);
    let mut several = false;
    let streamed = snapshot::stream(counted, &source, snapshot::MAX_SNAPSHOT_BYTES, |_, text, line| {
        collect.item(text, line)?;
        if one_account && collect.several_accounts() {
            several = true;
            // Ends the read (the error is not said).
            return Err(shared::Error::Input {
                source_name: String::new(),
                message: String::new(),
            });
        }
        Ok(())
    });
    match streamed {
        Ok(found) => Ok(Streamed::Read(collect.finish(
            found.shape,
            found.snapshot_id,
            found.items,
        ))),
        Err(snapshot::NotStreamed::Failed(_)) if several => Ok(Streamed::SeveralAccounts),
        Err(snapshot::NotStreamed::Failed(e)) => Err(collect.named(&e)),
        Err(snapshot::NotStreamed::Whole) => Ok(Streamed::Whole),
    }
}

/// A file read by [`read_accounts`].
pub enum Accounts {
    /// Its items are of one account (or it is not of a shape read an item at a time): read.
    One(Input),
    /// Its items are of several accounts: indexed, to be read an account at a time.
    Several(Spilled),
}

/// A file's items of several accounts, copied to an unnamed temporary file and indexed by
/// account, so that each account's can be read in turn ([`Spilled::read`]) as the whole file
/// would have been read: the same items, lines, shape, snapshot id and recording time.
pub struct Spilled {
    source: String,
    path: PathBuf,
    shape: &'static str,
    snapshot_id: Option<String>,
    /// The newest capture time of the file's items of the types the checks read.
    time: Option<DateTime<Utc>>,
    text: std::fs::File,
    /// Account -> its items, in the file's order.
    accounts: BTreeMap<String, Vec<Span>>,
}

/// Where an item of a [`Spilled`] file is.
struct Span {
    /// Its index in the file.
    index: usize,
    /// Its text in the temporary file.
    at: u64,
    len: usize,
    /// The line it starts on in the file.
    line: Option<u32>,
}

/// Reads `path` as [`read`] does, unless its items are of several accounts and it is of a shape
/// read an item at a time: then a second pass copies its items' text aside, indexed by account
/// (memory for the index, not for every account's parsed items). A file with an item that
/// cannot be read is read as [`read`] reads it (its errors said as always).
pub fn read_accounts(
    path: &Path,
    how: Reading,
    declared: &[String],
    mut progress: impl FnMut(u64, u64),
) -> Result<Accounts, String> {
    let whole = || {
        let bytes = snapshot::read_bytes(path).map_err(|e| e.to_string())?;
        parse(&bytes, path.display().to_string(), Some(path), how, declared, |_, _| {}).map(Accounts::One)
    };
    match stream_file(path, how, declared, true, &mut progress)? {
        Streamed::Read(input) => return Ok(Accounts::One(input)),
        // Another shape, or not well-formed: read whole, as `read` reads it.
        Streamed::Whole => return whole(),
        Streamed::SeveralAccounts => {}
    }
    let source = path.display().to_string();
    let spill = || -> Result<Option<Spilled>, String> {
        let text = tempfile::tempfile().map_err(|e| format!("a temporary file for {source}: {e}"))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, &text);
        let (mut at, mut time, mut accounts) = (0u64, None, BTreeMap::<String, Vec<Span>>::new());
        let mut unreadable = false;
        let streamed = snapshot::stream(
            open_file(path)?,
            &source,
            snapshot::MAX_SNAPSHOT_BYTES,
            |index, text, line| {
                let item = snapshot::parse_one(text, index, line).inspect_err(|_| unreadable = true)?;
                if types::is_recorded_type(&item.resource_type) {
                    time = time.max(item.capture_time);
                }
                std::io::Write::write_all(&mut out, text.as_bytes()).map_err(|e| shared::Error::Io {
                    path: "a temporary file".to_owned(),
                    source: e,
                })?;
                accounts.entry(item.account_id).or_default().push(Span {
                    index,
                    at,
                    len: text.len(),
                    line,
                });
                at += text.len() as u64;
                Ok(())
            },
        );
        let found = match streamed {
            Ok(found) => found,
            Err(snapshot::NotStreamed::Failed(_)) if unreadable => return Ok(None),
            Err(snapshot::NotStreamed::Failed(e)) => return Err(e.to_string()),
            Err(snapshot::NotStreamed::Whole) => return Ok(None),
        };
        out.into_inner()
            .map_err(|e| format!("a temporary file for {source}: {}", e.error()))?;
        Ok(Some(Spilled {
            source: source.clone(),
            path: path.to_owned(),
            shape: found.shape,
            snapshot_id: found.snapshot_id,
            time,
            text,
            accounts,
        }))
    };
    match spill()? {
        Some(spilled) => Ok(Accounts::Several(spilled)),
        None => read(path, how, declared, |_, _| {}).map(Accounts::One),
    }
}

impl Spilled {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The accounts whose items the file holds.
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.accounts.keys().map(String::as_str)
    }

    /// The file's items of `account`, as an input of their own.
    pub fn read(&self, account: &str, how: Reading, declared: &[String]) -> Result<Input, String> {
        use std::io::{Read as _, Seek as _};
        let mut collect = Collect::new(self.source.clone(), Some(&self.path), how, declared);
        collect.time = Some(self.time);
        let spans = self.accounts.get(account).map_or(&[][..], Vec::as_slice);
        let mut buf = Vec::new();
        let mut file = &self.text;
        for span in spans {
            buf.resize(span.len, 0);
            file.seek(std::io::SeekFrom::Start(span.at))
                .and_then(|_| file.read_exact(&mut buf))
                .map_err(|e| format!("{}: reading its items back from a temporary file: {e}", self.source))?;
            let text = std::str::from_utf8(&buf).map_err(|e| format!("{}: not UTF-8: {e}", self.source))?;
            collect.index = span.index;
            collect.item(text, span.line).map_err(|e| collect.named(&e))?;
        }
        Ok(collect.finish(self.shape, self.snapshot_id.clone(), spans.len()))
    }
}

/// A reader telling how many bytes it has given.
struct Counted<R, F> {
    inner: R,
    done: u64,
    tell: F,
}

impl<R: std::io::Read, F: FnMut(u64)> std::io::Read for Counted<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        (self.tell)(self.done);
        Ok(n)
    }
}

/// Reads one input's bytes (already inflated) named `source`; `named` is the file or object
/// name whose delivery name (account, region, time, kind) applies.
pub fn parse(
    bytes: &[u8],
    source: String,
    named: Option<&Path>,
    how: Reading,
    declared: &[String],
    mut progress: impl FnMut(u64, u64),
) -> Result<Input, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("{source}: not UTF-8: {e}"))?;
    let raw = snapshot::split(text, &source).map_err(|e| e.to_string())?;
    let mut collect = Collect::new(source, named, how, declared);
    let (base, size) = (text.as_ptr() as usize, text.len() as u64);
    for (i, r) in raw.items.iter().enumerate() {
        let end = (r.get().as_ptr() as usize + r.get().len()).saturating_sub(base) as u64;
        progress(end.min(size), size);
        collect
            .item(r.get(), raw.lines.get(i).copied().flatten())
            .map_err(|e| collect.named(&e))?;
    }
    let total = raw.items.len();
    Ok(collect.finish(raw.shape, raw.snapshot_id, total))
}

/// One input's items as they are read, and what they cover.
struct Collect<'a> {
    source: String,
    named: Option<&'a Path>,
    how: Reading,
    declared: &'a [String],
    /// A history file is partial whatever it holds; its delivery name says so even where its
    /// content could pass for a snapshot.
    history: bool,
    index: usize,
    items: Vec<Incoming>,
    ignored: BTreeMap<String, usize>,
    /// What the input covers, were it a complete recording (known once it is read).
    covers: BTreeMap<(String, String), BTreeSet<String>>,
    errors: Vec<shared::Error>,
    /// The recording's time when it is not this collection's items' own (one account's items
    /// of a file holding several: the file's newest).
    time: Option<Option<DateTime<Utc>>>,
}

impl<'a> Collect<'a> {
    fn new(source: String, named: Option<&'a Path>, how: Reading, declared: &'a [String]) -> Self {
        Self {
            source,
            named,
            how,
            declared,
            history: named.is_some_and(|p| history_name(p).is_some()),
            index: 0,
            items: Vec::new(),
            ignored: BTreeMap::new(),
            covers: BTreeMap::new(),
            errors: Vec::new(),
            time: None,
        }
    }

    /// Whether the items so far are of more than one account.
    fn several_accounts(&self) -> bool {
        let first = self.covers.first_key_value().map(|((a, _), _)| a);
        first != self.covers.last_key_value().map(|((a, _), _)| a)
    }

    /// The message of `e`, named by its input (a file, an object) unless it already is.
    fn named(&self, e: &shared::Error) -> String {
        let m = e.to_string();
        if m.starts_with(&self.source) {
            m
        } else {
            format!("{}: {m}", self.source)
        }
    }

    /// Parses the next item, `text`, starting on `line` of the input. With keep-going a bad item
    /// is kept as an error; without, it fails the input (nothing is half-read).
    fn item(&mut self, text: &str, line: Option<u32>) -> shared::Result<()> {
        let i = self.index;
        self.index += 1;
        let item = match snapshot::parse_one(text, i, line) {
            Ok(item) => item,
            Err(e) if self.how.keep_going => {
                self.errors.push(e);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let known = types::is_recorded_type(&item.resource_type);
        if !self.history {
            let scope = self
                .covers
                .entry((
                    item.account_id.clone(),
                    region_key(&item.resource_type, &item.region).to_owned(),
                ))
                .or_default();
            if known {
                scope.insert(item.resource_type.clone());
            }
        }
        if known {
            self.items.push(Incoming {
                body: if self.how.keep_text {
                    text.into()
                } else {
                    Box::default()
                },
                item,
                facts: None,
            });
        } else {
            *self.ignored.entry(item.resource_type.clone()).or_default() += 1;
        }
        Ok(())
    }

    /// The input, once its shape is known.
    fn finish(self, shape: &'static str, snapshot_id: Option<String>, total: usize) -> Input {
        let shape = if self.history { snapshot::HISTORY_FILE } else { shape };
        let complete = shape == snapshot::COMPLETE_RECORDING;
        let Self {
            source,
            named,
            declared,
            items,
            ignored,
            mut covers,
            errors,
            time,
            ..
        } = self;
        let scope = complete.then(|| {
            let named = named.and_then(delivery_name);
            let time = named
                .as_ref()
                .map(|n| n.2)
                .or_else(|| time.unwrap_or_else(|| items.iter().filter_map(|i| i.item.capture_time).max()));
            if let Some((account, region, _)) = named {
                covers.entry((account, region)).or_default();
            }
            // Declared types: regional ones in every region the recording covers, global ones
            // once per account it covers.
            let accounts: BTreeSet<String> = covers.keys().map(|(a, _)| a.clone()).collect();
            for t in declared {
                if region_key(t, "") == GLOBAL_REGION {
                    for a in &accounts {
                        covers
                            .entry((a.clone(), GLOBAL_REGION.to_owned()))
                            .or_default()
                            .insert(t.clone());
                    }
                } else {
                    for ((_, region), recorded) in covers.iter_mut() {
                        if region != GLOBAL_REGION {
                            recorded.insert(t.clone());
                        }
                    }
                }
            }
            Scope { time, covers }
        });
        Input {
            source,
            shape,
            snapshot_id,
            read: total,
            ignored,
            items,
            errors,
            scope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of several accounts, read an account at a time, gives each account the items,
    /// lines, texts and recording (its time the file's newest) that reading it whole gives.
    #[test]
    fn a_file_of_several_accounts_is_read_an_account_at_a_time_as_it_reads_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut items: serde_json::Value = serde_json::from_slice(
            &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/demo-snapshot.json")).unwrap(),
        )
        .unwrap();
        // One account's newest item newer than the other's: the recording's time is the file's.
        let list = items["configurationItems"].as_array_mut().unwrap();
        let later = list
            .iter_mut()
            .find(|i| i["resourceId"] == "i-0bat000000000002")
            .unwrap();
        later["configurationItemCaptureTime"] = serde_json::json!("2026-11-20T09:00:00.000Z");
        let demo = dir.path().join("several.json");
        std::fs::write(&demo, serde_json::to_vec_pretty(&items).unwrap()).unwrap();
        let how = Reading {
            keep_going: false,
            keep_text: true,
        };
        let declared = ["AWS::IAM::Role".to_owned()];
        let whole = read(&demo, how, &declared, |_, _| {}).unwrap();
        let Accounts::Several(spilled) = read_accounts(&demo, how, &declared, |_, _| {}).unwrap() else {
            panic!("the demo snapshot holds two accounts");
        };
        let accounts: Vec<&str> = spilled.accounts().collect();
        assert_eq!(accounts, ["111122223333", "444455556666"]);
        let whole_scope = whole.scope.clone().unwrap();
        let mut read_in_parts = 0;
        for account in accounts {
            let part = spilled.read(account, how, &declared).unwrap();
            assert_eq!((part.source.as_str(), part.shape), (whole.source.as_str(), whole.shape));
            assert_eq!(part.snapshot_id, whole.snapshot_id);
            read_in_parts += part.read;
            let of = |input: &Input| -> Vec<(String, String, Option<DateTime<Utc>>, String)> {
                input
                    .items
                    .iter()
                    .filter(|i| i.item.account_id == account)
                    .map(|i| {
                        let item = &i.item;
                        (
                            item.resource_id.clone(),
                            item.resource_type.clone(),
                            item.capture_time,
                            i.body.to_string(),
                        )
                    })
                    .collect()
            };
            assert!(!of(&part).is_empty());
            assert_eq!(of(&part), of(&whole), "{account}");
            assert_eq!(part.items.len(), of(&part).len(), "only its own items");
            let scope = part.scope.unwrap();
            assert_eq!(
                scope.time, whole_scope.time,
                "the file's time, not the account's newest item"
            );
            let own = |c: &BTreeMap<(String, String), BTreeSet<String>>| -> Vec<_> {
                c.iter()
                    .filter(|((a, _), _)| a == account)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            assert_eq!(own(&scope.covers), own(&whole_scope.covers));
            assert_eq!(scope.covers.len(), own(&scope.covers).len());
        }
        assert_eq!(read_in_parts, whole.read);
        assert_eq!(
            whole_scope.time.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-20T09:00:00+00:00")
        );
        // One account's file is read as `read` reads it.
        let one = dir.path().join("one.json");
        let mine: Vec<&serde_json::Value> = items["configurationItems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["awsAccountId"] == "444455556666")
            .collect();
        std::fs::write(
            &one,
            serde_json::to_vec(&serde_json::json!({"configurationItems": mine})).unwrap(),
        )
        .unwrap();
        let Accounts::One(input) = read_accounts(&one, how, &declared, |_, _| {}).unwrap() else {
            panic!("one account");
        };
        assert_eq!(
            input.items.len(),
            read(&one, how, &declared, |_, _| {}).unwrap().items.len()
        );
    }

    #[test]
    fn reads_the_account_region_and_time_of_a_delivery_file_name() {
        // The key AWS Config's snapshot delivery notification names (AWS Config developer guide,
        // "Example Configuration Snapshot Delivery Notification").
        let p = Path::new("AWSLogs/123456789012/Config/us-east-2/2016/9/27/ConfigSnapshot/123456789012_Config_us-east-2_ConfigSnapshot_20160927T183939Z_16da64e4-cb65-4846-b061-e6c3ba43cb96.json.gz");
        let (a, r, t) = delivery_name(p).unwrap();
        assert_eq!(
            (a.as_str(), r.as_str(), t.to_rfc3339()),
            ("123456789012", "us-east-2", "2016-09-27T18:39:39+00:00".to_owned())
        );
        for other in [
            "snapshot.json",
            "123456789012_Config_us-east-2_ConfigHistory_AWS::EC2::Instance_20160927T183939Z_x.json.gz",
            "12345_Config_us-east-2_ConfigSnapshot_20160927T183939Z_x.json",
            "123456789012_Config_us-east-2_ConfigSnapshot_2016-09-27_x.json",
        ] {
            assert!(delivery_name(Path::new(other)).is_none(), "{other}");
        }
    }

    #[test]
    fn a_directory_stands_for_its_json_files_and_each_input_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        for f in ["a/b/2.json.gz", "a/1.json", "a/notes.txt", "3.json"] {
            std::fs::write(dir.path().join(f), "[]").unwrap();
        }
        let got = expand(&[dir.path().to_path_buf(), dir.path().join("3.json")]).unwrap();
        let names: Vec<String> = got
            .paths
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["3.json", "a/1.json", "a/b/2.json.gz"]);
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(expand(&[empty]).unwrap_err().contains("no .json or .json.gz files"));
        assert!(
            expand(&["-".into(), "-".into()]).is_ok(),
            "the same input named twice is read once"
        );
    }
}
