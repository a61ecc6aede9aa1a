//! The canonical text of a filter: lower-case keywords, strings escaped as JSON, and only the
//! parentheses the precedence `not` > `and` > `or` needs, so `parse_filter(&f.to_string())`
//! gives `f` back.

use super::{CompValue, CompareOp, Filter};
use std::fmt;

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(value) => write!(f, "{value}"),
            CompValue::Number(number) => write!(f, "{number}"),
            CompValue::String(text) => {
                // Serialising a `str` cannot fail; the fallback only keeps `fmt` panic-free.
                let quoted = serde_json::to_string(text).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            // Chains parse left-associatively, so only a right operand of the same operator
            // (or a looser one) needs parentheses.
            Filter::Or(left, right) => {
                write!(f, "{left} or ")?;
                write_operand(f, right, matches!(**right, Filter::Or(..)))
            }
            Filter::And(left, right) => {
                write_operand(f, left, matches!(**left, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(
                    f,
                    right,
                    matches!(**right, Filter::Or(..) | Filter::And(..)),
                )
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Filter, grouped: bool) -> fmt::Result {
    if grouped {
        write!(f, "({operand})")
    } else {
        write!(f, "{operand}")
    }
}

#[cfg(test)]
mod tests {
    use crate::filter::parse_filter;

    fn canonical(text: &str) -> String {
        parse_filter(text).unwrap().to_string()
    }

    #[test]
    fn keywords_print_lower_case() {
        assert_eq!(
            canonical(r#"userName EQ "x" AND title PR OR NOT (active Eq TRUE)"#),
            r#"userName eq "x" and title pr or not (active eq true)"#
        );
    }

    #[test]
    fn strings_are_re_escaped() {
        assert_eq!(
            canonical(r#"displayName eq "say \"hi\" \\ \u00e9""#),
            r#"displayName eq "say \"hi\" \\ é""#
        );
        assert_eq!(
            canonical(r#"userName eq "O'Brien""#),
            r#"userName eq "O'Brien""#
        );
    }

    #[test]
    fn only_needed_parentheses_are_kept() {
        assert_eq!(
            canonical("((a pr) and (b pr)) or (c pr)"),
            "a pr and b pr or c pr"
        );
        assert_eq!(
            canonical("(a pr or b pr) and c pr"),
            "(a pr or b pr) and c pr"
        );
        assert_eq!(
            canonical("a pr and (b pr and c pr)"),
            "a pr and (b pr and c pr)"
        );
        assert_eq!(
            canonical("a pr or (b pr or c pr)"),
            "a pr or (b pr or c pr)"
        );
    }

    #[test]
    fn values_and_paths_print_as_written() {
        for text in [
            "x eq null",
            "x ne false",
            "x gt -3.5",
            "x le 42",
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#,
            r#"emails[type eq "work" and (value co "@" or primary eq true)]"#,
        ] {
            assert_eq!(canonical(text), text);
        }
    }

    #[test]
    fn entra_form_prints_as_a_plain_value_path() {
        assert_eq!(
            canonical(r#"emails[type eq "work"].value eq "a@b.test""#),
            r#"emails[type eq "work" and value eq "a@b.test"]"#
        );
    }
}
