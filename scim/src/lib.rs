//! SCIM 2.0 protocol core (RFC 7643, RFC 7644): schemas, resources, filters, PATCH,
//! projection, sorting and the error model.
//!
//! Pure library: no HTTP framework and no storage. The reference SP's server and the
//! simulator's provisioning client both build on it.
//!
//! # Layout
//! - [`error`]: [`ScimError`], mapping to RFC 7644 §3.12 error responses.
//! - [`schema`]: attribute definitions, resource types, path resolution.
//! - [`path`]: attribute paths (`urn:...:User:name.givenName`).
//! - [`filter`]: the filter grammar of RFC 7644 §3.4.2.2, parsing, printing, evaluation.
//! - [`resource`]: validation of POST/PUT bodies into the canonical stored form.
//! - [`patch`]: PATCH requests (RFC 7644 §3.5.2), applied atomically.
//! - [`projection`], [`sort`], [`list`]: list queries, paging and `ListResponse`.
//! - [`discovery`]: `ServiceProviderConfig`, `ResourceTypes`, `Schemas` documents.
//! - [`bulk`]: bulk requests (RFC 7644 §3.7).
//! - [`compact`]: compact JSON text of resources, for holding many in memory.

pub mod bulk;
pub mod compact;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod sort;
pub mod uri;

pub use error::{ScimError, ScimResult};
pub use patch::{PatchOp, PatchOperation, PatchPath, PatchRequest, apply_patch};
pub use path::AttrPath;
pub use resource::{prepare_write, refresh_schemas};
pub use schema::ResourceSchema;
