//! The one cucumber World: what a scenario knows about the target and what it has done.

use crate::json_match;
use crate::template::{self, UnknownPlaceholder};
use chrono::Utc;
use idpsim_reference_sp::{OidcConnection, RunningSp, SamlConnection, SpError};
use idpsim_simulator::clock::{Clock, ControlledClock, system_clock};
use idpsim_simulator::directory::Directory;
use idpsim_simulator::persona::Persona;
use idpsim_simulator::provision::{
    CycleError, CycleOptions, CycleReport, Exchange, ImportReport, ProvisioningState, REDACTED,
    ScimClient, Transcript, is_secret_header,
};
use idpsim_simulator::saml::SamlIdp;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

/// The media type of SCIM messages (RFC 7644 §3.1).
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// The SCIM service provider a run talks to, shared by all its scenarios.
pub struct Target {
    client: reqwest::Client,
    base_url: String,
    token: String,
    reference_sp: Option<Arc<RunningSp>>,
    clock: Option<Arc<ControlledClock>>,
}

impl Target {
    /// A target at `base_url` (ending in e.g. `/scim/v2`, no trailing slash needed) that
    /// accepts `token`; `reference_sp` is the bundled SP's handle when it is the target. The
    /// bundled SP then goes by a controlled clock the scenarios' IdPs share (see
    /// [`ScimWorld::clock`]).
    pub fn new(
        client: reqwest::Client,
        base_url: &str,
        token: &str,
        reference_sp: Option<Arc<RunningSp>>,
    ) -> Self {
        let clock = reference_sp.as_ref().map(|sp| {
            let clock = ControlledClock::new();
            sp.set_clock(clock.clock());
            clock
        });
        Target {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            reference_sp,
            clock,
        }
    }

    /// The SCIM base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bearer token the run was given for the target; a simulated IdP's provisioning
    /// connection is configured with it.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The bundled reference SP, when it is the target.
    pub fn reference_sp(&self) -> Option<&Arc<RunningSp>> {
        self.reference_sp.as_ref()
    }

    /// Takes the reference SP handle back, so the runner can shut it down.
    pub fn into_reference_sp(self) -> Option<Arc<RunningSp>> {
        self.reference_sp
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("reference_sp", &self.reference_sp.is_some())
            .finish()
    }
}

/// Why a step failed; cucumber shows the message under the failed step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The scenario was not attached to a target (a runner bug, not a target failure).
    #[error("the scenario has no target: run it through `certify::run`")]
    NoTarget,
    /// The step needs the bundled reference SP's administration handle.
    #[error("this step needs the bundled reference SP; tag the scenario @reference-sp")]
    NeedsReferenceSp,
    /// A placeholder names nothing the scenario remembered.
    #[error(transparent)]
    Placeholder(#[from] UnknownPlaceholder),
    /// The feature text cannot be read (bad path, bad JSON, unknown expectation).
    #[error(transparent)]
    Feature(#[from] json_match::MatchError),
    /// The step text itself is malformed, e.g. a doc string is missing.
    #[error("{0}")]
    Step(String),
    /// The request could not be sent or its answer not read.
    #[error("{method} {url} failed: {source}")]
    Http {
        /// The request method.
        method: Method,
        /// The request URL.
        url: String,
        /// What went wrong.
        source: reqwest::Error,
    },
    /// The reference SP refused an administration call.
    #[error("reference SP: {0}")]
    ReferenceSp(#[from] SpError),
    /// The target answered, but not as the scenario expects.
    #[error("{0}")]
    Expectation(String),
}

/// Which bearer token the next requests carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// The token the run was given for the target.
    #[default]
    Target,
    /// No `Authorization` header at all.
    None,
    /// This bearer token.
    Bearer(String),
}

/// The last answer the target gave.
#[derive(Debug, Clone)]
pub struct LastResponse {
    /// The request method, for failure messages.
    pub method: Method,
    /// The request URL, for failure messages.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
    /// The body as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl LastResponse {
    /// The first value of header `name`, if it is present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// The SCIM resource types the steps create and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceKind {
    /// The endpoint, relative to the base URL (RFC 7644 §3.2).
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }

    /// The core schema URN a body of this kind names (RFC 7643 §4).
    pub fn core_schema(self) -> &'static str {
        match self {
            ResourceKind::User => idpsim_scim::schema::USER_SCHEMA,
            ResourceKind::Group => idpsim_scim::schema::GROUP_SCHEMA,
        }
    }
}

