//! Sign-in at the reference SP with OpenID Connect, as a careful relying party does: the code
//! flow with PKCE S256, `state` and `nonce` (OpenID Connect Core §3.1, RFC 7636), and an ID
//! token accepted only when its RS256 signature verifies with a key of the provider's JWKS and
//! `iss`, `aud`, `exp`, `iat` and `nonce` are right (§3.1.3.7). `none` and HS* are refused.
//! A connection paired with an organization's SCIM directory matches the login to a SCIM user
//! with the connection's strategy (seed 002) and refuses it with `ScimUserNotActive` when no
//! user matches or the user is inactive; a session of a user who is deactivated later ends at
//! once. The organization's account policies (`policy`) apply first: just-in-time provisioning
//! and teams linked to IdP groups (refused with `NotInAnyTeam`); every verified login is also
//! remembered for the matching report (`report`).
//! A signed-in user gets a session cookie (HttpOnly, SameSite=Lax) and `GET /whoami` says
//! who they are and how they signed in. Every refusal names its reason, in the log and on the
//! page. SAML sign-ins (`saml`) end in the same sessions, through `Sso::session_for` and
//! `Sso::start_session`.

use crate::matching::{self, MatchOutcome, MatchingStrategy, ScimUser};
use crate::policy::{AccountRefusal, Policies};
use crate::report::{Pairing, SeenLogins};
use crate::store::Store;
use crate::waiting::Waiting;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "idpsim_session";

/// The cookie that ties an OIDC sign-in to the browser that started it: its value is kept with
/// the `state`, and the callback must carry it (RFC 6749 §10.12, OpenID Connect Core
/// §3.1.2.1: otherwise an attacker can have a victim's browser finish the attacker's own
/// sign-in, and the victim works in the attacker's account).
const LOGIN_COOKIE: &str = "idpsim_login";

/// How long a started sign-in may take.
const PENDING_LIFETIME: Duration = Duration::minutes(10);

/// How far apart the provider's clock and ours may be.
const CLOCK_SKEW_SECONDS: u64 = 60;

/// An OpenID Connect provider the SP signs users in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConnection {
    /// The connection's id, in the SP's URLs: `/sso/oidc/{id}/login`.
    pub id: String,
    /// The provider's issuer; its discovery document is at
    /// `{issuer}/.well-known/openid-configuration` and must name the same issuer.
    pub issuer: String,
    /// The SP's `client_id` at the provider.
    pub client_id: String,
    /// The SP's `client_secret` (sent with `client_secret_basic`).
    pub client_secret: String,
    /// The organization whose SCIM directory the connection is paired with; without one,
    /// logins are not matched to SCIM users.
    pub organization: Option<String>,
    /// How a login is matched to a SCIM user of the organization.
    pub matching: MatchingStrategy,
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Session {
    /// The connection they signed in through.
    pub connection: String,
    /// `oidc`, `saml`, or `password` for a break-glass user (seed 000, see `break_glass`).
    pub protocol: &'static str,
    /// The ID token's `sub`, the SAML assertion's NameID, or a break-glass user's username.
    pub subject: String,
    /// The ID token's claims, or what the SAML assertion says (see `saml`).
    pub claims: Map<String, Value>,
    /// The organization of the connection, when it is paired with a SCIM directory.
    pub organization: Option<String>,
    /// The strategy the login was matched with, when it was.
    pub matching: Option<MatchingStrategy>,
    /// The SCIM user the login matched.
    pub scim_user: Option<ScimUser>,
    /// The organization's teams the user is in, by their IdP groups (seed 000); empty when
    /// the organization has no teams (see `policy`).
    pub teams: Vec<String>,
    /// When they signed in.
    pub signed_in: DateTime<Utc>,
    /// When the session ends: the organization's session timeout after `signed_in`.
    pub expires: DateTime<Utc>,
}

/// A sign-in that was sent to the provider and has not come back.
#[derive(Debug, Clone)]
struct Pending {
    connection: String,
    nonce: String,
    verifier: String,
    /// The [`LOGIN_COOKIE`] of the browser that started the sign-in.
    browser: String,
}

