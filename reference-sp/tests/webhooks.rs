//! Signed directory webhooks (seed 004, "Realtime user provisioning with webhooks"): each
//! test starts the SP in-process on `127.0.0.1:0` and a receiver, a small axum server on
//! `127.0.0.1:0` that records every request and answers with the statuses it was given.
//! Tests wait for deliveries on the receiver's channel, never for a fixed time; that an event
//! did *not* come is shown by the next one that did, as each endpoint's events arrive in order.

// The helpers outside `#[test]` functions fail the test the same way the tests do.
#![allow(clippy::expect_used, clippy::panic)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, TimeDelta, Utc};
use idpsim_reference_sp::{
    DEFAULT_ORGANIZATION_ID, DatabaseLocation, GROUP_CREATED, GROUP_DELETED, GROUP_UPDATED,
    RunningSp, SpConfig, SpError, USER_CREATED, USER_DELETED, USER_UPDATED, WebhookError,
    verify_webhook,
};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// How long a test waits for a delivery before it fails.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// The retry delay tests use, so that retries take milliseconds.
const TEST_RETRY_DELAY: Duration = Duration::from_millis(5);

/// One request the receiver got.
#[derive(Debug)]
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
}

impl Delivery {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("no `{name}` header in {self:#?}"))
    }

    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    fn event_type(&self) -> String {
        self.event()["type"].as_str().expect("a type").to_owned()
    }

    /// The time it was signed at.
    fn signed_at(&self) -> DateTime<Utc> {
        let seconds = self.header("webhook-timestamp").parse().expect("seconds");
        DateTime::from_timestamp(seconds, 0).expect("a representable time")
    }

    /// Asserts that `secret` verifies it now.
    fn assert_signed_with(&self, secret: &str) {
        assert_eq!(
            verify_webhook(secret, &self.headers, &self.body, Utc::now()),
            Ok(()),
            "{self:#?}"
        );
    }
}

/// What the receiver's handler shares: the statuses still to answer with (then 200), and
/// where deliveries go.
struct Script {
    statuses: Mutex<VecDeque<u16>>,
    deliveries: mpsc::UnboundedSender<Delivery>,
}

/// A webhook receiver on `127.0.0.1:0`.
struct Receiver {
    url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
}

/// Starts a receiver that answers with `statuses` in turn, then 200.
async fn spawn_receiver(statuses: &[u16]) -> Receiver {
    async fn record(
        State(script): State<Arc<Script>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let status = script
            .statuses
            .lock()
            .expect("the script")
            .pop_front()
            .unwrap_or(200);
        script
            .deliveries
            .send(Delivery { headers, body })
            .expect("the test listens");
        StatusCode::from_u16(status).expect("a status")
    }
    let (sender, deliveries) = mpsc::unbounded_channel();
    let script = Arc::new(Script {
        statuses: Mutex::new(statuses.iter().copied().collect()),
        deliveries: sender,
    });
    let app = axum::Router::new()
        .route("/hook", post(record))
        .with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the receiver binds");
    let address = listener.local_addr().expect("the receiver's address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{address}/hook"),
        deliveries,
    }
}

impl Receiver {
    /// The next delivery.
    async fn next(&mut self) -> Delivery {
        tokio::time::timeout(DELIVERY_TIMEOUT, self.deliveries.recv())
            .await
            .expect("a delivery arrives in time")
            .expect("the receiver runs")
    }

    /// The next `count` deliveries.
    async fn take(&mut self, count: usize) -> Vec<Delivery> {
        let mut taken = Vec::with_capacity(count);
        for _ in 0..count {
            taken.push(self.next().await);
        }
        taken
    }
}

/// Starts an SP on `database` that retries deliveries after a few milliseconds.
async fn start_sp(database: DatabaseLocation) -> RunningSp {
    let sp = RunningSp::start(SpConfig {
        database,
        bootstrap_token: Some("webhook-test-token".into()),
        ..SpConfig::ephemeral()
    })
    .await
    .expect("the SP starts");
    sp.set_webhook_retry_delay(TEST_RETRY_DELAY);
    sp
}

