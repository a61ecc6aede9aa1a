//! The attribute-mapping expression language: Entra-style expressions such as
//! `Switch([IsSoftDeleted], , "False", "True", "True", "False")` that turn an IdP user's native
//! attributes into a SCIM attribute value (personas.md §1.1 "Default attribute mappings" and
//! "Deactivate, reactivate, delete" [S78]; JumpCloud mapping expressions §3.1 [S87]).
//!
//! Grammar (whitespace allowed between tokens): an expression is a function call
//! `Name(arg, ...)`, an attribute `[name]`, a string `"..."` with `\"` and `\\` escapes, an
//! integer, or `true`/`false`. Function names and booleans are case-insensitive. An empty
//! argument is absent; `Name()` is a call with one absent argument.

use std::fmt;

use serde_json::Value;

/// Deepest nesting of function calls the parser accepts.
const MAX_DEPTH: usize = 64;

/// A parsed mapping expression (personas.md §1.1 "Default attribute mappings").
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// A native attribute of the source user, written `[name]`.
    Attribute(String),
    /// A constant: a string, integer or boolean.
    Literal(Value),
    /// An empty argument, as the default of `Switch([IsSoftDeleted], , ...)` (§1.1 [S78]).
    Absent,
    /// A function applied to its arguments.
    Call {
        /// The function called.
        function: Function,
        /// The arguments, in order; absent ones are [`Expression::Absent`].
        arguments: Vec<Expression>,
    },
}

/// A function of the mapping language, with Entra's semantics (personas.md §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `Switch(source, default, key1, value1, ...)`: the value whose key equals the source's
    /// string form, else the default (§1.1 "Deactivate, reactivate, delete" [S78]).
    Switch,
    /// `IIF(condition, whenTrue, whenFalse)`: whenTrue if the condition is true or "true" (any
    /// case), else whenFalse.
    Iif,
    /// `Not(x)`: false if x is true or "true" (any case), true for any other present value.
    Not,
    /// `IsPresent(x)`: whether the value is present and not empty.
    IsPresent,
    /// `IsNullOrEmpty(x)`: whether the value is absent or empty.
    IsNullOrEmpty,
    /// `Coalesce(a, b, ...)`: the first present, non-empty value.
    Coalesce,
    /// `Join(separator, a, b, ...)`: the present non-empty values joined by the separator.
    Join,
    /// `Append(a, suffix)`: string concatenation.
    Append,
    /// `ToLower(x)`: lower-cases a string, or each element of an array.
    ToLower,
    /// `ToUpper(x)`: upper-cases a string, or each element of an array.
    ToUpper,
    /// `Item(list, index)`: the 1-based element of an array.
    Item,
}

impl Function {
    /// Every function in declaration order, with its Entra spelling and its fewest and most
    /// arguments (`None`: no upper bound).
    const TABLE: [(Function, &'static str, usize, Option<usize>); 11] = [
        (Function::Switch, "Switch", 2, None),
        (Function::Iif, "IIF", 3, Some(3)),
        (Function::Not, "Not", 1, Some(1)),
        (Function::IsPresent, "IsPresent", 1, Some(1)),
        (Function::IsNullOrEmpty, "IsNullOrEmpty", 1, Some(1)),
        (Function::Coalesce, "Coalesce", 1, None),
        (Function::Join, "Join", 2, None),
        (Function::Append, "Append", 2, Some(2)),
        (Function::ToLower, "ToLower", 1, Some(1)),
        (Function::ToUpper, "ToUpper", 1, Some(1)),
        (Function::Item, "Item", 2, Some(2)),
    ];

    /// The name in Entra's spelling.
    fn name(self) -> &'static str {
        Self::TABLE[self as usize].1
    }

    /// The fewest and the most arguments accepted (`None`: no upper bound).
    fn arity(self) -> (usize, Option<usize>) {
        (Self::TABLE[self as usize].2, Self::TABLE[self as usize].3)
    }

    /// Describes the accepted arguments, for error messages.
    fn arity_text(self) -> String {
        match (self, self.arity()) {
            (Function::Switch, _) => "a source, a default and key/value pairs for Switch".into(),
            (_, (1, Some(1))) => format!("exactly 1 argument for {}", self.name()),
            (_, (n, Some(_))) => format!("exactly {n} arguments for {}", self.name()),
            (_, (n, None)) => format!("at least {n} argument(s) for {}", self.name()),
        }
    }
}

