//! The Azure adapter (feature `azure`): reads the Azure half into a
//! [`crate::domain::azure::AzureSide`] with Microsoft's SDK for Rust: `azure_identity` for the
//! credential (service principal from the environment, workload identity, Azure CLI) and
//! `azure_core`'s pipeline for Azure Resource Manager and Microsoft Graph (bearer tokens, retries
//! with `Retry-After` on throttling). Every failure is recorded where it happened (a subscription,
//! a connector's health, the role assignments, Graph) and never stops the other reads.

use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{ClientOptions, Context, Method, Pipeline, PipelineSendOptions, Request, Url};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::domain::azure::{AzureSide, Connector, EntraRoleAssignment, Principal, RoleAssignment, SubscriptionRead};
use crate::domain::settings::AzureSettings;

/// `Microsoft.Security/securityConnectors` API version.
pub const CONNECTORS_API: &str = "2023-10-01-preview";
/// `Microsoft.Security/healthReports` API version.
pub const HEALTH_API: &str = "2023-05-01-preview";
/// `Microsoft.Authorization/roleAssignments` API version.
pub const ROLE_ASSIGNMENTS_API: &str = "2022-04-01";
/// `Microsoft.Resources/subscriptions` API version.
pub const SUBSCRIPTIONS_API: &str = "2022-12-01";
/// The subscription list that stands for every subscription the identity can see.
pub const ALL: &str = "all";
/// Pages followed per list at most (a guard against a `nextLink` loop).
const MAX_PAGES: usize = 1_000;
/// Groups of the principal whose directory role assignments are read, at most.
const MAX_GROUPS: usize = 200;

/// Which credential the chain picked, for the progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ServicePrincipal,
    /// `AZURE_FEDERATED_TOKEN_FILE` (with `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`).
    WorkloadIdentity,
    /// `az login`.
    AzureCli,
}

impl std::fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ServicePrincipal => "service principal (AZURE_CLIENT_SECRET)",
            Self::WorkloadIdentity => "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            Self::AzureCli => "Azure CLI",
        })
    }
}

/// Why signing in failed, in Entra's words: its `AADSTS` code and description when the error
/// carries them (whatever the SDK made of the answer), else the error's first words.
fn sign_in_reason(error: &str) -> String {
    if let Some(at) = error.find("AADSTS") {
        let text: String = error[at..]
            .chars()
            .take_while(|c| !matches!(c, '"' | '\\' | '\r' | '\n'))
            .take(200)
            .collect();
        // Entra's descriptions go on with "Trace ID: ..." and the like after the first sentence.
        let first = text.split(". ").next().unwrap_or(&text);
        return first.trim_end_matches('.').to_owned();
    }
    crate::domain::error::first_words(error, 200)
}

/// An error with its causes, one after the other.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// The first credential the environment provides: a service principal with a secret, workload
/// identity, else the Azure CLI's signed-in account. `authority_host` (settings) overrides
/// `AZURE_AUTHORITY_HOST`.
pub fn credential(
    settings: &AzureSettings,
    tenant: Option<&str>,
) -> Result<(Arc<dyn TokenCredential>, CredentialKind), String> {
    let tenant = env("AZURE_TENANT_ID").or_else(|| tenant.map(str::to_owned));
    let fail = |what: &str, e: azure_core::Error| format!("{what}: {e}");
    if let (Some(t), Some(id), Some(secret)) = (&tenant, env("AZURE_CLIENT_ID"), env("AZURE_CLIENT_SECRET")) {
        return Ok((
            service_principal(settings, t, id, secret)?,
            CredentialKind::ServicePrincipal,
        ));
    }
    if let Some(file) = env("AZURE_FEDERATED_TOKEN_FILE") {
        let c =
            azure_identity::WorkloadIdentityCredential::new(Some(azure_identity::WorkloadIdentityCredentialOptions {
                credential_options: azure_identity::ClientAssertionCredentialOptions {
                    client_options: client_options(settings),
                },
                tenant_id: tenant.clone(),
                token_file_path: Some(file.into()),
                ..Default::default()
            }))
            .map_err(|e| fail("workload identity credential", e))?;
        return Ok((c, CredentialKind::WorkloadIdentity));
    }
    let c = azure_identity::AzureCliCredential::new(Some(azure_identity::AzureCliCredentialOptions {
        tenant_id: tenant,
        ..Default::default()
    }))
    .map_err(|e| fail("Azure CLI credential", e))?;
    Ok((c, CredentialKind::AzureCli))
}

