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
//! - `webhooks`: signed directory events posted to each organization's endpoints (seed 004).

mod error;
mod http;
mod matching;
mod saml;
mod sso;
mod store;
mod tenants;
mod webhooks;

pub use error::SpError;
pub use matching::{IdpType, MatchingStrategy, ScimUser};
pub use saml::{SamlConnection, SamlConnectionError};
pub use sso::{Clock, DEFAULT_SESSION_MINUTES, OidcConnection, SESSION_COOKIE, Session};
pub use tenants::{DEFAULT_ORGANIZATION_ID, DeletionPolicy, Organization, TokenRole};
pub use webhooks::{
    GROUP_CREATED, GROUP_DELETED, GROUP_UPDATED, NewWebhookEndpoint, USER_CREATED, USER_DELETED,
    USER_UPDATED, WEBHOOK_EVENT_TYPES, WebhookEndpoint, WebhookError, verify_webhook,
};

use std::net::SocketAddr;
use std::path::PathBuf;
use store::{Store, WriterTask};
use tenants::Tenants;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
}

/// A running SP. Stop it with [`RunningSp::shutdown`].
pub struct RunningSp {
    address: SocketAddr,
    base_url: String,
    default_token: String,
    tenants: Tenants,
    store: Store,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    writer: WriterTask,
    webhooks: webhooks::Webhooks,
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
        let app = http::router(http::AppState::new(
            store.clone(),
            tenants.index(),
            base_url.clone(),
        ))
        .merge(sso.clone().router())
        .merge(saml.clone().router());
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
            tenants,
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
    /// `/sso/oidc/{id}/login`; register [`RunningSp::oidc_redirect_uri`] at the provider.
    pub fn add_oidc_connection(&self, connection: OidcConnection) {
        self.sso.add_connection(connection);
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
    /// [`RunningSp::saml_acs_url`] at the IdP. Refused when it has no usable certificate.
    pub fn add_saml_connection(
        &self,
        connection: SamlConnection,
    ) -> Result<(), SamlConnectionError> {
        self.saml.add_connection(connection)
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
        drop((store, tenants, sso, saml));
        if let Err(err) = writer.await {
            tracing::warn!(%err, "the store's writer task failed");
        }
        webhooks.shutdown().await;
        drop(temporary_directory);
    }
}
