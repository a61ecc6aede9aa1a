//! Break-glass users and the password login page (seed 000, "Break Glass Users" and "Bypass
//! Login URL"): when the IdP is down, the users an organization lists may still sign in with
//! a password, and only through the bypass URL `?noLoginRedirect`.
//!
//! - `GET /login?organization_id=…` (or `?email=…`, `?connection_id=…`, `?domain_hint=…`,
//!   `?login_hint=…`) sends the browser to SSO, routed as `/sso/start` routes (see `routing`).
//! - `GET /login?noLoginRedirect&organization_id=…` (or with `email=…`, whose domain names the
//!   organization) shows a plain HTML form, username and password, posted to
//!   `/login?noLoginRedirect`. The parameter counts whatever its value.
//! - `POST /login?noLoginRedirect` (form `organization_id`, `username`, `password`): a listed
//!   user with the right password gets a session (protocol `password`, the organization's
//!   session timeout; `/whoami` shows it); a wrong password is refused with 401 without saying
//!   whether the username or the password was wrong; anyone not listed is refused with 403
//!   "this account signs in with SSO". No session either way.
//! - `POST /login` without `?noLoginRedirect` signs no one in, a listed user neither: it sends
//!   the browser to the organization's SSO.
//!
//! Usernames compare without regard to case. Passwords are kept only as Argon2id PHC strings
//! (the `argon2` crate's defaults), hashed and verified off the async threads.

use crate::connections;
use crate::error::SpError;
use crate::routing::{self, Identifier, Problem, RouteQuery, SignIn, escape, page};
use argon2::Argon2;
use argon2::password_hash::{
    self, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use idpsim_scim::uri::encode_component;
use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;

/// The `connection` of a break-glass user's session: they signed in through no connection.
pub(crate) const CONNECTION: &str = "break-glass";

/// The longest username accepted.
const MAX_USERNAME: usize = 256;
/// The longest password accepted, in bytes.
const MAX_PASSWORD: usize = 1024;

/// A listed user, without the password.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct BreakGlassUser {
    /// The username, lower-case.
    pub(crate) username: String,
    /// When it was listed (RFC 3339).
    pub(crate) created: String,
}

/// What a password sign-in found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A listed user, with the right password: this username.
    Allowed(String),
    /// A listed user, with a wrong password.
    WrongPassword,
    /// Not a break-glass user of the organization: they sign in with SSO.
    NotListed,
}

/// The break-glass users of every organization, in the database.
#[derive(Debug, Clone)]
pub(crate) struct BreakGlass {
    pool: SqlitePool,
}

/// `username` as kept: trimmed, lower-case.
fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

fn hash_password(password: &str) -> Result<String, SpError> {
    // 16 random bytes, the salt length the PHC string format recommends.
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|error| SpError::PasswordHash(error.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| SpError::PasswordHash(error.to_string()))
}

fn verify_password(stored: &str, password: &str) -> Result<bool, SpError> {
    let hash =
        PasswordHash::new(stored).map_err(|error| SpError::PasswordHash(error.to_string()))?;
    match Argon2::default().verify_password(password.as_bytes(), &hash) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::Password) => Ok(false),
        Err(error) => Err(SpError::PasswordHash(error.to_string())),
    }
}

/// Runs an Argon2 computation on the blocking threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SpError> + Send + 'static,
) -> Result<T, SpError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| SpError::PasswordHash(error.to_string()))?
}

impl BreakGlass {
    /// Break-glass users kept in `pool`.
    pub(crate) fn new(pool: SqlitePool) -> BreakGlass {
        BreakGlass { pool }
    }

