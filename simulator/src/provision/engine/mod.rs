//! One provisioning cycle: the directory diffed against what the persona last pushed, and
//! the persona's requests for every difference.
//!
//! Order within a cycle: test connection (first cycle only), users (lookup before create,
//! updates, status changes, Entra's hard delete after a soft delete's retention), a second
//! pass for references to users created in this cycle (Entra's manager: personas.md §1.1
//! "Create user" step 3), users who left the app's scope, then groups (groups before
//! memberships: §1.1 "Groups").

mod groups;
mod users;

use super::client::{ScimClient, ScimResponse, Unreachable};
use super::request::{self, Member, ScimRequest};
use super::state::{GroupState, ProvisioningState, UserState};
use crate::directory::{Block, Directory};
use crate::mapping::{MappedValue, MappedValues, NativeRecord, map_record};
use crate::persona::{Persona, StatusChange, TestConnection, Unassign, UpdateVerb};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Users mapped and sent per batch: bounds the memory a large directory needs in flight.
const CHUNK: usize = 256;

/// How a cycle runs.
#[derive(Debug, Clone)]
pub struct CycleOptions {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The cycle's time (soft-delete retention is measured against it).
    pub now: DateTime<Utc>,
    /// Seed of the random values the persona makes up (test GUIDs, Okta's passwords).
    pub seed: u64,
    /// What the names of the test connection's objects start with (JumpCloud creates a test
    /// user and group, then deletes them); `None` for `idpsim`. certify passes its scenario's
    /// unique name, so that a run interrupted between the create and the delete leaves
    /// nothing its cleanup cannot find.
    pub test_object_stem: Option<String>,
    /// The test user's email, for a persona whose test connection creates a user: JumpCloud
    /// asks the admin for it, so that a target that checks email domains accepts the user
    /// (personas.md §3.1 "Setup and test connection"). It is then the user's `userName` and
    /// work email; `None` for `<stem>.test.<random>@example.test`.
    pub test_user_email: Option<String>,
}

/// What a cycle did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CycleReport {
    /// Users created.
    pub created: usize,
    /// Existing target users found by the lookup and linked.
    pub linked: usize,
    /// Users whose profile was updated.
    pub updated: usize,
    /// Users set inactive.
    pub deactivated: usize,
    /// Users set active again.
    pub reactivated: usize,
    /// Users deleted.
    pub deleted: usize,
    /// Groups created.
    pub groups_created: usize,
    /// Groups renamed or whose members changed.
    pub groups_updated: usize,
    /// Groups deleted.
    pub groups_deleted: usize,
    /// Users and groups left alone, with the reason.
    pub skipped: Vec<Skipped>,
    /// Operations that failed.
    pub failures: Vec<Failure>,
    /// Total time waited before retries (429, 5xx).
    pub waited: Duration,
    /// The persona's reaction to the failure counts, e.g. Entra's quarantine.
    pub quarantine: Option<String>,
}

/// Something the persona did not push, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Skipped {
    /// `user adele` or `group sales`.
    pub subject: String,
    /// Why.
    pub reason: String,
}

/// An operation that failed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Failure {
    /// `user adele` or `group sales`.
    pub subject: String,
    /// `POST /Users`.
    pub request: String,
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// The answer's detail, or what went wrong.
    pub detail: String,
}

/// The cycle could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    /// The persona pushes no SCIM (Google Workspace: personas.md §4.1).
    #[error("{persona} does not push SCIM: {reason}")]
    NoScimPush {
        /// The persona's display name.
        persona: String,
        /// The persona's explanation.
        reason: String,
    },
    /// The target did not answer.
    #[error("the target is unreachable: {0}")]
    Unreachable(#[from] Unreachable),
    /// The directory's own mappings are invalid.
    #[error("{0}")]
    Mapping(String),
    /// Test Connection failed.
    #[error("test connection failed: {request} answered {status}: {detail}")]
    TestConnection {
        /// The request.
        request: String,
        /// Its status.
        status: u16,
        /// The answer's detail.
        detail: String,
    },
}

/// Progress of a cycle, for a progress bar.
pub trait Progress: Sync {
    /// `total` operations are planned in the phase called `phase`.
    fn phase(&self, phase: &str, total: u64);
    /// One more is done.
    fn advance(&self);
}

/// A progress sink that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _phase: &str, _total: u64) {}
    fn advance(&self) {}
}

/// One provisioning cycle of `persona` for `directory` through `client`.
#[derive(Clone)]
pub struct ProvisioningCycle<'a> {
    persona: &'a Persona,
    directory: &'a Directory,
    client: &'a ScimClient,
    options: CycleOptions,
}

/// What one user's sync changed.
enum UserChange {
    Keep,
    Store(UserState),
    Forget,
}

