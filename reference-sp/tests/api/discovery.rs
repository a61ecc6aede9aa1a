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

#[tokio::test]
async fn a_filter_on_a_discovery_endpoint_is_403() {
    // RFC 7644 §4: "If a 'filter' is provided, the service provider SHOULD respond with HTTP
    // status code 403 (Forbidden)"; the other query parameters are ignored.
    let sp = spawn_sp().await;
    for path in DISCOVERY_PATHS {
        sp.get(&format!("{path}?filter=name%20eq%20%22User%22"))
            .await
            .assert_scim_error(403, None);
        let ignored = sp.get(&format!("{path}?sortBy=name&count=1")).await;
        assert_eq!(ignored.status, StatusCode::OK, "{path}: {ignored:#?}");
    }
}

#[tokio::test]
async fn an_id_that_is_not_utf8_is_a_scim_404() {
    let sp = spawn_sp().await;
    for path in [
        "/Users/%FF",
        "/Groups/%C3%28",
        "/Schemas/%FF",
        "/ResourceTypes/%FF",
    ] {
        sp.get(path).await.assert_scim_error(404, None);
    }
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let reply = send(
            sp.request(method.clone(), "/Users/%FF")
                .header("content-type", "application/scim+json")
                .body("{}"),
        )
        .await;
        reply.assert_scim_error(404, None);
    }
}
