//! The filter grammar of RFC 7644 §3.4.2.2, by recursive descent:
//!
//! ```text
//! filter     = or-expr END
//! or-expr    = and-expr *("or" and-expr)
//! and-expr   = unary *("and" unary)
//! unary      = "not" "(" or-expr ")" / "(" or-expr ")" / attr-expr
//! attr-expr  = attrPath "pr" / attrPath compareOp compValue
//!            / attrPath "[" or-expr "]" ["." subAttr ("pr" / compareOp compValue)]
//! ```
//!
//! Keywords and operators are case-insensitive. Inside `[...]` paths are bare sub-attribute
//! names and brackets do not nest. The `"." subAttr` after `]` is Entra's form
//! (`personas.md` §1.1, "Query/filter dialect"); it becomes one more `and` term of the value
//! filter, which means the same: some value has both.

use super::lexer::{Spanned, Token, invalid, tokenize};
use super::{CompValue, CompareOp, Filter};
use crate::error::{ScimError, ScimResult};
use crate::path::{AttrPath, is_attr_name};

/// Deepest nesting of `(`...`)` accepted; it bounds the parser's recursion on network input.
pub(super) const MAX_NESTING: usize = 32;

/// Most `and`/`or`/`not` operators in one filter; chains build left-deep trees, and this
/// bounds the depth of the recursion that evaluates, prints and drops them.
pub(super) const MAX_LOGICAL_OPERATORS: usize = 200;

/// Parses `text` as a filter.
pub(super) fn parse(text: &str) -> ScimResult<Filter> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        index: 0,
        nesting: 0,
        logical_operators: 0,
    };
    let filter = parser.or_expression(PathScope::Resource)?;
    let next = parser.peek();
    if next.token == Token::End {
        Ok(filter)
    } else {
        Err(invalid(next.position, "`and`, `or` or end of filter"))
    }
}

/// What the attribute paths of an expression name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathScope {
    /// Attributes of the resource: `name.givenName`, URN-qualified paths.
    Resource,
    /// Sub-attributes of the attribute before `[`.
    SubAttribute,
}

struct Parser {
    /// Ends with [`Token::End`], which [`Parser::advance`] never moves past.
    tokens: Vec<Spanned>,
    index: usize,
    nesting: usize,
    logical_operators: usize,
}

/// Stands in for the end of the filter if `tokens` were ever empty; [`tokenize`] always ends
/// with [`Token::End`], so this is only a fallback.
const END: Spanned = Spanned {
    token: Token::End,
    position: 0,
};

impl Parser {
    fn peek(&self) -> &Spanned {
        self.tokens
            .get(self.index)
            .or_else(|| self.tokens.last())
            .unwrap_or(&END)
    }

    fn advance(&mut self) -> Spanned {
        let current = self.peek().clone();
        if current.token != Token::End {
            self.index += 1;
        }
        current
    }

    /// Consumes the next token if it is the keyword `keyword` (any case).
    fn eat_keyword(&mut self, keyword: &str) -> ScimResult<bool> {
        let next = self.peek();
        if !matches!(&next.token, Token::Word(word) if word.eq_ignore_ascii_case(keyword)) {
            return Ok(false);
        }
        let position = next.position;
        self.count_logical_operator(position)?;
        self.advance();
        Ok(true)
    }

    fn count_logical_operator(&mut self, position: usize) -> ScimResult<()> {
        self.logical_operators += 1;
        if self.logical_operators > MAX_LOGICAL_OPERATORS {
            return Err(invalid(
                position,
                format!(
                    "a filter with at most {MAX_LOGICAL_OPERATORS} `and`, `or` and `not` operators"
                ),
            ));
        }
        Ok(())
    }

    fn or_expression(&mut self, scope: PathScope) -> ScimResult<Filter> {
        let mut filter = self.and_expression(scope)?;
        while self.eat_keyword("or")? {
            let right = self.and_expression(scope)?;
            filter = Filter::Or(Box::new(filter), Box::new(right));
        }
        Ok(filter)
    }

    fn and_expression(&mut self, scope: PathScope) -> ScimResult<Filter> {
        let mut filter = self.unary(scope)?;
        while self.eat_keyword("and")? {
            let right = self.unary(scope)?;
            filter = Filter::And(Box::new(filter), Box::new(right));
        }
        Ok(filter)
    }

    fn unary(&mut self, scope: PathScope) -> ScimResult<Filter> {
        if self.eat_keyword("not")? {
            let open = self.advance();
            if open.token != Token::OpenParen {
                return Err(invalid(open.position, "`(` after `not`"));
            }
            return Ok(Filter::Not(Box::new(self.group(open.position, scope)?)));
        }
        let next = self.advance();
        match next.token {
            Token::OpenParen => self.group(next.position, scope),
            Token::Word(word) => self.attribute_expression(&word, next.position, scope),
            _ => Err(invalid(next.position, "an attribute path, `not` or `(`")),
        }
    }

