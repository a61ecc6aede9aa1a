//! Validation of POST and PUT bodies into the canonical stored form (RFC 7643 §2, §7;
//! RFC 7644 §3.3, §3.5.1).
//!
//! A canonical resource is a JSON object holding `schemas` and the client-writable attributes,
//! under the canonical names of the schema definitions and in schema order; extension
//! attributes sit under their extension's URN; booleans are JSON booleans; there are no nulls
//! and no empty arrays or objects. `id`, `meta` and the attributes the server computes
//! (`readOnly` ones such as User `groups` or a member's `display`) are not part of it: the
//! server adds them when it renders the resource.

mod value;

pub(crate) use value::{
    canonical_attribute, canonical_elements, canonical_single, contains_value, is_primary,
    same_value,
};

use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::schema::{AttributeDef, Mutability, ResourceSchema, Schema, common_attributes};
use serde_json::{Map, Value};

/// Validates a POST body (`existing` is `None`) or a PUT body (`existing` is the current
/// canonical resource) and returns the canonical resource to store.
///
/// - `schemas` must list the core schema; every URI in it must be one the resource type knows.
/// - Attribute names match case-insensitively; extension attributes may be nested under their
///   URN or written as URN-qualified top-level keys.
/// - `id`, `meta` and `readOnly` attributes are ignored, `null` and `[]` mean unassigned
///   (RFC 7644 §3.3, RFC 7643 §2.5); unknown attributes are refused.
/// - A PUT replaces the whole resource: omitted attributes are cleared (RFC 7644 §3.5.1), but
///   an `immutable` attribute that is already set may not change (RFC 7643 §7).
pub fn prepare_write(
    body: &Value,
    schema: &ResourceSchema,
    existing: Option<&Map<String, Value>>,
) -> ScimResult<Map<String, Value>> {
    let body = body.as_object().ok_or_else(|| {
        ScimError::InvalidSyntax(format!("a {} must be a JSON object", schema.name))
    })?;
    let markers = listed_markers(body, schema)?;
    let mut assigned = Assigned::default();
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(extension) = schema.extension(key) {
            assigned.put_extension_object(extension, key, value)?;
            continue;
        }
        let (extension, attribute) = body_attribute(schema, key).ok_or_else(|| {
            ScimError::InvalidSyntax(format!("{} has no attribute `{key}`", schema.name))
        })?;
        // RFC 7644 §3.3: `id`, `meta` and other readOnly attributes in a body are ignored.
        if attribute.mutability != Mutability::ReadOnly {
            assigned.put(extension, attribute, value)?;
        }
    }
    let mut resource = assigned.into_resource(schema);
    if let Some(existing) = existing {
        keep_immutable(existing, &mut resource, schema)?;
    }
    check_required(&resource, schema)?;
    Ok(with_schemas(resource, schema, &markers))
}

/// Recomputes `schemas` after a change: the core URN, each extension that holds attributes,
/// and the vendor marker schemas already listed (RFC 7643 §3: `schemas` names the schemas the
/// resource's attributes come from). Empty extension objects are dropped.
pub fn refresh_schemas(resource: &mut Map<String, Value>, schema: &ResourceSchema) {
    let markers: Vec<&'static str> = resource
        .get("schemas")
        .and_then(Value::as_array)
        .map(|listed| {
            listed
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|uri| marker(schema, uri))
                .collect()
        })
        .unwrap_or_default();
    for extension in &schema.extensions {
        let empty = resource
            .get(&extension.id)
            .is_some_and(|value| value.as_object().is_none_or(Map::is_empty));
        if empty {
            resource.remove(&extension.id);
        }
    }
    let rest = std::mem::take(resource);
    *resource = with_schemas(rest, schema, &markers);
}

/// Every top-level attribute a resource of `schema` can hold, with the extension it lives
/// under: the common attributes, the core schema's, then each extension's.
pub(crate) fn top_level_attributes(
    schema: &ResourceSchema,
) -> impl Iterator<Item = (Option<&'static Schema>, &'static AttributeDef)> + '_ {
    common_attributes()
        .iter()
        .chain(&schema.core.attributes)
        .map(|attribute| (None, attribute))
        .chain(schema.extensions.iter().flat_map(|extension| {
            extension
                .attributes
                .iter()
                .map(move |attribute| (Some(*extension), attribute))
        }))
}

/// The name an attribute is reported under: URN-qualified for extension attributes.
pub(crate) fn display_name(extension: Option<&Schema>, attribute: &AttributeDef) -> String {
    match extension {
        Some(extension) => format!("{}:{}", extension.id, attribute.name),
        None => attribute.name.clone(),
    }
}

/// The object holding `extension`'s attributes (the resource itself for core attributes).
pub(crate) fn container<'r>(
    resource: &'r Map<String, Value>,
    extension: Option<&Schema>,
) -> Option<&'r Map<String, Value>> {
    match extension {
        None => Some(resource),
        Some(extension) => resource.get(&extension.id)?.as_object(),
    }
}

