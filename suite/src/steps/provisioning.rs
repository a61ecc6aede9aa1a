//! A simulated IdP provisioning the target: a persona with its directory (personas.md §1–§5),
//! lifecycle events in the IdP's own attribute names, provisioning cycles, and what the last
//! cycle reported and sent. What the target holds afterwards is checked in `mappings`.
//!
//! Scenarios run at once against one target, so a directory is rewritten with the scenario's
//! unique value as it is loaded ([`make_unique`]); values a step writes into it are rewritten
//! the same way, so features use the directory's own names.

use super::{name_list, unquote};
use crate::world::{Credentials, Provisioning, ScimWorld, StepError};
use cucumber::{given, then, when};
use idpsim_simulator::directory::Directory;
use idpsim_simulator::fixtures_dir;
use idpsim_simulator::persona::PersonaCatalog;
use idpsim_simulator::provision::{
    CycleError, CycleOptions, CycleReport, Exchange, NoProgress, ProvisioningCycle,
    ProvisioningState, ScimClient, SimulatedPause, Transcript, import,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The simulated time of a scenario's first cycle.
const START: &str = "2026-11-01T08:00:00Z";

/// Requests the IdP has in flight at once during a cycle.
const CONCURRENCY: usize = 4;

/// The mail domains of the acme directory that [`make_unique`] makes unique.
const DOMAINS: [&str; 2] = ["acme.test", "acme.onmicrosoft.com"];

/// The longest simulated wait a step accepts (a century), so the clock cannot overflow.
const MAX_DAYS: u64 = 36_500;

#[given(regex = r#"^the "([^"]+)" persona with the directory "([^"]+)"$"#)]
async fn persona_with_directory(
    world: &mut ScimWorld,
    persona: String,
    directory: String,
) -> Result<(), StepError> {
    let directory = load_directory(&directory)?;
    start(world, &persona, directory).await
}

/// The directory reduced to the named people and no groups, so a scenario about one
/// person's attributes stays small.
#[given(regex = r#"^the "([^"]+)" persona with the users? "([^"]+)" of the directory "([^"]+)"$"#)]
async fn persona_with_users(
    world: &mut ScimWorld,
    persona: String,
    users: String,
    directory: String,
) -> Result<(), StepError> {
    let mut directory = load_directory(&directory)?;
    let keys = name_list(&users);
    if let Some(unknown) = keys.iter().find(|key| directory.user(key).is_none()) {
        return Err(StepError::Step(format!(
            "the directory \"{}\" has no user \"{unknown}\"",
            directory.name
        )));
    }
    directory.users.retain(|user| keys.contains(&user.key));
    directory.groups.clear();
    start(world, &persona, directory).await
}

/// Sets a native attribute of a person in the persona's block (dotted for nested ones, as
/// JumpCloud's `address.locality`): a quoted string, or `true`/`false`.
#[given(regex = r#"^in the IdP, "([^"]+)" has the "([^"]+)" ("(?:[^"\\]|\\.)*"|true|false)$"#)]
#[when(regex = r#"^in the IdP, "([^"]+)" gets the "([^"]+)" ("(?:[^"\\]|\\.)*"|true|false)$"#)]
fn set_attribute(
    world: &mut ScimWorld,
    user: String,
    attribute: String,
    value: String,
) -> Result<(), StepError> {
    let value = match value.as_str() {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        quoted => Value::String(unquote(
            quoted
                .strip_prefix('"')
                .and_then(|text| text.strip_suffix('"'))
                .unwrap_or(quoted),
        )),
    };
    set_user_attribute(world, &user, &attribute, value)
}

/// Disables a person the way the persona's IdP does (personas.md §1.1 "Deactivate, reactivate,
/// delete"; §2.1 "Deactivate, reactivate, delete, suspend"; §3.1 "User lifecycle"; §4.1; §5).
#[when(regex = r#"^in the IdP, "([^"]+)" is disabled$"#)]
fn disabled(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let block = world.provisioning()?.persona.directory_block.clone();
    let (attribute, value) = match block.as_str() {
        "entra" => ("accountEnabled", Value::Bool(false)),
        "okta" => ("status", Value::String("DEPROVISIONED".into())),
        "jumpcloud" => ("activated", Value::Bool(false)),
        "google" => ("suspended", Value::Bool(true)),
        "generic" => ("active", Value::Bool(false)),
        other => {
            return Err(StepError::Step(format!(
                "no way to disable a user of the directory block `{other}` is known"
            )));
        }
    };
    set_user_attribute(world, &user, attribute, value)
}

/// The person leaves the app's scope: the persona's block of the person is removed.
#[when(regex = r#"^in the IdP, "([^"]+)" is unassigned from the app$"#)]
fn unassigned(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let provisioning = world.provisioning_mut()?;
    let block = provisioning.persona.directory_block.clone();
    let person = provisioning
        .directory
        .users
        .iter_mut()
        .find(|person| person.key == user)
        .ok_or_else(|| no_user(&user))?;
    match person.blocks.remove(&block) {
        Some(_) => Ok(()),
        None => Err(StepError::Step(format!(
            "\"{user}\" is not assigned in the `{block}` block"
        ))),
    }
}

/// The person is deleted in the IdP: gone from the directory (group member lists keep the
/// name, as a directory export may).
#[when(regex = r#"^in the IdP, "([^"]+)" is deleted$"#)]
fn deleted(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let provisioning = world.provisioning_mut()?;
    let before = provisioning.directory.users.len();
    provisioning
        .directory
        .users
        .retain(|person| person.key != user);
    if provisioning.directory.users.len() == before {
        return Err(no_user(&user));
    }
    Ok(())
}

/// Marks the person soft-deleted at the simulated now, in the attribute the persona's
/// `soft_delete_attribute` knob names (Entra's `deletedDateTime`: personas.md §1.1
/// "Deactivate, reactivate, delete").
#[when(regex = r#"^in the IdP, "([^"]+)" is soft-deleted$"#)]
fn soft_deleted(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    let attribute = provisioning
        .persona
        .scim
        .soft_delete_attribute
        .as_ref()
        .map(|knob| knob.value.clone())
        .ok_or_else(|| {
            StepError::Step(format!(
                "{} has no soft delete",
                provisioning.persona.display_name
            ))
        })?;
    let now = Value::String(provisioning.options.now.to_rfc3339());
    set_user_attribute(world, &user, &attribute, now)
}

/// Advances the scenario's simulated clock.
#[when(regex = r"^(\d+) days? pass(?:es)?$")]
fn days_pass(world: &mut ScimWorld, days: u64) -> Result<(), StepError> {
    if days > MAX_DAYS {
        return Err(StepError::Step(format!(
            "at most {MAX_DAYS} days can pass in a step"
        )));
    }
    world.provisioning_mut()?.options.now += Duration::from_secs(days * 86_400);
    Ok(())
}

#[when(regex = r#"^in the IdP, the group "([^"]+)" is renamed to "([^"]+)"$"#)]
fn group_renamed(world: &mut ScimWorld, group: String, name: String) -> Result<(), StepError> {
    let unique = world.unique().to_owned();
    let provisioning = world.provisioning_mut()?;
    let block = provisioning.persona.directory_block.clone();
    let attribute = group_name_attribute(&block).ok_or_else(|| {
        StepError::Step(format!(
            "the name attribute of groups in the `{block}` block is not known"
        ))
    })?;
    let attributes = group_mut(provisioning, &group)?
        .blocks
        .get_mut(&block)
        .ok_or_else(|| StepError::Step(format!("the group \"{group}\" has no `{block}` block")))?;
    attributes.set(attribute, Value::String(unique_group_name(&name, &unique)));
    Ok(())
}

#[when(regex = r#"^in the IdP, "([^"]+)" (joins|leaves) the group "([^"]+)"$"#)]
fn membership_changes(
    world: &mut ScimWorld,
    user: String,
    change: String,
    group: String,
) -> Result<(), StepError> {
    let provisioning = world.provisioning_mut()?;
    if provisioning.directory.user(&user).is_none() {
        return Err(no_user(&user));
    }
    let members = &mut group_mut(provisioning, &group)?.members;
    let is_member = members.contains(&user);
    match (change.as_str(), is_member) {
        ("joins", false) => members.push(user),
        ("leaves", true) => members.retain(|member| *member != user),
        _ => {
            return Err(StepError::Step(format!(
                "\"{user}\" cannot {} the group \"{group}\": {} a member",
                change.trim_end_matches('s'),
                if is_member { "already" } else { "not" }
            )));
        }
    }
    Ok(())
}

#[when(regex = r#"^in the IdP, the group "([^"]+)" is deleted$"#)]
fn group_deleted(world: &mut ScimWorld, group: String) -> Result<(), StepError> {
    let groups = &mut world.provisioning_mut()?.directory.groups;
    let before = groups.len();
    groups.retain(|candidate| candidate.key != group);
    if groups.len() == before {
        return Err(no_group(&group));
    }
    Ok(())
}

/// Runs a cycle; an operation the target refused fails the step with the target's answer.
#[given("the IdP has run a provisioning cycle")]
#[when("the IdP runs a provisioning cycle")]
async fn runs_a_cycle(world: &mut ScimWorld) -> Result<(), StepError> {
    run_cycle(world).await?;
    let report = last_report(world.provisioning()?)?;
    if report.failures.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = report
        .failures
        .iter()
        .map(|failure| {
            let answer = match failure.status {
                Some(status) => format!("answered {status}"),
                None => "got no answer".to_owned(),
            };
            format!(
                "  {}: {} {answer}: {}",
                failure.subject, failure.request, failure.detail
            )
        })
        .collect();
    Err(StepError::Expectation(format!(
        "{} operations of the cycle failed:\n{}",
        report.failures.len(),
        lines.join("\n")
    )))
}

/// The IdP imports what the target holds, page by page (Okta: personas.md §2.1 "Import and
/// pagination").
#[when("the IdP imports the target's users and groups")]
async fn imports(world: &mut ScimWorld) -> Result<(), StepError> {
    let provisioning = world.provisioning_mut()?;
    let report = import(&provisioning.persona, &provisioning.client)
        .await
        .map_err(|error| StepError::Expectation(format!("the import failed: {error}")))?;
    provisioning.last_import = Some(report);
    Ok(())
}

/// Every active user and every group the IdP pushed was read, and the pages agreed with
/// themselves (integer `totalResults`, no page over `count`, no resource twice).
#[then("the import read every active user and group the IdP pushed, without paging problems")]
fn import_is_complete(world: &mut ScimWorld) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    let report = provisioning
        .last_import
        .as_ref()
        .ok_or_else(|| StepError::Step("no import ran in this scenario".into()))?;
    let mut problems = report.problems.clone();
    let users: std::collections::BTreeSet<&str> =
        report.users.iter().map(|(id, _)| id.as_str()).collect();
    for (key, user) in &provisioning.state.users {
        let active = user.pushed.get("active") != Some(Value::Bool(false));
        if active && !users.contains(user.id.as_str()) {
            problems.push(format!("the user {key} ({}) was not read", user.id));
        }
    }
    let groups: std::collections::BTreeSet<&str> =
        report.groups.iter().map(|(id, _)| id.as_str()).collect();
    for (key, group) in &provisioning.state.groups {
        if !groups.contains(group.id.as_str()) {
            problems.push(format!("the group {key} ({}) was not read", group.id));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "the import ({}):\n  {}",
            report.requests.join(", "),
            problems.join("\n  ")
        )))
    }
}

