//! Delivering one endpoint's events: one after the other, each attempt signed afresh, and
//! retried with exponential backoff when the endpoint answers anything but 2xx or cannot be
//! reached (seed 004, "Create a secure webhook endpoint": a receiver answers 5xx when it
//! could not process an event).

use super::event::Event;
use super::signature::{ID_HEADER, SIGNATURE_HEADER, SigningKey, TIMESTAMP_HEADER};
use axum::http::header;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// The most attempts at delivering one event to one endpoint.
const MAX_ATTEMPTS: u32 = 5;
/// How long one attempt may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The `User-Agent` of every delivery.
const USER_AGENT: &str = "idpsim-reference-sp";
/// The wait after a first failed attempt unless [`RetryDelay::set`] changes it.
pub(crate) const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// The wait after a first failed attempt; it doubles after each further failure (1 s, 2 s,
/// 4 s, 8 s by default). Every endpoint's worker shares it, so a change applies to the next
/// wait.
#[derive(Debug, Clone)]
pub(crate) struct RetryDelay(Arc<AtomicU64>);

impl RetryDelay {
    /// A delay of `base` after the first failure.
    pub(crate) fn new(base: Duration) -> RetryDelay {
        let delay = RetryDelay(Arc::new(AtomicU64::new(0)));
        delay.set(base);
        delay
    }

    /// Makes `base` the wait after a first failure.
    pub(crate) fn set(&self, base: Duration) {
        let micros = u64::try_from(base.as_micros()).unwrap_or(u64::MAX);
        self.0.store(micros, Ordering::Relaxed);
    }

    /// The wait after the failed attempt number `attempt` (1 for the first).
    pub(crate) fn after(&self, attempt: u32) -> Duration {
        let base = Duration::from_micros(self.0.load(Ordering::Relaxed));
        base.saturating_mul(2_u32.saturating_pow(attempt.saturating_sub(1)))
    }
}

/// Where one endpoint's deliveries go and how they are signed.
#[derive(Debug)]
pub(crate) struct Target {
    /// The endpoint's id, for the log.
    pub(crate) endpoint_id: String,
    /// Its URL.
    pub(crate) url: String,
    /// Its signing key.
    pub(crate) key: SigningKey,
}

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AttemptFailure {
    /// The endpoint answered, but not with 2xx.
    #[error("the endpoint answered {0}")]
    Status(reqwest::StatusCode),
    /// The request could not be sent or timed out.
    #[error("the request failed: {0}")]
    Transport(#[from] reqwest::Error),
}

/// The client deliveries are sent with: a 10 s timeout, redirects not followed (a 3xx is a
/// failed attempt: the event must reach the URL registered).
pub(crate) fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Delivers what arrives on `queue` to `target` in arrival order, until the queue closes:
/// an event is retried until it is delivered or abandoned before the next one is sent.
pub(crate) async fn deliver_in_order(
    client: reqwest::Client,
    target: Target,
    mut queue: mpsc::UnboundedReceiver<Arc<Event>>,
    retry: RetryDelay,
) {
    while let Some(event) = queue.recv().await {
        deliver(&client, &target, &event, &retry).await;
    }
}

/// Delivers `event`, waiting [`RetryDelay::after`] each failure, and gives up after
/// [`MAX_ATTEMPTS`] attempts; every failure is logged.
async fn deliver(client: &reqwest::Client, target: &Target, event: &Event, retry: &RetryDelay) {
    for attempt in 1..=MAX_ATTEMPTS {
        let timestamp = chrono::Utc::now().timestamp();
        match attempt_delivery(client, target, event, timestamp).await {
            Ok(()) => return,
            Err(failure) => {
                tracing::warn!(
                    endpoint = %target.endpoint_id,
                    url = %target.url,
                    event = %event.id,
                    event_type = event.event_type,
                    attempt,
                    %failure,
                    "webhook delivery failed"
                );
                if attempt < MAX_ATTEMPTS {
                    tokio::time::sleep(retry.after(attempt)).await;
                }
            }
        }
    }
    tracing::error!(
        endpoint = %target.endpoint_id,
        event = %event.id,
        event_type = event.event_type,
        "webhook delivery abandoned after {MAX_ATTEMPTS} attempts"
    );
}

/// One attempt: `event` posted to `target` as JSON, signed at `timestamp` (Unix seconds);
/// the same `webhook-id` on every attempt, so the receiver can tell a retry.
async fn attempt_delivery(
    client: &reqwest::Client,
    target: &Target,
    event: &Event,
    timestamp: i64,
) -> Result<(), AttemptFailure> {
    let response = client
        .post(&target.url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(ID_HEADER, &event.id)
        .header(TIMESTAMP_HEADER, timestamp)
        .header(
            SIGNATURE_HEADER,
            target.key.sign(&event.id, timestamp, &event.body),
        )
        .body(event.body.clone())
        .send()
        .await?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(AttemptFailure::Status(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_after_each_failure() {
        let retry = RetryDelay::new(DEFAULT_RETRY_DELAY);
        let waits: Vec<_> = (1..MAX_ATTEMPTS)
            .map(|attempt| retry.after(attempt))
            .collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8].map(Duration::from_secs).to_vec(),
            "1 s, 2 s, 4 s, 8 s between the five attempts"
        );
        retry.set(Duration::from_millis(3));
        assert_eq!(retry.after(3), Duration::from_millis(12));
    }
}
