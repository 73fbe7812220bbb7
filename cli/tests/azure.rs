//! `scan --azure-subscription` as a user runs it: the built binary reads a Config snapshot and the
//! Azure half from a loopback stand-in for the Entra token endpoint, Azure Resource Manager and
//! Microsoft Graph (`tests/azure_standin.py`, HTTPS with a certificate made at start, answering
//! with payloads shaped like `Azure/azure-rest-api-specs` examples: `tests/azure/`). The SDK's
//! credential reaches the stand-in through the authority-host setting and trusts its certificate
//! through `SSL_CERT_FILE`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_defender-prereqs");
use integration_tests::azure::{StandIn, OID, SUB1, SUB2};

/// Its own connector (CSPM + Servers); AWS lacks the Servers roles.
const A: &str = "111122223333";
/// The organization connector's management account (CSPM + Defender CSPM with CIEM).
const B: &str = "444455556666";
/// Excluded by the organization connector.
const C: &str = "777788889999";
/// A member the organization connector covers.
const D: &str = "222233334444";
const PROVIDER: &str = "sts.windows.net/33e01921-4d64-4f8c-a055-5bdaffd5e33d/";

/// A Config CI of an IAM role (shape of the RDK's `AWS_IAM_Role.json`, as the catalog fixtures use
/// it) trusting the Defender provider.
fn role(account: &str, name: &str, n: u32) -> Value {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/{PROVIDER}")},
        "Action": "sts:AssumeRoleWithWebIdentity"}]});
    let id = format!("AROAC7D14F5859FB{n:05}");
    json!({"version": "1.3", "configurationItemCaptureTime": "2026-11-20T10:00:00.000Z",
        "configurationItemStatus": "OK", "awsAccountId": account, "awsRegion": "global",
        "resourceType": "AWS::IAM::Role", "resourceId": id, "resourceName": name,
        "ARN": format!("arn:aws:iam::{account}:role/{name}"), "relationships": [], "tags": {},
        "configuration": {"path": "/", "roleName": name, "roleId": id, "arn": format!("arn:aws:iam::{account}:role/{name}"),
            "assumeRolePolicyDocument": trust,
            "attachedManagedPolicies": [{"policyName": "SecurityAudit", "policyArn": "arn:aws:iam::aws:policy/SecurityAudit"}],
            "rolePolicyList": [], "instanceProfileList": []},
        "supplementaryConfiguration": {}})
}

