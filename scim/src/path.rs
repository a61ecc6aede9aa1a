//! Attribute paths: `[URN ":"] attrName ["." subAttr]` (RFC 7644 §3.10, the `attrPath` rule of
//! the filter grammar in §3.4.2.2).

use crate::error::{ScimError, ScimResult};
use std::fmt;

/// A path to an attribute or a sub-attribute, optionally qualified by its schema URN.
///
/// Parsing is syntactic; [`crate::schema::ResourceSchema::resolve`] checks that the path names a
/// real attribute. Names keep the client's spelling: matching is case-insensitive everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub schema: Option<String>,
    /// The attribute name, e.g. `emails`.
    pub name: String,
    /// The sub-attribute name, e.g. `value` in `emails.value`.
    pub sub_attribute: Option<String>,
}

impl AttrPath {
    /// A path to a top-level attribute of the core schema.
    pub fn new(name: &str) -> AttrPath {
        AttrPath {
            schema: None,
            name: name.to_string(),
            sub_attribute: None,
        }
    }

    /// The same path with `sub` as its sub-attribute.
    pub fn with_sub_attribute(mut self, sub: &str) -> AttrPath {
        self.sub_attribute = Some(sub.to_string());
        self
    }

    /// Parses `text` as an attribute path.
    ///
    /// A URN prefix is everything up to the last `:`, so URNs that contain dots
    /// (`...:enterprise:2.0:User:manager.value`) split correctly.
    pub fn parse(text: &str) -> ScimResult<AttrPath> {
        let invalid = |reason: &str| ScimError::InvalidPath {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let (schema, rest) = if starts_with_ignore_case(text, "urn:") {
            match text.rfind(':') {
                Some(colon) => (Some(text[..colon].to_string()), &text[colon + 1..]),
                None => return Err(invalid("a URN prefix must be followed by `:` and a name")),
            }
        } else {
            (None, text)
        };
        let mut parts = rest.split('.');
        let name = parts.next().unwrap_or_default();
        let sub_attribute = parts.next();
        if parts.next().is_some() {
            return Err(invalid(
                "at most one sub-attribute may follow the attribute name",
            ));
        }
        if !is_attr_name(name) {
            return Err(invalid(
                "an attribute name starts with a letter and holds letters, digits, `-` and `_`",
            ));
        }
        if let Some(sub) = sub_attribute
            && !is_attr_name(sub)
        {
            return Err(invalid(
                "a sub-attribute name starts with a letter and holds letters, digits, `-` and `_`",
            ));
        }
        Ok(AttrPath {
            schema,
            name: name.to_string(),
            sub_attribute: sub_attribute.map(str::to_string),
        })
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attribute {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Whether `name` is an `ATTRNAME` (RFC 7643 §2.1): a letter then letters, digits, `-`, `_`;
/// `$ref` is the one name allowed to start with `$`.
pub fn is_attr_name(name: &str) -> bool {
    if name.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Case-insensitive ASCII prefix test.
pub fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_attribute() {
        assert_eq!(
            AttrPath::parse("userName").unwrap(),
            AttrPath::new("userName")
        );
    }

    #[test]
    fn sub_attribute() {
        let path = AttrPath::parse("name.givenName").unwrap();
        assert_eq!(path.name, "name");
        assert_eq!(path.sub_attribute.as_deref(), Some("givenName"));
    }

    #[test]
    fn urn_with_dots_splits_at_last_colon() {
        let path = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(
            path.schema.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(path.name, "manager");
        assert_eq!(path.sub_attribute.as_deref(), Some("value"));
    }

    #[test]
    fn ref_is_a_valid_sub_attribute() {
        let path = AttrPath::parse("members.$ref").unwrap();
        assert_eq!(path.sub_attribute.as_deref(), Some("$ref"));
    }

    #[test]
    fn bad_names_are_invalid_paths() {
        for bad in ["", "1abc", "a.b.c", "na me", "emails[", "a."] {
            let err = AttrPath::parse(bad).unwrap_err();
            assert!(
                matches!(err, ScimError::InvalidPath { .. }),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "userName",
            "name.familyName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ] {
            assert_eq!(AttrPath::parse(text).unwrap().to_string(), text);
        }
    }
}
