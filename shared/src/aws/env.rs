//! What every function reads from its environment once per cold start, and the adapters it builds.

use crate::domain::settings::Settings;
use std::collections::BTreeSet;

/// The functions' configuration. Every variable is named in the error when it is wrong.
#[derive(Debug, Clone)]
pub struct FunctionEnv {
    /// `TABLE_NAME`: the state table.
    pub table: String,
    /// `EVENT_BUS_NAME`: where transition events go.
    pub bus: String,
    /// `SETTINGS_JSON`: the settings (JSON); defaults when unset.
    pub settings: Settings,
    /// The resource types the region's Config recorder records: where a resource of such a type
    /// is not found, it does not exist. `RECORDED_TYPES` (comma-separated) overrides; otherwise
    /// [`Adapters::from_env`] reads the recorder (DescribeConfigurationRecorders), and until then
    /// (or when it cannot) this is empty: a resource not found is INSUFFICIENT_DATA, never a false
    /// NON_COMPLIANT.
    pub recorded_types: Vec<String>,
    /// Whether `recorded_types` is to be read from the recorder (`RECORDED_TYPES` unset).
    pub recorded_types_from_recorder: bool,
    /// `HISTORY_DAYS`: how long transition history is kept (default 90).
    pub history_days: i64,
    /// `MEMBER_ROLE_NAME`: set in a central deployment, the role assumed in each member account
    /// to read its configuration and report to its AWS Config.
    pub member_role: Option<String>,
    /// `AZURE_CREDENTIALS_SECRET_ARN`: the Secrets Manager secret holding the service principal
    /// the periodic run reads Azure with (`{"tenantId","clientId","clientSecret"}`). Needs
    /// `AZURE_SUBSCRIPTIONS` (settings `azure.subscriptions`).
    pub azure_secret: Option<String>,
    /// `CONTINUATION_QUEUE_URL`: where a run longer than one invocation hands the rest on (the
    /// function's continuation queue). Unset: runs are not paged over invocations, and one that
    /// outlasts the invocation fails (and is retried from its last finished page).
    pub continuation_queue: Option<String>,
    /// `PAGE_SIZE`: resources per page of a periodic run or a change's dependants (default
    /// [`crate::app::pace::DEFAULT_PAGE`]).
    pub page_size: usize,
    /// `HANDOFF_MARGIN_SECONDS`: no page starts later than this before the invocation's deadline
    /// (default [`crate::app::pace::DEFAULT_MARGIN`]).
    pub handoff_margin: std::time::Duration,
    /// `ORGANIZATION_ID` (central deployment, with `MEMBER_ROLE_NAME`): the organization whose
    /// accounts the functions serve; the config-rule function refuses invocations for others.
    pub organization_id: Option<String>,
    /// `EXCLUDED_ACCOUNTS` (central deployment): accounts the organization rules leave out (the
    /// management account); the sweep leaves them out too.
    pub excluded_accounts: BTreeSet<String>,
    /// `REPORT_REFRESH_HOURS`: a periodic run reports an unchanged evaluation again only once
    /// the rule's last report of it is this old (default
    /// [`crate::app::pace::DEFAULT_REPORT_REFRESH`], 168 hours).
    pub report_refresh: std::time::Duration,
}

/// Variables that set one settings list each (comma separated), over `SETTINGS_JSON`. Besides
/// these, `ROLE_NAMES` (a JSON object) sets keys of `roles`.
pub const SETTINGS_VARS: [(&str, &str); 5] = [
    ("PLANS", "/plans"),
    ("CONNECTOR_REGIONS", "/connector_regions"),
    ("CONNECTOR_STACK_NAMES", "/connector_stack_names"),
    ("OIDC_AUDIENCES", "/oidc/audiences"),
    ("AZURE_SUBSCRIPTIONS", "/azure/subscriptions"),
];

/// `us-east-1`, `us-gov-west-1`, `ap-southeast-2`, ...: letters, a dash, letters, a dash, digits.
pub fn is_region_name(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// Sets `pointer` (`/a/b`) in an object, creating the objects on the way.
fn set_pointer(doc: &mut serde_json::Value, pointer: &str, value: serde_json::Value) {
    let mut at = doc;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if !at.is_object() {
            *at = serde_json::json!({});
        }
        let Some(obj) = at.as_object_mut() else { return };
        if i + 1 == parts.len() {
            obj.insert((*part).to_owned(), value);
            return;
        }
        at = obj.entry((*part).to_owned()).or_insert_with(|| serde_json::json!({}));
    }
}

