//! An organization's account policies, applied to every verified SSO login of a connection
//! paired with it (see `sso::Sso::session_for`):
//!
//! - Just-in-time provisioning (seed 000 "On the first login, a user record gets created",
//!   seed 001 "JIT Provisioning"), off by default. While it is on and the organization has no
//!   SCIM connection, the first sign-in creates the SCIM user from the login (`userName` from
//!   `email`, else `preferred_username`, else the subject; `externalId` = the subject; name and
//!   email from the claims or SAML attributes; active) and later sign-ins update it; the session
//!   is matched to that user. An organization has a SCIM connection as soon as its directory
//!   holds a group, or a user that just-in-time provisioning did not create: a SCIM client is
//!   then writing to it, and it decides who exists (seed 002: a missing user is refused with
//!   `ScimUserNotActive`). Deactivated users stay deactivated: provisioning never reactivates
//!   them (seed 001 "users are deactivated, never deleted").
//! - Teams (seed 000 "Teams map to SSO groups ... the team name must match the group name"):
//!   each team is linked to one IdP group name, compared exactly. A user's groups are the
//!   `displayName`s of their SCIM groups and the names in the login's group claim (OIDC
//!   `groups`, or for SAML the attribute `claim_attributes["groups"]` names, e.g. JumpCloud's
//!   `memberOf`, personas.md §3.2). An organization with at least one team refuses a user who is
//!   in none of the linked groups with `NotInAnyTeam`; the session lists the user's teams.
//! - What a SAML connection does with an unsolicited (IdP-initiated) response,
//!   [`IdpInitiatedPolicy`] (seed 001 refuses them, seed 004 turns them into SP-initiated
//!   sign-ins).
//!
//! The policies are kept in the database (migration 0005) and read at each sign-in.

use crate::error::SpError;
use crate::matching::{self, ScimUser};
use crate::sso::Login;
use crate::store::{Mutation, OrganizationData, Outcome, ResourceType, Store};
use axum::http::StatusCode;
use idpsim_scim::ScimError;
use idpsim_scim::schema::USER_SCHEMA;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;

/// What a SAML connection does with a response no AuthnRequest of the SP asked for (an
/// IdP-initiated sign-in; personas.md §1.2, §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdpInitiatedPolicy {
    /// The response signs the user in, once it passes every check an answer to an
    /// AuthnRequest passes.
    Accept,
    /// The response is refused with its reason (seed 001: "does not support IdP-initiated
    /// authentication").
    Refuse,
    /// The response, once verified, is not used to sign in: the SP starts an SP-initiated
    /// sign-in at the same connection instead, with the NameID as `login_hint` (seed 004:
    /// "converts these requests to secure SP-initiated flows").
    StartSpInitiated,
}

impl IdpInitiatedPolicy {
    /// Every policy.
    pub const ALL: [IdpInitiatedPolicy; 3] = [
        IdpInitiatedPolicy::Accept,
        IdpInitiatedPolicy::Refuse,
        IdpInitiatedPolicy::StartSpInitiated,
    ];
}

impl fmt::Display for IdpInitiatedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl FromStr for IdpInitiatedPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<IdpInitiatedPolicy, String> {
        IdpInitiatedPolicy::ALL
            .into_iter()
            .find(|policy| policy.to_string() == text)
            .ok_or_else(|| {
                format!("unknown IdP-initiated policy `{text}` (known: Accept, Refuse, StartSpInitiated)")
            })
    }
}

/// The IdP-initiated policy a SAML connection's settings name: `idp_initiated` (`"Accept"`,
/// `"Refuse"` or `"StartSpInitiated"`), else the older flag `accept_idp_initiated` (`true` is
/// `Accept`), else `Refuse`.
pub(crate) fn idp_initiated_setting(
    named: Option<&Value>,
    accept_flag: bool,
) -> Result<IdpInitiatedPolicy, SpError> {
    match named {
        None | Some(Value::Null) if accept_flag => Ok(IdpInitiatedPolicy::Accept),
        None | Some(Value::Null) => Ok(IdpInitiatedPolicy::Refuse),
        Some(Value::String(name)) => name.parse().map_err(SpError::InvalidConnection),
        Some(_) => Err(SpError::InvalidConnection(
            "`settings.idp_initiated` must be \"Accept\", \"Refuse\" or \"StartSpInitiated\""
                .into(),
        )),
    }
}

