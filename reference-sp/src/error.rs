//! Errors of the reference SP's own API (starting it, administering organizations), and the
//! SCIM error responses of its HTTP API.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idpsim_scim::ScimError;
use std::net::SocketAddr;

/// Why the reference SP could not start or refused an administration call.
#[derive(Debug, thiserror::Error)]
pub enum SpError {
    /// The database could not be opened, read or written.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The writer's connection to the database could not be opened.
    #[error("database error: {0}")]
    WriterConnection(#[from] rusqlite::Error),
    /// The store's committer thread could not be started.
    #[error("cannot start the store's committer thread: {0}")]
    CommitterThread(std::io::Error),
    /// The database schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The directory for a temporary database could not be created.
    #[error("cannot create a directory for the temporary database: {0}")]
    TemporaryDirectory(std::io::Error),
    /// No organization has this id.
    #[error("no organization has the id `{0}`")]
    UnknownOrganization(String),
    /// The token given for the default organization already belongs to another one.
    #[error("the token given is already a token of organization `{0}`")]
    TokenOfAnotherOrganization(String),
    /// The token given is not a current token of the organization.
    #[error("the token given is not a current token of organization `{0}`")]
    UnknownToken(String),
    /// A webhook endpoint was refused: its URL is not http(s), or it names an unknown event.
    #[error("invalid webhook endpoint: {0}")]
    InvalidWebhookEndpoint(String),
    /// No webhook endpoint has this id.
    #[error("no webhook endpoint has the id `{0}`")]
    UnknownWebhookEndpoint(String),
    /// The HTTP client that delivers webhooks could not be built.
    #[error("cannot build the webhook HTTP client: {0}")]
    WebhookClient(reqwest::Error),
    /// A team was refused: it has no name, or no IdP group name to link to (seed 000).
    #[error("invalid team: {0}")]
    InvalidTeam(String),
    /// A SAML connection was refused: it has no usable IdP certificate.
    #[error("invalid SAML connection: {0}")]
    SamlConnection(#[from] crate::saml::SamlConnectionError),
    /// An SSO connection's settings are unusable (given to the admin API, or as stored).
    #[error("invalid SSO connection: {0}")]
    InvalidConnection(String),
    /// The organization already has another SSO connection: it has at most one (seed 002).
    #[error(
        "organization `{organization}` already has the SSO connection `{connection}`; an \
         organization has at most one SSO connection, remove it first"
    )]
    OrganizationHasConnection {
        /// The organization.
        organization: String,
        /// Its connection.
        connection: String,
    },
    /// No SSO connection has this id.
    #[error("no SSO connection has the id `{0}`")]
    UnknownConnection(String),
    /// A domain was refused: it is not a lower-case DNS name.
    #[error("invalid domain: {0}")]
    InvalidDomain(String),
    /// The domain is already verified for another organization: a domain has one owner.
    #[error("the domain `{domain}` already belongs to organization `{organization}`")]
    DomainTaken {
        /// The domain.
        domain: String,
        /// The organization that owns it.
        organization: String,
    },
    /// A break-glass user was refused: empty username or password.
    #[error("invalid break-glass user: {0}")]
    InvalidBreakGlassUser(String),
    /// A password could not be hashed, or a stored hash cannot be read.
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
}

/// A SCIM error as an HTTP response: the RFC 7644 §3.12 body as `application/scim+json`.
#[derive(Debug)]
pub(crate) struct ApiError(pub(crate) ScimError);

impl From<ScimError> for ApiError {
    fn from(error: ScimError) -> ApiError {
        ApiError(error)
    }
}

/// What SCIM handlers return.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = crate::http::scim_json(status, &self.0.to_body());
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a 401 names the scheme the client must use.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"idpsim\""),
            );
        }
        response
    }
}
