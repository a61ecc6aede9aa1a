//! Stored resources.

use idpsim_scim::ResourceSchema;
use idpsim_scim::compact::{fold_urns, unfold_urns};
use serde_json::{Map, Value};
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

/// The resource types the reference SP serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ResourceType {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceType {
    /// The resource type's schema definitions.
    pub(crate) fn schema(self) -> &'static ResourceSchema {
        match self {
            ResourceType::User => ResourceSchema::user(),
            ResourceType::Group => ResourceSchema::group(),
        }
    }

    /// The name used in `meta.resourceType` and in the `resource_type` column.
    pub(crate) fn name(self) -> &'static str {
        self.schema().name
    }

    /// The endpoint segment, e.g. `Users`.
    pub(crate) fn segment(self) -> &'static str {
        self.schema().endpoint.trim_start_matches('/')
    }

    /// The resource type an endpoint segment names (`Users`, `groups`, ...).
    pub(crate) fn from_segment(segment: &str) -> Option<ResourceType> {
        [ResourceType::User, ResourceType::Group]
            .into_iter()
            .find(|kind| kind.segment().eq_ignore_ascii_case(segment))
    }

    /// The resource type named `name` (`User`, `Group`).
    pub(crate) fn from_name(name: &str) -> Option<ResourceType> {
        [ResourceType::User, ResourceType::Group]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// A resource as stored: its canonical body (without `id` and `meta`) and its metadata.
///
/// The body is kept as its compact JSON text, not as a parsed tree: a tree of a typical user
/// costs several times the memory of its text, and the SP holds every resource in memory.
/// The names lists and indexes need (display name, unique name) are kept beside it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredResource {
    /// User or Group.
    pub(crate) resource_type: ResourceType,
    /// Its row in the `resources` table: a number the writer assigns in creation order.
    pub(crate) row: i64,
    /// The server-assigned id (shared with the dataset's index by id).
    pub(crate) id: std::sync::Arc<str>,
    /// Incremented on every change; the ETag is derived from it.
    pub(crate) version: i64,
    /// RFC 3339 creation time.
    pub(crate) created: String,
    /// RFC 3339 time of the last change.
    pub(crate) last_modified: String,
    body: Box<str>,
    display_name: Option<Box<str>>,
    unique_name: Option<std::sync::Arc<str>>,
}

impl StoredResource {
    /// A resource with the canonical attributes `body`.
    pub(crate) fn new(
        resource_type: ResourceType,
        row: i64,
        id: std::sync::Arc<str>,
        version: i64,
        created: String,
        last_modified: String,
        body: &Map<String, Value>,
    ) -> StoredResource {
        let mut resource = StoredResource {
            resource_type,
            row,
            id,
            version,
            created,
            last_modified,
            body: Box::default(),
            display_name: None,
            unique_name: None,
        };
        resource.set_body(body);
        resource
    }

    /// Replaces the canonical attributes (the version is the caller's business).
    pub(crate) fn set_body(&mut self, body: &Map<String, Value>) {
        let text = |attribute: &str| body.get(attribute).and_then(Value::as_str);
        self.display_name = text("displayName")
            .or_else(|| text("userName"))
            .map(Box::from);
        let unique_attribute = match self.resource_type {
            ResourceType::User => "userName",
            ResourceType::Group => "displayName",
        };
        self.unique_name = text(unique_attribute).map(|name| name.to_lowercase().into());
        // Serialising a map of JSON values cannot fail.
        self.body = fold_urns(&serde_json::to_string(body).unwrap_or_else(|_| String::from("{}")));
    }

    /// The canonical attributes, parsed.
    pub(crate) fn body(&self) -> Map<String, Value> {
        serde_json::from_str(&unfold_urns(&self.body)).unwrap_or_default()
    }

    /// The canonical attributes as compact JSON text (what the database row holds).
    pub(crate) fn body_json(&self) -> String {
        unfold_urns(&self.body)
    }

    /// Whether `other` has exactly this resource's body text (a quick check before
    /// [`StoredResource::has_body`]).
    pub(crate) fn has_same_body_text(&self, other: &StoredResource) -> bool {
        self.body == other.body
    }

    /// Whether `body` holds the same attributes as this resource.
    pub(crate) fn has_body(&self, body: &Map<String, Value>) -> bool {
        self.body() == *body
    }

    /// The name shown for the resource in member and group lists: its displayName, or a
    /// user's userName when it has none.
    pub(crate) fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// The name the resource is unique by, lower-cased: a User's userName, a Group's
    /// displayName. Shared with the index of unique names.
    pub(crate) fn unique_name(&self) -> Option<&std::sync::Arc<str>> {
        self.unique_name.as_ref()
    }

    /// The resource's URL under `base_url`.
    pub(crate) fn location(&self, base_url: &str) -> String {
        format!("{base_url}/{}/{}", self.resource_type.segment(), self.id)
    }
}

/// Whether an `If-Match` / `If-None-Match` header value names `etag`: `*`, or one of its
/// comma-separated tags. Tags compare by their opaque part, so `W/"3"` and `"3"` match (SCIM
/// versions are weak ETags, RFC 7644 §3.14).
pub(crate) fn etag_matches(header: &str, etag: &str) -> bool {
    let opaque = |tag: &str| {
        let tag = tag.trim();
        tag.strip_prefix("W/").unwrap_or(tag).to_owned()
    };
    let wanted = opaque(etag);
    header
        .split(',')
        .any(|tag| tag.trim() == "*" || opaque(tag) == wanted)
}

/// Which resources a list query starts from: all of them, or those an index selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Narrowing {
    /// Every resource of the type.
    All,
    /// The resource with this id.
    Id(String),
    /// The resource whose userName (User) or displayName (Group) is this, ignoring case.
    UniqueName(String),
}

impl StoredResource {
    /// A resource from a row of the `resources` table.
    pub(crate) fn from_row(row: &SqliteRow) -> Result<StoredResource, sqlx::Error> {
        let type_name: String = row.try_get("resource_type")?;
        let resource_type = ResourceType::from_name(&type_name).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown resource type `{type_name}`").into())
        })?;
        let body: String = row.try_get("body")?;
        let body: Map<String, Value> =
            serde_json::from_str(&body).map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
        Ok(StoredResource::new(
            resource_type,
            row.try_get("seq")?,
            row.try_get("id")?,
            row.try_get("version")?,
            row.try_get("created")?,
            row.try_get("last_modified")?,
            &body,
        ))
    }
}
