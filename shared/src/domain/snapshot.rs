//! Reading what users copy configuration items from: AWS Config snapshot files (the delivery
//! channel's `{"fileVersion","configSnapshotId","configurationItems":[...]}`), plain JSON arrays of
//! items, single items, Config rule Lambda events and their `invokingEvent`, EventBridge Config
//! change events, and the outputs of BatchGetResourceConfig, GetResourceConfigHistory,
//! SelectResourceConfig and their aggregate forms; gzip-compressed or not.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::value::RawValue;

use crate::domain::error::{Error, Result};
use crate::domain::model::ConfigurationItem;

/// Largest snapshot read, after inflating: 4 GiB. Far above the 112 MB of a 100,000-item
/// snapshot; it stops a gzip bomb or `/dev/zero` before it takes the machine's memory.
pub const MAX_SNAPSHOT_BYTES: u64 = 4 << 30;

/// Reads a file, inflating it if it is gzip (by content, whatever its name), refusing more than
/// [`MAX_SNAPSHOT_BYTES`].
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    read_bytes_limited(path, MAX_SNAPSHOT_BYTES)
}

/// [`read_bytes`] with another limit (bytes, after inflating).
pub fn read_bytes_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: name.clone(),
        source,
    })?;
    // Sized from the start: a buffer grown by doubling held up to three times the file for a
    // moment (the old buffer, and the new one twice its size) and kept the slack after.
    let size = file.metadata().map_or(0, |m| m.len());
    read_sized(file, &name, limit, size)
}

/// Reads an input from `reader` (a file, standard input) named `name` in errors, inflating it if
/// it is gzip (by content), refusing more than `limit` bytes after inflating. A compressed input
/// is inflated once without keeping anything to learn its size, and only then into memory: a
/// gzip bomb is refused in constant memory, not after `limit` bytes were allocated.
pub fn read_from(reader: impl Read, name: &str, limit: u64) -> Result<Vec<u8>> {
    read_sized(reader, name, limit, 0)
}

/// [`read_from`] with the input's size when known (0: not known).
fn read_sized(reader: impl Read, name: &str, limit: u64, size_hint: u64) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: name.to_owned(),
        source,
    };
    let too_big = || Error::Input {
        source_name: name.to_owned(),
        message: format!("larger than {limit} bytes (after inflating): split the snapshot by account or region"),
    };
    let mut raw = Vec::with_capacity(usize::try_from(size_hint.min(limit) + 1).unwrap_or(0));
    reader.take(limit + 1).read_to_end(&mut raw).map_err(io)?;
    if raw.len() as u64 > limit {
        return Err(too_big());
    }
    if raw.starts_with(&[0x1f, 0x8b]) {
        let damaged = |e: std::io::Error| Error::Input {
            source_name: name.to_owned(),
            message: format!("a gzip file cut short or damaged ({e}): copy it again"),
        };
        let size = std::io::copy(
            &mut flate2::read::MultiGzDecoder::new(raw.as_slice()).take(limit + 1),
            &mut std::io::sink(),
        )
        .map_err(damaged)?;
        if size > limit {
            return Err(too_big());
        }
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(usize::MAX));
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .take(size)
            .read_to_end(&mut out)
            .map_err(io)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// What [`stream`] found besides the items it handed over.
#[derive(Debug)]
pub struct Streamed {
    /// `configSnapshotId`, when the input was a snapshot file.
    pub snapshot_id: Option<String>,
    /// What the input was, in words (as [`split`] names it).
    pub shape: &'static str,
    /// How many items were handed over.
    pub items: usize,
}

/// Why [`stream`] stopped without an answer: the input is not of a shape it reads item by item,
/// or is not well-formed; [`split`] over the whole input says which, in its words.
#[derive(Debug)]
pub enum NotStreamed {
    /// Read it whole.
    Whole,
    /// The input could not be read, or is too large.
    Failed(Error),
}

