//! The bundled reference SP's sign-in routing and account rules, driven as a browser and an
//! app would: `/sso/start` and `/sso/domain` (`routing`, seed 004), the break-glass login page
//! `/login` (`break_glass`, seed 000), a SAML connection's answer to IdP-initiated logins
//! (`idp_initiated`, seeds 001, 004), teams linked to IdP groups (`teams`, seed 000),
//! just-in-time provisioning and the `deactivate` deletion policy (`lifecycle`, seeds 000, 001,
//! 003) and the matching report (`report`, seed 002).
//!
//! The organization the scenario's connection is paired with (or, before it is paired, the one
//! its IdP provisions) is configured through the admin API (`/admin/v1`, with the SP's admin
//! key), and its SCIM directory is read through the SCIM API with a token the admin API issues
//! for it. Steps that act on the organization remember its id as `organization` and the
//! scenario's connection as `connection`, so features can write `{organization}` and
//! `{connection}` in the URLs a browser opens (`browser`).

mod break_glass;
mod browser;
mod idp_initiated;
mod lifecycle;
mod report;
mod routing;
mod teams;

use super::provisioning::no_user;
use super::sso::step_error;
use crate::world::{ScimWorld, StepError};
use idpsim_reference_sp::IdpInitiatedPolicy;
use idpsim_simulator::oidc::claims::sign_in_name;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The remembered id of the organization the scenario's connection is paired with.
const ORGANIZATION: &str = "organization";
/// The remembered id of the scenario's connection.
const CONNECTION: &str = "connection";
/// The remembered SCIM token of the organization.
const ORGANIZATION_TOKEN: &str = "token:organization";