fn snapshot(dir: &Path) -> PathBuf {
    let items = vec![
        role(A, "CspmMonitorAws", 1),
        role(B, "CspmMonitorAws", 2),
        role(B, "DefenderForCloud-Ciem", 3),
        role(B, "DefenderForCloud-OidcCiem", 4),
        // Present in AWS, named by no offering of the organization connector.
        role(B, "DefenderForCloud-ArcAutoProvisioning", 5),
        role(C, "CspmMonitorAws", 6),
        role(D, "CspmMonitorAws", 7),
        // The RDK's `AWS_EC2_Instance.json` (../shared/catalog.md section 3), in A: Servers in scope.
        json!({"version": "1.2", "configurationItemCaptureTime": "2026-11-20T10:00:00.000Z",
            "configurationItemStatus": "ResourceDiscovered", "awsAccountId": A, "awsRegion": "us-east-1",
            "resourceType": "AWS::EC2::Instance", "resourceId": "i-03402838daac1d611", "tags": {},
            "relationships": [{"resourceType": "AWS::EC2::Subnet", "resourceId": "subnet-1aaccc7f", "relationshipName": "Is contained in Subnet"},
                {"resourceType": "AWS::EC2::VPC", "resourceId": "vpc-79b3ea1e", "relationshipName": "Is contained in Vpc"}],
            "configuration": {"instanceId": "i-03402838daac1d611", "state": {"code": 16, "name": "running"},
                "metadataOptions": {"httpTokens": "optional", "httpEndpoint": "enabled"},
                "subnetId": "subnet-1aaccc7f", "vpcId": "vpc-79b3ea1e", "architecture": "x86_64", "productCodes": []},
            "supplementaryConfiguration": {}}),
    ];
    let path = dir.join("snapshot.json");
    let doc = json!({"fileVersion": "1.0", "configSnapshotId": "7c0f8a8e-0b9e-4d3c-a9f2-1f1c2d3e4f50",
        "configurationItems": items});
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

fn scan(stand_in: &StandIn, dir: &Path, subscriptions: &str, settings_extra: &str) -> (Output, Value) {
    scan_with(stand_in, dir, subscriptions, settings_extra, &["--no-store"])
}

fn scan_with(
    stand_in: &StandIn,
    dir: &Path,
    subscriptions: &str,
    settings_extra: &str,
    store: &[&str],
) -> (Output, Value) {
    let o = command(stand_in, dir, subscriptions, settings_extra, "", store)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = serde_json::from_slice(&o.stdout).unwrap();
    (o, v)
}

/// The scan command against the stand-in; `azure_extra` goes into the settings' `[azure]` table.
fn command(
    stand_in: &StandIn,
    dir: &Path,
    subscriptions: &str,
    settings_extra: &str,
    azure_extra: &str,
    store: &[&str],
) -> Command {
    let settings = dir.join("settings.toml");
    std::fs::write(
        &settings,
        format!(
            "{settings_extra}\n[azure]\n{azure_extra}\nauthority_host = \"{b}\"\nresource_manager = \"{b}\"\ngraph = \"{b}/graph\"\n",
            b = stand_in.base()
        ),
    )
    .unwrap();
    let snap = snapshot(dir);
    let mut cmd = Command::new(BIN);
    cmd.args(["scan", snap.to_str().unwrap(), "--format", "json"])
        .args(store)
        .arg("--settings")
        .arg(&settings)
        .env_remove("DEFENDER_PREREQS_DB")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("AZURE_AUTHORITY_HOST")
        .env("AZURE_TENANT_ID", "e81b978c-11be-449f-a392-42c0ed96bb91")
        .env("AZURE_CLIENT_ID", "0b7b3e0a-8f9f-4a44-9c55-3c1f4b8e2d11")
        .env("AZURE_CLIENT_SECRET", "stand-in-secret")
        .env("SSL_CERT_FILE", stand_in.ca());
    if !subscriptions.is_empty() {
        cmd.args(["--azure-subscription", subscriptions]);
    }
    cmd
}

fn result<'a>(v: &'a Value, account: &str, check: &str) -> (&'a str, &'a str) {
    let e = v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["accountId"] == account && e["checkId"] == check && e["resourceType"] == "AWS::::Account")
        .unwrap_or_else(|| panic!("no {check} for {account}"));
    (e["compliance"].as_str().unwrap(), e["annotation"].as_str().unwrap())
}

fn expect(v: &Value, account: &str, check: &str, compliance: &str, says: &str) {
    let (c, a) = result(v, account, check);
    assert!(
        c == compliance && a.contains(says),
        "{account} {check}: expected {compliance} saying {says:?}, got {c} {a:?}"
    );
}

fn view<'a>(v: &'a Value, account: &str) -> &'a Value {
    v["azure"]
        .as_array()
        .expect("an azure section")
        .iter()
        .find(|a| a["accountId"] == account)
        .unwrap_or_else(|| panic!("no azure view of {account}"))
}

