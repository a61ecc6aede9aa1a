//! One persona's SAML 2.0 IdP over HTTP: metadata, the SSO endpoint for AuthnRequests over
//! HTTP-Redirect (deflated) and HTTP-POST, the sign-in page (or the test mode that signs in the
//! `login_hint` user), IdP-initiated responses, and the Response posted to the SP's ACS by an
//! auto-submitting form with the RelayState unchanged.

use super::assertion::{self, Audience, Issuing};
use super::credential::SamlCredential;
use crate::bounded::{BoundedReadError, read_at_most};
use crate::clock::Clock;
use crate::directory::{Directory, DirectoryUser};
use crate::html::escape;
use crate::persona::Persona;
use crate::signin;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use samael::metadata::EntityDescriptor;
use samael::schema::{
    AuthnRequest, Issuer, LogoutRequest, LogoutResponse, Status, StatusCode as SamlStatusCode,
};
use samael::traits::ToXml as _;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

/// The HTTP-Redirect binding.
pub const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding.
pub const POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// The largest AuthnRequest accepted, inflated.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;
/// The largest SP metadata document read (an SP's is a few KiB).
const MAX_METADATA_BYTES: usize = 1024 * 1024;

/// How long a sign-in page stays usable.
const PENDING_LIFETIME: Duration = Duration::minutes(10);

/// An SP registered with the IdP (`--sp ENTITY_ID=ACS_URL[,SLO_URL]`, or its metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProvider {
    /// The SP's entity ID.
    pub entity_id: String,
    /// Where its Responses are posted.
    pub acs_url: String,
    /// Where its LogoutResponses go (HTTP-Redirect binding), when it has single logout.
    pub slo_url: Option<String>,
}

impl ServiceProvider {
    /// Parses `ENTITY_ID=ACS_URL[,SLO_URL]`.
    pub fn parse(text: &str) -> Result<ServiceProvider, String> {
        let wrong = || {
            format!(
                "`{text}` is not ENTITY_ID=ACS_URL[,SLO_URL] (e.g. https://app.example/saml=http://127.0.0.1:3000/acs)"
            )
        };
        let (entity_id, urls) = text.rsplit_once('=').ok_or_else(wrong)?;
        let (acs_url, slo_url) = match urls.split_once(',') {
            Some((acs_url, slo_url)) => (acs_url, Some(slo_url)),
            None => (urls, None),
        };
        let is_url = |text: &str| reqwest::Url::parse(text).is_ok();
        if entity_id.is_empty() || !is_url(acs_url) || !slo_url.is_none_or(is_url) {
            return Err(wrong());
        }
        Ok(ServiceProvider {
            entity_id: entity_id.to_owned(),
            acs_url: acs_url.to_owned(),
            slo_url: slo_url.map(str::to_owned),
        })
    }

    /// The SP an SP metadata document describes: its entity ID, its HTTP-POST assertion
    /// consumer service and its HTTP-Redirect single logout service.
    pub fn from_metadata(xml: &str) -> Result<ServiceProvider, String> {
        if has_doctype(xml) {
            return Err("the metadata carries a DOCTYPE; DTDs are not accepted".into());
        }
        let metadata: EntityDescriptor = xml
            .parse()
            .map_err(|error| format!("not SAML metadata: {error}"))?;
        let entity_id = metadata
            .entity_id
            .clone()
            .ok_or("the metadata has no entityID")?;
        let descriptor = metadata
            .sp_sso_descriptors
            .as_ref()
            .and_then(|descriptors| descriptors.first())
            .ok_or("the metadata has no SPSSODescriptor")?;
        let acs_url = descriptor
            .assertion_consumer_services
            .iter()
            .find(|service| service.binding == POST_BINDING)
            .map(|service| service.location.clone())
            .ok_or("the metadata has no HTTP-POST AssertionConsumerService")?;
        let slo_url = descriptor
            .single_logout_services
            .iter()
            .flatten()
            .find(|service| service.binding == REDIRECT_BINDING)
            .map(|service| service.location.clone());
        Ok(ServiceProvider {
            entity_id,
            acs_url,
            slo_url,
        })
    }

