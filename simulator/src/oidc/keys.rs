//! The provider's RS256 signing key: generated once, kept as a PKCS#8 PEM file so the JWKS
//! (and every token a relying party cached the key for) stays valid across restarts.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

/// The key cannot be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("cannot use the key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file does not hold an RSA private key.
    #[error("{} does not hold an RSA private key in PKCS#8 PEM: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The crypto library refused to make or use a key.
    #[error("cannot make an RSA key: {0}")]
    Crypto(String),
}

/// An RSA-2048 key that signs ID tokens with RS256.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    pkcs8_pem: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

/// Writes a private key to `path`, readable and writable by its owner only (mode 0600 on
/// Unix), replacing what was there.
pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // The mode above applies to a new file only; one left by an earlier version is narrowed.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    std::io::Write::write_all(&mut file, contents.as_bytes())
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|error| KeyError::Crypto(error.to_string()))?;
        let der = pair
            .as_der()
            .map_err(|error| KeyError::Crypto(error.to_string()))?;
        SigningKey::from_pkcs8_der(der.as_ref()).map_err(KeyError::Crypto)
    }

    /// The key in `path`, or a new one written there (with its folder) when the file does not
    /// exist yet.
    pub fn load_or_generate(path: &Path) -> Result<SigningKey, KeyError> {
        let io_error = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => SigningKey::from_pem(&text).map_err(|reason| KeyError::Invalid {
                path: path.to_owned(),
                reason,
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = SigningKey::generate()?;
                if let Some(folder) = path.parent() {
                    std::fs::create_dir_all(folder).map_err(io_error)?;
                }
                write_private(path, &key.pkcs8_pem).map_err(io_error)?;
                Ok(key)
            }
            Err(error) => Err(io_error(error)),
        }
    }

    /// The key of a PKCS#8 PEM document (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(text: &str) -> Result<SigningKey, String> {
        let body: String = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|error| format!("not base64: {error}"))?;
        SigningKey::from_pkcs8_der(&der)
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, String> {
        let pair = KeyPair::from_pkcs8(der).map_err(|error| error.to_string())?;
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let pkcs8_pem = pem(der);
        let encoding =
            EncodingKey::from_rsa_pem(pkcs8_pem.as_bytes()).map_err(|error| error.to_string())?;
        let thumbprint = Sha256::digest(&components.n);
        let kid = URL_SAFE_NO_PAD
            .encode(thumbprint)
            .chars()
            .take(16)
            .collect();
        Ok(SigningKey {
            kid,
            encoding,
            modulus: components.n,
            exponent: components.e,
            pkcs8_pem,
        })
    }

    /// The private key as a PKCS#8 PEM document.
    pub fn pkcs8_pem(&self) -> &str {
        &self.pkcs8_pem
    }

    /// The key id (`kid`), derived from the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key for `jsonwebtoken::encode`.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public key as a JWK (RFC 7517): `kty`, `use`, `alg`, `kid`, `n`, `e`, and no
    /// private member.
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&self.modulus),
            "e": URL_SAFE_NO_PAD.encode(&self.exponent),
        })
    }
}

/// DER as a PKCS#8 PEM document.
fn pem(der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_kept_across_restarts_and_its_jwk_has_no_private_member() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/entra.pem");
        let first = SigningKey::load_or_generate(&path).unwrap();
        let again = SigningKey::load_or_generate(&path).unwrap();
        assert_eq!(first.kid(), again.kid());
        assert_eq!(first.public_jwk(), again.public_jwk());
        let jwk = first.public_jwk();
        let members: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members, ["kty", "use", "alg", "kid", "n", "e"]);
        assert_eq!(jwk["e"], "AQAB");
    }

    #[cfg(unix)]
    #[test]
    fn a_generated_key_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("idp.pem");
        SigningKey::load_or_generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let stale = dir.path().join("stale.pem");
        std::fs::write(&stale, "old").unwrap();
        write_private(&stale, "new").unwrap();
        let mode = std::fs::metadata(&stale).unwrap().permissions().mode();
        assert_eq!(
            (mode & 0o777, std::fs::read_to_string(&stale).unwrap()),
            (0o600, "new".into())
        );
    }

    #[test]
    fn a_file_that_is_no_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.pem");
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let error = SigningKey::load_or_generate(&path).unwrap_err().to_string();
        assert!(
            error.contains("does not hold an RSA private key"),
            "{error}"
        );
    }
}
