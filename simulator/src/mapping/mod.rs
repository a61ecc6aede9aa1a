//! Attribute mapping: an IdP's native attributes to SCIM paths, as its admin console shows
//! them (a source attribute, a constant, or an expression such as
//! `Switch([IsSoftDeleted], , "False", "True", "True", "False")`; seed 000, personas.md §1.1).
//!
//! - this module: mapping rules as the persona file writes them, and mapping one record.
//! - `expression`: the expression language.
//! - `target`: SCIM target paths and writing values at them into a body.

mod expression;
mod target;

pub use expression::{Expression, ExpressionError, Function, string_form};
pub use target::TargetPath;

use idpsim_scim::schema::AttributeType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where a mapped value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum MappedValue {
    /// A native attribute, by name (dotted for nested ones: `address.locality`).
    Native(String),
    /// An expression over native attributes.
    Expression(Expression),
    /// A constant.
    Constant(Value),
    /// A native attribute naming another person (by directory key): the value sent is that
    /// person's SCIM id, once it has one (Entra's `manager`, sent after the referenced user
    /// exists: personas.md §1.1, "Create user").
    Reference(String),
}

/// One mapping rule of a persona file (or of a directory's overrides).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "RawMapping", into = "RawMapping")]
pub struct AttributeMapping {
    /// The SCIM path, as written in the file.
    pub scim: String,
    /// Where the value comes from.
    pub value: MappedValue,
    /// Sub-attributes a newly made multi-valued element also gets (`primary = true`).
    pub create_with: Option<Map<String, Value>>,
    /// Entra's matching precedence, when this attribute is a matching attribute.
    pub matching_precedence: Option<u32>,
    /// Where the mapping is documented.
    pub source: String,
    /// True when no source confirms it.
    pub unconfirmed: bool,
}

/// An attribute the IdP computes from others (Entra's `IsSoftDeleted`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawComputed")]
pub struct ComputedAttribute {
    /// How it is computed.
    pub expression: Expression,
    /// Where that is documented.
    pub source: String,
    /// True when no source confirms it.
    pub unconfirmed: bool,
}

/// A mapping rule with its target resolved against the SCIM schema.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingRule {
    /// The resolved target.
    pub target: TargetPath,
    /// The rule as written.
    pub mapping: AttributeMapping,
}

/// A record's mapped SCIM values by target path text; never holds `null`.
pub type MappedValues = BTreeMap<String, Value>;

/// A value that the target attribute's type cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{target}` cannot hold {value} (expected {expected})")]
pub struct MappingError {
    /// The SCIM path.
    pub target: String,
    /// The value produced.
    pub value: String,
    /// The type the path wants.
    pub expected: String,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    scim: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    native: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constant: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_with: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matching_precedence: Option<u32>,
    source: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unconfirmed: bool,
}

impl From<AttributeMapping> for RawMapping {
    fn from(mapping: AttributeMapping) -> RawMapping {
        let (mut native, mut expression, mut constant, mut reference) = (None, None, None, None);
        match mapping.value {
            MappedValue::Native(name) => native = Some(name),
            MappedValue::Expression(parsed) => expression = Some(parsed.to_string()),
            MappedValue::Constant(value) => constant = Some(value),
            MappedValue::Reference(name) => reference = Some(name),
        }
        RawMapping {
            scim: mapping.scim,
            native,
            expression,
            constant,
            reference,
            create_with: mapping.create_with,
            matching_precedence: mapping.matching_precedence,
            source: mapping.source,
            unconfirmed: mapping.unconfirmed,
        }
    }
}

/// A directory's own mappings for one IdP block: a rule for a SCIM path the persona also
/// maps replaces the persona's, a rule for a new path is added (the admin console's "edit
/// attribute mapping", seed 003 "exact attribute names may vary").
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MappingOverrides {
    /// User mapping rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user: Vec<AttributeMapping>,
    /// Group mapping rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<AttributeMapping>,
}

/// `mappings` with their targets resolved against `schema`; an error names the index of the
/// rule and what is wrong with its path.
pub fn compile_rules(
    mappings: &[AttributeMapping],
    schema: &idpsim_scim::ResourceSchema,
) -> Result<Vec<MappingRule>, (usize, String)> {
    mappings
        .iter()
        .enumerate()
        .map(|(index, mapping)| {
            TargetPath::parse(&mapping.scim, schema)
                .map(|target| MappingRule {
                    target,
                    mapping: mapping.clone(),
                })
                .map_err(|message| (index, message))
        })
        .collect()
}

/// `base` with `overrides` applied: same target path replaces, a new one is appended.
pub fn override_rules(base: &[MappingRule], overrides: &[MappingRule]) -> Vec<MappingRule> {
    let mut rules = base.to_vec();
    for rule in overrides {
        match rules
            .iter_mut()
            .find(|existing| existing.target.text.eq_ignore_ascii_case(&rule.target.text))
        {
            Some(existing) => *existing = rule.clone(),
            None => rules.push(rule.clone()),
        }
    }
    rules
}

