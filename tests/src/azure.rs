//! The loopback stand-in for the Azure side (`tests/azure_standin.py`: the Entra token endpoint,
//! Azure Resource Manager and Microsoft Graph over HTTPS, answering `tests/azure/scenario.json`),
//! one per test, stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The scenario's subscription with the AWS connectors.
pub const SUB1: &str = "a5caac9c-5c04-49af-b3d0-e204f40345d5";
/// The scenario's subscription that answers 403.
pub const SUB2: &str = "a1efb6ca-fbc5-4782-9aaa-5c7daded1ce2";
/// The object id the stand-in's tokens carry.
pub const OID: &str = "ce2ce14e-85d7-4629-bdbc-454d0519d987";
/// The tenant and the client secret the token endpoint accepts.
pub const TENANT: &str = "e81b978c-11be-449f-a392-42c0ed96bb91";
/// The client secret the token endpoint accepts.
pub const SECRET: &str = "stand-in-secret";

fn python() -> String {
    let venv = crate::fixtures::root().join(".ci/venv/bin/python");
    if venv.exists() {
        venv.display().to_string()
    } else {
        "python3".to_owned()
    }
}

/// A running stand-in.
pub struct StandIn {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Where its certificate (`ca.pem`) and request log are.
    pub dir: PathBuf,
}

impl StandIn {
    /// Starts one writing into `dir`.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &crate::fixtures::root().join("tests/azure/scenario.json"))
    }

    /// Starts one answering `scenario` (a variant of `tests/azure/scenario.json`).
    pub fn start_with(dir: &Path, scenario: &Path) -> Self {
        let root = crate::fixtures::root();
        let mut child = Command::new(python())
            .arg(root.join("tests/azure_standin.py"))
            .arg(scenario)
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Azure stand-in (python3 with the `cryptography` package; bash .ci/run installs it)");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the stand-in did not start: {line:?}"));
        Self {
            child,
            port,
            dir: dir.to_owned(),
        }
    }

    /// `https://127.0.0.1:<port>`: the authority host and Resource Manager (Graph under `/graph`).
    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The certificate to trust (`SSL_CERT_FILE`).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The `[azure]` endpoints pointing at it, as settings JSON.
    pub fn settings(&self) -> Value {
        serde_json::json!({"authority_host": self.base(), "resource_manager": self.base(), "graph": format!("{}/graph", self.base())})
    }

    /// Every request it answered so far.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
