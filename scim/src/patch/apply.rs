//! Applying PATCH operations to a canonical resource (RFC 7644 §3.5.2).

use super::{PatchOp, PatchOperation, PatchPath, PatchRequest};
use crate::error::{ScimError, ScimResult};
use crate::filter::{CompValue, CompareOp, Filter};
use crate::path::AttrPath;
use crate::resource::{
    canonical_attribute, canonical_elements, canonical_single, contains_value, display_name,
    is_primary, prepare_write, refresh_schemas, same_value, with_container,
};
use crate::schema::{AttributeDef, Mutability, ResolvedAttribute, ResourceSchema, Schema};
use serde_json::{Map, Value};

/// Applies `request` to `resource` and returns the patched canonical resource.
///
/// Atomic (RFC 7644 §3.5.2): the operations run in order on a copy, and the first failure is
/// returned with nothing changed. The result is validated like a PUT body (required
/// attributes, types, one `primary` value) and its `schemas` recomputed.
pub fn apply_patch(
    resource: &Map<String, Value>,
    request: &PatchRequest,
    schema: &ResourceSchema,
) -> ScimResult<Map<String, Value>> {
    let mut patched = resource.clone();
    for operation in &request.operations {
        apply_operation(&mut patched, operation, schema)?;
    }
    refresh_schemas(&mut patched, schema);
    prepare_write(&Value::Object(patched), schema, None)
}

fn apply_operation(
    resource: &mut Map<String, Value>,
    operation: &PatchOperation,
    schema: &ResourceSchema,
) -> ScimResult<()> {
    let value = operation.value.as_ref();
    if let Some(path) = &operation.path {
        return Target::resolve(path, schema)?.apply(resource, operation.op, value);
    }
    match (operation.op, value) {
        (PatchOp::Remove, _) => Err(ScimError::NoTarget(
            "a remove operation needs a `path` (RFC 7644 §3.5.2.2)".into(),
        )),
        (op, Some(Value::Object(attributes))) => apply_attributes(resource, op, attributes, schema),
        (op, _) => Err(ScimError::InvalidSyntax(format!(
            "without a `path`, the `value` of `{}` must be an object of attributes",
            op.keyword()
        ))),
    }
}

/// A path-less add or replace: each key of the value names its target (RFC 7644 §3.5.2.1).
///
/// Keys may be attribute names, dotted sub-attribute paths (`name.givenName`), URN-qualified
/// paths, or an extension URN holding that extension's attributes, as Entra sends them with
/// `aadOptscim062020` (personas.md §1.1, "Update user"). `id`, `meta` and `schemas` are
/// ignored as in a body (RFC 7644 §3.3): Okta repeats the group's `id` in every rename
/// (personas.md §2.1, "Groups").
fn apply_attributes(
    resource: &mut Map<String, Value>,
    op: PatchOp,
    attributes: &Map<String, Value>,
    schema: &ResourceSchema,
) -> ScimResult<()> {
    for (key, value) in attributes {
        if ["id", "meta", "schemas"]
            .iter()
            .any(|ignored| ignored.eq_ignore_ascii_case(key))
        {
            continue;
        }
        let path = PatchPath {
            attribute: AttrPath::parse(key)?,
            value_filter: None,
        };
        Target::resolve(&path, schema)?.apply(resource, op, Some(value))?;
    }
    Ok(())
}

/// What a path names, resolved against the resource type.
enum Target<'p> {
    /// A whole extension: its attributes under its URN.
    Extension(&'static Schema),
    /// An attribute, a sub-attribute, or the values of a multi-valued attribute a filter selects.
    Attribute {
        resolved: ResolvedAttribute,
        filter: Option<&'p Filter>,
        /// The path as reported in errors.
        shown: String,
    },
}

