//! IAM as AWS enforces it, in front of every service the function binaries call in the tests.
//!
//! moto and the loopback stand-ins authorize nothing. This gate sits between the function
//! binaries and them (moto's endpoint, the Config stand-in, the facts stubs: [`front`]) and, for
//! each call signed by a function, does what AWS's authorization does: it maps the call to the
//! IAM actions AWS authorizes it with ([`requests_of`]: the service authorization reference's
//! action per operation, plus AWS's documented cases — a transaction's items each authorized as
//! their own action, a batch write as `BatchWriteItem` over all its keys), with the real resource
//! ARNs and condition keys (`dynamodb:LeadingKeys`, `events:source`, `aws:PrincipalOrgID`,
//! `aws:ResourceOrgID`), and evaluates each against the calling role's policies **as SAM
//! translates the template** (`tests/iam/policies.py`) with a real policy evaluator
//! (`@cloud-copilot/iam-simulate`, run by `tests/iam/evaluate.mjs`; a test-time tool only). A
//! denied call is answered as AWS answers it (`AccessDenied…`), so a test of the function fails
//! where the deployed function would, and the denial is printed.
//!
//! Who calls: [`crate::lambda::command`] gives every function process an access key of its own,
//! and [`crate::lambda::spawn`] registers it with what the process was started with (function,
//! table, bus, central mode, Azure secret): the stack's parameters as the template would have set
//! that environment. Credentials a function gets from `sts:AssumeRole` are the member role of
//! that account (member.yaml), learnt from STS's answer as it passes. Calls signed by any other
//! key (the tests' own setup) pass unevaluated.
//!
//! Every allowed (template, role, action) is appended to `target/iam-usage/<pid>.jsonl`; the
//! grants test (`tests/tests/iam_grants.rs`, run after the other tests) fails on a granted action
//! no recorded call needed.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpListener;

/// moto's default account: the stacks' own account unless a test says otherwise.
pub const ACCOUNT: &str = "123456789012";
/// The organization of the tests' central deployment.
pub const ORGANIZATION: &str = "o-defenderprq1";
/// The central deployment's `SweepRegions` as the gate evaluates it.
pub const SWEEP_REGIONS: &str = "eu-west-1";
/// Its management account.
pub const MANAGEMENT: &str = "200000000001";
/// The central functions' role names' prefix (both templates' `CentralRolePrefix` default).
pub const ROLE_PREFIX: &str = "DefenderPrereqs";
/// The stack's name.
pub const STACK: &str = "defender-prereqs";
/// The prefix of the access keys the gate evaluates (see [`function_key`]).
const KEY_PREFIX: &str = "AKIAFN";

/// What a function process was started with: the deployment the template would have made.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The function's binary name (`config-rule`, ...).
    pub function: String,
    /// `TABLE_NAME`.
    pub table: String,
    /// `EVENT_BUS_NAME`.
    pub bus: String,
    /// `MEMBER_ROLE_NAME` (central deployment) if set.
    pub member_role: Option<String>,
    /// `AZURE_CREDENTIALS_SECRET_ARN` if set.
    pub azure_secret: Option<String>,
    /// `AWS_REGION`.
    pub region: String,
    /// `CONTINUATION_QUEUE_URL` if set: the function's continuation queue.
    pub continuation_queue: Option<String>,
    /// The account the stack runs in: moto's default account, or the test's
    /// `IAM_GATE_ACCOUNT` where its data belongs to another account (a one-account deployment
    /// evaluates and reports its own account's resources).
    pub account: String,
}

impl Caller {
    /// The template's logical id of the function's role.
    pub fn role(&self) -> &'static str {
        match self.function.as_str() {
            "config-rule" => "ConfigRuleRole",
            "event-reevaluator" => "ReevaluatorRole",
            "readiness-rollup" => "RollupRole",
            "findings" => "FindingsRole",
            other => panic!("no role for the function {other}"),
        }
    }

    /// The stack's parameters that shape this function's permissions.
    pub fn parameters(&self) -> Value {
        let mut p = serde_json::Map::new();
        if let Some(role) = &self.member_role {
            p.insert("Deployment".into(), json!("central"));
            p.insert("OrganizationId".into(), json!(ORGANIZATION));
            p.insert("MemberRoleName".into(), json!(role));
            // With the scheduled runs of the regions without organization rules.
            p.insert("SweepRegions".into(), json!(SWEEP_REGIONS));
        }
        if let Some(arn) = &self.azure_secret {
            p.insert("AzureCredentialsSecretArn".into(), json!(arn));
        }
        if self.function == "findings" {
            p.insert("SecurityHubFindings".into(), json!("true"));
        }
        Value::Object(p)
    }
}

