//! The admin API under `/admin/v1`: organizations, their SCIM tokens, SSO connection, verified
//! domains and break-glass users, and the Directory API (seed 004). JSON in and out.
//!
//! Every request carries `Authorization: Bearer <admin key>` (the key of
//! [`crate::RunningSp::admin_key`], compared in constant time). Errors are
//! `{"error": CODE, "error_description": TEXT}`: 401 `unauthorized` (no or wrong key), 400
//! `invalid_request` (bad input, named), 404 `not_found` (unknown organization, connection,
//! domain, user or token, named), 409 `conflict` (an organization's second connection, a
//! domain another organization owns), 405 `method_not_allowed`, 500 `server_error`.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `POST /organizations` | `{"name"}` | 201 `{"id", "name", "scim_token"}`: a read-write SCIM token, shown once |
//! | `GET /organizations` | | `{"organizations": [{"id", "name", "created"}]}`, oldest first |
//! | `GET /organizations/{org}` | | the organization with `deletion_policy`, `session_timeout_minutes`, `jit`, `connection` (or null), `domains` |
//! | `PATCH /organizations/{org}` | `{"deletion_policy"?: "delete"\|"deactivate", "session_timeout_minutes"?: 1..=525600, "jit"?: bool}` | the organization |
//! | `POST /organizations/{org}/tokens` | `{"role"?: "read-write"\|"read-only"}` | 201 `{"token", "role", "organization_id"}`, shown once |
//! | `POST /organizations/{org}/tokens/rotate` | `{"old"}` | `{"token", "role", "organization_id"}`; `old` stops working at once |
//! | `PUT /organizations/{org}/connection` | `{"id"?, "protocol": "oidc"\|"saml", "idp_type"?: "Okta"\|"MicrosoftEntra"\|"Generic", "matching"?, "settings"}` | 201 new or 200 replaced: the connection |
//! | `GET /organizations/{org}/connection` | | the connection (`settings` without an OIDC client secret) |
//! | `DELETE /organizations/{org}/connection` | | 204 |
//! | `POST /organizations/{org}/domains` | `{"domain"}` | 201 new or 200 already the organization's: `{"domain", "organization_id"}` |
//! | `GET /organizations/{org}/domains` | | `{"domains": [...]}`, sorted |
//! | `DELETE /organizations/{org}/domains/{domain}` | | 204 |
//! | `POST /organizations/{org}/break-glass` | `{"username", "password"}` | 201 new or 200 password replaced: `{"username", "organization_id"}` |
//! | `GET /organizations/{org}/break-glass` | | `{"users": [{"username", "created"}]}`, no passwords |
//! | `DELETE /organizations/{org}/break-glass/{username}` | | 204 |
//! | `POST /organizations/{org}/teams` | `{"name", "idp_group"}` | 201 new or 200 relinked: `{"name", "idp_group", "organization_id"}` (see `policy`) |
//! | `GET /organizations/{org}/teams` | | `{"teams": [{"name", "idp_group"}]}`, oldest first |
//! | `DELETE /organizations/{org}/teams/{team}` | | 204 |
//! | `POST /organizations/{org}/webhooks` | `{"url", "events"?: [type]}` | 201 `{"id", "secret", "url", "events", "organization_id"}`: the signing secret, shown once (see `webhooks`) |
//! | `GET /organizations/{org}/webhooks` | | `{"webhooks": [{"id", "url", "events"}]}`, no secrets |
//! | `DELETE /organizations/{org}/webhooks/{endpoint}` | | 204 |
//! | `GET /organizations/{org}/directory/users?page_size=&page_token=` | | `{"users": [...], "next_page_token"?}` (see `directory`) |
//! | `GET /organizations/{org}/directory/groups?page_size=&page_token=` | | `{"groups": [...], "next_page_token"?}` |
//!
//! A connection's `settings`: for `oidc` `{"issuer", "client_id", "client_secret"}`; for
//! `saml` `{"idp_entity_id", "idp_sso_url", "idp_certificates": [PEM], "claim_attributes"?:
//! {claim: attribute}, "idp_initiated"?: "Accept"|"Refuse"|"StartSpInitiated" (`Refuse` unless
//! given), "idp_slo_url"?}`. Its `id` is kept when
//! the organization has a connection, else generated; `matching` defaults to the IdP type's
//! strategy (seed 002). The connection shown carries the SP's URLs to register at the IdP.

