//! `certify` against endpoints with one realistic bug each: a proxy in front of a fresh
//! reference SP forwards every request and answer unchanged except for the one thing real
//! SCIM endpoints get wrong, and the verdicts must blame exactly the personas whose client
//! sends the broken request shape (personas.md §1.1, §2.1, §3.1, §5, §6.1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use idpsim_reference_sp::{DatabaseLocation, RunningSp, SpConfig};
use idpsim_simulator::fixtures_dir;
use idpsim_suite::certify::capabilities::Capability;
use idpsim_suite::certify::reports::RunReport;
use idpsim_suite::certify::scenario::Level;
use idpsim_suite::certify::verdict::{PersonaVerdict, Status};
use idpsim_suite::certify::{self, CertifyOptions, ExternalTarget, Outcome, Output};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Fails the test with `message`, written to the test's output as well: a cucumber run
/// replaces the process-wide panic hook with one that prints nothing until the run ends, so
/// a test failing while another test's run is going on would otherwise fail without saying
/// why.
fn fail(message: &str) -> ! {
    eprintln!("{message}");
    panic!("{message}");
}

/// `assert!` through [`fail`].
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            fail(&format!($($message)+));
        }
    };
}

/// The bearer token of the reference SP behind every proxy.
const TOKEN: &str = "broken-target-token";

/// The largest request body the proxy reads (the suite sends one just over 1 MiB and
/// expects the SP's 413).
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Every persona of fixtures/personas.
const PERSONAS: [&str; 7] = [
    "entra",
    "entra-compliant",
    "okta",
    "okta-aiw",
    "jumpcloud",
    "google",
    "generic",
];

/// The one thing a proxy gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    /// A PATCH whose operation value holds the string `"True"` or `"False"` (anywhere in
    /// the value) is refused with 400 `invalidValue`. Entra's default dialect sends
    /// `{"op":"Replace","path":"active","value":"False"}` to disable a user (personas.md §1.1
    /// "Deactivate, reactivate, delete" [S1]); endpoints that only take JSON booleans leave
    /// Entra's disabled users active.
    StringBooleansRefused,
    /// A PATCH `op` that is not lower case (`Replace`, `Add`, `Remove`) is refused with 400
    /// `invalidSyntax`. RFC 7644 §3.5.2 spells the ops in lower case, but Entra's default
    /// dialect capitalises them and Microsoft asks servers to compare them
    /// case-insensitively (personas.md §1.1 "Update user" [S1][S2]).
    CaseSensitiveOps,
    /// PUT on `/Users/{id}` and `/Groups/{id}` answers 405 with a SCIM error. RFC 7644
    /// §3.5.1 defines PUT, and Okta updates profiles with GET + PUT; its wizard-built app also
    /// deactivates users and changes group membership with PUT (personas.md §2.1
    /// "Integration flavours matter", "Update user" [S8b][S11]).
    NoPut,
    /// A PATCH operation without `path` is refused with 400 `invalidPath`. RFC 7644
    /// §3.5.2.1/§3.5.2.3 allow a path-less `add`/`replace` whose value is an object; Okta
    /// deactivates with `{"op":"replace","value":{"active":false}}` and renames groups the
    /// same way, and Entra with `aadOptscim062020` folds several attributes into one
    /// path-less replace (personas.md §2.1 "Deactivate", "Groups" [S8b]; §1.1 "Update user"
    /// [S1]).
    PathlessPatchRefused,
    /// A list request whose filter matches nothing answers 404 instead of 200 with an empty
    /// `ListResponse` (RFC 7644 §3.4.2). Entra's test connection and its lookup before
    /// create expect the empty list and quarantine the job on 404 (personas.md §1.1 "Test
    /// connection", "Cycles, throughput, retries, quarantine" [S2][S4]); Okta accepts a 404
    /// with a SCIM error body as "no match" (personas.md §2.1 "Create user" [S8][S8b]).
    EmptyFilterIs404,
    /// `/ServiceProviderConfig` says `patch.supported: false` while PATCH keeps working
    /// (RFC 7643 §5): PATCH scenarios are not applicable, and every persona whose client
    /// updates with PATCH (personas.md §6.1 "User update verb", "Deactivate", "Member add")
    /// cannot provision to such an endpoint; Okta's wizard-built app uses PUT only
    /// (personas.md §2.1 "Integration flavours matter" [S8b]).
    PatchNotAnnounced,
    /// `/ServiceProviderConfig` says `sort.supported: false` (RFC 7643 §5). Sorting is
    /// optional (RFC 7644 §3.4.2.3) and no IdP sends `sortBy`: Okta pages with `startIndex`
    /// and `count` only (personas.md §2.1 "Import and pagination" [S8b], §6.1), so every
    /// persona stays compatible.
    SortNotAnnounced,
    /// A PATCH that sets `active` answers 200 but leaves `active` as it was (the operation,
    /// or the `active` key of a path-less value, is dropped before the SP sees it). Every
    /// IdP that deactivates with PATCH keeps the user able to sign in (personas.md §1.1
    /// "Deactivate" [S1], §2.1 "Deactivate" (OIN) [S8b], §3.1 "User lifecycle" [S77], §5);
    /// Okta's wizard-built app deactivates with PUT (§2.1 [S8b][S73]).
    ActiveIgnoredInPatch,
    /// `filter=userName eq "…"` compares case-sensitively, although `userName` is not
    /// `caseExact` (RFC 7643 §4.1.1); Okta's lookup must match whatever case the login has,
    /// and Okta's own spec test checks it with an upper-cased userName (personas.md §2.1
    /// "Create user" [S10][S15]).
    CaseSensitiveUserNameFilter,
}

