//! The HTTP side of provisioning: sends a persona's requests with its headers, honours
//! `Retry-After` and retries as its rate-limit knobs say, and records every exchange.

use super::request::ScimRequest;
use super::transcript::{Exchange, REDACTED, Transcript, is_secret_header};
use crate::bounded::{BoundedReadError, read_at_most};
use crate::persona::Persona;
use crate::persona::QueryEncoding;
use futures::future::BoxFuture;
use idpsim_scim::uri::encode_component;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Waits between retries. The CLI sleeps for real; scenarios and tests record the wait and
/// go on, so Okta's five-minute backoff costs them nothing.
pub trait Pause: Send + Sync + std::fmt::Debug {
    /// Waits `wait`.
    fn pause(&self, wait: Duration) -> BoxFuture<'static, ()>;
}

/// Sleeps for real.
#[derive(Debug, Default, Clone, Copy)]
pub struct SleepingPause;

impl Pause for SleepingPause {
    fn pause(&self, wait: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(wait))
    }
}

/// Records each wait and returns at once (simulated time).
#[derive(Debug, Default, Clone)]
pub struct SimulatedPause {
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl SimulatedPause {
    /// The waits asked for so far.
    pub fn waits(&self) -> Vec<Duration> {
        self.waits
            .lock()
            .map(|waits| waits.clone())
            .unwrap_or_default()
    }
}

impl Pause for SimulatedPause {
    fn pause(&self, wait: Duration) -> BoxFuture<'static, ()> {
        if let Ok(mut waits) = self.waits.lock() {
            waits.push(wait);
        }
        Box::pin(std::future::ready(()))
    }
}

/// A SCIM endpoint as the persona talks to it.
#[derive(Debug, Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
    headers: Vec<(String, String)>,
    content_type: String,
    query_encoding: QueryEncoding,
    rate_limit: crate::persona::RateLimitPolicy,
    server_error_retries: u32,
    pause: Arc<dyn Pause>,
    transcript: Option<Transcript>,
}

/// The answer to a request, after retries.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResponse {
    /// The final status.
    pub status: u16,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
    /// The body as text.
    pub text: String,
    /// Time spent waiting before retries.
    pub waited: Duration,
}

impl ScimResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The SCIM error `detail`, or the start of the body.
    pub fn detail(&self) -> String {
        self.json
            .as_ref()
            .and_then(|json| json.get("detail"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| self.text.chars().take(200).collect())
    }
}

/// No answer came, or none that could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {url}: {message}")]
pub struct Unreachable {
    /// The method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// What failed (connection refused, timeout, TLS, a body that cannot be decoded).
    pub message: String,
}

