//! The in-memory copy of every organization's resources, with the indexes the SCIM API
//! needs: by id, by unique name, and each member's groups.
//!
//! The collections are persistent (`imbl`): cloning a dataset is O(1) and shares structure,
//! so the writer works on a clone, throws it away when a write fails, and publishes it to
//! readers only after the database commit. Readers always see committed data.

use super::records::{Narrowing, ResourceType, StoredResource};
use imbl::{HashMap, OrdSet};
use serde_json::Value;
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;
use std::sync::Arc;

/// One organization's resources.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrganizationData {
    resources: HashMap<(ResourceType, String), Arc<StoredResource>>,
    by_unique_name: HashMap<(ResourceType, String), String>,
    groups_of_member: HashMap<String, OrdSet<String>>,
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
pub(crate) fn unique_name(resource: &StoredResource) -> Option<String> {
    let attribute = match resource.resource_type {
        ResourceType::User => "userName",
        ResourceType::Group => "displayName",
    };
    resource
        .body
        .get(attribute)
        .and_then(Value::as_str)
        .map(str::to_lowercase)
}

/// The ids a Group body lists in `members`.
pub(crate) fn member_ids(resource: &StoredResource) -> OrdSet<String> {
    resource
        .body
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
        self.resources.get(&(resource_type, id.to_owned()))
    }

    /// The user or group `id`.
    pub(crate) fn get_any(&self, id: &str) -> Option<&Arc<StoredResource>> {
        self.get(ResourceType::User, id)
            .or_else(|| self.get(ResourceType::Group, id))
    }

    /// The id of the resource of `resource_type` whose unique name is `name` (any case).
    pub(crate) fn holder_of_name(&self, resource_type: ResourceType, name: &str) -> Option<&str> {
        self.by_unique_name
            .get(&(resource_type, name.to_lowercase()))
            .map(String::as_str)
    }

    /// Every resource of `resource_type`, oldest first.
    fn all(&self, resource_type: ResourceType) -> Vec<Arc<StoredResource>> {
        let mut found: Vec<Arc<StoredResource>> = self
            .resources
            .iter()
            .filter(|((kind, _), _)| *kind == resource_type)
            .map(|(_, resource)| Arc::clone(resource))
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
            Narrowing::All => self.all(resource_type),
            Narrowing::Id(id) => self.get(resource_type, id).cloned().into_iter().collect(),
            Narrowing::UniqueName(name) => self
                .holder_of_name(resource_type, name)
                .and_then(|id| self.get(resource_type, id))
                .cloned()
                .into_iter()
                .collect(),
        }
    }

    /// The ids of the groups `member_id` belongs to directly.
    pub(crate) fn groups_of(&self, member_id: &str) -> Vec<String> {
        self.groups_of_member
            .get(member_id)
            .map(|groups| groups.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Stores `resource`, replacing the version with the same id and keeping the indexes in
    /// step.
    pub(crate) fn put(&mut self, resource: Arc<StoredResource>) {
        let key = (resource.resource_type, resource.id.clone());
        if let Some(previous) = self.resources.get(&key).cloned() {
            self.unindex(&previous);
        }
        if let Some(name) = unique_name(&resource) {
            self.by_unique_name
                .insert((resource.resource_type, name), resource.id.clone());
        }
        if resource.resource_type == ResourceType::Group {
            for member in member_ids(&resource) {
                self.groups_of_member
                    .entry(member)
                    .or_default()
                    .insert(resource.id.clone());
            }
        }
        self.resources.insert(key, resource);
    }

    /// Removes `resource` and its index entries (a group's members stay resources; the
    /// caller takes a deleted member out of its groups first).
    pub(crate) fn remove(&mut self, resource: &StoredResource) {
        self.unindex(resource);
        self.groups_of_member.remove(&resource.id);
        self.resources
            .remove(&(resource.resource_type, resource.id.clone()));
    }

    fn unindex(&mut self, resource: &StoredResource) {
        if let Some(name) = unique_name(resource) {
            let key = (resource.resource_type, name);
            if self.by_unique_name.get(&key) == Some(&resource.id) {
                self.by_unique_name.remove(&key);
            }
        }
        if resource.resource_type == ResourceType::Group {
            for member in member_ids(resource) {
                if let Some(groups) = self.groups_of_member.get_mut(&member) {
                    groups.remove(&resource.id);
                    if groups.is_empty() {
                        self.groups_of_member.remove(&member);
                    }
                }
            }
        }
    }
}
