//! The SCIM writes. Each runs on the writer's working copy of one organization's data and
//! records the row changes that make it durable; a write that fails records nothing.

use super::dataset::{OrganizationData, member_ids, unique_name};
use super::records::{ResourceType, StoredResource, etag_matches};
use super::writer::Mutation;
use idpsim_scim::bulk::{
    BulkMethod, BulkOperation, BulkOperationResult, BulkRequest, resolve_bulk_ids,
};
use idpsim_scim::{PatchRequest, ScimError, ScimResult, apply_patch, prepare_write};
use imbl::OrdSet;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A change to one row of the `resources` table.
#[derive(Debug)]
pub(super) enum RowChange {
    /// Insert or update the resource.
    Put {
        /// Its organization.
        organization_id: Arc<str>,
        /// The resource as it now is.
        resource: Arc<StoredResource>,
    },
    /// Delete the resource.
    Delete {
        /// Its organization.
        organization_id: Arc<str>,
        /// User or Group.
        resource_type: ResourceType,
        /// Its id.
        id: String,
    },
}

/// One write in progress: the organization's working data and the row changes so far.
pub(super) struct Work<'w> {
    /// The organization written to.
    pub(super) organization_id: &'w Arc<str>,
    /// Its data, changed in place.
    pub(super) data: &'w mut OrganizationData,
    /// The row changes, appended to.
    pub(super) changes: &'w mut Vec<RowChange>,
    /// Whether DELETE deactivates users in this organization.
    pub(super) deactivates_users: bool,
}

