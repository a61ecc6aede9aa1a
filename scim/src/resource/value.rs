//! Typing and canonicalisation of attribute values (RFC 7643 §2.3, §2.4).
//!
//! Shared by POST/PUT validation and by the PATCH engine, so a value written either way is
//! checked by the same rules and stored in the same shape: canonical sub-attribute names in
//! schema order, JSON booleans, no nulls, no empty arrays or objects.

use crate::error::{ScimError, ScimResult};
use crate::schema::{AttributeDef, AttributeType, Mutability};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// `value` checked against `def` and put in canonical form; `None` when it is unassigned
/// (`null`, `[]`, or a complex value with nothing in it: RFC 7643 §2.5).
///
/// `name` is the attribute's path as reported in error messages.
pub(crate) fn canonical_attribute(
    def: &AttributeDef,
    value: &Value,
    name: &str,
) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if !def.multi_valued {
        return canonical_single(def, value, name);
    }
    let Value::Array(items) = value else {
        return Err(ScimError::InvalidValue(format!(
            "`{name}` is multi-valued and takes an array of {}, not {}",
            expected_plural(def.kind),
            describe(value)
        )));
    };
    let values = canonical_elements(def, items, name)?;
    check_single_primary(&values, name)?;
    Ok((!values.is_empty()).then_some(Value::Array(values)))
}

/// The values of the multi-valued attribute `def`, each canonical, exact duplicates collapsed
/// and unassigned values dropped.
pub(crate) fn canonical_elements(
    def: &AttributeDef,
    items: &[Value],
    name: &str,
) -> ScimResult<Vec<Value>> {
    let mut values: Vec<Value> = Vec::with_capacity(items.len());
    // Canonical values print the same when they are equal (sub-attributes in schema order), so
    // their text finds duplicates without comparing every pair: groups can be large.
    let mut seen = HashSet::with_capacity(items.len());
    for item in items {
        if let Some(value) = canonical_single(def, item, name)?
            && seen.insert(value.to_string())
        {
            values.push(value);
        }
    }
    Ok(values)
}

/// One value of `def` (a singular attribute, or one element of a multi-valued one).
pub(crate) fn canonical_single(
    def: &AttributeDef,
    value: &Value,
    name: &str,
) -> ScimResult<Option<Value>> {
    let wrong_type = || {
        ScimError::InvalidValue(format!(
            "`{name}` must be {}, not {}",
            expected(def.kind),
            describe(value)
        ))
    };
    match (def.kind, value) {
        (_, Value::Null) => Ok(None),
        // RFC 7643 §2.3.6: binary values are base64 (RFC 4648 §4: the standard alphabet,
        // padded, no line breaks).
        (AttributeType::Binary, Value::String(text)) => {
            if BASE64.decode(text).is_ok() {
                Ok(Some(value.clone()))
            } else {
                Err(ScimError::InvalidValue(format!(
                    "`{name}` must be base64 (RFC 4648 §4), and `{}` is not",
                    abbreviated(text)
                )))
            }
        }
        (AttributeType::String | AttributeType::Reference, Value::String(_))
        | (AttributeType::Boolean, Value::Bool(_))
        | (AttributeType::Decimal, Value::Number(_)) => Ok(Some(value.clone())),
        // Entra sends booleans as the strings "True"/"False" (personas.md §1.1, "Deactivate").
        (AttributeType::Boolean, Value::String(text)) => parse_boolean(text)
            .map(|flag| Some(Value::Bool(flag)))
            .ok_or_else(wrong_type),
        (AttributeType::Integer, Value::Number(number)) if number.is_i64() || number.is_u64() => {
            Ok(Some(value.clone()))
        }
        (AttributeType::DateTime, Value::String(text))
            if chrono::DateTime::parse_from_rfc3339(text).is_ok() =>
        {
            Ok(Some(value.clone()))
        }
        (AttributeType::Complex, Value::Object(map)) => canonical_complex(def, map, name),
        _ => Err(wrong_type()),
    }
}