/// Reads the items of an AWS Config snapshot, a history file, a GetResourceConfigHistory or
/// BatchGet(Aggregate)ResourceConfig output or a JSON array of items from `reader` (inflated if
/// gzip) without holding the whole input: `each(index, text, line)` is called for each item in
/// order, with the line it starts on, and may fail. The input is held one item at a time, so a
/// scan of a snapshot of any size needs memory for its parsed items only.
///
/// Any other shape (events, SelectResourceConfig pages, one item), and anything that is not
/// well-formed JSON, gives [`NotStreamed::Whole`]: the caller reads the input whole, and [`split`]
/// reads it or says what is wrong in the words it always used. Items already handed over are then
/// to be discarded. An error from `each` ends the read with that error.
pub fn stream(
    reader: impl Read,
    name: &str,
    limit: u64,
    mut each: impl FnMut(usize, &str, Option<u32>) -> Result<()>,
) -> std::result::Result<Streamed, NotStreamed> {
    let mut head = [0u8; 2];
    let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
    let io = |source: std::io::Error| {
        NotStreamed::Failed(Error::Io {
            path: name.to_owned(),
            source,
        })
    };
    let gzip = {
        let buf = std::io::BufRead::fill_buf(&mut reader).map_err(io)?;
        head[..buf.len().min(2)].copy_from_slice(&buf[..buf.len().min(2)]);
        head == [0x1f, 0x8b]
    };
    let source: Box<dyn Read + '_> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut bytes = Scanner::new(source, limit);
    let found = scan_items(&mut bytes, &mut each);
    match (found, bytes.failure.take()) {
        (_, Some(Failure::TooBig)) => Err(NotStreamed::Failed(Error::Input {
            source_name: name.to_owned(),
            message: format!("larger than {limit} bytes (after inflating): split the snapshot by account or region"),
        })),
        (_, Some(Failure::Io(e))) if gzip => Err(NotStreamed::Failed(Error::Input {
            source_name: name.to_owned(),
            message: format!("a gzip file cut short or damaged ({e}): copy it again"),
        })),
        (_, Some(Failure::Io(e))) => Err(io(e)),
        (Ok(Some(found)), None) => Ok(found),
        (Ok(None), None) => Err(NotStreamed::Whole),
        (Err(e), None) => Err(NotStreamed::Failed(e)),
    }
}

enum Failure {
    Io(std::io::Error),
    TooBig,
}

/// The input's bytes, held from the start of the value being read (`mark`) on.
struct Scanner<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    mark: Option<usize>,
    /// Newlines before `pos`.
    newlines: usize,
    read: u64,
    limit: u64,
    failure: Option<Failure>,
}

impl<R: Read> Scanner<R> {
    fn new(reader: R, limit: u64) -> Self {
        Self {
            reader,
            buf: Vec::with_capacity(1 << 20),
            pos: 0,
            mark: None,
            newlines: 0,
            read: 0,
            limit,
            failure: None,
        }
    }

    /// Reads more; false at the end (or on a failure, kept in `failure`).
    fn fill(&mut self) -> bool {
        if self.failure.is_some() {
            return false;
        }
        let keep = self.mark.unwrap_or(self.pos);
        if keep > 0 {
            self.buf.drain(..keep);
            self.pos -= keep;
            self.mark = self.mark.map(|_| 0);
        }
        let at = self.buf.len();
        self.buf.resize(at + (1 << 20), 0);
        let n = loop {
            match self.reader.read(&mut self.buf[at..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(at);
                    self.failure = Some(Failure::Io(e));
                    return false;
                }
            }
        };
        self.buf.truncate(at + n);
        self.read += n as u64;
        if self.read > self.limit {
            self.failure = Some(Failure::TooBig);
            return false;
        }
        n > 0
    }

    /// The next byte that is not JSON whitespace, not consumed (None at the end).
    fn next_token(&mut self) -> Option<u8> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                match b {
                    b'\n' => self.newlines += 1,
                    b' ' | b'\t' | b'\r' => {}
                    _ => return Some(b),
                }
                self.pos += 1;
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        if self.next_token() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes one value (not checked: the caller parses what it keeps), marked from its
    /// first byte. False at an unexpected end.
    fn skip_value(&mut self) -> bool {
        let Some(first) = self.next_token().filter(|b| !matches!(b, b',' | b':' | b']' | b'}')) else {
            return false;
        };
        self.mark = Some(self.pos);
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            self.pos += 1;
                            return true;
                        }
                    } else if b == b'\n' {
                        self.newlines += 1;
                    }
                } else if scalar {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                        return true;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return true;
                            }
                        }
                        b'\n' => self.newlines += 1,
                        _ => {}
                    }
                }
                self.pos += 1;
            }
            if !self.fill() {
                return scalar && self.failure.is_none();
            }
        }
    }

    /// The marked value's text, unmarked.
    fn take(&mut self) -> Option<&str> {
        let from = self.mark.take()?;
        std::str::from_utf8(&self.buf[from..self.pos]).ok()
    }
}