/// Client options of the credentials: `authority_host` (settings), else `AZURE_AUTHORITY_HOST` or
/// the public cloud's.
fn client_options(settings: &AzureSettings) -> ClientOptions {
    let mut options = ClientOptions::default();
    if let Some(host) = &settings.authority_host {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = host.clone();
        options.cloud = Some(Arc::new(CloudConfiguration::Custom(custom)));
    }
    options
}

/// A service principal's credential (from the environment, or in the deployed functions from a
/// secret).
pub fn service_principal(
    settings: &AzureSettings,
    tenant: &str,
    client_id: String,
    secret: String,
) -> Result<Arc<dyn TokenCredential>, String> {
    let c = azure_identity::ClientSecretCredential::new(
        tenant,
        client_id,
        secret.into(),
        Some(azure_identity::ClientSecretCredentialOptions {
            client_options: client_options(settings),
        }),
    )
    .map_err(|e| format!("service principal credential: {e}"))?;
    Ok(c)
}

/// Scheme, host and port of `url` (`None` when it does not parse).
fn origin(url: &str) -> Option<(String, Option<String>, Option<u16>)> {
    let u = Url::parse(url).ok()?;
    Some((
        u.scheme().to_owned(),
        u.host_str().map(str::to_owned),
        u.port_or_known_default(),
    ))
}

/// Whether `id`, a connector's resource id from ARM's answer, is a resource of subscription
/// `subscription` that can be appended to the endpoint as a path (no `..`, query, fragment,
/// user info or escapes that would take the request elsewhere).
fn connector_path_ok(id: &str, subscription: &str) -> bool {
    let prefix = format!("/subscriptions/{subscription}/");
    id.len() > prefix.len()
        && id[..prefix.len()].eq_ignore_ascii_case(&prefix)
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'-' | b'_' | b'.' | b'(' | b')'))
        && !id.split('/').any(|seg| seg == "." || seg == "..")
}

/// The scope of an endpoint's token (`https://management.azure.com/.default`).
fn scope_of(endpoint: &str) -> String {
    format!("{}/.default", endpoint.trim_end_matches('/'))
}

/// Subscriptions read at once.
pub const SUBSCRIPTIONS_AT_ONCE: usize = 8;

/// Reads Azure Resource Manager and Microsoft Graph with one credential.
pub struct AzureReader {
    credential: Arc<dyn TokenCredential>,
    arm: Pipeline,
    graph: Pipeline,
    arm_base: String,
    graph_base: String,
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default, rename = "nextLink", alias = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    subscription_id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<String>,
}