    /// Lists `username` with `password` in the organization, replacing the password of a
    /// listed one. Returns the username as kept and whether it is new.
    pub(crate) async fn add(
        &self,
        organization: &str,
        username: &str,
        password: &str,
    ) -> Result<(String, bool), SpError> {
        let username = normalize_username(username);
        if username.is_empty() || username.chars().count() > MAX_USERNAME {
            return Err(SpError::InvalidBreakGlassUser(format!(
                "the username must be 1 to {MAX_USERNAME} characters"
            )));
        }
        if username.chars().any(char::is_control) {
            return Err(SpError::InvalidBreakGlassUser(
                "the username must not contain control characters".into(),
            ));
        }
        if password.is_empty() || password.len() > MAX_PASSWORD {
            return Err(SpError::InvalidBreakGlassUser(format!(
                "the password must be 1 to {MAX_PASSWORD} bytes"
            )));
        }
        if !connections::organization_exists(&self.pool, organization).await? {
            return Err(SpError::UnknownOrganization(organization.to_owned()));
        }
        let password = password.to_owned();
        let hash = blocking(move || hash_password(&password)).await?;
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        // Write first: a transaction that reads and then writes fails at once in WAL mode when
        // another connection wrote in between ("database is locked"), whatever the busy timeout.
        let inserted = sqlx::query(
            "INSERT INTO break_glass_users (organization_id, username, password_hash, created) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (organization_id, username) DO NOTHING",
        )
        .bind(organization)
        .bind(&username)
        .bind(&hash)
        .bind(&created)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 0 {
            sqlx::query(
                "UPDATE break_glass_users SET password_hash = ?3 \
                 WHERE organization_id = ?1 AND username = ?2",
            )
            .bind(organization)
            .bind(&username)
            .bind(&hash)
            .execute(&self.pool)
            .await?;
        }
        Ok((username, inserted > 0))
    }

    /// Takes `username` off the organization's list; `false` when it was not listed.
    pub(crate) async fn remove(&self, organization: &str, username: &str) -> Result<bool, SpError> {
        let removed = sqlx::query(
            "DELETE FROM break_glass_users WHERE organization_id = ?1 AND username = ?2",
        )
        .bind(organization)
        .bind(normalize_username(username))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(removed > 0)
    }

    /// The organization's break-glass users, by username.
    pub(crate) async fn list(&self, organization: &str) -> Result<Vec<BreakGlassUser>, SpError> {
        let rows = sqlx::query(
            "SELECT username, created FROM break_glass_users WHERE organization_id = ?1 \
             ORDER BY username",
        )
        .bind(organization)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(BreakGlassUser {
                    username: row.try_get("username")?,
                    created: row.try_get("created")?,
                })
            })
            .collect()
    }

    /// Checks a password sign-in of `username` in the organization.
    pub(crate) async fn check(
        &self,
        organization: &str,
        username: &str,
        password: &str,
    ) -> Result<Verdict, SpError> {
        let username = normalize_username(username);
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT password_hash FROM break_glass_users \
             WHERE organization_id = ?1 AND username = ?2",
        )
        .bind(organization)
        .bind(&username)
        .fetch_optional(&self.pool)
        .await?;
        let Some(stored) = stored else {
            return Ok(Verdict::NotListed);
        };
        let password = password.to_owned();
        let right = blocking(move || verify_password(&stored, &password)).await?;
        Ok(if right {
            Verdict::Allowed(username)
        } else {
            Verdict::WrongPassword
        })
    }
}

/// `/login`'s query: where to sign in, and the bypass.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct LoginQuery {
    connection_id: Option<String>,
    organization_id: Option<String>,
    domain_hint: Option<String>,
    login_hint: Option<String>,
    /// The user's email; taken as `login_hint` when there is none.
    email: Option<String>,
    /// Present (with any value): the SSO redirect is bypassed (seed 000).
    #[serde(rename = "noLoginRedirect")]
    no_login_redirect: Option<String>,
}

impl LoginQuery {
    fn route(&self) -> RouteQuery {
        RouteQuery {
            connection_id: self.connection_id.clone(),
            organization_id: self.organization_id.clone(),
            domain_hint: self.domain_hint.clone(),
            login_hint: self
                .login_hint
                .clone()
                .filter(|hint| !hint.trim().is_empty())
                .or_else(|| self.email.clone()),
        }
    }

    fn bypass(&self) -> bool {
        self.no_login_redirect.is_some()
    }
}

/// The form posted to `/login`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct LoginForm {
    organization_id: String,
    username: String,
    password: String,
}