use crate::break_glass::BreakGlass;
use crate::connections::{
    self, Connection, Connections, Protocol, StoredConnection, idp_type_name, parse_idp_type,
};
use crate::directory::{self, PageRequest};
use crate::error::SpError;
use crate::matching::MatchingStrategy;
use crate::store::{ResourceType, Store};
use crate::tenants::{DeletionPolicy, Tenants, TokenRole};
use crate::webhooks::Webhooks;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;
use std::sync::Arc;
use subtle::ConstantTimeEq as _;
use tower_http::limit::RequestBodyLimitLayer;

/// The path the admin API is served under.
pub(crate) const ADMIN_PREFIX: &str = "/admin/v1";

/// The longest session timeout accepted: a year, in minutes.
const MAX_SESSION_MINUTES: u32 = 525_600;

/// What the admin routes share.
#[derive(Clone)]
pub(crate) struct Admin(Arc<Shared>);

struct Shared {
    /// SHA-256 of the admin key.
    key_digest: [u8; 32],
    tenants: Tenants,
    connections: Connections,
    break_glass: BreakGlass,
    store: Store,
    webhooks: Arc<Webhooks>,
}

impl Admin {
    /// The admin API's state: `key` authenticates its callers.
    pub(crate) fn new(
        key: &str,
        tenants: Tenants,
        connections: Connections,
        break_glass: BreakGlass,
        store: Store,
        webhooks: Arc<Webhooks>,
    ) -> Admin {
        Admin(Arc::new(Shared {
            key_digest: Sha256::digest(key.as_bytes()).into(),
            tenants,
            connections,
            break_glass,
            store,
            webhooks,
        }))
    }

    /// Whether `presented` is the admin key. The digests are compared in constant time, so
    /// neither the key's content nor its length shows in the timing.
    fn accepts(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(digest.ct_eq(&self.0.key_digest))
    }
}

