//! Each persona's OpenID Connect provider over HTTP, served in-process on 127.0.0.1:0: the
//! code flow with PKCE from discovery to userinfo, the refusals RFC 6749 and RFC 7636 require,
//! the sign-in page, and a snapshot of each persona's ID token claims.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone as _, Utc};
use idpsim_simulator::clock::Clock;
use idpsim_simulator::directory::Directory;
use idpsim_simulator::fixtures_dir;
use idpsim_simulator::oidc::{Client, OidcProvider, ProviderConfig, SigningKey};
use idpsim_simulator::persona::PersonaCatalog;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9IDu5FvPOyRVjUZIOgN0cm3Qy";

/// One key for every test: RSA generation is the slow part.
static KEY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate().unwrap());

/// The fixed time of the ID token snapshots.
fn snapshot_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
}

struct Provider {
    base: String,
    issuer: String,
    http: reqwest::Client,
    clock: Clock,
}

async fn start(persona: &str, auto_login: bool) -> Provider {
    start_at(persona, auto_login, Arc::new(Utc::now)).await
}

/// The provider of `persona` going by `clock`.
async fn start_at(persona: &str, auto_login: bool, clock: Clock) -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let persona = PersonaCatalog::open(&fixtures_dir().join("personas"))
        .unwrap()
        .load(persona)
        .unwrap()
        .persona;
    let directory = Directory::load(&fixtures_dir().join("directories/acme.yaml")).unwrap();
    let provider = Arc::new(OidcProvider::new(
        persona,
        Arc::new(directory),
        KEY.clone(),
        ProviderConfig {
            base_url: base.clone(),
            tenant: TENANT.into(),
            clients: vec![
                Client::parse(&format!("app-one:secret-one:{REDIRECT}")).unwrap(),
                Client::parse(&format!("app-two:secret-two:{REDIRECT}")).unwrap(),
            ],
            auto_login,
            clock: Arc::clone(&clock),
        },
    ));
    let issuer = provider.issuer().to_owned();
    tokio::spawn(async move {
        axum::serve(listener, provider.router()).await.unwrap();
    });
    Provider {
        base,
        issuer,
        clock,
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
    }
}

fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