impl FunctionEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| match std::env::var(name) {
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(e) => Err(format!("{name}: {e}")),
        })
    }

    /// Reads variables through `lookup` (blank counts as unset).
    pub fn from_vars(lookup: impl Fn(&str) -> Result<Option<String>, String>) -> Result<Self, String> {
        let var = |name: &str| -> Result<Option<String>, String> { Ok(lookup(name)?.filter(|v| !v.trim().is_empty())) };
        let table = var("TABLE_NAME")?.ok_or("TABLE_NAME is not set")?;
        let bus = var("EVENT_BUS_NAME")?.ok_or("EVENT_BUS_NAME is not set")?;
        let mut doc: serde_json::Value = match var("SETTINGS_JSON")? {
            Some(json) => serde_json::from_str(&json).map_err(|e| format!("SETTINGS_JSON: invalid JSON: {e}"))?,
            None => serde_json::json!({}),
        };
        if !doc.is_object() {
            return Err("SETTINGS_JSON: must be a JSON object".into());
        }
        // The template's parameters, one variable each, over SETTINGS_JSON.
        for (name, pointer) in SETTINGS_VARS {
            if let Some(v) = var(name)? {
                let list: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                set_pointer(&mut doc, pointer, serde_json::json!(list));
            }
        }
        if let Some(v) = var("ROLE_NAMES")? {
            let roles: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&v).map_err(|e| format!("ROLE_NAMES: must be a JSON object: {e}"))?;
            for (k, v) in roles {
                set_pointer(&mut doc, &format!("/roles/{k}"), v);
            }
        }
        let mut settings = Settings::parse(&doc.to_string(), false, "SETTINGS_JSON").map_err(|e| e.to_string())?;
        // Only the periodic run reads Azure: its answers must not change the other checks.
        settings.azure_checks_only = true;
        // Central: the organization rules are regional, so the re-evaluator evaluates a changed
        // resource's own checks wherever they do not run.
        if let Some(v) = var("RULE_REGIONS")? {
            let regions: BTreeSet<String> = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if !regions.iter().all(|r| is_region_name(r)) {
                return Err("RULE_REGIONS: a comma-separated list of region names (us-east-1, ...)".into());
            }
            settings.rule_regions = Some(regions);
        }
        let azure_secret = var("AZURE_CREDENTIALS_SECRET_ARN")?.map(|a| a.trim().to_owned());
        if azure_secret.is_some() && !settings.azure_requested() {
            return Err("AZURE_CREDENTIALS_SECRET_ARN needs AZURE_SUBSCRIPTIONS (settings azure.subscriptions)".into());
        }
        let recorded = var("RECORDED_TYPES")?;
        let recorded_types_from_recorder = recorded.is_none();
        let recorded_types = match recorded {
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => Vec::new(),
        };
        let history_days = match var("HISTORY_DAYS")? {
            Some(v) => v.parse().map_err(|e| format!("HISTORY_DAYS `{v}`: {e}"))?,
            None => super::dynamo::DEFAULT_HISTORY_DAYS,
        };
        let member_role = var("MEMBER_ROLE_NAME")?.map(|r| r.trim().to_owned());
        if let Some(r) = &member_role {
            if r.contains(['/', ':', ' ']) {
                return Err("MEMBER_ROLE_NAME: a role name, without path or ARN".into());
            }
        }
        let organization_id = var("ORGANIZATION_ID")?.map(|o| o.trim().to_owned());
        if let Some(o) = &organization_id {
            let id = o.strip_prefix("o-").unwrap_or_default();
            if !(10..=32).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
                return Err("ORGANIZATION_ID: an organization id (o- and 10 to 32 lowercase letters or digits)".into());
            }
        }
        if member_role.is_some() && organization_id.is_none() {
            return Err("MEMBER_ROLE_NAME needs ORGANIZATION_ID: a central deployment serves one organization".into());
        }
        let excluded_accounts: BTreeSet<String> = var("EXCLUDED_ACCOUNTS")?
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        if !excluded_accounts
            .iter()
            .all(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("EXCLUDED_ACCOUNTS: a comma-separated list of 12-digit account ids".into());
        }
        let continuation_queue = var("CONTINUATION_QUEUE_URL")?.map(|q| q.trim().to_owned());
        let page_size = match var("PAGE_SIZE")? {
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => return Err(format!("PAGE_SIZE `{v}`: a number of resources, at least 1")),
            },
            None => crate::app::pace::DEFAULT_PAGE,
        };
        let handoff_margin = match var("HANDOFF_MARGIN_SECONDS")? {
            Some(v) => {
                std::time::Duration::from_secs(v.parse().map_err(|e| format!("HANDOFF_MARGIN_SECONDS `{v}`: {e}"))?)
            }
            None => crate::app::pace::DEFAULT_MARGIN,
        };
        let report_refresh = match var("REPORT_REFRESH_HOURS")? {
            Some(v) => std::time::Duration::from_secs(
                v.parse::<u64>()
                    .map_err(|e| format!("REPORT_REFRESH_HOURS `{v}`: {e}"))?
                    .saturating_mul(3600),
            ),
            None => crate::app::pace::DEFAULT_REPORT_REFRESH,
        };
        Ok(Self {
            excluded_accounts,
            organization_id,
            report_refresh,
            continuation_queue,
            page_size,
            handoff_margin,
            table,
            bus,
            settings,
            recorded_types,
            recorded_types_from_recorder,
            history_days,
            member_role,
            azure_secret,
        })
    }
}

