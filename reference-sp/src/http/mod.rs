//! The SCIM HTTP API under `/scim/v2` (RFC 7644 §3).

mod auth;
mod bulk;
mod discovery;
mod resources;

use crate::error::ApiError;
use crate::store::{OrganizationData, ResourceType, Store, StoredResource};
use crate::tenants::TokenIndex;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use idpsim_scim::ScimError;
use idpsim_scim::discovery::ServiceProviderFeatures;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The media type of SCIM messages (RFC 7644 §3.1).
pub(crate) const SCIM_MEDIA_TYPE: &str = "application/scim+json";
/// The path the SCIM API is served under.
pub(crate) const SCIM_PREFIX: &str = "/scim/v2";
/// The largest request body accepted, and the advertised bulk `maxPayloadSize`.
const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// The limits the SP enforces and advertises in `/ServiceProviderConfig`.
pub(crate) const FEATURES: ServiceProviderFeatures = ServiceProviderFeatures {
    max_results: 200,
    bulk_max_operations: 1000,
    bulk_max_payload_size: MAX_PAYLOAD_BYTES,
    // Users sign in through SSO; a password a client sets is checked, then forgotten.
    change_password: false,
};

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

pub(crate) struct Shared {
    store: Store,
    tokens: Arc<TokenIndex>,
    base_url: String,
}

impl AppState {
    /// State for a server whose SCIM base URL is `base_url`.
    pub(crate) fn new(store: Store, tokens: Arc<TokenIndex>, base_url: String) -> AppState {
        AppState(Arc::new(Shared {
            store,
            tokens,
            base_url,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole HTTP application.
pub(crate) fn router(state: AppState) -> Router {
    let scim = Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{name}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/Users", get(resources::list).post(resources::create))
        .route("/Groups", get(resources::list).post(resources::create))
        .route("/Users/.search", post(resources::search))
        .route("/Groups/.search", post(resources::search))
        .route(
            "/Users/{id}",
            get(resources::fetch)
                .put(resources::replace)
                .patch(resources::patch)
                .delete(resources::delete),
        )
        .route(
            "/Groups/{id}",
            get(resources::fetch)
                .put(resources::replace)
                .patch(resources::patch)
                .delete(resources::delete),
        )
        .route("/.search", post(resources::search_all))
        .route("/Bulk", post(bulk::bulk))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found);
    Router::new()
        .nest(SCIM_PREFIX, scim)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError(ScimError::NotFound(format!(
        "no such endpoint; the SCIM API is under {SCIM_PREFIX}"
    )))
}

async fn method_not_allowed() -> ApiError {
    ApiError(ScimError::MethodNotAllowed(
        "this endpoint does not support the method".into(),
    ))
}

/// A JSON body as `application/scim+json`.
pub(crate) fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_MEDIA_TYPE),
    );
    response
}

/// The resource type an endpoint serves, read from the first path segment (`/Users/...`).
pub(crate) struct Endpoint(pub(crate) ResourceType);

impl<S: Send + Sync> FromRequestParts<S> for Endpoint {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Endpoint, ApiError> {
        let segment = parts
            .uri
            .path()
            .trim_start_matches(SCIM_PREFIX)
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        ResourceType::from_segment(segment)
            .map(Endpoint)
            .ok_or_else(|| ApiError(ScimError::NotFound(format!("no endpoint `/{segment}`"))))
    }
}

/// The id (or name) in a resource's URL, `/Users/{id}`. One that is not UTF-8 names no
/// resource: a SCIM 404, not the framework's plain-text rejection.
pub(crate) struct ResourceId(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ResourceId, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(ResourceId(id)),
            Err(rejection) => Err(ApiError(ScimError::NotFound(format!(
                "`{}` names nothing here: {}",
                parts.uri.path(),
                rejection.body_text()
            )))),
        }
    }
}

