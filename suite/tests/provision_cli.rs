//! `idpsim provision`, `idpsim personas` and `idpsim directory generate` as a user runs them:
//! the real binary against the reference SP started in-process; exit codes, summary, state
//! file and HAR.

#![allow(clippy::unwrap_used, clippy::panic)]

use idpsim_reference_sp::{RunningSp, SpConfig};
use idpsim_simulator::directory::Directory;
use std::path::Path;
use std::process::Output;

async fn spawn_sp() -> RunningSp {
    RunningSp::start(SpConfig {
        bootstrap_token: Some("cli-token".into()),
        ..SpConfig::ephemeral()
    })
    .await
    .unwrap()
}

async fn idpsim(arguments: Vec<String>, working_directory: &Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_idpsim"))
        .args(arguments)
        .current_dir(working_directory)
        .output()
        .await
        .unwrap()
}

fn acme() -> String {
    idpsim_simulator::fixtures_dir()
        .join("directories/acme.yaml")
        .display()
        .to_string()
}

fn provision(persona: &str, target: &str, token: &str) -> Vec<String> {
    [
        "provision",
        "--persona",
        persona,
        "--directory",
        &acme(),
        "--target",
        target,
        "--token",
        token,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn provision_runs_a_cycle_keeps_state_and_writes_a_har() {
    let sp = spawn_sp().await;
    let work = tempfile::tempdir().unwrap();
    let mut arguments = provision("okta", sp.base_url(), "cli-token");
    arguments.extend(["--har".to_owned(), "cycle.har".to_owned()]);
    let first = idpsim(arguments, work.path()).await;
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let summary = text(&first.stdout);
    assert!(summary.contains("users: 27 created"), "{summary}");
    assert!(summary.contains("failures: 0"), "{summary}");
    assert!(work.path().join("acme.okta.state.json").exists());
    let har: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("cycle.har")).unwrap())
            .unwrap();
    assert_eq!(har["log"]["version"], "1.2");
    let har_text = har.to_string();
    assert!(
        !har_text.contains("cli-token"),
        "the token never reaches the HAR"
    );
    assert!(har_text.contains("Okta SCIM Client 1.0.0"));

    let second = idpsim(provision("okta", sp.base_url(), "cli-token"), work.path()).await;
    assert_eq!(second.status.code(), Some(0));
    assert!(text(&second.stdout).contains("users: 0 created, 0 linked, 0 updated"));
}

#[tokio::test]
async fn import_reads_what_okta_pushed_page_by_page() {
    let sp = spawn_sp().await;
    let work = tempfile::tempdir().unwrap();
    let pushed = idpsim(provision("okta", sp.base_url(), "cli-token"), work.path()).await;
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed.stderr));
    let import = |persona: &str| {
        [
            "import",
            "--persona",
            persona,
            "--target",
            sp.base_url(),
            "--token",
            "cli-token",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let imported = idpsim(import("okta"), work.path()).await;
    assert_eq!(
        imported.status.code(),
        Some(0),
        "{}",
        text(&imported.stderr)
    );
    let summary = text(&imported.stdout);
    assert!(
        summary.contains("users: 27 imported, 0 skipped (active false)"),
        "{summary}"
    );
    assert!(
        summary.contains("GET /Users?startIndex=1&count=100"),
        "{summary}"
    );
    assert!(summary.contains("problems: 0"), "{summary}");

    let refused = idpsim(import("entra"), work.path()).await;
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        text(&refused.stderr).trim_end(),
        "error: Microsoft Entra ID has no import (its persona file sets no import_page_size)"
    );
}

