//! `/Users`: create, read, replace, patch, delete (RFC 7644 §3.3-§3.6), userName uniqueness
//! and the externalId filter.

use crate::support::{
    SCIM_MEDIA_TYPE, USER_SCHEMA, id_of, patch, send, spawn_sp, spawn_sp_on_file, user, version_of,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn full_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "externalId": "ext-alice",
        "displayName": "Alice Liddell",
        "title": "Explorer",
        "name": {"givenName": "Alice", "familyName": "Liddell"},
        "emails": [{"value": "alice@example.test", "type": "work", "primary": true}],
    })
}

#[tokio::test]
async fn create_user_answers_201_with_location_and_etag() {
    let sp = spawn_sp().await;
    let reply = sp.post("/Users", &full_user("alice@example.test")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:#?}");
    crate::support::assert_scim_media_type(&reply);
    let created = &reply.body;
    let id = id_of(created);
    assert_eq!(created["userName"], "alice@example.test");
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(
        created["meta"]["location"],
        json!(sp.url(&format!("/Users/{id}")))
    );
    assert_eq!(
        reply.header("location"),
        created["meta"]["location"].as_str()
    );
    assert_eq!(reply.header("etag"), Some(version_of(created)));
    assert!(created["meta"]["created"].is_string());
    assert_eq!(created["meta"]["created"], created["meta"]["lastModified"]);
}

#[tokio::test]
async fn get_user_by_id_returns_what_was_created() {
    let sp = spawn_sp().await;
    let created = sp.create_user("bob").await;
    let reply = sp.get(&format!("/Users/{}", id_of(&created))).await;
    assert_eq!(reply.header("etag"), Some(version_of(&created)));
    assert_eq!(reply.expect(StatusCode::OK), created);
}

#[tokio::test]
async fn put_clears_omitted_attributes() {
    let sp = spawn_sp().await;
    let created = sp
        .post("/Users", &full_user("alice"))
        .await
        .expect(StatusCode::CREATED);
    let path = format!("/Users/{}", id_of(&created));
    let replaced = sp
        .put(
            &path,
            &json!({"schemas": [USER_SCHEMA], "userName": "alice", "title": "Queen"}),
        )
        .await
        .expect(StatusCode::OK);
    for cleared in ["externalId", "displayName", "name", "emails"] {
        assert!(
            replaced.get(cleared).is_none(),
            "{cleared} kept: {replaced:#}"
        );
    }
    assert_eq!(replaced["title"], "Queen");
    assert_ne!(version_of(&replaced), version_of(&created));
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), replaced);
}

#[tokio::test]
async fn patch_answers_200_with_the_patched_resource() {
    let sp = spawn_sp().await;
    let created = sp.create_user("carol").await;
    let path = format!("/Users/{}", id_of(&created));
    let reply = sp
        .patch(
            &path,
            &patch(json!([
                {"op": "replace", "path": "displayName", "value": "Carol C."},
                {
                    "op": "add",
                    "path": "emails",
                    "value": [{"value": "carol@example.test", "type": "work"}],
                },
            ])),
        )
        .await;
    assert_eq!(reply.header("etag"), reply.body["meta"]["version"].as_str());
    let patched = reply.expect(StatusCode::OK);
    assert_eq!(patched["displayName"], "Carol C.");
    assert_eq!(patched["emails"][0]["value"], "carol@example.test");
    assert_ne!(version_of(&patched), version_of(&created));
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), patched);
}

#[tokio::test]
async fn patch_accepts_entra_capitalised_op_and_string_boolean() {
    // personas.md §1.1: Entra sends `Replace` and the string "False" for `active`.
    let sp = spawn_sp().await;
    let created = sp.create_user("dave").await;
    let path = format!("/Users/{}", id_of(&created));
    let patched = sp
        .patch(
            &path,
            &patch(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["active"], json!(false));
}

#[tokio::test]
async fn delete_answers_204_then_the_user_is_gone() {
    let sp = spawn_sp().await;
    let created = sp.create_user("erin").await;
    let path = format!("/Users/{}", id_of(&created));
    let reply = sp.delete(&path).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_null());
    sp.get(&path).await.assert_scim_error(404, None);
    sp.delete(&path).await.assert_scim_error(404, None);
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(0));
}

#[tokio::test]
async fn user_name_is_unique_ignoring_case_on_post() {
    let sp = spawn_sp().await;
    sp.create_user("Frank@Example.test").await;
    sp.post("/Users", &user("frank@example.TEST"))
        .await
        .assert_scim_error(409, Some("uniqueness"));
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(1));
}

#[tokio::test]
async fn user_name_is_unique_ignoring_case_on_put() {
    let sp = spawn_sp().await;
    sp.create_user("grace").await;
    let other = sp.create_user("heidi").await;
    let path = format!("/Users/{}", id_of(&other));
    sp.put(&path, &user("GRACE"))
        .await
        .assert_scim_error(409, Some("uniqueness"));
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), other);
    // A user may change the case of its own userName.
    let renamed = sp.put(&path, &user("HEIDI")).await.expect(StatusCode::OK);
    assert_eq!(renamed["userName"], "HEIDI");
}

#[tokio::test]
async fn user_name_is_unique_ignoring_case_on_patch() {
    let sp = spawn_sp().await;
    sp.create_user("ivan").await;
    let other = sp.create_user("judy").await;
    let path = format!("/Users/{}", id_of(&other));
    sp.patch(
        &path,
        &patch(json!([{"op": "replace", "path": "userName", "value": "IVAN"}])),
    )
    .await
    .assert_scim_error(409, Some("uniqueness"));
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), other);
}

