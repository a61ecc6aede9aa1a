//! Signing in to the bundled reference SP through a persona's SAML IdP, which the scenario
//! serves on 127.0.0.1:0 in test mode (the `login_hint` user is signed in without a page):
//! personas.md §1.2, §2.2, §3.2, §4.2, §6.2. The steps follow the browser's path — the SP's
//! AuthnRequest over HTTP-Redirect, the IdP's auto-submitting form, the POST to the ACS — and
//! can change the Response on its way (an edited NameID, signatures removed), replay it, set
//! the IdP's clock back, or start the login at the IdP.

use super::sso::{
    default_matching, follow, last_cookie, last_session, persona_and_directory, record_sign_in,
    step_error,
};
use crate::world::{SamlSide, ScimWorld, SsoScenario, StepError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use cucumber::{given, then, when};
use idpsim_reference_sp::{IdpInitiatedPolicy, SamlConnection};
use idpsim_simulator::saml::{SamlCredential, SamlIdp, SamlIdpConfig, ServiceProvider};
use serde_json::Value;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};

/// The IdPs' signing credential: one per run, since RSA generation is the slow part.
static CREDENTIAL: LazyLock<Result<SamlCredential, String>> = LazyLock::new(|| {
    SamlCredential::generate("idpsim conformance IdP").map_err(|error| error.to_string())
});

/// What the steps can do to a Response between the IdP's form and the SP's ACS.
const EDIT_NAME_ID: &str = "with its NameID edited after signing";
const STRIP_SIGNATURES: &str = "without its signatures";

#[given(regex = r#"^the "([^"]+)" SAML IdP with the directory "([^"]+)"$"#)]
async fn saml_idp(
    world: &mut ScimWorld,
    persona: String,
    directory: String,
) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let (persona, directory) = persona_and_directory(world, &persona, &directory)?;
    let credential = CREDENTIAL.as_ref().map_err(step_error)?.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(step_error)?;
    let base = format!("http://{}", listener.local_addr().map_err(step_error)?);
    let id = format!("{}-saml-{}", persona.name, world.unique());
    let clock_offset_minutes = Arc::new(AtomicI64::new(0));
    let offset = Arc::clone(&clock_offset_minutes);
    let idp = Arc::new(SamlIdp::new(
        persona.clone(),
        Arc::new(directory.clone()),
        credential,
        SamlIdpConfig {
            base_url: base,
            tenant: format!("tenant-{}", world.unique()),
            service_providers: vec![ServiceProvider {
                entity_id: sp.saml_entity_id(&id),
                acs_url: sp.saml_acs_url(&id),
                slo_url: Some(sp.saml_slo_url(&id)),
            }],
            strict: false,
            auto_login: true,
            clock: {
                let shared = world.clock();
                Arc::new(move || shared() - Duration::minutes(offset.load(Ordering::SeqCst)))
            },
        },
    ));
    let connection = SamlConnection {
        id,
        idp_entity_id: idp.entity_id().to_owned(),
        idp_sso_url: idp.sso_url(),
        idp_slo_url: idp.slo_url(),
        idp_certificates: vec![idp.certificate_pem().to_owned()],
        organization: None,
        matching: default_matching(&persona)?,
        claim_attributes: persona.saml.oidc_equivalents.value.clone(),
        idp_initiated: IdpInitiatedPolicy::Accept,
    };
    sp.add_saml_connection(connection.clone()).await?;
    let router = Arc::clone(&idp).router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    world.start_sso(SsoScenario {
        persona,
        directory,
        connections: Vec::new(),
        saml: Some(SamlSide {
            idp,
            connection,
            clock_offset_minutes,
            tampering: None,
            last_posted: None,
            last_sign_out: None,
        }),
        server,
        sessions: Vec::new(),
        last_refusal: None,
    });
    Ok(())
}

fn saml(world: &ScimWorld) -> Result<&SamlSide, StepError> {
    world
        .sso()?
        .saml
        .as_ref()
        .ok_or_else(|| StepError::Step("this scenario serves no SAML IdP".into()))
}

fn saml_mut(world: &mut ScimWorld) -> Result<&mut SamlSide, StepError> {
    world
        .sso_mut()?
        .saml
        .as_mut()
        .ok_or_else(|| StepError::Step("this scenario serves no SAML IdP".into()))
}

