//! Each persona's SAML IdP: Responses in the persona's shape whose signatures verify with an
//! independent implementation (the `xmlsec1` command), a snapshot of each persona's Response,
//! and the HTTP flows served in-process on 127.0.0.1:0 — SP-initiated over HTTP-Redirect and
//! HTTP-POST, the sign-in page, IdP-initiated, strict SP registration and refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeZone as _, Utc};
use idpsim_simulator::directory::Directory;
use idpsim_simulator::fixtures_dir;
use idpsim_simulator::persona::{Persona, PersonaCatalog};
use idpsim_simulator::saml::assertion::{Audience, Issuing, signed_response};
use idpsim_simulator::saml::{SamlCredential, SamlIdp, SamlIdpConfig, ServiceProvider};
use rand::SeedableRng as _;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use std::io::Write as _;
use std::process::Command;
use std::sync::{Arc, LazyLock};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SP_ENTITY: &str = "https://app.example/saml/metadata";
const ACS: &str = "http://127.0.0.1:9/acs";

/// The tests' signing credential, kept in `tests/fixtures/saml` so that signatures, and with
/// them the snapshots, are the same at every run (a test-only key: it signs nothing else).
static CREDENTIAL: LazyLock<SamlCredential> = LazyLock::new(|| {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/saml");
    SamlCredential::load_or_generate(&folder, "test-idp", "idpsim test IdP").unwrap()
});

const PERSONAS: [&str; 5] = ["entra", "okta", "google", "jumpcloud", "generic"];

fn persona(name: &str) -> Persona {
    PersonaCatalog::open(&fixtures_dir().join("personas"))
        .unwrap()
        .load(name)
        .unwrap()
        .persona
}

fn acme() -> Directory {
    Directory::load(&fixtures_dir().join("directories/acme.yaml")).unwrap()
}

fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
}

fn response_for(persona: &Persona, user: &str, in_response_to: Option<&str>) -> String {
    response_to(persona, user, in_response_to, SP_ENTITY)
}

/// The signed Response of `persona` for `user`, to the SP `sp_entity`.
fn response_to(
    persona: &Persona,
    user: &str,
    in_response_to: Option<&str>,
    sp_entity: &str,
) -> String {
    let directory = acme();
    let entity_id = persona.saml.entity_id.value.replace("{tenant}", TENANT);
    signed_response(
        Issuing {
            persona,
            entity_id: &entity_id,
            tenant: TENANT,
            credential: &CREDENTIAL,
        },
        &directory,
        directory.user(user).unwrap(),
        &Audience {
            entity_id: sp_entity.into(),
            acs_url: ACS.into(),
            in_response_to: in_response_to.map(str::to_owned),
            name_id_format: None,
        },
        fixed_time(),
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(7),
    )
    .unwrap()
}

/// Verifies the signature of `element` (`Response` or `Assertion`) with `xmlsec1`, trusting
/// only the IdP's certificate.
fn xmlsec1_verifies(xml: &str, element: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let document = dir.path().join("response.xml");
    let certificate = dir.path().join("idp.pem");
    std::fs::write(&document, xml).unwrap();
    std::fs::write(&certificate, CREDENTIAL.certificate_pem()).unwrap();
    let xpath = format!("//*[local-name()='{element}']/*[local-name()='Signature']");
    let output = Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(&certificate)
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            "--node-xpath",
            &xpath,
        ])
        .arg(&document)
        .output()
        .expect("xmlsec1 is installed by scripts/test (Debian package xmlsec1)");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn every_persona_signs_what_it_says_and_xmlsec1_verifies_it() {
    for name in PERSONAS {
        let persona = persona(name);
        let xml = response_for(&persona, "adele", Some("_request1"));
        let signed = persona.saml.signed.value.as_str();
        let assertion_signed = matches!(signed, "assertion" | "both");
        let response_signed = matches!(signed, "response" | "both");
        assert_eq!(
            xml.matches("<ds:Signature ").count(),
            usize::from(assertion_signed) + usize::from(response_signed),
            "{name}"
        );
        if assertion_signed {
            xmlsec1_verifies(&xml, "Assertion").unwrap_or_else(|error| panic!("{name}: {error}"));
        }
        if response_signed {
            xmlsec1_verifies(&xml, "Response").unwrap_or_else(|error| panic!("{name}: {error}"));
        }
        assert!(xml.contains("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"));
        assert!(xml.contains("http://www.w3.org/2001/04/xmlenc#sha256"));
        assert!(xml.contains("http://www.w3.org/2001/10/xml-exc-c14n#"));
    }
}

