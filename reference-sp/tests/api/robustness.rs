//! No input from the network panics the server: every nasty request gets a 4xx SCIM error,
//! changes nothing, and the server (its writer included) keeps working afterwards.

use crate::support::{id_of, send, spawn_sp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// Where a nasty body is sent.
#[derive(Debug, Clone, Copy)]
enum Target {
    Users,
    Groups,
    Alice,
    Team,
    UserSearch,
    RootSearch,
    Bulk,
}

/// Query strings that must be refused, as sent on the wire (percent-encoded).
const NASTY_QUERIES: [&str; 12] = [
    "/Users?filter=userName%20eq%20%22abc",
    "/Users?filter=%FF%FE",
    "/Users?filter=userName%20eq%20%22%FF%22%20and",
    "/Users?filter=((((((((((((((((((((",
    "/Users?filter=emails[type%20eq%20%22work%22",
    "/Users?filter=userName%20gt%201e999999",
    "/Users?count=ten",
    "/Users?sortBy=%FF",
    "/Users?attributes=%00",
    "/Users?attributes=emails[type",
    "/Groups?excludedAttributes=nothing.at.all",
    "/Users?sortOrder=sideways&sortBy=userName",
];

/// Deterministic noise (a 64-bit linear congruential generator), so a failure reproduces.
fn noise(length: usize) -> Vec<u8> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..length)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state.to_be_bytes()[0]
        })
        .collect()
}

