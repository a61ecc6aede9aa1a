//! `certify::run` end to end: exit codes, reports, and what an external target skips.

#![allow(clippy::unwrap_used, clippy::panic)]

use idpsim_reference_sp::{RunningSp, SpConfig};
use idpsim_simulator::fixtures_dir;
use idpsim_suite::certify::scenario::Level;
use idpsim_suite::certify::verdict::Status;
use idpsim_suite::certify::{self, CertifyError, CertifyOptions, ExternalTarget, Outcome, Output};
use std::net::Ipv4Addr;
use std::path::Path;

const PASSING_FEATURE: &str = r#"
@generic
Feature: Discovery for the certify tests
  @must @entra
  Scenario: the service provider configuration is readable
    Every client reads the configuration (RFC 7644 §4).
    When I send a GET request to "/ServiceProviderConfig"
    Then the response status is 200

  @reference-sp @should
  Scenario: an organization of the bundled SP
    Given a separate organization "acme" on the reference SP
    And I use the token of organization "acme"
    When I send a GET request to "/Users"
    Then the response status is 200
"#;

const FAILING_FEATURE: &str = r#"
Feature: A scenario the reference SP must fail
  @okta @must
  Scenario: an unknown endpoint is not a teapot
    Okta expects a teapot (RFC 2324).
    When I send a GET request to "/Widgets"
    Then the response status is 418
"#;