/// Runs `edit` on the object holding `extension`'s attributes (the resource itself for core
/// attributes), creating it when absent and dropping it when `edit` leaves it empty.
pub(crate) fn with_container<T>(
    resource: &mut Map<String, Value>,
    extension: Option<&Schema>,
    edit: impl FnOnce(&mut Map<String, Value>) -> T,
) -> T {
    let Some(extension) = extension else {
        return edit(resource);
    };
    let mut attributes = match resource.shift_remove(&extension.id) {
        Some(Value::Object(attributes)) => attributes,
        _ => Map::new(),
    };
    let out = edit(&mut attributes);
    if !attributes.is_empty() {
        resource.insert(extension.id.clone(), Value::Object(attributes));
    }
    out
}

/// The schema URIs listed in `schemas`, checked; returns the vendor marker schemas among them.
fn listed_markers(
    body: &Map<String, Value>,
    schema: &ResourceSchema,
) -> ScimResult<Vec<&'static str>> {
    let listed = crate::schema::get_ignore_case(body, "schemas")
        .ok_or_else(|| ScimError::InvalidSyntax("the body has no `schemas` attribute".into()))?
        .as_array()
        .ok_or_else(|| ScimError::InvalidSyntax("`schemas` must be an array of URIs".into()))?;
    let mut has_core = false;
    let mut markers = Vec::new();
    for uri in listed {
        let uri = uri
            .as_str()
            .ok_or_else(|| ScimError::InvalidSyntax("`schemas` must be an array of URIs".into()))?;
        if !schema.accepts_schema(uri) {
            return Err(ScimError::InvalidSyntax(format!(
                "schema `{uri}` is not one of the {} resource type's schemas",
                schema.name
            )));
        }
        has_core |= schema.core.id.eq_ignore_ascii_case(uri);
        if let Some(marker) = marker(schema, uri)
            && !markers.contains(&marker)
        {
            markers.push(marker);
        }
    }
    if !has_core {
        return Err(ScimError::InvalidSyntax(format!(
            "`schemas` must list `{}`",
            schema.core.id
        )));
    }
    Ok(markers)
}

/// The canonical spelling of the marker schema `uri`, if it is one.
fn marker(schema: &ResourceSchema, uri: &str) -> Option<&'static str> {
    schema
        .marker_schemas
        .iter()
        .copied()
        .find(|marker| marker.eq_ignore_ascii_case(uri))
}

/// The top-level attribute a body key names: a plain name (`userName`) or a URN-qualified one
/// (`urn:...:enterprise:2.0:User:employeeNumber`). Dotted names and unqualified extension
/// attributes are not attribute names in a resource body.
fn body_attribute(
    schema: &ResourceSchema,
    key: &str,
) -> Option<(Option<&'static Schema>, &'static AttributeDef)> {
    let path = AttrPath::parse(key).ok()?;
    if path.sub_attribute.is_some() {
        return None;
    }
    let resolved = schema.resolve(&path).ok()?;
    if path.schema.is_none() && resolved.extension.is_some() {
        return None;
    }
    Some((resolved.extension, resolved.attribute))
}

/// The attributes of a body, canonical, before they are laid out in schema order.
#[derive(Default)]
struct Assigned {
    values: Vec<(Option<&'static Schema>, &'static AttributeDef, Value)>,
}

impl Assigned {
    fn put(
        &mut self,
        extension: Option<&'static Schema>,
        attribute: &'static AttributeDef,
        value: &Value,
    ) -> ScimResult<()> {
        let name = display_name(extension, attribute);
        let taken = self.values.iter().any(|(ext, attr, _)| {
            ext.map(|e| &e.id) == extension.map(|e| &e.id) && attr.name == attribute.name
        });
        if taken {
            return Err(ScimError::InvalidSyntax(format!(
                "`{name}` is given more than once"
            )));
        }
        if let Some(value) = canonical_attribute(attribute, value, &name)? {
            self.values.push((extension, attribute, value));
        }
        Ok(())
    }

    /// An extension's attributes nested under its URN (RFC 7643 §3.3).
    fn put_extension_object(
        &mut self,
        extension: &'static Schema,
        key: &str,
        value: &Value,
    ) -> ScimResult<()> {
        let attributes = match value {
            Value::Null => return Ok(()),
            Value::Object(attributes) => attributes,
            _ => {
                return Err(ScimError::InvalidSyntax(format!(
                    "`{key}` must be an object holding the extension's attributes"
                )));
            }
        };
        for (name, value) in attributes {
            let attribute = extension.attribute(name).ok_or_else(|| {
                ScimError::InvalidSyntax(format!(
                    "extension `{}` has no attribute `{name}`",
                    extension.id
                ))
            })?;
            if attribute.mutability != Mutability::ReadOnly {
                self.put(Some(extension), attribute, value)?;
            }
        }
        Ok(())
    }