/// A team of an organization and the IdP group whose members are in it (seed 000).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// The team's name, unique in the organization.
    pub name: String,
    /// The IdP group linked to the team; a group name must equal it exactly.
    pub idp_group: String,
}

/// Why the account policies refuse a verified login.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AccountRefusal {
    /// No active SCIM user is the login (seed 002).
    #[error("ScimUserNotActive: {0}")]
    ScimUserNotActive(String),
    /// The organization has teams and the user is in none of their groups (seed 000).
    #[error("NotInAnyTeam: {0}")]
    NotInAnyTeam(String),
    /// Just-in-time provisioning could not write the user.
    #[error("JitProvisioningFailed: {0}")]
    JitProvisioningFailed(String),
    /// The policies could not be read.
    #[error("the organization's account policies could not be read: {0}")]
    Unavailable(String),
}

impl AccountRefusal {
    /// The HTTP status the sign-in is refused with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            AccountRefusal::ScimUserNotActive(_) | AccountRefusal::NotInAnyTeam(_) => {
                StatusCode::UNAUTHORIZED
            }
            AccountRefusal::JitProvisioningFailed(_) | AccountRefusal::Unavailable(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<sqlx::Error> for AccountRefusal {
    fn from(error: sqlx::Error) -> AccountRefusal {
        tracing::error!(%error, "the account policies could not be read");
        AccountRefusal::Unavailable(error.to_string())
    }
}

/// The claims just-in-time provisioning reads, each with the SAML attribute names that carry
/// it when the connection maps none (Entra's defaults, personas.md §1.2; the short names
/// Okta and JumpCloud admins commonly define, personas.md §2.2, §3.2).
const EMAIL_CLAIMS: &[&str] = &[
    "email",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "Email",
    "mail",
];
/// Where just-in-time provisioning reads `name.givenName`.
const GIVEN_NAME_CLAIMS: &[&str] = &[
    "given_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "firstName",
    "firstname",
];
/// Where just-in-time provisioning reads `name.familyName`.
const FAMILY_NAME_CLAIMS: &[&str] = &[
    "family_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "lastName",
    "lastname",
];
/// Where just-in-time provisioning reads `displayName` and `name.formatted`.
const FULL_NAME_CLAIMS: &[&str] = &[
    "name",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "displayName",
];
/// The login claim listing the user's IdP groups (a SAML connection maps its group attribute
/// to it in `claim_attributes`).
pub(crate) const GROUPS_CLAIM: &str = "groups";

/// The account policies of every organization, in the database.
#[derive(Debug, Clone)]
pub(crate) struct Policies {
    pool: SqlitePool,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Policies {
    /// The policies kept in `pool`'s database.
    pub(crate) fn new(pool: SqlitePool) -> Policies {
        Policies { pool }
    }

    /// Turns just-in-time provisioning on or off for the organization.
    pub(crate) async fn set_jit(&self, organization: &str, on: bool) -> Result<(), SpError> {
        let changed = sqlx::query("UPDATE organizations SET jit_provisioning = ?1 WHERE id = ?2")
            .bind(i64::from(on))
            .bind(organization)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(SpError::UnknownOrganization(organization.to_owned()));
        }
        Ok(())
    }

    /// Whether just-in-time provisioning is on for the organization.
    pub(crate) async fn jit(&self, organization: &str) -> Result<bool, SpError> {
        let on: Option<i64> =
            sqlx::query_scalar("SELECT jit_provisioning FROM organizations WHERE id = ?1")
                .bind(organization)
                .fetch_optional(&self.pool)
                .await?;
        on.map(|on| on != 0)
            .ok_or_else(|| SpError::UnknownOrganization(organization.to_owned()))
    }

    /// Adds the team `name` linked to the IdP group `idp_group`, or links an existing team of
    /// that name to `idp_group` instead of its group; whether the team is new.
    pub(crate) async fn add_team(
        &self,
        organization: &str,
        name: &str,
        idp_group: &str,
    ) -> Result<(Team, bool), SpError> {
        if name.trim().is_empty() {
            return Err(SpError::InvalidTeam("a team needs a name".into()));
        }
        if idp_group.trim().is_empty() {
            return Err(SpError::InvalidTeam(format!(
                "the team `{name}` needs the name of the IdP group it is linked to"
            )));
        }
        self.ensure_organization(organization).await?;
        let mut transaction = self.pool.begin().await?;
        let relinked =
            sqlx::query("UPDATE teams SET idp_group = ?3 WHERE organization_id = ?1 AND name = ?2")
                .bind(organization)
                .bind(name)
                .bind(idp_group)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
        if relinked == 0 {
            sqlx::query(
                "INSERT INTO teams (organization_id, name, idp_group, created) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(organization)
            .bind(name)
            .bind(idp_group)
            .bind(now())
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        let team = Team {
            name: name.to_owned(),
            idp_group: idp_group.to_owned(),
        };
        Ok((team, relinked == 0))
    }

    /// Removes the team `name`; whether there was one.
    pub(crate) async fn remove_team(
        &self,
        organization: &str,
        name: &str,
    ) -> Result<bool, SpError> {
        self.ensure_organization(organization).await?;
        let removed = sqlx::query("DELETE FROM teams WHERE organization_id = ?1 AND name = ?2")
            .bind(organization)
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(removed > 0)
    }

    /// The organization's teams, oldest first.
    pub(crate) async fn teams(&self, organization: &str) -> Result<Vec<Team>, SpError> {
        self.ensure_organization(organization).await?;
        Ok(self.stored_teams(organization).await?)
    }

    /// `UnknownOrganization` unless the organization exists.
    async fn ensure_organization(&self, organization: &str) -> Result<(), SpError> {
        self.jit(organization).await.map(|_| ())
    }

    async fn stored_teams(&self, organization: &str) -> Result<Vec<Team>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT name, idp_group FROM teams WHERE organization_id = ?1 ORDER BY created, name",
        )
        .bind(organization)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(Team {
                    name: row.try_get("name")?,
                    idp_group: row.try_get("idp_group")?,
                })
            })
            .collect()
    }

    async fn jit_on(&self, organization: &str) -> Result<bool, sqlx::Error> {
        let on: Option<i64> =
            sqlx::query_scalar("SELECT jit_provisioning FROM organizations WHERE id = ?1")
                .bind(organization)
                .fetch_optional(&self.pool)
                .await?;
        Ok(on.is_some_and(|on| on != 0))
    }

    async fn jit_user_ids(&self, organization: &str) -> Result<HashSet<String>, sqlx::Error> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT user_id FROM jit_users WHERE organization_id = ?1")
                .bind(organization)
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().collect())
    }

    /// The user just-in-time provisioning made of `login` in `organization`, created or
    /// updated now; `None` when provisioning does not apply (it is off, or the organization
    /// has a SCIM connection) and the login is matched as usual.
    pub(crate) async fn provision(
        &self,
        store: &Store,
        organization: &str,
        login: &Login,
    ) -> Result<Option<ScimUser>, AccountRefusal> {
        if !self.jit_on(organization).await? {
            return Ok(None);
        }
        let provisioned = self.jit_user_ids(organization).await?;
        let data = store.organization(organization);
        if has_scim_connection(&data, &provisioned) {
            return Ok(None);
        }
        let wanted = jit_attributes(login);
        let id = match provisioned_user(&data, &provisioned, login) {
            Some(id) => {
                update_user(store, organization, &data, &id, &wanted).await?;
                id
            }
            None => {
                let id = create_user(store, organization, login, &wanted).await?;
                sqlx::query(
                    "INSERT OR IGNORE INTO jit_users (organization_id, user_id, created) \
                     VALUES (?1, ?2, ?3)",
                )
                .bind(organization)
                .bind(&id)
                .bind(now())
                .execute(&self.pool)
                .await?;
                id
            }
        };
        let user = matching::user_now(&store.organization(organization), &id).ok_or_else(|| {
            AccountRefusal::JitProvisioningFailed(format!(
                "the SCIM user {id} is gone after it was written"
            ))
        })?;
        if !user.active {
            return Err(AccountRefusal::ScimUserNotActive(format!(
                "the SCIM user {} ({}) is inactive",
                user.user_name, user.id
            )));
        }
        tracing::info!(organization, user = %user.user_name, id = %user.id, "just-in-time provisioned");
        Ok(Some(user))
    }

    /// The teams of the organization `user` is in, through a SCIM group of theirs or a group
    /// the login names; empty when the organization has no teams. Refused with
    /// `NotInAnyTeam` when it has teams and the user is in none.
    pub(crate) async fn teams_of(
        &self,
        store: &Store,
        organization: &str,
        user: &ScimUser,
        claims: &Map<String, Value>,
    ) -> Result<Vec<String>, AccountRefusal> {
        let teams = self.stored_teams(organization).await?;
        if teams.is_empty() {
            return Ok(Vec::new());
        }
        let mut groups = scim_group_names(&store.organization(organization), &user.id);
        groups.extend(claimed_groups(claims));
        let mine: Vec<String> = teams
            .iter()
            .filter(|team| groups.contains(&team.idp_group))
            .map(|team| team.name.clone())
            .collect();
        if mine.is_empty() {
            let linked: Vec<String> = teams
                .iter()
                .map(|team| format!("{} (group {:?})", team.name, team.idp_group))
                .collect();
            return Err(AccountRefusal::NotInAnyTeam(format!(
                "{} is in none of the IdP groups linked to the organization's teams ({}); their groups: {:?}",
                user.user_name,
                linked.join(", "),
                groups
            )));
        }
        Ok(mine)
    }
}

