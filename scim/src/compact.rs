//! Compact JSON text of SCIM resources, for holding many of them in memory.
//!
//! Every User body names `urn:ietf:params:scim:schemas:` two or three times (its `schemas`
//! and the enterprise extension's key). [`fold_urns`] replaces that prefix with the byte
//! `0x01`, which never occurs in JSON text serde_json writes (it escapes control characters
//! inside strings as `\u0001`), so [`unfold_urns`] restores the text exactly.

/// The prefix of every SCIM schema URN (RFC 7643 §3).
const URN_PREFIX: &str = "urn:ietf:params:scim:schemas:";

/// The byte standing for [`URN_PREFIX`] in folded text.
const FOLDED: char = '\u{1}';

/// `json` (as serde_json writes it) with every SCIM schema URN prefix folded to one byte.
pub fn fold_urns(json: &str) -> Box<str> {
    json.replace(URN_PREFIX, FOLDED.encode_utf8(&mut [0; 1]))
        .into_boxed_str()
}

/// The JSON text that [`fold_urns`] folded (a `char` pattern: found with `memchr`).
pub fn unfold_urns(folded: &str) -> String {
    folded.replace(FOLDED, URN_PREFIX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_user_body_folds_shorter_and_unfolds_to_the_same_text() {
        let body = json!({
            "schemas": [crate::schema::USER_SCHEMA, crate::schema::ENTERPRISE_USER_SCHEMA],
            "userName": "urn:ietf:params:scim:schemas: is a name too",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
        })
        .to_string();
        let folded = fold_urns(&body);
        assert!(folded.len() < body.len() - 3 * 28);
        assert_eq!(unfold_urns(&folded), body);
    }

    proptest! {
        #[test]
        fn folding_round_trips_any_serialized_json(text in ".{0,40}", key in "[a-z:\u{1}]{0,12}") {
            let body = json!({ key: [text.clone(), format!("{URN_PREFIX}{text}")] }).to_string();
            prop_assert_eq!(unfold_urns(&fold_urns(&body)), body);
        }
    }
}
