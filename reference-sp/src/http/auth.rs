//! Bearer-token authentication (RFC 7644 §2, RFC 6750).

use super::AppState;
use crate::error::ApiError;
use crate::tenants::TokenRole;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use idpsim_scim::ScimError;
use std::sync::Arc;

/// The organization a request's bearer token speaks for.
pub(crate) struct Tenant {
    /// The organization whose resources the request sees.
    pub(crate) organization_id: Arc<str>,
    role: TokenRole,
}

impl Tenant {
    /// Refuses a write made with a read-only token (403: the token is valid, the right is
    /// missing).
    pub(crate) fn require_write(&self) -> Result<(), ApiError> {
        match self.role {
            TokenRole::ReadWrite => Ok(()),
            TokenRole::ReadOnly => Err(ApiError(ScimError::Forbidden(
                "this token is read-only; writes need a read-write token".into(),
            ))),
        }
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Tenant, Response> {
        let unauthorized = |detail: &str| ApiError(ScimError::Unauthorized(detail.into()));
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            unauthorized("a bearer token is required: `Authorization: Bearer <token>`")
                .into_response()
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                unauthorized("the Authorization header must be `Bearer <token>`").into_response()
            })?;
        let grant = state.tokens.authenticate(token).ok_or_else(|| {
            let mut response = unauthorized("the bearer token is not valid").into_response();
            // RFC 6750 §3.1: a token was sent, and it is not one the server accepts.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"idpsim\", error=\"invalid_token\""),
            );
            response
        })?;
        Ok(Tenant {
            organization_id: grant.organization_id,
            role: grant.role,
        })
    }
}
