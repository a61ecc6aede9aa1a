//! The matching report of the scenario's connection (seed 002, "Setting Matching Strategies in
//! the Dashboard"; personas.md §7), read with the admin key.

use super::super::sso::step_error;
use super::{login_name, main_connection};
use crate::world::{ScimWorld, StepError};
use cucumber::then;
use reqwest::Url;
use serde_json::Value;

/// The matching report of the scenario's connection, read with the admin key.
async fn matching_report(world: &ScimWorld) -> Result<Value, StepError> {
    let sp = world.reference_sp()?;
    let (id, protocol, _) = main_connection(world)?;
    let mut url = Url::parse(&sp.matching_report_url(&id)).map_err(step_error)?;
    url.query_pairs_mut().append_pair("protocol", protocol);
    let response = reqwest::Client::new()
        .get(url.clone())
        .bearer_auth(sp.admin_key())
        .send()
        .await
        .map_err(step_error)?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(step_error)?;
    match serde_json::from_str::<Value>(&text) {
        Ok(report) if status == 200 => Ok(report),
        _ => Err(StepError::Expectation(format!(
            "GET {url} answered HTTP {status}: {text}"
        ))),
    }
}

/// The report's unmatched entry of the directory user (found by the sign-in name among the
/// claims the strategies read).
fn unmatched_entry<'r>(
    world: &ScimWorld,
    report: &'r Value,
    user: &str,
) -> Result<Option<&'r Value>, StepError> {
    let name = login_name(world, user)?;
    Ok(report["unmatched"].as_array().and_then(|entries| {
        entries.iter().find(|entry| {
            ["preferred_username", "email", "sub"].iter().any(|claim| {
                entry["claims"][*claim]
                    .as_str()
                    .is_some_and(|value| value.eq_ignore_ascii_case(&name))
            })
        })
    }))
}

#[then(regex = r#"^the matching report lists "([^"]+)" as unmatched because of "([^"]+)"$"#)]
async fn report_lists(
    world: &mut ScimWorld,
    user: String,
    reason: String,
) -> Result<(), StepError> {
    let report = matching_report(world).await?;
    let Some(entry) = unmatched_entry(world, &report, &user)? else {
        return Err(StepError::Expectation(format!(
            "expected the matching report to list \"{user}\" as unmatched: {report}"
        )));
    };
    let listed = entry["reason"]
        .as_str()
        .unwrap_or_default()
        .replace('_', " ");
    if listed != reason {
        return Err(StepError::Expectation(format!(
            "the report lists \"{user}\" as unmatched because of \"{listed}\", not \"{reason}\": {entry}"
        )));
    }
    let subject = entry["subject"].as_str().unwrap_or_default().to_owned();
    world.remember(format!("subject:{user}"), subject);
    Ok(())
}

#[then(regex = r#"^the matching report says "([^"]+)" would( not)? match "([^"]+)"$"#)]
async fn report_strategy(
    world: &mut ScimWorld,
    strategy: String,
    not: String,
    user: String,
) -> Result<(), StepError> {
    let subject = world.recall(&format!("subject:{user}"))?.to_owned();
    let report = matching_report(world).await?;
    let count = report["strategies"]
        .as_array()
        .and_then(|counts| {
            counts
                .iter()
                .find(|count| count["strategy"] == strategy.as_str())
        })
        .ok_or_else(|| {
            StepError::Expectation(format!("the report has no count for {strategy}: {report}"))
        })?;
    let missed = count["unmatched"].as_array().is_some_and(|misses| {
        misses
            .iter()
            .any(|miss| miss["subject"] == subject.as_str())
    });
    // The subject was seen (the report listed it), so a strategy that does not miss it matches it.
    if missed != not.is_empty() {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the report to say {strategy} would{not} match \"{user}\" ({subject}): {count}"
        )))
    }
}

#[then("the matching report lists no unmatched user")]
async fn report_clean(world: &mut ScimWorld) -> Result<(), StepError> {
    let report = matching_report(world).await?;
    let none = report["unmatched"].as_array().is_some_and(Vec::is_empty);
    if none && report["seen"].as_u64().is_some_and(|seen| seen > 0) {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the report to have seen logins and list none as unmatched: {report}"
        )))
    }
}
