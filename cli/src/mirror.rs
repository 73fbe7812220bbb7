//! Merging inputs into the recorded configuration items: the newest capture of each resource
//! wins, whichever input (or earlier scan) it came from; a complete recording marks the resources
//! of its scope that it no longer holds as deleted (a tombstone dated with the recording's time);
//! nothing older ever replaces anything newer, tombstones included. Pure: the store reads and
//! writes what this decides.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use shared::domain::graph::region_key;

use crate::inputs::Input;

/// A resource: (account, type, id).
pub type Key = (String, String, String);

/// What the store holds of one resource (its text is read only when needed).
#[derive(Debug, Clone)]
pub struct StoredItem {
    /// Its region (`global` for IAM).
    pub region: String,
    /// Capture time of the recorded item, or the time of the recording it was absent from.
    pub capture_time: Option<DateTime<Utc>>,
    /// A tombstone: absent from a complete recording captured at `capture_time`.
    pub deleted: bool,
    /// Service-API facts a live read attached to it are recorded with it.
    pub has_facts: bool,
}

/// A complete recording of one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// When it was captured.
    pub time: Option<DateTime<Utc>>,
    /// The types it records.
    pub types: BTreeSet<String>,
    /// The input it came from.
    pub source: String,
}

/// Where the newest version of a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// In the store (its text is read from there).
    Stored,
    /// Item `1` of input `0`.
    Input(usize, usize),
}

/// The newest known state of one resource.
#[derive(Debug, Clone)]
pub struct Newest {
    /// Its region.
    pub region: String,
    /// Capture time (for a tombstone, the time of the recording it was absent from).
    pub capture_time: Option<DateTime<Utc>>,
    /// Deleted (absent from a complete recording).
    pub deleted: bool,
    /// Where it is.
    pub holder: Holder,
    /// Whether the store must write it (new, newer, or newly deleted).
    pub write: bool,
    /// Whether the store held it before this merge.
    pub was_stored: bool,
    /// Whether the store holds service-API facts for it (a live read's): they stay with the
    /// resource when a file brings its item without them.
    pub stored_facts: bool,
}

/// The outcome of a merge.
#[derive(Debug, Default)]
pub struct Merged {
    /// Every resource of the accounts concerned, newest first-class.
    pub newest: HashMap<Key, Newest>,
    /// The complete recordings of the accounts concerned, newest per account and region.
    pub coverage: BTreeMap<(String, String), Coverage>,
    /// The coverage rows this merge changed.
    pub coverage_changed: BTreeSet<(String, String)>,
    /// Input items older than what is recorded or read elsewhere for the same resource.
    pub stale: usize,
    /// Resources newly marked deleted.
    pub tombstoned: usize,
}

/// The accounts the inputs concern: those they hold items of or cover.
pub fn accounts(inputs: &[Input]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for input in inputs {
        out.extend(input.items.iter().map(|i| i.item.account_id.clone()));
        if let Some(scope) = &input.scope {
            out.extend(scope.covers.keys().map(|(a, _)| a.clone()));
        }
    }
    out
}

