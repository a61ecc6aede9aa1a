//! Stored resources and the queries that read them.

use idpsim_scim::ResourceSchema;
use serde_json::{Map, Value};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{Executor, Row as _};
use std::collections::HashMap;

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
    /// The entity tag of this version (`meta.version`, RFC 7644 §3.14).
    pub(crate) fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
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

/// A group a member belongs to, for the User's read-only `groups` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupRef {
    /// The group's id.
    pub(crate) id: String,
    /// The group's displayName.
    pub(crate) display: Option<String>,
}

/// A group member as it is now, for the `type`, `display` and `$ref` of Group `members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberRef {
    /// User or Group.
    pub(crate) resource_type: ResourceType,
    /// The member's displayName (a user's userName when it has none).
    pub(crate) display: Option<String>,
}

/// Which rows a list query reads: all of them, or those an indexed column selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Narrowing {
    /// Every resource of the type.
    All,
    /// The resource with this id.
    Id(String),
    /// The resource whose userName (User) or displayName (Group) is this, ignoring case.
    UniqueName(String),
    /// The resources with this externalId (caseExact, RFC 7643 §3.1).
    ExternalId(String),
}

fn resource_from_row(row: &SqliteRow) -> Result<StoredResource, sqlx::Error> {
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

/// The resource `id` of `resource_type`, if the organization has it.
pub(crate) async fn fetch_resource<'e>(
    executor: impl Executor<'e, Database = Sqlite>,
    organization_id: &str,
    resource_type: ResourceType,
    id: &str,
) -> Result<Option<StoredResource>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, resource_type, version, created, last_modified, body FROM resources \
         WHERE organization_id = ?1 AND resource_type = ?2 AND id = ?3",
    )
    .bind(organization_id)
    .bind(resource_type.name())
    .bind(id)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(resource_from_row).transpose()
}

/// The organization's resources of `resource_type` that `narrowing` selects, oldest first.
pub(crate) async fn fetch_resources<'e>(
    executor: impl Executor<'e, Database = Sqlite>,
    organization_id: &str,
    resource_type: ResourceType,
    narrowing: &Narrowing,
) -> Result<Vec<StoredResource>, sqlx::Error> {
    let (query, key) = match narrowing {
        Narrowing::All => (
            sqlx::query(
                "SELECT id, resource_type, version, created, last_modified, body FROM resources \
                 WHERE organization_id = ?1 AND resource_type = ?2 ORDER BY created, id",
            ),
            None,
        ),
        Narrowing::Id(id) => (
            sqlx::query(
                "SELECT id, resource_type, version, created, last_modified, body FROM resources \
                 WHERE organization_id = ?1 AND resource_type = ?2 AND id = ?3",
            ),
            Some(id.clone()),
        ),
        Narrowing::UniqueName(name) => (
            sqlx::query(
                "SELECT id, resource_type, version, created, last_modified, body FROM resources \
                 WHERE organization_id = ?1 AND resource_type = ?2 AND unique_name = ?3",
            ),
            Some(name.to_lowercase()),
        ),
        Narrowing::ExternalId(external_id) => (
            sqlx::query(
                "SELECT id, resource_type, version, created, last_modified, body FROM resources \
                 WHERE organization_id = ?1 AND resource_type = ?2 AND external_id = ?3 \
                 ORDER BY created, id",
            ),
            Some(external_id.clone()),
        ),
    };
    let mut query = query.bind(organization_id).bind(resource_type.name());
    if let Some(key) = key {
        query = query.bind(key);
    }
    query
        .fetch_all(executor)
        .await?
        .iter()
        .map(resource_from_row)
        .collect()
}

/// The groups each member belongs to directly: of `member_ids`, or of every member.
pub(crate) async fn fetch_groups_of<'e>(
    executor: impl Executor<'e, Database = Sqlite> + Copy,
    organization_id: &str,
    member_ids: Option<&[&str]>,
) -> Result<HashMap<String, Vec<GroupRef>>, sqlx::Error> {
    let rows = match member_ids {
        None => {
            sqlx::query(
                "SELECT m.member_id, m.group_id, r.display FROM memberships m \
                 JOIN resources r ON r.organization_id = m.organization_id \
                 AND r.resource_type = 'Group' AND r.id = m.group_id \
                 WHERE m.organization_id = ?1 ORDER BY r.unique_name, m.group_id",
            )
            .bind(organization_id)
            .fetch_all(executor)
            .await?
        }
        Some(member_ids) => {
            let mut rows = Vec::new();
            for member_id in member_ids {
                rows.extend(
                    sqlx::query(
                        "SELECT m.member_id, m.group_id, r.display FROM memberships m \
                         JOIN resources r ON r.organization_id = m.organization_id \
                         AND r.resource_type = 'Group' AND r.id = m.group_id \
                         WHERE m.organization_id = ?1 AND m.member_id = ?2 \
                         ORDER BY r.unique_name, m.group_id",
                    )
                    .bind(organization_id)
                    .bind(*member_id)
                    .fetch_all(executor)
                    .await?,
                );
            }
            rows
        }
    };
    let mut groups: HashMap<String, Vec<GroupRef>> = HashMap::new();
    for row in rows {
        groups
            .entry(row.try_get("member_id")?)
            .or_default()
            .push(GroupRef {
                id: row.try_get("group_id")?,
                display: row.try_get("display")?,
            });
    }
    Ok(groups)
}

/// The current members of each group: of `group_ids`, or of every group.
pub(crate) async fn fetch_members_of<'e>(
    executor: impl Executor<'e, Database = Sqlite> + Copy,
    organization_id: &str,
    group_ids: Option<&[&str]>,
) -> Result<HashMap<String, HashMap<String, MemberRef>>, sqlx::Error> {
    let rows = match group_ids {
        None => {
            sqlx::query(
                "SELECT m.group_id, m.member_id, r.resource_type, r.display FROM memberships m \
                 JOIN resources r ON r.organization_id = m.organization_id AND r.id = m.member_id \
                 WHERE m.organization_id = ?1",
            )
            .bind(organization_id)
            .fetch_all(executor)
            .await?
        }
        Some(group_ids) => {
            let mut rows = Vec::new();
            for group_id in group_ids {
                rows.extend(
                    sqlx::query(
                        "SELECT m.group_id, m.member_id, r.resource_type, r.display \
                         FROM memberships m JOIN resources r \
                         ON r.organization_id = m.organization_id AND r.id = m.member_id \
                         WHERE m.organization_id = ?1 AND m.group_id = ?2",
                    )
                    .bind(organization_id)
                    .bind(*group_id)
                    .fetch_all(executor)
                    .await?,
                );
            }
            rows
        }
    };
    let mut members: HashMap<String, HashMap<String, MemberRef>> = HashMap::new();
    for row in rows {
        let type_name: String = row.try_get("resource_type")?;
        let Some(resource_type) = ResourceType::from_name(&type_name) else {
            continue;
        };
        members.entry(row.try_get("group_id")?).or_default().insert(
            row.try_get("member_id")?,
            MemberRef {
                resource_type,
                display: row.try_get("display")?,
            },
        );
    }
    Ok(members)
}