/// The streaming half of [`stream`]: Ok(None) where the input is to be read whole.
fn scan_items<R: Read>(
    s: &mut Scanner<R>,
    each: &mut impl FnMut(usize, &str, Option<u32>) -> Result<()>,
) -> Result<Option<Streamed>> {
    // The items of a list, in order; None: not a well-formed list.
    fn list<R: Read>(
        s: &mut Scanner<R>,
        each: &mut impl FnMut(usize, &str, Option<u32>) -> Result<()>,
    ) -> Result<Option<usize>> {
        if !s.eat(b'[') {
            return Ok(None);
        }
        if s.eat(b']') {
            return Ok(Some(0));
        }
        let mut n = 0;
        loop {
            if !s.skip_value() {
                return Ok(None);
            }
            let line = u32::try_from(s.newlines + 1).unwrap_or(u32::MAX);
            // The item's own newlines were counted while reading it: its first line is before them.
            let Some(text) = s.take() else {
                return Ok(None);
            };
            let line = line.saturating_sub(u32::try_from(newlines(text.as_bytes())).unwrap_or(u32::MAX));
            // An item that is not JSON makes the whole input invalid JSON, which `split` says.
            if let Err(e) = each(n, text, Some(line)) {
                let invalid = serde_json::from_str::<serde::de::IgnoredAny>(text).is_err();
                return if invalid { Ok(None) } else { Err(e) };
            }
            n += 1;
            if s.eat(b']') {
                return Ok(Some(n));
            }
            if !s.eat(b',') {
                return Ok(None);
            }
        }
    }
    let at_end = |s: &mut Scanner<R>| s.next_token().is_none() && s.failure.is_none();
    match s.next_token() {
        Some(b'[') => Ok(match list(s, each)? {
            Some(items) if at_end(s) => Some(Streamed {
                snapshot_id: None,
                shape: "a JSON array of configuration items",
                items,
            }),
            _ => None,
        }),
        Some(b'{') => {
            s.pos += 1;
            let (mut items, mut base) = (None, false);
            // As `split` reads them: per key as written the last value, and of the keys that
            // differ in case only, the first in byte order.
            let mut snapshot_ids: BTreeMap<String, Option<String>> = BTreeMap::new();
            let (mut file_version, mut unprocessed) = (false, false);
            let mut first = true;
            loop {
                if first && s.eat(b'}') {
                    break;
                }
                first = false;
                if s.next_token() != Some(b'"') || !s.skip_value() {
                    return Ok(None);
                }
                let Some(Ok(key)) = s.take().map(serde_json::from_str::<String>) else {
                    return Ok(None);
                };
                if !s.eat(b':') {
                    return Ok(None);
                }
                let is = |k: &str| key.eq_ignore_ascii_case(k);
                if is("configurationItems") || is("baseConfigurationItems") {
                    // Two lists of items: `split` chooses, over the whole input.
                    if items.is_some() {
                        return Ok(None);
                    }
                    base = is("baseConfigurationItems");
                    match list(s, each)? {
                        Some(n) => items = Some(n),
                        None => return Ok(None),
                    }
                } else {
                    if !s.skip_value() {
                        return Ok(None);
                    }
                    let Some(text) = s.take() else {
                        return Ok(None);
                    };
                    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
                        return Ok(None);
                    }
                    if is("configSnapshotId") {
                        snapshot_ids.insert(key.clone(), serde_json::from_str::<String>(text).ok());
                    }
                    file_version |= is("fileVersion");
                    unprocessed |= is("unprocessedResourceIdentifiers");
                }
                if s.eat(b'}') {
                    break;
                }
                if !s.eat(b',') {
                    return Ok(None);
                }
            }
            let Some(items) = items.filter(|_| at_end(s)) else {
                return Ok(None);
            };
            let snapshot_id = snapshot_ids.into_values().next().flatten();
            let shape = match (base, unprocessed) {
                (true, true) => "a BatchGetAggregateResourceConfig output",
                (true, false) => "a BatchGetResourceConfig output",
                _ if snapshot_id.is_some() => COMPLETE_RECORDING,
                _ if file_version => HISTORY_FILE,
                _ => "a GetResourceConfigHistory output",
            };
            Ok(Some(Streamed {
                snapshot_id: if base { None } else { snapshot_id },
                shape,
                items,
            }))
        }
        _ => Ok(None),
    }
}

/// A snapshot split into its items, not yet parsed.
#[derive(Debug)]
pub struct RawSnapshot<'a> {
    /// `configSnapshotId`, when the input was a snapshot file.
    pub snapshot_id: Option<String>,
    /// The items' JSON text: borrowed from the input, or owned where the input held them as JSON
    /// strings (a rule event's `invokingEvent`, SelectResourceConfig's `Results`).
    pub items: Vec<Cow<'a, RawValue>>,
    /// The line each item starts on in the input (1-based), where it is a part of the input's text.
    pub lines: Vec<Option<u32>>,
    /// What the input was, in words (`an AWS Config snapshot`, `a BatchGetResourceConfig output`).
    pub shape: &'static str,
}

/// The shape of an input that is a complete recording of its accounts and regions.
pub const COMPLETE_RECORDING: &str = "an AWS Config snapshot";

/// The shape of a configuration history file (`..._ConfigHistory_<type>_<start>_<end>_<n>.json.gz`):
/// the changes of one resource type over a period, a partial input.
pub const HISTORY_FILE: &str = "an AWS Config history file (partial: the changes of one type over a period)";

/// What `split` accepts, for the message when it gets something else.
const ACCEPTED: &str = "expected an AWS Config snapshot ({\"configurationItems\": [...]}), a JSON array of \
    configuration items, one item, a Config rule Lambda event or its invokingEvent, an EventBridge \
    \"Config Configuration Item Change\" event, or the output of BatchGetResourceConfig, \
    GetResourceConfigHistory, SelectResourceConfig or their aggregate forms";