impl Work<'_> {
    /// Applies one create, replace, patch or delete. Returns the resource as it now is, or
    /// `None` when it was deleted (or deactivated in its place).
    pub(super) fn apply(&mut self, mutation: Mutation) -> ScimResult<Option<Arc<StoredResource>>> {
        match mutation {
            Mutation::Create {
                resource_type,
                body,
            } => {
                let canonical = prepare_write(&body, resource_type.schema(), None)?;
                let now = now();
                let created = StoredResource {
                    resource_type,
                    id: uuid::Uuid::now_v7().to_string(),
                    version: 1,
                    created: now.clone(),
                    last_modified: now,
                    body: canonical,
                };
                self.save(None, created).map(Some)
            }
            Mutation::Replace {
                resource_type,
                id,
                body,
                if_match,
            } => {
                let existing = self.load(resource_type, &id)?;
                check_precondition(if_match.as_deref(), &existing, &self.data.etag(&existing))?;
                let canonical = prepare_write(&body, resource_type.schema(), Some(&existing.body))?;
                self.save(Some(&existing), existing.with_body(canonical))
                    .map(Some)
            }
            Mutation::Patch {
                resource_type,
                id,
                request,
                if_match,
            } => {
                let existing = self.load(resource_type, &id)?;
                check_precondition(if_match.as_deref(), &existing, &self.data.etag(&existing))?;
                let patched = apply_patch(&existing.body, &request, resource_type.schema())?;
                self.save(Some(&existing), existing.with_body(patched))
                    .map(Some)
            }
            Mutation::Delete {
                resource_type,
                id,
                if_match,
            } => {
                let existing = self.load(resource_type, &id)?;
                check_precondition(if_match.as_deref(), &existing, &self.data.etag(&existing))?;
                if resource_type == ResourceType::User && self.deactivates_users {
                    let mut body = existing.body.clone();
                    body.insert("active".into(), Value::Bool(false));
                    self.save(Some(&existing), existing.with_body(body))?;
                } else {
                    self.delete(&existing)?;
                }
                Ok(None)
            }
            Mutation::Bulk(_) => Err(ScimError::InvalidValue(
                "a bulk operation cannot be another bulk request".into(),
            )),
        }
    }

    fn load(&self, resource_type: ResourceType, id: &str) -> ScimResult<Arc<StoredResource>> {
        self.data.get(resource_type, id).cloned().ok_or_else(|| {
            ScimError::NotFound(format!("{} `{id}` not found", resource_type.name()))
        })
    }

    /// Stores `resource` (new when `previous` is `None`) once its group members are checked
    /// and its unique name is free. A write that changes nothing keeps the old version.
    fn save(
        &mut self,
        previous: Option<&Arc<StoredResource>>,
        mut resource: StoredResource,
    ) -> ScimResult<Arc<StoredResource>> {
        if resource.resource_type == ResourceType::Group {
            let known = previous.map(|group| member_ids(group)).unwrap_or_default();
            settle_members(self.data, &mut resource, &known)?;
        }
        if let Some(previous) = previous.filter(|previous| previous.body == resource.body) {
            return Ok(Arc::clone(previous));
        }
        if let Some(name) = unique_name(&resource)
            && let Some(holder) = self.data.holder_of_name(resource.resource_type, &name)
            && holder != resource.id
        {
            let attribute = match resource.resource_type {
                ResourceType::User => "userName",
                ResourceType::Group => "displayName",
            };
            return Err(ScimError::Uniqueness(format!(
                "{attribute} `{name}` is already taken (ignoring case) by {} `{holder}`",
                resource.resource_type.name()
            )));
        }
        let resource = Arc::new(resource);
        self.data.put(Arc::clone(&resource));
        self.changes.push(RowChange::Put {
            organization_id: Arc::clone(self.organization_id),
            resource: Arc::clone(&resource),
        });
        Ok(resource)
    }

    /// Deletes `resource` after taking it out of every group that lists it (each such group
    /// gets a new version, as its `members` changed).
    fn delete(&mut self, resource: &StoredResource) -> ScimResult<()> {
        for parent_id in self.data.groups_of(&resource.id) {
            let parent = self.load(ResourceType::Group, &parent_id)?;
            let mut body = parent.body.clone();
            if let Some(Value::Array(members)) = body.get_mut("members") {
                members.retain(|member| {
                    member.get("value").and_then(Value::as_str) != Some(resource.id.as_str())
                });
                if members.is_empty() {
                    body.remove("members");
                }
            }
            self.save(Some(&parent), parent.with_body(body))?;
        }
        self.data.remove(resource);
        self.changes.push(RowChange::Delete {
            organization_id: Arc::clone(self.organization_id),
            resource_type: resource.resource_type,
            id: resource.id.clone(),
        });
        Ok(())
    }

    /// Runs a bulk request (RFC 7644 §3.7): operations in dependency order, each all or
    /// nothing, `bulkId:` references replaced by the ids created, stopping once
    /// `failOnErrors` operations have failed.
    pub(super) fn bulk(
        &mut self,
        request: &BulkRequest,
        base_url: &str,
    ) -> Vec<BulkOperationResult> {
        let plan = request.execution_plan();
        let error_limit = request.fail_on_errors.unwrap_or(usize::MAX);
        let mut created_ids: HashMap<String, String> = HashMap::new();
        let mut results = Vec::with_capacity(request.operations.len());
        let mut errors = 0;
        for operation in plan.order.iter().filter_map(|&i| request.operations.get(i)) {
            if errors >= error_limit {
                return results;
            }
            let (data_before, changes_before) = (self.data.clone(), self.changes.len());
            match self.run_bulk_operation(operation, &created_ids, base_url) {
                Ok((result, created)) => {
                    if let (Some(bulk_id), Some(id)) = (&operation.bulk_id, created) {
                        created_ids.insert(bulk_id.clone(), id);
                    }
                    results.push(result);
                }
                Err(error) => {
                    *self.data = data_before;
                    self.changes.truncate(changes_before);
                    errors += 1;
                    results.push(BulkOperationResult::failed(operation, &error));
                }
            }
        }
        for (index, error) in &plan.unrunnable {
            if errors >= error_limit {
                break;
            }
            if let Some(operation) = request.operations.get(*index) {
                errors += 1;
                results.push(BulkOperationResult::failed(operation, error));
            }
        }
        results
    }

    /// One bulk operation; on success its result and, for a POST, the id it created.
    fn run_bulk_operation(
        &mut self,
        operation: &BulkOperation,
        created_ids: &HashMap<String, String>,
        base_url: &str,
    ) -> ScimResult<(BulkOperationResult, Option<String>)> {
        let resolved = resolve_bulk_ids(operation, created_ids)?;
        let (resource_type, id) = bulk_target(&resolved.path)?;
        let data = || {
            resolved.data.clone().ok_or_else(|| {
                ScimError::InvalidSyntax("`data` is required for POST, PUT and PATCH".into())
            })
        };
        let if_match = resolved.version.clone();
        let (mutation, status) = match (resolved.method, id.clone()) {
            (BulkMethod::Post, None) => (
                Mutation::Create {
                    resource_type,
                    body: data()?,
                },
                201,
            ),
            (BulkMethod::Put, Some(id)) => (
                Mutation::Replace {
                    resource_type,
                    id,
                    body: data()?,
                    if_match,
                },
                200,
            ),
            (BulkMethod::Patch, Some(id)) => (
                Mutation::Patch {
                    resource_type,
                    id,
                    request: PatchRequest::parse(&data()?)?,
                    if_match,
                },
                200,
            ),
            (BulkMethod::Delete, Some(id)) => (
                Mutation::Delete {
                    resource_type,
                    id,
                    if_match,
                },
                204,
            ),
            (BulkMethod::Post, Some(_)) => {
                return Err(ScimError::InvalidValue(format!(
                    "a bulk POST goes to the endpoint `/{}`, not to a resource",
                    resource_type.segment()
                )));
            }
            (method, None) => {
                return Err(ScimError::InvalidValue(format!(
                    "a bulk {} needs the resource's path, e.g. `/{}/{{id}}`",
                    method.as_str(),
                    resource_type.segment()
                )));
            }
        };
        let (location, version, created) = match self.apply(mutation)? {
            Some(resource) => (
                resource.location(base_url),
                Some(self.data.etag(&resource)),
                (status == 201).then(|| resource.id.clone()),
            ),
            None => (
                format!(
                    "{base_url}/{}/{}",
                    resource_type.segment(),
                    id.unwrap_or_default()
                ),
                None,
                None,
            ),
        };
        Ok((
            BulkOperationResult {
                method: resolved.method,
                bulk_id: resolved.bulk_id.clone(),
                location: Some(location),
                version,
                status,
                response: None,
            },
            created,
        ))
    }
}