async fn spawn_sp() -> RunningSp {
    start_sp(DatabaseLocation::Temporary).await
}

/// Sends a SCIM request with `token` and returns the status and the JSON body (null when
/// empty).
async fn scim(
    sp: &RunningSp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (reqwest::StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sp.base_url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the SP answers");
    let status = response.status();
    let bytes = response.bytes().await.expect("the body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("a JSON body")
    };
    (status, body)
}

/// Sends a request with the default organization's token and expects `status`.
async fn expect(
    sp: &RunningSp,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let (answered, body) = scim(sp, sp.default_token(), method, path, body).await;
    assert_eq!(answered.as_u16(), status, "{body:#}");
    body
}

async fn create_user(sp: &RunningSp, user_name: &str) -> Value {
    let body = json!({"schemas": [USER_SCHEMA], "userName": user_name});
    expect(sp, Method::POST, "/Users", Some(body), 201).await
}

async fn delete(sp: &RunningSp, resource: &Value) {
    let segment = match resource["meta"]["resourceType"].as_str() {
        Some("Group") => "Groups",
        _ => "Users",
    };
    let path = format!("/{segment}/{}", id_of(resource));
    expect(sp, Method::DELETE, &path, None, 204).await;
}

fn patch_replace(path: &str, value: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA],
           "Operations": [{"op": "replace", "path": path, "value": value}]})
}

fn id_of(resource: &Value) -> &str {
    resource["id"].as_str().expect("the resource has an id")
}

/// The event types of `deliveries`, in order.
fn types(deliveries: &[Delivery]) -> Vec<String> {
    deliveries.iter().map(Delivery::event_type).collect()
}

/// The `data.id` of `delivery`'s event.
fn subject(delivery: &Delivery) -> String {
    delivery.event()["data"]["id"]
        .as_str()
        .expect("data.id")
        .to_owned()
}

#[tokio::test]
async fn each_directory_change_is_posted_as_its_event_signed() {
    let sp = spawn_sp().await;
    let mut receiver = spawn_receiver(&[]).await;
    let endpoint = sp
        .add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[])
        .await
        .expect("the endpoint is registered");
    assert!(endpoint.secret.starts_with("whsec_"), "{endpoint:?}");

    let alice = expect(
        &sp,
        Method::POST,
        "/Users",
        Some(json!({
            "schemas": [USER_SCHEMA], "userName": "alice@example.com", "externalId": "a-1",
            "name": {"givenName": "Alice", "familyName": "Liddell"},
            "emails": [{"value": "alice.l@example.com"},
                       {"value": "alice@example.com", "primary": true}]
        })),
        201,
    )
    .await;
    let alice_path = format!("/Users/{}", id_of(&alice));
    let deactivated = patch_replace("active", json!(false));
    expect(&sp, Method::PATCH, &alice_path, Some(deactivated), 200).await;
    let staff = expect(
        &sp,
        Method::POST,
        "/Groups",
        Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "staff",
                    "members": [{"value": id_of(&alice)}]})),
        201,
    )
    .await;
    let staff_path = format!("/Groups/{}", id_of(&staff));
    let renamed = patch_replace("displayName", json!("crew"));
    expect(&sp, Method::PATCH, &staff_path, Some(renamed), 200).await;
    delete(&sp, &staff).await;
    delete(&sp, &alice).await;

    let deliveries = receiver.take(6).await;
    assert_eq!(
        types(&deliveries),
        [
            USER_CREATED,
            USER_UPDATED,
            GROUP_CREATED,
            GROUP_UPDATED,
            GROUP_DELETED,
            USER_DELETED
        ]
    );
    for delivery in &deliveries {
        delivery.assert_signed_with(&endpoint.secret);
        assert_eq!(delivery.header("content-type"), "application/json");
        assert_eq!(delivery.header("user-agent"), "idpsim-reference-sp");
        let event = delivery.event();
        assert_eq!(delivery.header("webhook-id"), event["id"], "{event:#}");
        assert!(
            event["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("evt_"))
        );
        let timestamp = event["timestamp"].as_str().expect("a timestamp");
        assert!(
            DateTime::parse_from_rfc3339(timestamp).is_ok() && timestamp.ends_with('Z'),
            "{timestamp}"
        );
        assert_eq!(event["data"]["organization_id"], DEFAULT_ORGANIZATION_ID);
        assert_eq!(event["data"]["directory_id"], DEFAULT_ORGANIZATION_ID);
    }

    let created = deliveries[0].event();
    assert_eq!(
        created["data"],
        json!({
            "organization_id": DEFAULT_ORGANIZATION_ID,
            "directory_id": DEFAULT_ORGANIZATION_ID,
            "id": id_of(&alice),
            "email": "alice@example.com",
            "name": "Alice Liddell",
            "user_name": "alice@example.com",
            "active": true,
            "external_id": "a-1",
            "resource": alice,
        })
    );
    let updated = deliveries[1].event();
    assert_eq!(updated["data"]["active"], false);
    assert_eq!(updated["data"]["resource"]["active"], false);
    let group_created = deliveries[2].event();
    assert_eq!(group_created["data"]["id"], staff["id"]);
    assert_eq!(group_created["data"]["name"], "staff");
    assert_eq!(group_created["data"]["members"], json!([id_of(&alice)]));
    assert_eq!(group_created["data"]["resource"], staff);
    let group_updated = deliveries[3].event();
    assert_eq!(group_updated["data"]["name"], "crew");
    // A deleted resource is sent as it last was.
    let group_deleted = deliveries[4].event();
    assert_eq!(group_deleted["data"]["id"], staff["id"]);
    assert_eq!(group_deleted["data"]["name"], "crew");
    assert_eq!(group_deleted["data"]["resource"]["displayName"], "crew");
    let user_deleted = deliveries[5].event();
    assert_eq!(user_deleted["data"]["id"], alice["id"]);
    assert_eq!(user_deleted["data"]["email"], "alice@example.com");
    assert_eq!(
        user_deleted["data"]["resource"]["userName"],
        "alice@example.com"
    );
    sp.shutdown().await;
}

