//! The IdP's SAML signing credential: an RSA-2048 key and a self-signed X.509 certificate made
//! with rcgen, generated on the first start and kept as PEM files so the metadata (and every SP
//! that trusted the certificate) stays valid across restarts.

use crate::oidc::{KeyError, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{Datelike as _, Utc};
use std::path::{Path, PathBuf};

/// How many years a generated certificate is valid (Entra's default is three, Google's five:
/// personas.md §1.2, §4.2).
const CERTIFICATE_YEARS: i32 = 5;

/// A signing key and its certificate.
#[derive(Clone)]
pub struct SamlCredential {
    key: SigningKey,
    key_der: Vec<u8>,
    certificate_pem: String,
    certificate_der: Vec<u8>,
}

impl std::fmt::Debug for SamlCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlCredential")
            .field("kid", &self.key.kid())
            .finish()
    }
}

impl SamlCredential {
    /// A new key and a certificate for `common_name`.
    pub fn generate(common_name: &str) -> Result<SamlCredential, KeyError> {
        let key = SigningKey::generate()?;
        let certificate_pem = self_signed(&key, common_name)?;
        SamlCredential::from_parts(key, &certificate_pem)
    }

    /// The credential kept in `folder` as `{name}.key.pem` and `{name}.crt.pem`, or a new one
    /// (certificate for `common_name`) written there when either file is missing.
    pub fn load_or_generate(
        folder: &Path,
        name: &str,
        common_name: &str,
    ) -> Result<SamlCredential, KeyError> {
        let key_path = folder.join(format!("{name}.key.pem"));
        let certificate_path = folder.join(format!("{name}.crt.pem"));
        if key_path.exists() && certificate_path.exists() {
            let key = SigningKey::load_or_generate(&key_path)?;
            let text = std::fs::read_to_string(&certificate_path)
                .map_err(|source| io_error(&certificate_path, source))?;
            return SamlCredential::from_parts(key, &text).map_err(|error| KeyError::Invalid {
                path: certificate_path.clone(),
                reason: error.to_string(),
            });
        }
        let credential = SamlCredential::generate(common_name)?;
        std::fs::create_dir_all(folder).map_err(|source| io_error(folder, source))?;
        crate::oidc::keys::write_private(&key_path, credential.key.pkcs8_pem())
            .map_err(|source| io_error(&key_path, source))?;
        std::fs::write(&certificate_path, &credential.certificate_pem)
            .map_err(|source| io_error(&certificate_path, source))?;
        Ok(credential)
    }

    fn from_parts(key: SigningKey, certificate_pem: &str) -> Result<SamlCredential, KeyError> {
        let key_der = pem_body(key.pkcs8_pem())?;
        let certificate_der = pem_body(certificate_pem)?;
        Ok(SamlCredential {
            key,
            key_der,
            certificate_pem: certificate_pem.to_owned(),
            certificate_der,
        })
    }

    /// The private key as PKCS#8 DER (what `xmlsec` signs with).
    pub fn key_der(&self) -> &[u8] {
        &self.key_der
    }

    /// The certificate as PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The certificate as DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The certificate as one line of base64, as metadata and `KeyInfo` carry it.
    pub fn certificate_base64(&self) -> String {
        STANDARD.encode(&self.certificate_der)
    }
}

fn io_error(path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        path: PathBuf::from(path),
        source,
    }
}

/// A self-signed certificate of `key` for `common_name`, valid from today for
/// [`CERTIFICATE_YEARS`].
fn self_signed(key: &SigningKey, common_name: &str) -> Result<String, KeyError> {
    let crypto = |error: rcgen::Error| KeyError::Crypto(error.to_string());
    let pair = rcgen::KeyPair::from_pem(key.pkcs8_pem()).map_err(crypto)?;
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "idpsim (simulated IdP)");
    let today = Utc::now().date_naive();
    let month = u8::try_from(today.month()).unwrap_or(1);
    let day = u8::try_from(today.day()).unwrap_or(1);
    params.not_before = rcgen::date_time_ymd(today.year(), month, day);
    params.not_after = rcgen::date_time_ymd(today.year() + CERTIFICATE_YEARS, month, day.min(28));
    let certificate = params.self_signed(&pair).map_err(crypto)?;
    Ok(certificate.pem())
}

/// The DER inside a PEM document.
fn pem_body(text: &str) -> Result<Vec<u8>, KeyError> {
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD
        .decode(body)
        .map_err(|error| KeyError::Crypto(format!("a PEM document is not base64: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_is_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let first = SamlCredential::load_or_generate(dir.path(), "entra", "Entra").unwrap();
        let again = SamlCredential::load_or_generate(dir.path(), "entra", "Other").unwrap();
        assert_eq!(first.certificate_pem(), again.certificate_pem());
        assert_eq!(first.key_der(), again.key_der());
        assert!(
            first
                .certificate_pem()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(!first.certificate_base64().contains('\n'));
    }
}
