//! Signatures of messages sent over the HTTP-Redirect binding (SAML Bindings §3.4.4.1): the
//! signer signs `SAMLRequest=…&RelayState=…&SigAlg=…` (RelayState only when sent), each value
//! as it appears URL-encoded in the query, and adds the base64 `Signature` parameter.
//!
//! samael's `UrlVerifier` is not used: it re-encodes the values before verifying (a sender
//! that encodes differently then fails) and panics when `SigAlg` or `Signature` is missing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use percent_encoding::percent_decode_str;

/// The one signature algorithm accepted, as for signed XML: RSA-SHA256.
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// Why a redirect signature is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum SignatureProblem {
    /// No `Signature` or no `SigAlg` parameter.
    #[error("is not signed: the query has no `Signature` and `SigAlg` parameters")]
    Unsigned,
    /// Another algorithm than RSA-SHA256.
    #[error("is signed with `{0}`; only RSA-SHA256 is accepted")]
    Algorithm(String),
    /// `Signature` is not base64.
    #[error("has a `Signature` that is not base64")]
    Encoding,
    /// No certificate of the IdP verifies the signature.
    #[error("has a signature that none of the IdP's certificates verifies")]
    Invalid,
    /// A signed parameter appears twice, or with its name percent-encoded: what is verified
    /// and what is read could then differ.
    #[error("names the parameter `{0}` twice or in encoded form")]
    Ambiguous(String),
}

/// Checks that `raw_query` (the query string as received, still URL-encoded) carries the
/// message parameter `message` (`SAMLRequest` or `SAMLResponse`) with a valid RSA-SHA256
/// signature by one of `certificates` (base64 DER, as in metadata).
pub(super) fn verify(
    raw_query: &str,
    message: &str,
    certificates: &[String],
) -> Result<(), SignatureProblem> {
    let pairs: Vec<(&str, &str)> = raw_query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    let signed_names = [message, "RelayState", "SigAlg", "Signature"];
    for name in signed_names {
        let spellings: Vec<&str> = pairs
            .iter()
            .map(|(key, _)| *key)
            .filter(|key| decode(key, true) == name)
            .collect();
        if spellings.len() > 1 || spellings.iter().any(|key| *key != name) {
            return Err(SignatureProblem::Ambiguous(name.to_owned()));
        }
    }
    let raw = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    };
    let (Some(signature), Some(algorithm)) = (raw("Signature"), raw("SigAlg")) else {
        return Err(SignatureProblem::Unsigned);
    };
    let algorithm_name = decode(algorithm, true);
    if algorithm_name != RSA_SHA256 {
        return Err(SignatureProblem::Algorithm(algorithm_name));
    }
    // A base64 `+` that the sender did not escape is kept as `+`, not read as a space.
    let signature: String = decode(signature, false)
        .chars()
        .filter(|character| !character.is_whitespace())
        .collect();
    let signature = STANDARD
        .decode(signature)
        .map_err(|_| SignatureProblem::Encoding)?;
    let mut signed = format!("{message}={}", raw(message).unwrap_or_default());
    if let Some(relay_state) = raw("RelayState") {
        signed.push_str("&RelayState=");
        signed.push_str(relay_state);
    }
    signed.push_str("&SigAlg=");
    signed.push_str(algorithm);
    let verified = certificates
        .iter()
        .any(|certificate| verifies(certificate, signed.as_bytes(), &signature));
    if verified {
        Ok(())
    } else {
        Err(SignatureProblem::Invalid)
    }
}

/// A query value URL-decoded; `+` is a space when `plus_is_space`.
fn decode(raw: &str, plus_is_space: bool) -> String {
    let raw = if plus_is_space {
        raw.replace('+', " ")
    } else {
        raw.to_owned()
    };
    percent_decode_str(&raw).decode_utf8_lossy().into_owned()
}

