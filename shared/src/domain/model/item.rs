//! AWS Config configuration items as Config delivers them: in snapshots, in rule invocations
//! (`configurationItem`), in EventBridge "Config Configuration Item Change" events, and from the
//! API (`GetResourceConfigHistory`, where `configuration` is a JSON string and the relationship
//! key is `relationshipName` instead of `name`).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::resources::Resource;
use crate::domain::error::{Error, ItemLocation, Result};
use crate::domain::vocab::Text;

/// `configurationItemStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ItemStatus {
    /// `OK`: the resource was updated.
    Ok,
    /// `ResourceDiscovered`: a new resource.
    ResourceDiscovered,
    /// `ResourceNotRecorded`: discovered, but its type is not recorded.
    ResourceNotRecorded,
    /// `ResourceDeleted`.
    ResourceDeleted,
    /// `ResourceDeletedNotRecorded`.
    ResourceDeletedNotRecorded,
}

impl ItemStatus {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OK" => Self::Ok,
            "ResourceDiscovered" => Self::ResourceDiscovered,
            "ResourceNotRecorded" => Self::ResourceNotRecorded,
            "ResourceDeleted" => Self::ResourceDeleted,
            "ResourceDeletedNotRecorded" => Self::ResourceDeletedNotRecorded,
            _ => return None,
        })
    }

    /// Whether the item describes a live resource whose configuration can be evaluated
    /// (AWS's own rule samples and rdklib evaluate only `OK` and `ResourceDiscovered`).
    pub fn is_evaluable(self) -> bool {
        matches!(self, Self::Ok | Self::ResourceDiscovered)
    }

    /// Whether the resource is gone.
    pub fn is_deleted(self) -> bool {
        matches!(self, Self::ResourceDeleted | Self::ResourceDeletedNotRecorded)
    }
}

/// One relationship of an item to another resource (the related resource's name is not kept:
/// nothing reads it, and an account's items hold a hundred thousand relationships).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// Type of the related resource.
    #[serde(default, deserialize_with = "shared_text")]
    pub resource_type: Option<Text>,
    /// Id of the related resource (absent for some IAM relationships, which carry a name only).
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `name` in notifications and snapshots, `relationshipName` in API results.
    #[serde(default, alias = "relationshipName", deserialize_with = "shared_text")]
    pub name: Option<Text>,
}

/// Texts items repeat (a relationship's name, a related resource's type, an inventory's
/// applications), one copy each.
const SHARED_TEXTS: usize = 16_384;

thread_local! {
    static TEXTS: std::cell::RefCell<std::collections::HashSet<Text>> = std::cell::RefCell::default();
}

/// A text of a small vocabulary (relationship names, resource types, application names and
/// versions), shared with the items read before it on this thread; past [`SHARED_TEXTS`]
/// distinct ones, a copy of its own.
pub(crate) fn shared_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Text>, D::Error> {
    struct Shared;
    impl<'de> serde::de::Visitor<'de> for Shared {
        type Value = Option<Text>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_none<E>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
            Ok(Some(TEXTS.with_borrow_mut(|texts| match texts.get(s) {
                Some(t) => t.clone(),
                None => {
                    let t = Text::from(s);
                    if texts.len() < SHARED_TEXTS {
                        texts.insert(t.clone());
                    }
                    t
                }
            })))
        }
    }
    d.deserialize_option(Shared)
}