/// Whether a SCIM client writes to the directory: it holds a group, or a user that
/// just-in-time provisioning did not create.
fn has_scim_connection(data: &OrganizationData, provisioned: &HashSet<String>) -> bool {
    !data.resources(ResourceType::Group).is_empty()
        || data
            .resources(ResourceType::User)
            .iter()
            .any(|user| !provisioned.contains(&*user.id))
}

/// The id of the provisioned user `login` is: the one whose `externalId` is its subject.
fn provisioned_user(
    data: &OrganizationData,
    provisioned: &HashSet<String>,
    login: &Login,
) -> Option<String> {
    data.resources(ResourceType::User)
        .into_iter()
        .find(|user| {
            provisioned.contains(&*user.id)
                && user.body().get("externalId").and_then(Value::as_str)
                    == Some(login.subject.as_str())
        })
        .map(|user| user.id.to_string())
}

/// The first text value of the first of `names` the claims carry (a multi-valued SAML
/// attribute is an array).
fn first_text<'c>(claims: &'c Map<String, Value>, names: &[&str]) -> Option<&'c str> {
    names.iter().find_map(|name| {
        let value = claims.get(*name)?;
        let text = match value {
            Value::Array(values) => values.iter().find_map(Value::as_str),
            _ => value.as_str(),
        }?;
        (!text.trim().is_empty()).then_some(text)
    })
}