/// Runs a cycle and keeps its outcome, even when it cannot run at all.
#[when("the IdP tries to run a provisioning cycle")]
async fn tries_a_cycle(world: &mut ScimWorld) -> Result<(), StepError> {
    run_cycle(world).await
}

/// Google Workspace has no generic SCIM connector (personas.md §4.1).
#[then("the IdP refuses because it pushes no SCIM")]
fn refuses(world: &mut ScimWorld) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    match &provisioning.last_cycle {
        Some(Err(CycleError::NoScimPush { .. })) => {}
        Some(Err(other)) => {
            return Err(StepError::Expectation(format!(
                "the cycle failed, but not because the IdP pushes no SCIM: {other}"
            )));
        }
        Some(Ok(report)) => {
            return Err(StepError::Expectation(format!(
                "the IdP ran the cycle: {}",
                summary(report)
            )));
        }
        None => return Err(no_cycle()),
    }
    no_requests_sent(&provisioning.last_cycle_exchanges(), "")
}

#[then(
    regex = r"^the last cycle (created|linked|updated|deactivated|reactivated|deleted) (\d+) users?$"
)]
fn user_count(world: &mut ScimWorld, action: String, expected: usize) -> Result<(), StepError> {
    let report = last_report(world.provisioning()?)?;
    let actual = match action.as_str() {
        "created" => report.created,
        "linked" => report.linked,
        "updated" => report.updated,
        "deactivated" => report.deactivated,
        "reactivated" => report.reactivated,
        _ => report.deleted,
    };
    check_count(report, &action, "users", expected, actual)
}

