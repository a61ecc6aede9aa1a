//! The events a directory change produces, with the payload of seed 004 ("Process webhook
//! events"): `{"id": "evt_…", "type": "organization.directory.user_created", "data": {…},
//! "timestamp": "2024-01-15T10:30:00Z"}`.

use crate::store::{ChangeKind, ChangeSet, DirectoryChange, ResourceType, member_ids};
use axum::body::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// A user was created.
pub const USER_CREATED: &str = "organization.directory.user_created";
/// A user changed (including a user deactivated where the organization deactivates on DELETE).
pub const USER_UPDATED: &str = "organization.directory.user_updated";
/// A user was deleted.
pub const USER_DELETED: &str = "organization.directory.user_deleted";
/// A group was created.
pub const GROUP_CREATED: &str = "organization.directory.group_created";
/// A group changed (its name or its members, including a member taken out by its deletion).
pub const GROUP_UPDATED: &str = "organization.directory.group_updated";
/// A group was deleted.
pub const GROUP_DELETED: &str = "organization.directory.group_deleted";

/// Every event type an endpoint can subscribe to (seed 004, "Register your webhook endpoint").
pub const WEBHOOK_EVENT_TYPES: [&str; 6] = [
    USER_CREATED,
    USER_UPDATED,
    USER_DELETED,
    GROUP_CREATED,
    GROUP_UPDATED,
    GROUP_DELETED,
];

/// One event, ready to send: every endpoint and every attempt gets the same body.
#[derive(Debug)]
pub(crate) struct Event {
    /// `evt_…`, also the `webhook-id` of its deliveries.
    pub(crate) id: String,
    /// One of [`WEBHOOK_EVENT_TYPES`].
    pub(crate) event_type: &'static str,
    /// The JSON payload.
    pub(crate) body: Bytes,
}

/// The event type of `change`.
pub(crate) fn event_type(change: &DirectoryChange) -> &'static str {
    match (change.resource.resource_type, change.kind) {
        (ResourceType::User, ChangeKind::Created) => USER_CREATED,
        (ResourceType::User, ChangeKind::Updated) => USER_UPDATED,
        (ResourceType::User, ChangeKind::Deleted) => USER_DELETED,
        (ResourceType::Group, ChangeKind::Created) => GROUP_CREATED,
        (ResourceType::Group, ChangeKind::Updated) => GROUP_UPDATED,
        (ResourceType::Group, ChangeKind::Deleted) => GROUP_DELETED,
    }
}

impl Event {
    /// The event of `change`, one of `change_set`'s, at `now`; resources are rendered as the
    /// SCIM API at `base_url` serves them.
    pub(crate) fn new(
        change_set: &ChangeSet,
        change: &DirectoryChange,
        base_url: &str,
        now: DateTime<Utc>,
    ) -> Event {
        let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
        let event_type = event_type(change);
        let payload = json!({
            "id": id,
            "type": event_type,
            "data": data(change_set, change, base_url),
            "timestamp": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        });
        Event {
            id,
            event_type,
            body: Bytes::from(payload.to_string()),
        }
    }
}

/// `data`: the organization (which is also the directory: each organization has one), the
/// resource's id, the fields a receiver provisions from (seed 004's `email` and `name`, and
/// more), and the whole SCIM resource, as it now is or as it last was.
fn data(change_set: &ChangeSet, change: &DirectoryChange, base_url: &str) -> Value {
    let resource = &change.resource;
    let body = resource.body();
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    let mut data = Map::new();
    data.insert(
        "organization_id".into(),
        json!(&*change_set.organization_id),
    );
    data.insert("directory_id".into(), json!(&*change_set.organization_id));
    data.insert("id".into(), json!(&*resource.id));
    match resource.resource_type {
        ResourceType::User => {
            data.insert("email".into(), json!(email(&body).or(text("userName"))));
            data.insert("name".into(), json!(person_name(&body)));
            data.insert("user_name".into(), json!(text("userName")));
            data.insert(
                "active".into(),
                // An absent `active` is active, as everywhere else in the SP.
                json!(body.get("active").and_then(Value::as_bool).unwrap_or(true)),
            );
            data.insert("external_id".into(), json!(text("externalId")));
        }
        ResourceType::Group => {
            data.insert("name".into(), json!(text("displayName")));
            data.insert(
                "members".into(),
                json!(member_ids(resource).into_iter().collect::<Vec<_>>()),
            );
        }
    }
    data.insert(
        "resource".into(),
        crate::http::render(resource, &change_set.data, base_url),
    );
    Value::Object(data)
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

#[cfg(test)]
mod tests {
    use super::*;

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
