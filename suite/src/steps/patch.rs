//! PATCH requests (RFC 7644 §3.5.2), sent exactly as the feature writes them, so the
//! vendors' dialects (personas.md §1.1, §2.1) reach the target unchanged.

use super::doc_string;
use crate::world::{ResourceKind, ScimWorld, StepError};
use cucumber::gherkin::Step;
use cucumber::when;
use reqwest::Method;

#[when(regex = r#"^I patch the (user|group) "([^"]+)" with:$"#)]
async fn patch(
    world: &mut ScimWorld,
    kind: ResourceKind,
    name: String,
    step: &Step,
) -> Result<(), StepError> {
    let path = world.resource_path(kind, &name)?;
    world
        .send(Method::PATCH, &path, Some(doc_string(step)?))
        .await?;
    Ok(())
}