impl<'p> Target<'p> {
    fn resolve(path: &'p PatchPath, schema: &ResourceSchema) -> ScimResult<Target<'p>> {
        let attribute = &path.attribute;
        if path.value_filter.is_none()
            && attribute.sub_attribute.is_none()
            && let Some(urn) = &attribute.schema
            && let Some(extension) = schema.extension(&format!("{urn}:{}", attribute.name))
        {
            return Ok(Target::Extension(extension));
        }
        let resolved = schema.resolve(attribute)?;
        let shown = path.to_string();
        let def = resolved.attribute;
        if path.value_filter.is_some() && !(def.multi_valued && def.is_complex()) {
            return Err(ScimError::InvalidPath {
                path: shown,
                reason: format!(
                    "a value filter selects values of a multi-valued complex attribute, and `{}` is not one",
                    def.name
                ),
            });
        }
        check_writable(&resolved)?;
        Ok(Target::Attribute {
            resolved,
            filter: path.value_filter.as_ref(),
            shown,
        })
    }

    fn apply(
        self,
        resource: &mut Map<String, Value>,
        op: PatchOp,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let (resolved, filter, shown) = match self {
            Target::Extension(extension) => {
                return apply_to_extension(resource, extension, op, value);
            }
            Target::Attribute {
                resolved,
                filter,
                shown,
            } => (resolved, filter, shown),
        };
        let def = resolved.attribute;
        let name = resolved.canonical_path();
        let edit = Edit {
            op,
            value: value.unwrap_or(&Value::Null),
            name: &name,
        };
        with_container(resource, resolved.extension, |container| {
            match (def.multi_valued, resolved.sub_attribute) {
                (true, sub) if filter.is_some() || sub.is_some() => {
                    let selection = Selection {
                        filter,
                        sub_attribute: sub,
                        shown: &shown,
                    };
                    edit.selected_values(container, def, &selection)
                }
                (true, _) => edit.values(container, def),
                (false, Some(sub)) => edit.sub_attribute(container, def, sub),
                (false, None) => edit.singular(container, def),
            }
        })
    }
}

/// RFC 7644 §3.5.2: a client may not modify a `readOnly` attribute (`id`, `meta`, User
/// `groups`, a member's `display`).
fn check_writable(resolved: &ResolvedAttribute) -> ScimResult<()> {
    let read_only = std::iter::once(resolved.attribute)
        .chain(resolved.sub_attribute)
        .any(|def| def.mutability == Mutability::ReadOnly);
    if read_only {
        return Err(ScimError::Mutability {
            attribute: resolved.canonical_path(),
            mutability: "readOnly".into(),
        });
    }
    Ok(())
}

/// A bare extension URN as the path, or as a key of a path-less value.
fn apply_to_extension(
    resource: &mut Map<String, Value>,
    extension: &'static Schema,
    op: PatchOp,
    value: Option<&Value>,
) -> ScimResult<()> {
    match (op, value) {
        (PatchOp::Add | PatchOp::Replace, Some(Value::Object(attributes))) => {
            for (key, value) in attributes {
                let attribute = extension
                    .attribute(key)
                    .ok_or_else(|| ScimError::InvalidPath {
                        path: format!("{}:{key}", extension.id),
                        reason: format!("extension `{}` has no attribute `{key}`", extension.id),
                    })?;
                let resolved = ResolvedAttribute {
                    extension: Some(extension),
                    attribute,
                    sub_attribute: None,
                };
                check_writable(&resolved)?;
                Target::Attribute {
                    resolved,
                    filter: None,
                    shown: resolved.canonical_path(),
                }
                .apply(resource, op, Some(value))?;
            }
            Ok(())
        }
        (PatchOp::Add, None | Some(Value::Null)) => Ok(()),
        (PatchOp::Remove, _) | (PatchOp::Replace, None | Some(Value::Null)) => {
            with_container(resource, Some(extension), |attributes| {
                for attribute in &extension.attributes {
                    let name = display_name(Some(extension), attribute);
                    ensure_mutable(attribute, &name, attributes.get(&attribute.name), None)?;
                }
                attributes.clear();
                Ok(())
            })
        }
        (PatchOp::Add | PatchOp::Replace, Some(_)) => Err(ScimError::InvalidValue(format!(
            "`{}` takes an object of the extension's attributes",
            extension.id
        ))),
    }
}

/// The values of a multi-valued complex attribute an operation touches: those the filter
/// selects (all of them without one), and the sub-attribute it edits in each.
struct Selection<'s> {
    filter: Option<&'s Filter>,
    sub_attribute: Option<&'static AttributeDef>,
    shown: &'s str,
}

/// One operation's edit of one attribute, inside the object that holds it.
struct Edit<'e> {
    op: PatchOp,
    /// The operation's value; `null` when there is none.
    value: &'e Value,
    /// The attribute's canonical path, for error messages.
    name: &'e str,
}