/// A parse failure with the 0-based character position where something else was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mapping expression at character {position}: expected {expected}")]
pub struct ExpressionError {
    /// 0-based character index of the failure.
    pub position: usize,
    /// What the parser expected at that position.
    pub expected: String,
}

impl Expression {
    /// Parses an expression; the whole text must be one expression.
    pub fn parse(text: &str) -> Result<Expression, ExpressionError> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
        };
        let expression = parser.expression(0)?;
        parser.skip_whitespace();
        if parser.pos < parser.chars.len() {
            return Err(parser.error(parser.pos, "end of expression"));
        }
        Ok(expression)
    }

    /// Evaluates against a lookup of native attribute values by name; never yields JSON null.
    pub fn evaluate(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
        match self {
            Expression::Attribute(name) => present(lookup(name)),
            Expression::Literal(value) => present(Some(value.clone())),
            Expression::Absent => None,
            Expression::Call {
                function,
                arguments,
            } => call(*function, arguments, lookup),
        }
    }

    /// The attribute names the expression reads, in order of first appearance.
    pub fn attributes(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.collect_attributes(&mut names);
        names
    }

    /// Adds the attribute names read by this expression to `names`, skipping repeats.
    fn collect_attributes<'a>(&'a self, names: &mut Vec<&'a str>) {
        match self {
            Expression::Attribute(name) if !names.contains(&name.as_str()) => names.push(name),
            Expression::Call { arguments, .. } => arguments
                .iter()
                .for_each(|argument| argument.collect_attributes(names)),
            _ => {}
        }
    }
}

/// Canonical text: parses back to an equal expression for every expression `parse` returns.
/// Absent and null print as nothing; other non-grammar literals print as quoted string forms.
impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expression::Attribute(name) => write!(f, "[{name}]"),
            Expression::Literal(Value::String(text)) => write_quoted(f, text),
            Expression::Literal(Value::Bool(flag)) => write!(f, "{flag}"),
            Expression::Literal(Value::Number(n)) if n.is_i64() || n.is_u64() => write!(f, "{n}"),
            Expression::Literal(Value::Null) | Expression::Absent => Ok(()),
            Expression::Literal(other) => write_quoted(f, &string_form(other)),
            Expression::Call {
                function,
                arguments,
            } => {
                let arguments: Vec<String> = arguments.iter().map(ToString::to_string).collect();
                write!(f, "{}({})", function.name(), arguments.join(", "))
            }
        }
    }
}

/// Writes `text` as a string literal, escaping `"` and `\`.
fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    write!(f, "\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The string form of a value: booleans as "True"/"False", numbers in decimal, arrays joined
/// with "," (Entra renders booleans capitalised: personas.md §1.1 "Deactivate" [S1][S78]).
pub fn string_form(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(string_form).collect::<Vec<_>>().join(","),
        Value::Object(_) => value.to_string(),
    }
}

/// Turns JSON null into absence.
fn present(value: Option<Value>) -> Option<Value> {
    value.filter(|value| !value.is_null())
}

/// True for boolean true and for strings equal to "true" ignoring case.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::String(text) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// False for empty strings, empty arrays and null.
fn non_empty(value: &Value) -> bool {
    match value {
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Null => false,
        _ => true,
    }
}

/// Applies a case mapping to a string, to each element of an array, or to a scalar's string form.
fn map_case(value: Value, convert: fn(&str) -> String) -> Value {
    match value {
        Value::String(text) => Value::String(convert(&text)),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| map_case(v, convert)).collect())
        }
        Value::Null => Value::Null,
        other => Value::String(convert(&string_form(&other))),
    }
}

