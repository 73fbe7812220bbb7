//! Reads a table's DynamoDB stream from moto and turns the records into the event Lambda's
//! DynamoDB event source mapping delivers (`{"Records": [...]}`), so the rollup handler is
//! driven by the table's real stream. The Streams API is called in its own JSON protocol over
//! plain HTTP: its records are already in the wire shape Lambda forwards.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::{json, Value};

/// One `DynamoDBStreams_20120810.<action>` call to moto.
pub fn call(action: &str, body: &Value) -> Value {
    let url = crate::moto::endpoint();
    let host = url.trim_start_matches("http://");
    let body = body.to_string();
    let mut s = TcpStream::connect(host).expect("connect to moto");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: DynamoDBStreams_20120810.{action}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let text = String::from_utf8_lossy(&out);
    let (head, payload) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{action}: {head}\n{payload}"
    );
    serde_json::from_str(payload).unwrap_or_else(|e| panic!("{action}: {e}: {payload}"))
}

/// A reader positioned after the records it has returned.
pub struct StreamReader {
    arn: String,
    iterators: BTreeMap<String, String>,
}

impl StreamReader {
    /// Starts at the stream's beginning (`TRIM_HORIZON`).
    pub fn open(stream_arn: &str) -> Self {
        let d = call("DescribeStream", &json!({ "StreamArn": stream_arn }));
        let mut iterators = BTreeMap::new();
        for shard in d["StreamDescription"]["Shards"].as_array().cloned().unwrap_or_default() {
            let id = shard["ShardId"].as_str().unwrap().to_owned();
            let it = call(
                "GetShardIterator",
                &json!({ "StreamArn": stream_arn, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON" }),
            );
            iterators.insert(id, it["ShardIterator"].as_str().unwrap().to_owned());
        }
        Self {
            arn: stream_arn.to_owned(),
            iterators,
        }
    }

    /// Every record written since the last call, as one Lambda DynamoDB event.
    pub fn next_event(&mut self) -> Value {
        let mut records = Vec::new();
        for it in self.iterators.values_mut() {
            loop {
                let r = call("GetRecords", &json!({ "ShardIterator": it, "Limit": 1000 }));
                let got = r["Records"].as_array().cloned().unwrap_or_default();
                if let Some(next) = r["NextShardIterator"].as_str() {
                    *it = next.to_owned();
                }
                if got.is_empty() {
                    break;
                }
                for mut rec in got {
                    rec["eventSourceARN"] = json!(self.arn);
                    records.push(rec);
                }
            }
        }
        json!({ "Records": records })
    }
}
