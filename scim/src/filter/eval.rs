//! Filter evaluation (RFC 7644 §3.4.2.2) against canonical resources.
//!
//! A filter is first bound to the schema: paths are resolved, literals are checked against
//! the attribute types, and each comparison becomes a typed [`Test`]. Every error comes from
//! binding, before any value is read, so a filter fails the same way on every resource and
//! evaluation itself cannot fail: a stored value of an unexpected shape just does not match.

use super::{CompValue, CompareOp, Filter};
use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::schema::{
    AttributeDef, AttributeType, ResolvedAttribute, ResourceSchema, Returned, get_ignore_case,
};
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;

/// Whether `resource` matches `filter`, paths resolved against `schema`.
pub(super) fn matches(
    filter: &Filter,
    resource: &Map<String, Value>,
    schema: &ResourceSchema,
) -> ScimResult<bool> {
    let bound = Binder::Resource(schema).bind(filter)?;
    Ok(bound.test(resource))
}

/// Like [`matches`], for a query over several resource types: a path `schema` lacks reads
/// as an attribute without a value (RFC 7644 §3.4.2.1).
pub(super) fn matches_across(
    filter: &Filter,
    resource: &Map<String, Value>,
    schema: &ResourceSchema,
) -> ScimResult<bool> {
    let bound = Binder::Across(schema).bind(filter)?;
    Ok(bound.test(resource))
}

/// Whether `element`, one value of the complex attribute `parent`, matches `filter`.
pub(super) fn matches_element(
    filter: &Filter,
    element: &Value,
    parent: &AttributeDef,
) -> ScimResult<bool> {
    if !parent.is_complex() {
        return Err(ScimError::UnsupportedFilter(format!(
            "`{}` is not complex; `[...]` filters select values of complex attributes",
            parent.name
        )));
    }
    let bound = Binder::Element(parent).bind(filter)?;
    Ok(element.as_object().is_some_and(|map| bound.test(map)))
}