/// Merges `inputs` into what is `stored` (the resources and recordings of the accounts the inputs
/// concern).
pub fn merge(
    stored: HashMap<Key, StoredItem>,
    coverage: BTreeMap<(String, String), Coverage>,
    inputs: &[Input],
) -> Merged {
    // Room for every resource at once (a map grown by doubling holds its old and new tables
    // together at each growth: a tenth of a large account's peak without a store): as many as
    // the store or the inputs hold, whichever holds more (the same resources, when an account
    // is scanned again).
    let room = stored.len().max(inputs.iter().map(|i| i.items.len()).sum());
    let mut newest = HashMap::with_capacity(room);
    newest.extend(stored.into_iter().map(|(k, s)| {
        (
            k,
            Newest {
                region: s.region,
                capture_time: s.capture_time,
                deleted: s.deleted,
                holder: Holder::Stored,
                write: false,
                was_stored: true,
                stored_facts: s.has_facts && !s.deleted,
            },
        )
    }));
    let mut m = Merged {
        newest,
        coverage,
        ..Merged::default()
    };
    // Items: the newest capture wins (`None`, an item without a capture time, is the oldest).
    for (n, input) in inputs.iter().enumerate() {
        for (j, incoming) in input.items.iter().enumerate() {
            let it = &incoming.item;
            let key = (it.account_id.clone(), it.resource_type.clone(), it.resource_id.clone());
            let candidate = Newest {
                region: it.region.clone(),
                capture_time: it.capture_time,
                deleted: false,
                holder: Holder::Input(n, j),
                write: true,
                was_stored: false,
                stored_facts: false,
            };
            match m.newest.get_mut(&key) {
                None => {
                    m.newest.insert(key, candidate);
                }
                Some(old) if old.capture_time > it.capture_time => m.stale += 1,
                Some(old) => {
                    if matches!(old.holder, Holder::Input(..)) && old.capture_time < it.capture_time {
                        // Another input of this scan held an older capture.
                        m.stale += 1;
                    }
                    // The same capture as recorded: read from the input, nothing to write.
                    let same = old.holder == Holder::Stored && !old.deleted && old.capture_time == it.capture_time;
                    let write = old.write || !same;
                    let (was_stored, stored_facts) = (old.was_stored, old.stored_facts);
                    *old = Newest {
                        write,
                        was_stored,
                        stored_facts,
                        ..candidate
                    };
                }
            }
        }
    }
    // Complete recordings: their coverage (never replaced by an older one), and tombstones for
    // what they no longer hold.
    for input in inputs {
        let Some(scope) = &input.scope else { continue };
        for ((account, region), types) in &scope.covers {
            let key = (account.clone(), region.clone());
            if m.coverage.get(&key).is_some_and(|c| c.time > scope.time) {
                continue;
            }
            let row = Coverage {
                time: scope.time,
                types: types.clone(),
                source: input.source.clone(),
            };
            if m.coverage.get(&key) != Some(&row) {
                m.coverage.insert(key.clone(), row);
                m.coverage_changed.insert(key);
            }
        }
        let Some(time) = scope.time else { continue };
        let held: HashSet<(&str, &str, &str)> = input
            .items
            .iter()
            .map(|i| {
                (
                    i.item.account_id.as_str(),
                    i.item.resource_type.as_str(),
                    i.item.resource_id.as_str(),
                )
            })
            .collect();
        let unreadable: HashSet<(&str, &str)> = input
            .errors
            .iter()
            .filter_map(|e| match e {
                shared::Error::Item { location, .. } => {
                    Some((location.resource_type.as_deref()?, location.resource_id.as_deref()?))
                }
                _ => None,
            })
            .collect();
        for ((account, rtype, rid), n) in &mut m.newest {
            if n.deleted
                || n.capture_time > Some(time)
                || held.contains(&(account.as_str(), rtype.as_str(), rid.as_str()))
                || unreadable.contains(&(rtype.as_str(), rid.as_str()))
            {
                continue;
            }
            let recorded = scope
                .covers
                .get(&(account.clone(), region_key(rtype, &n.region).to_owned()))
                .is_some_and(|types| types.contains(rtype));
            if recorded {
                n.tombstone(time);
                m.tombstoned += 1;
            }
        }
    }
    // A resource first seen now, in an input older than a recorded complete recording of its
    // scope that did not hold it, was gone by then.
    for ((account, rtype, _), n) in &mut m.newest {
        if n.was_stored || n.deleted {
            continue;
        }
        let scope = (account.clone(), region_key(rtype, &n.region).to_owned());
        if m.coverage_changed.contains(&scope) {
            continue;
        }
        if let Some(Coverage {
            time: Some(time),
            types,
            ..
        }) = m.coverage.get(&scope)
        {
            if n.capture_time <= Some(*time) && types.contains(rtype) {
                n.tombstone(*time);
                m.tombstoned += 1;
                m.stale += 1;
            }
        }
    }
    m
}