impl FromStr for ResourceKind {
    type Err = String;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word.to_ascii_lowercase().as_str() {
            "user" | "users" => Ok(ResourceKind::User),
            "group" | "groups" => Ok(ResourceKind::Group),
            other => Err(format!("unknown resource kind `{other}`")),
        }
    }
}

/// A resource the scenario created, deleted again when the scenario ends.
#[derive(Debug, Clone)]
struct CreatedResource {
    url: String,
    token: Option<String>,
}

/// A simulated IdP provisioning the target in one scenario: the persona, its directory, what
/// it pushed and its last cycle (personas.md §6.1 for the personas' SCIM clients).
#[derive(Debug)]
pub struct Provisioning {
    /// The persona playing the IdP.
    pub persona: Persona,
    /// The IdP's directory, with the scenario's unique names.
    pub directory: Directory,
    /// What the persona pushed, kept between cycles as the IdP keeps it.
    pub state: ProvisioningState,
    /// The options of the next cycle; `options.now` is the scenario's simulated clock.
    pub options: CycleOptions,
    /// The persona's connection to the target, kept for every cycle of the scenario.
    pub client: ScimClient,
    /// The last cycle's report, or why it could not run; `None` before the first cycle.
    pub last_cycle: Option<Result<CycleReport, CycleError>>,
    /// Every exchange of the scenario's cycles, recorded by `client`.
    pub transcript: Transcript,
    /// How many exchanges of `transcript` came before the last cycle.
    pub last_cycle_start: usize,
    /// Every target id a user had in this scenario, by directory key; a user the IdP
    /// deleted leaves the state but stays here, so steps can check it is gone.
    pub user_ids: BTreeMap<String, String>,
    /// Every target id a group had in this scenario, by directory key.
    pub group_ids: BTreeMap<String, String>,
    /// The organization of the bundled reference SP the IdP provisions (its own, so
    /// concurrent scenarios stay apart); `None` on an external target.
    pub organization: Option<String>,
    /// What the IdP's last import read; `None` before one.
    pub last_import: Option<ImportReport>,
}

impl Provisioning {
    /// The exchanges of the last cycle, in the order they ended.
    pub fn last_cycle_exchanges(&self) -> Vec<Exchange> {
        self.transcript
            .exchanges()
            .into_iter()
            .skip(self.last_cycle_start)
            .collect()
    }

    /// Adds the ids of the state's users and groups to the ids the scenario has seen.
    pub fn remember_ids(&mut self) {
        for (key, user) in &self.state.users {
            self.user_ids.insert(key.clone(), user.id.clone());
        }
        for (key, group) in &self.state.groups {
            self.group_ids.insert(key.clone(), group.id.clone());
        }
    }
}

/// A persona's IdP served for one scenario — its OpenID Connect provider connected to the
/// bundled reference SP twice (two clients), or its SAML IdP — and the sign-ins so far.
#[derive(Debug)]
pub struct SsoScenario {
    /// The persona playing the IdP.
    pub persona: Persona,
    /// Whose users sign in.
    pub directory: Directory,
    /// The SP's OIDC connections: the first, and one through another client (none for SAML).
    pub connections: Vec<OidcConnection>,
    /// The SAML side, when the scenario signs in with SAML.
    pub saml: Option<SamlSide>,
    /// The IdP's server; stopped when the scenario ends.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Each successful sign-in, in order: the session cookie and the SP's `/whoami`.
    pub sessions: Vec<(String, Value)>,
    /// Why the last sign-in was refused (status and the SP's page), if it was.
    pub last_refusal: Option<String>,
}