/// What the paths of a filter are resolved against.
#[derive(Clone, Copy)]
enum Binder<'d> {
    /// A resource type: paths name its attributes.
    Resource(&'d ResourceSchema),
    /// One of several resource types a query covers: paths name its attributes, and a path
    /// it lacks is an attribute without a value.
    Across(&'d ResourceSchema),
    /// One value of a complex attribute: paths name its sub-attributes.
    Element(&'d AttributeDef),
}

/// A filter with its paths resolved and its literals typed.
enum Bound<'d> {
    Compare {
        target: Target<'d>,
        test: Test,
    },
    Present(Target<'d>),
    And(Box<Bound<'d>>, Box<Bound<'d>>),
    Or(Box<Bound<'d>>, Box<Bound<'d>>),
    Not(Box<Bound<'d>>),
    /// Some value of the complex attribute at `target` matches `filter`.
    ValuePath {
        target: Target<'d>,
        filter: Box<Bound<'d>>,
    },
    /// A test of an attribute the resource type does not have: its outcome is known.
    Known(bool),
}

/// Where the values a leaf looks at live.
#[derive(Clone, Copy)]
enum Anchor<'d> {
    /// A top-level (or extension) attribute of a resource.
    Resource(ResolvedAttribute),
    /// A sub-attribute, looked up in one element of its parent.
    Element(&'d AttributeDef),
}

/// The values a leaf of the filter looks at, and the definition that types them.
#[derive(Clone, Copy)]
struct Target<'d> {
    anchor: Anchor<'d>,
    /// The sub-attribute read from each value of the anchored attribute.
    sub_attribute: Option<&'d str>,
    definition: &'d AttributeDef,
}

/// A comparison with its literal checked against, and prepared for, the attribute's type.
enum Test {
    /// Strings; `literal` is already lower-cased when the attribute is not `caseExact`.
    Text {
        op: CompareOp,
        literal: String,
        case_exact: bool,
    },
    Number {
        op: CompareOp,
        literal: Number,
    },
    Boolean {
        op: CompareOp,
        literal: bool,
    },
    Instant {
        op: CompareOp,
        literal: DateTime<FixedOffset>,
    },
}

impl<'d> Binder<'d> {
    fn bind(self, filter: &Filter) -> ScimResult<Bound<'d>> {
        if let Some(path) = self.lacks(filter) {
            return absent(filter, path);
        }
        Ok(match filter {
            Filter::Compare { path, op, value } => self.bind_comparison(path, *op, value)?,
            Filter::Present(path) => Bound::Present(self.locate(path)?),
            Filter::And(left, right) => {
                Bound::And(Box::new(self.bind(left)?), Box::new(self.bind(right)?))
            }
            Filter::Or(left, right) => {
                Bound::Or(Box::new(self.bind(left)?), Box::new(self.bind(right)?))
            }
            Filter::Not(inner) => Bound::Not(Box::new(self.bind(inner)?)),
            Filter::ValuePath { path, filter } => self.bind_value_path(path, filter)?,
        })
    }

    /// The path of a leaf of `filter` that names an attribute this resource type lacks, when
    /// binding across several types.
    fn lacks(self, filter: &Filter) -> Option<&AttrPath> {
        let Binder::Across(schema) = self else {
            return None;
        };
        let path = match filter {
            Filter::Compare { path, .. } | Filter::Present(path) => path,
            Filter::ValuePath { path, .. } => path,
            Filter::And(..) | Filter::Or(..) | Filter::Not(_) => return None,
        };
        (!schema.has_attribute(path)).then_some(path)
    }

    fn locate(self, path: &AttrPath) -> ScimResult<Target<'d>> {
        match self {
            Binder::Resource(schema) | Binder::Across(schema) => {
                let resolved = schema.resolve(path).map_err(|err| match err {
                    ScimError::InvalidPath { path, reason } => {
                        ScimError::UnsupportedFilter(format!("`{path}`: {reason}"))
                    }
                    other => other,
                })?;
                if resolved.target().returned == Returned::Never {
                    return Err(write_only(path));
                }
                Ok(Target {
                    anchor: Anchor::Resource(resolved),
                    sub_attribute: resolved.sub_attribute.map(|sub| sub.name.as_str()),
                    definition: resolved.target(),
                })
            }
            Binder::Element(parent) => {
                if path.schema.is_some() || path.sub_attribute.is_some() {
                    return Err(ScimError::UnsupportedFilter(format!(
                        "`{path}`: inside `{}[...]` paths name sub-attributes of `{}`",
                        parent.name, parent.name
                    )));
                }
                let definition = parent.sub_attribute(&path.name).ok_or_else(|| {
                    ScimError::UnsupportedFilter(format!(
                        "`{}` has no sub-attribute `{}`",
                        parent.name, path.name
                    ))
                })?;
                Ok(Target {
                    anchor: Anchor::Element(definition),
                    sub_attribute: None,
                    definition,
                })
            }
        }
    }

    fn bind_comparison(
        self,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
    ) -> ScimResult<Bound<'d>> {
        let target = self.locate(path)?;
        if *value == CompValue::Null {
            // `null` is how a value is absent (RFC 7643 §2.5), so `eq null` asks for absence
            // and `ne null` for presence, of the whole attribute.
            return match op {
                CompareOp::Eq => Ok(Bound::Not(Box::new(Bound::Present(target)))),
                CompareOp::Ne => Ok(Bound::Present(target)),
                _ => Err(unsupported(
                    path,
                    format!("only `eq` and `ne` compare with null, not `{op}`"),
                )),
            };
        }
        let target = comparable(target, path)?;
        let test = Test::new(path, op, value, target.definition)?;
        Ok(Bound::Compare { target, test })
    }

    fn bind_value_path(self, path: &AttrPath, filter: &Filter) -> ScimResult<Bound<'d>> {
        if let Binder::Element(parent) = self {
            return Err(ScimError::UnsupportedFilter(format!(
                "`{path}[...]` inside `{}[...]`: value filters do not nest",
                parent.name
            )));
        }
        let target = self.locate(path)?;
        if !target.definition.is_complex() {
            return Err(unsupported(
                path,
                "`[...]` filters select values of complex attributes",
            ));
        }
        let filter = Binder::Element(target.definition).bind(filter)?;
        Ok(Bound::ValuePath {
            target,
            filter: Box::new(filter),
        })
    }
}

