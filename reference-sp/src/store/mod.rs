//! The store: SQLite for durability, an in-memory dataset for reads.
//!
//! Every SCIM write goes to one writer: an applier that applies the writes one after the
//! other to the in-memory dataset (a read-modify-write such as a PATCH never loses a
//! concurrent change), and a committer, on a thread of its own with its own connection, that
//! writes the groups applied meanwhile in one transaction (group commit) and then publishes
//! their dataset.
//! Reads never touch the database: they take the published dataset, which only ever holds
//! committed data.

mod changes;
mod dataset;
mod mutations;
mod records;
mod writer;

pub(crate) use changes::{ChangeKind, ChangeListener, ChangeSet, DirectoryChange};
pub(crate) use dataset::{OrganizationData, member_ids};
pub(crate) use records::{Narrowing, ResourceType, StoredResource, etag_matches};
pub(crate) use writer::{Mutation, Outcome};

use crate::error::SpError;
use dataset::Dataset;
use idpsim_scim::{ScimError, ScimResult};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, SqlSafeStr as _};
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long a connection waits for the write lock before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections for loading and for the administration of organizations and tokens.
const POOL_CONNECTIONS: u32 = 2;
/// Commands waiting for the writer before senders have to wait.
const WRITE_QUEUE: usize = 1024;

/// The schema migrations, embedded so that the binary carries them.
fn migrator() -> Migrator {
    Migrator::with_migrations(migrations())
}

/// Every schema migration, oldest first.
fn migrations() -> Vec<Migration> {
    vec![
        Migration::new(
            1,
            "initial".into(),
            MigrationType::Simple,
            AssertSqlSafe(include_str!("../../migrations/0001_initial.sql")).into_sql_str(),
            false,
        ),
        Migration::new(
            2,
            "session timeout".into(),
            MigrationType::Simple,
            AssertSqlSafe(include_str!("../../migrations/0002_session_timeout.sql")).into_sql_str(),
            false,
        ),
        Migration::new(
            3,
            "webhook endpoints".into(),
            MigrationType::Simple,
            AssertSqlSafe(include_str!("../../migrations/0003_webhook_endpoints.sql"))
                .into_sql_str(),
            false,
        ),
        Migration::new(
            4,
            "connections".into(),
            MigrationType::Simple,
            AssertSqlSafe(include_str!("../../migrations/0004_connections.sql")).into_sql_str(),
            false,
        ),
        Migration::new(
            5,
            "account policies".into(),
            MigrationType::Simple,
            AssertSqlSafe(include_str!("../../migrations/0005_policies.sql")).into_sql_str(),
            false,
        ),
        Migration::new(
            6,
            "resource rows".into(),
            MigrationType::Simple,
            AssertSqlSafe(include_str!("../../migrations/0006_resource_rows.sql")).into_sql_str(),
            false,
        ),
        Migration::new(
            7,
            "forget scim passwords".into(),
            MigrationType::Simple,
            AssertSqlSafe(include_str!(
                "../../migrations/0007_forget_scim_passwords.sql"
            ))
            .into_sql_str(),
            false,
        ),
        Migration::new(
            8,
            "bootstrap tokens".into(),
            MigrationType::Simple,
            AssertSqlSafe(include_str!("../../migrations/0008_bootstrap_tokens.sql"))
                .into_sql_str(),
            false,
        ),
    ]
}

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub(crate) struct Store {
    pool: SqlitePool,
    published: Arc<RwLock<Arc<Dataset>>>,
    writer: mpsc::Sender<writer::Job>,
}

/// The writer task; await it after every [`Store`] handle is dropped.
pub(crate) type WriterTask = JoinHandle<()>;

impl Store {
    /// Opens (creating if missing) the database at `path`, migrates it, loads the dataset
    /// and starts the writer. `base_url` is the SCIM base URL, for bulk response locations;
    /// `listener` hears of every committed change in the organizations it follows.
    pub(crate) async fn open(
        path: &Path,
        base_url: String,
        listener: Arc<dyn ChangeListener>,
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
            .max_connections(POOL_CONNECTIONS)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        let rows = sqlx::query(
            "SELECT seq, organization_id, resource_type, id, version, created, last_modified, \
             body FROM resources",
        )
        .fetch_all(&pool)
        .await?;
        let next_row =
            sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) + 1 FROM resources")
                .fetch_one(&pool)
                .await?;
        let published = Arc::new(RwLock::new(Arc::new(Dataset::from_rows(&rows)?)));
        let connection = writer_connection(path)?;
        let (sender, receiver) = mpsc::channel(WRITE_QUEUE);
        let task = writer::start(
            connection,
            next_row,
            pool.clone(),
            receiver,
            Arc::clone(&published),
            base_url,
            listener,
        )
        .map_err(SpError::CommitterThread)?;
        Ok((
            Store {
                pool,
                published,
                writer: sender,
            },
            task,
        ))
    }

    /// The pool, for the administration queries of [`crate::tenants`].
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool (the writer stops when the last handle is dropped).
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// The organization's committed data, as of now (later writes do not change it).
    pub(crate) fn organization(&self, organization_id: &str) -> OrganizationData {
        self.published
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .organization(organization_id)
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
}

