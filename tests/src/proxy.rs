//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 in front of an AWS-compatible server (moto or
//! a stub). For each request the test's plan decides: forward it, answer with an error instead,
//! forward it and then answer with an error anyway (the write happened, the caller cannot know),
//! or forward it and never answer (the caller dies waiting), so tests can show that throttling,
//! 5xx, lost replies and a function killed mid-batch leave exactly the state a clean run leaves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What to do with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward it and relay the answer.
    Forward,
    /// Do not forward; answer this status and JSON body.
    Respond(u16, String),
    /// Forward it (the server acts on it), then answer this status and body instead.
    ForwardThenRespond(u16, String),
    /// Forward it, then never answer.
    ForwardThenHang,
    /// Do not forward; never answer.
    Hang,
    /// Wait, then forward it and relay the answer (a slow call).
    DelayThenForward(std::time::Duration),
}

impl Fault {
    /// An AWS JSON error answer (`__type`, `message`).
    pub fn error(status: u16, kind: &str) -> Self {
        Self::Respond(
            status,
            serde_json::json!({"__type": kind, "message": "injected"}).to_string(),
        )
    }
}

/// One request as the plan sees it.
#[derive(Debug)]
pub struct Seen<'a> {
    /// `X-Amz-Target`, e.g. `DynamoDB_20120810.TransactWriteItems`.
    pub target: &'a str,
    /// The JSON body (Null if not JSON).
    pub body: &'a Value,
    /// How many requests with this target came before this one.
    pub nth: usize,
    /// The body as text (form-encoded query-protocol calls, such as STS, are not JSON).
    pub raw: &'a str,
}

type Plan = dyn Fn(&Seen<'_>) -> Fault + Send + Sync;

/// The running proxy.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: point the SDK here.
    pub url: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Sends one request upstream on a fresh connection and returns the raw answer, with its
/// `Connection` header removed so the client's connection stays usable.
pub async fn forward(upstream: &str, head: &[String], body: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(upstream).await.ok()?;
    let _ = s.set_nodelay(true);
    let mut req = String::new();
    for l in head {
        let name = l.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("connection") {
            continue;
        }
        req.push_str(l);
        req.push_str("\r\n");
    }
    req.push_str("Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    s.write_all(body).await.ok()?;
    // Read the head, then exactly Content-Length bytes (a server may keep the connection open).
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let split = loop {
        if let Some(p) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        out.extend_from_slice(&buf[..n]);
    };
    let declared = String::from_utf8_lossy(&out[..split]).split("\r\n").find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    match declared {
        Some(len) => {
            while out.len() < split + 4 + len {
                let n = s.read(&mut buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                out.extend_from_slice(&buf[..n]);
            }
            out.truncate(split + 4 + len);
        }
        None => {
            s.read_to_end(&mut out).await.ok()?;
        }
    }
    let (head, rest) = out.split_at(split);
    let head = String::from_utf8_lossy(head);
    let mut fixed = String::new();
    let mut has_len = false;
    for l in head.split("\r\n") {
        let name = l.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        if name == "connection" || name == "transfer-encoding" {
            continue;
        }
        has_len |= name == "content-length";
        fixed.push_str(l);
        fixed.push_str("\r\n");
    }
    let payload = &rest[4..];
    if !has_len {
        fixed.push_str(&format!("Content-Length: {}\r\n", payload.len()));
    }
    fixed.push_str("\r\n");
    let mut answer = fixed.into_bytes();
    answer.extend_from_slice(payload);
    Some(answer)
}

fn error_answer(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nx-amzn-RequestId: proxy\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str, plan: impl Fn(&Seen<'_>) -> Fault + Send + Sync + 'static) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let plan: Arc<Plan> = Arc::new(plan);
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let seen = counts.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let (plan, counts, upstream) = (plan.clone(), seen.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = sock.set_nodelay(true);
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    while let Some(crate::http::Request { head, body }) = crate::http::read_request(&mut r).await {
                        let target = head
                            .iter()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.trim()
                                    .eq_ignore_ascii_case("x-amz-target")
                                    .then(|| v.trim().to_owned())
                            })
                            .unwrap_or_default();
                        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let nth = {
                            let mut c = counts.lock().unwrap();
                            let n = c.entry(target.clone()).or_insert(0);
                            *n += 1;
                            *n - 1
                        };
                        let raw = String::from_utf8_lossy(&body);
                        let fault = plan(&Seen {
                            target: &target,
                            body: &json,
                            nth,
                            raw: &raw,
                        });
                        let answer = match fault {
                            Fault::Forward => forward(&upstream, &head, &body).await,
                            Fault::Respond(status, b) => Some(error_answer(status, &b)),
                            Fault::ForwardThenRespond(status, b) => {
                                forward(&upstream, &head, &body).await;
                                Some(error_answer(status, &b))
                            }
                            Fault::ForwardThenHang => {
                                forward(&upstream, &head, &body).await;
                                std::future::pending::<()>().await;
                                None
                            }
                            Fault::Hang => {
                                std::future::pending::<()>().await;
                                None
                            }
                            Fault::DelayThenForward(d) => {
                                tokio::time::sleep(d).await;
                                forward(&upstream, &head, &body).await
                            }
                        };
                        let Some(answer) = answer else { return };
                        if w.write_all(&answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { url, counts, task }
    }

    /// Requests seen so far for targets ending with `operation`.
    pub fn count(&self, operation: &str) -> usize {
        self.counts
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t.ends_with(operation))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