/// The target a comparison reads: a complex attribute compared without a sub-attribute
/// compares its `value` sub-attribute (`emails co "@example.com"`, RFC 7644 §3.4.2.2's
/// example; Entra's `manager eq "..."`, `personas.md` §1.1); other complex attributes can
/// only be tested with `pr`.
fn comparable<'d>(target: Target<'d>, path: &AttrPath) -> ScimResult<Target<'d>> {
    if !target.definition.is_complex() {
        return Ok(target);
    }
    match target.definition.sub_attribute("value") {
        Some(value) if target.sub_attribute.is_none() => Ok(Target {
            sub_attribute: Some(value.name.as_str()),
            definition: value,
            ..target
        }),
        _ => Err(unsupported(
            path,
            "a complex attribute is compared through one of its sub-attributes, or tested with `pr`",
        )),
    }
}

/// A leaf of a filter on an attribute without a value: `pr`, a value filter and every
/// comparison but `ne` are false (`ne null` too: it asks for presence).
fn absent<'d>(filter: &Filter, path: &AttrPath) -> ScimResult<Bound<'d>> {
    Ok(Bound::Known(match filter {
        Filter::Compare { op, value, .. } => match (op, value) {
            (CompareOp::Eq | CompareOp::Ne, CompValue::Null) => *op == CompareOp::Eq,
            (_, CompValue::Null) => {
                return Err(unsupported(
                    path,
                    format!("only `eq` and `ne` compare with null, not `{op}`"),
                ));
            }
            (op, _) => *op == CompareOp::Ne,
        },
        _ => false,
    }))
}

/// A filter on a `returned: never` attribute (`password`): matching on it, even by prefix or
/// order, would give its value away (RFC 7643 §4.1.1: it "SHALL NOT be returnable").
fn write_only(path: &AttrPath) -> ScimError {
    unsupported(
        path,
        "a write-only attribute is never returned, so it cannot be filtered on",
    )
}

fn unsupported(path: &AttrPath, reason: impl std::fmt::Display) -> ScimError {
    ScimError::UnsupportedFilter(format!("`{path}`: {reason}"))
}