/// An SP-initiated sign-in of the user whose sign-in name is `login_hint`: the SP's login URL,
/// the IdP's form, the POST to the ACS and `/whoami`. Returns the last answer's status and body
/// and the session cookie.
pub(crate) async fn sign_in(
    world: &mut ScimWorld,
    login_hint: &str,
) -> Result<(u16, String, Option<String>), StepError> {
    let sp = world.reference_sp()?;
    let id = saml(world)?.connection.id.clone();
    let url =
        reqwest::Url::parse(&format!("{}/sso/saml/{id}/login", sp.origin())).map_err(step_error)?;
    let landing = follow(url, login_hint, None).await?;
    post_to_acs(world, landing.status, landing.body).await
}

/// Posts the Response of the IdP's page to the SP (changed as the scenario said) and follows
/// the SP to `/whoami`; a page without a Response is the IdP's refusal.
async fn post_to_acs(
    world: &mut ScimWorld,
    status: u16,
    page: String,
) -> Result<(u16, String, Option<String>), StepError> {
    let Some((action, mut fields)) = saml_form(&page) else {
        return Ok((status, page, None));
    };
    let side = saml_mut(world)?;
    if let Some(tampering) = side.tampering.take() {
        tamper(&mut fields, &tampering)?;
    }
    let xml = fields
        .iter()
        .find(|(name, _)| name == "SAMLResponse")
        .and_then(|(_, value)| STANDARD.decode(value).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default();
    side.last_posted = Some((xml, fields.clone()));
    post(&action, &fields).await
}

/// Posts a form to the ACS as a browser would and follows the SP's redirect to `/whoami`.
async fn post(
    action: &str,
    fields: &[(String, String)],
) -> Result<(u16, String, Option<String>), StepError> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(step_error)?;
    let answer = browser
        .post(action)
        .form(fields)
        .send()
        .await
        .map_err(step_error)?;
    let cookie = answer
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::to_owned);
    let next = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    match next {
        Some(next) => {
            let url = reqwest::Url::parse(action)
                .and_then(|action| action.join(&next))
                .map_err(step_error)?;
            let landing = follow(url, "", cookie).await?;
            Ok((landing.status, landing.body, landing.cookie))
        }
        None => {
            let status = answer.status().as_u16();
            Ok((status, answer.text().await.map_err(step_error)?, None))
        }
    }
}

/// The action and fields of an auto-submitting SAML form (the IdP's Response, or a Request
/// posted to an IdP), when `page` is one.
pub(crate) fn saml_form(page: &str) -> Option<(String, Vec<(String, String)>)> {
    let action = attribute_after(page, "<form method=\"post\" action=\"")?;
    let mut fields = Vec::new();
    for name in ["SAMLResponse", "SAMLRequest", "RelayState"] {
        if let Some(value) = attribute_after(page, &format!("name=\"{name}\" value=\"")) {
            fields.push((name.to_owned(), value));
        }
    }
    fields
        .iter()
        .any(|(name, _)| name.starts_with("SAML"))
        .then_some((action, fields))
}

/// The HTML attribute value that starts right after `marker`, unescaped.
pub(crate) fn attribute_after(page: &str, marker: &str) -> Option<String> {
    let start = page.find(marker)? + marker.len();
    let end = start + page.get(start..)?.find('"')?;
    Some(
        page.get(start..end)?
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Changes the posted Response as an attacker on the way would.
fn tamper(fields: &mut [(String, String)], tampering: &str) -> Result<(), StepError> {
    let Some((_, encoded)) = fields.iter_mut().find(|(name, _)| name == "SAMLResponse") else {
        return Ok(());
    };
    let mut xml = STANDARD
        .decode(encoded.as_str())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| StepError::Step("the IdP's Response is not base64 XML".into()))?;
    match tampering {
        EDIT_NAME_ID => {
            let open = xml
                .find("<saml2:NameID")
                .and_then(|start| xml[start..].find('>').map(|end| start + end + 1))
                .ok_or_else(|| StepError::Step("the Response has no NameID".into()))?;
            let close = open
                + xml[open..]
                    .find("</saml2:NameID>")
                    .ok_or_else(|| StepError::Step("the NameID is not closed".into()))?;
            xml.replace_range(open..close, "attacker@evil.example");
        }
        STRIP_SIGNATURES => {
            while let Some(start) = xml.find("<ds:Signature ") {
                let end = xml[start..]
                    .find("</ds:Signature>")
                    .map(|end| start + end + "</ds:Signature>".len())
                    .ok_or_else(|| StepError::Step("a Signature is not closed".into()))?;
                xml.replace_range(start..end, "");
            }
        }
        other => return Err(StepError::Step(format!("unknown change: {other}"))),
    }
    *encoded = STANDARD.encode(xml);
    Ok(())
}

#[when(
    regex = r#"^the next Response reaches the reference SP (with its NameID edited after signing|without its signatures)$"#
)]
fn next_response(world: &mut ScimWorld, tampering: String) -> Result<(), StepError> {
    saml_mut(world)?.tampering = Some(tampering);
    Ok(())
}

