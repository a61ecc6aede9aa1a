//! `POST /Bulk` (RFC 7644 §3.7).

use super::auth::Tenant;
use super::{AppState, FEATURES, ScimBody, scim_json};
use crate::error::{ApiError, ApiResult};
use crate::store::{Mutation, Outcome};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use idpsim_scim::ScimError;
use idpsim_scim::bulk::{BulkRequest, bulk_response};

pub(crate) async fn bulk(
    State(state): State<AppState>,
    tenant: Tenant,
    ScimBody(body): ScimBody,
) -> ApiResult<Response> {
    tenant.require_write()?;
    let request = BulkRequest::parse(&body, FEATURES.bulk_max_operations)?;
    match state
        .store
        .write(tenant.organization_id, Mutation::Bulk(request))
        .await?
    {
        Outcome::Bulk(results) => Ok(scim_json(StatusCode::OK, &bulk_response(&results))),
        Outcome::Resource(_) | Outcome::Deleted => Err(ApiError(ScimError::Internal(
            "the store answered a bulk request with a single result".into(),
        ))),
    }
}
