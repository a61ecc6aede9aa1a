//! SSO connections and verified domains as persisted data (migration 0004), with the
//! in-memory copy sign-in routing reads.
//!
//! - A connection is an OpenID Connect or a SAML 2.0 IdP: its id (unique across both
//!   protocols, it names the connection in `/sso/{protocol}/{id}/...`), the organization it is
//!   paired with, its IdP type (`Okta`, `MicrosoftEntra`, `Generic`) and matching strategy
//!   (seed 002), and its protocol's settings as JSON. An organization has at most one SSO
//!   connection, as it has one SCIM directory; the two are paired because they share the
//!   organization (seed 002 "Each Customer ID can only have one SSO connection and one SCIM
//!   connection"). Adding a connection with the id of a stored one replaces it (its protocol
//!   may change); a connection without an organization is not paired and not limited.
//! - A verified domain (lower-case DNS name) belongs to one organization; sign-ins are routed
//!   by it (seed 004 `domain_hint`, the domain of `login_hint`).
//!
//! Every write goes to the database first checked, then to the sign-in state (`sso`, `saml`)
//! and this module's index; [`Connections::load`] brings them all back at start.

use crate::error::SpError;
use crate::matching::{IdpType, MatchingStrategy};
use crate::saml::{Saml, SamlConnection};
use crate::sso::{OidcConnection, Sso};
use serde_json::{Map, Value, json};
use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

/// The longest connection id accepted.
const MAX_ID_LENGTH: usize = 128;

/// The sign-in protocol of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// OpenID Connect (`sso`).
    Oidc,
    /// SAML 2.0 (`saml`).
    Saml,
}

impl Protocol {
    /// `oidc` or `saml`, as in the SP's URLs and the `protocol` column.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Protocol::Oidc => "oidc",
            Protocol::Saml => "saml",
        }
    }

    /// The protocol named `text`.
    pub(crate) fn parse(text: &str) -> Option<Protocol> {
        [Protocol::Oidc, Protocol::Saml]
            .into_iter()
            .find(|protocol| protocol.as_str() == text)
    }
}

/// The name of an IdP type, as seed 002 writes it.
pub(crate) fn idp_type_name(idp_type: IdpType) -> &'static str {
    match idp_type {
        IdpType::Okta => "Okta",
        IdpType::MicrosoftEntra => "MicrosoftEntra",
        IdpType::Generic => "Generic",
    }
}

/// The IdP type named `text` (`Okta`, `MicrosoftEntra`, `Generic`).
pub(crate) fn parse_idp_type(text: &str) -> Result<IdpType, String> {
    [IdpType::Okta, IdpType::MicrosoftEntra, IdpType::Generic]
        .into_iter()
        .find(|idp_type| idp_type_name(*idp_type) == text)
        .ok_or_else(|| format!("unknown IdP type `{text}` (known: Okta, MicrosoftEntra, Generic)"))
}

/// A connection with its protocol's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Connection {
    /// An OpenID Connect provider.
    Oidc(OidcConnection),
    /// A SAML 2.0 IdP.
    Saml(SamlConnection),
}

impl Connection {
    /// The connection's id.
    pub(crate) fn id(&self) -> &str {
        match self {
            Connection::Oidc(connection) => &connection.id,
            Connection::Saml(connection) => &connection.id,
        }
    }

    /// The organization it is paired with.
    pub(crate) fn organization(&self) -> Option<&str> {
        match self {
            Connection::Oidc(connection) => connection.organization.as_deref(),
            Connection::Saml(connection) => connection.organization.as_deref(),
        }
    }

    /// How its logins are matched to SCIM users.
    pub(crate) fn matching(&self) -> MatchingStrategy {
        match self {
            Connection::Oidc(connection) => connection.matching,
            Connection::Saml(connection) => connection.matching,
        }
    }

    /// Its protocol.
    pub(crate) fn protocol(&self) -> Protocol {
        match self {
            Connection::Oidc(_) => Protocol::Oidc,
            Connection::Saml(_) => Protocol::Saml,
        }
    }

    /// The path a sign-in through it starts at: `/sso/{protocol}/{id}/login`.
    pub(crate) fn login_path(&self) -> String {
        format!("/sso/{}/{}/login", self.protocol().as_str(), self.id())
    }