struct UserOutcome {
    key: String,
    change: UserChange,
    counts: Counts,
    failures: Vec<Failure>,
    skipped: Option<String>,
    waited: Duration,
}

#[derive(Default)]
struct Counts {
    created: usize,
    linked: usize,
    updated: usize,
    deactivated: usize,
    reactivated: usize,
    deleted: usize,
    operations: u64,
}

impl<'a> ProvisioningCycle<'a> {
    /// A cycle ready to run.
    pub fn new(
        persona: &'a Persona,
        directory: &'a Directory,
        client: &'a ScimClient,
        options: CycleOptions,
    ) -> Self {
        ProvisioningCycle {
            persona,
            directory,
            client,
            options,
        }
    }

    /// Runs the cycle, updating `state` with what the target accepted. The directory's own
    /// mappings for the persona's block replace or extend the persona's.
    pub async fn run(
        &self,
        state: &mut ProvisioningState,
        progress: &dyn Progress,
    ) -> Result<CycleReport, CycleError> {
        let persona = self
            .persona
            .for_directory(self.directory)
            .map_err(CycleError::Mapping)?;
        let cycle = ProvisioningCycle {
            persona: &persona,
            ..self.clone()
        };
        cycle.run_with_persona(state, progress).await
    }

    async fn run_with_persona(
        &self,
        state: &mut ProvisioningState,
        progress: &dyn Progress,
    ) -> Result<CycleReport, CycleError> {
        let scim = &self.persona.scim;
        if !scim.pushes.value {
            return Err(CycleError::NoScimPush {
                persona: self.persona.display_name.clone(),
                reason: scim
                    .pushes
                    .note
                    .clone()
                    .unwrap_or_else(|| scim.pushes.source.clone()),
            });
        }
        let mut random = ChaCha8Rng::seed_from_u64(self.options.seed);
        let mut report = CycleReport::default();
        let mut operations = 0u64;
        if !state.connection_tested {
            operations += self.test_connection(&mut random).await?;
            state.connection_tested = true;
        }
        let block = self.persona.directory_block.as_str();
        let assigned: Vec<_> = self
            .directory
            .users
            .iter()
            .filter_map(|user| {
                user.blocks
                    .get(block)
                    .map(|attributes| (user.key.as_str(), attributes))
            })
            .collect();

        progress.phase("users", assigned.len() as u64);
        for chunk in assigned.chunks(CHUNK) {
            let ids = &state.users;
            let jobs: Vec<_> = chunk
                .iter()
                .map(|&(key, block)| {
                    let attributes = self.native_attributes(block);
                    let mapped = self.map_user(&attributes, &|person| {
                        ids.get(person).map(|user| user.id.clone())
                    });
                    let password = scim
                        .create_random_password
                        .value
                        .then(|| random_password(&mut random));
                    (
                        key.to_owned(),
                        attributes,
                        mapped,
                        ids.get(key).cloned(),
                        password,
                    )
                })
                .collect();
            let outcomes = self
                .concurrently(
                    progress,
                    jobs,
                    |(key, attributes, mapped, existing, password)| {
                        self.sync_user(key, attributes, mapped, existing, password)
                    },
                )
                .await;
            operations += apply_outcomes(state, &mut report, outcomes);
        }

        let maps_references = self
            .persona
            .user_rules
            .iter()
            .any(|rule| matches!(rule.mapping.value, MappedValue::Reference(_)));
        // A second pass sends references to users created in this cycle; only personas that
        // map a reference (Entra's manager) need it.
        let references: Vec<_> = assigned
            .iter()
            .filter(|_| maps_references)
            .filter_map(|&(key, block)| {
                let existing = state.users.get(key)?;
                let ids = &state.users;
                let mapped = self
                    .map_user(&self.native_attributes(block), &|person| {
                        ids.get(person).map(|user| user.id.clone())
                    })
                    .ok()?;
                (mapped != existing.pushed.values())
                    .then(|| (key.to_owned(), mapped, existing.clone()))
            })
            .collect();
        if !references.is_empty() {
            progress.phase("references", references.len() as u64);
            let outcomes = self
                .concurrently(progress, references, |(key, mapped, existing)| async move {
                    let mut outcome = UserOutcome::new(key);
                    self.update_user(&mut outcome, existing, mapped, None).await;
                    outcome
                })
                .await;
            operations += apply_outcomes(state, &mut report, outcomes);
        }

        let in_scope: BTreeSet<&str> = assigned.iter().map(|&(key, _)| key).collect();
        let in_directory: BTreeSet<&str> = self
            .directory
            .users
            .iter()
            .map(|user| user.key.as_str())
            .collect();
        let leaving: Vec<(String, UserState, bool)> = state
            .users
            .iter()
            .filter(|(key, _)| !in_scope.contains(key.as_str()))
            .map(|(key, user)| {
                let deleted = !in_directory.contains(key.as_str());
                (key.clone(), user.clone(), deleted)
            })
            .collect();
        if !leaving.is_empty() {
            progress.phase("unassigned users", leaving.len() as u64);
            let outcomes = self
                .concurrently(progress, leaving, |(key, existing, deleted)| {
                    self.unassign_user(key, existing, deleted)
                })
                .await;
            operations += apply_outcomes(state, &mut report, outcomes);
        }

        if scim.pushes_groups.value {
            operations += self
                .sync_groups(state, &mut report, progress, &in_scope)
                .await;
        }

        state.operations += operations;
        state.failures += report.failures.len() as u64;
        report.quarantine = self.quarantine(state);
        Ok(report)
    }

