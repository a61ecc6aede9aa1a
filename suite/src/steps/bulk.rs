//! Bulk requests (RFC 7644 §3.7).

use super::doc_string;
use crate::world::{ResourceKind, ScimWorld, StepError};
use cucumber::gherkin::Step;
use cucumber::{then, when};
use reqwest::Method;
use serde_json::Value;

/// Sends the doc string to `/Bulk`. Each POST that succeeded is remembered under its
/// `bulkId` (so `{id:BULKID}` and the group/user steps work) and cleaned up afterwards.
#[when("I send the bulk request:")]
async fn send_bulk(world: &mut ScimWorld, step: &Step) -> Result<(), StepError> {
    world
        .send(Method::POST, "/Bulk", Some(doc_string(step)?))
        .await?;
    let created: Vec<(String, ResourceKind, String)> = operations(world)
        .iter()
        .filter(|op| {
            op.get("method")
                .and_then(Value::as_str)
                .is_some_and(|m| m.eq_ignore_ascii_case("POST"))
        })
        .filter(|op| status_of(op) == Some(201))
        .filter_map(|op| {
            let bulk_id = op.get("bulkId")?.as_str()?;
            let location = op.get("location")?.as_str()?;
            let (collection, id) = location.trim_end_matches('/').rsplit_once('/')?;
            let kind = collection.rsplit('/').next()?.parse().ok()?;
            Some((bulk_id.to_owned(), kind, id.to_owned()))
        })
        .collect();
    for (bulk_id, kind, id) in created {
        world.track(kind, &id)?;
        world.remember(crate::world::id_key(&bulk_id), id);
    }
    Ok(())
}

#[then(regex = r#"^the bulk operation "([^"]+)" answered (\d{3})$"#)]
fn bulk_operation_answered(
    world: &mut ScimWorld,
    bulk_id: String,
    expected: u16,
) -> Result<(), StepError> {
    check_operation_status(world, &bulk_id, &expected.to_string(), |status| {
        status == expected
    })
}

/// Any 4xx: RFC 7644 §3.7 leaves the status of an operation whose `bulkId` reference cannot
/// be resolved to the server (400 and 409 are both seen).
#[then(regex = r#"^the bulk operation "([^"]+)" failed with a client error$"#)]
fn bulk_operation_failed(world: &mut ScimWorld, bulk_id: String) -> Result<(), StepError> {
    check_operation_status(world, &bulk_id, "a 4xx status", |status| {
        (400..500).contains(&status)
    })
}

fn check_operation_status(
    world: &ScimWorld,
    bulk_id: &str,
    expected: &str,
    accepts: impl Fn(u16) -> bool,
) -> Result<(), StepError> {
    let status = operations(world)
        .iter()
        .find(|op| op.get("bulkId").and_then(Value::as_str) == Some(bulk_id))
        .map(status_of);
    match status {
        Some(Some(status)) if accepts(status) => Ok(()),
        Some(status) => Err(world.failure(format!(
            "expected the bulk operation \"{bulk_id}\" to answer {expected}, got {}",
            status.map_or_else(|| "no readable status".to_owned(), |s| s.to_string())
        ))),
        None => Err(world.failure(format!("the bulk response has no operation \"{bulk_id}\""))),
    }
}

/// The `Operations` of the last bulk response.
fn operations(world: &ScimWorld) -> Vec<Value> {
    world
        .last_json()
        .ok()
        .and_then(|json| json.get("Operations"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// An operation's status. RFC 7644 §3.7.3 shows it as a string (`"201"`); a number is read
/// too, since the RFC's text does not fix the type.
fn status_of(operation: &Value) -> Option<u16> {
    match operation.get("status")? {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_u64().and_then(|n| u16::try_from(n).ok()),
        _ => None,
    }
}
