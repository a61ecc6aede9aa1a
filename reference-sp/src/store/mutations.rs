//! The SCIM writes, run on the writer's connection inside its transaction.

use super::records::{ResourceType, StoredResource, etag_matches, fetch_resource};
use super::storage_error;
use super::writer::{Mutation, close_savepoint, open_savepoint};
use idpsim_scim::bulk::{
    BulkMethod, BulkOperation, BulkOperationResult, BulkRequest, resolve_bulk_ids,
};
use idpsim_scim::{PatchRequest, ScimError, ScimResult, apply_patch, prepare_write};
use serde_json::{Map, Value};
use sqlx::{Row as _, SqliteConnection};
use std::collections::{HashMap, HashSet};

/// Applies one create, replace, patch or delete. Returns the resource as it now is, or
/// `None` when it was deleted (or deactivated in its place).
pub(super) async fn apply(
    connection: &mut SqliteConnection,
    organization_id: &str,
    mutation: Mutation,
) -> ScimResult<Option<StoredResource>> {
    match mutation {
        Mutation::Create {
            resource_type,
            body,
        } => {
            let canonical = prepare_write(&body, resource_type.schema(), None)?;
            let now = now();
            let created = StoredResource {
                resource_type,
                id: uuid::Uuid::new_v4().to_string(),
                version: 1,
                created: now.clone(),
                last_modified: now,
                body: canonical,
            };
            save(connection, organization_id, None, created)
                .await
                .map(Some)
        }
        Mutation::Replace {
            resource_type,
            id,
            body,
            if_match,
        } => {
            let existing = load(connection, organization_id, resource_type, &id).await?;
            check_precondition(if_match.as_deref(), &existing)?;
            let canonical = prepare_write(&body, resource_type.schema(), Some(&existing.body))?;
            let replaced = existing.with_body(canonical);
            save(connection, organization_id, Some(&existing), replaced)
                .await
                .map(Some)
        }
        Mutation::Patch {
            resource_type,
            id,
            request,
            if_match,
        } => {
            let existing = load(connection, organization_id, resource_type, &id).await?;
            check_precondition(if_match.as_deref(), &existing)?;
            let patched = apply_patch(&existing.body, &request, resource_type.schema())?;
            let patched = existing.with_body(patched);
            save(connection, organization_id, Some(&existing), patched)
                .await
                .map(Some)
        }
        Mutation::Delete {
            resource_type,
            id,
            if_match,
        } => {
            let existing = load(connection, organization_id, resource_type, &id).await?;
            check_precondition(if_match.as_deref(), &existing)?;
            if resource_type == ResourceType::User
                && deactivates_instead_of_deleting(connection, organization_id).await?
            {
                let mut body = existing.body.clone();
                body.insert("active".into(), Value::Bool(false));
                let deactivated = existing.with_body(body);
                save(connection, organization_id, Some(&existing), deactivated).await?;
            } else {
                delete(connection, organization_id, &existing).await?;
            }
            Ok(None)
        }
        Mutation::Bulk(_) => Err(ScimError::InvalidValue(
            "a bulk operation cannot be another bulk request".into(),
        )),
    }
}

impl StoredResource {
    /// This resource with `body`, as a new version when the body changed: a write that
    /// changes nothing keeps the ETag, so a client's cached version stays valid.
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

async fn load(
    connection: &mut SqliteConnection,
    organization_id: &str,
    resource_type: ResourceType,
    id: &str,
) -> ScimResult<StoredResource> {
    fetch_resource(&mut *connection, organization_id, resource_type, id)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| ScimError::NotFound(format!("{} `{id}` not found", resource_type.name())))
}

/// RFC 7644 §3.14: a write with `If-Match` only applies to the version it names.
fn check_precondition(if_match: Option<&str>, current: &StoredResource) -> ScimResult<()> {
    match if_match {
        Some(header) if !etag_matches(header, &current.etag()) => {
            Err(ScimError::PreconditionFailed(format!(
                "If-Match names {header}, but the {} is now at version {}",
                current.resource_type.name(),
                current.etag()
            )))
        }
        _ => Ok(()),
    }
}

async fn deactivates_instead_of_deleting(
    connection: &mut SqliteConnection,
    organization_id: &str,
) -> ScimResult<bool> {
    let policy: Option<String> =
        sqlx::query_scalar("SELECT deletion_policy FROM organizations WHERE id = ?1")
            .bind(organization_id)
            .fetch_optional(&mut *connection)
            .await
            .map_err(storage_error)?;
    Ok(policy.as_deref() == Some(crate::tenants::DEACTIVATE_POLICY))
}

/// The columns kept beside the body for lookups: the unique name (lower-cased), the name
/// shown in member lists, and the externalId.
struct IndexedColumns {
    unique_name: Option<String>,
    display: Option<String>,
    external_id: Option<String>,
}

