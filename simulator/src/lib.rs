//! The IdP side of idpsim: personas, directories, attribute mapping and the SCIM
//! provisioning client; the SAML IdP and the OpenID Connect provider join them.
//!
//! It meets the reference SP only over HTTP, as a real IdP meets a real app: this crate never
//! depends on `idpsim-reference-sp`.
//!
//! # Layout
//! - [`persona`]: persona files (`fixtures/personas/*.toml`), their knobs and sources.
//! - [`directory`]: IdP directories in each IdP's own attribute names, and the generator.
//! - [`mapping`]: native attributes to SCIM paths, with Entra's expression language.
//! - [`provision`]: the provisioning cycle, its HTTP exchanges, state file and HAR export.
//! - [`oidc`]: each persona's OpenID Connect provider (discovery, JWKS, code flow with PKCE,
//!   token, userinfo, end-session, sign-in page).
//! - [`saml`]: each persona's SAML 2.0 IdP (metadata, SSO over HTTP-Redirect and HTTP-POST,
//!   IdP-initiated responses, the persona's assertion shape and signatures).
//! - [`clock`]: the time the IdPs (and the reference SP) go by, which tests and
//!   `idpsim serve --clock-api` freeze and advance.
//! - [`html`]: escaping for the pages; the sign-in page itself is shared by both protocols.
//! - [`http`]: the layers every IdP server has (no framing, a bound on request bodies).

mod bounded;
pub mod clock;
pub mod directory;
pub mod html;
pub mod http;
pub mod mapping;
pub mod oidc;
pub mod persona;
pub mod provision;
pub mod saml;
mod signin;

use std::path::{Path, PathBuf};

/// The workspace's `fixtures/` folder (personas and directories shipped with idpsim).
pub fn fixtures_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).join("fixtures")
}

/// The bundled persona and directory the unit tests use.
#[cfg(test)]
pub(crate) mod bundled {
    use crate::directory::Directory;
    use crate::persona::{Persona, PersonaCatalog};

    /// The persona `name` of `fixtures/personas/`.
    pub(crate) fn persona(name: &str) -> Persona {
        PersonaCatalog::open(&crate::fixtures_dir().join("personas"))
            .unwrap()
            .load(name)
            .unwrap()
            .persona
    }

    /// `fixtures/directories/acme.yaml`.
    pub(crate) fn acme() -> Directory {
        Directory::load(&crate::fixtures_dir().join("directories/acme.yaml")).unwrap()
    }
}
