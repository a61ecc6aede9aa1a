//! The IdP side of idpsim: personas, directories, the SCIM provisioning client, the SAML IdP
//! and the OpenID Connect provider.
//!
//! It meets the reference SP only over HTTP, as a real IdP meets a real app: this crate never
//! depends on `idpsim-reference-sp`.