impl Provider {
    async fn discovery(&self) -> Value {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Redeems `code` for `app-one`: the verified ID token's claims and the token response.
    async fn redeemed_claims(&self, code: &str) -> (Map<String, Value>, Value) {
        let body: Value = self
            .redeem(code, "app-one", "secret-one", VERIFIER)
            .await
            .json()
            .await
            .unwrap();
        let claims = self
            .verify(body["id_token"].as_str().unwrap(), "app-one")
            .await;
        (claims, body)
    }

    /// The userinfo endpoint's answer to a request with the `Authorization` header given.
    async fn userinfo(&self, authorization: &str) -> reqwest::Response {
        let endpoint = self.endpoint("userinfo_endpoint").await;
        self.http
            .get(endpoint)
            .header("authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    /// The endpoint `name` (e.g. `token_endpoint`) of the discovery document.
    async fn endpoint(&self, name: &str) -> String {
        self.discovery().await[name].as_str().unwrap().to_owned()
    }

    /// The query parameters of a redirect answer.
    fn redirect_params(response: &reqwest::Response) -> HashMap<String, String> {
        assert!(
            response.status().is_redirection(),
            "expected a redirect, got {}",
            response.status()
        );
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(REDIRECT), "{location}");
        reqwest::Url::parse(location)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }

    async fn authorize(&self, client: &str, login_hint: &str) -> reqwest::Response {
        self.authorize_with_scope(client, login_hint, "openid profile email")
            .await
    }

    async fn authorize_with_scope(
        &self,
        client: &str,
        login_hint: &str,
        scope: &str,
    ) -> reqwest::Response {
        let endpoint = self.endpoint("authorization_endpoint").await;
        self.http
            .get(endpoint)
            .query(&[
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", REDIRECT),
                ("scope", scope),
                ("state", "st-1"),
                ("nonce", "n-1"),
                ("code_challenge", &challenge()),
                ("code_challenge_method", "S256"),
                ("login_hint", login_hint),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn code(&self, client: &str, login_hint: &str) -> String {
        let params = Provider::redirect_params(&self.authorize(client, login_hint).await);
        assert_eq!(params["state"], "st-1");
        params
            .get("code")
            .unwrap_or_else(|| panic!("no code for {login_hint}: {params:?}"))
            .clone()
    }

    async fn redeem(
        &self,
        code: &str,
        client: &str,
        secret: &str,
        verifier: &str,
    ) -> reqwest::Response {
        let endpoint = self.endpoint("token_endpoint").await;
        self.http
            .post(endpoint)
            .basic_auth(client, Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Signs `login_hint` in for `client` and returns the verified ID token's claims and the
    /// access token.
    async fn sign_in(
        &self,
        client: &str,
        secret: &str,
        login_hint: &str,
    ) -> (Map<String, Value>, String) {
        let code = self.code(client, login_hint).await;
        let response = self.redeem(&code, client, secret, VERIFIER).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        let id_token = body["id_token"].as_str().unwrap();
        (
            self.verify(id_token, client).await,
            body["access_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Verifies `id_token` as a relying party does: the JWKS key named by `kid`, RS256 only,
    /// `iss`, `aud`, `exp`, and the nonce.
    async fn verify(&self, id_token: &str, client: &str) -> Map<String, Value> {
        let jwks_uri = self.endpoint("jwks_uri").await;
        let jwks: Value = self
            .http
            .get(jwks_uri)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let header = jsonwebtoken::decode_header(id_token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|key| key["kid"].as_str() == header.kid.as_deref())
            .expect("the kid is in the JWKS");
        assert!(jwk.get("d").is_none(), "no private member in the JWKS");
        let key = DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[client]);
        // The expiry is checked against the provider's clock (the snapshots' is fixed).
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation)
            .unwrap()
            .claims;
        assert!(claims["exp"].as_i64().unwrap() > (self.clock)().timestamp());
        assert_eq!(claims["nonce"], "n-1");
        claims
    }
}

#[tokio::test]
async fn entra_signs_in_with_a_pairwise_sub_that_is_stable_per_client() {
    let entra = start("entra", true).await;
    assert_eq!(entra.issuer, format!("{}/entra/{TENANT}/v2.0", entra.base));
    let discovery = entra.discovery().await;
    assert_eq!(discovery["issuer"], entra.issuer.as_str());
    assert_eq!(discovery["subject_types_supported"][0], "pairwise");
    assert_eq!(discovery["code_challenge_methods_supported"][0], "S256");
    let upn = "adele.vance@acme.test";
    let (first, access_token) = entra.sign_in("app-one", "secret-one", upn).await;
    let (again, _) = entra.sign_in("app-one", "secret-one", upn).await;
    let (other_app, _) = entra.sign_in("app-two", "secret-two", upn).await;
    assert_eq!(first["sub"], again["sub"], "a user's sub never changes");
    assert_ne!(
        first["sub"], other_app["sub"],
        "pairwise: another client, another sub"
    );
    assert_eq!(first["oid"], other_app["oid"]);
    assert_eq!(first["tid"], TENANT);
    assert_eq!(first["preferred_username"], upn);

    let info: Value = entra
        .userinfo(&format!("Bearer {access_token}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], first["sub"]);
    // The scheme's name is case-insensitive (RFC 7235 §2.1).
    let lower_case: Value = entra
        .userinfo(&format!("bearer {access_token}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lower_case["sub"], first["sub"]);
    let refused = entra.userinfo("Bearer not-a-token").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn a_code_is_single_use_and_bound_to_its_client_redirect_and_verifier() {
    let okta = start("okta", true).await;
    let login = "adele.vance@acme.test";
    let error_of = |body: Value| body["error"].as_str().unwrap().to_owned();

    let code = okta.code("app-one", login).await;
    let wrong_verifier = okta
        .redeem(
            &code,
            "app-one",
            "secret-one",
            "another-verifier-of-43-characters-long-xyzw",
        )
        .await;
    assert_eq!(wrong_verifier.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(wrong_verifier.json().await.unwrap()),
        "invalid_grant"
    );
    let after_failure = okta.redeem(&code, "app-one", "secret-one", VERIFIER).await;
    assert_eq!(
        error_of(after_failure.json().await.unwrap()),
        "invalid_grant",
        "used once"
    );

    let code = okta.code("app-one", login).await;
    let other_client = okta.redeem(&code, "app-two", "secret-two", VERIFIER).await;
    assert_eq!(
        error_of(other_client.json().await.unwrap()),
        "invalid_grant"
    );

    let code = okta.code("app-one", login).await;
    let wrong_secret = okta.redeem(&code, "app-one", "nope", VERIFIER).await;
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        error_of(wrong_secret.json().await.unwrap()),
        "invalid_client"
    );

    let code = okta.code("app-one", login).await;
    let ok = okta.redeem(&code, "app-one", "secret-one", VERIFIER).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let access_token = ok.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {access_token}");
    assert_eq!(okta.userinfo(&bearer).await.status(), StatusCode::OK);
    let replay = okta.redeem(&code, "app-one", "secret-one", VERIFIER).await;
    assert_eq!(error_of(replay.json().await.unwrap()), "invalid_grant");
    // A replayed code revokes the token issued for it (RFC 6749 §4.1.2).
    assert_eq!(
        okta.userinfo(&bearer).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // client_secret_post works as well as client_secret_basic.
    let code = okta.code("app-one", login).await;
    let endpoint = okta.endpoint("token_endpoint").await;
    let posted = okta
        .http
        .post(endpoint)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "app-one"),
            ("client_secret", "secret-one"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_never_redirected_to() {
    let generic = start("generic", true).await;
    let endpoint = generic.endpoint("authorization_endpoint").await;
    let response = generic
        .http
        .get(endpoint)
        .query(&[
            ("response_type", "code"),
            ("client_id", "app-one"),
            ("redirect_uri", "https://evil.example/steal"),
            ("scope", "openid"),
            ("code_challenge", &challenge()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("is not registered"));
}

#[tokio::test]
async fn pkce_values_have_the_form_rfc_7636_gives_them() {
    let generic = start("generic", true).await;
    let endpoint = generic.endpoint("authorization_endpoint").await;
    let authorize = |challenge: &str, response_type: &str| {
        generic
            .http
            .get(&endpoint)
            .query(&[
                ("response_type", response_type),
                ("client_id", "app-one"),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", "s"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("login_hint", "adele.vance@acme.test"),
            ])
            .send()
    };
    let short_challenge = Provider::redirect_params(&authorize("abc", "code").await.unwrap());
    assert_eq!(short_challenge["error"], "invalid_request");
    assert!(short_challenge["error_description"].contains("43-character"));
    let no_response_type = Provider::redirect_params(&authorize(&challenge(), "").await.unwrap());
    assert_eq!(no_response_type["error"], "invalid_request");
    assert_eq!(
        no_response_type["error_description"],
        "response_type is required"
    );
    // A verifier of one character, with the challenge made from it, is not a verifier.
    let one_character = URL_SAFE_NO_PAD.encode(Sha256::digest(b"a"));
    let code = Provider::redirect_params(&authorize(&one_character, "code").await.unwrap())["code"]
        .clone();
    let refused = generic.redeem(&code, "app-one", "secret-one", "a").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("RFC 7636"),
        "{body}"
    );
}

#[tokio::test]
async fn a_token_request_that_is_no_proper_form_gets_an_rfc_6749_error() {
    let okta = start("okta", true).await;
    let endpoint = okta.endpoint("token_endpoint").await;
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request
            .basic_auth("app-one", Some("secret-one"))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        (
            status,
            body["error"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let json_body = okta
        .http
        .post(&endpoint)
        .json(&serde_json::json!({"grant_type": "authorization_code", "code": "x"}));
    assert_eq!(
        send(json_body).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    let repeated = okta
        .http
        .post(&endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code&code=a&code=b");
    assert_eq!(
        send(repeated).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    let no_code = okta
        .http
        .post(&endpoint)
        .form(&[("grant_type", "authorization_code")]);
    assert_eq!(
        send(no_code).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
}

/// Signs `login_hint` in for `app-one` asking for `scope`: the verified ID token's claims and
/// the token response's `scope`.
async fn sign_in_with_scope(
    provider: &Provider,
    login_hint: &str,
    scope: &str,
) -> (Map<String, Value>, Value) {
    let response = provider
        .authorize_with_scope("app-one", login_hint, scope)
        .await;
    let code = Provider::redirect_params(&response)["code"].clone();
    let (claims, body) = provider.redeemed_claims(&code).await;
    (claims, body["scope"].clone())
}

#[tokio::test]
async fn claims_come_with_the_scopes_that_grant_them() {
    // Google: email only with the email scope, the names with profile; hd always
    // (personas.md §4.3).
    let google = start("google", true).await;
    let (bare, scope) = sign_in_with_scope(&google, "adele.vance@acme.test", "openid").await;
    assert_eq!(scope, "openid");
    assert!(
        bare.get("email").is_none() && bare.get("given_name").is_none(),
        "{bare:?}"
    );
    assert_eq!(bare["hd"], "acme.test");
    let (email, scope) = sign_in_with_scope(
        &google,
        "adele.vance@acme.test",
        "openid email offline_access",
    )
    .await;
    assert_eq!(scope, "openid email", "a scope not offered is not granted");
    assert_eq!(email["email"], "adele.vance@acme.test");
    assert_eq!(email["email_verified"], true);
    assert!(email.get("given_name").is_none(), "{email:?}");
    // Entra: oid and preferred_username need profile (personas.md §1.3); sub and tid do not.
    let entra = start("entra", true).await;
    let (bare, _) = sign_in_with_scope(&entra, "adele.vance@acme.test", "openid").await;
    assert!(
        bare.get("oid").is_none() && bare.get("preferred_username").is_none(),
        "{bare:?}"
    );
    let (full, _) = sign_in_with_scope(&entra, "adele.vance@acme.test", "openid profile").await;
    assert_eq!(bare["sub"], full["sub"], "the pairwise sub needs no scope");
    assert_eq!(bare["tid"], full["tid"]);
    assert_eq!(full["preferred_username"], "adele.vance@acme.test");
    assert!(full.get("oid").is_some());
    assert!(
        full.get("auth_time").is_none(),
        "only asked for with max_age"
    );
}

#[tokio::test]
async fn max_age_puts_the_time_of_the_sign_in_in_the_id_token() {
    let okta = start("okta", false).await;
    let endpoint = okta.endpoint("authorization_endpoint").await;
    let query = |max_age: &'static str| {
        [
            ("response_type", "code".to_owned()),
            ("client_id", "app-one".to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("scope", "openid".to_owned()),
            ("nonce", "n-1".to_owned()),
            ("code_challenge", challenge()),
            ("code_challenge_method", "S256".to_owned()),
            ("max_age", max_age.to_owned()),
        ]
    };
    let refused = okta
        .http
        .get(&endpoint)
        .query(&query("soon"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        Provider::redirect_params(&refused)["error"],
        "invalid_request"
    );
    // Through the sign-in page, which carries max_age to the code.
    let page = okta
        .http
        .get(&endpoint)
        .query(&query("0"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"max_age\" value=\"0\""), "{html}");
    let login = format!("{}/okta/login", okta.base);
    let mut form: Vec<(&str, String)> = query("0").to_vec();
    form.push(("user", "adele".to_owned()));
    let before = chrono::Utc::now().timestamp();
    let signed_in = okta.http.post(login).form(&form).send().await.unwrap();
    let code = Provider::redirect_params(&signed_in)["code"].clone();
    let (claims, _) = okta.redeemed_claims(&code).await;
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!(
        auth_time >= before && auth_time <= claims["iat"].as_i64().unwrap(),
        "{claims:?}"
    );
}

#[tokio::test]
async fn pkce_is_required() {
    let generic = start("generic", true).await;
    let endpoint = generic.endpoint("authorization_endpoint").await;
    let response = generic
        .http
        .get(endpoint)
        .query(&[
            ("response_type", "code"),
            ("client_id", "app-one"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    let params = Provider::redirect_params(&response);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], "s");
}

#[tokio::test]
async fn the_sign_in_page_lists_users_and_refuses_disabled_ones() {
    let entra = start("entra", false).await;
    let page = entra.authorize("app-one", "").await;
    assert_eq!(page.status(), StatusCode::OK);
    // Its one-click user buttons cannot be framed by another site.
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(
        page.headers()["content-security-policy"],
        "frame-ancestors 'none'"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("idpsim simulator"));
    assert!(html.contains("adele.vance@acme.test"));
    assert!(html.contains("(disabled)"));
    let login = format!("{}/entra/{TENANT}/v2.0/login", entra.base);
    let form = |extra: &[(&'static str, &'static str)]| {
        let challenge = challenge();
        let mut fields: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", "app-one".into()),
            ("redirect_uri", REDIRECT.into()),
            ("scope", "openid".into()),
            ("state", "st-1".into()),
            ("nonce", "n-1".into()),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256".into()),
        ];
        fields.extend(
            extra
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned())),
        );
        fields
    };
    let clicked = entra
        .http
        .post(&login)
        .form(&form(&[("user", "adele")]))
        .send()
        .await
        .unwrap();
    let params = Provider::redirect_params(&clicked);
    let token = entra
        .redeem(&params["code"], "app-one", "secret-one", VERIFIER)
        .await;
    assert_eq!(token.status(), StatusCode::OK);

    let disabled = entra
        .http
        .post(&login)
        .form(&form(&[("user", "debra")]))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::OK);
    assert!(
        disabled
            .text()
            .await
            .unwrap()
            .contains("this account is disabled")
    );

    let wrong_password = entra
        .http
        .post(&login)
        .form(&form(&[
            ("username", "adele.vance@acme.test"),
            ("password", ""),
        ]))
        .send()
        .await
        .unwrap();
    assert!(
        wrong_password
            .text()
            .await
            .unwrap()
            .contains("username or password is incorrect")
    );
    let typed = entra
        .http
        .post(&login)
        .form(&form(&[
            ("username", "ADELE.VANCE@acme.test"),
            ("password", "any"),
        ]))
        .send()
        .await
        .unwrap();
    assert!(Provider::redirect_params(&typed).contains_key("code"));
}

#[tokio::test]
async fn each_persona_id_token_has_its_vendor_claims() {
    for (persona, login) in [
        ("entra", "adele.vance@acme.test"),
        ("okta", "adele.vance@acme.test"),
        ("google", "adele.vance@acme.test"),
        ("jumpcloud", "avance"),
        ("generic", "adele.vance@acme.test"),
    ] {
        let provider = start_at(persona, true, Arc::new(snapshot_time)).await;
        let (mut claims, _) = provider.sign_in("app-one", "secret-one", login).await;
        let issuer = claims.remove("iss").unwrap();
        assert_eq!(issuer, provider.issuer.as_str());
        // Okta's jti is new in each token: its form is what the snapshot keeps.
        if let Some(jti) = claims.get_mut("jti") {
            let (again, _) = provider.sign_in("app-one", "secret-one", login).await;
            assert_ne!(again["jti"], *jti, "a jti is unique to its token");
            assert!(jti.as_str().unwrap().starts_with("ID."), "{jti}");
            *jti = Value::String("ID.<random>".into());
        }
        insta::assert_json_snapshot!(format!("id_token_{persona}"), claims);
    }
}