fn patch_with(operations: &str) -> Vec<u8> {
    format!(r#"{{"schemas":["{PATCH}"],"Operations":{operations}}}"#).into_bytes()
}

/// Bodies that are not JSON, JSON nested past any sane depth, numbers out of range, and
/// messages of the wrong shape.
fn nasty_bodies() -> Vec<(Method, Target, Vec<u8>)> {
    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_value = format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200));
    let huge_number = format!("1{}", "0".repeat(5000));
    let json = |text: String| text.into_bytes();
    vec![
        (Method::POST, Target::Users, noise(4096)),
        (
            Method::POST,
            Target::Users,
            b"\xff\xfe{\"userName\":\"x\"}".to_vec(),
        ),
        (Method::POST, Target::Users, deep_array.clone().into_bytes()),
        (Method::POST, Target::Bulk, deep_array.into_bytes()),
        (
            Method::PATCH,
            Target::Alice,
            patch_with(&format!(r#"[{{"op":"add","value":{deep_value}}}]"#)),
        ),
        (
            Method::POST,
            Target::Users,
            json(format!(
                r#"{{"schemas":["{USER}"],"userName":"n","active":{huge_number}}}"#
            )),
        ),
        (Method::POST, Target::Users, b"[]".to_vec()),
        (Method::POST, Target::Users, b"null".to_vec()),
        (
            Method::POST,
            Target::Users,
            br#"{"schemas":"nope","userName":"x"}"#.to_vec(),
        ),
        (
            Method::POST,
            Target::Users,
            br#"{"schemas":[],"userName":"x"}"#.to_vec(),
        ),
        (
            Method::POST,
            Target::Users,
            json(format!(r#"{{"schemas":["{USER}"]}}"#)),
        ),
        (
            Method::POST,
            Target::Users,
            json(format!(
                r#"{{"schemas":["{USER}"],"userName":"u","emails":[{{"value":1e999}}]}}"#
            )),
        ),
        (
            Method::POST,
            Target::Groups,
            json(format!(
                r#"{{"schemas":["{GROUP}"],"displayName":"g","members":[{{"value":7}}]}}"#
            )),
        ),
        (
            Method::POST,
            Target::Groups,
            json(format!(
                r#"{{"schemas":["{GROUP}"],"displayName":"g","members":"all"}}"#
            )),
        ),
        (
            Method::PATCH,
            Target::Alice,
            patch_with(r#"[{"op":"add","path":"members[value eq","value":"x"}]"#),
        ),
        (
            Method::PATCH,
            Target::Team,
            patch_with(r#"[{"op":"remove","path":"members[value eq"}]"#),
        ),
        (
            Method::PATCH,
            Target::Team,
            patch_with(r#"[{"op":"add","path":"members","value":[{"value":"nobody"}]}]"#),
        ),
        (
            Method::PATCH,
            Target::Alice,
            patch_with(r#"[{"op":"explode","path":"userName"}]"#),
        ),
        (
            Method::PATCH,
            Target::Alice,
            patch_with(r#"[{"op":"remove","path":"userName"}]"#),
        ),
        (
            Method::PATCH,
            Target::Alice,
            patch_with(r#"[{"op":"replace","path":"emails[type eq \"work\"].value","value":"x"}]"#),
        ),
        (Method::PATCH, Target::Alice, patch_with(r#""all""#)),
        (Method::PATCH, Target::Alice, patch_with("[]")),
        (
            Method::POST,
            Target::UserSearch,
            json(format!(r#"{{"schemas":["{SEARCH}"],"count":1e400}}"#)),
        ),
        (
            Method::POST,
            Target::RootSearch,
            json(format!(
                r#"{{"schemas":["{SEARCH}"],"filter":"userName eq \"abc"}}"#
            )),
        ),
        (
            Method::POST,
            Target::RootSearch,
            json(format!(r#"{{"schemas":["{SEARCH}"],"sortBy":"nothing"}}"#)),
        ),
        (
            Method::POST,
            Target::Bulk,
            json(format!(
                r#"{{"schemas":["{BULK}"],"failOnErrors":-1,"Operations":[]}}"#
            )),
        ),
        (
            Method::POST,
            Target::Bulk,
            json(format!(
                r#"{{"schemas":["{BULK}"],"Operations":[{{"method":"GET","path":"/Users"}}]}}"#
            )),
        ),
    ]
}

impl Target {
    fn path(self, alice: &str, team: &str) -> String {
        match self {
            Target::Users => "/Users".into(),
            Target::Groups => "/Groups".into(),
            Target::Alice => format!("/Users/{alice}"),
            Target::Team => format!("/Groups/{team}"),
            Target::UserSearch => "/Users/.search".into(),
            Target::RootSearch => "/.search".into(),
            Target::Bulk => "/Bulk".into(),
        }
    }
}

async fn assert_refused(what: &str, request: reqwest::RequestBuilder) {
    let reply = send(request).await;
    assert!(reply.status.is_client_error(), "{what}: {reply:#?}");
    reply.assert_scim_error(reply.status.as_u16(), reply.body["scimType"].as_str());
}

#[tokio::test]
async fn nasty_inputs_get_scim_errors_and_change_nothing() {
    let sp = spawn_sp().await;
    let alice = sp.create_user("alice").await;
    let team = sp.create_group("team", &[id_of(&alice)]).await;
    // Alice as she is now, a member of the team.
    let alice = sp.reread(&alice).await;
    for (method, target, body) in nasty_bodies() {
        let path = target.path(id_of(&alice), id_of(&team));
        let request = sp
            .request(method.clone(), &path)
            .header("content-type", "application/scim+json")
            .body(body);
        assert_refused(&format!("{method} {path}"), request).await;
    }
    for query in NASTY_QUERIES {
        let request = sp.client.get(sp.url(query)).bearer_auth(&sp.token);
        assert_refused(&format!("GET {query}"), request).await;
    }
    // Paging numbers beyond any integer clamp as smaller ones do (RFC 7644 §3.4.2.4).
    for query in [
        "/Users?startIndex=99999999999999999999999",
        "/Users?count=-99999999999999999999999",
    ] {
        let page = sp.get(query).await.expect(StatusCode::OK);
        assert_eq!(page["Resources"], json!([]), "{query}");
    }
    // The server and its writer still work, and nothing above changed anything.
    sp.create_user("still-alive").await;
    let alice_now = sp.get(&format!("/Users/{}", id_of(&alice))).await;
    assert_eq!(alice_now.expect(StatusCode::OK), alice);
    let team_now = sp.get(&format!("/Groups/{}", id_of(&team))).await;
    assert_eq!(team_now.expect(StatusCode::OK), team);
    let listed = sp.get("/Users").await.expect(StatusCode::OK);
    assert_eq!(listed["totalResults"], json!(2));
}
