//! Sign-in at the reference SP through a persona's SAML IdP, both served in-process on
//! 127.0.0.1:0: SP-initiated (AuthnRequest over HTTP-Redirect, Response posted by the IdP's
//! form) and IdP-initiated, for every persona; the login matched to its SCIM user, refused with
//! `ScimUserNotActive` when that user is missing or inactive; a posted Response used once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use idpsim_reference_sp::{
    IdpInitiatedPolicy, MatchingStrategy, RunningSp, SamlConnection, SpConfig,
};
use idpsim_simulator::clock::system_clock;
use idpsim_simulator::directory::Directory;
use idpsim_simulator::fixtures_dir;
use idpsim_simulator::persona::PersonaCatalog;
use idpsim_simulator::saml::{SamlCredential, SamlIdp, SamlIdpConfig, ServiceProvider};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use std::sync::{Arc, LazyLock};

static CREDENTIAL: LazyLock<SamlCredential> =
    LazyLock::new(|| SamlCredential::generate("idpsim test IdP").unwrap());

async fn start_sp() -> RunningSp {
    RunningSp::start(SpConfig::ephemeral()).await.unwrap()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Starts `persona`'s SAML IdP in test mode with the SP's connection registered, and adds the
/// connection (paired with `organization` when given) to the SP; returns the IdP.
async fn connect(
    sp: &RunningSp,
    persona: &str,
    organization: Option<String>,
    matching: MatchingStrategy,
) -> Arc<SamlIdp> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let persona = PersonaCatalog::open(&fixtures_dir().join("personas"))
        .unwrap()
        .load(persona)
        .unwrap()
        .persona;
    let name = persona.name.clone();
    let claim_attributes = persona.saml.oidc_equivalents.value.clone();
    let directory = Directory::load(&fixtures_dir().join("directories/acme.yaml")).unwrap();
    let idp = Arc::new(SamlIdp::new(
        persona,
        Arc::new(directory),
        CREDENTIAL.clone(),
        SamlIdpConfig {
            base_url: base,
            tenant: "contoso-tenant".into(),
            service_providers: vec![ServiceProvider {
                entity_id: sp.saml_entity_id(&name),
                acs_url: sp.saml_acs_url(&name),
                slo_url: Some(sp.saml_slo_url(&name)),
            }],
            strict: true,
            auto_login: true,
            clock: system_clock(),
        },
    ));
    sp.add_saml_connection(SamlConnection {
        id: name,
        idp_entity_id: idp.entity_id().to_owned(),
        idp_sso_url: idp.sso_url(),
        idp_slo_url: idp.slo_url(),
        idp_certificates: vec![idp.certificate_pem().to_owned()],
        organization,
        matching,
        claim_attributes,
        idp_initiated: IdpInitiatedPolicy::Accept,
    })
    .await
    .unwrap();
    let router = Arc::clone(&idp).router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    idp
}

/// The `name` hidden field of the IdP's auto-submitting form.
fn field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

/// The form's action and fields, as a browser would post them.
fn posted_form(page: &str) -> (String, Vec<(String, String)>) {
    let action = field_attribute(page, "action");
    let mut fields = vec![("SAMLResponse".to_owned(), field(page, "SAMLResponse"))];
    if page.contains("name=\"RelayState\"") {
        fields.push(("RelayState".to_owned(), field(page, "RelayState")));
    }
    (action, fields)
}

