//! The single writer: applies SCIM writes in arrival order and commits them in groups.

use super::changes::{ChangeListener, ChangeSet};
use super::dataset::Dataset;
use super::mutations::{RowChange, Work};
use super::records::{ResourceType, StoredResource};
use super::storage_error;
use crate::tenants::DEACTIVATE_POLICY;
use idpsim_scim::bulk::{BulkOperationResult, BulkRequest};
use idpsim_scim::{PatchRequest, ScimError, ScimResult};
use rusqlite::{TransactionBehavior, params};
use serde_json::Value;
use sqlx::sqlite::SqlitePool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

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

/// The most applied groups waiting for the database; they are committed together.
const COMMITS_AHEAD: usize = 64;

/// A group of applied jobs on its way to the database.
struct Commit {
    /// The dataset with this group applied, to publish once the commit succeeds.
    dataset: Arc<Dataset>,
    /// The rows to write.
    changes: Vec<RowChange>,
    /// Each job's answer, sent after the commit.
    answers: Vec<Answer>,
    /// What the successful jobs of followed organizations changed, told after the commit.
    change_sets: Vec<ChangeSet>,
    /// The failure count the group was applied under: a group applied on top of a group
    /// whose commit then failed must not be committed.
    applied_after_failures: u64,
}

/// Starts the writer, in two stages. The applier, a task, takes the jobs waiting and
/// applies them one after the other to a copy of the latest applied dataset (a failed job's
/// changes are dropped); the committer, a thread of its own, writes each group's row changes
/// in one transaction and only then publishes its dataset and answers. While one group
/// commits, the next is applied, so the database never waits for the CPU work. An
/// acknowledged write is durable, a refused one changed nothing, and readers never see
/// uncommitted data; the `listener` hears of committed changes only. The task returned ends,
/// after the committer, once every sender of `jobs` is dropped.
pub(crate) fn start(
    connection: rusqlite::Connection,
    next_row: i64,
    pool: SqlitePool,
    jobs: mpsc::Receiver<Job>,
    published: Arc<RwLock<Arc<Dataset>>>,
    base_url: String,
    listener: Arc<dyn ChangeListener>,
) -> std::io::Result<JoinHandle<()>> {
    let failures = Arc::new(AtomicU64::new(0));
    let (commits, pending) = mpsc::channel(COMMITS_AHEAD);
    let (finished, committer_finished) = oneshot::channel();
    {
        let (published, failures, listener) = (
            Arc::clone(&published),
            Arc::clone(&failures),
            Arc::clone(&listener),
        );
        std::thread::Builder::new()
            .name("scim-committer".into())
            .spawn(move || {
                commit_in_order(connection, pending, published, failures, listener);
                let _ = finished.send(());
            })?;
    }
    Ok(tokio::spawn(apply_in_order(Applier {
        next_row,
        pool,
        jobs,
        published,
        base_url,
        listener,
        failures,
        commits,
        committer_finished,
    })))
}

/// What the applier works with.
struct Applier {
    /// The row number the next created resource gets.
    next_row: i64,
    /// For the organizations' deletion policies.
    pool: SqlitePool,
    /// The writes to apply.
    jobs: mpsc::Receiver<Job>,
    /// The committed dataset (the starting point again after a failed commit).
    published: Arc<RwLock<Arc<Dataset>>>,
    /// The SCIM base URL, for bulk response locations.
    base_url: String,
    /// Told which organizations it follows; the committer tells it what changed.
    listener: Arc<dyn ChangeListener>,
    /// How many commits have failed so far.
    failures: Arc<AtomicU64>,
    /// The applied groups, to the committer.
    commits: mpsc::Sender<Commit>,
    /// Resolves when the committer's thread has finished (an error if it panicked).
    committer_finished: oneshot::Receiver<()>,
}