/// A persona's SAML IdP connected to the bundled reference SP.
#[derive(Debug)]
pub struct SamlSide {
    /// The IdP.
    pub idp: Arc<SamlIdp>,
    /// The SP's connection to it.
    pub connection: SamlConnection,
    /// Minutes the IdP's clock is set back (shared with its clock).
    pub clock_offset_minutes: Arc<std::sync::atomic::AtomicI64>,
    /// How the next Response is changed between the IdP's form and the SP's ACS.
    pub tampering: Option<String>,
    /// The last Response posted to the SP (XML) and the form it was posted with.
    pub last_posted: Option<(String, Vec<(String, String)>)>,
    /// The last sign-out: every URL the browser was sent to, and the last answer's status and
    /// body.
    pub last_sign_out: Option<(Vec<String>, u16, String)>,
}

/// The requests a webhook endpoint received: each one's headers and body, in arrival order.
pub type ReceivedRequests = Arc<std::sync::Mutex<Vec<(reqwest::header::HeaderMap, Vec<u8>)>>>;

/// A webhook endpoint served for one scenario: what the reference SP posted to it.
#[derive(Debug)]
pub struct WebhookReceiver {
    /// The signing secret the SP gave when the endpoint was registered.
    pub secret: String,
    /// Each request's headers and body, in the order they arrived.
    pub received: ReceivedRequests,
    /// Woken at each arrival.
    pub arrived: Arc<tokio::sync::Notify>,
    /// The endpoint's server; stopped when the scenario ends.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// One scenario's state: the target, the credentials in use, the last response, the values
/// it remembered (`id:ada`, `token:acme`, ...) and what it created.
#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct ScimWorld {
    target: Option<Arc<Target>>,
    unique: String,
    credentials: Credentials,
    remembered: HashMap<String, String>,
    next_request_headers: Vec<(String, String)>,
    last: Option<LastResponse>,
    created: Vec<CreatedResource>,
    // Boxed: cucumber holds the World by value inside its futures, so a large World makes
    // every scenario's future large (debug builds overflowed a test thread's stack).
    provisioning: Option<Box<Provisioning>>,
    sso: Option<Box<SsoScenario>>,
    webhooks: Option<Box<WebhookReceiver>>,
    transcript: Transcript,
    /// Whether the scenario is tagged `@serial` (runs alone, so it may move the clock).
    serial: bool,
    /// Whether the scenario moved the shared clock (put back when it ends).
    moved_clock: bool,
}

impl ScimWorld {
    /// A world with a fresh unique prefix and no target yet (the runner's `before` hook
    /// attaches one and gives the run's prefix).
    pub fn new() -> Self {
        ScimWorld {
            target: None,
            unique: unique_prefix(DEFAULT_RUN_PREFIX),
            credentials: Credentials::Target,
            remembered: HashMap::new(),
            next_request_headers: Vec::new(),
            last: None,
            created: Vec::new(),
            provisioning: None,
            sso: None,
            webhooks: None,
            transcript: Transcript::default(),
            serial: false,
            moved_clock: false,
        }
    }

    /// Points this scenario at `target`; its unique prefix starts with `run_prefix`, so
    /// whatever it leaves on the target can be found by that prefix (`certify --cleanup`).
    pub fn attach(&mut self, target: Arc<Target>, run_prefix: &str) {
        self.target = Some(target);
        self.unique = unique_prefix(run_prefix);
    }

    /// Marks the scenario as running alone (`@serial`): only then may it move the clock.
    pub fn set_serial(&mut self, serial: bool) {
        self.serial = serial;
    }

    /// The time the scenario's IdPs go by: the bundled SP's controlled clock, or the wall
    /// clock for an external target.
    pub fn clock(&self) -> Clock {
        self.target
            .as_ref()
            .and_then(|target| target.clock.as_ref())
            .map_or_else(system_clock, ControlledClock::clock)
    }

