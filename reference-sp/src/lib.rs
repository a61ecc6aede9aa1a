//! The reference service provider: a SCIM 2.0 server (RFC 7643, RFC 7644) on an embedded
//! SQLite store, serving several organizations, each with its own bearer tokens.
//!
//! It is what "correct" looks like for the conformance suite, and the target `idpsim
//! certify` runs against by default. Start it with [`RunningSp::start`]; the SCIM API is at
//! [`RunningSp::base_url`].
//!
//! # Layout
//! - `http`: the axum routes, authentication and SCIM error responses.
//! - `store`: SQLite (WAL), one writer task with group commit, a read pool.
//! - `tenants`: organizations and tokens.
//! - `sso`: sign-in with OpenID Connect (code flow with PKCE), sessions and `/whoami`.
//! - `saml`: sign-in with SAML 2.0 (SP-initiated over HTTP-Redirect, IdP-initiated when
//!   allowed, responses over HTTP-POST), into the same sessions.
//! - `matching`: which SCIM user a login is (seed 002 strategies).
//! - `policy`: each organization's account policies: JIT provisioning, teams linked to IdP
//!   groups (seeds 000, 001), and what SAML connections do with IdP-initiated sign-ins.
//! - `report`: the matching report of a connection (seed 002).
//! - `webhooks`: signed directory events posted to each organization's endpoints (seed 004).
//! - `connections`: SSO connections (one per organization, seed 002) and verified domains,
//!   stored and loaded back at start.
//! - `routing`: `/sso/start` picks a connection by seed 004's precedence; `/sso/domain` says
//!   whether a domain has SSO.
//! - `break_glass`: the password login page `/login` and the break-glass users allowed on it
//!   through `?noLoginRedirect` (seed 000).
//! - `admin`: the admin API under `/admin/v1` (organizations, tokens, connections, domains,
//!   break-glass users), with `directory`'s paged user and group lists (seed 004).

mod admin;
mod break_glass;
mod connections;
mod directory;
mod error;
mod http;
mod matching;
mod policy;
mod report;
mod routing;
mod saml;
mod sso;
mod store;
mod tenants;
mod waiting;
mod webhooks;

pub use error::SpError;
pub use matching::{IdpType, MatchingStrategy, ScimUser};
pub use policy::{IdpInitiatedPolicy, Team};
pub use saml::{SamlConnection, SamlConnectionError};
pub use sso::{Clock, DEFAULT_SESSION_MINUTES, OidcConnection, SESSION_COOKIE, Session};
pub use tenants::{DEFAULT_ORGANIZATION_ID, DeletionPolicy, Organization, TokenRole};
pub use webhooks::{
    GROUP_CREATED, GROUP_DELETED, GROUP_UPDATED, NewWebhookEndpoint, USER_CREATED, USER_DELETED,
    USER_UPDATED, WEBHOOK_EVENT_TYPES, WebhookEndpoint, WebhookError, verify_webhook,
};

use axum::http::{HeaderValue, header};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use store::{Store, WriterTask};
use tenants::Tenants;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the SP keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// This SQLite file, created if missing; data survives restarts.
    File(PathBuf),
    /// A fresh database in a temporary directory, removed at shutdown.
    Temporary,
}

/// How to start the SP.
#[derive(Debug, Clone)]
pub struct SpConfig {
    /// The address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The database.
    pub database: DatabaseLocation,
    /// A read-write token for the default organization; a random one is issued when `None`.
    pub bootstrap_token: Option<String>,
    /// The key the admin API (`/admin/v1`) requires as `Authorization: Bearer <key>`; a random
    /// one is made when `None` (see [`RunningSp::admin_key`]).
    pub admin_key: Option<String>,
}

impl SpConfig {
    /// An SP for one run: a free port on 127.0.0.1, a temporary database, a random token for
    /// the default organization and a random admin key (override fields with `..`).
    pub fn ephemeral() -> SpConfig {
        SpConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            database: DatabaseLocation::Temporary,
            bootstrap_token: None,
            admin_key: None,
        }
    }
}

