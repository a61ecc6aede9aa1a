//! The group side of a cycle: lookup or create, rename, membership in the persona's form
//! and batch size, deletion (personas.md §1.1 "Groups", §2.1 "Groups (Push Groups)", §3.1
//! "Groups").

use super::*;

impl ProvisioningCycle<'_> {
    pub(super) async fn sync_groups(
        &self,
        state: &mut ProvisioningState,
        report: &mut CycleReport,
        progress: &dyn Progress,
        assigned: &BTreeSet<&str>,
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
        // Only members assigned to the app (`assigned`) are sent: Entra provisions a group
        // without a member out of scope (personas.md §1.1 "Groups" [S6]), Okta sends "only
        // users that are both assigned to the app and members of the pushed group" (§2.1
        // [S8b]). A member who leaves the app's scope therefore leaves the pushed groups,
        // whatever became of the user at the target (Okta deactivates and keeps it).
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
                .filter(|member| {
                    assigned.contains(member.as_str()) && state.users.contains_key(member.as_str())
                })
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
}