#[then(regex = r"^the last cycle (created|updated|deleted) (\d+) groups?$")]
fn group_count(world: &mut ScimWorld, action: String, expected: usize) -> Result<(), StepError> {
    let report = last_report(world.provisioning()?)?;
    let actual = match action.as_str() {
        "created" => report.groups_created,
        "updated" => report.groups_updated,
        _ => report.groups_deleted,
    };
    check_count(report, &action, "groups", expected, actual)
}

#[then("the last cycle sent no requests")]
fn sent_no_requests(world: &mut ScimWorld) -> Result<(), StepError> {
    no_requests_sent(&world.provisioning()?.last_cycle_exchanges(), "")
}

#[then(regex = r"^the last cycle sent no (POST|PUT|PATCH|DELETE)$")]
fn sent_no_method(world: &mut ScimWorld, method: String) -> Result<(), StepError> {
    let sent: Vec<Exchange> = world
        .provisioning()?
        .last_cycle_exchanges()
        .into_iter()
        .filter(|exchange| exchange.method == method)
        .collect();
    no_requests_sent(&sent, &format!(" {method}"))
}

#[then(regex = r"^the last cycle sent no (POST|PUT|PATCH|DELETE) for (users|groups)$")]
fn sent_no_method_for(
    world: &mut ScimWorld,
    method: String,
    resources: String,
) -> Result<(), StepError> {
    let endpoint = if resources == "users" {
        "Users"
    } else {
        "Groups"
    };
    let base = world.target()?.base_url().to_owned();
    let sent: Vec<Exchange> = world
        .provisioning()?
        .last_cycle_exchanges()
        .into_iter()
        .filter(|exchange| {
            exchange.method == method && endpoint_of(&exchange.url, &base) == Some(endpoint)
        })
        .collect();
    no_requests_sent(&sent, &format!(" {method} for {resources}"))
}

