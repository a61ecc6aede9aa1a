//! The provider's HTTP endpoints: discovery, JWKS, authorization (sign-in page or test-mode
//! login), token, userinfo and end-session (OpenID Connect Core 1.0, RFC 6749, RFC 7636).

use super::claims::{self, PAIRWISE};
use super::keys::SigningKey;
use crate::clock::Clock;
use crate::directory::{Directory, DirectoryUser};
use crate::persona::Persona;
use crate::signin;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use subtle::ConstantTimeEq as _;

/// How long an authorization code can be redeemed.
const CODE_LIFETIME: Duration = Duration::minutes(5);

/// How long ID and access tokens are valid.
const TOKEN_LIFETIME: Duration = Duration::hours(1);

/// A registered relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
    /// The redirect URIs it may use; anything else is never redirected to.
    pub redirect_uris: Vec<String>,
}

impl Client {
    /// Parses `ID:SECRET:REDIRECT_URI` (the redirect URI may itself contain `:`).
    pub fn parse(text: &str) -> Result<Client, String> {
        let mut parts = text.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(id), Some(secret), Some(uri))
                if !id.is_empty() && !secret.is_empty() && uri.contains("://") =>
            {
                Ok(Client {
                    id: id.to_owned(),
                    secret: secret.to_owned(),
                    redirect_uris: vec![uri.to_owned()],
                })
            }
            _ => Err(format!(
                "`{text}` is not ID:SECRET:REDIRECT_URI (e.g. app:s3cret:http://127.0.0.1:3000/callback)"
            )),
        }
    }
}

/// How one persona's provider runs.
#[derive(Clone)]
pub struct ProviderConfig {
    /// `http://127.0.0.1:PORT` the provider is served at (no trailing slash).
    pub base_url: String,
    /// The simulated tenant (Entra's `tid`, the `{tenant}` of issuer templates).
    pub tenant: String,
    /// The registered relying parties.
    pub clients: Vec<Client>,
    /// Test mode: an authorization request with a `login_hint` signs that user in without a
    /// page.
    pub auto_login: bool,
    /// The clock.
    pub clock: Clock,
}

/// A code waiting to be redeemed.
#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    /// The scopes granted (`openid`, `profile`, `email`; see [`claims::granted_scopes`]).
    scope: String,
    code_challenge: String,
    nonce: Option<String>,
    user: String,
    issued: DateTime<Utc>,
    /// Whether the ID token carries `auth_time` (the request had `max_age`).
    with_auth_time: bool,
}

/// An issued access token.
#[derive(Debug, Clone)]
struct AccessGrant {
    client_id: String,
    /// The scopes granted with the code it was issued for.
    scope: String,
    user: String,
    expires: DateTime<Utc>,
}

/// One persona's OpenID Connect provider over one directory.
pub struct OidcProvider {
    persona: Persona,
    directory: Arc<Directory>,
    key: SigningKey,
    config: ProviderConfig,
    issuer: String,
    mount: String,
    codes: Mutex<HashMap<String, Grant>>,
    access_tokens: Mutex<HashMap<String, AccessGrant>>,
    /// Each redeemed code's access token, while that token lives: a code presented again
    /// revokes it (RFC 6749 §4.1.2).
    redeemed: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("persona", &self.persona.name)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// The local issuer of `persona`: its issuer template (personas.md §6.3) with `{tenant}` filled
/// and its scheme and host replaced by `base_url/{persona name}`, so the path (and Entra's
/// `/{tid}/v2.0`, JumpCloud's trailing `/`) stays as the vendor writes it.
pub fn local_issuer(persona: &Persona, base_url: &str, tenant: &str) -> String {
    let template = persona.oidc.issuer.value.replace("{tenant}", tenant);
    let path = reqwest::Url::parse(&template)
        .map(|url| url.path().to_owned())
        .unwrap_or_default();
    let path = if path == "/" && !template.ends_with('/') {
        String::new()
    } else {
        path
    };
    format!("{}/{}{path}", base_url.trim_end_matches('/'), persona.name)
}

impl OidcProvider {
    /// A provider for `persona` over `directory`, signing with `key`.
    pub fn new(
        persona: Persona,
        directory: Arc<Directory>,
        key: SigningKey,
        config: ProviderConfig,
    ) -> OidcProvider {
        let issuer = local_issuer(&persona, &config.base_url, &config.tenant);
        let mount = issuer
            .strip_prefix(config.base_url.trim_end_matches('/'))
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        OidcProvider {
            persona,
            directory,
            key,
            config,
            issuer,
            mount,
            codes: Mutex::default(),
            access_tokens: Mutex::default(),
            redeemed: Mutex::default(),
        }
    }