/// What the sign-in routes share.
#[derive(Clone)]
pub(crate) struct Sso(Arc<SsoShared>);

pub(crate) struct SsoShared {
    /// `http://127.0.0.1:PORT` of the SP.
    origin: String,
    store: Store,
    http: reqwest::Client,
    connections: RwLock<HashMap<String, OidcConnection>>,
    pending: Waiting<Pending>,
    sessions: Mutex<HashMap<String, Session>>,
    /// What `/logout` asks where the IdP should end a session too (see [`SingleLogout`]).
    single_logout: RwLock<Option<SingleLogout>>,
    clock: RwLock<Clock>,
    /// Session timeout in minutes by organization; others get [`DEFAULT_SESSION_MINUTES`].
    session_minutes: RwLock<HashMap<String, i64>>,
    /// The organizations' account policies: JIT provisioning, teams (see `policy`).
    policies: Policies,
    /// The latest login of each subject per connection, for the matching report (`report`).
    seen: SeenLogins,
}

/// How long an SSO session lasts unless its organization says otherwise (seed 000: two hours).
pub const DEFAULT_SESSION_MINUTES: i64 = 120;

/// Given a session `/logout` has just ended, the IdP URL the browser is sent to so the IdP
/// ends its session too (SAML single logout, see `saml`), or `None` when the logout stays
/// local.
pub(crate) type SingleLogout = Box<dyn Fn(&Session) -> Option<String> + Send + Sync>;

/// The time the SP goes by: the wall clock unless [`crate::RunningSp::set_clock`] gave it
/// another (a frozen or advanced one shared with the IdPs).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

impl Sso {
    /// Sign-in state for an SP served at `origin`, matching logins against `store`.
    pub(crate) fn new(origin: String, store: Store) -> Sso {
        let policies = Policies::new(store.pool().clone());
        Sso(Arc::new(SsoShared {
            origin,
            store,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            connections: RwLock::default(),
            pending: Waiting::new(PENDING_LIFETIME),
            sessions: Mutex::default(),
            single_logout: RwLock::default(),
            clock: RwLock::new(Arc::new(Utc::now)),
            session_minutes: RwLock::default(),
            policies,
            seen: SeenLogins::default(),
        }))
    }

    /// Adds (or replaces) a connection.
    pub(crate) fn add_connection(&self, connection: OidcConnection) {
        self.0
            .connections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(connection.id.clone(), connection);
    }

    /// Removes the connection `id`, if there is one; sessions it started go on.
    pub(crate) fn remove_connection(&self, id: &str) {
        self.0
            .connections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// Makes `single_logout` decide where `/logout` sends the browser after ending a session.
    pub(crate) fn set_single_logout(&self, single_logout: SingleLogout) {
        *self
            .0
            .single_logout
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(single_logout);
    }

    /// Ends every session `ends` picks; returns how many.
    pub(crate) fn end_sessions(&self, ends: impl Fn(&Session) -> bool) -> usize {
        let mut sessions = self
            .0
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let before = sessions.len();
        sessions.retain(|_, session| !ends(session));
        before - sessions.len()
    }

    /// Makes `clock` the time sign-ins, tokens and sessions are checked against.
    pub(crate) fn set_clock(&self, clock: Clock) {
        *self.0.clock.write().unwrap_or_else(PoisonError::into_inner) = clock;
    }

    /// Sets how long sessions of `organization` last, in minutes (sessions started later).
    pub(crate) fn set_session_minutes(&self, organization: &str, minutes: i64) {
        self.0
            .session_minutes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(organization.to_owned(), minutes);
    }

    fn session_length(&self, organization: Option<&str>) -> Duration {
        let minutes = organization
            .and_then(|organization| {
                self.0
                    .session_minutes
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(organization)
                    .copied()
            })
            .unwrap_or(DEFAULT_SESSION_MINUTES);
        Duration::minutes(minutes)
    }

    /// The time now, by the SP's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let clock = Arc::clone(&self.0.clock.read().unwrap_or_else(PoisonError::into_inner));
        clock()
    }

    /// The redirect URI the SP registers at the provider for `connection`.
    pub(crate) fn redirect_uri(&self, connection: &str) -> String {
        format!("{}/sso/oidc/{connection}/callback", self.0.origin)
    }

