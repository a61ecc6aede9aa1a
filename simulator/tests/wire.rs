//! On the wire: each persona's provisioning client against a scripted SCIM server (wiremock).
//!
//! A small reference lifecycle per persona pins the exact requests of two cycles (snapshots
//! under `tests/snapshots/`), and the key facts of each persona's dialect are asserted in code
//! (personas.md §1.1, §2.1, §3.1, §5, §6.4). Then the server's answers drive the client:
//! 404 lookups, 409 creates, 404 updates, 429 with and without `Retry-After`, 5xx retries,
//! Entra's quarantine, the HAR export and an unreachable target.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use idpsim_simulator::directory::{Directory, GenerateOptions, generate};
use idpsim_simulator::fixtures_dir;
use idpsim_simulator::persona::{Persona, PersonaCatalog};
use idpsim_simulator::provision::{
    CycleError, CycleOptions, CycleReport, Exchange, NoProgress, ProvisioningCycle,
    ProvisioningState, REDACTED, ScimClient, SimulatedPause, Transcript, redact_body,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{any, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The SCIM base path below the mock server's address.
const BASE_PATH: &str = "/scim/v2";
/// The bearer token every persona is configured with.
const TOKEN: &str = "wire-secret-7f3a9c";
const SCIM_JSON: &str = "application/scim+json";
const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

// ---------------------------------------------------------------------------------------------
// The scripted SCIM server
// ---------------------------------------------------------------------------------------------

/// A SCIM server in miniature: lookups find nothing, creates echo the body with a counted id,
/// reads return what was stored, PUT replaces, user PATCH answers the stored user, group
/// PATCH answers 204, DELETE forgets.
#[derive(Clone, Default)]
struct ScimServer {
    users: Arc<AtomicUsize>,
    groups: Arc<AtomicUsize>,
    resources: Arc<Mutex<BTreeMap<String, Value>>>,
}

impl ScimServer {
    fn next_id(&self, resource: &str) -> String {
        match resource {
            "Users" => format!("user-{}", self.users.fetch_add(1, Ordering::SeqCst) + 1),
            _ => format!("group-{}", self.groups.fetch_add(1, Ordering::SeqCst) + 1),
        }
    }

    /// The request body as the server keeps it: `schemas`, then `id`, then the rest;
    /// `password` is never stored nor returned (RFC 7643 §4.1.1, returned "never").
    fn stored(body: &Value, id: &str) -> Value {
        let mut resource = Map::new();
        if let Some(schemas) = body.get("schemas") {
            resource.insert("schemas".into(), schemas.clone());
        }
        resource.insert("id".into(), Value::String(id.to_owned()));
        if let Some(fields) = body.as_object() {
            for (key, value) in fields {
                if key != "schemas" && key != "id" && key != "password" {
                    resource.insert(key.clone(), value.clone());
                }
            }
        }
        Value::Object(resource)
    }
}

fn scim_answer(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), SCIM_JSON)
}

fn scim_error(status: u16, detail: &str) -> ResponseTemplate {
    scim_answer(
        status,
        &json!({ "schemas": [ERROR_SCHEMA], "status": status.to_string(), "detail": detail }),
    )
}

fn empty_list() -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": 0,
        "Resources": [],
        "startIndex": 1,
        "itemsPerPage": 0,
    })
}