#[tokio::test]
async fn an_event_shows_a_user_as_the_directory_api_lists_it() {
    let sp = RunningSp::start(SpConfig {
        bootstrap_token: Some("webhook-test-token".into()),
        admin_key: Some("webhook-admin-key".into()),
        ..SpConfig::ephemeral()
    })
    .await
    .expect("the SP starts");
    let mut receiver = spawn_receiver(&[]).await;
    sp.add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[])
        .await
        .expect("the endpoint is registered");
    // No email address (the userName only looks like one) and a blank displayName.
    let body = json!({"schemas": [USER_SCHEMA], "userName": "bob@example.com",
                      "displayName": "  ", "name": {"givenName": "Bob", "familyName": "Kane"}});
    let bob = expect(&sp, Method::POST, "/Users", Some(body), 201).await;
    let event = receiver.take(1).await[0].event();
    let listed: Value = reqwest::Client::new()
        .get(format!(
            "{}/admin/v1/organizations/{DEFAULT_ORGANIZATION_ID}/directory/users",
            sp.origin()
        ))
        .bearer_auth("webhook-admin-key")
        .send()
        .await
        .expect("the admin API answers")
        .json()
        .await
        .expect("a JSON body");
    let mut shown = listed["users"][0].clone();
    assert_eq!(shown["groups"], json!([]));
    shown.as_object_mut().expect("a user").remove("groups");
    let mut sent = event["data"].clone();
    let sent_fields = sent.as_object_mut().expect("the event's data");
    for envelope in ["organization_id", "directory_id", "resource"] {
        sent_fields.remove(envelope);
    }
    assert_eq!(sent, shown);
    assert_eq!(
        shown,
        json!({"id": id_of(&bob), "user_name": "bob@example.com", "email": null,
               "name": "Bob Kane", "active": true, "external_id": null})
    );
    sp.shutdown().await;
}