#[when(regex = r#"^the IdP's clock runs (\d+) minutes behind$"#)]
fn clock_behind(world: &mut ScimWorld, minutes: i64) -> Result<(), StepError> {
    saml(world)?
        .clock_offset_minutes
        .store(minutes, Ordering::SeqCst);
    Ok(())
}

/// The user's sign-in name at the scenario's IdP.
fn login_of(world: &ScimWorld, user: &str) -> Result<String, StepError> {
    let sso = world.sso()?;
    let entry = sso
        .directory
        .user(user)
        .ok_or_else(|| StepError::Step(format!("the directory has no user \"{user}\"")))?;
    idpsim_simulator::oidc::claims::sign_in_name(&sso.persona, entry)
        .ok_or_else(|| StepError::Step(format!("\"{user}\" has no sign-in name")))
}

#[when(
    regex = r#"^the user "([^"]+)" signs in through an IdP-initiated login(?: addressed to "([^"]+)")?$"#
)]
async fn idp_initiated(
    world: &mut ScimWorld,
    user: String,
    audience: String,
) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let hint = login_of(world, &user)?;
    let side = saml(world)?;
    let id = side.connection.id.clone();
    let mut url = reqwest::Url::parse(&side.idp.initiate_url()).map_err(step_error)?;
    {
        let mut query = url.query_pairs_mut();
        if audience.is_empty() {
            query.append_pair("sp", &sp.saml_entity_id(&id));
        } else {
            // An SP the IdP does not know: the IdP posts to the ACS it is given.
            query
                .append_pair("sp", &audience)
                .append_pair("acs", &sp.saml_acs_url(&id));
        }
    }
    let landing = follow(url, &hint, None).await?;
    let (status, body, cookie) = post_to_acs(world, landing.status, landing.body).await?;
    record_sign_in(world, status, body, cookie)
}

#[when("the same Response is posted to the reference SP again")]
async fn replay(world: &mut ScimWorld) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let side = saml(world)?;
    let (_, fields) = side
        .last_posted
        .clone()
        .ok_or_else(|| StepError::Step("no Response was posted in this scenario".into()))?;
    let acs = sp.saml_acs_url(&side.connection.id);
    let (status, body, cookie) = post(&acs, &fields).await?;
    record_sign_in(world, status, body, cookie)
}

/// The signed-in user's native attribute from the persona's block, as text.
fn native_attribute(world: &ScimWorld, user: &str, attribute: &str) -> Result<String, StepError> {
    let sso = world.sso()?;
    let value = sso
        .directory
        .user(user)
        .and_then(|entry| entry.blocks.get(&sso.persona.directory_block))
        .and_then(|block| block.get(attribute))
        .ok_or_else(|| StepError::Step(format!("\"{user}\" has no IdP attribute `{attribute}`")))?;
    Ok(value
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| value.to_string()))
}

fn expect_equal(what: &str, actual: &Value, expected: &str) -> Result<(), StepError> {
    let text = actual
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| actual.to_string());
    if text == expected {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected {what} to be \"{expected}\", it is {actual}"
        )))
    }
}

#[then(regex = r#"^the NameID is the IdP attribute "([^"]+)" of "([^"]+)"$"#)]
fn name_id_is(world: &mut ScimWorld, attribute: String, user: String) -> Result<(), StepError> {
    let expected = native_attribute(world, &user, &attribute)?;
    expect_equal("the NameID", &last_session(world)?["subject"], &expected)
}

#[then(regex = r#"^the NameID format is "([^"]+)"$"#)]
fn name_id_format(world: &mut ScimWorld, format: String) -> Result<(), StepError> {
    expect_equal(
        "the NameID format",
        &last_session(world)?["claims"]["name_id_format"],
        &format,
    )
}

#[then(
    regex = r#"^the assertion attribute "([^"]+)" is the IdP attribute "([^"]+)" of "([^"]+)"$"#
)]
fn attribute_is_native(
    world: &mut ScimWorld,
    name: String,
    attribute: String,
    user: String,
) -> Result<(), StepError> {
    let expected = native_attribute(world, &user, &attribute)?;
    let what = format!("the attribute `{name}`");
    expect_equal(&what, &last_session(world)?["claims"][&name], &expected)
}

