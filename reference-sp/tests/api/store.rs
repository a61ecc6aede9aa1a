//! Durability: what a 2xx acknowledged is still there after a restart on the same file, and
//! so are the organizations, their tokens and their policies.

use crate::support::{id_of, member_values, send, spawn_sp_on_file, start_sp, user};
use idpsim_reference_sp::{DatabaseLocation, DeletionPolicy};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn data_and_bootstrap_token_survive_a_restart() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let database = DatabaseLocation::File(directory.path().join("sp.db"));
    let token = "restart-token";
    let first = start_sp(database.clone(), Some(token)).await;
    assert_eq!(first.token, token);
    let alice = first.create_user("alice").await;
    let bob = first.create_user("bob").await;
    let staff = first
        .create_group("staff", &[id_of(&alice), id_of(&bob)])
        .await;
    let gone = first.delete(&format!("/Users/{}", id_of(&bob))).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let staff = first.reread(&staff).await;
    let alice = first.reread(&alice).await;
    first.sp.shutdown().await;

    let second = start_sp(database, Some(token)).await;
    let alice_again = second
        .get(&format!("/Users/{}", id_of(&alice)))
        .await
        .expect(StatusCode::OK);
    assert_eq!(alice_again["userName"], "alice");
    // The second server listens on another port, so only `location` may differ.
    for field in ["version", "created", "lastModified"] {
        assert_eq!(alice_again["meta"][field], alice["meta"][field], "{field}");
    }
    assert_eq!(alice_again["groups"][0]["value"], staff["id"]);
    second
        .get(&format!("/Users/{}", id_of(&bob)))
        .await
        .assert_scim_error(404, None);
    let staff_again = second
        .get(&format!("/Groups/{}", id_of(&staff)))
        .await
        .expect(StatusCode::OK);
    assert_eq!(member_values(&staff_again), vec![id_of(&alice).to_owned()]);
    assert_eq!(staff_again["meta"]["version"], staff["meta"]["version"]);
    second
        .post("/Users", &user("ALICE"))
        .await
        .assert_scim_error(409, Some("uniqueness"));
    second.sp.shutdown().await;
}

#[tokio::test]
async fn organizations_tokens_and_policies_survive_a_restart() {
    let (mut sp, _directory) = spawn_sp_on_file().await;
    let acme = sp.sp.create_organization("Acme").await.expect("Acme");
    sp.sp
        .set_deletion_policy(&acme.id, DeletionPolicy::Deactivate)
        .await
        .expect("the policy is set");
    let alice = send(sp.request_with(&acme.token, Method::POST, "/Users", &user("alice")))
        .await
        .expect(StatusCode::CREATED);
    let rotated_away = sp.token.clone();
    let default_token = sp
        .sp
        .rotate_token(idpsim_reference_sp::DEFAULT_ORGANIZATION_ID, &rotated_away)
        .await
        .expect("rotation");
    sp.token = default_token.clone();

    let sp = sp.restart().await;
    let path = format!("/Users/{}", id_of(&alice));
    let deleted = send(sp.request_as(&acme.token, Method::DELETE, &path)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let kept = send(sp.request_as(&acme.token, Method::GET, &path))
        .await
        .expect(StatusCode::OK);
    assert_eq!(kept["active"], json!(false));
    send(sp.request_as(&rotated_away, Method::GET, "/Users"))
        .await
        .assert_scim_error(401, None);
    let listed = send(sp.request_as(&default_token, Method::GET, "/Users"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(0));
}
