//! Percent-encoding for the values SCIM puts into URLs: resource ids in paths, filters and
//! attribute names in queries.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Every byte but RFC 3986's unreserved characters (§2.3: letters, digits, `-._~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` percent-encoded for a path segment or a query parameter value: its UTF-8 bytes, all
/// but the unreserved characters as `%XX`.
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use percent_encoding::percent_decode_str;
    use proptest::prelude::*;

    #[test]
    fn only_unreserved_characters_stay_as_they_are() {
        assert_eq!(
            encode_component("userName eq \"a+b@x.test\"/é~-._"),
            "userName%20eq%20%22a%2Bb%40x.test%22%2F%C3%A9~-._"
        );
    }

    proptest! {
        #[test]
        fn encoding_decodes_back_and_leaves_only_unreserved_characters(text in "\\PC*") {
            let encoded = encode_component(&text);
            prop_assert!(encoded.bytes().all(|byte| byte.is_ascii_alphanumeric()
                || b"-._~%".contains(&byte)));
            prop_assert_eq!(percent_decode_str(&encoded).decode_utf8().unwrap(), text);
        }
    }
}