impl Newest {
    fn tombstone(&mut self, time: DateTime<Utc>) {
        self.deleted = true;
        self.capture_time = Some(time);
        self.write = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{Incoming, Scope};
    use chrono::TimeZone;
    use shared::domain::model::ConfigurationItem;

    fn t(h: u32) -> Option<DateTime<Utc>> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, 0, 0).single()
    }

    fn instance(id: &str, region: &str, at: Option<DateTime<Utc>>) -> Incoming {
        let body = serde_json::json!({
            "awsAccountId": "111122223333", "awsRegion": region, "resourceType": "AWS::EC2::Instance",
            "resourceId": id, "configurationItemCaptureTime": at.map(|t| t.to_rfc3339()),
            "configuration": {}
        })
        .to_string();
        Incoming {
            item: ConfigurationItem::from_json(&body, None).unwrap(),
            body: body.into(),
            facts: None,
        }
    }

    fn input(items: Vec<Incoming>, covers: &[&str], time: Option<DateTime<Utc>>) -> Input {
        Input {
            source: "x".into(),
            shape: "s",
            snapshot_id: None,
            read: items.len(),
            ignored: BTreeMap::new(),
            items,
            errors: Vec::new(),
            scope: (!covers.is_empty()).then(|| Scope {
                time,
                covers: covers
                    .iter()
                    .map(|r| {
                        (
                            ("111122223333".to_owned(), (*r).to_owned()),
                            BTreeSet::from(["AWS::EC2::Instance".to_owned()]),
                        )
                    })
                    .collect(),
            }),
        }
    }

    fn key(id: &str) -> Key {
        ("111122223333".into(), "AWS::EC2::Instance".into(), id.into())
    }

    fn stored_after(m: &Merged) -> HashMap<Key, StoredItem> {
        m.newest
            .iter()
            .map(|(k, n)| {
                (
                    k.clone(),
                    StoredItem {
                        region: n.region.clone(),
                        capture_time: n.capture_time,
                        deleted: n.deleted,
                        has_facts: false,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_region_recording_deletes_only_inside_its_own_region() {
        let east = input(
            vec![
                instance("i-east", "us-east-1", t(1)),
                instance("i-gone", "us-east-1", t(1)),
            ],
            &["us-east-1"],
            t(2),
        );
        let m = merge(HashMap::new(), BTreeMap::new(), &[east]);
        let west = input(vec![instance("i-west", "eu-west-1", t(3))], &["eu-west-1"], t(3));
        let m = merge(stored_after(&m), m.coverage, &[west]);
        assert!(
            !m.newest[&key("i-east")].deleted,
            "another region's recording deletes nothing here"
        );
        assert_eq!(m.tombstoned, 0);
        let east_again = input(vec![instance("i-east", "us-east-1", t(1))], &["us-east-1"], t(4));
        let m = merge(stored_after(&m), m.coverage, &[east_again]);
        assert!(m.newest[&key("i-gone")].deleted && m.newest[&key("i-gone")].write);
        assert_eq!(m.newest[&key("i-gone")].capture_time, t(4));
        assert!(!m.newest[&key("i-east")].write, "the same capture writes nothing");
        assert_eq!(m.coverage.len(), 2);
    }

    #[test]
    fn an_older_recording_undoes_nothing_newer() {
        let new = input(vec![instance("i-a", "us-east-1", t(5))], &["us-east-1"], t(6));
        let m = merge(HashMap::new(), BTreeMap::new(), &[new]);
        let m = merge(stored_after(&m), m.coverage, &[]);
        // A newer recording without i-b, then the older one with it: i-b was gone by the newer
        // one, and the newer recording's coverage stays.
        let old = input(
            vec![instance("i-a", "us-east-1", t(1)), instance("i-b", "us-east-1", t(1))],
            &["us-east-1"],
            t(2),
        );
        let m2 = merge(stored_after(&m), m.coverage.clone(), &[old]);
        assert_eq!(
            m2.stale, 2,
            "i-a older than recorded, i-b older than the recording it is absent from"
        );
        assert_eq!(m2.newest[&key("i-a")].capture_time, t(5));
        assert!(m2.coverage_changed.is_empty());
        assert!(m2.newest[&key("i-b")].deleted);
        assert_eq!(m2.newest[&key("i-b")].capture_time, t(6));
        // A tombstone is not undone by an older capture of the resource.
        let gone = input(vec![], &["us-east-1"], t(7));
        let m3 = merge(stored_after(&m), m.coverage, &[gone]);
        assert!(m3.newest[&key("i-a")].deleted);
        let late = input(vec![instance("i-a", "us-east-1", t(5))], &[], None);
        let m4 = merge(stored_after(&m3), m3.coverage, &[late]);
        assert!(m4.newest[&key("i-a")].deleted && m4.stale == 1);
        // A newer capture brings it back.
        let back = input(vec![instance("i-a", "us-east-1", t(8))], &[], None);
        let m5 = merge(stored_after(&m4), m4.coverage, &[back]);
        assert!(!m5.newest[&key("i-a")].deleted && m5.newest[&key("i-a")].write);
    }

    #[test]
    fn inputs_of_one_scan_merge_by_newest_capture_whatever_their_order() {
        for order in [[0, 1], [1, 0]] {
            let mut both = vec![
                input(vec![instance("i-a", "us-east-1", t(3))], &[], None),
                input(vec![instance("i-a", "us-east-1", t(1))], &["us-east-1"], t(2)),
            ];
            if order[0] == 1 {
                both.reverse();
            }
            let m = merge(HashMap::new(), BTreeMap::new(), &both);
            let n = &m.newest[&key("i-a")];
            assert_eq!((n.capture_time, n.deleted, m.stale), (t(3), false, 1));
        }
    }
}