    /// The protocol's settings as stored. With `secrets: false` an OIDC client secret is left
    /// out (what the admin API shows).
    pub(crate) fn settings(&self, secrets: bool) -> Value {
        match self {
            Connection::Oidc(connection) => {
                let mut settings = json!({
                    "issuer": connection.issuer,
                    "client_id": connection.client_id,
                });
                if secrets && let Some(map) = settings.as_object_mut() {
                    map.insert(
                        "client_secret".into(),
                        Value::String(connection.client_secret.clone()),
                    );
                }
                settings
            }
            Connection::Saml(connection) => json!({
                "idp_entity_id": connection.idp_entity_id,
                "idp_sso_url": connection.idp_sso_url,
                "idp_certificates": connection.idp_certificates,
                "claim_attributes": connection.claim_attributes,
                "idp_initiated": connection.idp_initiated,
                "idp_slo_url": connection.idp_slo_url,
            }),
        }
    }

    /// A connection from its protocol's `settings` (see [`Connection::settings`]), checked as
    /// [`Connection::check`] does.
    pub(crate) fn from_settings(
        protocol: Protocol,
        id: &str,
        organization: Option<String>,
        matching: MatchingStrategy,
        settings: &Value,
    ) -> Result<Connection, SpError> {
        let settings = settings
            .as_object()
            .ok_or_else(|| SpError::InvalidConnection("`settings` must be a JSON object".into()))?;
        let connection = match protocol {
            Protocol::Oidc => {
                known_fields(settings, &["issuer", "client_id", "client_secret"])?;
                Connection::Oidc(OidcConnection {
                    id: id.to_owned(),
                    issuer: required_text(settings, "issuer")?,
                    client_id: required_text(settings, "client_id")?,
                    client_secret: required_text(settings, "client_secret")?,
                    organization,
                    matching,
                })
            }
            Protocol::Saml => {
                known_fields(
                    settings,
                    &[
                        "idp_entity_id",
                        "idp_sso_url",
                        "idp_certificates",
                        "claim_attributes",
                        "idp_initiated",
                        "accept_idp_initiated",
                        "idp_slo_url",
                    ],
                )?;
                Connection::Saml(SamlConnection {
                    id: id.to_owned(),
                    idp_entity_id: required_text(settings, "idp_entity_id")?,
                    idp_sso_url: required_text(settings, "idp_sso_url")?,
                    idp_certificates: texts(settings, "idp_certificates")?,
                    organization,
                    matching,
                    claim_attributes: text_map(settings, "claim_attributes")?,
                    idp_initiated: crate::policy::idp_initiated_setting(
                        settings.get("idp_initiated"),
                        flag(settings, "accept_idp_initiated")?,
                    )?,
                    idp_slo_url: optional_text(settings, "idp_slo_url")?,
                })
            }
        };
        connection.check()?;
        Ok(connection)
    }

    /// Refuses an id that cannot name the connection in a URL path (1 to 128 of `A-Z a-z 0-9
    /// . _ ~ -`), and settings that are empty or URLs that are not http(s). The IdP
    /// certificates of a SAML connection are checked when it is installed (`saml`).
    pub(crate) fn check(&self) -> Result<(), SpError> {
        let id = self.id();
        let id_ok = !id.is_empty()
            && id.len() <= MAX_ID_LENGTH
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-'));
        if !id_ok {
            return Err(SpError::InvalidConnection(format!(
                "the connection id `{id}` must be 1 to {MAX_ID_LENGTH} characters of A-Z, a-z, \
                 0-9, `.`, `_`, `~` and `-`"
            )));
        }
        match self {
            Connection::Oidc(connection) => {
                http_url("issuer", &connection.issuer)?;
                not_empty("client_id", &connection.client_id)?;
                not_empty("client_secret", &connection.client_secret)
            }
            Connection::Saml(connection) => {
                not_empty("idp_entity_id", &connection.idp_entity_id)?;
                http_url("idp_sso_url", &connection.idp_sso_url)?;
                match &connection.idp_slo_url {
                    Some(url) => http_url("idp_slo_url", url),
                    None => Ok(()),
                }
            }
        }
    }
}