#[tokio::test]
async fn events_follow_the_order_of_the_writes() {
    let sp = spawn_sp().await;
    let mut receiver = spawn_receiver(&[]).await;
    let endpoint = sp
        .add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[])
        .await
        .expect("the endpoint is registered");
    let alice = create_user(&sp, "alice").await;
    let path = format!("/Users/{}", id_of(&alice));
    for step in 1..=5 {
        let renamed = patch_replace("displayName", json!(format!("Alice {step}")));
        expect(&sp, Method::PATCH, &path, Some(renamed), 200).await;
    }
    delete(&sp, &alice).await;

    let deliveries = receiver.take(7).await;
    let names: Vec<(String, Value)> = deliveries
        .iter()
        .map(|delivery| {
            (
                delivery.event_type(),
                delivery.event()["data"]["name"].clone(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (USER_CREATED, Value::Null),
            (USER_UPDATED, json!("Alice 1")),
            (USER_UPDATED, json!("Alice 2")),
            (USER_UPDATED, json!("Alice 3")),
            (USER_UPDATED, json!("Alice 4")),
            (USER_UPDATED, json!("Alice 5")),
            (USER_DELETED, json!("Alice 5")),
        ]
        .map(|(kind, name)| (kind.to_owned(), name))
    );
    for delivery in &deliveries {
        delivery.assert_signed_with(&endpoint.secret);
    }
    sp.shutdown().await;
}

#[tokio::test]
async fn each_successful_bulk_operation_is_an_event_and_a_failed_one_is_none() {
    let sp = spawn_sp().await;
    let mut receiver = spawn_receiver(&[]).await;
    sp.add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[])
        .await
        .expect("the endpoint is registered");
    let alice = create_user(&sp, "alice").await;
    let bulk = json!({"schemas": [BULK_SCHEMA], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "bob",
         "data": {"schemas": [USER_SCHEMA], "userName": "bob"}},
        {"method": "POST", "path": "/Users", "bulkId": "again",
         "data": {"schemas": [USER_SCHEMA], "userName": "ALICE"}},
        {"method": "POST", "path": "/Groups", "bulkId": "crew",
         "data": {"schemas": [GROUP_SCHEMA], "displayName": "crew",
                  "members": [{"value": "bulkId:bob"}]}},
        {"method": "DELETE", "path": format!("/Users/{}", id_of(&alice))},
    ]});
    let answer = expect(&sp, Method::POST, "/Bulk", Some(bulk), 200).await;
    let statuses: Vec<&str> = answer["Operations"]
        .as_array()
        .expect("operation results")
        .iter()
        .filter_map(|result| result["status"].as_str())
        .collect();
    assert!(statuses.contains(&"409"), "{answer:#}");

    let deliveries = receiver.take(4).await;
    let events: Vec<(String, String)> = deliveries
        .iter()
        .map(|delivery| {
            let event = delivery.event();
            let name = event["data"]["user_name"]
                .as_str()
                .or(event["data"]["name"].as_str())
                .unwrap_or_default()
                .to_owned();
            (delivery.event_type(), name)
        })
        .collect();
    let mut bulk_events = events[1..].to_vec();
    bulk_events.sort();
    assert_eq!(events[0], (USER_CREATED.to_owned(), "alice".to_owned()));
    // Operations run in their dependency order, so only their set is fixed.
    let mut expected = vec![
        (USER_CREATED.to_owned(), "bob".to_owned()),
        (GROUP_CREATED.to_owned(), "crew".to_owned()),
        (USER_DELETED.to_owned(), "alice".to_owned()),
    ];
    expected.sort();
    assert_eq!(bulk_events, expected);
    let bob_at = events.iter().position(|(_, name)| name == "bob");
    let crew_at = events.iter().position(|(_, name)| name == "crew");
    assert!(bob_at < crew_at, "the group refers to bob: {events:?}");

    // Nothing was sent for the refused operation: the next event is this one.
    let carol = create_user(&sp, "carol").await;
    assert_eq!(subject(&receiver.next().await), id_of(&carol));
    sp.shutdown().await;
}