/// A 1-based index from an integer or a string of digits.
fn index_of(value: &Value) -> Option<usize> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Evaluates a function call; tolerates any number of arguments.
fn call(
    function: Function,
    arguments: &[Expression],
    lookup: &dyn Fn(&str) -> Option<Value>,
) -> Option<Value> {
    let argument = |index: usize| arguments.get(index).and_then(|a| a.evaluate(lookup));
    let text = |index: usize| argument(index).map(|value| string_form(&value));
    match function {
        Function::Switch => {
            if let Some(source) = text(0) {
                for pair in arguments.get(2..).unwrap_or_default().chunks(2) {
                    if let [key, value] = pair
                        && key
                            .evaluate(lookup)
                            .is_some_and(|key| string_form(&key) == source)
                    {
                        return value.evaluate(lookup);
                    }
                }
            }
            argument(1)
        }
        Function::Iif if argument(0).as_ref().is_some_and(truthy) => argument(1),
        Function::Iif => argument(2),
        Function::Not => argument(0).map(|value| Value::Bool(!truthy(&value))),
        Function::IsPresent => Some(Value::Bool(argument(0).as_ref().is_some_and(non_empty))),
        Function::IsNullOrEmpty => Some(Value::Bool(!argument(0).as_ref().is_some_and(non_empty))),
        Function::Coalesce => arguments
            .iter()
            .filter_map(|a| a.evaluate(lookup))
            .find(non_empty),
        Function::Join => {
            let separator = text(0).unwrap_or_default();
            let mut parts = Vec::new();
            for value in arguments.iter().skip(1).filter_map(|a| a.evaluate(lookup)) {
                match value {
                    Value::Array(items) => parts.extend(items.iter().map(string_form)),
                    other => parts.push(string_form(&other)),
                }
            }
            parts.retain(|part| !part.is_empty());
            (!parts.is_empty()).then(|| Value::String(parts.join(&separator)))
        }
        Function::Append => {
            text(0).map(|value| Value::String(value + &text(1).unwrap_or_default()))
        }
        Function::ToLower => argument(0).map(|value| map_case(value, str::to_lowercase)),
        Function::ToUpper => argument(0).map(|value| map_case(value, str::to_uppercase)),
        Function::Item => {
            let position = argument(1).as_ref().and_then(index_of)?.checked_sub(1)?;
            match argument(0)? {
                Value::Array(items) => present(items.into_iter().nth(position)),
                scalar => (position == 0).then_some(scalar),
            }
        }
    }
}

/// A recursive-descent parser over the characters of an expression.
struct Parser {
    /// The text, as characters so that positions are character indices.
    chars: Vec<char>,
    /// Index of the next unread character.
    pos: usize,
}

impl Parser {
    /// The next unread character.
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Moves past whitespace.
    fn skip_whitespace(&mut self) {
        self.take_while(char::is_whitespace);
    }

