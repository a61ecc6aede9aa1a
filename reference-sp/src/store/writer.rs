//! The single writer: applies SCIM writes in arrival order and commits them in groups.

use super::dataset::Dataset;
use super::mutations::{RowChange, Work};
use super::records::{ResourceType, StoredResource};
use super::storage_error;
use crate::tenants::DEACTIVATE_POLICY;
use idpsim_scim::bulk::{BulkOperationResult, BulkRequest};
use idpsim_scim::{PatchRequest, ScimResult};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection as _, SqliteConnection};
use std::sync::{Arc, PoisonError, RwLock};
use tokio::sync::{mpsc, oneshot};

/// The most commands committed in one transaction.
const MAX_GROUP: usize = 256;

/// A write, as the HTTP layer asks for it.
#[derive(Debug)]
pub(crate) enum Mutation {
    /// POST: create a resource from `body`.
    Create {
        /// User or Group.
        resource_type: ResourceType,
        /// The request body.
        body: Value,
    },
    /// PUT: replace the resource with `body`.
    Replace {
        /// User or Group.
        resource_type: ResourceType,
        /// The resource id.
        id: String,
        /// The request body.
        body: Value,
        /// The `If-Match` header, if any.
        if_match: Option<String>,
    },
    /// PATCH: apply `request` to the resource.
    Patch {
        /// User or Group.
        resource_type: ResourceType,
        /// The resource id.
        id: String,
        /// The parsed PATCH request.
        request: PatchRequest,
        /// The `If-Match` header, if any.
        if_match: Option<String>,
    },
    /// DELETE (or deactivate, as the organization's policy says).
    Delete {
        /// User or Group.
        resource_type: ResourceType,
        /// The resource id.
        id: String,
        /// The `If-Match` header, if any.
        if_match: Option<String>,
    },
    /// A bulk request (RFC 7644 §3.7).
    Bulk(BulkRequest),
}

/// What a committed write produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The resource as it now is (create, replace, patch).
    Resource(Arc<StoredResource>),
    /// The resource is gone, or deactivated under the organization's policy.
    Deleted,
    /// Each bulk operation's result.
    Bulk(Vec<BulkOperationResult>),
}

/// One queued write and where its answer goes.
pub(crate) struct Job {
    pub(crate) organization_id: Arc<str>,
    pub(crate) mutation: Mutation,
    pub(crate) reply: oneshot::Sender<ScimResult<Outcome>>,
}

type Answer = (oneshot::Sender<ScimResult<Outcome>>, ScimResult<Outcome>);

/// Runs until every sender is dropped. Each round takes the jobs waiting and applies them
/// one after the other to a copy of the published dataset (a failed job's changes are
/// dropped), writes all their row changes in one transaction, and only after the commit
/// publishes the new dataset and answers: an acknowledged write is durable, a refused one
/// changed nothing, and readers never see uncommitted data.
pub(crate) async fn run(
    mut connection: SqliteConnection,
    mut jobs: mpsc::Receiver<Job>,
    published: Arc<RwLock<Arc<Dataset>>>,
    base_url: String,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        let current = Arc::clone(&published.read().unwrap_or_else(PoisonError::into_inner));
        let mut working = Dataset::clone(&current);
        let mut changes = Vec::new();
        let mut answers: Vec<Answer> = Vec::with_capacity(group.len());
        for job in group.drain(..) {
            let Job {
                organization_id,
                mutation,
                reply,
            } = job;
            let outcome = execute(
                &mut connection,
                &mut working,
                &mut changes,
                (&organization_id, mutation),
                &base_url,
            )
            .await;
            answers.push((reply, outcome));
        }
        if !changes.is_empty() {
            match persist(&mut connection, &changes).await {
                Ok(()) => {
                    *published.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(working);
                }
                Err(err) => {
                    let error = storage_error(err);
                    for (_, answer) in &mut answers {
                        if answer.is_ok() {
                            *answer = Err(error.clone());
                        }
                    }
                }
            }
        }
        for (reply, answer) in answers {
            // The requester may have gone away (client disconnected); the write stands.
            let _ = reply.send(answer);
        }
    }
    if let Err(err) = connection.close().await {
        tracing::warn!(%err, "closing the writer connection failed");
    }
}