#[test]
fn the_azure_half_is_read_joined_to_aws_and_shown_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let stand_in = StandIn::start(dir.path());
    // Two subscriptions, the second one refused: reported, never fatal. D is declared a member
    // of B's organization (the organization connector does not list its accounts).
    let (o, v) = scan(
        &stand_in,
        dir.path(),
        &format!("{SUB1},{SUB2}"),
        "plans = [\"cspm\", \"servers\", \"containers\"]\n[accounts.222233334444]\norganization_management_account = \"444455556666\"",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "subscription 2/2 {SUB2}: not read (HTTP 403 AuthorizationFailed)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("subscription 1/2 {SUB1}: 2 AWS connector(s)")),
        "{err}"
    );

    // A: its own connector; Azure names Servers roles AWS lacks (join, Azure → AWS).
    expect(
        &v,
        A,
        "azure.connector",
        "COMPLIANT",
        "its own connector: exampleSecurityConnectorAws",
    );
    expect(&v, A, "azure.offering-roles", "NON_COMPLIANT",
        "DefenderForServersAws arcAutoProvisioning.cloudRoleArn names role DefenderForCloud-ArcAutoProvisioning, which does not exist in account 111122223333");
    expect(
        &v,
        A,
        "azure.connector-health",
        "NON_COMPLIANT",
        "AWS CloudFormation StackSet name invalid or does not exist",
    );
    // Owner through the management group, needed to enable containers (declared, not on the connector).
    expect(&v, A, "azure.rbac-owner", "COMPLIANT", "(inherited from /providers/Microsoft.Management/managementGroups/contoso-platform), needed to enable containers");
    expect(
        &v,
        A,
        "azure.rbac-owner",
        "COMPLIANT",
        &format!("{OID} (signed-in identity)"),
    );
    expect(&v, A, "azure.rbac-operate", "COMPLIANT", "Owner");
    expect(&v, A, "azure.rbac-ciem", "NOT_APPLICABLE", "CIEM");
    // The connector's role names now drive the AWS checks: Servers' role is missing there too.
    expect(
        &v,
        A,
        "servers.arc-autoprov-role",
        "NON_COMPLIANT",
        "DefenderForCloud-ArcAutoProvisioning",
    );

    // B: the organization connector; a Defender role in AWS that no offering names (join, AWS → Azure).
    expect(
        &v,
        B,
        "azure.connector",
        "COMPLIANT",
        "its own connector: exampleSecurityConnectorAwsOrganization",
    );
    expect(
        &v,
        D,
        "azure.connector",
        "COMPLIANT",
        "the organization connector of management account 444455556666",
    );
    // The organization's health reports name accounts: D has none of its own yet, C's is left out.
    expect(
        &v,
        D,
        "azure.connector-health",
        "INSUFFICIENT_DATA",
        "no health report for account 222233334444",
    );
    expect(
        &v,
        B,
        "azure.offering-roles",
        "COMPLIANT",
        "named by no offering of exampleSecurityConnectorAwsOrganization: DefenderForCloud-ArcAutoProvisioning",
    );
    // One of the organization connector's two reports is this account's: counted as such.
    expect(
        &v,
        B,
        "azure.connector-health",
        "COMPLIANT",
        "Healthy for account 444455556666 (1 health report; 1 more for other accounts of the connector)",
    );
    // CIEM is on: the second Graph page holds Cloud Application Administrator.
    expect(&v, B, "azure.rbac-ciem", "COMPLIANT", "Cloud Application Administrator");

    // C: excluded, but the refused subscription could hold another connector: unknown, not a blocker.
    expect(&v, C, "azure.connector", "INSUFFICIENT_DATA", SUB2);

    // Side by side: Azure's plans and features, what settings override, what AWS lacks.
    let a = view(&v, A);
    assert_eq!(a["azurePlans"], json!(["cspm", "servers"]));
    assert!(
        a["azureFeatures"]
            .as_array()
            .unwrap()
            .contains(&json!("Arc auto-provisioning")),
        "{a}"
    );
    assert_eq!(a["overriddenBySettings"], json!(["plans"]), "{a}");
    assert!(
        a["fromAzure"]
            .as_array()
            .unwrap()
            .contains(&json!("roles.arc_autoprovisioning")),
        "{a}"
    );
    assert!(
        a["fromAzure"]
            .as_array()
            .unwrap()
            .contains(&json!("servers.exclusion_tags")),
        "{a}"
    );
    assert!(
        a["awsReadiness"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("servers: BLOCKED")),
        "{a}"
    );
    assert!(
        a["missing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().starts_with("azure.offering-roles NON_COMPLIANT")),
        "{a}"
    );
    // The connector's regions replace connector_regions: us-east-1 and eu-west-1 only.
    assert!(
        a["fromAzure"].as_array().unwrap().contains(&json!("connector_regions")),
        "{a}"
    );

    // What went over the wire: the specs' API versions, both token audiences, paging, the retry.
    let reqs = stand_in.requests();
    let scopes: Vec<&str> = reqs
        .iter()
        .filter(|r| r["method"] == "POST")
        .filter_map(|r| r["scope"].as_str())
        .collect();
    assert!(
        scopes.contains(&format!("{}/.default", stand_in.base()).as_str()),
        "{scopes:?}"
    );
    assert!(
        scopes.contains(&format!("{}/graph/.default", stand_in.base()).as_str()),
        "{scopes:?}"
    );
    let gets = |path: &str| {
        reqs.iter()
            .filter(|r| r["method"] == "GET" && r["path"].as_str().unwrap().ends_with(path))
            .count()
    };
    assert_eq!(
        gets(&format!("{SUB1}/providers/Microsoft.Security/securityConnectors")),
        2,
        "two pages"
    );
    assert_eq!(
        gets("/providers/Microsoft.Security/healthReports"),
        2,
        "one health list per AWS connector"
    );
    assert_eq!(
        gets(&format!("{SUB1}/providers/Microsoft.Authorization/roleAssignments")),
        2,
        "429 then retried"
    );
    assert_eq!(
        gets("/graph/v1.0/roleManagement/directory/roleAssignments"),
        2,
        "two Graph pages"
    );
    assert!(
        reqs.iter()
            .all(|r| r["method"] != "GET" || r["audience"].as_str().is_some()),
        "every read carried a token"
    );
    for r in reqs.iter().filter(|r| r["method"] == "GET") {
        assert!(
            r["query"].get("api-version").is_some() || r["path"].as_str().unwrap().starts_with("/graph/"),
            "{r}"
        );
    }
    // Without the declaration, D's organization is unknown: the organization connector is a
    // candidate, named, not coverage.
    let other = tempfile::tempdir().unwrap();
    let stand_in = StandIn::start(other.path());
    let (_, undeclared) = scan(
        &stand_in,
        other.path(),
        &format!("{SUB1},{SUB2}"),
        "plans = [\"cspm\", \"servers\", \"containers\"]",
    );
    expect(
        &undeclared,
        D,
        "azure.connector",
        "INSUFFICIENT_DATA",
        "exampleSecurityConnectorAwsOrganization (management account 444455556666) could cover account 222233334444",
    );
}