/// A new random admin key.
pub(crate) fn new_admin_key() -> String {
    format!(
        "admin_{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    )
}

/// An admin API error: status, code and description.
#[derive(Debug)]
struct AdminError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

type AdminResult = Result<Response, AdminError>;

impl AdminError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> AdminError {
        AdminError {
            status,
            code,
            description: description.into(),
        }
    }

    fn invalid(description: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn not_found(description: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    fn unauthorized(description: &str) -> AdminError {
        AdminError::new(StatusCode::UNAUTHORIZED, "unauthorized", description)
    }
}

impl From<SpError> for AdminError {
    fn from(error: SpError) -> AdminError {
        let description = error.to_string();
        match error {
            SpError::UnknownOrganization(_)
            | SpError::UnknownToken(_)
            | SpError::UnknownConnection(_)
            | SpError::UnknownWebhookEndpoint(_) => AdminError::not_found(description),
            SpError::OrganizationHasConnection { .. } | SpError::DomainTaken { .. } => {
                AdminError::new(StatusCode::CONFLICT, "conflict", description)
            }
            SpError::SamlConnection(_)
            | SpError::InvalidConnection(_)
            | SpError::InvalidDomain(_)
            | SpError::InvalidBreakGlassUser(_)
            | SpError::InvalidTeam(_)
            | SpError::InvalidWebhookEndpoint(_) => AdminError::invalid(description),
            _ => {
                tracing::error!(%error, "admin request failed");
                AdminError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the SP failed; the request may not have been carried out",
                )
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(json!({ "error": self.code, "error_description": self.description })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"idpsim-admin\""),
            );
        }
        response
    }
}

/// The longest organization name.
const MAX_NAME_CHARS: usize = 256;

/// The largest request body the admin API reads (as axum's default).
const MAX_ADMIN_BODY: usize = 2 * 1024 * 1024;

/// The routes, under [`ADMIN_PREFIX`], every one behind the admin key.
pub(crate) fn router(admin: Admin) -> Router {
    let organization = "/organizations/{organization}";
    let routes = Router::new()
        .route(
            "/organizations",
            post(create_organization).get(list_organizations),
        )
        .route(
            organization,
            get(get_organization).patch(patch_organization),
        )
        .route(&format!("{organization}/tokens"), post(issue_token))
        .route(&format!("{organization}/tokens/rotate"), post(rotate_token))
        .route(
            &format!("{organization}/connection"),
            get(get_connection)
                .put(put_connection)
                .delete(delete_connection),
        )
        .route(
            &format!("{organization}/domains"),
            get(list_domains).post(add_domain),
        )
        .route(
            &format!("{organization}/domains/{{domain}}"),
            axum::routing::delete(remove_domain),
        )
        .route(
            &format!("{organization}/break-glass"),
            get(list_break_glass).post(add_break_glass),
        )
        .route(
            &format!("{organization}/break-glass/{{username}}"),
            axum::routing::delete(remove_break_glass),
        )
        .route(
            &format!("{organization}/teams"),
            get(list_teams).post(add_team),
        )
        .route(
            &format!("{organization}/teams/{{team}}"),
            axum::routing::delete(remove_team),
        )
        .route(
            &format!("{organization}/webhooks"),
            get(list_webhooks).post(add_webhook),
        )
        .route(
            &format!("{organization}/webhooks/{{endpoint}}"),
            axum::routing::delete(remove_webhook),
        )
        .route(
            &format!("{organization}/directory/users"),
            get(directory_users),
        )
        .route(
            &format!("{organization}/directory/groups"),
            get(directory_groups),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(admin.clone(), authenticate))
        // A declared length over the limit is refused before the body is awaited.
        .layer(RequestBodyLimitLayer::new(MAX_ADMIN_BODY))
        .layer(middleware::map_response(json_errors))
        .with_state(admin);
    Router::new()
        .nest(ADMIN_PREFIX, routes)
        // `nest` leaves the prefix with a trailing slash to the next router (the SCIM API's).
        .route(&format!("{ADMIN_PREFIX}/"), axum::routing::any(not_found))
}

/// The framework's own refusals (a body, query or path it cannot read) are plain text; the
/// admin API answers every error as its JSON error.
async fn json_errors(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let status = response.status();
    if !status.is_client_error() || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
        StatusCode::NOT_FOUND => "not_found",
        _ => "invalid_request",
    };
    let description = if text.is_empty() {
        status.canonical_reason().unwrap_or("refused").to_owned()
    } else {
        text
    };
    AdminError::new(status, code, description).into_response()
}

async fn not_found() -> AdminError {
    AdminError::not_found(format!(
        "no such endpoint of the admin API ({ADMIN_PREFIX})"
    ))
}

async fn method_not_allowed() -> AdminError {
    AdminError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not support the method",
    )
}

/// Lets a request through only with the admin key (also guards the matching report, `report`).
pub(crate) async fn authenticate(
    State(admin): State<Admin>,
    request: Request,
    next: Next,
) -> Response {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return AdminError::unauthorized(
            "the admin key is required: `Authorization: Bearer <admin key>`",
        )
        .into_response();
    };
    let key = value
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, key)| scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty())
        .map(|(_, key)| key.trim());
    match key {
        Some(key) if admin.accepts(key) => next.run(request).await,
        Some(_) => AdminError::unauthorized("the admin key is not valid").into_response(),
        None => AdminError::unauthorized("the Authorization header must be `Bearer <admin key>`")
            .into_response(),
    }
}

/// The JSON body as `T`; an empty body is `{}`.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, AdminError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|error| AdminError::invalid(format!("the request body is not right: {error}")))
}