    fn connection(&self, id: &str) -> Option<OidcConnection> {
        self.0
            .connections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// The routes: login, callback, whoami, logout.
    pub(crate) fn router(self) -> Router {
        Router::new()
            .route("/sso/oidc/{connection}/login", get(login))
            .route("/sso/oidc/{connection}/callback", get(callback))
            .route("/whoami", get(whoami))
            .route("/logout", get(logout).post(logout))
            .with_state(self)
    }
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("no OIDC connection `{0}`")]
    UnknownConnection(String),
    #[error("the provider's {what} could not be read: {reason}")]
    Provider { what: &'static str, reason: String },
    #[error("the provider answered the sign-in with `{error}`: {description}")]
    ProviderError { error: String, description: String },
    #[error("the callback carries no `{0}`")]
    Missing(&'static str),
    #[error("the state is unknown, already used or expired (a replayed or forged callback)")]
    UnknownState,
    #[error("the state was issued for connection `{issued}`, not `{used}`")]
    WrongConnection { issued: String, used: String },
    #[error(
        "the sign-in was started in another browser: the callback lacks the cookie set when it \
         began (a forged login, RFC 6749 §10.12)"
    )]
    OtherBrowser,
    #[error("the token endpoint refused the code: {0}")]
    Token(String),
    #[error("the ID token's header cannot be read ({0}); alg none is refused")]
    Header(String),
    #[error("the ID token is signed with {0:?}; only RS256 is accepted")]
    Algorithm(Algorithm),
    #[error("no key of the provider's JWKS has the ID token's kid {0:?}")]
    UnknownKey(Option<String>),
    #[error("the ID token was refused: {0}")]
    Invalid(String),
    #[error("the ID token has expired (exp {0})")]
    Expired(i64),
    #[error("the ID token is not valid yet (nbf {0})")]
    NotYetValid(i64),
    #[error("the ID token was issued in the future (iat {0})")]
    IssuedInTheFuture(i64),
    #[error("the ID token's nonce does not match the sign-in's")]
    Nonce,
    #[error("{0}")]
    Account(AccountRefusal),
}

fn refuse(refusal: &Refusal) -> Response {
    tracing::warn!(reason = %refusal, "sign-in refused");
    let status = match refusal {
        Refusal::UnknownConnection(_) => StatusCode::NOT_FOUND,
        Refusal::Provider { .. } => StatusCode::BAD_GATEWAY,
        Refusal::Account(refusal) => refusal.status(),
        _ => StatusCode::UNAUTHORIZED,
    };
    (status, format!("Sign-in refused: {refusal}\n")).into_response()
}

/// Fetches `url` as JSON.
async fn fetch_json(sso: &Sso, url: &str, what: &'static str) -> Result<Value, Refusal> {
    let provider_error = |reason: String| Refusal::Provider { what, reason };
    let response = sso
        .0
        .http
        .get(url)
        .send()
        .await
        .map_err(|error| provider_error(error.to_string()))?;
    if !response.status().is_success() {
        return Err(provider_error(format!("HTTP {}", response.status())));
    }
    response
        .json()
        .await
        .map_err(|error| provider_error(error.to_string()))
}

/// The provider's discovery document, checked to name the connection's issuer.
async fn discover(sso: &Sso, connection: &OidcConnection) -> Result<Value, Refusal> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        connection.issuer.trim_end_matches('/')
    );
    let document = fetch_json(sso, &url, "discovery document").await?;
    if document["issuer"].as_str() != Some(connection.issuer.as_str()) {
        return Err(Refusal::Provider {
            what: "discovery document",
            reason: format!(
                "it names the issuer {}, not {}",
                document["issuer"], connection.issuer
            ),
        });
    }
    Ok(document)
}

fn endpoint<'a>(document: &'a Value, name: &'static str) -> Result<&'a str, Refusal> {
    document[name].as_str().ok_or(Refusal::Provider {
        what: "discovery document",
        reason: format!("it has no {name}"),
    })
}

