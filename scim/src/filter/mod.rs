//! SCIM filters (RFC 7644 §3.4.2.2): the AST, parsing, printing and evaluation.
//!
//! - `lexer`: characters to tokens, each with its character offset for error messages.
//! - `parser`: the grammar (precedence `not` > `and` > `or`, value paths, Entra's
//!   `emails[type eq "work"].value eq "x"` form).
//! - `print`: the canonical text form ([`std::fmt::Display`]), which parses back to the same AST.
//! - `eval`: matching against canonical resources, typed by the schema definitions.

mod eval;
mod lexer;
mod parser;
mod print;
#[cfg(test)]
mod proptests;

use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::schema::{AttributeDef, ResourceSchema};
use serde_json::{Map, Value};

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath compareOp compValue`
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The comparison.
        op: CompareOp,
        /// The literal compared against.
        value: CompValue,
    },
    /// `attrPath pr`
    Present(AttrPath),
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`
    Not(Box<Filter>),
    /// `attrPath "[" valFilter "]"`: the inner filter applies to each value of a multi-valued
    /// complex attribute; its paths name sub-attributes.
    ValuePath {
        /// The multi-valued (or complex) attribute.
        path: AttrPath,
        /// The filter each value is tested against.
        filter: Box<Filter>,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// greater than or equal
    Ge,
    /// less than
    Lt,
    /// less than or equal
    Le,
}

impl CompareOp {
    /// Every operator, in the order RFC 7644 §3.4.2.2 (table 3) lists them.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator's keyword, lower-case as RFC 7644 writes it.
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator spelled `word`; operators are case-insensitive (RFC 7644 §3.4.2.2).
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        CompareOp::ALL
            .into_iter()
            .find(|op| op.keyword().eq_ignore_ascii_case(word))
    }
}

/// A literal on the right of a comparison. `dateTime` literals are strings, compared as
/// instants when the attribute's type is `dateTime`.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string (unescaped).
    String(String),
}

/// Parses `text` as a filter.
///
/// Errors are [`crate::ScimError::InvalidFilter`] with the character offset where parsing
/// failed and what was expected there.
pub fn parse_filter(text: &str) -> ScimResult<Filter> {
    parser::parse(text)
}

impl Filter {
    /// Whether `resource` (a canonical resource) matches, resolving paths against `schema`.
    ///
    /// Paths and operator/type combinations are checked before any value is read, so a filter
    /// that names an unknown attribute fails the same way whatever the resource holds.
    pub fn matches(
        &self,
        resource: &Map<String, Value>,
        schema: &ResourceSchema,
    ) -> ScimResult<bool> {
        eval::matches(self, resource, schema)
    }

    /// Whether `resource` matches in a query over several resource types (the server root,
    /// RFC 7644 §3.4.2.1): an attribute `schema` lacks reads as having no value, so `pr` and
    /// `eq` on it are false and `ne` true. Check the filter first with
    /// [`Filter::check_across`].
    pub fn matches_across(
        &self,
        resource: &Map<String, Value>,
        schema: &ResourceSchema,
    ) -> ScimResult<bool> {
        eval::matches_across(self, resource, schema)
    }

    /// Checks the filter of a query over `schemas`: each attribute it names must belong to at
    /// least one of them, and bind (sub-attributes, operators, literals) in each that has it.
    pub fn check_across(&self, schemas: &[&ResourceSchema]) -> ScimResult<()> {
        for schema in schemas {
            self.matches_across(&Map::new(), schema)?;
        }
        self.each_attribute(&mut |path| {
            if schemas.iter().any(|schema| schema.has_attribute(path)) {
                Ok(())
            } else {
                let types: Vec<&str> = schemas.iter().map(|schema| schema.name).collect();
                Err(ScimError::UnsupportedFilter(format!(
                    "`{path}`: no resource type searched ({}) has this attribute",
                    types.join(", ")
                )))
            }
        })
    }

    /// Calls `visit` with the path of each comparison, presence test and value filter, not
    /// the sub-attribute paths inside a value filter.
    fn each_attribute(
        &self,
        visit: &mut impl FnMut(&AttrPath) -> ScimResult<()>,
    ) -> ScimResult<()> {
        match self {
            Filter::Compare { path, .. } | Filter::Present(path) => visit(path),
            Filter::ValuePath { path, .. } => visit(path),
            Filter::And(left, right) | Filter::Or(left, right) => {
                left.each_attribute(visit)?;
                right.each_attribute(visit)
            }
            Filter::Not(inner) => inner.each_attribute(visit),
        }
    }

    /// Whether one value of the complex attribute `parent` matches; paths in the filter name
    /// `parent`'s sub-attributes (used for `emails[type eq "work"]` and PATCH value paths).
    pub fn matches_element(&self, element: &Value, parent: &AttributeDef) -> ScimResult<bool> {
        eval::matches_element(self, element, parent)
    }
}