impl AzureReader {
    /// A reader of the endpoints `settings` names, authenticating with `credential`.
    pub fn new(settings: &AzureSettings, credential: Arc<dyn TokenCredential>) -> Self {
        let pipeline = |endpoint: &str| {
            let auth = Arc::new(BearerTokenAuthorizationPolicy::new(
                credential.clone(),
                [scope_of(endpoint)],
            ));
            Pipeline::new(
                Some("defender-prereqs"),
                Some(env!("CARGO_PKG_VERSION")),
                ClientOptions::default(),
                Vec::new(),
                vec![auth],
                None,
            )
        };
        Self {
            arm: pipeline(&settings.resource_manager),
            graph: pipeline(&settings.graph),
            arm_base: settings.resource_manager.trim_end_matches('/').to_owned(),
            graph_base: settings.graph.trim_end_matches('/').to_owned(),
            credential,
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, pipeline: &Pipeline, url: &str) -> Result<T, String> {
        self.send_json(pipeline, url, None).await
    }

    /// GET `url`, or POST `body` (JSON) to it, and parse the answer.
    async fn send_json<T: DeserializeOwned>(
        &self,
        pipeline: &Pipeline,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, String> {
        let url = Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
        let mut req = Request::new(url, if body.is_some() { Method::Post } else { Method::Get });
        if let Some(body) = body {
            req.insert_header("content-type", "application/json");
            req.set_body(body.to_string());
        }
        let res = pipeline
            .send(
                &Context::new(),
                &mut req,
                Some(PipelineSendOptions {
                    skip_checks: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| chain(&e))?;
        let status = res.status();
        let body = res.into_body();
        if !status.is_success() {
            let code = serde_json::from_slice::<ErrorBody>(&body)
                .ok()
                .and_then(|b| b.error)
                .and_then(|e| e.code)
                .unwrap_or_default();
            return Err(format!("HTTP {} {code}", u16::from(status)).trim_end().to_owned());
        }
        // The position only: the message would quote the response.
        serde_json::from_slice(&body)
            .map_err(|e| format!("unexpected response shape (line {}, column {})", e.line(), e.column()))
    }

    async fn list<T: DeserializeOwned>(&self, pipeline: &Pipeline, first: String) -> Result<Vec<T>, String> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            let page: Page<T> = self.get_json(pipeline, &url).await?;
            out.extend(page.value);
            next = page.next_link.filter(|n| !n.is_empty());
            // A next page is followed only on the host the list was asked of: a link elsewhere
            // would carry the bearer token to another server.
            if next.as_deref().is_some_and(|n| origin(n) != origin(&url)) {
                return Err("a next page on another host (not followed)".to_owned());
            }
            pages += 1;
            if pages >= MAX_PAGES && next.is_some() {
                return Err(format!("more than {MAX_PAGES} pages"));
            }
        }
        Ok(out)
    }

    /// The directory role assignments of `principal` (Graph `unifiedRoleAssignment`s).
    async fn entra_assignments(&self, principal: &str) -> Result<Vec<EntraRoleAssignment>, String> {
        let url = format!(
            "{}/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '{principal}'",
            self.graph_base
        );
        self.list(&self.graph, url).await
    }

    /// The security groups `principal` is a member of, directly or through other groups (Graph
    /// `getMemberGroups`, which returns up to 11,000 ids), and the directory role assignments of
    /// each (at most [`MAX_GROUPS`] groups are looked up; more is an error, never a guess).
    async fn entra_group_assignments(
        &self,
        principal: &str,
    ) -> Result<(Vec<String>, Vec<EntraRoleAssignment>), String> {
        let url = format!("{}/v1.0/directoryObjects/{principal}/getMemberGroups", self.graph_base);
        let groups: Page<String> = self
            .send_json(
                &self.graph,
                &url,
                Some(&serde_json::json!({"securityEnabledOnly": true})),
            )
            .await?;
        if groups.value.len() > MAX_GROUPS {
            return Err(format!(
                "member of {} security groups, more than the {MAX_GROUPS} looked up",
                groups.value.len()
            ));
        }
        let mut out = Vec::new();
        for g in &groups.value {
            out.extend(self.entra_assignments(g).await?);
        }
        Ok((groups.value, out))
    }

    /// Every subscription the identity can see.
    pub async fn subscriptions(&self) -> Result<Vec<String>, String> {
        let subs: Vec<Subscription> = self
            .list(
                &self.arm,
                format!("{}/subscriptions?api-version={SUBSCRIPTIONS_API}", self.arm_base),
            )
            .await?;
        // Ids from the answer go into URLs too: one that is not a GUID is refused, not followed.
        if subs.iter().any(|s| !crate::domain::azure::is_guid(&s.subscription_id)) {
            return Err("a listed subscription id is not a GUID".to_owned());
        }
        Ok(subs.into_iter().map(|s| s.subscription_id).collect())
    }

    /// The object id of the signed-in identity (the `oid` claim of its Resource Manager token).
    pub async fn signed_in_object_id(&self) -> Result<String, String> {
        let scope = scope_of(&self.arm_base);
        let token = self
            .credential
            .get_token(&[scope.as_str()], None)
            .await
            .map_err(|e| chain(&e))?;
        let payload = token
            .token
            .secret()
            .split('.')
            .nth(1)
            .ok_or("the access token is not a JWT")?
            .to_owned();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| "the access token's claims are not base64url")?;
        let claims: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| "the access token's claims are not JSON")?;
        let oid = claims
            .get("oid")
            .and_then(|v| v.as_str())
            .ok_or("the access token has no oid claim")?;
        if !crate::domain::azure::is_guid(oid) {
            return Err("the access token's oid claim is not a GUID".to_owned());
        }
        Ok(oid.to_owned())
    }