    /// Moves the clock the bundled SP and the scenario's IdPs share `by` ahead; it is put back
    /// when the scenario ends. Only a `@serial` scenario may: other scenarios run at the same
    /// time and their tokens and sessions would age too.
    pub fn move_clock(&mut self, by: chrono::Duration) -> Result<(), StepError> {
        if !self.serial {
            return Err(StepError::Step(
                "moving the clock needs a scenario tagged @serial (it runs alone)".into(),
            ));
        }
        let clock = self
            .target()?
            .clock
            .clone()
            .ok_or(StepError::NeedsReferenceSp)?;
        clock
            .advance(by)
            .map_err(|error| StepError::Step(error.to_string()))?;
        self.moved_clock = true;
        Ok(())
    }

    /// Every exchange of the scenario with the target, the provisioning cycles' included,
    /// in the order they started; `Authorization` and other secret headers are redacted.
    pub fn exchanges(&self) -> Vec<Exchange> {
        let mut exchanges = self.transcript.exchanges();
        if let Some(provisioning) = &self.provisioning {
            exchanges.extend(provisioning.transcript.exchanges());
        }
        exchanges.sort_by_key(|exchange| exchange.started);
        exchanges
    }

    /// The target, or [`StepError::NoTarget`].
    pub fn target(&self) -> Result<&Target, StepError> {
        self.target.as_deref().ok_or(StepError::NoTarget)
    }

    /// The bundled reference SP, or [`StepError::NeedsReferenceSp`].
    pub fn reference_sp(&self) -> Result<Arc<RunningSp>, StepError> {
        self.target()?
            .reference_sp()
            .cloned()
            .ok_or(StepError::NeedsReferenceSp)
    }

    /// This scenario's unique prefix (what `{unique}` expands to).
    pub fn unique(&self) -> &str {
        &self.unique
    }

    /// `text` with its placeholders expanded (see [`template::expand`]).
    pub fn expand(&self, text: &str) -> Result<String, StepError> {
        Ok(template::expand(text, &self.unique, &self.remembered)?)
    }

    /// Remembers `value` under `key`, for `{key}` placeholders and later steps.
    pub fn remember(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.remembered.insert(key.into(), value.into());
    }

    /// The value remembered under `key`.
    pub fn recall(&self, key: &str) -> Result<&str, StepError> {
        self.remembered.get(key).map(String::as_str).ok_or_else(|| {
            StepError::Step(format!(
                "nothing was remembered as `{key}` in this scenario"
            ))
        })
    }

    /// The id of the resource the scenario calls `name`.
    pub fn id_of(&self, name: &str) -> Result<&str, StepError> {
        self.recall(&id_key(name))
    }

