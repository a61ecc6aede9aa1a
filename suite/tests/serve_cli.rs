//! `idpsim serve` as a developer runs it: the real binary on loopback ports it picks; a
//! sign-in through Entra's provider refused until Entra has provisioned the persona's demo
//! organization (`idpsim provision`), then matched to its SCIM user, through OpenID Connect
//! and SAML; the clock API ending the session; the URL table as JSON; issuers, keys and
//! certificates that survive a restart; and Ctrl-C.

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
            "--matching",
            "entra=OidcOidToScimExternalId",
            "--clock-api",
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

/// Signs adele in through `persona`'s login page, following redirects and carrying the SP's
/// session cookie; the last answer's status and body.
async fn sign_in(browser: &reqwest::Client, persona: &Value, urls: &Value) -> (u16, String) {
    let mut url = format!(
        "{}?login_hint=adele.vance%40acme.test",
        persona["login_page"].as_str().unwrap()
    );
    let mut cookie: Option<String> = None;
    for _ in 0..5 {
        let mut request = browser.get(&url);
        if let Some(cookie) = &cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            cookie = Some(set.to_str().unwrap().split(';').next().unwrap().to_owned());
        }
        let Some(next) = response.headers().get("location") else {
            let status = response.status().as_u16();
            return (status, response.text().await.unwrap());
        };
        url = reqwest::Url::parse(&url)
            .unwrap()
            .join(next.to_str().unwrap())
            .unwrap()
            .to_string();
    }
    panic!("too many redirects; the SP is at {}", urls["sp"]["whoami"]);
}

/// Signs adele in through `persona`'s SAML IdP: the SP's login URL, the IdP's auto-submitting
/// form (test mode), the POST to the ACS; the session cookie and `/whoami`'s status and body
/// (no cookie, and the ACS's status and body, when the ACS refuses).
async fn saml_sign_in(browser: &reqwest::Client, persona: &Value) -> (String, u16, String) {
    let login = format!(
        "{}?login_hint=adele.vance%40acme.test",
        persona["saml_login_page"].as_str().unwrap()
    );
    let to_idp = browser.get(&login).send().await.unwrap();
    let idp = to_idp.headers()["location"].to_str().unwrap().to_owned();
    let page = browser
        .get(&idp)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let field = |marker: &str| {
        let start = page.find(marker).unwrap() + marker.len();
        page[start..start + page[start..].find('"').unwrap()].replace("&amp;", "&")
    };
    let acs = field("<form method=\"post\" action=\"");
    let form = [
        ("SAMLResponse", field("name=\"SAMLResponse\" value=\"")),
        ("RelayState", field("name=\"RelayState\" value=\"")),
    ];
    let answer = browser.post(&acs).form(&form).send().await.unwrap();
    if answer.status() != 303 {
        let status = answer.status().as_u16();
        return (String::new(), status, answer.text().await.unwrap());
    }
    let cookie = answer.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let whoami = reqwest::Url::parse(&acs)
        .unwrap()
        .join(answer.headers()["location"].to_str().unwrap())
        .unwrap();
    let (status, body) = whoami_with(browser, whoami.as_str(), &cookie).await;
    (cookie, status, body)
}

