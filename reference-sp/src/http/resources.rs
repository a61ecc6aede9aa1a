//! `/Users` and `/Groups`: list, search, get, create, replace, patch, delete
//! (RFC 7644 §3.3-§3.6, §3.14).

use super::auth::Tenant;
use super::{AppState, Endpoint, FEATURES, ResourceId, ScimBody, Shared, scim_json};
use crate::error::{ApiError, ApiResult};
use crate::store::{
    Mutation, Narrowing, OrganizationData, Outcome, ResourceType, StoredResource, etag_matches,
};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idpsim_scim::filter::{CompValue, CompareOp, Filter};
use idpsim_scim::list::{ListParams, ListQuery, list_response};
use idpsim_scim::projection::Projection;
use idpsim_scim::{AttrPath, PatchRequest, ScimError};
use serde_json::Map;

/// The query-string parameters, or `invalidValue` when they cannot be read.
type QueryParams = Result<Query<ListParams>, QueryRejection>;

fn read_params(params: QueryParams) -> Result<ListParams, ApiError> {
    params.map(|Query(params)| params).map_err(|rejection| {
        ApiError(ScimError::InvalidValue(format!(
            "the query string cannot be read: {rejection}"
        )))
    })
}

/// `GET /Users` and `GET /Groups` (RFC 7644 §3.4.2).
pub(crate) async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    Endpoint(resource_type): Endpoint,
    params: QueryParams,
) -> ApiResult<Response> {
    let params = read_params(params)?;
    let query = ListQuery::from_params(&params, resource_type.schema(), FEATURES.max_results)?;
    state.answer_list(&tenant, resource_type, &query).await
}

/// `POST /Users/.search` and `POST /Groups/.search` (RFC 7644 §3.4.3).
pub(crate) async fn search(
    State(state): State<AppState>,
    tenant: Tenant,
    Endpoint(resource_type): Endpoint,
    ScimBody(body): ScimBody,
) -> ApiResult<Response> {
    let query =
        ListQuery::from_search_request(&body, resource_type.schema(), FEATURES.max_results)?;
    state.answer_list(&tenant, resource_type, &query).await
}

/// `POST /.search` (RFC 7644 §3.4.3): Users and Groups in one result. An attribute only one
/// of the two types has holds no value in the other's resources (RFC 7644 §3.4.2.1).
pub(crate) async fn search_all(
    State(state): State<AppState>,
    tenant: Tenant,
    ScimBody(body): ScimBody,
) -> ApiResult<Response> {
    const TYPES: [ResourceType; 2] = [ResourceType::User, ResourceType::Group];
    let schemas = TYPES.map(ResourceType::schema);
    let queries = ListQuery::from_root_search_request(&body, &schemas, FEATURES.max_results)?;
    let Some(first) = queries.first() else {
        return Err(ApiError(ScimError::Internal(
            "a root search covers no resource type".into(),
        )));
    };
    let data = state.store.organization(&tenant.organization_id);
    let mut matched = Vec::new();
    for (resource_type, query) in TYPES.into_iter().zip(&queries) {
        for resource in &data.select(resource_type, &Narrowing::All) {
            let rendered = state.render(resource, &data);
            let keep = match (&query.filter, rendered.as_object()) {
                (Some(filter), Some(map)) => filter.matches_across(map, resource_type.schema())?,
                _ => true,
            };
            if keep {
                matched.push((resource_type, rendered));
            }
        }
    }
    if let Some(sort) = &first.sort {
        matched.sort_by(|(_, a), (_, b)| sort.compare(a, b));
    }
    let page = matched
        .iter()
        .skip(first.start_index - 1)
        .take(first.count)
        .filter_map(|(resource_type, resource)| {
            TYPES
                .iter()
                .zip(&queries)
                .find(|(candidate, _)| *candidate == resource_type)
                .map(|(_, query)| query.projection.apply(resource, resource_type.schema()))
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(matched.len(), first.start_index, page),
    ))
}

/// `GET /Users/{id}`: 304 when `If-None-Match` names the current version (RFC 7644 §3.14).
pub(crate) async fn fetch(
    State(state): State<AppState>,
    tenant: Tenant,
    Endpoint(resource_type): Endpoint,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    params: QueryParams,
) -> ApiResult<Response> {
    let projection = projection(params, resource_type)?;
    let data = state.store.organization(&tenant.organization_id);
    let resource = data
        .get(resource_type, &id)
        .ok_or_else(|| not_found(resource_type, &id))?;
    let etag = data.etag(resource);
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|wanted| etag_matches(wanted, &etag));
    if cached {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        insert_etag(&mut response, &etag);
        return Ok(response);
    }
    Ok(state.answer_resource(&data, StatusCode::OK, resource, &projection))
}

/// `POST /Users`: 201 with `Location` (RFC 7644 §3.3).
pub(crate) async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    Endpoint(resource_type): Endpoint,
    params: QueryParams,
    ScimBody(body): ScimBody,
) -> ApiResult<Response> {
    tenant.require_write()?;
    let projection = projection(params, resource_type)?;
    let mutation = Mutation::Create {
        resource_type,
        body,
    };
    state
        .write_resource(&tenant, mutation, StatusCode::CREATED, &projection)
        .await
}