/// Applies the jobs in arrival order, group by group, and hands each group to the committer.
async fn apply_in_order(mut applier: Applier) {
    let mut applied = Arc::clone(
        &applier
            .published
            .read()
            .unwrap_or_else(PoisonError::into_inner),
    );
    let mut applied_after_failures = 0;
    let mut group = Vec::with_capacity(MAX_GROUP);
    while applier.jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        let failures_now = applier.failures.load(Ordering::Acquire);
        if failures_now != applied_after_failures {
            // A commit failed: what was applied after the last published dataset is lost.
            applied = Arc::clone(
                &applier
                    .published
                    .read()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            applied_after_failures = failures_now;
        }
        let mut working = Dataset::clone(&applied);
        let mut changes = Vec::new();
        let mut answers: Vec<Answer> = Vec::with_capacity(group.len());
        let mut change_sets = Vec::new();
        for job in group.drain(..) {
            let Job {
                organization_id,
                mutation,
                reply,
            } = job;
            let changes_before = changes.len();
            let outcome = execute(
                &applier.pool,
                (&mut working, &mut applier.next_row),
                &mut changes,
                (&organization_id, mutation),
                &applier.base_url,
            )
            .await;
            if outcome.is_ok()
                && applier.listener.follows(&organization_id)
                && let Some(change_set) = ChangeSet::from_rows(
                    &organization_id,
                    working.organization(&organization_id),
                    changes.get(changes_before..).unwrap_or_default(),
                )
            {
                change_sets.push(change_set);
            }
            answers.push((reply, outcome));
        }
        applied = Arc::new(working);
        let commit = Commit {
            dataset: Arc::clone(&applied),
            changes,
            answers,
            change_sets,
            applied_after_failures,
        };
        if applier.commits.send(commit).await.is_err() {
            break;
        }
    }
    drop(applier.commits);
    if applier.committer_finished.await.is_err() {
        tracing::error!("the committer stopped before its work was done");
    }
}

/// Commits the groups in arrival order (the committer's thread): all the groups applied
/// while the previous commit was running go into one transaction; then the newest dataset
/// is published, the listener is told what changed and the jobs are answered. The thread
/// waits for nothing but the database and the next group, so a commit starts as soon as the
/// previous one is on disk, whatever the runtime's workers are busy with.
fn commit_in_order(
    mut connection: rusqlite::Connection,
    mut pending: mpsc::Receiver<Commit>,
    published: Arc<RwLock<Arc<Dataset>>>,
    failures: Arc<AtomicU64>,
    listener: Arc<dyn ChangeListener>,
) {
    let mut commits = Vec::with_capacity(COMMITS_AHEAD);
    let mut changes = Vec::new();
    while let Some(first) = pending.blocking_recv() {
        commits.push(first);
        while commits.len() < COMMITS_AHEAD
            && let Ok(next) = pending.try_recv()
        {
            commits.push(next);
        }
        let failures_now = failures.load(Ordering::Acquire);
        let mut answers = Vec::new();
        let mut change_sets = Vec::new();
        let mut newest = None;
        let mut superseded = None;
        for commit in commits.drain(..) {
            if commit.applied_after_failures == failures_now {
                changes.extend(commit.changes);
                answers.extend(commit.answers);
                change_sets.extend(commit.change_sets);
                newest = Some(commit.dataset);
            } else {
                // Applied on top of a group that failed to commit: even its refusals were
                // judged against data that never existed.
                let error = ScimError::Internal(
                    "an earlier write failed to commit; the request changed nothing".into(),
                );
                answers.extend(
                    commit
                        .answers
                        .into_iter()
                        .map(|(reply, _)| (reply, Err(error.clone()))),
                );
            }
        }
        if !changes.is_empty() {
            match persist(&mut connection, &changes) {
                Ok(()) => {
                    if let Some(dataset) = newest {
                        let mut current = published.write().unwrap_or_else(PoisonError::into_inner);
                        superseded = Some(std::mem::replace(&mut *current, dataset));
                    }
                    if !change_sets.is_empty() {
                        listener.committed(change_sets);
                    }
                }
                Err(err) => {
                    failures.fetch_add(1, Ordering::AcqRel);
                    let error = storage_error(err);
                    for (_, answer) in &mut answers {
                        if answer.is_ok() {
                            *answer = Err(error.clone());
                        }
                    }
                }
            }
            changes.clear();
        }
        for (reply, answer) in answers {
            // The requester may have gone away (client disconnected); the write stands.
            let _ = reply.send(answer);
        }
        // Freeing what only the replaced dataset held takes longer than answering: done last.
        drop(superseded);
    }
    if let Err((_, err)) = connection.close() {
        tracing::warn!(%err, "closing the writer connection failed");
    }
}