fn known_fields(settings: &Map<String, Value>, known: &[&str]) -> Result<(), SpError> {
    match settings.keys().find(|key| !known.contains(&key.as_str())) {
        Some(unknown) => Err(SpError::InvalidConnection(format!(
            "unknown setting `{unknown}` (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn required_text(settings: &Map<String, Value>, name: &str) -> Result<String, SpError> {
    optional_text(settings, name)?
        .ok_or_else(|| SpError::InvalidConnection(format!("`settings.{name}` is required")))
}

fn optional_text(settings: &Map<String, Value>, name: &str) -> Result<Option<String>, SpError> {
    match settings.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(SpError::InvalidConnection(format!(
            "`settings.{name}` must be a string"
        ))),
    }
}

fn texts(settings: &Map<String, Value>, name: &str) -> Result<Vec<String>, SpError> {
    let wrong =
        || SpError::InvalidConnection(format!("`settings.{name}` must be a list of strings"));
    match settings.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}

fn text_map(
    settings: &Map<String, Value>,
    name: &str,
) -> Result<BTreeMap<String, String>, SpError> {
    let wrong =
        || SpError::InvalidConnection(format!("`settings.{name}` must be an object of strings"));
    match settings.get(name) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(key, value)| {
                value
                    .as_str()
                    .map(|value| (key.clone(), value.to_owned()))
                    .ok_or_else(wrong)
            })
            .collect(),
        Some(_) => Err(wrong()),
    }
}

fn flag(settings: &Map<String, Value>, name: &str) -> Result<bool, SpError> {
    match settings.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(_) => Err(SpError::InvalidConnection(format!(
            "`settings.{name}` must be true or false"
        ))),
    }
}

fn not_empty(name: &str, value: &str) -> Result<(), SpError> {
    if value.trim().is_empty() {
        return Err(SpError::InvalidConnection(format!(
            "`settings.{name}` must not be empty"
        )));
    }
    Ok(())
}

fn http_url(name: &str, value: &str) -> Result<(), SpError> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
        _ => Err(SpError::InvalidConnection(format!(
            "`settings.{name}` must be an http(s) URL, not `{value}`"
        ))),
    }
}

/// A stored connection with what the table keeps beside its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredConnection {
    /// The connection.
    pub(crate) connection: Connection,
    /// The kind of IdP (seed 002), `Generic` unless set through the admin API.
    pub(crate) idp_type: IdpType,
    /// When it was first stored (RFC 3339).
    pub(crate) created: String,
    /// When it was last replaced (RFC 3339).
    pub(crate) updated: String,
}

/// Connections and domains: the database and the in-memory copy. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Connections(Arc<Shared>);

struct Shared {
    pool: SqlitePool,
    sso: Sso,
    saml: Saml,
    /// By connection id.
    connections: RwLock<HashMap<String, StoredConnection>>,
    /// Domain → organization id.
    domains: RwLock<HashMap<String, String>>,
    /// Held across each write, so that the checks and the write of one do not interleave
    /// with another's.
    writes: tokio::sync::Mutex<()>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Whether an organization has the id `id`.
pub(crate) async fn organization_exists(pool: &SqlitePool, id: &str) -> Result<bool, SpError> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM organizations WHERE id = ?1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

impl Connections {
    /// Loads every stored connection into `sso` or `saml` and every domain into memory.
    pub(crate) async fn load(
        pool: SqlitePool,
        sso: Sso,
        saml: Saml,
    ) -> Result<Connections, SpError> {
        let rows = sqlx::query(
            "SELECT id, organization_id, protocol, idp_type, matching, settings, created, \
             updated FROM sso_connections",
        )
        .fetch_all(&pool)
        .await?;
        let mut connections = HashMap::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            let unreadable = |reason: String| {
                SpError::InvalidConnection(format!("the stored connection `{id}`: {reason}"))
            };
            let protocol: String = row.try_get("protocol")?;
            let protocol = Protocol::parse(&protocol)
                .ok_or_else(|| unreadable(format!("unknown protocol `{protocol}`")))?;
            let idp_type: String = row.try_get("idp_type")?;
            let idp_type = parse_idp_type(&idp_type).map_err(unreadable)?;
            let matching: String = row.try_get("matching")?;
            let matching: MatchingStrategy = matching.parse().map_err(unreadable)?;
            let settings: String = row.try_get("settings")?;
            let settings: Value = serde_json::from_str(&settings)
                .map_err(|error| unreadable(format!("its settings are not JSON: {error}")))?;
            let connection = Connection::from_settings(
                protocol,
                &id,
                row.try_get("organization_id")?,
                matching,
                &settings,
            )?;
            install(&sso, &saml, &connection)?;
            connections.insert(
                id,
                StoredConnection {
                    connection,
                    idp_type,
                    created: row.try_get("created")?,
                    updated: row.try_get("updated")?,
                },
            );
        }
        let domains = sqlx::query("SELECT domain, organization_id FROM domains")
            .fetch_all(&pool)
            .await?
            .into_iter()
            .map(|row| Ok((row.try_get("domain")?, row.try_get("organization_id")?)))
            .collect::<Result<HashMap<String, String>, sqlx::Error>>()?;
        Ok(Connections(Arc::new(Shared {
            pool,
            sso,
            saml,
            connections: RwLock::new(connections),
            domains: RwLock::new(domains),
            writes: tokio::sync::Mutex::new(()),
        })))
    }

