//! Settings: the Azure-side facts AWS cannot show (which plans are switched on, the connector's
//! audiences and regions, role names, declared egress) and every inferred constant of the catalog,
//! each with a documented default. Read from TOML (`.toml`) or JSON (any other extension).
//! Unknown keys are rejected so that a typo cannot silently fall back to a default.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::azure::{AzureSide, Connector, Coverage};
use crate::domain::error::{Error, Result};
use crate::domain::vocab::Plan;

/// All settings. `Settings::default()` is what a scan uses without a settings file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Plans switched on in Azure. A plan not listed has its checks reported NOT_APPLICABLE
    /// ("plan not declared"). Default: all five, so a first scan shows readiness for every plan.
    pub plans: Vec<Plan>,
    /// AWS regions the connector covers; empty means every region.
    pub connector_regions: Vec<String>,
    /// Azure tenant id: the tenant the CLI signs in to when `AZURE_TENANT_ID` is unset.
    pub azure_tenant_id: Option<String>,
    /// The connector's OIDC identity provider.
    pub oidc: OidcSettings,
    /// IAM role names created by the connector stack.
    pub roles: RoleNames,
    /// Connector features switched on (they decide which feature roles must exist).
    pub features: Features,
    /// CloudFormation stack names of the connector; `cspm.stack-healthy` is NOT_APPLICABLE to
    /// every other stack. Default: none configured.
    pub connector_stack_names: Vec<String>,
    /// Resource types the recorders of the scanned snapshots record. In a snapshot, the absence
    /// of a resource of such a type is evidence even when the snapshot holds none of that type.
    /// Empty (the default): a type counts as recorded where the snapshot holds items of it.
    pub recorded_types: Vec<String>,
    /// Defender for Servers options.
    pub servers: ServersSettings,
    /// Defender for SQL options.
    pub sql: SqlSettings,
    /// Defender for Containers options.
    pub containers: ContainersSettings,
    /// Defender for open-source relational databases options.
    pub oss: OssSettings,
    /// Declared facts that no configuration item shows (egress, SCPs, quotas), for every account.
    pub facts: DeclaredFacts,
    /// Per-account overrides of `facts`, keyed by account id.
    pub accounts: BTreeMap<String, DeclaredFacts>,
    /// Where and how to read the Azure half.
    pub azure: AzureSettings,
    /// What was read from Azure (not a settings key): when present, the connector covering an
    /// account decides its plans, features, role names, regions and exclusion tags, except
    /// where the settings file sets them ([`Settings::for_account`]).
    #[serde(skip)]
    pub azure_side: Option<Arc<AzureSide>>,
    /// The keys the settings file sets (`plans`, `roles.ciem`, ...).
    #[serde(skip)]
    pub declared_keys: BTreeSet<String>,
    /// The account these settings were made effective for by [`Settings::for_account`].
    #[serde(skip)]
    pub effective_for: Option<String>,
    /// Azure's answers feed the `azure.*` checks only; every other setting stays as declared.
    /// The deployed functions set it: they read Azure on the periodic run alone, and every run
    /// must judge the AWS checks with the same settings.
    #[serde(skip)]
    pub azure_checks_only: bool,
    /// The regions whose AWS Config evaluates the declared plans' checks of a changed resource
    /// through a rule of this deployment (the deployed functions' `RULE_REGIONS`). `None`: every
    /// region an event comes from has one (a one-account stack hears only its own region).
    #[serde(skip)]
    pub rule_regions: Option<BTreeSet<String>>,
}

/// Where and how to read the Azure half (section `[azure]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AzureSettings {
    /// Subscriptions whose security connectors are read: ids, or `all` for every subscription
    /// the identity can see. Empty (the default): Azure is not read and the `azure.*` checks are
    /// INSUFFICIENT_DATA. `scan --azure-subscription` adds to it.
    pub subscriptions: Vec<String>,
    /// The Entra object id of the principal that enables plans; default: the signed-in identity.
    pub principal_id: Option<String>,
    /// Entra authority host; default: `AZURE_AUTHORITY_HOST`, else the public cloud's.
    pub authority_host: Option<String>,
    /// Azure Resource Manager endpoint. Default `https://management.azure.com`.
    pub resource_manager: String,
    /// Microsoft Graph endpoint. Default `https://graph.microsoft.com`.
    pub graph: String,
}

/// Refuses subscription entries that are neither GUIDs nor `all` (they are put into ARM URLs),
/// naming the entry's position in `from`.
pub fn check_subscriptions(subscriptions: &[String], from: &str) -> std::result::Result<(), String> {
    for (n, s) in subscriptions.iter().enumerate() {
        if !crate::domain::azure::is_guid(s) && !s.eq_ignore_ascii_case("all") {
            return Err(format!(
                "{from}: entry {} is not a subscription id (a GUID such as \
                 00000000-0000-0000-0000-000000000000) nor `all`",
                n + 1
            ));
        }
    }
    Ok(())
}