/// The spelling of PATCH `op`s (personas.md §1.1 "Update user": Entra capitalises them
/// unless the tenant URL carries `aadOptscim062020`).
#[then(regex = r#"^every PATCH of the last cycle used the op "([^"]+)"$"#)]
fn every_patch_op(world: &mut ScimWorld, op: String) -> Result<(), StepError> {
    let operations = patch_operations(&world.provisioning()?.last_cycle_exchanges())?;
    let others: Vec<String> = operations
        .iter()
        .filter_map(|operation| operation.get("op"))
        .filter(|used| used.as_str() != Some(op.as_str()))
        .map(Value::to_string)
        .collect();
    if others.is_empty() {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected every PATCH op to be \"{op}\", the last cycle also used {}",
            others.join(", ")
        )))
    }
}

/// How a PATCH writes `active` (personas.md §1.1 "Deactivate": Entra sends the string
/// "False" unless the tenant URL carries `aadOptscim062020`).
#[then(regex = r#"^the last cycle sent "active" as the string "([^"]*)"$"#)]
fn active_as_string(world: &mut ScimWorld, text: String) -> Result<(), StepError> {
    check_active_sent(world, &Value::String(text))
}

#[then(regex = r#"^the last cycle sent "active" as the boolean (true|false)$"#)]
fn active_as_boolean(world: &mut ScimWorld, flag: bool) -> Result<(), StepError> {
    check_active_sent(world, &Value::Bool(flag))
}

/// Rewrites `directory` for one scenario so that scenarios running at once against one
/// target never share a userName or a group name: every string ending in `@acme.test` or
/// `@acme.onmicrosoft.com` (any case) gets the unique value as a subdomain
/// (`adele@{unique}.acme.test`; the local part keeps its case), JumpCloud usernames without `@` get `.{unique}` appended, and group
/// names get ` {unique}` appended. Ids (`objectId`, `id`) stay as they are.
fn make_unique(directory: &mut Directory, unique: &str) {
    for user in &mut directory.users {
        for (block, attributes) in &mut user.blocks {
            attributes.edit(|attributes| {
                for (attribute, value) in attributes.iter_mut() {
                    unique_user_value(block, attribute, value, unique);
                }
            });
        }
    }
    for group in &mut directory.groups {
        for (block, attributes) in &mut group.blocks {
            let name_attribute = group_name_attribute(block);
            attributes.edit(|attributes| {
                for (attribute, value) in attributes.iter_mut() {
                    match value {
                        Value::String(name) if name_attribute == Some(attribute.as_str()) => {
                            *name = unique_group_name(name, unique);
                        }
                        _ => unique_domains(value, unique),
                    }
                }
            });
        }
    }
}

