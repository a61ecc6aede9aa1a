//! Webhook signatures as Standard Webhooks defines them, which is what the `webhook-id`,
//! `webhook-timestamp` and `webhook-signature` headers of seed 004 ("Create a secure webhook
//! endpoint") are: the secret is `whsec_` and the base64 of a random key; the signed content
//! is `{webhook-id}.{webhook-timestamp}.{body}`; the signature is `v1,` and the base64 of its
//! HMAC-SHA256. A receiver checks the signature and refuses stale or future timestamps, so a
//! captured delivery cannot be replayed later.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// The header naming the message; the same on every attempt to deliver it.
pub(crate) const ID_HEADER: &str = "webhook-id";
/// The header with the attempt's time, in Unix seconds.
pub(crate) const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header with the signatures, separated by spaces.
pub(crate) const SIGNATURE_HEADER: &str = "webhook-signature";

/// What a secret starts with.
const SECRET_PREFIX: &str = "whsec_";
/// The version tag of an HMAC-SHA256 signature.
const SIGNATURE_VERSION: &str = "v1";
/// The random bytes of a new key (Standard Webhooks asks for 24 to 64).
const KEY_BYTES: usize = 32;
/// How far, in seconds, a timestamp may be from the receiver's clock, either way.
const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Why a delivery was refused by [`verify_webhook`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret is not `whsec_` followed by base64.
    #[error("the secret is not `whsec_` followed by base64")]
    MalformedSecret,
    /// A required header is absent (or not text).
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not a number of seconds.
    #[error("the timestamp `{0}` is not a number of seconds")]
    InvalidTimestamp(String),
    /// The timestamp is more than five minutes before now: stale, or a replay.
    #[error("the timestamp {timestamp} is more than five minutes before now ({now})")]
    TimestampTooOld {
        /// The delivery's timestamp, in Unix seconds.
        timestamp: i64,
        /// The receiver's time, in Unix seconds.
        now: i64,
    },
    /// The timestamp is more than five minutes after now.
    #[error("the timestamp {timestamp} is more than five minutes after now ({now})")]
    TimestampTooNew {
        /// The delivery's timestamp, in Unix seconds.
        timestamp: i64,
        /// The receiver's time, in Unix seconds.
        now: i64,
    },
    /// `webhook-signature` holds no `v1` signature.
    #[error("the signature header holds no `v1` signature")]
    NoSignature,
    /// No `v1` signature matches the content: another secret, or a changed body or header.
    #[error("no signature matches the content")]
    SignatureMismatch,
}

