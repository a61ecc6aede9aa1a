//! Discovery documents: `/ServiceProviderConfig` (RFC 7643 §5), `/ResourceTypes` (§6) and
//! `/Schemas` (§7), generated from the same schema data the server enforces.

use crate::list::list_response;
use crate::schema::{ResourceSchema, all_schemas};
use serde_json::{Value, json};

/// The capabilities and limits a server advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceProviderFeatures {
    /// `filter.maxResults`: the largest page a list request returns.
    pub max_results: usize,
    /// `bulk.maxOperations`.
    pub bulk_max_operations: usize,
    /// `bulk.maxPayloadSize` in bytes.
    pub bulk_max_payload_size: usize,
    /// `changePassword.supported`: whether a password a client sets is kept and used.
    pub change_password: bool,
}

/// The `/ServiceProviderConfig` document (RFC 7643 §5).
pub fn service_provider_config(features: &ServiceProviderFeatures, base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": features.bulk_max_operations,
            "maxPayloadSize": features.bulk_max_payload_size,
        },
        "filter": {"supported": true, "maxResults": features.max_results},
        "changePassword": {"supported": features.change_password},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a per-organization bearer token (RFC 6750).",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        },
    })
}

/// `/Schemas` as a `ListResponse` of every schema document.
pub fn schemas_list(base_url: &str) -> Value {
    let schemas: Vec<Value> = all_schemas()
        .iter()
        .map(|schema| schema.to_json(&format!("{base_url}/Schemas/{}", schema.id)))
        .collect();
    list_response(schemas.len(), 1, schemas)
}

/// `/Schemas/{id}`: the schema document with URN `id` (case-insensitive).
pub fn schema_document(id: &str, base_url: &str) -> Option<Value> {
    all_schemas()
        .iter()
        .find(|schema| schema.id.eq_ignore_ascii_case(id))
        .map(|schema| schema.to_json(&format!("{base_url}/Schemas/{}", schema.id)))
}

/// `/ResourceTypes` as a `ListResponse`.
pub fn resource_types_list(base_url: &str) -> Value {
    let types: Vec<Value> = resource_types()
        .iter()
        .map(|rt| rt.resource_type_json(base_url))
        .collect();
    list_response(types.len(), 1, types)
}

/// `/ResourceTypes/{name}`: the resource type called `name` (case-insensitive).
pub fn resource_type_document(name: &str, base_url: &str) -> Option<Value> {
    resource_types()
        .iter()
        .find(|rt| rt.name.eq_ignore_ascii_case(name))
        .map(|rt| rt.resource_type_json(base_url))
}

fn resource_types() -> [&'static ResourceSchema; 2] {
    [ResourceSchema::user(), ResourceSchema::group()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:8080/scim/v2";

    #[test]
    fn service_provider_config_advertises_limits() {
        let doc = service_provider_config(
            &ServiceProviderFeatures {
                max_results: 200,
                bulk_max_operations: 1000,
                bulk_max_payload_size: 1_048_576,
                change_password: false,
            },
            BASE,
        );
        insta::assert_json_snapshot!(doc);
    }

    #[test]
    fn resource_types_list_both_types() {
        insta::assert_json_snapshot!(resource_types_list(BASE));
    }

    #[test]
    fn schema_document_is_found_case_insensitively() {
        let doc = schema_document("URN:ietf:params:scim:schemas:core:2.0:group", BASE).unwrap();
        assert_eq!(doc["id"], "urn:ietf:params:scim:schemas:core:2.0:Group");
        assert_eq!(
            doc["meta"]["location"],
            format!("{BASE}/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
        );
        assert!(schema_document("urn:example:nothing", BASE).is_none());
    }

    #[test]
    fn schemas_list_holds_three_schemas() {
        let list = schemas_list(BASE);
        assert_eq!(list["totalResults"], 3);
        insta::assert_json_snapshot!(list["Resources"][1]);
    }
}
