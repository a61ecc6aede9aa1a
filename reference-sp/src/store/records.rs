//! Stored resources.

use idpsim_scim::ResourceSchema;
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
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredResource {
    /// User or Group.
    pub(crate) resource_type: ResourceType,
    /// The server-assigned id.
    pub(crate) id: String,
    /// Incremented on every change; the ETag is derived from it.
    pub(crate) version: i64,
    /// RFC 3339 creation time.
    pub(crate) created: String,
    /// RFC 3339 time of the last change.
    pub(crate) last_modified: String,
    /// The canonical attributes.
    pub(crate) body: Map<String, Value>,
}

impl StoredResource {
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
        let body = serde_json::from_str(&body).map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
        Ok(StoredResource {
            resource_type,
            id: row.try_get("id")?,
            version: row.try_get("version")?,
            created: row.try_get("created")?,
            last_modified: row.try_get("last_modified")?,
            body,
        })
    }
}