    /// The attributes laid out in schema order, extensions nested under their URN.
    fn into_resource(mut self, schema: &ResourceSchema) -> Map<String, Value> {
        let mut resource = Map::new();
        for (extension, attribute) in top_level_attributes(schema) {
            let Some(index) = self.values.iter().position(|(ext, attr, _)| {
                ext.map(|e| &e.id) == extension.map(|e| &e.id) && attr.name == attribute.name
            }) else {
                continue;
            };
            let (_, _, value) = self.values.swap_remove(index);
            with_container(&mut resource, extension, |target| {
                target.insert(attribute.name.clone(), value)
            });
        }
        resource
    }
}

/// `resource` with `schemas` first: the core URN, the extensions present, then `markers`.
fn with_schemas(
    resource: Map<String, Value>,
    schema: &ResourceSchema,
    markers: &[&'static str],
) -> Map<String, Value> {
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    schemas.extend(
        schema
            .extensions
            .iter()
            .filter(|extension| {
                resource
                    .get(&extension.id)
                    .and_then(Value::as_object)
                    .is_some_and(|attributes| !attributes.is_empty())
            })
            .map(|extension| Value::String(extension.id.clone())),
    );
    schemas.extend(
        markers
            .iter()
            .map(|marker| Value::String(marker.to_string())),
    );
    let mut out = Map::with_capacity(resource.len() + 1);
    out.insert("schemas".into(), Value::Array(schemas));
    out.extend(resource.into_iter().filter(|(key, _)| key != "schemas"));
    out
}

/// Required attributes (RFC 7643 §7) must hold a value; a blank string does not count.
fn check_required(resource: &Map<String, Value>, schema: &ResourceSchema) -> ScimResult<()> {
    for (extension, attribute) in top_level_attributes(schema) {
        if !attribute.required || attribute.mutability == Mutability::ReadOnly {
            continue;
        }
        let value = container(resource, extension).and_then(|c| c.get(&attribute.name));
        let blank = match value {
            None => true,
            Some(Value::String(text)) => text.trim().is_empty(),
            Some(_) => false,
        };
        if blank {
            return Err(ScimError::InvalidValue(format!(
                "`{}` is required",
                display_name(extension, attribute)
            )));
        }
    }
    Ok(())
}

/// RFC 7644 §3.5.1: in a PUT, an `immutable` attribute that is already set must keep its value.
///
/// Only singular values are checked (the attribute itself, or a sub-attribute of a singular
/// complex attribute): a multi-valued attribute such as Group `members`, whose sub-attributes
/// are immutable, is replaced as a whole list of new values. An immutable value the body
/// omits is kept, since clearing it would change it too.
fn keep_immutable(
    existing: &Map<String, Value>,
    resource: &mut Map<String, Value>,
    schema: &ResourceSchema,
) -> ScimResult<()> {
    for (extension, attribute) in top_level_attributes(schema) {
        if attribute.multi_valued || attribute.mutability == Mutability::ReadOnly {
            continue;
        }
        let Some(old) = container(existing, extension).and_then(|c| c.get(&attribute.name)) else {
            continue;
        };
        let name = display_name(extension, attribute);
        with_container(resource, extension, |target| {
            keep_immutable_attribute(attribute, &name, old, target)
        })?;
    }
    Ok(())
}

/// Keeps the immutable parts of the singular attribute `attribute`: the attribute itself, or
/// the immutable sub-attributes of a complex one.
fn keep_immutable_attribute(
    attribute: &AttributeDef,
    name: &str,
    old: &Value,
    target: &mut Map<String, Value>,
) -> ScimResult<()> {
    if attribute.mutability == Mutability::Immutable {
        return keep_immutable_value(attribute, name, old, target);
    }
    let Some(old) = old.as_object() else {
        return Ok(());
    };
    for sub in &attribute.sub_attributes {
        if sub.multi_valued || sub.mutability != Mutability::Immutable {
            continue;
        }
        let Some(old) = old.get(&sub.name) else {
            continue;
        };
        let slot = target
            .entry(attribute.name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(object) = slot {
            keep_immutable_value(sub, &format!("{name}.{}", sub.name), old, object)?;
        }
    }
    Ok(())
}

/// Keeps `old` as `def`'s value in `target`: the new value, if any, must be the same.
fn keep_immutable_value(
    def: &AttributeDef,
    name: &str,
    old: &Value,
    target: &mut Map<String, Value>,
) -> ScimResult<()> {
    match target.get(&def.name) {
        Some(new) if !same_value(def, old, new) => Err(ScimError::Mutability {
            attribute: name.to_string(),
            mutability: "immutable".into(),
        }),
        Some(_) => Ok(()),
        None => {
            target.insert(def.name.clone(), old.clone());
            Ok(())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
