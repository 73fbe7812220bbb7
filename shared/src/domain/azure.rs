//! The Azure half: what Azure Resource Manager and Microsoft Graph say about the AWS connectors
//! (security connectors with their offerings and health reports) and about the enabling
//! principal's roles, in the shapes the APIs return them (`Microsoft.Security` 2023-10-01-preview
//! security connectors, 2023-05-01-preview health reports, `Microsoft.Authorization` 2022-04-01
//! role assignments, Graph v1.0 `unifiedRoleAssignment`). Readers fill an [`AzureSide`]; the
//! checks and [`crate::domain::settings::Settings::for_account`] read it. Pure: no I/O here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::vocab::Plan;

/// The annotation every `azure.*` result starts with when Azure was not read at all (no
/// subscription asked for). Such results are INSUFFICIENT_DATA and gate nothing: the plans read
/// as they do without the Azure half.
pub const NOT_READ: &str = "Azure was not read";

/// `null` read as the default: ARM and Graph may send `null` for an empty list.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Whether `s` is a GUID as Azure writes subscription, tenant and object ids
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hexadecimal). Only such ids are put into ARM and Graph
/// URLs: anything else could reach another path (`../`) or carry a query.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Built-in Azure role `Owner`.
pub const OWNER_ROLE: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
/// Built-in Azure role `Security Admin`.
pub const SECURITY_ADMIN_ROLE: &str = "fb1c8493-542b-48eb-b624-b4c8fea62acd";
/// Entra built-in role `Application Administrator` (template id).
pub const APPLICATION_ADMIN_ROLE: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
/// Entra built-in role `Cloud Application Administrator` (template id).
pub const CLOUD_APPLICATION_ADMIN_ROLE: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";

/// Everything read from Azure for one scan or one periodic run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureSide {
    /// The principal whose roles the RBAC checks judge (none when neither settings nor the
    /// credential named one).
    pub principal: Option<Principal>,
    /// Each subscription asked for, with what was read there or why not.
    pub subscriptions: Vec<SubscriptionRead>,
    /// The principal's Entra role assignments (Graph `value`), when read.
    pub entra_role_assignments: Option<Vec<EntraRoleAssignment>>,
    /// Why the Entra role assignments could not be read.
    pub entra_error: Option<String>,
    /// The security groups the principal is a member of, directly or not (their assignments are
    /// in `entra_role_assignments`), when read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entra_groups: Option<Vec<String>>,
    /// Why the principal's groups could not be read: roles held through a group are unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entra_groups_error: Option<String>,
    /// Subscriptions the identity can see were listed (`all`), so together the subscriptions
    /// are every one it can read.
    pub all_subscriptions: bool,
    /// Why signing in to Microsoft Entra failed (then nothing was read from Azure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_error: Option<String>,
}

/// The principal the RBAC checks judge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Principal {
    /// Entra object id.
    pub id: String,
    /// Where it came from (`settings azure.principal_id`, `signed-in identity`).
    pub source: String,
}

/// One subscription's reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionRead {
    /// Subscription id.
    pub id: String,
    /// Why its security connectors could not be listed (then nothing else was read there).
    pub error: Option<String>,
    /// Its security connectors (the list's `value`), with their health reports.
    pub security_connectors: Vec<Connector>,
    /// The principal's role assignments at, above and below the subscription (`value`).
    pub role_assignments: Option<Vec<RoleAssignment>>,
    /// Why the role assignments could not be read.
    pub role_assignments_error: Option<String>,
}

/// A `Microsoft.Security/securityConnectors` resource as ARM returns it, plus the health reports
/// listed at its scope (`healthReports`, not an ARM field).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Connector {
    /// ARM resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Properties.
    pub properties: ConnectorProperties,
    /// Health reports at the connector's scope (`value` of the list), when read.
    pub health_reports: Option<Vec<HealthReport>>,
    /// Why the health reports could not be read.
    pub health_error: Option<String>,
}

/// `properties` of a security connector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConnectorProperties {
    /// The AWS account id (the management account for an organization connector).
    pub hierarchy_identifier: Option<String>,
    /// `AWS`, `GCP`, `Github`, ...
    pub environment_name: Option<String>,
    /// Environment data.
    pub environment_data: EnvironmentData,
    /// Offerings, each an object discriminated by `offeringType`.
    #[serde(deserialize_with = "nullable")]
    pub offerings: Vec<Value>,
}

/// `environmentData` of an AWS connector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EnvironmentData {
    /// `AwsAccount` for AWS.
    pub environment_type: Option<String>,
    /// Organization data.
    pub organizational_data: Option<OrganizationalData>,
    /// Regions scanned; empty means every region.
    #[serde(deserialize_with = "nullable")]
    pub regions: Vec<String>,
}

