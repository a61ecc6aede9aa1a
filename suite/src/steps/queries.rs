//! List queries: filters (RFC 7644 §3.4.2.2), paging (§3.4.2.4), sorting (§3.4.2.3),
//! projection (§3.4.2.5) and `POST /.search` (§3.4.3).

use super::{doc_string, name_list};
use crate::world::{ResourceKind, ScimWorld, StepError};
use cucumber::gherkin::Step;
use cucumber::{then, when};
use reqwest::Method;
use serde_json::Value;

#[when(regex = r"^I list (users|groups) with the filter (.+)$")]
async fn list_with_filter(
    world: &mut ScimWorld,
    kind: ResourceKind,
    filter: String,
) -> Result<(), StepError> {
    let filter = world.expand(&filter)?;
    world
        .send_query(kind.endpoint(), &[("filter".to_owned(), filter)])
        .await?;
    Ok(())
}

/// The step's table has a `parameter | value` header row, then one row per parameter.
#[when(regex = r"^I list (users|groups) with the query parameters:$")]
async fn list_with_query(
    world: &mut ScimWorld,
    kind: ResourceKind,
    step: &Step,
) -> Result<(), StepError> {
    let rows = step
        .table
        .as_ref()
        .map(|table| table.rows.as_slice())
        .unwrap_or_default();
    let mut query = Vec::new();
    for row in rows.iter().skip(1) {
        let [name, value] = row.as_slice() else {
            return Err(StepError::Step(
                "each query parameter row needs a name and a value".into(),
            ));
        };
        query.push((name.clone(), world.expand(value)?));
    }
    if query.is_empty() {
        return Err(StepError::Step(
            "the step needs a `| parameter | value |` table with at least one row".into(),
        ));
    }
    world.send_query(kind.endpoint(), &query).await?;
    Ok(())
}

#[when(regex = r"^I search (users|groups) with:$")]
async fn search(world: &mut ScimWorld, kind: ResourceKind, step: &Step) -> Result<(), StepError> {
    let path = format!("{}/.search", kind.endpoint());
    world
        .send(Method::POST, &path, Some(doc_string(step)?))
        .await?;
    Ok(())
}

#[then(regex = r#"^the listed resources are exactly "([^"]*)"$"#)]
fn listed_exactly(world: &mut ScimWorld, names: String) -> Result<(), StepError> {
    let ids = listed_ids(world)?;
    super::groups::compare_references(world, "the listed resources", &ids, &name_list(&names))
}

#[then(regex = r#"^the listed resources are "([^"]*)" in that order$"#)]
fn listed_in_order(world: &mut ScimWorld, names: String) -> Result<(), StepError> {
    let ids = listed_ids(world)?;
    let expected = name_list(&names)
        .iter()
        .map(|name| world.id_of(name).map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()?;
    if ids == expected {
        return Ok(());
    }
    let shown: Vec<String> = ids
        .iter()
        .map(|id| {
            world
                .name_of(id)
                .map_or_else(|| format!("unknown id {id}"), str::to_owned)
        })
        .collect();
    Err(world.failure(format!(
        "expected the listed resources in the order [{names}], but they are [{}]",
        shown.join(", ")
    )))
}

/// Pages through the users matching `filter` with `count` per page and no `sortBy`, as Okta
/// does (personas.md §2.1): every page reports the same `totalResults`, holds at most
/// `count` resources, and together the pages list each named user exactly once.
#[then(
    regex = r#"^paging through the users with the filter (.+) and count (\d+) lists "([^"]*)" once each$"#
)]
async fn paging_lists_each_once(
    world: &mut ScimWorld,
    filter: String,
    count: usize,
    names: String,
) -> Result<(), StepError> {
    let filter = world.expand(&filter)?;
    let expected = name_list(&names);
    let mut seen: Vec<String> = Vec::new();
    let mut start_index = 1;
    // One page more than the expected users need, to see the end.
    let most_pages = expected.len() / count.max(1) + 2;
    for _ in 0..most_pages {
        let query = [
            ("filter".to_owned(), filter.clone()),
            ("startIndex".to_owned(), start_index.to_string()),
            ("count".to_owned(), count.to_string()),
        ];
        world
            .send_query(ResourceKind::User.endpoint(), &query)
            .await?;
        let page = listed_ids(world)?;
        let total = world
            .last_json()?
            .get("totalResults")
            .and_then(Value::as_u64);
        if total != u64::try_from(expected.len()).ok() {
            return Err(world.failure(format!(
                "expected totalResults {} on the page at startIndex {start_index}, got {}",
                expected.len(),
                total.map_or_else(|| "none".to_owned(), |total| total.to_string())
            )));
        }
        if page.len() > count {
            return Err(world.failure(format!(
                "asked for {count} resources, the page at startIndex {start_index} has {}",
                page.len()
            )));
        }
        if page.is_empty() {
            break;
        }
        start_index += page.len();
        seen.extend(page);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != seen.len() {
        return Err(world.failure(format!(
            "the pages listed {} resources, {} of them more than once",
            seen.len(),
            seen.len() - unique.len()
        )));
    }
    super::groups::compare_references(world, "the users listed over all pages", &seen, &expected)
}

/// For a query a server may refuse: a 400 answer, or a list without the user.
#[then(regex = r#"^the answer does not find the user "([^"]+)"$"#)]
fn does_not_find(world: &mut ScimWorld, name: String) -> Result<(), StepError> {
    if world.last()?.status == 400 {
        return Ok(());
    }
    let ids = listed_ids(world)?;
    let id = world.id_of(&name)?;
    if ids.iter().any(|listed| listed == id) {
        Err(world.failure(format!(
            "the query found the user \"{name}\", so what it matched can be learnt one guess at a time"
        )))
    } else {
        Ok(())
    }
}

#[then("the list is empty")]
fn list_is_empty(world: &mut ScimWorld) -> Result<(), StepError> {
    let ids = listed_ids(world)?;
    if ids.is_empty() {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected an empty list, got {} resources",
            ids.len()
        )))
    }
}

/// The ids in the last `ListResponse`, in order; a missing `Resources` is an empty page
/// (RFC 7644 §3.4.2: it is REQUIRED only when `totalResults` is not 0).
fn listed_ids(world: &ScimWorld) -> Result<Vec<String>, StepError> {
    let last = world.last()?;
    if last.status != 200 {
        return Err(world.failure("expected a 200 ListResponse"));
    }
    let json = world.last_json()?;
    let is_list_response = json
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| {
            schemas.iter().any(|schema| {
                schema.as_str() == Some("urn:ietf:params:scim:api:messages:2.0:ListResponse")
            })
        });
    if !is_list_response {
        return Err(world.failure("expected a ListResponse (RFC 7644 §3.4.2)"));
    }
    let Some(resources) = crate::json_match::lookup(json, "Resources")? else {
        return Ok(Vec::new());
    };
    resources
        .as_array()
        .ok_or_else(|| world.failure("expected `Resources` to be an array"))?
        .iter()
        .map(|resource| {
            resource
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| world.failure("a listed resource has no id"))
        })
        .collect()
}