/// Whose credentials sign a call.
#[derive(Debug, Clone)]
enum Principal {
    /// A function's own role in the stack's account.
    Function(Caller),
    /// The member role of `account` (member.yaml), assumed by a central function.
    Member { account: String, role: String, via: Caller },
}

#[derive(Default)]
struct Registry {
    keys: HashMap<String, Principal>,
    /// Resolved policies by (template, parameters): `tests/iam/policies.py`'s output.
    policies: HashMap<String, Arc<Value>>,
    decisions: HashMap<String, String>,
    denials: Vec<String>,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Mutex::default)
}

/// A new access key for a function process (registered by [`register`]).
pub fn function_key() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{KEY_PREFIX}{:06}{:08}",
        std::process::id() % 1_000_000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// The process signing with `key` was started as `caller`.
pub fn register(key: &str, caller: Caller) {
    registry()
        .lock()
        .unwrap()
        .keys
        .insert(key.to_owned(), Principal::Function(caller));
}

/// Denials so far in this test process (each as printed).
pub fn denials() -> Vec<String> {
    registry().lock().unwrap().denials.clone()
}

// ------------------------------------------------------------------------------------------
// the gate

/// A gate in front of `upstream` (`http://127.0.0.1:<port>`), started once per upstream and
/// kept for the test process: `http://127.0.0.1:<port>`.
pub fn front(upstream: &str) -> String {
    static GATES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let gates = GATES.get_or_init(Mutex::default);
    let mut g = gates.lock().unwrap();
    if let Some(url) = g.get(upstream) {
        return url.clone();
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let up = upstream.trim_start_matches("http://").to_owned();
    runtime().spawn(async move {
        let listener = TcpListener::from_std(listener).unwrap();
        loop {
            let Ok((sock, _)) = listener.accept().await else { return };
            let up = up.clone();
            tokio::spawn(async move {
                let _ = sock.set_nodelay(true);
                let (r, mut w) = sock.into_split();
                let mut r = AsyncBufReader::new(r);
                while let Some(req) = crate::http::read_request(&mut r).await {
                    let close = req
                        .header("connection")
                        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                    let answer = match tokio::task::spawn_blocking({
                        let (head, body) = (req.head.clone(), req.body.clone());
                        move || authorize(&head, &body)
                    })
                    .await
                    .unwrap()
                    {
                        Verdict::Deny(answer) => Some(answer),
                        Verdict::Forward { learn } => {
                            let answer = crate::proxy::forward(&up, &req.head, &req.body).await;
                            if let (Some(via), Some(a)) = (learn, answer.as_ref()) {
                                learn_assumed(&via, a);
                            }
                            answer
                        }
                    };
                    let Some(answer) = answer else { return };
                    if w.write_all(&answer).await.is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    g.insert(upstream.to_owned(), url.clone());
    url
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("iam-gate")
            .build()
            .unwrap()
    })
}

enum Verdict {
    Forward { learn: Option<Caller> },
    Deny(Vec<u8>),
}

/// One request as AWS authorizes it: action, resource, the resource's account, context.
#[derive(Debug, Clone)]
pub struct Authz {
    /// `service:Action`.
    pub action: String,
    /// The resource ARN (`*` for actions without resource types).
    pub resource: String,
    /// Condition keys of the request beyond the principal's.
    pub context: serde_json::Map<String, Value>,
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// (access key, region, service) of a SigV4 `Authorization` header.
fn credential_scope(head: &[String]) -> Option<(String, String, String)> {
    let auth = header(head, "authorization")?;
    let cred = auth.split("Credential=").nth(1)?.split([',', ' ']).next()?;
    let mut parts = cred.split('/');
    let key = parts.next()?.to_owned();
    let _date = parts.next()?;
    let region = parts.next()?.to_owned();
    let service = parts.next()?.to_owned();
    Some((key, region, service))
}

fn authorize(head: &[String], body: &[u8]) -> Verdict {
    let Some((key, region, service)) = credential_scope(head) else {
        return Verdict::Forward { learn: None };
    };
    let principal = registry().lock().unwrap().keys.get(&key).cloned();
    let principal = match principal {
        Some(p) => p,
        None if key.starts_with(KEY_PREFIX) => {
            let why = format!(
                "the function signing with {key} was not registered: start it with integration_tests::lambda::spawn"
            );
            return deny(&service, &why, &why);
        }
        None => return Verdict::Forward { learn: None }, // the test's own calls
    };
    let (caller, account) = match &principal {
        Principal::Function(c) => (c.clone(), c.account.clone()),
        Principal::Member { account, via, .. } => (via.clone(), account.clone()),
    };
    let requests = match requests_of(&service, head, body, &region, &account) {
        Ok(r) => r,
        Err(why) => {
            return deny(&service, &why, &why);
        }
    };
    let (template, role_id, policies) = match &principal {
        Principal::Function(c) => ("template.yaml", c.role().to_owned(), policies_for_function(c)),
        Principal::Member { account, role, via } => (
            "member.yaml",
            "MemberRole".to_owned(),
            policies_for_member(account, role, via),
        ),
    };
    let role = &policies["roles"][&role_id];
    if role.is_null() {
        let why = format!("{template} has no role {role_id} with these parameters");
        return deny(&service, &why, &why);
    }
    let role_arn = role["arn"].as_str().unwrap_or_default().to_owned();
    let identity: Vec<Value> = role["policies"].as_array().cloned().unwrap_or_default();
    let is_sts_assume = requests.iter().any(|r| r.action == "sts:AssumeRole");
    for r in &requests {
        let mut context = r.context.clone();
        context.insert("aws:PrincipalArn".into(), json!(role_arn));
        context.insert("aws:PrincipalAccount".into(), json!(account));
        context.insert("aws:RequestedRegion".into(), json!(region));
        context.insert("aws:SecureTransport".into(), json!("true"));
        if caller.member_role.is_some() {
            context.insert("aws:PrincipalOrgID".into(), json!(ORGANIZATION));
        }
        let (resource_account, resource_policy) = resource_side(r, &policies, &caller, &account);
        let request = json!({
            "kind": "simulate",
            "principal": role_arn,
            "action": r.action,
            "resource": r.resource,
            "resourceAccount": resource_account,
            "identityPolicies": identity,
            "resourcePolicy": resource_policy,
            "context": context,
        });
        let result = evaluate(&request);
        if result != "Allowed" {
            let msg = format!(
                "User: {role_arn} is not authorized to perform: {} on resource: {} ({result}; {template} {role_id})",
                r.action, r.resource
            );
            return deny(&service, &msg, &format!("{msg}; context {}", Value::Object(context)));
        }
        record_use(template, &role_id, &r.action);
    }
    Verdict::Forward {
        learn: is_sts_assume.then_some(caller),
    }
}

/// The account and resource policy the resource side contributes: the member role's trust
/// policy for `sts:AssumeRole`, the bus's policies for `events:PutEvents`.
fn resource_side(r: &Authz, policies: &Value, caller: &Caller, principal_account: &str) -> (String, Value) {
    // An ARN names its account; `*` is the caller's own account's.
    let account = r
        .resource
        .split(':')
        .nth(4)
        .filter(|a| a.len() == 12)
        .unwrap_or(principal_account)
        .to_owned();
    match r.action.as_str() {
        "sts:AssumeRole" => {
            let role = r.resource.rsplit('/').next().unwrap_or_default();
            let member = policies_for_member(&account, role, caller);
            let trust = member["roles"]["MemberRole"]["trust"].clone();
            // A role that does not exist trusts no one.
            (
                account,
                if trust.is_null() {
                    json!({"Version": "2012-10-17", "Statement": []})
                } else {
                    trust
                },
            )
        }
        "events:PutEvents" => {
            let mut statements = Vec::new();
            if let Some(ps) = policies["resourcePolicies"].as_object() {
                for p in ps.values().filter(|p| p["type"] == "AWS::Events::EventBusPolicy") {
                    statements.extend(p["policy"]["Statement"].as_array().cloned().unwrap_or_default());
                }
            }
            let doc = (!statements.is_empty()).then(|| json!({"Version": "2012-10-17", "Statement": statements}));
            (account, doc.unwrap_or(Value::Null))
        }
        // An organization's account ARNs name its management account, but AWS Organizations
        // admits a delegated administrator's reads itself ("can be called only from the
        // organization's management account or by a member account that is a delegated
        // administrator", DescribeAccount in the Organizations API reference): the caller's
        // identity policy decides, as within one account.
        a if a.starts_with("organizations:") => (principal_account.to_owned(), Value::Null),
        _ => (account, Value::Null),
    }
}

fn deny(service: &str, message: &str, printed: &str) -> Verdict {
    eprintln!("IAM would deny: {printed}");
    registry().lock().unwrap().denials.push(printed.to_owned());
    let answer = match service {
        "sts" => {
            let body = format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                 <Message>{}</Message></Error><RequestId>iam-gate</RequestId></ErrorResponse>",
                message.replace('&', "&amp;").replace('<', "&lt;")
            );
            format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nx-amzn-RequestId: iam-gate\r\n\r\n{body}",
                body.len()
            )
        }
        _ => {
            let body = json!({"__type": "AccessDeniedException", "message": message, "Message": message}).to_string();
            format!(
                "HTTP/1.1 {} AccessDenied\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: AccessDeniedException\r\nContent-Length: {}\r\nx-amzn-RequestId: iam-gate\r\n\r\n{body}",
                if service == "dynamodb" || service == "config" || service == "events" { 400 } else { 403 },
                body.len()
            )
        }
    };
    Verdict::Deny(answer.into_bytes())
}

/// STS's answer to an AssumeRole: its access key now signs as the member role it names.
fn learn_assumed(via: &Caller, answer: &[u8]) {
    let text = String::from_utf8_lossy(answer);
    let between = |open: &str, close: &str| -> Option<String> {
        let s = text.split(open).nth(1)?;
        Some(s.split(close).next()?.trim().to_owned())
    };
    let (Some(key), Some(arn)) = (between("<AccessKeyId>", "</AccessKeyId>"), between("<Arn>", "</Arn>")) else {
        return;
    };
    // arn:aws:sts::<account>:assumed-role/<role>/<session>
    let account = arn.split(':').nth(4).unwrap_or_default().to_owned();
    let role = arn.split('/').nth(1).unwrap_or_default().to_owned();
    registry().lock().unwrap().keys.insert(
        key,
        Principal::Member {
            account,
            role,
            via: via.clone(),
        },
    );
}

// ------------------------------------------------------------------------------------------
// calls → IAM requests

fn arn(service: &str, region: &str, account: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{region}:{account}:{rest}")
}

fn leading_keys(key: &Value) -> Option<String> {
    key["PK"]["S"].as_str().map(str::to_owned)
}

fn table_arn(region: &str, account: &str, name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_owned()
    } else {
        arn("dynamodb", region, account, &format!("table/{name}"))
    }
}

/// The partition key value a Query's key condition names, for the table (not an index).
fn query_leading_key(body: &Value) -> Option<String> {
    let cond = body["KeyConditionExpression"].as_str()?;
    let names = &body["ExpressionAttributeNames"];
    for clause in cond.split(" AND ").chain(cond.split(" and ")) {
        let Some((lhs, rhs)) = clause.split_once('=') else {
            continue;
        };
        let (lhs, rhs) = (lhs.trim().trim_start_matches('('), rhs.trim().trim_end_matches(')'));
        let name = if lhs.starts_with('#') {
            names[lhs].as_str().unwrap_or(lhs)
        } else {
            lhs
        };
        if name == "PK" {
            return body["ExpressionAttributeValues"][rhs]["S"].as_str().map(str::to_owned);
        }
    }
    None
}

fn ctx(pairs: &[(&str, Value)]) -> serde_json::Map<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn request(action: &str, resource: String, context: serde_json::Map<String, Value>) -> Authz {
    Authz {
        action: action.to_owned(),
        resource,
        context,
    }
}

/// The IAM requests AWS makes of one API call (the service authorization reference's action for
/// the operation, with its resource and condition keys). An operation the map does not know is
/// an error: the gate denies it, so a new call cannot pass unexamined.
pub fn requests_of(
    service: &str,
    head: &[String],
    body: &[u8],
    region: &str,
    account: &str,
) -> Result<Vec<Authz>, String> {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let target = header(head, "x-amz-target").unwrap_or_default();
    let op = target.rsplit('.').next().unwrap_or_default();
    let path = head
        .first()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let unknown = || {
        Err(format!(
            "the IAM gate has no mapping for {service} {op}{path}: add it to tests/src/iam.rs::requests_of"
        ))
    };
    let none = ctx(&[]);
    Ok(match service {
        "dynamodb" => match op {
            "Query" => {
                let table = json["TableName"].as_str().unwrap_or_default();
                match json["IndexName"].as_str() {
                    Some(index) => vec![request(
                        "dynamodb:Query",
                        format!("{}/index/{index}", table_arn(region, account, table)),
                        none,
                    )],
                    None => vec![request(
                        "dynamodb:Query",
                        table_arn(region, account, table),
                        // A Query of the table always names its partition key: one the gate
                        // cannot read would pass a ForAllValues condition vacuously.
                        ctx(&[(
                            "dynamodb:LeadingKeys",
                            json!([query_leading_key(&json)
                                .ok_or("a table Query whose key condition the IAM gate cannot read")?]),
                        )]),
                    )],
                }
            }
            "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem" => {
                let table = json["TableName"].as_str().unwrap_or_default();
                let key = if op == "PutItem" { &json["Item"] } else { &json["Key"] };
                vec![request(
                    &format!("dynamodb:{op}"),
                    table_arn(region, account, table),
                    ctx(&[(
                        "dynamodb:LeadingKeys",
                        json!([leading_keys(key).ok_or("an item operation without a PK the IAM gate can read")?]),
                    )]),
                )]
            }
            // "Permissions for Put, Update, Delete, and Get actions are governed by the
            // permissions used for the underlying PutItem, UpdateItem, DeleteItem, and GetItem
            // operations. For the ConditionCheck action, you can use the
            // dynamodb:ConditionCheckItem permission" (DynamoDB developer guide, "Using IAM with
            // DynamoDB transactions"): TransactWriteItems is no IAM action of its own.
            "TransactWriteItems" => {
                let mut out = Vec::new();
                for item in json["TransactItems"].as_array().into_iter().flatten() {
                    let (kind, action) = [
                        ("Put", "dynamodb:PutItem"),
                        ("Update", "dynamodb:UpdateItem"),
                        ("Delete", "dynamodb:DeleteItem"),
                        ("ConditionCheck", "dynamodb:ConditionCheckItem"),
                    ]
                    .into_iter()
                    .find(|(k, _)| item.get(*k).is_some())
                    .ok_or("a transaction item of no known kind")?;
                    let part = &item[kind];
                    let key = if kind == "Put" { &part["Item"] } else { &part["Key"] };
                    out.push(request(
                        action,
                        table_arn(region, account, part["TableName"].as_str().unwrap_or_default()),
                        ctx(&[
                            (
                                "dynamodb:LeadingKeys",
                                json!([
                                    leading_keys(key).ok_or("a transaction item without a PK the IAM gate can read")?
                                ]),
                            ),
                            ("dynamodb:EnclosingOperation", json!("TransactWriteItems")),
                        ]),
                    ));
                }
                out
            }
            // BatchGetItem likewise: dynamodb:BatchGetItem on each table, over every key it reads.
            "BatchGetItem" => {
                let mut out = Vec::new();
                for (table, ask) in json["RequestItems"].as_object().into_iter().flatten() {
                    let keys: BTreeSet<String> = ask["Keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(leading_keys)
                        .collect();
                    out.push(request(
                        "dynamodb:BatchGetItem",
                        table_arn(region, account, table),
                        ctx(&[("dynamodb:LeadingKeys", json!(keys))]),
                    ));
                }
                out
            }
            // BatchWriteItem is authorized as dynamodb:BatchWriteItem on each table, over every
            // key it writes (service authorization reference: resource `table`, condition key
            // dynamodb:LeadingKeys).
            "BatchWriteItem" => {
                let mut out = Vec::new();
                for (table, writes) in json["RequestItems"].as_object().into_iter().flatten() {
                    let keys: BTreeSet<String> = writes
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|w| {
                            leading_keys(&w["PutRequest"]["Item"]).or_else(|| leading_keys(&w["DeleteRequest"]["Key"]))
                        })
                        .collect();
                    out.push(request(
                        "dynamodb:BatchWriteItem",
                        table_arn(region, account, table),
                        ctx(&[("dynamodb:LeadingKeys", json!(keys))]),
                    ));
                }
                out
            }
            _ => return unknown(),
        },
        // SendMessage is authorized on the queue its QueueUrl names
        // (https://sqs.<region>.amazonaws.com/<account>/<name>).
        "sqs" => match op {
            // SendMessageBatch is authorized as sqs:SendMessage (Amazon SQS API reference,
            // SendMessageBatch: "the permission for this action is sqs:SendMessage").
            "SendMessage" | "SendMessageBatch" => {
                let url = json["QueueUrl"].as_str().ok_or("a SendMessage without QueueUrl")?;
                let mut parts = url.trim_end_matches('/').rsplit('/');
                let (name, owner) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
                // moto makes the tests' queues in its default account, which stands for the
                // stack's own wherever a test puts the stack in another (`IAM_GATE_ACCOUNT`).
                let owner = if owner == ACCOUNT { account } else { owner };
                vec![request("sqs:SendMessage", arn("sqs", region, owner, name), none)]
            }
            _ => return unknown(),
        },
        "events" => match op {
            "PutEvents" => {
                let mut by_bus: HashMap<String, (BTreeSet<String>, BTreeSet<String>)> = HashMap::new();
                for e in json["Entries"].as_array().into_iter().flatten() {
                    let bus = e["EventBusName"].as_str().unwrap_or("default");
                    let bus = if bus.starts_with("arn:") {
                        bus.to_owned()
                    } else {
                        arn("events", region, account, &format!("event-bus/{bus}"))
                    };
                    let entry = by_bus.entry(bus).or_default();
                    entry.0.insert(e["Source"].as_str().unwrap_or_default().to_owned());
                    entry.1.insert(e["DetailType"].as_str().unwrap_or_default().to_owned());
                }
                by_bus
                    .into_iter()
                    .map(|(bus, (sources, types))| {
                        request(
                            "events:PutEvents",
                            bus,
                            ctx(&[("events:source", json!(sources)), ("events:detail-type", json!(types))]),
                        )
                    })
                    .collect()
            }
            _ => return unknown(),
        },
        "config" => match op {
            // No resource types in the service authorization reference: `*`.
            "BatchGetResourceConfig"
            | "SelectResourceConfig"
            | "GetResourceConfigHistory"
            | "PutEvaluations"
            | "SelectAggregateResourceConfig"
            | "BatchGetAggregateResourceConfig" => {
                vec![request(&format!("config:{op}"), "*".into(), none)]
            }
            // Without recorder names there is no recorder ARN to authorize against: `*`.
            "DescribeConfigurationRecorders"
                if json["ConfigurationRecorderNames"].as_array().is_none_or(Vec::is_empty) =>
            {
                vec![request("config:DescribeConfigurationRecorders", "*".into(), none)]
            }
            _ => return unknown(),
        },
        "ssm" => match op {
            "DescribeInstanceInformation" => vec![request("ssm:DescribeInstanceInformation", "*".into(), none)],
            _ => return unknown(),
        },
        "logs" => match op {
            "DescribeSubscriptionFilters" => {
                let group = json["logGroupName"].as_str().unwrap_or_default();
                vec![request(
                    "logs:DescribeSubscriptionFilters",
                    arn("logs", region, account, &format!("log-group:{group}")),
                    none,
                )]
            }
            _ => return unknown(),
        },
        "eks" => {
            // REST: GET /clusters/{name}[/access-entries | /node-groups[/{nodegroup}]]
            let parts: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
            let cluster = arn(
                "eks",
                region,
                account,
                &format!("cluster/{}", parts.get(1).cloned().unwrap_or_default()),
            );
            match parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                ["clusters", _] => vec![request("eks:DescribeCluster", cluster, none)],
                ["clusters", _, "access-entries"] => vec![request("eks:ListAccessEntries", cluster, none)],
                ["clusters", _, "node-groups"] => vec![request("eks:ListNodegroups", cluster, none)],
                ["clusters", c, "node-groups", ng] => vec![request(
                    "eks:DescribeNodegroup",
                    arn(
                        "eks",
                        region,
                        account,
                        &format!("nodegroup/{c}/{ng}/00000000-0000-0000-0000-000000000000"),
                    ),
                    none,
                )],
                _ => return unknown(),
            }
        }
        "securityhub" => match path.as_str() {
            // POST /findings/import: authorized on the product each finding names.
            "/findings/import" => {
                let products: BTreeSet<String> = json["Findings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["ProductArn"].as_str().map(str::to_owned))
                    .collect();
                products
                    .into_iter()
                    .map(|p| request("securityhub:BatchImportFindings", p, none.clone()))
                    .collect()
            }
            _ => return unknown(),
        },
        "organizations" => match op {
            // The account's ARN in the organization (its management account's).
            // No resource type in the service authorization reference: `*`.
            "ListAccounts" => vec![request("organizations:ListAccounts", "*".into(), none)],
            "DescribeAccount" => vec![request(
                "organizations:DescribeAccount",
                format!(
                    "arn:aws:organizations::{MANAGEMENT}:account/{ORGANIZATION}/{}",
                    json["AccountId"].as_str().unwrap_or_default()
                ),
                none,
            )],
            _ => return unknown(),
        },
        "secretsmanager" => match op {
            "GetSecretValue" => vec![request(
                "secretsmanager:GetSecretValue",
                json["SecretId"].as_str().unwrap_or_default().to_owned(),
                none,
            )],
            _ => return unknown(),
        },
        "sts" => {
            let form = String::from_utf8_lossy(body);
            let param = |name: &str| -> Option<String> {
                form.split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .map(percent_decode)
            };
            match param("Action").as_deref() {
                Some("AssumeRole") => {
                    let role = param("RoleArn").unwrap_or_default();
                    vec![request(
                        "sts:AssumeRole",
                        role.clone(),
                        // Every account of the tests' organization is a member of it.
                        ctx(&[("aws:ResourceOrgID", json!(ORGANIZATION))]),
                    )]
                }
                Some("GetCallerIdentity") => vec![], // needs no permission
                _ => return unknown(),
            }
        }
        _ => return unknown(),
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ------------------------------------------------------------------------------------------
// policies and the evaluator

fn root() -> PathBuf {
    crate::fixtures::root()
}

fn sam_python() -> PathBuf {
    let p = root().join(".ci/venv-sam/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `bash .ci/run` (it installs aws-sam-cli there)",
        p.display()
    );
    p
}

/// A template as CloudFormation after SAM's transform (`tests/sam_translate.py`, samtranslator
/// from the aws-sam-cli in `.ci/venv-sam`).
pub fn sam_translated(template: &str) -> Value {
    run_json(
        Command::new(sam_python())
            .arg(root().join("tests/sam_translate.py"))
            .arg(root().join(template)),
    )
}

fn run_json(c: &mut Command) -> Value {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        c.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `tests/iam/policies.py`'s output for a template, parameters and names (cached per process).
pub fn resolved(template: &str, params: &Value, names: &Value, account: &str) -> Arc<Value> {
    let key = format!("{template}|{params}|{names}|{account}");
    if let Some(v) = registry().lock().unwrap().policies.get(&key) {
        return v.clone();
    }
    let v = Arc::new(run_json(
        Command::new(sam_python())
            .arg(root().join("tests/iam/policies.py"))
            .arg(root().join(template))
            .args(["--params", &params.to_string(), "--names", &names.to_string()])
            .args(["--account", account, "--stack", STACK]),
    ));
    registry().lock().unwrap().policies.insert(key, v.clone());
    v
}

/// [`resolved`] with placeholders for the physical names a test chooses substituted (one
/// translation per parameter set rather than one per test table), cached per substitution: the
/// gate asks for a caller's policies on every call.
fn substituted(template: &str, params: &Value, names: &Value, account: &str, pairs: &[(&str, &str)]) -> Arc<Value> {
    let key = format!("{template}|{params}|{names}|{account}|{pairs:?}");
    if let Some(v) = registry().lock().unwrap().policies.get(&key) {
        return v.clone();
    }
    let mut text = resolved(template, params, names, account).to_string();
    for (from, to) in pairs {
        text = text.replace(from, to);
    }
    let v = Arc::new(serde_json::from_str::<Value>(&text).unwrap());
    registry().lock().unwrap().policies.insert(key, v.clone());
    v
}

fn policies_for_function(c: &Caller) -> Arc<Value> {
    let names = json!({"StateTable": "@@TABLE@@", "EventBus": "@@BUS@@",
        "ConfigRuleContinuationQueue": "@@QUEUE@@", "ReevaluatorContinuationQueue": "@@QUEUE@@"});
    // The function's continuation queue is the one its environment names (the other function's
    // queue in the template is then a name no test queue has).
    let queue = c
        .continuation_queue
        .as_deref()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or("no-continuation-queue");
    let (own, other) = if c.function == "config-rule" {
        ("ConfigRuleContinuationQueue", "ReevaluatorContinuationQueue")
    } else {
        ("ReevaluatorContinuationQueue", "ConfigRuleContinuationQueue")
    };
    let names = {
        let mut n = names;
        n[own] = json!("@@QUEUE@@");
        n[other] = json!(format!("other-{other}"));
        n
    };
    substituted(
        "template.yaml",
        &c.parameters(),
        &names,
        &c.account,
        &[("@@TABLE@@", &c.table), ("@@BUS@@", &c.bus), ("@@QUEUE@@", queue)],
    )
}

fn policies_for_member(account: &str, role: &str, via: &Caller) -> Arc<Value> {
    let params = json!({
        "CentralAccountId": via.account,
        "CentralRegion": via.region,
        "CentralRolePrefix": ROLE_PREFIX,
        "CentralEventBusName": via.bus,
        "MemberRoleName": role,
    });
    substituted(
        "member.yaml",
        &params,
        &json!({}),
        "@@ACCOUNT@@",
        &[("@@ACCOUNT@@", account)],
    )
}

struct Evaluator {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn evaluator() -> &'static Mutex<Evaluator> {
    static E: OnceLock<Mutex<Evaluator>> = OnceLock::new();
    E.get_or_init(|| {
        let dir = root().join("tests/iam");
        assert!(
            dir.join("node_modules/@cloud-copilot/iam-simulate").exists(),
            "the IAM evaluator is not installed: run `npm ci --prefix tests/iam` (or `bash .ci/run`)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("evaluate.mjs"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node tests/iam/evaluate.mjs");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Mutex::new(Evaluator {
            _child: child,
            stdin,
            stdout,
        })
    })
}

/// One request to the evaluator; its JSON answer.
pub fn ask(request: &Value) -> Value {
    let mut e = evaluator().lock().unwrap();
    writeln!(e.stdin, "{request}").unwrap();
    e.stdin.flush().unwrap();
    let mut line = String::new();
    e.stdout.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|_| panic!("the IAM evaluator answered {line:?}"))
}

/// The evaluator's decision for one simulation request (cached).
pub fn evaluate(request: &Value) -> String {
    let key = request.to_string();
    if let Some(d) = registry().lock().unwrap().decisions.get(&key) {
        return d.clone();
    }
    let answer = ask(request);
    let mut result = answer["result"].as_str().unwrap_or("Error").to_owned();
    if result == "Error" {
        result = format!("Error: {}", answer["detail"]);
    }
    registry().lock().unwrap().decisions.insert(key, result.clone());
    result
}

/// Actions among `actions` that the service authorization reference does not know.
pub fn unknown_actions(actions: &[String]) -> Vec<String> {
    let a = ask(&json!({"kind": "actions", "actions": actions}));
    a["unknown"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Where allowed calls are recorded for the grants test.
pub fn usage_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    target.join("iam-usage")
}

fn record_use(template: &str, role: &str, action: &str) {
    static SEEN: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    let line = json!({"template": template, "role": role, "action": action}).to_string();
    // The lock is held through the write: test threads share this process's file, and one
    // `write_all` of the whole line keeps appends from other processes whole too.
    let mut seen = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !seen.insert(line.clone()) {
        return;
    }
    let dir = usage_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{}.jsonl", std::process::id())))
    {
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}
