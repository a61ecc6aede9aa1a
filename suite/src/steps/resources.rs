//! Creating, reading, replacing and deleting users and groups by the names the scenario
//! gives them (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.6).

use super::doc_string;
use crate::world::{ResourceKind, ScimWorld, StepError};
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::Value;

#[given(regex = r#"^an? (user|group) "([^"]+)" with:$"#)]
async fn existing_resource(
    world: &mut ScimWorld,
    kind: ResourceKind,
    name: String,
    step: &Step,
) -> Result<(), StepError> {
    world
        .create_expecting_success(kind, &name, doc_string(step)?)
        .await
}

#[when(regex = r#"^I create an? (user|group) "([^"]+)" with:$"#)]
async fn create_resource(
    world: &mut ScimWorld,
    kind: ResourceKind,
    name: String,
    step: &Step,
) -> Result<(), StepError> {
    world.create(kind, Some(&name), doc_string(step)?).await?;
    Ok(())
}

#[when(regex = r#"^I (fetch|delete) the (user|group) "([^"]+)"$"#)]
async fn fetch_or_delete(
    world: &mut ScimWorld,
    action: String,
    kind: ResourceKind,
    name: String,
) -> Result<(), StepError> {
    let method = if action == "fetch" {
        Method::GET
    } else {
        Method::DELETE
    };
    let path = world.resource_path(kind, &name)?;
    world.send_expanded(method, &path, None).await?;
    Ok(())
}

/// PUT (RFC 7644 §3.5.1) or PATCH (§3.5.2) with the doc string sent exactly as written, so
/// the vendors' dialects (personas.md §1.1, §2.1) reach the target unchanged.
///
/// A server may answer a successful PATCH with 204 and no body (RFC 7644 §3.5.2); the step
/// then reads the resource, so the checks that follow see it as a 200 would have shown it.
/// Both exchanges are in the scenario's transcript.
#[when(regex = r#"^I (replace|patch) the (user|group) "([^"]+)" with:$"#)]
async fn replace_or_patch(
    world: &mut ScimWorld,
    action: String,
    kind: ResourceKind,
    name: String,
    step: &Step,
) -> Result<(), StepError> {
    let method = if action == "patch" {
        Method::PATCH
    } else {
        Method::PUT
    };
    let path = world.resource_path(kind, &name)?;
    let status = world
        .send(method.clone(), &path, Some(doc_string(step)?))
        .await?
        .status;
    if method == Method::PATCH && status == 204 {
        world.send_expanded(Method::GET, &path, None).await?;
    }
    Ok(())
}

#[then(regex = r#"^the response is the (user|group) "([^"]+)"$"#)]
fn response_is(world: &mut ScimWorld, kind: ResourceKind, name: String) -> Result<(), StepError> {
    let expected = world.id_of(&name)?;
    let json = world.last_json()?;
    let id = json.get("id").and_then(Value::as_str);
    let schemas = json.get("schemas").and_then(Value::as_array);
    let names_schema = schemas.is_some_and(|schemas| {
        schemas
            .iter()
            .filter_map(Value::as_str)
            .any(|schema| schema.eq_ignore_ascii_case(kind.core_schema()))
    });
    if id == Some(expected) && names_schema {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected the {kind:?} \"{name}\" (id {expected}, schema {})",
            kind.core_schema()
        )))
    }
}
