//! Reading AWS Config snapshot files (the delivery channel's
//! `{"fileVersion","configSnapshotId","configurationItems":[...]}`), plain JSON arrays of items,
//! single items, gzip-compressed or not.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
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
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let too_big = || Error::Input {
        source_name: path.display().to_string(),
        message: format!("larger than {limit} bytes (after inflating): split the snapshot by account or region"),
    };
    let mut raw = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(limit + 1)
        .read_to_end(&mut raw)
        .map_err(io)?;
    if raw.len() as u64 > limit {
        return Err(too_big());
    }
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len().saturating_mul(8).min(limit as usize));
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(io)?;
        if out.len() as u64 > limit {
            return Err(too_big());
        }
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// A snapshot split into its items, not yet parsed.
#[derive(Debug)]
pub struct RawSnapshot<'a> {
    /// `configSnapshotId`, when the input was a snapshot file.
    pub snapshot_id: Option<String>,
    /// The items' JSON text.
    pub items: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotFile<'a> {
    #[serde(default)]
    config_snapshot_id: Option<String>,
    #[serde(borrow, default)]
    configuration_items: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    resource_type: Option<&'a RawValue>,
}

/// Splits `text` into items. `source_name` names the input in errors.
pub fn split<'a>(text: &'a str, source_name: &str) -> Result<RawSnapshot<'a>> {
    let err = |message: String| Error::Input {
        source_name: source_name.to_owned(),
        message,
    };
    match text.trim_start().as_bytes().first() {
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)
                .map_err(|e| err(format!("invalid JSON: {}", crate::domain::error::redacted(&e))))?;
            Ok(RawSnapshot {
                snapshot_id: None,
                items,
            })
        }
        Some(b'{') => {
            let file: SnapshotFile<'_> = serde_json::from_str(text)
                .map_err(|e| err(format!("invalid JSON: {}", crate::domain::error::redacted(&e))))?;
            match (file.configuration_items, file.resource_type) {
                (Some(items), _) => Ok(RawSnapshot {
                    snapshot_id: file.config_snapshot_id,
                    items,
                }),
                (None, Some(_)) => {
                    let one: &RawValue = serde_json::from_str(text)
                        .map_err(|e| err(format!("invalid JSON: {}", crate::domain::error::redacted(&e))))?;
                    Ok(RawSnapshot {
                        snapshot_id: None,
                        items: vec![one],
                    })
                }
                (None, None) => Err(err(
                    "a JSON object without `configurationItems` (an AWS Config snapshot) or `resourceType` (one item)"
                        .to_owned(),
                )),
            }
        }
        _ => Err(err(
            "not JSON: expected an AWS Config snapshot object or an array of configuration items".to_owned(),
        )),
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
    let mut errors = Vec::new();
    for (i, r) in raw.items.iter().enumerate() {
        match ConfigurationItem::from_json(r.get(), Some(i)) {
            Ok(item) => items.push(item),
            Err(e) if keep_going => errors.push(e),
            Err(e) => return Err(e),
        }
        progress(i + 1);
    }
    Ok((items, errors))
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

    #[test]
    fn accepts_snapshot_array_and_single_item() {
        let snap = format!(r#"{{"fileVersion":"1.0","configSnapshotId":"abc","configurationItems":[{ITEM},{ITEM}]}}"#);
        let s = split(&snap, "x").unwrap();
        assert_eq!((s.items.len(), s.snapshot_id.as_deref()), (2, Some("abc")));
        assert_eq!(split(&format!("[{ITEM}]"), "x").unwrap().items.len(), 1);
        assert_eq!(split(ITEM, "x").unwrap().items.len(), 1);
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
