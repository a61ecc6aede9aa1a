//! Users: several at once, their memberships as the groups list them, and the read-only
//! `groups` attribute that mirrors memberships (RFC 7643 §4.1.2).

use super::{doc_string, name_list};
use crate::world::{ResourceKind, ScimWorld, StepError};
use cucumber::gherkin::Step;
use cucumber::{given, then};
use reqwest::Method;
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

/// Membership as the IdPs see it: the groups of this scenario whose `members` list the
/// user (each group read by id; a deleted group is skipped).
#[then(regex = r#"^the user "([^"]+)" is a member of exactly the groups "([^"]*)"$"#)]
async fn member_of_exactly(
    world: &mut ScimWorld,
    user: String,
    groups: String,
) -> Result<(), StepError> {
    check_memberships(world, &user, &name_list(&groups)).await
}

#[then(regex = r#"^the user "([^"]+)" is in no group$"#)]
async fn in_no_group(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    check_memberships(world, &user, &[]).await
}

/// The user's read-only `groups` attribute (RFC 7643 §4.1.2), which no IdP reads.
#[then(regex = r#"^the groups attribute of the user "([^"]+)" lists exactly "([^"]*)"$"#)]
async fn groups_attribute_lists(
    world: &mut ScimWorld,
    user: String,
    groups: String,
) -> Result<(), StepError> {
    let groups = name_list(&groups);
    super::groups::check_references(world, ResourceKind::User, &user, "groups", &groups).await
}

/// Reads every group the scenario created and compares the ones listing `user` among their
/// `members` with `expected`.
async fn check_memberships(
    world: &mut ScimWorld,
    user: &str,
    expected: &[String],
) -> Result<(), StepError> {
    let user_id = world.id_of(user)?.to_owned();
    let mut containing = Vec::new();
    for group_id in world.created_ids(ResourceKind::Group)? {
        let path = format!("{}/{group_id}", ResourceKind::Group.endpoint());
        world.send_expanded(Method::GET, &path, None).await?;
        match world.last()?.status {
            404 => continue,
            200 => {}
            _ => return Err(world.failure(format!("expected to read the group {group_id}"))),
        }
        if super::groups::reference_values(world, "members")?.contains(&user_id) {
            containing.push(group_id);
        }
    }
    super::groups::compare_references(
        world,
        &format!("the groups whose members list \"{user}\""),
        &containing,
        expected,
    )
}