#[tokio::test]
async fn a_refused_scim_request_produces_no_event() {
    let sp = spawn_sp().await;
    let mut receiver = spawn_receiver(&[]).await;
    sp.add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[])
        .await
        .expect("the endpoint is registered");
    let alice = create_user(&sp, "alice").await;
    assert_eq!(subject(&receiver.next().await), id_of(&alice));

    let duplicate = json!({"schemas": [USER_SCHEMA], "userName": "ALICE"});
    expect(&sp, Method::POST, "/Users", Some(duplicate), 409).await;
    let missing = patch_replace("displayName", json!("nobody"));
    expect(
        &sp,
        Method::PATCH,
        "/Users/no-such-user",
        Some(missing),
        404,
    )
    .await;
    let stale = reqwest::Client::new()
        .put(format!("{}/Users/{}", sp.base_url(), id_of(&alice)))
        .bearer_auth(sp.default_token())
        .header("content-type", "application/scim+json")
        .header("if-match", "W/\"7\"")
        .body(json!({"schemas": [USER_SCHEMA], "userName": "alicia"}).to_string())
        .send()
        .await
        .expect("the SP answers");
    assert_eq!(stale.status(), reqwest::StatusCode::PRECONDITION_FAILED);
    let only_failures = json!({"schemas": [BULK_SCHEMA], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "again",
         "data": {"schemas": [USER_SCHEMA], "userName": "Alice"}},
        {"method": "DELETE", "path": "/Groups/no-such-group"},
    ]});
    expect(&sp, Method::POST, "/Bulk", Some(only_failures), 200).await;

    let bob = create_user(&sp, "bob").await;
    let next = receiver.next().await;
    assert_eq!(next.event_type(), USER_CREATED);
    assert_eq!(subject(&next), id_of(&bob));
    sp.shutdown().await;
}

#[tokio::test]
async fn an_endpoint_receives_only_the_event_types_it_subscribed_to() {
    let sp = spawn_sp().await;
    let mut everything = spawn_receiver(&[]).await;
    let mut deletions = spawn_receiver(&[]).await;
    sp.add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &everything.url, &[])
        .await
        .expect("the endpoint is registered");
    let subscribed = sp
        .add_webhook_endpoint(
            DEFAULT_ORGANIZATION_ID,
            &deletions.url,
            &[USER_DELETED, GROUP_DELETED],
        )
        .await
        .expect("the endpoint is registered");
    assert_eq!(
        sp.webhook_endpoints(DEFAULT_ORGANIZATION_ID)[1].events,
        [USER_DELETED, GROUP_DELETED]
    );

    let alice = create_user(&sp, "alice").await;
    let staff = expect(
        &sp,
        Method::POST,
        "/Groups",
        Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "staff",
                    "members": [{"value": id_of(&alice)}]})),
        201,
    )
    .await;
    let path = format!("/Users/{}", id_of(&alice));
    expect(
        &sp,
        Method::PATCH,
        &path,
        Some(patch_replace("title", json!("Lead"))),
        200,
    )
    .await;
    delete(&sp, &staff).await;
    delete(&sp, &alice).await;
    let carol = create_user(&sp, "carol").await;
    delete(&sp, &carol).await;

    assert_eq!(
        types(&everything.take(7).await),
        [
            USER_CREATED,
            GROUP_CREATED,
            USER_UPDATED,
            GROUP_DELETED,
            USER_DELETED,
            USER_CREATED,
            USER_DELETED
        ]
    );
    let received = deletions.take(3).await;
    assert_eq!(
        types(&received),
        [GROUP_DELETED, USER_DELETED, USER_DELETED]
    );
    assert_eq!(
        received.iter().map(subject).collect::<Vec<_>>(),
        [id_of(&staff), id_of(&alice), id_of(&carol)]
    );
    for delivery in &received {
        delivery.assert_signed_with(&subscribed.secret);
    }
    sp.shutdown().await;
}

