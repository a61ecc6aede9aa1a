//! One provisioning cycle: the directory diffed against what the persona last pushed, and
//! the persona's requests for every difference.
//!
//! Order within a cycle: test connection (first cycle only), users (lookup before create,
//! updates, status changes, Entra's hard delete after a soft delete's retention), a second
//! pass for references to users created in this cycle (Entra's manager: personas.md §1.1
//! "Create user" step 3), users who left the app's scope, then groups (groups before
//! memberships: §1.1 "Groups").

use super::client::{ScimClient, ScimResponse, Unreachable};
use super::request::{self, Member, ScimRequest};
use super::state::{GroupState, ProvisioningState, UserState};
use crate::directory::Directory;
use crate::mapping::{MappedValues, NativeRecord, map_record};
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
                    let attributes = block.attributes();
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

        let references: Vec<_> = assigned
            .iter()
            .filter_map(|&(key, block)| {
                let existing = state.users.get(key)?;
                let ids = &state.users;
                let mapped = self
                    .map_user(&block.attributes(), &|person| {
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
        let leaving: Vec<(String, UserState)> = state
            .users
            .iter()
            .filter(|(key, _)| !in_scope.contains(key.as_str()))
            .map(|(key, user)| (key.clone(), user.clone()))
            .collect();
        if !leaving.is_empty() {
            progress.phase("unassigned users", leaving.len() as u64);
            let outcomes = self
                .concurrently(progress, leaving, |(key, existing)| {
                    self.unassign_user(key, existing)
                })
                .await;
            operations += apply_outcomes(state, &mut report, outcomes);
        }

        if scim.pushes_groups.value {
            operations += self.sync_groups(state, &mut report, progress).await;
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
        let user = serde_json::json!({
            "schemas": self.persona.scim.create_schemas.value,
            "userName": format!("idpsim.test.{suffix:08x}@example.test"),
            "name": { "givenName": "Test", "familyName": "User" },
            "emails": [{ "value": format!("idpsim.test.{suffix:08x}@example.test"), "type": "work", "primary": true }],
            "active": true,
        });
        let group = serde_json::json!({
            "schemas": self.persona.scim.group_create_schemas.value,
            "displayName": format!("idpsim test group {suffix:08x}"),
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

    async fn sync_user(
        &self,
        key: String,
        attributes: Map<String, Value>,
        mapped: Result<MappedValues, String>,
        existing: Option<UserState>,
        password: Option<String>,
    ) -> UserOutcome {
        let scim = &self.persona.scim;
        let mut outcome = UserOutcome::new(key);
        let mapped = match mapped {
            Ok(mapped) => mapped,
            Err(reason) => {
                outcome.skipped = Some(format!("cannot be mapped: {reason}"));
                return outcome;
            }
        };
        if let Some(existing) = &existing
            && self.retention_over(&attributes)
        {
            let delete = request::delete("Users", &existing.id);
            if let Some(response) = outcome.send(self.client, &delete, "user").await {
                if response.is_success() || response.status == 404 {
                    outcome.counts.deleted += 1;
                    outcome.change = UserChange::Forget;
                } else {
                    outcome.fail(&delete, &response);
                }
            }
            return outcome;
        }
        let active = mapped
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        match existing {
            Some(existing) => self.update_user(&mut outcome, existing, mapped, None).await,
            None if !active && !scim.create_disabled_users.value => {
                outcome.skipped = Some("disabled in the IdP: not provisioned until enabled".into());
            }
            None => self.create_or_link(&mut outcome, mapped, password).await,
        }
        outcome
    }

    /// Whether the user was soft-deleted longer ago than the persona's retention (Entra:
    /// hard delete after 30 days, personas.md §1.1 "Deactivate, reactivate, delete").
    fn retention_over(&self, attributes: &Map<String, Value>) -> bool {
        let scim = &self.persona.scim;
        let (Some(attribute), Some(days)) =
            (&scim.soft_delete_attribute, &scim.hard_delete_after_days)
        else {
            return false;
        };
        attributes
            .get(attribute.value.as_str())
            .and_then(Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .is_some_and(|deleted| {
                deleted.with_timezone(&Utc) + chrono::Duration::days(i64::from(days.value))
                    <= self.options.now
            })
    }

    async fn create_or_link(
        &self,
        outcome: &mut UserOutcome,
        mapped: MappedValues,
        password: Option<String>,
    ) {
        let scim = &self.persona.scim;
        let lookup_value = mapped
            .get(scim.lookup_attribute.value.as_str())
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_default();
        let lookup = request::user_lookup(scim, &lookup_value);
        let Some(found) = outcome.send(self.client, &lookup, "user").await else {
            return;
        };
        let existing = match found.status {
            200..=299 => found
                .json
                .as_ref()
                .and_then(|json| json.get("Resources"))
                .and_then(Value::as_array)
                .and_then(|resources| resources.first())
                .and_then(Value::as_object)
                .cloned(),
            404 if scim.lookup_404_is_no_match.value => None,
            _ => {
                outcome.fail(&lookup, &found);
                return;
            }
        };
        if let Some(resource) = existing {
            let Some(id) = resource
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
            else {
                outcome.fail_with(
                    &lookup,
                    Some(found.status),
                    "the matching user has no id".into(),
                );
                return;
            };
            let before: MappedValues = self
                .persona
                .user_rules
                .iter()
                .filter_map(|rule| Some((rule.target.text.clone(), rule.target.read(&resource)?)))
                .collect();
            outcome.counts.linked += 1;
            let linked = UserState {
                id,
                pushed: before.into(),
            };
            outcome.change = UserChange::Store(linked.clone());
            self.update_user(outcome, linked, mapped, Some(resource))
                .await;
            return;
        }
        let create = request::create_user(self.persona, &mapped, password.as_deref());
        let Some(response) = outcome.send(self.client, &create, "user").await else {
            return;
        };
        match created_id(&response) {
            Some(id) => {
                let pushed: MappedValues = mapped
                    .into_iter()
                    .filter(|(path, _)| {
                        self.persona
                            .user_rules
                            .iter()
                            .any(|rule| rule.target.text == *path && !rule.target.complex)
                    })
                    .collect();
                outcome.counts.created += 1;
                outcome.change = UserChange::Store(UserState {
                    id,
                    pushed: pushed.into(),
                });
            }
            None => outcome.fail(&create, &response),
        }
    }

    /// Sends the profile and status changes from `existing.pushed` to `mapped`.
    async fn update_user(
        &self,
        outcome: &mut UserOutcome,
        existing: UserState,
        mapped: MappedValues,
        mut fetched: Option<Map<String, Value>>,
    ) {
        let scim = &self.persona.scim;
        let before = &existing.pushed.values();
        let was_active = existing.active();
        let active = mapped
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let status_changes = was_active != active;
        let profile_changes = request::profile_rules(self.persona).any(|rule| {
            let path = &rule.target.text;
            match (before.get(path), mapped.get(path)) {
                (Some(old), Some(new)) => old != new,
                (None, Some(_)) => true,
                (Some(_), None) => scim.clears_attributes.value,
                (None, None) => false,
            }
        });
        let put_carries_status = scim.update_verb.value == UpdateVerb::Put
            && scim.status_change.value == StatusChange::Put
            && profile_changes;
        let status_first = status_changes && active;
        if status_first
            && !put_carries_status
            && !self
                .change_status(outcome, &existing, &mut fetched, active)
                .await
        {
            return;
        }
        if profile_changes {
            let request = match scim.update_verb.value {
                UpdateVerb::Patch => {
                    request::user_profile_patch(self.persona, &existing.id, before, &mapped)
                }
                UpdateVerb::Put => {
                    let Some(resource) = self.fetch(outcome, &existing, &mut fetched).await else {
                        return;
                    };
                    let mut carried = mapped.clone();
                    if !put_carries_status {
                        carried.insert("active".into(), Value::Bool(was_active));
                        if status_first {
                            carried.insert("active".into(), Value::Bool(active));
                        }
                    }
                    Some(request::user_put(
                        self.persona,
                        &existing.id,
                        &resource,
                        before,
                        &carried,
                    ))
                }
            };
            if let Some(request) = request {
                let Some(response) = outcome.send(self.client, &request, "user").await else {
                    return;
                };
                if !response.is_success() {
                    outcome.fail(&request, &response);
                    if response.status == 404 {
                        outcome.change = UserChange::Forget;
                    }
                    return;
                }
                outcome.counts.updated += 1;
                if put_carries_status {
                    outcome.count_status(active);
                }
            }
        }
        if status_changes
            && !status_first
            && !put_carries_status
            && !self
                .change_status(outcome, &existing, &mut fetched, active)
                .await
        {
            return;
        }
        outcome.change = UserChange::Store(UserState {
            id: existing.id,
            pushed: mapped.into(),
        });
    }

    /// Sends a status change in the persona's form; false when it failed.
    async fn change_status(
        &self,
        outcome: &mut UserOutcome,
        existing: &UserState,
        fetched: &mut Option<Map<String, Value>>,
        active: bool,
    ) -> bool {
        let scim = &self.persona.scim;
        let request = match scim.status_change.value {
            StatusChange::PatchPath | StatusChange::PatchPathless => {
                request::status_patch(scim, &existing.id, active)
            }
            StatusChange::Put => {
                let Some(resource) = self.fetch(outcome, existing, fetched).await else {
                    return false;
                };
                let pushed = existing.pushed.values();
                let mut with_status = pushed.clone();
                with_status.insert("active".into(), Value::Bool(active));
                request::user_put(self.persona, &existing.id, &resource, &pushed, &with_status)
            }
        };
        let Some(response) = outcome.send(self.client, &request, "user").await else {
            return false;
        };
        if !response.is_success() {
            outcome.fail(&request, &response);
            if response.status == 404 {
                outcome.change = UserChange::Forget;
            }
            return false;
        }
        if let Some(resource) = fetched.as_mut() {
            resource.insert("active".into(), Value::Bool(active));
        }
        outcome.count_status(active);
        true
    }

    /// The resource as the target holds it (GET before PUT: personas.md §2.1 "Update user").
    async fn fetch(
        &self,
        outcome: &mut UserOutcome,
        existing: &UserState,
        fetched: &mut Option<Map<String, Value>>,
    ) -> Option<Map<String, Value>> {
        if let Some(resource) = fetched {
            return Some(resource.clone());
        }
        let request = request::get("Users", &existing.id);
        let response = outcome.send(self.client, &request, "user").await?;
        match response.json.as_ref().and_then(Value::as_object) {
            Some(resource) if response.is_success() => {
                *fetched = Some(resource.clone());
                Some(resource.clone())
            }
            _ => {
                outcome.fail(&request, &response);
                if response.status == 404 {
                    outcome.change = UserChange::Forget;
                }
                None
            }
        }
    }

    /// A user who left the app's scope: deactivated or deleted as the persona does.
    async fn unassign_user(&self, key: String, existing: UserState) -> UserOutcome {
        let mut outcome = UserOutcome::new(key);
        match self.persona.scim.on_unassign.value {
            Unassign::Delete => {
                let delete = request::delete("Users", &existing.id);
                if let Some(response) = outcome.send(self.client, &delete, "user").await {
                    if response.is_success() || response.status == 404 {
                        outcome.counts.deleted += 1;
                        outcome.change = UserChange::Forget;
                    } else {
                        outcome.fail(&delete, &response);
                    }
                }
            }
            Unassign::Deactivate if existing.active() => {
                let mut fetched = None;
                if self
                    .change_status(&mut outcome, &existing, &mut fetched, false)
                    .await
                {
                    let mut pushed = existing.pushed.values();
                    pushed.insert("active".into(), Value::Bool(false));
                    outcome.change = UserChange::Store(UserState {
                        pushed: pushed.into(),
                        ..existing
                    });
                }
            }
            Unassign::Deactivate => {}
        }
        outcome
    }

    async fn sync_groups(
        &self,
        state: &mut ProvisioningState,
        report: &mut CycleReport,
        progress: &dyn Progress,
    ) -> u64 {
        let scim = &self.persona.scim;
        let block = self.persona.directory_block.as_str();
        let mut operations = 0u64;
        let groups: Vec<_> = self
            .directory
            .groups
            .iter()
            .filter_map(|group| {
                group
                    .blocks
                    .get(block)
                    .map(|attributes| (group, attributes))
            })
            .collect();
        progress.phase("groups", groups.len() as u64);
        let mut in_scope = BTreeSet::new();
        for (group, attributes) in groups {
            in_scope.insert(group.key.clone());
            let subject = format!("group {}", group.key);
            let attributes = attributes.attributes();
            let record = NativeRecord {
                attributes: &attributes,
                computed: &BTreeMap::new(),
            };
            let mapped = match map_record(&self.persona.group_rules, record, &|_| None) {
                Ok(mapped) => mapped,
                Err(error) => {
                    report.skipped.push(Skipped {
                        subject,
                        reason: format!("cannot be mapped: {error}"),
                    });
                    progress.advance();
                    continue;
                }
            };
            let display_name = mapped
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let members: BTreeSet<String> = group
                .members
                .iter()
                .filter(|member| state.users.contains_key(member.as_str()))
                .cloned()
                .collect();
            let mut outcome = UserOutcome::new(group.key.clone());
            let existing = state.groups.get(&group.key).cloned();
            let (id, current, renamed) = match existing {
                Some(existing) => {
                    let renamed = existing.pushed.get("displayName") != mapped.get("displayName");
                    (existing.id, existing.members, renamed)
                }
                None if members.is_empty() && !scim.create_empty_groups.value => {
                    report.skipped.push(Skipped {
                        subject,
                        reason: "has no members: not created while empty".into(),
                    });
                    progress.advance();
                    continue;
                }
                None => match self
                    .create_or_link_group(&mut outcome, &mapped, &display_name)
                    .await
                {
                    Some((id, created)) => {
                        if created {
                            report.groups_created += 1;
                        }
                        state.groups.insert(
                            group.key.clone(),
                            GroupState {
                                id: id.clone(),
                                pushed: mapped.clone(),
                                members: BTreeSet::new(),
                            },
                        );
                        (id, BTreeSet::new(), false)
                    }
                    None => {
                        operations += outcome.counts.operations;
                        report.failures.append(&mut outcome.failures);
                        progress.advance();
                        continue;
                    }
                },
            };
            let member = |key: &String| {
                state.users.get(key).map(|user| Member {
                    id: user.id.clone(),
                    display: user.user_name(),
                })
            };
            let added: Vec<Member> = members.difference(&current).filter_map(member).collect();
            let removed: Vec<Member> = current.difference(&members).filter_map(member).collect();
            let requests = if !renamed && added.is_empty() && removed.is_empty() {
                Vec::new()
            } else {
                match scim.group_update_verb.value {
                    UpdateVerb::Patch => request::group_patches(
                        scim,
                        &id,
                        renamed.then_some(display_name.as_str()),
                        &display_name,
                        &added,
                        &removed,
                    ),
                    UpdateVerb::Put => {
                        let all: Vec<Member> = members.iter().filter_map(member).collect();
                        vec![request::group_put(self.persona, &id, &mapped, &all)]
                    }
                }
            };
            let mut succeeded = true;
            for request in &requests {
                match outcome.send(self.client, request, "group").await {
                    Some(response) if response.is_success() => {}
                    Some(response) => {
                        outcome.fail(request, &response);
                        succeeded = false;
                        break;
                    }
                    None => {
                        succeeded = false;
                        break;
                    }
                }
            }
            if !requests.is_empty() && succeeded {
                report.groups_updated += 1;
                state.groups.insert(
                    group.key.clone(),
                    GroupState {
                        id,
                        pushed: mapped,
                        members,
                    },
                );
            }
            operations += outcome.counts.operations;
            report.waited += outcome.waited;
            report.failures.append(&mut outcome.failures);
            progress.advance();
        }
        let removed: Vec<(String, GroupState)> = state
            .groups
            .iter()
            .filter(|(key, _)| !in_scope.contains(*key))
            .map(|(key, group)| (key.clone(), group.clone()))
            .collect();
        for (key, group) in removed {
            if !scim.deletes_groups.value {
                state.groups.remove(&key);
                continue;
            }
            let mut outcome = UserOutcome::new(key.clone());
            let delete = request::delete("Groups", &group.id);
            if let Some(response) = outcome.send(self.client, &delete, "group").await {
                if response.is_success() || response.status == 404 {
                    report.groups_deleted += 1;
                    state.groups.remove(&key);
                } else {
                    outcome.fail(&delete, &response);
                }
            }
            operations += outcome.counts.operations;
            report.failures.append(&mut outcome.failures);
        }
        operations
    }

    /// Looks the group up by name and links it, or creates it; `(id, created)`.
    async fn create_or_link_group(
        &self,
        outcome: &mut UserOutcome,
        mapped: &MappedValues,
        display_name: &str,
    ) -> Option<(String, bool)> {
        let scim = &self.persona.scim;
        let lookup = request::group_lookup(scim, display_name);
        let found = outcome.send(self.client, &lookup, "group").await?;
        if found.is_success() {
            if let Some(id) = found
                .json
                .as_ref()
                .and_then(|json| json.pointer("/Resources/0/id"))
                .and_then(Value::as_str)
            {
                return Some((id.to_owned(), false));
            }
        } else if !(found.status == 404 && scim.lookup_404_is_no_match.value) {
            outcome.fail(&lookup, &found);
            return None;
        }
        let create = request::create_group(self.persona, mapped);
        let response = outcome.send(self.client, &create, "group").await?;
        match created_id(&response) {
            Some(id) => Some((id, true)),
            None => {
                outcome.fail(&create, &response);
                None
            }
        }
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