/// `PUT /Users/{id}`: full replacement (RFC 7644 §3.5.1).
pub(crate) async fn replace(
    State(state): State<AppState>,
    tenant: Tenant,
    Endpoint(resource_type): Endpoint,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    params: QueryParams,
    ScimBody(body): ScimBody,
) -> ApiResult<Response> {
    tenant.require_write()?;
    let projection = projection(params, resource_type)?;
    let mutation = Mutation::Replace {
        resource_type,
        id,
        body,
        if_match: if_match(&headers),
    };
    state
        .write_resource(&tenant, mutation, StatusCode::OK, &projection)
        .await
}

/// `PATCH /Users/{id}` (RFC 7644 §3.5.2): 200 with the patched resource.
pub(crate) async fn patch(
    State(state): State<AppState>,
    tenant: Tenant,
    Endpoint(resource_type): Endpoint,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    params: QueryParams,
    ScimBody(body): ScimBody,
) -> ApiResult<Response> {
    tenant.require_write()?;
    let projection = projection(params, resource_type)?;
    let mutation = Mutation::Patch {
        resource_type,
        id,
        request: PatchRequest::parse(&body)?,
        if_match: if_match(&headers),
    };
    state
        .write_resource(&tenant, mutation, StatusCode::OK, &projection)
        .await
}

/// `DELETE /Users/{id}`: 204 (RFC 7644 §3.6); a user is only deactivated where the
/// organization's policy says so.
pub(crate) async fn delete(
    State(state): State<AppState>,
    tenant: Tenant,
    Endpoint(resource_type): Endpoint,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    tenant.require_write()?;
    let mutation = Mutation::Delete {
        resource_type,
        id,
        if_match: if_match(&headers),
    };
    state.store.write(tenant.organization_id, mutation).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn projection(params: QueryParams, resource_type: ResourceType) -> Result<Projection, ApiError> {
    let params = read_params(params)?;
    Ok(Projection::parse(
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
        resource_type.schema(),
    )?)
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

fn not_found(resource_type: ResourceType, id: &str) -> ApiError {
    ApiError(ScimError::NotFound(format!(
        "{} `{id}` not found",
        resource_type.name()
    )))
}

fn insert_etag(response: &mut Response, etag: &str) {
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

impl Shared {
    /// Filters, sorts, pages and projects the organization's resources of one type.
    async fn answer_list(
        &self,
        tenant: &Tenant,
        resource_type: ResourceType,
        query: &ListQuery,
    ) -> ApiResult<Response> {
        let schema = resource_type.schema();
        if let Some(filter) = &query.filter {
            // An unknown attribute is an error even when there is nothing to filter.
            filter.matches(&Map::new(), schema)?;
        }
        let narrowing = query
            .filter
            .as_ref()
            .map_or(Narrowing::All, |filter| narrowing(filter, resource_type));
        let data = self.store.organization(&tenant.organization_id);
        let rendered = data
            .select(resource_type, &narrowing)
            .iter()
            .map(|resource| self.render(resource, &data))
            .collect();
        Ok(scim_json(StatusCode::OK, &query.run(rendered, schema)?))
    }

    /// Sends a write to the store and answers with the resource it produced.
    async fn write_resource(
        &self,
        tenant: &Tenant,
        mutation: Mutation,
        status: StatusCode,
        projection: &Projection,
    ) -> ApiResult<Response> {
        match self
            .store
            .write(tenant.organization_id.clone(), mutation)
            .await?
        {
            Outcome::Resource(resource) => {
                let data = self.store.organization(&tenant.organization_id);
                Ok(self.answer_resource(&data, status, &resource, projection))
            }
            Outcome::Deleted | Outcome::Bulk(_) => Err(ApiError(ScimError::Internal(
                "the store did not answer with a resource".into(),
            ))),
        }
    }

    /// One resource, projected, with its `ETag` (and `Location` when it was just created).
    fn answer_resource(
        &self,
        data: &OrganizationData,
        status: StatusCode,
        resource: &StoredResource,
        projection: &Projection,
    ) -> Response {
        let rendered = self.render(resource, data);
        let schema = resource.resource_type.schema();
        let mut response = scim_json(status, &projection.apply(&rendered, schema));
        // The ETag is the rendered `meta.version` (a user's covers its groups).
        if let Some(etag) = rendered["meta"]["version"].as_str() {
            insert_etag(&mut response, etag);
        }
        if status == StatusCode::CREATED
            && let Ok(location) = HeaderValue::from_str(&resource.location(&self.base_url))
        {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

/// The resources a filter can be narrowed to through an index: an `eq` on `id`, a User's
/// `userName` or a Group's `displayName`, alone or in an `and`. The whole filter is
/// still evaluated on what the index returns, so this only has to select a superset.
fn narrowing(filter: &Filter, resource_type: ResourceType) -> Narrowing {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(text),
        } => indexed(path, resource_type, text).unwrap_or(Narrowing::All),
        Filter::And(left, right) => match narrowing(left, resource_type) {
            Narrowing::All => narrowing(right, resource_type),
            narrowed => narrowed,
        },
        _ => Narrowing::All,
    }
}

fn indexed(path: &AttrPath, resource_type: ResourceType, text: &str) -> Option<Narrowing> {
    let core = &resource_type.schema().core.id;
    let in_core = path
        .schema
        .as_deref()
        .is_none_or(|urn| urn.eq_ignore_ascii_case(core));
    if !in_core || path.sub_attribute.is_some() {
        return None;
    }
    let name = path.name.to_ascii_lowercase();
    match (name.as_str(), resource_type) {
        ("id", _) => Some(Narrowing::Id(text.to_owned())),
        ("username", ResourceType::User) | ("displayname", ResourceType::Group) => {
            Some(Narrowing::UniqueName(text.to_owned()))
        }
        _ => None,
    }
}