    /// Reads the SP's metadata at `url` (`--sp URL`).
    pub async fn fetch(url: &str) -> Result<ServiceProvider, String> {
        let response = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|error| error.to_string())?
            .get(url)
            .send()
            .await
            .map_err(|error| format!("cannot read the SP metadata at {url}: {error}"))?;
        if !response.status().is_success() {
            return Err(format!(
                "the SP metadata at {url} answered HTTP {}",
                response.status()
            ));
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| format!("cannot read the SP metadata at {url}: {error}"))?
        {
            if body.len() + chunk.len() > MAX_METADATA_BYTES {
                return Err(format!(
                    "the SP metadata at {url} is over {} KiB",
                    MAX_METADATA_BYTES / 1024
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body)
            .map_err(|_| format!("the SP metadata at {url} is not UTF-8 text"))?;
        ServiceProvider::from_metadata(&text).map_err(|error| format!("{url}: {error}"))
    }
}

/// How one persona's SAML IdP runs.
#[derive(Clone)]
pub struct SamlIdpConfig {
    /// `http://127.0.0.1:PORT` the IdP is served at (no trailing slash).
    pub base_url: String,
    /// The simulated tenant (`{tenant}` of the entity ID and SSO URL templates).
    pub tenant: String,
    /// The registered SPs.
    pub service_providers: Vec<ServiceProvider>,
    /// Only registered SPs are answered (`--strict-sp`); otherwise any SP is, with the
    /// AuthnRequest's issuer as the audience and its ACS URL as the destination.
    pub strict: bool,
    /// Test mode: a request with a `login_hint` signs that user in without a page.
    pub auto_login: bool,
    /// The clock.
    pub clock: Clock,
}

/// A sign-in waiting on the page.
#[derive(Debug, Clone)]
struct PendingLogin {
    audience: Audience,
    relay_state: Option<String>,
    started: DateTime<Utc>,
}

/// One persona's SAML IdP over one directory.
pub struct SamlIdp {
    persona: Persona,
    directory: Arc<Directory>,
    credential: SamlCredential,
    config: SamlIdpConfig,
    entity_id: String,
    sso_path: String,
    pending: Mutex<HashMap<String, PendingLogin>>,
}

impl std::fmt::Debug for SamlIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlIdp")
            .field("persona", &self.persona.name)
            .field("entity_id", &self.entity_id)
            .finish()
    }
}

/// The local path of `persona`'s SSO endpoint: its `sso_url` template with `{tenant}` filled;
/// an absolute template keeps its path under `/{persona name}` (Entra's
/// `/entra/{tenant}/saml2`), a template that is a path already is used as it is.
pub fn local_sso_path(persona: &Persona, tenant: &str) -> String {
    let template = persona.saml.sso_url.value.replace("{tenant}", tenant);
    if template.starts_with('/') {
        return template;
    }
    let path = reqwest::Url::parse(&template)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("/{}{path}", persona.name)
}

impl SamlIdp {
    /// The IdP of `persona` over `directory`, signing with `credential`.
    pub fn new(
        persona: Persona,
        directory: Arc<Directory>,
        credential: SamlCredential,
        config: SamlIdpConfig,
    ) -> SamlIdp {
        let entity_id = persona
            .saml
            .entity_id
            .value
            .replace("{tenant}", &config.tenant);
        let sso_path = local_sso_path(&persona, &config.tenant);
        SamlIdp {
            persona,
            directory,
            credential,
            config,
            entity_id,
            sso_path,
            pending: Mutex::default(),
        }
    }

    /// The IdP's entity ID (the `Issuer` of its Responses).
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// The SSO endpoint (both bindings).
    pub fn sso_url(&self) -> String {
        format!("{}{}", self.base(), self.sso_path)
    }

    /// The Single Logout endpoint (HTTP-Redirect), when the persona offers one: the SSO URL,
    /// which takes LogoutRequests too, as Entra's does (personas.md §1.2).
    pub fn slo_url(&self) -> Option<String> {
        self.offers_logout().then(|| self.sso_url())
    }

    /// The metadata document's URL.
    pub fn metadata_url(&self) -> String {
        format!("{}/metadata", self.sso_url())
    }

    /// The URL that starts an IdP-initiated login: `?sp=ENTITY_ID` and, for an SP that is not
    /// registered, `&acs=URL`; `login_hint` and `RelayState` are optional.
    pub fn initiate_url(&self) -> String {
        format!("{}/initiate", self.sso_url())
    }

    /// The signing certificate as PEM.
    pub fn certificate_pem(&self) -> &str {
        self.credential.certificate_pem()
    }

