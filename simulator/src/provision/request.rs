//! The persona's SCIM requests, built as plain data from its knobs: lookups, create bodies,
//! PATCH operations in its casing and boolean form, PUT bodies, group membership batches.
//!
//! Pure functions, so each persona's wire shapes are pinned by snapshot tests without a
//! socket (personas.md §1.1, §2.1, §3.1, §5).

use crate::mapping::{MappedValues, MappingRule, TargetPath};
use crate::persona::{
    GroupRename, MemberRemove, MemberValue, MultiAttributePatch, OpCasing, Persona, ScimDialect,
};
use idpsim_scim::filter::CompValue;
use idpsim_scim::patch::PATCH_OP_SCHEMA;
use idpsim_scim::uri::encode_component;
use serde_json::{Map, Value, json};

/// An HTTP method the provisioning client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One SCIM request, relative to the target's base URL.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScimRequest {
    /// The method.
    pub method: Method,
    /// The path below the base URL, e.g. `/Users/2819c223`.
    pub path: String,
    /// Query parameters, in the order sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    /// The JSON body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl ScimRequest {
    fn new(method: Method, path: String) -> ScimRequest {
        ScimRequest {
            method,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    fn with_body(mut self, body: Value) -> ScimRequest {
        self.body = Some(body);
        self
    }
}

/// A PATCH operation kind, spelled by the persona's casing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// add
    Add,
    /// replace
    Replace,
    /// remove
    Remove,
}

/// `op` as the persona spells it (`Replace` for Entra without the flag: personas.md §1.1).
pub fn op_name(dialect: &ScimDialect, op: Op) -> &'static str {
    match (dialect.op_casing.value, op) {
        (OpCasing::Lower, Op::Add) => "add",
        (OpCasing::Lower, Op::Replace) => "replace",
        (OpCasing::Lower, Op::Remove) => "remove",
        (OpCasing::Capitalized, Op::Add) => "Add",
        (OpCasing::Capitalized, Op::Replace) => "Replace",
        (OpCasing::Capitalized, Op::Remove) => "Remove",
    }
}

/// `"userName eq \"value\""` with the value escaped as the filter grammar requires.
pub fn equality_filter(attribute: &str, value: &str) -> String {
    format!("{attribute} eq {}", CompValue::String(value.to_owned()))
}

/// The lookup before a create: `GET /Users?filter=userName eq "..."` (personas.md §6.4,
/// "probe filter before create"), with Okta's paging when the persona sends it.
pub fn user_lookup(dialect: &ScimDialect, value: &str) -> ScimRequest {
    let mut request = ScimRequest::new(Method::Get, "/Users".into());
    request.query.push((
        "filter".into(),
        equality_filter(&dialect.lookup_attribute, value),
    ));
    push_paging(dialect, &mut request);
    request
}

/// The group lookup by `displayName` (personas.md §1.1 "Groups", §2.1 "Groups").
pub fn group_lookup(dialect: &ScimDialect, display_name: &str) -> ScimRequest {
    let mut request = ScimRequest::new(Method::Get, "/Groups".into());
    if dialect.group_lookup_excludes_members.value {
        request
            .query
            .push(("excludedAttributes".into(), "members".into()));
    }
    request.query.push((
        "filter".into(),
        equality_filter("displayName", display_name),
    ));
    push_paging(dialect, &mut request);
    request
}

fn push_paging(dialect: &ScimDialect, request: &mut ScimRequest) {
    if let Some(count) = &dialect.lookup_page_size {
        request.query.push(("startIndex".into(), "1".into()));
        request
            .query
            .push(("count".into(), count.value.to_string()));
    }
}

/// A list request with paging: `GET /Users?startIndex=1&count=2` (Okta's test connection).
pub fn list(resource: &str, count: u32) -> ScimRequest {
    let mut request = ScimRequest::new(Method::Get, format!("/{resource}"));
    request.query.push(("startIndex".into(), "1".into()));
    request.query.push(("count".into(), count.to_string()));
    request
}

/// `GET /{resource}/{id}`.
pub fn get(resource: &str, id: &str) -> ScimRequest {
    ScimRequest::new(Method::Get, format!("/{resource}/{}", encode_component(id)))
}