/// What a proxy shares with its handler, and what it counted.
struct Proxy {
    bug: Bug,
    /// `http://127.0.0.1:PORT` of the reference SP.
    upstream: String,
    client: reqwest::Client,
    /// Requests refused or answers changed because of the bug.
    broken: AtomicUsize,
    /// Requests the bug's announcement says should not come (PATCH after `patch: false`, a
    /// `sortBy` after `sort: false`), as `METHOD path?query body`.
    unannounced: Mutex<Vec<String>>,
}

/// A reference SP behind a proxy with one bug.
struct BrokenTarget {
    sp: RunningSp,
    proxy: Arc<Proxy>,
    base_url: String,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

impl BrokenTarget {
    /// Starts a fresh reference SP and a proxy with `bug` in front of it; the proxy's
    /// listener is bound before the server task starts, so no request can come too early.
    async fn start(bug: Bug) -> BrokenTarget {
        let sp = RunningSp::start(SpConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            database: DatabaseLocation::Temporary,
            bootstrap_token: Some(TOKEN.into()),
            admin_key: None,
        })
        .await
        .unwrap_or_else(|error| fail(&format!("the reference SP did not start: {error}")));
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap_or_else(|error| fail(&format!("the proxy cannot listen: {error}")));
        let address = listener.local_addr().unwrap();
        let upstream = format!("http://{}", sp.address());
        let base_url = sp
            .base_url()
            .replacen(&upstream, &format!("http://{address}"), 1);
        ensure!(base_url != sp.base_url(), "the proxy has the SP's base URL");
        let proxy = Arc::new(Proxy {
            bug,
            upstream,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            broken: AtomicUsize::new(0),
            unannounced: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&proxy));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        BrokenTarget {
            sp,
            proxy,
            base_url,
            stop,
            server,
        }
    }

    /// How many requests the bug refused or whose answers it changed.
    fn broken(&self) -> usize {
        self.proxy.broken.load(Ordering::SeqCst)
    }

    /// The requests that came although the announcement said the feature is missing.
    fn unannounced(&self) -> Vec<String> {
        self.proxy.unannounced.lock().unwrap().clone()
    }

    async fn shutdown(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
        self.sp.shutdown().await;
    }
}

/// A request as the bugs look at it.
struct Incoming {
    method: Method,
    /// The path below the SCIM prefix, split: `["Users", "42"]`.
    segments: Vec<String>,
    /// The decoded query parameters.
    query: Vec<(String, String)>,
}

impl Incoming {
    fn read(method: &Method, uri: &axum::http::Uri) -> Incoming {
        let url = reqwest::Url::parse(&format!("http://proxy{uri}")).unwrap();
        let segments = url
            .path()
            .trim_start_matches("/scim/v2")
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(str::to_owned)
            .collect();
        Incoming {
            method: method.clone(),
            segments,
            query: url.query_pairs().into_owned().collect(),
        }
    }