    fn base(&self) -> &str {
        self.config.base_url.trim_end_matches('/')
    }

    fn now(&self) -> DateTime<Utc> {
        (self.config.clock)()
    }

    /// The IdP's routes.
    pub fn router(self: Arc<Self>) -> Router {
        let sso = self.sso_path.clone();
        let routes = Router::new()
            .route(&sso, get(sso_redirect).post(sso_post))
            .route(&format!("{sso}/metadata"), get(metadata))
            .route(&format!("{sso}/login"), axum::routing::post(login))
            .route(&format!("{sso}/initiate"), get(initiate))
            .with_state(self);
        crate::http::guarded(routes)
    }

    /// The metadata document (SAML metadata §2.4.3): entity ID, signing certificate, NameID
    /// format, the SSO endpoint for both bindings.
    pub fn metadata_xml(&self) -> String {
        let sso = escape(&self.sso_url());
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{entity}\">\
             <md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" \
             protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
             <md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\
             <ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data>\
             </ds:KeyInfo></md:KeyDescriptor>\
             {logout}<md:NameIDFormat>{format}</md:NameIDFormat>\
             <md:SingleSignOnService Binding=\"{REDIRECT_BINDING}\" Location=\"{sso}\"/>\
             <md:SingleSignOnService Binding=\"{POST_BINDING}\" Location=\"{sso}\"/>\
             </md:IDPSSODescriptor></md:EntityDescriptor>\n",
            entity = escape(&self.entity_id),
            certificate = self.credential.certificate_base64(),
            format = escape(&self.persona.saml.name_id_format.value),
            logout = if self.offers_logout() {
                format!(
                    "<md:SingleLogoutService Binding=\"{REDIRECT_BINDING}\" Location=\"{sso}\"/>"
                )
            } else {
                String::new()
            },
        )
    }

    /// Whether the persona offers Single Logout (its `single_logout` knob is `redirect`; Okta's
    /// `optional` needs an SP certificate uploaded first, so it is not offered by default).
    pub fn offers_logout(&self) -> bool {
        self.persona.saml.single_logout.value == "redirect"
    }

    /// Where the LogoutResponse for `entity_id` goes: the registered SP's SLO URL, or (unless
    /// strict) the one its metadata at an http(s) entity ID announces.
    async fn logout_destination(&self, entity_id: &str) -> Result<String, String> {
        if let Some(sp) = self.registered(entity_id) {
            return sp
                .slo_url
                .clone()
                .ok_or_else(|| format!("{entity_id} is registered without a single logout URL"));
        }
        if self.config.strict {
            return Err(format!(
                "the service provider {entity_id} is not registered with this IdP (strict mode)"
            ));
        }
        if !entity_id.starts_with("http://") && !entity_id.starts_with("https://") {
            return Err(format!(
                "{entity_id} is not registered and is no metadata URL, so its single logout URL is unknown"
            ));
        }
        // Anyone can send a LogoutRequest: the IdP reads an unregistered SP's metadata only on
        // this machine, never at a host the request chooses (register others with --sp).
        if !is_loopback_url(entity_id) {
            return Err(format!(
                "{entity_id} is not registered, and only an SP on this machine (127.0.0.1, ::1, \
                 localhost) has its metadata read at logout; register it with --sp"
            ));
        }
        ServiceProvider::fetch(entity_id)
            .await?
            .slo_url
            .ok_or_else(|| {
                format!("the metadata of {entity_id} has no HTTP-Redirect SingleLogoutService")
            })
    }

    /// Answers a LogoutRequest: the simulator keeps no IdP session, so signing out is
    /// answering with a successful LogoutResponse, sent to the SP over HTTP-Redirect with the
    /// RelayState unchanged (personas.md §1.2 "Single logout": Entra's Issuer is its
    /// `login.microsoftonline.com` tenant URL, not the entity ID).
    async fn handle_logout(&self, xml: &str, relay_state: Option<String>) -> Response {
        if !self.offers_logout() {
            return error_page(
                StatusCode::BAD_REQUEST,
                &format!("{} offers no single logout.", self.persona.display_name),
            );
        }
        if has_doctype(xml) {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The LogoutRequest carries a DOCTYPE; DTDs are not accepted.",
            );
        }
        let request: LogoutRequest = match xml.parse() {
            Ok(request) => request,
            Err(error) => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    &format!("The LogoutRequest cannot be read: {error}"),
                );
            }
        };
        if let Some(problem) =
            self.wrong_destination("LogoutRequest", request.destination.as_deref())
        {
            return error_page(StatusCode::BAD_REQUEST, &problem);
        }
        let Some(sp) = request
            .issuer
            .as_ref()
            .and_then(|issuer| issuer.value.clone())
        else {
            return error_page(StatusCode::BAD_REQUEST, "The LogoutRequest has no Issuer.");
        };
        let destination = match self.logout_destination(&sp).await {
            Ok(destination) => destination,
            Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
        };
        let issuer = self.persona.saml.logout_issuer.as_ref().map_or_else(
            || self.entity_id.clone(),
            |knob| knob.value.replace("{tenant}", &self.config.tenant),
        );
        let response = LogoutResponse {
            id: Some(assertion::new_id(&self.persona, &mut rand::rng())),
            in_response_to: request.id.clone(),
            version: Some("2.0".into()),
            issue_instant: Some(self.now()),
            destination: Some(destination.clone()),
            consent: None,
            issuer: Some(Issuer {
                value: Some(escape(&issuer)),
                ..Issuer::default()
            }),
            signature: None,
            status: Some(Status {
                status_code: SamlStatusCode {
                    value: Some(assertion::SUCCESS.into()),
                },
                status_message: None,
                status_detail: None,
            }),
        };
        let xml = match response.to_string() {
            Ok(xml) => xml,
            Err(error) => {
                return error_page(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string());
            }
        };
        match redirect_binding_url(&destination, "SAMLResponse", &xml, relay_state.as_deref()) {
            Ok(url) => Redirect::to(&url).into_response(),
            Err(problem) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &problem),
        }
    }

    fn registered(&self, entity_id: &str) -> Option<&ServiceProvider> {
        self.config
            .service_providers
            .iter()
            .find(|sp| sp.entity_id == entity_id)
    }

    /// Where a Response for `entity_id` goes: the registered ACS, or (unless strict) the ACS
    /// the request names.
    fn destination(&self, entity_id: &str, requested_acs: Option<&str>) -> Result<String, String> {
        match (self.registered(entity_id), requested_acs) {
            (Some(sp), None) => Ok(sp.acs_url.clone()),
            (Some(sp), Some(acs)) if sp.acs_url == acs => Ok(acs.to_owned()),
            (Some(sp), Some(acs)) => Err(format!(
                "the ACS URL {acs} is not the one registered for {entity_id} ({})",
                sp.acs_url
            )),
            (None, _) if self.config.strict => Err(format!(
                "the service provider {entity_id} is not registered with this IdP (strict mode)"
            )),
            (None, Some(acs)) => match reqwest::Url::parse(acs) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(acs.to_owned()),
                _ => Err(format!("the ACS URL {acs} is not an http(s) URL")),
            },
            (None, None) => Err(format!(
                "the request names no ACS URL and {entity_id} is not registered"
            )),
        }
    }

    /// Signs `user` in for `login`: the auto-submitting form that posts the Response.
    fn respond(&self, login: &PendingLogin, user: &DirectoryUser) -> Response {
        let issuing = Issuing {
            persona: &self.persona,
            entity_id: &self.entity_id,
            tenant: &self.config.tenant,
            credential: &self.credential,
        };
        let xml = assertion::signed_response(
            issuing,
            &self.directory,
            user,
            &login.audience,
            self.now(),
            &mut rand::rng(),
        );
        match xml {
            Ok(xml) => Html(post_form(
                &login.audience.acs_url,
                &STANDARD.encode(xml),
                login.relay_state.as_deref(),
            ))
            .into_response(),
            Err(error) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
        }
    }

    /// Continues a login: test mode signs the hinted user in, otherwise the sign-in page.
    fn start(&self, login: PendingLogin, login_hint: Option<&str>) -> Response {
        if self.config.auto_login
            && let Some(user) = login_hint
                .and_then(|hint| signin::user_by_sign_in_name(&self.persona, &self.directory, hint))
        {
            let credentials = signin::Credentials {
                user: Some(user.key.clone()),
                ..signin::Credentials::default()
            };
            return match signin::authenticate(&self.persona, &self.directory, &credentials) {
                Ok(user) => self.respond(&login, user),
                Err(problem) => self.page(&self.remember(login), login_hint, Some(&problem)),
            };
        }
        let token = self.remember(login);
        self.page(&token, login_hint, None)
    }

    fn remember(&self, login: PendingLogin) -> String {
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        let now = self.now();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|_, waiting| now - waiting.started < PENDING_LIFETIME);
        pending.insert(token.clone(), login);
        token
    }

    fn page(&self, token: &str, login_hint: Option<&str>, problem: Option<&str>) -> Response {
        Html(signin::sign_in(
            &self.persona,
            &self.directory,
            &format!("{}/login", self.sso_path),
            &[("pending", Some(token))],
            login_hint,
            problem,
        ))
        .into_response()
    }

    /// Why a message naming `destination` must be discarded: SAML Core §3.2.1, a Destination
    /// that is not where the message was received (this IdP's SSO URL), unless the persona
    /// ignores it as Entra does.
    fn wrong_destination(&self, message: &str, destination: Option<&str>) -> Option<String> {
        if self
            .persona
            .saml
            .ignores_destination
            .as_ref()
            .is_some_and(|knob| knob.value)
        {
            return None;
        }
        let sso_url = self.sso_url();
        destination
            .filter(|destination| *destination != sso_url)
            .map(|destination| {
                format!(
                    "The {message}'s Destination {destination} is not this IdP's SSO URL \
                     {sso_url} (SAML Core §3.2.1: such a request is discarded)."
                )
            })
    }

    /// Reads an AuthnRequest and starts its login.
    fn handle_request(
        &self,
        xml: &str,
        relay_state: Option<String>,
        login_hint: Option<&str>,
    ) -> Response {
        let request = match parse_authn_request(xml) {
            Ok(request) => request,
            Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
        };
        if let Some(problem) =
            self.wrong_destination("AuthnRequest", request.destination.as_deref())
        {
            return error_page(StatusCode::BAD_REQUEST, &problem);
        }
        let Some(sp) = request
            .issuer
            .as_ref()
            .and_then(|issuer| issuer.value.clone())
        else {
            return error_page(StatusCode::BAD_REQUEST, "The AuthnRequest has no Issuer.");
        };
        let acs_url = match self.destination(&sp, request.assertion_consumer_service_url.as_deref())
        {
            Ok(acs_url) => acs_url,
            Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
        };
        let login = PendingLogin {
            audience: Audience {
                entity_id: sp,
                acs_url,
                in_response_to: Some(request.id),
                name_id_format: request
                    .name_id_policy
                    .as_ref()
                    .and_then(|policy| policy.format.clone()),
            },
            relay_state,
            started: self.now(),
        };
        if let Err(problem) =
            assertion::name_id_rule(&self.persona, login.audience.name_id_format.as_deref())
        {
            return self.respond_with_error(&login, ("Requester", "InvalidNameIDPolicy"), &problem);
        }
        // The simulator keeps no IdP session, so only test mode can sign in without a page.
        if request.is_passive == Some(true) && !self.config.auto_login {
            return self.respond_with_error(
                &login,
                ("Responder", "NoPassive"),
                "The user must sign in, and the request is passive.",
            );
        }
        self.start(login, login_hint)
    }

    /// Posts an error Response for `login` to its ACS (SAML Core §3.2.2.2).
    fn respond_with_error(
        &self,
        login: &PendingLogin,
        status: (&str, &str),
        message: &str,
    ) -> Response {
        let xml = assertion::error_response(
            &self.persona,
            &self.entity_id,
            &login.audience,
            status,
            message,
            self.now(),
            &mut rand::rng(),
        );
        Html(post_form(
            &login.audience.acs_url,
            &STANDARD.encode(xml),
            login.relay_state.as_deref(),
        ))
        .into_response()
    }
}

