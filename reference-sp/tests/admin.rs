//! The reference SP's admin API, in-process on 127.0.0.1:0: the admin key, organizations with
//! their tokens, SSO connection (one per organization, seed 002) and domains, kept across a
//! restart; sign-in routing by seed 004's precedence and the domain check; the Directory API's
//! pages; break-glass users on the password login page (seed 000).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use idpsim_reference_sp::{
    DatabaseLocation, IdpInitiatedPolicy, MatchingStrategy, OidcConnection, RunningSp,
    SamlConnection, SpConfig, SpError,
};
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

const ADMIN_KEY: &str = "admin-test-key";

/// A PEM certificate for SAML connections.
static CERTIFICATE: LazyLock<String> = LazyLock::new(|| {
    let key = rcgen::KeyPair::generate().unwrap();
    rcgen::CertificateParams::new(vec!["idp.test".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem()
});

async fn start(database: DatabaseLocation, admin_key: Option<&str>) -> RunningSp {
    RunningSp::start(SpConfig {
        database,
        admin_key: admin_key.map(str::to_owned),
        ..SpConfig::ephemeral()
    })
    .await
    .unwrap()
}

async fn start_sp() -> RunningSp {
    start(DatabaseLocation::Temporary, Some(ADMIN_KEY)).await
}

/// A client that does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Sends an admin request with `key` (none: no Authorization header); the status and the JSON
/// body (null when empty).
async fn admin_with(
    sp: &RunningSp,
    key: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = browser().request(method, format!("{}/admin/v1{path}", sp.origin()));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

/// Sends an admin request with the admin key and expects `status`; the JSON body.
async fn admin(
    sp: &RunningSp,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let (answered, body) = admin_with(sp, Some(ADMIN_KEY), method, path, body).await;
    assert_eq!(answered.as_u16(), status, "{path}: {body:#}");
    body
}

/// Asserts an admin API error with this code whose description contains `text`.
fn assert_error(body: &Value, code: &str, text: &str) {
    assert_eq!(body["error"], code, "{body:#}");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains(text), "{description:?} lacks {text:?}");
}

/// Creates an organization through the admin API; its id and SCIM token.
async fn organization(sp: &RunningSp, name: &str) -> (String, String) {
    let created = admin(
        sp,
        Method::POST,
        "/organizations",
        Some(json!({ "name": name })),
        201,
    )
    .await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["scim_token"].as_str().unwrap().to_owned(),
    )
}

fn oidc_settings() -> Value {
    json!({
        "issuer": "https://idp.test/oauth2/default",
        "client_id": "sp-client",
        "client_secret": "sp-secret",
    })
}

fn saml_settings() -> Value {
    json!({
        "idp_entity_id": "https://idp.test/saml/metadata",
        "idp_sso_url": "https://idp.test/sso",
        "idp_certificates": [CERTIFICATE.clone()],
        "claim_attributes": { "email": "emailaddress" },
    })
}

/// Gives the organization the connection `id` of `protocol` and verifies `domain` for it.
async fn connect(sp: &RunningSp, organization: &str, id: &str, protocol: &str, domain: &str) {
    let settings = if protocol == "oidc" {
        oidc_settings()
    } else {
        saml_settings()
    };
    admin(
        sp,
        Method::PUT,
        &format!("/organizations/{organization}/connection"),
        Some(json!({ "id": id, "protocol": protocol, "settings": settings })),
        201,
    )
    .await;
    admin(
        sp,
        Method::POST,
        &format!("/organizations/{organization}/domains"),
        Some(json!({ "domain": domain })),
        201,
    )
    .await;
}

/// GETs `path` of the SP (not following redirects).
async fn get(sp: &RunningSp, path: &str) -> reqwest::Response {
    browser()
        .get(format!("{}{path}", sp.origin()))
        .send()
        .await
        .unwrap()
}

/// The 303's target, as a URL (a relative one resolved against a placeholder origin).
fn location(response: &reqwest::Response) -> reqwest::Url {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "not a redirect");
    reqwest::Url::parse("http://sp.invalid/")
        .unwrap()
        .join(response.headers()["location"].to_str().unwrap())
        .unwrap()
}

