//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4). Read-only: any
//! other method is 405.

use super::auth::Tenant;
use super::{AppState, FEATURES, scim_json};
use crate::error::{ApiError, ApiResult};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use idpsim_scim::{ScimError, discovery};

pub(crate) async fn service_provider_config(State(state): State<AppState>, _: Tenant) -> Response {
    scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(&FEATURES, &state.base_url),
    )
}

pub(crate) async fn resource_types(State(state): State<AppState>, _: Tenant) -> Response {
    scim_json(
        StatusCode::OK,
        &discovery::resource_types_list(&state.base_url),
    )
}

pub(crate) async fn resource_type(
    State(state): State<AppState>,
    _: Tenant,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    discovery::resource_type_document(&name, &state.base_url)
        .map(|document| scim_json(StatusCode::OK, &document))
        .ok_or_else(|| ApiError(ScimError::NotFound(format!("no resource type `{name}`"))))
}

pub(crate) async fn schemas(State(state): State<AppState>, _: Tenant) -> Response {
    scim_json(StatusCode::OK, &discovery::schemas_list(&state.base_url))
}

pub(crate) async fn schema(
    State(state): State<AppState>,
    _: Tenant,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    discovery::schema_document(&id, &state.base_url)
        .map(|document| scim_json(StatusCode::OK, &document))
        .ok_or_else(|| ApiError(ScimError::NotFound(format!("no schema `{id}`"))))
}