    /// The database pool.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.0.pool
    }

    /// The sign-in state of OpenID Connect connections.
    pub(crate) fn sso(&self) -> &Sso {
        &self.0.sso
    }

    /// The sign-in state of SAML connections.
    pub(crate) fn saml(&self) -> &Saml {
        &self.0.saml
    }

    /// The connection `id`.
    pub(crate) fn get(&self, id: &str) -> Option<StoredConnection> {
        self.0
            .connections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// The organization's connection.
    pub(crate) fn of_organization(&self, organization: &str) -> Option<StoredConnection> {
        self.0
            .connections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|stored| stored.connection.organization() == Some(organization))
            .cloned()
    }

    /// Stores `connection` (replacing the one with its id) and makes it usable at once. Its IdP
    /// type is `idp_type`, or when `None` the stored one's (`Generic` for a new connection).
    /// Refused when its organization is unknown or already has another connection, or when
    /// its settings are unusable. Returns whether it is new.
    pub(crate) async fn put(
        &self,
        connection: Connection,
        idp_type: Option<IdpType>,
    ) -> Result<bool, SpError> {
        connection.check()?;
        let _writing = self.0.writes.lock().await;
        let id = connection.id().to_owned();
        if let Some(organization) = connection.organization() {
            if !organization_exists(&self.0.pool, organization).await? {
                return Err(SpError::UnknownOrganization(organization.to_owned()));
            }
            if let Some(other) = self
                .of_organization(organization)
                .filter(|other| other.connection.id() != id)
            {
                return Err(SpError::OrganizationHasConnection {
                    organization: organization.to_owned(),
                    connection: other.connection.id().to_owned(),
                });
            }
        }
        let previous = self.get(&id);
        let now = now();
        let stored = StoredConnection {
            idp_type: idp_type
                .or(previous.as_ref().map(|previous| previous.idp_type))
                .unwrap_or(IdpType::Generic),
            created: previous
                .as_ref()
                .map_or_else(|| now.clone(), |previous| previous.created.clone()),
            updated: now,
            connection,
        };
        // Installing checks a SAML connection's certificates; nothing is stored when they fail.
        install(&self.0.sso, &self.0.saml, &stored.connection)?;
        if let Err(error) = self.write_row(&stored).await {
            self.uninstall(&stored.connection);
            // The previous connection was installed before, so it installs again.
            if let Some(previous) = &previous
                && let Err(reinstall) = install(&self.0.sso, &self.0.saml, &previous.connection)
            {
                tracing::error!(%reinstall, id = %id, "the previous connection is lost");
            }
            return Err(error);
        }
        if let Some(previous) = &previous
            && previous.connection.protocol() != stored.connection.protocol()
        {
            self.uninstall(&previous.connection);
        }
        self.0
            .connections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, stored);
        Ok(previous.is_none())
    }

    async fn write_row(&self, stored: &StoredConnection) -> Result<(), SpError> {
        let connection = &stored.connection;
        sqlx::query(
            "INSERT INTO sso_connections \
             (id, organization_id, protocol, idp_type, matching, settings, created, updated) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id, \
             protocol = excluded.protocol, idp_type = excluded.idp_type, \
             matching = excluded.matching, settings = excluded.settings, \
             updated = excluded.updated",
        )
        .bind(connection.id())
        .bind(connection.organization())
        .bind(connection.protocol().as_str())
        .bind(idp_type_name(stored.idp_type))
        .bind(connection.matching().to_string())
        .bind(connection.settings(true).to_string())
        .bind(&stored.created)
        .bind(&stored.updated)
        .execute(&self.0.pool)
        .await?;
        Ok(())
    }

    fn uninstall(&self, connection: &Connection) {
        match connection {
            Connection::Oidc(connection) => self.0.sso.remove_connection(&connection.id),
            Connection::Saml(connection) => self.0.saml.remove_connection(&connection.id),
        }
    }

    /// Deletes the connection `id`; sign-ins through it are refused from now on (sessions it
    /// started go on). Returns the deleted connection, `None` when there was none.
    pub(crate) async fn remove(&self, id: &str) -> Result<Option<StoredConnection>, SpError> {
        let _writing = self.0.writes.lock().await;
        let Some(stored) = self.get(id) else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM sso_connections WHERE id = ?1")
            .bind(id)
            .execute(&self.0.pool)
            .await?;
        self.uninstall(&stored.connection);
        self.0
            .connections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        Ok(Some(stored))
    }

    /// The organization that verified `domain` (given lower-case).
    pub(crate) fn owner_of_domain(&self, domain: &str) -> Option<String> {
        self.0
            .domains
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(domain)
            .cloned()
    }

    /// The organization's domains, sorted.
    pub(crate) fn domains_of(&self, organization: &str) -> Vec<String> {
        let mut domains: Vec<String> = self
            .0
            .domains
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, owner)| owner.as_str() == organization)
            .map(|(domain, _)| domain.clone())
            .collect();
        domains.sort();
        domains
    }

    /// Verifies `domain` (any case; see [`normalize_domain`]) for the organization. Refused
    /// when the organization is unknown, the domain is not a DNS name, or another organization
    /// owns it. Returns the domain as stored and whether it is new.
    pub(crate) async fn add_domain(
        &self,
        organization: &str,
        domain: &str,
    ) -> Result<(String, bool), SpError> {
        let domain = normalize_domain(domain)?;
        let _writing = self.0.writes.lock().await;
        if !organization_exists(&self.0.pool, organization).await? {
            return Err(SpError::UnknownOrganization(organization.to_owned()));
        }
        match self.owner_of_domain(&domain) {
            Some(owner) if owner == organization => return Ok((domain, false)),
            Some(owner) => {
                return Err(SpError::DomainTaken {
                    domain,
                    organization: owner,
                });
            }
            None => {}
        }
        sqlx::query("INSERT INTO domains (domain, organization_id, created) VALUES (?1, ?2, ?3)")
            .bind(&domain)
            .bind(organization)
            .bind(now())
            .execute(&self.0.pool)
            .await?;
        self.0
            .domains
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(domain.clone(), organization.to_owned());
        Ok((domain, true))
    }

    /// Removes `domain` (any case) from the organization; `false` when it does not own it.
    pub(crate) async fn remove_domain(
        &self,
        organization: &str,
        domain: &str,
    ) -> Result<bool, SpError> {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let _writing = self.0.writes.lock().await;
        if self.owner_of_domain(&domain).as_deref() != Some(organization) {
            return Ok(false);
        }
        sqlx::query("DELETE FROM domains WHERE domain = ?1 AND organization_id = ?2")
            .bind(&domain)
            .bind(organization)
            .execute(&self.0.pool)
            .await?;
        self.0
            .domains
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&domain);
        Ok(true)
    }
}