/// Applies one job to `working`, appending its row changes; on failure neither changes.
async fn execute(
    connection: &mut SqliteConnection,
    working: &mut Dataset,
    changes: &mut Vec<RowChange>,
    (organization_id, mutation): (&Arc<str>, Mutation),
    base_url: &str,
) -> ScimResult<Outcome> {
    let deactivates_users = match &mutation {
        Mutation::Delete {
            resource_type: ResourceType::User,
            ..
        }
        | Mutation::Bulk(_) => deactivates_users(connection, organization_id).await?,
        _ => false,
    };
    let mut data = working.organization(organization_id);
    let changes_before = changes.len();
    let mut work = Work {
        organization_id,
        data: &mut data,
        changes,
        deactivates_users,
    };
    let outcome = match mutation {
        Mutation::Bulk(request) => Ok(Outcome::Bulk(work.bulk(&request, base_url))),
        single => work.apply(single).map(|resource| match resource {
            Some(resource) => Outcome::Resource(resource),
            None => Outcome::Deleted,
        }),
    };
    match outcome {
        Ok(_) => working.set_organization(organization_id, data),
        Err(_) => changes.truncate(changes_before),
    }
    outcome
}

async fn deactivates_users(
    connection: &mut SqliteConnection,
    organization_id: &str,
) -> ScimResult<bool> {
    let policy: Option<String> =
        sqlx::query_scalar("SELECT deletion_policy FROM organizations WHERE id = ?1")
            .bind(organization_id)
            .fetch_optional(&mut *connection)
            .await
            .map_err(storage_error)?;
    Ok(policy.as_deref() == Some(DEACTIVATE_POLICY))
}

/// The most rows one INSERT carries (8 bound values each, well under SQLite's limit of
/// 32,766 variables).
const ROWS_PER_INSERT: usize = 256;

/// Writes `changes` in one transaction. Consecutive puts share one multi-row INSERT: every
/// statement is a round trip to the database thread, and a group of creates is the common
/// case under load.
async fn persist(
    connection: &mut SqliteConnection,
    changes: &[RowChange],
) -> Result<(), sqlx::Error> {
    let mut transaction = connection.begin_with("BEGIN IMMEDIATE").await?;
    let mut pending = changes;
    while let Some(first) = pending.first() {
        match first {
            RowChange::Put { .. } => {
                let run = pending
                    .iter()
                    .take(ROWS_PER_INSERT)
                    .take_while(|change| matches!(change, RowChange::Put { .. }))
                    .count();
                let (puts, rest) = pending.split_at(run);
                put_rows(&mut transaction, puts).await?;
                pending = rest;
            }
            RowChange::Delete {
                organization_id,
                resource_type,
                id,
            } => {
                sqlx::query(
                    "DELETE FROM resources \
                     WHERE organization_id = ?1 AND resource_type = ?2 AND id = ?3",
                )
                .bind(organization_id.as_ref())
                .bind(resource_type.name())
                .bind(id)
                .execute(&mut *transaction)
                .await?;
                pending = &pending[1..];
            }
        }
    }
    transaction.commit().await
}

/// Inserts or updates the resources of `puts` (all `RowChange::Put`) in one statement; rows
/// apply in order, so a later version of the same resource wins.
async fn put_rows(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    puts: &[RowChange],
) -> Result<(), sqlx::Error> {
    let mut sql = String::from(
        "INSERT INTO resources (organization_id, resource_type, id, version, created, \
         last_modified, unique_name, body) VALUES ",
    );
    for index in 0..puts.len() {
        if index > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?)");
    }
    sql.push_str(
        " ON CONFLICT (organization_id, resource_type, id) DO UPDATE SET \
         version = excluded.version, last_modified = excluded.last_modified, \
         unique_name = excluded.unique_name, body = excluded.body",
    );
    // Only placeholders are spliced into the text; every value is bound.
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for change in puts {
        if let RowChange::Put {
            organization_id,
            resource,
        } = change
        {
            let body = serde_json::to_string(&resource.body)
                .map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
            query = query
                .bind(organization_id.to_string())
                .bind(resource.resource_type.name())
                .bind(resource.id.clone())
                .bind(resource.version)
                .bind(resource.created.clone())
                .bind(resource.last_modified.clone())
                .bind(super::dataset::unique_name(resource))
                .bind(body);
        }
    }
    query.execute(&mut **transaction).await?;
    Ok(())
}
