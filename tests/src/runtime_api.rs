//! A minimal Lambda Runtime API on 127.0.0.1 for running a function binary under test: it hands
//! out queued events on `/next` and records responses and errors with timestamps.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex as AsyncMutex};

/// What the function answered for one event.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Request id.
    pub id: String,
    /// Whether it was `/response` (true) or `/error`.
    pub ok: bool,
    /// The body.
    pub body: String,
    /// When the event was handed out on `/next`.
    pub sent: Instant,
    /// When the answer arrived.
    pub answered: Instant,
}

/// The server.
pub struct RuntimeApi {
    /// `127.0.0.1:<port>` (the value of `AWS_LAMBDA_RUNTIME_API`).
    pub address: String,
    events: mpsc::UnboundedSender<(String, Option<u64>)>,
    outcomes: Arc<AsyncMutex<mpsc::UnboundedReceiver<Outcome>>>,
    first_next: Arc<Mutex<Option<Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts the server.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (events, rx) = mpsc::unbounded_channel::<(String, Option<u64>)>();
        let rx = Arc::new(AsyncMutex::new(rx));
        let (out_tx, out_rx) = mpsc::unbounded_channel::<Outcome>();
        let first_next = Arc::new(Mutex::new(None));
        let sent_at: Arc<Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
        let (fnx, counter) = (first_next.clone(), Arc::new(Mutex::new(0u64)));
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let (rx, out_tx, fnx, sent_at, counter) = (
                    rx.clone(),
                    out_tx.clone(),
                    fnx.clone(),
                    sent_at.clone(),
                    counter.clone(),
                );
                tokio::spawn(async move {
                    let _ = sock.set_nodelay(true);
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    while let Some(request) = crate::http::read_request(&mut r).await {
                        let (method, path) = request.method_and_path();
                        let (method, path) = (method.to_owned(), path.to_owned());
                        let body = request.body;
                        let reply = if method == "GET" && path.ends_with("/runtime/invocation/next") {
                            fnx.lock().unwrap().get_or_insert_with(Instant::now);
                            let Some((event, deadline)) = rx.lock().await.recv().await else {
                                return;
                            };
                            let deadline = deadline.unwrap_or(9_999_999_999_999);
                            let id = {
                                let mut c = counter.lock().unwrap();
                                *c += 1;
                                format!("req-{c}")
                            };
                            sent_at.lock().unwrap().insert(id.clone(), Instant::now());
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                                 Lambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: \
                                 arn:aws:lambda:us-east-1:111122223333:function:under-test\r\nLambda-Runtime-Trace-Id: \
                                 Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n{event}",
                                event.len()
                            )
                        } else if method == "POST" && (path.ends_with("/response") || path.ends_with("/error")) {
                            let id = path.split('/').rev().nth(1).unwrap_or_default().to_owned();
                            let sent = sent_at.lock().unwrap().remove(&id).unwrap_or_else(Instant::now);
                            let _ = out_tx.send(Outcome {
                                ok: path.ends_with("/response"),
                                body: String::from_utf8_lossy(&body).into_owned(),
                                id,
                                sent,
                                answered: Instant::now(),
                            });
                            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_owned()
                        } else {
                            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_owned()
                        };
                        if w.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            address,
            events,
            outcomes: Arc::new(AsyncMutex::new(out_rx)),
            first_next,
            task,
        }
    }

    /// Queues an event for the function.
    pub fn send(&self, event: String) {
        let _ = self.events.send((event, None));
    }

    /// Queues an event whose invocation has `timeout` from now (its `Lambda-Runtime-Deadline-Ms`),
    /// as a function with that Timeout is handed it. Returns the deadline.
    pub fn send_with_timeout(&self, event: String, timeout: std::time::Duration) -> Instant {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let deadline = u64::try_from(now_ms + timeout.as_millis()).unwrap_or(u64::MAX);
        let _ = self.events.send((event, Some(deadline)));
        Instant::now() + timeout
    }

    /// The next answer from the function.
    pub async fn outcome(&self) -> Option<Outcome> {
        self.outcomes.lock().await.recv().await
    }

    /// When the function first asked for an event.
    pub fn first_next(&self) -> Option<Instant> {
        *self.first_next.lock().unwrap()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}