    /// Runs `work` on every job, `concurrency` at a time, advancing `progress` per job.
    async fn concurrently<Job, Work, Done>(
        &self,
        progress: &dyn Progress,
        jobs: Vec<Job>,
        work: Work,
    ) -> Vec<UserOutcome>
    where
        Work: Fn(Job) -> Done,
        Done: std::future::Future<Output = UserOutcome>,
    {
        futures::stream::iter(jobs)
            .map(|job| {
                let done = work(job);
                async move {
                    let outcome = done.await;
                    progress.advance();
                    outcome
                }
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await
    }

    /// A user's native attributes as the persona's mappings see them: a B2B guest's UPN
    /// without `#EXT#` and the tenant suffix where the persona strips it (personas.md §1.1
    /// "Create user" [S3]).
    fn native_attributes(&self, block: &Block) -> Map<String, Value> {
        let mut attributes = block.attributes();
        if self
            .persona
            .scim
            .strips_guest_upn
            .as_ref()
            .is_some_and(|knob| knob.value)
            && let Some(Value::String(upn)) = attributes.get_mut("userPrincipalName")
            && let Some(alias) = upn.split_once("#EXT#").map(|(alias, _)| alias.to_owned())
        {
            *upn = alias;
        }
        attributes
    }

    fn map_user(
        &self,
        attributes: &Map<String, Value>,
        resolve: &dyn Fn(&str) -> Option<String>,
    ) -> Result<MappedValues, String> {
        let record = NativeRecord {
            attributes,
            computed: &self.persona.computed,
        };
        map_record(&self.persona.user_rules, record, resolve).map_err(|error| error.to_string())
    }

    async fn test_connection(&self, random: &mut ChaCha8Rng) -> Result<u64, CycleError> {
        let scim = &self.persona.scim;
        let requests: Vec<ScimRequest> = match scim.test_connection.value {
            TestConnection::None => Vec::new(),
            TestConnection::ProbeRandomUser => {
                let guid = uuid::Builder::from_random_bytes(random.random()).into_uuid();
                vec![request::user_lookup(scim, &guid.to_string())]
            }
            TestConnection::ListUsersAndGroups => {
                vec![request::list("Users", 2), request::list("Groups", 100)]
            }
            TestConnection::CreateAndDelete => return self.test_with_objects(random).await,
        };
        for request in &requests {
            let response = self.client.send(request).await?;
            let empty_list = response
                .json
                .as_ref()
                .and_then(|json| json.get("totalResults"))
                .and_then(Value::as_u64)
                .is_some_and(|total| {
                    total == 0 || scim.test_connection.value != TestConnection::ProbeRandomUser
                });
            if !response.is_success() || !empty_list {
                return Err(test_failure(request, &response));
            }
        }
        Ok(requests.len() as u64)
    }

    /// JumpCloud's test: create a test user and group, then delete them; a user that cannot
    /// be deleted is deactivated instead (personas.md §3.1 "Setup and test connection").
    async fn test_with_objects(&self, random: &mut ChaCha8Rng) -> Result<u64, CycleError> {
        let suffix: u32 = random.random();
        let stem = self.options.test_object_stem.as_deref().unwrap_or("idpsim");
        let user_name = self
            .options
            .test_user_email
            .clone()
            .unwrap_or_else(|| format!("{stem}.test.{suffix:08x}@example.test"));
        let user = serde_json::json!({
            "schemas": self.persona.scim.create_schemas.value,
            "userName": user_name,
            "name": { "givenName": "Test", "familyName": "User" },
            "emails": [{ "value": user_name, "type": "work", "primary": true }],
            "active": true,
        });
        let group = serde_json::json!({
            "schemas": self.persona.scim.group_create_schemas.value,
            "displayName": format!("{stem} test group {suffix:08x}"),
        });
        let mut sent = 0;
        for (resource, body) in [("Users", user), ("Groups", group)] {
            let create = ScimRequest {
                method: request::Method::Post,
                path: format!("/{resource}"),
                query: Vec::new(),
                body: Some(body),
            };
            let response = self.client.send(&create).await?;
            sent += 1;
            let Some(id) = created_id(&response) else {
                return Err(test_failure(&create, &response));
            };
            let deleted = self.client.send(&request::delete(resource, &id)).await?;
            sent += 1;
            if !deleted.is_success() && resource == "Users" {
                self.client
                    .send(&request::status_patch(&self.persona.scim, &id, false))
                    .await?;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Entra's quarantine (personas.md §1.1 "Quarantine"): reported, not slept through.
    fn quarantine(&self, state: &ProvisioningState) -> Option<String> {
        let thresholds = &self.persona.scim.quarantine.as_ref()?.value;
        if state.failures < thresholds.minimum_failures || state.operations == 0 {
            return None;
        }
        let share = state.failures as f64 / state.operations as f64;
        if share > thresholds.failure_share || state.failures > thresholds.maximum_failures {
            Some(format!(
                "{} would quarantine this job (EncounteredEscrowProportionThreshold): {} of {} operations failed ({:.0} %); cycles slow down to once a day and the job is disabled after 4 weeks",
                self.persona.display_name,
                state.failures,
                state.operations,
                share * 100.0
            ))
        } else {
            None
        }
    }
}

impl UserOutcome {
    fn new(key: String) -> UserOutcome {
        UserOutcome {
            key,
            change: UserChange::Keep,
            counts: Counts::default(),
            failures: Vec::new(),
            skipped: None,
            waited: Duration::ZERO,
        }
    }

    /// Sends `request`; an unreachable target is recorded as a failure and gives `None`.
    async fn send(
        &mut self,
        client: &ScimClient,
        request: &ScimRequest,
        kind: &str,
    ) -> Option<ScimResponse> {
        self.counts.operations += 1;
        match client.send(request).await {
            Ok(response) => {
                self.waited += response.waited;
                Some(response)
            }
            Err(error) => {
                self.failures.push(Failure {
                    subject: format!("{kind} {}", self.key),
                    request: describe(request),
                    status: None,
                    detail: error.message,
                });
                None
            }
        }
    }

    fn fail(&mut self, request: &ScimRequest, response: &ScimResponse) {
        self.fail_with(request, Some(response.status), response.detail());
    }

    fn fail_with(&mut self, request: &ScimRequest, status: Option<u16>, detail: String) {
        let kind = if request.path.starts_with("/Groups") {
            "group"
        } else {
            "user"
        };
        self.failures.push(Failure {
            subject: format!("{kind} {}", self.key),
            request: describe(request),
            status,
            detail,
        });
    }

    fn count_status(&mut self, active: bool) {
        if active {
            self.counts.reactivated += 1;
        } else {
            self.counts.deactivated += 1;
        }
    }
}

fn apply_outcomes(
    state: &mut ProvisioningState,
    report: &mut CycleReport,
    outcomes: Vec<UserOutcome>,
) -> u64 {
    let mut operations = 0;
    for mut outcome in outcomes {
        match outcome.change {
            UserChange::Keep => {}
            UserChange::Store(user) => {
                state.users.insert(outcome.key.clone(), user);
            }
            UserChange::Forget => {
                state.users.remove(&outcome.key);
                for group in state.groups.values_mut() {
                    group.members.remove(&outcome.key);
                }
            }
        }
        if let Some(reason) = outcome.skipped {
            report.skipped.push(Skipped {
                subject: format!("user {}", outcome.key),
                reason,
            });
        }
        report.created += outcome.counts.created;
        report.linked += outcome.counts.linked;
        report.updated += outcome.counts.updated;
        report.deactivated += outcome.counts.deactivated;
        report.reactivated += outcome.counts.reactivated;
        report.deleted += outcome.counts.deleted;
        report.waited += outcome.waited;
        report.failures.append(&mut outcome.failures);
        operations += outcome.counts.operations;
    }
    operations
}

fn created_id(response: &ScimResponse) -> Option<String> {
    if !response.is_success() {
        return None;
    }
    response
        .json
        .as_ref()
        .and_then(|json| json.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn describe(request: &ScimRequest) -> String {
    format!("{} {}", request.method.as_str(), request.path)
}

fn test_failure(request: &ScimRequest, response: &ScimResponse) -> CycleError {
    CycleError::TestConnection {
        request: describe(request),
        status: response.status,
        detail: response.detail(),
    }
}

fn random_password(random: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..8)
        .map(|_| {
            ALPHABET
                .get(random.random_range(0..ALPHABET.len()))
                .map_or('x', |byte| char::from(*byte))
        })
        .collect()
}
