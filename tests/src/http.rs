//! The one HTTP/1.1 request reader the loopback servers share (stub, proxy, Runtime API):
//! request line and headers, then a `Content-Length` body. Enough for the SDKs and runtime
//! clients that talk to them; not a general HTTP server.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;

/// One request: its head (request line first, then header lines, without line ends) and body.
pub struct Request {
    /// Request line and header lines.
    pub head: Vec<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The method and path of the request line.
    pub fn method_and_path(&self) -> (&str, &str) {
        let mut parts = self.head.first().map_or("", String::as_str).split_whitespace();
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    }

    /// A header's value (first match, case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads the next request of a connection; `None` when the client closed it (or sent garbage).
pub async fn read_request(r: &mut BufReader<OwnedReadHalf>) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let l = line.trim_end().to_owned();
        if l.is_empty() {
            if head.is_empty() {
                continue; // stray blank lines between requests
            }
            break;
        }
        head.push(l);
    }
    let mut request = Request { head, body: Vec::new() };
    let len = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0usize);
    request.body = vec![0; len];
    r.read_exact(&mut request.body).await.ok()?;
    Some(request)
}
