//! Each persona's SAML 2.0 IdP (personas.md §1.2, §2.2, §3.2, §4.2, §6.2): metadata with a
//! signing certificate kept across restarts, the SSO endpoint for AuthnRequests over
//! HTTP-Redirect and HTTP-POST, IdP-initiated responses, Single Logout over HTTP-Redirect where
//! the persona has it (Entra, Generic), and Responses in the persona's shape —
//! NameID value and format, what is signed (assertion, response or both, RSA-SHA256 with
//! exclusive C14N), attribute names and NameFormat, the group attribute, the validity window
//! and SubjectConfirmation lifetime, SessionIndex — posted to the SP's ACS by an
//! auto-submitting form.
//!
//! Element prefixes are samael's (`saml2p:`/`saml2:`, as Okta and Google write them); Entra's
//! `samlp:` with a default assertion namespace is the same document to any namespace-aware SP.

pub mod assertion;
pub mod credential;
mod server;

pub use credential::SamlCredential;
pub use server::{
    POST_BINDING, REDIRECT_BINDING, SamlIdp, SamlIdpConfig, ServiceProvider, local_sso_path,
};
