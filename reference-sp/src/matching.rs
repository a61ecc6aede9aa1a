//! Which SCIM user an SSO login is (seed 002): the five strategies that compare a claim of the
//! login with `userName` or `externalId` of the organization's SCIM users, the per-IdP
//! defaults, and the `oid` form that works for Entra's pairwise `sub` (personas.md §7).

use crate::store::{OrganizationData, ResourceType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// The kind of IdP a connection is (seed 002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdpType {
    /// Okta.
    Okta,
    /// Microsoft Entra ID.
    MicrosoftEntra,
    /// Any other IdP.
    Generic,
}

/// How a login is matched to a SCIM user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatchingStrategy {
    /// The login's `sub` is the user's `userName`.
    OidcSubToScimUsername,
    /// The login's `sub` is the user's `externalId`. With Entra's pairwise `sub` no user
    /// matches (personas.md §7, failure mode 1).
    OidcSubToScimExternalId,
    /// The login's `email` is the user's `userName`.
    OidcEmailToScimUsername,
    /// The login's `email`, or else its `preferred_username` (its username), is the user's
    /// `userName`. Seed 002 names this strategy without defining it; its one example (an Okta
    /// login whose `email` and `preferred_username` are both the SCIM `userName`) says it
    /// matches there, which fits "email or username": it matches whatever
    /// `OidcEmailToScimUsername` matches, and also the logins without an `email` (Entra
    /// members, personas.md §7 failure mode 3) or whose username is the SCIM `userName` while
    /// the email is not (Okta's login ≠ email, JumpCloud's short usernames: failure modes 5, 9).
    OidcEmailUsernameToScimUsername,
    /// The login's `preferred_username` is the user's `userName`.
    OidcPreferredUsernameToScimUsername,
    /// The login's `oid` is the user's `externalId`: the form that works for Entra, whose
    /// `oid` is the object id its provisioning sends as `externalId` (personas.md §1.3, §7).
    OidcOidToScimExternalId,
}

impl MatchingStrategy {
    /// Every strategy, the seed's five first.
    pub const ALL: [MatchingStrategy; 6] = [
        MatchingStrategy::OidcSubToScimUsername,
        MatchingStrategy::OidcSubToScimExternalId,
        MatchingStrategy::OidcEmailToScimUsername,
        MatchingStrategy::OidcEmailUsernameToScimUsername,
        MatchingStrategy::OidcPreferredUsernameToScimUsername,
        MatchingStrategy::OidcOidToScimExternalId,
    ];

    /// The default for an IdP type (seed 002).
    pub fn default_for(idp_type: IdpType) -> MatchingStrategy {
        match idp_type {
            IdpType::Okta | IdpType::Generic => MatchingStrategy::OidcEmailToScimUsername,
            IdpType::MicrosoftEntra => MatchingStrategy::OidcSubToScimExternalId,
        }
    }

    /// The claim the strategy reads.
    pub fn claim(self) -> &'static str {
        match self {
            MatchingStrategy::OidcSubToScimUsername | MatchingStrategy::OidcSubToScimExternalId => {
                "sub"
            }
            MatchingStrategy::OidcEmailToScimUsername => "email",
            MatchingStrategy::OidcEmailUsernameToScimUsername => "email` or `preferred_username",
            MatchingStrategy::OidcPreferredUsernameToScimUsername => "preferred_username",
            MatchingStrategy::OidcOidToScimExternalId => "oid",
        }
    }

    /// Whether the strategy compares with `externalId` (exact) rather than `userName` (any
    /// case, RFC 7643 §4.1.1).
    fn to_external_id(self) -> bool {
        matches!(
            self,
            MatchingStrategy::OidcSubToScimExternalId | MatchingStrategy::OidcOidToScimExternalId
        )
    }

    /// The values the strategy looks for, from the login's claims, in the order it tries them.
    fn wanted(self, claims: &Map<String, Value>) -> Vec<String> {
        let claim = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        match self {
            MatchingStrategy::OidcEmailUsernameToScimUsername => {
                let mut values: Vec<String> = ["email", "preferred_username"]
                    .into_iter()
                    .filter_map(claim)
                    .collect();
                values.dedup();
                values
            }
            _ => claim(self.claim()).into_iter().collect(),
        }
    }
}

impl fmt::Display for MatchingStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl FromStr for MatchingStrategy {
    type Err = String;

