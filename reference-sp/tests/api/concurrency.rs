//! Concurrent writes: the single writer serialises them, so no update is lost, and a request
//! that fails inside a commit group leaves the others of its group intact.

use crate::support::{id_of, member_values, patch, send, spawn_sp_on_file, user};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_member_adds_lose_no_update() {
    let (sp, _directory) = spawn_sp_on_file().await;
    let sp = Arc::new(sp);
    let mut user_ids = Vec::new();
    for n in 0..8 {
        user_ids.push(id_of(&sp.create_user(&format!("member-{n}")).await).to_owned());
    }
    let team = sp.create_group("team", &[]).await;
    let path = format!("/Groups/{}", id_of(&team));
    let mut adds = JoinSet::new();
    for user_id in user_ids.clone() {
        let (sp, path) = (Arc::clone(&sp), path.clone());
        adds.spawn(async move {
            let body = patch(json!([
                {"op": "Add", "path": "members", "value": [{"value": user_id}]}
            ]));
            send(sp.request_with(&sp.token, Method::PATCH, &path, &body)).await
        });
    }
    while let Some(reply) = adds.join_next().await {
        reply.expect("the request task").expect(StatusCode::OK);
    }
    let team_now = sp.get(&path).await.expect(StatusCode::OK);
    user_ids.sort();
    assert_eq!(member_values(&team_now), user_ids);
    // Every acknowledged add is durable, whichever commit group it was in.
    let sp = Arc::into_inner(sp)
        .expect("no request task holds the SP")
        .restart()
        .await;
    let team_after_restart = sp.get(&path).await.expect(StatusCode::OK);
    assert_eq!(member_values(&team_after_restart), user_ids);
    assert_eq!(
        team_after_restart["meta"]["version"],
        team_now["meta"]["version"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_accept_each_user_name_once() {
    let (sp, _directory) = spawn_sp_on_file().await;
    let sp = Arc::new(sp);
    // 50 creates of 42 names: the first 8 names are sent a second time, in upper case.
    let names: Vec<String> = (0..50)
        .map(|n| match n {
            0..42 => format!("person-{n}"),
            _ => format!("PERSON-{}", n - 42),
        })
        .collect();
    let mut creates = JoinSet::new();
    for name in names {
        let sp = Arc::clone(&sp);
        creates.spawn(async move {
            let reply =
                send(sp.request_with(&sp.token, Method::POST, "/Users", &user(&name))).await;
            (name.to_lowercase(), reply)
        });
    }
    let mut created: HashMap<String, String> = HashMap::new();
    let mut conflicts = 0;
    while let Some(outcome) = creates.join_next().await {
        let (name, reply) = outcome.expect("the request task");
        if reply.status == StatusCode::CONFLICT {
            reply.assert_scim_error(409, Some("uniqueness"));
            conflicts += 1;
            continue;
        }
        let body = reply.expect(StatusCode::CREATED);
        let previous = created.insert(name.clone(), id_of(&body).to_owned());
        assert!(previous.is_none(), "{name} was created twice");
    }
    assert_eq!(created.len(), 42);
    assert_eq!(conflicts, 8);
    let listed = send(sp.request(Method::GET, "/Users").query(&[("count", "100")]))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(42));
    let mut listed_names: Vec<String> = listed["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|user| user["userName"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    listed_names.sort();
    let mut expected: Vec<String> = created.keys().cloned().collect();
    expected.sort();
    assert_eq!(listed_names, expected);
    // The 409s inside a commit group did not undo the creates beside them.
    let sp = Arc::into_inner(sp)
        .expect("no request task holds the SP")
        .restart()
        .await;
    for (name, id) in &created {
        let fetched = sp.get(&format!("/Users/{id}")).await.expect(StatusCode::OK);
        assert_eq!(
            fetched["userName"].as_str().map(str::to_lowercase).as_ref(),
            Some(name)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_with_the_same_if_match_let_exactly_one_win() {
    // RFC 7644 §3.14: of writes that all name the same version, only the first applies.
    let (sp, _directory) = spawn_sp_on_file().await;
    let sp = Arc::new(sp);
    let alice = sp.create_user("alice").await;
    let path = format!("/Users/{}", id_of(&alice));
    let version = alice["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut writes = JoinSet::new();
    for n in 0..8 {
        let (sp, path, version) = (Arc::clone(&sp), path.clone(), version.clone());
        writes.spawn(async move {
            let body =
                patch(json!([{"op": "replace", "path": "title", "value": format!("title {n}")}]));
            send(
                sp.request_with(&sp.token, Method::PATCH, &path, &body)
                    .header("if-match", version),
            )
            .await
        });
    }
    let mut winners = Vec::new();
    while let Some(reply) = writes.join_next().await {
        let reply = reply.expect("the request task");
        if reply.status == StatusCode::OK {
            winners.push(reply.body);
        } else {
            reply.assert_scim_error(412, None);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:#?}");
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), winners[0]);
}
