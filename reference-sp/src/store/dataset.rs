//! The in-memory copy of every organization's resources, with the indexes the SCIM API
//! needs: by id, by unique name, and each member's groups.
//!
//! The collections are persistent (`imbl`): cloning a dataset is O(1) and shares structure,
//! so the writer works on a clone, throws it away when a write fails, and publishes it to
//! readers only after the database commit. Readers always see committed data.

use super::records::{Narrowing, ResourceType, StoredResource};
use imbl::{HashMap, OrdSet};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;
use std::sync::Arc;

/// One organization's resources. Keys are `Arc<str>`: the writer's copy-on-write clones
/// whole map nodes, and cloning a key must not allocate.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrganizationData {
    users: ResourcesOfType,
    groups: ResourcesOfType,
    groups_of_member: HashMap<Arc<str>, OrdSet<Arc<str>>>,
}

/// The resources of one type, by id and by unique name.
#[derive(Debug, Clone, Default)]
struct ResourcesOfType {
    by_id: HashMap<Arc<str>, Arc<StoredResource>>,
    /// Lower-cased unique name to id.
    by_unique_name: HashMap<Arc<str>, Arc<str>>,
}

/// Every organization's resources.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dataset {
    organizations: HashMap<Arc<str>, OrganizationData>,
}

