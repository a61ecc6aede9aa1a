//! Limits, malformed requests and atomic failure (RFC 7644 §3.4.2, §3.12), with snapshots of
//! the error bodies clients read.

use crate::support::{
    BULK_SCHEMA, TestSp, USER_SCHEMA, bulk_post_user, id_of, patch, send, spawn_sp, user,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A well-formed User just over the 1 MiB the SP accepts.
fn oversized_user() -> Value {
    let padding = "x".repeat(1024 * 1024);
    json!({"schemas": [USER_SCHEMA], "userName": "big", "title": padding})
}

/// Creates `count` users in one bulk request.
async fn create_users_in_bulk(sp: &TestSp, count: usize) {
    let operations: Vec<Value> = (0..count)
        .map(|n| bulk_post_user(&format!("u{n}"), &format!("user-{n:03}")))
        .collect();
    let answer = sp
        .post(
            "/Bulk",
            &json!({"schemas": [BULK_SCHEMA], "Operations": operations}),
        )
        .await
        .expect(StatusCode::OK);
    let statuses: Vec<&Value> = answer["Operations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|operation| &operation["status"])
        .collect();
    assert_eq!(statuses, vec![&json!("201"); count]);
}

#[tokio::test]
async fn body_over_one_mebibyte_is_413() {
    let sp = spawn_sp().await;
    let reply = sp.post("/Users", &oversized_user()).await;
    reply.assert_scim_error(413, None);
    insta::assert_json_snapshot!("error_413_payload_too_large", reply.body);
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(0));
}

#[tokio::test]
async fn a_declared_length_over_one_mebibyte_is_413_before_the_body_arrives() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let sp = spawn_sp().await;
    let mut stream = tokio::net::TcpStream::connect(sp.sp.address())
        .await
        .expect("the SP accepts connections");
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 10000000000\r\n\r\n{{\"userName\"",
        sp.token
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("the head is sent");
    // The client keeps the connection open and sends nothing more: the answer must not wait
    // for the rest of the declared body.
    let read_head = async {
        let mut answer = Vec::new();
        let mut buffer = [0_u8; 4096];
        while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).await.expect("the answer is read");
            assert_ne!(read, 0, "the connection closed without an answer");
            answer.extend_from_slice(&buffer[..read]);
        }
        answer
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), read_head)
        .await
        .expect("the SP answers without waiting for the declared body");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/scim+json"), "{answer}");
}

#[tokio::test]
async fn malformed_json_is_400_invalid_syntax() {
    let sp = spawn_sp().await;
    for body in ["{\"userName\": ", "not json", "", "{\"userName\": \"a\"}}"] {
        let reply = send(
            sp.request(Method::POST, "/Users")
                .header("content-type", "application/scim+json")
                .body(body),
        )
        .await;
        reply.assert_scim_error(400, Some("invalidSyntax"));
    }
}

#[tokio::test]
async fn count_above_max_results_is_capped() {
    let sp = spawn_sp().await;
    create_users_in_bulk(&sp, 205).await;
    let page = send(
        sp.request(Method::GET, "/Users")
            .query(&[("count", "1000")]),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(page["totalResults"], json!(205));
    assert_eq!(page["itemsPerPage"], json!(200));
    assert_eq!(page["Resources"].as_array().map(Vec::len), Some(200));
    let rest = send(
        sp.request(Method::GET, "/Users")
            .query(&[("startIndex", "201"), ("count", "1000")]),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(rest["itemsPerPage"], json!(5));
    assert_eq!(rest["startIndex"], json!(201));
}

#[tokio::test]
async fn bad_filter_is_400_invalid_filter() {
    let sp = spawn_sp().await;
    sp.create_user("alice").await;
    for filter in [
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "userName eq \"a",
    ] {
        sp.filter("/Users", filter)
            .await
            .assert_scim_error(400, Some("invalidFilter"));
    }
    let reply = sp.filter("/Users", "userName eq").await;
    insta::assert_json_snapshot!("error_400_invalid_filter", reply.body);
}

#[tokio::test]
async fn filter_on_an_unknown_attribute_is_400_even_when_the_organization_is_empty() {
    let sp = spawn_sp().await;
    for path in ["/Users", "/Groups"] {
        sp.filter(path, "favouriteColour eq \"blue\"")
            .await
            .assert_scim_error(400, Some("invalidFilter"));
    }
    sp.filter("/Groups", "userName eq \"alice\"")
        .await
        .assert_scim_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn patch_whose_second_operation_fails_changes_nothing() {
    let sp = spawn_sp().await;
    let created = sp.create_user("alice").await;
    let path = format!("/Users/{}", id_of(&created));
    sp.patch(
        &path,
        &patch(json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "active", "value": "maybe"},
        ])),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), created);
}

#[tokio::test]
async fn put_with_a_wrong_type_changes_nothing() {
    let sp = spawn_sp().await;
    let created = sp.create_user("alice").await;
    let path = format!("/Users/{}", id_of(&created));
    sp.put(
        &path,
        &json!({"schemas": [USER_SCHEMA], "userName": "renamed", "active": 12}),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), created);
}

#[tokio::test]
async fn unknown_user_is_404() {
    let sp = spawn_sp().await;
    let reply = sp.get("/Users/no-such-user").await;
    reply.assert_scim_error(404, None);
    insta::assert_json_snapshot!("error_404_not_found", reply.body);
}

#[tokio::test]
async fn taken_user_name_is_409() {
    let sp = spawn_sp().await;
    let holder = sp.create_user("alice").await;
    let mut reply = sp.post("/Users", &user("ALICE")).await;
    reply.assert_scim_error(409, Some("uniqueness"));
    // The detail names the holder; its id is random.
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    reply.body["detail"] = json!(detail.replace(id_of(&holder), "[holder id]"));
    insta::assert_json_snapshot!("error_409_uniqueness", reply.body);
}

#[tokio::test]
async fn stale_if_match_is_412() {
    let sp = spawn_sp().await;
    let created = sp.create_user("alice").await;
    let reply = send(
        sp.request(Method::DELETE, &format!("/Users/{}", id_of(&created)))
            .header("if-match", "W/\"41\""),
    )
    .await;
    reply.assert_scim_error(412, None);
    insta::assert_json_snapshot!("error_412_precondition_failed", reply.body);
}

#[tokio::test]
async fn missing_token_is_401() {
    let sp = spawn_sp().await;
    let reply = send(sp.client.get(sp.url("/Users"))).await;
    reply.assert_scim_error(401, None);
    insta::assert_json_snapshot!("error_401_unauthorized", reply.body);
}
