//! `If-Match` and `If-None-Match` against `meta.version` (RFC 7644 §3.14).

use crate::support::{USER_SCHEMA, id_of, patch, send, spawn_sp, version_of};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

#[tokio::test]
async fn if_match_with_a_stale_version_is_412_and_changes_nothing() {
    let sp = spawn_sp().await;
    let created = sp.create_user("alice").await;
    let path = format!("/Users/{}", id_of(&created));
    let stale = version_of(&created).to_owned();
    let current = sp
        .patch(
            &path,
            &patch(json!([{"op": "replace", "path": "displayName", "value": "A"}])),
        )
        .await
        .expect(StatusCode::OK);
    let replace = json!({"schemas": [USER_SCHEMA], "userName": "alice", "title": "late"});
    let attempts = [
        sp.request_with(&sp.token, Method::PUT, &path, &replace),
        sp.request_with(
            &sp.token,
            Method::PATCH,
            &path,
            &patch(json!([{"op": "replace", "path": "title", "value": "late"}])),
        ),
        sp.request(Method::DELETE, &path),
    ];
    for attempt in attempts {
        send(attempt.header("if-match", &stale))
            .await
            .assert_scim_error(412, None);
    }
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), current);
}

#[tokio::test]
async fn if_match_with_the_current_version_applies_the_write() {
    let sp = spawn_sp().await;
    let created = sp.create_user("bob").await;
    let path = format!("/Users/{}", id_of(&created));
    let patched = send(
        sp.request_with(
            &sp.token,
            Method::PATCH,
            &path,
            &patch(json!([{"op": "replace", "path": "title", "value": "Builder"}])),
        )
        .header("if-match", version_of(&created)),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(patched["title"], "Builder");
    let deleted = send(
        sp.request(Method::DELETE, &path)
            .header("if-match", version_of(&patched)),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn if_none_match_with_the_current_version_is_304() {
    let sp = spawn_sp().await;
    let created = sp.create_user("carol").await;
    let path = format!("/Users/{}", id_of(&created));
    let cached = send(
        sp.request(Method::GET, &path)
            .header("if-none-match", version_of(&created)),
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert_eq!(cached.header("etag"), Some(version_of(&created)));
    assert!(cached.body.is_null());
    let stale = send(
        sp.request(Method::GET, &path)
            .header("if-none-match", "W/\"999\""),
    )
    .await;
    assert_eq!(stale.expect(StatusCode::OK), created);
}

#[tokio::test]
async fn a_users_version_changes_when_its_groups_change() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let staff = sp.create_group("staff", &[id_of(&alice)]).await;
    let member = sp.reread(&alice).await;
    assert_ne!(version_of(&member), version_of(&alice));
    let cached = send(
        sp.request(Method::GET, &format!("/Users/{}", id_of(&alice)))
            .header(header::IF_NONE_MATCH, version_of(&alice)),
    )
    .await;
    assert_eq!(
        cached.status,
        StatusCode::OK,
        "a copy without the group is stale"
    );
    assert_eq!(cached.body["groups"][0]["value"], staff["id"]);

    let renamed = sp
        .patch(
            &format!("/Groups/{}", id_of(&staff)),
            &patch(json!([{"op": "replace", "path": "displayName", "value": "crew"}])),
        )
        .await
        .expect(StatusCode::OK);
    let after_rename = sp.reread(&alice).await;
    assert_eq!(after_rename["groups"][0]["display"], renamed["displayName"]);
    assert_ne!(version_of(&after_rename), version_of(&member));

    sp.delete(&format!("/Groups/{}", id_of(&staff))).await;
    let after_delete = sp.reread(&alice).await;
    assert_eq!(version_of(&after_delete), version_of(&alice));
}