/// The attributes of the user provisioned for `login`, as SCIM attributes (no `active`, no
/// `externalId`: those are set once, at creation).
fn jit_attributes(login: &Login) -> Map<String, Value> {
    let claims = &login.claims;
    let email = first_text(claims, EMAIL_CLAIMS);
    let user_name = email
        .or_else(|| first_text(claims, &["preferred_username"]))
        .unwrap_or(login.subject.as_str());
    let given = first_text(claims, GIVEN_NAME_CLAIMS);
    let family = first_text(claims, FAMILY_NAME_CLAIMS);
    let formatted = first_text(claims, FULL_NAME_CLAIMS)
        .map(str::to_owned)
        .or_else(|| {
            let parts: Vec<&str> = given.into_iter().chain(family).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
    let mut attributes = Map::new();
    attributes.insert("userName".into(), json!(user_name));
    if let Some(formatted) = &formatted {
        attributes.insert("displayName".into(), json!(formatted));
    }
    let mut name = Map::new();
    if let Some(formatted) = formatted {
        name.insert("formatted".into(), json!(formatted));
    }
    if let Some(given) = given {
        name.insert("givenName".into(), json!(given));
    }
    if let Some(family) = family {
        name.insert("familyName".into(), json!(family));
    }
    if !name.is_empty() {
        attributes.insert("name".into(), Value::Object(name));
    }
    if let Some(email) = email {
        attributes.insert(
            "emails".into(),
            json!([{"value": email, "type": "work", "primary": true}]),
        );
    }
    attributes
}

async fn create_user(
    store: &Store,
    organization: &str,
    login: &Login,
    wanted: &Map<String, Value>,
) -> Result<String, AccountRefusal> {
    let mut body = wanted.clone();
    body.insert("schemas".into(), json!([USER_SCHEMA]));
    body.insert("externalId".into(), json!(login.subject));
    body.insert("active".into(), Value::Bool(true));
    let mutation = Mutation::Create {
        resource_type: ResourceType::User,
        body: Value::Object(body),
    };
    written_id(store.write(organization.into(), mutation).await)
}

/// Writes `wanted` over the provisioned user `id` when it differs from what is stored.
async fn update_user(
    store: &Store,
    organization: &str,
    data: &OrganizationData,
    id: &str,
    wanted: &Map<String, Value>,
) -> Result<(), AccountRefusal> {
    let Some(existing) = data.get(ResourceType::User, id) else {
        return Ok(());
    };
    let stored = existing.body();
    let mut body = stored.clone();
    for (attribute, value) in wanted {
        body.insert(attribute.clone(), value.clone());
    }
    if body == stored {
        return Ok(());
    }
    let mutation = Mutation::Replace {
        resource_type: ResourceType::User,
        id: id.to_owned(),
        body: Value::Object(body),
        if_match: None,
    };
    written_id(store.write(organization.into(), mutation).await).map(|_| ())
}

fn written_id(written: Result<Outcome, ScimError>) -> Result<String, AccountRefusal> {
    match written {
        Ok(Outcome::Resource(resource)) => Ok(resource.id.to_string()),
        Ok(other) => Err(AccountRefusal::JitProvisioningFailed(format!(
            "the store answered {other:?}"
        ))),
        Err(error) => Err(AccountRefusal::JitProvisioningFailed(error.to_string())),
    }
}

/// The `displayName`s of the SCIM groups `user_id` is a direct member of.
fn scim_group_names(data: &OrganizationData, user_id: &str) -> BTreeSet<String> {
    data.groups_of(user_id)
        .iter()
        .filter_map(|group| data.get(ResourceType::Group, group))
        .filter_map(|group| {
            group
                .body()
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect()
}

/// The group names the login's group claim lists (one name, or an array of names).
fn claimed_groups(claims: &Map<String, Value>) -> BTreeSet<String> {
    match claims.get(GROUPS_CLAIM) {
        Some(Value::String(name)) => BTreeSet::from([name.clone()]),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::MatchingStrategy;

    fn login(claims: Value) -> Login {
        Login {
            connection: "acme".into(),
            protocol: "saml",
            subject: "00u1adele".into(),
            claims: claims.as_object().cloned().unwrap_or_default(),
            organization: Some("org".into()),
            matching: MatchingStrategy::OidcEmailToScimUsername,
            ends_by: None,
        }
    }

    #[test]
    fn jit_attributes_come_from_oidc_claims_or_entra_attributes() {
        let oidc = jit_attributes(&login(json!({
            "email": "adele@acme.test", "given_name": "Adele", "family_name": "Vance",
            "name": "Adele Vance"
        })));
        assert_eq!(
            Value::Object(oidc),
            json!({
                "userName": "adele@acme.test",
                "displayName": "Adele Vance",
                "name": {"formatted": "Adele Vance", "givenName": "Adele", "familyName": "Vance"},
                "emails": [{"value": "adele@acme.test", "type": "work", "primary": true}]
            })
        );
        let entra = jit_attributes(&login(json!({
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": "adele@acme.test",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": "Adele",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname": "Vance",
        })));
        assert_eq!(entra["userName"], "adele@acme.test");
        assert_eq!(entra["displayName"], "Adele Vance");
        let bare = jit_attributes(&login(json!({"preferred_username": "adele"})));
        assert_eq!(Value::Object(bare), json!({"userName": "adele"}));
        let nothing = jit_attributes(&login(json!({})));
        assert_eq!(Value::Object(nothing), json!({"userName": "00u1adele"}));
    }

    #[test]
    fn the_group_claim_is_one_name_or_several() {
        let one = claimed_groups(&login(json!({"groups": "staff"})).claims);
        assert_eq!(one, BTreeSet::from(["staff".to_owned()]));
        let two = claimed_groups(&login(json!({"groups": ["staff", "ops"]})).claims);
        assert_eq!(two.len(), 2);
        assert!(claimed_groups(&login(json!({})).claims).is_empty());
    }

    #[test]
    fn idp_initiated_policy_names_round_trip() {
        for policy in IdpInitiatedPolicy::ALL {
            assert_eq!(policy.to_string().parse::<IdpInitiatedPolicy>(), Ok(policy));
        }
        assert!("Maybe".parse::<IdpInitiatedPolicy>().is_err());
    }
}