fn field_attribute(page: &str, attribute: &str) -> String {
    let marker = format!("{attribute}=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

/// Follows an SP-initiated sign-in: SP → IdP (Redirect binding) → the IdP's form → the ACS.
/// Returns the ACS's answer and the posted form (to replay it).
async fn sign_in(
    sp: &RunningSp,
    connection: &str,
    login_hint: &str,
) -> (reqwest::Response, (String, Vec<(String, String)>)) {
    let browser = browser();
    let to_idp = browser
        .get(format!("{}/sso/saml/{connection}/login", sp.origin()))
        .query(&[("login_hint", login_hint)])
        .send()
        .await
        .unwrap();
    let page = browser
        .get(location(&to_idp))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (action, fields) = posted_form(&page);
    let answer = browser.post(&action).form(&fields).send().await.unwrap();
    (answer, (action, fields))
}

fn cookie(answer: &reqwest::Response) -> String {
    let set_cookie = answer.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    set_cookie.split(';').next().unwrap().to_owned()
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
async fn a_user_signs_in_through_each_personas_saml_idp() {
    let sp = start_sp().await;
    // JumpCloud users sign in with their username, the others with their email.
    for (persona, login) in [
        ("entra", "adele.vance@acme.test"),
        ("okta", "adele.vance@acme.test"),
        ("google", "adele.vance@acme.test"),
        ("jumpcloud", "avance"),
        ("generic", "adele.vance@acme.test"),
    ] {
        connect(
            &sp,
            persona,
            None,
            MatchingStrategy::OidcEmailToScimUsername,
        )
        .await;
        let (answer, _) = sign_in(&sp, persona, login).await;
        assert_eq!(
            answer.status(),
            StatusCode::SEE_OTHER,
            "{persona}: {:?}",
            answer.headers()
        );
        assert_eq!(location(&answer), "/whoami");
        let (status, session) = whoami(&sp, &cookie(&answer)).await;
        assert_eq!(status, StatusCode::OK, "{persona}: {session}");
        assert_eq!(session["connection"], persona);
        assert_eq!(session["protocol"], "saml");
        assert_eq!(
            session["subject"], "adele.vance@acme.test",
            "{persona}: {session}"
        );
        assert_eq!(
            session["claims"]["email"], "adele.vance@acme.test",
            "{persona}: {session}"
        );
    }
    sp.shutdown().await;
}

#[tokio::test]
async fn entras_object_id_attribute_matches_its_scim_external_id_and_deactivation_ends_the_session()
{
    let sp = start_sp().await;
    let organization = sp.create_organization("contoso").await.unwrap();
    connect(
        &sp,
        "entra",
        Some(organization.id.clone()),
        MatchingStrategy::OidcOidToScimExternalId,
    )
    .await;
    let scim = browser();
    let created: Value = scim
        .post(format!("{}/Users", sp.base_url()))
        .bearer_auth(&organization.token)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "adele.vance@acme.test",
            "externalId": "5d5ae2c6-28c1-4bef-933b-795c1da4e0fa",
            "active": true
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (answer, _) = sign_in(&sp, "entra", "adele.vance@acme.test").await;
    let cookie = cookie(&answer);
    let (status, session) = whoami(&sp, &cookie).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["scim_user"]["id"], created["id"]);
    assert_eq!(session["matching"], "OidcOidToScimExternalId");

    let deactivated = scim
        .patch(format!(
            "{}/Users/{}",
            sp.base_url(),
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&organization.token)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), StatusCode::OK);
    let (status, body) = whoami(&sp, &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "ScimUserNotActive");

    let (refused, _) = sign_in(&sp, "entra", "adele.vance@acme.test").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("ScimUserNotActive"));
    let (unknown, _) = sign_in(&sp, "entra", "catherine.hale@acme.test").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(unknown.text().await.unwrap().contains("ScimUserNotActive"));
    sp.shutdown().await;
}

#[tokio::test]
async fn an_idp_initiated_response_signs_in_and_a_posted_response_is_used_once() {
    let sp = start_sp().await;
    let browser = browser();
    // JumpCloud users sign in with their username, the others with their email.
    for (persona, login) in [
        ("entra", "catherine.hale@acme.test"),
        ("okta", "catherine.hale@acme.test"),
        ("google", "catherine.hale@acme.test"),
        ("jumpcloud", "catherine.hale"),
        ("generic", "catherine.hale@acme.test"),
    ] {
        let idp = connect(
            &sp,
            persona,
            None,
            MatchingStrategy::OidcEmailToScimUsername,
        )
        .await;
        let page = browser
            .get(idp.initiate_url())
            .query(&[
                ("sp", sp.saml_entity_id(persona).as_str()),
                ("login_hint", login),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let (action, fields) = posted_form(&page);
        assert_eq!(action, sp.saml_acs_url(persona));
        let answer = browser.post(&action).form(&fields).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{persona}");
        let (_, session) = whoami(&sp, &cookie(&answer)).await;
        assert_eq!(session["subject"], "catherine.hale@acme.test", "{persona}");
    }

    let (first, (action, fields)) = sign_in(&sp, "okta", "adele.vance@acme.test").await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let replay = browser.post(&action).form(&fields).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    sp.shutdown().await;
}
