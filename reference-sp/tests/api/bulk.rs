//! `POST /Bulk` (RFC 7644 §3.7): bulkId references, failOnErrors, circular references and
//! the operation limit.

use crate::support::{
    BULK_SCHEMA, GROUP_SCHEMA, PATCH_SCHEMA, TestSp, bulk_post_user, id_of, member_values,
    spawn_sp, user,
};
use idpsim_reference_sp::{DEFAULT_ORGANIZATION_ID, DeletionPolicy};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn bulk_request(operations: Value) -> Value {
    json!({"schemas": [BULK_SCHEMA], "Operations": operations})
}

/// The operation results of a bulk response.
fn results(response: &Value) -> &[Value] {
    response["Operations"].as_array().map_or(&[], Vec::as_slice)
}

/// The result of the operation with this bulkId.
fn result_of<'r>(response: &'r Value, bulk_id: &str) -> &'r Value {
    results(response)
        .iter()
        .find(|result| result["bulkId"] == bulk_id)
        .unwrap_or_else(|| panic!("no result for bulkId {bulk_id}: {response:#}"))
}

/// The resource a successful result's `location` names, as it is now.
async fn fetch_created(sp: &TestSp, result: &Value) -> Value {
    let location = result["location"].as_str().expect("a location");
    let path = location
        .strip_prefix(sp.sp.base_url())
        .expect("the location is under the base URL");
    sp.get(path).await.expect(StatusCode::OK)
}

#[tokio::test]
async fn bulk_resolves_bulk_id_references() {
    let sp = spawn_sp().await;
    // The group comes first and references the user created after it (RFC 7644 §3.7.1).
    let response = sp
        .post(
            "/Bulk",
            &bulk_request(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "staff",
                    "members": [{"type": "User", "value": "bulkId:u"}],
                }},
                {"method": "POST", "path": "/Users", "bulkId": "u", "data": user("alice")},
                {"method": "PATCH", "path": "/Users/bulkId:u", "data": {
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "Alice"}],
                }},
            ])),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(results(&response).len(), 3, "{response:#}");
    assert_eq!(result_of(&response, "u")["status"], "201");
    assert_eq!(result_of(&response, "g")["status"], "201");
    let patched = results(&response)
        .iter()
        .find(|result| result["method"] == "PATCH")
        .expect("the PATCH result");
    assert_eq!(patched["status"], "200");
    let alice = fetch_created(&sp, result_of(&response, "u")).await;
    assert_eq!(alice["displayName"], "Alice");
    assert_eq!(patched["location"], alice["meta"]["location"]);
    assert_eq!(patched["version"], alice["meta"]["version"]);
    let staff = fetch_created(&sp, result_of(&response, "g")).await;
    assert_eq!(member_values(&staff), vec![id_of(&alice).to_owned()]);
    assert_eq!(alice["groups"][0]["value"], staff["id"]);
}

#[tokio::test]
async fn fail_on_errors_stops_after_that_many_errors() {
    let sp = spawn_sp().await;
    let request = json!({
        "schemas": [BULK_SCHEMA],
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "first", "data": user("alice")},
            {"method": "POST", "path": "/Users", "bulkId": "again", "data": user("ALICE")},
            {"method": "POST", "path": "/Users", "bulkId": "never", "data": user("bob")},
        ],
    });
    let response = sp.post("/Bulk", &request).await.expect(StatusCode::OK);
    assert_eq!(results(&response).len(), 2, "{response:#}");
    assert_eq!(result_of(&response, "first")["status"], "201");
    let failed = result_of(&response, "again");
    assert_eq!(failed["status"], "409");
    assert_eq!(failed["response"]["scimType"], "uniqueness");
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(1));
    assert_eq!(listed["Resources"][0]["userName"], "alice");
}

#[tokio::test]
async fn without_fail_on_errors_every_operation_runs() {
    let sp = spawn_sp().await;
    let response = sp
        .post(
            "/Bulk",
            &bulk_request(json!([
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("alice")},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": 7}},
                {"method": "DELETE", "path": "/Users/no-such-user"},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": user("carol")},
            ])),
        )
        .await
        .expect(StatusCode::OK);
    let statuses: Vec<&str> = results(&response)
        .iter()
        .filter_map(|result| result["status"].as_str())
        .collect();
    assert_eq!(statuses, ["201", "400", "404", "201"], "{response:#}");
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(2));
}