async fn whoami_with(browser: &reqwest::Client, url: &str, cookie: &str) -> (u16, String) {
    let response = browser
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Runs `idpsim provision` as Entra into the demo organization whose SCIM token is `token`.
async fn provision(dir: &Path, urls: &Value, token: &str, name: &str) {
    let provisioned = Command::new(env!("CARGO_BIN_EXE_idpsim"))
        .args(["provision", "--persona", "entra", "--target"])
        .arg(urls["sp"]["scim_base"].as_str().unwrap())
        .arg("--token")
        .arg(token)
        .arg("--directory")
        .arg(idpsim_simulator::fixtures_dir().join("directories/acme.yaml"))
        .arg("--state")
        .arg(dir.join(format!("entra-{name}.state.json")))
        .output()
        .await
        .unwrap();
    assert!(provisioned.status.success(), "{provisioned:?}");
}

/// `url`'s JSON answer.
async fn get_json(browser: &reqwest::Client, url: &str) -> Value {
    browser.get(url).send().await.unwrap().json().await.unwrap()
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
    let discovery: Value = get_json(&browser, entra["oidc_discovery"].as_str().unwrap()).await;
    let jwks: Value = get_json(&browser, discovery["jwks_uri"].as_str().unwrap()).await;
    let kid = jwks["keys"][0]["kid"].clone();

    assert_eq!(entra["matching"], "OidcOidToScimExternalId");
    let (status, page) = sign_in(&browser, entra, &urls).await;
    assert_eq!(status, 401, "no SCIM user yet: {page}");
    assert!(page.contains("ScimUserNotActive"), "{page}");

    provision(
        dir.path(),
        &urls,
        entra["scim_token"].as_str().unwrap(),
        "oidc",
    )
    .await;
    let (status, whoami) = sign_in(&browser, entra, &urls).await;
    assert_eq!(status, 200, "{whoami}");
    let whoami: Value = serde_json::from_str(&whoami).unwrap();
    assert_eq!(whoami["connection"], "entra");
    assert_eq!(whoami["scim_user"]["user_name"], "adele.vance@acme.test");
    assert_eq!(whoami["matching"], "OidcOidToScimExternalId");

    // The SAML connection has a demo organization of its own (one SSO connection each).
    let (_, status, page) = saml_sign_in(&browser, entra).await;
    assert_eq!(
        status, 401,
        "its organization is not provisioned yet: {page}"
    );
    assert!(page.contains("ScimUserNotActive"), "{page}");
    provision(
        dir.path(),
        &urls,
        entra["saml_scim_token"].as_str().unwrap(),
        "saml",
    )
    .await;
    let (cookie, status, whoami) = saml_sign_in(&browser, entra).await;
    assert_eq!(status, 200, "{whoami}");
    let whoami: Value = serde_json::from_str(&whoami).unwrap();
    assert_eq!(whoami["protocol"], "saml");
    assert_eq!(whoami["scim_user"]["user_name"], "adele.vance@acme.test");
    let metadata = browser
        .get(entra["saml_metadata"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let clock = urls["clock_api"].as_str().unwrap();
    let moved: Value = browser
        .post(format!("{clock}/advance"))
        .json(&serde_json::json!({"seconds": 3 * 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved["frozen"], false);
    let (status, body) =
        whoami_with(&browser, urls["sp"]["whoami"].as_str().unwrap(), &cookie).await;
    assert_eq!(status, 401, "two hours later the session is over: {body}");
    assert!(body.contains("SessionExpired"), "{body}");
    interrupt(child).await;

    let (child, urls) = serve(dir.path()).await;
    let again: Value = get_json(
        &browser,
        urls["personas"]["entra"]["oidc_discovery"]
            .as_str()
            .unwrap(),
    )
    .await;
    let jwks: Value = get_json(&browser, again["jwks_uri"].as_str().unwrap()).await;
    assert_eq!(jwks["keys"][0]["kid"], kid, "the signing key is kept");
    let metadata_again = browser
        .get(urls["personas"]["entra"]["saml_metadata"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The port differs between runs; the certificate and the entity ID must not.
    let kept = |metadata: &str| {
        let between = |open: &str, close: &str| {
            let start = metadata.find(open).unwrap() + open.len();
            metadata[start..start + metadata[start..].find(close).unwrap()].to_owned()
        };
        (
            between("<ds:X509Certificate>", "<"),
            between("entityID=\"", "\""),
        )
    };
    assert_eq!(
        kept(&metadata_again),
        kept(&metadata),
        "the SAML certificate and entity ID are kept"
    );
    let tenant = |issuer: &str| issuer.split('/').rev().nth(1).unwrap().to_owned();
    assert_eq!(
        tenant(again["issuer"].as_str().unwrap()),
        tenant(&issuer),
        "the tenant is kept"
    );
    interrupt(child).await;
}