#[tokio::test]
async fn another_organizations_endpoint_receives_nothing() {
    let sp = spawn_sp().await;
    let acme = sp.create_organization("Acme").await.expect("Acme");
    let mut default_receiver = spawn_receiver(&[]).await;
    let mut acme_receiver = spawn_receiver(&[]).await;
    sp.add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &default_receiver.url, &[])
        .await
        .expect("the endpoint is registered");
    sp.add_webhook_endpoint(&acme.id, &acme_receiver.url, &[])
        .await
        .expect("the endpoint is registered");

    let alice = create_user(&sp, "alice").await;
    delete(&sp, &alice).await;
    assert_eq!(
        types(&default_receiver.take(2).await),
        [USER_CREATED, USER_DELETED]
    );

    let body = json!({"schemas": [USER_SCHEMA], "userName": "wile"});
    let (status, wile) = scim(&sp, &acme.token, Method::POST, "/Users", Some(body)).await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    // Acme's first event is its own write: the default organization's came before it.
    let first = acme_receiver.next().await;
    assert_eq!(subject(&first), id_of(&wile));
    assert_eq!(first.event()["data"]["organization_id"], acme.id.as_str());
    sp.shutdown().await;
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_webhook_id() {
    let sp = spawn_sp().await;
    let mut receiver = spawn_receiver(&[500, 500]).await;
    let endpoint = sp
        .add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[USER_CREATED])
        .await
        .expect("the endpoint is registered");
    let alice = create_user(&sp, "alice").await;
    let bob = create_user(&sp, "bob").await;

    let attempts = receiver.take(3).await;
    for attempt in &attempts {
        assert_eq!(subject(attempt), id_of(&alice));
        assert_eq!(
            attempt.header("webhook-id"),
            attempts[0].header("webhook-id")
        );
        assert_eq!(attempt.body, attempts[0].body);
        attempt.assert_signed_with(&endpoint.secret);
    }
    // Bob's event waits for alice's to be delivered.
    assert_eq!(subject(&receiver.next().await), id_of(&bob));
    sp.shutdown().await;
}

#[tokio::test]
async fn an_event_is_abandoned_after_five_failed_attempts() {
    let sp = spawn_sp().await;
    let mut receiver = spawn_receiver(&[503, 500, 502, 500, 500]).await;
    sp.add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[USER_CREATED])
        .await
        .expect("the endpoint is registered");
    let alice = create_user(&sp, "alice").await;
    let bob = create_user(&sp, "bob").await;

    let attempts = receiver.take(5).await;
    assert!(
        attempts
            .iter()
            .all(|attempt| subject(attempt) == id_of(&alice))
    );
    assert_eq!(subject(&receiver.next().await), id_of(&bob));
    sp.shutdown().await;
}

#[tokio::test]
async fn an_endpoint_survives_a_restart() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let database = DatabaseLocation::File(directory.path().join("sp.db"));
    let mut receiver = spawn_receiver(&[]).await;
    let first = start_sp(database.clone()).await;
    let endpoint = first
        .add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[USER_CREATED])
        .await
        .expect("the endpoint is registered");
    let listed = first.webhook_endpoints(DEFAULT_ORGANIZATION_ID);
    first.shutdown().await;

    let second = start_sp(database).await;
    assert_eq!(second.webhook_endpoints(DEFAULT_ORGANIZATION_ID), listed);
    let alice = create_user(&second, "alice").await;
    let delivery = receiver.next().await;
    assert_eq!(subject(&delivery), id_of(&alice));
    delivery.assert_signed_with(&endpoint.secret);
    second.shutdown().await;
}

