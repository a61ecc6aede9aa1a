//! What the SAML integration tests (saml_sp.rs, policies.rs) share: a test IdP's key, an SP
//! started in-process on 127.0.0.1:0, and a browser that posts responses to the ACS and reads
//! the SP's answers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use idpsim_reference_sp::{RunningSp, SpConfig};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use samael::crypto::CertificateDer;
use serde_json::Value;

/// An IdP signing key and its self-signed certificate.
pub struct IdpKey {
    pub key_der: Vec<u8>,
    pub cert: CertificateDer,
    pub cert_pem: String,
}

/// A new RSA key with a self-signed certificate for `idp.test`.
pub fn generate_key() -> IdpKey {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["idp.test".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    IdpKey {
        key_der: key.serialize_der(),
        cert: CertificateDer::from(cert.der().to_vec()),
        cert_pem: cert.pem(),
    }
}

/// An SP on 127.0.0.1:0 with a temporary database and no SCIM token or admin key.
pub async fn start_sp() -> RunningSp {
    RunningSp::start(SpConfig::ephemeral()).await.unwrap()
}

/// A client that does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Posts `xml` to the connection's ACS as the browser would.
pub async fn post(
    sp: &RunningSp,
    connection: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("SAMLResponse", STANDARD.encode(xml))];
    if let Some(relay_state) = relay_state {
        form.push(("RelayState", relay_state.to_owned()));
    }
    browser()
        .post(sp.saml_acs_url(connection))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The session cookie of an accepted response (after checking its attributes).
pub fn accepted(response: &reqwest::Response) -> String {
    assert_eq!(location(response), "/whoami");
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The SP's `/whoami` for the session `cookie`: its status and JSON body.
pub async fn whoami(sp: &RunningSp, cookie: &str) -> (StatusCode, Value) {
    let response = browser()
        .get(format!("{}/whoami", sp.origin()))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Asserts a 401 whose reason contains `reason`; returns the body.
pub async fn assert_refused(response: reqwest::Response, reason: &str) -> String {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body.contains(reason),
        "expected the reason {reason:?}, got: {body}"
    );
    assert!(body.starts_with("Sign-in refused: "), "{body}");
    body
}