/// Calls the admin API with the SP's admin key; fails unless the status is one of `expected`.
/// Answers the JSON body (`null` when empty).
async fn admin(
    world: &ScimWorld,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: &[u16],
) -> Result<Value, StepError> {
    let sp = world.reference_sp()?;
    let url = format!("{}/admin/v1{path}", sp.origin());
    let mut request = reqwest::Client::new()
        .request(method.clone(), &url)
        .bearer_auth(sp.admin_key());
    if let Some(body) = &body {
        request = request
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.map_err(step_error)?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(step_error)?;
    if !expected.contains(&status) {
        return Err(StepError::Expectation(format!(
            "the admin API answered {method} {path} with HTTP {status} (expected {expected:?}): {text}"
        )));
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|error| {
        StepError::Expectation(format!(
            "the admin API answered {method} {path} with a body that is not JSON ({error}): {text}"
        ))
    })
}

/// The scenario's connection: its id, protocol and organization (the SAML one, or the first
/// OpenID Connect one).
fn main_connection(world: &ScimWorld) -> Result<(String, &'static str, Option<String>), StepError> {
    let sso = world.sso()?;
    if let Some(saml) = &sso.saml {
        return Ok((
            saml.connection.id.clone(),
            "saml",
            saml.connection.organization.clone(),
        ));
    }
    sso.connections
        .first()
        .map(|connection| {
            (
                connection.id.clone(),
                "oidc",
                connection.organization.clone(),
            )
        })
        .ok_or_else(|| StepError::Step("the scenario has no SSO connection".into()))
}

/// The organization the scenario's connection is paired with, or the one its IdP provisions;
/// remembered as `organization`, and the connection as `connection`.
fn organization(world: &mut ScimWorld) -> Result<String, StepError> {
    let connection = main_connection(world).ok();
    let paired = connection
        .as_ref()
        .and_then(|(_, _, organization)| organization.clone());
    let provisioned = world
        .provisioning()
        .ok()
        .and_then(|provisioning| provisioning.organization.clone());
    let id = paired.or(provisioned).ok_or_else(|| {
        StepError::Step(
            "the scenario has no organization: pair the connection with the SCIM directory of \
             the target, or start an IdP persona"
                .into(),
        )
    })?;
    world.remember(ORGANIZATION, id.clone());
    if let Some((connection, _, _)) = connection {
        world.remember(CONNECTION, connection);
    }
    Ok(id)
}

/// The organization the scenario's connection is paired with (and not only the one its IdP
/// provisions): the connection's settings belong to it.
fn paired_organization(world: &mut ScimWorld) -> Result<String, StepError> {
    let (_, _, paired) = main_connection(world)?;
    paired.ok_or_else(|| {
        StepError::Step(
            "pair the connection with the SCIM directory of the target first: its settings \
             belong to the organization"
                .into(),
        )
    })?;
    organization(world)
}

/// A read-write SCIM token of the organization, issued through the admin API once.
async fn organization_token(world: &mut ScimWorld) -> Result<String, StepError> {
    if let Ok(token) = world.recall(ORGANIZATION_TOKEN) {
        return Ok(token.to_owned());
    }
    let id = organization(world)?;
    let issued = admin(
        world,
        Method::POST,
        &format!("/organizations/{id}/tokens"),
        Some(json!({ "role": "read-write" })),
        &[201],
    )
    .await?;
    let token = issued["token"]
        .as_str()
        .ok_or_else(|| StepError::Expectation(format!("the admin API issued no token: {issued}")))?
        .to_owned();
    world.remember(ORGANIZATION_TOKEN, token.clone());
    Ok(token)
}

/// Makes the next SCIM request of the scenario carry the organization's token (the
/// scenario's own credentials stay as they are).
async fn with_organization_token(world: &mut ScimWorld) -> Result<(), StepError> {
    let token = organization_token(world).await?;
    world.set_next_request_header("Authorization", &format!("Bearer {token}"));
    Ok(())
}

/// The users of the organization's directory whose `attribute` equals `value`.
async fn users_where(
    world: &mut ScimWorld,
    attribute: &str,
    value: &str,
) -> Result<Vec<Value>, StepError> {
    let filter = format!(
        "{attribute} eq \"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    );
    with_organization_token(world).await?;
    let last = world
        .send_query("/Users", &[("filter".to_owned(), filter)])
        .await?;
    let (status, body) = (last.status, last.json.clone().unwrap_or(Value::Null));
    if status != 200 {
        return Err(world.failure(format!(
            "expected the organization's directory to answer the query with 200, it answered {status}"
        )));
    }
    Ok(body["Resources"].as_array().cloned().unwrap_or_default())
}

/// The sign-in name of a directory user at the scenario's IdP.
fn login_name(world: &ScimWorld, user: &str) -> Result<String, StepError> {
    let sso = world.sso()?;
    let entry = sso.directory.user(user).ok_or_else(|| no_user(user))?;
    sign_in_name(&sso.persona, entry).ok_or_else(|| {
        StepError::Step(format!(
            "\"{user}\" has no sign-in name at {}",
            sso.persona.name
        ))
    })
}

/// Changes the settings of the scenario's SAML connection through the admin API (read with GET,
/// written back with PUT under the same id, IdP type and strategy) and keeps the scenario's
/// copy of the connection in step, so later changes start from it.
async fn change_saml_settings(
    world: &mut ScimWorld,
    change: impl FnOnce(&mut Map<String, Value>),
) -> Result<(), StepError> {
    let id = paired_organization(world)?;
    let path = format!("/organizations/{id}/connection");
    let current = admin(world, Method::GET, &path, None, &[200]).await?;
    if current["protocol"] != "saml" {
        return Err(StepError::Step(format!(
            "the organization's connection is not a SAML one: {current}"
        )));
    }
    let mut settings = current["settings"].as_object().cloned().ok_or_else(|| {
        StepError::Expectation(format!("the connection has no settings: {current}"))
    })?;
    change(&mut settings);
    let answer = admin(
        world,
        Method::PUT,
        &path,
        Some(json!({
            "id": current["id"],
            "protocol": "saml",
            "idp_type": current["idp_type"],
            "matching": current["matching"],
            "settings": settings,
        })),
        &[200],
    )
    .await?;
    let stored = &answer["settings"];
    let policy: IdpInitiatedPolicy = stored["idp_initiated"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(StepError::Expectation)?;
    let claim_attributes: BTreeMap<String, String> =
        serde_json::from_value(stored["claim_attributes"].clone()).map_err(step_error)?;
    let side = world
        .sso_mut()?
        .saml
        .as_mut()
        .ok_or_else(|| StepError::Step("this scenario serves no SAML IdP".into()))?;
    side.connection.idp_initiated = policy;
    side.connection.claim_attributes = claim_attributes;
    Ok(())
}
