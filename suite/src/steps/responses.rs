//! Generic requests and assertions on any response: status, headers, JSON attributes.

use super::{doc_string, unquote};
use crate::json_match::{self, AttributeExpectation};
use crate::world::{ScimWorld, StepError};
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::Value;

#[when(regex = r#"^I send a (GET|POST|PUT|PATCH|DELETE) request to "((?:[^"\\]|\\.)*)"$"#)]
async fn send_request(
    world: &mut ScimWorld,
    method: String,
    path: String,
) -> Result<(), StepError> {
    world
        .send(parse_method(&method)?, &unquote(&path), None)
        .await?;
    Ok(())
}

#[when(
    regex = r#"^I send a (GET|POST|PUT|PATCH|DELETE) request to "((?:[^"\\]|\\.)*)" with the body:$"#
)]
async fn send_request_with_body(
    world: &mut ScimWorld,
    method: String,
    path: String,
    step: &Step,
) -> Result<(), StepError> {
    let body = doc_string(step)?;
    world
        .send(parse_method(&method)?, &unquote(&path), Some(body))
        .await?;
    Ok(())
}

#[given(
    regex = r#"^the next request carries the header "([^"]+)" with the value "((?:[^"\\]|\\.)*)"$"#
)]
fn next_request_header(world: &mut ScimWorld, name: String, value: String) {
    world.set_next_request_header(&name, &unquote(&value));
}

#[when(regex = r#"^I remember the response (header|attribute) "((?:[^"\\]|\\.)*)" as "([^"]+)"$"#)]
#[then(regex = r#"^I remember the response (header|attribute) "((?:[^"\\]|\\.)*)" as "([^"]+)"$"#)]
fn remember(
    world: &mut ScimWorld,
    source: String,
    name: String,
    key: String,
) -> Result<(), StepError> {
    let name = world.expand(&unquote(&name))?;
    let value = if source == "header" {
        world.last()?.header(&name).map(str::to_owned)
    } else {
        json_match::lookup(world.last_json()?, &name)?.map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    };
    let value = value.ok_or_else(|| {
        world.failure(format!("the response has no {source} `{name}` to remember"))
    })?;
    world.remember(key, value);
    Ok(())
}

#[then(regex = r"^the response status is (\d{3})$")]
fn status_is(world: &mut ScimWorld, expected: u16) -> Result<(), StepError> {
    let status = world.last()?.status;
    if status == expected {
        Ok(())
    } else {
        Err(world.failure(format!("expected status {expected}, got {status}")))
    }
}

#[then(regex = r"^the response status is (\d{3}) or (\d{3})$")]
fn status_is_either(world: &mut ScimWorld, first: u16, second: u16) -> Result<(), StepError> {
    let status = world.last()?.status;
    if status == first || status == second {
        Ok(())
    } else {
        Err(world.failure(format!("expected status {first} or {second}, got {status}")))
    }
}

#[then("the response body is empty")]
fn body_is_empty(world: &mut ScimWorld) -> Result<(), StepError> {
    if world.last()?.body.trim().is_empty() {
        Ok(())
    } else {
        Err(world.failure("expected an empty response body"))
    }
}

/// Header expectations: `is present`, `is "…"`, `is not "…"`, `contains "…"`,
/// `ends with "…"`, `equals the response attribute "PATH"`. Quoted text may hold `\"`
/// and placeholders (an ETag such as `W/"3"` arrives through `{NAME}` intact).
#[then(regex = r#"^the response header "([^"]+)" (.+)$"#)]
fn header_expectation(
    world: &mut ScimWorld,
    name: String,
    expectation: String,
) -> Result<(), StepError> {
    let quoted = |prefix: &str| -> Result<Option<String>, StepError> {
        expectation
            .strip_prefix(prefix)
            .and_then(|rest| rest.trim().strip_prefix('"'))
            .and_then(|rest| rest.strip_suffix('"'))
            .map(|inner| world.expand(&unquote(inner)))
            .transpose()
    };
    let last = world.last()?;
    let actual = last.header(&name);
    let (ok, wanted) = if expectation == "is present" {
        (actual.is_some(), "present".to_owned())
    } else if let Some(path) = quoted("equals the response attribute ")? {
        let attribute = json_match::lookup(world.last_json()?, &path)?.and_then(Value::as_str);
        (
            actual.is_some() && actual == attribute,
            format!(
                "equal to the attribute `{path}` ({})",
                attribute.unwrap_or("absent")
            ),
        )
    } else if let Some(text) = quoted("is not ")? {
        (
            actual.is_some_and(|value| value != text),
            format!("present and not {text:?}"),
        )
    } else if let Some(text) = quoted("is ")? {
        (actual == Some(text.as_str()), format!("{text:?}"))
    } else if let Some(text) = quoted("contains ")? {
        (
            actual.is_some_and(|value| value.contains(&text)),
            format!("containing {text:?}"),
        )
    } else if let Some(text) = quoted("ends with ")? {
        (
            actual.is_some_and(|value| value.ends_with(&text)),
            format!("ending with {text:?}"),
        )
    } else {
        return Err(StepError::Step(format!(
            "unknown header expectation `{expectation}`: use `is present`, `is \"…\"`, \
             `is not \"…\"`, `contains \"…\"`, `ends with \"…\"` or \
             `equals the response attribute \"…\"`"
        )));
    };
    if ok {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected the header {name} to be {wanted}, but it is {}",
            actual.map_or_else(|| "absent".to_owned(), |value| format!("{value:?}"))
        )))
    }
}

#[then(regex = r#"^the response attribute "((?:[^"\\]|\\.)*)" (.+)$"#)]
fn attribute_expectation(
    world: &mut ScimWorld,
    path: String,
    expectation: String,
) -> Result<(), StepError> {
    let path = world.expand(&unquote(&path))?;
    let expectation = AttributeExpectation::parse(&world.expand(&expectation)?)?;
    let actual = json_match::lookup(world.last_json()?, &path)?;
    expectation
        .check(actual)
        .map_err(|mismatch| world.failure(format!("attribute `{path}`: {mismatch}")))
}

#[then("the response contains:")]
fn response_contains(world: &mut ScimWorld, step: &Step) -> Result<(), StepError> {
    let expected_text = world.expand(doc_string(step)?)?;
    let expected: Value = serde_json::from_str(&expected_text)
        .map_err(|err| StepError::Step(format!("the expected JSON does not parse: {err}")))?;
    if json_match::contains(world.last_json()?, &expected) {
        Ok(())
    } else {
        Err(world.failure(format!("expected the response to contain {expected}")))
    }
}

fn parse_method(word: &str) -> Result<Method, StepError> {
    Method::from_bytes(word.as_bytes())
        .map_err(|_| StepError::Step(format!("`{word}` is not an HTTP method")))
}
