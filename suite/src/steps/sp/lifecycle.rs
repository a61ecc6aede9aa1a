//! Just-in-time provisioning (seeds 000, 001) and the `deactivate` deletion policy (seeds 001,
//! 003): the organization's policies set through the admin API, and what its SCIM directory
//! holds after sign-ins and provisioning cycles.

use super::super::provisioning::no_user;
use super::super::sso::last_session;
use super::{admin, login_name, organization, users_where, with_organization_token};
use crate::world::{ScimWorld, StepError, id_key};
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::{Value, json};

/// The claims just-in-time provisioning takes `userName` from, in order (then the subject).
const USER_NAME_CLAIMS: [&str; 5] = [
    "email",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "Email",
    "mail",
    "preferred_username",
];
/// The claims just-in-time provisioning takes `displayName` from, in order.
const DISPLAY_NAME_CLAIMS: [&str; 3] = [
    "name",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "displayName",
];

/// The first of `names` the claims carry as text (a multi-valued SAML attribute's first value).
fn first_claim(claims: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        let value = &claims[*name];
        let text = match value {
            Value::Array(values) => values.iter().find_map(Value::as_str),
            _ => value.as_str(),
        }?;
        (!text.trim().is_empty()).then(|| text.to_owned())
    })
}

#[given("the organization provisions users just in time")]
async fn jit_on(world: &mut ScimWorld) -> Result<(), StepError> {
    let id = organization(world)?;
    let answer = admin(
        world,
        Method::PATCH,
        &format!("/organizations/{id}"),
        Some(json!({ "jit": true })),
        &[200],
    )
    .await?;
    if answer["jit"] == true {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "the admin API did not turn just-in-time provisioning on: {answer}"
        )))
    }
}

#[given(regex = r#"^the organization's deletion policy is "(delete|deactivate)"$"#)]
async fn deletion_policy(world: &mut ScimWorld, policy: String) -> Result<(), StepError> {
    let id = organization(world)?;
    let answer = admin(
        world,
        Method::PATCH,
        &format!("/organizations/{id}"),
        Some(json!({ "deletion_policy": policy })),
        &[200],
    )
    .await?;
    if answer["deletion_policy"] == policy.as_str() {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "the admin API did not set the deletion policy to {policy}: {answer}"
        )))
    }
}

/// The SCIM user just-in-time provisioning made of the last sign-in: exactly one user of the
/// organization has its subject as `externalId`, with `userName` from the login's email (else
/// `preferred_username`, else the subject), `displayName` from its name when it has one, and
/// active; it is the session's SCIM user. Remembered as `id:NAME`; when `id:NAME` is already
/// remembered, it must be that user.
async fn check_jit_user(world: &mut ScimWorld, user: &str) -> Result<(), StepError> {
    let session = last_session(world)?.clone();
    let subject = session["subject"].as_str().unwrap_or_default().to_owned();
    let claims = &session["claims"];
    let users = users_where(world, "externalId", &subject).await?;
    let [created] = users.as_slice() else {
        return Err(world.failure(format!(
            "expected exactly one SCIM user with the externalId \"{subject}\" (the login's subject), found {}",
            users.len()
        )));
    };
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let mut problems = Vec::new();
    let user_name = first_claim(claims, &USER_NAME_CLAIMS).unwrap_or_else(|| subject.clone());
    if created["userName"] != user_name.as_str() {
        problems.push(format!(
            "its userName is {}, not \"{user_name}\"",
            created["userName"]
        ));
    }
    if let Some(name) = first_claim(claims, &DISPLAY_NAME_CLAIMS)
        && created["displayName"] != name.as_str()
    {
        problems.push(format!(
            "its displayName is {}, not the login's \"{name}\"",
            created["displayName"]
        ));
    }
    if created["active"] != true {
        problems.push(format!("its active is {}", created["active"]));
    }
    if session["scim_user"]["id"] != id.as_str() {
        problems.push(format!(
            "the session's SCIM user is {}",
            session["scim_user"]
        ));
    }
    if let Ok(remembered) = world.id_of(user)
        && remembered != id
    {
        problems.push(format!(
            "it is not the user {remembered} the first sign-in created"
        ));
    }
    if !problems.is_empty() {
        return Err(world.failure(format!(
            "the SCIM user {id} of \"{user}\" is not what just-in-time provisioning makes of the login {claims}: {}",
            problems.join("; ")
        )));
    }
    world.remember(id_key(user), id);
    Ok(())
}

#[then(
    regex = r#"^just-in-time provisioning (?:created|updated) the SCIM user "([^"]+)" from the login$"#
)]
async fn jit_user(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    check_jit_user(world, &user).await
}

/// Changes an attribute of a SCIM user of the organization's directory as the app (or an admin)
/// would, with a PATCH.
#[when(regex = r#"^in the app, the SCIM user "([^"]+)" gets the "([^"]+)" "([^"]*)"$"#)]
async fn app_edits_user(
    world: &mut ScimWorld,
    user: String,
    attribute: String,
    value: String,
) -> Result<(), StepError> {
    let id = world.id_of(&user)?.to_owned();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": attribute, "value": value }],
    });
    with_organization_token(world).await?;
    let status = world
        .send_expanded(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(body.to_string()),
        )
        .await?
        .status;
    if status == 200 || status == 204 {
        Ok(())
    } else {
        Err(world.failure(format!("expected the PATCH of \"{user}\" to succeed")))
    }
}

#[then(regex = r#"^just-in-time provisioning created no SCIM user for "([^"]+)"$"#)]
async fn no_jit_user(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let name = login_name(world, &user)?;
    let found = users_where(world, "userName", &name).await?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected no SCIM user named \"{name}\" (\"{user}\"), found {}",
            found.len()
        )))
    }
}

/// The person gets back the IdP's app assignment they had when the scenario's SSO IdP started
/// (its copy of the directory keeps their block); the SCIM id they had is remembered as
/// `previous-id:NAME`.
#[when(regex = r#"^in the IdP, "([^"]+)" is assigned to the app again$"#)]
fn assigned_again(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let sso = world.sso()?;
    let block_name = sso.persona.directory_block.clone();
    let block = sso
        .directory
        .user(&user)
        .and_then(|entry| entry.blocks.get(&block_name))
        .cloned()
        .ok_or_else(|| {
            StepError::Step(format!(
                "the scenario's SSO IdP never had \"{user}\" in the `{block_name}` block"
            ))
        })?;
    let provisioning = world.provisioning_mut()?;
    let previous = provisioning.user_ids.get(&user).cloned();
    let person = provisioning
        .directory
        .users
        .iter_mut()
        .find(|person| person.key == user)
        .ok_or_else(|| no_user(&user))?;
    if person.blocks.insert(block_name.clone(), block).is_some() {
        return Err(StepError::Step(format!(
            "\"{user}\" is still assigned in the `{block_name}` block"
        )));
    }
    if let Some(previous) = previous {
        world.remember(format!("previous-id:{user}"), previous);
    }
    Ok(())
}

#[then(regex = r#"^the signed-in SCIM user is the account "([^"]+)" had before$"#)]
fn same_account(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let previous = world.recall(&format!("previous-id:{user}"))?.to_owned();
    let session = last_session(world)?;
    if session["scim_user"]["id"] == previous.as_str() {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected \"{user}\" to sign in as the SCIM user {previous} they had, the session's SCIM user is {}",
            session["scim_user"]
        )))
    }
}