/// `GET /login`: to SSO, or with `?noLoginRedirect` the password form.
pub(crate) async fn login_page(
    State(state): State<SignIn>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let route = query.route();
    if !query.bypass() {
        return routing::route(&state.connections, &route, &headers).await;
    }
    let organization = match routing::pick(&route) {
        Ok(identifier) => routing::organization_of(&state.connections, &identifier).await,
        Err(problem) => Err(problem),
    };
    let organization = match organization {
        Ok(organization) => organization,
        Err(problem) => return problem.answer(&headers),
    };
    let username = route.login_hint().unwrap_or_default();
    form_page(StatusCode::OK, &organization, username, None)
}

/// The password form of `organization`, with `message` above it.
fn form_page(
    status: StatusCode,
    organization: &str,
    username: &str,
    message: Option<&str>,
) -> Response {
    let message = message
        .map(|message| format!("<p role=\"alert\">{}</p>", escape(message)))
        .unwrap_or_default();
    let body = format!(
        "{message}<p>Break-glass sign-in: for the users this organization allows to bypass \
         single sign-on.</p>\
         <form method=\"post\" action=\"/login?noLoginRedirect\">\
         <input type=\"hidden\" name=\"organization_id\" value=\"{organization}\">\
         <p><label>Username <input name=\"username\" autocomplete=\"username\" \
         value=\"{username}\" required></label></p>\
         <p><label>Password <input type=\"password\" name=\"password\" \
         autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\">Sign in</button></p></form>\
         <p><a href=\"/login?organization_id={organization_link}\">Sign in with SSO</a></p>",
        organization = escape(organization),
        organization_link = escape(&encode_component(organization)),
        username = escape(username),
    );
    (status, page("Sign in", &body)).into_response()
}

/// `POST /login`: a break-glass sign-in with `?noLoginRedirect`, else to SSO.
pub(crate) async fn password_login(
    State(state): State<SignIn>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
    Form(form): Form<LoginForm>,
) -> Response {
    let organization = form.organization_id.trim();
    if !query.bypass() {
        // Without the bypass URL everyone signs in with SSO, break-glass users too.
        let route = RouteQuery {
            organization_id: Some(organization.to_owned()),
            login_hint: Some(form.username.clone()).filter(|name| name.contains('@')),
            ..RouteQuery::default()
        };
        return routing::route(&state.connections, &route, &headers).await;
    }
    if organization.is_empty() || form.username.trim().is_empty() || form.password.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            page(
                "Sign in",
                "<p>The organization, the username and the password are all required.</p>",
            ),
        )
            .into_response();
    }
    let identifier = Identifier::Organization(organization.to_owned());
    if let Err(problem) = routing::organization_of(&state.connections, &identifier).await {
        return problem.answer(&headers);
    }
    let verdict = state
        .break_glass
        .check(organization, &form.username, &form.password)
        .await;
    match verdict {
        Ok(Verdict::Allowed(username)) => {
            tracing::info!(%organization, %username, "break-glass sign-in");
            state
                .connections
                .sso()
                .start_password_session(organization, &username)
        }
        Ok(Verdict::WrongPassword) => {
            tracing::warn!(%organization, "break-glass sign-in refused: wrong credentials");
            form_page(
                StatusCode::UNAUTHORIZED,
                organization,
                &form.username,
                Some("The username or password is not right."),
            )
        }
        Ok(Verdict::NotListed) => {
            tracing::info!(
                %organization,
                "password sign-in refused: not a break-glass user"
            );
            let body = format!(
                "<p role=\"alert\">This account signs in with SSO; only break-glass users sign \
                 in with a password.</p><p><a href=\"/login?organization_id={}\">Sign in with \
                 SSO</a></p>",
                escape(&encode_component(organization))
            );
            (StatusCode::FORBIDDEN, page("Sign in", &body)).into_response()
        }
        Err(error) => Problem::internal(&error).answer(&headers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_phc_strings() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(verify_password(&hash, "correct horse").unwrap());
        assert!(!verify_password(&hash, "Correct horse").unwrap());
        assert!(verify_password("not a hash", "x").is_err());
    }

    #[test]
    fn usernames_ignore_case_and_surrounding_space() {
        assert_eq!(normalize_username("  Ops@Acme.test "), "ops@acme.test");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