/// Applies one job to `working`, appending its row changes and numbering the rows it creates
/// from `next_row`; on failure neither `working` nor `changes` changes.
async fn execute(
    pool: &SqlitePool,
    (working, next_row): (&mut Dataset, &mut i64),
    changes: &mut Vec<RowChange>,
    (organization_id, mutation): (&Arc<str>, Mutation),
    base_url: &str,
) -> ScimResult<Outcome> {
    let deactivates_users = match &mutation {
        Mutation::Delete {
            resource_type: ResourceType::User,
            ..
        }
        | Mutation::Bulk(_) => deactivates_users(pool, organization_id).await?,
        _ => false,
    };
    let mut data = working.organization(organization_id);
    let changes_before = changes.len();
    let mut work = Work {
        organization_id,
        data: &mut data,
        changes,
        deactivates_users,
        next_row,
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

/// Whether the organization's policy turns a user DELETE into a deactivation. Policies are
/// administered through the pool, so the committed value is the one that counts.
async fn deactivates_users(pool: &SqlitePool, organization_id: &str) -> ScimResult<bool> {
    let policy: Option<String> =
        sqlx::query_scalar("SELECT deletion_policy FROM organizations WHERE id = ?1")
            .bind(organization_id)
            .fetch_optional(pool)
            .await
            .map_err(storage_error)?;
    Ok(policy.as_deref() == Some(DEACTIVATE_POLICY))
}

/// Writes `changes` in one transaction; if any statement fails, nothing is written.
fn persist(connection: &mut rusqlite::Connection, changes: &[RowChange]) -> rusqlite::Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut put = transaction.prepare_cached(
            "INSERT INTO resources (seq, organization_id, resource_type, id, version, created, \
             last_modified, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (seq) DO UPDATE SET version = excluded.version, \
             last_modified = excluded.last_modified, body = excluded.body",
        )?;
        let mut delete = transaction.prepare_cached("DELETE FROM resources WHERE seq = ?1")?;
        for change in changes {
            match change {
                RowChange::Put {
                    organization_id,
                    resource,
                } => put.execute(params![
                    resource.row,
                    &**organization_id,
                    resource.resource_type.name(),
                    &*resource.id,
                    resource.version,
                    resource.created.as_str(),
                    resource.last_modified.as_str(),
                    resource.body_json(),
                ])?,
                RowChange::Delete { resource } => delete.execute([resource.row])?,
            };
        }
    }
    // Dropping an uncommitted transaction rolls it back.
    transaction.commit()
}

#[cfg(test)]
mod tests {
    use super::super::{ChangeKind, Narrowing, Store};
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    /// Follows every organization and keeps what it is told.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<ChangeSet>>);

    impl ChangeListener for Recorder {
        fn follows(&self, _: &str) -> bool {
            true
        }

        fn committed(&self, change_sets: Vec<ChangeSet>) {
            self.0.lock().expect("the recorder").extend(change_sets);
        }
    }

    impl Recorder {
        /// The kind and userName of every change told so far.
        fn told(&self) -> Vec<(ChangeKind, String)> {
            let told = self.0.lock().expect("the recorder");
            told.iter()
                .flat_map(|change_set| &change_set.changes)
                .map(|change| {
                    let body = change.resource.body();
                    let name = body.get("userName").and_then(Value::as_str);
                    (change.kind, name.unwrap_or_default().to_owned())
                })
                .collect()
        }
    }

    async fn open_store(directory: &tempfile::TempDir) -> Store {
        open_store_telling(directory, Arc::new(Recorder::default())).await
    }