    /// The issuer (`iss` of every token).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}{}",
            self.base(),
            self.path("/.well-known/openid-configuration")
        )
    }

    fn base(&self) -> &str {
        self.config.base_url.trim_end_matches('/')
    }

    fn path(&self, endpoint: &str) -> String {
        format!("{}{endpoint}", self.mount)
    }

    fn endpoint(&self, endpoint: &str) -> String {
        format!("{}{}", self.base(), self.path(endpoint))
    }

    /// The provider's routes, under its issuer's path.
    pub fn router(self: Arc<Self>) -> Router {
        let routes = Router::new()
            .route(
                &self.path("/.well-known/openid-configuration"),
                get(discovery),
            )
            .route(&self.path("/keys"), get(keys))
            .route(&self.path("/authorize"), get(authorize))
            .route(&self.path("/login"), axum::routing::post(login))
            .route(&self.path("/token"), axum::routing::post(token))
            .route(&self.path("/userinfo"), get(userinfo).post(userinfo))
            .route(&self.path("/logout"), get(logout))
            .with_state(self);
        crate::http::guarded(routes)
    }

    fn now(&self) -> DateTime<Utc> {
        (self.config.clock)()
    }

    fn client(&self, client_id: &str) -> Option<&Client> {
        self.config
            .clients
            .iter()
            .find(|client| client.id == client_id)
    }

    fn user_by_sign_in_name(&self, name: &str) -> Option<&DirectoryUser> {
        signin::user_by_sign_in_name(&self.persona, &self.directory, name)
    }

    /// Issues a code for `user` and the redirect that carries it.
    fn issue_code(&self, request: &AuthorizationRequest, user: &DirectoryUser) -> Response {
        let code = random_token();
        let grant = Grant {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: claims::granted_scopes(&request.scope),
            code_challenge: request.code_challenge.clone().unwrap_or_default(),
            nonce: request.nonce.clone(),
            user: user.key.clone(),
            issued: self.now(),
            with_auth_time: request.max_age.is_some(),
        };
        let now = self.now();
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        // Codes nobody redeemed in time are of no use any more.
        codes.retain(|_, waiting| now <= waiting.issued + CODE_LIFETIME);
        codes.insert(code.clone(), grant);
        drop(codes);
        redirect_with(
            &request.redirect_uri,
            &[("code", &code)],
            request.state.as_deref(),
        )
    }

    fn sign(&self, claims: &Map<String, Value>) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key.kid().to_owned());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, self.key.encoding_key())
    }
}

/// The sign-in page for `request`, with `problem` above the forms.
fn sign_in_page(
    provider: &OidcProvider,
    request: &AuthorizationRequest,
    problem: Option<&str>,
) -> Response {
    let hidden = [
        ("response_type", Some(request.response_type.as_str())),
        ("client_id", Some(request.client_id.as_str())),
        ("redirect_uri", Some(request.redirect_uri.as_str())),
        ("scope", Some(request.scope.as_str())),
        ("state", request.state.as_deref()),
        ("nonce", request.nonce.as_deref()),
        ("code_challenge", request.code_challenge.as_deref()),
        (
            "code_challenge_method",
            request.code_challenge_method.as_deref(),
        ),
        ("login_hint", request.login_hint.as_deref()),
        ("max_age", request.max_age.as_deref()),
    ];
    Html(signin::sign_in(
        &provider.persona,
        &provider.directory,
        &provider.path("/login"),
        &hidden,
        request.login_hint.as_deref(),
        problem,
    ))
    .into_response()
}

/// The parameters of an authorization request (OpenID Connect Core §3.1.2.1), carried through
/// the sign-in page in hidden fields.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub(crate) struct AuthorizationRequest {
    #[serde(default)]
    pub(crate) response_type: String,
    #[serde(default)]
    pub(crate) client_id: String,
    #[serde(default)]
    pub(crate) redirect_uri: String,
    #[serde(default)]
    pub(crate) scope: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) code_challenge_method: Option<String>,
    pub(crate) login_hint: Option<String>,
    pub(crate) prompt: Option<String>,
    /// Seconds since the user last authenticated that the client accepts; asking for it puts
    /// `auth_time` in the ID token (OpenID Connect Core §3.1.2.1).
    pub(crate) max_age: Option<String>,
}

