//! Each persona's OpenID Connect provider (personas.md §1.3, §2.3, §3.3, §4.3, §6.3):
//! discovery at the persona's issuer, JWKS, the authorization code flow with PKCE S256 and a
//! sign-in page (or a test mode that signs in the `login_hint` user), the token endpoint with
//! `client_secret_basic` and `client_secret_post`, userinfo and end-session. ID tokens carry
//! the persona's claims: Entra's pairwise `sub`, `oid` and `tid`; Okta's `00u…` user id;
//! Google's numeric `sub`, `hd` and `email_verified`.

pub mod claims;
pub mod keys;
mod server;

pub use keys::{KeyError, SigningKey};
pub use server::{Client, OidcProvider, ProviderConfig, local_issuer};