/// `environmentData.organizationalData`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OrganizationalData {
    /// `Organization` (the management account's connector) or `Member`.
    pub organization_membership_type: Option<String>,
    /// Accounts an organization connector leaves out.
    #[serde(deserialize_with = "nullable")]
    pub excluded_account_ids: Vec<String>,
    /// The management account of a member connector.
    pub parent_hierarchy_id: Option<String>,
}

/// A `Microsoft.Security/healthReports` resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthReport {
    /// ARM id.
    pub id: String,
    /// Properties.
    pub properties: HealthReportProperties,
}

/// `properties` of a health report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthReportProperties {
    /// Where the report is about (`nativeResourceId`, e.g. `arn:aws:iam::<account>`).
    pub environment_details: Option<EnvironmentDetails>,
    /// `status.code`: `Healthy`, `NotHealthy`, `NotApplicable`.
    pub status: Option<HealthStatus>,
    /// Issues.
    #[serde(deserialize_with = "nullable")]
    pub issues: Vec<HealthIssue>,
}

/// `environmentDetails` of a health report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EnvironmentDetails {
    /// Native id of the resource the report is about.
    pub native_resource_id: Option<String>,
}

/// `status` of a health report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthStatus {
    /// The code.
    pub code: Option<String>,
}

/// One issue of a health report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthIssue {
    /// Name.
    pub issue_name: Option<String>,
    /// What to do.
    pub remediation_steps: Option<String>,
}

/// A `Microsoft.Authorization/roleAssignments` resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleAssignment {
    /// ARM id.
    pub id: String,
    /// Properties.
    pub properties: RoleAssignmentProperties,
}

/// `properties` of a role assignment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    /// `.../roleDefinitions/<guid>`.
    pub role_definition_id: String,
    /// Assignee.
    pub principal_id: String,
    /// `User`, `Group`, `ServicePrincipal`.
    pub principal_type: Option<String>,
    /// Where it is assigned: `/subscriptions/<id>`, a management group, `/`, or below.
    pub scope: String,
}

/// A Graph `unifiedRoleAssignment`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EntraRoleAssignment {
    /// Id.
    pub id: String,
    /// Assignee.
    pub principal_id: String,
    /// Role definition (template) id.
    pub role_definition_id: String,
    /// `/` for the whole directory.
    pub directory_scope_id: String,
}

impl RoleAssignment {
    /// The role definition's GUID (last segment of `roleDefinitionId`).
    pub fn role_guid(&self) -> &str {
        self.properties
            .role_definition_id
            .rsplit('/')
            .next()
            .unwrap_or_default()
    }

    /// Whether it applies to the whole `subscription`: assigned at the subscription, at the root
    /// or at a management group (ARM lists only the management groups above it). Assignments to
    /// resource groups and resources below it do not.
    pub fn covers_subscription(&self, subscription: &str) -> bool {
        let scope = self.properties.scope.trim_end_matches('/');
        scope.is_empty()
            || scope.eq_ignore_ascii_case(&format!("/subscriptions/{subscription}"))
            || scope
                .to_ascii_lowercase()
                .starts_with("/providers/microsoft.management/managementgroups/")
    }

    /// `directly` or `inherited from <scope>`.
    pub fn how(&self) -> String {
        let scope = self.properties.scope.trim_end_matches('/');
        if scope.to_ascii_lowercase().starts_with("/subscriptions/") {
            "assigned on the subscription".to_owned()
        } else if scope.is_empty() {
            "inherited from the root management group".to_owned()
        } else {
            format!("inherited from {scope}")
        }
    }
}

/// One cloud role an offering names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedRole {
    /// `offeringType`.
    pub offering: String,
    /// JSON path inside the offering (`arcAutoProvisioning.cloudRoleArn`).
    pub field: String,
    /// The ARN as Azure holds it.
    pub arn: String,
    /// The role name (after `role/` and any path).
    pub name: String,
    /// Whether AWS services rather than Defender assume it (the audit-log pipeline's CloudWatch
    /// to Kinesis and Kinesis to S3 roles), so no OIDC trust is asked of it. [I]
    pub service_role: bool,
}

/// Fields whose roles AWS services assume (inferred from the field names). [I]
const SERVICE_ROLE_FIELDS: &[&str] = &["cloudWatchToKinesis", "kinesisToS3"];

/// The role name of an IAM role ARN (`arn:aws:iam::1:role/path/Name` → `Name`).
pub fn role_name_of_arn(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":role/")?.1;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