    async fn open_store_telling(
        directory: &tempfile::TempDir,
        listener: Arc<dyn ChangeListener>,
    ) -> Store {
        let (store, _writer) = Store::open(
            &directory.path().join("store.db"),
            "http://127.0.0.1/scim/v2".into(),
            listener,
        )
        .await
        .expect("the store opens");
        sqlx::query("INSERT INTO organizations (id, name, created) VALUES ('acme', 'Acme', '')")
            .execute(store.pool())
            .await
            .expect("the organization is stored");
        store
    }

    fn create_user(user_name: &str) -> Mutation {
        Mutation::Create {
            resource_type: ResourceType::User,
            body: json!({"schemas": [USER_SCHEMA], "userName": user_name}),
        }
    }

    async fn stored_rows(store: &Store) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM resources")
            .fetch_one(store.pool())
            .await
            .expect("the rows are counted")
    }

    #[tokio::test]
    async fn concurrent_creates_are_all_committed_and_published() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let store = open_store(&directory).await;
        let writers: Vec<_> = (0..8)
            .map(|index| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .write("acme".into(), create_user(&format!("user-{index}")))
                        .await
                })
            })
            .collect();
        for writer in writers {
            let outcome = writer.await.expect("the task finishes");
            assert!(matches!(outcome, Ok(Outcome::Resource(_))), "{outcome:?}");
        }
        let published = store.organization("acme");
        assert_eq!(
            published.select(ResourceType::User, &Narrowing::All).len(),
            8
        );
        assert_eq!(stored_rows(&store).await, 8);
    }

    #[tokio::test]
    async fn a_failed_commit_changes_nothing_and_the_next_write_succeeds() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let store = open_store(&directory).await;
        sqlx::raw_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON resources \
             WHEN NEW.body LIKE '%refuse-me%' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        )
        .execute(store.pool())
        .await
        .expect("the trigger is created");

        let refused = store.write("acme".into(), create_user("refuse-me")).await;
        assert!(
            matches!(refused, Err(ScimError::Internal(_))),
            "{refused:?}"
        );
        let published = store.organization("acme");
        assert!(
            published
                .holder_of_name(ResourceType::User, "refuse-me")
                .is_none()
        );
        assert_eq!(stored_rows(&store).await, 0);

        let accepted = store.write("acme".into(), create_user("alice")).await;
        assert!(matches!(accepted, Ok(Outcome::Resource(_))), "{accepted:?}");
        assert!(
            store
                .organization("acme")
                .holder_of_name(ResourceType::User, "alice")
                .is_some()
        );
        assert_eq!(stored_rows(&store).await, 1);
    }

    #[tokio::test]
    async fn only_committed_changes_reach_the_listener() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let recorder = Arc::new(Recorder::default());
        let store = open_store_telling(&directory, Arc::clone(&recorder) as _).await;
        sqlx::raw_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON resources \
             WHEN NEW.body LIKE '%refuse-me%' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        )
        .execute(store.pool())
        .await
        .expect("the trigger is created");

        let refused = store.write("acme".into(), create_user("refuse-me")).await;
        assert!(refused.is_err(), "{refused:?}");
        let accepted = store.write("acme".into(), create_user("alice")).await;
        assert!(matches!(accepted, Ok(Outcome::Resource(_))), "{accepted:?}");
        let duplicate = store.write("acme".into(), create_user("ALICE")).await;
        assert!(
            matches!(duplicate, Err(ScimError::Uniqueness(_))),
            "{duplicate:?}"
        );
        let Ok(Outcome::Resource(alice)) = accepted else {
            unreachable!("checked above")
        };
        let deleted = store
            .write(
                "acme".into(),
                Mutation::Delete {
                    resource_type: ResourceType::User,
                    id: alice.id.to_string(),
                    if_match: None,
                },
            )
            .await;
        assert!(matches!(deleted, Ok(Outcome::Deleted)), "{deleted:?}");

        assert_eq!(
            recorder.told(),
            vec![
                (ChangeKind::Created, "alice".to_owned()),
                (ChangeKind::Deleted, "alice".to_owned())
            ]
        );
    }
}