/// `?login_hint=` is passed on to the IdP: to the OIDC provider as a parameter of the
/// authorization request, to a SAML IdP on its SSO URL, where Entra takes it (an AuthnRequest
/// `Subject` is an error there, personas.md §1.2).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct LoginQuery {
    pub(crate) login_hint: Option<String>,
}

async fn login(
    State(sso): State<Sso>,
    Path(connection_id): Path<String>,
    Query(query): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    // A browser keeps its login cookie across sign-ins, so that two started in two tabs both
    // come back to it.
    let browser = cookie(&headers, LOGIN_COOKIE)
        .filter(|value| is_random_token(value))
        .unwrap_or_else(random_token);
    match start_login(&sso, &connection_id, query.login_hint.as_deref(), &browser).await {
        Ok(url) => {
            let mut response = Redirect::to(&url).into_response();
            let set = format!(
                "{LOGIN_COOKIE}={browser}; Path=/sso/; HttpOnly; SameSite=Lax; Max-Age={}",
                PENDING_LIFETIME.num_seconds()
            );
            if let Ok(value) = HeaderValue::from_str(&set) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(refusal) => refuse(&refusal),
    }
}

async fn start_login(
    sso: &Sso,
    connection_id: &str,
    login_hint: Option<&str>,
    browser: &str,
) -> Result<String, Refusal> {
    let connection = sso
        .connection(connection_id)
        .ok_or_else(|| Refusal::UnknownConnection(connection_id.to_owned()))?;
    let document = discover(sso, &connection).await?;
    let authorize = endpoint(&document, "authorization_endpoint")?;
    let state = random_token();
    let nonce = random_token();
    let verifier = random_token();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = reqwest::Url::parse(authorize).map_err(|error| Refusal::Provider {
        what: "discovery document",
        reason: format!("authorization_endpoint is not a URL: {error}"),
    })?;
    {
        let mut pairs = url.query_pairs_mut();
        pairs
            .append_pair("response_type", "code")
            .append_pair("client_id", &connection.client_id)
            .append_pair("redirect_uri", &sso.redirect_uri(&connection.id))
            .append_pair("scope", "openid profile email")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(hint) = login_hint {
            pairs.append_pair("login_hint", hint);
        }
    }
    sso.0.pending.insert(
        state,
        Pending {
            connection: connection.id.clone(),
            nonce,
            verifier,
            browser: browser.to_owned(),
        },
        sso.now(),
    );
    Ok(url.to_string())
}

/// The provider's answer (OpenID Connect Core §3.1.2.5, §3.1.2.6).
#[derive(Debug, serde::Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(sso): State<Sso>,
    Path(connection_id): Path<String>,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let browser = cookie(&headers, LOGIN_COOKIE);
    match finish_login(&sso, &connection_id, query, browser.as_deref()).await {
        Ok(session) => sso.start_session(session),
        Err(refusal) => refuse(&refusal),
    }
}