/// A running SP. Stop it with [`RunningSp::shutdown`].
pub struct RunningSp {
    address: SocketAddr,
    base_url: String,
    default_token: String,
    admin_key: String,
    tenants: Tenants,
    connections: connections::Connections,
    store: Store,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    writer: WriterTask,
    webhooks: Arc<webhooks::Webhooks>,
    sso: sso::Sso,
    saml: saml::Saml,
    temporary_directory: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for RunningSp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSp")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RunningSp {
    /// Opens the database, binds the listener and starts serving.
    pub async fn start(config: SpConfig) -> Result<RunningSp, SpError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| SpError::Listen {
                    address: config.listen,
                    source,
                })?;
        let address = listener.local_addr().map_err(|source| SpError::Listen {
            address: config.listen,
            source,
        })?;
        let base_url = format!("http://{address}{}", http::SCIM_PREFIX);
        let (path, temporary_directory) = match config.database {
            DatabaseLocation::File(path) => (path, None),
            DatabaseLocation::Temporary => {
                let directory = tempfile::Builder::new()
                    .prefix("idpsim-sp-")
                    .tempdir()
                    .map_err(SpError::TemporaryDirectory)?;
                (directory.path().join("idpsim.db"), Some(directory))
            }
        };
        let (webhooks, change_listener) = webhooks::Webhooks::start(base_url.clone())?;
        let webhooks = Arc::new(webhooks);
        let (store, writer) = Store::open(&path, base_url.clone(), change_listener).await?;
        webhooks.load(store.pool()).await?;
        let tenants = Tenants::load(store.pool().clone()).await?;
        let default_token = tenants
            .prepare_default_organization(config.bootstrap_token.as_deref())
            .await?;
        let sso = sso::Sso::new(format!("http://{address}"), store.clone());
        for (organization, minutes) in tenants.session_timeouts().await? {
            sso.set_session_minutes(&organization, minutes);
        }
        let saml = saml::Saml::new(sso.clone());
        let connections =
            connections::Connections::load(store.pool().clone(), sso.clone(), saml.clone()).await?;
        let break_glass = break_glass::BreakGlass::new(store.pool().clone());
        let admin_key = config.admin_key.unwrap_or_else(admin::new_admin_key);
        let admin = admin::Admin::new(
            &admin_key,
            tenants.clone(),
            connections.clone(),
            break_glass.clone(),
            store.clone(),
            Arc::clone(&webhooks),
        );
        // No page of the SP may be framed by another site (clickjacking of its sign-in and
        // password pages): `X-Frame-Options` and, for browsers that read only CSP,
        // `frame-ancestors`. The JSON APIs (SCIM, admin) are no pages.
        let pages = sso
            .clone()
            .router()
            .merge(saml.clone().router())
            .merge(routing::router(routing::SignIn {
                connections: connections.clone(),
                break_glass: break_glass.clone(),
            }))
            .merge(report::router(sso.clone(), saml.clone(), admin.clone()))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("frame-ancestors 'none'"),
            ));
        let app = http::router(http::AppState::new(
            store.clone(),
            tenants.index(),
            base_url.clone(),
        ))
        .merge(admin::router(admin))
        .merge(pages);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // Either an explicit stop or the handle being dropped ends the server.
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RunningSp {
            address,
            base_url,
            default_token,
            admin_key,
            tenants,
            connections,
            store,
            stop,
            server,
            writer,
            webhooks,
            sso,
            saml,
            temporary_directory,
        })
    }

    /// The address the SP listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The SCIM base URL, e.g. `http://127.0.0.1:40123/scim/v2`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://ADDRESS`, where sign-in (`/sso/oidc/{id}/login`, `/sso/saml/{id}/login`) and
    /// `/whoami` are served.
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Adds an OpenID Connect connection users can sign in through at
    /// `/sso/oidc/{id}/login`; register [`RunningSp::oidc_redirect_uri`] at the provider. The
    /// connection is stored (it survives a restart) and replaces a stored one with its id,
    /// keeping its IdP type (`Generic` for a new one; set through the admin API). Refused when
    /// its organization is unknown or already has another SSO connection (one per
    /// organization, seed 002), or its id or URLs are unusable.
    pub async fn add_oidc_connection(&self, connection: OidcConnection) -> Result<(), SpError> {
        self.connections
            .put(connections::Connection::Oidc(connection), None)
            .await
            .map(|_| ())
    }

    /// Makes `clock` the time the SP checks sign-ins, tokens, assertions and sessions
    /// against (the wall clock by default): a frozen or advanced clock shared with the IdPs.
    pub fn set_clock(&self, clock: Clock) {
        self.sso.set_clock(clock);
    }

    /// The redirect URI of the connection `id`.
    pub fn oidc_redirect_uri(&self, id: &str) -> String {
        self.sso.redirect_uri(id)
    }

    /// Adds a SAML 2.0 connection users can sign in through at `/sso/saml/{id}/login` (or
    /// IdP-initiated, when it allows that); register [`RunningSp::saml_entity_id`] and
    /// [`RunningSp::saml_acs_url`] at the IdP. Stored and refused as
    /// [`RunningSp::add_oidc_connection`] is; refused too when it has no usable certificate
    /// ([`SpError::SamlConnection`]).
    pub async fn add_saml_connection(&self, connection: SamlConnection) -> Result<(), SpError> {
        self.connections
            .put(connections::Connection::Saml(connection), None)
            .await
            .map(|_| ())
    }

    /// The SP's SAML entity ID for the connection `id`: its metadata URL,
    /// `{origin}/sso/saml/{id}/metadata`.
    pub fn saml_entity_id(&self, id: &str) -> String {
        self.saml.entity_id(id)
    }

    /// The SP's assertion consumer service URL for the connection `id`,
    /// `{origin}/sso/saml/{id}/acs`.
    pub fn saml_acs_url(&self, id: &str) -> String {
        self.saml.acs_url(id)
    }

    /// The SP's SAML single logout service URL for the connection `id` (HTTP-Redirect
    /// binding), `{origin}/sso/saml/{id}/slo`; register it at the IdP as its Logout URL
    /// (personas.md §1.2 "Single logout").
    pub fn saml_slo_url(&self, id: &str) -> String {
        self.saml.slo_url(id)
    }

    /// A read-write token of the default organization.
    pub fn default_token(&self) -> &str {
        &self.default_token
    }

    /// The key of the admin API at `{origin}/admin/v1` (`Authorization: Bearer <key>`): the
    /// configured one, or the random one made at start.
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// Creates an organization; its SCIM data is invisible to every other organization.
    pub async fn create_organization(&self, name: &str) -> Result<Organization, SpError> {
        self.tenants.create_organization(name).await
    }

    /// The id of the (oldest) organization called `name`, if there is one.
    pub async fn organization_named(&self, name: &str) -> Result<Option<String>, SpError> {
        self.tenants.organization_named(name).await
    }

    /// Issues another token for an organization.
    pub async fn issue_token(
        &self,
        organization_id: &str,
        role: TokenRole,
    ) -> Result<String, SpError> {
        self.tenants.issue_token(organization_id, role).await
    }

    /// Replaces the organization's token `old` with a new one; `old` stops working at once.
    pub async fn rotate_token(&self, organization_id: &str, old: &str) -> Result<String, SpError> {
        self.tenants.rotate_token(organization_id, old).await
    }

    /// Sets how long the organization's SSO sessions last (seed 000; two hours unless set):
    /// a session started later ends `minutes` after its sign-in, and `/whoami` then answers
    /// 401 `SessionExpired`.
    pub async fn set_session_timeout(
        &self,
        organization_id: &str,
        minutes: u32,
    ) -> Result<(), SpError> {
        let minutes = i64::from(minutes);
        self.tenants
            .set_session_timeout(organization_id, minutes)
            .await?;
        self.sso.set_session_minutes(organization_id, minutes);
        Ok(())
    }

    /// Sets what `DELETE /Users/{id}` does in the organization.
    pub async fn set_deletion_policy(
        &self,
        organization_id: &str,
        policy: DeletionPolicy,
    ) -> Result<(), SpError> {
        self.tenants
            .set_deletion_policy(organization_id, policy)
            .await
    }

    /// Turns just-in-time provisioning on or off for the organization (off unless set; seed
    /// 000 "On the first login, a user record gets created", seed 001 "JIT Provisioning").
    /// It applies while the organization has no SCIM connection: a first sign-in creates the
    /// SCIM user and later ones update it. The organization has a SCIM connection once its
    /// directory holds a group or a user JIT did not create.
    pub async fn set_jit(&self, organization_id: &str, on: bool) -> Result<(), SpError> {
        self.sso.policies().set_jit(organization_id, on).await
    }

    /// Whether just-in-time provisioning is on for the organization.
    pub async fn jit(&self, organization_id: &str) -> Result<bool, SpError> {
        self.sso.policies().jit(organization_id).await
    }

    /// Adds the team `team_name` to the organization, linked to the IdP group
    /// `idp_group_name` (exact name match, seed 000), or relinks the team of that name. Once
    /// the organization has a team, a user in none of the linked groups cannot sign in
    /// (`NotInAnyTeam`).
    pub async fn add_team(
        &self,
        organization_id: &str,
        team_name: &str,
        idp_group_name: &str,
    ) -> Result<Team, SpError> {
        let (team, _) = self
            .sso
            .policies()
            .add_team(organization_id, team_name, idp_group_name)
            .await?;
        Ok(team)
    }

    /// Removes the organization's team `team_name`; whether there was one.
    pub async fn remove_team(
        &self,
        organization_id: &str,
        team_name: &str,
    ) -> Result<bool, SpError> {
        self.sso
            .policies()
            .remove_team(organization_id, team_name)
            .await
    }

    /// The organization's teams, oldest first.
    pub async fn teams(&self, organization_id: &str) -> Result<Vec<Team>, SpError> {
        self.sso.policies().teams(organization_id).await
    }

    /// The URL of the matching report of the connection `id` (seed 002), JSON; the same
    /// with `.html` appended is a readable page. Both take the admin key as a bearer token.
    pub fn matching_report_url(&self, id: &str) -> String {
        format!("{}/sso/report/{id}", self.origin())
    }

    /// Registers an endpoint the organization's directory events are posted to, signed
    /// (seed 004, "Register your webhook endpoint"): those of `events`, or all of
    /// [`WEBHOOK_EVENT_TYPES`] when it is empty. The endpoint is stored, and its signing secret
    /// is returned once. Refused when the organization is unknown, the URL is not http(s) or
    /// an event type is unknown.
    pub async fn add_webhook_endpoint(
        &self,
        organization: &str,
        url: &str,
        events: &[&str],
    ) -> Result<NewWebhookEndpoint, SpError> {
        self.webhooks
            .add_endpoint(self.store.pool(), organization, url, events)
            .await
    }

    /// Deletes the webhook endpoint `id`; events not yet delivered to it are dropped.
    pub async fn remove_webhook_endpoint(&self, id: &str) -> Result<(), SpError> {
        self.webhooks.remove_endpoint(self.store.pool(), id).await
    }

    /// The organization's webhook endpoints, oldest first.
    pub fn webhook_endpoints(&self, organization: &str) -> Vec<WebhookEndpoint> {
        self.webhooks.endpoints(organization)
    }

    /// Sets the wait after a first failed webhook delivery (1 s unless set); it doubles after
    /// each further failure, up to five attempts.
    pub fn set_webhook_retry_delay(&self, base: std::time::Duration) {
        self.webhooks.set_retry_delay(base);
    }

    /// Stops accepting requests, lets the ones in flight finish, waits for the writer to
    /// commit, stops webhook deliveries (dropping those not done) and closes the database
    /// (removing it if it was temporary).
    pub async fn shutdown(self) {
        let RunningSp {
            stop,
            server,
            store,
            tenants,
            connections,
            writer,
            webhooks,
            sso,
            saml,
            temporary_directory,
            ..
        } = self;
        let _ = stop.send(());
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(%err, "the HTTP server stopped with an error"),
            Err(err) => tracing::warn!(%err, "the HTTP server task failed"),
        }
        store.close().await;
        // The writer stops once no handle of the store is left (the sign-in state holds one).
        drop((store, tenants, connections, sso, saml));
        if let Err(err) = writer.await {
            tracing::warn!(%err, "the store's writer task failed");
        }
        // The admin API's handle went with the server; if another is left, stop it all anyway.
        match Arc::try_unwrap(webhooks) {
            Ok(webhooks) => webhooks.shutdown().await,
            Err(shared) => shared.abort(),
        }
        drop(temporary_directory);
    }
}