/// An AuthnRequest's text parsed; DTDs are refused before anything reads the document, and
/// the document must be a SAML 2.0 `samlp:AuthnRequest` (SAML Core §3.4.1).
fn parse_authn_request(xml: &str) -> Result<AuthnRequest, String> {
    if has_doctype(xml) {
        return Err("The AuthnRequest carries a DOCTYPE; DTDs are not accepted.".into());
    }
    let root = root_element(xml).ok_or("The SAMLRequest is not an XML document.")?;
    if root.local_name != "AuthnRequest" || !root.in_protocol_namespace {
        return Err(format!(
            "The SAMLRequest is a {}, not an AuthnRequest of the SAML 2.0 protocol namespace \
             ({PROTOCOL_NAMESPACE}).",
            root.local_name
        ));
    }
    let request: AuthnRequest = xml
        .parse()
        .map_err(|error| format!("The AuthnRequest cannot be read: {error}"))?;
    if request.version != "2.0" {
        return Err(format!(
            "The AuthnRequest's Version is {:?}; this IdP speaks SAML 2.0 (SAML Core §3.2.2.2, \
             VersionMismatch).",
            request.version
        ));
    }
    if request.id.is_empty() || request.id.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("The AuthnRequest's ID is empty or starts with a digit.".into());
    }
    Ok(request)
}