    async fn subscription(&self, id: &str, principal: Option<&str>) -> SubscriptionRead {
        let mut read = SubscriptionRead {
            id: id.to_owned(),
            ..Default::default()
        };
        let url = format!(
            "{}/subscriptions/{id}/providers/Microsoft.Security/securityConnectors?api-version={CONNECTORS_API}",
            self.arm_base
        );
        match self.list::<Connector>(&self.arm, url).await {
            Err(e) => {
                read.error = Some(e);
                return read;
            }
            Ok(connectors) => read.security_connectors = connectors,
        }
        for c in read.security_connectors.iter_mut().filter(|c| c.is_aws()) {
            if !connector_path_ok(&c.id, id) {
                c.health_error = Some("the connector's id is not a resource path of its subscription".to_owned());
                continue;
            }
            let url = format!(
                "{}{}/providers/Microsoft.Security/healthReports?api-version={HEALTH_API}",
                self.arm_base, c.id
            );
            match self.list(&self.arm, url).await {
                Ok(reports) => c.health_reports = Some(reports),
                Err(e) => c.health_error = Some(e),
            }
        }
        match principal {
            None => read.role_assignments_error = Some("no principal to look up".to_owned()),
            Some(p) => {
                let url = format!(
                    "{}/subscriptions/{id}/providers/Microsoft.Authorization/roleAssignments?$filter=assignedTo('{p}')&api-version={ROLE_ASSIGNMENTS_API}",
                    self.arm_base
                );
                match self.list::<RoleAssignment>(&self.arm, url).await {
                    Ok(list) => read.role_assignments = Some(list),
                    Err(e) => read.role_assignments_error = Some(e),
                }
            }
        }
        read
    }