impl Respond for ScimServer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let full = request.url.path();
        let relative = full.strip_prefix(BASE_PATH).unwrap_or(full);
        let segments: Vec<&str> = relative.trim_start_matches('/').split('/').collect();
        let (resource, id) = match segments.as_slice() {
            [resource] => (*resource, None),
            [resource, id] => (*resource, Some((*id).to_owned())),
            _ => return scim_error(404, "no such endpoint"),
        };
        let mut resources = self.resources.lock().unwrap();
        let body: Option<Value> = serde_json::from_slice(&request.body).ok();
        match (request.method.as_str(), id) {
            ("GET", None) => scim_answer(200, &empty_list()),
            ("GET", Some(id)) => match resources.get(&id) {
                Some(stored) => scim_answer(200, stored),
                None => scim_error(404, "resource not found"),
            },
            ("POST", None) => {
                let id = self.next_id(resource);
                let stored = ScimServer::stored(&body.unwrap_or(Value::Null), &id);
                resources.insert(id, stored.clone());
                scim_answer(201, &stored)
            }
            ("PUT", Some(id)) => {
                let stored = ScimServer::stored(&body.unwrap_or(Value::Null), &id);
                resources.insert(id, stored.clone());
                scim_answer(200, &stored)
            }
            ("PATCH", Some(id)) if resource == "Users" => match resources.get(&id) {
                Some(stored) => scim_answer(200, stored),
                None => scim_error(404, "resource not found"),
            },
            ("PATCH", Some(_)) => ResponseTemplate::new(204),
            ("DELETE", Some(id)) => {
                resources.remove(&id);
                ResponseTemplate::new(204)
            }
            _ => scim_error(405, "method not supported"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Personas, directories, cycles
// ---------------------------------------------------------------------------------------------

fn persona(name: &str) -> Persona {
    PersonaCatalog::open(&fixtures_dir().join("personas"))
        .unwrap()
        .load(name)
        .unwrap()
        .persona
}

fn acme() -> Directory {
    Directory::load(&fixtures_dir().join("directories/acme.yaml")).unwrap()
}

/// acme cut down to catherine, raj and miles, and the group support with miles and raj.
fn small_acme() -> Directory {
    let kept = ["catherine", "raj", "miles"];
    let mut directory = acme();
    directory
        .users
        .retain(|user| kept.contains(&user.key.as_str()));
    directory.groups.retain(|group| group.key == "support");
    for group in &mut directory.groups {
        group
            .members
            .retain(|member| kept.contains(&member.as_str()));
        group.members.push("raj".into());
    }
    directory
}

/// acme cut down to the named users and no groups.
fn acme_users(keys: &[&str]) -> Directory {
    let mut directory = acme();
    directory
        .users
        .retain(|user| keys.contains(&user.key.as_str()));
    directory.groups.clear();
    directory
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Per-block native names of the attributes the lifecycle edits.
struct NativeNames {
    title: &'static str,
    group_name: &'static str,
    disable: (&'static str, Value),
}

fn native_names(block: &str) -> NativeNames {
    match block {
        "entra" => NativeNames {
            title: "jobTitle",
            group_name: "displayName",
            disable: ("accountEnabled", json!(false)),
        },
        "okta" => NativeNames {
            title: "title",
            group_name: "name",
            disable: ("status", json!("DEPROVISIONED")),
        },
        "jumpcloud" => NativeNames {
            title: "jobTitle",
            group_name: "name",
            disable: ("activated", json!(false)),
        },
        "generic" => NativeNames {
            title: "title",
            group_name: "displayName",
            disable: ("active", json!(false)),
        },
        other => panic!("no native names for the block {other}"),
    }
}

fn set(directory: &mut Directory, key: &str, block: &str, attribute: &str, value: Value) {
    directory
        .users
        .iter_mut()
        .find(|user| user.key == key)
        .unwrap()
        .blocks
        .get_mut(block)
        .unwrap()
        .set(attribute, value);
}

/// The edits between the two cycles: miles gets a new title, raj is disabled in the IdP's
/// native way and leaves support, catherine leaves the directory, support is renamed.
fn second_cycle_edits(directory: &mut Directory, block: &str) {
    let names = native_names(block);
    set(
        directory,
        "miles",
        block,
        names.title,
        json!("Senior Support Engineer"),
    );
    set(directory, "raj", block, names.disable.0, names.disable.1);
    directory.users.retain(|user| user.key != "catherine");
    let support = directory
        .groups
        .iter_mut()
        .find(|group| group.key == "support")
        .unwrap();
    support.members.retain(|member| member != "raj");
    support
        .blocks
        .get_mut(block)
        .unwrap()
        .set(names.group_name, json!("Support EMEA"));
}

/// One persona pointed at a scripted SCIM server.
struct Target {
    server: MockServer,
    persona: Persona,
    state: ProvisioningState,
    pause: SimulatedPause,
    /// The admin-given email of a test connection's user (`CycleOptions::test_user_email`).
    test_user_email: Option<String>,
}

/// What one cycle did and sent.
struct Cycle {
    report: CycleReport,
    exchanges: Vec<Exchange>,
    transcript: Transcript,
}

impl Target {
    /// A persona and a server that answers as [`ScimServer`]; scripted answers mounted later
    /// with a higher priority take precedence.
    async fn start(name: &str) -> Target {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ScimServer::default())
            .mount(&server)
            .await;
        let state = ProvisioningState::new(name, &format!("{}{BASE_PATH}", server.uri()));
        Target {
            server,
            persona: persona(name),
            state,
            pause: SimulatedPause::default(),
            test_user_email: None,
        }
    }

    /// As [`Target::start`], with Test Connection already done.
    async fn connected(name: &str) -> Target {
        let mut target = Target::start(name).await;
        target.state.connection_tested = true;
        target
    }

    fn base_url(&self) -> String {
        format!("{}{BASE_PATH}", self.server.uri())
    }

    async fn run(
        &mut self,
        directory: &Directory,
        concurrency: usize,
    ) -> (Result<CycleReport, CycleError>, Transcript) {
        let transcript = Transcript::default();
        let client = ScimClient::new(
            &self.persona,
            &self.base_url(),
            TOKEN,
            Arc::new(self.pause.clone()),
            Some(transcript.clone()),
        )
        .unwrap();
        let options = CycleOptions {
            concurrency,
            now: now(),
            seed: 7,
            test_object_stem: None,
            test_user_email: self.test_user_email.clone(),
        };
        let result = ProvisioningCycle::new(&self.persona, directory, &client, options)
            .run(&mut self.state, &NoProgress)
            .await;
        (result, transcript)
    }

    /// One cycle, one request at a time so the order is deterministic.
    async fn cycle(&mut self, directory: &Directory) -> Cycle {
        let (result, transcript) = self.run(directory, 1).await;
        Cycle {
            report: result.unwrap(),
            exchanges: transcript.exchanges(),
            transcript,
        }
    }

    async fn received(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap()
    }

    fn user_id(&self, key: &str) -> String {
        self.state.users[key].id.clone()
    }
}

/// `/Users/user-1` for an exchange's URL: the base URL stripped.
fn relative_path(url: &str) -> String {
    let url = reqwest::Url::parse(url).unwrap();
    url.path()
        .strip_prefix(BASE_PATH)
        .unwrap_or(url.path())
        .to_owned()
}

/// `GET /Users?filter=userName eq "x"&startIndex=1&count=100`: method, path below the base
/// URL, query decoded.
fn request_line(exchange: &Exchange) -> String {
    let url = reqwest::Url::parse(&exchange.url).unwrap();
    let query: Vec<String> = url
        .query_pairs()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let path = relative_path(&exchange.url);
    if query.is_empty() {
        format!("{} {path}", exchange.method)
    } else {
        format!("{} {path}?{}", exchange.method, query.join("&"))
    }
}

fn header<'a>(exchange: &'a Exchange, name: &str) -> Option<&'a str> {
    exchange
        .request_headers
        .iter()
        .find(|(header, _)| header.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

fn wire_header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
}

impl Cycle {
    fn lines(&self) -> Vec<String> {
        self.exchanges.iter().map(request_line).collect()
    }

    /// Every request body, as `{method, path, body}`.
    fn bodies(&self) -> Vec<Value> {
        self.exchanges
            .iter()
            .filter_map(|exchange| {
                let body = exchange.request_body.as_deref()?;
                Some(json!({
                    "method": exchange.method,
                    "path": relative_path(&exchange.url),
                    "body": serde_json::from_str::<Value>(body).unwrap(),
                }))
            })
            .collect()
    }

    /// The exchanges whose request line starts with `prefix`.
    fn sent(&self, prefix: &str) -> Vec<&Exchange> {
        self.exchanges
            .iter()
            .filter(|exchange| request_line(exchange).starts_with(prefix))
            .collect()
    }

    fn body_of(exchange: &Exchange) -> &str {
        exchange.request_body.as_deref().unwrap_or("")
    }

    /// The first exchange whose body contains `fragment`.
    fn with_body(&self, fragment: &str) -> Option<&Exchange> {
        self.exchanges
            .iter()
            .find(|exchange| Cycle::body_of(exchange).contains(fragment))
    }
}

/// Two cycles of a persona against the scripted server, with the second cycle's edits in
/// between.
struct Lifecycle {
    target: Target,
    first: Cycle,
    second: Cycle,
    /// The state right after the first cycle (the target's ids of the users).
    after_first: ProvisioningState,
}

impl Lifecycle {
    async fn run(name: &str) -> Lifecycle {
        let mut target = Target::start(name).await;
        let block = target.persona.directory_block.clone();
        let mut directory = small_acme();
        let first = target.cycle(&directory).await;
        assert!(first.report.failures.is_empty(), "{:#?}", first.report);
        let after_first = target.state.clone();
        second_cycle_edits(&mut directory, &block);
        let second = target.cycle(&directory).await;
        assert!(second.report.failures.is_empty(), "{:#?}", second.report);

        insta::assert_snapshot!(format!("{name}_cycle1_requests"), first.lines().join("\n"));
        insta::assert_snapshot!(format!("{name}_cycle2_requests"), second.lines().join("\n"));
        insta::assert_json_snapshot!(format!("{name}_cycle1_bodies"), first.bodies());
        insta::assert_json_snapshot!(format!("{name}_cycle2_bodies"), second.bodies());

        let lifecycle = Lifecycle {
            target,
            first,
            second,
            after_first,
        };
        lifecycle.assert_token_on_the_wire_only().await;
        lifecycle
    }

    /// `Authorization: Bearer <token>` on every request received, `<redacted>` in every
    /// exchange recorded.
    async fn assert_token_on_the_wire_only(&self) {
        let received = self.target.received().await;
        assert_eq!(
            received.len(),
            self.first.exchanges.len() + self.second.exchanges.len()
        );
        for request in &received {
            assert_eq!(
                wire_header(request, "authorization"),
                Some(format!("Bearer {TOKEN}").as_str()),
                "{} {}",
                request.method,
                request.url
            );
        }
        for exchange in self.first.exchanges.iter().chain(&self.second.exchanges) {
            assert_eq!(header(exchange, "Authorization"), Some(REDACTED));
            assert!(
                exchange
                    .request_headers
                    .iter()
                    .all(|(_, value)| !value.contains(TOKEN))
            );
        }
    }

    fn id_after_first(&self, key: &str) -> String {
        self.after_first.users[key].id.clone()
    }

    fn all_exchanges(&self) -> impl Iterator<Item = &Exchange> {
        self.first.exchanges.iter().chain(&self.second.exchanges)
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The reference lifecycle per persona
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn entra_deactivates_with_a_capitalised_replace_and_a_string_boolean() {
    let run = Lifecycle::run("entra").await;
    // Entra's lookups are form-encoded, as its captured probe (personas.md §1.1).
    assert!(
        run.target
            .received()
            .await
            .iter()
            .filter_map(|request| request.url.query())
            .any(|query| query.starts_with("filter=userName+eq+%22")),
        "a form-encoded filter"
    );
    assert_eq!(run.first.report.created, 3);
    assert_eq!(run.first.report.groups_created, 1);
    assert_eq!(run.second.report.updated, 1);
    assert_eq!(
        run.second.report.deactivated, 2,
        "raj disabled, catherine unassigned"
    );
    assert_eq!(run.second.report.deleted, 0);

    let first_line = run.first.lines()[0].clone();
    assert!(
        first_line.starts_with("GET /Users?filter=userName eq \""),
        "test connection probes a random GUID: {first_line}"
    );

    let raj = run.id_after_first("raj");
    let deactivation = run
        .second
        .sent(&format!("PATCH /Users/{raj}"))
        .into_iter()
        .find(|exchange| Cycle::body_of(exchange).contains(r#""path":"active""#))
        .unwrap();
    assert!(
        Cycle::body_of(deactivation).contains(r#""op":"Replace","path":"active","value":"False""#),
        "{deactivation:?}"
    );
    assert_eq!(
        header(deactivation, "Content-Type"),
        Some("application/scim+json; charset=utf-8")
    );
    for request in run.target.received().await {
        if !request.body.is_empty() {
            assert_eq!(
                wire_header(&request, "content-type"),
                Some("application/scim+json; charset=utf-8")
            );
        }
    }
    let catherine = run.id_after_first("catherine");
    assert!(
        run.second.sent("DELETE").is_empty(),
        "an unassigned Entra user is disabled, not deleted"
    );
    assert_eq!(
        run.second.sent(&format!("PATCH /Users/{catherine}")).len(),
        1
    );
    assert!(
        run.second
            .with_body(r#""op":"Remove","path":"members","value":[{"value":""#)
            .is_some(),
        "member removal by value array"
    );
    assert!(
        run.first
            .with_body(r#""op":"Add","path":"members","value":[{"$ref":null,"value":""#)
            .is_some()
    );
}

#[tokio::test]
async fn entra_compliant_deactivates_with_a_lower_case_replace_and_a_json_boolean() {
    let run = Lifecycle::run("entra-compliant").await;
    let raj = run.id_after_first("raj");
    let deactivation = run
        .second
        .with_body(r#""path":"active""#)
        .expect("a deactivation");
    assert_eq!(relative_path(&deactivation.url), format!("/Users/{raj}"));
    assert!(
        Cycle::body_of(deactivation).contains(r#""op":"replace","path":"active","value":false"#),
        "{deactivation:?}"
    );
    assert!(
        run.all_exchanges()
            .all(|exchange| !Cycle::body_of(exchange).contains(r#""op":"Replace""#))
    );
    assert!(
        run.second
            .with_body(&format!(
                r#"{{"op":"remove","path":"members[value eq \"{raj}\"]"}}"#
            ))
            .is_some(),
        "member removal by filter path"
    );
}

#[tokio::test]
async fn okta_pages_lookups_deactivates_path_less_and_never_deletes_users() {
    let run = Lifecycle::run("okta").await;
    // Okta percent-encodes its filters as its captured requests show (personas.md §2.1).
    let filters: Vec<String> = run
        .target
        .received()
        .await
        .iter()
        .filter_map(|request| request.url.query())
        .filter(|query| query.starts_with("filter="))
        .map(str::to_owned)
        .collect();
    assert!(!filters.is_empty());
    for query in &filters {
        assert!(
            query.starts_with("filter=userName%20eq%20%22")
                || query.starts_with("filter=displayName%20eq%20%22"),
            "{query}"
        );
        assert!(!query.contains('+') && !query.contains('@'), "{query}");
    }
    for request in run.target.received().await {
        assert_eq!(
            wire_header(&request, "user-agent"),
            Some("Okta SCIM Client 1.0.0")
        );
    }
    assert_eq!(
        run.first.lines()[..2],
        [
            "GET /Users?startIndex=1&count=2",
            "GET /Groups?startIndex=1&count=100"
        ],
        "test connection lists users and groups"
    );
    let lookups: Vec<String> = run
        .first
        .lines()
        .into_iter()
        .filter(|line| line.contains("filter="))
        .collect();
    assert_eq!(lookups.len(), 4, "three users and one group: {lookups:#?}");
    for lookup in &lookups {
        assert!(lookup.ends_with("&startIndex=1&count=100"), "{lookup}");
    }

    let raj = run.id_after_first("raj");
    let catherine = run.id_after_first("catherine");
    for id in [&raj, &catherine] {
        let patches = run.second.sent(&format!("PATCH /Users/{id}"));
        assert_eq!(patches.len(), 1, "{id}");
        assert_eq!(
            serde_json::from_str::<Value>(Cycle::body_of(patches[0])).unwrap()["Operations"],
            json!([{ "op": "replace", "value": { "active": false } }])
        );
    }
    assert!(
        run.all_exchanges()
            .all(|exchange| !(exchange.method == "DELETE"
                && relative_path(&exchange.url).starts_with("/Users/"))),
        "Okta never sends DELETE /Users"
    );
    assert!(
        !run.target.state.users["catherine"].active(),
        "an unassigned Okta user stays, inactive"
    );
    let miles = run.id_after_first("miles");
    assert_eq!(
        run.second
            .lines()
            .into_iter()
            .filter(|line| line.ends_with(&format!("/Users/{miles}")))
            .collect::<Vec<_>>(),
        [format!("GET /Users/{miles}"), format!("PUT /Users/{miles}")],
        "a profile update is GET then PUT"
    );

    let group = run.after_first.groups["support"].id.clone();
    let group_patches: Vec<&Exchange> = run
        .all_exchanges()
        .filter(|exchange| exchange.method == "PATCH" && exchange.url.contains("/Groups/"))
        .collect();
    assert_eq!(group_patches.len(), 2);
    for (patch, name) in group_patches.iter().zip(["Support", "Support EMEA"]) {
        let body: Value = serde_json::from_str(Cycle::body_of(patch)).unwrap();
        assert_eq!(
            body["Operations"][0],
            json!({ "op": "replace", "value": { "id": group, "displayName": name } }),
            "every group PATCH starts with the path-less rename"
        );
    }
}

#[tokio::test]
async fn okta_aiw_sends_no_patch_at_all() {
    let run = Lifecycle::run("okta-aiw").await;
    assert!(
        run.all_exchanges()
            .all(|exchange| exchange.method != "PATCH"),
        "AIW is PUT only"
    );
    assert!(
        run.target
            .received()
            .await
            .iter()
            .all(|request| request.method.as_str() != "PATCH")
    );
    let raj = run.id_after_first("raj");
    let put = run.second.sent(&format!("PUT /Users/{raj}"));
    assert_eq!(put.len(), 1);
    let body: Value = serde_json::from_str(Cycle::body_of(put[0])).unwrap();
    assert_eq!(body["active"], json!(false), "deactivation is a PUT");
    assert_eq!(run.second.sent("PUT /Groups/").len(), 1);
}

#[tokio::test]
async fn jumpcloud_tests_the_connection_with_a_created_and_deleted_user_and_group() {
    let run = Lifecycle::run("jumpcloud").await;
    assert_eq!(
        run.first.lines()[..4],
        [
            "POST /Users",
            "DELETE /Users/user-1",
            "POST /Groups",
            "DELETE /Groups/group-1"
        ]
    );
    let catherine = run.id_after_first("catherine");
    assert_eq!(
        run.second.sent("DELETE /Users/").len(),
        1,
        "{:#?}",
        run.second.lines()
    );
    assert_eq!(
        request_line(run.second.sent("DELETE /Users/")[0]),
        format!("DELETE /Users/{catherine}")
    );
    assert!(!run.target.state.users.contains_key("catherine"));
    let raj = run.id_after_first("raj");
    assert!(
        Cycle::body_of(run.second.sent(&format!("PATCH /Users/{raj}"))[0])
            .contains(r#""op":"replace","path":"active","value":false"#)
    );
}

#[tokio::test]
async fn jumpcloud_names_its_test_user_with_the_email_the_admin_gave() {
    let mut target = Target::start("jumpcloud").await;
    let default = target.cycle(&small_acme()).await;
    let body: Value = serde_json::from_str(Cycle::body_of(default.sent("POST /Users")[0])).unwrap();
    let generated = body["userName"].as_str().unwrap();
    assert!(
        generated.starts_with("idpsim.test.") && generated.ends_with("@example.test"),
        "{generated}"
    );

    let mut target = Target::start("jumpcloud").await;
    target.test_user_email = Some("qa@app.example".into());
    let cycle = target.cycle(&small_acme()).await;
    let body: Value = serde_json::from_str(Cycle::body_of(cycle.sent("POST /Users")[0])).unwrap();
    assert_eq!(body["userName"], "qa@app.example");
    assert_eq!(body["emails"][0]["value"], "qa@app.example");
    assert_eq!(cycle.sent("DELETE /Users/").len(), 1, "then deleted");
}

#[tokio::test]
async fn okta_asks_for_gzip_and_reads_an_answer_in_gzip() {
    use std::io::Write as _;
    let mut target = Target::start("okta").await;
    let page = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": []
    });
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(page.to_string().as_bytes()).unwrap();
    Mock::given(method("GET"))
        .and(path(format!("{BASE_PATH}/Users")))
        .and(query_param("count", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Encoding", "gzip")
                .set_body_raw(encoder.finish().unwrap(), "application/scim+json"),
        )
        .with_priority(1)
        .mount(&target.server)
        .await;
    let cycle = target.cycle(&small_acme()).await;
    let test_connection = &cycle.exchanges[0];
    assert!(test_connection.url.ends_with("/Users?startIndex=1&count=2"));
    assert_eq!(
        serde_json::from_str::<Value>(&test_connection.response_body).unwrap(),
        page,
        "the transcript holds the decoded answer"
    );
    assert!(
        cycle.report.created > 0,
        "the cycle went on past the test connection"
    );
    for request in target.received().await {
        assert_eq!(
            wire_header(&request, "accept-encoding"),
            Some("gzip,deflate")
        );
        assert_eq!(wire_header(&request, "connection"), Some("Keep-Alive"));
    }
}

#[tokio::test]
async fn generic_removes_members_by_filter_path_and_deletes_removed_users() {
    let run = Lifecycle::run("generic").await;
    let raj = run.id_after_first("raj");
    let group = run.after_first.groups["support"].id.clone();
    let removal = run
        .second
        .sent(&format!("PATCH /Groups/{group}"))
        .into_iter()
        .find(|exchange| Cycle::body_of(exchange).contains("members["))
        .unwrap();
    let body: Value = serde_json::from_str(Cycle::body_of(removal)).unwrap();
    assert_eq!(
        body["Operations"],
        json!([{ "op": "remove", "path": format!("members[value eq \"{raj}\"]") }])
    );
    let catherine = run.id_after_first("catherine");
    assert_eq!(
        run.second.sent("DELETE /Users/").len(),
        1,
        "{:#?}",
        run.second.lines()
    );
    assert_eq!(
        request_line(run.second.sent("DELETE /Users/")[0]),
        format!("DELETE /Users/{catherine}")
    );
    for exchange in run.all_exchanges() {
        let expected = exchange
            .request_body
            .as_ref()
            .map(|_| "application/scim+json");
        assert_eq!(header(exchange, "Content-Type"), expected, "{exchange:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The server's answers drive the client
// ---------------------------------------------------------------------------------------------

async fn mount_lookup_404(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("{BASE_PATH}/Users")))
        .respond_with(scim_error(404, "no user matches the filter"))
        .with_priority(1)
        .mount(server)
        .await;
}

fn posts_to_users(received: &[Request]) -> usize {
    received
        .iter()
        .filter(|request| {
            request.method.as_str() == "POST" && request.url.path() == format!("{BASE_PATH}/Users")
        })
        .count()
}

#[tokio::test]
async fn okta_takes_a_404_lookup_as_no_match_and_creates_the_user() {
    let mut target = Target::connected("okta").await;
    mount_lookup_404(&target.server).await;
    let cycle = target.cycle(&acme_users(&["raj"])).await;
    assert!(cycle.report.failures.is_empty(), "{:#?}", cycle.report);
    assert_eq!(cycle.report.created, 1);
    assert_eq!(
        cycle.lines(),
        [
            "GET /Users?filter=userName eq \"raj.patel@acme.test\"&startIndex=1&count=100",
            "POST /Users"
        ]
    );
    assert!(target.state.users.contains_key("raj"));
}

#[tokio::test]
async fn entra_reports_a_404_lookup_as_a_failure_and_creates_nothing() {
    let mut target = Target::connected("entra").await;
    mount_lookup_404(&target.server).await;
    let cycle = target.cycle(&acme_users(&["raj"])).await;
    assert_eq!(cycle.report.created, 0);
    assert_eq!(cycle.report.failures.len(), 1, "{:#?}", cycle.report);
    let failure = &cycle.report.failures[0];
    assert_eq!(failure.subject, "user raj");
    assert_eq!(failure.request, "GET /Users");
    assert_eq!(failure.status, Some(404));
    assert_eq!(failure.detail, "no user matches the filter");
    assert_eq!(posts_to_users(&target.received().await), 0);
    assert!(target.state.users.is_empty());
}

#[tokio::test]
async fn entra_test_connection_fails_when_the_probe_is_answered_404() {
    let mut target = Target::start("entra").await;
    mount_lookup_404(&target.server).await;
    let (result, transcript) = target.run(&acme_users(&["raj"]), 1).await;
    match result {
        Err(CycleError::TestConnection {
            request, status, ..
        }) => {
            assert_eq!(request, "GET /Users");
            assert_eq!(status, 404);
        }
        other => panic!("expected a failed test connection, got {other:?}"),
    }
    assert_eq!(transcript.exchanges().len(), 1);
    assert!(!target.state.connection_tested);
}

#[tokio::test]
async fn a_409_on_create_is_a_failure_and_the_next_cycle_tries_again() {
    let mut target = Target::connected("entra").await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE_PATH}/Users")))
        .respond_with(scim_answer(
            409,
            &json!({
                "schemas": [ERROR_SCHEMA],
                "scimType": "uniqueness",
                "status": "409",
                "detail": "userName is already taken",
            }),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&target.server)
        .await;
    let directory = acme_users(&["miles"]);
    let first = target.cycle(&directory).await;
    assert_eq!(first.report.created, 0);
    assert_eq!(first.report.failures.len(), 1, "{:#?}", first.report);
    let failure = &first.report.failures[0];
    assert_eq!(failure.request, "POST /Users");
    assert_eq!(failure.status, Some(409));
    assert_eq!(failure.detail, "userName is already taken");
    assert!(!target.state.users.contains_key("miles"));

    let second = target.cycle(&directory).await;
    assert!(second.report.failures.is_empty(), "{:#?}", second.report);
    assert_eq!(second.report.created, 1);
    assert_eq!(
        second.lines(),
        [
            "GET /Users?filter=userName eq \"miles.obrien@acme.test\"",
            "POST /Users"
        ]
    );
    assert!(target.state.users.contains_key("miles"));
}

#[tokio::test]
async fn a_404_on_an_update_patch_drops_the_user_so_the_next_cycle_looks_it_up_again() {
    let mut target = Target::connected("generic").await;
    let mut directory = acme_users(&["miles"]);
    target.cycle(&directory).await;
    let id = target.user_id("miles");
    set(
        &mut directory,
        "miles",
        "generic",
        "title",
        json!("Support Lead"),
    );
    Mock::given(method("PATCH"))
        .and(path_regex(format!("^{BASE_PATH}/Users/[^/]+$")))
        .respond_with(scim_error(404, "user not found"))
        .with_priority(1)
        .mount(&target.server)
        .await;

    let update = target.cycle(&directory).await;
    assert_eq!(update.lines(), [format!("PATCH /Users/{id}")]);
    assert_eq!(update.report.updated, 0);
    assert_eq!(update.report.failures.len(), 1, "{:#?}", update.report);
    assert_eq!(update.report.failures[0].status, Some(404));
    assert_eq!(
        update.report.failures[0].request,
        format!("PATCH /Users/{id}")
    );
    assert!(
        !target.state.users.contains_key("miles"),
        "the user is dropped from the state"
    );

    let again = target.cycle(&directory).await;
    assert_eq!(
        again.lines(),
        [
            "GET /Users?filter=userName eq \"miles.obrien@acme.test\"",
            "POST /Users"
        ]
    );
    assert_eq!(again.report.created, 1);
    assert_ne!(target.user_id("miles"), id);
}

async fn mount_429(server: &MockServer, retry_after: Option<&str>, times: u64) {
    let mut answer = scim_error(429, "too many requests");
    if let Some(seconds) = retry_after {
        answer = answer.insert_header("Retry-After", seconds);
    }
    Mock::given(method("GET"))
        .and(path(format!("{BASE_PATH}/Users")))
        .respond_with(answer)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn okta_waits_retry_after_seconds_after_a_429() {
    let mut target = Target::connected("okta").await;
    mount_429(&target.server, Some("7"), 1).await;
    let cycle = target.cycle(&acme_users(&["raj"])).await;
    assert!(cycle.report.failures.is_empty(), "{:#?}", cycle.report);
    assert_eq!(cycle.report.created, 1);
    assert_eq!(target.pause.waits(), [Duration::from_secs(7)]);
    assert_eq!(cycle.report.waited, Duration::from_secs(7));
    assert_eq!(
        cycle
            .exchanges
            .iter()
            .map(|exchange| exchange.status)
            .collect::<Vec<_>>(),
        [Some(429), Some(200), Some(201)]
    );
}

#[tokio::test]
async fn okta_waits_five_minutes_then_doubles_without_retry_after() {
    let mut target = Target::connected("okta").await;
    mount_429(&target.server, None, 2).await;
    let cycle = target.cycle(&acme_users(&["raj"])).await;
    assert!(cycle.report.failures.is_empty(), "{:#?}", cycle.report);
    assert_eq!(cycle.report.created, 1);
    assert_eq!(
        target.pause.waits(),
        [Duration::from_secs(300), Duration::from_secs(600)]
    );
    assert_eq!(cycle.report.waited, Duration::from_secs(900));
}

#[tokio::test]
async fn okta_waits_five_minutes_when_retry_after_is_an_http_date() {
    let mut target = Target::connected("okta").await;
    mount_429(&target.server, Some("Wed, 21 Oct 2026 07:28:00 GMT"), 1).await;
    let cycle = target.cycle(&acme_users(&["raj"])).await;
    assert!(cycle.report.failures.is_empty(), "{:#?}", cycle.report);
    assert_eq!(target.pause.waits(), [Duration::from_secs(300)]);
}

#[tokio::test]
async fn okta_gives_up_after_ten_attempts_of_429() {
    let mut target = Target::connected("okta").await;
    mount_429(&target.server, None, 100).await;
    let cycle = target.cycle(&acme_users(&["raj"])).await;
    assert_eq!(cycle.report.created, 0);
    assert_eq!(cycle.report.failures.len(), 1, "{:#?}", cycle.report);
    assert_eq!(cycle.report.failures[0].status, Some(429));
    assert_eq!(cycle.report.failures[0].request, "GET /Users");
    assert_eq!(target.received().await.len(), 10, "exactly 10 attempts");
    let waits = target.pause.waits();
    assert_eq!(waits.len(), 9, "a wait between each two attempts");
    assert_eq!(waits[0], Duration::from_secs(300));
    assert_eq!(waits[8], Duration::from_secs(300 * 256));
    assert!(target.state.users.is_empty());
}

#[tokio::test]
async fn generic_retries_a_503_and_succeeds() {
    let mut target = Target::connected("generic").await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE_PATH}/Users")))
        .respond_with(scim_error(503, "try again later"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&target.server)
        .await;
    let cycle = target.cycle(&acme_users(&["raj"])).await;
    assert!(cycle.report.failures.is_empty(), "{:#?}", cycle.report);
    assert_eq!(cycle.report.created, 1);
    assert_eq!(
        cycle.lines(),
        [
            "GET /Users?filter=userName eq \"raj.patel@acme.test\"",
            "POST /Users",
            "POST /Users"
        ]
    );
    assert_eq!(
        cycle
            .exchanges
            .iter()
            .map(|exchange| exchange.status)
            .collect::<Vec<_>>(),
        [Some(200), Some(503), Some(201)]
    );
    assert_eq!(target.pause.waits(), [Duration::from_secs(1)]);
    assert!(target.state.users.contains_key("raj"));
}

/// Entra against a target that answers 500 to every create, with the failure counts of
/// earlier cycles set beforehand.
async fn entra_with_failing_creates(failures: u64, operations: u64) -> (CycleReport, u64) {
    let mut target = Target::connected("entra").await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE_PATH}/Users")))
        .respond_with(scim_error(500, "internal error"))
        .with_priority(1)
        .mount(&target.server)
        .await;
    let directory = generate(&GenerateOptions {
        users: 60,
        groups: 0,
        seed: 3,
        blocks: vec!["entra".into()],
    });
    target.state.failures = failures;
    target.state.operations = operations;
    let (result, _) = target.run(&directory, 8).await;
    let report = result.unwrap();
    assert_eq!(report.created, 0);
    assert!(!report.failures.is_empty());
    assert!(
        report
            .failures
            .iter()
            .all(|failure| failure.status == Some(500) && failure.request == "POST /Users")
    );
    assert_eq!(
        report.failures.len() + report.skipped.len(),
        60,
        "every enabled user fails, disabled ones are skipped"
    );
    (report, target.state.failures)
}

#[tokio::test]
async fn entra_reports_quarantine_when_failures_pass_the_escrow_threshold() {
    let (report, failures) = entra_with_failing_creates(4_990, 5_000).await;
    assert!(failures >= 5_000, "{failures}");
    let quarantine = report.quarantine.expect("quarantine");
    assert!(quarantine.contains("quarantine"), "{quarantine}");
    assert!(
        quarantine.contains("EncounteredEscrowProportionThreshold"),
        "{quarantine}"
    );
}

#[tokio::test]
async fn entra_reports_no_quarantine_when_failures_are_far_below_the_share() {
    let (report, failures) = entra_with_failing_creates(4_990, 100_000).await;
    assert!(failures >= 5_000, "the minimum is reached: {failures}");
    assert_eq!(report.quarantine, None);
    let (report, _) = entra_with_failing_creates(0, 0).await;
    assert_eq!(report.quarantine, None, "below the 5,000-failure minimum");
}

#[tokio::test]
async fn har_export_holds_every_exchange_and_no_token() {
    let mut target = Target::start("okta").await;
    let cycle = target.cycle(&small_acme()).await;
    let transcript_har = cycle.transcript.to_har("test");
    assert_eq!(transcript_har["log"]["version"], "1.2");
    assert_eq!(transcript_har["log"]["creator"]["version"], "test");
    let entries = transcript_har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), cycle.exchanges.len());
    let received = target.received().await;
    assert_eq!(entries.len(), received.len());
    let mut redacted_passwords = 0;
    for ((entry, exchange), request) in entries.iter().zip(&cycle.exchanges).zip(&received) {
        assert_eq!(entry["request"]["method"], exchange.method);
        assert_eq!(entry["request"]["url"], exchange.url);
        let sent_url = reqwest::Url::parse(&exchange.url).unwrap();
        assert_eq!(sent_url.path(), request.url.path());
        assert_eq!(sent_url.query(), request.url.query());
        let sent = String::from_utf8(request.body.clone()).unwrap();
        if sent.is_empty() {
            assert!(entry["request"].get("postData").is_none(), "{entry}");
        } else {
            // Okta's create carries a random password: the HAR never holds it.
            assert_eq!(entry["request"]["postData"]["text"], redact_body(&sent));
            if sent.contains("\"password\"") {
                redacted_passwords += 1;
                assert!(
                    entry["request"]["postData"]["text"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("\"password\":\"{REDACTED}\""))
                );
            }
            assert_eq!(
                entry["request"]["postData"]["mimeType"],
                "application/scim+json; charset=utf-8"
            );
        }
        assert_eq!(entry["response"]["status"], json!(exchange.status.unwrap()));
        for header in entry["request"]["headers"].as_array().unwrap() {
            assert!(
                !header["value"].as_str().unwrap().contains(TOKEN),
                "{header}"
            );
        }
    }
    assert!(redacted_passwords > 0, "Okta's creates carry a password");
    assert!(!transcript_har.to_string().contains(TOKEN));
}

// ---------------------------------------------------------------------------------------------
// 3. An unreachable target
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unreachable_target_fails_the_cycle_at_the_test_connection() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base_url = format!("http://127.0.0.1:{port}{BASE_PATH}");
    let entra = persona("entra");
    let transcript = Transcript::default();
    let client = ScimClient::new(
        &entra,
        &base_url,
        TOKEN,
        Arc::new(SimulatedPause::default()),
        Some(transcript.clone()),
    )
    .unwrap();
    let mut state = ProvisioningState::new("entra", &base_url);
    let options = CycleOptions {
        concurrency: 1,
        now: now(),
        seed: 7,
        test_object_stem: None,
        test_user_email: None,
    };
    let error = ProvisioningCycle::new(&entra, &small_acme(), &client, options)
        .run(&mut state, &NoProgress)
        .await
        .unwrap_err();
    match &error {
        CycleError::Unreachable(unreachable) => {
            assert_eq!(unreachable.method, "GET");
            assert!(
                unreachable
                    .url
                    .starts_with(&format!("{base_url}/Users?filter=")),
                "{unreachable:?}"
            );
        }
        other => panic!("expected an unreachable target, got {other}"),
    }
    assert!(!state.connection_tested);
    assert!(state.users.is_empty());
    let exchanges = transcript.exchanges();
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].status, None);
    assert!(exchanges[0].error.is_some());
}

#[tokio::test]
async fn an_answer_over_32_mib_is_refused_not_held() {
    let mut target = Target::start("entra").await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE_PATH}/Users")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(vec![b' '; 32 * 1024 * 1024 + 1], "application/scim+json"),
        )
        .with_priority(1)
        .mount(&target.server)
        .await;
    let (result, transcript) = target.run(&small_acme(), 1).await;
    match result {
        Err(CycleError::Unreachable(unreachable)) => {
            assert!(
                unreachable.message.contains("body is over 32 MiB"),
                "{unreachable:?}"
            );
        }
        other => panic!("expected the test connection to fail, got {other:?}"),
    }
    assert!(!target.state.connection_tested);
    assert_eq!(transcript.exchanges()[0].status, None);
}