fn features_dir(features: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in features {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn options(features: &Path) -> CertifyOptions {
    CertifyOptions {
        target: None,
        tags: None,
        personas: Vec::new(),
        fail_on: Level::Must,
        report_dir: None,
        features: features.to_owned(),
        personas_dir: fixtures_dir().join("personas"),
        concurrency: 4,
        output: Output::Quiet,
    }
}

async fn start_sp() -> RunningSp {
    RunningSp::start(SpConfig {
        bootstrap_token: Some("certify-test-token".into()),
        ..SpConfig::ephemeral()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn passing_scenarios_exit_0_and_write_both_reports() {
    let features = features_dir(&[("discovery.feature", PASSING_FEATURE)]);
    let reports = tempfile::tempdir().unwrap();
    let report_dir = reports.path().join("run");
    let outcome = certify::run(&CertifyOptions {
        report_dir: Some(report_dir.clone()),
        ..options(features.path())
    })
    .await;
    let Outcome::Passed(report) = &outcome else {
        panic!("expected the run to pass, got {outcome:?}");
    };
    assert_eq!(report.count(|status| *status == Status::Passed), 2);
    assert_eq!(outcome.exit_code(), 0);
    let verdict = |name: &str| {
        report
            .verdicts
            .iter()
            .find(|verdict| verdict.persona == name)
            .unwrap()
            .summary()
    };
    assert_eq!(verdict("entra"), "compatible");
    assert_eq!(verdict("generic"), "compatible");
    assert_eq!(verdict("okta"), "not tested");
    let summary = std::fs::read_to_string(report_dir.join("summary.md")).unwrap();
    assert!(summary.starts_with("# idpsim certify: passed"), "{summary}");
    let html = std::fs::read_to_string(report_dir.join("report.html")).unwrap();
    assert!(html.contains("Microsoft Entra ID"));
    assert!(!report_dir.join("har").exists(), "no failure, no HAR");
    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).unwrap();
    assert!(junit.contains("the service provider configuration is readable"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("cucumber.json")).unwrap())
            .unwrap();
    assert_eq!(json[0]["name"], "Discovery for the certify tests");
}

#[tokio::test]
async fn a_failing_scenario_exits_1() {
    let features = features_dir(&[
        ("discovery.feature", PASSING_FEATURE),
        ("failing.feature", FAILING_FEATURE),
    ]);
    let reports = tempfile::tempdir().unwrap();
    let outcome = certify::run(&CertifyOptions {
        report_dir: Some(reports.path().to_owned()),
        ..options(features.path())
    })
    .await;
    let Outcome::Failed(report) = &outcome else {
        panic!("expected the run to fail, got {outcome:?}");
    };
    assert_eq!(report.count(|status| *status == Status::Failed), 1);
    assert_eq!(report.count(|status| *status == Status::Passed), 2);
    assert_eq!(outcome.exit_code(), 1);
    let okta = report
        .verdicts
        .iter()
        .find(|verdict| verdict.persona == "okta")
        .unwrap();
    assert_eq!(okta.summary(), "1 blocking problem");
    assert_eq!(
        okta.blocking[0].explanation,
        "Okta expects a teapot (RFC 2324). Instead, the endpoint answered HTTP 404 to \
         GET /scim/v2/Widgets (expected status 418, got 404)."
    );
    // The failed scenario is listed first, with its HAR file.
    let failed = &report.scenarios[0];
    assert_eq!(failed.har.as_deref(), Some("har/failing-4.har"));
    let har: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.path().join("har/failing-4.har")).unwrap(),
    )
    .unwrap();
    let entry = &har["log"]["entries"][0];
    assert_eq!(entry["response"]["status"], 404);
    let authorization = entry["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|header| header["name"] == "authorization")
        .unwrap();
    assert_eq!(authorization["value"], "<redacted>");
    let summary = std::fs::read_to_string(reports.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("| ❌ Okta (catalog integration) | 1 blocking problem |"),
        "{summary}"
    );
}

#[tokio::test]
async fn an_external_target_skips_the_reference_sp_scenarios() {
    let sp = start_sp().await;
    let features = features_dir(&[("discovery.feature", PASSING_FEATURE)]);
    let reports = tempfile::tempdir().unwrap();
    let outcome = certify::run(&CertifyOptions {
        target: Some(ExternalTarget {
            base_url: sp.base_url().to_owned(),
            token: "certify-test-token".into(),
        }),
        report_dir: Some(reports.path().to_owned()),
        ..options(features.path())
    })
    .await;
    let Outcome::Passed(report) = &outcome else {
        panic!("expected the run to pass, got {outcome:?}");
    };
    assert_eq!(report.count(|status| *status == Status::Passed), 1);
    assert_eq!(
        report.count(|status| matches!(status, Status::Skipped(_))),
        1
    );
    // JUnit holds the scenario that did not run, and each persona's verdict.
    let junit = std::fs::read_to_string(reports.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"name="an organization of the bundled SP"><skipped message="needs the bundled reference SP"#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<testcase classname="verdicts" name="Microsoft Entra ID"></testcase>"#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"name="Okta (catalog integration)"><skipped message="not tested"/>"#),
        "{junit}"
    );
    assert!(junit.trim_end().ends_with("</testsuites>"), "{junit}");
    sp.shutdown().await;
}

#[tokio::test]
async fn a_refused_token_exits_2_before_any_scenario() {
    let sp = start_sp().await;
    let features = features_dir(&[("discovery.feature", PASSING_FEATURE)]);
    let outcome = certify::run(&CertifyOptions {
        target: Some(ExternalTarget {
            base_url: sp.base_url().to_owned(),
            token: "not-the-token".into(),
        }),
        ..options(features.path())
    })
    .await;
    assert!(
        matches!(
            &outcome,
            Outcome::NotRun(CertifyError::Unauthorized { status: 401, .. })
        ),
        "{outcome:?}"
    );
    assert_eq!(outcome.exit_code(), 2);
    sp.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_target_exits_2_with_the_reason() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let features = features_dir(&[("discovery.feature", PASSING_FEATURE)]);
    let outcome = certify::run(&CertifyOptions {
        target: Some(ExternalTarget {
            base_url: format!("http://{address}/scim/v2"),
            token: "t".into(),
        }),
        ..options(features.path())
    })
    .await;
    let Outcome::NotRun(error) = &outcome else {
        panic!("expected the run not to start, got {outcome:?}");
    };
    assert!(
        error.to_string().contains("unreachable"),
        "the message says what is wrong: {error}"
    );
    assert_eq!(outcome.exit_code(), 2);
}

#[tokio::test]
async fn a_missing_features_directory_exits_2() {
    let outcome = certify::run(&options(Path::new("/nonexistent/idpsim/features"))).await;
    assert!(matches!(
        outcome,
        Outcome::NotRun(CertifyError::FeaturesMissing(_))
    ));
}

/// A target where `/ServiceProviderConfig` answers `config` and `/Users` answers `users`.
async fn scripted_target(
    config: wiremock::ResponseTemplate,
    users: wiremock::ResponseTemplate,
) -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/scim/v2/ServiceProviderConfig"))
        .respond_with(config)
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .respond_with(users)
        .mount(&server)
        .await;
    server
}

async fn certify_scripted(server: &wiremock::MockServer, report_dir: &Path) -> Outcome {
    let features = features_dir(&[("discovery.feature", PASSING_FEATURE)]);
    certify::run(&CertifyOptions {
        target: Some(ExternalTarget {
            base_url: format!("{}/scim/v2", server.uri()),
            token: "t".into(),
        }),
        report_dir: Some(report_dir.to_owned()),
        ..options(features.path())
    })
    .await
}

#[tokio::test]
async fn a_target_that_is_not_scim_or_refuses_the_token_on_users_exits_2_and_writes_nothing() {
    use wiremock::ResponseTemplate;
    let list = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                                  "totalResults": 0, "Resources": []});
    let config = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                                    "patch": {"supported": true}});
    let cases = [
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"hello": "world"})),
            ResponseTemplate::new(200).set_body_json(&list),
            "not a SCIM ServiceProviderConfig",
        ),
        (
            ResponseTemplate::new(200).set_body_string("x".repeat(2 * 1024 * 1024)),
            ResponseTemplate::new(200).set_body_json(&list),
            "more than 1 MiB",
        ),
        (
            ResponseTemplate::new(200).set_body_json(&config),
            ResponseTemplate::new(401),
            "/Users",
        ),
    ];
    for (config, users, expected) in cases {
        let server = scripted_target(config, users).await;
        let reports = tempfile::tempdir().unwrap();
        let report_dir = reports.path().join("run");
        let outcome = certify_scripted(&server, &report_dir).await;
        let Outcome::NotRun(error) = &outcome else {
            panic!("expected the run not to start, got {outcome:?}");
        };
        assert!(error.to_string().contains(expected), "{error}");
        assert!(
            !report_dir.exists(),
            "a run that did not start writes no reports"
        );
    }
}

