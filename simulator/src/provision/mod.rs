//! The SCIM provisioning client.

pub mod request;
