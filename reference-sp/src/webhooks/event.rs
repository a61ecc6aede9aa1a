//! The events a directory change produces, with the payload of seed 004 ("Process webhook
//! events"): `{"id": "evt_…", "type": "organization.directory.user_created", "data": {…},
//! "timestamp": "2024-01-15T10:30:00Z"}`.

use crate::directory::user_fields;
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
    let mut data = Map::new();
    data.insert(
        "organization_id".into(),
        json!(&*change_set.organization_id),
    );
    data.insert("directory_id".into(), json!(&*change_set.organization_id));
    match resource.resource_type {
        ResourceType::User => data.extend(user_fields(resource)),
        ResourceType::Group => {
            data.insert("id".into(), json!(&*resource.id));
            data.insert("name".into(), json!(resource.display_name()));
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
