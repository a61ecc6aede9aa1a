//! Routing a sign-in (seed 004): verified domains, a second organization to route away from,
//! `/sso/start` by precedence, and the `/sso/domain` check.

use super::browser::{keep_answer, last_answer, send, sp_url};
use super::{admin, main_connection, organization};
use crate::world::{ScimWorld, StepError};
use cucumber::{given, then, when};
use reqwest::{Method, Url};
use serde_json::{Value, json};

/// The remembered id of the second organization.
const SECOND_ORGANIZATION: &str = "second-organization";
/// The remembered id of the second organization's connection.
const SECOND_CONNECTION: &str = "second-connection";

#[given(regex = r#"^the organization has verified the domain "([^"]+)"$"#)]
async fn verified_domain(world: &mut ScimWorld, domain: String) -> Result<(), StepError> {
    let id = organization(world)?;
    let domain = world.expand(&domain)?;
    admin(
        world,
        Method::POST,
        &format!("/organizations/{id}/domains"),
        Some(json!({ "domain": domain })),
        &[201],
    )
    .await?;
    Ok(())
}

/// A second organization, created through the admin API, whose SSO connection is the
/// scenario's OpenID Connect provider through its other client (the same persona, another
/// registration), with a verified domain of its own.
#[given(
    regex = r#"^a second organization signs in through the provider's other client and has verified the domain "([^"]+)"$"#
)]
async fn second_organization(world: &mut ScimWorld, domain: String) -> Result<(), StepError> {
    let domain = world.expand(&domain)?;
    let other = world.sso()?.connections.get(1).cloned().ok_or_else(|| {
        StepError::Step(
            "this needs an OpenID Connect provider: its other client is the second \
                 organization's connection"
                .into(),
        )
    })?;
    let created = admin(
        world,
        Method::POST,
        "/organizations",
        Some(json!({ "name": format!("second {}", world.unique()) })),
        &[201],
    )
    .await?;
    let id = created["id"]
        .as_str()
        .ok_or_else(|| {
            StepError::Expectation(format!(
                "the admin API created no organization id: {created}"
            ))
        })?
        .to_owned();
    admin(
        world,
        Method::PUT,
        &format!("/organizations/{id}/connection"),
        Some(json!({
            "id": other.id,
            "protocol": "oidc",
            "matching": other.matching.to_string(),
            "settings": {
                "issuer": other.issuer,
                "client_id": other.client_id,
                "client_secret": other.client_secret,
            },
        })),
        &[200, 201],
    )
    .await?;
    admin(
        world,
        Method::POST,
        &format!("/organizations/{id}/domains"),
        Some(json!({ "domain": domain })),
        &[201],
    )
    .await?;
    if let Some(connection) = world.sso_mut()?.connections.get_mut(1) {
        connection.organization = Some(id.clone());
    }
    world.remember(SECOND_ORGANIZATION, id);
    world.remember(SECOND_CONNECTION, other.id);
    Ok(())
}

/// A GET as a browser or an app sends it, its placeholders expanded; the answer is kept and no
/// redirect is followed.
#[when(regex = r#"^a browser opens "([^"]+)" at the reference SP$"#)]
#[when(regex = r#"^the app asks the reference SP "([^"]+)"$"#)]
async fn opens(world: &mut ScimWorld, path: String) -> Result<(), StepError> {
    let url = sp_url(world, &path)?;
    let answer = send(world, Method::GET, url, None, None).await?;
    keep_answer(world, &answer)
}

#[then(
    regex = r#"^the browser is sent to the login of (the connection|the second organization's connection)(?: with the login_hint "([^"]+)")?$"#
)]
fn sent_to_login(world: &mut ScimWorld, which: String, hint: String) -> Result<(), StepError> {
    let (id, protocol) = if which == "the connection" {
        let (id, protocol, _) = main_connection(world)?;
        (id, protocol)
    } else {
        (world.recall(SECOND_CONNECTION)?.to_owned(), "oidc")
    };
    let expected = format!(
        "{}/sso/{protocol}/{id}/login",
        world.reference_sp()?.origin()
    );
    let answer = last_answer(world)?;
    let location = answer
        .location
        .as_deref()
        .filter(|_| (300..400).contains(&answer.status))
        .and_then(|location| Url::parse(location).ok());
    let Some(location) = location else {
        return Err(StepError::Expectation(format!(
            "expected a redirect to {expected}, but {}",
            answer.describe()
        )));
    };
    let mut at = location.clone();
    at.set_query(None);
    if at.as_str() != expected {
        return Err(StepError::Expectation(format!(
            "expected a redirect to {expected} ({which}), but {}",
            answer.describe()
        )));
    }
    if hint.is_empty() {
        return Ok(());
    }
    let hint = world.expand(&hint)?;
    let passed = location
        .query_pairs()
        .find(|(name, _)| name == "login_hint")
        .map(|(_, value)| value.into_owned());
    if passed.as_deref() == Some(hint.as_str()) {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the login_hint \"{hint}\" to be passed on, the redirect carries {passed:?}: {location}"
        )))
    }
}

#[then(regex = r#"^the answer is a 404 naming the "([^"]+)" "([^"]+)", with no redirect$"#)]
fn not_routed(world: &mut ScimWorld, parameter: String, value: String) -> Result<(), StepError> {
    let value = world.expand(&value)?;
    let answer = last_answer(world)?;
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let right = answer.status == 404
        && answer.location.is_none()
        && body["error"] == "sso_not_found"
        && body["looked_up"] == json!({ parameter.as_str(): value });
    if right {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected a 404 `sso_not_found` naming {parameter}={value} without a Location, but {}",
            answer.describe()
        )))
    }
}

#[then(regex = r"^the answer says the domain has (SSO through the connection|no SSO)$")]
fn domain_answer(world: &mut ScimWorld, expected: String) -> Result<(), StepError> {
    let answer = last_answer(world)?;
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let right = if expected == "no SSO" {
        answer.status == 200 && body["sso"] == false && body["connection_id"].is_null()
    } else {
        let (id, protocol, organization) = main_connection(world)?;
        answer.status == 200
            && body["sso"] == true
            && body["connection_id"] == id.as_str()
            && body["protocol"] == protocol
            && organization
                .is_some_and(|organization| body["organization_id"] == organization.as_str())
    };
    if right {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the domain check to say {expected}, but {}",
            answer.describe()
        )))
    }
}