/// The value of `key` in an object, matched without regard to case (the Config API spells
/// `baseConfigurationItems` and the aggregator `BaseConfigurationItems`).
fn field<'a, 'b>(object: &'b BTreeMap<String, &'a RawValue>, key: &str) -> Option<&'b &'a RawValue> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// Splits `text` into items. `source_name` names the input in errors.
pub fn split<'a>(text: &'a str, source_name: &str) -> Result<RawSnapshot<'a>> {
    let err = |message: String| Error::Input {
        source_name: source_name.to_owned(),
        message,
    };
    let invalid = |e: serde_json::Error| err(format!("invalid JSON: {}", crate::domain::error::redacted(&e)));
    // The line each item starts on, counting newlines once over the text (items come in order).
    let lines_of = |items: &[&'a RawValue]| -> Vec<Option<u32>> {
        let base = text.as_ptr() as usize;
        let (mut at, mut line) = (0usize, 1usize);
        items
            .iter()
            .map(|r| {
                let start = (r.get().as_ptr() as usize).checked_sub(base)?;
                if start > text.len() || start < at {
                    return None;
                }
                line += newlines(&text.as_bytes()[at..start]);
                at = start;
                Some(u32::try_from(line).unwrap_or(u32::MAX))
            })
            .collect()
    };
    let borrowed = |items: Vec<&'a RawValue>, snapshot_id: Option<String>, shape: &'static str| RawSnapshot {
        snapshot_id,
        lines: lines_of(&items),
        items: items.into_iter().map(Cow::Borrowed).collect(),
        shape,
    };
    let list = |v: &'a RawValue, what: &str| -> Result<Vec<&'a RawValue>> {
        serde_json::from_str(v.get()).map_err(|_| err(format!("`{what}` is not a list of configuration items")))
    };
    match text.trim_start().as_bytes().first() {
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(invalid)?;
            Ok(borrowed(items, None, "a JSON array of configuration items"))
        }
        Some(b'{') => {
            let object: BTreeMap<String, &'a RawValue> = serde_json::from_str(text).map_err(invalid)?;
            if let Some(items) = field(&object, "configurationItems") {
                // A snapshot file (it has a `configSnapshotId`), a history file the delivery
                // channel writes beside the snapshots (`fileVersion` and no snapshot id: the
                // changes of one resource type over a period), or GetResourceConfigHistory's
                // output (several captures of one resource: the newest is used). Only a snapshot
                // records everything of its account and region.
                let snapshot_id =
                    field(&object, "configSnapshotId").and_then(|v| serde_json::from_str::<String>(v.get()).ok());
                let shape = if snapshot_id.is_some() {
                    COMPLETE_RECORDING
                } else if field(&object, "fileVersion").is_some() {
                    HISTORY_FILE
                } else {
                    "a GetResourceConfigHistory output"
                };
                return Ok(borrowed(list(items, "configurationItems")?, snapshot_id, shape));
            }
            if let Some(items) = field(&object, "baseConfigurationItems") {
                let shape = if field(&object, "unprocessedResourceIdentifiers").is_some() {
                    "a BatchGetAggregateResourceConfig output"
                } else {
                    "a BatchGetResourceConfig output"
                };
                return Ok(borrowed(list(items, "baseConfigurationItems")?, None, shape));
            }
            if let Some(results) = field(&object, "Results") {
                let results: Vec<String> = serde_json::from_str(results.get())
                    .map_err(|_| err("`Results` is not a list of JSON strings (SelectResourceConfig)".into()))?;
                let items = results
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        RawValue::from_string(r.clone())
                            .map_err(|_| err(format!("`Results[{i}]` is not a JSON object (SelectResourceConfig)")))
                    })
                    .collect::<Result<Vec<Box<RawValue>>>>()?;
                return Ok(RawSnapshot {
                    snapshot_id: None,
                    lines: vec![None; items.len()],
                    items: items.into_iter().map(Cow::Owned).collect(),
                    shape: "a SelectResourceConfig output",
                });
            }
            if let Some(invoking) = field(&object, "invokingEvent") {
                // A Config rule Lambda event: the item is inside `invokingEvent`, a JSON string.
                let inner: String = serde_json::from_str(invoking.get())
                    .map_err(|_| err("`invokingEvent` is not a JSON string (Config rule event)".into()))?;
                let inner_object: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&inner).map_err(|e| {
                    err(format!(
                        "`invokingEvent`: invalid JSON: {}",
                        crate::domain::error::redacted(&e)
                    ))
                })?;
                let item = inner_object
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("configurationItem"))
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| err(no_item(&inner_object)))?;
                return Ok(RawSnapshot {
                    snapshot_id: None,
                    lines: vec![None],
                    items: vec![Cow::Owned(item)],
                    shape: "a Config rule Lambda event",
                });
            }
            if let Some(item) = field(&object, "configurationItem") {
                // An invokingEvent, or GetAggregateResourceConfig's output.
                return Ok(borrowed(vec![*item], None, "an invokingEvent"));
            }
            if let Some(detail) = field(&object, "detail") {
                let detail: BTreeMap<String, &'a RawValue> = serde_json::from_str(detail.get())
                    .map_err(|_| err("`detail` is not an object (EventBridge event)".into()))?;
                if let Some(item) = field(&detail, "configurationItem") {
                    return Ok(borrowed(vec![*item], None, "an EventBridge Config change event"));
                }
                return Err(err(format!(
                    "an EventBridge event without `detail.configurationItem`: {ACCEPTED}"
                )));
            }
            if field(&object, "resourceType").is_some() {
                let one: &RawValue = serde_json::from_str(text).map_err(invalid)?;
                return Ok(borrowed(vec![one], None, "one configuration item"));
            }
            Err(err(format!("a JSON object of no known shape: {ACCEPTED}")))
        }
        _ => Err(err(format!("not JSON: {ACCEPTED}"))),
    }
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Why an invoking event holds no item, in words.
fn no_item(event: &BTreeMap<String, Box<RawValue>>) -> String {
    let kind = event
        .get("messageType")
        .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
        .unwrap_or_default();
    match kind.as_str() {
        "OversizedConfigurationItemChangeNotification" => {
            "the rule event is an OversizedConfigurationItemChangeNotification, which carries no item: fetch it \
             with `aws configservice get-resource-config-history` and scan that output"
                .to_owned()
        }
        "ScheduledNotification" => "the rule event is a ScheduledNotification, which carries no item".to_owned(),
        _ => "the rule event's `invokingEvent` has no `configurationItem`".to_owned(),
    }
}