impl ScimClient {
    /// A client for `base_url` (e.g. `https://app.example/scim/v2`) with `token`, speaking as
    /// `persona`; `transcript` records the exchanges when given.
    pub fn new(
        persona: &Persona,
        base_url: &str,
        token: &str,
        pause: Arc<dyn Pause>,
        transcript: Option<Transcript>,
    ) -> Result<ScimClient, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| error.to_string())?;
        let scim = &persona.scim;
        let mut headers = vec![("User-Agent".to_owned(), scim.user_agent.value.clone())];
        if let Some(extra) = &scim.headers {
            headers.extend(
                extra
                    .value
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone())),
            );
        }
        Ok(ScimClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            headers,
            content_type: scim.content_type.value.clone(),
            query_encoding: scim
                .query_encoding
                .as_ref()
                .map_or_else(QueryEncoding::default, |knob| knob.value),
            rate_limit: scim.rate_limit.value.clone(),
            server_error_retries: scim.server_error_retries.value,
            pause,
            transcript,
        })
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `request`; 429 and 5xx answers are retried as the persona does (personas.md
    /// §2.1 "Rate limiting and retries" for Okta), and the last answer is returned.
    pub async fn send(&self, request: &ScimRequest) -> Result<ScimResponse, Unreachable> {
        let mut waited = Duration::ZERO;
        let mut rate_limited = 0u32;
        let mut server_errors = 0u32;
        loop {
            let (status, retry_after, text) = self.send_once(request).await?;
            let wait = if status == 429 && rate_limited + 1 < self.rate_limit.max_attempts {
                rate_limited += 1;
                Some(self.rate_limit_wait(retry_after.as_deref(), rate_limited))
            } else if status >= 500 && server_errors < self.server_error_retries {
                server_errors += 1;
                Some(Duration::from_secs(u64::from(server_errors)))
            } else {
                None
            };
            match wait {
                Some(wait) => {
                    waited += wait;
                    self.pause.pause(wait).await;
                }
                None => {
                    return Ok(ScimResponse {
                        status,
                        json: serde_json::from_str(&text).ok(),
                        text,
                        waited,
                    });
                }
            }
        }
    }

    /// The wait before retry `attempt` after a 429: an integer `Retry-After` when honoured,
    /// else the default, doubled per further attempt when the persona doubles.
    fn rate_limit_wait(&self, retry_after: Option<&str>, attempt: u32) -> Duration {
        let policy = &self.rate_limit;
        let base = retry_after
            .filter(|_| policy.honours_retry_after)
            .and_then(|value| value.trim().parse::<u64>().ok())
            .unwrap_or(policy.default_wait_seconds);
        let factor = if policy.doubles {
            1u64.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u64::MAX)
        } else {
            1
        };
        Duration::from_secs(base.saturating_mul(factor))
    }

    async fn send_once(
        &self,
        request: &ScimRequest,
    ) -> Result<(u16, Option<String>, String), Unreachable> {
        let mut url = reqwest::Url::parse(&format!("{}{}", self.base_url, request.path)).map_err(
            |error| Unreachable {
                method: request.method.as_str().into(),
                url: format!("{}{}", self.base_url, request.path),
                message: error.to_string(),
            },
        )?;
        if !request.query.is_empty() {
            match self.query_encoding {
                QueryEncoding::Form => {
                    url.query_pairs_mut().extend_pairs(request.query.iter());
                }
                QueryEncoding::Percent => {
                    let query: Vec<String> = request
                        .query
                        .iter()
                        .map(|(name, value)| {
                            format!("{}={}", encode_component(name), encode_component(value))
                        })
                        .collect();
                    url.set_query(Some(&query.join("&")));
                }
            }
        }
        let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes())
            .unwrap_or(reqwest::Method::GET);
        let mut headers = self.headers.clone();
        headers.push(("Authorization".into(), format!("Bearer {}", self.token)));
        let body = request.body.as_ref().map(Value::to_string);
        if body.is_some() {
            headers.push(("Content-Type".into(), self.content_type.clone()));
        }
        let mut builder = self.http.request(method, url.clone());
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &body {
            builder = builder.body(body.clone());
        }
        let started = chrono::Utc::now();
        let clock = Instant::now();
        let outcome = async {
            let mut response = builder.send().await.map_err(|error| describe(&error))?;
            let status = response.status().as_u16();
            let response_headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.to_string(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|error| describe(&error))? {
                if (body.len() + chunk.len()) as u64 > MAX_BODY {
                    return Err(format!(
                        "the answer's body is over {} MiB",
                        MAX_BODY / (1024 * 1024)
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, response_headers, body))
        }
        .await
        .and_then(|(status, response_headers, body)| {
            let encoding = response_headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-encoding"))
                .map(|(_, value)| value.as_str());
            let text = decode_body(encoding, &body)?;
            Ok((status, response_headers, text))
        });
        let duration_ms = clock.elapsed().as_secs_f64() * 1000.0;
        let redacted: Vec<(String, String)> = headers
            .into_iter()
            .map(|(name, value)| {
                let value = if is_secret_header(&name) {
                    REDACTED.to_owned()
                } else {
                    value
                };
                (name, value)
            })
            .collect();
        let mut exchange = Exchange {
            started,
            method: request.method.as_str().into(),
            url: url.to_string(),
            request_headers: redacted,
            request_body: body,
            status: None,
            response_headers: Vec::new(),
            response_body: String::new(),
            duration_ms,
            error: None,
        };
        match outcome {
            Ok((status, response_headers, text)) => {
                let retry_after = response_headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
                    .map(|(_, value)| value.clone());
                if let Some(transcript) = &self.transcript {
                    exchange.status = Some(status);
                    exchange.response_headers = response_headers;
                    exchange.response_body = text.clone();
                    transcript.record(exchange);
                }
                Ok((status, retry_after, text))
            }
            Err(message) => {
                if let Some(transcript) = &self.transcript {
                    exchange.error = Some(message.clone());
                    transcript.record(exchange);
                }
                Err(Unreachable {
                    method: request.method.as_str().into(),
                    url: url.to_string(),
                    message,
                })
            }
        }
    }
}

