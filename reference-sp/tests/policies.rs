//! The reference SP's account policies, in-process on 127.0.0.1:0 with SAML responses a test
//! IdP signs here: the matching report (seed 002), just-in-time provisioning (seeds 000, 001),
//! teams linked to IdP groups (seed 000), what a connection does with IdP-initiated responses
//! (seeds 001, 004), and deactivation in place of deletion keeping memberships (seeds 001, 003).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod saml_support;

use saml_support::{
    IdpKey, accepted, assert_refused, browser, generate_key, location, post, start_sp, whoami,
};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use idpsim_reference_sp::{
    DeletionPolicy, IdpInitiatedPolicy, MatchingStrategy, RunningSp, SamlConnection, SpError, Team,
};
use reqwest::{Method, StatusCode};
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{Crypto, CryptoProvider};
use samael::schema::{
    Assertion, AttributeStatement, AudienceRestriction, AuthnContext, AuthnContextClassRef,
    AuthnRequest, AuthnStatement, Conditions, Issuer, Response, Status, StatusCode as SamlStatus,
    Subject, SubjectConfirmation, SubjectConfirmationData, SubjectNameID,
};
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::LazyLock;

const IDP_ENTITY_ID: &str = "https://idp.test/saml/metadata";
const IDP_SSO_URL: &str = "https://idp.test/sso";
const EMAIL_ATTRIBUTE: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
const GIVEN_NAME_ATTRIBUTE: &str =
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname";
const SURNAME_ATTRIBUTE: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname";
/// JumpCloud's group attribute as seed 000 names it.
const GROUP_ATTRIBUTE: &str = "memberOf";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The test IdP's signing key.
static KEY: LazyLock<IdpKey> = LazyLock::new(generate_key);

/// A SAML connection whose `email` claim is Entra's email attribute and whose `groups` claim
/// is `memberOf`.
fn connection(
    id: &str,
    organization: Option<&str>,
    matching: MatchingStrategy,
    idp_initiated: IdpInitiatedPolicy,
) -> SamlConnection {
    SamlConnection {
        id: id.to_owned(),
        idp_entity_id: IDP_ENTITY_ID.to_owned(),
        idp_sso_url: IDP_SSO_URL.to_owned(),
        idp_certificates: vec![KEY.cert_pem.clone()],
        organization: organization.map(str::to_owned),
        matching,
        claim_attributes: BTreeMap::from([
            ("email".to_owned(), EMAIL_ATTRIBUTE.to_owned()),
            ("groups".to_owned(), GROUP_ATTRIBUTE.to_owned()),
        ]),
        idp_initiated,
        idp_slo_url: None,
    }
}

/// Adds `connection` to the SP.
async fn add(sp: &RunningSp, connection: SamlConnection) {
    sp.add_saml_connection(connection).await.unwrap();
}