impl IndexedColumns {
    fn of(resource: &StoredResource) -> IndexedColumns {
        let text = |name: &str| {
            resource
                .body
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (unique, display) = match resource.resource_type {
            ResourceType::User => (text("userName"), text("displayName").or(text("userName"))),
            ResourceType::Group => (text("displayName"), text("displayName")),
        };
        IndexedColumns {
            unique_name: unique.map(|name| name.to_lowercase()),
            display,
            external_id: text("externalId"),
        }
    }
}

/// Stores `resource` (new when `previous` is `None`): checks that its name is free, checks
/// and de-duplicates a group's members, and keeps the membership index in step.
async fn save(
    connection: &mut SqliteConnection,
    organization_id: &str,
    previous: Option<&StoredResource>,
    mut resource: StoredResource,
) -> ScimResult<StoredResource> {
    let columns = IndexedColumns::of(&resource);
    if let Some(unique_name) = &columns.unique_name {
        ensure_name_is_free(connection, organization_id, &resource, unique_name).await?;
    }
    let members = if resource.resource_type == ResourceType::Group {
        let known = previous
            .map(|group| member_ids(&group.body))
            .unwrap_or_default();
        Some(settle_members(connection, organization_id, &mut resource, &known).await?)
    } else {
        None
    };
    if let Some(previous) = previous.filter(|previous| previous.body == resource.body) {
        return Ok(previous.clone());
    }
    let body = serde_json::to_string(&resource.body)
        .map_err(|err| ScimError::Internal(format!("cannot encode the resource: {err}")))?;
    sqlx::query(
        "INSERT INTO resources (organization_id, resource_type, id, version, created, \
         last_modified, unique_name, display, external_id, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (organization_id, resource_type, id) DO UPDATE SET \
         version = excluded.version, last_modified = excluded.last_modified, \
         unique_name = excluded.unique_name, display = excluded.display, \
         external_id = excluded.external_id, body = excluded.body",
    )
    .bind(organization_id)
    .bind(resource.resource_type.name())
    .bind(&resource.id)
    .bind(resource.version)
    .bind(&resource.created)
    .bind(&resource.last_modified)
    .bind(&columns.unique_name)
    .bind(&columns.display)
    .bind(&columns.external_id)
    .bind(body)
    .execute(&mut *connection)
    .await
    .map_err(storage_error)?;
    if let Some(members) = members {
        let before = previous
            .map(|group| member_ids(&group.body))
            .unwrap_or_default();
        sync_memberships(connection, organization_id, &resource.id, &before, &members).await?;
    }
    Ok(resource)
}

/// userName is unique per organization ignoring case (RFC 7643 §4.1: `uniqueness: server`,
/// `caseExact: false`); so is a group's displayName here, since IdPs look groups up by it.
async fn ensure_name_is_free(
    connection: &mut SqliteConnection,
    organization_id: &str,
    resource: &StoredResource,
    unique_name: &str,
) -> ScimResult<()> {
    let holder: Option<String> = sqlx::query_scalar(
        "SELECT id FROM resources WHERE organization_id = ?1 AND resource_type = ?2 \
         AND unique_name = ?3 AND id <> ?4 LIMIT 1",
    )
    .bind(organization_id)
    .bind(resource.resource_type.name())
    .bind(unique_name)
    .bind(&resource.id)
    .fetch_optional(&mut *connection)
    .await
    .map_err(storage_error)?;
    match (holder, resource.resource_type) {
        (None, _) => Ok(()),
        (Some(holder), ResourceType::User) => Err(ScimError::Uniqueness(format!(
            "userName `{unique_name}` is already taken (ignoring case) by user `{holder}`"
        ))),
        (Some(holder), ResourceType::Group) => Err(ScimError::Uniqueness(format!(
            "displayName `{unique_name}` is already taken (ignoring case) by group `{holder}`"
        ))),
    }
}

/// The member ids a group body lists.
fn member_ids(body: &Map<String, Value>) -> HashSet<String> {
    body.get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|member| member.get("value").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Checks a group's members and drops repeated ones (RFC 7644 §3.5.2.1: adding a member
/// that is already there changes nothing). Every member must be a user or group of the same
/// organization, of the `type` it claims; members in `known` were checked before.
async fn settle_members(
    connection: &mut SqliteConnection,
    organization_id: &str,
    group: &mut StoredResource,
    known: &HashSet<String>,
) -> ScimResult<Vec<String>> {
    let Some(Value::Array(members)) = group.body.get_mut("members") else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::with_capacity(members.len());
    let mut seen = HashSet::with_capacity(members.len());
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
        if id == group.id {
            return Err(ScimError::InvalidValue(
                "a group cannot be a member of itself".into(),
            ));
        }
        if !known.contains(&id) {
            check_member(connection, organization_id, &id, &member).await?;
        }
        ids.push(id);
        kept.push(member);
    }
    *members = kept;
    Ok(ids)
}

async fn check_member(
    connection: &mut SqliteConnection,
    organization_id: &str,
    id: &str,
    member: &Value,
) -> ScimResult<()> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT resource_type FROM resources WHERE organization_id = ?1 AND id = ?2",
    )
    .bind(organization_id)
    .bind(id)
    .fetch_optional(&mut *connection)
    .await
    .map_err(storage_error)?;
    let found = found.ok_or_else(|| {
        ScimError::InvalidValue(format!(
            "member `{id}` is not a user or group of this organization"
        ))
    })?;
    match member.get("type").and_then(Value::as_str) {
        Some(claimed) if !claimed.eq_ignore_ascii_case(&found) => Err(ScimError::InvalidValue(
            format!("member `{id}` is a {found}, not a {claimed}"),
        )),
        _ => Ok(()),
    }
}