/// A parsed configuration item: the envelope plus the typed configuration of known resource types.
#[derive(Debug, Clone)]
pub struct ConfigurationItem {
    /// `awsAccountId` (`accountId` in API results).
    pub account_id: String,
    /// `awsRegion` (`global` for IAM).
    pub region: String,
    /// `resourceType`, e.g. `AWS::EC2::Instance`.
    pub resource_type: String,
    /// `resourceId`.
    pub resource_id: String,
    /// `resourceName`.
    pub resource_name: Option<String>,
    /// `ARN` (`arn` in API results).
    pub arn: Option<String>,
    /// `configurationItemStatus` (`OK` when absent).
    pub status: ItemStatus,
    /// `configurationItemCaptureTime`.
    pub capture_time: Option<DateTime<Utc>>,
    /// `tags`, as a map whichever shape they came in.
    pub tags: Tags,
    /// `relationships`.
    pub relationships: Vec<Relationship>,
    /// The typed `configuration` (`Resource::Other` for types no check reads, and for deleted items).
    pub resource: Resource,
}

/// An item's tags, sorted by key: a map for reading, kept as one slice (an account holds a
/// hundred thousand items of two or three tags each; a `BTreeMap` node per item was several times
/// the size of the tags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Box<[(String, String)]>);

impl Tags {
    /// The value of tag `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Whether tag `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tags, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl From<BTreeMap<String, String>> for Tags {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(map.into_iter().collect())
    }
}

impl FromIterator<(String, String)> for Tags {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        iter.into_iter().collect::<BTreeMap<_, _>>().into()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawItem<'a> {
    #[serde(default, alias = "accountId")]
    aws_account_id: Option<String>,
    #[serde(default)]
    aws_region: Option<String>,
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    resource_name: Option<String>,
    #[serde(default, rename = "ARN", alias = "arn")]
    arn: Option<String>,
    #[serde(default)]
    configuration_item_status: Option<String>,
    #[serde(default)]
    configuration_item_capture_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "tags")]
    tags: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "super::resources::nullable")]
    relationships: Vec<Relationship>,
    #[serde(default, borrow)]
    configuration: Option<&'a RawValue>,
    #[serde(default, borrow)]
    supplementary_configuration: Option<&'a RawValue>,
}

/// Config writes capture times as ISO 8601 strings; the API's JSON form uses epoch seconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum Timestamp {
    Text(String),
    Epoch(f64),
}

impl Timestamp {
    fn to_utc(&self) -> std::result::Result<DateTime<Utc>, String> {
        match self {
            Self::Text(s) => DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| python_datetime(s).ok_or(()))
                .map_err(|()| "not an RFC 3339 timestamp (e.g. 2026-11-20T08:15:42.517Z) nor epoch seconds".to_owned()),
            Self::Epoch(secs) => {
                let millis = (secs * 1000.0).round();
                if !millis.is_finite() || millis.abs() > 1e15 {
                    return Err("not an epoch time in seconds".to_owned());
                }
                #[allow(clippy::cast_possible_truncation)]
                Utc.timestamp_millis_opt(millis as i64)
                    .single()
                    .ok_or_else(|| "not an epoch time in seconds".to_owned())
            }
        }
    }
}

/// A capture time as Python prints boto3's `datetime` (`datetime.datetime(2020, 4, 22, 13, 13,
/// 17, 718000, tzinfo=tzlocal())`), which items copied from scripts carry. The zone of
/// `tzlocal()` is not in the text: it is taken as UTC.
fn python_datetime(s: &str) -> Option<DateTime<Utc>> {
    let args = s.strip_prefix("datetime.datetime(")?.strip_suffix(')')?;
    let numbers: Vec<u32> = args
        .split(',')
        .map(str::trim)
        .take_while(|a| !a.starts_with("tzinfo"))
        .map(|a| a.parse().ok())
        .collect::<Option<_>>()?;
    let n = |i: usize| numbers.get(i).copied().unwrap_or(0);
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(n(0)).ok()?, n(1), n(2))?;
    let time = chrono::NaiveTime::from_hms_micro_opt(n(3), n(4), n(5), n(6))?;
    Some(date.and_time(time).and_utc())
}

