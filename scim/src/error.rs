//! The one error type of the SCIM core, shaped after RFC 7644 §3.12 error responses.

use serde_json::{Value, json};

/// The URN of an RFC 7644 §3.12 error message.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM protocol error: each variant knows its HTTP status and `scimType` (RFC 7644 §3.12).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// The filter syntax is invalid, or the attribute/operator combination is not supported.
    #[error("invalid filter at position {position}: expected {expected}")]
    InvalidFilter {
        /// Zero-based character offset in the filter text where parsing failed.
        position: usize,
        /// What the parser expected there, in words.
        expected: String,
    },
    /// A filter that parses but cannot be evaluated (unknown attribute, operator not valid for a type).
    #[error("unsupported filter: {0}")]
    UnsupportedFilter(String),
    /// A PATCH `path` (or a filter attribute path) that is malformed or names nothing.
    #[error("invalid path `{path}`: {reason}")]
    InvalidPath {
        /// The path as the client sent it.
        path: String,
        /// Why it was refused.
        reason: String,
    },
    /// A value of the wrong type, a missing required attribute, or a value out of range.
    #[error("{0}")]
    InvalidValue(String),
    /// The request body does not follow the SCIM message schema (bad JSON, missing `schemas`, ...).
    #[error("{0}")]
    InvalidSyntax(String),
    /// An attempt to modify a `readOnly` or an already set `immutable` attribute.
    #[error("attribute `{attribute}` is {mutability} and cannot be modified")]
    Mutability {
        /// The attribute the client tried to change.
        attribute: String,
        /// `readOnly` or `immutable`.
        mutability: String,
    },
    /// The request conflicts with the state of the resources, as circular bulkId references
    /// that could not be resolved do (RFC 7644 §3.7.1: 409).
    #[error("{0}")]
    Conflict(String),
    /// A value that must be unique is already taken (RFC 7644 §3.3: 409).
    #[error("{0}")]
    Uniqueness(String),
    /// A PATCH path with a value filter that matched nothing (RFC 7644 §3.5.2.3).
    #[error("{0}")]
    NoTarget(String),
    /// The request would return or touch more resources than the server allows.
    #[error("{0}")]
    TooMany(String),
    /// The resource or endpoint does not exist.
    #[error("{0}")]
    NotFound(String),
    /// `If-Match` named a version that is no longer current (RFC 7644 §3.14).
    #[error("{0}")]
    PreconditionFailed(String),
    /// No credentials, or credentials that are not valid.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials without the right to perform the operation.
    #[error("{0}")]
    Forbidden(String),
    /// The HTTP method is not supported on this endpoint.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A feature the server does not implement.
    #[error("{0}")]
    NotImplemented(String),
    /// A server-side failure not caused by the request.
    #[error("{0}")]
    Internal(String),
}

impl ScimError {
    /// The HTTP status code that carries this error.
    pub fn status(&self) -> u16 {
        match self {
            ScimError::InvalidFilter { .. }
            | ScimError::UnsupportedFilter(_)
            | ScimError::InvalidPath { .. }
            | ScimError::InvalidValue(_)
            | ScimError::InvalidSyntax(_)
            | ScimError::Mutability { .. }
            | ScimError::NoTarget(_)
            | ScimError::TooMany(_) => 400,
            ScimError::Unauthorized(_) => 401,
            ScimError::Forbidden(_) => 403,
            ScimError::NotFound(_) => 404,
            ScimError::MethodNotAllowed(_) => 405,
            ScimError::Uniqueness(_) | ScimError::Conflict(_) => 409,
            ScimError::PreconditionFailed(_) => 412,
            ScimError::PayloadTooLarge(_) => 413,
            ScimError::Internal(_) => 500,
            ScimError::NotImplemented(_) => 501,
        }
    }

    /// The RFC 7644 §3.12 `scimType` keyword, for the errors that have one.
    pub fn scim_type(&self) -> Option<&'static str> {
        match self {
            ScimError::InvalidFilter { .. } | ScimError::UnsupportedFilter(_) => {
                Some("invalidFilter")
            }
            ScimError::InvalidPath { .. } => Some("invalidPath"),
            ScimError::InvalidValue(_) => Some("invalidValue"),
            ScimError::InvalidSyntax(_) => Some("invalidSyntax"),
            ScimError::Mutability { .. } => Some("mutability"),
            ScimError::Uniqueness(_) => Some("uniqueness"),
            ScimError::NoTarget(_) => Some("noTarget"),
            ScimError::TooMany(_) => Some("tooMany"),
            _ => None,
        }
    }

    /// The error as an RFC 7644 §3.12 JSON body (`status` is a string, as the RFC's examples show).
    pub fn to_body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status().to_string(),
            "detail": self.to_string(),
        });
        if let (Some(scim_type), Some(map)) = (self.scim_type(), body.as_object_mut()) {
            map.insert("scimType".into(), Value::String(scim_type.into()));
        }
        body
    }
}

/// Result alias for the SCIM core.
pub type ScimResult<T> = Result<T, ScimError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniqueness_is_409_with_scim_type() {
        let body = ScimError::Uniqueness("userName `a` is taken".into()).to_body();
        assert_eq!(body["status"], "409");
        assert_eq!(body["scimType"], "uniqueness");
        assert_eq!(body["detail"], "userName `a` is taken");
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
    }

    #[test]
    fn not_found_has_no_scim_type() {
        let body = ScimError::NotFound("no such user".into()).to_body();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }

    #[test]
    fn invalid_filter_says_where() {
        let err = ScimError::InvalidFilter {
            position: 9,
            expected: "a comparison operator".into(),
        };
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.to_string(),
            "invalid filter at position 9: expected a comparison operator"
        );
    }
}
