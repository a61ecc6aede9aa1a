//! The Directory API's paged lists (seed 004, "List users in a directory", "List groups in a
//! directory", with `PageSize` and `PageToken`): an organization's SCIM users and groups as the
//! SCIM API keeps them, in the shapes an app syncs from.
//!
//! Pages follow the resources' order of creation. `page_size` is 50 unless given, at most 200.
//! `next_page_token` is opaque (the position after the page's last resource, base64url) and
//! absent on the last page. A token names a position, not an offset: resources created while
//! a client pages through come after it, and none is listed twice.

use crate::store::{OrganizationData, ResourceType, StoredResource, member_ids};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The page size when none is asked for.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page size.
pub(crate) const MAX_PAGE_SIZE: usize = 200;

/// Which page to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// The organization whose list it is: its tokens name it.
    organization: String,
    size: usize,
    /// The (created, id) of the last resource of the previous page.
    after: Option<(String, String)>,
}

/// The name of a list in its page tokens and answers: `users` or `groups`.
fn list_name(resource_type: ResourceType) -> &'static str {
    match resource_type {
        ResourceType::User => "users",
        ResourceType::Group => "groups",
    }
}

impl PageRequest {
    /// The page `page_size` and `page_token` ask for in the list of `resource_type`; `Err`
    /// says what is wrong with them.
    pub(crate) fn parse(
        resource_type: ResourceType,
        organization: &str,
        page_size: Option<&str>,
        page_token: Option<&str>,
    ) -> Result<PageRequest, String> {
        let size = match page_size.map(str::trim).filter(|size| !size.is_empty()) {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => match text.parse::<usize>() {
                Ok(size) if (1..=MAX_PAGE_SIZE).contains(&size) => size,
                _ => {
                    return Err(format!(
                        "page_size must be a number from 1 to {MAX_PAGE_SIZE}, not `{text}`"
                    ));
                }
            },
        };
        let after = match page_token.filter(|token| !token.is_empty()) {
            None => None,
            Some(token) => Some(decode_token(resource_type, organization, token).ok_or_else(
                || {
                    format!(
                        "page_token is not a page token of this organization's {} list",
                        list_name(resource_type)
                    )
                },
            )?),
        };
        Ok(PageRequest {
            organization: organization.to_owned(),
            size,
            after,
        })
    }
}

/// The opaque token of the position after (created, id) in `organization`'s list of
/// `resource_type`.
fn encode_token(
    resource_type: ResourceType,
    organization: &str,
    created: &str,
    id: &str,
) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}\n{organization}\n{created}\n{id}",
        list_name(resource_type)
    ))
}

/// The position a token names, if it is one of `organization`'s list of `resource_type` (a
/// token of another list, or of another organization, would skip resources unseen).
fn decode_token(
    resource_type: ResourceType,
    organization: &str,
    token: &str,
) -> Option<(String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(4, '\n');
    let (list, owner, created, id) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let position = chrono::DateTime::parse_from_rfc3339(created).is_ok() && !id.is_empty();
    (list == list_name(resource_type) && owner == organization && position)
        .then(|| (created.to_owned(), id.to_owned()))
}

/// The page of `resources` (sorted by creation, then id) `request` asks for, and the token of
/// the next page when there is one.
fn page<'a>(
    resource_type: ResourceType,
    resources: &'a [Arc<StoredResource>],
    request: &PageRequest,
) -> (&'a [Arc<StoredResource>], Option<String>) {
    let start = request.after.as_ref().map_or(0, |(created, id)| {
        resources.partition_point(|resource| {
            (resource.created.as_str(), resource.id.as_ref()) <= (created.as_str(), id.as_str())
        })
    });
    let end = start.saturating_add(request.size).min(resources.len());
    let listed = resources.get(start..end).unwrap_or_default();
    let next = match listed.last() {
        Some(last) if end < resources.len() => Some(encode_token(
            resource_type,
            &request.organization,
            &last.created,
            &last.id,
        )),
        _ => None,
    };
    (listed, next)
}