impl Edit<'_> {
    /// A singular attribute, simple or complex.
    fn singular(&self, container: &mut Map<String, Value>, def: &AttributeDef) -> ScimResult<()> {
        let old = container.get(&def.name);
        let new = match self.op {
            PatchOp::Remove => None,
            PatchOp::Add | PatchOp::Replace => {
                canonical_single(def, &singular_value(def, self.value), self.name)?
            }
        };
        let new = match (new, old) {
            // Adding nothing changes nothing; replacing with nothing unassigns (RFC 7643 §2.5).
            (None, _) if self.op == PatchOp::Add => return Ok(()),
            // RFC 7644 §3.5.2.1, §3.5.2.3: sub-attributes of a complex attribute that the value
            // does not name are left unchanged.
            (Some(Value::Object(new)), Some(Value::Object(old))) => {
                Some(Value::Object(merge_complex(def, old, &new, self.name)?))
            }
            // Unassigning a complex value unassigns its sub-attributes, immutable ones included.
            (None, Some(Value::Object(old))) => {
                for (key, value) in old {
                    if let Some(sub) = def.sub_attribute(key) {
                        ensure_mutable(sub, &format!("{}.{key}", self.name), Some(value), None)?;
                    }
                }
                None
            }
            (new, _) => new,
        };
        ensure_mutable(def, self.name, old, new.as_ref())?;
        set(container, &def.name, new);
        Ok(())
    }

    /// A sub-attribute of a singular complex attribute (`name.givenName`, `manager.value`).
    fn sub_attribute(
        &self,
        container: &mut Map<String, Value>,
        def: &AttributeDef,
        sub: &AttributeDef,
    ) -> ScimResult<()> {
        let old_parent = container.get(&def.name).and_then(Value::as_object);
        let old = old_parent.and_then(|parent| parent.get(&sub.name));
        let new = match self.op {
            PatchOp::Remove => None,
            PatchOp::Add | PatchOp::Replace => canonical_attribute(sub, self.value, self.name)?,
        };
        if new.is_none() && self.op == PatchOp::Add {
            return Ok(());
        }
        ensure_mutable(sub, self.name, old, new.as_ref())?;
        let mut parent = old_parent.cloned().unwrap_or_default();
        set(&mut parent, &sub.name, new);
        let parent = (!parent.is_empty()).then_some(Value::Object(parent));
        ensure_mutable(def, self.name, container.get(&def.name), parent.as_ref())?;
        set(container, &def.name, parent);
        Ok(())
    }

    /// A whole multi-valued attribute (RFC 7644 §3.5.2.1-3 without a value filter).
    ///
    /// `add` appends the values not already present; `replace` replaces the list; `remove`
    /// clears it, or, given a `value` list, removes exactly the values it lists: Entra's member
    /// removal without `aadOptscim062020` (personas.md §1.1, "Groups").
    fn values(&self, container: &mut Map<String, Value>, def: &AttributeDef) -> ScimResult<()> {
        let old = container.get(&def.name);
        let mut values: Vec<Value> = old.and_then(Value::as_array).cloned().unwrap_or_default();
        // A single value for a multi-valued attribute is a list of one.
        let listed = match self.value {
            Value::Null => Vec::new(),
            Value::Array(items) => canonical_elements(def, items, self.name)?,
            single => canonical_elements(def, std::slice::from_ref(single), self.name)?,
        };
        let mut touched = Vec::new();
        match (self.op, self.value) {
            (PatchOp::Add, _) => {
                for value in listed {
                    match values
                        .iter()
                        .position(|present| is_same_entry(def, present, &value))
                    {
                        Some(index) => {
                            if let (Some(Value::Object(present)), Value::Object(added)) =
                                (values.get(index), &value)
                            {
                                let updated =
                                    merge_complex(def, present, &details(added), self.name)?;
                                if let Some(slot) = values.get_mut(index) {
                                    *slot = Value::Object(updated);
                                }
                            }
                            touched.push(index);
                        }
                        None => {
                            touched.push(values.len());
                            values.push(value);
                        }
                    }
                }
            }
            (PatchOp::Replace, _) => {
                touched = (0..listed.len()).collect();
                values = listed;
            }
            (PatchOp::Remove, Value::Null) => values.clear(),
            (PatchOp::Remove, _) => values.retain(|present| {
                !listed
                    .iter()
                    .any(|listed| contains_value(def, present, listed))
            }),
        }
        clear_other_primaries(&mut values, &touched);
        let new = (!values.is_empty()).then_some(Value::Array(values));
        ensure_mutable(def, self.name, old, new.as_ref())?;
        set(container, &def.name, new);
        Ok(())
    }

    /// The values of a multi-valued complex attribute that a filter selects, or a
    /// sub-attribute of each (`emails[type eq "work"].value`, `members[value eq "..."]`).
    fn selected_values(
        &self,
        container: &mut Map<String, Value>,
        def: &AttributeDef,
        selection: &Selection<'_>,
    ) -> ScimResult<()> {
        let old = container.get(&def.name);
        let mut values: Vec<Value> = old.and_then(Value::as_array).cloned().unwrap_or_default();
        let selected = select(&values, def, selection.filter)?;
        let update = match (self.op, selection.sub_attribute) {
            (PatchOp::Remove, _) => None,
            (_, Some(sub)) => canonical_attribute(sub, self.value, self.name)?,
            (_, None) => canonical_single(def, self.value, self.name)?,
        };
        let mut touched = Vec::new();
        if selected.is_empty() && self.op != PatchOp::Remove {
            let Some(update) = update else {
                return Ok(());
            };
            let element = self.new_element(def, selection, update)?;
            touched.push(values.len());
            values.push(element);
        } else {
            for index in selected.iter().rev() {
                let Some(element) = values.get_mut(*index).and_then(Value::as_object_mut) else {
                    continue;
                };
                match (selection.sub_attribute, &update) {
                    (Some(sub), update) => {
                        if update.is_none() && self.op == PatchOp::Add {
                            continue;
                        }
                        ensure_mutable(sub, self.name, element.get(&sub.name), update.as_ref())?;
                        set(element, &sub.name, update.clone());
                    }
                    (None, Some(Value::Object(update))) => {
                        *element = merge_complex(def, element, update, self.name)?;
                    }
                    (None, _) if self.op == PatchOp::Add => continue,
                    (None, _) => {
                        values.remove(*index);
                        continue;
                    }
                }
                if self.op != PatchOp::Remove {
                    touched.push(*index);
                }
            }
        }
        // Before dropping emptied values, while `touched` still indexes `values`.
        clear_other_primaries(&mut values, &touched);
        values.retain(|element| element.as_object().is_none_or(|e| !e.is_empty()));
        let new = (!values.is_empty()).then_some(Value::Array(values));
        ensure_mutable(def, self.name, old, new.as_ref())?;
        set(container, &def.name, new);
        Ok(())
    }

    /// The value an add creates when its path selects none: RFC 7644 §3.5.2.3 makes a
    /// `replace` through a filter that matches nothing a `noTarget` error, but an `add` of
    /// `phoneNumbers[type eq "mobile"].value` to a user without a mobile number means "add a
    /// mobile number", so the value is built from the filter's `eq` comparisons.
    fn new_element(
        &self,
        def: &AttributeDef,
        selection: &Selection<'_>,
        update: Value,
    ) -> ScimResult<Value> {
        let no_target = || {
            ScimError::NoTarget(format!(
                "no value of `{}` matches `{}`",
                def.name, selection.shown
            ))
        };
        let seed = match selection.filter {
            Some(_) if self.op == PatchOp::Replace => return Err(no_target()),
            Some(filter) => equality_seed(filter, def).ok_or_else(no_target)?,
            None => Map::new(),
        };
        let mut element = seed;
        match (selection.sub_attribute, update) {
            (Some(sub), update) => {
                element.insert(sub.name.clone(), update);
            }
            (None, Value::Object(update)) => {
                element = merge_complex(def, &element, &update, self.name)?
            }
            (None, _) => return Err(no_target()),
        }
        Ok(Value::Object(element))
    }
}

