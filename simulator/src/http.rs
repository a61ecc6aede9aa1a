//! What every answer of the simulated IdPs' servers shares.

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest request body an IdP endpoint reads (a SAML or OIDC form is a few KiB).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// `router` with the layers every IdP server has: no page can be framed by another site
/// (clickjacking of the sign-in pages' buttons): `X-Frame-Options: DENY` and, for browsers
/// that read only CSP, `frame-ancestors 'none'`; a body over 2 MiB is refused with 413, at
/// once when its `Content-Length` says so.
pub fn guarded(router: Router) -> Router {
    router
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
}
