//! Reading and comparing JSON response bodies the way SCIM defines them: attribute names are
//! case-insensitive (RFC 7643 §2.1), extension attributes are addressed by their schema URN
//! (RFC 7644 §3.10), and multi-valued attributes are picked by a value filter.
//!
//! Paths are written as in SCIM with two additions for tests: a numeric segment indexes an
//! array (`Resources.0.id`), and a bracket selector picks the first element whose
//! sub-attribute equals a JSON literal (`emails[type eq "work"].value`).

use serde_json::{Map, Value};

/// A path or an expectation that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// The attribute path is malformed.
    #[error("cannot read the attribute path `{path}`: {reason}")]
    Path {
        /// The path as written in the feature.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The expectation after the path is not one the suite knows.
    #[error("cannot read the expectation `{text}`: {reason}")]
    Expectation {
        /// The expectation as written in the feature.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    /// An object member, matched case-insensitively.
    Key(String),
    /// An array element by position.
    Index(usize),
    /// The first array element whose `attribute` equals `value`.
    Select { attribute: String, value: Value },
}

/// Finds the value at `path` in `document`; `Ok(None)` when it is not there.
pub fn lookup<'a>(document: &'a Value, path: &str) -> Result<Option<&'a Value>, MatchError> {
    let segments = parse_path(path)?;
    let mut current = document;
    for segment in &segments {
        let next = match segment {
            Segment::Key(key) => current.as_object().and_then(|map| member(map, key)),
            Segment::Index(index) => current.as_array().and_then(|items| items.get(*index)),
            Segment::Select { attribute, value } => current.as_array().and_then(|items| {
                items.iter().find(|item| {
                    item.as_object()
                        .and_then(|map| member(map, attribute))
                        .is_some_and(|found| found == value)
                })
            }),
        };
        match next {
            Some(value) => current = value,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// The member `key` of `map`: the exact name first, then any case (RFC 7643 §2.1).
pub fn member<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

/// Whether `actual` holds everything `expected` holds: objects member by member (names
/// case-insensitive, extra members allowed), arrays element by element (each expected
/// element is contained in some actual element, in any order), scalars by equality. An
/// expected `null` also matches a missing member, since SCIM omits unassigned attributes.
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match expected {
        Value::Object(expected_map) => actual.as_object().is_some_and(|actual_map| {
            expected_map
                .iter()
                .all(|(key, expected_value)| match member(actual_map, key) {
                    Some(actual_value) => contains(actual_value, expected_value),
                    None => expected_value.is_null(),
                })
        }),
        Value::Array(expected_items) => actual.as_array().is_some_and(|actual_items| {
            expected_items
                .iter()
                .all(|wanted| actual_items.iter().any(|item| contains(item, wanted)))
        }),
        scalar => actual == scalar,
    }
}

fn parse_path(path: &str) -> Result<Vec<Segment>, MatchError> {
    let error = |reason: &str| MatchError::Path {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if path.is_empty() {
        return Err(error("it is empty"));
    }
    let mut segments = Vec::new();
    let mut rest = path;
    // An extension attribute is `URN:attribute` (RFC 7644 §3.10): the URN holds dots
    // (`...:2.0:User`), so it ends at the last colon before any bracket.
    if rest
        .get(..4)
        .is_some_and(|start| start.eq_ignore_ascii_case("urn:"))
    {
        let head = rest.find('[').map_or(rest, |bracket| &rest[..bracket]);
        let colon = head
            .rfind(':')
            .ok_or_else(|| error("a URN needs an attribute after its last colon"))?;
        segments.push(Segment::Key(rest[..colon].to_owned()));
        rest = &rest[colon + 1..];
    }
    while !rest.is_empty() {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let name = &rest[..end];
        if name.is_empty() {
            return Err(error("an attribute name is missing"));
        }
        segments.push(match name.parse::<usize>() {
            Ok(index) => Segment::Index(index),
            Err(_) => Segment::Key(name.to_owned()),
        });
        rest = &rest[end..];
        if let Some(selector_and_more) = rest.strip_prefix('[') {
            let close =
                closing_bracket(selector_and_more).ok_or_else(|| error("a `[` is not closed"))?;
            segments.push(
                parse_selector(&selector_and_more[..close]).map_err(|reason| error(&reason))?,
            );
            rest = &selector_and_more[close + 1..];
        }
        if let Some(after_dot) = rest.strip_prefix('.') {
            if after_dot.is_empty() {
                return Err(error("it ends with a dot"));
            }
            rest = after_dot;
        } else if !rest.is_empty() {
            return Err(error("expected `.` after `]`"));
        }
    }
    Ok(segments)
}

/// The byte offset of the `]` closing a selector, skipping brackets inside string literals.
fn closing_bracket(text: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (offset, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(offset),
            _ => {}
        }
    }
    None
}

/// `attribute eq LITERAL`, where LITERAL is JSON (`"work"`, `true`, `42`).
fn parse_selector(text: &str) -> Result<Segment, String> {
    let mut parts = text.trim().splitn(3, ' ');
    let attribute = parts.next().unwrap_or_default();
    let operator = parts.next().unwrap_or_default();
    let literal = parts.next().unwrap_or_default();
    if attribute.is_empty() || !operator.eq_ignore_ascii_case("eq") {
        return Err(format!(
            "the selector `[{text}]` must read `[attribute eq value]`"
        ));
    }
    let value = serde_json::from_str(literal.trim())
        .map_err(|_| format!("the selector value `{literal}` is not a JSON literal"))?;
    Ok(Segment::Select {
        attribute: attribute.to_owned(),
        value,
    })
}

/// What a step expects of one attribute of the response body.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeExpectation {
    /// `is absent`: SCIM omits unassigned attributes (RFC 7643 §2.5); `null` counts as absent.
    Absent,
    /// `is present`.
    Present,
    /// `is <json>`.
    Equals(Value),
    /// `is not <json>`; a missing attribute is "not" anything.
    NotEquals(Value),
    /// `is at most <number>`.
    AtMost(f64),
    /// `contains <json>`: an array with an element containing the value (see [`contains`]).
    Contains(Value),
    /// `ends with "<text>"`: a string attribute's suffix.
    EndsWith(String),
    /// `has N element(s)`.
    Elements(usize),
    /// `has at most N element(s)`.
    AtMostElements(usize),
}