/// The indices of the values `filter` selects; all of them without a filter.
fn select(values: &[Value], def: &AttributeDef, filter: Option<&Filter>) -> ScimResult<Vec<usize>> {
    let Some(filter) = filter else {
        return Ok((0..values.len()).collect());
    };
    // Checks the filter's paths against `def` even when there are no values, so a bad filter
    // fails the same way whatever the resource holds.
    filter.matches_element(&Value::Object(Map::new()), def)?;
    let mut selected = Vec::new();
    for (index, value) in values.iter().enumerate() {
        if filter.matches_element(value, def)? {
            selected.push(index);
        }
    }
    Ok(selected)
}

/// The sub-attribute values a conjunction of `eq` comparisons pins down, e.g. `{"type":
/// "work"}` for `type eq "work"`; `None` for any other filter.
fn equality_seed(filter: &Filter, def: &AttributeDef) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.schema.is_none() && path.sub_attribute.is_none() => {
            let sub = def.sub_attribute(&path.name)?;
            let literal = match value {
                CompValue::Null => return None,
                CompValue::Bool(flag) => Value::Bool(*flag),
                CompValue::Number(number) => Value::Number(number.clone()),
                CompValue::String(text) => Value::String(text.clone()),
            };
            let value = canonical_single(sub, &literal, &sub.name).ok()??;
            (sub.mutability != Mutability::ReadOnly)
                .then(|| Map::from_iter([(sub.name.clone(), value)]))
        }
        Filter::And(left, right) => {
            let mut seed = equality_seed(left, def)?;
            for (key, value) in equality_seed(right, def)? {
                if seed.get(&key).is_some_and(|present| *present != value) {
                    return None;
                }
                seed.insert(key, value);
            }
            Some(seed)
        }
        _ => None,
    }
}