impl Dataset {
    /// The organization's data (empty when it has none yet).
    pub(crate) fn organization(&self, organization_id: &str) -> OrganizationData {
        self.organizations
            .get(organization_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces the organization's data.
    pub(crate) fn set_organization(&mut self, organization_id: &str, data: OrganizationData) {
        self.organizations.insert(organization_id.into(), data);
    }

    /// A dataset built from the rows of the `resources` table.
    pub(crate) fn from_rows(rows: &[SqliteRow]) -> Result<Dataset, sqlx::Error> {
        let mut dataset = Dataset::default();
        for row in rows {
            let organization_id: String = row.try_get("organization_id")?;
            let resource = StoredResource::from_row(row)?;
            dataset
                .organizations
                .entry(organization_id.into())
                .or_default()
                .put(Arc::new(resource));
        }
        Ok(dataset)
    }
}

/// The name a resource is unique by, lower-cased: a User's userName, a Group's displayName.
pub(crate) fn unique_name(resource: &StoredResource) -> Option<Arc<str>> {
    resource.unique_name().cloned()
}

/// The ids a Group body lists in `members`.
pub(crate) fn member_ids(resource: &StoredResource) -> OrdSet<String> {
    if resource.resource_type != ResourceType::Group {
        return OrdSet::new();
    }
    resource
        .body()
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|member| member.get("value").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

impl OrganizationData {
    /// The resource `id` of `resource_type`.
    pub(crate) fn get(
        &self,
        resource_type: ResourceType,
        id: &str,
    ) -> Option<&Arc<StoredResource>> {
        self.of_type(resource_type).by_id.get(id)
    }

    /// The user or group `id`.
    pub(crate) fn get_any(&self, id: &str) -> Option<&Arc<StoredResource>> {
        self.get(ResourceType::User, id)
            .or_else(|| self.get(ResourceType::Group, id))
    }

    /// The id of the resource of `resource_type` whose unique name is `name` (any case).
    pub(crate) fn holder_of_name(&self, resource_type: ResourceType, name: &str) -> Option<&str> {
        self.of_type(resource_type)
            .by_unique_name
            .get(name.to_lowercase().as_str())
            .map(AsRef::as_ref)
    }

    fn of_type(&self, resource_type: ResourceType) -> &ResourcesOfType {
        match resource_type {
            ResourceType::User => &self.users,
            ResourceType::Group => &self.groups,
        }
    }

    fn of_type_mut(&mut self, resource_type: ResourceType) -> &mut ResourcesOfType {
        match resource_type {
            ResourceType::User => &mut self.users,
            ResourceType::Group => &mut self.groups,
        }
    }

    /// Every resource of `resource_type`, oldest first.
    pub(crate) fn resources(&self, resource_type: ResourceType) -> Vec<Arc<StoredResource>> {
        let mut found: Vec<Arc<StoredResource>> = self
            .of_type(resource_type)
            .by_id
            .values()
            .cloned()
            .collect();
        found.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        found
    }

    /// The resources of `resource_type` that `narrowing` selects, oldest first.
    pub(crate) fn select(
        &self,
        resource_type: ResourceType,
        narrowing: &Narrowing,
    ) -> Vec<Arc<StoredResource>> {
        match narrowing {
            Narrowing::All => self.resources(resource_type),
            Narrowing::Id(id) => self.get(resource_type, id).cloned().into_iter().collect(),
            Narrowing::UniqueName(name) => self
                .holder_of_name(resource_type, name)
                .and_then(|id| self.get(resource_type, id))
                .cloned()
                .into_iter()
                .collect(),
        }
    }

    /// The entity tag `resource` is served with (`meta.version`, RFC 7644 §3.14). A resource
    /// is served with values taken from others, which change without it being written: a
    /// user's read-only `groups` (each group's display name), a group's `members` (each
    /// member's display name). So a user's tag also covers the id and version of every group it
    /// is in, and a group's the id and display name of every member, and a cached copy showing
    /// stale values never matches.
    pub(crate) fn etag(&self, resource: &StoredResource) -> String {
        // Most resources cover nothing else: no digest is made for them.
        let mut digest: Option<Sha256> = None;
        let mut cover = |text: String| {
            digest.get_or_insert_with(Sha256::new).update(text);
        };
        match resource.resource_type {
            ResourceType::User => {
                for group_id in self.groups_of(&resource.id) {
                    let group_version = self
                        .get(ResourceType::Group, &group_id)
                        .map_or(0, |group| group.version);
                    cover(format!("{group_id}:{group_version};"));
                }
            }
            ResourceType::Group => {
                for member_id in member_ids(resource) {
                    let display = self
                        .get_any(&member_id)
                        .and_then(|member| member.display_name())
                        .unwrap_or_default();
                    cover(format!("{member_id}:{}:{display};", display.len()));
                }
            }
        }
        let Some(digest) = digest else {
            return format!("W/\"{}\"", resource.version);
        };
        let short: String = digest
            .finalize()
            .iter()
            .take(6)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("W/\"{}-{short}\"", resource.version)
    }

    /// The ids of the groups `member_id` belongs to directly.
    pub(crate) fn groups_of(&self, member_id: &str) -> Vec<Arc<str>> {
        self.groups_of_member
            .get(member_id)
            .map(|groups| groups.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Stores `resource`, replacing the version with the same id and keeping the indexes in
    /// step.
    pub(crate) fn put(&mut self, resource: Arc<StoredResource>) {
        let id: Arc<str> = Arc::clone(&resource.id);
        if let Some(previous) = self.get(resource.resource_type, &id).cloned() {
            self.unindex(&previous);
        }
        if let Some(name) = unique_name(&resource) {
            self.of_type_mut(resource.resource_type)
                .by_unique_name
                .insert(name, Arc::clone(&id));
        }
        if resource.resource_type == ResourceType::Group {
            for member in member_ids(&resource) {
                self.groups_of_member
                    .entry(member.into())
                    .or_default()
                    .insert(Arc::clone(&id));
            }
        }
        self.of_type_mut(resource.resource_type)
            .by_id
            .insert(id, resource);
    }

    /// Removes `resource` and its index entries (a group's members stay resources; the
    /// caller takes a deleted member out of its groups first).
    pub(crate) fn remove(&mut self, resource: &StoredResource) {
        self.unindex(resource);
        self.groups_of_member.remove(&*resource.id);
        self.of_type_mut(resource.resource_type)
            .by_id
            .remove(&*resource.id);
    }

    fn unindex(&mut self, resource: &StoredResource) {
        if let Some(name) = unique_name(resource) {
            let by_unique_name = &mut self.of_type_mut(resource.resource_type).by_unique_name;
            if by_unique_name.get(name.as_ref()).map(AsRef::as_ref) == Some(&*resource.id) {
                by_unique_name.remove(name.as_ref());
            }
        }
        if resource.resource_type == ResourceType::Group {
            for member in member_ids(resource) {
                if let Some(groups) = self.groups_of_member.get_mut(member.as_str()) {
                    groups.remove(&*resource.id);
                    if groups.is_empty() {
                        self.groups_of_member.remove(member.as_str());
                    }
                }
            }
        }
    }
}