#[tokio::test]
async fn external_id_filter_finds_the_user() {
    let sp = spawn_sp().await;
    let alice = sp
        .post("/Users", &full_user("alice"))
        .await
        .expect(StatusCode::CREATED);
    sp.create_user("bob").await;
    let found = sp
        .filter("/Users", "externalId eq \"ext-alice\"")
        .await
        .expect(StatusCode::OK);
    assert_eq!(found["totalResults"], json!(1));
    assert_eq!(found["Resources"][0], alice);
    // externalId is caseExact (RFC 7643 §3.1).
    let none = sp
        .filter("/Users", "externalId eq \"EXT-ALICE\"")
        .await
        .expect(StatusCode::OK);
    assert_eq!(none["totalResults"], json!(0));
}

#[tokio::test]
async fn user_name_filter_ignores_case() {
    let sp = spawn_sp().await;
    let created = sp.create_user("Kim@Example.test").await;
    let found = sp
        .filter("/Users", "userName eq \"kim@example.TEST\"")
        .await
        .expect(StatusCode::OK);
    assert_eq!(found["Resources"], json!([created]));
}

#[tokio::test]
async fn requests_in_application_json_are_accepted() {
    let sp = spawn_sp().await;
    let reply = send(
        sp.request(Method::POST, "/Users")
            .header("content-type", "application/json")
            .body(user("leo").to_string()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:#?}");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|value| value.starts_with(SCIM_MEDIA_TYPE))
    );
    let path = format!("/Users/{}", id_of(&reply.body));
    let patched = send(
        sp.request(Method::PATCH, &path)
            .header("content-type", "application/json; charset=utf-8")
            .body(patch(json!([{"op": "replace", "path": "active", "value": false}])).to_string()),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(patched["active"], json!(false));
}

#[tokio::test]
async fn unsupported_methods_on_resource_endpoints_are_405_with_allow() {
    // RFC 9110 §15.5.6: a 405 lists the methods the endpoint supports.
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let user_path = format!("/Users/{}", id_of(&alice));
    for (method, path) in [
        (Method::PUT, "/Users"),
        (Method::DELETE, "/Groups"),
        (Method::PATCH, "/Users"),
        (Method::POST, user_path.as_str()),
        (Method::GET, "/Bulk"),
        (Method::GET, "/.search"),
    ] {
        let reply = send(sp.request_with(&sp.token, method.clone(), path, &user("x"))).await;
        reply.assert_scim_error(405, None);
        assert!(
            reply.header("allow").is_some(),
            "{method} {path}: {reply:#?}"
        );
    }
}

#[tokio::test]
async fn unknown_schema_or_attribute_is_400() {
    let sp = spawn_sp().await;
    let unknown_schema = json!({
        "schemas": [USER_SCHEMA, "urn:example:params:scim:schemas:extension:nothing:2.0:User"],
        "userName": "alice",
    });
    sp.post("/Users", &unknown_schema)
        .await
        .assert_scim_error(400, Some("invalidSyntax"));
    let no_core_schema =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "alice"});
    sp.post("/Users", &no_core_schema)
        .await
        .assert_scim_error(400, Some("invalidSyntax"));
    let unknown_attribute = json!({"schemas": [USER_SCHEMA], "userName": "alice", "shoeSize": 42});
    sp.post("/Users", &unknown_attribute)
        .await
        .assert_scim_error(400, Some("invalidSyntax"));
    let wrong_type = json!({"schemas": [USER_SCHEMA], "userName": ["alice"]});
    sp.post("/Users", &wrong_type)
        .await
        .assert_scim_error(400, Some("invalidValue"));
    let missing_user_name = json!({"schemas": [USER_SCHEMA], "displayName": "Alice"});
    sp.post("/Users", &missing_user_name)
        .await
        .assert_scim_error(400, Some("invalidValue"));
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(0));
}

#[tokio::test]
async fn a_password_is_checked_then_forgotten_and_cannot_be_filtered_or_sorted_on() {
    // RFC 7643 §4.1.1: the password "SHALL NOT be returnable"; the SP signs users in through
    // SSO, so it keeps none (README, "The reference SCIM server").
    let (sp, directory) = spawn_sp_on_file().await;
    let mut body = user("okta.user");
    body["password"] = json!("Zq9-first-secret");
    let created = sp.post("/Users", &body).await.expect(StatusCode::CREATED);
    assert!(created.get("password").is_none(), "{created:#}");
    let path = format!("/Users/{}", id_of(&created));
    let set = patch(json!([{"op": "replace", "path": "password", "value": "Zq9-second-secret"}]));
    let patched = sp.patch(&path, &set).await.expect(StatusCode::OK);
    assert!(patched.get("password").is_none(), "{patched:#}");
    body["password"] = json!("Zq9-third-secret");
    sp.put(&path, &body).await.expect(StatusCode::OK);
    let wrong_type = patch(json!([{"op": "replace", "path": "password", "value": 5}]));
    sp.patch(&path, &wrong_type)
        .await
        .assert_scim_error(400, Some("invalidValue"));
    for filter in [
        "password eq \"Zq9-third-secret\"",
        "password sw \"Z\"",
        "password pr",
        "userName pr and not (password gt \"a\")",
    ] {
        sp.filter("/Users", filter)
            .await
            .assert_scim_error(400, Some("invalidFilter"));
    }
    sp.get("/Users?sortBy=password")
        .await
        .assert_scim_error(400, Some("invalidValue"));
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert!(listed["Resources"][0].get("password").is_none());
    for file in std::fs::read_dir(directory.path()).unwrap() {
        let path = file.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(4).any(|window| window == b"Zq9-"),
            "{} holds a password",
            path.display()
        );
    }
}
