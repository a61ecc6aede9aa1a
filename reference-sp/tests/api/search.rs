//! `POST /.search` at the root (RFC 7644 §3.4.3) and per resource type, with projection and
//! paging.

use crate::support::{GROUP_SCHEMA, SEARCH_SCHEMA, USER_SCHEMA, spawn_sp};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn search(filter: &str) -> Value {
    json!({"schemas": [SEARCH_SCHEMA], "filter": filter})
}

fn resource_types(list: &Value) -> Vec<&str> {
    let mut types: Vec<&str> = list["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|resource| resource["meta"]["resourceType"].as_str())
        .collect();
    types.sort_unstable();
    types
}

#[tokio::test]
async fn root_search_on_user_name_returns_only_users() {
    let sp = spawn_sp().await;
    sp.create_user("alice").await;
    sp.create_user("bob").await;
    sp.create_group("alice", &[]).await;
    let found = sp
        .post("/.search", &search("userName sw \"a\""))
        .await
        .expect(StatusCode::OK);
    assert_eq!(found["totalResults"], json!(1));
    assert_eq!(resource_types(&found), ["User"]);
    assert_eq!(found["Resources"][0]["userName"], "alice");
}

#[tokio::test]
async fn root_search_on_external_id_returns_both_types() {
    let sp = spawn_sp().await;
    sp.post(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "alice", "externalId": "shared"}),
    )
    .await
    .expect(StatusCode::CREATED);
    sp.post(
        "/Groups",
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "staff", "externalId": "shared"}),
    )
    .await
    .expect(StatusCode::CREATED);
    sp.create_user("bob").await;
    let found = sp
        .post("/.search", &search("externalId eq \"shared\""))
        .await
        .expect(StatusCode::OK);
    assert_eq!(found["totalResults"], json!(2));
    assert_eq!(resource_types(&found), ["Group", "User"]);
}

#[tokio::test]
async fn root_search_with_an_attribute_no_type_has_is_400() {
    let sp = spawn_sp().await;
    sp.post("/.search", &search("favouriteColour eq \"blue\""))
        .await
        .assert_scim_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn resource_search_pages_and_projects() {
    let sp = spawn_sp().await;
    for name in ["carol", "alice", "bob"] {
        sp.create_user(name).await;
    }
    let page = sp
        .post(
            "/Users/.search",
            &json!({
                "schemas": [SEARCH_SCHEMA],
                "sortBy": "userName",
                "startIndex": 2,
                "count": 1,
                "attributes": ["userName"],
            }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["totalResults"], json!(3));
    assert_eq!(page["itemsPerPage"], json!(1));
    let only = &page["Resources"][0];
    assert_eq!(only["userName"], "bob");
    assert!(only.get("meta").is_none(), "{only:#}");
    assert!(only["id"].is_string());
}
