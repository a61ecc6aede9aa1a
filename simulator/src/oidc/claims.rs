//! What a persona's provider says about a user: the `sub`, the profile claims from the
//! user's block in the persona's own attribute names, and the claims every token of that IdP
//! carries (personas.md §1.3, §2.3, §3.3, §4.3, §6.3).

use crate::directory::DirectoryUser;
use crate::mapping::{NativeRecord, map_record};
use crate::persona::Persona;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// The `subject` knob value for a subject that differs per client (Entra, personas.md §1.3).
pub const PAIRWISE: &str = "pairwise";

/// The claim whose value a pairwise `sub` is derived from (Entra's object id).
const PAIRWISE_SOURCE_CLAIM: &str = "oid";

/// A user cannot be described by this persona.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// The user has no block for the persona's IdP.
    #[error("user \"{user}\" has no `{block}` block in the directory")]
    NoBlock {
        /// The user's key.
        user: String,
        /// The persona's block.
        block: String,
    },
    /// The attribute the subject comes from is missing.
    #[error("user \"{user}\" has no `{attribute}`, which the persona's `sub` comes from")]
    NoSubject {
        /// The user's key.
        user: String,
        /// The native attribute (or claim) the subject needs.
        attribute: String,
    },
}

/// The user's block as the persona reads it.
fn block_attributes(
    persona: &Persona,
    user: &DirectoryUser,
) -> Result<Map<String, Value>, ClaimsError> {
    user.blocks
        .get(&persona.directory_block)
        .map(|block| block.attributes())
        .ok_or_else(|| ClaimsError::NoBlock {
            user: user.key.clone(),
            block: persona.directory_block.clone(),
        })
}

/// The SCIM values the persona maps the user to (its `userName` is the sign-in name, its
/// `active` whether the IdP lets the user sign in).
fn mapped(persona: &Persona, user: &DirectoryUser) -> Result<Map<String, Value>, ClaimsError> {
    let attributes = block_attributes(persona, user)?;
    let record = NativeRecord {
        attributes: &attributes,
        computed: &persona.computed,
    };
    Ok(map_record(&persona.user_rules, record, &|_| None)
        .map(|values| values.into_iter().collect())
        .unwrap_or_default())
}

/// Whether the IdP lets the user sign in: the persona's mapping of `active` (Entra's
/// `accountEnabled`, Okta's `status`, JumpCloud's `activated`/`suspended`, Google's
/// `suspended`); a user without it is enabled.
pub fn is_enabled(persona: &Persona, user: &DirectoryUser) -> bool {
    mapped(persona, user)
        .ok()
        .and_then(|values| values.get("active").and_then(Value::as_bool))
        .unwrap_or(true)
}