impl AzureSettings {
    /// Refuses ids that are not GUIDs (they are put into ARM and Graph URLs): each subscription
    /// (or `all`) and the principal. `from` names where the subscriptions came from.
    pub fn check(&self, from: &str) -> std::result::Result<(), String> {
        check_subscriptions(&self.subscriptions, from)?;
        if self
            .principal_id
            .as_deref()
            .is_some_and(|p| !crate::domain::azure::is_guid(p))
        {
            return Err("azure.principal_id is not an Entra object id (a GUID)".to_owned());
        }
        Ok(())
    }
}

impl Default for AzureSettings {
    fn default() -> Self {
        Self {
            subscriptions: Vec::new(),
            principal_id: None,
            authority_host: None,
            resource_manager: "https://management.azure.com".to_owned(),
            graph: "https://graph.microsoft.com".to_owned(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            plans: Plan::ALL.to_vec(),
            connector_regions: Vec::new(),
            azure_tenant_id: None,
            oidc: OidcSettings::default(),
            roles: RoleNames::default(),
            features: Features::default(),
            connector_stack_names: Vec::new(),
            recorded_types: Vec::new(),
            servers: ServersSettings::default(),
            sql: SqlSettings::default(),
            containers: ContainersSettings::default(),
            oss: OssSettings::default(),
            facts: DeclaredFacts::default(),
            accounts: BTreeMap::new(),
            azure: AzureSettings::default(),
            azure_side: None,
            declared_keys: BTreeSet::new(),
            effective_for: None,
            azure_checks_only: false,
            rule_regions: None,
        }
    }
}

/// The Defender OIDC provider. [I] the exact URL form is inferred from the provider's IAM name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcSettings {
    /// Provider URL without scheme. Default `sts.windows.net/33e01921-4d64-4f8c-a055-5bdaffd5e33d/`.
    pub provider_url: String,
    /// Audiences (`ClientIdList`) the connector needs. They appear only in the generated
    /// CloudFormation template, so they must be configured; default: none (not checked).
    pub audiences: Vec<String>,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            provider_url: "sts.windows.net/33e01921-4d64-4f8c-a055-5bdaffd5e33d/".to_owned(),
            audiences: Vec::new(),
        }
    }
}

impl OidcSettings {
    /// The provider's IAM ARN in `account`.
    pub fn provider_arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:oidc-provider/{}", self.provider_url)
    }
}

/// Role names. Containers roles accept the current and the legacy name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoleNames {
    /// Default `CspmMonitorAws` ("confirm the role name configured").
    pub cspm_monitor: String,
    /// Default `DefenderForCloud-AgentlessScanner`.
    pub agentless_scanner: String,
    /// Default `SensitiveDataDiscovery`, `DefenderForCloud-DataSecurityPostureDB`.
    pub data_discovery: Vec<String>,
    /// Default `DefenderForCloud-Ciem`, `DefenderForCloud-OidcCiem`.
    pub ciem: Vec<String>,
    /// Default `DefenderForCloud-ArcAutoProvisioning`.
    pub arc_autoprovisioning: String,
    /// Default `DefenderForCloud-DefenderForServers` (JIT network access).
    pub servers_jit: String,
    /// Default `DefenderForCloud-DataThreatProtectionDB`.
    pub oss_threat_protection: String,
    /// Either name: `MDCContainersAgentlessDiscoveryK8sRole`.
    pub containers_k8s_discovery: Vec<String>,
    /// Either name: `MDCContainersImageAssessmentRole`.
    pub containers_image_assessment: Vec<String>,
    /// The four audit-log pipeline roles; each entry lists the accepted names (current, legacy).
    pub containers_pipeline: Vec<Vec<String>>,
}

impl Default for RoleNames {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Self {
            cspm_monitor: "CspmMonitorAws".to_owned(),
            agentless_scanner: "DefenderForCloud-AgentlessScanner".to_owned(),
            data_discovery: v(&["SensitiveDataDiscovery", "DefenderForCloud-DataSecurityPostureDB"]),
            ciem: v(&["DefenderForCloud-Ciem", "DefenderForCloud-OidcCiem"]),
            arc_autoprovisioning: "DefenderForCloud-ArcAutoProvisioning".to_owned(),
            servers_jit: "DefenderForCloud-DefenderForServers".to_owned(),
            oss_threat_protection: "DefenderForCloud-DataThreatProtectionDB".to_owned(),
            containers_k8s_discovery: v(&["MDCContainersAgentlessDiscoveryK8sRole"]),
            containers_image_assessment: v(&["MDCContainersImageAssessmentRole"]),
            containers_pipeline: vec![
                v(&["MDCContainersK8sRole", "DefenderForCloud-Containers-K8s"]),
                v(&["MDCContainersK8sDataCollectionRole", "DefenderForCloud-DataCollection"]),
                v(&[
                    "MDCContainersK8sCloudWatchToKinesisRole",
                    "DefenderForCloud-Containers-K8s-cloudwatch-to-kinesis",
                ]),
                v(&[
                    "MDCContainersK8sKinesisToS3Role",
                    "DefenderForCloud-Containers-K8s-kinesis-to-s3",
                ]),
            ],
        }
    }
}

