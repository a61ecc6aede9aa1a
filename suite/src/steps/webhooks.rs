//! Signed directory webhooks of the bundled reference SP (seed 004): the scenario serves a
//! webhook endpoint on 127.0.0.1:0, registers it for the organization its IdP provisions, and
//! checks that each SCIM change arrives as an `organization.directory.*` event whose
//! `webhook-signature` verifies with the endpoint's secret.

use super::sso::step_error;
use crate::world::{ReceivedRequests, ScimWorld, StepError, WebhookReceiver};
use axum::body::Bytes;
use axum::http::HeaderMap;
use chrono::Utc;
use cucumber::{given, then};
use idpsim_reference_sp::verify_webhook;
use serde_json::Value;
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

/// How long an expected event may take to arrive.
const ARRIVAL: Duration = Duration::from_secs(10);

/// `user_created` → `organization.directory.user_created`; `all` → every type.
fn event_types(list: &str) -> Vec<String> {
    if list == "all" {
        return Vec::new();
    }
    list.split(',')
        .map(|name| format!("organization.directory.{}", name.trim()))
        .collect()
}

#[given(
    regex = r#"^a webhook endpoint of the IdP's organization subscribed to (all|"[^"]+") directory events$"#
)]
async fn endpoint(world: &mut ScimWorld, events: String) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let organization = world
        .provisioning()?
        .organization
        .clone()
        .ok_or(StepError::NeedsReferenceSp)?;
    let received: ReceivedRequests = Arc::default();
    let arrived = Arc::new(Notify::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(step_error)?;
    let url = format!(
        "http://{}/webhooks",
        listener.local_addr().map_err(step_error)?
    );
    let (store, notify) = (Arc::clone(&received), Arc::clone(&arrived));
    let router = axum::Router::new().route(
        "/webhooks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
            store
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((headers, body.to_vec()));
            notify.notify_waiters();
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let types = event_types(events.trim_matches('"'));
    let wanted: Vec<&str> = types.iter().map(String::as_str).collect();
    let registered = sp
        .add_webhook_endpoint(&organization, &url, &wanted)
        .await?;
    world.start_webhooks(WebhookReceiver {
        secret: registered.secret,
        received,
        arrived,
        server,
    });
    Ok(())
}

/// The first event received so far that `matches`, with its signature checked.
fn find_event(
    receiver: &WebhookReceiver,
    matches: &dyn Fn(&Value) -> bool,
) -> Result<Option<Value>, StepError> {
    let received = receiver
        .received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for (headers, body) in received {
        let Ok(event) = serde_json::from_slice::<Value>(&body) else {
            continue;
        };
        if matches(&event) {
            verify_webhook(&receiver.secret, &headers, &body, Utc::now()).map_err(|error| {
                StepError::Expectation(format!(
                    "the event arrived, but its signature does not verify: {error}"
                ))
            })?;
            return Ok(Some(event));
        }
    }
    Ok(None)
}

#[then(
    regex = r#"^the endpoint receives a signed "([^"]+)" event for the (user|group) "([^"]+)"(?: with "active" (true|false))?$"#
)]
async fn receives(
    world: &mut ScimWorld,
    event_type: String,
    kind: String,
    key: String,
    active: String,
) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    let ids = if kind == "user" {
        &provisioning.user_ids
    } else {
        &provisioning.group_ids
    };
    let id = ids.get(&key).cloned().ok_or_else(|| {
        StepError::Expectation(format!("the IdP never provisioned the {kind} \"{key}\""))
    })?;
    let wanted_type = format!("organization.directory.{event_type}");
    let matches = |event: &Value| {
        event["type"] == wanted_type.as_str()
            && event["data"]["id"] == id.as_str()
            && (active.is_empty() || event["data"]["active"] == (active == "true"))
    };
    let receiver = world.webhooks()?;
    let deadline = tokio::time::Instant::now() + ARRIVAL;
    loop {
        let arrival = receiver.arrived.notified();
        if find_event(receiver, &matches)?.is_some() {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, arrival).await.is_err() {
            let seen: Vec<String> = receiver
                .received
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .filter_map(|(_, body)| serde_json::from_slice::<Value>(body).ok())
                .map(|event| format!("{} {}", event["type"], event["data"]["id"]))
                .collect();
            return Err(StepError::Expectation(format!(
                "no signed {wanted_type} event for the {kind} {id} (\"{key}\") arrived within {} s; received: {seen:?}",
                ARRIVAL.as_secs()
            )));
        }
    }
}