/// Whether the document declares a DTD (the door to entity expansion and external entities).
pub(crate) fn has_doctype(xml: &str) -> bool {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::DocType(_)) => return true,
            Ok(quick_xml::events::Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// Whether `url` names a host on this machine: `localhost` or a loopback address.
fn is_loopback_url(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|address| address.is_loopback())
    })
}

/// A base64 `SAMLRequest` of the HTTP-Redirect binding (raw DEFLATE) as text.
fn inflate(encoded: &str) -> Result<String, String> {
    let compressed = STANDARD
        .decode(encoded.trim())
        .map_err(|error| format!("SAMLRequest is not base64: {error}"))?;
    let inflated = read_at_most(
        flate2::read::DeflateDecoder::new(compressed.as_slice()),
        MAX_REQUEST_BYTES,
    )
    .map_err(|error| match error {
        BoundedReadError::Io(error) => format!("SAMLRequest is not DEFLATE-compressed: {error}"),
        BoundedReadError::TooLarge => format!(
            "SAMLRequest inflates to over {} KiB",
            MAX_REQUEST_BYTES / 1024
        ),
    })?;
    String::from_utf8(inflated).map_err(|_| "SAMLRequest is not UTF-8 text".to_owned())
}

/// The query or form of a request to the SSO endpoint.
#[derive(Debug, serde::Deserialize)]
struct SsoParameters {
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
    login_hint: Option<String>,
}

