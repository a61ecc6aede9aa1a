//! `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3).

use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::schema::{AttributeType, ResolvedAttribute, ResourceSchema, Returned};
use serde_json::Value;
use std::cmp::Ordering;

/// A sort request: the attribute to sort by and the direction.
#[derive(Debug, Clone)]
pub struct SortSpec {
    attribute: ResolvedAttribute,
    descending: bool,
}

impl SortSpec {
    /// Parses `sortBy` and `sortOrder`; `None` when no `sortBy` was given.
    ///
    /// `sortOrder` is `ascending` (default) or `descending`, matched case-insensitively.
    pub fn parse(
        sort_by: Option<&str>,
        sort_order: Option<&str>,
        schema: &ResourceSchema,
    ) -> ScimResult<Option<SortSpec>> {
        let descending = match sort_order.map(str::trim) {
            None | Some("") => false,
            Some(order) if order.eq_ignore_ascii_case("ascending") => false,
            Some(order) if order.eq_ignore_ascii_case("descending") => true,
            Some(order) => {
                return Err(ScimError::InvalidValue(format!(
                    "sortOrder must be `ascending` or `descending`, not `{order}`"
                )));
            }
        };
        let Some(sort_by) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let attribute = schema.resolve(&AttrPath::parse(sort_by)?)?;
        SortSpec::new(sort_by, attribute, descending).map(Some)
    }

    /// Parses `sortBy` and `sortOrder` for a query over several resource types (the server
    /// root): the attribute is resolved against the first of `schemas` that has it, and the
    /// resources of the others, having no value for it, sort as missing values do.
    pub fn parse_across(
        sort_by: Option<&str>,
        sort_order: Option<&str>,
        schemas: &[&ResourceSchema],
    ) -> ScimResult<Option<SortSpec>> {
        let mut first_error = None;
        for schema in schemas {
            match SortSpec::parse(sort_by, sort_order, schema) {
                Ok(sort) => return Ok(sort),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(None),
        }
    }

    fn new(sort_by: &str, attribute: ResolvedAttribute, descending: bool) -> ScimResult<SortSpec> {
        if attribute.target().returned == Returned::Never {
            // The order would give the values away (RFC 7643 §4.1.1).
            return Err(ScimError::InvalidValue(format!(
                "cannot sort by the write-only attribute `{sort_by}`"
            )));
        }
        if attribute.target().is_complex() && attribute.target().sub_attribute("value").is_none() {
            return Err(ScimError::InvalidValue(format!(
                "cannot sort by the complex attribute `{sort_by}`"
            )));
        }
        Ok(SortSpec {
            attribute,
            descending,
        })
    }

    /// Sorts rendered resources. Resources without a value sort last when ascending and first
    /// when descending: RFC 7644 §3.4.2.3 treats missing values as greater than any value.
    pub fn sort(&self, resources: &mut [Value]) {
        resources.sort_by(|a, b| self.compare(a, b));
    }

    /// How two rendered resources compare under this sort (see [`SortSpec::sort`]).
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        let ordering = compare_keys(&self.key(a), &self.key(b));
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }

    /// The value a resource sorts by: for a multi-valued attribute the primary value, else the
    /// first (RFC 7644 §3.4.2.3).
    fn key(&self, resource: &Value) -> Option<SortKey> {
        let map = resource.as_object()?;
        let mut value = self.attribute.value_in(map)?;
        if let Value::Array(values) = value {
            value = values
                .iter()
                .find(|v| v.get("primary").and_then(Value::as_bool) == Some(true))
                .or_else(|| values.first())?;
        }
        let leaf = match (self.attribute.sub_attribute, value) {
            (Some(sub), Value::Object(element)) => {
                crate::schema::get_ignore_case(element, &sub.name)?
            }
            (None, Value::Object(element)) => element.get("value")?,
            (_, leaf) => leaf,
        };
        let target = self.attribute.target();
        match leaf {
            Value::String(s) if target.kind == AttributeType::DateTime => {
                chrono::DateTime::parse_from_rfc3339(s)
                    .ok()
                    .map(|t| SortKey::Instant(t.timestamp_nanos_opt().unwrap_or(i64::MAX)))
            }
            Value::String(s) if target.is_case_exact() => Some(SortKey::Text(s.clone())),
            Value::String(s) => Some(SortKey::Text(s.to_lowercase())),
            Value::Number(n) => n.as_f64().map(SortKey::Number),
            Value::Bool(b) => Some(SortKey::Bool(*b)),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq, PartialOrd)]
enum SortKey {
    Bool(bool),
    Number(f64),
    Instant(i64),
    Text(String),
}

fn compare_keys(a: &Option<SortKey>, b: &Option<SortKey>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(resources: &[Value]) -> Vec<&str> {
        resources
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect()
    }

    fn users() -> Vec<Value> {
        vec![
            json!({"id": "b", "userName": "Bob", "meta": {"lastModified": "2026-01-02T00:00:00Z"}}),
            json!({"id": "none"}),
            json!({"id": "a", "userName": "alice", "meta": {"lastModified": "2026-01-03T00:00:00Z"},
                   "emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]}),
            json!({"id": "c", "userName": "Carol", "meta": {"lastModified": "2026-01-01T00:00:00+01:00"}}),
        ]
    }

    fn sorted(by: &str, order: Option<&str>) -> Vec<Value> {
        let spec = SortSpec::parse(Some(by), order, ResourceSchema::user())
            .unwrap()
            .unwrap();
        let mut resources = users();
        spec.sort(&mut resources);
        resources
    }

    #[test]
    fn user_name_sorts_case_insensitively_with_missing_last() {
        assert_eq!(names(&sorted("userName", None)), ["a", "b", "c", "none"]);
    }

    #[test]
    fn descending_reverses_and_puts_missing_first() {
        assert_eq!(
            names(&sorted("username", Some("DESCENDING"))),
            ["none", "c", "b", "a"]
        );
    }

    #[test]
    fn date_times_sort_as_instants() {
        assert_eq!(
            names(&sorted("meta.lastModified", None)),
            ["c", "b", "a", "none"]
        );
    }

    #[test]
    fn multi_valued_sorts_by_primary_value() {
        assert_eq!(names(&sorted("emails.value", None))[0], "a");
    }

    #[test]
    fn bad_sort_order_is_invalid_value() {
        let err = SortSpec::parse(Some("userName"), Some("sideways"), ResourceSchema::user())
            .unwrap_err();
        assert_eq!(err.scim_type(), Some("invalidValue"));
    }

    #[test]
    fn no_sort_by_means_no_sort() {
        assert!(
            SortSpec::parse(None, Some("descending"), ResourceSchema::user())
                .unwrap()
                .is_none()
        );
    }
}