    /// `/Users/{id}` or `/Groups/{id}`.
    fn is_resource(&self) -> bool {
        self.segments.len() == 2 && matches!(self.segments[0].as_str(), "Users" | "Groups")
    }

    /// `/Users` or `/Groups`.
    fn is_list(&self) -> bool {
        self.segments.len() == 1 && matches!(self.segments[0].as_str(), "Users" | "Groups")
    }

    fn is_patch(&self) -> bool {
        self.method == Method::PATCH && self.is_resource()
    }

    fn parameter(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn is_service_provider_config(&self) -> bool {
        self.method == Method::GET && self.segments == ["ServiceProviderConfig"]
    }
}

/// A SCIM error answer (RFC 7644 §3.12).
fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(scim_type) = scim_type {
        body["scimType"] = json!(scim_type);
    }
    scim_response(status, &body)
}

/// `body` as `application/scim+json` with `status`.
fn scim_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    response
}

/// The PATCH operations of a body, if it is a PatchOp.
fn operations(body: &Value) -> &[Value] {
    body.get("Operations")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The first string boolean (`"True"`, `"false"`, ...) anywhere in `value`.
fn string_boolean(value: &Value) -> Option<&str> {
    match value {
        Value::String(text)
            if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") =>
        {
            Some(text)
        }
        Value::Array(items) => items.iter().find_map(string_boolean),
        Value::Object(map) => map.values().find_map(string_boolean),
        _ => None,
    }
}

/// Drops every way a PatchOp sets `active`: operations with the path `active`, and the
/// `active` key of path-less values. Whether anything was dropped.
fn drop_active(body: &mut Value) -> bool {
    let Some(operations) = body.get_mut("Operations").and_then(Value::as_array_mut) else {
        return false;
    };
    let before = operations.len();
    operations.retain(|operation| {
        !operation
            .get("path")
            .and_then(Value::as_str)
            .is_some_and(|path| path.eq_ignore_ascii_case("active"))
    });
    let mut dropped = operations.len() != before;
    for operation in operations.iter_mut() {
        if operation.get("path").is_none()
            && let Some(value) = operation.get_mut("value").and_then(Value::as_object_mut)
        {
            let key = value
                .keys()
                .find(|key| key.eq_ignore_ascii_case("active"))
                .cloned();
            if let Some(key) = key {
                value.remove(&key);
                dropped = true;
            }
        }
    }
    dropped
}

/// The value of a filter that is exactly `userName eq "VALUE"`.
fn user_name_equals(filter: &str) -> Option<&str> {
    let (attribute, rest) = filter.trim().split_once(' ')?;
    let (operator, literal) = rest.trim_start().split_once(' ')?;
    let value = literal.trim().strip_prefix('"')?.strip_suffix('"')?;
    (attribute.eq_ignore_ascii_case("userName")
        && operator.eq_ignore_ascii_case("eq")
        && !value.contains('"'))
    .then_some(value)
}

/// What the bug does to a request before it reaches the SP.
enum Before {
    /// Answer this instead of forwarding.
    Refuse(Response),
    /// Forward with this method and body.
    Forward(Method, Bytes),
}

impl Proxy {
    fn count(&self) {
        self.broken.fetch_add(1, Ordering::SeqCst);
    }

    fn note_unannounced(&self, incoming: &Incoming, uri: &axum::http::Uri, body: &Bytes) {
        self.unannounced.lock().unwrap().push(format!(
            "{} {uri} {}",
            incoming.method,
            String::from_utf8_lossy(body)
        ));
    }

    fn before(&self, incoming: &Incoming, uri: &axum::http::Uri, body: Bytes) -> Before {
        let forward = |body| Before::Forward(incoming.method.clone(), body);
        let patch: Option<Value> = incoming
            .is_patch()
            .then(|| serde_json::from_slice(&body).ok())
            .flatten();
        match self.bug {
            Bug::StringBooleansRefused => {
                let found = patch.as_ref().and_then(|patch| {
                    operations(patch)
                        .iter()
                        .filter_map(|operation| operation.get("value"))
                        .find_map(string_boolean)
                });
                match found {
                    Some(text) => Before::Refuse(scim_error(
                        StatusCode::BAD_REQUEST,
                        Some("invalidValue"),
                        &format!("expected a boolean, got the string \"{text}\""),
                    )),
                    None => forward(body),
                }
            }
            Bug::CaseSensitiveOps => {
                let found = patch.as_ref().and_then(|patch| {
                    operations(patch)
                        .iter()
                        .filter_map(|operation| operation.get("op").and_then(Value::as_str))
                        .find(|op| *op != op.to_ascii_lowercase())
                        .map(str::to_owned)
                });
                match found {
                    Some(op) => Before::Refuse(scim_error(
                        StatusCode::BAD_REQUEST,
                        Some("invalidSyntax"),
                        &format!("unknown op \"{op}\"; expected add, remove or replace"),
                    )),
                    None => forward(body),
                }
            }
            Bug::NoPut if incoming.method == Method::PUT && incoming.is_resource() => {
                let mut response = scim_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    None,
                    "PUT is not supported; use PATCH",
                );
                response.headers_mut().insert(
                    header::ALLOW,
                    HeaderValue::from_static("GET, PATCH, DELETE"),
                );
                Before::Refuse(response)
            }
            Bug::PathlessPatchRefused
                if patch.as_ref().is_some_and(|patch| {
                    operations(patch)
                        .iter()
                        .any(|operation| operation.get("path").is_none_or(Value::is_null))
                }) =>
            {
                Before::Refuse(scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidPath"),
                    "every operation needs a path",
                ))
            }
            Bug::ActiveIgnoredInPatch => {
                let Some(mut patch) = patch else {
                    return forward(body);
                };
                if !drop_active(&mut patch) {
                    return forward(body);
                }
                self.count();
                if operations(&patch).is_empty() {
                    // Nothing left to change: answer what a read answers.
                    Before::Forward(Method::GET, Bytes::new())
                } else {
                    Before::Forward(Method::PATCH, Bytes::from(patch.to_string()))
                }
            }
            Bug::PatchNotAnnounced => {
                if incoming.method == Method::PATCH {
                    self.note_unannounced(incoming, uri, &body);
                }
                forward(body)
            }
            Bug::SortNotAnnounced => {
                if incoming.parameter("sortBy").is_some()
                    || (incoming.method == Method::POST
                        && serde_json::from_slice::<Value>(&body)
                            .is_ok_and(|search| search.get("sortBy").is_some()))
                {
                    self.note_unannounced(incoming, uri, &body);
                }
                forward(body)
            }
            _ => forward(body),
        }
    }

    /// What the bug does to the SP's answer; `None` leaves it unchanged.
    fn after(&self, incoming: &Incoming, status: StatusCode, body: &Bytes) -> Option<Response> {
        if status != StatusCode::OK {
            return None;
        }
        let mut json: Value = serde_json::from_slice(body).ok()?;
        match self.bug {
            Bug::PatchNotAnnounced | Bug::SortNotAnnounced
                if incoming.is_service_provider_config() =>
            {
                let feature = if self.bug == Bug::PatchNotAnnounced {
                    "patch"
                } else {
                    "sort"
                };
                json[feature] = json!({"supported": false});
                Some(scim_response(StatusCode::OK, &json))
            }
            Bug::EmptyFilterIs404
                if incoming.method == Method::GET
                    && incoming.is_list()
                    && incoming.parameter("filter").is_some()
                    && json["totalResults"] == 0 =>
            {
                Some(scim_error(
                    StatusCode::NOT_FOUND,
                    None,
                    "no resource matches the filter",
                ))
            }
            Bug::CaseSensitiveUserNameFilter if incoming.method == Method::GET => {
                let wanted = user_name_equals(incoming.parameter("filter")?)?;
                let resources = json.get_mut("Resources")?.as_array_mut()?;
                let before = resources.len();
                resources.retain(|resource| resource["userName"] == wanted);
                let kept = resources.len();
                if kept == before {
                    return None;
                }
                json["totalResults"] = json!(kept);
                json["itemsPerPage"] = json!(kept);
                Some(scim_response(StatusCode::OK, &json))
            }
            _ => None,
        }
    }

    /// Sends the request on to the SP and returns its answer unchanged.
    async fn forward(
        &self,
        method: Method,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes), reqwest::Error> {
        let path = uri.path_and_query().map_or("/", |path| path.as_str());
        let mut relayed = headers.clone();
        strip_connection_headers(&mut relayed);
        relayed.remove(header::HOST);
        let response = self
            .client
            .request(method, format!("{}{path}", self.upstream))
            .headers(relayed)
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let mut headers = response.headers().clone();
        strip_connection_headers(&mut headers);
        let body = response.bytes().await?;
        Ok((status, headers, body))
    }
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the
/// length, which the proxy's server sets from the body it sends.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