/// Makes `connection` usable for sign-in (replacing one with its id in its protocol).
fn install(sso: &Sso, saml: &Saml, connection: &Connection) -> Result<(), SpError> {
    match connection {
        Connection::Oidc(connection) => sso.add_connection(connection.clone()),
        Connection::Saml(connection) => saml.add_connection(connection.clone())?,
    }
    Ok(())
}

/// `text` as a verified domain is kept: trimmed, without a final dot, lower-case; refused
/// unless it is a DNS name of at least two labels, each 1 to 63 of `a-z 0-9 -` not starting or
/// ending with `-` (an internationalized name in its `xn--` form), 253 characters at most,
/// whose top-level label is not all digits (RFC 3696 §2; so no IPv4 address passes).
pub(crate) fn normalize_domain(text: &str) -> Result<String, SpError> {
    let domain = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if domain.is_empty()
        || domain.len() > 253
        || !domain.contains('.')
        || !domain.split('.').all(label_ok)
        || domain
            .rsplit('.')
            .next()
            .is_some_and(|top| top.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(SpError::InvalidDomain(format!(
            "`{text}` is not a domain name such as `acme.test` (labels of a-z, 0-9 and `-`, the \
             last not all digits; an internationalized name in its xn-- form)"
        )));
    }
    Ok(domain)
}

