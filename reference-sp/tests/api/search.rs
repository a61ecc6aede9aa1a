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
async fn root_search_reads_an_attribute_one_type_lacks_as_no_value() {
    // RFC 7644 §3.4.2.1: "For filtered attributes that are not part of a particular resource
    // type, the service provider SHALL treat the attribute as if there is no attribute value."
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    sp.create_user("bob").await;
    let admins = sp
        .create_group("admins", &[alice["id"].as_str().unwrap()])
        .await;
    sp.create_group("staff", &[]).await;
    let groups_only = sp
        .post("/.search", &search("not (userName pr)"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(resource_types(&groups_only), ["Group", "Group"]);
    let either = sp
        .post(
            "/.search",
            &search("userName sw \"a\" or displayName sw \"a\""),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(resource_types(&either), ["Group", "User"]);
    assert!(
        either["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|resource| resource["id"] == admins["id"])
    );
    let everything = sp
        .post("/.search", &search("members pr or userName pr"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(everything["totalResults"], json!(3));
    let not_equal = sp
        .post("/.search", &search("userName ne \"alice\""))
        .await
        .expect(StatusCode::OK);
    assert_eq!(resource_types(&not_equal), ["Group", "Group", "User"]);
}

#[tokio::test]
async fn root_search_sorted_by_an_attribute_one_type_lacks_keeps_the_other_type_last() {
    let sp = spawn_sp().await;
    sp.create_group("zeta", &[]).await;
    sp.create_user("bob").await;
    sp.create_user("alice").await;
    let sorted = sp
        .post(
            "/.search",
            &json!({"schemas": [SEARCH_SCHEMA], "sortBy": "userName"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(sorted["totalResults"], json!(3));
    let order: Vec<&str> = sorted["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| {
            resource["userName"]
                .as_str()
                .or(resource["displayName"].as_str())
                .unwrap()
        })
        .collect();
    assert_eq!(order, ["alice", "bob", "zeta"]);
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
