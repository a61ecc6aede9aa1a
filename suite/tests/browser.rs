//! The sign-in pages in a real headless browser (Debian's chromium, driven over the W3C
//! WebDriver protocol by chromedriver; `scripts/test` installs both): a user starts at the
//! reference SP, picks their account on the persona's page — SAML (the Response posted by the
//! IdP's auto-submitting form) and OpenID Connect — and lands signed in at the SP's `/whoami`.
//! The SP and the IdPs are served in-process on 127.0.0.1:0.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use idpsim_reference_sp::{
    IdpInitiatedPolicy, MatchingStrategy, OidcConnection, RunningSp, SamlConnection, SpConfig,
};
use idpsim_simulator::clock::system_clock;
use idpsim_simulator::directory::Directory;
use idpsim_simulator::fixtures_dir;
use idpsim_simulator::oidc::{Client, OidcProvider, ProviderConfig, SigningKey};
use idpsim_simulator::persona::{Persona, PersonaCatalog};
use idpsim_simulator::saml::{SamlCredential, SamlIdp, SamlIdpConfig, ServiceProvider};
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// The WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    process: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Driver {
    /// Starts chromedriver and waits for the line that says it listens.
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed by scripts/test (Debian package chromium-driver)");
        let stdout = process.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .by_ref()
            .any(|line| line.is_ok_and(|line| line.contains("started successfully")));
        assert!(ready, "chromedriver did not start");
        // Keep reading what it logs, so a full pipe never blocks it.
        std::thread::spawn(move || lines.for_each(drop));
        Driver {
            process,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            answer["value"]["error"].is_null(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    /// A headless chromium session that waits up to 10 s for elements to appear.
    async fn session(&self) -> Session<'_> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                 "--no-first-run", "--disable-background-networking",
                                 "--disable-component-update", "--disable-sync",
                                 "--disable-dev-shm-usage"]
                    }
                }}})),
            )
            .await;
        let id = value["sessionId"].as_str().unwrap().to_owned();
        let session = Session { driver: self, id };
        session
            .call(
                reqwest::Method::POST,
                "/timeouts",
                Some(json!({"implicit": 10_000})),
            )
            .await;
        session
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Session<'_> {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
            .await
    }

    async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The first element `xpath` finds, waiting for it to appear.
    async fn find(&self, xpath: &str) -> String {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "xpath", "value": xpath})),
            )
            .await;
        value[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{xpath}: {value}"))
            .to_owned()
    }

    async fn click(&self, xpath: &str) {
        let element = self.find(xpath).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn text(&self, xpath: &str) -> String {
        let element = self.find(xpath).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    async fn close(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
    }
}

fn persona(name: &str) -> Persona {
    PersonaCatalog::open(&fixtures_dir().join("personas"))
        .unwrap()
        .load(name)
        .unwrap()
        .persona
}

fn acme() -> Arc<Directory> {
    Arc::new(Directory::load(&fixtures_dir().join("directories/acme.yaml")).unwrap())
}

/// The SP, Entra's SAML IdP and Okta's OIDC provider (both with their sign-in pages), connected.
async fn start() -> RunningSp {
    let sp = RunningSp::start(SpConfig::ephemeral()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let saml = Arc::new(SamlIdp::new(
        persona("entra"),
        acme(),
        SamlCredential::generate("browser test IdP").unwrap(),
        SamlIdpConfig {
            base_url: base.clone(),
            tenant: "browser-tenant".into(),
            service_providers: vec![ServiceProvider {
                entity_id: sp.saml_entity_id("entra"),
                acs_url: sp.saml_acs_url("entra"),
                slo_url: Some(sp.saml_slo_url("entra")),
            }],
            strict: true,
            auto_login: false,
            clock: system_clock(),
        },
    ));
    sp.add_saml_connection(SamlConnection {
        id: "entra".into(),
        idp_entity_id: saml.entity_id().to_owned(),
        idp_sso_url: saml.sso_url(),
        idp_slo_url: saml.slo_url(),
        idp_certificates: vec![saml.certificate_pem().to_owned()],
        organization: None,
        matching: MatchingStrategy::OidcEmailToScimUsername,
        claim_attributes: persona("entra").saml.oidc_equivalents.value,
        idp_initiated: IdpInitiatedPolicy::Refuse,
    })
    .await
    .unwrap();
    let oidc = Arc::new(OidcProvider::new(
        persona("okta"),
        acme(),
        SigningKey::generate().unwrap(),
        ProviderConfig {
            base_url: base,
            tenant: "browser-tenant".into(),
            clients: vec![Client {
                id: "sp".into(),
                secret: "sp-secret".into(),
                redirect_uris: vec![sp.oidc_redirect_uri("okta")],
            }],
            auto_login: false,
            clock: system_clock(),
        },
    ));
    sp.add_oidc_connection(OidcConnection {
        id: "okta".into(),
        issuer: oidc.issuer().to_owned(),
        client_id: "sp".into(),
        client_secret: "sp-secret".into(),
        organization: None,
        matching: MatchingStrategy::OidcEmailToScimUsername,
    })
    .await
    .unwrap();
    let router = Arc::clone(&saml).router().merge(Arc::clone(&oidc).router());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    sp
}

#[tokio::test]
async fn a_user_picks_their_account_on_the_sign_in_page_and_lands_signed_in() {
    let sp = start().await;
    let driver = Driver::start();

    let browser = driver.session().await;
    browser
        .open(&format!("{}/sso/saml/entra/login", sp.origin()))
        .await;
    let marker = browser.text("//*[contains(@class, 'simulator')]").await;
    assert!(
        marker.contains("not a real Microsoft Entra ID sign-in page"),
        "{marker}"
    );
    browser
        .click("//button[contains(., 'adele.vance@acme.test')]")
        .await;
    // The IdP's form posts the Response to the ACS by itself; the SP answers with /whoami.
    let whoami = browser.text("//pre[contains(., 'saml')]").await;
    let session: Value = serde_json::from_str(&whoami).unwrap();
    assert_eq!(session["protocol"], "saml");
    assert_eq!(session["subject"], "adele.vance@acme.test");
    browser.close().await;

    let browser = driver.session().await;
    browser
        .open(&format!("{}/sso/oidc/okta/login", sp.origin()))
        .await;
    let username = browser.find("//input[@name='username']").await;
    browser
        .call(
            reqwest::Method::POST,
            &format!("/element/{username}/value"),
            Some(json!({"text": "catherine.hale@acme.test"})),
        )
        .await;
    let password = browser.find("//input[@name='password']").await;
    browser
        .call(
            reqwest::Method::POST,
            &format!("/element/{password}/value"),
            Some(json!({"text": "any password"})),
        )
        .await;
    browser
        .click("//button[normalize-space(.)='Sign in']")
        .await;
    let whoami = browser.text("//pre[contains(., 'oidc')]").await;
    let session: Value = serde_json::from_str(&whoami).unwrap();
    assert_eq!(session["protocol"], "oidc");
    assert_eq!(session["claims"]["email"], "catherine.hale@acme.test");
    browser.close().await;
    sp.shutdown().await;
}