/// A group name of the scenario: `name` with the scenario's unique value appended.
pub(crate) fn unique_group_name(name: &str, unique: &str) -> String {
    format!("{name} {unique}")
}

/// The native attribute holding a group's name in a directory block.
fn group_name_attribute(block: &str) -> Option<&'static str> {
    match block {
        "entra" | "generic" => Some("displayName"),
        "okta" | "jumpcloud" | "google" => Some("name"),
        _ => None,
    }
}

/// The last cycle's report, or a failure saying why there is none.
fn last_report(provisioning: &Provisioning) -> Result<&CycleReport, StepError> {
    match &provisioning.last_cycle {
        Some(Ok(report)) => Ok(report),
        Some(Err(error)) => Err(StepError::Expectation(format!(
            "the last cycle could not run: {error}"
        ))),
        None => Err(no_cycle()),
    }
}

/// A failure naming a person the directory does not have.
pub(crate) fn no_user(user: &str) -> StepError {
    StepError::Step(format!("the directory has no user \"{user}\""))
}

/// A failure naming a group the directory does not have.
pub(crate) fn no_group(group: &str) -> StepError {
    StepError::Step(format!("the directory has no group \"{group}\""))
}

/// One value of a person's block, made unique (see [`make_unique`]).
fn unique_user_value(block: &str, attribute: &str, value: &mut Value, unique: &str) {
    unique_domains(value, unique);
    if block == "jumpcloud"
        && attribute == "username"
        && let Value::String(username) = value
        && !username.contains('@')
    {
        username.push('.');
        username.push_str(unique);
    }
}

