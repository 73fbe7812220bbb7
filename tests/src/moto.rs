//! One moto server per test process, on a free 127.0.0.1 port, started on first use. A watchdog
//! shell stops it when the test process exits. `MOTO_ENDPOINT` uses a server already running.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static ENDPOINT: OnceLock<String> = OnceLock::new();
/// The watchdog shell; kept (never dropped) so it is not reaped before the process exits.
static WATCHDOG: OnceLock<std::sync::Mutex<std::process::Child>> = OnceLock::new();

fn python() -> String {
    if let Ok(p) = std::env::var("MOTO_PYTHON") {
        return p;
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/venv/bin/python");
    if venv.exists() {
        return venv.display().to_string();
    }
    "python3".to_owned()
}

fn ready(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.")
}

/// The moto endpoint (`http://127.0.0.1:<port>`), starting the server if needed.
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| {
        if let Ok(e) = std::env::var("MOTO_ENDPOINT") {
            return crate::iam::front(&e);
        }
        let python = python();
        let check = Command::new(&python).args(["-c", "import moto.server, flask"]).output();
        assert!(
            check.as_ref().is_ok_and(|o| o.status.success()),
            "moto is not installed for {python}: run `{python} -m pip install 'moto[server]'` (or `bash .ci/run`), \
             or set MOTO_PYTHON / MOTO_ENDPOINT"
        );
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let launcher = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto_server.py");
        let script = format!(
            "MOTO_IAM_LOAD_MANAGED_POLICIES=true '{python}' '{}' 127.0.0.1 {port} >/dev/null 2>&1 & m=$!; \
             while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 0.5; done; kill $m 2>/dev/null",
            launcher.display(),
            parent = std::process::id()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .spawn()
            .expect("start moto");
        let _ = WATCHDOG.set(std::sync::Mutex::new(child));
        let start = Instant::now();
        while !ready(port) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto did not start on 127.0.0.1:{port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Every call reaches moto through the IAM gate: the functions' calls are authorized as
        // AWS would authorize them, the tests' own pass (crate::iam).
        crate::iam::front(&format!("http://127.0.0.1:{port}"))
    })
}

/// SDK configuration for moto: static test credentials, us-east-1, and the SDK's standard retry
/// (3 attempts) as in production: moto answers concurrent TransactWriteItems with occasional
/// HTML 500s, which the SDK retries like DynamoDB's own transient errors. (Calls moto does not
/// implement also answer 500; no test depends on one.)
pub fn sdk_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("testing", "testing", None, None, "static"),
        ))
        .endpoint_url(endpoint())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .build()
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// A new SQS queue on moto named after `prefix`; its URL.
pub async fn queue(prefix: &str) -> String {
    aws_sdk_sqs::Client::new(&sdk_config())
        .create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

/// A new event bus on moto; its name.
pub async fn event_bus() -> String {
    let bus = unique("bus");
    aws_sdk_eventbridge::Client::new(&sdk_config())
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    bus
}