/// The most an answer's body may hold, as received and once inflated; a SCIM page is far
/// smaller, and more is refused rather than held in memory.
const MAX_BODY: u64 = 32 * 1024 * 1024;

/// An answer's body as text, decoded as its `Content-Encoding` says: gzip or deflate, which
/// a persona may ask for (Okta's `Accept-Encoding: gzip,deflate`, personas.md §2.1).
fn decode_body(content_encoding: Option<&str>, body: &[u8]) -> Result<String, String> {
    let encoding = content_encoding.map(|value| value.trim().to_ascii_lowercase());
    let decoded = match encoding.as_deref() {
        // An empty body (a 204 that still names its encoding) has nothing to inflate.
        _ if body.is_empty() => return Ok(String::new()),
        None | Some("" | "identity") => return Ok(String::from_utf8_lossy(body).into_owned()),
        Some("gzip" | "x-gzip") => inflate("gzip", flate2::read::MultiGzDecoder::new(body))?,
        // HTTP's deflate is the zlib format (RFC 9110 §8.4.1.2); some servers send it raw.
        Some("deflate") => inflate("deflate", flate2::read::ZlibDecoder::new(body))
            .or_else(|_| inflate("deflate", flate2::read::DeflateDecoder::new(body)))?,
        Some(other) => {
            return Err(format!(
                "the answer's body is encoded as `{other}`, which was not asked for"
            ));
        }
    };
    Ok(String::from_utf8_lossy(&decoded).into_owned())
}

/// Everything `reader` inflates to, at most [`MAX_BODY`] bytes.
fn inflate(encoding: &str, reader: impl std::io::Read) -> Result<Vec<u8>, String> {
    read_at_most(reader, MAX_BODY).map_err(|error| match error {
        BoundedReadError::Io(error) => {
            format!("the answer's {encoding} body cannot be decoded: {error}")
        }
        BoundedReadError::TooLarge => format!(
            "the answer's {encoding} body inflates to over {} MiB",
            MAX_BODY / (1024 * 1024)
        ),
    })
}

fn describe(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"{"totalResults":0,"Resources":[]}"#;

    fn compressed<W: std::io::Write>(mut encoder: W, text: &[u8]) -> W {
        encoder.write_all(text).unwrap();
        encoder
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        compressed(encoder, text).finish().unwrap()
    }

    #[test]
    fn bodies_are_decoded_as_their_content_encoding_says() {
        assert_eq!(decode_body(None, PAGE.as_bytes()).unwrap(), PAGE);
        assert_eq!(decode_body(Some("gzip"), b"").unwrap(), "");
        assert_eq!(
            decode_body(Some("identity"), PAGE.as_bytes()).unwrap(),
            PAGE
        );
        assert_eq!(
            decode_body(Some("gzip"), &gzip(PAGE.as_bytes())).unwrap(),
            PAGE
        );
        assert_eq!(
            decode_body(Some(" GZIP "), &gzip(PAGE.as_bytes())).unwrap(),
            PAGE
        );
        let zlib = compressed(
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast()),
            PAGE.as_bytes(),
        )
        .finish()
        .unwrap();
        assert_eq!(decode_body(Some("deflate"), &zlib).unwrap(), PAGE);
        let raw = compressed(
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast()),
            PAGE.as_bytes(),
        )
        .finish()
        .unwrap();
        assert_eq!(decode_body(Some("deflate"), &raw).unwrap(), PAGE);
    }

    #[test]
    fn bodies_that_cannot_be_decoded_are_refused_with_the_reason() {
        let error = decode_body(Some("gzip"), PAGE.as_bytes()).unwrap_err();
        assert!(error.contains("gzip body cannot be decoded"), "{error}");
        let error = decode_body(Some("br"), PAGE.as_bytes()).unwrap_err();
        assert!(error.contains("`br`, which was not asked for"), "{error}");
        let bomb = gzip(&vec![b' '; MAX_BODY as usize + 1]);
        let error = decode_body(Some("gzip"), &bomb).unwrap_err();
        assert!(error.contains("inflates to over 32 MiB"), "{error}");
    }
}