impl RoleNames {
    /// Every role name, each once.
    pub fn all(&self) -> Vec<&String> {
        let mut names: Vec<&String> = vec![
            &self.cspm_monitor,
            &self.agentless_scanner,
            &self.arc_autoprovisioning,
            &self.servers_jit,
            &self.oss_threat_protection,
        ];
        for list in [
            &self.data_discovery,
            &self.ciem,
            &self.containers_k8s_discovery,
            &self.containers_image_assessment,
        ] {
            names.extend(list);
        }
        names.extend(self.containers_pipeline.iter().flatten());
        names.dedup();
        names
    }
}

/// Connector features (Azure side). Defaults follow the portal's defaults for a new connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Features {
    /// Agentless scanning (Defender CSPM / Servers). Default true.
    pub agentless_scanning: bool,
    /// Sensitive data discovery. Default true.
    pub data_discovery: bool,
    /// Permissions management (CIEM). Default false: it needs Entra roles many tenants lack.
    pub ciem: bool,
    /// Agentless Kubernetes API access (Containers / CSPM). Default true.
    pub k8s_api_access: bool,
    /// Registry vulnerability assessment (ECR). Default true.
    pub registry_access: bool,
    /// Arc auto-provisioning for Servers. Default true.
    pub arc_autoprovisioning: bool,
    /// Just-in-time VM access. Default false.
    pub jit_access: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            agentless_scanning: true,
            data_discovery: true,
            ciem: false,
            k8s_api_access: true,
            registry_access: true,
            arc_autoprovisioning: true,
            jit_access: false,
        }
    }
}

/// A tag that excludes a resource from a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagMatch {
    /// Tag key.
    pub key: String,
    /// Tag value; any value when absent.
    #[serde(default)]
    pub value: Option<String>,
}

/// Defender for Servers options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServersSettings {
    /// Instances with any of these tags are out of scope. Default none. [I]
    pub exclusion_tags: Vec<TagMatch>,
    /// Managed policy SSM needs. Default `arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore`.
    pub ssm_core_policy_arn: String,
    /// Accept an inline policy granting `ssm:UpdateInstanceInformation` and the `ssmmessages:*`
    /// channel actions as equivalent. Default true. [I]
    pub accept_equivalent_inline_policy: bool,
    /// Default Host Management Configuration is on in every connector region (SSM then manages
    /// instances without a profile policy). Not MS-documented. Default false. [I]
    pub default_host_management: bool,
    /// A proxy is declared for instances without a direct internet route. Default false.
    pub proxy_declared: bool,
}

impl Default for ServersSettings {
    fn default() -> Self {
        Self {
            exclusion_tags: Vec::new(),
            ssm_core_policy_arn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore".to_owned(),
            accept_equivalent_inline_policy: true,
            default_host_management: false,
            proxy_declared: false,
        }
    }
}

/// Defender for SQL options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqlSettings {
    /// A tag that marks an EC2 instance as running SQL Server. Default `defender-prereqs:sql`. [I]
    pub target_tag: String,
    /// Name-tag prefix of the EC2 host RDS Custom creates for a DB instance, followed by the DB
    /// instance identifier. Default `do-not-delete-rds-custom-`. [I]
    pub rds_custom_host_name_prefix: String,
}

impl Default for SqlSettings {
    fn default() -> Self {
        Self {
            target_tag: "defender-prereqs:sql".to_owned(),
            rds_custom_host_name_prefix: "do-not-delete-rds-custom-".to_owned(),
        }
    }
}

/// Defender for Containers options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContainersSettings {
    /// Oldest EKS version AWS still supports (standard or extended). Default `1.31`. [I]
    pub min_eks_version: String,
    /// Control-plane log types that must be on. Default `audit` (troubleshooting also enables
    /// `authenticator`).
    pub required_log_types: Vec<String>,
    /// Source CIDRs Defender reaches the API server from. Default `172.212.245.192/28`, `48.209.1.192/28`.
    pub api_server_cidrs: Vec<String>,
}

impl Default for ContainersSettings {
    fn default() -> Self {
        Self {
            min_eks_version: "1.31".to_owned(),
            required_log_types: vec!["audit".to_owned()],
            api_server_cidrs: vec!["172.212.245.192/28".to_owned(), "48.209.1.192/28".to_owned()],
        }
    }
}

/// Defender for open-source relational databases options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OssSettings {
    /// Regions the plan does not support. Default Tel Aviv, Milan, Jakarta, Spain, Bahrain.
    pub excluded_regions: Vec<String>,
    /// Supported engines (Config `engine` strings). [I] for the exact strings.
    pub engines: Vec<String>,
    /// Oldest MySQL 8.0 version with the audit plugin. Default `8.0.28` (AWS; MS says 8.0.25).
    pub mysql_min_80: String,
    /// Oldest MariaDB version with the audit plugin. Default `10.3` (AWS; MS says 10.2).
    pub mariadb_min: String,
    /// An instance still on a `default.*` parameter group is NON_COMPLIANT (Defender replaces it
    /// with `defenderfordatabases*` once the plan is on). Default true. [I]
    pub default_group_is_blocker: bool,
}