/// Removes the connection headers and the length from an answer about to be relayed.
fn strip_connection_headers(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_hop_by_hop(name) || *name == header::CONTENT_LENGTH)
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

async fn handle(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return scim_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            "the proxy reads at most 16 MiB",
        );
    };
    let incoming = Incoming::read(&parts.method, &parts.uri);
    let (method, body) = match proxy.before(&incoming, &parts.uri, body) {
        Before::Refuse(response) => {
            proxy.count();
            return response;
        }
        Before::Forward(method, body) => (method, body),
    };
    let (status, headers, body) = match proxy
        .forward(method, &parts.uri, &parts.headers, body)
        .await
    {
        Ok(answer) => answer,
        Err(error) => {
            return scim_error(
                StatusCode::BAD_GATEWAY,
                None,
                &format!("the reference SP did not answer: {error}"),
            );
        }
    };
    if let Some(changed) = proxy.after(&incoming, status, &body) {
        proxy.count();
        return changed;
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The report of `certify` through a proxy with `bug`, limited to `tags`, and the proxy
/// (already stopped) for its counts.
async fn certify_through(bug: Bug, tags: &str) -> (RunReport, usize, Vec<String>) {
    let target = BrokenTarget::start(bug).await;
    let outcome = certify::run(&CertifyOptions {
        target: Some(ExternalTarget {
            base_url: target.base_url.clone(),
            token: TOKEN.into(),
        }),
        tags: Some(tags.to_owned()),
        personas: Vec::new(),
        fail_on: Level::Must,
        report_dir: None,
        features: certify::default_features_dir(),
        personas_dir: fixtures_dir().join("personas"),
        concurrency: 4,
        output: Output::Quiet,
    })
    .await;
    let broken = target.broken();
    let unannounced = target.unannounced();
    target.shutdown().await;
    let report = match outcome {
        Outcome::Passed(report) | Outcome::Failed(report) => *report,
        Outcome::NotRun(error) => fail(&format!(
            "certify did not run through the {bug:?} proxy: {error}"
        )),
    };
    ensure!(
        report.parse_errors.is_empty(),
        "features do not parse: {:?}",
        report.parse_errors
    );
    (report, broken, unannounced)
}

/// Every verdict with its blocking problems and warnings, for assertion messages.
fn describe(report: &RunReport) -> String {
    let mut out = String::new();
    for verdict in &report.verdicts {
        let _ = writeln!(out, "{}: {}", verdict.persona, verdict.summary());
        for problem in &verdict.blocking {
            let _ = writeln!(out, "  blocking: {}", problem.title);
        }
        for problem in &verdict.warnings {
            let _ = writeln!(out, "  warning: {}", problem.title);
        }
    }
    out
}

/// The verdicts a run must give. Every miss is collected, so one failure lists all the
/// personas whose verdict is off, with the whole verdict table.
struct Expect<'a> {
    report: &'a RunReport,
    misses: Vec<String>,
}