/// Whether `added`, a value being added to a multi-valued attribute, is already there as
/// `present` (RFC 7644 §3.5.2.1: "If the target location already contains the value specified,
/// no changes SHOULD be made"). For a complex attribute with a `value` sub-attribute, that is
/// the same `value` (ignoring case unless it is `caseExact`, as `emails.value` is not) of the
/// same `type`, when both give one; otherwise the same value throughout.
fn is_same_entry(def: &AttributeDef, present: &Value, added: &Value) -> bool {
    let (Some(value_def), Value::Object(present), Value::Object(added)) =
        (def.sub_attribute("value"), present, added)
    else {
        return same_value(def, present, added);
    };
    let same_entry_value = match (present.get("value"), added.get("value")) {
        (Some(left), Some(right)) => same_value(value_def, left, right),
        _ => false,
    };
    let same_type = match (
        def.sub_attribute("type"),
        present.get("type"),
        added.get("type"),
    ) {
        (Some(type_def), Some(left), Some(right)) => same_value(type_def, left, right),
        _ => true,
    };
    same_entry_value && same_type
}

/// The sub-attributes of an added element that may update the entry it duplicates: all but
/// `value` and `type`, which identify the entry and stay as stored.
fn details(added: &Map<String, Value>) -> Map<String, Value> {
    added
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "value" | "type"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// `new`'s sub-attributes set over `old`'s; the others are kept.
fn merge_complex(
    def: &AttributeDef,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    name: &str,
) -> ScimResult<Map<String, Value>> {
    let mut merged = old.clone();
    for (key, value) in new {
        if let Some(sub) = def.sub_attribute(key) {
            ensure_mutable(
                sub,
                &format!("{name}.{}", sub.name),
                old.get(key),
                Some(value),
            )?;
        }
        merged.insert(key.clone(), value.clone());
    }
    Ok(merged)
}

/// RFC 7644 §3.5.2: an `immutable` attribute may be given a value while it has none, and may
/// not change after.
fn ensure_mutable(
    def: &AttributeDef,
    name: &str,
    old: Option<&Value>,
    new: Option<&Value>,
) -> ScimResult<()> {
    if def.mutability != Mutability::Immutable {
        return Ok(());
    }
    match (old, new) {
        (None, _) => Ok(()),
        (Some(old), Some(new)) if same_value(def, old, new) => Ok(()),
        (Some(_), _) => Err(ScimError::Mutability {
            attribute: name.to_string(),
            mutability: "immutable".into(),
        }),
    }
}

/// RFC 7644 §3.5.2: when a value is made primary, the others stop being primary.
fn clear_other_primaries(values: &mut [Value], touched: &[usize]) {
    let new_primary = touched
        .iter()
        .any(|index| values.get(*index).is_some_and(is_primary));
    if !new_primary {
        return;
    }
    for (index, value) in values.iter_mut().enumerate() {
        if !touched.contains(&index)
            && is_primary(value)
            && let Some(element) = value.as_object_mut()
        {
            element.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// A singular complex attribute sent as a one-element array, as in Entra's older manager
/// update `{"op":"Add","path":"manager","value":[{"value":"<id>"}]}`, or as the bare id of a
/// reference (`"value":"<id>"` for the enterprise `manager` path); personas.md §1.1 leaves
/// Entra's current form unconfirmed and asks servers to accept both.
fn singular_value<'v>(def: &AttributeDef, value: &'v Value) -> std::borrow::Cow<'v, Value> {
    match value {
        Value::Array(items) if def.is_complex() && items.len() == 1 => {
            std::borrow::Cow::Borrowed(items.first().unwrap_or(value))
        }
        Value::String(id) if def.is_complex() && def.sub_attribute("value").is_some() => {
            let mut reference = Map::new();
            reference.insert("value".into(), Value::String(id.clone()));
            std::borrow::Cow::Owned(Value::Object(reference))
        }
        _ => std::borrow::Cow::Borrowed(value),
    }
}

/// Sets `key` to `value`, or removes it when `value` is `None`.
fn set(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(value) => {
            map.insert(key.to_string(), value);
        }
        None => {
            map.shift_remove(key);
        }
    }
}
