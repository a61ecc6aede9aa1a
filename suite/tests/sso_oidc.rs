//! Sign-in at the reference SP through a persona's OpenID Connect provider, both served
//! in-process on 127.0.0.1:0, and the SP's refusals of ID tokens a careful relying party must
//! not accept (a scripted provider hands them out).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use idpsim_reference_sp::{MatchingStrategy, OidcConnection, RunningSp, SpConfig};
use idpsim_simulator::clock::system_clock;
use idpsim_simulator::directory::Directory;
use idpsim_simulator::fixtures_dir;
use idpsim_simulator::oidc::{Client, OidcProvider, ProviderConfig, SigningKey};
use idpsim_simulator::persona::PersonaCatalog;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

static KEY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate().unwrap());
static OTHER_KEY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate().unwrap());

const CLIENT_ID: &str = "reference-sp";
const CLIENT_SECRET: &str = "sp-secret";

async fn start_sp() -> RunningSp {
    RunningSp::start(SpConfig::ephemeral()).await.unwrap()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The `name=value` of the cookie `response` sets (the SP's login cookie).
fn set_cookie(response: &reqwest::Response) -> String {
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn location(response: &reqwest::Response) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Starts `persona`'s provider in test mode with the SP registered as a client, and adds the
/// connection to the SP.
async fn connect(sp: &RunningSp, persona: &str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let persona = PersonaCatalog::open(&fixtures_dir().join("personas"))
        .unwrap()
        .load(persona)
        .unwrap()
        .persona;
    let name = persona.name.clone();
    let directory = Directory::load(&fixtures_dir().join("directories/acme.yaml")).unwrap();
    let provider = Arc::new(OidcProvider::new(
        persona,
        Arc::new(directory),
        KEY.clone(),
        ProviderConfig {
            base_url: base,
            tenant: "contoso-tenant".into(),
            clients: vec![Client {
                id: CLIENT_ID.into(),
                secret: CLIENT_SECRET.into(),
                redirect_uris: vec![sp.oidc_redirect_uri(&name)],
            }],
            auto_login: true,
            clock: system_clock(),
        },
    ));
    sp.add_oidc_connection(OidcConnection {
        id: name,
        issuer: provider.issuer().to_owned(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        organization: None,
        matching: MatchingStrategy::OidcEmailToScimUsername,
    })
    .await
    .unwrap();
    tokio::spawn(async move {
        axum::serve(listener, provider.router()).await.unwrap();
    });
}

/// Follows the sign-in from the SP through the provider and back; returns the SP's last
/// answer (the callback's).
async fn sign_in(sp: &RunningSp, connection: &str, login_hint: &str) -> reqwest::Response {
    let browser = browser();
    let to_idp = browser
        .get(format!("{}/sso/oidc/{connection}/login", sp.origin()))
        .query(&[("login_hint", login_hint)])
        .send()
        .await
        .unwrap();
    let back = browser.get(location(&to_idp)).send().await.unwrap();
    browser
        .get(location(&back))
        .header("cookie", set_cookie(&to_idp))
        .send()
        .await
        .unwrap()
}

async fn whoami(sp: &RunningSp, cookie: &str) -> (StatusCode, Value) {
    let response = browser()
        .get(format!("{}/whoami", sp.origin()))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_user_signs_in_through_each_persona_and_whoami_names_them() {
    let sp = start_sp().await;
    for (persona, login, claim, value) in [
        (
            "entra",
            "adele.vance@acme.test",
            "preferred_username",
            "adele.vance@acme.test",
        ),
        (
            "okta",
            "adele.vance@acme.test",
            "email",
            "adele.vance@acme.test",
        ),
        ("google", "adele.vance@acme.test", "hd", "acme.test"),
    ] {
        connect(&sp, persona).await;
        let callback = sign_in(&sp, persona, login).await;
        assert_eq!(location(&callback), "/whoami");
        let set_cookie = callback.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let (status, session) = whoami(&sp, &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(session["connection"], persona);
        assert_eq!(session["protocol"], "oidc");
        assert_eq!(session["claims"][claim], value, "{persona}: {session}");
        assert_eq!(session["subject"], session["claims"]["sub"]);
    }
    let (status, _) = whoami(&sp, "idpsim_session=forged").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    sp.shutdown().await;
}

#[tokio::test]
async fn a_callback_is_used_once_and_a_disabled_user_is_refused() {
    let sp = start_sp().await;
    connect(&sp, "entra").await;
    let browser = browser();
    let to_idp = browser
        .get(format!("{}/sso/oidc/entra/login", sp.origin()))
        .query(&[("login_hint", "adele.vance@acme.test")])
        .send()
        .await
        .unwrap();
    let back = location(&browser.get(location(&to_idp)).send().await.unwrap());
    let login_cookie = set_cookie(&to_idp);
    // Without the cookie set when the sign-in began, the callback is another browser's: an
    // attacker having a victim finish the attacker's sign-in (RFC 6749 §10.12).
    let forged = browser.get(&back).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("started in another browser")
    );
    // The state is spent by the refused callback: the sign-in starts again.
    let to_idp = browser
        .get(format!("{}/sso/oidc/entra/login", sp.origin()))
        .query(&[("login_hint", "adele.vance@acme.test")])
        .header("cookie", &login_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        set_cookie(&to_idp),
        login_cookie,
        "the browser keeps its cookie"
    );
    let back = location(&browser.get(location(&to_idp)).send().await.unwrap());
    assert_eq!(
        browser
            .get(&back)
            .header("cookie", &login_cookie)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    let replay = browser
        .get(&back)
        .header("cookie", &login_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert!(
        replay
            .text()
            .await
            .unwrap()
            .contains("state is unknown, already used")
    );

    let disabled = sign_in(&sp, "entra", "debra.berger@acme.test").await;
    assert_eq!(disabled.status(), StatusCode::UNAUTHORIZED);
    assert!(disabled.text().await.unwrap().contains("access_denied"));
    sp.shutdown().await;
}

/// A provider whose token endpoint hands out whatever ID token a test crafts.
struct ScriptedProvider {
    server: MockServer,
}

impl ScriptedProvider {
    async fn start() -> ScriptedProvider {
        let provider = ScriptedProvider {
            server: MockServer::start().await,
        };
        provider.mount_discovery().await;
        provider
    }

    /// Discovery naming the mock server as issuer, and a JWKS with [`KEY`].
    async fn mount_discovery(&self) {
        let issuer = self.server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/keys"),
            })))
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "keys": [KEY.public_jwk()]
            })))
            .mount(&self.server)
            .await;
    }

    /// The next token answer carries `id_token`.
    async fn answer_with(&self, id_token: &str) {
        self.server.reset().await;
        self.mount_discovery().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at",
                "token_type": "Bearer",
                "id_token": id_token,
            })))
            .mount(&self.server)
            .await;
    }
}

