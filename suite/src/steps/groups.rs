//! Groups and their `members` (RFC 7643 §4.2).

use super::name_list;
use crate::json_match;
use crate::world::{ResourceKind, ScimWorld, StepError};
use cucumber::then;
use serde_json::Value;

#[then(regex = r#"^the group "([^"]+)" has exactly the members "([^"]*)"$"#)]
async fn has_exactly_members(
    world: &mut ScimWorld,
    group: String,
    members: String,
) -> Result<(), StepError> {
    check_members(world, &group, &name_list(&members)).await
}

#[then(regex = r#"^the group "([^"]+)" has no members$"#)]
async fn has_no_members(world: &mut ScimWorld, group: String) -> Result<(), StepError> {
    check_members(world, &group, &[]).await
}

async fn check_members(
    world: &mut ScimWorld,
    group: &str,
    members: &[String],
) -> Result<(), StepError> {
    check_references(world, ResourceKind::Group, group, "members", members).await
}

/// Reads the resource called `name` and compares the `value`s of its reference attribute
/// `attribute` (a Group's `members`, a User's `groups`) with the ids of `expected`.
pub(crate) async fn check_references(
    world: &mut ScimWorld,
    kind: ResourceKind,
    name: &str,
    attribute: &str,
    expected: &[String],
) -> Result<(), StepError> {
    let path = world.resource_path(kind, name)?;
    world
        .send_expanded(reqwest::Method::GET, &path, None)
        .await?;
    if world.last()?.status != 200 {
        return Err(world.failure(format!("expected to read the {kind:?} \"{name}\"")));
    }
    let values = reference_values(world, attribute)?;
    compare_references(
        world,
        &format!("the {attribute} of {kind:?} \"{name}\""),
        &values,
        expected,
    )
}

/// The `value`s of the multi-valued reference attribute `attribute` in the last response
/// (absent means none, RFC 7643 §2.5).
pub(crate) fn reference_values(
    world: &ScimWorld,
    attribute: &str,
) -> Result<Vec<String>, StepError> {
    let Some(items) = json_match::lookup(world.last_json()?, attribute)? else {
        return Ok(Vec::new());
    };
    let items = items
        .as_array()
        .ok_or_else(|| world.failure(format!("expected `{attribute}` to be an array")))?;
    items
        .iter()
        .map(|item| {
            item.get("value")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    world.failure(format!("an element of `{attribute}` has no string `value`"))
                })
        })
        .collect()
}

/// Compares referenced ids with the ids of the named resources, ignoring order; the
/// failure names what is missing and what is extra.
pub(crate) fn compare_references(
    world: &ScimWorld,
    what: &str,
    actual_ids: &[String],
    expected_names: &[String],
) -> Result<(), StepError> {
    let mut expected_ids = expected_names
        .iter()
        .map(|name| world.id_of(name).map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()?;
    let mut actual = actual_ids.to_vec();
    expected_ids.sort();
    actual.sort();
    if actual == expected_ids {
        return Ok(());
    }
    let describe = |ids: &[String]| {
        ids.iter()
            .map(|id| {
                world
                    .name_of(id)
                    .map_or_else(|| format!("unknown id {id}"), |name| format!("\"{name}\""))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(world.failure(format!(
        "expected {what} to be [{}], but they are [{}]",
        describe(&expected_ids),
        describe(&actual)
    )))
}