impl Test {
    fn new(
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
        definition: &AttributeDef,
    ) -> ScimResult<Test> {
        let is_substring_op = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
        match definition.kind {
            AttributeType::Boolean => {
                if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    return Err(unsupported(
                        path,
                        format!("`{op}` does not apply to a boolean (only `eq`, `ne` and `pr` do)"),
                    ));
                }
                let literal = match value {
                    CompValue::Bool(literal) => *literal,
                    // Entra sends booleans as strings, in filters as in PATCH values:
                    // `roles[primary eq "True"]` (personas.md §1.1).
                    CompValue::String(text) if text.eq_ignore_ascii_case("true") => true,
                    CompValue::String(text) if text.eq_ignore_ascii_case("false") => false,
                    _ => {
                        return Err(unsupported(
                            path,
                            format!("a boolean is compared with true or false, not {value}"),
                        ));
                    }
                };
                Ok(Test::Boolean { op, literal })
            }
            AttributeType::Integer | AttributeType::Decimal => {
                if is_substring_op {
                    return Err(unsupported(
                        path,
                        format!("`{op}` applies to strings, and this attribute is a number"),
                    ));
                }
                match value {
                    CompValue::Number(literal) => Ok(Test::Number {
                        op,
                        literal: literal.clone(),
                    }),
                    _ => Err(unsupported(
                        path,
                        format!("a number is compared with a number, not {value}"),
                    )),
                }
            }
            AttributeType::DateTime => {
                let CompValue::String(text) = value else {
                    return Err(unsupported(
                        path,
                        format!(
                            "a dateTime is compared with a quoted RFC 3339 instant, not {value}"
                        ),
                    ));
                };
                if is_substring_op {
                    // RFC 7644 §3.4.2.2 defines `co`/`sw`/`ew` on the string form.
                    return Ok(Test::Text {
                        op,
                        literal: text.clone(),
                        case_exact: true,
                    });
                }
                let literal = parse_instant(text).ok_or_else(|| {
                    unsupported(path, format!("{value} is not an RFC 3339 dateTime"))
                })?;
                Ok(Test::Instant { op, literal })
            }
            AttributeType::Binary if is_ordering(op) => Err(unsupported(
                path,
                format!("`{op}` does not apply to binary values (RFC 7644 §3.4.2.2)"),
            )),
            AttributeType::String | AttributeType::Reference | AttributeType::Binary => {
                let CompValue::String(text) = value else {
                    return Err(unsupported(
                        path,
                        format!("a string is compared with a quoted string, not {value}"),
                    ));
                };
                let case_exact = definition.is_case_exact();
                Ok(Test::Text {
                    op,
                    literal: fold(text, case_exact),
                    case_exact,
                })
            }
            AttributeType::Complex => Err(unsupported(
                path,
                "a complex attribute is compared through one of its sub-attributes",
            )),
        }
    }

    fn op(&self) -> CompareOp {
        match self {
            Test::Text { op, .. }
            | Test::Number { op, .. }
            | Test::Boolean { op, .. }
            | Test::Instant { op, .. } => *op,
        }
    }

    /// Whether one stored value passes; values of another JSON type never do.
    fn accepts(&self, value: &Value) -> bool {
        match self {
            Test::Text {
                op,
                literal,
                case_exact,
            } => value.as_str().is_some_and(|text| {
                let text = fold(text, *case_exact);
                match op {
                    CompareOp::Co => text.contains(literal.as_str()),
                    CompareOp::Sw => text.starts_with(literal.as_str()),
                    CompareOp::Ew => text.ends_with(literal.as_str()),
                    _ => satisfies(*op, text.as_str().cmp(literal.as_str())),
                }
            }),
            Test::Number { op, literal } => match value {
                Value::Number(number) => {
                    compare_numbers(number, literal).is_some_and(|order| satisfies(*op, order))
                }
                _ => false,
            },
            Test::Boolean { op, literal } => value
                .as_bool()
                .is_some_and(|stored| satisfies(*op, stored.cmp(literal))),
            Test::Instant { op, literal } => value
                .as_str()
                .and_then(parse_instant)
                .is_some_and(|stored| satisfies(*op, stored.cmp(literal))),
        }
    }
}

/// Whether `op` orders values (`gt`, `ge`, `lt`, `le`).
fn is_ordering(op: CompareOp) -> bool {
    matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    )
}

/// Whether `order` (stored value against literal) satisfies an ordering operator.
fn satisfies(op: CompareOp, order: Ordering) -> bool {
    match op {
        CompareOp::Eq => order == Ordering::Equal,
        CompareOp::Ne => order != Ordering::Equal,
        CompareOp::Gt => order == Ordering::Greater,
        CompareOp::Ge => order != Ordering::Less,
        CompareOp::Lt => order == Ordering::Less,
        CompareOp::Le => order != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Case folding for attributes that are not `caseExact` (RFC 7643 §2.2); `to_lowercase`
/// also folds non-ASCII letters (`É` and `é`).
fn fold(text: &str, case_exact: bool) -> String {
    if case_exact {
        text.to_string()
    } else {
        text.to_lowercase()
    }
}

/// Exact for integers, by `f64` when either side has a fraction.
fn compare_numbers(left: &Number, right: &Number) -> Option<Ordering> {
    if let (Some(left), Some(right)) = (left.as_i64(), right.as_i64()) {
        return Some(left.cmp(&right));
    }
    if let (Some(left), Some(right)) = (left.as_u64(), right.as_u64()) {
        return Some(left.cmp(&right));
    }
    left.as_f64()?.partial_cmp(&right.as_f64()?)
}

/// An `xsd:dateTime` (RFC 7643 §2.3.5): RFC 3339, or without an offset, which reads as UTC.
fn parse_instant(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok().or_else(|| {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|naive| naive.and_utc().fixed_offset())
    })
}

impl Bound<'_> {
    /// Whether `scope` (a resource, or one element of a complex attribute) passes.
    fn test(&self, scope: &Map<String, Value>) -> bool {
        match self {
            Bound::Compare { target, test } => {
                let values = target.values(scope);
                // A missing attribute is "not equal" to anything; otherwise a multi-valued
                // attribute matches when any of its values does (RFC 7644 §3.4.2.2).
                (test.op() == CompareOp::Ne && values.is_empty())
                    || values.into_iter().any(|value| test.accepts(value))
            }
            Bound::Present(target) => target.values(scope).into_iter().any(is_present),
            Bound::And(left, right) => left.test(scope) && right.test(scope),
            Bound::Or(left, right) => left.test(scope) || right.test(scope),
            Bound::Not(inner) => !inner.test(scope),
            Bound::ValuePath { target, filter } => target
                .values(scope)
                .into_iter()
                .filter_map(Value::as_object)
                .any(|element| filter.test(element)),
            Bound::Known(outcome) => *outcome,
        }
    }
}