    /// Reads the subscriptions `settings` asks for (ids, or [`ALL`]), the principal's roles and
    /// its Entra role assignments. `progress` hears one line per step.
    pub async fn read(&self, settings: &AzureSettings, mut progress: impl FnMut(String)) -> AzureSide {
        // Sign in once first: with a wrong secret every read below would fail the same way.
        let scope = scope_of(&self.arm_base);
        if let Err(e) = self.credential.get_token(&[scope.as_str()], None).await {
            let why = sign_in_reason(&chain(&e));
            progress(format!(
                "azure: signing in to Microsoft Entra failed ({why}); nothing is read from Azure"
            ));
            return AzureSide {
                sign_in_error: Some(why.clone()),
                ..AzureSide::failed(&settings.subscriptions, &format!("sign-in failed: {why}"))
            };
        }
        let mut side = AzureSide::default();
        let principal = match &settings.principal_id {
            Some(id) => Some(Principal {
                id: id.clone(),
                source: "settings azure.principal_id".to_owned(),
            }),
            None => match self.signed_in_object_id().await {
                Ok(id) => Some(Principal {
                    id,
                    source: "signed-in identity".to_owned(),
                }),
                Err(e) => {
                    progress(format!(
                        "azure: the signed-in identity's object id is unknown ({e}); set azure.principal_id"
                    ));
                    None
                }
            },
        };
        let mut ids: Vec<String> = Vec::new();
        for s in &settings.subscriptions {
            if s.eq_ignore_ascii_case(ALL) {
                side.all_subscriptions = true;
                match self.subscriptions().await {
                    Ok(list) => {
                        progress(format!("azure: {} subscription(s) visible", list.len()));
                        ids.extend(list);
                    }
                    Err(e) => side.subscriptions.push(SubscriptionRead {
                        id: ALL.to_owned(),
                        error: Some(format!("listing subscriptions: {e}")),
                        ..Default::default()
                    }),
                }
            } else {
                ids.push(s.clone());
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        ids.retain(|id| seen.insert(id.to_ascii_lowercase()));
        // Several subscriptions at once (an organization's tenant can hold hundreds), a bounded
        // number, reported in order as they complete.
        use futures_util::StreamExt as _;
        let object_id = principal.as_ref().map(|p| p.id.as_str());
        let mut reads = futures_util::stream::iter(ids.iter())
            .map(|id| async move { (id, self.subscription(id, object_id).await) })
            .buffered(SUBSCRIPTIONS_AT_ONCE);
        let mut n = 0;
        while let Some((id, read)) = reads.next().await {
            progress(match &read.error {
                Some(e) => format!("azure: subscription {}/{} {id}: not read ({e})", n + 1, ids.len()),
                None => format!(
                    "azure: subscription {}/{} {id}: {} AWS connector(s)",
                    n + 1,
                    ids.len(),
                    read.security_connectors.iter().filter(|c| c.is_aws()).count()
                ),
            });
            n += 1;
            side.subscriptions.push(read);
        }
        drop(reads);
        if let Some(p) = &principal {
            match self.entra_assignments(&p.id).await {
                Ok(list) => side.entra_role_assignments = Some(list),
                Err(e) => {
                    progress(format!("azure: Entra role assignments not read ({e})"));
                    side.entra_error = Some(e);
                }
            }
            // Directory roles can be held through a role-assignable group: the principal's
            // groups (transitively), then each group's assignments.
            if side.entra_role_assignments.is_some() {
                match self.entra_group_assignments(&p.id).await {
                    Ok((groups, list)) => {
                        side.entra_groups = Some(groups);
                        side.entra_role_assignments.get_or_insert_with(Vec::new).extend(list);
                    }
                    Err(e) => {
                        progress(format!("azure: the principal's group memberships not read ({e})"));
                        side.entra_groups_error = Some(e);
                    }
                }
            }
        } else {
            side.entra_error = Some("no principal to look up".to_owned());
        }
        side.principal = principal;
        side
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_connector_path_of_its_subscription_is_appended_to_the_endpoint() {
        let sub = "a5caac9c-5c04-49af-b3d0-e204f40345d5";
        let id =
            format!("/subscriptions/{sub}/resourceGroups/rg-1/providers/Microsoft.Security/securityConnectors/c.aws");
        assert!(connector_path_ok(&id, sub));
        assert!(connector_path_ok(
            &id.to_uppercase().replace("A5CAAC9C", "a5caac9c"),
            sub
        ));
        for bad in [
            format!("/subscriptions/{sub}/../../providers/Microsoft.Management/managementGroups/x"),
            format!("/subscriptions/{sub}/x?api-version=1"),
            format!("/subscriptions/{sub}/x#y"),
            format!("@evil.example/subscriptions/{sub}/x"),
            format!("/subscriptions/{sub}/x%2F..%2F"),
            "/subscriptions/a1efb6ca-fbc5-4782-9aaa-5c7daded1ce2/resourceGroups/rg".to_owned(),
            format!("/subscriptions/{sub}/"),
        ] {
            assert!(!connector_path_ok(&bad, sub), "{bad}");
        }
        assert_eq!(origin("https://h:1/a?b"), origin("https://h:1/c"));
        assert_ne!(origin("https://h:1/a"), origin("https://localhost:1/a"));
        assert_ne!(origin("https://h/a"), origin("http://h/a"));
    }

    #[test]
    fn a_failed_sign_in_is_told_in_entras_words() {
        // What azure_identity made of Entra's 401 for a wrong secret (the description quoted in a
        // parse error), and Entra's own description with its trace.
        let parse = "invalid type: string \"AADSTS7000215: Invalid client secret provided. Ensure the secret \
            being sent in the request is the client secret value. Trace ID: 1\", expected a borrowed string";
        assert_eq!(sign_in_reason(parse), "AADSTS7000215: Invalid client secret provided");
        assert_eq!(
            sign_in_reason("error sending request: connection refused"),
            "error sending request: connection refused"
        );
    }
}