fn json_answer(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// The organization's row, or 404.
async fn organization_row(admin: &Admin, id: &str) -> Result<Value, AdminError> {
    let row = sqlx::query(
        "SELECT id, name, created, deletion_policy, session_timeout_minutes, jit_provisioning \
         FROM organizations WHERE id = ?1",
    )
    .bind(id)
    .fetch_optional(admin.0.connections.pool())
    .await
    .map_err(SpError::from)?
    .ok_or_else(|| SpError::UnknownOrganization(id.to_owned()))?;
    let text = |column: &str| -> Result<String, AdminError> {
        Ok(row.try_get(column).map_err(SpError::from)?)
    };
    let minutes: i64 = row
        .try_get("session_timeout_minutes")
        .map_err(SpError::from)?;
    let jit: i64 = row.try_get("jit_provisioning").map_err(SpError::from)?;
    Ok(json!({
        "id": text("id")?,
        "name": text("name")?,
        "created": text("created")?,
        "deletion_policy": text("deletion_policy")?,
        "session_timeout_minutes": minutes,
        "jit": jit != 0,
    }))
}

/// 404 unless the organization exists.
async fn ensure_organization(admin: &Admin, id: &str) -> Result<(), AdminError> {
    if connections::organization_exists(admin.0.connections.pool(), id).await? {
        Ok(())
    } else {
        Err(SpError::UnknownOrganization(id.to_owned()).into())
    }
}

/// A connection as the admin API shows it, with the SP's URLs to register at the IdP.
fn connection_json(admin: &Admin, stored: &StoredConnection) -> Value {
    let connection = &stored.connection;
    let connections = &admin.0.connections;
    let id = connection.id();
    let sp = match connection.protocol() {
        Protocol::Oidc => json!({ "redirect_uri": connections.sso().redirect_uri(id) }),
        Protocol::Saml => json!({
            "entity_id": connections.saml().entity_id(id),
            "acs_url": connections.saml().acs_url(id),
            "slo_url": connections.saml().slo_url(id),
        }),
    };
    json!({
        "id": id,
        "organization_id": connection.organization(),
        "protocol": connection.protocol().as_str(),
        "idp_type": idp_type_name(stored.idp_type),
        "matching": connection.matching().to_string(),
        "settings": connection.settings(false),
        "login_url": format!("{}{}", connections.sso().origin(), connection.login_path()),
        "sp": sp,
        "created": stored.created,
        "updated": stored.updated,
    })
}

/// The organization with its connection and domains.
async fn organization_json(admin: &Admin, id: &str) -> Result<Value, AdminError> {
    let mut organization = organization_row(admin, id).await?;
    let connection = admin
        .0
        .connections
        .of_organization(id)
        .map(|stored| connection_json(admin, &stored));
    if let Some(map) = organization.as_object_mut() {
        map.insert("connection".into(), connection.unwrap_or(Value::Null));
        map.insert("domains".into(), json!(admin.0.connections.domains_of(id)));
    }
    Ok(organization)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrganization {
    name: String,
}

async fn create_organization(State(admin): State<Admin>, bytes: Bytes) -> AdminResult {
    let NewOrganization { name } = body(&bytes)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(AdminError::invalid("`name` must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AdminError::invalid(format!(
            "`name` must be at most {MAX_NAME_CHARS} characters, none of them a control character"
        )));
    }
    let organization = admin.0.tenants.create_organization(name).await?;
    Ok(json_answer(
        StatusCode::CREATED,
        json!({
            "id": organization.id,
            "name": organization.name,
            "scim_token": organization.token,
        }),
    ))
}

async fn list_organizations(State(admin): State<Admin>) -> AdminResult {
    let rows = sqlx::query("SELECT id, name, created FROM organizations ORDER BY created, id")
        .fetch_all(admin.0.connections.pool())
        .await
        .map_err(SpError::from)?;
    let organizations = rows
        .iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let name: String = row.try_get("name")?;
            let created: String = row.try_get("created")?;
            Ok(json!({ "id": id, "name": name, "created": created }))
        })
        .collect::<Result<Vec<Value>, sqlx::Error>>()
        .map_err(SpError::from)?;
    Ok(json_answer(
        StatusCode::OK,
        json!({ "organizations": organizations }),
    ))
}

