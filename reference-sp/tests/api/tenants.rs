//! Organizations: their data is separate, and each has its own deletion policy.

use crate::support::{group, id_of, member_values, send, spawn_sp, user};
use idpsim_reference_sp::{DEFAULT_ORGANIZATION_ID, DeletionPolicy};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn organizations_never_see_each_others_users() {
    let sp = spawn_sp().await;
    let acme = sp.sp.create_organization("Acme").await.expect("Acme");
    let globex = sp.sp.create_organization("Globex").await.expect("Globex");
    let at_acme = send(sp.request_with(&acme.token, Method::POST, "/Users", &user("alice")))
        .await
        .expect(StatusCode::CREATED);
    let path = format!("/Users/{}", id_of(&at_acme));
    send(sp.request_as(&globex.token, Method::GET, &path))
        .await
        .assert_scim_error(404, None);
    send(sp.request_with(&globex.token, Method::PUT, &path, &user("alice")))
        .await
        .assert_scim_error(404, None);
    send(sp.request_as(&globex.token, Method::DELETE, &path))
        .await
        .assert_scim_error(404, None);
    // A Globex group cannot list an Acme user.
    send(sp.request_with(
        &globex.token,
        Method::POST,
        "/Groups",
        &group("staff", &[id_of(&at_acme)]),
    ))
    .await
    .assert_scim_error(400, Some("invalidValue"));
    for token in [&globex.token, &sp.token] {
        let listed = send(sp.request_as(token, Method::GET, "/Users"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(listed["totalResults"], json!(0));
        let searched = send(
            sp.request_as(token, Method::GET, "/Users")
                .query(&[("filter", "userName eq \"alice\"")]),
        )
        .await
        .expect(StatusCode::OK);
        assert_eq!(searched["totalResults"], json!(0));
    }
    let at_globex = send(sp.request_with(&globex.token, Method::POST, "/Users", &user("ALICE")))
        .await
        .expect(StatusCode::CREATED);
    assert_ne!(id_of(&at_globex), id_of(&at_acme));
    let still = send(sp.request_as(&acme.token, Method::GET, &path))
        .await
        .expect(StatusCode::OK);
    assert_eq!(still, at_acme);
}

#[tokio::test]
async fn deactivate_policy_keeps_the_user_inactive_with_its_memberships() {
    let sp = spawn_sp().await;
    sp.sp
        .set_deletion_policy(DEFAULT_ORGANIZATION_ID, DeletionPolicy::Deactivate)
        .await
        .expect("the policy is set");
    let alice = sp.create_user("alice").await;
    let staff = sp.create_group("staff", &[id_of(&alice)]).await;
    let path = format!("/Users/{}", id_of(&alice));
    let deleted = sp.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let kept = sp.get(&path).await.expect(StatusCode::OK);
    assert_eq!(kept["active"], json!(false));
    assert_eq!(kept["groups"][0]["value"], json!(id_of(&staff)));
    let staff_now = sp.reread(&staff).await;
    assert_eq!(member_values(&staff_now), vec![id_of(&alice).to_owned()]);
    // Groups are still deleted: the policy is about users.
    let group_deleted = sp.delete(&format!("/Groups/{}", id_of(&staff))).await;
    assert_eq!(group_deleted.status, StatusCode::NO_CONTENT);
    sp.get(&format!("/Groups/{}", id_of(&staff)))
        .await
        .assert_scim_error(404, None);
}

#[tokio::test]
async fn deletion_policy_of_one_organization_leaves_the_others_alone() {
    let sp = spawn_sp().await;
    let acme = sp.sp.create_organization("Acme").await.expect("Acme");
    sp.sp
        .set_deletion_policy(&acme.id, DeletionPolicy::Deactivate)
        .await
        .expect("the policy is set");
    let alice = sp.create_user("alice").await;
    let path = format!("/Users/{}", id_of(&alice));
    assert_eq!(sp.delete(&path).await.status, StatusCode::NO_CONTENT);
    sp.get(&path).await.assert_scim_error(404, None);
    assert!(
        sp.sp
            .set_deletion_policy("no-such-organization", DeletionPolicy::Delete)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_start_with_another_bootstrap_token_replaces_the_previous_one_only() {
    use crate::support::start_sp;
    use idpsim_reference_sp::{DatabaseLocation, RunningSp, SpConfig, TokenRole};
    let directory = tempfile::tempdir().expect("a temporary directory");
    let database = DatabaseLocation::File(directory.path().join("sp.db"));
    let first = start_sp(database.clone(), Some("first-token")).await;
    let issued = first
        .sp
        .issue_token(DEFAULT_ORGANIZATION_ID, TokenRole::ReadOnly)
        .await
        .expect("a token");
    let globex = first
        .sp
        .create_organization("Globex")
        .await
        .expect("Globex");
    first.sp.shutdown().await;

    let second = start_sp(database.clone(), Some("second-token")).await;
    let status_with = |token: String| {
        let request = second.request_as(&token, Method::GET, "/Users");
        async move { send(request).await.status }
    };
    assert_eq!(
        status_with("first-token".into()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status_with("second-token".into()).await, StatusCode::OK);
    assert_eq!(
        status_with(issued).await,
        StatusCode::OK,
        "issued tokens stay"
    );
    second.sp.shutdown().await;

    // Another organization's token is not taken for the default one's.
    let refused = RunningSp::start(SpConfig {
        database,
        bootstrap_token: Some(globex.token),
        ..SpConfig::ephemeral()
    })
    .await;
    let Err(error) = refused else {
        panic!("the SP started with another organization's token");
    };
    assert!(
        error
            .to_string()
            .contains("already a token of organization"),
        "{error}"
    );
}