/// The adapters, built once per cold start from one SDK configuration.
#[derive(Debug)]
pub struct Adapters {
    /// AWS Config and the service APIs, of the function's own account or of each member account.
    pub accounts: super::accounts::Accounts,
    /// The state table.
    pub store: super::dynamo::DynamoStore,
    /// The bus.
    pub publisher: super::events::EventBridgePublisher,
    /// SQS, for the continuation queue.
    pub sqs: aws_sdk_sqs::Client,
    /// Centrally: the organization whose accounts are served.
    pub organization: Option<super::organization::Organization>,
}

impl Adapters {
    /// The ports the use cases take, over these adapters, `env` and one account's clients.
    pub fn ports<'a>(
        &'a self,
        env: &'a FunctionEnv,
        account: &'a super::accounts::AccountPorts,
    ) -> crate::app::flows::Ports<
        'a,
        super::facts::LiveReader,
        super::dynamo::DynamoStore,
        super::events::EventBridgePublisher,
    > {
        crate::app::flows::Ports {
            reader: &account.reader,
            store: &self.store,
            publisher: &self.publisher,
            settings: &env.settings,
            recorded_types: &account.recorded_types,
        }
    }

    /// Reads the environment and builds the clients from the default AWS configuration: what
    /// every function does once per cold start. Deployed in one account, the recorder's types
    /// are read now (unless `RECORDED_TYPES` declares them); centrally, each member's on its
    /// first event. `reads_config`: whether the function reads AWS Config's recorders (the rollup
    /// and the findings function do not).
    pub async fn from_env(reads_config: bool) -> Result<(FunctionEnv, Self), String> {
        let env = FunctionEnv::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let declared = (!env.recorded_types_from_recorder).then(|| env.recorded_types.clone());
        let own = super::accounts::AccountPorts::new(&sdk, env.recorded_types.clone());
        let accounts = match &env.member_role {
            Some(role) => super::accounts::Accounts::central(own, &sdk, role, declared, reads_config),
            None if reads_config && declared.is_none() => {
                super::accounts::Accounts::single(own.with_recorder(None).await)
            }
            None => super::accounts::Accounts::single(own),
        };
        let adapters = Self {
            accounts,
            store: super::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &env.table)
                .with_history_days(env.history_days),
            publisher: super::events::EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&sdk), &env.bus),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            organization: env
                .organization_id
                .as_deref()
                .map(|id| super::organization::Organization::new(&sdk, id)),
        };
        Ok((env, adapters))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<FunctionEnv, String> {
        let vars: std::collections::HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        FunctionEnv::from_vars(|k| Ok(vars.get(k).cloned()))
    }

    #[test]
    fn required_variables_are_named_and_nothing_is_assumed_recorded() {
        assert_eq!(env(&[]).unwrap_err(), "TABLE_NAME is not set");
        assert_eq!(env(&[("TABLE_NAME", "t")]).unwrap_err(), "EVENT_BUS_NAME is not set");
        let e = env(&[("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b")]).unwrap();
        assert!(e.recorded_types.is_empty() && e.recorded_types_from_recorder);
        let e = env(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("RECORDED_TYPES", "AWS::IAM::Role, AWS::EC2::Instance"),
        ])
        .unwrap();
        assert_eq!(e.recorded_types, ["AWS::IAM::Role", "AWS::EC2::Instance"]);
        let bad = env(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("SETTINGS_JSON", r#"{"plan":[]}"#),
        ])
        .unwrap_err();
        assert!(bad.contains("SETTINGS_JSON") && bad.contains("plan"), "{bad}");
        let bad = env(&[("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b"), ("HISTORY_DAYS", "ninety")]).unwrap_err();
        assert!(bad.contains("HISTORY_DAYS"), "{bad}");
    }

    #[test]
    fn parameter_variables_override_settings_json() {
        use crate::domain::vocab::Plan;
        let e = env(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            (
                "SETTINGS_JSON",
                r#"{"plans":["cspm"],"oidc":{"provider_url":"x.example/oidc"},"connector_stack_names":["a"]}"#,
            ),
            ("PLANS", "cspm, servers"),
            ("OIDC_AUDIENCES", "api://one,api://two"),
            ("CONNECTOR_STACK_NAMES", " "),
        ])
        .unwrap();
        assert_eq!(e.settings.plans, [Plan::Cspm, Plan::Servers]);
        assert_eq!(e.settings.oidc.audiences, ["api://one", "api://two"]);
        assert_eq!(e.settings.oidc.provider_url, "x.example/oidc");
        // Blank leaves SETTINGS_JSON's value.
        assert_eq!(e.settings.connector_stack_names, ["a"]);
        let e = env(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("SETTINGS_JSON", r#"{"roles":{"servers_jit":"Jit"}}"#),
            ("ROLE_NAMES", r#"{"cspm_monitor":"MyMonitor"}"#),
        ])
        .unwrap();
        assert_eq!(
            (
                e.settings.roles.cspm_monitor.as_str(),
                e.settings.roles.servers_jit.as_str()
            ),
            ("MyMonitor", "Jit")
        );
        let bad = env(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("ROLE_NAMES", r#"{"cspm_monitr":"x"}"#),
        ])
        .unwrap_err();
        assert!(bad.contains("cspm_monitr"), "{bad}");
        let bad = env(&[("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b"), ("PLANS", "cspm,sevrers")]).unwrap_err();
        assert!(bad.contains("sevrers"), "{bad}");
        let bad = env(&[("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b"), ("SETTINGS_JSON", "[1]")]).unwrap_err();
        assert!(bad.contains("JSON object"), "{bad}");
    }

    #[test]
    fn rule_regions_name_where_the_organization_rules_run() {
        let e = env(&[("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b")]).unwrap();
        assert!(
            e.settings.rule_covers(Some("eu-west-1")),
            "unset: every region has its rule"
        );
        let e = env(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("RULE_REGIONS", "us-east-1, us-gov-west-1"),
        ])
        .unwrap();
        assert!(e.settings.rule_covers(Some("us-east-1")));
        assert!(e.settings.rule_covers(Some("us-gov-west-1")));
        assert!(!e.settings.rule_covers(Some("eu-west-1")));
        assert!(!e.settings.rule_covers(None));
        for bad in ["us-east-1,arn:aws:x", "US-EAST-1", "eu-west-"] {
            let err = env(&[("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b"), ("RULE_REGIONS", bad)]).unwrap_err();
            assert!(err.starts_with("RULE_REGIONS") && !err.contains(bad), "{err}");
        }
    }

    #[test]
    fn a_central_deployment_names_its_organization() {
        let err = env(&[("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b"), ("MEMBER_ROLE_NAME", "R")]).unwrap_err();
        assert!(err.contains("ORGANIZATION_ID"), "{err}");
        for bad in ["o-short", "org-abcdefghij", "o-ABCDEFGHIJ"] {
            let err = env(&[("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b"), ("ORGANIZATION_ID", bad)]).unwrap_err();
            assert!(err.starts_with("ORGANIZATION_ID") && !err.contains(bad), "{err}");
        }
        let e = env(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("MEMBER_ROLE_NAME", "R"),
            ("ORGANIZATION_ID", "o-abc123def4"),
        ])
        .unwrap();
        assert_eq!(e.organization_id.as_deref(), Some("o-abc123def4"));
    }
}