async fn finish_login(
    sso: &Sso,
    connection_id: &str,
    query: CallbackQuery,
    browser: Option<&str>,
) -> Result<Session, Refusal> {
    let connection = sso
        .connection(connection_id)
        .ok_or_else(|| Refusal::UnknownConnection(connection_id.to_owned()))?;
    let state = query.state.ok_or(Refusal::Missing("state"))?;
    // The state is used once, whatever happens next.
    let pending = sso
        .0
        .pending
        .take(&state, sso.now())
        .ok_or(Refusal::UnknownState)?;
    if pending.connection != connection.id {
        return Err(Refusal::WrongConnection {
            issued: pending.connection,
            used: connection.id,
        });
    }
    if !matches_secret(browser, &pending.browser) {
        return Err(Refusal::OtherBrowser);
    }
    if let Some(error) = query.error {
        return Err(Refusal::ProviderError {
            error,
            description: query.error_description.unwrap_or_default(),
        });
    }
    let code = query.code.ok_or(Refusal::Missing("code"))?;
    let document = discover(sso, &connection).await?;
    let token_endpoint = endpoint(&document, "token_endpoint")?;
    let response = sso
        .0
        .http
        .post(token_endpoint)
        .basic_auth(&connection.client_id, Some(&connection.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", sso.redirect_uri(&connection.id).as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await
        .map_err(|error| Refusal::Token(error.to_string()))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|error| Refusal::Token(format!("HTTP {status}, not JSON: {error}")))?;
    if !status.is_success() {
        return Err(Refusal::Token(format!(
            "HTTP {status}: {} {}",
            body["error"].as_str().unwrap_or("?"),
            body["error_description"].as_str().unwrap_or_default()
        )));
    }
    let id_token = body["id_token"]
        .as_str()
        .ok_or_else(|| Refusal::Token("the answer has no id_token".into()))?;
    let jwks = fetch_json(sso, endpoint(&document, "jwks_uri")?, "JWKS").await?;
    let claims = verify_id_token(id_token, &jwks, &connection, &pending.nonce, sso.now())?;
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    sso.session_for(Login {
        connection: connection.id,
        protocol: "oidc",
        subject,
        claims,
        organization: connection.organization,
        matching: connection.matching,
        ends_by: None,
    })
    .await
    .map_err(Refusal::Account)
}

/// A login whose proof (ID token or SAML assertion) has been verified, before matching.
pub(crate) struct Login {
    /// The connection it came through.
    pub(crate) connection: String,
    /// `oidc` or `saml`.
    pub(crate) protocol: &'static str,
    /// The ID token's `sub` or the assertion's NameID.
    pub(crate) subject: String,
    /// What the login says of the user; the matching strategies read it.
    pub(crate) claims: Map<String, Value>,
    /// The organization of the connection, when it is paired with a SCIM directory.
    pub(crate) organization: Option<String>,
    /// How the login is matched to a SCIM user of the organization.
    pub(crate) matching: MatchingStrategy,
    /// When the IdP says the session must end at the latest (SAML's `SessionNotOnOrAfter`,
    /// Core §2.7.2); the session ends then if that is before its own timeout.
    pub(crate) ends_by: Option<DateTime<Utc>>,
}

impl Sso {
    /// `http://ADDRESS` of the SP.
    pub(crate) fn origin(&self) -> &str {
        &self.0.origin
    }

    /// The session of a verified login, remembered first for the matching report. When its
    /// connection is paired with an organization, the organization's account policies apply
    /// (`policy`): the user is provisioned just in time, or matched to its SCIM user (refused
    /// with `ScimUserNotActive`), and must be in one of the organization's teams when it has
    /// any (refused with `NotInAnyTeam`).
    pub(crate) async fn session_for(&self, login: Login) -> Result<Session, AccountRefusal> {
        let now = self.now();
        self.0.seen.record(&login, now);
        let timeout = now + self.session_length(login.organization.as_deref());
        let expires = login
            .ends_by
            .map_or(timeout, |ends_by| timeout.min(ends_by));
        let (scim_user, teams) = match &login.organization {
            Some(organization) => {
                let policies = &self.0.policies;
                let user = match policies
                    .provision(&self.0.store, organization, &login)
                    .await?
                {
                    Some(user) => user,
                    None => matched_user(self, organization, login.matching, &login.claims)
                        .map_err(AccountRefusal::ScimUserNotActive)?,
                };
                let teams = policies
                    .teams_of(&self.0.store, organization, &user, &login.claims)
                    .await?;
                (Some(user), teams)
            }
            None => (None, Vec::new()),
        };
        Ok(Session {
            connection: login.connection,
            protocol: login.protocol,
            subject: login.subject,
            claims: login.claims,
            matching: login.organization.as_ref().map(|_| login.matching),
            organization: login.organization,
            scim_user,
            teams,
            signed_in: now,
            expires,
        })
    }

    /// The organizations' account policies.
    pub(crate) fn policies(&self) -> &Policies {
        &self.0.policies
    }

    /// The logins the matching report reads.
    pub(crate) fn seen_logins(&self) -> &SeenLogins {
        &self.0.seen
    }

    /// The store logins are matched against.
    pub(crate) fn store(&self) -> &Store {
        &self.0.store
    }

    /// What the OIDC connection `id` is paired with, for the matching report.
    pub(crate) fn pairing(&self, id: &str) -> Option<Pairing> {
        self.connection(id).map(|connection| Pairing {
            protocol: "oidc",
            organization: connection.organization,
            matching: connection.matching,
        })
    }

    /// Keeps `session` and answers with its cookie (HttpOnly, SameSite=Lax) and a redirect to
    /// `/whoami`.
    pub(crate) fn start_session(&self, session: Session) -> Response {
        let id = random_token();
        self.0
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.clone(), session);
        let mut response = Redirect::to("/whoami").into_response();
        if let Ok(cookie) = HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"
        )) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        response
    }

    /// Starts the session of a break-glass user of `organization` who signed in with a
    /// password (seed 000 "Break Glass Users"), answered as [`Sso::start_session`] does: no
    /// connection and no SCIM user, the organization's session timeout.
    pub(crate) fn start_password_session(&self, organization: &str, username: &str) -> Response {
        let now = self.now();
        let mut claims = Map::new();
        claims.insert("username".into(), Value::String(username.to_owned()));
        self.start_session(Session {
            connection: crate::break_glass::CONNECTION.to_owned(),
            protocol: "password",
            subject: username.to_owned(),
            claims,
            organization: Some(organization.to_owned()),
            matching: None,
            scim_user: None,
            teams: Vec::new(),
            signed_in: now,
            expires: now + self.session_length(Some(organization)),
        })
    }
}