async fn sso_redirect(
    State(idp): State<Arc<SamlIdp>>,
    Query(query): Query<SsoParameters>,
) -> Response {
    let Some(encoded) = query.saml_request else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The request carries no SAMLRequest.",
        );
    };
    let xml = match inflate(&encoded) {
        Ok(xml) => xml,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    // Entra takes LogoutRequests at its SSO URL too (personas.md §1.2).
    if is_logout_request(&xml) {
        return idp.handle_logout(&xml, query.relay_state).await;
    }
    idp.handle_request(&xml, query.relay_state, query.login_hint.as_deref())
}

/// The SAML 2.0 protocol namespace, of AuthnRequest and LogoutRequest.
const PROTOCOL_NAMESPACE: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// The root element of a message: its local name, and whether it is in the SAML 2.0
/// protocol namespace.
#[derive(Debug, PartialEq, Eq)]
struct Root {
    local_name: String,
    in_protocol_namespace: bool,
}

/// The document's root element.
fn root_element(xml: &str) -> Option<Root> {
    use quick_xml::events::Event;
    use quick_xml::name::{Namespace, ResolveResult};
    let mut reader = quick_xml::NsReader::from_str(xml);
    loop {
        match reader.read_resolved_event() {
            Ok((namespace, Event::Start(start) | Event::Empty(start))) => {
                return Some(Root {
                    local_name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    in_protocol_namespace: namespace
                        == ResolveResult::Bound(Namespace(PROTOCOL_NAMESPACE.as_bytes())),
                });
            }
            Ok((_, Event::Eof)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Whether the message is a SAML 2.0 LogoutRequest.
fn is_logout_request(xml: &str) -> bool {
    root_element(xml)
        .is_some_and(|root| root.in_protocol_namespace && root.local_name == "LogoutRequest")
}

/// `destination` with a message of the HTTP-Redirect binding (SAML Bindings §3.4.4.1: raw
/// DEFLATE, base64, URL-encoded) in `parameter`, and the RelayState.
fn redirect_binding_url(
    destination: &str,
    parameter: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> Result<String, String> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(xml.as_bytes())
        .map_err(|error| error.to_string())?;
    let compressed = encoder.finish().map_err(|error| error.to_string())?;
    let mut url = reqwest::Url::parse(destination)
        .map_err(|error| format!("{destination} is not a URL: {error}"))?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair(parameter, &STANDARD.encode(compressed));
        if let Some(relay_state) = relay_state {
            query.append_pair("RelayState", relay_state);
        }
    }
    Ok(url.to_string())
}

async fn sso_post(State(idp): State<Arc<SamlIdp>>, Form(form): Form<SsoParameters>) -> Response {
    let Some(encoded) = form.saml_request else {
        return error_page(StatusCode::BAD_REQUEST, "The form carries no SAMLRequest.");
    };
    let xml = STANDARD
        .decode(encoded.trim())
        .map_err(|error| format!("SAMLRequest is not base64: {error}"))
        .and_then(|bytes| {
            // The same bound as a request inflated from the HTTP-Redirect binding.
            if bytes.len() as u64 > MAX_REQUEST_BYTES {
                return Err(format!(
                    "SAMLRequest is over {} KiB",
                    MAX_REQUEST_BYTES / 1024
                ));
            }
            String::from_utf8(bytes).map_err(|_| "SAMLRequest is not UTF-8 text".to_owned())
        });
    match xml {
        Ok(xml) if is_logout_request(&xml) => idp.handle_logout(&xml, form.relay_state).await,
        Ok(xml) => idp.handle_request(&xml, form.relay_state, form.login_hint.as_deref()),
        Err(problem) => error_page(StatusCode::BAD_REQUEST, &problem),
    }
}

async fn metadata(State(idp): State<Arc<SamlIdp>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        idp.metadata_xml(),
    )
        .into_response()
}

/// What starts an IdP-initiated login.
#[derive(Debug, serde::Deserialize)]
struct InitiateQuery {
    sp: Option<String>,
    acs: Option<String>,
    login_hint: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

async fn initiate(State(idp): State<Arc<SamlIdp>>, Query(query): Query<InitiateQuery>) -> Response {
    if !idp.persona.saml.idp_initiated.value {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!(
                "{} does not send IdP-initiated responses.",
                idp.persona.display_name
            ),
        );
    }
    let Some(sp) = query.sp else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Name the service provider with ?sp=ENTITY_ID.",
        );
    };
    let acs_url = match idp.destination(&sp, query.acs.as_deref()) {
        Ok(acs_url) => acs_url,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, &problem),
    };
    let login = PendingLogin {
        audience: Audience {
            entity_id: sp,
            acs_url,
            in_response_to: None,
            name_id_format: None,
        },
        relay_state: query.relay_state,
        started: idp.now(),
    };
    idp.start(login, query.login_hint.as_deref())
}