/// Whether the certificate (base64 DER) verifies `signature` over `data` with RSA-SHA256.
fn verifies(certificate: &str, data: &[u8], signature: &[u8]) -> bool {
    let verified = || -> Result<bool, Box<dyn std::error::Error>> {
        let key = X509::from_der(&STANDARD.decode(certificate)?)?.public_key()?;
        let mut verifier = Verifier::new(MessageDigest::sha256(), &key)?;
        verifier.update(data)?;
        Ok(verifier.verify(signature)?)
    };
    verified().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::{PKey, Private};
    use openssl::sign::Signer;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

    /// A key and its certificate (base64 DER).
    fn key_and_certificate() -> (PKey<Private>, String) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let certificate = rcgen::CertificateParams::new(vec!["idp.test".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (
            PKey::private_key_from_pkcs8(&key.serialize_der()).unwrap(),
            STANDARD.encode(certificate.der()),
        )
    }

    fn encode(value: &str) -> String {
        utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
    }

    /// A query carrying `SAMLRequest` (and `RelayState`) signed with `key` under `algorithm`.
    fn signed_query(key: &PKey<Private>, relay_state: Option<&str>, algorithm: &str) -> String {
        let mut query = format!("SAMLRequest={}", encode("fZBBT8MwDIX/"));
        if let Some(relay_state) = relay_state {
            query.push_str(&format!("&RelayState={}", encode(relay_state)));
        }
        query.push_str(&format!("&SigAlg={}", encode(algorithm)));
        let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
        signer.update(query.as_bytes()).unwrap();
        let signature = STANDARD.encode(signer.sign_to_vec().unwrap());
        format!("{query}&Signature={}", encode(&signature))
    }

    #[test]
    fn a_signature_by_one_of_the_certificates_verifies_with_or_without_relay_state() {
        let (key, certificate) = key_and_certificate();
        let (_, other) = key_and_certificate();
        let certificates = [other, certificate];
        for relay_state in [None, Some("https://app.test/back?a=1&b=two words")] {
            let query = signed_query(&key, relay_state, RSA_SHA256);
            assert_eq!(verify(&query, "SAMLRequest", &certificates), Ok(()));
        }
    }

    #[test]
    fn the_values_are_checked_as_they_were_encoded() {
        let (key, certificate) = key_and_certificate();
        let query = signed_query(&key, Some("a b"), RSA_SHA256);
        // The same RelayState encoded another way is another signed string.
        let reencoded = query.replace("RelayState=a%20b", "RelayState=a+b");
        assert_ne!(query, reencoded);
        assert_eq!(
            verify(&reencoded, "SAMLRequest", &[certificate]),
            Err(SignatureProblem::Invalid)
        );
    }

    #[test]
    fn unsigned_foreign_tampered_and_other_algorithms_are_refused() {
        let (key, certificate) = key_and_certificate();
        let (other_key, _) = key_and_certificate();
        let certificates = [certificate];
        let unsigned = format!("SAMLRequest={}&RelayState=x", encode("fZBBT8MwDIX/"));
        assert_eq!(
            verify(&unsigned, "SAMLRequest", &certificates),
            Err(SignatureProblem::Unsigned)
        );
        let without_algorithm = signed_query(&key, None, RSA_SHA256)
            .split('&')
            .filter(|pair| !pair.starts_with("SigAlg="))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(
            verify(&without_algorithm, "SAMLRequest", &certificates),
            Err(SignatureProblem::Unsigned)
        );
        assert_eq!(
            verify(
                &signed_query(&other_key, None, RSA_SHA256),
                "SAMLRequest",
                &certificates
            ),
            Err(SignatureProblem::Invalid)
        );
        let tampered =
            signed_query(&key, Some("one"), RSA_SHA256).replace("RelayState=one", "RelayState=two");
        assert_eq!(
            verify(&tampered, "SAMLRequest", &certificates),
            Err(SignatureProblem::Invalid)
        );
        let sha1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
        assert_eq!(
            verify(
                &signed_query(&key, None, sha1),
                "SAMLRequest",
                &certificates
            ),
            Err(SignatureProblem::Algorithm(sha1.to_owned()))
        );
        let not_base64 = format!(
            "{}&Signature=%25%25",
            unsigned.replace("&RelayState=x", &format!("&SigAlg={}", encode(RSA_SHA256)))
        );
        assert_eq!(
            verify(&not_base64, "SAMLRequest", &certificates),
            Err(SignatureProblem::Encoding)
        );
    }

    #[test]
    fn a_signed_parameter_added_again_or_under_an_encoded_name_is_refused() {
        let (key, certificate) = key_and_certificate();
        let certificates = [certificate];
        let query = signed_query(&key, None, RSA_SHA256);
        for added in [
            "&Relay%53tate=https%3A%2F%2Fevil.example%2F",
            "&RelayState=https%3A%2F%2Fevil.example%2F&RelayState=x",
            "&SAML%52equest=x",
        ] {
            let altered = format!("{query}{added}");
            assert!(
                matches!(
                    verify(&altered, "SAMLRequest", &certificates),
                    Err(SignatureProblem::Ambiguous(_))
                ),
                "{added}"
            );
        }
        let signed_with_relay_state = signed_query(&key, Some("back"), RSA_SHA256);
        let repeated = format!("{signed_with_relay_state}&RelayState=elsewhere");
        assert_eq!(
            verify(&repeated, "SAMLRequest", &certificates),
            Err(SignatureProblem::Ambiguous("RelayState".into()))
        );
    }
}