impl Target<'_> {
    /// The non-null values at this target: each value of a multi-valued attribute, and the
    /// sub-attribute of each when the target names one.
    fn values<'v>(&self, scope: &'v Map<String, Value>) -> Vec<&'v Value> {
        let attribute = match self.anchor {
            Anchor::Resource(resolved) => resolved.value_in(scope),
            Anchor::Element(definition) => get_ignore_case(scope, &definition.name),
        };
        let values = attribute.map(each_value).unwrap_or_default();
        let values = match self.sub_attribute {
            None => values,
            Some(sub) => values
                .into_iter()
                .filter_map(Value::as_object)
                .filter_map(|element| get_ignore_case(element, sub))
                .flat_map(each_value)
                .collect(),
        };
        values
            .into_iter()
            .filter(|value| !value.is_null())
            .collect()
    }
}

fn each_value(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(values) => values.iter().collect(),
        single => vec![single],
    }
}

/// `pr` (RFC 7644 §3.4.2.2): "has a non-empty value, or if it contains a non-empty node for
/// complex attributes".
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(values) => !values.is_empty(),
        Value::Object(map) => !map.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ScimError;
    use crate::filter::{Filter, parse_filter};
    use crate::schema::{ENTERPRISE_USER_SCHEMA, ResourceSchema};
    use serde_json::{Map, Value, json};

    fn user() -> Map<String, Value> {
        let value = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "Bjensen-EXT",
            "userName": "bjensen@example.com",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "displayName": "Babs \"B\" Jensen",
            "title": "Tour Guide",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "roles": [{"value": "admin", "primary": false}],
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z"
            },
            ENTERPRISE_USER_SCHEMA: {
                "employeeNumber": "701984",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
            }
        });
        value.as_object().unwrap().clone()
    }

    fn check(text: &str, resource: &Map<String, Value>) -> Result<bool, ScimError> {
        parse_filter(text)
            .unwrap_or_else(|err| panic!("{text}: {err}"))
            .matches(resource, ResourceSchema::user())
    }

    fn assert_matches(text: &str) {
        assert_eq!(check(text, &user()), Ok(true), "{text}");
    }

    fn assert_no_match(text: &str) {
        assert_eq!(check(text, &user()), Ok(false), "{text}");
    }

    fn assert_unsupported(text: &str) {
        let result = check(text, &user());
        assert!(
            matches!(result, Err(ScimError::UnsupportedFilter(_))),
            "{text}: {result:?}"
        );
    }

    #[test]
    fn strings_compare_ignoring_case_unless_case_exact() {
        assert_matches(r#"userName eq "BJensen@Example.com""#);
        assert_matches(r#"userName EQ "bjensen@example.com""#);
        // `externalId` and `id` are caseExact (RFC 7643 §3.1).
        assert_matches(r#"externalId eq "Bjensen-EXT""#);
        assert_no_match(r#"externalId eq "bjensen-ext""#);
        assert_no_match(r#"id eq "2819C223-7F76-453A-919D-413861904646""#);
    }

    #[test]
    fn non_ascii_folds_with_to_lowercase() {
        let mut resource = user();
        resource.insert("displayName".into(), json!("ÉLODIE"));
        assert_eq!(check(r#"displayName eq "élodie""#, &resource), Ok(true));
    }

    #[test]
    fn substring_operators() {
        assert_matches(r#"userName co "JENSEN""#);
        assert_matches(r#"userName sw "bjen""#);
        assert_matches(r#"userName ew ".COM""#);
        assert_no_match(r#"userName sw "jensen""#);
        assert_no_match(r#"userName ew "bjensen""#);
    }

    #[test]
    fn escaped_quotes_compare_as_the_plain_character() {
        assert_matches(r#"displayName eq "babs \"b\" jensen""#);
        let mut resource = user();
        resource.insert("userName".into(), json!("O'Brien"));
        assert_eq!(check(r#"userName eq "O'Brien""#, &resource), Ok(true));
    }

    #[test]
    fn ordering_on_strings_is_lexicographic_and_folded() {
        assert_matches(r#"title gt "TOUR""#);
        assert_matches(r#"title ge "tour guide""#);
        assert_matches(r#"title lt "u""#);
        assert_no_match(r#"title le "TOUR""#);
    }

    #[test]
    fn date_times_compare_as_instants() {
        assert_matches(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#);
        // The same instant written with another offset.
        assert_matches(r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#);
        assert_matches(r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#);
        assert_no_match(r#"meta.lastModified lt "2011-05-13T04:42:34.000Z""#);
        assert_matches(r#"meta.created lt "2011-01-01T00:00:00""#);
        assert_matches(r#"meta.lastModified sw "2011-05""#);
        assert_unsupported(r#"meta.lastModified gt "yesterday""#);
        assert_unsupported("meta.lastModified gt 5");
    }

    #[test]
    fn booleans_compare_with_eq_and_ne_only() {
        assert_matches("active eq true");
        assert_matches("active ne false");
        assert_no_match("active eq false");
        assert_unsupported("active gt false");
        assert_unsupported(r#"active co "t""#);
        assert_unsupported("active eq 1");
    }

    #[test]
    fn entra_string_booleans_compare_as_booleans() {
        assert_matches(r#"active eq "True""#);
        assert_matches(r#"roles[primary eq "False"]"#);
        assert_no_match(r#"roles[primary eq "True"]"#);
        assert_unsupported(r#"active eq "yes""#);
    }

    #[test]
    fn numbers_compare_numerically() {
        // No numeric attribute in the core schemas: a decimal one is made for the test.
        let mut weight = crate::schema::user_schema()
            .attribute("emails")
            .unwrap()
            .clone();
        weight.sub_attributes[0].kind = crate::schema::AttributeType::Decimal;
        let element = json!({"value": 2.5});
        let check = |text: &str| {
            parse_filter(text)
                .unwrap()
                .matches_element(&element, &weight)
        };
        assert_eq!(check("value gt 2"), Ok(true));
        assert_eq!(check("value lt 10"), Ok(true));
        assert_eq!(check("value eq 2.5"), Ok(true));
        assert_eq!(check("value le 2.4999"), Ok(false));
        assert_eq!(check("value ne 25e-1"), Ok(false));
        assert!(matches!(
            check(r#"value co "2""#),
            Err(ScimError::UnsupportedFilter(_))
        ));
        assert!(matches!(
            check(r#"value eq "2.5""#),
            Err(ScimError::UnsupportedFilter(_))
        ));
    }

    #[test]
    fn multi_valued_attributes_match_when_any_value_does() {
        assert_matches(r#"emails.value ew "jensen.org""#);
        assert_matches(r#"emails.type eq "home""#);
        assert_no_match(r#"emails.type eq "other""#);
    }

    #[test]
    fn complex_multi_valued_without_sub_attribute_compares_value() {
        assert_matches(r#"emails eq "babs@jensen.org""#);
        assert_matches(r#"emails co "@example.com""#);
        assert_no_match(r#"emails eq "work""#);
    }

    #[test]
    fn singular_complex_with_value_compares_value() {
        // Entra's manager check (personas.md §1.1).
        assert_matches(
            r#"id eq "2819c223-7f76-453a-919d-413861904646" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87E4-49D8CA9F808D""#,
        );
    }

    #[test]
    fn complex_without_value_sub_attribute_is_only_tested_with_pr() {
        assert_unsupported(r#"name eq "Barbara""#);
        assert_matches("name pr");
        assert_matches("name.givenName pr");
    }

    #[test]
    fn present_means_non_empty() {
        let mut resource = user();
        resource.insert("nickName".into(), json!(""));
        resource.insert("phoneNumbers".into(), json!([]));
        resource.insert("locale".into(), Value::Null);
        resource.insert("ims".into(), json!([{}]));
        for absent in [
            "nickName",
            "phoneNumbers",
            "locale",
            "ims",
            "timezone",
            "ims.value",
        ] {
            assert_eq!(
                check(&format!("{absent} pr"), &resource),
                Ok(false),
                "{absent}"
            );
        }
        for present in [
            "userName",
            "emails",
            "emails.primary",
            "active",
            "meta.lastModified",
        ] {
            assert_eq!(
                check(&format!("{present} pr"), &resource),
                Ok(true),
                "{present}"
            );
        }
    }

    #[test]
    fn ne_on_a_missing_attribute_is_true() {
        assert_matches(r#"nickName ne "x""#);
        assert_matches(r#"phoneNumbers.value ne "x""#);
        assert_no_match(r#"nickName eq "x""#);
    }

    #[test]
    fn null_asks_for_absence_or_presence() {
        assert_matches("nickName eq null");
        assert_no_match("userName eq null");
        assert_matches("userName ne null");
        assert_matches("name.middleName eq null");
        assert_no_match("name eq null");
        assert_no_match("emails eq null");
        assert_unsupported("userName gt null");
    }

    #[test]
    fn urn_qualified_paths_read_the_extension() {
        assert_matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        );
        assert_matches(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "jensen""#);
        assert_no_match(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
        );
    }

    #[test]
    fn value_path_requires_one_value_to_match_every_term() {
        assert_matches(r#"emails[type eq "work" and value co "@example.com"]"#);
        // Both terms hold, but on different values.
        assert_no_match(r#"emails[type eq "work" and value co "jensen.org"]"#);
        assert_matches(r#"emails[not (type eq "work")]"#);
        assert_no_match(r#"phoneNumbers[type pr]"#);
    }

    #[test]
    fn entra_value_path_with_trailing_sub_attribute() {
        assert_matches(r#"emails[type eq "work"].value eq "BJENSEN@example.com""#);
        assert_no_match(r#"emails[type eq "work"].value eq "babs@jensen.org""#);
    }

    #[test]
    fn logical_operators_combine() {
        assert_matches(r#"title pr and userType pr or userName sw "b""#);
        assert_no_match(r#"title pr and (userType pr or userName sw "x")"#);
        assert_matches(r#"not (userName eq "x") and active eq true"#);
    }

    #[test]
    fn attribute_names_ignore_case_in_filter_and_resource() {
        let mut resource = Map::new();
        resource.insert("USERNAME".into(), json!("a"));
        assert_eq!(check(r#"username eq "A""#, &resource), Ok(true));
    }

    #[test]
    fn unknown_attributes_are_unsupported_even_when_absent() {
        assert_unsupported(r#"shoeSize eq "42""#);
        assert_unsupported(r#"emails[colour eq "red"]"#);
        assert_unsupported(r#"urn:example:unknown:2.0:User:x pr"#);
        // Checked before evaluation, so `or` cannot hide the bad term.
        assert_unsupported(r#"userName pr or shoeSize eq "42""#);
        let empty = Map::new();
        assert!(check(r#"emails[colour eq "red"]"#, &empty).is_err());
    }

    #[test]
    fn value_path_on_a_simple_attribute_is_unsupported() {
        assert_unsupported(r#"userName[value eq "x"]"#);
        assert_unsupported(r#"emails.value[type pr]"#);
    }

    #[test]
    fn literal_types_must_fit_the_attribute() {
        assert_unsupported("userName eq 42");
        assert_unsupported("userName eq true");
    }

    #[test]
    fn wrong_shapes_in_stored_json_do_not_match() {
        let resource = json!({
            "userName": 42,
            "active": "true",
            "emails": "not-a-list",
            "name": ["Jensen"],
            "roles": [null, 7, {"value": ["admin"]}],
            "meta": {"lastModified": "not a date"},
            ENTERPRISE_USER_SCHEMA: "flat"
        });
        let resource = resource.as_object().unwrap();
        for text in [
            r#"userName eq "42""#,
            "active eq true",
            r#"emails[type eq "work"]"#,
            r#"emails.value eq "x""#,
            r#"name.familyName eq "Jensen""#,
            r#"meta.lastModified gt "2000-01-01T00:00:00Z""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr"#,
        ] {
            assert_eq!(check(text, resource), Ok(false), "{text}");
        }
        // A nested array is read one level deep, so the role still counts.
        assert_eq!(check(r#"roles eq "admin""#, resource), Ok(true));
    }

    #[test]
    fn matches_element_reads_sub_attributes_of_the_parent() {
        let members = crate::schema::group_schema().attribute("members").unwrap();
        let filter = parse_filter(r#"value eq "2819c223" and type pr"#).unwrap();
        let element = json!({"value": "2819c223", "type": "User"});
        assert_eq!(filter.matches_element(&element, members), Ok(true));
        assert_eq!(
            filter.matches_element(&json!({"value": "x"}), members),
            Ok(false)
        );
        assert_eq!(
            filter.matches_element(&json!("2819c223"), members),
            Ok(false)
        );
    }

    #[test]
    fn matches_element_refuses_paths_outside_the_parent() {
        let members = crate::schema::group_schema().attribute("members").unwrap();
        let element = json!({"value": "x"});
        for filter in [
            Filter::Present(crate::AttrPath::new("colour")),
            Filter::Present(crate::AttrPath::new("members").with_sub_attribute("value")),
            parse_filter(r#"emails[value pr]"#).unwrap(),
        ] {
            assert!(
                matches!(
                    filter.matches_element(&element, members),
                    Err(ScimError::UnsupportedFilter(_))
                ),
                "{filter}"
            );
        }
        let user_name = crate::schema::user_schema().attribute("userName").unwrap();
        assert!(
            parse_filter("value pr")
                .unwrap()
                .matches_element(&element, user_name)
                .is_err()
        );
    }

    #[test]
    fn binary_values_refuse_ordering_operators() {
        for op in ["gt", "ge", "lt", "le"] {
            assert_unsupported(&format!(r#"x509Certificates.value {op} "a""#));
            assert_unsupported(&format!(r#"x509Certificates[value {op} "a"]"#));
        }
        assert_no_match(r#"x509Certificates.value eq "TUlJ""#);
    }

    #[test]
    fn across_types_an_attribute_the_type_lacks_has_no_value() {
        let group = json!({"displayName": "admins", "members": [{"value": "u1"}]});
        let group = group.as_object().unwrap();
        let check = |text: &str| {
            parse_filter(text)
                .unwrap()
                .matches_across(group, ResourceSchema::group())
        };
        assert_eq!(check(r#"userName eq "a""#), Ok(false));
        assert_eq!(check(r#"userName ne "a""#), Ok(true));
        assert_eq!(check("userName pr"), Ok(false));
        assert_eq!(check("not (userName pr)"), Ok(true));
        assert_eq!(check("userName eq null"), Ok(true));
        assert_eq!(check("userName ne null"), Ok(false));
        assert_eq!(check(r#"emails[type eq "work"]"#), Ok(false));
        assert_eq!(check(r#"userName sw "a" or displayName sw "ad""#), Ok(true));
        // What the type has is still checked.
        assert!(check(r#"displayName gt 3"#).is_err());
        assert!(check(r#"members.colour eq "x""#).is_err());
        assert!(check(r#"userName gt null"#).is_err());
    }

    #[test]
    fn across_types_each_attribute_belongs_to_some_type() {
        let both = [ResourceSchema::user(), ResourceSchema::group()];
        let check = |text: &str| parse_filter(text).unwrap().check_across(&both);
        assert_eq!(check("userName pr or members pr"), Ok(()));
        assert_eq!(
            check(r#"emails[type eq "work"] and not (displayName pr)"#),
            Ok(())
        );
        for unknown in ["shoeSize pr", r#"userName pr and shoeSize eq "9""#] {
            assert!(
                matches!(check(unknown), Err(ScimError::UnsupportedFilter(_))),
                "{unknown}"
            );
        }
        assert!(check(r#"emails[colour eq "x"]"#).is_err());
    }
}