/// The page of the organization's users or groups `request` asks for:
/// `{"users"|"groups": [...], "next_page_token"?: ...}`.
pub(crate) fn list(
    data: &OrganizationData,
    resource_type: ResourceType,
    request: &PageRequest,
) -> Value {
    let resources = data.resources(resource_type);
    let (listed, next) = page(resource_type, &resources, request);
    let rendered: Vec<Value> = listed
        .iter()
        .map(|resource| match resource_type {
            ResourceType::User => user(data, resource),
            ResourceType::Group => group(data, resource),
        })
        .collect();
    let mut answer = Map::new();
    answer.insert(list_name(resource_type).into(), Value::Array(rendered));
    if let Some(next) = next {
        answer.insert("next_page_token".into(), Value::String(next));
    }
    Value::Object(answer)
}

fn text<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

/// A user in the Directory API: its [`user_fields`] and `groups`.
fn user(data: &OrganizationData, resource: &StoredResource) -> Value {
    let groups: Vec<Value> = data
        .groups_of(&resource.id)
        .iter()
        .map(|group_id| {
            json!({
                "id": group_id.as_ref(),
                "name": data
                    .get(ResourceType::Group, group_id)
                    .and_then(|group| group.display_name()),
            })
        })
        .collect();
    let mut answer = user_fields(resource);
    answer.insert("groups".into(), Value::Array(groups));
    Value::Object(answer)
}

/// The fields an app provisions a user from, the same in the Directory API and in webhook
/// events (seed 004's `email` and `name`, and more): `id`, `user_name`, `email` (the primary
/// address, else the first; null when the user has none), `name` (`displayName`, else
/// `name.formatted`, else the given and family names; blank text counts as none), `active`
/// (an absent `active` is active, as everywhere else in the SP) and `external_id`.
pub(crate) fn user_fields(resource: &StoredResource) -> Map<String, Value> {
    let body = resource.body();
    let mut fields = Map::new();
    fields.insert("id".into(), json!(resource.id.as_ref()));
    fields.insert("user_name".into(), json!(text(&body, "userName")));
    fields.insert("email".into(), json!(email(&body)));
    fields.insert("name".into(), json!(person_name(&body)));
    fields.insert(
        "active".into(),
        json!(body.get("active").and_then(Value::as_bool).unwrap_or(true)),
    );
    fields.insert("external_id".into(), json!(text(&body, "externalId")));
    fields
}

/// The primary email address, or the first one.
fn email(body: &Map<String, Value>) -> Option<&str> {
    let emails = body.get("emails").and_then(Value::as_array)?;
    fn address(email: &Value) -> Option<&str> {
        email.get("value").and_then(Value::as_str)
    }
    emails
        .iter()
        .filter(|email| email.get("primary").and_then(Value::as_bool) == Some(true))
        .find_map(address)
        .or_else(|| emails.iter().find_map(address))
}

