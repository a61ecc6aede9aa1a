//! `/Groups`: members reference users of the organization (RFC 7643 §4.2), and each user's
//! read-only `groups` follows its memberships (RFC 7643 §4.1.2).

use crate::support::{group, id_of, member_values, patch, spawn_sp, version_of};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn group_members_must_exist() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    sp.post(
        "/Groups",
        &group("ghosts", &[id_of(&alice), "no-such-user"]),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    let staff = sp.create_group("staff", &[id_of(&alice)]).await;
    let path = format!("/Groups/{}", id_of(&staff));
    sp.patch(
        &path,
        &patch(json!([{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}])),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    assert_eq!(sp.get(&path).await.expect(StatusCode::OK), staff);
    let groups = sp.get("/Groups").await.expect(StatusCode::OK);
    assert_eq!(groups["totalResults"], json!(1));
}

#[tokio::test]
async fn group_members_carry_ref_type_and_display() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let admins = sp.create_group("admins", &[]).await;
    let staff = sp
        .create_group("staff", &[id_of(&alice), id_of(&admins)])
        .await;
    let members = staff["members"].as_array().expect("members");
    let member = |id: &str| {
        members
            .iter()
            .find(|member| member["value"] == id)
            .unwrap_or_else(|| panic!("{id} is not a member of {staff:#}"))
    };
    let alice_member = member(id_of(&alice));
    assert_eq!(alice_member["type"], "User");
    assert_eq!(alice_member["display"], "alice");
    assert_eq!(
        alice_member["$ref"],
        json!(sp.url(&format!("/Users/{}", id_of(&alice))))
    );
    let admins_member = member(id_of(&admins));
    assert_eq!(admins_member["type"], "Group");
    assert_eq!(admins_member["display"], "admins");
    assert_eq!(
        admins_member["$ref"],
        json!(sp.url(&format!("/Groups/{}", id_of(&admins))))
    );
}

#[tokio::test]
async fn user_groups_reflect_memberships() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    assert!(alice.get("groups").is_none());
    let staff = sp.create_group("staff", &[id_of(&alice)]).await;
    let user_path = format!("/Users/{}", id_of(&alice));
    let seen = sp.get(&user_path).await.expect(StatusCode::OK);
    assert_eq!(
        seen["groups"],
        json!([{
            "value": id_of(&staff),
            "$ref": sp.url(&format!("/Groups/{}", id_of(&staff))),
            "display": "staff",
            "type": "direct",
        }])
    );
    let listed = sp
        .filter("/Users", &format!("groups.value eq \"{}\"", id_of(&staff)))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["Resources"], json!([seen]));
    sp.patch(
        &format!("/Groups/{}", id_of(&staff)),
        &patch(
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", id_of(&alice))}]),
        ),
    )
    .await
    .expect(StatusCode::OK);
    let after = sp.get(&user_path).await.expect(StatusCode::OK);
    assert!(after.get("groups").is_none(), "{after:#}");
}

#[tokio::test]
async fn deleting_a_user_removes_it_from_its_groups() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let bob = sp.create_user("bob").await;
    let staff = sp
        .create_group("staff", &[id_of(&alice), id_of(&bob)])
        .await;
    let solo = sp.create_group("solo", &[id_of(&alice)]).await;
    let deleted = sp.delete(&format!("/Users/{}", id_of(&alice))).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let staff_now = sp.reread(&staff).await;
    assert_eq!(member_values(&staff_now), vec![id_of(&bob).to_owned()]);
    assert_ne!(version_of(&staff_now), version_of(&staff));
    let solo_now = sp.reread(&solo).await;
    assert!(solo_now.get("members").is_none(), "{solo_now:#}");
    assert_ne!(version_of(&solo_now), version_of(&solo));
}

#[tokio::test]
async fn adding_a_member_twice_changes_nothing() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let staff = sp.create_group("staff", &[id_of(&alice)]).await;
    let again = sp
        .patch(
            &format!("/Groups/{}", id_of(&staff)),
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": id_of(&alice)}]}])),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(member_values(&again), vec![id_of(&alice).to_owned()]);
    assert_eq!(version_of(&again), version_of(&staff));
}

#[tokio::test]
async fn deleting_a_group_removes_it_from_its_members_groups() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let staff = sp.create_group("staff", &[id_of(&alice)]).await;
    let deleted = sp.delete(&format!("/Groups/{}", id_of(&staff))).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let alice_now = sp.reread(&alice).await;
    assert!(alice_now.get("groups").is_none(), "{alice_now:#}");
}

#[tokio::test]
async fn deleting_a_nested_group_removes_it_from_its_parent() {
    let sp = spawn_sp().await;
    let admins = sp.create_group("admins", &[]).await;
    let staff = sp.create_group("staff", &[id_of(&admins)]).await;
    let deleted = sp.delete(&format!("/Groups/{}", id_of(&admins))).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let staff_now = sp.reread(&staff).await;
    assert!(staff_now.get("members").is_none(), "{staff_now:#}");
    assert_ne!(version_of(&staff_now), version_of(&staff));
}

#[tokio::test]
async fn a_group_is_not_found_under_users_nor_a_user_under_groups() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let staff = sp.create_group("staff", &[id_of(&alice)]).await;
    sp.get(&format!("/Users/{}", id_of(&staff)))
        .await
        .assert_scim_error(404, None);
    sp.delete(&format!("/Groups/{}", id_of(&alice)))
        .await
        .assert_scim_error(404, None);
    // A member that claims the wrong type is refused.
    sp.post(
        "/Groups",
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "typed",
            "members": [{"value": id_of(&alice), "type": "Group"}],
        }),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    sp.patch(
        &format!("/Groups/{}", id_of(&staff)),
        &patch(json!([{"op": "add", "path": "members", "value": [{"value": id_of(&staff)}]}])),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn entra_member_removal_by_value_list_is_accepted() {
    // personas.md §1.1: Entra removes members with `Remove`, path `members` and a value list.
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let bob = sp.create_user("bob").await;
    let staff = sp
        .create_group("staff", &[id_of(&alice), id_of(&bob)])
        .await;
    let patched = sp
        .patch(
            &format!("/Groups/{}", id_of(&staff)),
            &patch(
                json!([{"op": "Remove", "path": "members", "value": [{"value": id_of(&alice)}]}]),
            ),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(member_values(&patched), vec![id_of(&bob).to_owned()]);
}