async fn get_organization(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
) -> AdminResult {
    Ok(json_answer(
        StatusCode::OK,
        organization_json(&admin, &organization).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizationPatch {
    deletion_policy: Option<String>,
    session_timeout_minutes: Option<u32>,
    jit: Option<bool>,
}

async fn patch_organization(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    bytes: Bytes,
) -> AdminResult {
    let patch: OrganizationPatch = body(&bytes)?;
    if patch.deletion_policy.is_none()
        && patch.session_timeout_minutes.is_none()
        && patch.jit.is_none()
    {
        return Err(AdminError::invalid(
            "nothing to change: give `deletion_policy`, `session_timeout_minutes` and/or `jit`",
        ));
    }
    let policy = match patch.deletion_policy.as_deref() {
        None => None,
        Some("delete") => Some(DeletionPolicy::Delete),
        Some("deactivate") => Some(DeletionPolicy::Deactivate),
        Some(other) => {
            return Err(AdminError::invalid(format!(
                "`deletion_policy` must be `delete` or `deactivate`, not `{other}`"
            )));
        }
    };
    if let Some(minutes) = patch.session_timeout_minutes
        && !(1..=MAX_SESSION_MINUTES).contains(&minutes)
    {
        return Err(AdminError::invalid(format!(
            "`session_timeout_minutes` must be from 1 to {MAX_SESSION_MINUTES}, not {minutes}"
        )));
    }
    ensure_organization(&admin, &organization).await?;
    if let Some(policy) = policy {
        admin
            .0
            .tenants
            .set_deletion_policy(&organization, policy)
            .await?;
    }
    if let Some(minutes) = patch.session_timeout_minutes {
        let minutes = i64::from(minutes);
        admin
            .0
            .tenants
            .set_session_timeout(&organization, minutes)
            .await?;
        admin
            .0
            .connections
            .sso()
            .set_session_minutes(&organization, minutes);
    }
    if let Some(jit) = patch.jit {
        admin
            .0
            .connections
            .sso()
            .policies()
            .set_jit(&organization, jit)
            .await?;
    }
    Ok(json_answer(
        StatusCode::OK,
        organization_json(&admin, &organization).await?,
    ))
}

fn role_name(role: TokenRole) -> &'static str {
    match role {
        TokenRole::ReadWrite => "read-write",
        TokenRole::ReadOnly => "read-only",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    role: Option<String>,
}

async fn issue_token(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    bytes: Bytes,
) -> AdminResult {
    let NewToken { role } = body(&bytes)?;
    let role = match role.as_deref() {
        None | Some("read-write") => TokenRole::ReadWrite,
        Some("read-only") => TokenRole::ReadOnly,
        Some(other) => {
            return Err(AdminError::invalid(format!(
                "`role` must be `read-write` or `read-only`, not `{other}`"
            )));
        }
    };
    let token = admin.0.tenants.issue_token(&organization, role).await?;
    Ok(json_answer(
        StatusCode::CREATED,
        json!({ "token": token, "role": role_name(role), "organization_id": organization }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotation {
    old: String,
}

async fn rotate_token(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    bytes: Bytes,
) -> AdminResult {
    let Rotation { old } = body(&bytes)?;
    ensure_organization(&admin, &organization).await?;
    let token = admin.0.tenants.rotate_token(&organization, &old).await?;
    let role = admin
        .0
        .tenants
        .index()
        .authenticate(&token)
        .map_or(TokenRole::ReadWrite, |grant| grant.role);
    Ok(json_answer(
        StatusCode::OK,
        json!({ "token": token, "role": role_name(role), "organization_id": organization }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionRequest {
    id: Option<String>,
    protocol: String,
    idp_type: Option<String>,
    matching: Option<String>,
    settings: Value,
}

async fn put_connection(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    bytes: Bytes,
) -> AdminResult {
    let request: ConnectionRequest = body(&bytes)?;
    let protocol = Protocol::parse(&request.protocol).ok_or_else(|| {
        AdminError::invalid(format!(
            "`protocol` must be `oidc` or `saml`, not `{}`",
            request.protocol
        ))
    })?;
    let idp_type = match request.idp_type.as_deref() {
        None => crate::matching::IdpType::Generic,
        Some(name) => parse_idp_type(name).map_err(AdminError::invalid)?,
    };
    let matching = match request.matching.as_deref() {
        None => MatchingStrategy::default_for(idp_type),
        Some(name) => name
            .parse::<MatchingStrategy>()
            .map_err(|error| AdminError::invalid(format!("`matching`: {error}")))?,
    };
    ensure_organization(&admin, &organization).await?;
    let connections = &admin.0.connections;
    let current = connections.of_organization(&organization);
    let id = match (request.id, &current) {
        (Some(id), _) => {
            if let Some(other) = connections.get(&id)
                && let Some(owner) = other.connection.organization()
                && owner != organization
            {
                return Err(AdminError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!("the SSO connection `{id}` belongs to organization `{owner}`"),
                ));
            }
            id
        }
        (None, Some(current)) => current.connection.id().to_owned(),
        (None, None) => format!("conn_{}", uuid::Uuid::now_v7().simple()),
    };
    let connection = Connection::from_settings(
        protocol,
        &id,
        Some(organization.clone()),
        matching,
        &request.settings,
    )?;
    let created = connections.put(connection, Some(idp_type)).await?;
    let stored = connections
        .get(&id)
        .ok_or_else(|| SpError::UnknownConnection(id.clone()))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_answer(status, connection_json(&admin, &stored)))
}

async fn get_connection(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
) -> AdminResult {
    ensure_organization(&admin, &organization).await?;
    let stored = admin
        .0
        .connections
        .of_organization(&organization)
        .ok_or_else(|| {
            AdminError::not_found(format!(
                "the organization `{organization}` has no SSO connection"
            ))
        })?;
    Ok(json_answer(
        StatusCode::OK,
        connection_json(&admin, &stored),
    ))
}

async fn delete_connection(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
) -> AdminResult {
    ensure_organization(&admin, &organization).await?;
    let connections = &admin.0.connections;
    let no_connection = || {
        AdminError::not_found(format!(
            "the organization `{organization}` has no SSO connection"
        ))
    };
    let id = connections
        .of_organization(&organization)
        .map(|stored| stored.connection.id().to_owned())
        .ok_or_else(no_connection)?;
    connections.remove(&id).await?.ok_or_else(no_connection)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDomain {
    domain: String,
}

async fn add_domain(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    bytes: Bytes,
) -> AdminResult {
    let NewDomain { domain } = body(&bytes)?;
    let (domain, created) = admin
        .0
        .connections
        .add_domain(&organization, &domain)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_answer(
        status,
        json!({ "domain": domain, "organization_id": organization }),
    ))
}

async fn list_domains(State(admin): State<Admin>, Path(organization): Path<String>) -> AdminResult {
    ensure_organization(&admin, &organization).await?;
    Ok(json_answer(
        StatusCode::OK,
        json!({ "domains": admin.0.connections.domains_of(&organization) }),
    ))
}

async fn remove_domain(
    State(admin): State<Admin>,
    Path((organization, domain)): Path<(String, String)>,
) -> AdminResult {
    ensure_organization(&admin, &organization).await?;
    if admin
        .0
        .connections
        .remove_domain(&organization, &domain)
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminError::not_found(format!(
            "the organization `{organization}` has no domain `{domain}`"
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBreakGlassUser {
    username: String,
    password: String,
}

async fn add_break_glass(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    bytes: Bytes,
) -> AdminResult {
    let NewBreakGlassUser { username, password } = body(&bytes)?;
    let (username, created) = admin
        .0
        .break_glass
        .add(&organization, &username, &password)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_answer(
        status,
        json!({ "username": username, "organization_id": organization }),
    ))
}

async fn list_break_glass(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
) -> AdminResult {
    ensure_organization(&admin, &organization).await?;
    let users = admin.0.break_glass.list(&organization).await?;
    Ok(json_answer(StatusCode::OK, json!({ "users": users })))
}

async fn remove_break_glass(
    State(admin): State<Admin>,
    Path((organization, username)): Path<(String, String)>,
) -> AdminResult {
    ensure_organization(&admin, &organization).await?;
    if admin.0.break_glass.remove(&organization, &username).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminError::not_found(format!(
            "the organization `{organization}` has no break-glass user `{username}`"
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    name: String,
    idp_group: String,
}

async fn add_team(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    bytes: Bytes,
) -> AdminResult {
    let NewTeam { name, idp_group } = body(&bytes)?;
    let (team, created) = admin
        .0
        .connections
        .sso()
        .policies()
        .add_team(&organization, &name, &idp_group)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_answer(
        status,
        json!({ "name": team.name, "idp_group": team.idp_group, "organization_id": organization }),
    ))
}

async fn list_teams(State(admin): State<Admin>, Path(organization): Path<String>) -> AdminResult {
    let teams = admin
        .0
        .connections
        .sso()
        .policies()
        .teams(&organization)
        .await?;
    Ok(json_answer(StatusCode::OK, json!({ "teams": teams })))
}

async fn remove_team(
    State(admin): State<Admin>,
    Path((organization, team)): Path<(String, String)>,
) -> AdminResult {
    let removed = admin
        .0
        .connections
        .sso()
        .policies()
        .remove_team(&organization, &team)
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminError::not_found(format!(
            "the organization `{organization}` has no team `{team}`"
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    url: String,
    #[serde(default)]
    events: Vec<String>,
}

async fn add_webhook(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    bytes: Bytes,
) -> AdminResult {
    let NewWebhook { url, events } = body(&bytes)?;
    ensure_organization(&admin, &organization).await?;
    let wanted: Vec<&str> = events.iter().map(String::as_str).collect();
    let endpoint = admin
        .0
        .webhooks
        .add_endpoint(admin.0.store.pool(), &organization, &url, &wanted)
        .await?;
    Ok(json_answer(
        StatusCode::CREATED,
        json!({
            "id": endpoint.id,
            "secret": endpoint.secret,
            "url": url,
            "events": endpoint.events,
            "organization_id": organization,
        }),
    ))
}

async fn list_webhooks(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
) -> AdminResult {
    ensure_organization(&admin, &organization).await?;
    let endpoints: Vec<Value> = admin
        .0
        .webhooks
        .endpoints(&organization)
        .into_iter()
        .map(
            |endpoint| json!({ "id": endpoint.id, "url": endpoint.url, "events": endpoint.events }),
        )
        .collect();
    Ok(json_answer(
        StatusCode::OK,
        json!({ "webhooks": endpoints }),
    ))
}

async fn remove_webhook(
    State(admin): State<Admin>,
    Path((organization, endpoint)): Path<(String, String)>,
) -> AdminResult {
    ensure_organization(&admin, &organization).await?;
    let owned = admin
        .0
        .webhooks
        .endpoints(&organization)
        .iter()
        .any(|candidate| candidate.id == endpoint);
    if !owned {
        return Err(AdminError::not_found(format!(
            "the organization `{organization}` has no webhook endpoint `{endpoint}`"
        )));
    }
    admin
        .0
        .webhooks
        .remove_endpoint(admin.0.store.pool(), &endpoint)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `?page_size=&page_token=`.
#[derive(Deserialize)]
struct PageQuery {
    page_size: Option<String>,
    page_token: Option<String>,
}

async fn directory_page(
    admin: &Admin,
    organization: &str,
    resource_type: ResourceType,
    query: &PageQuery,
) -> AdminResult {
    let request = PageRequest::parse(
        resource_type,
        organization,
        query.page_size.as_deref(),
        query.page_token.as_deref(),
    )
    .map_err(AdminError::invalid)?;
    ensure_organization(admin, organization).await?;
    let data = admin.0.store.organization(organization);
    Ok(json_answer(
        StatusCode::OK,
        directory::list(&data, resource_type, &request),
    ))
}

async fn directory_users(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    Query(query): Query<PageQuery>,
) -> AdminResult {
    directory_page(&admin, &organization, ResourceType::User, &query).await
}

async fn directory_groups(
    State(admin): State<Admin>,
    Path(organization): Path<String>,
    Query(query): Query<PageQuery>,
) -> AdminResult {
    directory_page(&admin, &organization, ResourceType::Group, &query).await
}