/// `DELETE /{resource}/{id}`.
pub fn delete(resource: &str, id: &str) -> ScimRequest {
    ScimRequest::new(
        Method::Delete,
        format!("/{resource}/{}", encode_component(id)),
    )
}

/// The body of a user create: the persona's schemas, the mapped values (references are
/// sent later, once the referenced user exists: personas.md §1.1 "Create user" step 3), its
/// constant extras, and a random password when it sends one.
pub fn create_user(
    persona: &Persona,
    mapped: &MappedValues,
    password: Option<&str>,
) -> ScimRequest {
    let mut body = Map::new();
    body.insert("schemas".into(), json!(persona.scim.create_schemas.value));
    for rule in &persona.user_rules {
        if rule.target.complex {
            continue;
        }
        if let Some(value) = mapped.get(&rule.target.text) {
            rule.target
                .write(&mut body, value.clone(), rule.mapping.create_with.as_ref());
        }
    }
    if let Some(extras) = &persona.scim.create_extras {
        for (key, value) in &extras.value {
            body.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    if let Some(password) = password {
        body.insert("password".into(), Value::String(password.to_owned()));
    }
    ScimRequest::new(Method::Post, "/Users".into()).with_body(Value::Object(body))
}

/// The PATCH for a user's profile changes from `before` to `after` (`active` excluded: it is
/// a status change), or `None` when nothing changed.
///
/// One operation per changed path, `Add` for a value that was unset (personas.md §1.1,
/// "Update user": a single added attribute is `Add`), `Replace` for a changed one, `Remove`
/// for a cleared one when the persona sends removals. With `pathless_dotted` the replaced
/// paths without a value filter fold into one path-less `replace`.
pub fn user_profile_patch(
    persona: &Persona,
    id: &str,
    before: &MappedValues,
    after: &MappedValues,
) -> Option<ScimRequest> {
    let dialect = &persona.scim;
    let mut operations = Vec::new();
    let mut folded = Map::new();
    let mut folded_count = 0;
    for rule in profile_rules(persona) {
        let target = &rule.target;
        let old = before.get(&target.text);
        let new = after.get(&target.text);
        match (old, new) {
            (None, Some(value)) => operations.push(path_op(dialect, Op::Add, target, Some(value))),
            (Some(old), Some(value)) if old != value => {
                if dialect.multi_attribute_patch.value == MultiAttributePatch::PathlessDotted
                    && !target.is_filtered()
                {
                    folded.insert(target.dotted_key(), patch_value(dialect, value));
                    folded_count += 1;
                } else {
                    operations.push(path_op(dialect, Op::Replace, target, Some(value)));
                }
            }
            (Some(_), None) if dialect.clears_attributes.value => {
                operations.push(path_op(dialect, Op::Remove, target, None));
            }
            _ => {}
        }
    }
    if folded_count == 1 {
        if let Some((key, value)) = folded.into_iter().next() {
            operations
                .push(json!({ "op": op_name(dialect, Op::Replace), "path": key, "value": value }));
        }
    } else if folded_count > 1 {
        operations.push(json!({ "op": op_name(dialect, Op::Replace), "value": folded }));
    }
    (!operations.is_empty())
        .then(|| patch_request(format!("/Users/{}", encode_component(id)), operations))
}

/// The status change to `active` by PATCH (personas.md §6.4, "deactivation"): with a path
/// (Entra: `{"op":"Replace","path":"active","value":"False"}`) or path-less (Okta OIN).
pub fn status_patch(dialect: &ScimDialect, id: &str, active: bool) -> ScimRequest {
    let value = patch_value(dialect, &Value::Bool(active));
    let operation = match dialect.status_change.value {
        crate::persona::StatusChange::PatchPathless => {
            json!({ "op": op_name(dialect, Op::Replace), "value": { "active": value } })
        }
        _ => json!({ "op": op_name(dialect, Op::Replace), "path": "active", "value": value }),
    };
    patch_request(format!("/Users/{}", encode_component(id)), vec![operation])
}

/// A PUT of `fetched` (the resource as the target returned it) with the changes from
/// `before` to `after` merged in (Okta: personas.md §2.1 "Update user": the PUT body is the
/// fetched resource with Okta's changes merged in; it keeps `id` and `meta`).
pub fn user_put(
    persona: &Persona,
    id: &str,
    fetched: &Map<String, Value>,
    before: &MappedValues,
    after: &MappedValues,
) -> ScimRequest {
    let mut body = fetched.clone();
    for rule in &persona.user_rules {
        let target = &rule.target;
        match (before.get(&target.text), after.get(&target.text)) {
            (_, Some(value)) => {
                target.write(&mut body, value.clone(), rule.mapping.create_with.as_ref())
            }
            (Some(_), None) if persona.scim.clears_attributes.value => target.remove(&mut body),
            _ => {}
        }
    }
    ScimRequest::new(Method::Put, format!("/Users/{}", encode_component(id)))
        .with_body(Value::Object(body))
}

/// The body of a group create.
pub fn create_group(persona: &Persona, mapped: &MappedValues) -> ScimRequest {
    let mut body = Map::new();
    body.insert(
        "schemas".into(),
        json!(persona.scim.group_create_schemas.value),
    );
    for rule in &persona.group_rules {
        if let Some(value) = mapped.get(&rule.target.text) {
            rule.target.write(&mut body, value.clone(), None);
        }
    }
    if let Some(extras) = &persona.scim.group_create_extras {
        for (key, value) in &extras.value {
            body.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    if persona.scim.group_create_empty_members.value {
        body.insert("members".into(), json!([]));
    }
    ScimRequest::new(Method::Post, "/Groups".into()).with_body(Value::Object(body))
}

/// A group member: its SCIM id and the `display` the persona may send with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's SCIM id.
    pub id: String,
    /// Its userName, sent as `display` by personas that do.
    pub display: String,
}

/// The PATCH requests that rename a group and change its members, in the persona's form and
/// batch size (personas.md §6.4: member add, member remove, group rename, batch size).
pub fn group_patches(
    dialect: &ScimDialect,
    id: &str,
    rename: Option<&str>,
    display_name: &str,
    added: &[Member],
    removed: &[Member],
) -> Vec<ScimRequest> {
    let path = format!("/Groups/{}", encode_component(id));
    let batch = usize::try_from(dialect.member_batch_size.value.max(1)).unwrap_or(usize::MAX);
    let rename_operation = |name: &str| match dialect.group_rename.value {
        GroupRename::Path => {
            json!({ "op": op_name(dialect, Op::Replace), "path": "displayName", "value": name })
        }
        GroupRename::PathlessWithId => {
            json!({ "op": op_name(dialect, Op::Replace), "value": { "id": id, "displayName": name } })
        }
    };
    let mut requests = Vec::new();
    let mut removals: Vec<Vec<Value>> = Vec::new();
    for chunk in removed.chunks(batch) {
        removals.push(match dialect.member_remove.value {
            MemberRemove::ValueArray => vec![json!({
                "op": op_name(dialect, Op::Remove),
                "path": "members",
                "value": chunk.iter().map(|member| json!({ "value": member.id })).collect::<Vec<_>>(),
            })],
            MemberRemove::FilterPath => chunk
                .iter()
                .map(|member| {
                    json!({
                        "op": op_name(dialect, Op::Remove),
                        "path": format!("members[{}]", equality_filter("value", &member.id)),
                    })
                })
                .collect(),
        });
    }
    let additions: Vec<Vec<Value>> = added
        .chunks(batch)
        .map(|chunk| {
            vec![json!({
                "op": op_name(dialect, Op::Add),
                "path": "members",
                "value": chunk.iter().map(|member| member_value(dialect, member)).collect::<Vec<_>>(),
            })]
        })
        .collect();
    let membership: Vec<Vec<Value>> = if dialect
        .membership_in_one_patch
        .as_ref()
        .is_some_and(|knob| knob.value)
    {
        // The k-th batch of removals and the k-th of additions share a request.
        let mut removals = removals.into_iter();
        let mut additions = additions.into_iter();
        std::iter::from_fn(|| match (removals.next(), additions.next()) {
            (None, None) => None,
            (removal, addition) => Some(
                removal
                    .into_iter()
                    .flatten()
                    .chain(addition.into_iter().flatten())
                    .collect(),
            ),
        })
        .collect()
    } else {
        removals.into_iter().chain(additions).collect()
    };
    if let Some(name) = rename
        && (membership.is_empty() || !dialect.rename_with_membership.value)
    {
        requests.push(patch_request(path.clone(), vec![rename_operation(name)]));
    }
    for operations in membership {
        let mut all = Vec::new();
        if dialect.rename_with_membership.value {
            all.push(rename_operation(display_name));
        }
        all.extend(operations);
        requests.push(patch_request(path.clone(), all));
    }
    requests
}

/// A PUT of the whole group with its complete member list (Okta AIW: personas.md §2.1).
pub fn group_put(
    persona: &Persona,
    id: &str,
    mapped: &MappedValues,
    members: &[Member],
) -> ScimRequest {
    let mut body = Map::new();
    body.insert(
        "schemas".into(),
        json!(persona.scim.group_create_schemas.value),
    );
    body.insert("id".into(), Value::String(id.to_owned()));
    for rule in &persona.group_rules {
        if let Some(value) = mapped.get(&rule.target.text) {
            rule.target.write(&mut body, value.clone(), None);
        }
    }
    body.insert(
        "members".into(),
        Value::Array(
            members
                .iter()
                .map(|member| member_value(&persona.scim, member))
                .collect(),
        ),
    );
    ScimRequest::new(Method::Put, format!("/Groups/{}", encode_component(id)))
        .with_body(Value::Object(body))
}

fn member_value(dialect: &ScimDialect, member: &Member) -> Value {
    match dialect.member_value.value {
        MemberValue::Value => json!({ "value": member.id }),
        MemberValue::ValueAndNullRef => json!({ "$ref": null, "value": member.id }),
        MemberValue::ValueAndDisplay => json!({ "value": member.id, "display": member.display }),
    }
}

/// The rules whose changes a profile update carries: all but `active`.
pub fn profile_rules(persona: &Persona) -> impl Iterator<Item = &MappingRule> {
    persona
        .user_rules
        .iter()
        .filter(|rule| !rule.target.text.eq_ignore_ascii_case("active"))
}

fn path_op(dialect: &ScimDialect, op: Op, target: &TargetPath, value: Option<&Value>) -> Value {
    let mut operation = Map::new();
    operation.insert("op".into(), Value::String(op_name(dialect, op).into()));
    operation.insert("path".into(), Value::String(target.text.clone()));
    if let Some(value) = value {
        operation.insert("value".into(), patch_value(dialect, value));
    }
    Value::Object(operation)
}

/// A value as the persona writes it in a PATCH: booleans become `"True"`/`"False"` when it
/// sends string booleans (Entra without the flag: personas.md §1.1).
pub fn patch_value(dialect: &ScimDialect, value: &Value) -> Value {
    match value {
        Value::Bool(flag) if dialect.booleans_as_strings.value => {
            Value::String(if *flag { "True" } else { "False" }.into())
        }
        other => other.clone(),
    }
}

fn patch_request(path: String, operations: Vec<Value>) -> ScimRequest {
    ScimRequest::new(Method::Patch, path).with_body(json!({
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": operations,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled::persona;

    fn member(id: &str) -> Member {
        Member {
            id: id.into(),
            display: format!("{id}@acme.test"),
        }
    }

    /// Each request's operations, as `op path` lines.
    fn operations(requests: &[ScimRequest]) -> Vec<Vec<String>> {
        requests
            .iter()
            .map(|request| {
                request.body.as_ref().unwrap()["Operations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|operation| {
                        let text =
                            |field: &str| operation[field].as_str().unwrap_or("-").to_owned();
                        format!("{} {}", text("op"), text("path"))
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn okta_removes_and_adds_members_in_one_patch_and_entra_in_one_each() {
        let (added, removed) = ([member("u2")], [member("u1")]);
        let okta = group_patches(&persona("okta").scim, "g1", None, "Sales", &added, &removed);
        assert_eq!(
            operations(&okta),
            [[
                "replace -",
                r#"remove members[value eq "u1"]"#,
                "add members"
            ]],
            "personas.md §2.1 Membership (OIN/PATCH)"
        );
        let entra = group_patches(
            &persona("entra").scim,
            "g1",
            None,
            "Sales",
            &added,
            &removed,
        );
        assert_eq!(
            operations(&entra),
            [["Remove members"], ["Add members"]],
            "personas.md §1.1 Groups, steps 3 and 4"
        );
    }
}