/// The name the user signs in with: what the persona sends as SCIM `userName` (Entra's UPN,
/// Okta's login, Google's primary email, JumpCloud's username).
pub fn sign_in_name(persona: &Persona, user: &DirectoryUser) -> Option<String> {
    mapped(persona, user)
        .ok()?
        .get("userName")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The claims about `user` in an ID token for `client_id`: `sub`, the persona's profile
/// claims (unset attributes are left out, never null) and its static claims.
pub fn user_claims(
    persona: &Persona,
    user: &DirectoryUser,
    client_id: &str,
    tenant: &str,
) -> Result<Map<String, Value>, ClaimsError> {
    let attributes = block_attributes(persona, user)?;
    let record = NativeRecord {
        attributes: &attributes,
        computed: &persona.computed,
    };
    let mut claims = Map::new();
    for (claim, native) in &persona.oidc.claims.value {
        if let Some(value) = record.get(native).filter(|value| !value.is_null()) {
            claims.insert(claim.clone(), value);
        }
    }
    let subject_knob = &persona.oidc.subject.value;
    let subject = if subject_knob == PAIRWISE {
        let stable = claims
            .get(PAIRWISE_SOURCE_CLAIM)
            .and_then(Value::as_str)
            .ok_or_else(|| ClaimsError::NoSubject {
                user: user.key.clone(),
                attribute: PAIRWISE_SOURCE_CLAIM.to_owned(),
            })?;
        pairwise_subject(client_id, stable, tenant)
    } else {
        match record.get(subject_knob) {
            Some(Value::String(text)) => text,
            Some(Value::Number(number)) => number.to_string(),
            _ => {
                return Err(ClaimsError::NoSubject {
                    user: user.key.clone(),
                    attribute: subject_knob.clone(),
                });
            }
        }
    };
    claims.insert("sub".into(), Value::String(subject));
    let email_domain = claims
        .get("email")
        .and_then(Value::as_str)
        .and_then(|email| email.rsplit_once('@'))
        .map(|(_, domain)| domain.to_owned());
    if let Some(statics) = &persona.oidc.static_claims {
        for (claim, value) in &statics.value {
            let value = match value {
                Value::String(text) if text.contains("{email_domain}") => match &email_domain {
                    Some(domain) => Value::String(text.replace("{email_domain}", domain)),
                    None => continue,
                },
                Value::String(text) => Value::String(text.replace("{tenant}", tenant)),
                other => other.clone(),
            };
            claims.insert(claim.clone(), value);
        }
    }
    Ok(claims)
}

/// The scopes the provider grants, in the order asked for: `openid`, `profile` and `email`
/// (others are not granted, and the token response says so, RFC 6749 §5.1).
pub fn granted_scopes(requested: &str) -> String {
    let mut granted: Vec<&str> = Vec::new();
    for scope in requested.split_whitespace() {
        if ["openid", "profile", "email"].contains(&scope) && !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    granted.join(" ")
}

/// `claims` without those the `scope` does not grant: `email` and `email_verified` need the
/// `email` scope, the profile claims (OpenID Connect Core §5.4) and Entra's `oid` the
/// `profile` scope (personas.md §1.3, §2.3, §4.3); `sub` and the IdP's own claims (`tid`,
/// `ver`, `hd`) come with `openid`.
pub fn within_scope(mut claims: Map<String, Value>, scope: &str) -> Map<String, Value> {
    const EMAIL: [&str; 2] = ["email", "email_verified"];
    const PROFILE: [&str; 15] = [
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
        "oid",
    ];
    let has = |wanted: &str| scope.split_whitespace().any(|scope| scope == wanted);
    claims.retain(|claim, _| {
        let claim = claim.as_str();
        (has("email") || !EMAIL.contains(&claim)) && (has("profile") || !PROFILE.contains(&claim))
    });
    claims
}

/// A `sub` unique to the pair (user, client) and stable for both, in the shape of Entra's
/// (43 base64url characters, personas.md §1.3): a hash of the client id, the user's stable
/// id and the tenant.
pub fn pairwise_subject(client_id: &str, stable_id: &str, tenant: &str) -> String {
    let digest = Sha256::digest(format!("{client_id}\n{stable_id}\n{tenant}"));
    URL_SAFE_NO_PAD.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled::{acme, persona};

    #[test]
    fn entra_has_a_pairwise_sub_the_oid_tid_and_the_upn_as_preferred_username() {
        let entra = persona("entra");
        let directory = acme();
        let adele = directory.user("adele").unwrap();
        let claims = user_claims(&entra, adele, "app-one", "tenant-1").unwrap();
        let other_app = user_claims(&entra, adele, "app-two", "tenant-1").unwrap();
        assert_ne!(claims["sub"], other_app["sub"], "pairwise per client");
        assert_eq!(claims["sub"].as_str().unwrap().len(), 43);
        assert_eq!(claims["oid"], other_app["oid"]);
        assert_eq!(claims["tid"], "tenant-1");
        assert_eq!(claims["ver"], "2.0");
        assert_eq!(claims["preferred_username"], "adele.vance@acme.test");
        assert!(claims.get("email").is_none(), "Entra leaves email out");
        assert!(
            claims.get("upn").is_none(),
            "upn is an optional claim in v2.0 tokens (personas.md §1.3)"
        );
        assert_eq!(
            sign_in_name(&entra, adele),
            claims["preferred_username"].as_str().map(str::to_owned)
        );
    }

    #[test]
    fn okta_and_google_use_their_user_ids_and_google_adds_hd_and_the_full_name() {
        let directory = acme();
        let catherine = directory.user("catherine").unwrap();
        let okta = user_claims(&persona("okta"), catherine, "app", "t").unwrap();
        assert_eq!(okta["sub"], "00utoZ5y0HmJMwuErIC5");
        let google = user_claims(&persona("google"), catherine, "app", "t").unwrap();
        assert_eq!(google["sub"], "168076971176262840770");
        assert_eq!(google["hd"], "acme.test");
        assert_eq!(google["email_verified"], true);
        assert_eq!(google["name"], "Catherine Hale");
        assert_eq!(google["given_name"], "Catherine");
    }

    #[test]
    fn disabled_users_are_not_enabled() {
        let directory = acme();
        let entra = persona("entra");
        assert!(!is_enabled(&entra, directory.user("debra").unwrap()));
        assert!(is_enabled(&entra, directory.user("adele").unwrap()));
    }
}