#[test]
fn a_name_id_edited_after_signing_fails_xmlsec1() {
    let entra = persona("entra");
    let xml = response_for(&entra, "adele", None);
    let forged = xml.replace(
        "adele.vance@acme.test</saml2:NameID>",
        "catherine.hale@acme.test</saml2:NameID>",
    );
    assert_ne!(xml, forged, "the NameID was found and edited");
    assert!(xmlsec1_verifies(&forged, "Assertion").is_err());
}

#[test]
fn each_persona_shapes_its_response_as_the_real_idp_does() {
    let entra = response_for(&persona("entra"), "adele", Some("_req"));
    assert!(
        entra.contains(
            ">https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/</saml2:Issuer>"
        )
    );
    assert!(
        entra.contains("NotBefore=\"2026-01-15T10:00:00Z\" NotOnOrAfter=\"2026-01-15T11:10:00Z\""),
        "{entra}"
    );
    assert!(entra.contains("http://schemas.microsoft.com/identity/claims/tenantid"));
    assert!(entra.contains("Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\""));

    let okta = response_for(&persona("okta"), "isaiah", Some("_req"));
    assert!(okta.contains("ID=\"id"), "Okta's IDs start with `id`");
    assert!(
        okta.contains("SessionIndex=\"_req\""),
        "Okta's SessionIndex is the request ID"
    );
    assert!(okta.contains("Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\""));
    assert!(
        okta.contains("NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified\"")
    );
    assert!(okta.contains("xsi:type=\"xs:string\""));
    assert!(
        okta.contains("NotBefore=\"2026-01-15T09:55:00Z\" NotOnOrAfter=\"2026-01-15T10:05:00Z\"")
    );

    let jumpcloud = response_for(&persona("jumpcloud"), "adele", None);
    assert!(jumpcloud.contains("urn:oasis:names:tc:SAML:1.0:nameid-format:unspecified"));
    assert!(
        jumpcloud.contains("Name=\"memberOf\""),
        "the group attribute"
    );
    assert!(jumpcloud.contains(">Engineering</saml2:AttributeValue>"));
    assert!(!jumpcloud.contains("InResponseTo"), "unsolicited");
}

#[test]
fn markup_in_values_is_escaped_and_the_document_stays_verifiable() {
    let jumpcloud = persona("jumpcloud");
    let directory = acme();
    let member = directory
        .groups
        .iter()
        .find(|group| group.key == "rd_labs")
        .and_then(|group| group.members.first())
        .unwrap()
        .clone();
    let xml = response_for(&jumpcloud, &member, None);
    assert!(xml.contains("R&amp;D &lt;Labs&gt;"), "{xml}");
    xmlsec1_verifies(&xml, "Response").unwrap();
}

#[test]
fn snapshot_of_each_personas_response() {
    for name in PERSONAS {
        let xml = response_for(&persona(name), "adele", Some("_f3b5c6d7e8"));
        // The whole signed document: key, certificate, time and ids are fixed.
        insta::assert_snapshot!(format!("response_{name}"), xml.replace("><", ">\n<"));
    }
}

struct Idp {
    base: String,
    idp: Arc<SamlIdp>,
    http: reqwest::Client,
}

async fn start(name: &str, strict: bool, auto_login: bool) -> Idp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let idp = Arc::new(SamlIdp::new(
        persona(name),
        Arc::new(acme()),
        CREDENTIAL.clone(),
        SamlIdpConfig {
            base_url: base.clone(),
            tenant: TENANT.into(),
            service_providers: vec![ServiceProvider::parse(&format!("{SP_ENTITY}={ACS}")).unwrap()],
            strict,
            auto_login,
            clock: Arc::new(Utc::now),
        },
    ));
    let router = Arc::clone(&idp).router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Idp {
        base,
        idp,
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
    }
}

fn authn_request(id: &str, issuer: &str, acs: &str) -> String {
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" \
         IssueInstant=\"2026-01-15T10:00:00Z\" AssertionConsumerServiceURL=\"{acs}\" \
         ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\">\
         <saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"
    )
}

