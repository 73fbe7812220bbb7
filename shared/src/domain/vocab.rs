//! The shared vocabulary of every layer: compliance values, plans, one check's result on one
//! resource, resource keys, the account pseudo-resource and version comparison. It depends on
//! nothing else in the crate, so every other module can use it without a cycle.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Compliance of one resource against one check. The first three are the values AWS Config
/// accepts from a custom rule; `InsufficientData` is Config's fourth value, used here when a
/// fact is missing (the Config rule function reports it as NOT_APPLICABLE with the annotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compliance {
    /// The prerequisite is met.
    Compliant,
    /// The prerequisite is not met.
    NonCompliant,
    /// The check does not apply to this resource.
    NotApplicable,
    /// The input does not show enough to decide.
    InsufficientData,
}

impl Compliance {
    /// The wire name (`COMPLIANT`, `NON_COMPLIANT`, `NOT_APPLICABLE`, `INSUFFICIENT_DATA`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "COMPLIANT",
            Self::NonCompliant => "NON_COMPLIANT",
            Self::NotApplicable => "NOT_APPLICABLE",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "COMPLIANT" => Self::Compliant,
            "NON_COMPLIANT" => Self::NonCompliant,
            "NOT_APPLICABLE" => Self::NotApplicable,
            "INSUFFICIENT_DATA" => Self::InsufficientData,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Compliance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Leading numeric parts of a version string: `8.0.28` → `[8, 0, 28]`,
/// `5.7.mysql_aurora.2.11.2` → `[5, 7]`, `1.31` → `[1, 31]`. `None` if it starts with no number.
pub fn version_parts(v: &str) -> Option<Vec<u32>> {
    let parts: Vec<u32> = v.trim().split('.').map_while(|p| p.parse().ok()).collect();
    (!parts.is_empty()).then_some(parts)
}

/// Whether version `v` is at least `min` (missing trailing parts count as 0).
pub fn version_at_least(v: &[u32], min: &[u32]) -> bool {
    for i in 0..v.len().max(min.len()) {
        let (a, b) = (v.get(i).copied().unwrap_or(0), min.get(i).copied().unwrap_or(0));
        if a != b {
            return a > b;
        }
    }
    true
}

/// A Defender for Cloud plan (or the connector/CSPM root).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// The AWS connector and Defender CSPM: the root every other plan needs.
    Cspm,
    /// Defender for Servers (EC2).
    Servers,
    /// Defender for SQL on EC2 and RDS Custom.
    Sql,
    /// Defender for Containers (EKS, ECR).
    Containers,
    /// Defender for open-source relational databases (RDS, Aurora).
    Oss,
}

impl Plan {
    /// Every plan, dependencies first.
    pub const ALL: [Plan; 5] = [Plan::Cspm, Plan::Servers, Plan::Sql, Plan::Containers, Plan::Oss];

    /// Wire name (`cspm`, `servers`, `sql`, `containers`, `oss`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cspm => "cspm",
            Self::Servers => "servers",
            Self::Sql => "sql",
            Self::Containers => "containers",
            Self::Oss => "oss",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Product name.
    pub fn title(self) -> &'static str {
        match self {
            Self::Cspm => "Connector / Defender CSPM",
            Self::Servers => "Defender for Servers",
            Self::Sql => "Defender for SQL (EC2, RDS Custom)",
            Self::Containers => "Defender for Containers (EKS, ECR)",
            Self::Oss => "Defender for open-source relational databases (RDS)",
        }
    }

    /// The plan this one needs directly: SQL needs Servers (its Arc agent comes from the
    /// Servers auto-provisioning pipeline); every other plan needs the connector.
    pub fn requires(self) -> Option<Plan> {
        match self {
            Self::Cspm => None,
            Self::Sql => Some(Self::Servers),
            Self::Servers | Self::Containers | Self::Oss => Some(Self::Cspm),
        }
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest annotation kept (AWS Config's own limit, 256, is applied where results go to Config).
pub const MAX_ANNOTATION: usize = 1024;

/// Text many results share: an account id, a region, a resource type or id, a check id, an
/// annotation. A scan of a hundred thousand resources gives six hundred thousand results, whose
/// six strings each were most of its memory; each is now one reference-counted copy per distinct
/// value (a resource's id per resource, an annotation per distinct text).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(std::sync::Arc<str>);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Text {
    fn default() -> Self {
        Self(std::sync::Arc::from(""))
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(s.into())
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Self(s.as_str().into())
    }
}

impl From<&Text> for String {
    fn from(t: &Text) -> Self {
        t.0.as_ref().to_owned()
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.as_ref().to_owned()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        **self == *other.0
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from)
    }
}

/// One check's result on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// Account id.
    pub account_id: Text,
    /// Region (`global` for account-level and IAM results).
    pub aws_region: Text,
    /// Resource type (`AWS::::Account` for account-level results).
    pub resource_type: Text,
    /// Resource id (the account id for account-level results).
    pub resource_id: Text,
    /// Check id.
    pub check_id: Text,
    /// The check's plan.
    pub plan: Plan,
    /// The result.
    pub compliance: Compliance,
    /// Why.
    pub annotation: Text,
    /// Capture time of the configuration item the result is based on.
    #[serde(skip)]
    pub capture_time: Option<DateTime<Utc>>,
}

impl Evaluation {
    /// The order results are listed in: account, region, resource type, resource id, check.
    pub fn sort_key(&self) -> (&str, &str, &str, &str, &str) {
        (
            &self.account_id,
            &self.aws_region,
            &self.resource_type,
            &self.resource_id,
            &self.check_id,
        )
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate_annotation(mut s: String, max: usize) -> String {
    const MARK: &str = " [truncated]";
    if s.len() <= max {
        return s;
    }
    let mut cut = max.saturating_sub(MARK.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s.push_str(MARK);
    s
}

/// A resource by type and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    /// `resourceType`.
    pub resource_type: String,
    /// `resourceId`.
    pub resource_id: String,
}

impl ResourceKey {
    /// A key.
    pub fn new(resource_type: impl Into<String>, resource_id: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
        }
    }
}

/// `resourceType` of the synthetic account resource that account-level checks report on.
pub const ACCOUNT_TYPE: &str = "AWS::::Account";

/// Region given to account-level (and IAM, which is global) evaluations.
pub const GLOBAL_REGION: &str = "global";

/// The AWS partition of a region (`aws`, `aws-cn`, `aws-us-gov`), as ARNs name it.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(version_parts("5.7.mysql_aurora.2.11.2"), Some(vec![5, 7]));
        assert_eq!(version_parts("v1"), None);
        assert!(version_at_least(&[1, 31], &[1, 31]));
        assert!(version_at_least(&[1, 100], &[1, 31]));
        assert!(!version_at_least(&[1, 9], &[1, 31]));
        assert!(version_at_least(&[8, 0, 28], &[8, 0, 28]));
        assert!(!version_at_least(&[8, 0], &[8, 0, 28]));
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let s = "é".repeat(300);
        let t = truncate_annotation(s, 256);
        assert!(t.len() <= 256 && t.ends_with("[truncated]"));
        assert_eq!(truncate_annotation("short".into(), 256), "short");
    }
}