impl<'a> Expect<'a> {
    fn new(report: &'a RunReport) -> Expect<'a> {
        Expect {
            report,
            misses: Vec::new(),
        }
    }

    fn verdict(&self, persona: &str) -> &'a PersonaVerdict {
        self.report
            .verdicts
            .iter()
            .find(|verdict| verdict.persona == persona)
            .unwrap_or_else(|| fail(&format!("no verdict for {persona}")))
    }

    /// `persona` does not pass, and one of its blocking problems is one of `titles`: a
    /// scenario name, or a missing capability (`PATCH not supported`).
    fn blocked(&mut self, persona: &str, titles: &[&str]) -> &mut Self {
        let verdict = self.verdict(persona);
        if verdict.passes(Level::Must) {
            self.misses.push(format!("{persona} passes"));
        } else if !verdict.blocking.iter().any(|problem| {
            titles.iter().any(|title| {
                problem.title == *title || problem.title.ends_with(&format!(" › {title}"))
            })
        }) {
            self.misses
                .push(format!("{persona} is blocked, but by none of {titles:?}"));
        }
        self
    }

    /// Each of `personas` passes and ran at least one scenario (Google pushes no SCIM, so
    /// it only has to pass).
    fn compatible(&mut self, personas: &[&str]) -> &mut Self {
        for persona in personas {
            let verdict = self.verdict(persona);
            if !verdict.passes(Level::Must) {
                let titles: Vec<&str> = verdict
                    .blocking
                    .iter()
                    .map(|problem| problem.title.as_str())
                    .collect();
                self.misses.push(format!(
                    "{persona} should be compatible, is blocked by {titles:?}"
                ));
            } else if *persona != "google" && verdict.passed == 0 {
                self.misses.push(format!("{persona} ran nothing"));
            }
        }
        self
    }