/// `displayName`, else `name.formatted`, else the given and family names.
fn person_name(body: &Map<String, Value>) -> Option<String> {
    if let Some(display_name) = non_empty_text(body.get("displayName")) {
        return Some(display_name.to_owned());
    }
    let name = body.get("name");
    let part = |part: &str| non_empty_text(name.and_then(|name| name.get(part)));
    if let Some(formatted) = part("formatted") {
        return Some(formatted.to_owned());
    }
    let joined = [part("givenName"), part("familyName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!joined.is_empty()).then_some(joined)
}

/// `value` as trimmed text, if it is text that is not blank.
fn non_empty_text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// A group: `id`, `name` (displayName) and `members` (`id` and `type`, `user` or `group`).
fn group(data: &OrganizationData, resource: &StoredResource) -> Value {
    let members: Vec<Value> = member_ids(resource)
        .iter()
        .filter_map(|id| {
            let kind = if data.get(ResourceType::User, id).is_some() {
                "user"
            } else if data.get(ResourceType::Group, id).is_some() {
                "group"
            } else {
                return None;
            };
            Some(json!({ "id": id, "type": kind }))
        })
        .collect();
    json!({
        "id": resource.id.as_ref(),
        "name": resource.display_name(),
        "members": members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(count: usize) -> Vec<Arc<StoredResource>> {
        (0..count)
            .map(|index| {
                let mut body = Map::new();
                body.insert("userName".into(), json!(format!("user{index}")));
                Arc::new(StoredResource::new(
                    ResourceType::User,
                    index as i64,
                    format!("id-{index:03}").into(),
                    1,
                    // Two users per millisecond: ties in `created` are broken by id.
                    format!("2026-01-01T00:00:00.{:03}Z", index / 2),
                    String::new(),
                    &body,
                ))
            })
            .collect()
    }

    fn all_pages(resources: &[Arc<StoredResource>], size: &str) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request =
                PageRequest::parse(ResourceType::User, "acme", Some(size), token.as_deref())
                    .unwrap();
            let (listed, next) = page(ResourceType::User, resources, &request);
            pages.push(listed.iter().map(|user| user.id.to_string()).collect());
            match next {
                Some(next) => token = Some(next),
                None => return pages,
            }
        }
    }

    #[test]
    fn pages_cover_every_resource_once() {
        let resources = users(120);
        let pages = all_pages(&resources, "50");
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [50, 50, 20]);
        let listed: Vec<String> = pages.concat();
        let expected: Vec<String> = resources.iter().map(|user| user.id.to_string()).collect();
        assert_eq!(listed, expected);
        // An exact multiple ends without an empty page.
        let sizes: Vec<usize> = all_pages(&users(100), "50").iter().map(Vec::len).collect();
        assert_eq!(sizes, [50, 50]);
        assert_eq!(all_pages(&[], "50"), [Vec::<String>::new()]);
    }

    #[test]
    fn a_token_is_a_position_not_an_offset() {
        let mut resources = users(10);
        let request = PageRequest::parse(ResourceType::User, "acme", Some("4"), None).unwrap();
        let (_, next) = page(ResourceType::User, &resources, &request);
        // A resource created earlier than the position (same millisecond, lower id) is not
        // listed again, and the next page starts right after the last one seen.
        resources.remove(0);
        let request =
            PageRequest::parse(ResourceType::User, "acme", Some("4"), next.as_deref()).unwrap();
        let (listed, _) = page(ResourceType::User, &resources, &request);
        assert_eq!(listed[0].id.as_ref(), "id-004");
    }

    #[test]
    fn sizes_and_tokens_are_checked() {
        let parse = |size: Option<&str>, token: Option<&str>| {
            PageRequest::parse(ResourceType::User, "acme", size, token)
        };
        assert_eq!(parse(None, None).unwrap().size, DEFAULT_PAGE_SIZE);
        assert_eq!(parse(Some("200"), None).unwrap().size, 200);
        for bad in ["0", "201", "-1", "ten"] {
            assert!(parse(Some(bad), None).is_err(), "{bad}");
        }
        assert!(parse(None, Some("garbage!")).is_err());
        let created = "2026-01-02T03:04:05.678Z";
        let group_token = encode_token(ResourceType::Group, "acme", created, "g-1");
        assert!(parse(None, Some(&group_token)).is_err());
        let other_organization = encode_token(ResourceType::User, "globex", created, "u-1");
        assert!(parse(None, Some(&other_organization)).is_err());
        let forged = encode_token(ResourceType::User, "acme", "zzzz", "zzzz");
        assert!(parse(None, Some(&forged)).is_err());
        let user_token = encode_token(ResourceType::User, "acme", created, "u-1");
        assert_eq!(
            parse(None, Some(&user_token)).unwrap().after,
            Some((created.to_owned(), "u-1".to_owned()))
        );
    }

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn the_primary_email_wins_over_the_first() {
        let user = body(json!({"emails": [
            {"value": "first@example.com"},
            {"value": "primary@example.com", "primary": true}
        ]}));
        assert_eq!(email(&user), Some("primary@example.com"));
    }

    #[test]
    fn without_a_primary_email_the_first_is_taken() {
        let user =
            body(json!({"emails": [{"value": "a@example.com"}, {"value": "b@example.com"}]}));
        assert_eq!(email(&user), Some("a@example.com"));
        assert_eq!(email(&body(json!({"userName": "alice"}))), None);
    }

    #[test]
    fn the_name_is_the_display_name_then_the_formatted_name_then_given_and_family() {
        assert_eq!(
            person_name(&body(json!({"displayName": "Alice L.",
                "name": {"formatted": "Ms Alice Liddell"}}))),
            Some("Alice L.".into())
        );
        assert_eq!(
            person_name(&body(json!({"name": {"formatted": "Ms Alice Liddell",
                "givenName": "Alice"}}))),
            Some("Ms Alice Liddell".into())
        );
        assert_eq!(
            person_name(&body(
                json!({"name": {"givenName": "Alice", "familyName": "Liddell"}})
            )),
            Some("Alice Liddell".into())
        );
        assert_eq!(
            person_name(&body(json!({"name": {"familyName": "Liddell"}}))),
            Some("Liddell".into())
        );
        assert_eq!(person_name(&body(json!({"userName": "alice"}))), None);
    }
}