/// Opens the writer's own connection to the migrated database at `path`, with the pool's
/// settings: each commit synced to disk, foreign keys enforced, the same busy timeout. It is
/// a blocking rusqlite connection: the committer runs on a thread of its own
/// (`writer::start`), so a commit needs no hop to a database thread and back.
fn writer_connection(path: &Path) -> Result<rusqlite::Connection, SpError> {
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(connection)
}

/// A database failure as a SCIM 500; the cause goes to the log, not to the client.
pub(crate) fn storage_error(err: impl std::fmt::Display) -> ScimError {
    tracing::error!(%err, "storage failure");
    ScimError::Internal("the store failed; the request changed nothing".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::changes::ChangeSet;
    use idpsim_scim::PatchRequest;
    use serde_json::json;

    struct Deaf;

    impl ChangeListener for Deaf {
        fn follows(&self, _: &str) -> bool {
            false
        }

        fn committed(&self, _: Vec<ChangeSet>) {}
    }

    async fn open(path: &Path) -> Store {
        let (store, _writer) = Store::open(path, "http://127.0.0.1/scim/v2".into(), Arc::new(Deaf))
            .await
            .expect("the store opens");
        store
    }

    /// The rows as `(seq, id, version)`, in `seq` order.
    async fn rows(store: &Store) -> Vec<(i64, String, i64)> {
        sqlx::query_as("SELECT seq, id, version FROM resources ORDER BY seq")
            .fetch_all(store.pool())
            .await
            .expect("the rows are read")
    }

    #[tokio::test]
    async fn resources_stored_before_the_row_numbers_are_kept_numbered_and_still_writable() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let path = directory.path().join("store.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePool::connect_with(options)
            .await
            .expect("the database opens");
        let before_rows: Vec<Migration> = migrations().into_iter().take(5).collect();
        Migrator::with_migrations(before_rows)
            .run(&pool)
            .await
            .expect("the schema before the row numbers is created");
        sqlx::raw_sql(
            "INSERT INTO organizations (id, name, created) VALUES ('acme', 'Acme', '');
             INSERT INTO resources VALUES ('acme', 'Group', 'g-1', 1, '2026-01-02T00:00:00Z',
                 '2026-01-02T00:00:00Z', '{\"displayName\":\"Staff\"}');
             INSERT INTO resources VALUES ('acme', 'User', 'u-1', 3, '2026-01-01T00:00:00Z',
                 '2026-01-03T00:00:00Z',
                 '{\"userName\":\"alice\",\"active\":true,\"password\":\"old-secret\"}');",
        )
        .execute(&pool)
        .await
        .expect("resources are stored the old way");
        pool.close().await;

        let store = open(&path).await;
        // Numbered in creation order.
        assert_eq!(
            rows(&store).await,
            vec![(1, "u-1".to_owned(), 3), (2, "g-1".to_owned(), 1)]
        );
        let acme = store.organization("acme");
        assert_eq!(
            acme.holder_of_name(ResourceType::User, "ALICE"),
            Some("u-1")
        );
        // A password kept by an earlier version is forgotten (migration 0007).
        let alice = acme.get(ResourceType::User, "u-1").expect("alice is kept");
        assert_eq!(alice.body().get("password"), None);
        let (with_password,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM resources WHERE body LIKE '%old-secret%'")
                .fetch_one(store.pool())
                .await
                .expect("the rows are read");
        assert_eq!(with_password, 0);
        assert_eq!(
            acme.holder_of_name(ResourceType::Group, "staff"),
            Some("g-1")
        );

        let deactivate = PatchRequest::parse(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]
        }))
        .expect("a valid PATCH");
        let patched = store
            .write(
                "acme".into(),
                Mutation::Patch {
                    resource_type: ResourceType::User,
                    id: "u-1".into(),
                    request: deactivate,
                    if_match: None,
                },
            )
            .await;
        assert!(matches!(patched, Ok(Outcome::Resource(_))), "{patched:?}");
        let deleted = store
            .write(
                "acme".into(),
                Mutation::Delete {
                    resource_type: ResourceType::Group,
                    id: "g-1".into(),
                    if_match: None,
                },
            )
            .await;
        assert!(matches!(deleted, Ok(Outcome::Deleted)), "{deleted:?}");
        let created = store
            .write(
                "acme".into(),
                Mutation::Create {
                    resource_type: ResourceType::User,
                    body: json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": "bob"
                    }),
                },
            )
            .await;
        let Ok(Outcome::Resource(bob)) = created else {
            panic!("bob is not created: {created:?}");
        };
        assert_eq!(
            rows(&store).await,
            vec![(1, "u-1".to_owned(), 4), (3, bob.id.to_string(), 1)]
        );
        store.close().await;

        let reopened = open(&path).await;
        let acme = reopened.organization("acme");
        let alice = acme.get(ResourceType::User, "u-1").expect("alice is kept");
        assert_eq!(alice.body().get("active"), Some(&json!(false)));
        assert!(acme.get(ResourceType::Group, "g-1").is_none());
        assert_eq!(
            acme.holder_of_name(ResourceType::User, "bob"),
            Some(&*bob.id)
        );
    }
}