#[then(regex = r#"^the assertion attribute "([^"]+)" is "([^"]*)"$"#)]
fn attribute_is(world: &mut ScimWorld, name: String, expected: String) -> Result<(), StepError> {
    let what = format!("the attribute `{name}`");
    expect_equal(&what, &last_session(world)?["claims"][&name], &expected)
}

#[then(regex = r#"^the assertion attribute "([^"]+)" lists "([^"]+)"$"#)]
fn attribute_lists(world: &mut ScimWorld, name: String, value: String) -> Result<(), StepError> {
    let actual = &last_session(world)?["claims"][&name];
    let listed = match actual {
        Value::Array(items) => items.iter().any(|item| item == value.as_str()),
        Value::String(text) => *text == value,
        _ => false,
    };
    if listed {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the attribute `{name}` to list \"{value}\", it is {actual}"
        )))
    }
}

#[then(regex = r#"^the assertion attribute "([^"]+)" is the IdP's tenant$"#)]
fn attribute_is_tenant(world: &mut ScimWorld, name: String) -> Result<(), StepError> {
    let tenant = format!("tenant-{}", world.unique());
    let what = format!("the attribute `{name}`");
    expect_equal(&what, &last_session(world)?["claims"][&name], &tenant)
}

/// Which elements of the posted Response carry a signature: the Response's own comes before
/// its Assertion, the Assertion's inside it.
#[then(
    regex = r#"^the IdP signed (only the assertion|only the response|the response and the assertion)$"#
)]
fn signed_elements(world: &mut ScimWorld, expected: String) -> Result<(), StepError> {
    let (xml, _) = saml(world)?
        .last_posted
        .clone()
        .ok_or_else(|| StepError::Step("no Response was posted in this scenario".into()))?;
    let assertion_at = xml
        .find("<saml2:Assertion")
        .ok_or_else(|| StepError::Expectation("the Response has no Assertion".into()))?;
    let signatures: Vec<usize> = xml
        .match_indices("<ds:Signature ")
        .map(|(at, _)| at)
        .collect();
    let response_signed = signatures.iter().any(|at| *at < assertion_at);
    let assertion_signed = signatures.iter().any(|at| *at > assertion_at);
    let actual = match (response_signed, assertion_signed) {
        (false, true) => "only the assertion",
        (true, false) => "only the response",
        (true, true) => "the response and the assertion",
        (false, false) => "nothing",
    };
    if actual == expected {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the IdP to have signed {expected}, it signed {actual}"
        )))
    }
}

#[then(
    regex = r#"^the AuthnStatement's SessionIndex is (the assertion's ID|the AuthnRequest's ID)$"#
)]
fn session_index(world: &mut ScimWorld, expected: String) -> Result<(), StepError> {
    let (xml, _) = saml(world)?
        .last_posted
        .clone()
        .ok_or_else(|| StepError::Step("no Response was posted in this scenario".into()))?;
    let value_of = |marker: &str| attribute_after(&xml, marker);
    let index = value_of("SessionIndex=\"");
    let wanted = if expected == "the assertion's ID" {
        xml.find("<saml2:Assertion")
            .and_then(|at| attribute_after(&xml[at..], " ID=\""))
    } else {
        value_of("InResponseTo=\"")
    };
    if index.is_some() && index == wanted {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the SessionIndex to be {expected} ({wanted:?}), it is {index:?}"
        )))
    }
}

/// Signs the last session out at the SP (`/logout` with its cookie) and follows the browser
/// through any single logout at the IdP.
#[when("the user signs out of the reference SP")]
async fn signs_out(world: &mut ScimWorld) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let cookie = last_cookie(world)?;
    let url = reqwest::Url::parse(&format!("{}/logout", sp.origin())).map_err(step_error)?;
    let landing = follow(url, "", Some(cookie)).await?;
    saml_mut(world)?.last_sign_out = Some((landing.visited, landing.status, landing.body));
    Ok(())
}

#[then(regex = r"^the sign-out (went through the IdP's single logout|stayed at the reference SP)$")]
fn sign_out_path(world: &mut ScimWorld, path: String) -> Result<(), StepError> {
    let side = saml(world)?;
    let (visited, status, body) = side
        .last_sign_out
        .clone()
        .ok_or_else(|| StepError::Step("no one has signed out in this scenario".into()))?;
    let idp_base = side.idp.sso_url();
    let through_idp = visited.iter().any(|url| url.starts_with(&idp_base));
    let expected_idp = path.starts_with("went");
    if status == 200 && through_idp == expected_idp && body.to_lowercase().contains("signed out") {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the sign-out to have {path}; the browser went to {visited:?} and got HTTP {status}: {body}"
        )))
    }
}