/// Rewrites every string in `value` (nested ones included) that ends in one of [`DOMAINS`].
fn unique_domains(value: &mut Value, unique: &str) {
    match value {
        Value::String(text) => {
            if let Some(rewritten) = unique_domain(text, unique) {
                *text = rewritten;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| unique_domains(item, unique)),
        Value::Object(members) => members
            .values_mut()
            .for_each(|member| unique_domains(member, unique)),
        _ => {}
    }
}

fn unique_domain(text: &str, unique: &str) -> Option<String> {
    DOMAINS.iter().find_map(|domain| {
        let cut = text.len().checked_sub(domain.len() + 1)?;
        let (local, suffix) = (text.get(..cut)?, text.get(cut..)?);
        suffix
            .strip_prefix('@')
            .filter(|found| found.eq_ignore_ascii_case(domain))
            .map(|_| format!("{local}@{unique}.{domain}"))
    })
}

/// The directories read so far, by name: each scenario starts from a copy, so a file is
/// parsed once per run and the scenarios running at once are not held up by it.
static DIRECTORIES: Mutex<BTreeMap<String, Directory>> = Mutex::new(BTreeMap::new());

/// A fresh copy of the directory `fixtures/directories/{name}.yaml`.
fn load_directory(name: &str) -> Result<Directory, StepError> {
    let mut loaded = DIRECTORIES
        .lock()
        .map_err(|_| StepError::Step("a scenario failed while reading a directory".into()))?;
    if let Some(directory) = loaded.get(name) {
        return Ok(directory.clone());
    }
    let path = fixtures_dir()
        .join("directories")
        .join(format!("{name}.yaml"));
    let directory = Directory::load(&path).map_err(step_error)?;
    loaded.insert(name.to_owned(), directory.clone());
    Ok(directory)
}

/// Starts the scenario's IdP. On the bundled reference SP it provisions an organization of its
/// own, whose token the scenario then uses: concurrent scenarios never see each other's users,
/// whose ids (`objectId`, Okta's `id`) are the directory's and so shared.
async fn start(
    world: &mut ScimWorld,
    name: &str,
    mut directory: Directory,
) -> Result<(), StepError> {
    let organization = match world.reference_sp() {
        Ok(sp) => {
            let organization = sp
                .create_organization(&format!("{name} {}", world.unique()))
                .await?;
            world.use_credentials(Credentials::Bearer(organization.token.clone()));
            Some(organization)
        }
        Err(_) => None,
    };
    let persona = PersonaCatalog::open(&fixtures_dir().join("personas"))
        .and_then(|catalog| catalog.load(name))
        .map_err(step_error)?
        .persona;
    // The directory's own mappings for the persona's block, as the cycle applies them, so the
    // checks read the rules the IdP used.
    let persona = persona.for_directory(&directory).map_err(StepError::Step)?;
    make_unique(&mut directory, world.unique());
    let target = world.target()?;
    let token = organization
        .as_ref()
        .map_or(target.token(), |organization| organization.token.as_str());
    let state = ProvisioningState::new(&persona.name, target.base_url());
    let transcript = Transcript::default();
    let client = ScimClient::new(
        &persona,
        target.base_url(),
        token,
        Arc::new(SimulatedPause::default()),
        Some(transcript.clone()),
    )
    .map_err(|error| StepError::Step(format!("cannot build the SCIM client: {error}")))?;
    let options = CycleOptions {
        concurrency: CONCURRENCY,
        now: parse_time(START)?,
        seed: seed_of(world.unique()),
        test_object_stem: Some(world.unique().to_owned()),
        test_user_email: None,
    };
    world.start_provisioning(Provisioning {
        persona,
        directory,
        state,
        options,
        client,
        last_cycle: None,
        transcript,
        last_cycle_start: 0,
        user_ids: BTreeMap::new(),
        group_ids: BTreeMap::new(),
        organization: organization.map(|organization| organization.id),
        last_import: None,
    });
    Ok(())
}

fn parse_time<T>(text: &str) -> Result<T, StepError>
where
    T: FromStr,
    T::Err: Display,
{
    text.parse()
        .map_err(|error| StepError::Step(format!("`{text}` is not a time: {error}")))
}

/// The seed of the values the persona makes up (JumpCloud's test user, Okta's passwords):
/// one per scenario, so concurrent scenarios never make up the same userName.
fn seed_of(unique: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    unique.hash(&mut hasher);
    hasher.finish()
}

/// Sets `attribute` (dotted for nested ones) of `user` in the persona's block, with the
/// value made unique as the directory was.
fn set_user_attribute(
    world: &mut ScimWorld,
    user: &str,
    attribute: &str,
    mut value: Value,
) -> Result<(), StepError> {
    let unique = world.unique().to_owned();
    let provisioning = world.provisioning_mut()?;
    let block = provisioning.persona.directory_block.clone();
    unique_user_value(&block, attribute, &mut value, &unique);
    let attributes = provisioning
        .directory
        .users
        .iter_mut()
        .find(|person| person.key == user)
        .ok_or_else(|| no_user(user))?
        .blocks
        .get_mut(&block)
        .ok_or_else(|| {
            StepError::Step(format!("\"{user}\" is not assigned in the `{block}` block"))
        })?;
    attributes.edit(|attributes| {
        let mut parts: Vec<&str> = attribute.split('.').collect();
        let last = parts.pop().unwrap_or(attribute);
        let mut container: &mut Map<String, Value> = attributes;
        for part in parts {
            let slot = container
                .entry(part.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            container = slot.as_object_mut().ok_or_else(|| {
                StepError::Step(format!("`{part}` of \"{user}\" is not an object"))
            })?;
        }
        container.insert(last.to_owned(), value);
        Ok(())
    })
}

fn group_mut<'p>(
    provisioning: &'p mut Provisioning,
    group: &str,
) -> Result<&'p mut idpsim_simulator::directory::DirectoryGroup, StepError> {
    provisioning
        .directory
        .groups
        .iter_mut()
        .find(|candidate| candidate.key == group)
        .ok_or_else(|| no_group(group))
}