#[tokio::test]
async fn bad_input_is_one_line_and_exit_code_2() {
    let sp = spawn_sp().await;
    let work = tempfile::tempdir().unwrap();
    let cases = [
        (
            provision("onelogin", sp.base_url(), "cli-token"),
            "unknown persona `onelogin`",
        ),
        (
            provision("google", sp.base_url(), "cli-token"),
            "does not push SCIM",
        ),
        (
            provision("entra", sp.base_url(), "wrong-token"),
            "test connection failed",
        ),
        (
            provision("entra", "http://127.0.0.1:9/scim/v2", "cli-token"),
            "unreachable",
        ),
        (
            [
                "provision",
                "--persona",
                "entra",
                "--directory",
                "missing.yaml",
                "--target",
                sp.base_url(),
                "--token",
                "cli-token",
            ]
            .map(str::to_owned)
            .to_vec(),
            "missing.yaml",
        ),
        (
            [
                provision("entra", sp.base_url(), "cli-token"),
                vec!["--test-email".into(), "qa@app.example".into()],
            ]
            .concat(),
            "--test-email: Microsoft Entra ID's test connection creates no user",
        ),
    ];
    for (arguments, expected) in cases {
        let output = idpsim(arguments.clone(), work.path()).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{arguments:?}: {stderr}");
        assert!(stderr.contains(expected), "{arguments:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

#[tokio::test]
async fn failed_operations_exit_1_and_are_listed() {
    let sp = spawn_sp().await;
    let work = tempfile::tempdir().unwrap();
    let first = idpsim(
        provision("generic", sp.base_url(), "cli-token"),
        work.path(),
    )
    .await;
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let okta = idpsim(provision("okta", sp.base_url(), "cli-token"), work.path()).await;
    let summary = text(&okta.stdout);
    assert_eq!(
        okta.status.code(),
        Some(0),
        "Okta links the users generic made: {summary}"
    );
    assert!(summary.contains("linked"), "{summary}");

    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.path().join("acme.generic.state.json")).unwrap(),
    )
    .unwrap();
    let adele = state["users"]["adele"]["id"].as_str().unwrap().to_owned();
    let deleted = reqwest::Client::new()
        .delete(format!("{}/Users/{adele}", sp.base_url()))
        .bearer_auth("cli-token")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    let mut directory = Directory::load(Path::new(&acme())).unwrap();
    let person = directory
        .users
        .iter_mut()
        .find(|user| user.key == "adele")
        .unwrap();
    person
        .blocks
        .get_mut("generic")
        .unwrap()
        .set("title", "Staff Engineer".into());
    let edited = work.path().join("acme.yaml");
    directory.save(&edited).unwrap();
    let mut arguments = provision("generic", sp.base_url(), "cli-token");
    arguments[4] = edited.display().to_string();
    let failed = idpsim(arguments, work.path()).await;
    let summary = text(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{summary}");
    assert!(summary.contains("failures: 1"), "{summary}");
    assert!(summary.contains("user adele: PATCH /Users/"), "{summary}");
}

#[tokio::test]
async fn personas_and_directory_generate_print_what_they_say() {
    let work = tempfile::tempdir().unwrap();
    let list = idpsim(vec!["personas".into()], work.path()).await;
    assert_eq!(list.status.code(), Some(0));
    assert!(text(&list.stdout).contains("okta-aiw"));
    let show = idpsim(
        vec!["personas".into(), "show".into(), "jumpcloud".into()],
        work.path(),
    )
    .await;
    assert!(text(&show.stdout).contains("(unconfirmed)"));
    let arguments = [
        "directory",
        "generate",
        "--users",
        "30",
        "--groups",
        "3",
        "--seed",
        "9",
        "--output",
        "gen.yaml",
    ]
    .map(str::to_owned)
    .to_vec();
    let generated = idpsim(arguments.clone(), work.path()).await;
    assert_eq!(
        generated.status.code(),
        Some(0),
        "{}",
        text(&generated.stderr)
    );
    let first = std::fs::read_to_string(work.path().join("gen.yaml")).unwrap();
    idpsim(arguments, work.path()).await;
    assert_eq!(
        first,
        std::fs::read_to_string(work.path().join("gen.yaml")).unwrap()
    );
    let directory = Directory::parse(&first).unwrap();
    assert_eq!(directory.users.len(), 30);
}