/// A key deliveries are signed with, decoded from its `whsec_` secret.
#[derive(Clone)]
pub(crate) struct SigningKey(Hmac<Sha256>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// A new random key and its secret, as shown to the endpoint's owner.
    pub(crate) fn generate() -> Result<(SigningKey, String), WebhookError> {
        let secret = format!(
            "{SECRET_PREFIX}{}",
            STANDARD.encode(rand::random::<[u8; KEY_BYTES]>())
        );
        Ok((SigningKey::from_secret(&secret)?, secret))
    }

    /// The key a `whsec_` secret encodes.
    pub(crate) fn from_secret(secret: &str) -> Result<SigningKey, WebhookError> {
        let encoded = secret
            .strip_prefix(SECRET_PREFIX)
            .ok_or(WebhookError::MalformedSecret)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::MalformedSecret)?;
        if key.is_empty() {
            return Err(WebhookError::MalformedSecret);
        }
        Hmac::<Sha256>::new_from_slice(&key)
            .map(SigningKey)
            .map_err(|_| WebhookError::MalformedSecret)
    }

    /// The `webhook-signature` value of a delivery: `v1,` and the base64 of the HMAC.
    pub(crate) fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!(
            "{SIGNATURE_VERSION},{}",
            STANDARD.encode(self.tag(id, timestamp, body))
        )
    }

    /// The HMAC-SHA256 of `{id}.{timestamp}.{body}`.
    fn tag(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = self.0.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

/// Checks a delivery as a receiver must before acting on it (seed 004, "Create a secure
/// webhook endpoint"): the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers
/// are present, the timestamp is within five minutes of `now`, and one of the `v1`
/// signatures is the HMAC-SHA256 of `body` under `secret` (compared in constant time).
pub fn verify_webhook(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let key = SigningKey::from_secret(secret)?;
    let id = header(headers, ID_HEADER)?;
    let timestamp_text = header(headers, TIMESTAMP_HEADER)?;
    let signatures = header(headers, SIGNATURE_HEADER)?;
    let timestamp: i64 = timestamp_text
        .trim()
        .parse()
        .map_err(|_| WebhookError::InvalidTimestamp(timestamp_text.to_owned()))?;
    let now = now.timestamp();
    if now.saturating_sub(timestamp) > TOLERANCE_SECONDS {
        return Err(WebhookError::TimestampTooOld { timestamp, now });
    }
    if timestamp.saturating_sub(now) > TOLERANCE_SECONDS {
        return Err(WebhookError::TimestampTooNew { timestamp, now });
    }
    let expected = key.tag(id, timestamp, body);
    let mut candidates = signatures
        .split_whitespace()
        .filter_map(|signature| signature.split_once(','))
        .filter(|(version, _)| *version == SIGNATURE_VERSION)
        .map(|(_, encoded)| STANDARD.decode(encoded).unwrap_or_default())
        .peekable();
    if candidates.peek().is_none() {
        return Err(WebhookError::NoSignature);
    }
    // Every candidate is compared, so the time taken does not tell which one matched.
    let matched = candidates.fold(false, |matched, candidate| {
        matched | bool::from(candidate.ct_eq(&expected))
    });
    if matched {
        Ok(())
    } else {
        Err(WebhookError::SignatureMismatch)
    }
}

/// A header's value as text.
fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, WebhookError> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .ok_or(WebhookError::MissingHeader(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    // The example of the Standard Webhooks specification. The expected signature was
    // computed with Python's standard library:
    //   key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    //   content = b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}'
    //   "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    // and is the one the specification publishes.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("a representable time")
    }

    fn headers(signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ID_HEADER, HeaderValue::from_static(ID));
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from(TIMESTAMP));
        headers.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(signature).expect("a header value"),
        );
        headers
    }

    #[test]
    fn the_signature_of_the_known_vector_is_reproduced() {
        let key = SigningKey::from_secret(SECRET).expect("a valid secret");
        assert_eq!(key.sign(ID, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn the_known_vector_verifies_within_five_minutes_either_way() {
        for now in [TIMESTAMP, TIMESTAMP - 300, TIMESTAMP + 300] {
            assert_eq!(
                verify_webhook(SECRET, &headers(SIGNATURE), BODY, at(now)),
                Ok(())
            );
        }
    }

    #[test]
    fn one_matching_signature_among_several_is_enough() {
        let several = format!("v1,bm90IHRoaXMgb25l v2,whatever {SIGNATURE}");
        assert_eq!(
            verify_webhook(SECRET, &headers(&several), BODY, at(TIMESTAMP)),
            Ok(())
        );
    }

    #[test]
    fn a_header_without_a_v1_signature_is_refused() {
        assert_eq!(
            verify_webhook(SECRET, &headers("v2,abc"), BODY, at(TIMESTAMP)),
            Err(WebhookError::NoSignature)
        );
    }

    #[test]
    fn timestamps_just_beyond_five_minutes_are_refused() {
        assert_eq!(
            verify_webhook(SECRET, &headers(SIGNATURE), BODY, at(TIMESTAMP + 301)),
            Err(WebhookError::TimestampTooOld {
                timestamp: TIMESTAMP,
                now: TIMESTAMP + 301
            })
        );
        assert_eq!(
            verify_webhook(SECRET, &headers(SIGNATURE), BODY, at(TIMESTAMP - 301)),
            Err(WebhookError::TimestampTooNew {
                timestamp: TIMESTAMP,
                now: TIMESTAMP - 301
            })
        );
    }

    #[test]
    fn a_timestamp_that_is_not_a_number_is_refused() {
        let mut headers = headers(SIGNATURE);
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from_static("yesterday"));
        assert_eq!(
            verify_webhook(SECRET, &headers, BODY, at(TIMESTAMP)),
            Err(WebhookError::InvalidTimestamp("yesterday".into()))
        );
    }

    #[test]
    fn secrets_without_the_prefix_or_not_in_base64_are_malformed() {
        for secret in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not base64!",
            "whsec_",
        ] {
            assert_eq!(
                verify_webhook(secret, &headers(SIGNATURE), BODY, at(TIMESTAMP)),
                Err(WebhookError::MalformedSecret),
                "{secret}"
            );
        }
    }

    #[test]
    fn a_generated_secret_signs_what_it_verifies() {
        let (key, secret) = SigningKey::generate().expect("a new key");
        assert!(secret.starts_with(SECRET_PREFIX), "{secret}");
        let decoded = STANDARD
            .decode(secret.trim_start_matches(SECRET_PREFIX))
            .expect("base64");
        assert_eq!(decoded.len(), KEY_BYTES);
        let signature = key.sign(ID, TIMESTAMP, BODY);
        assert_eq!(
            verify_webhook(&secret, &headers(&signature), BODY, at(TIMESTAMP)),
            Ok(())
        );
        assert_eq!(
            verify_webhook(SECRET, &headers(&signature), BODY, at(TIMESTAMP)),
            Err(WebhookError::SignatureMismatch)
        );
    }
}