impl TryFrom<RawMapping> for AttributeMapping {
    type Error = String;

    fn try_from(raw: RawMapping) -> Result<Self, String> {
        let value = match (raw.native, raw.expression, raw.constant, raw.reference) {
            (Some(name), None, None, None) => MappedValue::Native(name),
            (None, Some(text), None, None) => MappedValue::Expression(
                Expression::parse(&text).map_err(|error| error.to_string())?,
            ),
            (None, None, Some(constant), None) => MappedValue::Constant(constant),
            (None, None, None, Some(name)) => MappedValue::Reference(name),
            _ => {
                return Err(format!(
                    "mapping to `{}` needs exactly one of `native`, `expression`, `constant`, `reference`",
                    raw.scim
                ));
            }
        };
        Ok(AttributeMapping {
            scim: raw.scim,
            value,
            create_with: raw.create_with,
            matching_precedence: raw.matching_precedence,
            source: raw.source,
            unconfirmed: raw.unconfirmed,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComputed {
    expression: String,
    source: String,
    #[serde(default)]
    unconfirmed: bool,
}

impl TryFrom<RawComputed> for ComputedAttribute {
    type Error = String;

    fn try_from(raw: RawComputed) -> Result<Self, String> {
        Ok(ComputedAttribute {
            expression: Expression::parse(&raw.expression).map_err(|error| error.to_string())?,
            source: raw.source,
            unconfirmed: raw.unconfirmed,
        })
    }
}

/// A native record (one directory block) with the IdP's computed attributes.
#[derive(Debug, Clone, Copy)]
pub struct NativeRecord<'a> {
    /// The block's attributes.
    pub attributes: &'a Map<String, Value>,
    /// The persona's computed attributes.
    pub computed: &'a BTreeMap<String, ComputedAttribute>,
}

impl NativeRecord<'_> {
    /// The value of `name`: a computed attribute, or a (dotted) native one; `null` is absent.
    pub fn get(&self, name: &str) -> Option<Value> {
        if let Some(computed) = self.computed.get(name) {
            return computed.expression.evaluate(&|inner| self.native(inner));
        }
        self.native(name)
    }

    fn native(&self, name: &str) -> Option<Value> {
        let mut parts = name.split('.');
        let mut current = self.attributes.get(parts.next()?)?;
        for part in parts {
            current = current.get(part)?;
        }
        (!current.is_null()).then(|| current.clone())
    }
}

/// Maps `record` through `rules`. Absent values are omitted, never sent as null (personas.md
/// §1.1, "Create user": Entra cannot provision nulls). `resolve_reference` turns a person key
/// into that person's SCIM id; an unresolved reference is omitted until it resolves.
pub fn map_record(
    rules: &[MappingRule],
    record: NativeRecord<'_>,
    resolve_reference: &dyn Fn(&str) -> Option<String>,
) -> Result<MappedValues, MappingError> {
    let mut mapped = MappedValues::new();
    for rule in rules {
        let produced = match &rule.mapping.value {
            MappedValue::Native(name) => record.get(name),
            MappedValue::Expression(expression) => expression.evaluate(&|name| record.get(name)),
            MappedValue::Constant(constant) => Some(constant.clone()),
            MappedValue::Reference(name) => record
                .get(name)
                .and_then(|key| key.as_str().and_then(resolve_reference))
                .map(Value::String),
        };
        let Some(produced) = produced else {
            continue;
        };
        if let Some(value) = coerce(&rule.target, produced)? {
            mapped.insert(rule.target.text.clone(), value);
        }
    }
    Ok(mapped)
}

/// `value` as the target's SCIM type; `None` when there is nothing to send (empty list).
fn coerce(target: &TargetPath, value: Value) -> Result<Option<Value>, MappingError> {
    let value = match value {
        Value::Array(items) => match items.into_iter().find(|item| !item.is_null()) {
            Some(first) => first,
            None => return Ok(None),
        },
        Value::Null => return Ok(None),
        other => other,
    };
    let fail = |expected: &str, value: &Value| MappingError {
        target: target.text.clone(),
        value: value.to_string(),
        expected: expected.to_owned(),
    };
    let coerced = match target.kind {
        AttributeType::Boolean => match &value {
            Value::Bool(_) => value,
            Value::String(text) if text.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(text) if text.eq_ignore_ascii_case("false") => Value::Bool(false),
            other => return Err(fail("a boolean", other)),
        },
        AttributeType::Integer | AttributeType::Decimal => match &value {
            Value::Number(_) => value,
            Value::String(text) => text
                .trim()
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .map_err(|_| fail("a number", &value))?,
            other => return Err(fail("a number", other)),
        },
        AttributeType::Complex => match value {
            Value::Object(_) | Value::String(_) => value,
            other => return Err(fail("an id", &other)),
        },
        _ => match value {
            Value::String(_) => value,
            Value::Object(_) => return Err(fail("a string", &value)),
            other => Value::String(string_form(&other)),
        },
    };
    Ok(Some(coerced))
}

#[cfg(test)]
mod tests;