#[test]
fn every_subscription_read_makes_absence_evidence_and_settings_override_the_connector() {
    let dir = tempfile::tempdir().unwrap();
    let stand_in = StandIn::start(dir.path());
    // `all`: the subscriptions the identity can see (only the first): C's exclusion now decides.
    let (_, v) = scan(
        &stand_in,
        dir.path(),
        "all",
        "[roles]\narc_autoprovisioning = \"CspmMonitorAws\"",
    );
    expect(&v, C, "azure.connector", "NON_COMPLIANT", "excludedAccountIds");
    // The settings file names the Servers role: it overrides the connector, and says so.
    expect(&v, A, "servers.arc-autoprov-role", "COMPLIANT", "CspmMonitorAws");
    let a = view(&v, A);
    assert_eq!(a["overriddenBySettings"], json!(["roles.arc_autoprovisioning"]), "{a}");
    assert_eq!(a["azurePlans"], json!(["cspm", "servers"]));
    // Plans come from the connector: A has no containers plan, B no servers plan.
    let plan = |account: &str, plan: &str| {
        v["plans"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["accountId"] == account && p["plan"] == plan)
            .map(|p| p["status"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(
        plan(A, "containers").iter().all(|s| s == "NOT_APPLICABLE"),
        "{:?}",
        plan(A, "containers")
    );
    assert!(plan(B, "servers").iter().all(|s| s == "NOT_APPLICABLE"));
}

#[test]
fn without_azure_the_azure_checks_are_unverified_and_gate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stand_in = StandIn::start(dir.path());
    let (o, v) = scan(&stand_in, dir.path(), "", "");
    assert!(
        stand_in.requests().is_empty(),
        "nothing is read from Azure unless asked"
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains("azure:"));
    for check in [
        "azure.connector",
        "azure.offering-roles",
        "azure.connector-health",
        "azure.rbac-owner",
        "azure.rbac-operate",
    ] {
        expect(&v, A, check, "INSUFFICIENT_DATA", "Azure was not read");
    }
    assert!(v.get("azure").is_none());
    // The CSPM plan reads as it does without the Azure half: no "azure." line among its unverified checks.
    for p in v["plans"].as_array().unwrap().iter().filter(|p| p["plan"] == "cspm") {
        let unverified = p["unverified"].as_array().unwrap();
        assert!(
            unverified.iter().all(|u| !u.as_str().unwrap().starts_with("azure.")),
            "{p}"
        );
    }
}

#[test]
fn a_credential_the_token_endpoint_refuses_leaves_every_azure_check_unverified() {
    let dir = tempfile::tempdir().unwrap();
    let stand_in = StandIn::start(dir.path());
    let settings = dir.path().join("s.toml");
    std::fs::write(
        &settings,
        format!(
            "[azure]\nauthority_host = \"{b}\"\nresource_manager = \"{b}\"\ngraph = \"{b}/graph\"\n",
            b = stand_in.base()
        ),
    )
    .unwrap();
    let snap = snapshot(dir.path());
    let o = Command::new(BIN)
        .args([
            "scan",
            snap.to_str().unwrap(),
            "--no-store",
            "--format",
            "json",
            "--azure-subscription",
            SUB1,
            "--settings",
        ])
        .arg(&settings)
        .env("AZURE_TENANT_ID", "e81b978c-11be-449f-a392-42c0ed96bb91")
        .env("AZURE_CLIENT_ID", "0b7b3e0a-8f9f-4a44-9c55-3c1f4b8e2d11")
        .env("AZURE_CLIENT_SECRET", "a-wrong-secret")
        .env("SSL_CERT_FILE", stand_in.ca())
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the AWS half still runs: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    // Said once and plainly, by every Azure check: the sign-in failed, in Entra's words (not a
    // parse error of its answer, nor "set azure.principal_id").
    for check in [
        "azure.connector",
        "azure.rbac-owner",
        "azure.rbac-ciem",
        "azure.connector-health",
    ] {
        let (c, a) = result(&v, A, check);
        assert_eq!(c, "INSUFFICIENT_DATA", "{check}: {a}");
        assert!(
            a.contains("signing in to Microsoft Entra failed (AADSTS7000215: Invalid client secret provided)"),
            "{check}: {a}"
        );
        assert!(!a.contains("a-wrong-secret") && !a.contains("borrowed"), "{check}: {a}");
    }
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.matches("AADSTS7000215").count(), 1, "{stderr}");
    // The AWS half is evaluated as ever.
    expect(&v, A, "cspm.monitor-role", "COMPLIANT", "CspmMonitorAws");
}

#[test]
fn the_html_report_shows_both_halves_per_account_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let stand_in = StandIn::start(dir.path());
    let db = dir.path().join("state.db");
    scan_with(&stand_in, dir.path(), SUB1, "", &["--db", db.to_str().unwrap()]);
    let html = dir.path().join("report.html");
    let o = Command::new(BIN)
        .args(["report", "--db", db.to_str().unwrap(), "-o", html.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    let section = &page[page.find(r#"<section id="azure">"#).expect("the Azure section")..];
    let section = &section[..section.find("</section>").unwrap()];
    let row = |account: &str| {
        let start = section
            .find(&format!(r#"data-azure-account="{account}""#))
            .unwrap_or_else(|| panic!("no row for {account}"));
        &section[start..start + section[start..].find("</tr>").unwrap()]
    };
    let a = row(A);
    assert!(
        a.contains("exampleSecurityConnectorAws") && a.contains("NON_COMPLIANT"),
        "{a}"
    );
    assert!(
        a.contains("DefenderForCloud-ArcAutoProvisioning, which does not exist"),
        "{a}"
    );
    assert!(a.contains("servers <span class=\"s-BLOCKED\">BLOCKED</span>"), "{a}");
    let c = row(C);
    assert!(c.contains("excludedAccountIds"), "{c}");
    // Annotations come from Azure and AWS: escaped like every other value.
    assert!(!section.contains("<script"));
}

/// Directory roles held through a role-assignable group count (Microsoft Graph v1.0
/// `directoryObject: getMemberGroups`, transitive, then each group's `unifiedRoleAssignment`s;
/// the group ids are the docs example's), and when the groups cannot be read a role not held
/// directly is unknown, never a blocker.
#[test]
fn directory_roles_held_through_a_group_count_and_unreadable_groups_block_nothing() {
    const GROUP: &str = "fee2c45b-915a-4a64-b130-f4eb9e75525e";
    let root = integration_tests::fixtures::root();
    let base: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("tests/azure/scenario.json")).unwrap()).unwrap();
    let assignments = "GET /graph/v1.0/roleManagement/directory/roleAssignments";
    let groups = format!("POST /graph/v1.0/directoryObjects/{OID}/getMemberGroups");
    let direct = format!("principalId eq '{OID}'");
    // Directly: Global Reader only (the docs example's first page); through the group: Cloud
    // Application Administrator.
    let mut through_group = base.clone();
    let routes = &mut through_group["routes"];
    let first_page = routes[assignments]["byFilter"][&direct]["pages"][0].clone();
    routes[assignments]["byFilter"][&direct] = json!({"pages": [first_page]});
    routes[assignments]["byFilter"][format!("principalId eq '{GROUP}'")] = json!({"body": {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments",
        "value": [{"id": "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-3", "principalId": GROUP,
                   "directoryScopeId": "/", "roleDefinitionId": "158c047a-c907-4556-b7ef-446551a6b5f7"}]}});
    routes[&groups]["body"]["value"] = json!([GROUP]);
    let mut unreadable = through_group.clone();
    unreadable["routes"][&groups] = json!({"audience": "graph", "status": 403, "body": {"error": {
        "code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}});
    for (scenario, compliance, says) in [
        (
            &through_group,
            "COMPLIANT",
            format!("holds Cloud Application Administrator in the directory through group {GROUP}"),
        ),
        (
            &unreadable,
            "INSUFFICIENT_DATA",
            "its group memberships could not be read (HTTP 403 Authorization_RequestDenied)".to_owned(),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scenario.json");
        std::fs::write(&path, scenario.to_string()).unwrap();
        let stand_in = StandIn::start_with(dir.path(), &path);
        let (_, v) = scan_with(&stand_in, dir.path(), SUB1, "", &["--no-store"]);
        expect(&v, B, "azure.rbac-ciem", compliance, &says);
    }
}

/// Subscriptions are read several at once, never more than the bound: twelve subscriptions whose
/// connector lists answer slowly are read with more than one request in flight and at most
/// `SUBSCRIPTIONS_AT_ONCE` (the stand-in counts the slow requests it serves at once).
#[test]
fn subscriptions_are_read_concurrently_within_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut scenario: Value = serde_json::from_str(
        &std::fs::read_to_string(integration_tests::fixtures::root().join("tests/azure/scenario.json")).unwrap(),
    )
    .unwrap();
    let ids: Vec<String> = (0..12).map(|n| format!("00000000-0000-4000-8000-{n:012}")).collect();
    for id in &ids {
        scenario["routes"][format!("GET /subscriptions/{id}/providers/Microsoft.Security/securityConnectors")] = json!({
            "apiVersion": "2023-10-01-preview",
            "body": {"value": []},
            "delayMs": 400,
        });
    }
    let path = dir.path().join("scenario.json");
    std::fs::write(&path, scenario.to_string()).unwrap();
    let stand_in = StandIn::start_with(dir.path(), &path);
    let (o, _) = scan(&stand_in, dir.path(), &ids.join(","), "");
    let err = String::from_utf8_lossy(&o.stderr);
    // Reported in the order asked, whatever order they completed in.
    let order: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("azure: subscription "))
        .filter_map(|l| l.split(' ').nth(1))
        .map(|id| id.trim_end_matches(':'))
        .collect();
    assert_eq!(order, ids.iter().map(String::as_str).collect::<Vec<_>>(), "{err}");
    let most: usize = std::fs::read_to_string(dir.path().join("most_in_flight"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        most > 1 && most <= shared::azure::SUBSCRIPTIONS_AT_ONCE,
        "{most} slow requests at once"
    );
}

/// Ids and links never take a request off the Azure endpoints' paths and hosts: a subscription
/// "id" that walks out of `/subscriptions` or a principal id that would rewrite a `$filter` is
/// refused with a clear error before anything is asked; a `nextLink` to another host is not
/// followed (the bearer token would go with it) and the subscription is unread, not empty.
#[test]
fn ids_and_links_that_would_leave_the_azure_endpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let stand_in = StandIn::start(dir.path());
    for (subscriptions, azure_extra, says) in [
        (
            "../../providers/Microsoft.Management/managementGroups/x",
            "",
            "--azure-subscription: entry 1 is not a subscription id",
        ),
        (
            &format!("{SUB1},a5caac9c-5c04-49af-b3d0"),
            "",
            "--azure-subscription: entry 2 is not a subscription id",
        ),
        (
            SUB1,
            "principal_id = \"x') or (1 eq 1\"",
            "azure.principal_id is not an Entra object id",
        ),
        (
            SUB1,
            "subscriptions = [\"all\", \"sub-1\"]",
            "settings azure.subscriptions: entry 2",
        ),
    ] {
        let o = command(&stand_in, dir.path(), subscriptions, "", azure_extra, &["--no-store"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(
            !err.contains("managementGroups") && !err.contains("1 eq 1"),
            "the value is quoted: {err}"
        );
    }
    assert!(stand_in.requests().is_empty(), "{:?}", stand_in.requests());

    // The connector list answers in pages whose link names another host (localhost reaches
    // the stand-in too, so a followed link would show in its requests).
    let mut scenario: Value = serde_json::from_str(
        &std::fs::read_to_string(integration_tests::fixtures::root().join("tests/azure/scenario.json")).unwrap(),
    )
    .unwrap();
    let route = format!("GET /subscriptions/{SUB1}/providers/Microsoft.Security/securityConnectors");
    assert!(scenario["routes"][&route]["pages"].as_array().unwrap().len() > 1);
    scenario["routes"][&route]["nextLinkHost"] = json!("localhost");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.json");
    std::fs::write(&path, scenario.to_string()).unwrap();
    let stand_in = StandIn::start_with(dir.path(), &path);
    let (o, v) = scan(&stand_in, dir.path(), SUB1, "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("a next page on another host (not followed)"), "{err}");
    let pages: Vec<Value> = stand_in
        .requests()
        .into_iter()
        .filter(|r| r.to_string().contains("securityConnectors") && r.to_string().contains("page"))
        .collect();
    assert!(pages.is_empty(), "the link was followed: {pages:?}");
    let (compliance, _) = result(&v, A, "azure.connector");
    assert_eq!(compliance, "INSUFFICIENT_DATA");
}