impl Default for OssSettings {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Self {
            excluded_regions: v(&[
                "il-central-1",
                "eu-south-1",
                "ap-southeast-3",
                "eu-south-2",
                "me-south-1",
            ]),
            engines: v(&[
                "postgres",
                "mysql",
                "mariadb",
                "aurora-postgresql",
                "aurora-mysql",
                "aurora",
            ]),
            mysql_min_80: "8.0.28".to_owned(),
            mariadb_min: "10.3".to_owned(),
            default_group_is_blocker: true,
        }
    }
}

/// Facts only a person (or a live API call) can state. `None` means unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclaredFacts {
    /// STS is active in every connector region.
    pub sts_active_in_connector_regions: Option<bool>,
    /// No SCP or permissions boundary denies the Defender roles' actions.
    pub no_scp_denies_defender: Option<bool>,
    /// Tag policies allow the Defender tags (`AccountId`, `Cloud`, `InstanceId`, `MDFCSecurityConnector`).
    pub defender_tags_allowed: Option<bool>,
    /// Instances can reach the Azure Arc endpoints (firewall/proxy allow-list in place).
    pub arc_egress_allowed: Option<bool>,
    /// Instances can reach `*.<region>.arcdataservices.com` (SQL).
    pub sql_egress_allowed: Option<bool>,
    /// EKS nodes can reach `*.cloud.defender.microsoft.com:443` without a TLS-inspecting proxy.
    pub sensor_egress_allowed: Option<bool>,
    /// RDS parameter/option-group quotas leave room for the groups Defender creates.
    pub rds_group_quota_ok: Option<bool>,
    /// The management account of the AWS organization the account is in: an organization
    /// connector covers the account only when it connects this management account.
    pub organization_management_account: Option<String>,
}

impl DeclaredFacts {
    fn or(&self, fallback: &Self) -> Self {
        Self {
            sts_active_in_connector_regions: self
                .sts_active_in_connector_regions
                .or(fallback.sts_active_in_connector_regions),
            no_scp_denies_defender: self.no_scp_denies_defender.or(fallback.no_scp_denies_defender),
            defender_tags_allowed: self.defender_tags_allowed.or(fallback.defender_tags_allowed),
            arc_egress_allowed: self.arc_egress_allowed.or(fallback.arc_egress_allowed),
            sql_egress_allowed: self.sql_egress_allowed.or(fallback.sql_egress_allowed),
            sensor_egress_allowed: self.sensor_egress_allowed.or(fallback.sensor_egress_allowed),
            rds_group_quota_ok: self.rds_group_quota_ok.or(fallback.rds_group_quota_ok),
            organization_management_account: self
                .organization_management_account
                .clone()
                .or_else(|| fallback.organization_management_account.clone()),
        }
    }
}

