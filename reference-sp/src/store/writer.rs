//! The single writer: applies SCIM writes in arrival order and commits them in groups.

use super::mutations;
use super::records::{ResourceType, StoredResource};
use super::storage_error;
use idpsim_scim::bulk::{BulkOperationResult, BulkRequest};
use idpsim_scim::{PatchRequest, ScimResult};
use serde_json::Value;
use sqlx::{Connection as _, SqliteConnection};
use std::sync::Arc;
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
    Resource(StoredResource),
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

/// Runs until every sender is dropped. Each round takes the jobs waiting, runs each in its
/// own savepoint inside one transaction, commits, and only then answers: an acknowledged
/// write is durable, and a refused one left nothing behind.
pub(crate) async fn run(
    mut connection: SqliteConnection,
    mut jobs: mpsc::Receiver<Job>,
    base_url: String,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        let answers = commit_group(&mut connection, group.drain(..), &base_url).await;
        for (reply, answer) in answers {
            // The requester may have gone away (client disconnected); the write stands.
            let _ = reply.send(answer);
        }
    }
    if let Err(err) = connection.close().await {
        tracing::warn!(%err, "closing the writer connection failed");
    }
}

type Answer = (oneshot::Sender<ScimResult<Outcome>>, ScimResult<Outcome>);

async fn commit_group(
    connection: &mut SqliteConnection,
    group: impl Iterator<Item = Job>,
    base_url: &str,
) -> Vec<Answer> {
    let jobs: Vec<Job> = group.collect();
    if let Err(err) = sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut *connection)
        .await
    {
        let error = storage_error(err);
        return jobs
            .into_iter()
            .map(|job| (job.reply, Err(error.clone())))
            .collect();
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome = match open_savepoint(connection).await {
            Ok(()) => {
                let outcome =
                    execute(connection, &job.organization_id, job.mutation, base_url).await;
                close_savepoint(connection, outcome).await
            }
            Err(error) => Err(error),
        };
        answers.push((job.reply, outcome));
    }
    if let Err(err) = sqlx::raw_sql("COMMIT").execute(&mut *connection).await {
        let error = storage_error(err);
        if let Err(err) = sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await {
            tracing::error!(%err, "rolling back a failed commit failed");
        }
        return answers
            .into_iter()
            .map(|(reply, _)| (reply, Err(error.clone())))
            .collect();
    }
    answers
}

/// Opens a savepoint. Close it with [`close_savepoint`]: released on success, rolled back on
/// failure, so that failed work leaves the transaction as it found it. Savepoints nest (a
/// bulk operation inside its bulk request); SQLite resolves the name to the innermost one.
pub(super) async fn open_savepoint(connection: &mut SqliteConnection) -> ScimResult<()> {
    sqlx::raw_sql("SAVEPOINT work")
        .execute(&mut *connection)
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Closes the innermost savepoint according to `outcome`, and passes `outcome` on.
pub(super) async fn close_savepoint<T>(
    connection: &mut SqliteConnection,
    outcome: ScimResult<T>,
) -> ScimResult<T> {
    let statement = if outcome.is_ok() {
        "RELEASE work"
    } else {
        "ROLLBACK TO work; RELEASE work"
    };
    sqlx::raw_sql(statement)
        .execute(&mut *connection)
        .await
        .map_err(storage_error)?;
    outcome
}

async fn execute(
    connection: &mut SqliteConnection,
    organization_id: &str,
    mutation: Mutation,
    base_url: &str,
) -> ScimResult<Outcome> {
    match mutation {
        Mutation::Bulk(request) => Ok(Outcome::Bulk(
            mutations::bulk(connection, organization_id, &request, base_url).await,
        )),
        single => Ok(
            match mutations::apply(connection, organization_id, single).await? {
                Some(resource) => Outcome::Resource(resource),
                None => Outcome::Deleted,
            },
        ),
    }
}