fn enabled(v: &Value) -> bool {
    v.get("enabled").and_then(Value::as_bool).unwrap_or(true)
}

fn collect_roles(offering: &str, path: &str, v: &Value, out: &mut Vec<NamedRole>) {
    let Value::Object(map) = v else { return };
    if !enabled(v) {
        return;
    }
    for (k, child) in map {
        let field = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        if k == "cloudRoleArn" {
            if let Some(arn) = child.as_str().filter(|a| !a.is_empty()) {
                let top = path.split('.').next().unwrap_or_default();
                out.push(NamedRole {
                    offering: offering.to_owned(),
                    field,
                    arn: arn.to_owned(),
                    name: role_name_of_arn(arn).unwrap_or(arn).to_owned(),
                    service_role: SERVICE_ROLE_FIELDS.contains(&top),
                });
            }
        } else {
            collect_roles(offering, &field, child, out);
        }
    }
}

/// What one connector's offerings switch on, read from their fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Offerings {
    /// Offering types (`CspmMonitorAws`, ...), in the connector's order.
    pub types: Vec<String>,
    /// The plans they switch on.
    pub plans: Vec<Plan>,
    /// Every enabled role they name.
    pub roles: Vec<NamedRole>,
    /// `vmScanners.enabled` on any offering.
    pub agentless_scanning: bool,
    /// `dataSensitivityDiscovery` or `databasesDspm` enabled.
    pub data_discovery: bool,
    /// A CIEM role named (`ciem.ciemDiscovery` / `ciem.ciemOidc`).
    pub ciem: bool,
    /// `mdcContainersAgentlessDiscoveryK8s.enabled`.
    pub k8s_api_access: bool,
    /// `mdcContainersImageAssessment.enabled` or the older `enableContainerVulnerabilityAssessment`.
    pub registry_access: bool,
    /// `DefenderForServersAws.arcAutoProvisioning.enabled`.
    pub arc_autoprovisioning: bool,
    /// `vmScanners.configuration.exclusionTags`.
    pub exclusion_tags: BTreeMap<String, String>,
}

fn flag(o: &Value, key: &str) -> bool {
    o.get(key).is_some_and(|v| v.is_object() && enabled(v))
}

impl Connector {
    /// Whether this is an AWS connector.
    pub fn is_aws(&self) -> bool {
        self.properties
            .environment_name
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("AWS"))
    }

    fn org(&self) -> Option<&OrganizationalData> {
        self.properties.environment_data.organizational_data.as_ref()
    }

    /// Whether this connector covers `account`: its own account, or a member of the
    /// organization whose management account it connects, unless excluded. `Err` names the
    /// exclusion.
    pub fn covers(&self, account: &str) -> Option<Result<(), String>> {
        if !self.is_aws() {
            return None;
        }
        let own = self.properties.hierarchy_identifier.as_deref() == Some(account);
        let org = self.org().filter(|o| {
            o.organization_membership_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("Organization"))
        });
        match org {
            Some(o) if o.excluded_account_ids.iter().any(|a| a == account) => Some(Err(format!(
                "organization connector {} lists account {account} in excludedAccountIds",
                self.name
            ))),
            Some(_) => Some(Ok(())),
            None if own => Some(Ok(())),
            None => None,
        }
    }

    /// Whether it covers `account` as the organization connector (not its own account).
    pub fn is_organization_connector(&self) -> bool {
        self.org()
            .and_then(|o| o.organization_membership_type.as_deref())
            .is_some_and(|t| t.eq_ignore_ascii_case("Organization"))
    }

    /// The subscription the connector lives in (from its ARM id).
    pub fn subscription(&self) -> Option<&str> {
        let mut parts = self.id.split('/');
        while let Some(p) = parts.next() {
            if p.eq_ignore_ascii_case("subscriptions") {
                return parts.next();
            }
        }
        None
    }

    /// What its offerings switch on.
    pub fn offerings(&self) -> Offerings {
        let mut out = Offerings::default();
        let mut plans = Vec::new();
        for o in &self.properties.offerings {
            let t = o.get("offeringType").and_then(Value::as_str).unwrap_or_default();
            out.types.push(t.to_owned());
            collect_roles(t, "", o, &mut out.roles);
            match t {
                "CspmMonitorAws" => plans.push(Plan::Cspm),
                "DefenderCspmAws" => {
                    plans.push(Plan::Cspm);
                    out.data_discovery |= flag(o, "dataSensitivityDiscovery") || flag(o, "databasesDspm");
                    out.ciem |= o
                        .get("ciem")
                        .is_some_and(|c| c.get("ciemDiscovery").is_some() || c.get("ciemOidc").is_some());
                }
                "DefenderForServersAws" => {
                    plans.push(Plan::Servers);
                    out.arc_autoprovisioning |= flag(o, "arcAutoProvisioning");
                }
                "DefenderForContainersAws" => {
                    plans.push(Plan::Containers);
                    out.registry_access |= o
                        .get("enableContainerVulnerabilityAssessment")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                }
                "DefenderForDatabasesAws" => {
                    // Absent sub-objects count as switched on: the offering exists.
                    if o.get("arcAutoProvisioning").is_none_or(enabled) {
                        plans.push(Plan::Sql);
                    }
                    if o.get("rds").is_none_or(enabled) {
                        plans.push(Plan::Oss);
                    }
                    out.data_discovery |= flag(o, "databasesDspm");
                }
                _ => {}
            }
            out.agentless_scanning |= flag(o, "vmScanners");
            out.k8s_api_access |= flag(o, "mdcContainersAgentlessDiscoveryK8s");
            out.registry_access |= flag(o, "mdcContainersImageAssessment");
            if let Some(tags) = o
                .get("vmScanners")
                .filter(|v| enabled(v))
                .and_then(|v| v.pointer("/configuration/exclusionTags"))
                .and_then(Value::as_object)
            {
                for (k, v) in tags {
                    out.exclusion_tags
                        .insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
                }
            }
        }
        for p in Plan::ALL {
            if plans.contains(&p) {
                out.plans.push(p);
            }
        }
        out
    }

    /// The health reports about `account` (reports naming another account's ARN are left out).
    pub fn health_for<'a>(&'a self, account: &'a str) -> Option<impl Iterator<Item = &'a HealthReport> + 'a> {
        let reports = self.health_reports.as_ref()?;
        Some(reports.iter().filter(move |r| {
            let native = r
                .properties
                .environment_details
                .as_ref()
                .and_then(|d| d.native_resource_id.as_deref());
            match native.and_then(|n| n.strip_prefix("arn:aws:iam::")) {
                Some(acct) => acct.split(':').next() == Some(account),
                None => true,
            }
        }))
    }
}

