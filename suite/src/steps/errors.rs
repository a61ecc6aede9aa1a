//! SCIM error responses (RFC 7644 §3.12) and the request-size limit.

use crate::world::{ResourceKind, ScimWorld, StepError};
use cucumber::{then, when};
use reqwest::Method;
use serde_json::{Value, json};

/// The URN of an RFC 7644 §3.12 error message.
const ERROR_SCHEMA: &str = idpsim_scim::error::ERROR_SCHEMA;

/// How far over the 1 MiB request limit the oversized body goes.
const OVERSIZED_BODY_BYTES: usize = 1024 * 1024 + 64 * 1024;

#[then(regex = r"^the response is a SCIM error with status (\d{3})$")]
fn scim_error(world: &mut ScimWorld, status: u16) -> Result<(), StepError> {
    check_scim_error(world, status, None)
}

#[then(regex = r#"^the response is a SCIM error with status (\d{3}) and scimType "([^"]+)"$"#)]
fn scim_error_with_type(
    world: &mut ScimWorld,
    status: u16,
    scim_type: String,
) -> Result<(), StepError> {
    check_scim_error(world, status, Some(&scim_type))
}

/// A valid user whose `displayName` pads the body past 1 MiB; the limit is the server's
/// to enforce (413), whatever the body says.
#[when(regex = r#"^I send a POST request to "/Users" with a body larger than 1 MiB$"#)]
async fn oversized_body(world: &mut ScimWorld) -> Result<(), StepError> {
    let body = json!({
        "schemas": [ResourceKind::User.core_schema()],
        "userName": format!("{}.oversized@example.test", world.unique()),
        "displayName": "x".repeat(OVERSIZED_BODY_BYTES),
    });
    let created = world
        .send_expanded(
            Method::POST,
            ResourceKind::User.endpoint(),
            Some(body.to_string()),
        )
        .await?
        .json
        .as_ref()
        .and_then(|json| json.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    // A server without a limit creates the user: it is deleted with the scenario's others.
    if let Some(id) = created {
        world.track(ResourceKind::User, &id)?;
    }
    Ok(())
}

/// The status line, the Error schema, `status` as a JSON string ("expressed as a JSON
/// string", RFC 7644 §3.12) and, when asked, the `scimType`.
fn check_scim_error(
    world: &ScimWorld,
    status: u16,
    scim_type: Option<&str>,
) -> Result<(), StepError> {
    let last = world.last()?;
    let mut problems = Vec::new();
    if last.status != status {
        problems.push(format!("status {} instead of {status}", last.status));
    }
    match &last.json {
        None => problems.push("a body that is not JSON".to_owned()),
        Some(body) => {
            let names_error_schema =
                body.get("schemas")
                    .and_then(Value::as_array)
                    .is_some_and(|schemas| {
                        schemas
                            .iter()
                            .any(|schema| schema.as_str() == Some(ERROR_SCHEMA))
                    });
            if !names_error_schema {
                problems.push(format!("no `{ERROR_SCHEMA}` in `schemas`"));
            }
            let body_status = body.get("status");
            if body_status != Some(&Value::String(status.to_string())) {
                problems.push(format!(
                    "`status` is {} instead of the string \"{status}\"",
                    body_status.map_or_else(|| "absent".to_owned(), Value::to_string)
                ));
            }
            if let Some(expected) = scim_type {
                let actual = body.get("scimType").and_then(Value::as_str);
                if actual != Some(expected) {
                    problems.push(format!(
                        "`scimType` is {} instead of \"{expected}\"",
                        actual.map_or_else(|| "absent".to_owned(), |value| format!("\"{value}\""))
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected a SCIM error with status {status}{}, but got {}",
            scim_type
                .map(|t| format!(" and scimType \"{t}\""))
                .unwrap_or_default(),
            problems.join("; ")
        )))
    }
}
