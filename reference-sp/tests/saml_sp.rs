//! Sign-in at the reference SP with SAML 2.0, in-process on 127.0.0.1:0: the SP's metadata and
//! AuthnRequest, responses a test IdP signs here (assertion, response or both), and the
//! refusals of responses a careful SP must not accept, each with its reason; then single
//! logout over the HTTP-Redirect binding, SP- and IdP-initiated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod saml_support;

use saml_support::{
    IdpKey, accepted, assert_refused, browser, generate_key, location, post, start_sp, whoami,
};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use idpsim_reference_sp::{
    IdpInitiatedPolicy, MatchingStrategy, RunningSp, SamlConnection, SamlConnectionError, SpError,
};
use quick_xml::XmlVersion;
use quick_xml::events::Event as XmlEvent;
use reqwest::StatusCode;
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{Crypto, CryptoProvider};
use samael::metadata::{EntityDescriptor, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING};
use samael::schema::{
    Assertion, AttributeStatement, AudienceRestriction, AuthnContext, AuthnContextClassRef,
    AuthnRequest, AuthnStatement, Conditions, Issuer, LogoutRequest, LogoutResponse, Response,
    Status, StatusCode as SamlStatus, StatusMessage, Subject, SubjectConfirmation,
    SubjectConfirmationData, SubjectNameID,
};
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::sync::{Arc, LazyLock};

const IDP_ENTITY_ID: &str = "https://idp.test/saml/metadata";
const IDP_SSO_URL: &str = "https://idp.test/sso?tenant=acme";
const IDP_SLO_URL: &str = "https://idp.test/slo?tenant=acme";
const EMAIL_ATTRIBUTE: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
const NAME_ID: &str = "00u1adele";
const EMAIL: &str = "adele.vance@acme.test";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

static KEY: LazyLock<IdpKey> = LazyLock::new(generate_key);
static OTHER_KEY: LazyLock<IdpKey> = LazyLock::new(generate_key);

fn connection(id: &str, organization: Option<String>, idp_initiated: bool) -> SamlConnection {
    SamlConnection {
        id: id.to_owned(),
        idp_entity_id: IDP_ENTITY_ID.to_owned(),
        idp_sso_url: IDP_SSO_URL.to_owned(),
        idp_certificates: vec![KEY.cert_pem.clone()],
        organization,
        matching: MatchingStrategy::OidcEmailToScimUsername,
        claim_attributes: BTreeMap::from([("email".to_owned(), EMAIL_ATTRIBUTE.to_owned())]),
        idp_initiated: if idp_initiated {
            IdpInitiatedPolicy::Accept
        } else {
            IdpInitiatedPolicy::Refuse
        },
        idp_slo_url: Some(IDP_SLO_URL.to_owned()),
    }
}

/// An SP with the connection `acme` (SP-initiated only).
async fn sp_with_connection() -> RunningSp {
    let sp = start_sp().await;
    sp.add_saml_connection(connection("acme", None, false))
        .await
        .unwrap();
    sp
}

/// A started SP-initiated sign-in: the AuthnRequest the SP sent and its RelayState.
struct Started {
    request: AuthnRequest,
    relay_state: String,
    url: reqwest::Url,
}

async fn begin(sp: &RunningSp, connection: &str, login_hint: Option<&str>) -> Started {
    let mut login = browser().get(format!("{}/sso/saml/{connection}/login", sp.origin()));
    if let Some(hint) = login_hint {
        login = login.query(&[("login_hint", hint)]);
    }
    let url = reqwest::Url::parse(&location(&login.send().await.unwrap())).unwrap();
    Started {
        request: inflate(&parameter(&url, "SAMLRequest")).parse().unwrap(),
        relay_state: parameter(&url, "RelayState"),
        url,
    }
}

