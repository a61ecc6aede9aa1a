//! The record of every exchange a cycle had with the target, and its HAR 1.2 export.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The value written instead of a secret header.
pub const REDACTED: &str = "<redacted>";

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// When the request was sent.
    pub started: DateTime<Utc>,
    /// The method.
    pub method: String,
    /// The full URL, query included.
    pub url: String,
    /// Request headers, secrets redacted.
    pub request_headers: Vec<(String, String)>,
    /// The request body.
    pub request_body: Option<String>,
    /// The answer's status; `None` when no answer came (connection refused, timeout).
    pub status: Option<u16>,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// The response body.
    pub response_body: String,
    /// Milliseconds from sending to the end of the answer.
    pub duration_ms: f64,
    /// Why there was no answer.
    pub error: Option<String>,
}

/// The exchanges of a run, shared by the concurrent requests of a cycle.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl Transcript {
    /// Appends an exchange.
    pub fn record(&self, exchange: Exchange) {
        if let Ok(mut exchanges) = self.exchanges.lock() {
            exchanges.push(exchange);
        }
    }

    /// The exchanges so far, in the order they ended.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges
            .lock()
            .map(|exchanges| exchanges.clone())
            .unwrap_or_default()
    }

    /// The exchanges as a HAR 1.2 document (http://www.softwareishard.com/blog/har-12-spec/).
    pub fn to_har(&self, creator_version: &str) -> Value {
        let entries: Vec<Value> = self.exchanges().iter().map(har_entry).collect();
        json!({
            "log": {
                "version": "1.2",
                "creator": { "name": "idpsim", "version": creator_version },
                "entries": entries,
            }
        })
    }
}

/// Whether a header carries a secret (its value is never written down).
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization" || name == "cookie" || name == "set-cookie" || name.contains("token")
}

/// A body with the value of every `password` member (any case, any depth; RFC 7643 §4.1.1)
/// replaced by [`REDACTED`]; a body that is not JSON, or has no password, is returned as it is.
pub fn redact_body(body: &str) -> String {
    fn redact(value: &mut Value) -> bool {
        match value {
            Value::Object(map) => {
                let mut changed = false;
                for (key, member) in map.iter_mut() {
                    if key.eq_ignore_ascii_case("password") {
                        *member = Value::String(REDACTED.to_owned());
                        changed = true;
                    } else {
                        changed |= redact(member);
                    }
                }
                changed
            }
            Value::Array(items) => {
                let mut changed = false;
                for item in items {
                    changed |= redact(item);
                }
                changed
            }
            _ => false,
        }
    }
    if !body.to_ascii_lowercase().contains("password") {
        return body.to_owned();
    }
    let Ok(mut json) = serde_json::from_str::<Value>(body) else {
        return body.to_owned();
    };
    if redact(&mut json) {
        json.to_string()
    } else {
        body.to_owned()
    }
}

fn har_entry(exchange: &Exchange) -> Value {
    let headers = |pairs: &[(String, String)]| -> Vec<Value> {
        pairs
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect()
    };
    let query: Vec<Value> = reqwest::Url::parse(&exchange.url)
        .map(|url| {
            url.query_pairs()
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect()
        })
        .unwrap_or_default();
    let content_type = |pairs: &[(String, String)]| {
        pairs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let mut request = json!({
        "method": exchange.method,
        "url": exchange.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers(&exchange.request_headers),
        "queryString": query,
        "headersSize": -1,
        "bodySize": exchange.request_body.as_ref().map_or(0, String::len),
    });
    if let (Some(body), Some(request)) = (&exchange.request_body, request.as_object_mut()) {
        request.insert(
            "postData".into(),
            json!({ "mimeType": content_type(&exchange.request_headers), "text": redact_body(body) }),
        );
    }
    let mut entry = json!({
        "startedDateTime": exchange.started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "time": exchange.duration_ms,
        "request": request,
        "response": {
            "status": exchange.status.unwrap_or(0),
            "statusText": exchange.status
                .and_then(|status| reqwest::StatusCode::from_u16(status).ok())
                .and_then(|status| status.canonical_reason())
                .unwrap_or(""),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": headers(&exchange.response_headers),
            "content": {
                "size": exchange.response_body.len(),
                "mimeType": content_type(&exchange.response_headers),
                "text": redact_body(&exchange.response_body),
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": exchange.response_body.len(),
        },
        "cache": {},
        "timings": { "send": 0, "wait": exchange.duration_ms, "receive": 0 },
    });
    if let (Some(error), Some(entry)) = (&exchange.error, entry.as_object_mut()) {
        entry.insert("comment".into(), Value::String(error.clone()));
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_at_any_depth_and_other_bodies_are_kept() {
        let body =
            r#"{"userName":"ada","PassWord":"s3cret","Operations":[{"value":{"password":"x"}}]}"#;
        let redacted: Value = serde_json::from_str(&redact_body(body)).unwrap();
        assert_eq!(redacted["PassWord"], REDACTED);
        assert_eq!(redacted["Operations"][0]["value"]["password"], REDACTED);
        assert_eq!(redacted["userName"], "ada");
        assert_eq!(
            redact_body(r#"{"userName":"ada"}"#),
            r#"{"userName":"ada"}"#
        );
        assert_eq!(redact_body("password=plain text"), "password=plain text");
    }

    #[test]
    fn the_har_carries_no_password() {
        let transcript = Transcript::default();
        transcript.record(Exchange {
            started: Utc::now(),
            method: "POST".into(),
            url: "http://127.0.0.1:1/scim/v2/Users".into(),
            request_headers: vec![("content-type".into(), "application/scim+json".into())],
            request_body: Some(r#"{"userName":"ada","password":"s3cret"}"#.into()),
            status: Some(201),
            response_headers: Vec::new(),
            response_body: r#"{"id":"1","userName":"ada"}"#.into(),
            duration_ms: 1.0,
            error: None,
        });
        let har = transcript.to_har("test").to_string();
        assert!(!har.contains("s3cret"), "{har}");
        assert!(har.contains(REDACTED));
    }
}
