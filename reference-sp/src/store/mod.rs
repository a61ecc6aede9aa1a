//! The embedded SQLite store.
//!
//! Reads go through a small connection pool (WAL lets them run beside a write). Every SCIM
//! write goes to one writer task that owns its own connection: it applies commands one after
//! the other, so a read-modify-write such as a PATCH never loses a concurrent change, and it
//! commits the commands that queued up meanwhile in one transaction (group commit), each
//! inside its own savepoint so that a failed command leaves nothing behind.

mod mutations;
mod records;
mod writer;

pub(crate) use records::{
    GroupRef, MemberRef, Narrowing, ResourceType, StoredResource, etag_matches,
};
pub(crate) use writer::{Mutation, Outcome};

use crate::error::SpError;
use idpsim_scim::{ScimError, ScimResult};
use sqlx::ConnectOptions as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, SqlSafeStr as _};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long a connection waits for the write lock before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Read connections in the pool.
const READ_CONNECTIONS: u32 = 4;
/// Commands waiting for the writer before senders have to wait.
const WRITE_QUEUE: usize = 1024;

/// The schema migrations, embedded so that the binary carries them.
fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        AssertSqlSafe(include_str!("../../migrations/0001_initial.sql")).into_sql_str(),
        false,
    )])
}

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub(crate) struct Store {
    pool: SqlitePool,
    writer: mpsc::Sender<writer::Job>,
}

/// The writer task; await it after every [`Store`] handle is dropped.
pub(crate) type WriterTask = JoinHandle<()>;

impl Store {
    /// Opens (creating if missing) the database at `path`, migrates it and starts the writer.
    /// `base_url` is the SCIM base URL, for the locations in bulk responses.
    pub(crate) async fn open(
        path: &Path,
        base_url: String,
    ) -> Result<(Store, WriterTask), SpError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Every acknowledged write is on disk: a SCIM client never re-sends a 201.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options.clone())
            .await?;
        migrator().run(&pool).await?;
        let connection = options.connect().await?;
        let (sender, receiver) = mpsc::channel(WRITE_QUEUE);
        let task = tokio::spawn(writer::run(connection, receiver, base_url));
        Ok((
            Store {
                pool,
                writer: sender,
            },
            task,
        ))
    }

    /// The pool, for the administration queries of [`crate::tenants`].
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the read pool (the writer stops when the last handle is dropped).
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Sends `mutation` to the writer and waits until it is committed (or refused).
    pub(crate) async fn write(
        &self,
        organization_id: Arc<str>,
        mutation: Mutation,
    ) -> ScimResult<Outcome> {
        let (reply, answer) = oneshot::channel();
        let job = writer::Job {
            organization_id,
            mutation,
            reply,
        };
        let stopped = || ScimError::Internal("the store is shutting down".into());
        self.writer.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// The resource `id` of `resource_type` in the organization, if it exists.
    pub(crate) async fn get(
        &self,
        organization_id: &str,
        resource_type: ResourceType,
        id: &str,
    ) -> ScimResult<Option<StoredResource>> {
        records::fetch_resource(&self.pool, organization_id, resource_type, id)
            .await
            .map_err(storage_error)
    }

    /// The organization's resources of `resource_type`, narrowed down by an indexed column.
    pub(crate) async fn list(
        &self,
        organization_id: &str,
        resource_type: ResourceType,
        narrowing: &Narrowing,
    ) -> ScimResult<Vec<StoredResource>> {
        records::fetch_resources(&self.pool, organization_id, resource_type, narrowing)
            .await
            .map_err(storage_error)
    }

    /// The groups each of `member_ids` belongs to directly (every member's when `None`).
    pub(crate) async fn groups_of(
        &self,
        organization_id: &str,
        member_ids: Option<&[&str]>,
    ) -> ScimResult<HashMap<String, Vec<GroupRef>>> {
        records::fetch_groups_of(&self.pool, organization_id, member_ids)
            .await
            .map_err(storage_error)
    }
}

impl Store {
    /// The current members of each of `group_ids` (of every group when `None`).
    pub(crate) async fn members_of(
        &self,
        organization_id: &str,
        group_ids: Option<&[&str]>,
    ) -> ScimResult<HashMap<String, HashMap<String, MemberRef>>> {
        records::fetch_members_of(&self.pool, organization_id, group_ids)
            .await
            .map_err(storage_error)
    }
}

/// A database failure as a SCIM 500; the cause goes to the log, not to the client.
pub(crate) fn storage_error(err: sqlx::Error) -> ScimError {
    tracing::error!(%err, "storage failure");
    ScimError::Internal("the store failed; the request changed nothing".into())
}