#[tokio::test]
async fn tags_that_select_no_scenario_exit_2() {
    let features = features_dir(&[("discovery.feature", PASSING_FEATURE)]);
    let outcome = certify::run(&CertifyOptions {
        tags: Some("@no-such-tag".into()),
        ..options(features.path())
    })
    .await;
    let Outcome::NotRun(error @ CertifyError::NothingSelected(_)) = &outcome else {
        panic!("expected nothing to be selected, got {outcome:?}");
    };
    assert!(error.to_string().contains("@no-such-tag"), "{error}");
    assert_eq!(outcome.exit_code(), 2);
}

const MIXED_LEVELS_FEATURE: &str = r#"
@generic
Feature: Levels for the certify tests
  @should @okta
  Scenario: a warning only
    Okta would like a teapot (RFC 2324).
    When I send a GET request to "/Widgets"
    Then the response status is 418

  @must @entra
  Scenario: the configuration is readable
    Entra reads the configuration (RFC 7644 §4).
    When I send a GET request to "/ServiceProviderConfig"
    Then the response status is 200
"#;

#[tokio::test]
async fn a_failed_should_scenario_fails_the_run_only_with_fail_on_should() {
    let features = features_dir(&[("levels.feature", MIXED_LEVELS_FEATURE)]);
    let lenient = certify::run(&options(features.path())).await;
    let Outcome::Passed(report) = &lenient else {
        panic!("a @should failure passes at --fail-on must, got {lenient:?}");
    };
    let okta = report
        .verdicts
        .iter()
        .find(|verdict| verdict.persona == "okta")
        .unwrap();
    assert_eq!(okta.summary(), "compatible, 1 warning");
    let strict = certify::run(&CertifyOptions {
        fail_on: Level::Should,
        ..options(features.path())
    })
    .await;
    assert_eq!(strict.exit_code(), 1, "{strict:?}");
}

