//! `GET /Users` and `GET /Groups`: filtering, paging, sorting and projection (RFC 7644
//! §3.4.2, §3.9).

use crate::support::{USER_SCHEMA, id_of, send, spawn_sp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn user_names(list: &Value) -> Vec<&str> {
    list["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|user| user["userName"].as_str())
        .collect()
}

#[tokio::test]
async fn lists_sort_and_page() {
    let sp = spawn_sp().await;
    for name in ["delta", "Alpha", "charlie", "bravo", "echo"] {
        sp.create_user(name).await;
    }
    let list = |query: &'static [(&'static str, &'static str)]| {
        send(sp.request(Method::GET, "/Users").query(query))
    };
    let sorted = list(&[("sortBy", "userName")]).await.expect(StatusCode::OK);
    assert_eq!(
        user_names(&sorted),
        ["Alpha", "bravo", "charlie", "delta", "echo"]
    );
    let page = list(&[
        ("sortBy", "userName"),
        ("sortOrder", "descending"),
        ("startIndex", "2"),
        ("count", "2"),
    ])
    .await
    .expect(StatusCode::OK);
    assert_eq!(page["totalResults"], json!(5));
    assert_eq!(page["startIndex"], json!(2));
    assert_eq!(page["itemsPerPage"], json!(2));
    assert_eq!(user_names(&page), ["delta", "charlie"]);
    // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1; one past the end is an empty page.
    let from_zero = list(&[("sortBy", "userName"), ("startIndex", "0"), ("count", "1")])
        .await
        .expect(StatusCode::OK);
    assert_eq!(user_names(&from_zero), ["Alpha"]);
    let past_end = list(&[("startIndex", "6")]).await.expect(StatusCode::OK);
    assert_eq!(past_end["totalResults"], json!(5));
    assert_eq!(past_end["itemsPerPage"], json!(0));
    let count_only = list(&[("count", "0")]).await.expect(StatusCode::OK);
    assert_eq!(count_only["totalResults"], json!(5));
    assert!(user_names(&count_only).is_empty());
}

#[tokio::test]
async fn lists_filter_on_complex_and_computed_attributes() {
    let sp = spawn_sp().await;
    let alice = sp
        .post(
            "/Users",
            &json!({
                "schemas": [USER_SCHEMA],
                "userName": "alice",
                "emails": [
                    {"value": "alice@work.test", "type": "work"},
                    {"value": "alice@home.test", "type": "home"},
                ],
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    sp.create_user("bob").await;
    let staff = sp.create_group("Staff", &[id_of(&alice)]).await;
    let by_email = sp
        .filter("/Users", "emails[type eq \"work\" and value co \"@work\"]")
        .await
        .expect(StatusCode::OK);
    assert_eq!(user_names(&by_email), ["alice"]);
    let not_alice = sp
        .filter("/Users", "not (userName eq \"alice\") and userName pr")
        .await
        .expect(StatusCode::OK);
    assert_eq!(user_names(&not_alice), ["bob"]);
    let by_group_name = sp
        .filter("/Groups", "displayName eq \"staff\"")
        .await
        .expect(StatusCode::OK);
    assert_eq!(by_group_name["Resources"], json!([staff]));
    let by_member = sp
        .filter(
            "/Groups",
            &format!("members.value eq \"{}\"", id_of(&alice)),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(by_member["totalResults"], json!(1));
    let by_id = sp
        .filter("/Users", &format!("id eq \"{}\"", id_of(&alice)))
        .await
        .expect(StatusCode::OK);
    assert_eq!(user_names(&by_id), ["alice"]);
    let created_since = sp
        .filter(
            "/Users",
            &format!(
                "meta.created ge \"{}\"",
                alice["meta"]["created"].as_str().unwrap_or_default()
            ),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(created_since["totalResults"], json!(2));
}

#[tokio::test]
async fn attributes_and_excluded_attributes_project_the_answer() {
    let sp = spawn_sp().await;
    let alice = sp
        .post(
            "/Users",
            &json!({
                "schemas": [USER_SCHEMA],
                "userName": "alice",
                "displayName": "Alice",
                "title": "Dr",
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    let path = format!("/Users/{}", id_of(&alice));
    let only_title = send(
        sp.request(Method::GET, &path)
            .query(&[("attributes", "title")]),
    )
    .await
    .expect(StatusCode::OK);
    // RFC 7643 §7: `id` is returned always.
    assert_eq!(only_title["id"], alice["id"]);
    assert_eq!(only_title["title"], "Dr");
    assert!(only_title.get("displayName").is_none(), "{only_title:#}");
    let without_title = send(
        sp.request(Method::GET, "/Users")
            .query(&[("excludedAttributes", "title,displayName")]),
    )
    .await
    .expect(StatusCode::OK);
    let listed = &without_title["Resources"][0];
    assert!(listed.get("title").is_none() && listed.get("displayName").is_none());
    assert_eq!(listed["userName"], "alice");
    let staff = sp.create_group("staff", &[id_of(&alice)]).await;
    let group_only = send(
        sp.request(Method::GET, &format!("/Groups/{}", id_of(&staff)))
            .query(&[("excludedAttributes", "members")]),
    )
    .await
    .expect(StatusCode::OK);
    assert!(group_only.get("members").is_none(), "{group_only:#}");
    assert_eq!(group_only["displayName"], "staff");
}