/// The active SCIM user of `organization` the login names (seed 002): a login without a
/// matching user ("in the SSO app but not in the SCIM app") or with an inactive one is
/// refused with `ScimUserNotActive`, for the reason returned.
fn matched_user(
    sso: &Sso,
    organization: &str,
    strategy: MatchingStrategy,
    claims: &Map<String, Value>,
) -> Result<ScimUser, String> {
    let data = sso.0.store.organization(organization);
    match matching::find_user(&data, strategy, claims) {
        MatchOutcome::Matched(user) if user.active => Ok(user),
        MatchOutcome::Matched(user) => Err(format!(
            "the SCIM user {} ({}) is inactive",
            user.user_name, user.id
        )),
        MatchOutcome::NoUser(value) => Err(format!(
            "no SCIM user matches under {strategy} (looked for {value:?})"
        )),
        MatchOutcome::NoClaim(claim) => Err(format!(
            "the login has no `{claim}` claim, which {strategy} matches on"
        )),
    }
}

/// Checks an ID token (OpenID Connect Core §3.1.3.7) and returns its claims.
fn verify_id_token(
    id_token: &str,
    jwks: &Value,
    connection: &OidcConnection,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, Refusal> {
    let header = jsonwebtoken::decode_header(id_token)
        .map_err(|error| Refusal::Header(error.to_string()))?;
    if header.alg != Algorithm::RS256 {
        return Err(Refusal::Algorithm(header.alg));
    }
    let jwk = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|key| {
            key["kty"] == "RSA"
                && header.kid.is_some()
                && key["kid"].as_str() == header.kid.as_deref()
        })
        .ok_or_else(|| Refusal::UnknownKey(header.kid.clone()))?;
    let key = DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap_or_default(),
        jwk["e"].as_str().unwrap_or_default(),
    )
    .map_err(|error| Refusal::Invalid(format!("the JWKS key is unusable: {error}")))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&connection.issuer]);
    validation.set_audience(&[&connection.client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // The times are checked below against the SP's clock, not the library's wall clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation)
        .map_err(|error| Refusal::Invalid(error.to_string()))?
        .claims;
    let skew = i64::try_from(CLOCK_SKEW_SECONDS).unwrap_or(i64::MAX);
    let now = now.timestamp();
    let time = |claim: &str| claims.get(claim).and_then(Value::as_i64);
    if time("exp").is_none_or(|expires| expires + skew <= now) {
        return Err(Refusal::Expired(time("exp").unwrap_or_default()));
    }
    if time("nbf").is_some_and(|not_before| not_before > now + skew) {
        return Err(Refusal::NotYetValid(time("nbf").unwrap_or_default()));
    }
    // jsonwebtoken's required claims do not cover `iat`; OIDC Core §2 requires it.
    let issued = time("iat")
        .ok_or_else(|| Refusal::Invalid("the ID token has no iat (issue time)".into()))?;
    if issued > now + skew {
        return Err(Refusal::IssuedInTheFuture(issued));
    }
    // §3.1.3.7 items 4 and 5: a token for several audiences names the client it was issued
    // to in `azp`, and an `azp` must be this client.
    let audiences = claims
        .get("aud")
        .and_then(Value::as_array)
        .map_or(1, Vec::len);
    let authorized_party = claims.get("azp").and_then(Value::as_str);
    let issued_to_this_client = match authorized_party {
        Some(party) => party == connection.client_id,
        None => audiences <= 1,
    };
    if !issued_to_this_client {
        return Err(Refusal::Invalid(format!(
            "the ID token was issued to {} (azp), not to this client",
            authorized_party.unwrap_or("an unnamed party among several audiences")
        )));
    }
    if !matches_secret(claims.get("nonce").and_then(Value::as_str), nonce) {
        return Err(Refusal::Nonce);
    }
    Ok(claims)
}

/// The session named by the request's cookie.
fn session_id(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the request's cookie `wanted`.
fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == wanted).then(|| value.to_owned())
        })
}