/// Parses every item. With `keep_going`, bad items are returned as errors beside the good ones;
/// without it, the first bad item fails the whole input (nothing is half-read).
pub fn parse_items(
    raw: &RawSnapshot<'_>,
    keep_going: bool,
    mut progress: impl FnMut(usize),
) -> Result<(Vec<ConfigurationItem>, Vec<Error>)> {
    let mut items = Vec::with_capacity(raw.items.len());
    let errors = parse_each(raw, keep_going, |i, item| {
        items.push(item);
        progress(i + 1);
    })?;
    Ok((items, errors))
}

/// [`parse_items`] handing each good item to `each` with its index in `raw.items` (so that a
/// caller can keep the item's text beside it), returning the errors kept with `keep_going`.
pub fn parse_each(
    raw: &RawSnapshot<'_>,
    keep_going: bool,
    mut each: impl FnMut(usize, ConfigurationItem),
) -> Result<Vec<Error>> {
    let mut errors = Vec::new();
    for (i, r) in raw.items.iter().enumerate() {
        match parse_one(r.get(), i, raw.lines.get(i).copied().flatten()) {
            Ok(item) => each(i, item),
            Err(e) if keep_going => errors.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok(errors)
}

/// Parses item `i` of an input, `text`, which starts on `line` of the input: a bad item's error
/// names that line.
pub fn parse_one(text: &str, i: usize, line: Option<u32>) -> Result<ConfigurationItem> {
    match ConfigurationItem::from_json(text, Some(i)) {
        Err(Error::Item {
            mut location,
            field,
            message,
        }) => {
            location.line = line;
            // serde's position is within the item; the item's line in the file says more.
            let message = match (location.line, message.rfind(" at line ")) {
                (Some(_), Some(at)) => message[..at].to_owned(),
                _ => message,
            };
            Err(Error::Item {
                location,
                field,
                message,
            })
        }
        other => other,
    }
}

/// Reads, splits and parses a snapshot file in one call.
pub fn load(path: &Path, keep_going: bool) -> Result<(Vec<ConfigurationItem>, Vec<Error>)> {
    let bytes = read_bytes(path)?;
    let name = path.display().to_string();
    let text = std::str::from_utf8(&bytes).map_err(|e| Error::Input {
        source_name: name.clone(),
        message: format!("not UTF-8: {e}"),
    })?;
    parse_items(&split(text, &name)?, keep_going, |_| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = r#"{"awsAccountId":"1","awsRegion":"us-east-1","resourceType":"AWS::S3::Bucket","resourceId":"b","configuration":{}}"#;

    #[test]
    fn refuses_more_than_the_limit_plain_or_inflated() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("s.json");
        std::fs::write(&plain, format!("[{ITEM}]")).unwrap();
        assert!(read_bytes_limited(&plain, 1000).is_ok());
        let e = read_bytes_limited(&plain, 50).unwrap_err().to_string();
        assert!(e.contains("larger than 50 bytes"), "{e}");
        // A small gzip that inflates past the limit (a bomb) is refused without inflating it all.
        let bomb = dir.path().join("s.json.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b' '; 1 << 20]).unwrap();
        std::fs::write(&bomb, gz.finish().unwrap()).unwrap();
        assert!(std::fs::metadata(&bomb).unwrap().len() < 10_000);
        let e = read_bytes_limited(&bomb, 64 * 1024).unwrap_err().to_string();
        assert!(e.contains("larger than 65536 bytes (after inflating)"), "{e}");
        assert_eq!(read_bytes_limited(&bomb, 2 << 20).unwrap().len(), 1 << 20);
    }

    /// The shape, snapshot id and each item's text and line.
    type Read = (&'static str, Option<String>, Vec<(String, Option<u32>)>);

    /// What [`stream`] made of `bytes`, or None where it left the input to [`split`].
    fn streamed(bytes: &[u8], limit: u64) -> Option<Read> {
        let mut items = Vec::new();
        // As the scan's reader does: an item is parsed, and one that is not JSON fails.
        match stream(bytes, "x", limit, |i, text, line| {
            assert_eq!(i, items.len());
            serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| Error::Input {
                source_name: "x".into(),
                message: e.to_string(),
            })?;
            items.push((text.to_owned(), line));
            Ok(())
        }) {
            Ok(found) => {
                assert_eq!(found.items, items.len());
                Some((found.shape, found.snapshot_id, items))
            }
            Err(NotStreamed::Whole) => None,
            Err(NotStreamed::Failed(e)) => panic!("{e}"),
        }
    }

    /// Streaming `text` gives what splitting it whole gives, or leaves it to `split`: it never
    /// answers where `split` fails, nor answers differently. Returns whether it streamed.
    fn same_as_split(text: &str) -> bool {
        let whole = split(text, "x").ok().map(|r| {
            let items: Vec<(String, Option<u32>)> = r
                .items
                .iter()
                .zip(&r.lines)
                .map(|(i, l)| (i.get().to_owned(), *l))
                .collect();
            (r.shape, r.snapshot_id, items)
        });
        match streamed(text.as_bytes(), MAX_SNAPSHOT_BYTES) {
            Some(got) => {
                assert_eq!(Some(&got), whole.as_ref(), "streamed differently from split");
                true
            }
            None => false,
        }
    }

    #[test]
    fn streaming_reads_what_split_reads_or_leaves_it_to_split() {
        // Real items (AWS Config's, from awslabs/aws-config-rdk; tests/corpus/README.md), in
        // each shape that streams, compact and pretty-printed, keys in either order.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/aws-config-rdk");
        let mut items: Vec<serde_json::Value> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect();
        items.sort_by_key(|v| v.to_string());
        assert!(items.len() > 20);
        let list = serde_json::Value::Array(items.clone());
        let snapshot = |first: &str, second: &str| {
            let pairs = [
                (first, serde_json::json!("7a1e2b6c-0b6e-4b8f-9d3f-0c1a2b3c4d5e")),
                (second, list.clone()),
            ];
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("\n  \"{k}\": {}", serde_json::to_string_pretty(v).unwrap()))
                .collect();
            format!("{{\"fileVersion\": \"1.0\",{}\n}}\n", body.join(","))
        };
        let shapes = [
            snapshot("configSnapshotId", "configurationItems"),
            snapshot("configSnapshotId", "configurationItems").replace("\"fileVersion\": \"1.0\",", ""),
            snapshot("nextToken", "configurationItems").replace("\"fileVersion\": \"1.0\",", ""),
            snapshot("nextToken", "configurationItems"),
            snapshot("configSnapshotId", "configurationItems").replace('\n', "\r\n"),
            format!("{{\"baseConfigurationItems\":{list},\"unprocessedResourceKeys\":[]}}"),
            format!("{{\"unprocessedResourceIdentifiers\":[],\"BaseConfigurationItems\":{list}}}"),
            serde_json::to_string_pretty(&list).unwrap(),
            format!("  {list}  \n"),
            "[]".to_owned(),
            "{\"configurationItems\":[]}".to_owned(),
        ];
        for text in &shapes {
            assert!(same_as_split(text), "not streamed: {}", &text[..80.min(text.len())]);
        }
        // Keys written twice, or in two cases: the value `split` takes.
        for ids in [
            r#""configSnapshotId":"b","ConfigSnapshotId":"a""#,
            r#""ConfigSnapshotId":"a","configSnapshotId":"b""#,
            r#""configSnapshotId":"a","configSnapshotId":1"#,
            r#""configSnapshotId":1,"configSnapshotId":"a""#,
        ] {
            assert!(
                same_as_split(&format!(r#"{{{ids},"configurationItems":[{ITEM}]}}"#)),
                "{ids}"
            );
        }
        // The snapshot's first shape, gzip-compressed, streams the same items.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, shapes[0].as_bytes()).unwrap();
        let inflated = streamed(&gz.finish().unwrap(), MAX_SNAPSHOT_BYTES);
        assert_eq!(inflated, streamed(shapes[0].as_bytes(), MAX_SNAPSHOT_BYTES));

        // The other shapes are left to `split` (one item, events, API pages).
        for name in [
            "config-rule/change-ec2-instance.json",
            "event-reevaluator/config-item-change-iam-role.json",
            "config-rule/oversized.json",
        ] {
            assert!(!same_as_split(&event(name)), "{name}");
        }
        assert!(!same_as_split(ITEM));
        assert!(!same_as_split(&format!(
            r#"{{"Results":[{}]}}"#,
            serde_json::to_string(ITEM).unwrap()
        )));
        // Two lists of items, one list that is not, and what is not JSON: `split` decides.
        for text in [
            format!(r#"{{"configurationItems":[{ITEM}],"baseConfigurationItems":[{ITEM}]}}"#),
            format!(r#"{{"configurationItems":[{ITEM}],"ConfigurationItems":[{ITEM}]}}"#),
            r#"{"configurationItems":{"a":1}}"#.to_owned(),
            format!("[{ITEM}] trailing"),
            format!("[{ITEM},]"),
            format!("[{ITEM} {ITEM}]"),
            format!(r#"{{"configurationItems":[{ITEM}] "x":1}}"#),
            format!(r#"{{"configSnapshotId":tru,"configurationItems":[{ITEM}]}}"#),
            format!(r#"{{"configurationItems":[{ITEM},{{"a":]}}]}}"#),
            format!("\u{feff}[{ITEM}]"),
        ] {
            assert!(!same_as_split(&text), "{text}");
        }
        // Every cut of a snapshot: streamed only where `split` reads the same.
        let small = format!(
            "{{\"configSnapshotId\": \"a\\\"b\",\n \"configurationItems\": [\n{ITEM},\n{}\n]}}",
            serde_json::to_string_pretty(&items[0]).unwrap()
        );
        for cut in 0..small.len() {
            if small.is_char_boundary(cut) {
                same_as_split(&small[..cut]);
            }
        }
        assert!(same_as_split(&small));
    }

    #[test]
    fn streaming_holds_one_item_at_a_time_and_refuses_more_than_the_limit() {
        // An item far larger than the read buffer, with every character a scanner could trip on
        // inside its strings.
        let tricky = "{[\\\"]}\\\\\u{e9}\\n".repeat(300_000);
        let big = format!(
            r#"{{"awsAccountId":"1","awsRegion":"us-east-1","resourceType":"AWS::S3::Bucket","resourceId":"{tricky}","configuration":{{"a":["{tricky}"]}}}}"#
        );
        let text = format!("[{ITEM},\n{big},\n{ITEM}]");
        assert!(same_as_split(&text));
        let (_, _, got) = streamed(text.as_bytes(), MAX_SNAPSHOT_BYTES).unwrap();
        assert_eq!(
            got.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3)]
        );
        // The limit applies to the inflated bytes, read in constant memory.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &vec![b' '; 4 << 20]).unwrap();
        match stream(gz.finish().unwrap().as_slice(), "bomb", 1 << 20, |_, _, _| Ok(())) {
            Err(NotStreamed::Failed(e)) => assert!(e.to_string().contains("larger than 1048576 bytes"), "{e}"),
            other => panic!("{other:?}"),
        }
        // An error from the caller ends the read with it.
        let e = stream(text.as_bytes(), "x", MAX_SNAPSHOT_BYTES, |i, _, _| {
            if i == 1 {
                Err(Error::Input {
                    source_name: "x".into(),
                    message: "stop".into(),
                })
            } else {
                Ok(())
            }
        });
        assert!(matches!(e, Err(NotStreamed::Failed(Error::Input { ref message, .. })) if message == "stop"));
    }

    #[test]
    fn accepts_snapshot_array_and_single_item() {
        let snap = format!(r#"{{"fileVersion":"1.0","configSnapshotId":"abc","configurationItems":[{ITEM},{ITEM}]}}"#);
        let s = split(&snap, "x").unwrap();
        assert_eq!((s.items.len(), s.snapshot_id.as_deref()), (2, Some("abc")));
        assert_eq!(split(&format!("[{ITEM}]"), "x").unwrap().items.len(), 1);
        assert_eq!(split(ITEM, "x").unwrap().items.len(), 1);
    }

    fn event(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../events")
                .join(name),
        )
        .unwrap()
    }

    fn one_item(text: &str) -> (ConfigurationItem, &'static str) {
        let s = split(text, "x").unwrap();
        let (items, errors) = parse_items(&s, false, |_| {}).unwrap();
        assert!(errors.is_empty());
        assert_eq!(items.len(), 1, "{}", s.shape);
        (items.into_iter().next().unwrap(), s.shape)
    }

    #[test]
    fn accepts_what_users_copy_items_from() {
        // A Config rule Lambda event, and the invokingEvent inside it.
        let rule_event = event("config-rule/change-ec2-instance.json");
        let (item, shape) = one_item(&rule_event);
        assert_eq!(
            (item.resource_id.as_str(), shape),
            ("i-0bat000000000002", "a Config rule Lambda event")
        );
        let invoking: serde_json::Value = serde_json::from_str(&rule_event).unwrap();
        let (item, shape) = one_item(invoking["invokingEvent"].as_str().unwrap());
        assert_eq!(
            (item.resource_id.as_str(), shape),
            ("i-0bat000000000002", "an invokingEvent")
        );
        // An EventBridge "Config Configuration Item Change" event.
        let (item, shape) = one_item(&event("event-reevaluator/config-item-change-iam-role.json"));
        assert_eq!(
            (item.resource_type.as_str(), shape),
            ("AWS::IAM::Role", "an EventBridge Config change event")
        );
        // API outputs: items in API form (configuration as a JSON string, `accountId`).
        let api = r#"{"version":"1.3","accountId":"111122223333","configurationItemCaptureTime":1795162542.517,"configurationItemStatus":"OK","arn":"arn:aws:s3:::b","resourceType":"AWS::S3::Bucket","resourceId":"b","awsRegion":"us-east-1","configuration":"{}"}"#;
        for (text, expected) in [
            (
                format!(r#"{{"baseConfigurationItems":[{api}],"unprocessedResourceKeys":[]}}"#),
                "a BatchGetResourceConfig output",
            ),
            (
                format!(r#"{{"BaseConfigurationItems":[{api}],"UnprocessedResourceIdentifiers":[]}}"#),
                "a BatchGetAggregateResourceConfig output",
            ),
            (
                format!(r#"{{"configurationItems":[{api}],"nextToken":"t"}}"#),
                "a GetResourceConfigHistory output",
            ),
            // A history file of the delivery channel: like a snapshot, without its id.
            (
                format!(r#"{{"fileVersion":"1.0","configurationItems":[{api}]}}"#),
                HISTORY_FILE,
            ),
            (
                format!(r#"{{"fileVersion":"1.0","configSnapshotId":"s","configurationItems":[{api}]}}"#),
                COMPLETE_RECORDING,
            ),
            (
                format!(
                    r#"{{"Results":[{}],"QueryInfo":{{"SelectFields":[{{"Name":"resourceId"}}]}}}}"#,
                    serde_json::to_string(api).unwrap()
                ),
                "a SelectResourceConfig output",
            ),
        ] {
            let (item, shape) = one_item(&text);
            assert_eq!((item.resource_id.as_str(), shape), ("b", expected));
        }
    }

    #[test]
    fn a_rule_event_without_an_item_says_what_to_do() {
        let e = split(&event("config-rule/oversized.json"), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("get-resource-config-history"), "{e}");
        let e = split(&event("config-rule/scheduled.json"), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ScheduledNotification"), "{e}");
        let e = split(r#"{"foo": 1}"#, "in.json").unwrap_err().to_string();
        assert!(e.contains("expected an AWS Config snapshot"), "{e}");
    }

    #[test]
    fn each_item_knows_the_line_it_starts_on() {
        let text = format!("{{\"configurationItems\": [\n{ITEM},\n\n{ITEM}, {ITEM},\n{ITEM}]}}");
        assert_eq!(split(&text, "x").unwrap().lines, [Some(2), Some(4), Some(4), Some(5)]);
        assert_eq!(split(&format!("[{ITEM}]"), "x").unwrap().lines, [Some(1)]);
    }

    #[test]
    fn a_bad_item_is_named_by_its_line_in_the_file() {
        let text = "{\"configurationItems\": [\n  {\"awsAccountId\":\"1\",\"awsRegion\":\"r\",\"resourceType\":\"AWS::S3::Bucket\",\"resourceId\":\"ok\",\"configuration\":{}},\n  {\"awsAccountId\":\"1\",\"awsRegion\":\"r\",\"resourceType\":\"AWS::EC2::Instance\",\"resourceId\":\"i-1\",\"configuration\":{\"state\":{\"name\":5}}}\n]}";
        let e = parse_items(&split(text, "x").unwrap(), false, |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("#1 at line 3") && e.contains("configuration.state.name"),
            "{e}"
        );
        assert!(e.ends_with("invalid type: integer, expected a string"), "{e}");
    }

    #[test]
    fn rejects_what_is_not_a_snapshot() {
        for bad in [
            "",
            "hello",
            "{\"fileVersion\":\"1.0\"}",
            "[{\"a\":1}",
            "{\"configurationItems\":3}",
        ] {
            let e = split(bad, "in.json").unwrap_err().to_string();
            assert!(e.starts_with("in.json: "), "{e}");
        }
    }

    #[test]
    fn bad_item_names_index_type_id_and_field() {
        let bad = r#"[{"awsAccountId":"1","awsRegion":"r","resourceType":"AWS::EC2::Instance","resourceId":"i-1","configuration":{"state":{"name":5}}}]"#;
        let s = split(bad, "x").unwrap();
        let e = parse_items(&s, false, |_| {}).unwrap_err().to_string();
        assert!(
            e.contains("#0") && e.contains("AWS::EC2::Instance i-1") && e.contains("configuration.state.name"),
            "{e}"
        );
        let (ok, errs) = parse_items(&s, true, |_| {}).unwrap();
        assert_eq!((ok.len(), errs.len()), (0, 1));
    }
}
