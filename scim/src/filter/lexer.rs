//! Tokens of the filter grammar (RFC 7644 §3.4.2.2), each with its character offset.
//!
//! Keywords, operators and attribute paths are all [`Token::Word`]s: which one a word is
//! depends on where it stands, so the parser decides.

use crate::error::{ScimError, ScimResult};

/// One token of a filter.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    /// An attribute path, a comparison operator, `pr`, `and`, `or`, `not`, `true`, `false` or
    /// `null`, in the client's spelling.
    Word(String),
    /// A string literal, unescaped.
    String(String),
    /// A number literal.
    Number(serde_json::Number),
    /// `(`
    OpenParen,
    /// `)`
    CloseParen,
    /// `[`
    OpenBracket,
    /// `]`
    CloseBracket,
    /// A `.` that starts a token: the sub-attribute after `]` in Entra's
    /// `emails[type eq "work"].value eq "x"` (`personas.md` §1.1, "Query/filter dialect").
    Dot,
    /// A character no token starts with; the parser says what it expected instead.
    Unexpected(char),
    /// The end of the filter text.
    End,
}

/// A token and the character offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Spanned {
    /// The token.
    pub token: Token,
    /// Zero-based character offset of its first character.
    pub position: usize,
}

/// Splits `text` into tokens; the last one is always [`Token::End`].
///
/// Only malformed literals (an unterminated string, a bad escape, a bad number) are errors here.
pub(super) fn tokenize(text: &str) -> ScimResult<Vec<Spanned>> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        position: 0,
    };
    let mut tokens = Vec::new();
    loop {
        let spanned = lexer.next_token()?;
        let done = spanned.token == Token::End;
        tokens.push(spanned);
        if done {
            return Ok(tokens);
        }
    }
}

/// An error at character `position`: `expected` says what should have been there.
pub(super) fn invalid(position: usize, expected: impl Into<String>) -> ScimError {
    ScimError::InvalidFilter {
        position,
        expected: expected.into(),
    }
}

struct Lexer {
    chars: Vec<char>,
    position: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.position + offset).copied()
    }

    fn next_token(&mut self) -> ScimResult<Spanned> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
        let start = self.position;
        let token = match self.peek() {
            None => Token::End,
            Some('"') => self.string()?,
            Some('-' | '0'..='9') => self.number()?,
            Some(c) if is_word_start(c) => self.word(),
            Some(c) => {
                self.position += 1;
                match c {
                    '(' => Token::OpenParen,
                    ')' => Token::CloseParen,
                    '[' => Token::OpenBracket,
                    ']' => Token::CloseBracket,
                    '.' => Token::Dot,
                    other => Token::Unexpected(other),
                }
            }
        };
        Ok(Spanned {
            token,
            position: start,
        })
    }

    fn word(&mut self) -> Token {
        let mut word = String::new();
        while let Some(c) = self.peek().filter(|&c| is_word_char(c)) {
            word.push(c);
            self.position += 1;
        }
        Token::Word(word)
    }

    /// A JSON string (RFC 7644 §3.4.2.2: "a JSON string"). Escapes are checked here, so an
    /// error points at the bad one; serde_json then does the unescaping.
    fn string(&mut self) -> ScimResult<Token> {
        let start = self.position;
        let mut json = String::from('"');
        self.position += 1;
        loop {
            match self.peek() {
                None => return Err(invalid(self.position, "a closing `\"`")),
                Some('"') => {
                    self.position += 1;
                    json.push('"');
                    break;
                }
                Some('\\') => self.escape(&mut json)?,
                Some(c) if c < ' ' => {
                    // JSON forbids raw control characters in strings; a client that sends a
                    // tab inside quotes means the tab.
                    json.push_str(&format!("\\u{:04x}", u32::from(c)));
                    self.position += 1;
                }
                Some(c) => {
                    json.push(c);
                    self.position += 1;
                }
            }
        }
        serde_json::from_str::<String>(&json)
            .map(Token::String)
            .map_err(|_| invalid(start, "a string whose `\\u` escapes form valid characters"))
    }

    fn escape(&mut self, json: &mut String) -> ScimResult<()> {
        let escaped_at = self.position + 1;
        match self.peek_at(1) {
            Some(c @ ('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't')) => {
                json.push('\\');
                json.push(c);
                self.position += 2;
            }
            Some('u') => {
                json.push_str("\\u");
                for offset in 2..6 {
                    match self.peek_at(offset) {
                        Some(hex) if hex.is_ascii_hexdigit() => json.push(hex),
                        _ => {
                            return Err(invalid(
                                self.position + offset,
                                "four hexadecimal digits after `\\u`",
                            ));
                        }
                    }
                }
                self.position += 6;
            }
            None => return Err(invalid(escaped_at, "an escaped character after `\\`")),
            Some(_) => {
                return Err(invalid(
                    escaped_at,
                    "a JSON escape after `\\` (`\"`, `\\`, `/`, `b`, `f`, `n`, `r`, `t` or `uXXXX`)",
                ));
            }
        }
        Ok(())
    }

    /// A JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> ScimResult<Token> {
        let start = self.position;
        let mut text = String::new();
        if self.peek() == Some('-') {
            text.push('-');
            self.position += 1;
        }
        match self.peek() {
            Some('0') => {
                text.push('0');
                self.position += 1;
            }
            Some('1'..='9') => self.digits(&mut text),
            _ => return Err(invalid(self.position, "a digit")),
        }
        if self.peek() == Some('.') {
            text.push('.');
            self.position += 1;
            self.required_digits(&mut text)?;
        }
        if let Some(e @ ('e' | 'E')) = self.peek() {
            text.push(e);
            self.position += 1;
            if let Some(sign @ ('+' | '-')) = self.peek() {
                text.push(sign);
                self.position += 1;
            }
            self.required_digits(&mut text)?;
        }
        number_from_json(&text)
            .map(Token::Number)
            .ok_or_else(|| invalid(start, "a number within the range of a 64-bit float"))
    }

    fn required_digits(&mut self, text: &mut String) -> ScimResult<()> {
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.digits(text);
            Ok(())
        } else {
            Err(invalid(self.position, "a digit"))
        }
    }

    fn digits(&mut self, text: &mut String) {
        while let Some(digit) = self.peek().filter(char::is_ascii_digit) {
            text.push(digit);
            self.position += 1;
        }
    }
}