    fn check(&self) {
        ensure!(
            self.misses.is_empty(),
            "{}\n\nverdicts:\n{}",
            self.misses.join("\n"),
            describe(self.report)
        );
    }
}

/// Every scenario that exercises `capability` was not run, and there are at least `least`.
fn assert_not_run(report: &RunReport, capability: Capability, least: usize) {
    let tagged: Vec<_> = report
        .scenarios
        .iter()
        .filter(|record| record.meta.needs.contains(&capability))
        .collect();
    ensure!(
        tagged.len() >= least,
        "only {} scenarios are tagged @needs-{}",
        tagged.len(),
        capability.tag()
    );
    let ran: Vec<String> = tagged
        .iter()
        .filter(|record| matches!(record.status, Status::Passed | Status::Failed))
        .map(|record| format!("{} ({})", record.name, record.location()))
        .collect();
    ensure!(
        ran.is_empty(),
        "scenarios tagged @needs-{} ran against a target that announced no {}: {ran:?}",
        capability.tag(),
        capability.config_attribute()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_booleans_refused_block_only_entra() {
    let (report, broken, _) = certify_through(
        Bug::StringBooleansRefused,
        "@scim or (@provisioning and @entra)",
    )
    .await;
    ensure!(broken > 0, "no PATCH carried a string boolean");
    Expect::new(&report)
        .blocked(
            "entra",
            &[
                "Entra disables a user with Replace and the string \"False\"",
                "disabled and unassigned users are set inactive, never deleted",
            ],
        )
        .compatible(&[
            "entra-compliant",
            "okta",
            "okta-aiw",
            "jumpcloud",
            "google",
            "generic",
        ])
        .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_sensitive_ops_block_only_entra() {
    let (report, broken, _) =
        certify_through(Bug::CaseSensitiveOps, "@scim or (@provisioning and @entra)").await;
    ensure!(broken > 0, "no PATCH carried a capitalised op");
    Expect::new(&report)
        .blocked(
            "entra",
            &[
                "Entra adds a single attribute with a capitalised op",
                "Entra disables a user with Replace and the string \"False\"",
                "Entra replaces several attributes, one operation each, without the compliance flag",
                "Entra changes the userName",
                "Entra adds group members with a capitalised op",
                "Entra without the compliance flag removes a member with a value array",
                "Entra renames a group",
                "a new job title and a renamed UPN are patched in place",
                "disabled and unassigned users are set inactive, never deleted",
            ],
        )
        .compatible(&[
            "entra-compliant",
            "okta",
            "okta-aiw",
            "jumpcloud",
            "google",
            "generic",
        ])
        .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_put_blocks_both_okta_flavours() {
    let (report, broken, _) = certify_through(
        Bug::NoPut,
        "@scim or (@provisioning and (@okta or @okta-aiw))",
    )
    .await;
    ensure!(broken > 0, "no PUT reached the proxy");
    Expect::new(&report)
        .blocked(
            "okta",
            &[
                "PUT follows the Okta shape that repeats id and meta from the fetched user",
                "a new title and a renamed login are written back with PUT",
            ],
        )
        .blocked(
            "okta-aiw",
            &[
                "PUT follows the Okta shape that repeats id and meta from the fetched user",
                "PUT replaces the whole member list, as Okta's custom apps do",
                "a new title and a renamed login are written back with PUT, never PATCH",
                "deactivated and unassigned users are set inactive with PUT",
                "a renamed group and its new members are written with one PUT",
            ],
        )
        .compatible(&["entra", "entra-compliant", "jumpcloud", "google", "generic"])
        .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pathless_patch_refused_blocks_okta_and_entra_compliant() {
    let (report, broken, _) = certify_through(
        Bug::PathlessPatchRefused,
        "@scim or (@provisioning and (@okta or @entra-compliant))",
    )
    .await;
    ensure!(broken > 0, "no path-less PATCH reached the proxy");
    Expect::new(&report)
        .blocked(
            "okta",
            &[
                "Okta deactivates with a path-less replace of active",
                "Okta renames a group and changes its members in one PATCH that repeats the id",
                "deactivated and unassigned users are set inactive, never deleted",
            ],
        )
        .blocked(
            "entra-compliant",
            &[
                "Entra with the compliance flag folds attributes into one path-less replace with dotted keys",
                "several changed attributes are patched with lower-case ops",
            ],
        )
        .compatible(&["entra", "okta-aiw", "jumpcloud", "google", "generic"])
        .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_filter_as_404_blocks_all_but_okta() {
    let (report, broken, _) = certify_through(
        Bug::EmptyFilterIs404,
        "@scim or (@provisioning and (@entra or @okta))",
    )
    .await;
    ensure!(broken > 0, "no filter matched nothing");
    let probe = "the Entra test-connection probe for a random userName answers an empty list";
    Expect::new(&report)
        .blocked(
            "entra",
            &[
                probe,
                "the first cycle provisions every enabled user and every group",
            ],
        )
        .blocked("entra-compliant", &[probe])
        .blocked("jumpcloud", &[probe])
        .blocked("generic", &[probe])
        .compatible(&["okta", "okta-aiw", "google"])
        .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_not_announced_blocks_the_personas_that_patch() {
    let (report, broken, unannounced) = certify_through(Bug::PatchNotAnnounced, "@scim").await;
    ensure!(broken > 0, "the ServiceProviderConfig was never rewritten");
    ensure!(
        !report.announced.supports(Capability::Patch),
        "certify read patch as supported"
    );
    assert_not_run(&report, Capability::Patch, 20);
    ensure!(
        unannounced.is_empty(),
        "scenarios without @needs-patch sent PATCH to a target that announced none:\n{}",
        unannounced.join("\n")
    );
    let mut expect = Expect::new(&report);
    for persona in ["entra", "entra-compliant", "okta", "jumpcloud", "generic"] {
        expect.blocked(persona, &["PATCH not supported"]);
    }
    expect.compatible(&["okta-aiw", "google"]).check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_not_announced_is_not_applicable_and_passes() {
    let (report, broken, unannounced) = certify_through(Bug::SortNotAnnounced, "@scim").await;
    ensure!(broken > 0, "the ServiceProviderConfig was never rewritten");
    ensure!(
        !report.announced.supports(Capability::Sort),
        "certify read sort as supported"
    );
    assert_not_run(&report, Capability::Sort, 1);
    ensure!(
        unannounced.is_empty(),
        "scenarios without @needs-sort sent sortBy to a target that announced no sorting:\n{}",
        unannounced.join("\n")
    );
    Expect::new(&report).compatible(&PERSONAS).check();
    ensure!(report.passed, "the run failed\n{}", describe(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_ignored_in_patch_blocks_every_persona_that_deactivates_with_patch() {
    let (report, broken, _) = certify_through(
        Bug::ActiveIgnoredInPatch,
        "@scim or (@provisioning and not (@entra or @okta))",
    )
    .await;
    ensure!(broken > 0, "no PATCH set active");
    Expect::new(&report)
        .blocked(
            "entra",
            &["Entra disables a user with Replace and the string \"False\""],
        )
        .blocked(
            "entra-compliant",
            &["disabled and unassigned users are set inactive with a JSON boolean"],
        )
        .blocked(
            "okta",
            &["Okta deactivates with a path-less replace of active"],
        )
        .blocked(
            "jumpcloud",
            &["disabled and unassigned users are set inactive and a deleted user is deleted"],
        )
        .blocked(
            "generic",
            &["a disabled user is set inactive and a removed user is deleted"],
        )
        .compatible(&["okta-aiw", "google"])
        .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_sensitive_user_name_filter_blocks_okta() {
    let (report, broken, _) = certify_through(Bug::CaseSensitiveUserNameFilter, "@scim").await;
    ensure!(broken > 0, "no userName lookup differed in case");
    let scenario = ["userName is compared case-insensitively"];
    Expect::new(&report)
        .blocked("okta", &scenario)
        .blocked("okta-aiw", &scenario)
        .compatible(&["entra", "entra-compliant", "jumpcloud", "google", "generic"])
        .check();
}