/// The domain of an email address (`jdoe@Acme.test` → `acme.test`), normalized as
/// [`normalize_domain`] does.
pub(crate) fn email_domain(email: &str) -> Result<String, SpError> {
    match email.trim().rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() => normalize_domain(domain),
        _ => Err(SpError::InvalidDomain(format!(
            "`{email}` is not an email address, so it names no domain"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lower_case_dns_names() {
        assert_eq!(normalize_domain(" Acme.TEST. ").unwrap(), "acme.test");
        assert_eq!(
            normalize_domain("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(normalize_domain("123.example").unwrap(), "123.example");
        for bad in [
            "",
            "acme",
            "acme..test",
            "-acme.test",
            "acme-.test",
            "ac me.test",
            "bücher.de",
            "a@b.test",
            "127.0.0.1",
            "acme.123",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad:?} accepted");
        }
        assert!(normalize_domain(&format!("{}.test", "a".repeat(64))).is_err());
    }

    #[test]
    fn an_email_names_its_domain() {
        assert_eq!(email_domain("Jdoe@Acme.Test").unwrap(), "acme.test");
        assert_eq!(email_domain("a@b@acme.test").unwrap(), "acme.test");
        assert!(email_domain("jdoe").is_err());
        assert!(email_domain("@acme.test").is_err());
    }

    #[test]
    fn settings_round_trip_and_are_checked() {
        let oidc = Connection::from_settings(
            Protocol::Oidc,
            "okta-1",
            Some("org".into()),
            MatchingStrategy::OidcEmailToScimUsername,
            &json!({"issuer": "https://idp.test", "client_id": "c", "client_secret": "s"}),
        )
        .unwrap();
        assert_eq!(oidc.login_path(), "/sso/oidc/okta-1/login");
        assert_eq!(oidc.settings(false).get("client_secret"), None);
        let again = Connection::from_settings(
            Protocol::Oidc,
            "okta-1",
            Some("org".into()),
            MatchingStrategy::OidcEmailToScimUsername,
            &oidc.settings(true),
        )
        .unwrap();
        assert_eq!(again, oidc);
        let refused = |protocol, id: &str, settings: Value| {
            Connection::from_settings(
                protocol,
                id,
                None,
                MatchingStrategy::OidcEmailToScimUsername,
                &settings,
            )
            .unwrap_err()
            .to_string()
        };
        assert!(
            refused(
                Protocol::Oidc,
                "x",
                json!({"issuer": "ftp://idp.test", "client_id": "c", "client_secret": "s"})
            )
            .contains("`settings.issuer` must be an http(s) URL")
        );
        assert!(
            refused(
                Protocol::Oidc,
                "x",
                json!({"issuer": "https://idp.test", "client_id": "c"})
            )
            .contains("`settings.client_secret` is required")
        );
        assert!(
            refused(
                Protocol::Saml,
                "x",
                json!({"idp_entity_id": "e", "idp_sso_url": "https://idp.test", "colour": 1})
            )
            .contains("unknown setting `colour`")
        );
        assert!(
            refused(
                Protocol::Oidc,
                "a/b",
                json!({"issuer": "https://idp.test", "client_id": "c", "client_secret": "s"})
            )
            .contains("connection id `a/b`")
        );
        assert!(refused(Protocol::Saml, "x", json!([])).contains("JSON object"));
    }

    #[test]
    fn idp_types_by_name() {
        for idp_type in [IdpType::Okta, IdpType::MicrosoftEntra, IdpType::Generic] {
            assert_eq!(parse_idp_type(idp_type_name(idp_type)), Ok(idp_type));
        }
        assert!(parse_idp_type("Ping").is_err());
    }
}