/// Checks the client and redirect URI (failures are shown, never redirected: RFC 6749
/// §4.1.2.1), then the rest (failures go back to the client); the refusal, if any.
fn refusal(provider: &OidcProvider, request: &AuthorizationRequest) -> Option<Response> {
    let Some(client) = provider.client(&request.client_id) else {
        return Some(error_page(
            StatusCode::BAD_REQUEST,
            &format!("Unknown client_id `{}`.", request.client_id),
        ));
    };
    if !client.redirect_uris.contains(&request.redirect_uri) {
        return Some(error_page(
            StatusCode::BAD_REQUEST,
            &format!(
                "redirect_uri `{}` is not registered for client `{}`.",
                request.redirect_uri, client.id
            ),
        ));
    }
    let refuse = |error: &str, description: &str| {
        redirect_with(
            &request.redirect_uri,
            &[("error", error), ("error_description", description)],
            request.state.as_deref(),
        )
    };
    if request.response_type.is_empty() {
        return Some(refuse("invalid_request", "response_type is required"));
    }
    if request
        .max_age
        .as_deref()
        .is_some_and(|max_age| max_age.parse::<u64>().is_err())
    {
        return Some(refuse(
            "invalid_request",
            "max_age must be a number of seconds",
        ));
    }
    if request.response_type != "code" {
        return Some(refuse(
            "unsupported_response_type",
            "only the authorization code flow (response_type=code) is supported",
        ));
    }
    if !request
        .scope
        .split_whitespace()
        .any(|scope| scope == "openid")
    {
        return Some(refuse("invalid_scope", "the scope must include openid"));
    }
    if request.code_challenge.as_deref().is_none_or(str::is_empty)
        || request.code_challenge_method.as_deref() != Some("S256")
    {
        return Some(refuse(
            "invalid_request",
            "PKCE is required: code_challenge with code_challenge_method=S256",
        ));
    }
    if !request
        .code_challenge
        .as_deref()
        .is_some_and(is_s256_challenge)
    {
        return Some(refuse(
            "invalid_request",
            "code_challenge must be the 43-character base64url SHA-256 of the code_verifier \
             (RFC 7636 §4.2)",
        ));
    }
    None
}

/// The form of an S256 `code_challenge`: 43 base64url characters without padding (the
/// encoding of 32 bytes, RFC 7636 §4.2).
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// The form of a `code_verifier`: 43 to 128 unreserved characters (RFC 7636 §4.1).
fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
}

async fn discovery(State(provider): State<Arc<OidcProvider>>) -> Json<Value> {
    let subject_type = if provider.persona.oidc.subject.value == PAIRWISE {
        "pairwise"
    } else {
        "public"
    };
    let mut claims_supported: Vec<&str> = vec!["sub", "iss", "aud", "exp", "iat", "nonce"];
    claims_supported.extend(
        provider
            .persona
            .oidc
            .claims
            .value
            .keys()
            .map(String::as_str),
    );
    if let Some(statics) = &provider.persona.oidc.static_claims {
        claims_supported.extend(statics.value.keys().map(String::as_str));
    }
    Json(json!({
        "issuer": provider.issuer,
        "authorization_endpoint": provider.endpoint("/authorize"),
        "token_endpoint": provider.endpoint("/token"),
        "userinfo_endpoint": provider.endpoint("/userinfo"),
        "jwks_uri": provider.endpoint("/keys"),
        "end_session_endpoint": provider.endpoint("/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": [subject_type],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims_supported,
    }))
}

async fn keys(State(provider): State<Arc<OidcProvider>>) -> Json<Value> {
    Json(json!({ "keys": [provider.key.public_jwk()] }))
}

async fn authorize(
    State(provider): State<Arc<OidcProvider>>,
    Query(request): Query<AuthorizationRequest>,
) -> Response {
    if let Some(response) = refusal(&provider, &request) {
        return response;
    }
    let hinted = request
        .login_hint
        .as_deref()
        .and_then(|hint| provider.user_by_sign_in_name(hint));
    if provider.config.auto_login {
        return match hinted {
            Some(user) if claims::is_enabled(&provider.persona, user) => {
                provider.issue_code(&request, user)
            }
            Some(_) => redirect_with(
                &request.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_description", "the user is disabled"),
                ],
                request.state.as_deref(),
            ),
            None => redirect_with(
                &request.redirect_uri,
                &[
                    ("error", "login_required"),
                    (
                        "error_description",
                        "test mode signs in the login_hint user; none matched",
                    ),
                ],
                request.state.as_deref(),
            ),
        };
    }
    if request.prompt.as_deref() == Some("none") {
        // The simulator keeps no IdP session: a silent request always needs a sign-in.
        return redirect_with(
            &request.redirect_uri,
            &[("error", "login_required")],
            request.state.as_deref(),
        );
    }
    sign_in_page(&provider, &request, None)
}

