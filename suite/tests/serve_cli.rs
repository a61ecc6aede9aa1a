//! `idpsim serve` as a developer runs it: the real binary on loopback ports it picks, a
//! sign-in through a persona's provider to the reference SP, the URL table as JSON, issuers
//! and keys that survive a restart, and Ctrl-C.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::redirect::Policy;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// Starts `idpsim serve` and waits until it has printed its URL table.
async fn serve(dir: &Path) -> (Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idpsim"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sp-listen",
            "127.0.0.1:0",
            "--auto-login",
        ])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--database")
        .arg(dir.join("sp.db"))
        .arg("--urls-json")
        .arg(dir.join("urls.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.starts_with("Press Ctrl-C") {
            let urls = std::fs::read_to_string(dir.join("urls.json")).unwrap();
            return (child, serde_json::from_str(&urls).unwrap());
        }
    }
    panic!("idpsim serve ended before printing its URLs");
}

async fn interrupt(child: Child) {
    let pid = child.id().unwrap().to_string();
    let status = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "Ctrl-C stops cleanly");
}

#[tokio::test]
async fn a_developer_signs_in_through_entra_and_the_issuer_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (child, urls) = serve(dir.path()).await;
    let entra = &urls["personas"]["entra"];
    let issuer = entra["oidc_issuer"].as_str().unwrap().to_owned();
    assert!(issuer.ends_with("/v2.0"), "{issuer}");
    let browser = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let discovery: Value = browser
        .get(entra["oidc_discovery"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks: Value = browser
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jwks["keys"][0]["kid"].clone();

    let mut url = entra["login_page"].as_str().unwrap().to_owned();
    url.push_str("?login_hint=adele.vance%40acme.test");
    let mut cookie = None;
    for _ in 0..4 {
        let response = browser.get(&url).send().await.unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            cookie = Some(set.to_str().unwrap().split(';').next().unwrap().to_owned());
        }
        let Some(next) = response.headers().get("location") else {
            break;
        };
        let next = next.to_str().unwrap();
        url = if next.starts_with('/') {
            let origin = reqwest::Url::parse(&url).unwrap();
            format!("{}{next}", origin.origin().ascii_serialization())
        } else {
            next.to_owned()
        };
    }
    let whoami: Value = browser
        .get(urls["sp"]["whoami"].as_str().unwrap())
        .header("cookie", cookie.expect("the SP set a session cookie"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["connection"], "entra");
    assert_eq!(
        whoami["claims"]["preferred_username"],
        "adele.vance@acme.test"
    );
    interrupt(child).await;

    let (child, urls) = serve(dir.path()).await;
    let again: Value = browser
        .get(
            urls["personas"]["entra"]["oidc_discovery"]
                .as_str()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks: Value = browser
        .get(again["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid, "the signing key is kept");
    let tenant = |issuer: &str| issuer.split('/').rev().nth(1).unwrap().to_owned();
    assert_eq!(
        tenant(again["issuer"].as_str().unwrap()),
        tenant(&issuer),
        "the tenant is kept"
    );
    interrupt(child).await;
}
