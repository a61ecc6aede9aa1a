//! What the target holds after a simulated IdP's cycles, read through SCIM only so the checks
//! hold for any target: every user and group as the persona mapped it, one attribute traced
//! back to the IdP attribute it comes from (seed 003 "Attribute Mappings"; seed 000 for
//! Entra), users' status and deletion, groups' names and members.

use super::provisioning::{no_group, no_user, unique_group_name};
use super::unquote;
use crate::world::{Provisioning, ResourceKind, ScimWorld, StepError};
use cucumber::then;
use idpsim_simulator::mapping::{MappedValue, MappingRule, NativeRecord, map_record, string_form};
use idpsim_simulator::persona::Persona;
use reqwest::Method;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// At most this many differences are listed in one failure.
const SHOWN_DIFFERENCES: usize = 25;

/// Reads every user of the provisioning state at the target and compares each mapped path
/// with what the persona pushed.
#[then("the target holds every provisioned user as the persona mapped it")]
async fn holds_every_user(world: &mut ScimWorld) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    let rules = provisioning.persona.user_rules.clone();
    let users: Vec<_> = provisioning
        .state
        .users
        .iter()
        .map(|(key, user)| (key.clone(), user.id.clone(), user.pushed.values()))
        .collect();
    if users.is_empty() {
        return Err(StepError::Expectation(
            "the IdP has provisioned no user".into(),
        ));
    }
    let mut differences = Vec::new();
    for (key, id, pushed) in users {
        let Some(resource) = read(world, ResourceKind::User, &id).await? else {
            differences.push(format!(
                "user \"{key}\" ({id}) cannot be read at the target"
            ));
            continue;
        };
        compare_rules(
            &rules,
            &resource,
            &pushed,
            &format!("user \"{key}\""),
            &mut differences,
        );
    }
    report_differences(differences, "users")
}

/// Reads every group of the provisioning state at the target: its mapped paths and exactly
/// the members the persona pushed. A member id of a user the IdP deleted is ignored: the
/// personas delete users without touching their groups, and RFC 7644 §3.6 does not make the
/// server drop a deleted user from the groups that listed it.
#[then("the target holds every provisioned group with its members")]
async fn holds_every_group(world: &mut ScimWorld) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    let rules = provisioning.persona.group_rules.clone();
    let current: BTreeSet<&String> = provisioning
        .state
        .users
        .values()
        .map(|user| &user.id)
        .collect();
    let deleted: BTreeSet<String> = provisioning
        .user_ids
        .values()
        .filter(|id| !current.contains(id))
        .cloned()
        .collect();
    let mut groups = Vec::new();
    for (key, group) in &provisioning.state.groups {
        let mut members = BTreeSet::new();
        for member in &group.members {
            let user = provisioning.state.users.get(member).ok_or_else(|| {
                StepError::Expectation(format!(
                    "the group \"{key}\" lists \"{member}\", whom the IdP has not provisioned"
                ))
            })?;
            members.insert(user.id.clone());
        }
        groups.push((key.clone(), group.id.clone(), group.pushed.clone(), members));
    }
    if groups.is_empty() {
        return Err(StepError::Expectation(
            "the IdP has provisioned no group".into(),
        ));
    }
    let mut differences = Vec::new();
    for (key, id, pushed, expected) in groups {
        let Some(resource) = read(world, ResourceKind::Group, &id).await? else {
            differences.push(format!(
                "group \"{key}\" ({id}) cannot be read at the target"
            ));
            continue;
        };
        let subject = format!("group \"{key}\"");
        compare_rules(&rules, &resource, &pushed, &subject, &mut differences);
        let members: BTreeSet<String> = member_ids(&resource)
            .into_iter()
            .filter(|id| !deleted.contains(id))
            .collect();
        if members != expected {
            differences.push(format!(
                "{subject}: the members at the target are {members:?}, expected {expected:?}"
            ));
        }
    }
    report_differences(differences, "groups")
}