/// The sign-in form with its pending login.
#[derive(Debug, serde::Deserialize)]
struct SignIn {
    #[serde(default)]
    pending: String,
    #[serde(flatten)]
    credentials: signin::Credentials,
}

async fn login(State(idp): State<Arc<SamlIdp>>, Form(form): Form<SignIn>) -> Response {
    let now = idp.now();
    let login = idp
        .pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&form.pending)
        .filter(|login| now - login.started < PENDING_LIFETIME)
        .cloned();
    let Some(login) = login else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired or was already used; start again at the application.",
        );
    };
    match signin::authenticate(&idp.persona, &idp.directory, &form.credentials) {
        Ok(user) => {
            idp.pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&form.pending);
            idp.respond(&login, user)
        }
        Err(problem) => idp.page(
            &form.pending,
            form.credentials.username.as_deref(),
            Some(&problem),
        ),
    }
}

/// The page that posts a Response to the ACS (SAML bindings §3.5.4): it submits itself, and a
/// button does the same without JavaScript.
fn post_form(acs_url: &str, response: &str, relay_state: Option<&str>) -> String {
    let relay = relay_state
        .map(|state| {
            format!(
                "<input type=\"hidden\" name=\"RelayState\" value=\"{}\">",
                escape(state)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signing in…</title></head>\
         <body onload=\"document.forms[0].submit()\"><p>idpsim simulator: posting the SAML response.</p>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"SAMLResponse\" value=\"{response}\">{relay}\
         <noscript><button type=\"submit\">Continue</button></noscript></form></body></html>\n",
        action = escape(acs_url),
    )
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (status, Html(signin::error(message))).into_response()
}
