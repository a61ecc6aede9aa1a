//! Bearer tokens (RFC 7644 §2, RFC 6750): 401 without a valid one, 403 for writes with a
//! read-only one, and rotation that takes effect at once.

use crate::support::{BULK_SCHEMA, id_of, patch, send, spawn_sp, user};
use idpsim_reference_sp::{DEFAULT_ORGANIZATION_ID, TokenRole};
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn requests_without_a_valid_bearer_token_are_401() {
    let sp = spawn_sp().await;
    let unauthenticated = [
        sp.client.get(sp.url("/Users")),
        sp.client
            .get(sp.url("/Users"))
            .bearer_auth("scim_not-a-token"),
        sp.client
            .get(sp.url("/Users"))
            .header("authorization", "Basic x"),
        sp.client
            .get(sp.url("/Users"))
            .header("authorization", "Bearer "),
        sp.client
            .get(sp.url("/Users"))
            .header("authorization", sp.token.as_str()),
        sp.client.get(sp.url("/ServiceProviderConfig")),
        sp.client.post(sp.url("/Users")).json(&user("intruder")),
        sp.client.get(sp.url("/Users")).header(
            "authorization",
            HeaderValue::from_bytes(b"Bearer \xff\xfe").expect("an obs-text header value"),
        ),
    ];
    for request in unauthenticated {
        let reply = send(request).await;
        reply.assert_scim_error(401, None);
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{reply:#?}");
    }
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(0));
    // RFC 6750 §3.1: `invalid_token` when a token was sent, no error code when none was.
    let wrong = send(
        sp.client
            .get(sp.url("/Users"))
            .bearer_auth("scim_not-a-token"),
    )
    .await;
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Bearer realm=\"idpsim\", error=\"invalid_token\"")
    );
    let missing = send(sp.client.get(sp.url("/Users"))).await;
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"idpsim\"")
    );
}

#[tokio::test]
async fn the_bearer_scheme_name_is_case_insensitive() {
    // RFC 7235 §2.1: auth schemes are case-insensitive.
    let sp = spawn_sp().await;
    let reply = send(
        sp.client
            .get(sp.url("/Users"))
            .header("authorization", format!("bearer {}", sp.token)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn read_only_token_reads_but_cannot_write() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let path = format!("/Users/{}", id_of(&alice));
    let reader = sp
        .sp
        .issue_token(DEFAULT_ORGANIZATION_ID, TokenRole::ReadOnly)
        .await
        .expect("a read-only token");
    for read in ["/Users", path.as_str(), "/Groups", "/ServiceProviderConfig"] {
        let reply = send(sp.request_as(&reader, Method::GET, read)).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {read}");
    }
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    let searched = send(sp.request_with(&reader, Method::POST, "/Users/.search", &search)).await;
    assert_eq!(searched.expect(StatusCode::OK)["totalResults"], json!(1));
    let writes = [
        (Method::POST, "/Users", user("bob")),
        (Method::PUT, path.as_str(), user("alice2")),
        (
            Method::PATCH,
            path.as_str(),
            patch(json!([{"op": "replace", "path": "active", "value": false}])),
        ),
        (Method::DELETE, path.as_str(), json!({})),
        (
            Method::POST,
            "/Bulk",
            json!({"schemas": [BULK_SCHEMA], "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("bob")}
            ]}),
        ),
    ];
    for (method, target, body) in writes {
        send(sp.request_with(&reader, method.clone(), target, &body))
            .await
            .assert_scim_error(403, None);
    }
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), alice);
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(1));
}

#[tokio::test]
async fn rotated_token_stops_working_at_once() {
    let sp = spawn_sp().await;
    let old = sp.token.clone();
    let new = sp
        .sp
        .rotate_token(DEFAULT_ORGANIZATION_ID, &old)
        .await
        .expect("rotation");
    assert_ne!(new, old);
    send(sp.request_as(&old, Method::GET, "/Users"))
        .await
        .assert_scim_error(401, None);
    let reply = send(sp.request_as(&new, Method::GET, "/Users")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        sp.sp
            .rotate_token(DEFAULT_ORGANIZATION_ID, &old)
            .await
            .is_err(),
        "a rotated token cannot be rotated again"
    );
}