#[tokio::test]
async fn circular_bulk_id_references_are_resolved() {
    // RFC 7644 §3.7.1's example: two groups that are each other's member, and a user whose
    // manager is created after it and is its member.
    let sp = spawn_sp().await;
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let response = sp
        .post(
            "/Bulk",
            &bulk_request(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "qwerty", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "Group A",
                    "members": [{"type": "Group", "value": "bulkId:ytrewq"}],
                }},
                {"method": "POST", "path": "/Groups", "bulkId": "ytrewq", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "Group B",
                    "members": [{"type": "Group", "value": "bulkId:qwerty"},
                                {"type": "User", "value": "bulkId:boss"}],
                }},
                {"method": "POST", "path": "/Users", "bulkId": "boss", "data": {
                    "schemas": [crate::support::USER_SCHEMA, enterprise], "userName": "boss",
                    enterprise: {"manager": {"value": "bulkId:report"}},
                }},
                {"method": "POST", "path": "/Users", "bulkId": "report", "data": {
                    "schemas": [crate::support::USER_SCHEMA, enterprise], "userName": "report",
                    enterprise: {"manager": {"value": "bulkId:boss"}},
                }},
                {"method": "PATCH", "path": "/Groups/bulkId:qwerty", "data": {
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "Group A2"}],
                }},
            ])),
        )
        .await
        .expect(StatusCode::OK);
    for bulk_id in ["qwerty", "ytrewq", "boss", "report"] {
        assert_eq!(
            result_of(&response, bulk_id)["status"],
            "201",
            "{response:#}"
        );
    }
    let a = fetch_created(&sp, result_of(&response, "qwerty")).await;
    let b = fetch_created(&sp, result_of(&response, "ytrewq")).await;
    let boss = fetch_created(&sp, result_of(&response, "boss")).await;
    let report = fetch_created(&sp, result_of(&response, "report")).await;
    assert_eq!(a["displayName"], "Group A2");
    assert_eq!(member_values(&a), [id_of(&b)]);
    let mut b_members = member_values(&b);
    b_members.sort_unstable();
    let mut expected = vec![id_of(&a).to_owned(), id_of(&boss).to_owned()];
    expected.sort_unstable();
    assert_eq!(b_members, expected);
    assert_eq!(boss[enterprise]["manager"]["value"], id_of(&report));
    assert_eq!(report[enterprise]["manager"]["value"], id_of(&boss));
    // The version each result reports is the resource's once completed.
    assert_eq!(
        result_of(&response, "boss")["version"],
        boss["meta"]["version"]
    );
}

#[tokio::test]
async fn circular_references_that_cannot_be_resolved_are_409_and_change_nothing() {
    let sp = spawn_sp().await;
    sp.create_group("taken", &[]).await;
    let response = sp
        .post(
            "/Bulk",
            &bulk_request(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "one",
                    "members": [{"type": "Group", "value": "bulkId:g2"}],
                }},
                {"method": "POST", "path": "/Groups", "bulkId": "g2", "data": {
                    "schemas": [GROUP_SCHEMA], "displayName": "TAKEN",
                    "members": [{"type": "Group", "value": "bulkId:g1"}],
                }},
                {"method": "POST", "path": "/Users", "bulkId": "u", "data": user("alice")},
            ])),
        )
        .await
        .expect(StatusCode::OK);
    for bulk_id in ["g1", "g2"] {
        let failed = result_of(&response, bulk_id);
        assert_eq!(failed["status"], "409", "{response:#}");
        assert!(failed.get("location").is_none(), "{failed:#}");
        let detail = failed["response"]["detail"].as_str().unwrap();
        assert!(
            detail.contains("circular") && detail.contains("taken"),
            "{detail}"
        );
    }
    assert_eq!(result_of(&response, "u")["status"], "201");
    let groups = sp.get("/Groups").await.expect(StatusCode::OK);
    assert_eq!(groups["totalResults"], json!(1));
}

#[tokio::test]
async fn bulk_with_more_than_max_operations_is_413() {
    // RFC 7644 §3.7.4: exceeding maxOperations is answered with 413.
    let sp = spawn_sp().await;
    let operations: Vec<Value> = (0..1001)
        .map(|n| bulk_post_user(&format!("u{n}"), &format!("user-{n}")))
        .collect();
    sp.post("/Bulk", &bulk_request(Value::Array(operations)))
        .await
        .assert_scim_error(413, None);
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(0));
}

#[tokio::test]
async fn malformed_bulk_request_is_400() {
    let sp = spawn_sp().await;
    sp.post("/Bulk", &json!({"Operations": []}))
        .await
        .assert_scim_error(400, Some("invalidSyntax"));
    sp.post(
        "/Bulk",
        &bulk_request(json!([{"method": "POST", "path": "/Users", "data": user("a")}])),
    )
    .await
    .assert_scim_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn bulk_versions_deletes_and_the_deletion_policy_apply_per_operation() {
    let sp = spawn_sp().await;
    sp.sp
        .set_deletion_policy(DEFAULT_ORGANIZATION_ID, DeletionPolicy::Deactivate)
        .await
        .expect("the policy is set");
    let alice = sp.create_user("alice").await;
    let staff = sp.create_group("staff", &[id_of(&alice)]).await;
    // Joining the group changed the version alice is served with.
    let alice = sp.reread(&alice).await;
    let alice_path = format!("/Users/{}", id_of(&alice));
    let staff_path = format!("/Groups/{}", id_of(&staff));
    let response = sp
        .post(
            "/Bulk",
            &bulk_request(json!([
                {"method": "PUT", "path": alice_path, "version": "W/\"7\"", "data": user("alice2")},
                {"method": "DELETE", "path": alice_path, "version": alice["meta"]["version"]},
                {"method": "DELETE", "path": staff_path},
            ])),
        )
        .await
        .expect(StatusCode::OK);
    let statuses: Vec<&str> = results(&response)
        .iter()
        .filter_map(|result| result["status"].as_str())
        .collect();
    assert_eq!(statuses, ["412", "204", "204"], "{response:#}");
    // A failed PUT, PATCH or DELETE still names its resource (RFC 7644 §3.7.3).
    assert_eq!(
        results(&response)[0]["location"],
        json!(format!("{}{alice_path}", sp.sp.base_url()))
    );
    let kept = sp.get(&alice_path).await.expect(StatusCode::OK);
    assert_eq!(kept["userName"], "alice");
    assert_eq!(kept["active"], json!(false));
    sp.get(&staff_path).await.assert_scim_error(404, None);
}