/// Starts a sign-in at the SP; returns the `state` and `nonce` it sent the provider, and the
/// login cookie the callback must carry.
async fn begin(sp: &RunningSp) -> (String, String, String) {
    let response = browser()
        .get(format!("{}/sso/oidc/scripted/login", sp.origin()))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&response);
    let params: HashMap<String, String> = reqwest::Url::parse(&location(&response))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["code_challenge_method"], "S256");
    (params["state"].clone(), params["nonce"].clone(), cookie)
}

fn claims(issuer: &str, nonce: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "iss": issuer, "aud": CLIENT_ID, "sub": "user-1", "iat": now, "exp": now + 600,
        "nonce": nonce,
    })
}

fn rs256(claims: &Value, key: &SigningKey) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KEY.kid().to_owned());
    jsonwebtoken::encode(&header, claims, key.encoding_key()).unwrap()
}

#[tokio::test]
async fn id_tokens_a_careful_relying_party_refuses_are_refused_with_their_reason() {
    let sp = start_sp().await;
    let idp = ScriptedProvider::start().await;
    let issuer = idp.server.uri();
    sp.add_oidc_connection(OidcConnection {
        id: "scripted".into(),
        issuer: issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        organization: None,
        matching: MatchingStrategy::OidcEmailToScimUsername,
    })
    .await
    .unwrap();
    type Craft = Box<dyn Fn(&str, &str) -> String>;
    let unsigned: Craft = Box::new(|issuer, nonce| {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims(issuer, nonce).to_string());
        format!("{header}.{body}.")
    });
    let hmac_with_public_key: Craft = Box::new(|issuer, nonce| {
        let secret = KEY.public_jwk()["n"].as_str().unwrap().to_owned();
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(issuer, nonce),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    });
    let cases: Vec<(&str, Craft, &str)> = vec![
        (
            "a good token",
            Box::new(|issuer, nonce| rs256(&claims(issuer, nonce), &KEY)),
            "",
        ),
        ("alg none", unsigned, "alg none is refused"),
        (
            "HS256 keyed with the public key",
            hmac_with_public_key,
            "only RS256 is accepted",
        ),
        (
            "signed by another key",
            Box::new(|issuer, nonce| rs256(&claims(issuer, nonce), &OTHER_KEY)),
            "InvalidSignature",
        ),
        (
            "another audience",
            Box::new(|issuer, nonce| {
                let mut claims = claims(issuer, nonce);
                claims["aud"] = json!("someone-else");
                rs256(&claims, &KEY)
            }),
            "InvalidAudience",
        ),
        (
            "another issuer",
            Box::new(|_, nonce| rs256(&claims("https://evil.example", nonce), &KEY)),
            "InvalidIssuer",
        ),
        (
            "expired",
            Box::new(|issuer, nonce| {
                let mut claims = claims(issuer, nonce);
                claims["exp"] = json!(Utc::now().timestamp() - 3600);
                rs256(&claims, &KEY)
            }),
            "has expired",
        ),
        (
            "issued in the future",
            Box::new(|issuer, nonce| {
                let mut claims = claims(issuer, nonce);
                claims["iat"] = json!(Utc::now().timestamp() + 3600);
                claims["exp"] = json!(Utc::now().timestamp() + 7200);
                rs256(&claims, &KEY)
            }),
            "issued in the future",
        ),
        (
            "another nonce",
            Box::new(|issuer, _| rs256(&claims(issuer, "not-the-nonce"), &KEY)),
            "nonce does not match",
        ),
        (
            "no nonce",
            Box::new(|issuer, nonce| {
                let mut claims = claims(issuer, nonce);
                claims.as_object_mut().unwrap().remove("nonce");
                rs256(&claims, &KEY)
            }),
            "nonce does not match",
        ),
        (
            "no issue time",
            Box::new(|issuer, nonce| {
                let mut claims = claims(issuer, nonce);
                claims.as_object_mut().unwrap().remove("iat");
                rs256(&claims, &KEY)
            }),
            "has no iat",
        ),
        (
            "several audiences without azp",
            Box::new(|issuer, nonce| {
                let mut claims = claims(issuer, nonce);
                claims["aud"] = json!([CLIENT_ID, "another-client"]);
                rs256(&claims, &KEY)
            }),
            "not to this client",
        ),
        (
            "issued to another party",
            Box::new(|issuer, nonce| {
                let mut claims = claims(issuer, nonce);
                claims["aud"] = json!([CLIENT_ID, "another-client"]);
                claims["azp"] = json!("another-client");
                rs256(&claims, &KEY)
            }),
            "not to this client",
        ),
        (
            "several audiences issued to this client",
            Box::new(|issuer, nonce| {
                let mut claims = claims(issuer, nonce);
                claims["aud"] = json!([CLIENT_ID, "another-client"]);
                claims["azp"] = json!(CLIENT_ID);
                rs256(&claims, &KEY)
            }),
            "",
        ),
    ];
    for (case, craft, reason) in cases {
        let (state, nonce, cookie) = begin(&sp).await;
        idp.answer_with(&craft(&issuer, &nonce)).await;
        let callback = browser()
            .get(format!("{}/sso/oidc/scripted/callback", sp.origin()))
            .query(&[("code", "c"), ("state", state.as_str())])
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        if reason.is_empty() {
            assert_eq!(callback.status(), StatusCode::SEE_OTHER, "{case}");
            continue;
        }
        assert_eq!(callback.status(), StatusCode::UNAUTHORIZED, "{case}");
        let text = callback.text().await.unwrap();
        assert!(text.contains(reason), "{case}: {text}");
    }
    sp.shutdown().await;
}