/// Tags arrive as a map (`{"k":"v"}`) in notifications and snapshots, and as a list of
/// `{key, value}` / `{Key, Value}` from some APIs and emulators.
fn tags<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    struct Pair {
        #[serde(alias = "Key")]
        key: String,
        #[serde(default, alias = "Value")]
        value: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tags {
        Map(BTreeMap<String, Option<String>>),
        List(Vec<Pair>),
    }
    Ok(match Option::<Tags>::deserialize(d)? {
        None => BTreeMap::new(),
        Some(Tags::Map(m)) => m.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect(),
        Some(Tags::List(l)) => l.into_iter().map(|p| (p.key, p.value.unwrap_or_default())).collect(),
    })
}

fn item_error(location: &ItemLocation, field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Item {
        location: location.clone(),
        field: field.into(),
        message: message.into(),
    }
}

impl ConfigurationItem {
    /// Parses one configuration item from its JSON text. `index` is its position in the input,
    /// used only to name it in errors.
    pub fn from_json(json: &str, index: Option<usize>) -> Result<Self> {
        let mut location = ItemLocation {
            index,
            resource_type: None,
            resource_id: None,
            line: None,
        };
        let de = &mut serde_json::Deserializer::from_str(json);
        let raw: RawItem<'_> = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            item_error(&location, field, crate::domain::error::redacted(&e.into_inner()))
        })?;
        location.resource_type.clone_from(&raw.resource_type);
        location.resource_id.clone_from(&raw.resource_id);
        let resource_type = raw
            .resource_type
            .ok_or_else(|| item_error(&location, "resourceType", "missing"))?;
        let resource_id = raw
            .resource_id
            .ok_or_else(|| item_error(&location, "resourceId", "missing"))?;
        let account_id = raw
            .aws_account_id
            .ok_or_else(|| item_error(&location, "awsAccountId", "missing"))?;
        let region = raw
            .aws_region
            .ok_or_else(|| item_error(&location, "awsRegion", "missing"))?;
        let status = match raw.configuration_item_status.as_deref() {
            None => ItemStatus::Ok,
            Some(s) => ItemStatus::parse(s)
                .ok_or_else(|| item_error(&location, "configurationItemStatus", format!("unknown status `{s}`")))?,
        };
        let capture_time = raw
            .configuration_item_capture_time
            .map(|t| t.to_utc())
            .transpose()
            .map_err(|m| item_error(&location, "configurationItemCaptureTime", m))?;
        let resource = if status.is_deleted() || status == ItemStatus::ResourceNotRecorded {
            Resource::Other
        } else {
            Resource::parse(&resource_type, raw.configuration, raw.supplementary_configuration)
                .map_err(|(field, message)| item_error(&location, field, message))?
        };
        let mut tags = raw.tags;
        if let (true, Resource::Ec2Instance(i)) = (tags.is_empty(), &resource) {
            tags = i
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
                .collect();
        }
        let tags = Tags::from(tags);
        Ok(Self {
            account_id,
            region,
            resource_type,
            resource_id,
            resource_name: raw.resource_name,
            arn: raw.arn,
            status,
            capture_time,
            tags,
            relationships: raw.relationships,
            resource,
        })
    }

    /// The synthetic `AWS::::Account` item account-level checks report on.
    pub fn account(account: &str, capture_time: Option<DateTime<Utc>>) -> Self {
        Self {
            account_id: account.to_owned(),
            region: crate::domain::vocab::GLOBAL_REGION.to_owned(),
            resource_type: crate::domain::vocab::ACCOUNT_TYPE.to_owned(),
            resource_id: account.to_owned(),
            resource_name: None,
            arn: None,
            status: ItemStatus::Ok,
            capture_time,
            tags: Tags::default(),
            relationships: Vec::new(),
            resource: Resource::Account,
        }
    }

    /// Whether this item carries a tag `key` (with `value`, when given).
    pub fn has_tag(&self, key: &str, value: Option<&str>) -> bool {
        match (self.tags.get(key), value) {
            (Some(_), None) => true,
            (Some(v), Some(want)) => v == want,
            (None, _) => false,
        }
    }
}