    /// The name the scenario gave the resource with `id`, if any.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.remembered
            .iter()
            .find(|(key, value)| key.starts_with("id:") && value.as_str() == id)
            .and_then(|(key, _)| key.strip_prefix("id:"))
    }

    /// Makes `provisioning` this scenario's simulated IdP, replacing any earlier one.
    pub fn start_provisioning(&mut self, provisioning: Provisioning) {
        self.provisioning = Some(Box::new(provisioning));
    }

    /// The scenario's simulated IdP, or a failure saying none was chosen.
    pub fn provisioning(&self) -> Result<&Provisioning, StepError> {
        self.provisioning.as_deref().ok_or_else(no_persona)
    }

    /// The scenario's simulated IdP, to change its directory or run a cycle.
    pub fn provisioning_mut(&mut self) -> Result<&mut Provisioning, StepError> {
        self.provisioning.as_deref_mut().ok_or_else(no_persona)
    }

    /// Makes `sso` this scenario's provider, stopping any earlier one.
    pub fn start_sso(&mut self, sso: SsoScenario) {
        if let Some(earlier) = self.sso.replace(Box::new(sso)) {
            earlier.server.abort();
        }
    }

    /// The scenario's OpenID Connect provider, or a failure saying none was started.
    pub fn sso(&self) -> Result<&SsoScenario, StepError> {
        self.sso.as_deref().ok_or_else(no_provider)
    }

    /// The scenario's OpenID Connect provider, to record a sign-in.
    pub fn sso_mut(&mut self) -> Result<&mut SsoScenario, StepError> {
        self.sso.as_deref_mut().ok_or_else(no_provider)
    }

    /// Makes `receiver` the scenario's webhook endpoint, stopping any earlier one.
    pub fn start_webhooks(&mut self, receiver: WebhookReceiver) {
        if let Some(earlier) = self.webhooks.replace(Box::new(receiver)) {
            earlier.server.abort();
        }
    }

    /// The scenario's webhook endpoint.
    pub fn webhooks(&self) -> Result<&WebhookReceiver, StepError> {
        self.webhooks.as_deref().ok_or_else(|| {
            StepError::Step(
                "the scenario has no webhook endpoint: add one with a Given step".into(),
            )
        })
    }

    /// Switches the bearer token for the following requests.
    pub fn use_credentials(&mut self, credentials: Credentials) {
        self.credentials = credentials;
    }

    /// Adds a header to the next request only (it overrides a default header of that name).
    pub fn set_next_request_header(&mut self, name: &str, value: &str) {
        self.next_request_headers
            .push((name.to_owned(), value.to_owned()));
    }

    /// The last response, or a failure saying no request was sent yet.
    pub fn last(&self) -> Result<&LastResponse, StepError> {
        self.last
            .as_ref()
            .ok_or_else(|| StepError::Step("no request has been sent in this scenario yet".into()))
    }

    /// The JSON body of the last response, or a failure quoting it.
    pub fn last_json(&self) -> Result<&Value, StepError> {
        let last = self.last()?;
        last.json
            .as_ref()
            .ok_or_else(|| self.failure("expected a JSON response body"))
    }

    /// A failed expectation, with the last exchange attached so a report explains itself.
    pub fn failure(&self, message: impl fmt::Display) -> StepError {
        let Some(last) = &self.last else {
            return StepError::Expectation(message.to_string());
        };
        const SHOWN: usize = 2_000;
        let body = match last.body.char_indices().nth(SHOWN) {
            Some((cut, _)) => format!("{}… ({} bytes)", &last.body[..cut], last.body.len()),
            None => last.body.clone(),
        };
        StepError::Expectation(format!(
            "{message}\n  request:  {} {}\n  response: {}\n  body:     {body}",
            last.method, last.url, last.status
        ))
    }

    /// Sends a request to `path` (relative to the base URL, or an absolute URL) with the
    /// current credentials; `path` and `body` have their placeholders expanded. The answer
    /// becomes the last response.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> Result<&LastResponse, StepError> {
        let path = self.expand(path)?;
        let body = body.map(|text| self.expand(text)).transpose()?;
        self.send_expanded(method, &path, body).await
    }

    /// Like [`ScimWorld::send`] with the query parameters `query` (already expanded)
    /// encoded into the URL.
    pub async fn send_query(
        &mut self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<&LastResponse, StepError> {
        let mut url = reqwest::Url::parse(&self.url_for(path)?)
            .map_err(|err| StepError::Step(format!("`{path}` is not a valid URL: {err}")))?;
        url.query_pairs_mut().extend_pairs(query);
        self.send_expanded(Method::GET, url.as_str(), None).await
    }

    /// Sends a request whose path and body are final (no placeholder expansion).
    pub async fn send_expanded(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<&LastResponse, StepError> {
        let url = self.url_for(path)?;
        let target = self.target.clone().ok_or(StepError::NoTarget)?;
        let headers = self.request_headers(body.is_some())?;
        let mut exchange = Exchange {
            started: Utc::now(),
            method: method.to_string(),
            url: url.clone(),
            request_headers: redacted(&headers),
            request_body: body.clone(),
            status: None,
            response_headers: Vec::new(),
            response_body: String::new(),
            duration_ms: 0.0,
            error: None,
        };
        let sent = Instant::now();
        let mut request = target.client.request(method.clone(), &url).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                response.text().await.map(|body| (status, headers, body))
            }
            Err(source) => Err(source),
        };
        exchange.duration_ms = sent.elapsed().as_secs_f64() * 1000.0;
        let (status, headers, body) = match answer {
            Ok(answer) => answer,
            Err(source) => {
                exchange.error = Some(source.to_string());
                self.transcript.record(exchange);
                return Err(StepError::Http {
                    method,
                    url,
                    source,
                });
            }
        };
        exchange.status = Some(status);
        exchange.response_headers = redacted(&headers);
        exchange.response_body = body.clone();
        self.transcript.record(exchange);
        let json = serde_json::from_str(&body).ok();
        Ok(self.last.insert(LastResponse {
            method,
            url,
            status,
            headers,
            body,
            json,
        }))
    }

    /// POSTs `body` to the kind's endpoint. On 201 the new id is remembered as `id:NAME`
    /// (when `name` is given) and the resource is deleted when the scenario ends.
    pub async fn create(
        &mut self,
        kind: ResourceKind,
        name: Option<&str>,
        body: &str,
    ) -> Result<&LastResponse, StepError> {
        self.send(Method::POST, kind.endpoint(), Some(body)).await?;
        let id = match self.last()? {
            last if last.status == 201 => last
                .json
                .as_ref()
                .and_then(|json| json.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        };
        if let Some(id) = id {
            self.track(kind, &id)?;
            if let Some(name) = name {
                self.remember(id_key(name), id);
            }
        }
        self.last()
    }

    /// POSTs `body` and fails unless the target answers 201 with an id.
    pub async fn create_expecting_success(
        &mut self,
        kind: ResourceKind,
        name: &str,
        body: &str,
    ) -> Result<(), StepError> {
        self.create(kind, Some(name), body).await?;
        if self.last()?.status != 201 || self.id_of(name).is_err() {
            return Err(self.failure(format!(
                "expected {} \"{name}\" to be created with 201 and an id",
                kind.core_schema()
            )));
        }
        Ok(())
    }

    /// Registers a resource the scenario created by other means (e.g. a bulk request).
    pub fn track(&mut self, kind: ResourceKind, id: &str) -> Result<(), StepError> {
        let url = format!("{}{}/{id}", self.target()?.base_url(), kind.endpoint());
        let token = self.bearer_token()?;
        self.created.push(CreatedResource { url, token });
        Ok(())
    }

    /// The ids of the resources of `kind` the scenario created (deleted ones included),
    /// oldest first.
    pub fn created_ids(&self, kind: ResourceKind) -> Result<Vec<String>, StepError> {
        let prefix = format!("{}{}/", self.target()?.base_url(), kind.endpoint());
        Ok(self
            .created
            .iter()
            .filter_map(|resource| resource.url.strip_prefix(&prefix))
            .map(str::to_owned)
            .collect())
    }

    /// The path of the resource the scenario calls `name`.
    pub fn resource_path(&self, kind: ResourceKind, name: &str) -> Result<String, StepError> {
        Ok(format!("{}/{}", kind.endpoint(), self.id_of(name)?))
    }

    /// Deletes every user and group left in the simulated IdP's provisioning state (groups
    /// first), then everything the steps created, newest first; a 404 means it is already
    /// gone. Runs from the `after` hook, so failures are logged, not raised.
    pub async fn clean_up(&mut self) {
        if let Some(sso) = &self.sso {
            sso.server.abort();
        }
        if let Some(webhooks) = &self.webhooks {
            webhooks.server.abort();
        }
        if self.moved_clock
            && let Some(clock) = self
                .target
                .as_ref()
                .and_then(|target| target.clock.as_ref())
        {
            clock.reset();
            self.moved_clock = false;
        }
        let Some(target) = self.target.clone() else {
            return;
        };
        // The provisioning state stays: a failure report reads its transcript after this hook.
        if let Some(provisioning) = &self.provisioning {
            // The provisioned resources belong to the credentials the scenario uses.
            let token = self.bearer_token().ok().flatten();
            let provisioned = provisioning
                .state
                .users
                .values()
                .map(|user| (ResourceKind::User, &user.id))
                .chain(
                    provisioning
                        .state
                        .groups
                        .values()
                        .map(|group| (ResourceKind::Group, &group.id)),
                );
            // The loop below deletes the newest first: groups go last so they are deleted
            // before their members, and no user delete has to update a group.
            for (kind, id) in provisioned {
                self.created.push(CreatedResource {
                    url: format!("{}{}/{id}", target.base_url(), kind.endpoint()),
                    token: token.clone(),
                });
            }
        }
        while let Some(resource) = self.created.pop() {
            let mut request = target.client.delete(&resource.url);
            if let Some(token) = &resource.token {
                request = request.bearer_auth(token);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() || response.status() == 404 => {}
                Ok(response) => tracing::warn!(
                    url = %resource.url,
                    status = response.status().as_u16(),
                    "cleanup could not delete a resource the scenario created"
                ),
                Err(err) => tracing::warn!(url = %resource.url, %err, "cleanup request failed"),
            }
        }
    }

    fn url_for(&self, path: &str) -> Result<String, StepError> {
        if path.starts_with("http://") || path.starts_with("https://") {
            Ok(path.to_owned())
        } else {
            Ok(format!("{}{path}", self.target()?.base_url()))
        }
    }

    fn bearer_token(&self) -> Result<Option<String>, StepError> {
        Ok(match &self.credentials {
            Credentials::Target => Some(self.target()?.token.clone()),
            Credentials::None => None,
            Credentials::Bearer(token) => Some(token.clone()),
        })
    }

    fn request_headers(&mut self, has_body: bool) -> Result<HeaderMap, StepError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(SCIM_MEDIA_TYPE));
        if has_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_MEDIA_TYPE));
        }
        if let Some(token) = self.bearer_token()? {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                StepError::Step("the bearer token is not a valid header value".into())
            })?;
            headers.insert(AUTHORIZATION, value);
        }
        for (name, value) in std::mem::take(&mut self.next_request_headers) {
            let value = self.expand(&value)?;
            let header_name = HeaderName::from_str(&name)
                .map_err(|_| StepError::Step(format!("`{name}` is not a header name")))?;
            let header_value = HeaderValue::from_str(&value)
                .map_err(|_| StepError::Step(format!("`{value}` is not a header value")))?;
            headers.insert(header_name, header_value);
        }
        Ok(headers)
    }
}