impl AttributeExpectation {
    /// Reads the words after `the response attribute "PATH"` (placeholders already expanded).
    pub fn parse(text: &str) -> Result<Self, MatchError> {
        let error = |reason: &str| MatchError::Expectation {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let json = |literal: &str| {
            serde_json::from_str::<Value>(literal.trim())
                .map_err(|_| error("the value is not JSON (strings need double quotes)"))
        };
        let count = |literal: &str| {
            literal
                .trim()
                .trim_end_matches("elements")
                .trim_end_matches("element")
                .trim()
                .parse::<usize>()
                .map_err(|_| error("expected a number of elements"))
        };
        let text = text.trim();
        Ok(match text {
            "is absent" => Self::Absent,
            "is present" => Self::Present,
            _ => {
                if let Some(rest) = text.strip_prefix("is at most ") {
                    Self::AtMost(
                        rest.trim()
                            .parse()
                            .map_err(|_| error("expected a number after `is at most`"))?,
                    )
                } else if let Some(rest) = text.strip_prefix("is not ") {
                    Self::NotEquals(json(rest)?)
                } else if let Some(rest) = text.strip_prefix("is ") {
                    Self::Equals(json(rest)?)
                } else if let Some(rest) = text.strip_prefix("contains ") {
                    Self::Contains(json(rest)?)
                } else if let Some(rest) = text.strip_prefix("ends with ") {
                    match json(rest)? {
                        Value::String(suffix) => Self::EndsWith(suffix),
                        _ => return Err(error("`ends with` needs a quoted string")),
                    }
                } else if let Some(rest) = text.strip_prefix("has at most ") {
                    Self::AtMostElements(count(rest)?)
                } else if let Some(rest) = text.strip_prefix("has ") {
                    Self::Elements(count(rest)?)
                } else {
                    return Err(error(
                        "expected `is`, `is not`, `is absent`, `is present`, `is at most`, \
                         `contains`, `ends with` or `has N elements`",
                    ));
                }
            }
        })
    }

    /// Checks the attribute's value (`None` when the attribute is not in the response);
    /// `Err` explains the mismatch.
    pub fn check(&self, actual: Option<&Value>) -> Result<(), String> {
        let actual = actual.filter(|value| !value.is_null());
        let shown = || actual.map_or_else(|| "absent".to_owned(), Value::to_string);
        let ok = match self {
            Self::Absent => actual.is_none(),
            Self::Present => actual.is_some(),
            Self::Equals(expected) => actual == Some(expected),
            Self::NotEquals(unexpected) => actual != Some(unexpected),
            Self::AtMost(limit) => actual.and_then(Value::as_f64).is_some_and(|n| n <= *limit),
            Self::Contains(wanted) => actual
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(|item| contains(item, wanted))),
            Self::EndsWith(suffix) => actual
                .and_then(Value::as_str)
                .is_some_and(|text| text.ends_with(suffix.as_str())),
            Self::Elements(n) => actual
                .and_then(Value::as_array)
                .is_some_and(|items| items.len() == *n),
            Self::AtMostElements(n) => actual
                .and_then(Value::as_array)
                .is_none_or(|items| items.len() <= *n),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("expected it to be {self}, but it is {}", shown()))
        }
    }
}