/// The query parameter `name` of `url`.
fn parameter(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A sign-in the SP started: its AuthnRequest, its RelayState, the IdP URL.
struct Started {
    request: AuthnRequest,
    relay_state: String,
    url: reqwest::Url,
}

/// Follows `login` (an SP login URL) to the IdP.
async fn begin_at(login: &str) -> Started {
    let url = reqwest::Url::parse(&location(&browser().get(login).send().await.unwrap())).unwrap();
    let encoded = parameter(&url, "SAMLRequest").unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(STANDARD.decode(encoded).unwrap().as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    Started {
        request: xml.parse().unwrap(),
        relay_state: parameter(&url, "RelayState").unwrap(),
        url,
    }
}

/// Who the test IdP says signed in.
#[derive(Clone)]
struct Person {
    name_id: String,
    email: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    groups: Vec<String>,
}

fn person(name_id: &str, email: &str) -> Person {
    Person {
        name_id: name_id.to_owned(),
        email: Some(email.to_owned()),
        given_name: None,
        surname: None,
        groups: Vec::new(),
    }
}

fn text_attribute(name: &str, values: &[String]) -> Attribute {
    Attribute {
        friendly_name: None,
        name: Some(name.to_owned()),
        name_format: None,
        values: values
            .iter()
            .map(|value| AttributeValue {
                attribute_type: Some("xs:string".to_owned()),
                value: Some(value.clone()),
            })
            .collect(),
    }
}

/// The Response the IdP posts for `person` to `connection`, answering `in_response_to` (an
/// IdP-initiated one when `None`), signed over the assertion.
fn signed_response(
    sp: &RunningSp,
    connection: &str,
    person: &Person,
    in_response_to: Option<&str>,
) -> String {
    let now = Utc::now();
    let issuer = || Issuer {
        value: Some(IDP_ENTITY_ID.to_owned()),
        ..Issuer::default()
    };
    let mut attributes = Vec::new();
    for (name, value) in [
        (EMAIL_ATTRIBUTE, &person.email),
        (GIVEN_NAME_ATTRIBUTE, &person.given_name),
        (SURNAME_ATTRIBUTE, &person.surname),
    ] {
        if let Some(value) = value {
            attributes.push(text_attribute(name, std::slice::from_ref(value)));
        }
    }
    if !person.groups.is_empty() {
        attributes.push(text_attribute(GROUP_ATTRIBUTE, &person.groups));
    }
    let mut assertion = Assertion {
        id: samael::crypto::gen_saml_assertion_id(),
        issue_instant: now,
        version: "2.0".to_owned(),
        issuer: issuer(),
        signature: None,
        subject: Some(Subject {
            name_id: Some(SubjectNameID {
                format: Some(PERSISTENT.to_owned()),
                value: person.name_id.clone(),
            }),
            subject_confirmations: Some(vec![SubjectConfirmation {
                method: Some("urn:oasis:names:tc:SAML:2.0:cm:bearer".to_owned()),
                name_id: None,
                subject_confirmation_data: Some(SubjectConfirmationData {
                    not_before: None,
                    not_on_or_after: Some(now + Duration::minutes(5)),
                    recipient: Some(sp.saml_acs_url(connection)),
                    in_response_to: in_response_to.map(str::to_owned),
                    address: None,
                    content: None,
                }),
            }]),
        }),
        conditions: Some(Conditions {
            not_before: Some(now - Duration::seconds(5)),
            not_on_or_after: Some(now + Duration::minutes(5)),
            audience_restrictions: Some(vec![AudienceRestriction {
                audience: vec![sp.saml_entity_id(connection)],
            }]),
            one_time_use: None,
            proxy_restriction: None,
        }),
        authn_statements: Some(vec![AuthnStatement {
            authn_instant: Some(now),
            session_index: Some("_session-1".to_owned()),
            session_not_on_or_after: None,
            subject_locality: None,
            authn_context: Some(AuthnContext {
                value: Some(AuthnContextClassRef {
                    value: Some(
                        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
                            .to_owned(),
                    ),
                }),
            }),
        }]),
        attribute_statements: Some(vec![AttributeStatement { attributes }]),
    };
    let mut signature = Signature::template(&assertion.id, &KEY.cert);
    signature.signed_info.reference[0].digest_method.algorithm = DigestAlgorithm::Sha256;
    assertion.signature = Some(signature);
    let response = Response {
        id: samael::crypto::gen_saml_response_id(),
        in_response_to: in_response_to.map(str::to_owned),
        version: "2.0".to_owned(),
        issue_instant: now,
        destination: Some(sp.saml_acs_url(connection)),
        consent: None,
        issuer: Some(issuer()),
        signature: None,
        status: Some(Status {
            status_code: SamlStatus {
                value: Some(SUCCESS.to_owned()),
            },
            status_message: None,
            status_detail: None,
        }),
        encrypted_assertion: None,
        assertion: Some(assertion),
    };
    Crypto::sign_xml(response.to_string().unwrap(), &KEY.key_der).unwrap()
}

/// `person` signs in at `connection`, SP-initiated; the SP's answer to the IdP's response.
async fn sign_in(sp: &RunningSp, connection: &str, person: &Person) -> reqwest::Response {
    let started = begin_at(&format!("{}/sso/saml/{connection}/login", sp.origin())).await;
    let xml = signed_response(sp, connection, person, Some(&started.request.id));
    post(sp, connection, &xml, Some(&started.relay_state)).await
}

/// `person` signs in at `connection` and is let in; their session.
async fn signed_in(sp: &RunningSp, connection: &str, person: &Person) -> Value {
    let answer = sign_in(sp, connection, person).await;
    if answer.status() != StatusCode::SEE_OTHER {
        panic!(
            "{} was refused: {}",
            person.name_id,
            answer.text().await.unwrap()
        );
    }
    let (status, session) = whoami(sp, &accepted(&answer)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session
}

/// A SCIM request with `token`; the status and the body (`null` when empty).
async fn scim(
    sp: &RunningSp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sp.base_url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, value)
}

/// Creates an active SCIM user; its id.
async fn create_user(sp: &RunningSp, token: &str, user_name: &str, external_id: &str) -> String {
    let (status, user) = scim(
        sp,
        token,
        Method::POST,
        "/Users",
        Some(json!({
            "schemas": [USER_SCHEMA], "userName": user_name, "externalId": external_id,
            "active": true
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

/// Creates a SCIM group with `members`; its id.
async fn create_group(sp: &RunningSp, token: &str, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    let (status, group) = scim(
        sp,
        token,
        Method::POST,
        "/Groups",
        Some(json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": members})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    group["id"].as_str().unwrap().to_owned()
}

/// Sets `active` of the SCIM user `id` with a PATCH.
async fn set_active(sp: &RunningSp, token: &str, id: &str, active: bool) -> Value {
    let (status, user) = scim(
        sp,
        token,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "path": "active", "value": active}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    user
}

/// The organization's users, by `GET /Users`.
async fn users(sp: &RunningSp, token: &str) -> Vec<Value> {
    let (status, list) = scim(sp, token, Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["Resources"].as_array().cloned().unwrap_or_default()
}

/// `GET` of the matching report at `url` with the admin key.
async fn get_report(sp: &RunningSp, url: &str) -> reqwest::Response {
    browser()
        .get(url)
        .bearer_auth(sp.admin_key())
        .send()
        .await
        .unwrap()
}

async fn report(sp: &RunningSp, connection: &str) -> Value {
    let response = get_report(sp, &sp.matching_report_url(connection)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The subjects of the report's `unmatched` list, with their reasons.
fn unmatched(report: &Value) -> Vec<(String, String)> {
    report["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["subject"].as_str().unwrap().to_owned(),
                entry["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Each strategy's count of matched users.
fn counts(report: &Value) -> BTreeMap<String, u64> {
    report["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|count| {
            (
                count["strategy"].as_str().unwrap().to_owned(),
                count["matched"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn sorted(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.sort();
    pairs
}

fn pair(subject: &str, reason: &str) -> (String, String) {
    (subject.to_owned(), reason.to_owned())
}

#[tokio::test]
async fn the_report_lists_unmatched_logins_and_each_strategys_count() {
    let sp = start_sp().await;
    let acme = sp.create_organization("Acme").await.unwrap();
    add(
        &sp,
        connection(
            "acme",
            Some(&acme.id),
            MatchingStrategy::OidcEmailToScimUsername,
            IdpInitiatedPolicy::Refuse,
        ),
    )
    .await;
    create_user(&sp, &acme.token, "adele.vance@acme.test", "00u1adele").await;
    let jdoe = create_user(&sp, &acme.token, "jdoe", "00u1jdoe").await;
    let adele = person("00u1adele", "adele.vance@acme.test");
    let john = person("00u1jdoe", "jdoe@acme.test");
    let megan = person("00u1megan", "megan.bowen@acme.test");
    signed_in(&sp, "acme", &adele).await;
    for refused in [&john, &megan] {
        assert_refused(
            sign_in(&sp, "acme", refused).await,
            "ScimUserNotActive: no SCIM user matches",
        )
        .await;
    }
    // A later login replaces the subject's claims: the report keeps the latest.
    signed_in(&sp, "acme", &adele).await;
    let first = report(&sp, "acme").await;
    assert_eq!(first["connection"], "acme");
    assert_eq!(first["protocol"], "saml");
    assert_eq!(first["organization"], acme.id.as_str());
    assert_eq!(first["strategy"], "OidcEmailToScimUsername");
    assert_eq!(first["seen"], 3);
    assert_eq!(
        sorted(unmatched(&first)),
        [pair("00u1jdoe", "no_user"), pair("00u1megan", "no_user")]
    );
    let megan_entry = first["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["subject"] == "00u1megan")
        .unwrap();
    assert_eq!(megan_entry["claims"]["email"], "megan.bowen@acme.test");
    assert_eq!(megan_entry["claims"]["sub"], "00u1megan");
    assert_eq!(megan_entry["claims"]["preferred_username"], Value::Null);
    assert!(
        megan_entry["detail"]
            .as_str()
            .unwrap()
            .contains("megan.bowen@acme.test"),
        "{megan_entry}"
    );
    let expected = BTreeMap::from([
        ("OidcSubToScimUsername".to_owned(), 0),
        ("OidcSubToScimExternalId".to_owned(), 2),
        ("OidcEmailToScimUsername".to_owned(), 1),
        ("OidcEmailUsernameToScimUsername".to_owned(), 1),
        ("OidcPreferredUsernameToScimUsername".to_owned(), 0),
        ("OidcOidToScimExternalId".to_owned(), 0),
    ]);
    assert_eq!(counts(&first), expected);
    let preferred = first["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|count| count["strategy"] == "OidcPreferredUsernameToScimUsername")
        .unwrap();
    assert_eq!(preferred["unmatched"][0]["reason"], "no_claim");
    assert_eq!(preferred["current"], false);

    // Toggling the strategy: under OidcSubToScimExternalId only Megan is left.
    add(
        &sp,
        connection(
            "acme",
            Some(&acme.id),
            MatchingStrategy::OidcSubToScimExternalId,
            IdpInitiatedPolicy::Refuse,
        ),
    )
    .await;
    let toggled = report(&sp, "acme").await;
    assert_eq!(toggled["strategy"], "OidcSubToScimExternalId");
    assert_eq!(unmatched(&toggled), [pair("00u1megan", "no_user")]);
    let current: Vec<&Value> = toggled["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|count| count["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["strategy"], "OidcSubToScimExternalId");
    signed_in(&sp, "acme", &john).await;

    // The counts follow the directory: Megan provisioned, John deactivated.
    create_user(&sp, &acme.token, "megan.bowen@acme.test", "00u1megan").await;
    set_active(&sp, &acme.token, &jdoe, false).await;
    let later = report(&sp, "acme").await;
    assert_eq!(unmatched(&later), [pair("00u1jdoe", "inactive_user")]);
    let counted = counts(&later);
    assert_eq!(counted["OidcSubToScimExternalId"], 2);
    assert_eq!(counted["OidcEmailToScimUsername"], 2);
    assert_eq!(counted["OidcEmailUsernameToScimUsername"], 2);

    let page = get_report(&sp, &format!("{}.html", sp.matching_report_url("acme"))).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let page = page.text().await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("00u1jdoe"), "{page}");
    assert!(page.contains("inactive user"), "{page}");
    assert!(
        page.contains("OidcSubToScimExternalId</code> (current)"),
        "{page}"
    );
    assert!(!page.contains("<script"), "{page}");

    let unknown = get_report(&sp, &sp.matching_report_url("nope")).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // The report is the admin's: without the admin key, or with a SCIM token, 401.
    for token in [None, Some(acme.token.as_str())] {
        let mut request = browser().get(sp.matching_report_url("acme"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
    }
    sp.shutdown().await;
}

#[tokio::test]
async fn jit_creates_then_updates_the_user_and_stays_off_with_a_scim_connection() {
    let sp = start_sp().await;
    let acme = sp.create_organization("Acme").await.unwrap();
    assert!(!sp.jit(&acme.id).await.unwrap(), "JIT is off by default");
    add(
        &sp,
        connection(
            "acme",
            Some(&acme.id),
            MatchingStrategy::OidcEmailToScimUsername,
            IdpInitiatedPolicy::Refuse,
        ),
    )
    .await;
    let mut adele = person("00u1adele", "adele.vance@acme.test");
    adele.given_name = Some("Adele".into());
    adele.surname = Some("Vance".into());
    // Off: a user missing from the directory is refused, as without JIT.
    assert_refused(sign_in(&sp, "acme", &adele).await, "ScimUserNotActive").await;
    assert!(users(&sp, &acme.token).await.is_empty());

    sp.set_jit(&acme.id, true).await.unwrap();
    assert!(sp.jit(&acme.id).await.unwrap());
    let session = signed_in(&sp, "acme", &adele).await;
    assert_eq!(session["scim_user"]["user_name"], "adele.vance@acme.test");
    assert_eq!(session["scim_user"]["active"], true);
    let created = users(&sp, &acme.token).await;
    let [user] = created.as_slice() else {
        panic!("one user expected: {created:?}");
    };
    assert_eq!(session["scim_user"]["id"], user["id"]);
    assert_eq!(user["userName"], "adele.vance@acme.test");
    assert_eq!(user["externalId"], "00u1adele");
    assert_eq!(user["active"], true);
    assert_eq!(user["displayName"], "Adele Vance");
    assert_eq!(user["name"]["givenName"], "Adele");
    assert_eq!(user["name"]["familyName"], "Vance");
    assert_eq!(user["emails"][0]["value"], "adele.vance@acme.test");

    // A later sign-in updates the same user from the login.
    adele.surname = Some("Vance-Bowen".into());
    adele.email = Some("adele.vb@acme.test".into());
    let session = signed_in(&sp, "acme", &adele).await;
    let updated = users(&sp, &acme.token).await;
    let [again] = updated.as_slice() else {
        panic!("still one user expected: {updated:?}");
    };
    assert_eq!(again["id"], user["id"]);
    assert_eq!(session["scim_user"]["id"], user["id"]);
    assert_eq!(again["userName"], "adele.vb@acme.test");
    assert_eq!(again["name"]["familyName"], "Vance-Bowen");
    assert_eq!(again["displayName"], "Adele Vance-Bowen");
    assert_eq!(again["emails"][0]["value"], "adele.vb@acme.test");
    assert_eq!(again["externalId"], "00u1adele");

    // A provisioned user deactivated later is not reactivated by signing in.
    let id = user["id"].as_str().unwrap();
    set_active(&sp, &acme.token, id, false).await;
    assert_refused(
        sign_in(&sp, "acme", &adele).await,
        "ScimUserNotActive: the SCIM user adele.vb@acme.test",
    )
    .await;
    set_active(&sp, &acme.token, id, true).await;
    signed_in(&sp, "acme", &adele).await;

    // With a SCIM connection (a SCIM client provisioned a user), JIT stays off.
    let globex = sp.create_organization("Globex").await.unwrap();
    sp.set_jit(&globex.id, true).await.unwrap();
    add(
        &sp,
        connection(
            "globex",
            Some(&globex.id),
            MatchingStrategy::OidcEmailToScimUsername,
            IdpInitiatedPolicy::Refuse,
        ),
    )
    .await;
    create_user(&sp, &globex.token, "lee.gu@globex.test", "00u1lee").await;
    assert_refused(
        sign_in(
            &sp,
            "globex",
            &person("00u1megan", "megan.bowen@globex.test"),
        )
        .await,
        "ScimUserNotActive: no SCIM user matches",
    )
    .await;
    let directory = users(&sp, &globex.token).await;
    assert_eq!(directory.len(), 1, "{directory:?}");
    let session = signed_in(&sp, "globex", &person("00u1lee", "lee.gu@globex.test")).await;
    assert_eq!(session["scim_user"]["user_name"], "lee.gu@globex.test");

    assert!(matches!(
        sp.set_jit("no-such-organization", true).await,
        Err(SpError::UnknownOrganization(_))
    ));
    sp.shutdown().await;
}

#[tokio::test]
async fn teams_admit_users_through_a_scim_group_or_the_logins_group_attribute() {
    let sp = start_sp().await;
    let acme = sp.create_organization("Acme").await.unwrap();
    add(
        &sp,
        connection(
            "acme",
            Some(&acme.id),
            MatchingStrategy::OidcEmailToScimUsername,
            IdpInitiatedPolicy::Refuse,
        ),
    )
    .await;
    let adele = create_user(&sp, &acme.token, "adele@acme.test", "a").await;
    create_user(&sp, &acme.token, "megan@acme.test", "m").await;
    create_user(&sp, &acme.token, "lee@acme.test", "l").await;
    create_group(&sp, &acme.token, "eng", &[&adele]).await;
    // No teams yet: everyone who matches signs in, in no team.
    let session = signed_in(&sp, "acme", &person("m", "megan@acme.test")).await;
    assert_eq!(session["teams"], json!([]));

    let engineering = sp.add_team(&acme.id, "Engineering", "eng").await.unwrap();
    assert_eq!(
        engineering,
        Team {
            name: "Engineering".into(),
            idp_group: "eng".into()
        }
    );
    sp.add_team(&acme.id, "Sales", "sales-emea").await.unwrap();
    assert_eq!(
        sp.teams(&acme.id).await.unwrap(),
        [
            engineering.clone(),
            Team {
                name: "Sales".into(),
                idp_group: "sales-emea".into()
            }
        ]
    );

    // Through the SCIM group `eng`.
    let session = signed_in(&sp, "acme", &person("a", "adele@acme.test")).await;
    assert_eq!(session["teams"], json!(["Engineering"]));
    // Through the login's `memberOf` attribute (every value is read).
    let mut lee = person("l", "lee@acme.test");
    lee.groups = vec!["all-staff".into(), "sales-emea".into()];
    let session = signed_in(&sp, "acme", &lee).await;
    assert_eq!(session["teams"], json!(["Sales"]));
    assert_eq!(
        session["claims"]["groups"],
        json!(["all-staff", "sales-emea"])
    );
    // In no linked group, or in one whose name differs only in case: refused.
    let mut megan = person("m", "megan@acme.test");
    assert_refused(
        sign_in(&sp, "acme", &megan).await,
        "NotInAnyTeam: megan@acme.test",
    )
    .await;
    megan.groups = vec!["ENG".into(), "Sales-EMEA".into()];
    assert_refused(sign_in(&sp, "acme", &megan).await, "NotInAnyTeam").await;
    megan.groups = vec!["eng".into()];
    let session = signed_in(&sp, "acme", &megan).await;
    assert_eq!(session["teams"], json!(["Engineering"]));

    // Relinking and removing teams.
    sp.add_team(&acme.id, "Sales", "sales-amer").await.unwrap();
    assert_refused(sign_in(&sp, "acme", &lee).await, "NotInAnyTeam").await;
    assert!(sp.remove_team(&acme.id, "Sales").await.unwrap());
    assert!(!sp.remove_team(&acme.id, "Sales").await.unwrap());
    assert_eq!(sp.teams(&acme.id).await.unwrap(), [engineering]);
    assert!(sp.remove_team(&acme.id, "Engineering").await.unwrap());
    signed_in(&sp, "acme", &lee).await;

    assert!(matches!(
        sp.add_team(&acme.id, " ", "eng").await,
        Err(SpError::InvalidTeam(_))
    ));
    assert!(matches!(
        sp.add_team(&acme.id, "Ops", "").await,
        Err(SpError::InvalidTeam(_))
    ));
    assert!(matches!(
        sp.teams("no-such-organization").await,
        Err(SpError::UnknownOrganization(_))
    ));
    sp.shutdown().await;
}

#[tokio::test]
async fn idp_initiated_responses_are_accepted_refused_or_restarted_as_sp_initiated() {
    let sp = start_sp().await;
    for (id, policy) in [
        ("open", IdpInitiatedPolicy::Accept),
        ("closed", IdpInitiatedPolicy::Refuse),
        ("restart", IdpInitiatedPolicy::StartSpInitiated),
    ] {
        add(
            &sp,
            connection(id, None, MatchingStrategy::OidcEmailToScimUsername, policy),
        )
        .await;
    }
    let adele = person("00u1adele", "adele@acme.test");

    let answer = post(
        &sp,
        "open",
        &signed_response(&sp, "open", &adele, None),
        None,
    )
    .await;
    let (status, session) = whoami(&sp, &accepted(&answer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["connection"], "open");

    let answer = post(
        &sp,
        "closed",
        &signed_response(&sp, "closed", &adele, None),
        None,
    )
    .await;
    assert_refused(answer, "unsolicited response").await;

    // StartSpInitiated: no session from the unsolicited response, a 303 to the SP's login.
    let answer = post(
        &sp,
        "restart",
        &signed_response(&sp, "restart", &adele, None),
        Some("https://app.test/deep/link"),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(answer.headers().get("set-cookie").is_none());
    let login = reqwest::Url::parse(&location(&answer)).unwrap();
    assert_eq!(
        format!("{}{}", sp.origin(), login.path()),
        format!("{}/sso/saml/restart/login", sp.origin())
    );
    assert_eq!(
        parameter(&login, "login_hint").as_deref(),
        Some("00u1adele")
    );
    // The login it names sends a fresh AuthnRequest with the hint, whose answer signs in.
    let started = begin_at(login.as_str()).await;
    assert_eq!(
        parameter(&started.url, "login_hint").as_deref(),
        Some("00u1adele")
    );
    let xml = signed_response(&sp, "restart", &adele, Some(&started.request.id));
    let answer = post(&sp, "restart", &xml, Some(&started.relay_state)).await;
    let (status, session) = whoami(&sp, &accepted(&answer)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["connection"], "restart");
    assert_eq!(session["subject"], "00u1adele");

    // The unsolicited response is checked before anything is restarted.
    let tampered = signed_response(&sp, "restart", &adele, None)
        .replace("adele@acme.test", "mallory@acme.test");
    assert_refused(post(&sp, "restart", &tampered, None).await, "bad signature").await;
    sp.shutdown().await;
}

#[tokio::test]
async fn under_the_deactivate_policy_delete_keeps_memberships_and_reactivation_restores_them() {
    let sp = start_sp().await;
    let acme = sp.create_organization("Acme").await.unwrap();
    sp.set_deletion_policy(&acme.id, DeletionPolicy::Deactivate)
        .await
        .unwrap();
    add(
        &sp,
        connection(
            "acme",
            Some(&acme.id),
            MatchingStrategy::OidcEmailToScimUsername,
            IdpInitiatedPolicy::Refuse,
        ),
    )
    .await;
    sp.add_team(&acme.id, "Engineering", "eng").await.unwrap();
    let adele_id = create_user(&sp, &acme.token, "adele@acme.test", "a").await;
    let eng = create_group(&sp, &acme.token, "eng", &[&adele_id]).await;
    let adele = person("a", "adele@acme.test");
    let answer = sign_in(&sp, "acme", &adele).await;
    let cookie = accepted(&answer);
    let (status, session) = whoami(&sp, &cookie).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["teams"], json!(["Engineering"]));

    let (status, _) = scim(
        &sp,
        &acme.token,
        Method::DELETE,
        &format!("/Users/{adele_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Deactivated, not deleted: the session ends, the user and the membership stay.
    let (status, ended) = whoami(&sp, &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(ended["error"], "ScimUserNotActive");
    let (status, kept) = scim(
        &sp,
        &acme.token,
        Method::GET,
        &format!("/Users/{adele_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["active"], false);
    assert_eq!(kept["groups"][0]["value"], eng.as_str());
    let (_, group) = scim(
        &sp,
        &acme.token,
        Method::GET,
        &format!("/Groups/{eng}"),
        None,
    )
    .await;
    assert_eq!(group["members"][0]["value"], adele_id.as_str());
    assert_refused(
        sign_in(&sp, "acme", &adele).await,
        "ScimUserNotActive: the SCIM user adele@acme.test",
    )
    .await;

    // Reactivation: the same user, with its groups, signs in again in its team.
    let reactivated = set_active(&sp, &acme.token, &adele_id, true).await;
    assert_eq!(reactivated["id"], adele_id.as_str());
    assert_eq!(reactivated["active"], true);
    assert_eq!(reactivated["groups"][0]["value"], eng.as_str());
    assert_eq!(reactivated["groups"][0]["display"], "eng");
    let session = signed_in(&sp, "acme", &adele).await;
    assert_eq!(session["scim_user"]["id"], adele_id.as_str());
    assert_eq!(session["teams"], json!(["Engineering"]));
    sp.shutdown().await;
}

/// An admin API request with the admin key; the status and the body (`null` when empty).
async fn admin(
    sp: &RunningSp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}/admin/v1{path}", sp.origin()))
        .bearer_auth(sp.admin_key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, value)
}

#[tokio::test]
async fn the_admin_api_sets_jit_and_manages_teams() {
    let sp = start_sp().await;
    let acme = sp.create_organization("Acme").await.unwrap();
    let organization = format!("/organizations/{}", acme.id);
    let (status, shown) = admin(&sp, Method::GET, &organization, None).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["jit"], false);
    let (status, patched) = admin(
        &sp,
        Method::PATCH,
        &organization,
        Some(json!({"jit": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["jit"], true);
    assert!(sp.jit(&acme.id).await.unwrap());
    let (status, refused) = admin(
        &sp,
        Method::PATCH,
        &organization,
        Some(json!({"jit": "yes"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

    let teams = format!("{organization}/teams");
    let (status, team) = admin(
        &sp,
        Method::POST,
        &teams,
        Some(json!({"name": "Engineering", "idp_group": "eng"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    assert_eq!(
        team,
        json!({"name": "Engineering", "idp_group": "eng", "organization_id": acme.id})
    );
    let (status, relinked) = admin(
        &sp,
        Method::POST,
        &teams,
        Some(json!({"name": "Engineering", "idp_group": "engineering"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{relinked}");
    let (status, listed) = admin(&sp, Method::GET, &teams, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed,
        json!({"teams": [{"name": "Engineering", "idp_group": "engineering"}]})
    );
    assert_eq!(
        sp.teams(&acme.id).await.unwrap(),
        [Team {
            name: "Engineering".into(),
            idp_group: "engineering".into()
        }]
    );
    let (status, invalid) = admin(
        &sp,
        Method::POST,
        &teams,
        Some(json!({"name": "Ops", "idp_group": " "})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{invalid}");
    assert_eq!(invalid["error"], "invalid_request");
    let (status, _) = admin(&sp, Method::DELETE, &format!("{teams}/Engineering"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, missing) = admin(&sp, Method::DELETE, &format!("{teams}/Engineering"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    let (status, unknown) = admin(&sp, Method::GET, "/organizations/nope/teams", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
    sp.shutdown().await;
}