/// Traces one SCIM path of a user back to the IdP attribute it comes from: the persona maps
/// the path from `source`, it pushed the native value (coerced to the SCIM type), and the
/// target holds what it pushed.
#[then(
    regex = r#"^the user "([^"]+)" at the target has "((?:[^"\\]|\\.)*)" equal to the IdP attribute "([^"]+)"$"#
)]
async fn mapped_from(
    world: &mut ScimWorld,
    user: String,
    path: String,
    source: String,
) -> Result<(), StepError> {
    let path = unquote(&path);
    let provisioning = world.provisioning()?;
    let persona = &provisioning.persona;
    let rule = persona
        .user_rules
        .iter()
        .find(|rule| rule.target.text == path)
        .cloned()
        .ok_or_else(|| {
            let paths: Vec<&str> = persona
                .user_rules
                .iter()
                .map(|rule| rule.target.text.as_str())
                .collect();
            StepError::Expectation(format!(
                "{} maps nothing to `{path}`; it maps {}",
                persona.name,
                paths.join(", ")
            ))
        })?;
    if !reads(persona, &rule.mapping.value, &source) {
        return Err(StepError::Expectation(format!(
            "{} maps `{path}` from {}, not from `{source}`",
            persona.name,
            describe(&rule.mapping.value)
        )));
    }
    let attributes = user_block(provisioning, &user)?;
    let record = NativeRecord {
        attributes: &attributes,
        computed: &persona.computed,
    };
    let native = record.get(&source).ok_or_else(|| {
        StepError::Expectation(format!("\"{user}\" has no `{source}` in the IdP"))
    })?;
    let native = match &rule.mapping.value {
        MappedValue::Reference(_) => {
            let person = string_form(&native);
            let id = provisioning.state.users.get(&person).ok_or_else(|| {
                StepError::Expectation(format!(
                    "`{source}` of \"{user}\" names \"{person}\", whom the IdP has not provisioned"
                ))
            })?;
            Value::String(id.id.clone())
        }
        _ => native,
    };
    let state =
        provisioning.state.users.get(&user).ok_or_else(|| {
            StepError::Expectation(format!("the IdP has not provisioned \"{user}\""))
        })?;
    let pushed = state.pushed.get(&path).ok_or_else(|| {
        StepError::Expectation(format!("the IdP pushed no `{path}` for \"{user}\""))
    })?;
    if !same_value(&native, &pushed) {
        return Err(StepError::Expectation(format!(
            "the IdP pushed {pushed} as `{path}` of \"{user}\", but its `{source}` is {native}"
        )));
    }
    let id = state.id.clone();
    let Some(resource) = read(world, ResourceKind::User, &id).await? else {
        return Err(world.failure(format!("cannot read the user \"{user}\" at the target")));
    };
    let actual = rule.target.read(&resource);
    if actual.as_ref() == Some(&pushed) {
        Ok(())
    } else {
        Err(world.failure(format!(
            "the user \"{user}\" has `{path}` {} at the target, expected {pushed} (the IdP's `{source}`)",
            shown(actual.as_ref())
        )))
    }
}

#[then(regex = r#"^the user "([^"]+)" is (active|inactive) at the target$"#)]
async fn user_status(world: &mut ScimWorld, user: String, status: String) -> Result<(), StepError> {
    let id = user_id(world.provisioning()?, &user)?;
    let Some(resource) = read(world, ResourceKind::User, &id).await? else {
        return Err(world.failure(format!("cannot read the user \"{user}\" at the target")));
    };
    let expected = Value::Bool(status == "active");
    let active = idpsim_scim::schema::get_ignore_case(&resource, "active");
    if active == Some(&expected) {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected the user \"{user}\" to be {status} at the target, its `active` is {}",
            shown(active)
        )))
    }
}

/// The IdP deleted the user: it left the provisioning state and the target answers 404.
#[then(regex = r#"^the user "([^"]+)" no longer exists at the target$"#)]
async fn user_gone(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    if let Some(state) = provisioning.state.users.get(&user) {
        return Err(StepError::Expectation(format!(
            "the IdP still holds \"{user}\" as provisioned (id {})",
            state.id
        )));
    }
    let id = user_id(provisioning, &user)?;
    check_gone(world, ResourceKind::User, &user, &id).await
}

/// The IdP never created the user, and the target has no user of its mapped userName.
#[then(regex = r#"^the user "([^"]+)" was not provisioned$"#)]
async fn not_provisioned(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    if let Some(id) = provisioning.user_ids.get(&user) {
        return Err(StepError::Expectation(format!(
            "the IdP provisioned \"{user}\" as {id}"
        )));
    }
    let persona = &provisioning.persona;
    let attributes = user_block(provisioning, &user)?;
    let record = NativeRecord {
        attributes: &attributes,
        computed: &persona.computed,
    };
    let mapped = map_record(&persona.user_rules, record, &|_| None)
        .map_err(|error| StepError::Expectation(format!("\"{user}\" cannot be mapped: {error}")))?;
    let user_name = mapped
        .get("userName")
        .and_then(Value::as_str)
        .ok_or_else(|| StepError::Expectation(format!("\"{user}\" maps to no userName")))?
        .to_owned();
    let filter = format!(
        "userName eq \"{}\"",
        user_name.replace('\\', "\\\\").replace('"', "\\\"")
    );
    // A persona that reads a 404 as "no match" (Okta, personas.md §2.1) accepts it here too.
    let not_found_is_none = persona.scim.lookup_404_is_no_match.value;
    world
        .send_query("/Users", &[("filter".to_owned(), filter)])
        .await?;
    if not_found_is_none && world.last()?.status == 404 {
        return Ok(());
    }
    let found = world
        .last()?
        .json
        .as_ref()
        .and_then(|json| json.get("totalResults"))
        .and_then(Value::as_u64);
    if world.last()?.status == 200 && found == Some(0) {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected no user named \"{user_name}\" (\"{user}\") at the target"
        )))
    }
}