    /// Moves past the characters `accept` accepts, returning them.
    fn take_while(&mut self, accept: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(&accept) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// An error at `position`.
    fn error(&self, position: usize, expected: impl Into<String>) -> ExpressionError {
        ExpressionError {
            position,
            expected: expected.into(),
        }
    }

    /// Parses one expression; `depth` counts the enclosing function calls.
    fn expression(&mut self, depth: usize) -> Result<Expression, ExpressionError> {
        self.skip_whitespace();
        let start = self.pos;
        match self.peek() {
            Some('[') => {
                self.pos += 1;
                let name = self.take_while(|c| c != ']');
                if self.peek().is_none() {
                    return Err(self.error(self.pos, "']'"));
                }
                if name.is_empty() {
                    return Err(self.error(start + 1, "an attribute name"));
                }
                self.pos += 1;
                Ok(Expression::Attribute(name))
            }
            Some('"') => self.string(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_alphabetic() => self.word(depth),
            _ => Err(self.error(start, "an expression")),
        }
    }

    /// Parses a string literal, the cursor being on its opening quote.
    fn string(&mut self) -> Result<Expression, ExpressionError> {
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error(self.pos, "'\"' closing the string")),
                Some('"') => break,
                Some('\\') => match self.chars.get(self.pos + 1) {
                    Some(&c) if c == '"' || c == '\\' => {
                        text.push(c);
                        self.pos += 1;
                    }
                    _ => return Err(self.error(self.pos, "'\\\"' or '\\\\' after a backslash")),
                },
                Some(c) => text.push(c),
            }
            self.pos += 1;
        }
        self.pos += 1;
        Ok(Expression::Literal(Value::String(text)))
    }

    /// Parses an integer with an optional leading '-'.
    fn number(&mut self) -> Result<Expression, ExpressionError> {
        let start = self.pos;
        let sign = if self.peek() == Some('-') { "-" } else { "" };
        self.pos += sign.len();
        let digits = self.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err(self.error(self.pos, "a digit"));
        }
        let text = format!("{sign}{digits}");
        let value = text.parse::<i64>().map(Value::from);
        let value = value.or_else(|_| text.parse::<u64>().map(Value::from));
        let value = value.map_err(|_| self.error(start, "an integer within the 64-bit range"))?;
        Ok(Expression::Literal(value))
    }

    /// Parses a bare word: a boolean or a function call.
    fn word(&mut self, depth: usize) -> Result<Expression, ExpressionError> {
        let start = self.pos;
        let word = self.take_while(|c| c.is_alphanumeric() || c == '_');
        self.skip_whitespace();
        if self.peek() != Some('(') {
            return match word.to_ascii_lowercase().as_str() {
                "true" => Ok(Expression::Literal(Value::Bool(true))),
                "false" => Ok(Expression::Literal(Value::Bool(false))),
                _ => Err(self.error(
                    start,
                    "a function call, an [attribute], a string, a number, true or false",
                )),
            };
        }
        let names = Function::TABLE.map(|(_, name, _, _)| name).join(", ");
        let function = Function::TABLE
            .into_iter()
            .find(|(_, name, _, _)| name.eq_ignore_ascii_case(&word))
            .ok_or_else(|| self.error(start, format!("a function name ({names})")))?
            .0;
        if depth >= MAX_DEPTH {
            return Err(self.error(start, format!("at most {MAX_DEPTH} nested function calls")));
        }
        self.pos += 1;
        let mut arguments = Vec::new();
        let mut starts = Vec::new();
        let close = loop {
            self.skip_whitespace();
            starts.push(self.pos);
            arguments.push(match self.peek() {
                Some(',' | ')') => Expression::Absent,
                _ => self.expression(depth + 1)?,
            });
            self.skip_whitespace();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => break self.pos,
                _ => return Err(self.error(self.pos, "',' or ')'")),
            }
        };
        self.pos += 1;
        let (min, max) = function.arity();
        let count = arguments.len();
        if let Some(max) = max.filter(|&max| count > max) {
            return Err(self.error(
                starts.get(max).copied().unwrap_or(close),
                function.arity_text(),
            ));
        }
        if count < min || (function == Function::Switch && count % 2 == 1) {
            return Err(self.error(close, function.arity_text()));
        }
        Ok(Expression::Call {
            function,
            arguments,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const SEED: &str = r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#;

    /// Evaluates each `(text, expected JSON or "absent")` case against `attributes`.
    fn check(attributes: &Value, cases: &[(&str, &str)]) {
        let lookup = |name: &str| attributes.get(name).cloned();
        for (text, expected) in cases {
            let expected = (*expected != "absent").then(|| serde_json::from_str(expected).unwrap());
            assert_eq!(
                Expression::parse(text).unwrap().evaluate(&lookup),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn seed_switch_maps_is_soft_deleted_to_active() {
        for (deleted, active) in [
            (json!(true), r#""False""#),
            (json!(false), r#""True""#),
            (json!("True"), r#""False""#),
            (json!("False"), r#""True""#),
            (json!("yes"), "absent"),
        ] {
            check(&json!({ "IsSoftDeleted": deleted }), &[(SEED, active)]);
        }
        check(&json!({}), &[(SEED, "absent")]);
        let parsed = Expression::parse(SEED).unwrap();
        assert_eq!(parsed.to_string(), SEED);
        assert_eq!(parsed.attributes(), ["IsSoftDeleted"]);
    }

    #[test]
    fn functions_follow_entra_semantics() {
        let user = json!({
            "c": "FR", "given": "Ada", "middle": "", "sur": "Lovelace", "mail": "A@X", "nick": "",
            "proxy": ["a@x", "", "b@x"], "on": "TRUE", "off": false, "t": true, "f": "false",
            "n": 7, "empty": [], "holes": [null, "x"],
        });
        check(
            &user,
            &[
                (r#"Switch([c], "o", "DE", "G", "FR", "F")"#, r#""F""#),
                (r#"Switch([mail], "o", "DE", "G")"#, r#""o""#),
                (r#"Switch([zz], "o", "DE", "G")"#, r#""o""#),
                (r#"Switch([n], , "7", "")"#, r#""""#),
                (
                    r#"Join(" ", [given], [middle], [sur])"#,
                    r#""Ada Lovelace""#,
                ),
                (r#"Join(" ", [zz], [middle], [sur])"#, r#""Lovelace""#),
                (r#"Join(" ", [zz], [middle])"#, "absent"),
                (r#"Join("+", [proxy], [t], 3)"#, r#""a@x+b@x+True+3""#),
                (r#"IIF([on], "y", "n")"#, r#""y""#),
                (r#"IIF([off], "y", "n")"#, r#""n""#),
                (r#"IIF([zz], "y", "n")"#, r#""n""#),
                ("Not([t])", "false"),
                ("Not([f])", "true"),
                ("Not([zz])", "absent"),
                ("Not()", "absent"),
                ("Not(IsPresent([nick]))", "true"),
                ("IsNullOrEmpty([empty])", "true"),
                ("IsPresent([proxy])", "true"),
                ("IsPresent([zz])", "false"),
                ("Item([proxy], 3)", r#""b@x""#),
                (r#"Item([proxy], "1")"#, r#""a@x""#),
                ("Item([proxy], 4)", "absent"),
                ("Item([proxy], 0)", "absent"),
                ("Item([proxy], -1)", "absent"),
                ("Item([mail], 1)", r#""A@X""#),
                ("Item([holes], 1)", "absent"),
                ("Coalesce([nick], [zz], [mail])", r#""A@X""#),
                ("Coalesce([nick], [zz])", "absent"),
                (r#"Append([mail], ".test")"#, r#""A@X.test""#),
                (r#"Append([nick], "!")"#, r#""!""#),
                (r#"Append([zz], "!")"#, "absent"),
                ("Append([t], [n])", r#""True7""#),
                ("ToLower([mail])", r#""a@x""#),
                ("ToUpper([proxy])", r#"["A@X","","B@X"]"#),
                (r#"iif(False, 1, tolower("B"))"#, r#""b""#),
            ],
        );
    }

    #[test]
    fn names_booleans_escapes_and_numbers() {
        let lower = Expression::parse(r#"switch ([x], , "a", TRUE)"#).unwrap();
        assert_eq!(
            lower,
            Expression::parse(r#"SWITCH([x],,"a",true)"#).unwrap()
        );
        assert_eq!(lower.to_string(), r#"Switch([x], , "a", true)"#);
        let parsed = Expression::parse(r#""say \"hi\" \\ [x]""#).unwrap();
        assert_eq!(parsed, Expression::Literal(json!(r#"say "hi" \ [x]"#)));
        assert_eq!(parsed.to_string(), r#""say \"hi\" \\ [x]""#);
        assert_eq!(
            Expression::parse(" -42 ").unwrap(),
            Expression::Literal(json!(-42))
        );
        let max = Expression::parse("18446744073709551615").unwrap();
        assert_eq!(max, Expression::Literal(json!(u64::MAX)));
        let nested = Expression::parse("Join(\",\", [address.locality], [a], [address.locality])");
        assert_eq!(nested.unwrap().attributes(), ["address.locality", "a"]);
    }

    #[test]
    fn errors_carry_positions() {
        for (text, position, expected) in [
            ("[userPrincipalName", 18, "']'"),
            (r#"IIF([a], "x")"#, 12, "exactly 3 arguments for IIF"),
            ("Not([a], [b])", 9, "exactly 1 argument for Not"),
            (r#"Switch([a], , "k")"#, 17, "key/value pairs for Switch"),
            ("Join([a])", 8, "at least 2 argument(s) for Join"),
            ("[a] [b]", 4, "end of expression"),
            ("Not([a] x)", 8, "',' or ')'"),
            ("  ", 2, "an expression"),
            ("[]", 1, "an attribute name"),
            ("\"open", 5, "'\"' closing the string"),
            (r#""a\n""#, 2, "after a backslash"),
            ("- 1", 1, "a digit"),
            ("99999999999999999999", 0, "64-bit range"),
            ("userPrincipalName", 0, "an [attribute]"),
            ("Frobnicate([a])", 0, "a function name (Switch, IIF, Not,"),
        ] {
            let error = Expression::parse(text).unwrap_err();
            assert_eq!(error.position, position, "{text}");
            assert!(error.expected.contains(expected), "{text}: {error}");
        }
        assert_eq!(
            Expression::parse(&"Not(".repeat(70)).unwrap_err().position,
            4 * MAX_DEPTH
        );
        let message = Expression::parse("[a").unwrap_err().to_string();
        assert_eq!(
            message,
            "invalid mapping expression at character 2: expected ']'"
        );
    }

    #[test]
    fn display_round_trips_examples() {
        for text in [
            SEED,
            r#"Join(" ", [givenName], , [surname])"#,
            r#"IIF(IsPresent([mail]), ToLower([mail]), Append([mailNickname], "@example.com"))"#,
            "Coalesce(Item([proxyAddresses], 1), [userPrincipalName], -3, false)",
            "Coalesce()",
            "Not(Not(true))",
        ] {
            let parsed = Expression::parse(text).unwrap();
            assert_eq!(parsed.to_string(), text);
            assert_eq!(Expression::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }

    #[test]
    fn string_form_and_function_table() {
        assert_eq!(
            string_form(&json!([true, false, -7, "a", null])),
            "True,False,-7,a,"
        );
        for (index, (function, ..)) in Function::TABLE.iter().enumerate() {
            assert_eq!(*function as usize, index);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Attribute names the generated expressions and lookups share.
    const NAMES: [&str; 4] = ["IsSoftDeleted", "name.givenName", "x [y", " q\"\\ "];

    fn function() -> impl Strategy<Value = Function> {
        proptest::sample::select(Function::TABLE.map(|(function, ..)| function).to_vec())
    }

    fn leaf() -> impl Strategy<Value = Expression> {
        prop_oneof![
            4 => proptest::sample::select(NAMES.to_vec()).prop_map(|n| Expression::Attribute(n.into())),
            1 => "[^\\]]{1,8}".prop_map(Expression::Attribute),
            2 => any::<String>().prop_map(|s| Expression::Literal(Value::String(s))),
            1 => any::<i64>().prop_map(|n| Expression::Literal(Value::from(n))),
            2 => (-1i64..4).prop_map(|n| Expression::Literal(Value::from(n))),
            1 => any::<bool>().prop_map(|b| Expression::Literal(Value::Bool(b))),
        ]
    }

    /// Expressions `parse` can produce: valid argument counts, absent only as an argument.
    fn valid() -> impl Strategy<Value = Expression> {
        leaf().prop_recursive(4, 32, 6, |inner| {
            let argument = prop_oneof![4 => inner, 1 => Just(Expression::Absent)];
            (function(), proptest::collection::vec(argument, 1..7)).prop_filter_map(
                "argument count",
                |(function, mut arguments)| {
                    let (min, max) = function.arity();
                    arguments.truncate(max.unwrap_or(usize::MAX));
                    if function == Function::Switch && arguments.len() % 2 == 1 {
                        arguments.pop();
                    }
                    (arguments.len() >= min).then_some(Expression::Call {
                        function,
                        arguments,
                    })
                },
            )
        })
    }

    /// Any expression tree, including wrong argument counts and non-grammar literals.
    fn anything() -> impl Strategy<Value = Expression> {
        let odd = prop_oneof![
            Just(Expression::Absent),
            Just(Expression::Literal(Value::Null)),
            Just(Expression::Literal(serde_json::json!([1.5, null, "A"]))),
        ];
        prop_oneof![4 => leaf(), 1 => odd].prop_recursive(4, 32, 6, |inner| {
            (function(), proptest::collection::vec(inner, 0..7)).prop_map(
                |(function, arguments)| Expression::Call {
                    function,
                    arguments,
                },
            )
        })
    }

    /// Native attribute values: strings (quotes, brackets, unicode), bools, numbers, arrays.
    fn value() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            any::<String>(),
            Just("True".to_string()),
            Just("false".into()),
            "[\"\\[\\]é😀 a-z0-9]{0,6}",
        ];
        let scalar = prop_oneof![
            text.prop_map(Value::String),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-3i64..5).prop_map(Value::from),
            Just(Value::Null),
        ];
        prop_oneof![
            scalar.clone(),
            proptest::collection::vec(scalar, 0..4).prop_map(Value::Array)
        ]
    }

    fn lookup_table() -> impl Strategy<Value = HashMap<String, Value>> {
        proptest::collection::hash_map(proptest::sample::select(NAMES.to_vec()), value(), 0..5)
            .prop_map(|map| map.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    proptest! {
        #[test]
        fn display_parses_back(expression in valid()) {
            let text = expression.to_string();
            prop_assert_eq!(Expression::parse(&text), Ok(expression), "text: {}", text);
        }

        #[test]
        fn evaluation_never_yields_null(expression in anything(), table in lookup_table()) {
            let lookup = |name: &str| table.get(name).cloned();
            prop_assert_ne!(expression.evaluate(&lookup), Some(Value::Null));
            let _ = expression.attributes();
        }

        #[test]
        fn parse_never_panics(text in any::<String>()) {
            let _ = Expression::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_near_expressions(text in "[\\[\\]\"\\\\(),a-zA-Z0-9 -]{0,40}") {
            if let Ok(expression) = Expression::parse(&text) {
                prop_assert_eq!(Expression::parse(&expression.to_string()), Ok(expression));
            }
        }
    }
}
