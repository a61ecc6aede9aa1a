//! Users: several at once, and the read-only `groups` attribute that mirrors memberships
//! (RFC 7643 §4.1.2).

use super::{doc_string, name_list};
use crate::world::{ResourceKind, ScimWorld, StepError};
use cucumber::gherkin::Step;
use cucumber::{given, then};
use serde_json::{Value, json};

/// Creates one user per member of the doc string's JSON object: the member name is the
/// scenario's name for the user, the value its POST body. A body without `schemas` gets the
/// core User schema, to keep long fixtures readable.
#[given("these users:")]
async fn these_users(world: &mut ScimWorld, step: &Step) -> Result<(), StepError> {
    let text = world.expand(doc_string(step)?)?;
    let users: serde_json::Map<String, Value> = serde_json::from_str(&text).map_err(|err| {
        StepError::Step(format!("the users must be a JSON object of bodies: {err}"))
    })?;
    for (name, mut body) in users {
        if let Some(map) = body.as_object_mut() {
            map.entry("schemas")
                .or_insert_with(|| json!([ResourceKind::User.core_schema()]));
        }
        world
            .create_expecting_success(ResourceKind::User, &name, &body.to_string())
            .await?;
    }
    Ok(())
}

#[then(regex = r#"^the user "([^"]+)" is a member of exactly the groups "([^"]*)"$"#)]
async fn member_of_exactly(
    world: &mut ScimWorld,
    user: String,
    groups: String,
) -> Result<(), StepError> {
    check_groups_of(world, &user, &name_list(&groups)).await
}

#[then(regex = r#"^the user "([^"]+)" is in no group$"#)]
async fn in_no_group(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    check_groups_of(world, &user, &[]).await
}

/// Reads the user and compares the `value`s of its `groups` with the named groups' ids.
async fn check_groups_of(
    world: &mut ScimWorld,
    user: &str,
    groups: &[String],
) -> Result<(), StepError> {
    super::groups::check_references(world, ResourceKind::User, user, "groups", groups).await
}