impl Default for ScimWorld {
    fn default() -> Self {
        Self::new()
    }
}

fn no_provider() -> StepError {
    StepError::Step(
        "no OpenID Connect provider was started in this scenario: start with `Given the \"NAME\" OpenID Connect provider with the directory \"NAME\"`".into(),
    )
}

fn no_persona() -> StepError {
    StepError::Step(
        "no IdP persona was chosen in this scenario: start with `Given the \"NAME\" persona with the directory \"NAME\"`".into(),
    )
}

/// The key an id is remembered under: `id:NAME`, so features write `{id:NAME}`.
pub fn id_key(name: &str) -> String {
    format!("id:{name}")
}

/// The stem of every run prefix: what `certify --cleanup` searches the target for.
pub const RUN_PREFIX_STEM: &str = "idpsim";

/// The run prefix of a world no runner attached (unit tests of steps).
const DEFAULT_RUN_PREFIX: &str = "idpsim0000";

/// A prefix for one run: [`RUN_PREFIX_STEM`] and four lower-case hex digits.
pub fn new_run_prefix() -> String {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    format!("{RUN_PREFIX_STEM}{}", simple.get(..4).unwrap_or(&simple))
}

/// The length of a scenario's unique prefix: [`RUN_PREFIX_STEM`] and ten hex digits.
pub const SCENARIO_PREFIX_LEN: usize = RUN_PREFIX_STEM.len() + 10;

/// A prefix unique to one scenario: the run's prefix and lower-case hex digits up to
/// [`SCENARIO_PREFIX_LEN`]. It starts with a letter, so it can start a userName, and features
/// can vary the case of the text around it.
fn unique_prefix(run_prefix: &str) -> String {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    let digits = SCENARIO_PREFIX_LEN.saturating_sub(run_prefix.len());
    format!("{run_prefix}{}", simple.get(..digits).unwrap_or(&simple))
}

/// Header pairs as text, secret values replaced by [`REDACTED`].
fn redacted(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if is_secret_header(name.as_str()) {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}