#[then(regex = r#"^the group "([^"]+)" is named "([^"]+)" at the target$"#)]
async fn group_named(world: &mut ScimWorld, group: String, name: String) -> Result<(), StepError> {
    let id = group_id(world.provisioning()?, &group)?;
    let expected = Value::String(unique_group_name(&name, world.unique()));
    let Some(resource) = read(world, ResourceKind::Group, &id).await? else {
        return Err(world.failure(format!("cannot read the group \"{group}\" at the target")));
    };
    let actual = idpsim_scim::schema::get_ignore_case(&resource, "displayName");
    if actual == Some(&expected) {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected the group \"{group}\" to be named {expected} at the target, it is named {}",
            shown(actual)
        )))
    }
}

#[then(regex = r#"^at the target, "([^"]+)" is (a member|not a member) of the group "([^"]+)"$"#)]
async fn membership(
    world: &mut ScimWorld,
    user: String,
    relation: String,
    group: String,
) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    let user_id = user_id(provisioning, &user)?;
    let id = group_id(provisioning, &group)?;
    let Some(resource) = read(world, ResourceKind::Group, &id).await? else {
        return Err(world.failure(format!("cannot read the group \"{group}\" at the target")));
    };
    let expected = relation == "a member";
    if member_ids(&resource).contains(&user_id) == expected {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected \"{user}\" ({user_id}) to be {relation} of the group \"{group}\" at the target"
        )))
    }
}

#[then(regex = r#"^the group "([^"]+)" no longer exists at the target$"#)]
async fn group_gone(world: &mut ScimWorld, group: String) -> Result<(), StepError> {
    let provisioning = world.provisioning()?;
    if let Some(state) = provisioning.state.groups.get(&group) {
        return Err(StepError::Expectation(format!(
            "the IdP still holds the group \"{group}\" as provisioned (id {})",
            state.id
        )));
    }
    let id = group_id(provisioning, &group)?;
    check_gone(world, ResourceKind::Group, &group, &id).await
}

/// GETs the resource; `None` unless the target answers 200 with a JSON object.
async fn read(
    world: &mut ScimWorld,
    kind: ResourceKind,
    id: &str,
) -> Result<Option<Map<String, Value>>, StepError> {
    let path = format!("{}/{id}", kind.endpoint());
    let last = world.send_expanded(Method::GET, &path, None).await?;
    Ok(match (last.status, &last.json) {
        (200, Some(Value::Object(resource))) => Some(resource.clone()),
        _ => None,
    })
}

async fn check_gone(
    world: &mut ScimWorld,
    kind: ResourceKind,
    name: &str,
    id: &str,
) -> Result<(), StepError> {
    let path = format!("{}/{id}", kind.endpoint());
    let status = world.send_expanded(Method::GET, &path, None).await?.status;
    if status == 404 {
        Ok(())
    } else {
        Err(world.failure(format!(
            "expected the {kind:?} \"{name}\" ({id}) to be gone from the target (404)"
        )))
    }
}

/// Compares the value at every rule's path in `resource` with what was pushed there.
fn compare_rules(
    rules: &[MappingRule],
    resource: &Map<String, Value>,
    pushed: &idpsim_simulator::mapping::MappedValues,
    subject: &str,
    differences: &mut Vec<String>,
) {
    for rule in rules {
        let path = &rule.target.text;
        let expected = pushed.get(path);
        let actual = rule.target.read(resource);
        if actual.as_ref() != expected {
            differences.push(format!(
                "{subject}: `{path}` is {} at the target, expected {}",
                shown(actual.as_ref()),
                shown(expected)
            ));
        }
    }
}