#[tokio::test]
async fn persona_selects_its_scenarios_and_verdicts() {
    let features = features_dir(&[("levels.feature", MIXED_LEVELS_FEATURE)]);
    let outcome = certify::run(&CertifyOptions {
        personas: vec!["entra".into()],
        ..options(features.path())
    })
    .await;
    let Outcome::Passed(report) = &outcome else {
        panic!("expected the run to pass, got {outcome:?}");
    };
    assert_eq!(report.scenarios.len(), 1, "only entra's scenario ran");
    assert_eq!(report.scenarios[0].name, "the configuration is readable");
    let personas: Vec<&str> = report
        .verdicts
        .iter()
        .map(|verdict| verdict.persona.as_str())
        .collect();
    assert_eq!(personas, ["entra"]);

    let unknown = certify::run(&CertifyOptions {
        personas: vec!["onelogin".into()],
        ..options(features.path())
    })
    .await;
    let Outcome::NotRun(error) = &unknown else {
        panic!("expected a usage error, got {unknown:?}");
    };
    assert!(
        error.to_string().starts_with("unknown persona `onelogin`"),
        "{error}"
    );
}

/// A scenario that creates a user with a raw request (so its own cleanup does not know the
/// user) and then fails.
const LEAVES_A_USER_FEATURE: &str = r#"
@generic @must
Feature: A scenario that leaves a user behind
  Scenario: a raw create, then a failure
    Nothing (RFC 7644 §3.3).
    When I send a POST request to "/Users" with the body:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.left@example.test"}
      """
    Then the response status is 201
    When I send a GET request to "/Widgets"
    Then the response status is 418
"#;

async fn user_names(sp: &RunningSp, token: &str) -> Vec<String> {
    let list: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/Users", sp.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_external_run_removes_what_its_scenarios_left_and_cleanup_removes_older_leftovers() {
    let sp = start_sp().await;
    let token = "certify-test-token";
    let features = features_dir(&[("leaves.feature", LEAVES_A_USER_FEATURE)]);
    let external = ExternalTarget {
        base_url: sp.base_url().to_owned(),
        token: token.into(),
    };
    let outcome = certify::run(&CertifyOptions {
        target: Some(external.clone()),
        ..options(features.path())
    })
    .await;
    assert_eq!(outcome.exit_code(), 1, "{outcome:?}");
    assert_eq!(user_names(&sp, token).await, Vec::<String>::new());

    // Leftovers of an interrupted run, and a user that is not certify's.
    let client = reqwest::Client::new();
    let create_user = |name: &str| {
        client
            .post(format!("{}/Users", sp.base_url()))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(format!(r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{name}"}}"#))
            .send()
    };
    for name in ["idpsim1a2b3c4d5e.old@example.test", "ada@example.test"] {
        assert_eq!(create_user(name).await.unwrap().status(), 201);
    }
    let swept = certify::cleanup(&external).await.unwrap();
    assert_eq!((swept.users, swept.groups, swept.kept), (1, 0, 0));
    assert!(swept.errors.is_empty(), "{:?}", swept.errors);
    assert_eq!(user_names(&sp, token).await, ["ada@example.test"]);

    // A target that deactivates on DELETE keeps the user: said so, not counted as removed.
    sp.set_deletion_policy(
        idpsim_reference_sp::DEFAULT_ORGANIZATION_ID,
        idpsim_reference_sp::DeletionPolicy::Deactivate,
    )
    .await
    .unwrap();
    let kept = create_user("idpsim1a2b3c4d5e.kept@example.test").await;
    assert_eq!(kept.unwrap().status(), 201);
    let swept = certify::cleanup(&external).await.unwrap();
    assert_eq!((swept.users, swept.kept), (0, 1));
    assert!(
        swept.describe().contains("deactivated"),
        "{}",
        swept.describe()
    );
    sp.shutdown().await;
}