#[tokio::test]
async fn the_verifier_refuses_tampered_foreign_stale_future_and_incomplete_deliveries() {
    let sp = spawn_sp().await;
    let mut receiver = spawn_receiver(&[]).await;
    let endpoint = sp
        .add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[])
        .await
        .expect("the endpoint is registered");
    let other_receiver = spawn_receiver(&[]).await;
    let other = sp
        .add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &other_receiver.url, &[])
        .await
        .expect("another endpoint");
    create_user(&sp, "alice").await;
    let delivery = receiver.next().await;
    let signed_at = delivery.signed_at();
    let (secret, headers, body) = (&endpoint.secret, &delivery.headers, &delivery.body[..]);
    assert_eq!(verify_webhook(secret, headers, body, signed_at), Ok(()));

    let tampered = String::from_utf8_lossy(body).replace("alice", "mallory");
    assert_eq!(
        verify_webhook(secret, headers, tampered.as_bytes(), signed_at),
        Err(WebhookError::SignatureMismatch)
    );
    assert_eq!(
        verify_webhook(&other.secret, headers, body, signed_at),
        Err(WebhookError::SignatureMismatch)
    );
    let (ten_minutes, timestamp) = (TimeDelta::minutes(10), signed_at.timestamp());
    assert_eq!(
        verify_webhook(secret, headers, body, signed_at + ten_minutes),
        Err(WebhookError::TimestampTooOld {
            timestamp,
            now: timestamp + 600
        })
    );
    assert_eq!(
        verify_webhook(secret, headers, body, signed_at - ten_minutes),
        Err(WebhookError::TimestampTooNew {
            timestamp,
            now: timestamp - 600
        })
    );
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut without = headers.clone();
        without.remove(name);
        assert_eq!(
            verify_webhook(secret, &without, body, signed_at),
            Err(WebhookError::MissingHeader(name))
        );
    }
    assert_eq!(
        verify_webhook("not-a-secret", headers, body, signed_at),
        Err(WebhookError::MalformedSecret)
    );
    sp.shutdown().await;
}

#[tokio::test]
async fn endpoints_are_listed_removed_and_checked_when_registered() {
    let sp = spawn_sp().await;
    let first = sp
        .add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, "https://example.com/a", &[])
        .await
        .expect("the endpoint is registered");
    let second = sp
        .add_webhook_endpoint(
            DEFAULT_ORGANIZATION_ID,
            "http://127.0.0.1:9/b",
            &[GROUP_UPDATED, GROUP_UPDATED],
        )
        .await
        .expect("the endpoint is registered");
    let listed = sp.webhook_endpoints(DEFAULT_ORGANIZATION_ID);
    assert_eq!(
        listed
            .iter()
            .map(|endpoint| (endpoint.id.as_str(), endpoint.url.as_str()))
            .collect::<Vec<_>>(),
        [
            (first.id.as_str(), "https://example.com/a"),
            (second.id.as_str(), "http://127.0.0.1:9/b")
        ]
    );
    assert_eq!(
        listed[1].events,
        [GROUP_UPDATED],
        "repeated types count once"
    );
    assert_ne!(first.secret, second.secret);

    sp.remove_webhook_endpoint(&first.id)
        .await
        .expect("the endpoint is removed");
    assert_eq!(
        sp.webhook_endpoints(DEFAULT_ORGANIZATION_ID)
            .iter()
            .map(|endpoint| endpoint.id.as_str())
            .collect::<Vec<_>>(),
        [second.id.as_str()]
    );
    assert!(matches!(
        sp.remove_webhook_endpoint(&first.id).await,
        Err(SpError::UnknownWebhookEndpoint(id)) if id == first.id
    ));
    for (url, events) in [
        ("ftp://example.com/hook", &[][..]),
        ("not a url", &[][..]),
        (
            "https://example.com/hook",
            &["organization.directory.user_renamed"][..],
        ),
    ] {
        let refused = sp
            .add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, url, events)
            .await;
        assert!(
            matches!(refused, Err(SpError::InvalidWebhookEndpoint(_))),
            "{url} {events:?}: {refused:?}"
        );
    }
    assert!(matches!(
        sp.add_webhook_endpoint("no-such-organization", "https://example.com/hook", &[])
            .await,
        Err(SpError::UnknownOrganization(_))
    ));
    sp.shutdown().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_delivery_being_retried() {
    let sp = spawn_sp().await;
    let mut receiver = spawn_receiver(&[500]).await;
    sp.add_webhook_endpoint(DEFAULT_ORGANIZATION_ID, &receiver.url, &[])
        .await
        .expect("the endpoint is registered");
    sp.set_webhook_retry_delay(Duration::from_secs(3600));
    create_user(&sp, "alice").await;
    // The first attempt failed; the next one is an hour away.
    receiver.next().await;
    tokio::time::timeout(Duration::from_secs(10), sp.shutdown())
        .await
        .expect("the SP shuts down without waiting for the retry");
}
