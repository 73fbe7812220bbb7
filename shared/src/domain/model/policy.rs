//! IAM policy documents (trust policies, inline policies, repository policies).
//!
//! Config delivers them either as JSON objects or as URL-encoded JSON strings
//! (`%7B%22Version%22...`), depending on the resource type and the path the item took.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A parsed IAM policy document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyDocument {
    /// The statements, in order.
    pub statements: Vec<Statement>,
}

/// One policy statement, with the list-or-string fields already normalised to lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statement {
    /// `Effect` is `Allow` (true) or `Deny` (false).
    pub allow: bool,
    /// `Principal`: `*` becomes `[("*", "*")]`, `{"AWS": [..]}` becomes `[("AWS", arn), ..]`.
    pub principals: Vec<(String, String)>,
    /// Whether the statement uses `NotPrincipal` instead of `Principal`.
    pub not_principal: bool,
    /// `Action` (or `NotAction`, with `not_action`).
    pub actions: Vec<String>,
    /// Whether the statement uses `NotAction`.
    pub not_action: bool,
    /// Whether the statement carries a `Condition` block.
    pub has_condition: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawDocument {
    #[serde(default)]
    statement: Option<OneOrMany<RawStatement>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            Self::One(t) => vec![t],
            Self::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawStatement {
    #[serde(default)]
    effect: Option<String>,
    #[serde(default)]
    principal: Option<Value>,
    #[serde(default)]
    not_principal: Option<Value>,
    #[serde(default)]
    action: Option<OneOrMany<String>>,
    #[serde(default)]
    not_action: Option<OneOrMany<String>>,
    #[serde(default)]
    condition: Option<Value>,
}

fn principals(v: Value) -> Vec<(String, String)> {
    match v {
        Value::String(s) => vec![("*".to_owned(), s)],
        Value::Object(m) => m
            .into_iter()
            .flat_map(|(kind, ids)| {
                let ids = match ids {
                    Value::String(s) => vec![s],
                    Value::Array(a) => a.into_iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
                    _ => Vec::new(),
                };
                ids.into_iter().map(move |id| (kind.clone(), id))
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl PolicyDocument {
    /// Parses a document given as JSON text, URL-encoded or not.
    pub fn parse_text(text: &str) -> Result<Self, String> {
        let trimmed = text.trim_start();
        let decoded;
        let json = if trimmed.starts_with('{') {
            trimmed
        } else {
            decoded = percent_encoding::percent_decode_str(trimmed)
                .decode_utf8()
                .map_err(|e| format!("policy document is not valid URL-encoded UTF-8: {e}"))?;
            decoded.as_ref()
        };
        let raw: RawDocument = serde_json::from_str(json).map_err(|e| format!("policy document: {e}"))?;
        Ok(Self::from_raw(raw))
    }

    fn from_raw(raw: RawDocument) -> Self {
        let statements = raw
            .statement
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(|s| {
                let not_principal = s.not_principal.is_some();
                let not_action = s.not_action.is_some();
                Statement {
                    allow: !s.effect.as_deref().is_some_and(|e| e.eq_ignore_ascii_case("deny")),
                    principals: s.principal.or(s.not_principal).map(principals).unwrap_or_default(),
                    not_principal,
                    actions: s.action.or(s.not_action).map(OneOrMany::into_vec).unwrap_or_default(),
                    not_action,
                    has_condition: s.condition.is_some_and(|c| !c.is_null()),
                }
            })
            .collect();
        Self { statements }
    }

    /// Whether an `Allow` statement lets the federated principal `provider_arn` assume the role
    /// through `sts:AssumeRoleWithWebIdentity`.
    pub fn trusts_federated(&self, provider_arn: &str) -> bool {
        self.statements.iter().any(|s| {
            s.allow
                && !s.not_principal
                && !s.not_action
                && s.principals
                    .iter()
                    .any(|(kind, id)| kind == "Federated" && id.eq_ignore_ascii_case(provider_arn))
                && s.actions
                    .iter()
                    .any(|a| action_matches(a, "sts:AssumeRoleWithWebIdentity"))
        })
    }

    /// The federated principals this document trusts (for annotations).
    pub fn federated_principals(&self) -> Vec<&str> {
        self.statements
            .iter()
            .filter(|s| s.allow)
            .flat_map(|s| s.principals.iter())
            .filter(|(kind, _)| kind == "Federated")
            .map(|(_, id)| id.as_str())
            .collect()
    }

    /// Whether some `Allow` statement grants `action` (wildcards in the document honoured).
    pub fn allows(&self, action: &str) -> bool {
        self.statements.iter().any(|s| {
            s.allow
                && if s.not_action {
                    !s.actions.iter().any(|a| action_matches(a, action))
                } else {
                    s.actions.iter().any(|a| action_matches(a, action))
                }
        })
    }

    /// Whether some `Deny` statement without conditions denies `action` to `principal_arn`
    /// (or to everyone).
    pub fn denies(&self, principal_arn: &str, action: &str) -> bool {
        self.statements.iter().any(|s| {
            !s.allow
                && !s.not_principal
                && !s.has_condition
                && s.principals
                    .iter()
                    .any(|(kind, id)| id == "*" || (kind == "AWS" && id == principal_arn))
                && if s.not_action {
                    !s.actions.iter().any(|a| action_matches(a, action))
                } else {
                    s.actions.iter().any(|a| action_matches(a, action))
                }
        })
    }
}

/// Case-insensitive IAM action match where `pattern` may contain `*` and `?`.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn glob(p: &[u8], s: &[u8]) -> bool {
        let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
        while si < s.len() {
            if pi < p.len() && (p[pi] == b'?' || p[pi].eq_ignore_ascii_case(&s[si])) {
                pi += 1;
                si += 1;
            } else if pi < p.len() && p[pi] == b'*' {
                star = Some(pi);
                mark = si;
                pi += 1;
            } else if let Some(st) = star {
                pi = st + 1;
                mark += 1;
                si = mark;
            } else {
                return false;
            }
        }
        while pi < p.len() && p[pi] == b'*' {
            pi += 1;
        }
        pi == p.len()
    }
    glob(pattern.as_bytes(), action.as_bytes())
}

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Self::parse_text(&s).map_err(serde::de::Error::custom),
            v @ Value::Object(_) => serde_json::from_value::<RawDocument>(v)
                .map(Self::from_raw)
                .map_err(|e| serde::de::Error::custom(format!("policy document: {e}"))),
            Value::Null => Ok(Self::default()),
            other => Err(serde::de::Error::custom(format!(
                "policy document must be a JSON object or a URL-encoded JSON string, found {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/sts.windows.net/33e01921-4d64-4f8c-a055-5bdaffd5e33d/"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
    const PROVIDER: &str =
        "arn:aws:iam::111122223333:oidc-provider/sts.windows.net/33e01921-4d64-4f8c-a055-5bdaffd5e33d/";

    #[test]
    fn object_and_url_encoded_forms_parse_alike() {
        let plain = PolicyDocument::parse_text(TRUST).unwrap();
        let encoded: String =
            percent_encoding::utf8_percent_encode(TRUST, percent_encoding::NON_ALPHANUMERIC).collect();
        let from_encoded = PolicyDocument::parse_text(&encoded).unwrap();
        assert_eq!(plain, from_encoded);
        assert!(plain.trusts_federated(PROVIDER));
        assert!(!plain.trusts_federated("arn:aws:iam::111122223333:oidc-provider/other"));
    }

    #[test]
    fn wildcards_and_deny() {
        assert!(action_matches("rds:Describe*", "rds:DescribeDBInstances"));
        assert!(action_matches("*", "ecr:GetAuthorizationToken"));
        assert!(!action_matches("rds:Modify*", "rds:DescribeDBInstances"));
        let doc = PolicyDocument::parse_text(
            r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":["ecr:BatchGetImage"]}}"#,
        )
        .unwrap();
        assert!(doc.denies("arn:aws:iam::1:role/x", "ecr:BatchGetImage"));
        assert!(!doc.denies("arn:aws:iam::1:role/x", "ecr:DescribeImages"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(PolicyDocument::parse_text("%7Bnot json").is_err());
        assert!(PolicyDocument::parse_text("%FF%FE").is_err());
    }
}