    /// The rest of `( or-expr )`, the `(` at `open` already consumed.
    fn group(&mut self, open: usize, scope: PathScope) -> ScimResult<Filter> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(invalid(
                open,
                format!("at most {MAX_NESTING} levels of nested parentheses"),
            ));
        }
        let filter = self.or_expression(scope)?;
        let close = self.advance();
        if close.token != Token::CloseParen {
            return Err(invalid(close.position, "`and`, `or` or `)`"));
        }
        self.nesting -= 1;
        Ok(filter)
    }

    fn attribute_expression(
        &mut self,
        word: &str,
        position: usize,
        scope: PathScope,
    ) -> ScimResult<Filter> {
        let path = attribute_path(word, position, scope)?;
        let next = self.peek();
        if next.token != Token::OpenBracket {
            return self.comparison(path);
        }
        if scope == PathScope::SubAttribute {
            return Err(invalid(
                next.position,
                "a comparison operator (`[...]` value filters do not nest)",
            ));
        }
        self.advance();
        let mut filter = self.or_expression(PathScope::SubAttribute)?;
        let close = self.advance();
        if close.token != Token::CloseBracket {
            return Err(invalid(close.position, "`and`, `or` or `]`"));
        }
        let dot = self.peek().position;
        if self.peek().token == Token::Dot {
            self.count_logical_operator(dot)?;
            self.advance();
            let sub = self.advance();
            let Token::Word(sub_word) = sub.token else {
                return Err(invalid(sub.position, "a sub-attribute name after `].`"));
            };
            let sub_path = attribute_path(&sub_word, sub.position, PathScope::SubAttribute)?;
            let last = self.comparison(sub_path)?;
            filter = Filter::And(Box::new(filter), Box::new(last));
        }
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(filter),
        })
    }

    /// `pr`, or an operator and a value, after `path`.
    fn comparison(&mut self, path: AttrPath) -> ScimResult<Filter> {
        let next = self.advance();
        let op = match &next.token {
            Token::Word(word) if word.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(path));
            }
            Token::Word(word) => CompareOp::from_keyword(word),
            _ => None,
        };
        let Some(op) = op else {
            return Err(invalid(next.position, "a comparison operator"));
        };
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn value(&mut self) -> ScimResult<CompValue> {
        let next = self.advance();
        match next.token {
            Token::String(text) => Ok(CompValue::String(text)),
            Token::Number(number) => Ok(CompValue::Number(number)),
            Token::Word(word) if word.eq_ignore_ascii_case("true") => Ok(CompValue::Bool(true)),
            Token::Word(word) if word.eq_ignore_ascii_case("false") => Ok(CompValue::Bool(false)),
            Token::Word(word) if word.eq_ignore_ascii_case("null") => Ok(CompValue::Null),
            _ => Err(invalid(
                next.position,
                "a value (a string in double quotes, a number, true, false or null)",
            )),
        }
    }
}

