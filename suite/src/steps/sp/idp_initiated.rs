//! What a SAML connection does with an IdP-initiated login (seeds 001, 004; personas.md §2.2):
//! its policy set through the admin API, and a login started at the IdP followed to the end.

use super::super::sso::step_error;
use super::browser::{Hop, LAST_WALK, finish_sign_in, walk};
use super::{change_saml_settings, login_name};
use crate::world::{ScimWorld, StepError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cucumber::{given, then, when};
use reqwest::Url;
use serde_json::Value;

#[given(
    regex = r#"^the connection answers IdP-initiated logins with "(Accept|Refuse|StartSpInitiated)"$"#
)]
async fn idp_initiated_policy(world: &mut ScimWorld, policy: String) -> Result<(), StepError> {
    change_saml_settings(world, |settings| {
        settings.insert("idp_initiated".into(), Value::String(policy.clone()));
    })
    .await?;
    let stored = world
        .sso()?
        .saml
        .as_ref()
        .map(|side| side.connection.idp_initiated.to_string());
    if stored.as_deref() == Some(policy.as_str()) {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "the admin API kept the IdP-initiated policy {stored:?}, not {policy}"
        )))
    }
}

/// Starts at the IdP's launch URL for the SP (an IdP-initiated login of the user) and lets the
/// browser go wherever the IdP and the SP send it, posting every SAML form, until a page that
/// is neither; the outcome is a sign-in as any other.
#[when(
    regex = r#"^the user "([^"]+)" starts at the IdP and the browser follows the reference SP to the end$"#
)]
async fn idp_start_followed(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let hint = login_name(world, &user)?;
    let side = world
        .sso()?
        .saml
        .as_ref()
        .ok_or_else(|| StepError::Step("this scenario serves no SAML IdP".into()))?;
    let mut url = Url::parse(&side.idp.initiate_url()).map_err(step_error)?;
    url.query_pairs_mut()
        .append_pair("sp", &sp.saml_entity_id(&side.connection.id))
        .append_pair("login_hint", &hint);
    let walk = walk(world, Hop::Get(url)).await?;
    if let Some(fields) = walk.posted.last() {
        let xml = fields
            .iter()
            .find(|(name, _)| name == "SAMLResponse")
            .and_then(|(_, value)| STANDARD.decode(value).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_default();
        if let Some(side) = world.sso_mut()?.saml.as_mut() {
            side.last_posted = Some((xml, fields.clone()));
        }
    }
    finish_sign_in(world, walk)
}

/// The browser posted an unsolicited Response to the ACS, was sent to the SP's own login of the
/// connection with the NameID as `login_hint`, and the Response it posted last answers the
/// AuthnRequest that login sent (seed 004).
#[then("the browser went through a fresh SP-initiated sign-in")]
fn fresh_sp_initiated(world: &mut ScimWorld) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let side = world
        .sso()?
        .saml
        .as_ref()
        .ok_or_else(|| StepError::Step("this scenario serves no SAML IdP".into()))?;
    let acs = format!("POST {}", sp.saml_acs_url(&side.connection.id));
    let login = format!("GET {}/sso/saml/{}/login?", sp.origin(), side.connection.id);
    let visited: Vec<String> =
        serde_json::from_str(world.recall(LAST_WALK)?).map_err(step_error)?;
    let first_post = visited.iter().position(|request| *request == acs);
    let through_login = first_post.and_then(|at| {
        visited
            .iter()
            .skip(at)
            .position(|request| request.starts_with(&login) && request.contains("login_hint="))
            .map(|offset| at + offset)
    });
    let posted_again =
        through_login.is_some_and(|at| visited.iter().skip(at).any(|request| *request == acs));
    let answers_request = side
        .last_posted
        .as_ref()
        .and_then(|(xml, _)| root_start_tag(xml))
        .is_some_and(|tag| tag.contains("InResponseTo=\""));
    if posted_again && answers_request {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the unsolicited Response to lead to the SP's login ({login}…) and a Response \
             answering its AuthnRequest (InResponseTo: {answers_request}); the browser went \
             through {visited:?}"
        )))
    }
}

/// The start tag of the document's root element.
fn root_start_tag(xml: &str) -> Option<&str> {
    let mut rest = xml;
    loop {
        let open = rest.find('<')?;
        rest = rest.get(open..)?;
        if rest.starts_with("<?") || rest.starts_with("<!") {
            rest = rest.get(1..)?;
            continue;
        }
        let end = rest.find('>')?;
        return rest.get(..=end);
    }
}
