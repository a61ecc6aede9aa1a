//! End to end: each persona provisions the acme directory into the reference SP, lifecycle
//! events follow as directory edits, and after every cycle the SP holds exactly the mapped
//! directory (checked through SCIM reads).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, Utc};
use idpsim_reference_sp::{RunningSp, SpConfig};
use idpsim_simulator::directory::Directory;
use idpsim_simulator::fixtures_dir;
use idpsim_simulator::persona::{Persona, PersonaCatalog};
use idpsim_simulator::provision::{
    CycleOptions, CycleReport, NoProgress, ProvisioningCycle, ProvisioningState, ScimClient,
    SimulatedPause, Transcript,
};
use serde_json::{Value, json};
use std::sync::Arc;

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

async fn spawn_sp() -> RunningSp {
    RunningSp::start(SpConfig::ephemeral()).await.unwrap()
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

struct Run {
    sp: RunningSp,
    persona: Persona,
    state: ProvisioningState,
    transcript: Transcript,
}

impl Run {
    async fn new(name: &str) -> Run {
        let sp = spawn_sp().await;
        let state = ProvisioningState::new(name, sp.base_url());
        Run {
            sp,
            persona: persona(name),
            state,
            transcript: Transcript::default(),
        }
    }

    /// The persona's client for the SP, recording into `transcript` when given.
    fn client(&self, transcript: Option<Transcript>) -> ScimClient {
        ScimClient::new(
            &self.persona,
            self.sp.base_url(),
            self.sp.default_token(),
            Arc::new(SimulatedPause::default()),
            transcript,
        )
        .unwrap()
    }

    async fn cycle(&mut self, directory: &Directory, now: DateTime<Utc>) -> CycleReport {
        self.transcript = Transcript::default();
        let client = self.client(Some(self.transcript.clone()));
        let options = CycleOptions {
            concurrency: 4,
            now,
            seed: 1,
            test_object_stem: None,
            test_user_email: None,
        };
        let report = ProvisioningCycle::new(&self.persona, directory, &client, options)
            .run(&mut self.state, &NoProgress)
            .await
            .unwrap();
        assert!(report.failures.is_empty(), "{:#?}", report.failures);
        report
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.sp.base_url()))
            .bearer_auth(self.sp.default_token())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The SP holds exactly what the state says was pushed: every user and group, every
    /// mapped value, every member, and nothing else.
    async fn assert_sp_matches_state(&self) {
        let (_, users) = self.get("/Users?count=1000").await;
        assert_eq!(
            users["totalResults"],
            json!(self.state.users.len()),
            "user count"
        );
        for (key, user) in &self.state.users {
            let (status, resource) = self.get(&format!("/Users/{}", user.id)).await;
            assert_eq!(status, 200, "user {key}");
            let resource = resource.as_object().unwrap();
            for rule in &self.persona.user_rules {
                let expected = user.pushed.get(&rule.target.text);
                assert_eq!(
                    rule.target.read(resource).as_ref(),
                    expected.as_ref(),
                    "user {key}: {}",
                    rule.target.text
                );
            }
        }
        let (_, groups) = self.get("/Groups?count=1000").await;
        assert_eq!(
            groups["totalResults"],
            json!(self.state.groups.len()),
            "group count"
        );
        for (key, group) in &self.state.groups {
            let (_, resource) = self.get(&format!("/Groups/{}", group.id)).await;
            assert_eq!(
                resource["displayName"], group.pushed["displayName"],
                "group {key}"
            );
            let mut members: Vec<String> = resource["members"]
                .as_array()
                .map(|members| {
                    members
                        .iter()
                        .map(|member| member["value"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            members.sort();
            let mut expected: Vec<String> = group
                .members
                .iter()
                .map(|member| self.state.users[member].id.clone())
                .collect();
            expected.sort();
            assert_eq!(members, expected, "members of group {key}");
        }
    }
}

/// Per-block native names of the attributes the lifecycle edits.
struct NativeNames {
    block: &'static str,
    title: &'static str,
    login: &'static str,
    group_name: &'static str,
    disable: (&'static str, Value),
}

fn names(block: &str) -> NativeNames {
    match block {
        "entra" => NativeNames {
            block: "entra",
            title: "jobTitle",
            login: "userPrincipalName",
            group_name: "displayName",
            disable: ("accountEnabled", json!(false)),
        },
        "okta" => NativeNames {
            block: "okta",
            title: "title",
            login: "login",
            group_name: "name",
            disable: ("status", json!("DEPROVISIONED")),
        },
        "jumpcloud" => NativeNames {
            block: "jumpcloud",
            title: "jobTitle",
            login: "username",
            group_name: "name",
            disable: ("activated", json!(false)),
        },
        _ => NativeNames {
            block: "generic",
            title: "title",
            login: "userName",
            group_name: "displayName",
            disable: ("active", json!(false)),
        },
    }
}

fn edit(directory: &mut Directory, key: &str, block: &str, attribute: &str, value: Value) {
    let user = directory
        .users
        .iter_mut()
        .find(|user| user.key == key)
        .unwrap();
    user.blocks.get_mut(block).unwrap().set(attribute, value);
}

async fn lifecycle(name: &str) -> Run {
    let mut run = Run::new(name).await;
    let native = names(&run.persona.directory_block);
    let mut directory = acme();
    let first = run.cycle(&directory, start()).await;
    assert!(first.created >= 20, "{first:#?}");
    run.assert_sp_matches_state().await;

    let quiet = run.cycle(&directory, start()).await;
    assert_eq!(
        run.transcript.exchanges().len(),
        0,
        "a cycle with nothing changed sends nothing: {quiet:#?}"
    );

    edit(
        &mut directory,
        "adele",
        native.block,
        native.title,
        json!("Staff Engineer"),
    );
    edit(
        &mut directory,
        "miles",
        native.block,
        native.login,
        json!("miles.obrien2@acme.test"),
    );
    edit(
        &mut directory,
        "megan",
        native.block,
        native.disable.0,
        native.disable.1.clone(),
    );
    directory.users.retain(|user| user.key != "zoe");
    let sales = directory
        .groups
        .iter_mut()
        .find(|group| group.key == "sales")
        .unwrap();
    sales
        .blocks
        .get_mut(native.block)
        .unwrap()
        .set(native.group_name, json!("Sales EMEA"));
    sales.members.retain(|member| member != "jose");
    sales.members.push("miles".into());
    let second = run.cycle(&directory, start() + Duration::hours(1)).await;
    assert!(second.updated >= 2, "{second:#?}");
    assert!(second.deactivated + second.deleted >= 2, "{second:#?}");
    assert!(second.groups_updated >= 1, "{second:#?}");
    run.assert_sp_matches_state().await;
    run
}

#[tokio::test]
async fn entra_provisions_acme_and_follows_its_lifecycle() {
    let run = lifecycle("entra").await;
    let exchanges = run.transcript.exchanges();
    let patch = exchanges
        .iter()
        .find(|exchange| {
            exchange.method == "PATCH"
                && exchange
                    .request_body
                    .as_deref()
                    .unwrap_or("")
                    .contains("\"active\"")
        })
        .unwrap();
    assert!(
        patch
            .request_body
            .as_deref()
            .unwrap()
            .contains(r#""op":"Replace","path":"active","value":"False""#),
        "{patch:?}"
    );
    assert!(
        !run.state.users.contains_key("debra"),
        "a disabled user is never created"
    );
    // A B2B guest's userName is its UPN without #EXT# and the tenant suffix (personas.md
    // §1.1 "Create user" [S3]).
    let (_, guest) = run
        .get(&format!("/Users/{}", run.state.users["pat"].id))
        .await;
    assert_eq!(guest["userName"], "pat_partner.example");
}

#[tokio::test]
async fn entra_compliant_provisions_acme_and_follows_its_lifecycle() {
    let run = lifecycle("entra-compliant").await;
    let bodies: Vec<String> = run
        .transcript
        .exchanges()
        .iter()
        .filter_map(|exchange| exchange.request_body.clone())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|body| body.contains(r#""op":"replace","path":"active","value":false"#)),
        "{bodies:#?}"
    );
    assert!(
        bodies
            .iter()
            .any(|body| body.contains(r#""path":"members[value eq"#)),
        "{bodies:#?}"
    );
}

#[tokio::test]
async fn okta_provisions_acme_and_never_deletes() {
    let run = lifecycle("okta").await;
    let exchanges = run.transcript.exchanges();
    assert!(
        exchanges
            .iter()
            .all(|exchange| !(exchange.method == "DELETE" && exchange.url.contains("/Users/")))
    );
    assert!(
        run.state.users.contains_key("zoe"),
        "an unassigned Okta user stays, inactive"
    );
    assert!(!run.state.users["zoe"].active());
    assert!(
        run.state
            .groups
            .values()
            .all(|group| !group.members.contains("zoe")),
        "an unassigned user leaves the pushed groups (personas.md §2.1 [S8b])"
    );
    assert!(
        exchanges
            .iter()
            .any(|exchange| exchange.method == "PUT" && exchange.url.contains("/Users/"))
    );
}

#[tokio::test]
async fn okta_keeps_the_external_id_of_a_user_it_linked_instead_of_creating() {
    let mut run = Run::new("okta").await;
    // adele exists at the target before Okta is connected, with an id of another system.
    let existing = reqwest::Client::new()
        .post(format!("{}/Users", run.sp.base_url()))
        .bearer_auth(run.sp.default_token())
        .json(
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": "adele.vance@acme.test", "externalId": "legacy-142"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(existing.status(), 201);
    let mut directory = acme();
    let first = run.cycle(&directory, start()).await;
    assert_eq!(first.linked, 1, "{first:#?}");
    assert!(run.state.users["adele"].linked);
    let adele = format!("/Users/{}", run.state.users["adele"].id);
    assert_eq!(run.get(&adele).await.1["externalId"], "legacy-142");
    // A later profile change is a PUT that echoes what the target holds (personas.md §2.4).
    edit(
        &mut directory,
        "adele",
        "okta",
        "title",
        json!("Staff Engineer"),
    );
    let second = run.cycle(&directory, start() + Duration::hours(1)).await;
    assert_eq!(second.updated, 1, "{second:#?}");
    let (_, resource) = run.get(&adele).await;
    assert_eq!(resource["title"], "Staff Engineer");
    assert_eq!(resource["externalId"], "legacy-142");
    // Users Okta created carry its user id.
    let catherine = format!("/Users/{}", run.state.users["catherine"].id);
    assert_eq!(
        run.get(&catherine).await.1["externalId"],
        "00utoZ5y0HmJMwuErIC5"
    );
}

#[tokio::test]
async fn okta_aiw_provisions_acme_with_put_only() {
    let run = lifecycle("okta-aiw").await;
    let exchanges = run.transcript.exchanges();
    assert!(
        exchanges.iter().all(|exchange| exchange.method != "PATCH"),
        "AIW never sends PATCH"
    );
    // zoe, unassigned, leaves her group: its whole-group PUT lists the others only.
    let (zoe, oyvind) = (&run.state.users["zoe"].id, &run.state.users["oyvind"].id);
    let group_puts: Vec<&str> = exchanges
        .iter()
        .filter(|exchange| exchange.method == "PUT" && exchange.url.contains("/Groups/"))
        .filter_map(|exchange| exchange.request_body.as_deref())
        .collect();
    assert!(
        group_puts
            .iter()
            .any(|body| body.contains(oyvind.as_str()) && !body.contains(zoe.as_str())),
        "the whole-group PUT lists only assigned users (personas.md §2.1 [S8b]): {group_puts:#?}"
    );
    assert!(
        exchanges
            .iter()
            .any(|exchange| exchange.method == "PUT" && exchange.url.contains("/Groups/"))
    );
}

#[tokio::test]
async fn jumpcloud_provisions_acme_and_deletes_removed_users() {
    let run = lifecycle("jumpcloud").await;
    assert!(!run.state.users.contains_key("zoe"));
    assert!(
        run.transcript
            .exchanges()
            .iter()
            .any(|exchange| exchange.method == "DELETE")
    );
}

#[tokio::test]
async fn jumpcloud_deactivates_an_unassigned_user_and_deletes_a_deleted_one() {
    let mut run = Run::new("jumpcloud").await;
    let mut directory = acme();
    run.cycle(&directory, start()).await;
    let lee = directory
        .users
        .iter_mut()
        .find(|user| user.key == "lee")
        .unwrap();
    lee.blocks.remove("jumpcloud");
    directory.users.retain(|user| user.key != "zoe");
    let report = run.cycle(&directory, start() + Duration::hours(1)).await;
    assert_eq!((report.deactivated, report.deleted), (1, 1), "{report:#?}");
    assert!(!run.state.users["lee"].active());
    assert!(!run.state.users.contains_key("zoe"));
    let (status, lee) = run
        .get(&format!("/Users/{}", run.state.users["lee"].id))
        .await;
    assert_eq!((status, &lee["active"]), (200, &json!(false)));
    run.assert_sp_matches_state().await;
}

#[tokio::test]
async fn generic_provisions_acme_and_follows_its_lifecycle() {
    lifecycle("generic").await;
}

#[tokio::test]
async fn entra_hard_deletes_a_soft_deleted_user_after_thirty_days() {
    let mut run = Run::new("entra").await;
    let mut directory = acme();
    run.cycle(&directory, start()).await;
    edit(
        &mut directory,
        "adele",
        "entra",
        "deletedDateTime",
        json!("2026-11-02T00:00:00Z"),
    );
    let soft = run.cycle(&directory, start() + Duration::days(2)).await;
    assert_eq!(soft.deactivated, 1, "{soft:#?}");
    assert!(!run.state.users["adele"].active());
    let early = run.cycle(&directory, start() + Duration::days(20)).await;
    assert_eq!(early.deleted, 0);
    let late = run.cycle(&directory, start() + Duration::days(32)).await;
    assert_eq!(late.deleted, 1, "{late:#?}");
    let id_gone = !run.state.users.contains_key("adele");
    assert!(id_gone);
    run.assert_sp_matches_state().await;
}

#[tokio::test]
async fn google_pushes_no_scim() {
    let sp = spawn_sp().await;
    let google = persona("google");
    let client = ScimClient::new(
        &google,
        sp.base_url(),
        sp.default_token(),
        Arc::new(SimulatedPause::default()),
        None,
    )
    .unwrap();
    let mut state = ProvisioningState::new("google", sp.base_url());
    let options = CycleOptions {
        concurrency: 1,
        now: start(),
        seed: 1,
        test_object_stem: None,
        test_user_email: None,
    };
    let error = ProvisioningCycle::new(&google, &acme(), &client, options)
        .run(&mut state, &NoProgress)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("no generic SCIM connector"),
        "{error}"
    );
}

#[tokio::test]
async fn entra_sends_the_manager_after_the_manager_exists() {
    let mut run = Run::new("entra").await;
    run.cycle(&acme(), start()).await;
    let manager = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";
    assert_eq!(
        run.state.users["adele"].pushed.get(manager).unwrap(),
        json!(run.state.users["dana"].id)
    );
    let (_, adele) = run
        .get(&format!("/Users/{}", run.state.users["adele"].id))
        .await;
    assert_eq!(
        adele["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        json!(run.state.users["dana"].id)
    );
}

#[tokio::test]
async fn a_directory_mapping_overrides_the_persona_default() {
    let mut run = Run::new("entra").await;
    let mut directory = acme();
    let overrides: idpsim_simulator::mapping::MappingOverrides = serde_json::from_value(json!({
        "user": [
            {"scim": "externalId", "native": "mailNickname", "source": "this tenant keys on mailNickname (personas.md §1.1 tutorial template)"},
            {"scim": "nickName", "expression": "ToLower([givenName])", "source": "this tenant's extra mapping"}
        ]
    }))
    .unwrap();
    directory.mappings.insert("entra".into(), overrides);
    run.cycle(&directory, start()).await;
    run.assert_sp_matches_state().await;
    let (_, adele) = run
        .get(&format!("/Users/{}", run.state.users["adele"].id))
        .await;
    let entra = acme().user("adele").unwrap().blocks["entra"].attributes();
    assert_eq!(adele["externalId"], entra["mailNickname"]);
    assert_eq!(
        adele["nickName"],
        json!(entra["givenName"].as_str().unwrap().to_lowercase())
    );
}

#[tokio::test]
async fn okta_imports_every_user_page_by_page_and_skips_the_inactive() {
    let mut run = Run::new("okta").await;
    let directory =
        idpsim_simulator::directory::generate(&idpsim_simulator::directory::GenerateOptions {
            users: 230,
            groups: 2,
            seed: 5,
            blocks: vec!["okta".into()],
        });
    run.cycle(&directory, start()).await;
    let inactive = run.state.users.values().next().unwrap().id.clone();
    let deactivate = reqwest::Client::new()
        .patch(format!("{}/Users/{inactive}", run.sp.base_url()))
        .bearer_auth(run.sp.default_token())
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivate.status(), 200);

    let report = idpsim_simulator::provision::import(&run.persona, &run.client(None))
        .await
        .unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    let (_, all) = run.get("/Users?count=1000").await;
    let total = all["totalResults"].as_u64().unwrap() as usize;
    assert!(total > 200, "{total} users, enough for three pages");
    assert_eq!(report.inactive_skipped, 1);
    assert_eq!(report.users.len(), total - 1);
    assert!(report.users.iter().all(|(id, _)| *id != inactive));
    let imported: std::collections::BTreeSet<&str> =
        report.users.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(imported.len(), report.users.len(), "no user twice");
    assert_eq!(
        report.requests,
        [
            "GET /Users?startIndex=1&count=100",
            "GET /Users?startIndex=101&count=100",
            "GET /Users?startIndex=201&count=100",
            "GET /Groups?startIndex=1&count=100",
        ]
    );
    assert_eq!(report.groups.len(), run.state.groups.len());
}

#[tokio::test]
async fn entra_has_no_import() {
    let run = Run::new("entra").await;
    let error = idpsim_simulator::provision::import(&run.persona, &run.client(None))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Microsoft Entra ID has no import (its persona file sets no import_page_size)"
    );
}
