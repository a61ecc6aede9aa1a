//! The user side of a cycle: create or link, update, status changes, unassignment, and
//! Entra's hard delete after a soft delete's retention (personas.md §1.1, §2.1, §3.1, §5).

use super::*;

/// The SCIM attribute a linked user keeps where the persona never overwrites it.
const EXTERNAL_ID: &str = "externalId";

impl ProvisioningCycle<'_> {
    pub(super) async fn sync_user(
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
            self.delete_user(&mut outcome, &existing.id).await;
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
                linked: true,
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
                    linked: false,
                });
            }
            None => outcome.fail(&create, &response),
        }
    }

    /// Sends the profile and status changes from `existing.pushed` to `mapped`.
    pub(super) async fn update_user(
        &self,
        outcome: &mut UserOutcome,
        existing: UserState,
        mut mapped: MappedValues,
        mut fetched: Option<Map<String, Value>>,
    ) {
        let scim = &self.persona.scim;
        let before = &existing.pushed.values();
        if existing.linked
            && scim
                .links_keep_external_id
                .as_ref()
                .is_some_and(|knob| knob.value)
        {
            // A user the persona linked never got its POST, so the target keeps the
            // externalId it had (personas.md §2.4 [S8b]).
            match before.get(EXTERNAL_ID) {
                Some(kept) => mapped.insert(EXTERNAL_ID.into(), kept.clone()),
                None => mapped.remove(EXTERNAL_ID),
            };
        }
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
            pushed: mapped.into(),
            ..existing
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

    /// `DELETE /Users/{id}`; a 404 means the target no longer has the user either.
    async fn delete_user(&self, outcome: &mut UserOutcome, id: &str) {
        let delete = request::delete("Users", id);
        if let Some(response) = outcome.send(self.client, &delete, "user").await {
            if response.is_success() || response.status == 404 {
                outcome.counts.deleted += 1;
                outcome.change = UserChange::Forget;
            } else {
                outcome.fail(&delete, &response);
            }
        }
    }

    /// A user who left the app's scope, unassigned from the app or deleted in the IdP
    /// (`deleted`): deactivated or deleted as the persona does.
    pub(super) async fn unassign_user(
        &self,
        key: String,
        existing: UserState,
        deleted: bool,
    ) -> UserOutcome {
        let mut outcome = UserOutcome::new(key);
        let scim = &self.persona.scim;
        let action = match &scim.on_delete {
            Some(on_delete) if deleted => on_delete.value,
            _ => scim.on_unassign.value,
        };
        match action {
            Unassign::Delete => self.delete_user(&mut outcome, &existing.id).await,
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
}
