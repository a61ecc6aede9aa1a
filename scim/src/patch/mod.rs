//! PATCH requests (RFC 7644 §3.5.2): parsing, and atomic application to a canonical resource.
//!
//! - this module: the request, its operations and their paths, parsed from the wire.
//! - `apply`: the semantics of `add`, `replace` and `remove`, including the non-RFC shapes
//!   real clients send (Entra's capitalised ops, string booleans, dotted and URN keys in
//!   path-less values, member removal by value list: personas.md §1.1; Okta's path-less
//!   `replace` repeating `id`: personas.md §2.1).

mod apply;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use apply::apply_patch;

use crate::error::{ScimError, ScimResult};
use crate::filter::{Filter, parse_filter};
use crate::path::{AttrPath, is_attr_name};
use crate::schema::get_ignore_case;
use serde_json::Value;
use std::fmt;

/// URN of a PATCH request body (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A parsed PATCH request: operations applied in order, all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, in request order.
    pub operations: Vec<PatchOperation>,
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// What to do.
    pub op: PatchOp,
    /// Where; `None` means the value names the attributes (add and replace only).
    pub path: Option<PatchPath>,
    /// The value; JSON `null` is kept, and means "unassigned" (RFC 7643 §2.5).
    pub value: Option<Value>,
}

/// The kind of a PATCH operation (RFC 7644 §3.5.2.1-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    /// Add values, merge sub-attributes, or set an unassigned attribute.
    Add,
    /// Replace values.
    Replace,
    /// Remove values.
    Remove,
}

impl PatchOp {
    /// The operation spelled `word`, compared ignoring case: Entra sends `Add`, `Replace`,
    /// `Remove` (personas.md §1.1, "Update user").
    pub fn from_keyword(word: &str) -> Option<PatchOp> {
        [PatchOp::Add, PatchOp::Replace, PatchOp::Remove]
            .into_iter()
            .find(|op| op.keyword().eq_ignore_ascii_case(word))
    }

    /// The keyword, lower-case as RFC 7644 writes it.
    pub fn keyword(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Replace => "replace",
            PatchOp::Remove => "remove",
        }
    }
}

/// A PATCH `path`: `attrPath`, or `attrPath "[" valFilter "]" ["." subAttr]` (RFC 7644 §3.5.2).
///
/// `attribute` carries the sub-attribute in both forms, so `emails[type eq "work"].value` is
/// the path `emails.value` narrowed by the filter `type eq "work"` on the values of `emails`.
/// A bare extension URN (`urn:...:enterprise:2.0:User`) parses as a URN-qualified path whose
/// prefix and name spell the URN; it is recognised when the path is applied, because only the
/// resource type knows its extensions.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute, and the sub-attribute the path ends at, if any.
    pub attribute: AttrPath,
    /// The filter selecting values of a multi-valued complex attribute.
    pub value_filter: Option<Filter>,
}