/// Why `session` is over, if it is: its timeout has passed (seed 000), or its SCIM user was
/// deactivated or deleted since (seed 002), which ends every session of that user at once.
fn ended(sso: &Sso, session: &Session) -> Option<(&'static str, String)> {
    if sso.now() >= session.expires {
        let minutes = (session.expires - session.signed_in).num_minutes();
        return Some((
            "SessionExpired",
            format!(
                "the SSO session of {} ended after {minutes} minutes (the organization's session timeout); sign in again",
                session.subject
            ),
        ));
    }
    let (Some(organization), Some(user)) = (&session.organization, &session.scim_user) else {
        return None;
    };
    let now = matching::user_now(&sso.0.store.organization(organization), &user.id);
    (!now.is_some_and(|user| user.active)).then(|| {
        (
            "ScimUserNotActive",
            format!("the SCIM user {} is no longer active", user.user_name),
        )
    })
}

async fn whoami(State(sso): State<Sso>, headers: HeaderMap) -> Response {
    let session = session_id(&headers).and_then(|id| {
        let session = sso
            .0
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()?;
        Some((id, session))
    });
    let Some((id, session)) = session else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error": "not signed in" })),
        )
            .into_response();
    };
    if let Some((error, description)) = ended(&sso, &session) {
        sso.0
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        tracing::warn!(subject = %session.subject, %description, "session ended");
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error": error, "error_description": description })),
        )
            .into_response();
    }
    axum::Json(json!(session)).into_response()
}

/// `GET` or `POST /logout`: ends the session at once; a SAML session whose IdP has single
/// logout then goes on to the IdP with a LogoutRequest (personas.md §1.2 "Single logout"). The
/// cookie is cleared always. Unless another site sent the browser here (`Sec-Fetch-Site:
/// cross-site`): the session cookie (SameSite=Lax) goes along with such a navigation, so any
/// page could end a session, and for SAML the IdP's too. That browser gets a page whose
/// button signs out from this site instead.
async fn logout(State(sso): State<Sso>, headers: HeaderMap) -> Response {
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return crate::routing::page(
            "Sign out?",
            "<p>Another site sent you here to sign out of this app.</p>\
             <form method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button>\
             </form>",
        )
        .into_response();
    }
    let session = session_id(&headers).and_then(|id| {
        sso.0
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
    });
    let idp_logout = session.and_then(|session| {
        let single_logout = sso
            .0
            .single_logout
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        single_logout.as_ref()?(&session)
    });
    let mut response = match idp_logout {
        Some(url) => Redirect::to(&url).into_response(),
        None => (StatusCode::OK, "signed out\n").into_response(),
    };
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// 32 random bytes, base64url: state, nonce, PKCE verifier, RelayState and session ids.
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Whether `given` is the secret `expected` (a nonce, a state's cookie, a RelayState),
/// compared in constant time; a missing value never is.
pub(crate) fn matches_secret(given: Option<&str>, expected: &str) -> bool {
    given.is_some_and(|given| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            expected.as_bytes(),
        ))
    })
}

/// Whether `value` has the shape of a [`random_token`]: 43 URL-safe base64 characters.
fn is_random_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}
