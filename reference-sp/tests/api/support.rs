//! The harness: `spawn_sp()` starts an SP with a temporary database, and a few helpers send
//! SCIM requests to it and read the answers.

use idpsim_reference_sp::{DatabaseLocation, RunningSp, SpConfig};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const BULK_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A running SP, a client, and the token requests carry unless told otherwise.
pub struct TestSp {
    pub sp: RunningSp,
    pub client: reqwest::Client,
    pub token: String,
    database: DatabaseLocation,
}

/// Starts an SP on an ephemeral loopback port with a temporary database.
pub async fn spawn_sp() -> TestSp {
    start_sp(DatabaseLocation::Temporary, None).await
}

/// Starts an SP on `database`, with `bootstrap_token` for the default organization.
pub async fn start_sp(database: DatabaseLocation, bootstrap_token: Option<&str>) -> TestSp {
    let sp = RunningSp::start(SpConfig {
        database: database.clone(),
        bootstrap_token: bootstrap_token.map(str::to_owned),
        ..SpConfig::ephemeral()
    })
    .await
    .expect("the SP starts");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a reqwest client");
    let token = sp.default_token().to_owned();
    TestSp {
        sp,
        client,
        token,
        database,
    }
}

/// Starts an SP on a database file in a fresh temporary directory; keep the directory alive
/// for as long as the SP (and its restarts) run.
pub async fn spawn_sp_on_file() -> (TestSp, tempfile::TempDir) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let database = DatabaseLocation::File(directory.path().join("sp.db"));
    (start_sp(database, None).await, directory)
}

/// An answer, read in full: a body that is not empty must be JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts an RFC 7644 §3.12 error: this status, as `application/scim+json`, with the
    /// error schema, the status as a string and this `scimType`.
    pub fn assert_scim_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {self:#?}");
        assert_scim_media_type(self);
        assert_eq!(self.body["schemas"], json!([ERROR_SCHEMA]), "{self:#?}");
        assert_eq!(self.body["status"], json!(status.to_string()), "{self:#?}");
        assert_eq!(
            self.body.get("scimType").and_then(Value::as_str),
            scim_type,
            "{self:#?}"
        );
        assert!(self.body["detail"].is_string(), "{self:#?}");
    }

    /// Asserts the status and returns the body.
    pub fn expect(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {self:#?}");
        self.body
    }
}

/// Asserts that the answer is `application/scim+json` (RFC 7644 §3.1).
pub fn assert_scim_media_type(reply: &Reply) {
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with(SCIM_MEDIA_TYPE),
        "content type `{content_type}` of {reply:#?}"
    );
}

/// Sends a request and reads the whole answer.
pub async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("the SP answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("the answer's body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|err| {
            panic!(
                "a {status} answer is not JSON ({err}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Reply {
        status,
        headers,
        body,
    }
}

impl TestSp {
    /// Shuts the SP down and starts it again on the same database with the same token:
    /// whatever was acknowledged before must still be there.
    pub async fn restart(self) -> TestSp {
        let TestSp {
            sp,
            token,
            database,
            ..
        } = self;
        assert_ne!(
            database,
            DatabaseLocation::Temporary,
            "a temporary database does not survive"
        );
        sp.shutdown().await;
        start_sp(database, Some(&token)).await
    }

    /// The URL of `path` under the SCIM base URL, e.g. `/Users`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sp.base_url())
    }

    /// The URL of `path` at the server's root, outside the SCIM API.
    pub fn root_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.sp.address())
    }

    /// A request to `path` authenticated with `token`.
    pub fn request_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// A request to `path` with the default organization's read-write token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_as(&self.token, method, path)
    }

    /// A request with `body` as `application/scim+json`.
    pub fn request_with(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: &Value,
    ) -> RequestBuilder {
        self.request_as(token, method, path)
            .header(header::CONTENT_TYPE, SCIM_MEDIA_TYPE)
            .body(body.to_string())
    }

    pub async fn get(&self, path: &str) -> Reply {
        send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        send(self.request_with(&self.token, Method::POST, path, body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        send(self.request_with(&self.token, Method::PUT, path, body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        send(self.request_with(&self.token, Method::PATCH, path, body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        send(self.request(Method::DELETE, path)).await
    }

    /// Lists `path` (`/Users`, `/Groups`) with `filter`.
    pub async fn filter(&self, path: &str, filter: &str) -> Reply {
        send(self.request(Method::GET, path).query(&[("filter", filter)])).await
    }

    /// Reads `resource` again by its id (a user or a group), expecting 200.
    pub async fn reread(&self, resource: &Value) -> Value {
        let segment = match resource["meta"]["resourceType"].as_str() {
            Some("Group") => "Groups",
            _ => "Users",
        };
        self.get(&format!("/{segment}/{}", id_of(resource)))
            .await
            .expect(StatusCode::OK)
    }

    /// Creates a user named `user_name` and returns it.
    pub async fn create_user(&self, user_name: &str) -> Value {
        self.post("/Users", &user(user_name))
            .await
            .expect(StatusCode::CREATED)
    }

    /// Creates a group with these member ids and returns it.
    pub async fn create_group(&self, display_name: &str, member_ids: &[&str]) -> Value {
        self.post("/Groups", &group(display_name, member_ids))
            .await
            .expect(StatusCode::CREATED)
    }
}

/// A minimal User body.
pub fn user(user_name: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": user_name})
}

/// A Group body listing these member ids.
pub fn group(display_name: &str, member_ids: &[&str]) -> Value {
    let members: Vec<Value> = member_ids.iter().map(|id| json!({"value": id})).collect();
    let mut body = json!({"schemas": [GROUP_SCHEMA], "displayName": display_name});
    if !members.is_empty() {
        body["members"] = Value::Array(members);
    }
    body
}

/// A bulk operation creating the user `user_name` under `bulk_id`.
pub fn bulk_post_user(bulk_id: &str, user_name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": user(user_name)})
}

/// A PATCH body with these operations.
pub fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": operations})
}

/// The resource's `id`.
pub fn id_of(resource: &Value) -> &str {
    resource["id"].as_str().expect("the resource has an id")
}

/// The resource's `meta.version`.
pub fn version_of(resource: &Value) -> &str {
    resource["meta"]["version"]
        .as_str()
        .expect("the resource has a meta.version")
}

/// The `value` of each member of a group, sorted.
pub fn member_values(group: &Value) -> Vec<String> {
    let mut values: Vec<String> = group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|member| member["value"].as_str().map(str::to_owned))
        .collect();
    values.sort();
    values
}