/// The number `text` spells (already checked against the JSON grammar): an integer when it
/// fits, otherwise the nearest `f64`. Rust's float parsing is correctly rounded, which
/// serde_json's default parser is not, so a printed filter parses back to the same value.
fn number_from_json(text: &str) -> Option<serde_json::Number> {
    let integer = !text.contains(['.', 'e', 'E']);
    if integer {
        if let Ok(unsigned) = text.parse::<u64>() {
            return Some(unsigned.into());
        }
        if let Ok(signed) = text.parse::<i64>() {
            return Some(signed.into());
        }
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
}

/// Attribute names start with a letter (RFC 7643 §2.1), `$ref` with `$`; `_` is let in so a
/// bad name is reported as a bad attribute path rather than a stray character.
fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '$' || c == '_'
}

/// Characters of attribute paths, including URN prefixes (`urn:...:2.0:User:name.givenName`).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '$' | ':' | '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<Token> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|spanned| spanned.token)
            .collect()
    }

    fn word(text: &str) -> Token {
        Token::Word(text.to_string())
    }

    fn error_at(text: &str) -> (usize, String) {
        match tokenize(text).unwrap_err() {
            ScimError::InvalidFilter { position, expected } => (position, expected),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn comparison_splits_into_words_and_a_string() {
        assert_eq!(
            tokens(r#"userName eq "bjensen""#),
            vec![
                word("userName"),
                word("eq"),
                Token::String("bjensen".into()),
                Token::End
            ]
        );
    }

    #[test]
    fn positions_are_character_offsets() {
        let spanned = tokenize(r#""é" eq x"#).unwrap();
        let positions: Vec<usize> = spanned.iter().map(|s| s.position).collect();
        assert_eq!(positions, vec![0, 4, 7, 8]);
    }

    #[test]
    fn urn_path_with_version_dot_is_one_word() {
        let path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";
        assert_eq!(
            tokens(&format!("{path} pr")),
            vec![word(path), word("pr"), Token::End]
        );
    }

    #[test]
    fn brackets_parens_and_dot_are_tokens() {
        assert_eq!(
            tokens("not(emails[type pr].value)"),
            vec![
                word("not"),
                Token::OpenParen,
                word("emails"),
                Token::OpenBracket,
                word("type"),
                word("pr"),
                Token::CloseBracket,
                Token::Dot,
                word("value"),
                Token::CloseParen,
                Token::End
            ]
        );
    }

    #[test]
    fn json_escapes_are_unescaped() {
        assert_eq!(
            tokens(r#""say \"hi\" \\ \/ \u00e9\n""#),
            vec![Token::String("say \"hi\" \\ / é\n".into()), Token::End]
        );
    }

    #[test]
    fn single_quote_inside_a_string_is_plain() {
        assert_eq!(
            tokens(r#""O'Brien""#),
            vec![Token::String("O'Brien".into()), Token::End]
        );
    }

    #[test]
    fn numbers_follow_json() {
        let numbers: Vec<String> = tokens("0 42 -7 3.25 -1.5e3 2E-2")
            .into_iter()
            .filter_map(|token| match token {
                Token::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(numbers, vec!["0", "42", "-7", "3.25", "-1500.0", "0.02"]);
    }

    #[test]
    fn unterminated_string_points_at_the_end() {
        assert_eq!(
            error_at(r#"userName eq "abc"#),
            (16, "a closing `\"`".into())
        );
    }

    #[test]
    fn unknown_escape_points_at_the_escaped_character() {
        let (position, expected) = error_at(r#"title eq "a\qb""#);
        assert_eq!(position, 12);
        assert!(expected.starts_with("a JSON escape"), "{expected}");
    }

    #[test]
    fn short_unicode_escape_points_at_the_missing_digit() {
        let (position, expected) = error_at(r#"title eq "\u12""#);
        assert_eq!(position, 14);
        assert_eq!(expected, "four hexadecimal digits after `\\u`");
    }

    #[test]
    fn lone_surrogate_is_refused() {
        assert_eq!(error_at(r#"title eq "\ud800""#).0, 9);
    }

    #[test]
    fn malformed_numbers_say_a_digit_was_expected() {
        assert_eq!(error_at("x eq -"), (6, "a digit".into()));
        assert_eq!(error_at("x eq 1."), (7, "a digit".into()));
        assert_eq!(error_at("x eq 1e+"), (8, "a digit".into()));
    }

    #[test]
    fn out_of_range_number_is_refused() {
        assert_eq!(error_at("x eq 1e999").0, 5);
    }

    #[test]
    fn stray_character_is_left_to_the_parser() {
        assert_eq!(
            tokens("x eq 'a'"),
            vec![
                word("x"),
                word("eq"),
                Token::Unexpected('\''),
                word("a"),
                Token::Unexpected('\''),
                Token::End
            ]
        );
    }
}