impl StoredResource {
    /// This resource with `body`, as a new version when the body changed.
    fn with_body(&self, body: Map<String, Value>) -> StoredResource {
        if body == self.body {
            return self.clone();
        }
        StoredResource {
            version: self.version + 1,
            last_modified: now(),
            body,
            ..self.clone()
        }
    }
}

/// The current time as SCIM writes it (RFC 7643 §2.3.5 dateTime, UTC).
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// RFC 7644 §3.14: a write with `If-Match` only applies to the version it names.
fn check_precondition(
    if_match: Option<&str>,
    current: &StoredResource,
    current_etag: &str,
) -> ScimResult<()> {
    match if_match {
        Some(header) if !etag_matches(header, current_etag) => {
            Err(ScimError::PreconditionFailed(format!(
                "If-Match names {header}, but the {} is now at version {current_etag}",
                current.resource_type.name(),
            )))
        }
        _ => Ok(()),
    }
}

/// Checks a group's members and drops repeated ones (RFC 7644 §3.5.2.1: adding a member
/// that is already there changes nothing). Every member must be a user or group of the same
/// organization, of the `type` it claims; members in `known` were checked before.
fn settle_members(
    data: &OrganizationData,
    group: &mut StoredResource,
    known: &OrdSet<String>,
) -> ScimResult<()> {
    let group_id = group.id.clone();
    let Some(Value::Array(members)) = group.body.get_mut("members") else {
        return Ok(());
    };
    let mut seen = std::collections::HashSet::with_capacity(members.len());
    let mut kept = Vec::with_capacity(members.len());
    for member in members.drain(..) {
        let id = member
            .get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ScimError::InvalidValue(
                    "every member needs a `value`: the id of a user or group".into(),
                )
            })?
            .to_owned();
        if !seen.insert(id.clone()) {
            continue;
        }
        if id == group_id {
            return Err(ScimError::InvalidValue(
                "a group cannot be a member of itself".into(),
            ));
        }
        if !known.contains(&id) {
            check_member(data, &id, &member)?;
        }
        kept.push(member);
    }
    *members = kept;
    Ok(())
}

fn check_member(data: &OrganizationData, id: &str, member: &Value) -> ScimResult<()> {
    let found = data.get_any(id).ok_or_else(|| {
        ScimError::InvalidValue(format!(
            "member `{id}` is not a user or group of this organization"
        ))
    })?;
    let found = found.resource_type.name();
    match member.get("type").and_then(Value::as_str) {
        Some(claimed) if !claimed.eq_ignore_ascii_case(found) => Err(ScimError::InvalidValue(
            format!("member `{id}` is a {found}, not a {claimed}"),
        )),
        _ => Ok(()),
    }
}

/// The resource type and id a bulk operation's `path` names: `/Users` or `/Users/{id}`.
fn bulk_target(path: &str) -> ScimResult<(ResourceType, Option<String>)> {
    let trimmed = path.trim().trim_start_matches('/');
    let (segment, id) = match trimmed.split_once('/') {
        Some((segment, id)) => (segment, Some(id)),
        None => (trimmed, None),
    };
    let resource_type = ResourceType::from_segment(segment).ok_or_else(|| {
        ScimError::InvalidValue(format!(
            "bulk path `{path}` names no resource type; use `/Users` or `/Groups`"
        ))
    })?;
    match id {
        Some(id) if id.is_empty() || id.contains('/') => Err(ScimError::InvalidValue(format!(
            "bulk path `{path}` is not `/{}/{{id}}`",
            resource_type.segment()
        ))),
        Some(id) => Ok((resource_type, Some(id.to_owned()))),
        None => Ok((resource_type, None)),
    }
}