/// The first characters of `text`, for an error message.
fn abbreviated(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A complex value: sub-attribute names made canonical, `readOnly` sub-attributes dropped
/// (RFC 7644 §3.3: the server ignores them), each sub-attribute typed.
fn canonical_complex(
    def: &AttributeDef,
    map: &Map<String, Value>,
    name: &str,
) -> ScimResult<Option<Value>> {
    let mut given: Vec<(&AttributeDef, &Value)> = Vec::with_capacity(map.len());
    for (key, value) in map {
        let sub = def.sub_attribute(key).ok_or_else(|| {
            ScimError::InvalidSyntax(format!("`{name}` has no sub-attribute `{key}`"))
        })?;
        if given.iter().any(|(seen, _)| seen.name == sub.name) {
            return Err(ScimError::InvalidSyntax(format!(
                "`{name}.{}` is given more than once",
                sub.name
            )));
        }
        given.push((sub, value));
    }
    let mut out = Map::new();
    for sub in &def.sub_attributes {
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        let Some((_, value)) = given.iter().find(|(seen, _)| seen.name == sub.name) else {
            continue;
        };
        if let Some(value) = canonical_attribute(sub, value, &format!("{name}.{}", sub.name))? {
            out.insert(sub.name.clone(), value);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    if let Some(missing) = def
        .sub_attributes
        .iter()
        .find(|sub| sub.required && sub.mutability != Mutability::ReadOnly)
        .filter(|sub| !out.contains_key(&sub.name))
    {
        return Err(ScimError::InvalidValue(format!(
            "`{name}.{}` is required",
            missing.name
        )));
    }
    Ok(Some(Value::Object(out)))
}

/// RFC 7643 §2.4: at most one value of a multi-valued attribute may have `primary` true.
pub(crate) fn check_single_primary(values: &[Value], name: &str) -> ScimResult<()> {
    let primaries = values.iter().filter(|value| is_primary(value)).count();
    if primaries > 1 {
        return Err(ScimError::InvalidValue(format!(
            "at most one value of `{name}` may have `primary` true, {primaries} do (RFC 7643 §2.4)"
        )));
    }
    Ok(())
}

/// Whether a canonical element carries `"primary": true`.
pub(crate) fn is_primary(value: &Value) -> bool {
    value.get("primary") == Some(&Value::Bool(true))
}

/// Whether two canonical values of `def` are the same value: strings compare ignoring case
/// unless the attribute is `caseExact` (RFC 7643 §2.3.1), complex values sub-attribute by
/// sub-attribute.
pub(crate) fn same_value(def: &AttributeDef, left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::String(l), Value::String(r)) if !def.is_case_exact() => {
            l.to_lowercase() == r.to_lowercase()
        }
        (Value::Array(l), Value::Array(r)) => {
            l.len() == r.len() && l.iter().zip(r).all(|(l, r)| same_value(def, l, r))
        }
        (Value::Object(l), Value::Object(r)) if def.is_complex() => {
            l.len() == r.len()
                && l.iter().all(|(key, l)| {
                    r.get(key).is_some_and(|r| match def.sub_attribute(key) {
                        Some(sub) => same_value(sub, l, r),
                        None => l == r,
                    })
                })
        }
        _ => left == right,
    }
}

/// Whether the canonical element `stored` holds every sub-attribute of `listed` with the same
/// value: how a listed value picks out stored values (Entra's member removal by value list).
pub(crate) fn contains_value(def: &AttributeDef, stored: &Value, listed: &Value) -> bool {
    match (stored, listed) {
        (Value::Object(stored), Value::Object(listed)) if def.is_complex() => {
            listed.iter().all(|(key, listed)| {
                stored
                    .get(key)
                    .is_some_and(|stored| match def.sub_attribute(key) {
                        Some(sub) => same_value(sub, stored, listed),
                        None => stored == listed,
                    })
            })
        }
        _ => same_value(def, stored, listed),
    }
}

fn parse_boolean(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn expected(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::String => "a string",
        AttributeType::Boolean => "a boolean",
        AttributeType::Decimal => "a number",
        AttributeType::Integer => "an integer",
        AttributeType::DateTime => "a dateTime string (RFC 3339, e.g. 2008-01-23T04:56:22Z)",
        AttributeType::Binary => "a base64 string",
        AttributeType::Reference => "a reference (a URI string)",
        AttributeType::Complex => "a complex value (a JSON object)",
    }
}

fn expected_plural(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::String => "strings",
        AttributeType::Boolean => "booleans",
        AttributeType::Decimal => "numbers",
        AttributeType::Integer => "integers",
        AttributeType::DateTime => "dateTime strings",
        AttributeType::Binary => "base64 strings",
        AttributeType::Reference => "references",
        AttributeType::Complex => "objects",
    }
}

/// What the client sent, in words; strings are quoted so `"yes"` for a boolean reads clearly.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(text) if text.chars().count() <= 40 => format!("the string {value}"),
        Value::String(_) => "a long string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}