async fn sync_memberships(
    connection: &mut SqliteConnection,
    organization_id: &str,
    group_id: &str,
    before: &HashSet<String>,
    after: &[String],
) -> ScimResult<()> {
    let after_set: HashSet<&str> = after.iter().map(String::as_str).collect();
    for removed in before.iter().filter(|id| !after_set.contains(id.as_str())) {
        sqlx::query(
            "DELETE FROM memberships WHERE organization_id = ?1 AND group_id = ?2 \
             AND member_id = ?3",
        )
        .bind(organization_id)
        .bind(group_id)
        .bind(removed)
        .execute(&mut *connection)
        .await
        .map_err(storage_error)?;
    }
    for added in after.iter().filter(|id| !before.contains(*id)) {
        sqlx::query(
            "INSERT OR IGNORE INTO memberships (organization_id, group_id, member_id) \
             VALUES (?1, ?2, ?3)",
        )
        .bind(organization_id)
        .bind(group_id)
        .bind(added)
        .execute(&mut *connection)
        .await
        .map_err(storage_error)?;
    }
    Ok(())
}

/// Deletes `resource` and takes it out of every group that lists it (each such group gets a
/// new version, as its `members` changed).
async fn delete(
    connection: &mut SqliteConnection,
    organization_id: &str,
    resource: &StoredResource,
) -> ScimResult<()> {
    let parents: Vec<String> = sqlx::query(
        "SELECT group_id FROM memberships WHERE organization_id = ?1 AND member_id = ?2",
    )
    .bind(organization_id)
    .bind(&resource.id)
    .fetch_all(&mut *connection)
    .await
    .map_err(storage_error)?
    .iter()
    .map(|row| row.try_get("group_id"))
    .collect::<Result<_, _>>()
    .map_err(storage_error)?;
    for parent_id in parents {
        let parent = load(connection, organization_id, ResourceType::Group, &parent_id).await?;
        let mut body = parent.body.clone();
        if let Some(Value::Array(members)) = body.get_mut("members") {
            members.retain(|member| {
                member.get("value").and_then(Value::as_str) != Some(resource.id.as_str())
            });
            if members.is_empty() {
                body.remove("members");
            }
        }
        let updated = parent.with_body(body);
        save(connection, organization_id, Some(&parent), updated).await?;
    }
    sqlx::query(
        "DELETE FROM memberships WHERE organization_id = ?1 AND (group_id = ?2 OR member_id = ?2)",
    )
    .bind(organization_id)
    .bind(&resource.id)
    .execute(&mut *connection)
    .await
    .map_err(storage_error)?;
    sqlx::query(
        "DELETE FROM resources WHERE organization_id = ?1 AND resource_type = ?2 AND id = ?3",
    )
    .bind(organization_id)
    .bind(resource.resource_type.name())
    .bind(&resource.id)
    .execute(&mut *connection)
    .await
    .map_err(storage_error)?;
    Ok(())
}

/// Runs a bulk request (RFC 7644 §3.7): operations in dependency order, each in its own
/// savepoint, `bulkId:` references replaced by the ids created, stopping once `failOnErrors`
/// operations have failed.
pub(super) async fn bulk(
    connection: &mut SqliteConnection,
    organization_id: &str,
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
        let outcome = run_bulk_operation(
            connection,
            organization_id,
            operation,
            &created_ids,
            base_url,
        )
        .await;
        match outcome {
            Ok((result, created)) => {
                if let (Some(bulk_id), Some(id)) = (&operation.bulk_id, created) {
                    created_ids.insert(bulk_id.clone(), id);
                }
                results.push(result);
            }
            Err(error) => {
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
async fn run_bulk_operation(
    connection: &mut SqliteConnection,
    organization_id: &str,
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
                if_match: resolved.version.clone(),
            },
            200,
        ),
        (BulkMethod::Patch, Some(id)) => (
            Mutation::Patch {
                resource_type,
                id,
                request: PatchRequest::parse(&data()?)?,
                if_match: resolved.version.clone(),
            },
            200,
        ),
        (BulkMethod::Delete, Some(id)) => (
            Mutation::Delete {
                resource_type,
                id,
                if_match: resolved.version.clone(),
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
    open_savepoint(connection).await?;
    let outcome = apply(connection, organization_id, mutation).await;
    let outcome = close_savepoint(connection, outcome).await?;
    let (location, version, created) = match outcome {
        Some(resource) => (
            resource.location(base_url),
            Some(resource.etag()),
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