/// `word` as an attribute path; inside `[...]` only a bare sub-attribute name is allowed.
fn attribute_path(word: &str, position: usize, scope: PathScope) -> ScimResult<AttrPath> {
    match scope {
        PathScope::Resource => AttrPath::parse(word).map_err(|err| {
            let reason = match err {
                ScimError::InvalidPath { reason, .. } => reason,
                other => other.to_string(),
            };
            invalid(position, format!("an attribute path ({reason})"))
        }),
        PathScope::SubAttribute if is_attr_name(word) => Ok(AttrPath::new(word)),
        PathScope::SubAttribute => Err(invalid(
            position,
            "a sub-attribute name (inside `[...]` paths name sub-attributes, without `.` or a URN)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Number;

    fn compare(path: &str, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare {
            path: AttrPath::parse(path).unwrap(),
            op,
            value,
        }
    }

    fn eq(path: &str, text: &str) -> Filter {
        compare(path, CompareOp::Eq, CompValue::String(text.into()))
    }

    fn present(path: &str) -> Filter {
        Filter::Present(AttrPath::parse(path).unwrap())
    }

    fn and(left: Filter, right: Filter) -> Filter {
        Filter::And(Box::new(left), Box::new(right))
    }

    fn or(left: Filter, right: Filter) -> Filter {
        Filter::Or(Box::new(left), Box::new(right))
    }

    fn not(inner: Filter) -> Filter {
        Filter::Not(Box::new(inner))
    }

    fn value_path(path: &str, filter: Filter) -> Filter {
        Filter::ValuePath {
            path: AttrPath::parse(path).unwrap(),
            filter: Box::new(filter),
        }
    }

    fn error(text: &str) -> (usize, String) {
        match parse(text).unwrap_err() {
            ScimError::InvalidFilter { position, expected } => (position, expected),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn every_comparison_operator_parses() {
        for op in CompareOp::ALL {
            let text = format!(r#"title {} "x""#, op.keyword());
            assert_eq!(
                parse(&text).unwrap(),
                compare("title", op, CompValue::String("x".into()))
            );
        }
    }

    #[test]
    fn operators_and_keywords_are_case_insensitive() {
        assert_eq!(
            parse(r#"userName EQ "x" AND title Pr OR NOT (active Eq TRUE)"#).unwrap(),
            or(
                and(eq("userName", "x"), present("title")),
                not(compare("active", CompareOp::Eq, CompValue::Bool(true)))
            )
        );
    }

    #[test]
    fn present_has_no_value() {
        assert_eq!(parse("title pr").unwrap(), present("title"));
    }

    #[test]
    fn literals_of_every_kind() {
        let cases = [
            ("x eq true", CompValue::Bool(true)),
            ("x eq False", CompValue::Bool(false)),
            ("x eq NULL", CompValue::Null),
            ("x eq 42", CompValue::Number(Number::from(42))),
            (
                "x eq -3.5",
                CompValue::Number(Number::from_f64(-3.5).unwrap()),
            ),
            (
                "x eq 1e3",
                CompValue::Number(Number::from_f64(1000.0).unwrap()),
            ),
            (
                r#"x gt "2011-05-13T04:42:34Z""#,
                CompValue::String("2011-05-13T04:42:34Z".into()),
            ),
        ];
        for (text, expected) in cases {
            let Filter::Compare { value, .. } = parse(text).unwrap() else {
                panic!("{text}");
            };
            assert_eq!(value, expected, "{text}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            parse(r#"title eq "a" or title eq "b" and userName eq "c""#).unwrap(),
            or(eq("title", "a"), and(eq("title", "b"), eq("userName", "c")))
        );
        assert_eq!(
            parse(r#"title eq "a" and title eq "b" or userName eq "c""#).unwrap(),
            or(and(eq("title", "a"), eq("title", "b")), eq("userName", "c"))
        );
    }

    #[test]
    fn chains_associate_to_the_left() {
        assert_eq!(
            parse("a pr and b pr and c pr").unwrap(),
            and(and(present("a"), present("b")), present("c"))
        );
    }

    #[test]
    fn parentheses_group() {
        assert_eq!(
            parse(r#"(title eq "a" or title eq "b") and userName eq "c""#).unwrap(),
            and(or(eq("title", "a"), eq("title", "b")), eq("userName", "c"))
        );
        assert_eq!(parse("((title pr))").unwrap(), present("title"));
    }

    #[test]
    fn not_applies_to_its_group_only() {
        assert_eq!(
            parse("not (a pr) and b pr").unwrap(),
            and(not(present("a")), present("b"))
        );
        assert_eq!(parse("not(not(a pr))").unwrap(), not(not(present("a"))));
    }

    #[test]
    fn sub_attribute_meta_and_ref_paths() {
        assert_eq!(
            parse(r#"name.familyName co "O'Malley""#).unwrap(),
            compare(
                "name.familyName",
                CompareOp::Co,
                CompValue::String("O'Malley".into())
            )
        );
        assert_eq!(
            parse(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#).unwrap(),
            compare(
                "meta.lastModified",
                CompareOp::Gt,
                CompValue::String("2011-05-13T04:42:34Z".into())
            )
        );
        assert_eq!(parse("members.$ref pr").unwrap(), present("members.$ref"));
    }

    #[test]
    fn urn_qualified_path_splits_at_the_last_colon() {
        let Filter::Compare { path, .. } = parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        )
        .unwrap() else {
            panic!("not a comparison");
        };
        assert_eq!(
            path.schema.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(path.name, "employeeNumber");
    }

    #[test]
    fn value_path_filters_sub_attributes() {
        assert_eq!(
            parse(r#"emails[type eq "work" and value co "@example.com"]"#).unwrap(),
            value_path(
                "emails",
                and(
                    eq("type", "work"),
                    compare(
                        "value",
                        CompareOp::Co,
                        CompValue::String("@example.com".into())
                    )
                )
            )
        );
    }

    #[test]
    fn value_path_combines_with_other_terms() {
        assert_eq!(
            parse(r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#)
                .unwrap(),
            and(
                eq("userType", "Employee"),
                or(
                    compare("emails", CompareOp::Co, CompValue::String("example.com".into())),
                    compare("emails.value", CompareOp::Co, CompValue::String("example.org".into()))
                )
            )
        );
        assert_eq!(
            parse(r#"emails[type eq "work"] and not (ims[type pr])"#).unwrap(),
            and(
                value_path("emails", eq("type", "work")),
                not(value_path("ims", present("type")))
            )
        );
    }

    #[test]
    fn entra_sub_attribute_after_bracket_joins_the_value_filter() {
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "adele@contoso.test""#).unwrap(),
            value_path(
                "emails",
                and(eq("type", "work"), eq("value", "adele@contoso.test"))
            )
        );
        assert_eq!(
            parse(r#"emails[type eq "work" or primary eq true].value pr"#).unwrap(),
            value_path(
                "emails",
                and(
                    or(
                        eq("type", "work"),
                        compare("primary", CompareOp::Eq, CompValue::Bool(true))
                    ),
                    present("value")
                )
            )
        );
    }

    #[test]
    fn whitespace_is_flexible() {
        assert_eq!(
            parse("  not( title  pr )and(userName pr)  ").unwrap(),
            and(not(present("title")), present("userName"))
        );
    }

    #[test]
    fn missing_operator_is_reported_where_it_belongs() {
        assert_eq!(
            error(r#"userName "x""#),
            (9, "a comparison operator".into())
        );
        assert_eq!(error("userName"), (8, "a comparison operator".into()));
        assert_eq!(
            error(r#"userName equals "x""#),
            (9, "a comparison operator".into())
        );
    }

    #[test]
    fn missing_value_is_reported() {
        let (position, expected) = error("userName eq");
        assert_eq!(position, 11);
        assert!(expected.starts_with("a value"), "{expected}");
        assert_eq!(error("userName eq 'x'").0, 12);
    }

    #[test]
    fn unbalanced_parentheses_are_reported() {
        assert_eq!(error("(title pr"), (9, "`and`, `or` or `)`".into()));
        assert_eq!(
            error("title pr)"),
            (8, "`and`, `or` or end of filter".into())
        );
        assert_eq!(error("not title pr"), (4, "`(` after `not`".into()));
    }

    #[test]
    fn empty_and_dangling_filters_are_reported() {
        assert_eq!(error(""), (0, "an attribute path, `not` or `(`".into()));
        assert_eq!(
            error("title pr and"),
            (12, "an attribute path, `not` or `(`".into())
        );
        assert_eq!(
            error(r#"title pr "x""#),
            (9, "`and`, `or` or end of filter".into())
        );
    }

    #[test]
    fn bad_attribute_path_is_reported_at_its_start() {
        let (position, expected) = error("a.b.c pr");
        assert_eq!(position, 0);
        assert!(expected.starts_with("an attribute path"), "{expected}");
    }

    #[test]
    fn value_path_errors() {
        assert_eq!(
            error(r#"emails[type eq "work""#),
            (21, "`and`, `or` or `]`".into())
        );
        let (position, expected) = error(r#"emails[name.type eq "work"]"#);
        assert_eq!(position, 7);
        assert!(expected.starts_with("a sub-attribute name"), "{expected}");
        let (position, expected) = error(r#"emails[type[value pr]]"#);
        assert_eq!(position, 11);
        assert!(expected.contains("do not nest"), "{expected}");
        assert_eq!(
            error("emails[type pr]."),
            (16, "a sub-attribute name after `].`".into())
        );
        assert_eq!(
            error("emails[type pr].value"),
            (21, "a comparison operator".into())
        );
        assert_eq!(
            error("title.value pr . x"),
            (15, "`and`, `or` or end of filter".into())
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(error(r#"title eq "é" x"#).0, 13);
    }

    #[test]
    fn deep_nesting_is_refused_without_exhausting_the_stack() {
        let deep = format!("{}title pr{}", "(".repeat(10_000), ")".repeat(10_000));
        let (position, expected) = error(&deep);
        assert_eq!(position, MAX_NESTING);
        assert!(expected.contains("nested parentheses"), "{expected}");
        let nested_not = "not (".repeat(10_000);
        assert!(parse(&nested_not).is_err());
    }

    #[test]
    fn long_chains_are_bounded() {
        let within = vec!["title pr"; MAX_LOGICAL_OPERATORS + 1].join(" or ");
        assert!(parse(&within).is_ok());
        let beyond = vec!["title pr"; MAX_LOGICAL_OPERATORS + 2].join(" or ");
        let (_, expected) = error(&beyond);
        assert!(expected.contains("at most"), "{expected}");
    }
}