fn report_differences(differences: Vec<String>, what: &str) -> Result<(), StepError> {
    if differences.is_empty() {
        return Ok(());
    }
    let mut text = format!(
        "the target does not hold the provisioned {what} as the persona pushed them ({} differences):",
        differences.len()
    );
    for difference in differences.iter().take(SHOWN_DIFFERENCES) {
        text.push_str("\n  ");
        text.push_str(difference);
    }
    if differences.len() > SHOWN_DIFFERENCES {
        text.push_str(&format!(
            "\n  … and {} more",
            differences.len() - SHOWN_DIFFERENCES
        ));
    }
    Err(StepError::Expectation(text))
}

/// The `value`s of a group's `members` (absent means none, RFC 7643 §2.5).
fn member_ids(resource: &Map<String, Value>) -> BTreeSet<String> {
    idpsim_scim::schema::get_ignore_case(resource, "members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|member| member.get("value").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Whether a mapping reads `source`, directly or through one of the persona's computed
/// attributes (Entra's `active` reads `IsSoftDeleted`, which reads `accountEnabled`).
fn reads(persona: &Persona, value: &MappedValue, source: &str) -> bool {
    let names: Vec<&str> = match value {
        MappedValue::Native(name) | MappedValue::Reference(name) => vec![name.as_str()],
        MappedValue::Expression(expression) => expression.attributes(),
        MappedValue::Constant(_) => Vec::new(),
    };
    names.iter().any(|name| {
        *name == source
            || persona
                .computed
                .get(*name)
                .is_some_and(|computed| computed.expression.attributes().contains(&source))
    })
}

fn describe(value: &MappedValue) -> String {
    match value {
        MappedValue::Native(name) => format!("`{name}`"),
        MappedValue::Reference(name) => format!("the person named by `{name}`"),
        MappedValue::Expression(expression) => format!("`{expression}`"),
        MappedValue::Constant(constant) => format!("the constant {constant}"),
    }
}

/// Whether a pushed SCIM value is the native value as the persona coerces it: the first
/// element of a list (Entra's `businessPhones`), booleans as `true`/`false` in any case,
/// anything else by its string form.
fn same_value(native: &Value, pushed: &Value) -> bool {
    let native = match native {
        Value::Array(items) => match items.iter().find(|item| !item.is_null()) {
            Some(first) => first,
            None => return false,
        },
        other => other,
    };
    match (pushed, native) {
        (Value::Bool(flag), Value::Bool(native)) => flag == native,
        (Value::Bool(flag), Value::String(text)) => text.eq_ignore_ascii_case(&flag.to_string()),
        (Value::Bool(_), _) => false,
        _ => string_form(native) == string_form(pushed),
    }
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "absent".to_owned(), Value::to_string)
}

fn user_block(provisioning: &Provisioning, user: &str) -> Result<Map<String, Value>, StepError> {
    let block = &provisioning.persona.directory_block;
    provisioning
        .directory
        .user(user)
        .ok_or_else(|| no_user(user))?
        .blocks
        .get(block)
        .map(|attributes| attributes.attributes())
        .ok_or_else(|| {
            StepError::Step(format!("\"{user}\" is not assigned in the `{block}` block"))
        })
}

/// The target id the user had in this scenario.
fn user_id(provisioning: &Provisioning, user: &str) -> Result<String, StepError> {
    provisioning.user_ids.get(user).cloned().ok_or_else(|| {
        if provisioning.directory.user(user).is_none() {
            no_user(user)
        } else {
            StepError::Expectation(format!(
                "the IdP has not provisioned \"{user}\" in this scenario"
            ))
        }
    })
}

/// The target id the group had in this scenario.
fn group_id(provisioning: &Provisioning, group: &str) -> Result<String, StepError> {
    provisioning.group_ids.get(group).cloned().ok_or_else(|| {
        if provisioning
            .directory
            .groups
            .iter()
            .any(|candidate| candidate.key == group)
        {
            StepError::Expectation(format!(
                "the IdP has not provisioned the group \"{group}\" in this scenario"
            ))
        } else {
            no_group(group)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pushed_values_match_native_values_as_the_persona_coerces_them() {
        assert!(same_value(
            &json!(["+1 206 555 0130"]),
            &json!("+1 206 555 0130")
        ));
        assert!(same_value(&json!(true), &json!(true)));
        assert!(same_value(&json!("True"), &json!(true)));
        assert!(!same_value(&json!("ACTIVE"), &json!(true)));
        assert!(same_value(&json!(42), &json!("42")));
        assert!(!same_value(&json!([]), &json!("x")));
        assert!(!same_value(&json!("Seattle"), &json!("Boston")));
    }
}