fn deflated(xml: &str) -> String {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(xml.as_bytes()).unwrap();
    STANDARD.encode(encoder.finish().unwrap())
}

/// The `name` hidden field of a page's form.
fn field(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = start + page[start..].find('"')?;
    Some(
        page[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

impl Idp {
    async fn redirect(&self, request: &str, extra: &[(&str, &str)]) -> (StatusCode, String) {
        let encoded = deflated(request);
        let mut query = vec![
            ("SAMLRequest", encoded.as_str()),
            ("RelayState", "relay-42"),
        ];
        query.extend_from_slice(extra);
        let response = self
            .http
            .get(self.idp.sso_url())
            .query(&query)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn sign_in(&self, page: &str, form: &[(&str, &str)]) -> String {
        let pending = field(page, "pending").expect("the page carries its pending login");
        let mut fields = vec![("pending", pending.as_str())];
        fields.extend_from_slice(form);
        let action = format!("{}/login", self.idp.sso_url());
        self.http
            .post(action)
            .form(&fields)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

fn posted_response(page: &str) -> String {
    let encoded =
        field(page, "SAMLResponse").unwrap_or_else(|| panic!("no SAMLResponse in {page}"));
    String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap()
}

#[tokio::test]
async fn metadata_names_the_entity_the_sso_endpoint_and_the_certificate() {
    let idp = start("okta", false, false).await;
    let response = idp.http.get(idp.idp.metadata_url()).send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let text = response.text().await.unwrap();
    let metadata: samael::metadata::EntityDescriptor = text.parse().unwrap();
    assert_eq!(metadata.entity_id.as_deref(), Some(idp.idp.entity_id()));
    assert_eq!(idp.idp.entity_id(), format!("http://www.okta.com/{TENANT}"));
    assert!(idp.idp.sso_url().starts_with(&idp.base));
    assert!(text.contains(&format!("Location=\"{}\"", idp.idp.sso_url())));
    assert!(text.contains(&CREDENTIAL.certificate_base64()));
}

#[tokio::test]
async fn sp_initiated_over_redirect_signs_in_through_the_page_and_keeps_the_relay_state() {
    let idp = start("entra", false, false).await;
    let (status, page) = idp
        .redirect(&authn_request("_abc123", SP_ENTITY, ACS), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("not a real Microsoft Entra ID sign-in page"));
    let posted = idp
        .sign_in(
            &page,
            &[
                ("username", "adele.vance@acme.test"),
                ("password", "anything"),
            ],
        )
        .await;
    assert!(posted.contains(&format!("action=\"{ACS}\"")), "{posted}");
    assert_eq!(field(&posted, "RelayState").as_deref(), Some("relay-42"));
    let xml = posted_response(&posted);
    assert!(xml.contains("InResponseTo=\"_abc123\""));
    assert!(xml.contains(&format!("Destination=\"{ACS}\"")));
    assert!(xml.contains(&format!("<saml2:Audience>{SP_ENTITY}</saml2:Audience>")));
    xmlsec1_verifies(&xml, "Assertion").unwrap();
}

#[tokio::test]
async fn sp_initiated_over_post_with_an_unregistered_sp_is_answered_in_lenient_mode() {
    let idp = start("generic", false, true).await;
    let other_acs = "http://127.0.0.1:10/other/acs";
    let request = authn_request("_post1", "urn:other-app", other_acs);
    let page = idp
        .http
        .post(idp.idp.sso_url())
        .form(&[
            ("SAMLRequest", STANDARD.encode(&request).as_str()),
            ("login_hint", "adele.vance@acme.test"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let xml = posted_response(&page);
    assert!(xml.contains("<saml2:Audience>urn:other-app</saml2:Audience>"));
    assert!(xml.contains(&format!("Recipient=\"{other_acs}\"")));
}

#[tokio::test]
async fn strict_mode_refuses_unregistered_sps_and_foreign_acs_urls() {
    let idp = start("okta", true, true).await;
    let (status, page) = idp
        .redirect(&authn_request("_s1", "urn:other-app", ACS), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("not registered"), "{page}");
    let (status, page) = idp
        .redirect(
            &authn_request("_s2", SP_ENTITY, "http://127.0.0.1:10/evil"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("is not the one registered"), "{page}");
}

#[tokio::test]
async fn disabled_users_and_wrong_passwords_are_refused_by_the_idp() {
    let idp = start("okta", false, true).await;
    let (_, page) = idp
        .redirect(
            &authn_request("_d1", SP_ENTITY, ACS),
            &[("login_hint", "debra.berger@acme.test")],
        )
        .await;
    assert!(page.contains("this account is disabled"), "{page}");
    assert!(field(&page, "SAMLResponse").is_none());
    let retry = idp
        .sign_in(
            &page,
            &[("username", "catherine.hale@acme.test"), ("password", "")],
        )
        .await;
    assert!(
        retry.contains("username or password is incorrect"),
        "{retry}"
    );
}

#[tokio::test]
async fn idp_initiated_posts_an_unsolicited_response_to_the_registered_acs() {
    let idp = start("okta", true, true).await;
    let page = idp
        .http
        .get(idp.idp.initiate_url())
        .query(&[
            ("sp", SP_ENTITY),
            ("login_hint", "catherine.hale@acme.test"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let xml = posted_response(&page);
    assert!(!xml.contains("InResponseTo"));
    assert!(xml.contains(&format!("Destination=\"{ACS}\"")));
    xmlsec1_verifies(&xml, "Response").unwrap();
}

#[tokio::test]
async fn malformed_requests_are_refused_with_a_reason() {
    let idp = start("entra", false, true).await;
    let doctype = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        authn_request("_x", SP_ENTITY, ACS)
    );
    let (status, page) = idp.redirect(&doctype, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("DTDs are not accepted"), "{page}");
    let (status, page) = idp
        .redirect(&authn_request("1abc", SP_ENTITY, ACS), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("starts with a digit"), "{page}");
    let response = idp
        .http
        .get(idp.idp.sso_url())
        .query(&[("SAMLRequest", "not base64!")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Over HTTP-POST a request is bounded as one inflated from HTTP-Redirect is: 64 KiB.
    let padded = authn_request("_big", SP_ENTITY, ACS).replace(
        "</samlp:AuthnRequest>",
        &format!("<!--{}--></samlp:AuthnRequest>", "x".repeat(70 * 1024)),
    );
    let response = idp
        .http
        .post(idp.idp.sso_url())
        .form(&[("SAMLRequest", STANDARD.encode(padded))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("over 64 KiB"));
    // A declared body over 2 MiB is refused before any of it is sent.
    let sso = reqwest::Url::parse(&idp.idp.sso_url()).unwrap();
    let mut stream = tokio::net::TcpStream::connect(idp.base.trim_start_matches("http://"))
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut stream,
        format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 100000000\r\n\r\n",
            sso.path()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_exact(&mut stream, &mut head),
    )
    .await
    .expect("answered without waiting for the body")
    .unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
    // A small message that inflates beyond the bound says so (a deflate bomb).
    let (status, page) = idp.redirect(&"<".repeat(1024 * 1024), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("inflates to over 64 KiB"), "{page}");
    // Only a SAML 2.0 samlp:AuthnRequest starts a login.
    let unqualified = "<AuthnRequest ID=\"_u\" Version=\"2.0\" \
                       IssueInstant=\"2026-01-15T10:00:00Z\"><Issuer>urn:x</Issuer></AuthnRequest>";
    let (status, page) = idp.redirect(unqualified, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("not an AuthnRequest of the SAML 2.0"),
        "{page}"
    );
    let version_one =
        authn_request("_v", SP_ENTITY, ACS).replace("Version=\"2.0\"", "Version=\"1.0\"");
    let (status, page) = idp.redirect(&version_one, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("VersionMismatch"), "{page}");
}

#[test]
fn entra_prefixes_an_audience_that_is_no_uri_with_spn() {
    let audience = |persona: &str, sp: &str| {
        let xml = response_to(&self::persona(persona), "adele", None, sp);
        let start = xml.find("<saml2:Audience>").unwrap() + "<saml2:Audience>".len();
        xml[start..start + xml[start..].find('<').unwrap()].to_owned()
    };
    let app_id = "6731de76-14a6-49ae-97bc-6eba6914391e";
    assert_eq!(audience("entra", app_id), format!("spn:{app_id}"));
    assert_eq!(audience("entra", "urn:app:acme"), "urn:app:acme");
    assert_eq!(audience("entra", SP_ENTITY), SP_ENTITY);
    assert_eq!(audience("okta", app_id), app_id);
}

#[tokio::test]
async fn a_destination_elsewhere_is_refused_except_by_entra_which_ignores_it() {
    let elsewhere = authn_request("_d", SP_ENTITY, ACS).replace(
        " Version=",
        " Destination=\"http://127.0.0.1:9/another-idp\" Version=",
    );
    for persona in ["okta", "google", "jumpcloud", "generic"] {
        let idp = start(persona, false, true).await;
        let (status, page) = idp.redirect(&elsewhere, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{persona}");
        assert!(
            page.contains("is not this IdP&#39;s SSO URL"),
            "{persona}: {page}"
        );
        let here = authn_request("_h", SP_ENTITY, ACS).replace(
            " Version=",
            &format!(" Destination=\"{}\" Version=", idp.idp.sso_url()),
        );
        assert_eq!(
            idp.redirect(&here, &[]).await.0,
            StatusCode::OK,
            "{persona}"
        );
    }
    // personas.md §1.2 "Request handling": Entra ignores Destination [S20].
    let entra = start("entra", false, true).await;
    let (status, page) = entra.redirect(&elsewhere, &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Choose an account"), "{page}");
}

/// The Python with python3-saml that `scripts/test` prepares in `target/python-saml`.
fn python_saml() -> std::path::PathBuf {
    let workspace = fixtures_dir().parent().unwrap().to_owned();
    let python = workspace.join("target/python-saml/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/test installs python3-saml there",
        python.display()
    );
    python
}

#[test]
fn python3_saml_accepts_every_personas_response_and_refuses_an_edited_one() {
    let directory = acme();
    let mut responses = serde_json::Map::new();
    for name in PERSONAS {
        let persona = persona(name);
        let entity_id = persona.saml.entity_id.value.replace("{tenant}", TENANT);
        let xml = signed_response(
            Issuing {
                persona: &persona,
                entity_id: &entity_id,
                tenant: TENANT,
                credential: &CREDENTIAL,
            },
            &directory,
            directory.user("adele").unwrap(),
            &Audience {
                entity_id: SP_ENTITY.into(),
                acs_url: ACS.into(),
                in_response_to: Some("_request1".into()),
                name_id_format: None,
            },
            Utc::now(),
            &mut rand::rng(),
        )
        .unwrap();
        if name == "entra" {
            let edited = xml.replace(
                ">adele.vance@acme.test</saml2:NameID>",
                ">catherine.hale@acme.test</saml2:NameID>",
            );
            assert_ne!(edited, xml);
            responses.insert(
                "entra, NameID edited".into(),
                serde_json::json!({"idp_entity_id": entity_id, "response": STANDARD.encode(edited)}),
            );
        }
        responses.insert(
            name.into(),
            serde_json::json!({"idp_entity_id": entity_id, "response": STANDARD.encode(xml)}),
        );
    }
    let input = serde_json::json!({
        "idp_certificate": CREDENTIAL.certificate_base64(),
        "sp_entity_id": SP_ENTITY,
        "acs_url": ACS,
        "request_id": "_request1",
        "responses": responses,
    });
    let script = fixtures_dir()
        .parent()
        .unwrap()
        .join("simulator/tests/support/python_saml_check.py");
    let mut child = Command::new(python_saml())
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let results: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for name in PERSONAS {
        assert_eq!(results[name], "valid", "{name}: {results}");
    }
    let edited = results["entra, NameID edited"].as_str().unwrap();
    assert_ne!(edited, "valid");
    assert!(edited.to_lowercase().contains("signature"), "{edited}");
}

fn logout_request(id: &str, issuer: &str) -> String {
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" \
         IssueInstant=\"2026-01-15T10:00:00Z\"><saml:Issuer>{issuer}</saml:Issuer>\
         <saml:NameID>adele.vance@acme.test</saml:NameID></samlp:LogoutRequest>"
    )
}

/// The message of an HTTP-Redirect binding URL, inflated.
fn redirected_message(url: &str, parameter: &str) -> String {
    let url = reqwest::Url::parse(url).unwrap();
    let encoded = url
        .query_pairs()
        .find(|(name, _)| name == parameter)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no {parameter} in {url}"));
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::DeflateDecoder::new(STANDARD.decode(encoded).unwrap().as_slice()),
        &mut xml,
    )
    .unwrap();
    xml
}

#[tokio::test]
async fn entra_answers_a_logout_request_at_its_sso_url_with_its_tenant_issuer() {
    let slo = "http://127.0.0.1:9/slo";
    let idp = start("entra", false, false).await;
    let metadata = idp.idp.metadata_xml();
    assert!(metadata.contains("SingleLogoutService"), "{metadata}");
    assert_eq!(idp.idp.slo_url(), Some(idp.idp.sso_url()));
    let registered = Arc::new(SamlIdp::new(
        persona("entra"),
        Arc::new(acme()),
        CREDENTIAL.clone(),
        SamlIdpConfig {
            base_url: idp.base.clone(),
            tenant: TENANT.into(),
            service_providers: vec![
                ServiceProvider::parse(&format!("{SP_ENTITY}={ACS},{slo}")).unwrap(),
            ],
            strict: true,
            auto_login: false,
            clock: Arc::new(Utc::now),
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Arc::clone(&registered).router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let sso = registered.sso_url().replace(&idp.base, &base);
    let answer = idp
        .http
        .get(&sso)
        .query(&[
            (
                "SAMLRequest",
                deflated(&logout_request("_lo1", SP_ENTITY)).as_str(),
            ),
            ("RelayState", "after-logout"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(slo), "{location}");
    assert!(location.contains("RelayState=after-logout"), "{location}");
    let response = redirected_message(&location, "SAMLResponse");
    let parsed: samael::schema::LogoutResponse = response.parse().unwrap();
    assert_eq!(parsed.in_response_to.as_deref(), Some("_lo1"));
    assert_eq!(parsed.destination.as_deref(), Some(slo));
    assert_eq!(
        parsed.issuer.and_then(|issuer| issuer.value).as_deref(),
        Some(format!("https://login.microsoftonline.com/{TENANT}/").as_str()),
        "Entra's LogoutResponse issuer is its login.microsoftonline.com tenant URL"
    );
    let (status, page) = idp
        .redirect(&logout_request("_lo2", "urn:unknown-app"), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("is no metadata URL"), "{page}");
    // An unregistered SP's metadata is read on this machine only: the request cannot make
    // the IdP fetch from a host it names.
    let (status, page) = idp
        .redirect(&logout_request("_lo4", "http://192.0.2.10/metadata"), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("register it with --sp"), "{page}");
    let doctype = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x \"x\">]>{}",
        logout_request("_lo5", SP_ENTITY)
    );
    let answer = idp
        .http
        .get(&sso)
        .query(&[("SAMLRequest", deflated(&doctype).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("DTDs are not accepted")
    );
    // Over the HTTP-POST binding a LogoutRequest is a logout too, never a login.
    let posted = idp
        .http
        .post(&sso)
        .form(&[(
            "SAMLRequest",
            STANDARD.encode(logout_request("_lo6", SP_ENTITY)).as_str(),
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let location = posted.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(slo), "{location}");
    assert!(redirected_message(location, "SAMLResponse").contains("InResponseTo=\"_lo6\""));
}

#[tokio::test]
async fn sp_metadata_over_one_mebibyte_is_not_read() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/metadata"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_string("<".repeat(1024 * 1024 + 1)),
        )
        .mount(&server)
        .await;
    let error = ServiceProvider::fetch(&format!("{}/metadata", server.uri()))
        .await
        .unwrap_err();
    assert!(error.contains("is over 1024 KiB"), "{error}");
}

#[tokio::test]
async fn google_offers_no_single_logout() {
    let idp = start("google", false, false).await;
    assert!(!idp.idp.metadata_xml().contains("SingleLogoutService"));
    assert_eq!(idp.idp.slo_url(), None);
    let (status, page) = idp.redirect(&logout_request("_lo3", SP_ENTITY), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("offers no single logout"), "{page}");
}

#[test]
fn an_sp_is_registered_by_its_metadata_or_by_entity_acs_and_slo() {
    let parsed =
        ServiceProvider::parse("urn:app=http://127.0.0.1:3000/acs,http://127.0.0.1:3000/slo")
            .unwrap();
    assert_eq!(parsed.entity_id, "urn:app");
    assert_eq!(parsed.slo_url.as_deref(), Some("http://127.0.0.1:3000/slo"));
    assert!(ServiceProvider::parse("urn:app=not a url").is_err());
    let metadata = "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
        entityID=\"https://app.example/saml\"><md:SPSSODescriptor \
        protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
        <md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
        Location=\"https://app.example/slo\"/>\
        <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
        Location=\"https://app.example/acs\" index=\"0\"/></md:SPSSODescriptor></md:EntityDescriptor>";
    let sp = ServiceProvider::from_metadata(metadata).unwrap();
    assert_eq!(sp.entity_id, "https://app.example/saml");
    assert_eq!(sp.acs_url, "https://app.example/acs");
    assert_eq!(sp.slo_url.as_deref(), Some("https://app.example/slo"));
    assert!(ServiceProvider::from_metadata("<!DOCTYPE x []><x/>").is_err());
}

fn authn_request_for_format(id: &str, format: &str, passive: bool) -> String {
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" \
         IssueInstant=\"2026-01-15T10:00:00Z\" AssertionConsumerServiceURL=\"{ACS}\" IsPassive=\"{passive}\">\
         <saml:Issuer>{SP_ENTITY}</saml:Issuer><samlp:NameIDPolicy Format=\"{format}\"/></samlp:AuthnRequest>"
    )
}

const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The NameID element's text and Format of a posted Response.
fn posted_name_id(page: &str) -> (String, String) {
    let xml = posted_response(page);
    let start = xml.find("<saml2:NameID").unwrap();
    let format = xml[start..]
        .split("Format=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let value = xml[start..]
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    (format, value)
}

#[tokio::test]
async fn entra_answers_a_persistent_request_with_a_pairwise_name_id_and_a_transient_one_anew() {
    let idp = start("entra", false, true).await;
    let hint = [("login_hint", "adele.vance@acme.test")];
    let (_, first) = idp
        .redirect(&authn_request_for_format("_p1", PERSISTENT, false), &hint)
        .await;
    let (_, again) = idp
        .redirect(&authn_request_for_format("_p2", PERSISTENT, false), &hint)
        .await;
    let (format, persistent) = posted_name_id(&first);
    assert_eq!(format, PERSISTENT);
    assert_ne!(persistent, "adele.vance@acme.test", "opaque, not the UPN");
    assert_eq!(
        posted_name_id(&again).1,
        persistent,
        "stable for the same SP"
    );
    let (_, one) = idp
        .redirect(&authn_request_for_format("_t1", TRANSIENT, false), &hint)
        .await;
    let (_, two) = idp
        .redirect(&authn_request_for_format("_t2", TRANSIENT, false), &hint)
        .await;
    assert_eq!(posted_name_id(&one).0, TRANSIENT);
    assert_ne!(
        posted_name_id(&one).1,
        posted_name_id(&two).1,
        "new at each sign-in"
    );
    let (_, email) = idp
        .redirect(&authn_request_for_format("_e1", EMAIL, false), &hint)
        .await;
    assert_eq!(
        posted_name_id(&email),
        (EMAIL.to_owned(), "adele.vance@acme.test".to_owned())
    );
}

#[tokio::test]
async fn okta_refuses_a_name_id_format_it_is_not_configured_for_with_an_error_response() {
    let idp = start("okta", false, true).await;
    let (status, page) = idp
        .redirect(
            &authn_request_for_format("_n1", EMAIL, false),
            &[("login_hint", "adele.vance@acme.test")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let xml = posted_response(&page);
    assert!(xml.contains("status:Requester"), "{xml}");
    assert!(xml.contains("status:InvalidNameIDPolicy"), "{xml}");
    assert!(xml.contains("InResponseTo=\"_n1\""), "{xml}");
    assert!(
        !xml.contains("<saml2:Assertion"),
        "no assertion in an error response"
    );
}

#[tokio::test]
async fn a_passive_request_is_answered_no_passive_without_an_idp_session() {
    let idp = start("generic", false, false).await;
    let (_, page) = idp
        .redirect(&authn_request_for_format("_np", EMAIL, true), &[])
        .await;
    let xml = posted_response(&page);
    assert!(xml.contains("status:Responder"), "{xml}");
    assert!(xml.contains("status:NoPassive"), "{xml}");
}