/// The query parameter `name` of `url`.
fn parameter(url: &reqwest::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// The XML an HTTP-Redirect parameter carries (base64 of raw DEFLATE).
fn inflate(encoded: &str) -> String {
    let deflated = STANDARD.decode(encoded).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// `xml` as an HTTP-Redirect parameter carries it, before URL encoding.
fn deflate(xml: &str) -> String {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(xml.as_bytes()).unwrap();
    STANDARD.encode(encoder.finish().unwrap())
}

/// What the test IdP asserts; `valid` gives a response the SP accepts.
#[derive(Clone)]
struct Asserted {
    in_response_to: Option<String>,
    destination: Option<String>,
    issuer: String,
    audience: String,
    recipient: String,
    name_id: String,
    email: String,
    not_before: DateTime<Utc>,
    not_on_or_after: DateTime<Utc>,
    confirmation_not_on_or_after: DateTime<Utc>,
    session_index: Option<String>,
    session_not_on_or_after: Option<DateTime<Utc>>,
}

impl Asserted {
    fn valid(sp: &RunningSp, connection: &str, in_response_to: Option<&str>) -> Asserted {
        let now = Utc::now();
        Asserted {
            in_response_to: in_response_to.map(str::to_owned),
            destination: Some(sp.saml_acs_url(connection)),
            issuer: IDP_ENTITY_ID.to_owned(),
            audience: sp.saml_entity_id(connection),
            recipient: sp.saml_acs_url(connection),
            name_id: NAME_ID.to_owned(),
            email: EMAIL.to_owned(),
            not_before: now - Duration::seconds(5),
            not_on_or_after: now + Duration::minutes(5),
            confirmation_not_on_or_after: now + Duration::minutes(5),
            session_index: Some("_session-7".to_owned()),
            session_not_on_or_after: None,
        }
    }
}

fn success() -> Option<Status> {
    Some(Status {
        status_code: SamlStatus {
            value: Some(SUCCESS.to_owned()),
        },
        status_message: None,
        status_detail: None,
    })
}

fn issuer(value: &str) -> Issuer {
    Issuer {
        value: Some(value.to_owned()),
        ..Issuer::default()
    }
}

fn string_value(value: &str) -> AttributeValue {
    AttributeValue {
        attribute_type: Some("xs:string".to_owned()),
        value: Some(value.to_owned()),
    }
}

fn assertion(asserted: &Asserted) -> Assertion {
    Assertion {
        id: samael::crypto::gen_saml_assertion_id(),
        issue_instant: Utc::now(),
        version: "2.0".to_owned(),
        issuer: issuer(&asserted.issuer),
        signature: None,
        subject: Some(Subject {
            name_id: Some(SubjectNameID {
                format: Some(EMAIL_FORMAT.to_owned()),
                value: asserted.name_id.clone(),
            }),
            subject_confirmations: Some(vec![SubjectConfirmation {
                method: Some("urn:oasis:names:tc:SAML:2.0:cm:bearer".to_owned()),
                name_id: None,
                subject_confirmation_data: Some(SubjectConfirmationData {
                    not_before: None,
                    not_on_or_after: Some(asserted.confirmation_not_on_or_after),
                    recipient: Some(asserted.recipient.clone()),
                    in_response_to: asserted.in_response_to.clone(),
                    address: None,
                    content: None,
                }),
            }]),
        }),
        conditions: Some(Conditions {
            not_before: Some(asserted.not_before),
            not_on_or_after: Some(asserted.not_on_or_after),
            audience_restrictions: Some(vec![AudienceRestriction {
                audience: vec![asserted.audience.clone()],
            }]),
            one_time_use: None,
            proxy_restriction: None,
        }),
        authn_statements: Some(vec![AuthnStatement {
            authn_instant: Some(Utc::now()),
            session_index: asserted.session_index.clone(),
            session_not_on_or_after: asserted.session_not_on_or_after,
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
        attribute_statements: Some(vec![AttributeStatement {
            attributes: vec![
                Attribute {
                    friendly_name: None,
                    name: Some(EMAIL_ATTRIBUTE.to_owned()),
                    name_format: None,
                    values: vec![string_value(&asserted.email)],
                },
                Attribute {
                    friendly_name: None,
                    name: Some("groups".to_owned()),
                    name_format: None,
                    values: vec![string_value("staff"), string_value("admins")],
                },
            ],
        }]),
    }
}

fn response(asserted: &Asserted) -> Response {
    Response {
        id: samael::crypto::gen_saml_response_id(),
        in_response_to: asserted.in_response_to.clone(),
        version: "2.0".to_owned(),
        issue_instant: Utc::now(),
        destination: asserted.destination.clone(),
        consent: None,
        issuer: Some(issuer(&asserted.issuer)),
        signature: None,
        status: success(),
        encrypted_assertion: None,
        assertion: Some(assertion(asserted)),
    }
}

/// What the IdP signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signed {
    Assertion,
    Response,
    Both,
    Nothing,
}

fn template(id: &str, key: &IdpKey) -> Signature {
    let mut signature = Signature::template(id, &key.cert);
    signature.signed_info.reference[0].digest_method.algorithm = DigestAlgorithm::Sha256;
    signature
}

/// The response as the IdP sends it: signed as asked (SHA-256 digests; two passes for both).
fn sign(mut response: Response, signed: Signed, key: &IdpKey) -> String {
    if let (Signed::Assertion | Signed::Both, Some(assertion)) = (signed, &mut response.assertion) {
        assertion.signature = Some(template(&assertion.id, key));
    }
    if signed == Signed::Response {
        response.signature = Some(template(&response.id, key));
    }
    let mut xml = response.to_string().unwrap();
    if signed != Signed::Nothing {
        xml = Crypto::sign_xml(&xml, &key.key_der).unwrap();
    }
    if signed == Signed::Both {
        let at = xml.find("</saml2:Issuer>").unwrap() + "</saml2:Issuer>".len();
        xml.insert_str(at, &template(&response.id, key).to_string().unwrap());
        xml = Crypto::sign_xml(&xml, &key.key_der).unwrap();
    }
    xml
}

/// Starts a sign-in at `acme`, lets `change` alter the IdP's answer, signs it as asked and
/// posts it with the right RelayState.
async fn answer(
    sp: &RunningSp,
    signed: Signed,
    change: impl FnOnce(&mut Asserted),
) -> reqwest::Response {
    let started = begin(sp, "acme", None).await;
    let mut asserted = Asserted::valid(sp, "acme", Some(&started.request.id));
    change(&mut asserted);
    let xml = sign(response(&asserted), signed, &KEY);
    post(sp, "acme", &xml, Some(&started.relay_state)).await
}

/// Like [`answer`], with `alter` changing the Response itself before it is signed.
async fn answer_altered(
    sp: &RunningSp,
    signed: Signed,
    alter: impl FnOnce(&mut Response),
) -> reqwest::Response {
    let started = begin(sp, "acme", None).await;
    let mut response = response(&Asserted::valid(sp, "acme", Some(&started.request.id)));
    alter(&mut response);
    let xml = sign(response, signed, &KEY);
    post(sp, "acme", &xml, Some(&started.relay_state)).await
}

/// The assertion of a Response built here.
fn assertion_of(response: &mut Response) -> &mut Assertion {
    response.assertion.as_mut().unwrap()
}

/// Creates a user in `token`'s organization through the SCIM API.
async fn create_user(sp: &RunningSp, token: &str, user_name: &str, active: bool) {
    let created = reqwest::Client::new()
        .post(format!("{}/Users", sp.base_url()))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": active,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn metadata_describes_the_sp() {
    let sp = sp_with_connection().await;
    let response = browser()
        .get(format!("{}/sso/saml/acme/metadata", sp.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let metadata: EntityDescriptor = response.text().await.unwrap().parse().unwrap();
    assert_eq!(
        metadata.entity_id.as_deref(),
        Some(sp.saml_entity_id("acme").as_str())
    );
    assert_eq!(
        sp.saml_entity_id("acme"),
        format!("{}/sso/saml/acme/metadata", sp.origin())
    );
    let descriptors = metadata.sp_sso_descriptors.unwrap();
    let [descriptor] = descriptors.as_slice() else {
        panic!("one SPSSODescriptor expected: {descriptors:?}");
    };
    assert_eq!(descriptor.authn_requests_signed, Some(false));
    assert_eq!(descriptor.want_assertions_signed, Some(true));
    let [acs] = descriptor.assertion_consumer_services.as_slice() else {
        panic!("one ACS expected");
    };
    assert_eq!(acs.binding, HTTP_POST_BINDING);
    assert_eq!(acs.location, sp.saml_acs_url("acme"));
    assert_eq!(
        sp.saml_acs_url("acme"),
        format!("{}/sso/saml/acme/acs", sp.origin())
    );
    let slo = descriptor.single_logout_services.as_deref().unwrap();
    let [slo] = slo else {
        panic!("one SingleLogoutService expected: {slo:?}");
    };
    assert_eq!(slo.binding, HTTP_REDIRECT_BINDING);
    assert_eq!(slo.location, sp.saml_slo_url("acme"));
    assert_eq!(
        sp.saml_slo_url("acme"),
        format!("{}/sso/saml/acme/slo", sp.origin())
    );
    let unknown = browser()
        .get(format!("{}/sso/saml/nope/metadata", sp.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    sp.shutdown().await;
}

#[tokio::test]
async fn login_sends_an_authn_request_over_the_redirect_binding() {
    let sp = sp_with_connection().await;
    let started = begin(&sp, "acme", Some("adele.vance@acme.test")).await;
    let url = &started.url;
    assert_eq!(
        format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.path()
        ),
        "https://idp.test/sso"
    );
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(
        query.contains(&("tenant".into(), "acme".into())),
        "{query:?}"
    );
    assert!(
        query.contains(&("login_hint".into(), "adele.vance@acme.test".into())),
        "{query:?}"
    );
    let request = &started.request;
    assert!(request.id.starts_with('_'), "{}", request.id);
    assert!(request.id.len() > 20, "{}", request.id);
    assert_eq!(request.version, "2.0");
    assert_eq!(request.destination.as_deref(), Some(IDP_SSO_URL));
    assert_eq!(
        request.issuer_value().as_deref(),
        Some(sp.saml_entity_id("acme").as_str())
    );
    assert_eq!(
        request.assertion_consumer_service_url.as_deref(),
        Some(sp.saml_acs_url("acme").as_str())
    );
    assert_eq!(request.protocol_binding.as_deref(), Some(HTTP_POST_BINDING));
    assert!((Utc::now() - request.issue_instant).num_seconds().abs() < 60);
    assert!(started.relay_state.len() >= 32);
    // Each sign-in gets its own request ID and RelayState.
    let again = begin(&sp, "acme", None).await;
    assert_ne!(again.request.id, request.id);
    assert_ne!(again.relay_state, started.relay_state);
    assert!(again.url.query_pairs().all(|(key, _)| key != "login_hint"));
    let unknown = browser()
        .get(format!("{}/sso/saml/nope/login", sp.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    sp.shutdown().await;
}

#[tokio::test]
async fn a_signed_assertion_a_signed_response_or_both_sign_the_user_in() {
    let sp = sp_with_connection().await;
    for signed in [Signed::Assertion, Signed::Response, Signed::Both] {
        let cookie = accepted(&answer(&sp, signed, |_| {}).await);
        let (status, session) = whoami(&sp, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{signed:?}: {session}");
        assert_eq!(session["protocol"], "saml", "{signed:?}");
        assert_eq!(session["connection"], "acme");
        assert_eq!(session["subject"], NAME_ID);
        let claims = &session["claims"];
        assert_eq!(claims["sub"], NAME_ID);
        assert_eq!(claims["email"], EMAIL);
        assert_eq!(claims[EMAIL_ATTRIBUTE], EMAIL);
        assert_eq!(claims["groups"], json!(["staff", "admins"]));
        assert_eq!(claims["name_id_format"], EMAIL_FORMAT);
        assert_eq!(claims["session_index"], "_session-7");
        assert_eq!(session["scim_user"], Value::Null);
    }
    // The IdP's SessionNotOnOrAfter ends the session before the SP's own timeout.
    let ends_by = Utc::now() + Duration::minutes(20);
    let cookie = accepted(
        &answer(&sp, Signed::Assertion, |asserted| {
            asserted.session_not_on_or_after = Some(ends_by);
        })
        .await,
    );
    let (_, session) = whoami(&sp, &cookie).await;
    let expires: DateTime<Utc> = session["expires"].as_str().unwrap().parse().unwrap();
    assert!((expires - ends_by).num_seconds().abs() <= 1, "{session}");
    sp.shutdown().await;
}

#[tokio::test]
async fn a_paired_connection_matches_the_scim_user_and_refuses_inactive_or_missing_ones() {
    let sp = start_sp().await;
    let acme = sp.create_organization("Acme").await.unwrap();
    sp.add_saml_connection(connection("acme", Some(acme.id.clone()), false))
        .await
        .unwrap();
    // No SCIM user yet: "in the SSO app but not in the SCIM app".
    assert_refused(
        answer(&sp, Signed::Assertion, |_| {}).await,
        "ScimUserNotActive: no SCIM user matches",
    )
    .await;
    create_user(&sp, &acme.token, EMAIL, true).await;
    create_user(&sp, &acme.token, "megan.bowen@acme.test", false).await;
    let cookie = accepted(&answer(&sp, Signed::Assertion, |_| {}).await);
    let (status, session) = whoami(&sp, &cookie).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["scim_user"]["user_name"], EMAIL);
    assert_eq!(session["organization"], acme.id.as_str());
    assert_eq!(session["matching"], "OidcEmailToScimUsername");
    assert_refused(
        answer(&sp, Signed::Assertion, |asserted| {
            asserted.email = "megan.bowen@acme.test".into();
        })
        .await,
        "ScimUserNotActive: the SCIM user megan.bowen@acme.test",
    )
    .await;
    sp.shutdown().await;
}

#[tokio::test]
async fn idp_initiated_responses_are_accepted_only_when_the_connection_allows_them() {
    let sp = start_sp().await;
    sp.add_saml_connection(connection("open", None, true))
        .await
        .unwrap();
    sp.add_saml_connection(connection("closed", None, false))
        .await
        .unwrap();
    for (id, allowed) in [("open", true), ("closed", false)] {
        let asserted = Asserted::valid(&sp, id, None);
        let xml = sign(response(&asserted), Signed::Assertion, &KEY);
        let answer = post(&sp, id, &xml, Some("https://app.test/deep/link")).await;
        if allowed {
            let cookie = accepted(&answer);
            let (status, session) = whoami(&sp, &cookie).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(session["connection"], "open");
        } else {
            assert_refused(answer, "unsolicited response").await;
        }
    }
    // An answer to an AuthnRequest is still accepted where IdP-initiated sign-in is allowed.
    let started = begin(&sp, "open", None).await;
    let asserted = Asserted::valid(&sp, "open", Some(&started.request.id));
    let xml = sign(response(&asserted), Signed::Response, &KEY);
    accepted(&post(&sp, "open", &xml, Some(&started.relay_state)).await);
    sp.shutdown().await;
}

#[tokio::test]
async fn unsigned_and_badly_signed_responses_are_refused() {
    let sp = sp_with_connection().await;
    assert_refused(
        answer(&sp, Signed::Nothing, |_| {}).await,
        "unsigned: neither the Response nor the Assertion is signed",
    )
    .await;
    // Signed by another key, whose certificate travels in the KeyInfo.
    let started = begin(&sp, "acme", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let xml = sign(response(&asserted), Signed::Assertion, &OTHER_KEY);
    assert_refused(
        post(&sp, "acme", &xml, Some(&started.relay_state)).await,
        "bad signature: signed with a certificate that is not one of the connection's",
    )
    .await;
    // The NameID edited after signing.
    for signed in [Signed::Assertion, Signed::Response] {
        let started = begin(&sp, "acme", None).await;
        let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
        let xml = sign(response(&asserted), signed, &KEY).replace(NAME_ID, "00u1admin");
        assert!(xml.contains("00u1admin"));
        assert_refused(
            post(&sp, "acme", &xml, Some(&started.relay_state)).await,
            "bad signature: it does not verify with the connection's certificates",
        )
        .await;
    }
    // A SHA-1 digest (samael's template default).
    let started = begin(&sp, "acme", None).await;
    let mut unsafe_response = response(&Asserted::valid(&sp, "acme", Some(&started.request.id)));
    if let Some(assertion) = &mut unsafe_response.assertion {
        assertion.signature = Some(Signature::template(&assertion.id, &KEY.cert));
    }
    let xml = Crypto::sign_xml(unsafe_response.to_string().unwrap(), &KEY.key_der).unwrap();
    assert_refused(
        post(&sp, "acme", &xml, Some(&started.relay_state)).await,
        "signature algorithm not allowed: DigestMethod http://www.w3.org/2000/09/xmldsig#sha1",
    )
    .await;
    sp.shutdown().await;
}

/// The signed assertion of `xml` (a response whose assertion alone is signed) and where it is.
fn signed_assertion(xml: &str) -> (usize, usize) {
    let start = xml.find("<saml2:Assertion").unwrap();
    let end = xml.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
    (start, end)
}

#[tokio::test]
async fn signature_wrapping_is_refused() {
    let sp = sp_with_connection().await;
    let evil = |sp: &RunningSp, request_id: &str| {
        let mut asserted = Asserted::valid(sp, "acme", Some(request_id));
        asserted.name_id = "00u1admin".into();
        asserted.email = "admin@acme.test".into();
        assertion(&asserted).to_string().unwrap()
    };
    // The signed assertion moved into Extensions, an unsigned one in its place.
    let started = begin(&sp, "acme", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let xml = sign(response(&asserted), Signed::Assertion, &KEY);
    let (start, end) = signed_assertion(&xml);
    let wrapped = format!(
        "{}<saml2p:Extensions>{}</saml2p:Extensions>{}{}",
        &xml[..start],
        &xml[start..end],
        evil(&sp, &started.request.id),
        &xml[end..]
    );
    assert_refused(
        post(&sp, "acme", &wrapped, Some(&started.relay_state)).await,
        "XML signature wrapping: an Assertion inside Extensions",
    )
    .await;
    // An unsigned assertion next to the signed one, before or after it.
    for before in [true, false] {
        let started = begin(&sp, "acme", None).await;
        let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
        let xml = sign(response(&asserted), Signed::Assertion, &KEY);
        let (start, end) = signed_assertion(&xml);
        let at = if before { start } else { end };
        let mut doubled = xml.clone();
        doubled.insert_str(at, &evil(&sp, &started.request.id));
        assert_refused(
            post(&sp, "acme", &doubled, Some(&started.relay_state)).await,
            "XML signature wrapping: 2 assertions in one response",
        )
        .await;
    }
    // Nobody was signed in as the evil user along the way.
    let (status, _) = whoami(&sp, "idpsim_session=none").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    sp.shutdown().await;
}

#[tokio::test]
async fn conditions_and_subject_confirmation_are_enforced() {
    let sp = sp_with_connection().await;
    let now = Utc::now();
    type Change = fn(&mut Asserted, DateTime<Utc>);
    let cases: [(&str, Change); 6] = [
        ("expired: the Conditions ended", |a, now| {
            a.not_on_or_after = now - Duration::minutes(10);
        }),
        ("not yet valid: the Conditions hold from", |a, now| {
            a.not_before = now + Duration::minutes(10);
        }),
        ("expired: the SubjectConfirmationData ended", |a, now| {
            a.confirmation_not_on_or_after = now - Duration::minutes(10);
        }),
        ("wrong audience", |a, _| {
            a.audience = "https://other-sp.test/metadata".into();
        }),
        ("wrong recipient", |a, _| {
            a.recipient = "https://other-sp.test/acs".into();
        }),
        ("wrong issuer", |a, _| {
            a.issuer = "https://evil-idp.test".into();
        }),
    ];
    for signed in [Signed::Assertion, Signed::Response] {
        for (reason, change) in &cases {
            let response = answer(&sp, signed, |asserted| change(asserted, now)).await;
            assert_refused(response, reason).await;
        }
    }
    sp.shutdown().await;
}

#[tokio::test]
async fn destination_and_in_response_to_are_enforced() {
    let sp = sp_with_connection().await;
    for signed in [Signed::Assertion, Signed::Response] {
        assert_refused(
            answer(&sp, signed, |asserted| {
                asserted.destination = Some("https://other-sp.test/acs".into());
            })
            .await,
            "wrong destination",
        )
        .await;
        assert_refused(
            answer(&sp, signed, |asserted| {
                asserted.in_response_to = Some("_never-sent".into());
            })
            .await,
            "unknown InResponseTo \"_never-sent\"",
        )
        .await;
    }
    // The RelayState must be the one sent with the request.
    let started = begin(&sp, "acme", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let xml = sign(response(&asserted), Signed::Assertion, &KEY);
    assert_refused(
        post(&sp, "acme", &xml, Some("forged")).await,
        "the RelayState is not the one sent",
    )
    .await;
    // A request is bound to its connection.
    sp.add_saml_connection(connection("globex", None, false))
        .await
        .unwrap();
    let started = begin(&sp, "globex", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let xml = sign(response(&asserted), Signed::Assertion, &KEY);
    assert_refused(
        post(&sp, "acme", &xml, Some(&started.relay_state)).await,
        "names the AuthnRequest sent for connection `globex`, not `acme`",
    )
    .await;
    sp.shutdown().await;
}

#[tokio::test]
async fn a_replayed_response_is_refused() {
    let sp = sp_with_connection().await;
    let started = begin(&sp, "acme", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let xml = sign(response(&asserted), Signed::Both, &KEY);
    accepted(&post(&sp, "acme", &xml, Some(&started.relay_state)).await);
    assert_refused(
        post(&sp, "acme", &xml, Some(&started.relay_state)).await,
        "replayed assertion",
    )
    .await;
    // Also where IdP-initiated sign-in is allowed (no request to use up).
    sp.add_saml_connection(connection("open", None, true))
        .await
        .unwrap();
    let xml = sign(
        response(&Asserted::valid(&sp, "open", None)),
        Signed::Assertion,
        &KEY,
    );
    accepted(&post(&sp, "open", &xml, None).await);
    assert_refused(post(&sp, "open", &xml, None).await, "replayed assertion").await;
    sp.shutdown().await;
}

#[tokio::test]
async fn a_doctype_is_refused_before_any_entity_is_read() {
    let sp = sp_with_connection().await;
    let directory = tempfile::tempdir().unwrap();
    let secret = directory.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-XXE-CONTENT").unwrap();
    let started = begin(&sp, "acme", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let xml = sign(response(&asserted), Signed::Assertion, &KEY);
    let body_start = xml.find("?>").unwrap() + 2;
    let xxe = format!(
        "{}<!DOCTYPE saml2p:Response [<!ENTITY xxe SYSTEM \"file://{}\">]>{}",
        &xml[..body_start],
        secret.display(),
        xml[body_start..].replace(NAME_ID, "&xxe;")
    );
    let body = assert_refused(
        post(&sp, "acme", &xxe, Some(&started.relay_state)).await,
        "DOCTYPE/DTD not allowed",
    )
    .await;
    assert!(!body.contains("TOP-SECRET"), "{body}");
    // An undeclared entity without a DOCTYPE is refused too.
    let started = begin(&sp, "acme", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let xml = sign(response(&asserted), Signed::Assertion, &KEY).replace(NAME_ID, "&xxe;");
    assert_refused(
        post(&sp, "acme", &xml, Some(&started.relay_state)).await,
        "the entity reference &xxe;",
    )
    .await;
    sp.shutdown().await;
}

#[tokio::test]
async fn an_idp_error_status_is_refused_with_its_code() {
    let sp = sp_with_connection().await;
    let started = begin(&sp, "acme", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let mut failed = response(&asserted);
    failed.assertion = None;
    failed.status = Some(Status {
        status_code: SamlStatus {
            value: Some("urn:oasis:names:tc:SAML:2.0:status:Responder".to_owned()),
        },
        status_message: Some(StatusMessage {
            value: Some("the user is not assigned to the application".to_owned()),
        }),
        status_detail: None,
    });
    assert_refused(
        post(
            &sp,
            "acme",
            &failed.to_string().unwrap(),
            Some(&started.relay_state),
        )
        .await,
        "the IdP answered with status urn:oasis:names:tc:SAML:2.0:status:Responder (the user \
         is not assigned to the application)",
    )
    .await;
    sp.shutdown().await;
}

#[tokio::test]
async fn a_connection_needs_a_usable_certificate() {
    let sp = start_sp().await;
    let mut without = connection("bare", None, false);
    without.idp_certificates.clear();
    assert!(matches!(
        sp.add_saml_connection(without).await,
        Err(SpError::SamlConnection(SamlConnectionError::NoCertificate(id))) if id == "bare"
    ));
    let mut garbage = connection("garbage", None, false);
    garbage.idp_certificates.push("not a certificate".into());
    assert!(matches!(
        sp.add_saml_connection(garbage).await,
        Err(SpError::SamlConnection(SamlConnectionError::Certificate {
            index: 1,
            ..
        }))
    ));
    let missing = browser()
        .get(format!("{}/sso/saml/bare/login", sp.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // A rollover: responses signed by either certificate are accepted.
    let mut rollover = connection("acme", None, false);
    rollover.idp_certificates = vec![OTHER_KEY.cert_pem.clone(), KEY.cert_pem.clone()];
    sp.add_saml_connection(rollover).await.unwrap();
    for key in [&*KEY, &*OTHER_KEY] {
        let started = begin(&sp, "acme", None).await;
        let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
        let xml = sign(response(&asserted), Signed::Assertion, key);
        accepted(&post(&sp, "acme", &xml, Some(&started.relay_state)).await);
    }
    sp.shutdown().await;
}

#[tokio::test]
async fn an_assertion_needs_conditions_for_this_sp_and_a_bearer_confirmation_for_this_request() {
    let sp = sp_with_connection().await;
    let other_audience = AudienceRestriction {
        audience: vec!["https://other-sp.test/metadata".into()],
    };
    assert_refused(
        answer_altered(&sp, Signed::Assertion, |response| {
            assertion_of(response).conditions = None;
        })
        .await,
        "the assertion has no Conditions",
    )
    .await;
    assert_refused(
        answer_altered(&sp, Signed::Assertion, |response| {
            let conditions = assertion_of(response).conditions.as_mut().unwrap();
            conditions.audience_restrictions = None;
        })
        .await,
        "wrong audience: the assertion has no AudienceRestriction",
    )
    .await;
    // Every AudienceRestriction must hold, not just one (SAML Core §2.5.1.4).
    assert_refused(
        answer_altered(&sp, Signed::Assertion, |response| {
            let conditions = assertion_of(response).conditions.as_mut().unwrap();
            conditions
                .audience_restrictions
                .as_mut()
                .unwrap()
                .push(other_audience);
        })
        .await,
        "wrong audience: the AudienceRestriction does not name",
    )
    .await;
    assert_refused(
        answer_altered(&sp, Signed::Assertion, |response| {
            let subject = assertion_of(response).subject.as_mut().unwrap();
            subject.subject_confirmations.as_mut().unwrap()[0].method =
                Some("urn:oasis:names:tc:SAML:2.0:cm:holder-of-key".into());
        })
        .await,
        "no usable bearer SubjectConfirmation",
    )
    .await;
    // The signed assertion answers another request than the (unsigned) Response says.
    assert_refused(
        answer_altered(&sp, Signed::Assertion, |response| {
            let subject = assertion_of(response).subject.as_mut().unwrap();
            let confirmation = &mut subject.subject_confirmations.as_mut().unwrap()[0];
            confirmation
                .subject_confirmation_data
                .as_mut()
                .unwrap()
                .in_response_to = Some("_another-request".into());
        })
        .await,
        "InResponseTo mismatch",
    )
    .await;
    sp.shutdown().await;
}

#[tokio::test]
async fn a_comment_that_keeps_the_signature_valid_is_refused() {
    let sp = sp_with_connection().await;
    // Exclusive c14n drops comments, so the signature still verifies; an SP reading only the
    // first text node would see another NameID.
    let started = begin(&sp, "acme", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let xml =
        sign(response(&asserted), Signed::Assertion, &KEY).replace(NAME_ID, "00u1<!-- -->adele");
    assert_refused(
        post(&sp, "acme", &xml, Some(&started.relay_state)).await,
        "the SAML message contains a comment, which is not allowed",
    )
    .await;
    sp.shutdown().await;
}

/// `xml` with `inserted` right after the first opening tag whose name ends in `:{element}>`.
fn insert_after_open(xml: &str, element: &str, inserted: &str) -> String {
    let tag = format!(":{element}>");
    let at = xml.find(&tag).unwrap() + tag.len();
    let mut altered = xml.to_owned();
    altered.insert_str(at, inserted);
    altered
}

/// The namespace prefix `xml` gives XML Signature elements.
fn dsig_prefix(xml: &str) -> String {
    let end = xml.find(":Signature ").unwrap();
    let start = xml[..end].rfind('<').unwrap();
    xml[start + 1..end].to_owned()
}

#[tokio::test]
async fn what_libxmlsec1_or_libxml2_would_spend_unbounded_work_on_is_refused_before() {
    // XSLT and XPath transforms run the sender's code before the signature is checked;
    // libxml2 checks an element's attributes in quadratic time; deep nesting overflows
    // counters. None of that reaches them.
    let sp = sp_with_connection().await;
    let started = begin(&sp, "acme", None).await;
    let asserted = Asserted::valid(&sp, "acme", Some(&started.request.id));
    let xml = sign(response(&asserted), Signed::Assertion, &KEY);
    let ds = dsig_prefix(&xml);
    let transform = |algorithm: &str| {
        insert_after_open(
            &xml,
            "Transforms",
            &format!(r#"<{ds}:Transform Algorithm="{algorithm}"/>"#),
        )
    };
    let nested = format!(
        "{}{}",
        r#"<x:a xmlns:x="urn:example:nesting">"#.repeat(100),
        "</x:a>".repeat(100)
    );
    let attributes: String = (0..100).map(|i| format!(r#" a{i}="1""#)).collect();
    let cases = [
        (
            transform("http://www.w3.org/TR/1999/REC-xslt-19991116"),
            "Transform http://www.w3.org/TR/1999/REC-xslt-19991116",
        ),
        (
            transform("http://www.w3.org/TR/1999/REC-xpath-19991116"),
            "Transform http://www.w3.org/TR/1999/REC-xpath-19991116",
        ),
        (
            insert_after_open(&xml, "Issuer", &nested),
            "elements nested more than 64 deep",
        ),
        (
            insert_after_open(
                &xml,
                "Issuer",
                &format!(r#"<x:a xmlns:x="urn:example:wide"{attributes}/>"#),
            ),
            "more than 64 attributes on a",
        ),
        (
            insert_after_open(
                &xml,
                "KeyInfo",
                &format!(r#"<{ds}:RetrievalMethod URI="http://127.0.0.1:9/key"/>"#),
            ),
            "a ds:RetrievalMethod",
        ),
    ];
    for (altered, reason) in cases {
        assert_refused(
            post(&sp, "acme", &altered, Some(&started.relay_state)).await,
            reason,
        )
        .await;
    }
    // The unaltered response still signs the user in: the pending request was not used up.
    let accepted = post(&sp, "acme", &xml, Some(&started.relay_state)).await;
    assert_eq!(accepted.status(), reqwest::StatusCode::SEE_OTHER);
    sp.shutdown().await;
}

#[tokio::test]
async fn the_acs_refuses_a_body_over_one_mebibyte_before_reading_it() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let sp = sp_with_connection().await;
    let too_large = browser()
        .post(format!("{}/sso/saml/acme/acs", sp.origin()))
        .form(&[("SAMLResponse", "A".repeat(1024 * 1024 + 1))])
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    // A declared length is enough: the SP does not wait for the body it announces.
    let mut stream = tokio::net::TcpStream::connect(sp.address()).await.unwrap();
    let head = "POST /sso/saml/acme/acs HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 10000000000\r\n\r\nSAMLResponse=";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = [0_u8; 12];
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_exact(&mut answer),
    )
    .await
    .expect("the SP answers at once")
    .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413");
    sp.shutdown().await;
}

/// The issuer of Entra's LogoutResponses, not its assertion issuer (personas.md §1.2).
const ENTRA_LOGOUT_ISSUER: &str = "https://login.microsoftonline.com/9c5a1d2e-tenant/";
const RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";

/// Signs `name_id` in at `connection` (SP-initiated) with `session_index`; returns the cookie.
async fn sign_in(sp: &RunningSp, connection: &str, name_id: &str, session_index: &str) -> String {
    let started = begin(sp, connection, None).await;
    let mut asserted = Asserted::valid(sp, connection, Some(&started.request.id));
    asserted.name_id = name_id.to_owned();
    asserted.session_index = Some(session_index.to_owned());
    let xml = sign(response(&asserted), Signed::Assertion, &KEY);
    accepted(&post(sp, connection, &xml, Some(&started.relay_state)).await)
}

/// `GET /logout` with the session cookie.
async fn logout(sp: &RunningSp, cookie: &str) -> reqwest::Response {
    browser()
        .get(format!("{}/logout", sp.origin()))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

fn assert_cookie_cleared(response: &reqwest::Response) {
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("idpsim_session=;"), "{set_cookie}");
    assert!(set_cookie.contains("Max-Age=0"), "{set_cookie}");
}

/// Sends `xml` as `parameter` (`SAMLRequest` or `SAMLResponse`) to the connection's single
/// logout service, as the IdP's HTTP-Redirect does: a LogoutRequest signed with the IdP's key.
async fn send_slo(
    sp: &RunningSp,
    connection: &str,
    parameter: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> reqwest::Response {
    let url = slo_url(sp, connection, parameter, xml, relay_state);
    let url = if parameter == "SAMLRequest" {
        sign_redirect(url, &KEY)
    } else {
        url
    };
    browser().get(url).send().await.unwrap()
}

/// The connection's single logout URL carrying `xml` as `parameter`, unsigned.
fn slo_url(
    sp: &RunningSp,
    connection: &str,
    parameter: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> reqwest::Url {
    let mut url = reqwest::Url::parse(&sp.saml_slo_url(connection)).unwrap();
    url.query_pairs_mut().append_pair(parameter, &deflate(xml));
    if let Some(relay_state) = relay_state {
        url.query_pairs_mut().append_pair("RelayState", relay_state);
    }
    url
}

/// `url` signed with `key` as an IdP signs an HTTP-Redirect message (RSA-SHA256 over the
/// query, SAML Bindings §3.4.4.1).
fn sign_redirect(url: reqwest::Url, key: &IdpKey) -> reqwest::Url {
    let key = openssl::pkey::PKey::private_key_from_pkcs8(&key.key_der).unwrap();
    samael::crypto::sign_url(url, &key).unwrap()
}

/// Asserts a 400 whose reason contains `reason`.
async fn assert_logout_refused(response: reqwest::Response, reason: &str) {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.starts_with("Logout refused: "), "{body}");
    assert!(
        body.contains(reason),
        "expected the reason {reason:?}, got: {body}"
    );
}

/// The IdP's LogoutResponse to `in_response_to` at `acme`, with the status `code`, as Entra
/// sends it.
fn idp_logout_response(sp: &RunningSp, in_response_to: &str, code: &str) -> String {
    LogoutResponse {
        id: Some(samael::crypto::gen_saml_response_id()),
        in_response_to: Some(in_response_to.to_owned()),
        version: Some("2.0".to_owned()),
        issue_instant: Some(Utc::now()),
        destination: Some(sp.saml_slo_url("acme")),
        consent: None,
        issuer: Some(issuer(ENTRA_LOGOUT_ISSUER)),
        signature: None,
        status: Some(Status {
            status_code: SamlStatus {
                value: Some(code.to_owned()),
            },
            status_message: None,
            status_detail: None,
        }),
    }
    .to_string()
    .unwrap()
}

/// The IdP's LogoutRequest `id` to the connection for `name_id` (children in schema order).
fn idp_logout_request(
    sp: &RunningSp,
    connection: &str,
    id: &str,
    issuer: &str,
    name_id: &str,
    session_index: Option<&str>,
) -> String {
    let session_index = session_index
        .map(|index| format!("<samlp:SessionIndex>{index}</samlp:SessionIndex>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{}" Destination="{}"><saml:Issuer>{issuer}</saml:Issuer><saml:NameID Format="{EMAIL_FORMAT}">{name_id}</saml:NameID>{session_index}</samlp:LogoutRequest>"#,
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        sp.saml_slo_url(connection),
    )
}

/// An element of a document as [`elements`] reads it.
#[derive(Debug)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    text: String,
}

/// The elements of `xml` in document order, by local name.
fn elements(xml: &str) -> Vec<Element> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut found: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let event = reader.read_event().unwrap();
        match &event {
            XmlEvent::Start(element) | XmlEvent::Empty(element) => {
                found.push(Element {
                    name: String::from_utf8(element.local_name().as_ref().to_vec()).unwrap(),
                    attributes: element
                        .attributes()
                        .map(|attribute| {
                            let attribute = attribute.unwrap();
                            (
                                String::from_utf8(attribute.key.local_name().as_ref().to_vec())
                                    .unwrap(),
                                attribute
                                    .normalized_value(XmlVersion::Implicit1_0)
                                    .unwrap()
                                    .into_owned(),
                            )
                        })
                        .collect(),
                    text: String::new(),
                });
                if matches!(event, XmlEvent::Start(_)) {
                    open.push(found.len() - 1);
                }
            }
            XmlEvent::End(_) => {
                open.pop();
            }
            XmlEvent::Text(text) => {
                if let Some(&at) = open.last() {
                    found[at].text.push_str(&text.decode().unwrap());
                }
            }
            XmlEvent::GeneralRef(reference) => {
                if let Some(&at) = open.last() {
                    let name = reference.decode().unwrap();
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name).unwrap();
                    found[at].text.push_str(resolved);
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    found
}

/// The URL a 303 sends the browser to, checked to be the IdP's single logout service.
fn to_idp_slo(response: &reqwest::Response) -> reqwest::Url {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let url = reqwest::Url::parse(&location(response)).unwrap();
    assert_eq!(
        format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.path()
        ),
        "https://idp.test/slo"
    );
    assert_eq!(parameter(&url, "tenant"), "acme");
    url
}

#[tokio::test]
async fn sp_initiated_logout_sends_a_logout_request_and_takes_its_logout_response_once() {
    let sp = sp_with_connection().await;
    // The SP's clock, frozen: the LogoutRequest is issued at its time.
    let frozen = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    sp.set_clock(Arc::new(move || frozen));
    let cookie = sign_in(&sp, "acme", NAME_ID, "_session-7").await;
    assert_eq!(whoami(&sp, &cookie).await.0, StatusCode::OK);
    let answer = logout(&sp, &cookie).await;
    assert_cookie_cleared(&answer);
    let url = to_idp_slo(&answer);
    let relay_state = parameter(&url, "RelayState");
    assert!((32..=80).contains(&relay_state.len()), "{relay_state}");
    let xml = inflate(&parameter(&url, "SAMLRequest"));
    let request: LogoutRequest = xml.parse().unwrap();
    let request_id = request.id.clone().unwrap();
    assert!(request_id.starts_with('_'), "{request_id}");
    assert!(request_id.len() > 20, "{request_id}");
    assert_eq!(request.version.as_deref(), Some("2.0"));
    assert_eq!(request.issue_instant, Some(frozen));
    assert_eq!(request.destination.as_deref(), Some(IDP_SLO_URL));
    assert_eq!(
        request.issuer.and_then(|issuer| issuer.value).as_deref(),
        Some(sp.saml_entity_id("acme").as_str())
    );
    assert!(request.signature.is_none());
    // samael reads neither the NameID's Format nor SessionIndex (an element): read them here,
    // in schema order.
    let found = elements(&xml);
    let names: Vec<&str> = found.iter().map(|element| element.name.as_str()).collect();
    assert_eq!(
        names,
        ["LogoutRequest", "Issuer", "NameID", "SessionIndex"],
        "{xml}"
    );
    assert_eq!(found[2].text, NAME_ID);
    assert_eq!(
        found[2].attributes.get("Format").map(String::as_str),
        Some(EMAIL_FORMAT)
    );
    assert_eq!(found[3].text, "_session-7");
    // The session ended at once, before the IdP answers.
    let (status, body) = whoami(&sp, &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // Entra's LogoutResponse, whose Issuer is not the assertion issuer, is accepted once.
    let response = idp_logout_response(&sp, &request_id, SUCCESS);
    let answer = send_slo(&sp, "acme", "SAMLResponse", &response, Some(&relay_state)).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.text().await.unwrap(), "You have signed out\n");
    assert_logout_refused(
        send_slo(&sp, "acme", "SAMLResponse", &response, Some(&relay_state)).await,
        &format!("unknown InResponseTo \"{request_id}\": no pending LogoutRequest has this ID"),
    )
    .await;
    assert_logout_refused(
        send_slo(
            &sp,
            "acme",
            "SAMLResponse",
            &idp_logout_response(&sp, "_never-sent", SUCCESS),
            None,
        )
        .await,
        "unknown InResponseTo \"_never-sent\"",
    )
    .await;
    // A failure status is refused, and uses up its request all the same.
    let cookie = sign_in(&sp, "acme", NAME_ID, "_session-8").await;
    let url = to_idp_slo(&logout(&sp, &cookie).await);
    let request: LogoutRequest = inflate(&parameter(&url, "SAMLRequest")).parse().unwrap();
    let request_id = request.id.unwrap();
    assert_logout_refused(
        send_slo(
            &sp,
            "acme",
            "SAMLResponse",
            &idp_logout_response(&sp, &request_id, RESPONDER),
            None,
        )
        .await,
        "the IdP answered with status urn:oasis:names:tc:SAML:2.0:status:Responder",
    )
    .await;
    assert_logout_refused(
        send_slo(
            &sp,
            "acme",
            "SAMLResponse",
            &idp_logout_response(&sp, &request_id, SUCCESS),
            None,
        )
        .await,
        "unknown InResponseTo",
    )
    .await;
    sp.shutdown().await;
}

#[tokio::test]
async fn the_single_logout_service_refuses_malformed_or_misdirected_messages() {
    let sp = sp_with_connection().await;
    let cookie = sign_in(&sp, "acme", NAME_ID, "_session-7").await;
    let url = to_idp_slo(&logout(&sp, &cookie).await);
    let request: LogoutRequest = inflate(&parameter(&url, "SAMLRequest")).parse().unwrap();
    let request_id = request.id.unwrap();
    let valid = idp_logout_response(&sp, &request_id, SUCCESS);
    let body_start = valid.find("?>").unwrap() + 2;
    let doctype = format!(
        "{}<!DOCTYPE samlp:LogoutResponse [<!ENTITY x \"y\">]>{}",
        &valid[..body_start],
        &valid[body_start..]
    );
    let misdirected = valid.replace(&sp.saml_slo_url("acme"), "https://other-sp.test/saml/slo");
    let cases = [
        (doctype, "DOCTYPE/DTD not allowed"),
        (
            valid.replace("</saml2:Issuer>", "</saml2:Issuer><!-- x -->"),
            "contains a comment",
        ),
        (misdirected, "wrong destination"),
        (
            valid.replace("LogoutResponse", "Response"),
            "the document is a `Response`, not a SAML protocol LogoutResponse",
        ),
    ];
    for (xml, reason) in &cases {
        assert_logout_refused(
            send_slo(&sp, "acme", "SAMLResponse", xml, None).await,
            reason,
        )
        .await;
    }
    // None of them used the request up.
    let answer = send_slo(&sp, "acme", "SAMLResponse", &valid, None).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let not_deflated = browser()
        .get(sp.saml_slo_url("acme"))
        .query(&[("SAMLResponse", STANDARD.encode(&valid))])
        .send()
        .await
        .unwrap();
    assert_logout_refused(
        not_deflated,
        "SAMLResponse is not base64 of raw DEFLATE of UTF-8 XML (HTTP-Redirect binding)",
    )
    .await;
    let nothing = browser().get(sp.saml_slo_url("acme")).send().await.unwrap();
    assert_logout_refused(nothing, "neither SAMLRequest nor SAMLResponse").await;
    let unknown = browser()
        .get(sp.saml_slo_url("nope"))
        .query(&[("SAMLResponse", deflate(&valid))])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    sp.shutdown().await;
}

#[tokio::test]
async fn an_idp_initiated_logout_request_ends_only_the_named_users_sessions() {
    let sp = sp_with_connection().await;
    sp.add_saml_connection(connection("globex", None, false))
        .await
        .unwrap();
    let adele_7 = sign_in(&sp, "acme", NAME_ID, "_session-7").await;
    let adele_8 = sign_in(&sp, "acme", NAME_ID, "_session-8").await;
    let megan = sign_in(&sp, "acme", "00u1megan", "_session-9").await;
    let adele_globex = sign_in(&sp, "globex", NAME_ID, "_session-7").await;
    let signed_in = |cookie: &str| {
        let cookie = cookie.to_owned();
        let sp = &sp;
        async move { whoami(sp, &cookie).await.0 == StatusCode::OK }
    };
    // Another issuer ends nothing.
    assert_logout_refused(
        send_slo(
            &sp,
            "acme",
            "SAMLRequest",
            &idp_logout_request(
                &sp,
                "acme",
                "_forged",
                "https://evil-idp.test",
                NAME_ID,
                None,
            ),
            None,
        )
        .await,
        "wrong issuer: Some(\"https://evil-idp.test\") is not the IdP's entity ID",
    )
    .await;
    for cookie in [&adele_7, &adele_8, &megan, &adele_globex] {
        assert!(signed_in(cookie).await);
    }
    // With a SessionIndex: that session of the user only.
    let relay_state = "https://app.test/signed-out?tenant=acme&step=2";
    let answer = send_slo(
        &sp,
        "acme",
        "SAMLRequest",
        &idp_logout_request(
            &sp,
            "acme",
            "_idp-logout-1",
            IDP_ENTITY_ID,
            NAME_ID,
            Some("_session-7"),
        ),
        Some(relay_state),
    )
    .await;
    let url = to_idp_slo(&answer);
    assert_eq!(parameter(&url, "RelayState"), relay_state);
    let response: LogoutResponse = inflate(&parameter(&url, "SAMLResponse")).parse().unwrap();
    assert_eq!(response.in_response_to.as_deref(), Some("_idp-logout-1"));
    assert!(response.id.as_deref().unwrap().starts_with('_'));
    assert_eq!(response.version.as_deref(), Some("2.0"));
    assert_eq!(response.destination.as_deref(), Some(IDP_SLO_URL));
    assert_eq!(
        response.issuer.and_then(|issuer| issuer.value).as_deref(),
        Some(sp.saml_entity_id("acme").as_str())
    );
    assert_eq!(
        response.status.unwrap().status_code.value.as_deref(),
        Some(SUCCESS)
    );
    assert!(!signed_in(&adele_7).await);
    assert!(signed_in(&adele_8).await);
    assert!(signed_in(&megan).await);
    // Without one: every session of the user at this connection; no RelayState, none back.
    let answer = send_slo(
        &sp,
        "acme",
        "SAMLRequest",
        &idp_logout_request(&sp, "acme", "_idp-logout-2", IDP_ENTITY_ID, NAME_ID, None),
        None,
    )
    .await;
    let url = to_idp_slo(&answer);
    assert!(
        url.query_pairs().all(|(key, _)| key != "RelayState"),
        "{url}"
    );
    let response: LogoutResponse = inflate(&parameter(&url, "SAMLResponse")).parse().unwrap();
    assert_eq!(response.in_response_to.as_deref(), Some("_idp-logout-2"));
    assert!(!signed_in(&adele_8).await);
    assert!(signed_in(&megan).await);
    assert!(signed_in(&adele_globex).await);
    sp.shutdown().await;
}

#[tokio::test]
async fn an_idp_logout_request_must_be_signed_by_the_idp() {
    let sp = sp_with_connection().await;
    let cookie = sign_in(&sp, "acme", NAME_ID, "_session-7").await;
    let request = idp_logout_request(&sp, "acme", "_idp-logout", IDP_ENTITY_ID, NAME_ID, None);
    let unsigned = slo_url(&sp, "acme", "SAMLRequest", &request, Some("back"));
    let by_another_key = sign_redirect(unsigned.clone(), &OTHER_KEY);
    let signed = sign_redirect(unsigned.clone(), &KEY);
    let other_relay_state = reqwest::Url::parse(
        &signed
            .as_str()
            .replace("RelayState=back", "RelayState=elsewhere"),
    )
    .unwrap();
    for (url, reason) in [
        (unsigned, "the LogoutRequest is not signed"),
        (
            by_another_key,
            "the LogoutRequest has a signature that none of the IdP's certificates verifies",
        ),
        (
            other_relay_state,
            "the LogoutRequest has a signature that none of the IdP's certificates verifies",
        ),
    ] {
        assert_logout_refused(browser().get(url).send().await.unwrap(), reason).await;
        assert_eq!(whoami(&sp, &cookie).await.0, StatusCode::OK);
    }
    let answer = browser().get(signed.clone()).send().await.unwrap();
    assert_eq!(parameter(&to_idp_slo(&answer), "RelayState"), "back");
    assert_eq!(whoami(&sp, &cookie).await.0, StatusCode::UNAUTHORIZED);
    // The same signed URL later ends nothing: each LogoutRequest is taken once.
    let again = sign_in(&sp, "acme", NAME_ID, "_session-8").await;
    assert_logout_refused(
        browser().get(signed).send().await.unwrap(),
        "the LogoutRequest _idp-logout was already taken",
    )
    .await;
    assert_eq!(whoami(&sp, &again).await.0, StatusCode::OK);
    // An old one, or one with a name the signature does not cover, neither.
    let old = idp_logout_request(&sp, "acme", "_idp-logout-old", IDP_ENTITY_ID, NAME_ID, None)
        .replace(
            &format!(r#"IssueInstant="{}"#, Utc::now().format("%Y")),
            r#"IssueInstant="2001"#,
        );
    assert_logout_refused(
        send_slo(&sp, "acme", "SAMLRequest", &old, None).await,
        "not in the last 5 minutes",
    )
    .await;
    let fresh = idp_logout_request(&sp, "acme", "_idp-logout-2", IDP_ENTITY_ID, NAME_ID, None);
    let smuggled = reqwest::Url::parse(&format!(
        "{}&Relay%53tate=https%3A%2F%2Fevil.example%2F",
        sign_redirect(slo_url(&sp, "acme", "SAMLRequest", &fresh, None), &KEY)
    ))
    .unwrap();
    assert_logout_refused(
        browser().get(smuggled).send().await.unwrap(),
        "names the parameter `RelayState` twice or in encoded form",
    )
    .await;
    assert_eq!(whoami(&sp, &again).await.0, StatusCode::OK);
    sp.shutdown().await;
}

/// An SP with a `google` connection whose IdP has no single logout, and the cookie of a user
/// signed in there with `session_index`.
async fn signed_in_without_single_logout(session_index: &str) -> (RunningSp, String) {
    let sp = start_sp().await;
    let mut google = connection("google", None, false);
    google.idp_slo_url = None;
    sp.add_saml_connection(google).await.unwrap();
    let cookie = sign_in(&sp, "google", NAME_ID, session_index).await;
    (sp, cookie)
}

#[tokio::test]
async fn without_single_logout_at_the_idp_logout_stays_local() {
    let (sp, cookie) = signed_in_without_single_logout("_session-7").await;
    let answer = logout(&sp, &cookie).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_cookie_cleared(&answer);
    assert_eq!(answer.text().await.unwrap(), "signed out\n");
    assert_eq!(whoami(&sp, &cookie).await.0, StatusCode::UNAUTHORIZED);
    // Without a session, too.
    let answer = logout(&sp, "idpsim_session=none").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_cookie_cleared(&answer);
    // Its single logout service takes no message.
    assert_logout_refused(
        send_slo(
            &sp,
            "google",
            "SAMLRequest",
            &idp_logout_request(&sp, "google", "_idp-logout", IDP_ENTITY_ID, NAME_ID, None),
            None,
        )
        .await,
        "the IdP has no single logout endpoint",
    )
    .await;
    sp.shutdown().await;
}

#[tokio::test]
async fn another_site_cannot_sign_a_user_out() {
    let (sp, cookie) = signed_in_without_single_logout("_session-8").await;
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let answer = browser()
            .request(method.clone(), format!("{}/logout", sp.origin()))
            .header("cookie", &cookie)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{method}");
        assert!(answer.headers().get("set-cookie").is_none(), "{method}");
        assert_eq!(answer.headers()["x-frame-options"], "DENY");
        let page = answer.text().await.unwrap();
        assert!(
            page.contains(r#"<form method="post" action="/logout">"#),
            "{page}"
        );
        assert_eq!(whoami(&sp, &cookie).await.0, StatusCode::OK, "{method}");
    }
    // The page's button posts from the SP's own origin.
    let answer = browser()
        .post(format!("{}/logout", sp.origin()))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_cookie_cleared(&answer);
    assert_eq!(whoami(&sp, &cookie).await.0, StatusCode::UNAUTHORIZED);
    sp.shutdown().await;
}
