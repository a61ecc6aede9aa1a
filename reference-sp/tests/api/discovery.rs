//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4), and unknown paths.

use crate::support::{assert_scim_media_type, send, spawn_sp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const DISCOVERY_PATHS: [&str; 5] = [
    "/ServiceProviderConfig",
    "/ResourceTypes",
    "/ResourceTypes/User",
    "/Schemas",
    "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
];

#[tokio::test]
async fn discovery_documents_are_scim_json() {
    let sp = spawn_sp().await;
    for path in DISCOVERY_PATHS {
        let reply = sp.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {reply:#?}");
        assert_scim_media_type(&reply);
    }
    let config = sp.get("/ServiceProviderConfig").await.body;
    assert_eq!(config["filter"]["maxResults"], json!(200));
    assert_eq!(config["bulk"]["maxOperations"], json!(1000));
    assert_eq!(config["bulk"]["maxPayloadSize"], json!(1024 * 1024));
    let types = sp.get("/ResourceTypes").await.body;
    assert_eq!(types["totalResults"], json!(2));
    let schema = sp
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await
        .body;
    assert_eq!(schema["id"], "urn:ietf:params:scim:schemas:core:2.0:User");
}

#[tokio::test]
async fn writes_to_discovery_endpoints_are_405() {
    let sp = spawn_sp().await;
    for path in DISCOVERY_PATHS {
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let reply = send(
                sp.request(method.clone(), path)
                    .header("content-type", "application/scim+json")
                    .body("{}"),
            )
            .await;
            assert_eq!(
                reply.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            reply.assert_scim_error(405, None);
        }
    }
}

#[tokio::test]
async fn unknown_paths_are_scim_404() {
    let sp = spawn_sp().await;
    for path in [
        "/Widgets",
        "/Users/some-id/extra",
        "/Schemas/urn:example:nothing",
    ] {
        sp.get(path).await.assert_scim_error(404, None);
    }
    for path in ["/nothing", "/scim/v1/Users", "/"] {
        send(sp.client.get(sp.root_url(path)).bearer_auth(&sp.token))
            .await
            .assert_scim_error(404, None);
    }
}