fn query_value(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

async fn scim_create_user(sp: &RunningSp, token: &str, user_name: &str) -> String {
    let response = browser()
        .post(format!("{}/Users", sp.base_url()))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "externalId": format!("ext-{user_name}"),
            "name": { "givenName": "Test", "familyName": user_name },
            "emails": [{ "value": user_name, "type": "work", "primary": true }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_admin_api_requires_the_admin_key() {
    let sp = start_sp().await;
    assert_eq!(sp.admin_key(), ADMIN_KEY);
    let (status, body) = admin_with(&sp, None, Method::GET, "/organizations", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "unauthorized", "admin key is required");
    let (status, body) = admin_with(
        &sp,
        Some("not-the-key"),
        Method::GET,
        "/organizations",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "unauthorized", "not valid");
    // A SCIM token is not the admin key.
    let (status, _) = admin_with(
        &sp,
        Some(sp.default_token()),
        Method::GET,
        "/organizations",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let basic = browser()
        .get(format!("{}/admin/v1/organizations", sp.origin()))
        .basic_auth("admin", Some(ADMIN_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    assert!(basic.headers().contains_key("www-authenticate"));
    // Unknown endpoints are not found, once authenticated.
    let (status, _) = admin_with(&sp, None, Method::GET, "/nothing", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body = admin(&sp, Method::GET, "/nothing", None, 404).await;
    assert_error(&body, "not_found", "no such endpoint");
    let listed = admin(&sp, Method::GET, "/organizations", None, 200).await;
    assert_eq!(listed["organizations"][0]["id"], "default");
    sp.shutdown().await;
    // Without a configured key, a random one is made.
    let sp = start(DatabaseLocation::Temporary, None).await;
    assert!(sp.admin_key().len() > 40, "{}", sp.admin_key());
    let (status, _) = admin_with(
        &sp,
        Some(sp.admin_key()),
        Method::GET,
        "/organizations",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = admin_with(&sp, Some(ADMIN_KEY), Method::GET, "/organizations", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    sp.shutdown().await;
}

#[tokio::test]
async fn organizations_and_their_tokens() {
    let sp = start_sp().await;
    let (id, token) = organization(&sp, "Acme").await;
    let scim = |token: &str, method: Method| {
        browser()
            .request(method, format!("{}/Users", sp.base_url()))
            .bearer_auth(token.to_owned())
    };
    assert_eq!(
        scim(&token, Method::GET).send().await.unwrap().status(),
        StatusCode::OK
    );
    let listed = admin(&sp, Method::GET, "/organizations", None, 200).await;
    assert!(
        listed["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|org| org["id"] == id.as_str())
    );
    let shown = admin(&sp, Method::GET, &format!("/organizations/{id}"), None, 200).await;
    assert_eq!(shown["name"], "Acme");
    assert_eq!(shown["deletion_policy"], "delete");
    assert_eq!(shown["session_timeout_minutes"], 120);
    assert_eq!(shown["connection"], Value::Null);
    assert_eq!(shown["domains"], json!([]));
    let patched = admin(
        &sp,
        Method::PATCH,
        &format!("/organizations/{id}"),
        Some(json!({ "deletion_policy": "deactivate", "session_timeout_minutes": 30 })),
        200,
    )
    .await;
    assert_eq!(patched["deletion_policy"], "deactivate");
    assert_eq!(patched["session_timeout_minutes"], 30);
    for (patch, text) in [
        (
            json!({ "deletion_policy": "shred" }),
            "`deletion_policy` must be",
        ),
        (
            json!({ "session_timeout_minutes": 0 }),
            "`session_timeout_minutes` must be",
        ),
        (json!({}), "nothing to change"),
        (json!({ "colour": "red" }), "unknown field `colour`"),
    ] {
        let body = admin(
            &sp,
            Method::PATCH,
            &format!("/organizations/{id}"),
            Some(patch),
            400,
        )
        .await;
        assert_error(&body, "invalid_request", text);
    }
    let body = admin(
        &sp,
        Method::POST,
        "/organizations",
        Some(json!({ "name": " " })),
        400,
    )
    .await;
    assert_error(&body, "invalid_request", "`name` must not be empty");
    let not_json = browser()
        .post(format!("{}/admin/v1/organizations", sp.origin()))
        .bearer_auth(ADMIN_KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let body = admin(&sp, Method::GET, "/organizations/nope", None, 404).await;
    assert_error(&body, "not_found", "`nope`");
    admin(
        &sp,
        Method::PATCH,
        "/organizations/nope",
        Some(json!({ "session_timeout_minutes": 5 })),
        404,
    )
    .await;
    // Tokens: a read-only one reads and cannot write.
    let issued = admin(
        &sp,
        Method::POST,
        &format!("/organizations/{id}/tokens"),
        Some(json!({ "role": "read-only" })),
        201,
    )
    .await;
    assert_eq!(issued["role"], "read-only");
    let read_only = issued["token"].as_str().unwrap();
    assert_eq!(
        scim(read_only, Method::GET).send().await.unwrap().status(),
        StatusCode::OK
    );
    let write = scim(read_only, Method::POST)
        .header("content-type", "application/scim+json")
        .body(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::FORBIDDEN);
    let body = admin(
        &sp,
        Method::POST,
        &format!("/organizations/{id}/tokens"),
        Some(json!({ "role": "root" })),
        400,
    )
    .await;
    assert_error(&body, "invalid_request", "`role` must be");
    admin(&sp, Method::POST, "/organizations/nope/tokens", None, 404).await;
    // Rotation: the new token works, the old one stops at once.
    let rotated = admin(
        &sp,
        Method::POST,
        &format!("/organizations/{id}/tokens/rotate"),
        Some(json!({ "old": token })),
        200,
    )
    .await;
    assert_eq!(rotated["role"], "read-write");
    let new = rotated["token"].as_str().unwrap();
    assert_eq!(
        scim(new, Method::GET).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        scim(&token, Method::GET).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let body = admin(
        &sp,
        Method::POST,
        &format!("/organizations/{id}/tokens/rotate"),
        Some(json!({ "old": token })),
        404,
    )
    .await;
    assert_error(&body, "not_found", "not a current token");
    sp.shutdown().await;
}

#[tokio::test]
async fn connection_crud() {
    let sp = start_sp().await;
    let (id, _) = organization(&sp, "Acme").await;
    let path = format!("/organizations/{id}/connection");
    let body = admin(&sp, Method::GET, &path, None, 404).await;
    assert_error(&body, "not_found", "has no SSO connection");
    // An Entra connection gets Entra's strategy (seed 002); the secret is not shown.
    let created = admin(
        &sp,
        Method::PUT,
        &path,
        Some(json!({ "protocol": "oidc", "idp_type": "MicrosoftEntra", "settings": oidc_settings() })),
        201,
    )
    .await;
    let connection = created["id"].as_str().unwrap().to_owned();
    assert!(connection.starts_with("conn_"), "{connection}");
    assert_eq!(created["organization_id"], id.as_str());
    assert_eq!(created["protocol"], "oidc");
    assert_eq!(created["idp_type"], "MicrosoftEntra");
    assert_eq!(created["matching"], "OidcSubToScimExternalId");
    assert_eq!(created["settings"]["client_id"], "sp-client");
    assert_eq!(created["settings"].get("client_secret"), None);
    assert_eq!(
        created["sp"]["redirect_uri"],
        format!("{}/sso/oidc/{connection}/callback", sp.origin())
    );
    assert_eq!(admin(&sp, Method::GET, &path, None, 200).await, created);
    let shown = admin(&sp, Method::GET, &format!("/organizations/{id}"), None, 200).await;
    assert_eq!(shown["connection"]["id"], connection.as_str());
    // Replacing it keeps its id; the protocol may change, and sign-in follows.
    let replaced = admin(
        &sp,
        Method::PUT,
        &path,
        Some(json!({
            "protocol": "saml",
            "idp_type": "Okta",
            "matching": "OidcSubToScimUsername",
            "settings": saml_settings(),
        })),
        200,
    )
    .await;
    assert_eq!(replaced["id"], connection.as_str());
    assert_eq!(replaced["protocol"], "saml");
    assert_eq!(replaced["matching"], "OidcSubToScimUsername");
    assert_eq!(replaced["created"], created["created"]);
    assert_eq!(
        replaced["sp"]["acs_url"],
        sp.saml_acs_url(&connection).as_str()
    );
    let login = get(&sp, &format!("/sso/saml/{connection}/login")).await;
    assert_eq!(location(&login).host_str(), Some("idp.test"));
    let gone = get(&sp, &format!("/sso/oidc/{connection}/login")).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    // Bad input is named.
    for (request, text) in [
        (
            json!({ "protocol": "ldap", "settings": {} }),
            "`protocol` must be `oidc` or `saml`",
        ),
        (json!({ "protocol": "oidc" }), "missing field `settings`"),
        (
            json!({ "protocol": "oidc", "idp_type": "Ping", "settings": oidc_settings() }),
            "unknown IdP type `Ping`",
        ),
        (
            json!({ "protocol": "oidc", "matching": "Magic", "settings": oidc_settings() }),
            "unknown matching strategy `Magic`",
        ),
        (
            json!({ "protocol": "oidc", "settings": { "issuer": "https://idp.test" } }),
            "`settings.client_id` is required",
        ),
        (
            json!({ "protocol": "saml", "settings": { "idp_entity_id": "e", "idp_sso_url": "https://idp.test/sso" } }),
            "no IdP signing certificate",
        ),
        (
            json!({ "protocol": "saml", "settings": { "idp_entity_id": "e", "idp_sso_url": "https://idp.test/sso", "idp_certificates": ["junk"] } }),
            "unusable",
        ),
        (
            json!({ "id": "has space", "protocol": "oidc", "settings": oidc_settings() }),
            "connection id `has space`",
        ),
    ] {
        let body = admin(&sp, Method::PUT, &path, Some(request), 400).await;
        assert_error(&body, "invalid_request", text);
    }
    // A refused replacement leaves the connection as it was.
    assert_eq!(
        admin(&sp, Method::GET, &path, None, 200).await["protocol"],
        "saml"
    );
    admin(
        &sp,
        Method::PUT,
        "/organizations/nope/connection",
        Some(json!({ "protocol": "oidc", "settings": oidc_settings() })),
        404,
    )
    .await;
    // Deleting it ends sign-in through it.
    admin(&sp, Method::DELETE, &path, None, 204).await;
    admin(&sp, Method::GET, &path, None, 404).await;
    admin(&sp, Method::DELETE, &path, None, 404).await;
    let gone = get(&sp, &format!("/sso/saml/{connection}/login")).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    sp.shutdown().await;
}

#[tokio::test]
async fn domain_crud_one_owner_per_domain() {
    let sp = start_sp().await;
    let (acme, _) = organization(&sp, "Acme").await;
    let (globex, _) = organization(&sp, "Globex").await;
    let domains = format!("/organizations/{acme}/domains");
    let added = admin(
        &sp,
        Method::POST,
        &domains,
        Some(json!({ "domain": "Acme.TEST" })),
        201,
    )
    .await;
    assert_eq!(
        added,
        json!({ "domain": "acme.test", "organization_id": acme })
    );
    admin(
        &sp,
        Method::POST,
        &domains,
        Some(json!({ "domain": "acme.test" })),
        200,
    )
    .await;
    admin(
        &sp,
        Method::POST,
        &domains,
        Some(json!({ "domain": "eu.acme.test" })),
        201,
    )
    .await;
    let body = admin(
        &sp,
        Method::POST,
        &format!("/organizations/{globex}/domains"),
        Some(json!({ "domain": "acme.test" })),
        409,
    )
    .await;
    assert_error(
        &body,
        "conflict",
        &format!("already belongs to organization `{acme}`"),
    );
    let body = admin(
        &sp,
        Method::POST,
        &domains,
        Some(json!({ "domain": "not a domain" })),
        400,
    )
    .await;
    assert_error(&body, "invalid_request", "is not a domain name");
    admin(
        &sp,
        Method::POST,
        "/organizations/nope/domains",
        Some(json!({ "domain": "nope.test" })),
        404,
    )
    .await;
    let listed = admin(&sp, Method::GET, &domains, None, 200).await;
    assert_eq!(listed["domains"], json!(["acme.test", "eu.acme.test"]));
    let shown = admin(
        &sp,
        Method::GET,
        &format!("/organizations/{acme}"),
        None,
        200,
    )
    .await;
    assert_eq!(shown["domains"], json!(["acme.test", "eu.acme.test"]));
    // Another organization cannot remove it; its owner can, then it is free.
    admin(
        &sp,
        Method::DELETE,
        &format!("/organizations/{globex}/domains/acme.test"),
        None,
        404,
    )
    .await;
    admin(
        &sp,
        Method::DELETE,
        &format!("{domains}/acme.test"),
        None,
        204,
    )
    .await;
    admin(
        &sp,
        Method::DELETE,
        &format!("{domains}/acme.test"),
        None,
        404,
    )
    .await;
    admin(
        &sp,
        Method::POST,
        &format!("/organizations/{globex}/domains"),
        Some(json!({ "domain": "acme.test" })),
        201,
    )
    .await;
    sp.shutdown().await;
}

#[tokio::test]
async fn an_organization_has_at_most_one_sso_connection() {
    let sp = start_sp().await;
    let acme = sp.create_organization("Acme").await.unwrap();
    let oidc = |id: &str, organization: Option<&str>| OidcConnection {
        id: id.to_owned(),
        issuer: "https://idp.test".into(),
        client_id: "client".into(),
        client_secret: "secret".into(),
        organization: organization.map(str::to_owned),
        matching: MatchingStrategy::OidcEmailToScimUsername,
    };
    sp.add_oidc_connection(oidc("first", Some(&acme.id)))
        .await
        .unwrap();
    // A second connection of the same organization is refused, whatever its protocol.
    let refused = sp
        .add_oidc_connection(oidc("second", Some(&acme.id)))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, SpError::OrganizationHasConnection { organization, connection }
            if organization == &acme.id && connection == "first"),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("at most one SSO connection"),
        "{refused}"
    );
    let saml = SamlConnection {
        id: "third".into(),
        idp_entity_id: "https://idp.test/saml".into(),
        idp_sso_url: "https://idp.test/sso".into(),
        idp_certificates: vec![CERTIFICATE.clone()],
        organization: Some(acme.id.clone()),
        matching: MatchingStrategy::OidcEmailToScimUsername,
        claim_attributes: BTreeMap::new(),
        idp_initiated: IdpInitiatedPolicy::Refuse,
        idp_slo_url: None,
    };
    assert!(matches!(
        sp.add_saml_connection(saml.clone()).await,
        Err(SpError::OrganizationHasConnection { .. })
    ));
    // The refused ones cannot be used.
    assert_eq!(
        get(&sp, "/sso/oidc/second/login").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&sp, "/sso/saml/third/login").await.status(),
        StatusCode::NOT_FOUND
    );
    // Replacing the organization's connection (same id) is an update.
    let mut first = oidc("first", Some(&acme.id));
    first.matching = MatchingStrategy::OidcSubToScimUsername;
    sp.add_oidc_connection(first).await.unwrap();
    let shown = admin(
        &sp,
        Method::GET,
        &format!("/organizations/{}/connection", acme.id),
        None,
        200,
    )
    .await;
    assert_eq!(shown["matching"], "OidcSubToScimUsername");
    assert_eq!(shown["idp_type"], "Generic");
    // So is the admin API's PUT, which refuses another id.
    let body = admin(
        &sp,
        Method::PUT,
        &format!("/organizations/{}/connection", acme.id),
        Some(json!({ "id": "second", "protocol": "oidc", "settings": oidc_settings() })),
        409,
    )
    .await;
    assert_error(&body, "conflict", "already has the SSO connection `first`");
    // Connections without an organization are not paired, and not limited.
    sp.add_oidc_connection(oidc("loose-1", None)).await.unwrap();
    sp.add_oidc_connection(oidc("loose-2", None)).await.unwrap();
    // Once the first is gone, another may take its place.
    admin(
        &sp,
        Method::DELETE,
        &format!("/organizations/{}/connection", acme.id),
        None,
        204,
    )
    .await;
    sp.add_saml_connection(saml).await.unwrap();
    // Unknown organizations and unusable connections are refused.
    assert!(matches!(
        sp.add_oidc_connection(oidc("orphan", Some("nope"))).await,
        Err(SpError::UnknownOrganization(id)) if id == "nope"
    ));
    let mut bad = oidc("bad", None);
    bad.issuer = "not a url".into();
    assert!(matches!(
        sp.add_oidc_connection(bad).await,
        Err(SpError::InvalidConnection(_))
    ));
    sp.shutdown().await;
}

#[tokio::test]
async fn connections_domains_and_break_glass_users_survive_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let database = DatabaseLocation::File(directory.path().join("sp.db"));
    let sp = start(database.clone(), Some(ADMIN_KEY)).await;
    let (acme, _) = organization(&sp, "Acme").await;
    admin(
        &sp,
        Method::PUT,
        &format!("/organizations/{acme}/connection"),
        Some(json!({ "id": "acme-okta", "protocol": "saml", "idp_type": "Okta", "settings": saml_settings() })),
        201,
    )
    .await;
    admin(
        &sp,
        Method::POST,
        &format!("/organizations/{acme}/domains"),
        Some(json!({ "domain": "acme.test" })),
        201,
    )
    .await;
    admin(
        &sp,
        Method::POST,
        &format!("/organizations/{acme}/break-glass"),
        Some(json!({ "username": "ops", "password": "hunter2!" })),
        201,
    )
    .await;
    // Added in-process, unpaired; its issuer does not answer.
    sp.add_oidc_connection(OidcConnection {
        id: "loose".into(),
        issuer: "http://127.0.0.1:1".into(),
        client_id: "client".into(),
        client_secret: "secret".into(),
        organization: None,
        matching: MatchingStrategy::OidcSubToScimUsername,
    })
    .await
    .unwrap();
    let before = admin(
        &sp,
        Method::GET,
        &format!("/organizations/{acme}"),
        None,
        200,
    )
    .await;
    sp.shutdown().await;

    let sp = start(database, Some(ADMIN_KEY)).await;
    let after = admin(
        &sp,
        Method::GET,
        &format!("/organizations/{acme}"),
        None,
        200,
    )
    .await;
    assert_eq!(after["connection"]["id"], "acme-okta");
    assert_eq!(after["connection"]["idp_type"], "Okta");
    assert_eq!(after["connection"]["matching"], "OidcEmailToScimUsername");
    assert_eq!(
        after["connection"]["settings"],
        before["connection"]["settings"]
    );
    assert_eq!(
        after["connection"]["created"],
        before["connection"]["created"]
    );
    assert_eq!(after["domains"], json!(["acme.test"]));
    // Sign-in works through both, straight after the start.
    let login = get(&sp, "/sso/saml/acme-okta/login").await;
    assert_eq!(location(&login).host_str(), Some("idp.test"));
    let routed = get(&sp, "/sso/start?login_hint=jdoe@acme.test").await;
    assert_eq!(location(&routed).path(), "/sso/saml/acme-okta/login");
    let loose = get(&sp, "/sso/oidc/loose/login").await;
    assert_eq!(
        loose.status(),
        StatusCode::BAD_GATEWAY,
        "the connection is known: its provider is asked"
    );
    let users = admin(
        &sp,
        Method::GET,
        &format!("/organizations/{acme}/break-glass"),
        None,
        200,
    )
    .await;
    assert_eq!(users["users"][0]["username"], "ops");
    let signed_in = password_login(&sp, &acme, "ops", "hunter2!", true).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    sp.shutdown().await;
}

/// Four organizations, each with a connection and a domain: `conn-a` (OIDC, a.test) to
/// `conn-d` (SAML, d.test).
async fn four_routes(sp: &RunningSp) -> Vec<String> {
    let mut organizations = Vec::new();
    for (name, protocol) in [("a", "oidc"), ("b", "saml"), ("c", "oidc"), ("d", "saml")] {
        let (id, _) = organization(sp, name).await;
        connect(
            sp,
            &id,
            &format!("conn-{name}"),
            protocol,
            &format!("{name}.test"),
        )
        .await;
        organizations.push(id);
    }
    organizations
}

#[tokio::test]
async fn routing_follows_the_precedence_of_seed_004() {
    let sp = start_sp().await;
    let organizations = four_routes(&sp).await;
    let all = [
        ("connection_id", "conn-a".to_owned()),
        ("organization_id", organizations[1].clone()),
        ("domain_hint", "C.test".to_owned()),
        ("login_hint", "jdoe@d.test".to_owned()),
    ];
    let expected = [
        "/sso/oidc/conn-a/login",
        "/sso/saml/conn-b/login",
        "/sso/oidc/conn-c/login",
        "/sso/saml/conn-d/login",
    ];
    // Each identifier beats every one after it.
    for (skip, path) in expected.iter().enumerate() {
        let response = browser()
            .get(format!("{}/sso/start", sp.origin()))
            .query(&all[skip..])
            .send()
            .await
            .unwrap();
        let target = location(&response);
        assert_eq!(target.path(), *path, "from {:?}", &all[skip..]);
        assert_eq!(
            query_value(&target, "login_hint").as_deref(),
            Some("jdoe@d.test")
        );
    }
    // An empty identifier counts as absent; without a login_hint none is passed on.
    let routed = location(
        &get(
            &sp,
            &format!(
                "/sso/start?connection_id=&organization_id={}",
                organizations[1]
            ),
        )
        .await,
    );
    assert_eq!(routed.path(), "/sso/saml/conn-b/login");
    assert_eq!(query_value(&routed, "login_hint"), None);
    // The login URL it leads to goes on to the IdP.
    let login = get(
        &sp,
        &format!("{}?{}", routed.path(), routed.query().unwrap_or_default()),
    )
    .await;
    assert_eq!(location(&login).host_str(), Some("idp.test"));
    sp.shutdown().await;
}

#[tokio::test]
async fn what_has_no_sso_is_answered_without_a_redirect() {
    let sp = start_sp().await;
    let organizations = four_routes(&sp).await;
    let (lonely, _) = organization(&sp, "Lonely").await;
    admin(
        &sp,
        Method::POST,
        &format!("/organizations/{lonely}/domains"),
        Some(json!({ "domain": "lonely.test" })),
        201,
    )
    .await;
    let cases = [
        (
            format!("connection_id=nope&organization_id={}", organizations[0]),
            "no SSO connection has the id `nope`",
            "connection_id",
            "nope",
        ),
        (
            "organization_id=nope&domain_hint=a.test".to_owned(),
            "no organization has the id `nope`",
            "organization_id",
            "nope",
        ),
        (
            format!("organization_id={lonely}"),
            "has no SSO connection",
            "organization_id",
            lonely.as_str(),
        ),
        (
            "domain_hint=unknown.test&login_hint=jdoe@a.test".to_owned(),
            "no organization has verified the domain `unknown.test`",
            "domain_hint",
            "unknown.test",
        ),
        (
            "login_hint=jdoe@Unknown.test".to_owned(),
            "no organization has verified the domain `unknown.test`",
            "login_hint",
            "unknown.test",
        ),
        (
            "login_hint=jdoe@lonely.test".to_owned(),
            "which has no SSO connection",
            "login_hint",
            "lonely.test",
        ),
    ];
    for (query, text, parameter, value) in cases {
        let response = get(&sp, &format!("/sso/start?{query}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{query}");
        assert!(response.headers().get("location").is_none());
        let body: Value = response.json().await.unwrap();
        assert_error(&body, "sso_not_found", text);
        assert_eq!(body["looked_up"], json!({ parameter: value }), "{query}");
    }
    for query in ["", "?login_hint=jdoe", "?domain_hint=no_domain"] {
        let response = get(&sp, &format!("/sso/start{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
    // A browser gets a page.
    let page = browser()
        .get(format!(
            "{}/sso/start?domain_hint=unknown.test",
            sp.origin()
        ))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = page.text().await.unwrap();
    assert!(text.contains("domain_hint=unknown.test"), "{text}");
    sp.shutdown().await;
}

#[tokio::test]
async fn the_domain_check_says_whether_a_domain_has_sso() {
    let sp = start_sp().await;
    let organizations = four_routes(&sp).await;
    let (lonely, _) = organization(&sp, "Lonely").await;
    admin(
        &sp,
        Method::POST,
        &format!("/organizations/{lonely}/domains"),
        Some(json!({ "domain": "lonely.test" })),
        201,
    )
    .await;
    let check = |query: &'static str| {
        let sp = &sp;
        async move {
            let response = get(sp, &format!("/sso/domain?{query}")).await;
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(
        check("domain=B.Test").await,
        (
            StatusCode::OK,
            json!({
                "domain": "b.test",
                "sso": true,
                "organization_id": organizations[1],
                "connection_id": "conn-b",
                "protocol": "saml",
            })
        )
    );
    let (_, by_email) = check("email=jdoe@a.test").await;
    assert_eq!(by_email["connection_id"], "conn-a");
    assert_eq!(by_email["protocol"], "oidc");
    assert_eq!(
        check("domain=unknown.test").await.1,
        json!({ "domain": "unknown.test", "sso": false, "organization_id": null, "connection_id": null, "protocol": null })
    );
    assert_eq!(
        check("domain=lonely.test").await.1,
        json!({ "domain": "lonely.test", "sso": false, "organization_id": lonely, "connection_id": null, "protocol": null })
    );
    for query in ["", "email=jdoe", "domain=not%20a%20domain"] {
        let (status, body) = check(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"], "invalid_request");
    }
    sp.shutdown().await;
}

#[tokio::test]
async fn the_directory_api_pages_through_users_and_groups() {
    let sp = start_sp().await;
    let (acme, token) = organization(&sp, "Acme").await;
    let (globex, _) = organization(&sp, "Globex").await;
    let mut created = tokio::task::JoinSet::new();
    for index in 0..120 {
        let (origin_base, token) = (sp.base_url().to_owned(), token.clone());
        created.spawn(async move {
            let response = browser()
                .post(format!("{origin_base}/Users"))
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .json(&json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("user{index:03}@acme.test"),
                }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
        });
    }
    while let Some(done) = created.join_next().await {
        done.unwrap();
    }
    let users = format!("/organizations/{acme}/directory/users");
    let mut seen = HashSet::new();
    let mut sizes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(token) => format!("{users}?page_size=50&page_token={token}"),
            None => format!("{users}?page_size=50"),
        };
        let page = admin(&sp, Method::GET, &path, None, 200).await;
        let listed = page["users"].as_array().unwrap();
        sizes.push(listed.len());
        for user in listed {
            assert!(
                seen.insert(user["id"].as_str().unwrap().to_owned()),
                "listed twice: {user}"
            );
        }
        match page.get("next_page_token") {
            Some(next) => token = Some(next.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(seen.len(), 120);
    // The default page size is 50; 200 at most.
    let first = admin(&sp, Method::GET, &users, None, 200).await;
    assert_eq!(first["users"].as_array().unwrap().len(), 50);
    let all = admin(
        &sp,
        Method::GET,
        &format!("{users}?page_size=200"),
        None,
        200,
    )
    .await;
    assert_eq!(all["users"].as_array().unwrap().len(), 120);
    assert_eq!(all.get("next_page_token"), None);
    let body = admin(
        &sp,
        Method::GET,
        &format!("{users}?page_size=201"),
        None,
        400,
    )
    .await;
    assert_error(
        &body,
        "invalid_request",
        "page_size must be a number from 1 to 200",
    );
    let body = admin(
        &sp,
        Method::GET,
        &format!("{users}?page_token=forged"),
        None,
        400,
    )
    .await;
    assert_error(&body, "invalid_request", "page_token");
    // A user and a group as the Directory API shows them.
    let adele = scim_create_user(&sp, &first_token(&sp, &acme).await, "adele@acme.test").await;
    let group = browser()
        .post(format!("{}/Groups", sp.base_url()))
        .bearer_auth(first_token(&sp, &acme).await)
        .header("content-type", "application/scim+json")
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": [{ "value": adele }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(group.status(), StatusCode::CREATED);
    let group: Value = group.json().await.unwrap();
    let last = admin(
        &sp,
        Method::GET,
        &format!("{users}?page_size=200"),
        None,
        200,
    )
    .await;
    let shown = last["users"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        shown,
        json!({
            "id": adele,
            "user_name": "adele@acme.test",
            "email": "adele@acme.test",
            "name": "Test adele@acme.test",
            "active": true,
            "external_id": "ext-adele@acme.test",
            "groups": [{ "id": group["id"], "name": "Engineering" }],
        })
    );
    let groups = admin(
        &sp,
        Method::GET,
        &format!("/organizations/{acme}/directory/groups"),
        None,
        200,
    )
    .await;
    assert_eq!(
        groups,
        json!({ "groups": [{ "id": group["id"], "name": "Engineering", "members": [{ "id": adele, "type": "user" }] }] })
    );
    // A users' token is not a groups' token.
    let users_token = first["next_page_token"].as_str().unwrap();
    admin(
        &sp,
        Method::GET,
        &format!("/organizations/{acme}/directory/groups?page_token={users_token}"),
        None,
        400,
    )
    .await;
    // Other organizations see only their own.
    let other = admin(
        &sp,
        Method::GET,
        &format!("/organizations/{globex}/directory/users"),
        None,
        200,
    )
    .await;
    assert_eq!(other, json!({ "users": [] }));
    // Nor may one organization's page token be used on another's list.
    let refused = admin(
        &sp,
        Method::GET,
        &format!("/organizations/{globex}/directory/users?page_token={users_token}"),
        None,
        400,
    )
    .await;
    assert_error(
        &refused,
        "invalid_request",
        "not a page token of this organization",
    );
    admin(
        &sp,
        Method::GET,
        "/organizations/nope/directory/users",
        None,
        404,
    )
    .await;
    let (status, _) = admin_with(&sp, None, Method::GET, &users, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    sp.shutdown().await;
}

/// A fresh read-write SCIM token of the organization.
async fn first_token(sp: &RunningSp, organization: &str) -> String {
    let issued = admin(
        sp,
        Method::POST,
        &format!("/organizations/{organization}/tokens"),
        None,
        201,
    )
    .await;
    issued["token"].as_str().unwrap().to_owned()
}

/// Posts the password form, with or without `?noLoginRedirect`.
async fn password_login(
    sp: &RunningSp,
    organization: &str,
    username: &str,
    password: &str,
    bypass: bool,
) -> reqwest::Response {
    let path = if bypass {
        "/login?noLoginRedirect"
    } else {
        "/login"
    };
    browser()
        .post(format!("{}{path}", sp.origin()))
        .form(&[
            ("organization_id", organization),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn break_glass_users_sign_in_with_a_password_only_through_the_bypass_url() {
    let sp = start_sp().await;
    let (acme, _) = organization(&sp, "Acme").await;
    connect(&sp, &acme, "acme-sso", "saml", "acme.test").await;
    let break_glass = format!("/organizations/{acme}/break-glass");
    let added = admin(
        &sp,
        Method::POST,
        &break_glass,
        Some(json!({ "username": "Ops@Acme.test", "password": "correct horse" })),
        201,
    )
    .await;
    assert_eq!(
        added,
        json!({ "username": "ops@acme.test", "organization_id": acme })
    );
    let listed = admin(&sp, Method::GET, &break_glass, None, 200).await;
    assert_eq!(listed["users"].as_array().unwrap().len(), 1);
    assert_eq!(listed["users"][0]["username"], "ops@acme.test");
    assert!(!listed.to_string().contains("argon2"), "{listed}");
    let body = admin(
        &sp,
        Method::POST,
        &break_glass,
        Some(json!({ "username": "x", "password": "" })),
        400,
    )
    .await;
    assert_error(&body, "invalid_request", "password must be");
    admin(
        &sp,
        Method::POST,
        "/organizations/nope/break-glass",
        Some(json!({ "username": "x", "password": "y" })),
        404,
    )
    .await;

    // Without the bypass, /login goes to SSO.
    let to_sso = get(&sp, &format!("/login?organization_id={acme}")).await;
    assert_eq!(location(&to_sso).path(), "/sso/saml/acme-sso/login");
    let to_sso = get(&sp, "/login?email=ops@acme.test").await;
    let target = location(&to_sso);
    assert_eq!(target.path(), "/sso/saml/acme-sso/login");
    assert_eq!(
        query_value(&target, "login_hint").as_deref(),
        Some("ops@acme.test")
    );
    // With it, the form; the organization also follows from the email's domain.
    for query in [
        format!("organization_id={acme}"),
        "email=ops@acme.test".to_owned(),
    ] {
        let page = get(&sp, &format!("/login?noLoginRedirect&{query}")).await;
        assert_eq!(page.status(), StatusCode::OK, "{query}");
        // The password form cannot be framed by another site.
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        assert_eq!(
            page.headers()["content-security-policy"],
            "frame-ancestors 'none'"
        );
        let html = page.text().await.unwrap();
        assert!(html.contains("action=\"/login?noLoginRedirect\""), "{html}");
        assert!(
            html.contains(&format!("name=\"organization_id\" value=\"{acme}\"")),
            "{html}"
        );
        assert!(html.contains("type=\"password\""), "{html}");
    }
    let unknown = get(&sp, "/login?noLoginRedirect&organization_id=nope").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // The right password, through the bypass: a password session.
    let signed_in = password_login(&sp, &acme, "OPS@acme.test", "correct horse", true).await;
    assert_eq!(location(&signed_in).path(), "/whoami");
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let whoami = browser()
        .get(format!("{}/whoami", sp.origin()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::OK);
    let session: Value = whoami.json().await.unwrap();
    assert_eq!(session["protocol"], "password");
    assert_eq!(session["subject"], "ops@acme.test");
    assert_eq!(session["organization"], acme.as_str());
    assert_eq!(session["scim_user"], Value::Null);

    // A wrong password: refused, without saying which part was wrong.
    let wrong = password_login(&sp, &acme, "ops@acme.test", "wrong horse", true).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());
    let text = wrong.text().await.unwrap();
    assert!(
        text.contains("The username or password is not right."),
        "{text}"
    );
    // Someone not listed signs in with SSO, whatever the password.
    let other = password_login(&sp, &acme, "jdoe@acme.test", "correct horse", true).await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    assert!(other.headers().get("set-cookie").is_none());
    let text = other.text().await.unwrap();
    assert!(text.contains("This account signs in with SSO"), "{text}");
    // Without the bypass, even a break-glass user with the right password is sent to SSO.
    let no_bypass = password_login(&sp, &acme, "ops@acme.test", "correct horse", false).await;
    assert!(no_bypass.headers().get("set-cookie").is_none());
    let target = location(&no_bypass);
    assert_eq!(target.path(), "/sso/saml/acme-sso/login");
    assert_eq!(
        query_value(&target, "login_hint").as_deref(),
        Some("ops@acme.test")
    );
    // Another organization's break-glass user is not listed here.
    let (globex, _) = organization(&sp, "Globex").await;
    admin(
        &sp,
        Method::POST,
        &format!("/organizations/{globex}/break-glass"),
        Some(json!({ "username": "root", "password": "globex pass" })),
        201,
    )
    .await;
    assert_eq!(
        password_login(&sp, &acme, "root", "globex pass", true)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Taken off the list, the user is like any other.
    admin(
        &sp,
        Method::DELETE,
        &format!("{break_glass}/ops@acme.test"),
        None,
        204,
    )
    .await;
    admin(
        &sp,
        Method::DELETE,
        &format!("{break_glass}/ops@acme.test"),
        None,
        404,
    )
    .await;
    let removed = password_login(&sp, &acme, "ops@acme.test", "correct horse", true).await;
    assert_eq!(removed.status(), StatusCode::FORBIDDEN);
    sp.shutdown().await;
}

#[tokio::test]
async fn webhook_endpoints_are_managed_through_the_admin_api() {
    let sp = start_sp().await;
    let (acme, _) = organization(&sp, "Acme").await;
    let (other, _) = organization(&sp, "Other").await;
    let path = format!("/organizations/{acme}/webhooks");
    let added = admin(
        &sp,
        Method::POST,
        &path,
        Some(json!({ "url": "http://127.0.0.1:9/hooks", "events": ["organization.directory.user_created"] })),
        201,
    )
    .await;
    assert!(
        added["secret"].as_str().unwrap().starts_with("whsec_"),
        "{added:#}"
    );
    let id = added["id"].as_str().unwrap().to_owned();
    let listed = admin(&sp, Method::GET, &path, None, 200).await;
    assert_eq!(listed["webhooks"][0]["id"], id.as_str());
    assert_eq!(listed["webhooks"][0]["url"], "http://127.0.0.1:9/hooks");
    assert!(
        listed["webhooks"][0].get("secret").is_none(),
        "secrets are shown once"
    );
    let refused = admin(
        &sp,
        Method::POST,
        &path,
        Some(json!({ "url": "http://127.0.0.1:9/hooks", "events": ["user_exploded"] })),
        400,
    )
    .await;
    assert_error(&refused, "invalid_request", "user_exploded");
    let foreign = admin(
        &sp,
        Method::DELETE,
        &format!("/organizations/{other}/webhooks/{id}"),
        None,
        404,
    )
    .await;
    assert_error(&foreign, "not_found", &id);
    admin(&sp, Method::DELETE, &format!("{path}/{id}"), None, 204).await;
    let listed = admin(&sp, Method::GET, &path, None, 200).await;
    assert_eq!(listed["webhooks"], json!([]));
    sp.shutdown().await;
}

#[tokio::test]
async fn requests_the_framework_cannot_read_get_the_admin_json_error_too() {
    let sp = start_sp().await;
    let (acme, _) = organization(&sp, "Acme").await;
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.bearer_auth(ADMIN_KEY).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        (status, body)
    };
    let url = |path: &str| format!("{}/admin/v1{path}", sp.origin());
    let too_large = send(
        browser()
            .post(url("/organizations"))
            .header("content-type", "application/json")
            .body(format!(r#"{{"name":"{}"}}"#, "x".repeat(3 * 1024 * 1024))),
    )
    .await;
    assert_eq!(too_large.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.1["error"], "request_too_large");
    let repeated = send(browser().get(url(&format!(
        "/organizations/{acme}/directory/users?page_size=5&page_size=6"
    ))))
    .await;
    assert_eq!(repeated.0, StatusCode::BAD_REQUEST);
    assert_error(&repeated.1, "invalid_request", "page_size");
    let not_utf8 = send(browser().get(url("/organizations/%FF%FE"))).await;
    assert_eq!(not_utf8.0, StatusCode::BAD_REQUEST);
    assert_eq!(not_utf8.1["error"], "invalid_request");
    let control = send(
        browser()
            .post(url("/organizations"))
            .json(&json!({"name": "a\u{0}b"})),
    )
    .await;
    assert_eq!(control.0, StatusCode::BAD_REQUEST);
    assert_error(&control.1, "invalid_request", "control character");
    let trailing_slash = send(browser().get(url("/"))).await;
    assert_eq!(trailing_slash.0, StatusCode::NOT_FOUND);
    assert_eq!(trailing_slash.1["error"], "not_found");
    sp.shutdown().await;
}