/// How Azure answers "which connector covers this account".
#[derive(Debug, Clone, PartialEq)]
pub enum Coverage<'a> {
    /// Azure was not read at all.
    NotRead,
    /// A connector covers it.
    Covered(&'a Connector),
    /// An organization connector excludes it (and no other covers it).
    Excluded(String),
    /// None of the subscriptions read has a connector for it, and every one asked for was read.
    None {
        /// The subscriptions read.
        subscriptions: Vec<String>,
    },
    /// Organization connectors could cover it, but which organization it is in is not known.
    Ambiguous {
        /// Each candidate: its name and management account.
        candidates: Vec<String>,
    },
    /// None found, but some subscriptions could not be read.
    Unknown {
        /// Why each could not be read.
        errors: Vec<String>,
    },
}

impl AzureSide {
    /// Every subscription in `subscriptions` unread because of `why` (no credential, no secret):
    /// the `azure.*` checks then say INSUFFICIENT_DATA and name it.
    pub fn failed(subscriptions: &[String], why: &str) -> Self {
        Self {
            subscriptions: subscriptions
                .iter()
                .map(|id| SubscriptionRead {
                    id: id.clone(),
                    error: Some(why.to_owned()),
                    ..Default::default()
                })
                .collect(),
            entra_error: Some(why.to_owned()),
            ..Default::default()
        }
    }

    /// Every AWS connector read.
    pub fn connectors(&self) -> impl Iterator<Item = &Connector> {
        self.subscriptions
            .iter()
            .flat_map(|s| s.security_connectors.iter())
            .filter(|c| c.is_aws())
    }

