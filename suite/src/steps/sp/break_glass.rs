//! Break-glass users (seed 000, "Break Glass Users" and "Bypass Login URL"): listed through the
//! admin API, signing in on the bypass login page, and everyone sent to SSO without it.

use super::super::saml::attribute_after;
use super::super::sso::{last_session, record_sign_in, step_error};
use super::browser::{Hop, finish_sign_in, keep_answer, last_answer, send, sp_url, walk};
use super::{admin, organization};
use crate::world::{ScimWorld, StepError};
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::json;

#[given(
    regex = r#"^the organization lists "([^"]+)" as a break-glass user with the password "([^"]+)"$"#
)]
async fn break_glass_user(
    world: &mut ScimWorld,
    username: String,
    password: String,
) -> Result<(), StepError> {
    let id = organization(world)?;
    let username = world.expand(&username)?;
    admin(
        world,
        Method::POST,
        &format!("/organizations/{id}/break-glass"),
        Some(json!({ "username": username, "password": password })),
        &[201],
    )
    .await?;
    Ok(())
}

/// Opens the bypass login page of the organization, fills its form in and posts it; a redirect
/// is followed to `/whoami` with the session cookie. The outcome is a sign-in as any other.
#[when(regex = r#"^"([^"]+)" signs in with the password "([^"]*)" through the bypass login URL$"#)]
async fn password_sign_in(
    world: &mut ScimWorld,
    username: String,
    password: String,
) -> Result<(), StepError> {
    let id = organization(world)?;
    let username = world.expand(&username)?;
    let mut url = sp_url(world, "/login")?;
    url.query_pairs_mut()
        .append_key_only("noLoginRedirect")
        .append_pair("organization_id", &id);
    let page = send(world, Method::GET, url.clone(), None, None).await?;
    let form = (page.status == 200)
        .then(|| {
            let action = attribute_after(&page.body, "<form method=\"post\" action=\"")?;
            let organization = attribute_after(&page.body, "name=\"organization_id\" value=\"")?;
            Some((action, organization))
        })
        .flatten();
    let Some((action, organization)) = form else {
        keep_answer(world, &page)?;
        return record_sign_in(world, page.status, page.body, None);
    };
    let fields = vec![
        ("organization_id".to_owned(), organization),
        ("username".to_owned(), username),
        ("password".to_owned(), password),
    ];
    let action = url.join(&action).map_err(step_error)?;
    let walk = walk(world, Hop::Post(action, fields)).await?;
    let first = walk
        .answers
        .first()
        .cloned()
        .ok_or_else(|| StepError::Step("the browser sent nothing".into()))?;
    keep_answer(world, &first)?;
    finish_sign_in(world, walk)
}

/// Posts the login form without `?noLoginRedirect`, as a bookmarked login page would; the
/// answer is kept and no redirect is followed.
#[when(regex = r#"^"([^"]+)" posts the password "([^"]*)" to the login page without the bypass$"#)]
async fn password_without_bypass(
    world: &mut ScimWorld,
    username: String,
    password: String,
) -> Result<(), StepError> {
    let id = organization(world)?;
    let username = world.expand(&username)?;
    let url = sp_url(world, "/login")?;
    let fields = [
        ("organization_id".to_owned(), id),
        ("username".to_owned(), username),
        ("password".to_owned(), password),
    ];
    let answer = send(world, Method::POST, url, Some(&fields), None).await?;
    keep_answer(world, &answer)
}

#[then(regex = r#"^the break-glass user "([^"]+)" is signed in with a password$"#)]
fn signed_in_with_password(world: &mut ScimWorld, username: String) -> Result<(), StepError> {
    let username = world.expand(&username)?.to_lowercase();
    let id = organization(world)?;
    let session = last_session(world)?;
    let right = session["protocol"] == "password"
        && session["subject"] == username.as_str()
        && session["organization"] == id.as_str()
        && session["scim_user"].is_null();
    if right {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected a password session of \"{username}\" in the organization {id}, /whoami says {session}"
        )))
    }
}

/// The SP's last answer to the browser set no session cookie.
#[then("the reference SP opened no session")]
fn no_session(world: &mut ScimWorld) -> Result<(), StepError> {
    let answer = last_answer(world)?;
    match &answer.session_cookie {
        None => Ok(()),
        Some(cookie) => Err(StepError::Expectation(format!(
            "expected no session, but the SP set the cookie {cookie}: {}",
            answer.describe()
        ))),
    }
}
