//! Running a function binary as Lambda would, against the local stand-ins.

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

/// Where the function's AWS calls and state go.
pub struct Target<'a> {
    /// The Runtime API (`host:port[/path]`, with or without `http://`).
    pub runtime_api: &'a str,
    /// The AWS Config stand-in.
    pub config_url: &'a str,
    /// The DynamoDB table.
    pub table: &'a str,
    /// The event bus.
    pub bus: &'a str,
    /// `SETTINGS_JSON`.
    pub settings_json: &'a str,
    /// Where SSM, EKS and CloudWatch Logs answer (the service-API facts), when the test serves
    /// them; otherwise an endpoint that denies them, so the facts stay unknown.
    pub facts_url: Option<&'a str>,
}

/// The debug build of a function binary, built first if it is not there. `cargo build
/// --workspace --all-targets` (what CI runs first) builds them all with the tests' features.
/// `FUNCTION_BIN_DIR` runs other builds instead (e.g. an earlier commit's, to measure a change).
pub async fn function_binary(name: &str) -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("FUNCTION_BIN_DIR") {
        return std::path::PathBuf::from(dir).join(name);
    }
    let root = crate::fixtures::root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), std::path::PathBuf::from);
    let bin = target.join("debug").join(name);
    if !bin.exists() {
        let ok = Command::new(env!("CARGO"))
            .args(["build", "-p", name, "--bin", name])
            .current_dir(&root)
            .status()
            .await
            .unwrap();
        assert!(ok.success(), "building {name} failed");
    }
    bin
}

/// A command running `bin` with the Lambda and function environment, DynamoDB and EventBridge on
/// moto, output discarded and killed on drop.
///
/// The function signs with an access key of its own, and reaches the Config stand-in and the
/// facts endpoints through the IAM gate (moto is always behind it): start it with [`spawn`], which
/// registers what it was started with, and every call it makes is authorized against its role in
/// the template as AWS would (`crate::iam`).
pub fn command(bin: &Path, t: &Target<'_>) -> Command {
    let mut c = Command::new(bin);
    lambda_env(&mut c, t);
    let facts: &str = match t.facts_url {
        Some(url) => url,
        None => crate::denied::endpoint(),
    };
    let facts = crate::iam::front(facts);
    c.env("AWS_ACCESS_KEY_ID", crate::iam::function_key())
        .env("AWS_ENDPOINT_URL_CONFIG_SERVICE", crate::iam::front(t.config_url))
        .env("AWS_ENDPOINT_URL_SSM", &facts)
        .env("AWS_ENDPOINT_URL_EKS", &facts)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &facts);
    c
}

/// Starts a function [`command`] built, registering its access key with the IAM gate as the
/// deployment its environment describes (function, table, bus, `MEMBER_ROLE_NAME`,
/// `AZURE_CREDENTIALS_SECRET_ARN`, region, and the test-only `IAM_GATE_ACCOUNT`: the account the
/// stack runs in, where not moto's default).
pub fn spawn(c: &mut Command) -> tokio::process::Child {
    let function = Path::new(c.as_std().get_program())
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    spawn_as(c, &function)
}

/// [`spawn`] for a program not named after its function (a built `bootstrap`).
pub fn spawn_as(c: &mut Command, function: &str) -> tokio::process::Child {
    let function = function.to_owned();
    let std = c.as_std();
    let env = |name: &str| -> Option<String> {
        std.get_envs()
            .filter(|(k, _)| *k == name)
            .last()
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
            .filter(|v| !v.is_empty())
    };
    let key = env("AWS_ACCESS_KEY_ID").unwrap_or_default();
    crate::iam::register(
        &key,
        crate::iam::Caller {
            function,
            table: env("TABLE_NAME").unwrap_or_default(),
            bus: env("EVENT_BUS_NAME").unwrap_or_default(),
            member_role: env("MEMBER_ROLE_NAME"),
            azure_secret: env("AZURE_CREDENTIALS_SECRET_ARN"),
            region: env("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
            continuation_queue: env("CONTINUATION_QUEUE_URL"),
            account: env("IAM_GATE_ACCOUNT").unwrap_or_else(|| crate::iam::ACCOUNT.to_owned()),
        },
    );
    c.spawn().unwrap()
}

/// A command running a Python handler (`module.function` in `dir`) as Lambda's Python runtime
/// does, through the Runtime Interface Client (`python -m awslambdaric`), with the same
/// environment as [`command`].
pub fn python_command(python: &Path, dir: &Path, handler: &str, t: &Target<'_>) -> Command {
    let mut c = Command::new(python);
    c.args(["-m", "awslambdaric", handler])
        .current_dir(dir)
        .env("LAMBDA_TASK_ROOT", dir)
        .env("PYTHONPATH", dir)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    lambda_env(&mut c, t);
    // awslambdaric takes `host:port` only (it adds the scheme itself).
    c.env("AWS_LAMBDA_RUNTIME_API", t.runtime_api.trim_start_matches("http://"));
    c
}

fn lambda_env(c: &mut Command, t: &Target<'_>) {
    // Every service the function calls answers on 127.0.0.1: moto, the Config stand-in, the
    // test's own facts server, or an endpoint that denies the calls.
    let facts: &str = match t.facts_url {
        Some(url) => url,
        None => crate::denied::endpoint(),
    };
    c.env("AWS_ENDPOINT_URL", crate::moto::endpoint())
        .env("AWS_ENDPOINT_URL_SSM", facts)
        .env("AWS_ENDPOINT_URL_EKS", facts)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", facts);
    c.env("AWS_LAMBDA_RUNTIME_API", t.runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_DYNAMODB", crate::moto::endpoint())
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", crate::moto::endpoint())
        .env("AWS_ENDPOINT_URL_CONFIG_SERVICE", t.config_url)
        .env("TABLE_NAME", t.table)
        .env("EVENT_BUS_NAME", t.bus)
        .env("SETTINGS_JSON", t.settings_json)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
}

/// Peak resident set size of a running process (`VmHWM`), in KiB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time a running process has used so far (user + system), from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // In clock ticks of USER_HZ, which Linux fixes at 100 for user space.
    Some(std::time::Duration::from_millis(ticks * 10))
}