/// Runs one cycle at the scenario's simulated now and keeps its outcome.
async fn run_cycle(world: &mut ScimWorld) -> Result<(), StepError> {
    let provisioning = world.provisioning_mut()?;
    provisioning.last_cycle_start = provisioning.transcript.exchanges().len();
    let outcome = ProvisioningCycle::new(
        &provisioning.persona,
        &provisioning.directory,
        &provisioning.client,
        provisioning.options.clone(),
    )
    .run(&mut provisioning.state, &NoProgress)
    .await;
    provisioning.last_cycle = Some(outcome);
    provisioning.remember_ids();
    Ok(())
}

fn check_count(
    report: &CycleReport,
    action: &str,
    resources: &str,
    expected: usize,
    actual: usize,
) -> Result<(), StepError> {
    if expected == actual {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the last cycle to have {action} {expected} {resources}, it {action} {actual}: {}",
            summary(report)
        )))
    }
}

/// A one-paragraph account of a cycle, for failure messages.
fn summary(report: &CycleReport) -> String {
    let mut text = format!(
        "users created {}, linked {}, updated {}, deactivated {}, reactivated {}, deleted {}; groups created {}, updated {}, deleted {}",
        report.created,
        report.linked,
        report.updated,
        report.deactivated,
        report.reactivated,
        report.deleted,
        report.groups_created,
        report.groups_updated,
        report.groups_deleted
    );
    for skipped in &report.skipped {
        text.push_str(&format!(
            "; skipped {}: {}",
            skipped.subject, skipped.reason
        ));
    }
    text
}

fn no_requests_sent(sent: &[Exchange], what: &str) -> Result<(), StepError> {
    if sent.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = sent
        .iter()
        .map(|exchange| format!("  {} {}", exchange.method, exchange.url))
        .collect();
    Err(StepError::Expectation(format!(
        "expected no{what} requests, the last cycle sent {}:\n{}",
        sent.len(),
        lines.join("\n")
    )))
}

/// `Users` or `Groups` when `url` is an endpoint of the SCIM service at `base`.
fn endpoint_of<'u>(url: &'u str, base: &str) -> Option<&'u str> {
    let rest = url.strip_prefix(base.trim_end_matches('/'))?;
    let endpoint = rest.strip_prefix('/')?.split(['/', '?']).next()?;
    ["Users", "Groups"]
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(endpoint))
}

/// The operations of every PATCH the last cycle sent; a failure when it sent none.
fn patch_operations(exchanges: &[Exchange]) -> Result<Vec<Map<String, Value>>, StepError> {
    let bodies: Vec<Value> = exchanges
        .iter()
        .filter(|exchange| exchange.method == "PATCH")
        .filter_map(|exchange| exchange.request_body.as_deref())
        .filter_map(|body| serde_json::from_str(body).ok())
        .collect();
    if bodies.is_empty() {
        return Err(StepError::Expectation(
            "the last cycle sent no PATCH with a JSON body".into(),
        ));
    }
    Ok(bodies
        .iter()
        .filter_map(|body| body.get("Operations").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_object)
        .cloned()
        .collect())
}

/// Every value the last cycle's PATCHes wrote to `active` equals `expected`.
fn check_active_sent(world: &ScimWorld, expected: &Value) -> Result<(), StepError> {
    let operations = patch_operations(&world.provisioning()?.last_cycle_exchanges())?;
    let sent: Vec<&Value> = operations
        .iter()
        .filter_map(|operation| {
            let value = operation.get("value")?;
            match operation.get("path").and_then(Value::as_str) {
                Some(path) if path.eq_ignore_ascii_case("active") => Some(value),
                Some(_) => None,
                None => idpsim_scim::schema::get_ignore_case(value.as_object()?, "active"),
            }
        })
        .collect();
    if sent.is_empty() {
        return Err(StepError::Expectation(
            "no PATCH of the last cycle wrote `active`".into(),
        ));
    }
    match sent.iter().find(|value| *value != &expected) {
        None => Ok(()),
        Some(other) => Err(StepError::Expectation(format!(
            "expected `active` to be sent as {expected}, the last cycle sent {other}"
        ))),
    }
}

fn no_cycle() -> StepError {
    StepError::Step("no provisioning cycle has run in this scenario yet".into())
}