impl std::fmt::Display for AttributeExpectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Absent => write!(f, "absent"),
            Self::Present => write!(f, "present"),
            Self::Equals(value) => write!(f, "{value}"),
            Self::NotEquals(value) => write!(f, "anything but {value}"),
            Self::AtMost(limit) => write!(f, "a number of at most {limit}"),
            Self::Contains(value) => write!(f, "an array with an element containing {value}"),
            Self::EndsWith(suffix) => write!(f, "a string ending with {suffix:?}"),
            Self::Elements(n) => write!(f, "an array of {n} elements"),
            Self::AtMostElements(n) => write!(f, "absent or an array of at most {n} elements"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "id": "42",
            "UserName": "ada@example.test",
            "name": {"givenName": "Ada"},
            "emails": [
                {"type": "home", "value": "ada@home.test"},
                {"type": "work", "value": "ada@work.test", "primary": true}
            ],
            ENTERPRISE: {"employeeNumber": "1042", "manager": {"value": "7"}}
        })
    }

    #[test]
    fn attribute_names_are_matched_case_insensitively() {
        let user = user();
        assert_eq!(
            lookup(&user, "userName").unwrap(),
            Some(&json!("ada@example.test"))
        );
        assert_eq!(
            lookup(&user, "NAME.givenname").unwrap(),
            Some(&json!("Ada"))
        );
    }

    #[test]
    fn urn_qualified_paths_reach_extension_attributes() {
        let user = user();
        let path = format!("{ENTERPRISE}:employeeNumber");
        assert_eq!(lookup(&user, &path).unwrap(), Some(&json!("1042")));
        let manager = format!("{ENTERPRISE}:manager.value");
        assert_eq!(lookup(&user, &manager).unwrap(), Some(&json!("7")));
    }

    #[test]
    fn a_selector_picks_the_matching_element() {
        let user = user();
        let value = lookup(&user, r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(value, Some(&json!("ada@work.test")));
        assert_eq!(
            lookup(&user, r#"emails[type eq "other"].value"#).unwrap(),
            None
        );
    }

    #[test]
    fn numeric_segments_index_arrays() {
        let list = json!({"Resources": [{"id": "a"}, {"id": "b"}]});
        assert_eq!(lookup(&list, "Resources.1.id").unwrap(), Some(&json!("b")));
        assert_eq!(lookup(&list, "Resources.2.id").unwrap(), None);
    }

    #[test]
    fn malformed_paths_are_errors() {
        let user = user();
        assert!(lookup(&user, "").is_err());
        assert!(lookup(&user, "name.").is_err());
        assert!(lookup(&user, r#"emails[type eq "work""#).is_err());
        assert!(lookup(&user, "emails[type co work]").is_err());
        assert!(lookup(&user, r#"emails[type eq "work"]value"#).is_err());
    }

    #[test]
    fn a_bracket_inside_a_selector_string_does_not_close_it() {
        let doc = json!({"tags": [{"k": "a]b", "v": 1}]});
        assert_eq!(
            lookup(&doc, r#"tags[k eq "a]b"].v"#).unwrap(),
            Some(&json!(1))
        );
    }

    #[test]
    fn contains_allows_extra_members_and_any_order() {
        let expected =
            json!({"username": "ada@example.test", "emails": [{"type": "work"}, {"type": "home"}]});
        assert!(contains(&user(), &expected));
    }

    #[test]
    fn contains_reports_a_different_value() {
        assert!(!contains(&user(), &json!({"name": {"givenName": "Grace"}})));
        assert!(!contains(&user(), &json!({"emails": [{"type": "other"}]})));
        assert!(!contains(&user(), &json!({"title": "Countess"})));
    }

    #[test]
    fn expected_null_matches_a_missing_member() {
        assert!(contains(&user(), &json!({"title": null})));
    }

    #[test]
    fn expectations_are_read_from_step_text() {
        use AttributeExpectation as E;
        assert_eq!(E::parse("is absent").unwrap(), E::Absent);
        assert_eq!(E::parse("is present").unwrap(), E::Present);
        assert_eq!(E::parse("is false").unwrap(), E::Equals(json!(false)));
        assert_eq!(E::parse(r#"is "Ada""#).unwrap(), E::Equals(json!("Ada")));
        assert_eq!(E::parse("is not true").unwrap(), E::NotEquals(json!(true)));
        assert_eq!(E::parse("is at most 200").unwrap(), E::AtMost(200.0));
        assert_eq!(
            E::parse(r#"contains {"a": 1}"#).unwrap(),
            E::Contains(json!({"a": 1}))
        );
        assert_eq!(
            E::parse(r#"ends with "/Users/1""#).unwrap(),
            E::EndsWith("/Users/1".into())
        );
        assert_eq!(E::parse("has 1 element").unwrap(), E::Elements(1));
        assert_eq!(
            E::parse("has at most 200 elements").unwrap(),
            E::AtMostElements(200)
        );
        assert!(E::parse("is Ada").is_err());
        assert!(E::parse("looks fine").is_err());
    }

    #[test]
    fn expectations_check_values() {
        use AttributeExpectation as E;
        assert!(E::Absent.check(None).is_ok());
        assert!(E::Absent.check(Some(&Value::Null)).is_ok());
        assert!(E::Absent.check(Some(&json!("x"))).is_err());
        assert!(E::NotEquals(json!(true)).check(None).is_ok());
        assert!(E::AtMost(2.0).check(Some(&json!(3))).is_err());
        assert!(E::Elements(2).check(Some(&json!([1, 2]))).is_ok());
        let err = E::Equals(json!("Ada"))
            .check(Some(&json!("Grace")))
            .unwrap_err();
        assert_eq!(err, r#"expected it to be "Ada", but it is "Grace""#);
    }
}
