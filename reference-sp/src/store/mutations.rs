//! The SCIM writes. Each runs on the writer's working copy of one organization's data and
//! records the row changes that make it durable; a write that fails records nothing.

use super::dataset::{OrganizationData, member_ids, unique_name};
use super::records::{ResourceType, StoredResource, etag_matches};
use super::writer::Mutation;
use idpsim_scim::bulk::{
    BulkMethod, BulkOperation, BulkOperationResult, BulkRequest, resolve_bulk_ids,
    resolve_bulk_ids_leaving_out,
};
use idpsim_scim::{PatchRequest, ScimError, ScimResult, apply_patch, prepare_write};
use imbl::OrdSet;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
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
    /// Delete the resource (its row number names the row).
    Delete {
        /// The resource as it last was.
        resource: Arc<StoredResource>,
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
    /// The row number the next created resource gets.
    pub(super) next_row: &'w mut i64,
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
                let canonical =
                    without_password(prepare_write(&body, resource_type.schema(), None)?);
                let now = now();
                let row = *self.next_row;
                *self.next_row += 1;
                let created = StoredResource::new(
                    resource_type,
                    row,
                    uuid::Uuid::now_v7().to_string().into(),
                    1,
                    now.clone(),
                    now,
                    &canonical,
                );
                self.save(None, created).map(Some)
            }
            Mutation::Replace {
                resource_type,
                id,
                body,
                if_match,
            } => {
                let existing = self.load(resource_type, &id)?;
                self.check_precondition(if_match.as_deref(), &existing)?;
                let canonical = without_password(prepare_write(
                    &body,
                    resource_type.schema(),
                    Some(&existing.body()),
                )?);
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
                self.check_precondition(if_match.as_deref(), &existing)?;
                let patched = without_password(apply_patch(
                    &existing.body(),
                    &request,
                    resource_type.schema(),
                )?);
                self.save(Some(&existing), existing.with_body(patched))
                    .map(Some)
            }
            Mutation::Delete {
                resource_type,
                id,
                if_match,
            } => {
                let existing = self.load(resource_type, &id)?;
                self.check_precondition(if_match.as_deref(), &existing)?;
                if resource_type == ResourceType::User && self.deactivates_users {
                    let mut body = existing.body();
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

    /// RFC 7644 §3.14: a write with `If-Match` only applies to the version it names. The
    /// current entity tag is only worked out when there is a header to compare it with.
    fn check_precondition(
        &self,
        if_match: Option<&str>,
        current: &StoredResource,
    ) -> ScimResult<()> {
        let Some(header) = if_match else {
            return Ok(());
        };
        let current_etag = self.data.etag(current);
        if etag_matches(header, &current_etag) {
            Ok(())
        } else {
            Err(ScimError::PreconditionFailed(format!(
                "If-Match names {header}, but the {} is now at version {current_etag}",
                current.resource_type.name(),
            )))
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
            let mut body = resource.body();
            if settle_members(self.data, &resource.id, &mut body, &known)? {
                resource.set_body(&body);
            }
        }
        if let Some(previous) = previous.filter(|previous| {
            previous.has_same_body_text(&resource) || previous.has_body(&resource.body())
        }) {
            return Ok(Arc::clone(previous));
        }
        if let Some(name) = unique_name(&resource)
            && let Some(holder) = self.data.holder_of_name(resource.resource_type, &name)
            && holder != &*resource.id
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
    fn delete(&mut self, resource: &Arc<StoredResource>) -> ScimResult<()> {
        for parent_id in self.data.groups_of(&resource.id) {
            let parent = self.load(ResourceType::Group, &parent_id)?;
            let mut body = parent.body();
            if let Some(Value::Array(members)) = body.get_mut("members") {
                members.retain(|member| {
                    member.get("value").and_then(Value::as_str) != Some(&*resource.id)
                });
                if members.is_empty() {
                    body.remove("members");
                }
            }
            self.save(Some(&parent), parent.with_body(body))?;
        }
        self.data.remove(resource);
        self.changes.push(RowChange::Delete {
            resource: Arc::clone(resource),
        });
        Ok(())
    }

    /// Runs a bulk request (RFC 7644 §3.7): operations in dependency order, each all or
    /// nothing, `bulkId:` references replaced by the ids created, stopping once
    /// `failOnErrors` operations have failed. POSTs that reference each other in a circle
    /// run last, together (see [`Work::create_circular`]).
    pub(super) fn bulk(
        &mut self,
        request: &BulkRequest,
        base_url: &str,
    ) -> Vec<BulkOperationResult> {
        let plan = request.execution_plan();
        let mut run = BulkRun {
            created_ids: HashMap::new(),
            results: Vec::with_capacity(request.operations.len()),
            errors: 0,
            error_limit: request.fail_on_errors.unwrap_or(usize::MAX),
        };
        for operation in plan.order.iter().filter_map(|&i| request.operations.get(i)) {
            if run.stopped() {
                return run.results;
            }
            self.run_bulk_step(operation, &mut run, base_url);
        }
        let (posts, others): (Vec<&BulkOperation>, Vec<&BulkOperation>) = plan
            .circular
            .iter()
            .filter_map(|&i| request.operations.get(i))
            .partition(|operation| operation.method == BulkMethod::Post);
        if !posts.is_empty() && !run.stopped() {
            let (data_before, changes_before) = (self.data.clone(), self.changes.len());
            match self.create_circular(&posts, &mut run.created_ids, base_url) {
                Ok(results) => run.results.extend(results),
                Err(error) => {
                    *self.data = data_before;
                    self.changes.truncate(changes_before);
                    let bulk_ids: Vec<&str> = posts
                        .iter()
                        .filter_map(|post| post.bulk_id.as_deref())
                        .collect();
                    for bulk_id in &bulk_ids {
                        run.created_ids.remove(*bulk_id);
                    }
                    let conflict = ScimError::Conflict(format!(
                        "the circular bulkId references between {} could not be resolved: {error}",
                        bulk_ids.join(", ")
                    ));
                    for post in &posts {
                        if run.stopped() {
                            return run.results;
                        }
                        run.fail(post, &conflict, base_url);
                    }
                }
            }
        }
        for operation in others {
            if run.stopped() {
                break;
            }
            self.run_bulk_step(operation, &mut run, base_url);
        }
        run.results
    }

    /// Runs one operation of a bulk request, all or nothing, and records its result.
    fn run_bulk_step(&mut self, operation: &BulkOperation, run: &mut BulkRun, base_url: &str) {
        let (data_before, changes_before) = (self.data.clone(), self.changes.len());
        let outcome = resolve_bulk_ids(operation, &run.created_ids)
            .and_then(|resolved| self.run_bulk_operation(&resolved, base_url));
        match outcome {
            Ok((result, created)) => {
                if let (Some(bulk_id), Some(id)) = (&operation.bulk_id, created) {
                    run.created_ids.insert(bulk_id.clone(), id);
                }
                run.results.push(result);
            }
            Err(error) => {
                *self.data = data_before;
                self.changes.truncate(changes_before);
                run.fail(operation, &error, base_url);
            }
        }
    }

    /// Creates POSTs that reference each other (RFC 7644 §3.7.1: the server "MUST try to
    /// resolve circular cross-references"), as the RFC's example does: each is created in
    /// request order without the references to those not created yet, and each that left
    /// some out is then replaced with its whole data. Any failure fails them all.
    fn create_circular(
        &mut self,
        posts: &[&BulkOperation],
        created_ids: &mut HashMap<String, String>,
        base_url: &str,
    ) -> ScimResult<Vec<BulkOperationResult>> {
        let pending: HashSet<String> = posts
            .iter()
            .filter_map(|post| post.bulk_id.clone())
            .collect();
        let mut created = Vec::with_capacity(posts.len());
        for post in posts {
            let (partial, left_out) = resolve_bulk_ids_leaving_out(post, created_ids, &pending)?;
            let (result, id) = self.run_bulk_operation(&partial, base_url)?;
            if let (Some(bulk_id), Some(id)) = (&post.bulk_id, id.clone()) {
                created_ids.insert(bulk_id.clone(), id);
            }
            created.push((post, result, id, left_out));
        }
        let mut results = Vec::with_capacity(created.len());
        for (post, mut result, id, left_out) in created {
            if let (true, Some(id)) = (left_out, id) {
                let whole = resolve_bulk_ids(post, created_ids)?;
                let (resource_type, _) = bulk_target(&whole.path)?;
                let body = whole.data.ok_or_else(|| {
                    ScimError::InvalidSyntax("`data` is required for POST, PUT and PATCH".into())
                })?;
                if let Some(resource) = self.apply(Mutation::Replace {
                    resource_type,
                    id,
                    body,
                    if_match: None,
                })? {
                    result.version = Some(self.data.etag(&resource));
                }
            }
            results.push(result);
        }
        Ok(results)
    }

    /// One bulk operation, its `bulkId` references resolved; on success its result and, for
    /// a POST, the id it created.
    fn run_bulk_operation(
        &mut self,
        resolved: &BulkOperation,
        base_url: &str,
    ) -> ScimResult<(BulkOperationResult, Option<String>)> {
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
                (status == 201).then(|| resource.id.to_string()),
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

/// The state of a bulk request's run: the ids its POSTs created, the results so far and the
/// failures counted against `failOnErrors`.
struct BulkRun {
    created_ids: HashMap<String, String>,
    results: Vec<BulkOperationResult>,
    errors: usize,
    error_limit: usize,
}

impl BulkRun {
    /// Whether `failOnErrors` failures have been reached, so no further operation runs.
    fn stopped(&self) -> bool {
        self.errors >= self.error_limit
    }

    fn fail(&mut self, operation: &BulkOperation, error: &ScimError, base_url: &str) {
        self.errors += 1;
        self.results
            .push(BulkOperationResult::failed(operation, error, base_url));
    }
}

impl StoredResource {
    /// This resource with `body`, as a new version when the body changed.
    fn with_body(&self, body: Map<String, Value>) -> StoredResource {
        if self.has_body(&body) {
            return self.clone();
        }
        let mut changed = self.clone();
        changed.version += 1;
        changed.last_modified = now();
        changed.set_body(&body);
        changed
    }
}

/// `body` without its `password`. The reference SP signs users in through SSO only, so it has
/// no use for one: a password a write sets (as Okta sends on every create, `personas.md` §2.1)
/// has been checked like any attribute, and is then forgotten rather than kept (RFC 7643
/// §4.1.1: "If a service provider holds the value locally, the value SHOULD be hashed").
fn without_password(mut body: Map<String, Value>) -> Map<String, Value> {
    body.remove("password");
    body
}

/// The current time as SCIM writes it (RFC 7643 §2.3.5 dateTime, UTC).
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Checks a group's members and drops repeated ones (RFC 7644 §3.5.2.1: adding a member
/// that is already there changes nothing). Every member must be a user or group of the same
/// organization, of the `type` it claims; members in `known` were checked before. Returns
/// whether `body` has members (and so may have changed).
fn settle_members(
    data: &OrganizationData,
    group_id: &str,
    body: &mut Map<String, Value>,
    known: &OrdSet<String>,
) -> ScimResult<bool> {
    let Some(Value::Array(members)) = body.get_mut("members") else {
        return Ok(false);
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
    Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

    /// One organization's data and the row changes written to it so far.
    #[derive(Default)]
    struct Organization {
        data: OrganizationData,
        changes: Vec<RowChange>,
        deactivates_users: bool,
        next_row: i64,
    }

    impl Organization {
        fn apply(&mut self, mutation: Mutation) -> ScimResult<Option<Arc<StoredResource>>> {
            let organization_id: Arc<str> = "acme".into();
            Work {
                organization_id: &organization_id,
                data: &mut self.data,
                changes: &mut self.changes,
                deactivates_users: self.deactivates_users,
                next_row: &mut self.next_row,
            }
            .apply(mutation)
        }

        fn create(&mut self, resource_type: ResourceType, body: Value) -> Arc<StoredResource> {
            self.apply(Mutation::Create {
                resource_type,
                body,
            })
            .expect("the create succeeds")
            .expect("a created resource")
        }

        fn user(&mut self, user_name: &str) -> Arc<StoredResource> {
            self.create(
                ResourceType::User,
                json!({"schemas": [USER_SCHEMA], "userName": user_name}),
            )
        }

        fn group(&mut self, display_name: &str, members: &[&str]) -> Arc<StoredResource> {
            let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
            self.create(
                ResourceType::Group,
                json!({"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": members}),
            )
        }

        fn delete(&mut self, resource_type: ResourceType, id: &str) -> ScimResult<()> {
            self.apply(Mutation::Delete {
                resource_type,
                id: id.to_owned(),
                if_match: None,
            })
            .map(drop)
        }
    }

    fn put_ids(changes: &[RowChange]) -> Vec<String> {
        changes
            .iter()
            .filter_map(|change| match change {
                RowChange::Put { resource, .. } => Some(resource.id.to_string()),
                RowChange::Delete { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_create_assigns_an_id_and_version_one_and_records_a_put() {
        let mut acme = Organization::default();
        let alice = acme.user("alice");
        assert_eq!(alice.version, 1);
        assert!(uuid::Uuid::parse_str(&alice.id).is_ok(), "{}", alice.id);
        assert_eq!(put_ids(&acme.changes), vec![alice.id.to_string()]);
        assert_eq!(
            acme.data.holder_of_name(ResourceType::User, "ALICE"),
            Some(&*alice.id)
        );
    }

    #[test]
    fn a_second_user_with_the_same_name_in_another_case_is_refused_and_records_nothing() {
        let mut acme = Organization::default();
        acme.user("alice");
        let refused = acme.apply(Mutation::Create {
            resource_type: ResourceType::User,
            body: json!({"schemas": [USER_SCHEMA], "userName": "ALICE"}),
        });
        assert!(
            matches!(refused, Err(ScimError::Uniqueness(_))),
            "{refused:?}"
        );
        assert_eq!(acme.changes.len(), 1);
        assert_eq!(
            acme.data
                .select(ResourceType::User, &super::super::Narrowing::All)
                .len(),
            1
        );
    }

    #[test]
    fn a_replace_with_a_stale_if_match_is_refused() {
        let mut acme = Organization::default();
        let alice = acme.user("alice");
        let refused = acme.apply(Mutation::Replace {
            resource_type: ResourceType::User,
            id: alice.id.to_string(),
            body: json!({"schemas": [USER_SCHEMA], "userName": "alice2"}),
            if_match: Some("W/\"7\"".into()),
        });
        assert!(
            matches!(refused, Err(ScimError::PreconditionFailed(_))),
            "{refused:?}"
        );
        assert_eq!(acme.data.get(ResourceType::User, &alice.id), Some(&alice));
    }

    #[test]
    fn a_write_that_changes_nothing_keeps_the_version_and_records_nothing() {
        let mut acme = Organization::default();
        let alice = acme.user("alice");
        let same = acme
            .apply(Mutation::Replace {
                resource_type: ResourceType::User,
                id: alice.id.to_string(),
                body: json!({"schemas": [USER_SCHEMA], "userName": "alice"}),
                if_match: None,
            })
            .expect("the replace succeeds")
            .expect("the user");
        assert_eq!(same.version, 1);
        assert_eq!(acme.changes.len(), 1, "only the create");
    }

    #[test]
    fn renaming_a_user_frees_the_old_name() {
        let mut acme = Organization::default();
        let alice = acme.user("alice");
        acme.apply(Mutation::Replace {
            resource_type: ResourceType::User,
            id: alice.id.to_string(),
            body: json!({"schemas": [USER_SCHEMA], "userName": "alicia"}),
            if_match: None,
        })
        .expect("the rename succeeds");
        assert_eq!(acme.data.holder_of_name(ResourceType::User, "alice"), None);
        assert_eq!(
            acme.data.holder_of_name(ResourceType::User, "Alicia"),
            Some(&*alice.id)
        );
        let bob_takes_it = acme.user("alice");
        assert_ne!(bob_takes_it.id, alice.id);
    }

    #[test]
    fn deleting_a_user_takes_it_out_of_its_groups_with_a_new_group_version() {
        let mut acme = Organization::default();
        let alice = acme.user("alice");
        let bob = acme.user("bob");
        let staff = acme.group("staff", &[&alice.id, &bob.id]);
        assert_eq!(acme.data.groups_of(&alice.id), vec![Arc::clone(&staff.id)]);
        acme.changes.clear();

        acme.delete(ResourceType::User, &alice.id)
            .expect("the delete succeeds");

        assert!(acme.data.get(ResourceType::User, &alice.id).is_none());
        assert!(acme.data.groups_of(&alice.id).is_empty());
        let staff_now = acme
            .data
            .get(ResourceType::Group, &staff.id)
            .expect("staff");
        assert_eq!(staff_now.version, 2);
        assert_eq!(
            member_ids(staff_now).into_iter().collect::<Vec<_>>(),
            vec![bob.id.to_string()]
        );
        assert_eq!(put_ids(&acme.changes), vec![staff.id.to_string()]);
        assert!(matches!(
            acme.changes.last(),
            Some(RowChange::Delete { resource, .. })
                if resource.resource_type == ResourceType::User && resource.id == alice.id
        ));
    }

    #[test]
    fn under_the_deactivate_policy_a_user_delete_sets_active_false_and_keeps_memberships() {
        let mut acme = Organization {
            deactivates_users: true,
            ..Organization::default()
        };
        let alice = acme.user("alice");
        let staff = acme.group("staff", &[&alice.id]);
        acme.delete(ResourceType::User, &alice.id)
            .expect("the delete succeeds");
        let kept = acme
            .data
            .get(ResourceType::User, &alice.id)
            .expect("alice is kept");
        assert_eq!(kept.body().get("active"), Some(&Value::Bool(false)));
        assert_eq!(acme.data.groups_of(&alice.id), vec![Arc::clone(&staff.id)]);
        assert!(
            !acme
                .changes
                .iter()
                .any(|change| matches!(change, RowChange::Delete { .. }))
        );
    }

    #[test]
    fn a_group_listing_a_member_that_does_not_exist_is_refused() {
        let mut acme = Organization::default();
        let refused = acme.apply(Mutation::Create {
            resource_type: ResourceType::Group,
            body: json!({"schemas": [GROUP_SCHEMA], "displayName": "ghosts",
                         "members": [{"value": "no-such-user"}]}),
        });
        assert!(
            matches!(refused, Err(ScimError::InvalidValue(_))),
            "{refused:?}"
        );
        assert!(acme.changes.is_empty());
    }

    #[test]
    fn a_users_etag_covers_the_groups_it_is_in() {
        let mut acme = Organization::default();
        let alice = acme.user("alice");
        assert_eq!(acme.data.etag(&alice), "W/\"1\"");
        let staff = acme.group("staff", &[&alice.id]);
        let as_member = acme.data.etag(&alice);
        assert!(as_member.starts_with("W/\"1-"), "{as_member}");
        acme.apply(Mutation::Patch {
            resource_type: ResourceType::Group,
            id: staff.id.to_string(),
            request: PatchRequest::parse(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": "crew"}]
            }))
            .expect("a PATCH request"),
            if_match: None,
        })
        .expect("the rename succeeds");
        assert_ne!(
            acme.data.etag(&alice),
            as_member,
            "the group's new name shows in alice"
        );
        acme.delete(ResourceType::Group, &staff.id)
            .expect("the delete succeeds");
        assert_eq!(acme.data.etag(&alice), "W/\"1\"");
    }

    #[test]
    fn a_groups_etag_covers_its_members_display_names() {
        let mut acme = Organization::default();
        let alice = acme.user("alice");
        let staff = acme.group("staff", &[&alice.id]);
        let with_alice = acme.data.etag(&staff);
        assert!(with_alice.starts_with("W/\"1-"), "{with_alice}");
        let rename = |value: &str| {
            PatchRequest::parse(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": value}]
            }))
            .expect("a PATCH request")
        };
        acme.apply(Mutation::Patch {
            resource_type: ResourceType::User,
            id: alice.id.to_string(),
            request: rename("Alice Liddell"),
            if_match: None,
        })
        .expect("the rename succeeds");
        let staff_now = acme
            .data
            .get(ResourceType::Group, &staff.id)
            .unwrap()
            .clone();
        assert_eq!(staff_now.version, 1, "the group itself was not written");
        let renamed = acme.data.etag(&staff_now);
        assert_ne!(
            renamed, with_alice,
            "the member's new name shows in the group"
        );
        let stale = acme.apply(Mutation::Patch {
            resource_type: ResourceType::Group,
            id: staff.id.to_string(),
            request: rename("crew"),
            if_match: Some(with_alice),
        });
        assert!(
            matches!(stale, Err(ScimError::PreconditionFailed(_))),
            "{stale:?}"
        );
        let empty = acme.group("empty", &[]);
        assert_eq!(acme.data.etag(&empty), "W/\"1\"");
    }

    #[test]
    fn etag_matching_ignores_weakness_and_accepts_lists_and_any() {
        assert!(etag_matches("W/\"3\"", "W/\"3\""));
        assert!(etag_matches("\"3\"", "W/\"3\""));
        assert!(etag_matches("W/\"1\", W/\"3\"", "W/\"3\""));
        assert!(etag_matches("*", "W/\"3\""));
        assert!(!etag_matches("W/\"2\"", "W/\"3\""));
        assert!(!etag_matches("W/\"3-a\"", "W/\"3\""));
    }
}