    fn from_str(text: &str) -> Result<MatchingStrategy, String> {
        MatchingStrategy::ALL
            .into_iter()
            .find(|strategy| strategy.to_string() == text)
            .ok_or_else(|| {
                let names: Vec<String> = MatchingStrategy::ALL
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                format!(
                    "unknown matching strategy `{text}` (known: {})",
                    names.join(", ")
                )
            })
    }
}

/// The SCIM user a login matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScimUser {
    /// The user's SCIM id.
    pub id: String,
    /// Its `userName`.
    pub user_name: String,
    /// Its `active`.
    pub active: bool,
}

/// What matching a login found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchOutcome {
    /// This user.
    Matched(ScimUser),
    /// The login has no value for the strategy's claim.
    NoClaim(&'static str),
    /// No SCIM user has the value.
    NoUser(String),
}

/// Finds the SCIM user of `data` that `claims` name under `strategy`.
pub(crate) fn find_user(
    data: &OrganizationData,
    strategy: MatchingStrategy,
    claims: &Map<String, Value>,
) -> MatchOutcome {
    let wanted = strategy.wanted(claims);
    if wanted.is_empty() {
        return MatchOutcome::NoClaim(strategy.claim());
    }
    let found = wanted.iter().find_map(|value| {
        if strategy.to_external_id() {
            data.resources(ResourceType::User).into_iter().find(|user| {
                user.body().get("externalId").and_then(Value::as_str) == Some(value.as_str())
            })
        } else {
            data.holder_of_name(ResourceType::User, value)
                .and_then(|id| data.get(ResourceType::User, id))
                .cloned()
        }
    });
    match found {
        Some(user) => MatchOutcome::Matched(scim_user(&user.id, &user.body())),
        None => MatchOutcome::NoUser(wanted.join(" or ")),
    }
}

/// The user `id` with its body's `userName` and `active` (absent `active` is active).
fn scim_user(id: &str, body: &Map<String, Value>) -> ScimUser {
    ScimUser {
        id: id.to_owned(),
        user_name: body
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        active: body.get("active").and_then(Value::as_bool).unwrap_or(true),
    }
}

/// The SCIM user `id` of `data`, as it is now.
pub(crate) fn user_now(data: &OrganizationData, id: &str) -> Option<ScimUser> {
    let user = data.get(ResourceType::User, id)?;
    Some(scim_user(id, &user.body()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn seed_defaults_per_idp_type() {
        assert_eq!(
            MatchingStrategy::default_for(IdpType::Okta),
            MatchingStrategy::OidcEmailToScimUsername
        );
        assert_eq!(
            MatchingStrategy::default_for(IdpType::MicrosoftEntra),
            MatchingStrategy::OidcSubToScimExternalId
        );
        assert_eq!(
            MatchingStrategy::default_for(IdpType::Generic),
            MatchingStrategy::OidcEmailToScimUsername
        );
    }

    #[test]
    fn each_strategy_reads_its_claim() {
        let login = claims(json!({
            "sub": "s-1", "email": "jdoe@example.com", "preferred_username": "jdoe@example.com",
            "oid": "o-1"
        }));
        let wanted: Vec<Vec<String>> = MatchingStrategy::ALL
            .iter()
            .map(|strategy| strategy.wanted(&login))
            .collect();
        assert_eq!(
            wanted,
            [
                vec!["s-1".to_owned()],
                vec!["s-1".to_owned()],
                vec!["jdoe@example.com".to_owned()],
                vec!["jdoe@example.com".to_owned()],
                vec!["jdoe@example.com".to_owned()],
                vec!["o-1".to_owned()],
            ]
        );
        assert!(
            MatchingStrategy::OidcEmailToScimUsername
                .wanted(&claims(json!({"sub": "x"})))
                .is_empty()
        );
        let short = claims(json!({"email": "jdoe@example.com", "preferred_username": "jdoe"}));
        assert_eq!(
            MatchingStrategy::OidcEmailUsernameToScimUsername.wanted(&short),
            ["jdoe@example.com", "jdoe"]
        );
        let no_email = claims(json!({"preferred_username": "adele@contoso.test"}));
        assert_eq!(
            MatchingStrategy::OidcEmailUsernameToScimUsername.wanted(&no_email),
            ["adele@contoso.test"]
        );
    }

    #[test]
    fn names_round_trip() {
        for strategy in MatchingStrategy::ALL {
            assert_eq!(
                strategy.to_string().parse::<MatchingStrategy>(),
                Ok(strategy)
            );
        }
        assert!("OidcMagic".parse::<MatchingStrategy>().is_err());
    }
}
