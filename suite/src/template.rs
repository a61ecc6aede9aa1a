//! Placeholders in feature text: `{unique}` and remembered values such as `{id:ada}`.
//!
//! Every string a step sends (paths, filters, bodies, header values) goes through
//! [`expand`], so scenarios stay data: the feature file writes `"{unique}.ada@example.test"`
//! and `{"value": "{id:ada}"}`, and each scenario gets its own names on a shared target.

use std::collections::HashMap;

/// The placeholder replaced by the scenario's unique prefix.
pub const UNIQUE: &str = "unique";

/// A placeholder whose name is neither `unique` nor a value the scenario remembered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown placeholder `{{{name}}}`: nothing was remembered under `{name}` in this scenario")]
pub struct UnknownPlaceholder {
    /// The name between the braces.
    pub name: String,
}

/// Replaces every `{NAME}` in `text`: `{unique}` by `unique`, other names by the value
/// remembered under that name (`id:ada`, `token:acme`, `max`).
///
/// A name is a letter followed by letters, digits and `_ . : -`; anything else between
/// braces (JSON objects such as `{"a": 1}`, an empty `{}`) is left as it is.
pub fn expand(
    text: &str,
    unique: &str,
    remembered: &HashMap<String, String>,
) -> Result<String, UnknownPlaceholder> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let (before, from_brace) = rest.split_at(open);
        out.push_str(before);
        let after_brace = &from_brace[1..];
        match placeholder_name(after_brace) {
            Some(name) => {
                let value = if name == UNIQUE {
                    unique
                } else {
                    remembered
                        .get(name)
                        .map(String::as_str)
                        .ok_or_else(|| UnknownPlaceholder {
                            name: name.to_owned(),
                        })?
                };
                out.push_str(value);
                rest = &after_brace[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after_brace;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholder name at the start of `text` (just after a `{`), if `text` continues with
/// a valid name and a closing `}`.
fn placeholder_name(text: &str) -> Option<&str> {
    let end = text.find('}')?;
    let name = &text[..end];
    let mut chars = name.chars();
    let first_is_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_is_name =
        chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
    (first_is_letter && rest_is_name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remembered() -> HashMap<String, String> {
        HashMap::from([
            ("id:ada".to_owned(), "2819c223".to_owned()),
            ("max".to_owned(), "200".to_owned()),
        ])
    }

    #[test]
    fn unique_and_remembered_values_are_replaced() {
        let text =
            r#"{"userName": "{unique}.ada@example.test", "members": [{"value": "{id:ada}"}]}"#;
        let expanded = expand(text, "t1a2b", &remembered()).unwrap();
        assert_eq!(
            expanded,
            r#"{"userName": "t1a2b.ada@example.test", "members": [{"value": "2819c223"}]}"#
        );
    }

    #[test]
    fn json_braces_and_empty_braces_are_left_alone() {
        let text = r#"{"a": {}, "b": { "c": 1 }}"#;
        assert_eq!(expand(text, "u", &remembered()).unwrap(), text);
    }

    #[test]
    fn a_plain_remembered_name_is_replaced() {
        assert_eq!(
            expand("at most {max}", "u", &remembered()).unwrap(),
            "at most 200"
        );
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_naming_it() {
        let err = expand("/Users/{id:grace}", "u", &remembered()).unwrap_err();
        assert_eq!(err.name, "id:grace");
        assert!(err.to_string().contains("{id:grace}"));
    }

    #[test]
    fn an_unclosed_brace_is_kept() {
        assert_eq!(
            expand("a {unique", "u", &remembered()).unwrap(),
            "a {unique"
        );
    }

    #[test]
    fn several_placeholders_on_one_line() {
        let expanded = expand("{unique}-{unique}/{id:ada}", "u7", &remembered()).unwrap();
        assert_eq!(expanded, "u7-u7/2819c223");
    }

    #[test]
    fn non_ascii_text_around_placeholders_survives() {
        let expanded = expand("Zoë {unique} – {max}", "u", &remembered()).unwrap();
        assert_eq!(expanded, "Zoë u – 200");
    }
}