/// The sign-in form: `user` (a button of the user list) or `username` and `password`, with
/// the authorization request in hidden fields.
#[derive(Debug, serde::Deserialize)]
struct SignIn {
    #[serde(flatten)]
    request: AuthorizationRequest,
    #[serde(flatten)]
    credentials: signin::Credentials,
}

async fn login(State(provider): State<Arc<OidcProvider>>, Form(form): Form<SignIn>) -> Response {
    let request = form.request;
    if let Some(response) = refusal(&provider, &request) {
        return response;
    }
    match signin::authenticate(&provider.persona, &provider.directory, &form.credentials) {
        Ok(user) => provider.issue_code(&request, user),
        Err(problem) => sign_in_page(&provider, &request, Some(&problem)),
    }
}

/// The token request (RFC 6749 §4.1.3, RFC 7636 §4.5).
#[derive(Debug, Default, serde::Deserialize)]
struct TokenRequest {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn token(
    State(provider): State<Arc<OidcProvider>>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    // A body that is no form (JSON, a repeated parameter, too large) is an RFC 6749 §5.2
    // error like any other, not the framework's plain text.
    let request = match form {
        Ok(Form(request)) => request,
        Err(rejection) => {
            let status = match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            return token_error(status, "invalid_request", &rejection.body_text());
        }
    };
    let Some((client_id, secret)) = client_credentials(&headers, &request) else {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "no client authentication",
        );
    };
    let authenticated = provider
        .client(&client_id)
        .filter(|client| bool::from(client.secret.as_bytes().ct_eq(secret.as_bytes())));
    let Some(client) = authenticated else {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    };
    if request.grant_type != "authorization_code" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code is supported",
        );
    }
    if request.code.is_empty() {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is required",
        );
    }
    // A code is used once: it is gone whether or not the rest of the request is right.
    let grant = provider
        .codes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&request.code);
    let now = provider.now();
    let invalid_grant = |why: &str| token_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
    let Some(grant) = grant else {
        let revoked = provider
            .redeemed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&request.code);
        if let Some(access_token) = revoked {
            provider
                .access_tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&access_token);
            return invalid_grant(
                "the code was already used; the access token issued for it is revoked",
            );
        }
        return invalid_grant("unknown or already used code");
    };
    if grant.client_id != client.id {
        return invalid_grant("the code was issued to another client");
    }
    if grant.redirect_uri != request.redirect_uri {
        return invalid_grant("redirect_uri differs from the authorization request");
    }
    if now > grant.issued + CODE_LIFETIME {
        return invalid_grant("the code has expired");
    }
    if !is_code_verifier(&request.code_verifier) {
        return invalid_grant(
            "code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)",
        );
    }
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(request.code_verifier.as_bytes()));
    if !bool::from(challenge.as_bytes().ct_eq(grant.code_challenge.as_bytes())) {
        return invalid_grant("code_verifier does not match the code_challenge (PKCE S256)");
    }
    let Some(user) = provider.directory.user(&grant.user) else {
        return invalid_grant("the user is no longer in the directory");
    };
    let mut claims =
        match claims::user_claims(&provider.persona, user, &client.id, &provider.config.tenant) {
            Ok(claims) => claims::within_scope(claims, &grant.scope),
            Err(error) => {
                return token_error(StatusCode::BAD_REQUEST, "invalid_grant", &error.to_string());
            }
        };
    let expires = now + TOKEN_LIFETIME;
    claims.insert("iss".into(), Value::String(provider.issuer.clone()));
    claims.insert("aud".into(), Value::String(client.id.clone()));
    claims.insert("iat".into(), json!(now.timestamp()));
    claims.insert("nbf".into(), json!(now.timestamp()));
    claims.insert("exp".into(), json!(expires.timestamp()));
    if let Some(nonce) = &grant.nonce {
        claims.insert("nonce".into(), Value::String(nonce.clone()));
    }
    let oidc = &provider.persona.oidc;
    if grant.with_auth_time || oidc.auth_time.as_ref().is_some_and(|knob| knob.value) {
        // The simulator keeps no IdP session: the user authenticated when the code was issued.
        claims.insert("auth_time".into(), json!(grant.issued.timestamp()));
    }
    if let Some(prefix) = &oidc.jti_prefix {
        claims.insert(
            "jti".into(),
            Value::String(format!("{}{}", prefix.value, random_token())),
        );
    }
    let id_token = match provider.sign(&claims) {
        Ok(token) => token,
        Err(error) => {
            return token_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                &format!("cannot sign the ID token: {error}"),
            );
        }
    };
    let access_token = random_token();
    {
        let mut access_tokens = provider
            .access_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Expired tokens are forgotten, and with them what their codes would revoke.
        access_tokens.retain(|_, issued| issued.expires > now);
        access_tokens.insert(
            access_token.clone(),
            AccessGrant {
                client_id: client.id.clone(),
                scope: grant.scope.clone(),
                user: user.key.clone(),
                expires,
            },
        );
        let mut redeemed = provider
            .redeemed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        redeemed.retain(|_, token| access_tokens.contains_key(token));
        redeemed.insert(request.code.clone(), access_token.clone());
    }
    no_store(
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME.num_seconds(),
            "id_token": id_token,
            "scope": grant.scope,
        }))
        .into_response(),
    )
}