impl Settings {
    /// Reads settings from `path` (TOML for `.toml`, JSON otherwise).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let is_toml = extension == "toml";
        if matches!(extension.as_str(), "yaml" | "yml" | "ini" | "cfg" | "conf") {
            return Err(Error::Settings {
                source_name: path.display().to_string(),
                message: format!(
                    "a .{extension} file: settings are TOML (.toml) or JSON (any other extension); `defender-prereqs settings` prints every key in TOML"
                ),
            });
        }
        Self::parse(&text, is_toml, &path.display().to_string())
    }

    /// Parses settings text; `source_name` names it in errors.
    pub fn parse(text: &str, toml_format: bool, source_name: &str) -> Result<Self> {
        let err = |message: String| Error::Settings {
            source_name: source_name.to_owned(),
            message: unknown_key_hint(&message).unwrap_or(message),
        };
        let (mut settings, raw): (Self, serde_json::Value) = if toml_format {
            let raw: toml::Value = toml::from_str(text).map_err(|e| err(e.to_string()))?;
            (
                toml::from_str(text).map_err(|e| err(e.to_string()))?,
                serde_json::to_value(raw).map_err(|e| err(e.to_string()))?,
            )
        } else {
            let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
            (serde_json::from_str(text).map_err(|e| err(e.to_string()))?, raw)
        };
        settings.validate().map_err(err)?;
        if let Some(top) = raw.as_object() {
            for (k, v) in top {
                settings.declared_keys.insert(k.clone());
                if let Some(section) = v.as_object() {
                    settings
                        .declared_keys
                        .extend(section.keys().map(|sub| format!("{k}.{sub}")));
                }
            }
        }
        Ok(settings)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        crate::domain::vocab::version_parts(&self.containers.min_eks_version).ok_or_else(|| {
            format!(
                "containers.min_eks_version `{}` is not a version",
                self.containers.min_eks_version
            )
        })?;
        for v in [&self.oss.mysql_min_80, &self.oss.mariadb_min] {
            crate::domain::vocab::version_parts(v).ok_or_else(|| format!("oss version `{v}` is not a version"))?;
        }
        let r = &self.roles;
        let lists = [
            ("roles.data_discovery", &r.data_discovery),
            ("roles.ciem", &r.ciem),
            ("roles.containers_k8s_discovery", &r.containers_k8s_discovery),
            ("roles.containers_image_assessment", &r.containers_image_assessment),
        ];
        for (key, names) in lists
            .into_iter()
            .chain(r.containers_pipeline.iter().map(|n| ("roles.containers_pipeline", n)))
        {
            if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
                return Err(format!("{key} needs at least one role name and no empty names"));
            }
        }
        let singles = [
            &r.cspm_monitor,
            &r.agentless_scanner,
            &r.arc_autoprovisioning,
            &r.servers_jit,
            &r.oss_threat_protection,
        ];
        if singles.iter().any(|n| n.trim().is_empty()) {
            return Err("role names must not be empty".to_owned());
        }
        self.azure.check("settings azure.subscriptions")?;
        if let Some(t) = &self.azure_tenant_id {
            // A GUID or a verified domain (contoso.onmicrosoft.com); it becomes part of a URL.
            let domain = t.contains('.')
                && t.split('.')
                    .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
            if !crate::domain::azure::is_guid(t) && !domain {
                return Err("azure_tenant_id is neither a tenant id (a GUID) nor a domain name".to_owned());
            }
        }
        if self.oidc.provider_url.contains("://") {
            return Err("oidc.provider_url is written without a scheme, as IAM stores it".to_owned());
        }
        Ok(())
    }

    /// Whether `plan` is switched on.
    pub fn plan_declared(&self, plan: Plan) -> bool {
        self.plans.contains(&plan)
    }

    /// Whether a Config rule of this deployment evaluates a change AWS Config recorded in
    /// `region` (the event's region; unknown counts as not covered where rules are regional).
    pub fn rule_covers(&self, region: Option<&str>) -> bool {
        match (&self.rule_regions, region) {
            (None, _) => true,
            (Some(regions), Some(r)) => regions.contains(r),
            (Some(_), None) => false,
        }
    }

    /// Whether the connector covers `region` (IAM's `global` always is).
    pub fn region_in_connector(&self, region: &str) -> bool {
        region == crate::domain::vocab::GLOBAL_REGION
            || self.connector_regions.is_empty()
            || self.connector_regions.iter().any(|r| r == region)
    }

    /// Whether the settings file sets `key` (or the whole section it belongs to, for a section
    /// given as one value).
    pub fn declares(&self, key: &str) -> bool {
        self.declared_keys.contains(key)
    }

    /// Whether the Azure half was asked for (subscriptions to read).
    pub fn azure_requested(&self) -> bool {
        !self.azure.subscriptions.is_empty()
    }

    /// The settings as they hold for `account`: when Azure was read and a connector covers the
    /// account, its offerings decide the plans, features, role names, regions and exclusion
    /// tags, except the keys the settings file sets (those override; see
    /// [`Settings::azure_sources`]). Borrowed when nothing changes.
    pub fn for_account(&self, account: &str) -> Cow<'_, Settings> {
        if self.effective_for.as_deref() == Some(account) || self.azure_checks_only {
            return Cow::Borrowed(self);
        }
        let Some(side) = &self.azure_side else {
            return Cow::Borrowed(self);
        };
        let Coverage::Covered(connector) = self.coverage(side, account) else {
            return Cow::Borrowed(self);
        };
        let mut s = self.clone();
        s.apply_connector(connector);
        s.effective_for = Some(account.to_owned());
        Cow::Owned(s)
    }

    /// For `account`, each key Azure's connector decides: `(key, true)` when taken from Azure,
    /// `(key, false)` when the settings file overrides it. Empty without a covering connector.
    pub fn azure_sources(&self, account: &str) -> Vec<(String, bool)> {
        if self.azure_checks_only {
            return Vec::new();
        }
        let Some(Coverage::Covered(connector)) = self.azure_side.as_ref().map(|s| self.coverage(s, account)) else {
            return Vec::new();
        };
        let mut probe = self.clone();
        probe.apply_connector(connector)
    }

    /// Applies a connector's offerings to every key the settings file does not set; returns
    /// each key Azure decides and whether it was taken (`true`) or overridden by settings.
    fn apply_connector(&mut self, connector: &Connector) -> Vec<(String, bool)> {
        let o = connector.offerings();
        let names = |offering: &str, fields: &[&str]| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for r in o.roles.iter().filter(|r| r.offering == offering) {
                if fields.iter().any(|f| r.field.starts_with(f)) && !out.contains(&r.name) {
                    out.push(r.name.clone());
                }
            }
            out
        };
        let both = |fields: &[&str]| -> Vec<String> {
            let mut v = names("DefenderCspmAws", fields);
            for n in names("DefenderForServersAws", fields)
                .into_iter()
                .chain(names("DefenderForContainersAws", fields))
            {
                if !v.contains(&n) {
                    v.push(n);
                }
            }
            v
        };
        let declared = self.declared_keys.clone();
        let mut sources = Vec::new();
        let mut take = |key: &str| {
            let taken = !declared.contains(key);
            sources.push((key.to_owned(), taken));
            taken
        };
        if take("plans") {
            self.plans = o.plans.clone();
        }
        if take("connector_regions") {
            self.connector_regions = connector.properties.environment_data.regions.clone();
        }
        type Flag = fn(&mut Features) -> &mut bool;
        let features: [(&str, bool, Flag); 6] = [
            ("features.agentless_scanning", o.agentless_scanning, |f| {
                &mut f.agentless_scanning
            }),
            ("features.data_discovery", o.data_discovery, |f| &mut f.data_discovery),
            ("features.ciem", o.ciem, |f| &mut f.ciem),
            ("features.k8s_api_access", o.k8s_api_access, |f| &mut f.k8s_api_access),
            ("features.registry_access", o.registry_access, |f| {
                &mut f.registry_access
            }),
            ("features.arc_autoprovisioning", o.arc_autoprovisioning, |f| {
                &mut f.arc_autoprovisioning
            }),
        ];
        for (key, on, field) in features {
            if take(key) {
                *field(&mut self.features) = on;
            }
        }
        type Single = fn(&mut RoleNames) -> &mut String;
        let singles: [(&str, Vec<String>, Single); 5] = [
            (
                "roles.cspm_monitor",
                names("CspmMonitorAws", &["nativeCloudConnection"]),
                |r| &mut r.cspm_monitor,
            ),
            ("roles.agentless_scanner", both(&["vmScanners"]), |r| {
                &mut r.agentless_scanner
            }),
            (
                "roles.arc_autoprovisioning",
                names("DefenderForServersAws", &["arcAutoProvisioning"]),
                |r| &mut r.arc_autoprovisioning,
            ),
            (
                "roles.servers_jit",
                names("DefenderForServersAws", &["defenderForServers"]),
                |r| &mut r.servers_jit,
            ),
            (
                "roles.oss_threat_protection",
                names("DefenderForDatabasesAws", &["rds"]),
                |r| &mut r.oss_threat_protection,
            ),
        ];
        for (key, found, field) in singles {
            if let Some(name) = found.into_iter().next() {
                if take(key) {
                    *field(&mut self.roles) = name;
                }
            }
        }
        type List = fn(&mut RoleNames) -> &mut Vec<String>;
        let lists: [(&str, Vec<String>, List); 4] = [
            (
                "roles.data_discovery",
                names("DefenderCspmAws", &["dataSensitivityDiscovery", "databasesDspm"]),
                |r| &mut r.data_discovery,
            ),
            ("roles.ciem", names("DefenderCspmAws", &["ciem"]), |r| &mut r.ciem),
            (
                "roles.containers_k8s_discovery",
                both(&["mdcContainersAgentlessDiscoveryK8s"]),
                |r| &mut r.containers_k8s_discovery,
            ),
            (
                "roles.containers_image_assessment",
                both(&["mdcContainersImageAssessment"]),
                |r| &mut r.containers_image_assessment,
            ),
        ];
        for (key, found, field) in lists {
            if !found.is_empty() && take(key) {
                *field(&mut self.roles) = found;
            }
        }
        let pipeline: Vec<Vec<String>> = [
            "kubernetesService",
            "kubernetesScubaReader",
            "cloudWatchToKinesis",
            "kinesisToS3",
        ]
        .iter()
        .map(|f| names("DefenderForContainersAws", &[f]))
        .collect();
        if pipeline.iter().all(|p| !p.is_empty()) && take("roles.containers_pipeline") {
            self.roles.containers_pipeline = pipeline;
        }
        if !o.exclusion_tags.is_empty() && take("servers.exclusion_tags") {
            self.servers.exclusion_tags = o
                .exclusion_tags
                .iter()
                .map(|(k, v)| TagMatch {
                    key: k.clone(),
                    value: (!v.is_empty()).then(|| v.clone()),
                })
                .collect();
        }
        sources
    }

    /// The declared facts for `account` (per-account values over the global ones).
    /// The connector covering `account` in `side`, with what the settings say of its organization.
    pub fn coverage<'a>(&self, side: &'a AzureSide, account: &str) -> Coverage<'a> {
        side.coverage(
            account,
            self.facts_for(account).organization_management_account.as_deref(),
        )
    }

    pub fn facts_for(&self, account: &str) -> DeclaredFacts {
        match self.accounts.get(account) {
            Some(f) => f.or(&self.facts),
            None => self.facts.clone(),
        }
    }
}

