//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4). Read-only: any
//! other method is 405. The query parameters of §3.4.2 are ignored, but a `filter` is refused
//! with 403, as §4 asks, "to ensure that clients cannot incorrectly assume that any matching
//! conditions specified in a filter are true".

use super::auth::Tenant;
use super::{AppState, FEATURES, ResourceId, scim_json};
use crate::error::{ApiError, ApiResult};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use idpsim_scim::{ScimError, discovery};
use serde::Deserialize;

/// The one query parameter a discovery endpoint looks at.
#[derive(Deserialize)]
struct DiscoveryParams {
    filter: Option<String>,
}

/// A discovery request without a `filter` (one with is refused with 403). A query string
/// that cannot be read is ignored, as its parameters would be.
pub(crate) struct Unfiltered;

impl<S: Send + Sync> FromRequestParts<S> for Unfiltered {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Unfiltered, ApiError> {
        match Query::<DiscoveryParams>::from_request_parts(parts, state).await {
            Ok(Query(DiscoveryParams { filter: Some(_) })) => Err(ApiError(ScimError::Forbidden(
                "discovery endpoints cannot be filtered (RFC 7644 §4); ask without `filter`".into(),
            ))),
            _ => Ok(Unfiltered),
        }
    }
}

pub(crate) async fn service_provider_config(
    State(state): State<AppState>,
    _: Tenant,
    _: Unfiltered,
) -> Response {
    scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(&FEATURES, &state.base_url),
    )
}

pub(crate) async fn resource_types(
    State(state): State<AppState>,
    _: Tenant,
    _: Unfiltered,
) -> Response {
    scim_json(
        StatusCode::OK,
        &discovery::resource_types_list(&state.base_url),
    )
}

pub(crate) async fn resource_type(
    State(state): State<AppState>,
    _: Tenant,
    _: Unfiltered,
    ResourceId(name): ResourceId,
) -> ApiResult<Response> {
    discovery::resource_type_document(&name, &state.base_url)
        .map(|document| scim_json(StatusCode::OK, &document))
        .ok_or_else(|| ApiError(ScimError::NotFound(format!("no resource type `{name}`"))))
}

pub(crate) async fn schemas(State(state): State<AppState>, _: Tenant, _: Unfiltered) -> Response {
    scim_json(StatusCode::OK, &discovery::schemas_list(&state.base_url))
}

pub(crate) async fn schema(
    State(state): State<AppState>,
    _: Tenant,
    _: Unfiltered,
    ResourceId(id): ResourceId,
) -> ApiResult<Response> {
    discovery::schema_document(&id, &state.base_url)
        .map(|document| scim_json(StatusCode::OK, &document))
        .ok_or_else(|| ApiError(ScimError::NotFound(format!("no schema `{id}`"))))
}
