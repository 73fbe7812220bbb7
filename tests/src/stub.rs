//! A minimal HTTP/1.1 server on 127.0.0.1 that speaks the AWS JSON 1.1 protocol well enough for
//! the SDK (and REST-JSON, such as EKS, by method and path): it records each request's
//! `X-Amz-Target` (or `METHOD /path`) and JSON body, and answers with whatever
//! the test's handler returns. Used where moto has no implementation (Config's PutEvaluations,
//! SelectResourceConfig) and to inject faults (PutEvents partial failures).

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The operation, e.g. `StarlingDoveService.PutEvaluations`.
    pub target: String,
    /// The JSON body.
    pub body: Value,
    /// The region the request was signed for (SigV4 credential scope), if signed.
    pub region: Option<String>,
    /// The access key the request was signed with, if signed.
    pub access_key: Option<String>,
}

/// Who signed a request: the SigV4 credential scope's access key and region.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    /// The region the request was signed for.
    pub region: Option<&'a str>,
    /// The access key id.
    pub access_key: Option<&'a str>,
}

type Handler = dyn Fn(&str, &Value, Signer<'_>) -> (u16, String) + Send + Sync;

/// The running stub.
pub struct Stub {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Stub {
    /// Starts the stub; `handler(target, body)` returns the status and JSON body to send.
    pub async fn start(handler: impl Fn(&str, &Value) -> (u16, String) + Send + Sync + 'static) -> Self {
        Self::start_signed(move |target, body, _| handler(target, body)).await
    }

    /// [`Self::start`] with a handler that also gets the region the request was signed for.
    pub async fn start_signed(
        handler: impl Fn(&str, &Value, Option<&str>) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        Self::start_signer(move |target, body, signer| handler(target, body, signer.region)).await
    }

    /// [`Self::start`] with a handler that also gets who signed the request.
    pub async fn start_signer(
        handler: impl Fn(&str, &Value, Signer<'_>) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let (handler, recorded) = (handler.clone(), recorded.clone());
                tokio::spawn(async move {
                    // Without it, head and body in separate segments meet delayed ACKs: ~40 ms a call.
                    let _ = sock.set_nodelay(true);
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    while let Some(request) = crate::http::read_request(&mut r).await {
                        // JSON protocols name the operation in X-Amz-Target; REST ones (EKS) by
                        // method and path, which stand in for it.
                        let target = match request.header("x-amz-target") {
                            Some(t) => t.to_owned(),
                            None => {
                                let (method, path) = request.method_and_path();
                                format!("{method} {path}")
                            }
                        };
                        // `Credential=<key>/<date>/<region>/<service>/aws4_request`.
                        let scope: Vec<String> = request
                            .header("authorization")
                            .and_then(|a| a.split("Credential=").nth(1))
                            .map(|c| {
                                c.split(',')
                                    .next()
                                    .unwrap_or_default()
                                    .split('/')
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default();
                        let (access_key, region) = (scope.first().cloned(), scope.get(2).cloned());
                        let body = request.body;
                        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let signer = Signer {
                            region: region.as_deref(),
                            access_key: access_key.as_deref(),
                        };
                        let (status, reply) = handler(&target, &body, signer);
                        recorded.lock().unwrap().push(Request {
                            target,
                            body,
                            region,
                            access_key,
                        });
                        let head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nx-amzn-RequestId: stub\r\n\r\n",
                            reply.len()
                        );
                        if w.write_all(format!("{head}{reply}").as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { url, requests, task }
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests for one operation (suffix of the target, e.g. `PutEvaluations`).
    pub fn calls(&self, operation: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.target.ends_with(operation))
            .map(|r| r.body)
            .collect()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}