/// For a parser's "unknown field `x`, expected one of `a`, `b`" (serde's words, under TOML's
/// position line): the key, the nearest known one, and where every key is listed.
fn unknown_key_hint(message: &str) -> Option<String> {
    let at = message.find("unknown field `")? + "unknown field `".len();
    let key = &message[at..at + message[at..].find('`')?];
    let expected: Vec<&str> = message[at..]
        .split("expected one of ")
        .nth(1)
        .map(|l| {
            l.lines()
                .next()
                .unwrap_or(l)
                .split(", ")
                .map(|k| k.trim_matches('`'))
                .collect()
        })
        .unwrap_or_default();
    let nearest = expected
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default();
    let place = message
        .lines()
        .next()
        .and_then(|l| l.find("at line ").map(|i| format!(" at {}", &l[i + 3..])))
        .unwrap_or_default();
    Some(format!(
        "unknown key `{key}`{place}{nearest}: `defender-prereqs settings` prints every key with its default"
    ))
}

/// Levenshtein distance, for suggesting a key.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + usize::from(ca != *cb));
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// One line per settings key (`section.key`), for the commented defaults `settings` prints.
/// The settings tests check it names every key and nothing else.
pub const KEY_DOCS: &[(&str, &str)] = &[
    ("plans", "Plans switched on in Azure; the checks of a plan not listed are NOT_APPLICABLE"),
    ("connector_regions", "AWS regions the connector covers; empty means every region"),
    ("azure_tenant_id", "Azure tenant id: the tenant the CLI signs in to when AZURE_TENANT_ID is unset"),
    ("oidc", "The connector's OIDC identity provider"),
    ("roles", "IAM role names created by the connector stack"),
    ("features", "Connector features switched on (they decide which feature roles must exist)"),
    ("connector_stack_names", "CloudFormation stack names of the connector; `cspm.stack-healthy` is NOT_APPLICABLE to every other stack"),
    ("recorded_types", "Resource types the snapshots' recorders record: absent from a snapshot, such a resource does not exist"),
    ("servers", "Defender for Servers options"),
    ("sql", "Defender for SQL options"),
    ("containers", "Defender for Containers options"),
    ("oss", "Defender for open-source relational databases options"),
    ("facts", "Declared facts that no configuration item shows (egress, SCPs, quotas), for every account"),
    ("accounts", "Per-account overrides of `facts`, keyed by account id"),
    ("azure", "Where and how to read the Azure half (connectors, health, RBAC)"),
    ("azure.subscriptions", "Subscription ids whose security connectors are read, or `all`; empty: Azure is not read"),
    ("azure.principal_id", "Entra object id of the principal that enables plans; default: the signed-in identity"),
    ("azure.authority_host", "Entra authority host; default: AZURE_AUTHORITY_HOST, else the public cloud's"),
    ("azure.resource_manager", "Azure Resource Manager endpoint"),
    ("azure.graph", "Microsoft Graph endpoint"),
    ("oidc.provider_url", "Provider URL without scheme"),
    ("oidc.audiences", "Audiences (`ClientIdList`) the connector needs"),
    ("roles.cspm_monitor", "Default `CspmMonitorAws` (\"confirm the role name configured\")"),
    ("roles.agentless_scanner", "Default `DefenderForCloud-AgentlessScanner`"),
    ("roles.data_discovery", "Default `SensitiveDataDiscovery`, `DefenderForCloud-DataSecurityPostureDB`"),
    ("roles.ciem", "Default `DefenderForCloud-Ciem`, `DefenderForCloud-OidcCiem`"),
    ("roles.arc_autoprovisioning", "Default `DefenderForCloud-ArcAutoProvisioning`"),
    ("roles.servers_jit", "Default `DefenderForCloud-DefenderForServers` (JIT network access)"),
    ("roles.oss_threat_protection", "Default `DefenderForCloud-DataThreatProtectionDB`"),
    ("roles.containers_k8s_discovery", "Either name: `MDCContainersAgentlessDiscoveryK8sRole`"),
    ("roles.containers_image_assessment", "Either name: `MDCContainersImageAssessmentRole`"),
    ("roles.containers_pipeline", "The four audit-log pipeline roles; each entry lists the accepted names (current, legacy)"),
    ("features.agentless_scanning", "Agentless scanning (Defender CSPM / Servers)"),
    ("features.data_discovery", "Sensitive data discovery"),
    ("features.ciem", "Permissions management (CIEM)"),
    ("features.k8s_api_access", "Agentless Kubernetes API access (Containers / CSPM)"),
    ("features.registry_access", "Registry vulnerability assessment (ECR)"),
    ("features.arc_autoprovisioning", "Arc auto-provisioning for Servers"),
    ("features.jit_access", "Just-in-time VM access"),
    ("servers.exclusion_tags", "Instances with any of these tags are out of scope (inferred)"),
    ("servers.ssm_core_policy_arn", "Managed policy SSM needs"),
    ("servers.accept_equivalent_inline_policy", "Accept an inline policy granting `ssm:UpdateInstanceInformation` and the `ssmmessages:*` channel actions as equivalent (inferred)"),
    ("servers.default_host_management", "Default Host Management Configuration is on in every connector region (SSM then manages instances without a profile policy) (inferred)"),
    ("servers.proxy_declared", "A proxy is declared for instances without a direct internet route"),
    ("sql.target_tag", "A tag that marks an EC2 instance as running SQL Server (inferred)"),
    ("sql.rds_custom_host_name_prefix", "Name-tag prefix of the EC2 host RDS Custom creates for a DB instance, followed by the DB instance identifier (inferred)"),
    ("containers.min_eks_version", "Oldest EKS version AWS still supports (standard or extended) (inferred)"),
    ("containers.required_log_types", "Control-plane log types that must be on"),
    ("containers.api_server_cidrs", "Source CIDRs Defender reaches the API server from"),
    ("oss.excluded_regions", "Regions the plan does not support"),
    ("oss.engines", "Supported engines (Config `engine` strings) (inferred)"),
    ("oss.mysql_min_80", "Oldest MySQL 8.0 version with the audit plugin"),
    ("oss.mariadb_min", "Oldest MariaDB version with the audit plugin"),
    ("oss.default_group_is_blocker", "An instance still on a `default.*` parameter group is NON_COMPLIANT (Defender replaces it with `defenderfordatabases*` once the plan is on) (inferred)"),
    ("facts.sts_active_in_connector_regions", "STS is active in every connector region"),
    ("facts.no_scp_denies_defender", "No SCP or permissions boundary denies the Defender roles' actions"),
    ("facts.defender_tags_allowed", "Tag policies allow the Defender tags (`AccountId`, `Cloud`, `InstanceId`, `MDFCSecurityConnector`)"),
    ("facts.arc_egress_allowed", "Instances can reach the Azure Arc endpoints (firewall/proxy allow-list in place)"),
    ("facts.sql_egress_allowed", "Instances can reach `*.<region>.arcdataservices.com` (SQL)"),
    ("facts.sensor_egress_allowed", "EKS nodes can reach `*.cloud.defender.microsoft.com:443` without a TLS-inspecting proxy"),
    ("facts.rds_group_quota_ok", "RDS parameter/option-group quotas leave room for the groups Defender creates"),
    ("facts.organization_management_account", "Management account of the AWS organization the accounts are in (an organization connector covers an account only when it connects this one)"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_one_line_of_docs_and_every_documented_key_exists() {
        let defaults = serde_json::to_value(Settings::default()).unwrap();
        let mut keys = Vec::new();
        for (k, v) in defaults.as_object().unwrap() {
            keys.push(k.clone());
            if let (Some(table), false) = (v.as_object(), k == "accounts") {
                keys.extend(table.keys().map(|sub| format!("{k}.{sub}")));
            }
        }
        let documented: Vec<&str> = KEY_DOCS.iter().map(|(k, _)| *k).collect();
        for k in &keys {
            assert!(documented.contains(&k.as_str()), "{k} has no line in KEY_DOCS");
        }
        // Facts are absent from the defaults (undeclared): each documented one must parse.
        for (k, doc) in KEY_DOCS {
            assert!(!doc.is_empty() && !doc.contains('\n'), "{k}");
            if let Some(fact) = k.strip_prefix("facts.") {
                let value = if fact == "organization_management_account" {
                    "\"111122223333\""
                } else {
                    "true"
                };
                Settings::parse(&format!("[facts]\n{fact} = {value}"), true, "s.toml")
                    .unwrap_or_else(|e| panic!("{k}: {e}"));
            } else {
                assert!(keys.iter().any(|x| x == k), "{k} is documented but not a key");
            }
        }
    }

    #[test]
    fn typos_are_rejected_with_the_key_named() {
        let e = Settings::parse(r#"{"plans":["servers"],"conector_regions":[]}"#, false, "s.json").unwrap_err();
        assert!(e.to_string().contains("conector_regions"), "{e}");
        // The key, where, the nearest known one, and where every key is listed.
        let e = Settings::parse("plans = []\nplnas = [\"cspm\"]", true, "s.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "settings s.toml: unknown key `plnas` at line 2, column 1 (did you mean `plans`?): \
             `defender-prereqs settings` prints every key with its default"
        );
        let e = Settings::parse("plans = [\"sevrers\"]", true, "s.toml").unwrap_err();
        assert!(e.to_string().contains("sevrers"), "{e}");
    }

    #[test]
    fn partial_settings_keep_defaults_and_per_account_facts_override() {
        let s = Settings::parse(
            r#"
            plans = ["cspm", "servers"]
            [facts]
            arc_egress_allowed = true
            [accounts.111122223333]
            arc_egress_allowed = false
            "#,
            true,
            "s.toml",
        )
        .unwrap();
        assert_eq!(s.roles.cspm_monitor, "CspmMonitorAws");
        assert!(!s.plan_declared(Plan::Oss));
        assert_eq!(s.facts_for("111122223333").arc_egress_allowed, Some(false));
        assert_eq!(s.facts_for("999999999999").arc_egress_allowed, Some(true));
    }

    #[test]
    fn empty_role_names_are_rejected() {
        let e = Settings::parse("[roles]\ncontainers_image_assessment = []", true, "s.toml").unwrap_err();
        assert!(e.to_string().contains("roles.containers_image_assessment"), "{e}");
        let e = Settings::parse(r#"{"roles":{"cspm_monitor":" "}}"#, false, "s.json").unwrap_err();
        assert!(e.to_string().contains("must not be empty"), "{e}");
    }

    #[test]
    fn bad_versions_are_rejected() {
        let e = Settings::parse(r#"{"containers":{"min_eks_version":"latest"}}"#, false, "s.json").unwrap_err();
        assert!(e.to_string().contains("min_eks_version"), "{e}");
    }
}