    /// The connector that covers `account`: its own connector first, else the organization
    /// connector of `management`, the management account of the organization the account is
    /// known to be in (settings `facts.organization_management_account`). Without that, an
    /// organization connector that could cover it is a candidate, not coverage: Azure's
    /// connector does not list its organization's accounts.
    pub fn coverage(&self, account: &str, management: Option<&str>) -> Coverage<'_> {
        let mut excluded = None;
        let mut candidates: Vec<&Connector> = Vec::new();
        for c in self.connectors() {
            match c.covers(account) {
                Some(Ok(())) if c.properties.hierarchy_identifier.as_deref() == Some(account) => {
                    return Coverage::Covered(c)
                }
                Some(Ok(())) => candidates.push(c),
                Some(Err(e)) => excluded = excluded.or(Some(e)),
                None => {}
            }
        }
        if let Some(m) = management {
            if let Some(c) = candidates
                .iter()
                .find(|c| c.properties.hierarchy_identifier.as_deref() == Some(m))
            {
                return Coverage::Covered(c);
            }
            // The account's organization is known and none of these connectors is its.
            candidates.clear();
        }
        if !candidates.is_empty() {
            return Coverage::Ambiguous {
                candidates: candidates
                    .iter()
                    .map(|c| {
                        format!(
                            "{} (management account {})",
                            c.name,
                            c.properties.hierarchy_identifier.as_deref().unwrap_or("?")
                        )
                    })
                    .collect(),
            };
        }
        let errors: Vec<String> = self
            .subscriptions
            .iter()
            .filter_map(|s| s.error.as_ref().map(|e| format!("subscription {}: {e}", s.id)))
            .collect();
        if !errors.is_empty() {
            return Coverage::Unknown { errors };
        }
        if let Some(e) = excluded {
            return Coverage::Excluded(e);
        }
        Coverage::None {
            subscriptions: self.subscriptions.iter().map(|s| s.id.clone()).collect(),
        }
    }

    /// The subscription read under `id`.
    pub fn subscription(&self, id: &str) -> Option<&SubscriptionRead> {
        self.subscriptions.iter().find(|s| s.id.eq_ignore_ascii_case(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guid_is_eight_four_four_four_twelve_hex_digits() {
        assert!(is_guid("a5caac9c-5c04-49af-b3d0-e204f40345d5"));
        assert!(is_guid("A5CAAC9C-5C04-49AF-B3D0-E204F40345D5"));
        for bad in [
            "",
            "all",
            "a5caac9c-5c04-49af-b3d0",
            "a5caac9c5c0449afb3d0e204f40345d5",
            "a5caac9c-5c04-49af-b3d0-e204f40345dg",
            "../../a5caac9c-5c04-49af-b3d0-e204f4",
        ] {
            assert!(!is_guid(bad), "{bad}");
        }
    }
    use serde_json::json;

    fn connector(v: Value) -> Connector {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn role_names_come_from_arns_with_paths() {
        assert_eq!(
            role_name_of_arn("arn:aws:iam::1:role/CspmMonitorAws"),
            Some("CspmMonitorAws")
        );
        assert_eq!(role_name_of_arn("arn:aws:iam::1:role/a/b/X"), Some("X"));
        assert_eq!(role_name_of_arn("arn:aws:iam::1:user/X"), None);
    }

    #[test]
    fn organization_connectors_cover_members_but_not_excluded_ones() {
        let c = connector(
            json!({"id": "/subscriptions/s1/resourceGroups/r/providers/Microsoft.Security/securityConnectors/o",
            "name": "o", "properties": {"hierarchyIdentifier": "111", "environmentName": "AWS",
            "environmentData": {"environmentType": "AwsAccount", "organizationalData": {
                "organizationMembershipType": "Organization", "excludedAccountIds": ["333"]}}, "offerings": []}}),
        );
        assert_eq!(c.covers("111"), Some(Ok(())));
        assert_eq!(c.covers("222"), Some(Ok(())));
        assert!(matches!(c.covers("333"), Some(Err(_))));
        assert_eq!(c.subscription(), Some("s1"));
    }

    #[test]
    fn null_lists_read_as_empty() {
        let c = connector(
            json!({"properties": {"environmentName": "AWS", "hierarchyIdentifier": "1",
            "environmentData": {"environmentType": "AwsAccount", "regions": null,
                "organizationalData": {"organizationMembershipType": "Member", "excludedAccountIds": null}},
            "offerings": null}}),
        );
        assert!(c.properties.environment_data.regions.is_empty());
        assert_eq!(c.covers("1"), Some(Ok(())));
    }

    #[test]
    fn disabled_sub_offerings_name_no_role() {
        let c = connector(json!({"properties": {"environmentName": "AWS", "offerings": [
            {"offeringType": "DefenderForServersAws", "defenderForServers": {"cloudRoleArn": "arn:aws:iam::1:role/DefenderForCloud-DefenderForServers"},
             "arcAutoProvisioning": {"enabled": false, "cloudRoleArn": "arn:aws:iam::1:role/DefenderForCloud-ArcAutoProvisioning"}}]}}));
        let o = c.offerings();
        assert_eq!(o.plans, vec![Plan::Servers]);
        assert!(!o.arc_autoprovisioning);
        let names: Vec<&str> = o.roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["DefenderForCloud-DefenderForServers"]);
    }
}