impl PatchPath {
    /// Parses a PATCH `path`.
    ///
    /// Malformed paths are [`ScimError::InvalidPath`]; a malformed value filter is
    /// [`ScimError::InvalidFilter`] with its position counted in the whole path.
    pub fn parse(text: &str) -> ScimResult<PatchPath> {
        let invalid = |reason: &str| ScimError::InvalidPath {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let Some(open) = text.find('[') else {
            return Ok(PatchPath {
                attribute: AttrPath::parse(text)?,
                value_filter: None,
            });
        };
        let (head, bracketed) = text.split_at(open);
        let close = closing_bracket(bracketed).ok_or_else(|| invalid("`[` has no matching `]`"))?;
        let mut attribute = AttrPath::parse(head).map_err(|_| {
            invalid("a value filter must follow an attribute name, e.g. `emails[type eq \"work\"]`")
        })?;
        if attribute.sub_attribute.is_some() {
            return Err(invalid(
                "a value filter follows the attribute name, before any sub-attribute",
            ));
        }
        let inner = bracketed.get(1..close).unwrap_or_default();
        let filter_offset = head.chars().count() + 1;
        let filter = parse_filter(inner).map_err(|err| match err {
            ScimError::InvalidFilter { position, expected } => ScimError::InvalidFilter {
                position: position + filter_offset,
                expected,
            },
            other => other,
        })?;
        let rest = bracketed.get(close + 1..).unwrap_or_default();
        if !rest.is_empty() {
            let sub = rest
                .strip_prefix('.')
                .filter(|sub| is_attr_name(sub))
                .ok_or_else(|| invalid("only `.subAttribute` may follow a value filter"))?;
            attribute.sub_attribute = Some(sub.to_string());
        }
        Ok(PatchPath {
            attribute,
            value_filter: Some(filter),
        })
    }
}

/// The byte offset of the `]` closing the `[` at the start of `text`, skipping quoted strings
/// (a filter literal may contain `]`).
fn closing_bracket(text: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (offset, c) in text.char_indices().skip(1) {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') | (false, _, '"') => in_string = !in_string,
            (false, _, ']') => return Some(offset),
            _ => {}
        }
    }
    None
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(filter) = &self.value_filter else {
            return self.attribute.fmt(f);
        };
        if let Some(schema) = &self.attribute.schema {
            write!(f, "{schema}:")?;
        }
        write!(f, "{}[{filter}]", self.attribute.name)?;
        if let Some(sub) = &self.attribute.sub_attribute {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl PatchRequest {
    /// Parses a PATCH body (RFC 7644 §3.5.2).
    ///
    /// `schemas` must list the PatchOp URN and `Operations` must be a non-empty array. Member
    /// names and `op` values match ignoring case. Add and replace need a `value`, which must be
    /// an object when there is no `path`; remove needs a `path` (`noTarget` otherwise,
    /// RFC 7644 §3.5.2.2).
    pub fn parse(body: &Value) -> ScimResult<PatchRequest> {
        let syntax = |message: &str| ScimError::InvalidSyntax(message.to_string());
        let body = body
            .as_object()
            .ok_or_else(|| syntax("a PATCH body must be a JSON object"))?;
        let lists_patch_op = get_ignore_case(body, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|schemas| {
                schemas
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|uri| uri.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            });
        if !lists_patch_op {
            return Err(syntax(&format!(
                "a PATCH body's `schemas` must list `{PATCH_OP_SCHEMA}`"
            )));
        }
        let operations = get_ignore_case(body, "Operations")
            .and_then(Value::as_array)
            .filter(|operations| !operations.is_empty())
            .ok_or_else(|| syntax("`Operations` must be a non-empty array"))?;
        let operations = operations
            .iter()
            .enumerate()
            .map(|(index, operation)| PatchOperation::parse(operation, index))
            .collect::<ScimResult<Vec<_>>>()?;
        Ok(PatchRequest { operations })
    }
}

impl PatchOperation {
    fn parse(operation: &Value, index: usize) -> ScimResult<PatchOperation> {
        let syntax =
            |message: String| ScimError::InvalidSyntax(format!("Operations[{index}]: {message}"));
        let operation = operation
            .as_object()
            .ok_or_else(|| syntax("an operation must be a JSON object".into()))?;
        let op = match get_ignore_case(operation, "op") {
            Some(Value::String(word)) => PatchOp::from_keyword(word).ok_or_else(|| {
                syntax(format!("`op` must be add, replace or remove, not `{word}`"))
            })?,
            _ => return Err(syntax("`op` must be add, replace or remove".into())),
        };
        let path = match get_ignore_case(operation, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(PatchPath::parse(text)?),
            Some(_) => return Err(syntax("`path` must be a string".into())),
        };
        let value = get_ignore_case(operation, "value").cloned();
        match (op, &path, &value) {
            (PatchOp::Remove, None, _) => Err(ScimError::NoTarget(format!(
                "Operations[{index}]: a remove operation needs a `path` (RFC 7644 §3.5.2.2)"
            ))),
            (PatchOp::Add | PatchOp::Replace, _, None) => {
                Err(syntax(format!("`{}` needs a `value`", op.keyword())))
            }
            (PatchOp::Add | PatchOp::Replace, None, Some(value)) if !value.is_object() => {
                Err(syntax(format!(
                    "without a `path`, the `value` of `{}` must be an object of attributes",
                    op.keyword()
                )))
            }
            _ => Ok(PatchOperation { op, path, value }),
        }
    }
}