/// `client_secret_basic` (RFC 6749 §2.3.1: form-urlencoded id and secret) or
/// `client_secret_post`.
fn client_credentials(headers: &HeaderMap, request: &TokenRequest) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    if let Some(pair) = basic {
        let (id, secret) = pair.split_once(':')?;
        let decode = |text: &str| url_decode(text);
        return Some((decode(id), decode(secret)));
    }
    Some((request.client_id.clone()?, request.client_secret.clone()?))
}

/// Percent-decoding of an `application/x-www-form-urlencoded` component.
fn url_decode(text: &str) -> String {
    reqwest::Url::parse(&format!("http://x/?v={text}"))
        .ok()
        .and_then(|url| {
            url.query_pairs()
                .find(|(name, _)| name == "v")
                .map(|(_, value)| value.into_owned())
        })
        .unwrap_or_else(|| text.to_owned())
}

async fn userinfo(State(provider): State<Arc<OidcProvider>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        // The scheme is case-insensitive (RFC 7235 §2.1).
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let grant = token.and_then(|token| {
        provider
            .access_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()
    });
    let now = provider.now();
    let Some(grant) = grant.filter(|grant| grant.expires > now) else {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return response;
    };
    let claims = provider
        .directory
        .user(&grant.user)
        .ok_or_else(|| "the user is no longer in the directory".to_owned())
        .and_then(|user| {
            claims::user_claims(
                &provider.persona,
                user,
                &grant.client_id,
                &provider.config.tenant,
            )
            .map(|claims| claims::within_scope(claims, &grant.scope))
            .map_err(|error| error.to_string())
        });
    match claims {
        Ok(claims) => no_store(Json(Value::Object(claims)).into_response()),
        Err(reason) => error_page(StatusCode::NOT_FOUND, &reason),
    }
}

/// RP-initiated logout: back to `post_logout_redirect_uri` only when it is a registered
/// redirect URI of a client.
#[derive(Debug, serde::Deserialize)]
struct Logout {
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

async fn logout(
    State(provider): State<Arc<OidcProvider>>,
    Query(logout): Query<Logout>,
) -> Response {
    let registered = logout.post_logout_redirect_uri.as_ref().filter(|uri| {
        provider
            .config
            .clients
            .iter()
            .any(|client| client.redirect_uris.contains(uri))
    });
    match registered {
        Some(uri) => redirect_with(uri, &[], logout.state.as_deref()),
        None => Html(signin::signed_out(&provider.persona)).into_response(),
    }
}

/// `uri` with `pairs` and `state` added to its query, as a 303 redirect.
fn redirect_with(uri: &str, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    let Ok(mut url) = reqwest::Url::parse(uri) else {
        return error_page(StatusCode::BAD_REQUEST, &format!("`{uri}` is not a URL"));
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = no_store(
        (
            status,
            Json(json!({ "error": error, "error_description": description })),
        )
            .into_response(),
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"token\""),
        );
    }
    response
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (status, Html(signin::error(message))).into_response()
}

/// 32 random bytes, base64url: codes and access tokens.
fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}