fn step_error(error: impl Display) -> StepError {
    StepError::Step(error.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const UNIQUE: &str = "t0123456789";

    fn acme() -> Directory {
        Directory::load(&fixtures_dir().join("directories/acme.yaml")).unwrap()
    }

    fn user_block(directory: &Directory, key: &str, block: &str) -> Map<String, Value> {
        directory.user(key).unwrap().blocks[block].attributes()
    }

    #[test]
    fn make_unique_rewrites_domains_usernames_and_group_names_but_not_ids() {
        let original = acme();
        let mut directory = original.clone();
        make_unique(&mut directory, UNIQUE);

        let adele = user_block(&directory, "adele", "entra");
        assert_eq!(
            adele["userPrincipalName"],
            "adele.vance@t0123456789.acme.test"
        );
        assert_eq!(adele["mail"], "adele.vance@t0123456789.acme.test");
        assert_eq!(
            adele["objectId"],
            user_block(&original, "adele", "entra")["objectId"]
        );
        assert_eq!(adele["displayName"], "Adele Vance");
        assert_eq!(
            user_block(&directory, "lynne", "entra")["userPrincipalName"],
            "LYNNE.ROBBINS@t0123456789.acme.test"
        );
        assert_eq!(
            user_block(&directory, "pat", "entra")["userPrincipalName"],
            "pat_partner.example#EXT#@t0123456789.acme.onmicrosoft.com"
        );
        assert_eq!(
            user_block(&directory, "pat", "entra")["mail"],
            "pat@partner.example"
        );
        assert_eq!(
            user_block(&directory, "nestor", "okta")["login"],
            "nestor+scim@t0123456789.acme.test"
        );
        assert_eq!(
            user_block(&directory, "megan", "entra")["otherMails"],
            serde_json::json!(["megan.bowen@personal.example", "mbowen@acme-legacy.test"])
        );

        let jumpcloud = user_block(&directory, "adele", "jumpcloud");
        assert_eq!(jumpcloud["username"], "avance.t0123456789");
        assert_eq!(jumpcloud["email"], "adele.vance@t0123456789.acme.test");
        assert_eq!(
            jumpcloud["id"],
            user_block(&original, "adele", "jumpcloud")["id"]
        );

        let sales = directory
            .groups
            .iter()
            .find(|group| group.key == "sales")
            .unwrap();
        assert_eq!(
            sales.blocks["entra"].attributes()["displayName"],
            "Sales t0123456789"
        );
        assert_eq!(
            sales.blocks["okta"].attributes()["name"],
            "Sales t0123456789"
        );
        assert_eq!(
            sales.blocks["jumpcloud"].attributes()["name"],
            "Sales t0123456789"
        );
        assert_eq!(
            sales.blocks["generic"].attributes()["displayName"],
            "Sales t0123456789"
        );
        assert_eq!(
            sales.blocks["google"].attributes()["email"],
            "sales@t0123456789.acme.test"
        );
        assert_eq!(
            sales.blocks["entra"].attributes()["objectId"],
            original
                .groups
                .iter()
                .find(|group| group.key == "sales")
                .unwrap()
                .blocks["entra"]
                .attributes()["objectId"]
        );
        assert_eq!(
            sales.members,
            [
                "megan", "jose", "renee", "debra", "diego", "patti", "christie", "alex"
            ]
        );
    }

    #[test]
    fn unique_domain_only_rewrites_the_acme_domains_at_the_end() {
        assert_eq!(
            unique_domain("Ada@Acme.Test", UNIQUE).as_deref(),
            Some("Ada@t0123456789.acme.test")
        );
        assert_eq!(unique_domain("ada@acme.test.example", UNIQUE), None);
        assert_eq!(unique_domain("ada@notacme.test", UNIQUE), None);
        assert_eq!(unique_domain("acme.test", UNIQUE), None);
        assert_eq!(
            unique_domain("美咲@acme.test", UNIQUE).as_deref(),
            Some("美咲@t0123456789.acme.test")
        );
    }

    #[test]
    fn endpoints_are_read_from_urls_under_the_base() {
        let base = "http://127.0.0.1:1/scim/v2";
        assert_eq!(
            endpoint_of("http://127.0.0.1:1/scim/v2/Users/42", base),
            Some("Users")
        );
        assert_eq!(
            endpoint_of("http://127.0.0.1:1/scim/v2/Groups?filter=x", base),
            Some("Groups")
        );
        assert_eq!(endpoint_of("http://127.0.0.1:1/scim/v2/Bulk", base), None);
        assert_eq!(endpoint_of("http://elsewhere/scim/v2/Users", base), None);
    }
}
