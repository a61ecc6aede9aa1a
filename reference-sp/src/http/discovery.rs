//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4). Read-only: any
//! other method is 405. The query parameters of §3.4.2 are ignored, but a `filter` is refused
//! with 403, as §4 asks, "to ensure that clients cannot incorrectly assume that any matching
//! conditions specified in a filter are true".

use super::auth::Tenant;
use super::{AppState, FEATURES, ResourceId, scim_json};
use crate::error::{ApiError, ApiResult};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use idpsim_scim::{ScimError, discovery};
use serde::Deserialize;

/// The one query parameter a discovery endpoint looks at.
#[derive(Deserialize)]
pub(crate) struct DiscoveryParams {
    filter: Option<String>,
}

/// The query string; one that cannot be read is ignored, as its parameters would be.
type DiscoveryQuery = Result<Query<DiscoveryParams>, QueryRejection>;

fn refuse_filter(query: DiscoveryQuery) -> ApiResult<()> {
    match query {
        Ok(Query(DiscoveryParams { filter: Some(_) })) => Err(ApiError(ScimError::Forbidden(
            "discovery endpoints cannot be filtered (RFC 7644 §4); ask without `filter`".into(),
        ))),
        _ => Ok(()),
    }
}

pub(crate) async fn service_provider_config(
    State(state): State<AppState>,
    _: Tenant,
    query: DiscoveryQuery,
) -> ApiResult<Response> {
    refuse_filter(query)?;
    Ok(scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(&FEATURES, &state.base_url),
    ))
}

pub(crate) async fn resource_types(
    State(state): State<AppState>,
    _: Tenant,
    query: DiscoveryQuery,
) -> ApiResult<Response> {
    refuse_filter(query)?;
    Ok(scim_json(
        StatusCode::OK,
        &discovery::resource_types_list(&state.base_url),
    ))
}

pub(crate) async fn resource_type(
    State(state): State<AppState>,
    _: Tenant,
    ResourceId(name): ResourceId,
    query: DiscoveryQuery,
) -> ApiResult<Response> {
    refuse_filter(query)?;
    discovery::resource_type_document(&name, &state.base_url)
        .map(|document| scim_json(StatusCode::OK, &document))
        .ok_or_else(|| ApiError(ScimError::NotFound(format!("no resource type `{name}`"))))
}

pub(crate) async fn schemas(
    State(state): State<AppState>,
    _: Tenant,
    query: DiscoveryQuery,
) -> ApiResult<Response> {
    refuse_filter(query)?;
    Ok(scim_json(
        StatusCode::OK,
        &discovery::schemas_list(&state.base_url),
    ))
}

pub(crate) async fn schema(
    State(state): State<AppState>,
    _: Tenant,
    ResourceId(id): ResourceId,
    query: DiscoveryQuery,
) -> ApiResult<Response> {
    refuse_filter(query)?;
    discovery::schema_document(&id, &state.base_url)
        .map(|document| scim_json(StatusCode::OK, &document))
        .ok_or_else(|| ApiError(ScimError::NotFound(format!("no schema `{id}`"))))
}