/// A request body parsed as JSON: too large is 413, not JSON is `invalidSyntax`.
pub(crate) struct ScimBody(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<ScimBody, ApiError> {
        // A declared length over the limit is refused before any of the body is awaited.
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > MAX_PAYLOAD_BYTES as u64) {
            return Err(ApiError(ScimError::PayloadTooLarge(format!(
                "the request body is larger than {MAX_PAYLOAD_BYTES} bytes"
            ))));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ScimError::PayloadTooLarge(format!(
                        "the request body is larger than {MAX_PAYLOAD_BYTES} bytes"
                    ))
                } else {
                    ScimError::InvalidSyntax(format!(
                        "the request body cannot be read: {rejection}"
                    ))
                }
            })?;
        serde_json::from_slice(&bytes).map(ScimBody).map_err(|err| {
            ApiError(ScimError::InvalidSyntax(format!(
                "the request body is not valid JSON: {err}"
            )))
        })
    }
}

impl Shared {
    /// The resource as a client sees it (see [`render`]).
    pub(crate) fn render(&self, resource: &StoredResource, data: &OrganizationData) -> Value {
        render(resource, data, &self.base_url)
    }
}

/// The resource as a client of the SCIM API at `base_url` sees it: `schemas`, `id`, the
/// stored attributes, a User's computed `groups`, each Group member's `type`, `display` and
/// `$ref`, and `meta` (RFC 7643 §3.1, §4.1.2, §4.2).
pub(crate) fn render(resource: &StoredResource, data: &OrganizationData, base_url: &str) -> Value {
    let mut body = resource.body();
    let mut rendered = Map::with_capacity(body.len() + 3);
    if let Some(schemas) = body.shift_remove("schemas") {
        rendered.insert("schemas".into(), schemas);
    }
    rendered.insert("id".into(), Value::String(resource.id.to_string()));
    for (name, value) in body {
        match value {
            Value::Array(listed) if name == "members" => {
                let listed = listed
                    .into_iter()
                    .map(|member| render_member(member, data, base_url))
                    .collect();
                rendered.insert(name, Value::Array(listed));
            }
            value => {
                rendered.insert(name, value);
            }
        }
    }
    let groups = data.groups_of(&resource.id);
    if resource.resource_type == ResourceType::User && !groups.is_empty() {
        let groups: Vec<Value> = groups
            .iter()
            .map(|group_id| {
                let mut entry = Map::new();
                entry.insert("value".into(), json!(group_id.as_ref()));
                entry.insert(
                    "$ref".into(),
                    json!(format!("{base_url}/Groups/{group_id}")),
                );
                if let Some(display) = data
                    .get(ResourceType::Group, group_id)
                    .and_then(|group| display_name(group))
                {
                    entry.insert("display".into(), json!(display));
                }
                entry.insert("type".into(), json!("direct"));
                Value::Object(entry)
            })
            .collect();
        rendered.insert("groups".into(), Value::Array(groups));
    }
    rendered.insert(
        "meta".into(),
        json!({
            "resourceType": resource.resource_type.name(),
            "created": resource.created,
            "lastModified": resource.last_modified,
            "location": resource.location(base_url),
            "version": data.etag(resource),
        }),
    );
    Value::Object(rendered)
}

/// A member as stored, with its current `type`, `display` and `$ref`.
fn render_member(mut member: Value, data: &OrganizationData, base_url: &str) -> Value {
    let found = member
        .get("value")
        .and_then(Value::as_str)
        .and_then(|id| data.get_any(id));
    if let (Some(map), Some(found)) = (member.as_object_mut(), found) {
        map.insert("$ref".into(), json!(found.location(base_url)));
        map.insert("type".into(), json!(found.resource_type.name()));
        if let Some(display) = display_name(found) {
            map.insert("display".into(), json!(display));
        }
    }
    member
}

/// The name shown for a resource in member and group lists: its displayName, or a user's
/// userName when it has none.
fn display_name(resource: &StoredResource) -> Option<&str> {
    resource.display_name()
}
