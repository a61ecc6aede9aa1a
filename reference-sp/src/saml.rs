//! Sign-in at the reference SP with SAML 2.0 (Web Browser SSO profile, SAML Profiles §4.1), as
//! a careful service provider does. The SP publishes its metadata, starts sign-ins with an
//! unsigned AuthnRequest over the HTTP-Redirect binding, and takes responses over HTTP-POST at
//! its assertion consumer service (ACS). A verified login becomes a session exactly as an
//! OpenID Connect one does (see `sso`): the same matching to SCIM users, the same
//! `ScimUserNotActive` refusal, the same cookie and `/whoami`.
//!
//! What the ACS checks, in this order; each refusal names its own reason, in the log and in
//! the 401 answer:
//! - `SAMLResponse` is base64 of UTF-8 XML, and the XML is scanned before libxml2 sees it: a
//!   DOCTYPE (so any DTD or entity declaration) is refused, as are entity references other
//!   than the predefined ones, comments (excluded from the signed digest, they can split a
//!   signed value), processing instructions and declared encodings other than UTF-8.
//! - The document is a protocol `Response` holding exactly one `Assertion`, a direct child,
//!   with no `EncryptedAssertion`; every `ID` is unique; each `Signature` is a child of the
//!   Response or the Assertion, has one Reference and that Reference names its parent (so a
//!   signed element cannot be moved into a wrapper while an unsigned one takes its place);
//!   only RSA-SHA256 with SHA-256 digests is accepted.
//! - A Status other than Success is refused with its code.
//! - An assertion ID seen before (kept until its validity ends) is refused as replayed.
//! - Destination, when present, is the ACS URL; the Response's Issuer is the IdP's.
//! - InResponseTo names a pending AuthnRequest of this connection (single use, 10 minutes)
//!   and the RelayState is the one sent with it; a response without InResponseTo is
//!   IdP-initiated and goes on only when the connection's [`IdpInitiatedPolicy`] is not
//!   `Refuse`. Under `StartSpInitiated` it is checked like any other response and then not
//!   used to sign in: the SP answers with a redirect (303) to its own login of the connection,
//!   the NameID as `login_hint`, so the user signs in through an SP-initiated flow (seed 004).
//! - The signature (over the Response, the Assertion, or both: each IdP has its default,
//!   personas.md §6.2) verifies with one of the
//!   connection's certificates (samael with libxmlsec1, `ReduceMode::ValidateAndMarkNoAncestors`:
//!   only the signed element is read) and samael's own checks pass; its time checks are left
//!   to this module, which takes the time from its caller.
//! - In the signed assertion: Issuer is the IdP's; IssueInstant is not in the future;
//!   Conditions are present, NotBefore and NotOnOrAfter hold (60 s of skew); every
//!   AudienceRestriction names the SP's entity ID (and there is one); a bearer
//!   SubjectConfirmation has Recipient = the ACS URL, a NotOnOrAfter still ahead and the
//!   InResponseTo of the Response; the NameID is not empty.
//!
//! Single logout (SAML Profiles §4.4) is over the HTTP-Redirect binding only, the one Entra
//! offers (personas.md §1.2 "Single logout", §6.2 "SLO"), for connections with an
//! `idp_slo_url`; the metadata announces the SP's service at `/sso/saml/{id}/slo`. The SP's
//! own messages are unsigned (it has no signing key); messages go through the same scan as
//! responses at the ACS before they are read: no DOCTYPE, entity reference other than the
//! predefined ones, comment or processing instruction.
//! - SP-initiated: `GET /logout` of a SAML session ends it at once, then sends the browser to
//!   the IdP with a LogoutRequest (the session's NameID with its Format, its SessionIndex),
//!   pending for 10 minutes. The IdP's LogoutResponse is accepted once, when its InResponseTo
//!   names a pending LogoutRequest of this connection and its Status is Success. Its Issuer is
//!   logged, not checked: Entra's is not its assertion issuer; the InResponseTo binds it.
//! - IdP-initiated: a LogoutRequest signed by the IdP (SAML Profiles §4.4.4.1; RSA-SHA256 over
//!   the query, SAML Bindings §3.4.4.1, by one of the connection's certificates) whose Issuer
//!   is the IdP's entity ID ends every session of the connection with its NameID (and one of
//!   its SessionIndexes, when it names any); the SP answers with a successful LogoutResponse,
//!   the RelayState passed back unchanged.
//! - A Destination, when present, must be the SP's single logout URL. Each refusal answers 400
//!   with its reason, also logged; a connection without `idp_slo_url` refuses every message.

use crate::matching::MatchingStrategy;
use crate::policy::{AccountRefusal, GROUPS_CLAIM, IdpInitiatedPolicy};
use crate::report::Pairing;
use crate::sso::{Login, LoginQuery, Session, Sso, random_token};
use axum::Router;
use axum::extract::{Form, Path, Query, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, Writer, XmlVersion};
use samael::crypto::{AllowedSignatureAlgorithm, ReduceMode};
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::Endpoint;
use samael::metadata::{
    EntityDescriptor, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING, IdpSsoDescriptor, IndexedEndpoint,
    KeyDescriptor, SpSsoDescriptor,
};
use samael::schema::{Assertion, AuthnRequest, Issuer, LogoutResponse, Status};
use samael::service_provider::{Error as SamaelError, ServiceProviderBuilder};
use samael::traits::ToXml;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

mod redirect;

/// The SAML 2.0 protocol namespace.
const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// The SAML 2.0 assertion namespace.
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// The XML Signature namespace.
const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The one signature algorithm accepted.
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// The one digest algorithm accepted.
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// The status of a successful response.
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// The bearer subject confirmation method (SAML Profiles §4.1.4.2).
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// How long a sent AuthnRequest may wait for its response.
const PENDING_LIFETIME: Duration = Duration::minutes(10);
/// How far apart the IdP's clock and ours may be.
const CLOCK_SKEW: Duration = Duration::seconds(60);
/// samael's own time tolerances, wide enough that its checks never decide: this module checks
/// the times itself, against the time it is given.
const SAMAEL_TOLERANCE: Duration = Duration::days(36_500);

/// A SAML 2.0 identity provider the SP signs users in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlConnection {
    /// The connection's id, in the SP's URLs: `/sso/saml/{id}/login`, `/acs`, `/metadata`.
    pub id: String,
    /// The IdP's entity ID: the Issuer its responses and assertions must carry.
    pub idp_entity_id: String,
    /// The IdP's single sign-on URL, where AuthnRequests go (HTTP-Redirect binding).
    pub idp_sso_url: String,
    /// The IdP's signing certificates (PEM X.509), several during a rollover (personas.md
    /// §1.2); at least one.
    pub idp_certificates: Vec<String>,
    /// The organization whose SCIM directory the connection is paired with; without one,
    /// logins are not matched to SCIM users.
    pub organization: Option<String>,
    /// How a login is matched to a SCIM user of the organization.
    pub matching: MatchingStrategy,
    /// Matching claim (`email`, `preferred_username`, `oid`) → the name of the SAML Attribute
    /// carrying it, e.g. Entra's `.../claims/emailaddress` (personas.md §1.2, §6.2); `sub` is
    /// always the NameID. `groups` names the attribute listing the user's groups, every value
    /// kept (JumpCloud's `memberOf`, seed 000, personas.md §3.2), which teams are linked to.
    pub claim_attributes: BTreeMap<String, String>,
    /// What an unsolicited (IdP-initiated) response does: sign in, be refused (seed 001), or
    /// start an SP-initiated sign-in (seed 004); personas.md §1.2.
    pub idp_initiated: IdpInitiatedPolicy,
    /// The IdP's single logout service (HTTP-Redirect binding): where the SP sends its
    /// LogoutRequests and LogoutResponses. `None` when the IdP offers no single logout, as
    /// Google (personas.md §1.2 "Single logout", §6.2 "SLO").
    pub idp_slo_url: Option<String>,
}

/// Why a SAML connection cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlConnectionError {
    /// No IdP certificate: its responses could not be verified.
    #[error("the SAML connection `{0}` has no IdP signing certificate")]
    NoCertificate(String),
    /// A certificate is not a PEM X.509 certificate.
    #[error("IdP certificate {index} of the SAML connection `{connection}` is unusable: {reason}")]
    Certificate {
        /// The connection's id.
        connection: String,
        /// The certificate's position in `idp_certificates`.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// A connection with its certificates decoded.
#[derive(Debug)]
struct Configured {
    connection: SamlConnection,
    /// The certificates' DER, base64 (as in metadata `X509Certificate`).
    certificates: Vec<String>,
}

/// An AuthnRequest sent to the IdP whose response has not come back.
#[derive(Debug, Clone)]
struct PendingRequest {
    connection: String,
    relay_state: String,
    sent: DateTime<Utc>,
}

/// A LogoutRequest sent to the IdP whose LogoutResponse has not come back.
#[derive(Debug, Clone)]
struct PendingLogout {
    connection: String,
    sent: DateTime<Utc>,
}

/// What the SAML routes share.
#[derive(Clone)]
pub(crate) struct Saml(Arc<SamlShared>);

pub(crate) struct SamlShared {
    sso: Sso,
    connections: RwLock<HashMap<String, Arc<Configured>>>,
    /// By AuthnRequest ID.
    pending: Mutex<HashMap<String, PendingRequest>>,
    /// Assertion ID → when it may be forgotten.
    seen: Mutex<HashMap<String, DateTime<Utc>>>,
    /// By LogoutRequest ID.
    logouts: Mutex<HashMap<String, PendingLogout>>,
}

impl Saml {
    /// SAML sign-in state, making its sessions through `sso`, whose `/logout` goes on to the
    /// IdP's single logout service for SAML sessions.
    pub(crate) fn new(sso: Sso) -> Saml {
        let shared = Arc::new(SamlShared {
            sso,
            connections: RwLock::default(),
            pending: Mutex::default(),
            seen: Mutex::default(),
            logouts: Mutex::default(),
        });
        // Weak: the sign-in state must not keep this one (and its store handle) alive.
        let weak = Arc::downgrade(&shared);
        shared.sso.set_single_logout(Box::new(move |session| {
            let saml = Saml(weak.upgrade()?);
            let now = saml.0.sso.now();
            start_logout(&saml, session, now)
        }));
        Saml(shared)
    }

    /// Adds (or replaces) a connection after checking its certificates.
    pub(crate) fn add_connection(
        &self,
        connection: SamlConnection,
    ) -> Result<(), SamlConnectionError> {
        if connection.idp_certificates.is_empty() {
            return Err(SamlConnectionError::NoCertificate(connection.id));
        }
        let certificates = connection
            .idp_certificates
            .iter()
            .enumerate()
            .map(|(index, pem)| {
                pem_to_base64_der(pem).map_err(|reason| SamlConnectionError::Certificate {
                    connection: connection.id.clone(),
                    index,
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.0
            .connections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                connection.id.clone(),
                Arc::new(Configured {
                    connection,
                    certificates,
                }),
            );
        Ok(())
    }

    /// Removes the connection `id`, if there is one; sessions it started go on.
    pub(crate) fn remove_connection(&self, id: &str) {
        self.0
            .connections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// What the SAML connection `id` is paired with, for the matching report.
    pub(crate) fn pairing(&self, id: &str) -> Option<Pairing> {
        let configured = self.connection(id).ok()?;
        Some(Pairing {
            protocol: "saml",
            organization: configured.connection.organization.clone(),
            matching: configured.connection.matching,
        })
    }

    /// The SP's entity ID for `connection`: its metadata URL.
    pub(crate) fn entity_id(&self, connection: &str) -> String {
        format!("{}/sso/saml/{connection}/metadata", self.0.sso.origin())
    }

    /// The SP's assertion consumer service URL for `connection`.
    pub(crate) fn acs_url(&self, connection: &str) -> String {
        format!("{}/sso/saml/{connection}/acs", self.0.sso.origin())
    }

    /// The SP's single logout service URL for `connection` (HTTP-Redirect binding).
    pub(crate) fn slo_url(&self, connection: &str) -> String {
        format!("{}/sso/saml/{connection}/slo", self.0.sso.origin())
    }

    fn connection(&self, id: &str) -> Result<Arc<Configured>, Refusal> {
        self.0
            .connections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| Refusal::UnknownConnection(id.to_owned()))
    }

    /// The routes: metadata, login, ACS, single logout.
    pub(crate) fn router(self) -> Router {
        Router::new()
            .route("/sso/saml/{connection}/metadata", get(metadata))
            .route("/sso/saml/{connection}/login", get(login))
            .route("/sso/saml/{connection}/acs", post(acs))
            .route("/sso/saml/{connection}/slo", get(slo))
            .with_state(self)
    }
}

/// The base64 DER of the one certificate in `pem`.
fn pem_to_base64_der(pem: &str) -> Result<String, String> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN CERTIFICATE-----")
        .and_then(|rest| rest.strip_suffix("-----END CERTIFICATE-----"))
        .ok_or("not a single PEM CERTIFICATE block")?;
    let base64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD
        .decode(&base64)
        .map_err(|error| format!("bad base64: {error}"))?;
    // An X.509 certificate is a DER SEQUENCE.
    if der.first() != Some(&0x30) {
        return Err("not DER X.509".into());
    }
    Ok(base64)
}

/// Why a SAML sign-in was refused.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("no SAML connection `{0}`")]
    UnknownConnection(String),
    #[error("the AuthnRequest could not be made: {0}")]
    Request(String),
    #[error("the POST carries no `{0}`")]
    Missing(&'static str),
    #[error("SAMLResponse is not base64 of UTF-8 XML: {0}")]
    Encoding(String),
    #[error(
        "{parameter} is not base64 of raw DEFLATE of UTF-8 XML (HTTP-Redirect binding): {reason}"
    )]
    Redirect {
        parameter: &'static str,
        reason: String,
    },
    #[error("DOCTYPE/DTD not allowed in a SAML message (entities are never loaded)")]
    Doctype,
    #[error("the SAML message is not well-formed XML: {0}")]
    Malformed(String),
    #[error("the SAML message contains {0}, which is not allowed")]
    Forbidden(String),
    #[error("the document is a `{found}`, not a SAML protocol {expected}")]
    WrongDocument {
        found: String,
        expected: &'static str,
    },
    #[error("XML signature wrapping: {0}")]
    Wrapping(String),
    #[error("encrypted assertions are not accepted (the SP publishes no encryption key)")]
    Encrypted,
    #[error("the IdP answered with status {code}{message}")]
    Status { code: String, message: String },
    #[error("the response carries no assertion")]
    NoAssertion,
    #[error("replayed assertion: {0} was already used")]
    Replayed(String),
    #[error("wrong destination: {found:?} is not the {endpoint} URL {expected}")]
    WrongDestination {
        found: Option<String>,
        expected: String,
        endpoint: &'static str,
    },
    #[error("wrong issuer: {found:?} is not the IdP's entity ID {expected}")]
    WrongIssuer {
        found: Option<String>,
        expected: String,
    },
    #[error(
        "unknown InResponseTo {id:?}: no pending {request} has this ID (unknown, already used \
         or expired)"
    )]
    UnknownInResponseTo { id: String, request: &'static str },
    #[error("InResponseTo {id} answers {request} of connection `{issued}`, not `{used}`")]
    WrongConnection {
        id: String,
        request: &'static str,
        issued: String,
        used: String,
    },
    #[error("the RelayState is not the one sent with the AuthnRequest")]
    RelayState,
    #[error("unsolicited response: the connection does not accept IdP-initiated sign-in")]
    Unsolicited,
    #[error("InResponseTo mismatch: {0}")]
    InResponseTo(String),
    #[error("unsigned: neither the Response nor the Assertion is signed")]
    Unsigned,
    #[error("signature algorithm not allowed: {0} (only RSA-SHA256 with SHA-256 digests)")]
    Algorithm(String),
    #[error("bad signature: {0}")]
    BadSignature(&'static str),
    #[error("the assertion has no Conditions")]
    NoConditions,
    #[error("wrong audience: {0}")]
    WrongAudience(String),
    #[error("wrong recipient: {found:?} is not the ACS URL {expected}")]
    WrongRecipient {
        found: Option<String>,
        expected: String,
    },
    #[error("expired: {0}")]
    Expired(String),
    #[error("not yet valid: {0}")]
    NotYetValid(String),
    #[error("no usable bearer SubjectConfirmation: {0}")]
    SubjectConfirmation(String),
    #[error("the assertion has no NameID")]
    NoNameId,
    #[error("the response was refused: {0}")]
    Invalid(String),
    #[error("{0}")]
    Account(AccountRefusal),
    #[error("unsolicited response for {0}: the connection starts an SP-initiated sign-in instead")]
    StartSpInitiated(String),
    #[error("the IdP has no single logout endpoint")]
    NoSingleLogout,
    #[error("the request carries neither SAMLRequest nor SAMLResponse")]
    NoLogoutMessage,
    #[error("the request carries both SAMLRequest and SAMLResponse")]
    TwoLogoutMessages,
    #[error("unusable logout message: {0}")]
    Logout(String),
}

fn refuse(refusal: &Refusal) -> Response {
    tracing::warn!(reason = %refusal, "SAML sign-in refused");
    let status = match refusal {
        Refusal::UnknownConnection(_) => StatusCode::NOT_FOUND,
        Refusal::Request(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Refusal::Account(refusal) => refusal.status(),
        _ => StatusCode::UNAUTHORIZED,
    };
    (status, format!("Sign-in refused: {refusal}\n")).into_response()
}

async fn metadata(State(saml): State<Saml>, Path(connection_id): Path<String>) -> Response {
    let made = saml.connection(&connection_id).and_then(|configured| {
        let id = &configured.connection.id;
        let descriptor = EntityDescriptor {
            entity_id: Some(saml.entity_id(id)),
            sp_sso_descriptors: Some(vec![SpSsoDescriptor {
                protocol_support_enumeration: Some(PROTOCOL_NS.to_owned()),
                authn_requests_signed: Some(false),
                want_assertions_signed: Some(true),
                single_logout_services: Some(vec![Endpoint {
                    binding: HTTP_REDIRECT_BINDING.to_owned(),
                    location: saml.slo_url(id),
                    response_location: None,
                }]),
                assertion_consumer_services: vec![IndexedEndpoint {
                    binding: HTTP_POST_BINDING.to_owned(),
                    location: saml.acs_url(id),
                    response_location: None,
                    index: 0,
                    is_default: Some(true),
                }],
                ..SpSsoDescriptor::default()
            }]),
            ..EntityDescriptor::default()
        };
        descriptor
            .to_string()
            .map_err(|error| Refusal::Request(format!("the metadata: {error}")))
    });
    match made {
        Ok(xml) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml"),
            )],
            xml,
        )
            .into_response(),
        Err(refusal) => refuse(&refusal),
    }
}

async fn login(
    State(saml): State<Saml>,
    Path(connection_id): Path<String>,
    Query(query): Query<LoginQuery>,
) -> Response {
    match start_login(
        &saml,
        &connection_id,
        query.login_hint.as_deref(),
        saml.0.sso.now(),
    ) {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(refusal) => refuse(&refusal),
    }
}

/// The IdP URL carrying a new AuthnRequest (HTTP-Redirect binding, SAML Bindings §3.4).
fn start_login(
    saml: &Saml,
    connection_id: &str,
    login_hint: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, Refusal> {
    let configured = saml.connection(connection_id)?;
    let connection = &configured.connection;
    let id = message_id();
    let request = AuthnRequest {
        id: id.clone(),
        version: "2.0".to_owned(),
        issue_instant: now,
        destination: Some(connection.idp_sso_url.clone()),
        issuer: Some(Issuer {
            // samael writes Issuer text as is.
            value: Some(quick_xml::escape::escape(saml.entity_id(&connection.id)).into_owned()),
            ..Issuer::default()
        }),
        assertion_consumer_service_url: Some(saml.acs_url(&connection.id)),
        protocol_binding: Some(HTTP_POST_BINDING.to_owned()),
        ..AuthnRequest::default()
    };
    let xml = request
        .to_string()
        .map_err(|error| Refusal::Request(error.to_string()))?;
    let encoded = deflate_base64(&xml)?;
    let mut url = reqwest::Url::parse(&connection.idp_sso_url)
        .map_err(|error| Refusal::Request(format!("idp_sso_url is not a URL: {error}")))?;
    let relay_state = random_token();
    {
        let mut pairs = url.query_pairs_mut();
        pairs
            .append_pair("SAMLRequest", &encoded)
            .append_pair("RelayState", &relay_state);
        if let Some(hint) = login_hint {
            pairs.append_pair("login_hint", hint);
        }
    }
    let mut pending = saml
        .0
        .pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    pending.retain(|_, request| now - request.sent < PENDING_LIFETIME);
    pending.insert(
        id,
        PendingRequest {
            connection: connection.id.clone(),
            relay_state,
            sent: now,
        },
    );
    Ok(url.to_string())
}

/// A new protocol message ID: `_` and 20 random bytes in hex (an xs:ID must not start with a
/// digit).
fn message_id() -> String {
    std::iter::once("_".to_owned())
        .chain(
            rand::random::<[u8; 20]>()
                .iter()
                .map(|b| format!("{b:02x}")),
        )
        .collect()
}

/// `xml` as the HTTP-Redirect binding carries it, before URL encoding: raw DEFLATE, then
/// base64 (SAML Bindings §3.4.4.1).
fn deflate_base64(xml: &str) -> Result<String, Refusal> {
    let mut deflate =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflate
        .write_all(xml.as_bytes())
        .map_err(|error| Refusal::Request(error.to_string()))?;
    let deflated = deflate
        .finish()
        .map_err(|error| Refusal::Request(error.to_string()))?;
    Ok(STANDARD.encode(deflated))
}

/// The HTTP-POST binding's form (SAML Bindings §3.5.4).
#[derive(Debug, serde::Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

async fn acs(
    State(saml): State<Saml>,
    Path(connection_id): Path<String>,
    Form(form): Form<AcsForm>,
) -> Response {
    let session = match consume(&saml, &connection_id, &form, saml.0.sso.now()) {
        Ok(login) => saml
            .0
            .sso
            .session_for(login)
            .await
            .map_err(Refusal::Account),
        Err(refusal) => Err(refusal),
    };
    match session {
        Ok(session) => saml.0.sso.start_session(session),
        Err(Refusal::StartSpInitiated(name_id)) => {
            start_sp_initiated(&saml, &connection_id, &name_id)
        }
        Err(refusal) => refuse(&refusal),
    }
}

/// The answer to a verified unsolicited response under
/// [`IdpInitiatedPolicy::StartSpInitiated`]: a redirect (303) to the SP's own login of the
/// connection with the NameID as `login_hint`, which sends a fresh AuthnRequest (seed 004).
fn start_sp_initiated(saml: &Saml, connection_id: &str, name_id: &str) -> Response {
    let login = format!("{}/sso/saml/{connection_id}/login", saml.0.sso.origin());
    match reqwest::Url::parse(&login) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("login_hint", name_id);
            tracing::info!(
                connection = %connection_id,
                %name_id,
                "unsolicited response turned into an SP-initiated sign-in"
            );
            Redirect::to(url.as_str()).into_response()
        }
        Err(error) => refuse(&Refusal::Request(format!(
            "the login URL {login} is not a URL: {error}"
        ))),
    }
}

/// Checks a posted response (see the module documentation) and returns the login it proves.
fn consume(
    saml: &Saml,
    connection_id: &str,
    form: &AcsForm,
    now: DateTime<Utc>,
) -> Result<Login, Refusal> {
    let configured = saml.connection(connection_id)?;
    let connection = &configured.connection;
    let entity_id = saml.entity_id(&connection.id);
    let acs_url = saml.acs_url(&connection.id);
    let encoded = form
        .saml_response
        .as_deref()
        .ok_or(Refusal::Missing("SAMLResponse"))?;
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|error| Refusal::Encoding(error.to_string()))?;
    let xml = String::from_utf8(bytes).map_err(|error| Refusal::Encoding(error.to_string()))?;
    let shape = scan(&xml, "Response")?;
    let envelope: samael::schema::Response = xml
        .parse()
        .map_err(|error| Refusal::Malformed(format!("not a SAML Response: {error}")))?;
    let status = envelope
        .status
        .as_ref()
        .ok_or_else(|| Refusal::Invalid("the Response has no Status".into()))?;
    if let Some(refusal) = status_refusal(status) {
        return Err(refusal);
    }
    let assertion_id = shape.assertion_id.ok_or(Refusal::NoAssertion)?;
    // Before InResponseTo is looked at: a replayed response's request is long used.
    let already_seen = saml
        .0
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&assertion_id)
        .is_some_and(|forget| now < *forget);
    if already_seen {
        return Err(Refusal::Replayed(assertion_id));
    }
    if let Some(destination) = &envelope.destination
        && *destination != acs_url
    {
        return Err(Refusal::WrongDestination {
            found: Some(destination.clone()),
            expected: acs_url,
            endpoint: "ACS",
        });
    }
    if let Some(issuer) = &envelope.issuer
        && issuer.value.as_deref() != Some(connection.idp_entity_id.as_str())
    {
        return Err(Refusal::WrongIssuer {
            found: issuer.value.clone(),
            expected: connection.idp_entity_id.clone(),
        });
    }
    let request_id = envelope.in_response_to.clone();
    match &request_id {
        Some(id) => check_pending(saml, connection, id, form.relay_state.as_deref(), now)?,
        None => match connection.idp_initiated {
            IdpInitiatedPolicy::Accept | IdpInitiatedPolicy::StartSpInitiated => {}
            IdpInitiatedPolicy::Refuse => return Err(Refusal::Unsolicited),
        },
    }
    if shape.signatures == 0 {
        return Err(Refusal::Unsigned);
    }
    let assertion = verify_signature(
        &configured,
        &xml,
        &entity_id,
        &acs_url,
        request_id.as_deref(),
    )
    .map_err(|error| {
        samael_refusal(
            error,
            &shape.key_info_certificates,
            &configured,
            &entity_id,
            &acs_url,
        )
    })?;
    if assertion.id != assertion_id {
        return Err(Refusal::Wrapping(format!(
            "the signed assertion is {}, not the response's {assertion_id}",
            assertion.id
        )));
    }
    let forget_after = check_assertion(
        &assertion,
        connection,
        &entity_id,
        &acs_url,
        request_id.as_deref(),
        now,
    )?;
    let name_id = assertion
        .subject
        .as_ref()
        .and_then(|subject| subject.name_id.as_ref())
        .filter(|name_id| !name_id.value.trim().is_empty())
        .ok_or(Refusal::NoNameId)?;
    {
        let mut seen = saml.0.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.retain(|_, forget| now < *forget);
        if seen.insert(assertion.id.clone(), forget_after).is_some() {
            return Err(Refusal::Replayed(assertion.id.clone()));
        }
    }
    if request_id.is_none() && connection.idp_initiated == IdpInitiatedPolicy::StartSpInitiated {
        return Err(Refusal::StartSpInitiated(name_id.value.clone()));
    }
    Ok(Login {
        connection: connection.id.clone(),
        protocol: "saml",
        subject: name_id.value.clone(),
        claims: claims(&assertion, connection, name_id),
        organization: connection.organization.clone(),
        matching: connection.matching,
    })
}

/// Takes the pending AuthnRequest `id` (used once, whatever happens next) and checks it was
/// sent for `connection` with this RelayState.
fn check_pending(
    saml: &Saml,
    connection: &SamlConnection,
    id: &str,
    relay_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let pending = saml
        .0
        .pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(id)
        .filter(|pending| now - pending.sent < PENDING_LIFETIME)
        .ok_or_else(|| Refusal::UnknownInResponseTo {
            id: id.to_owned(),
            request: "AuthnRequest",
        })?;
    if pending.connection != connection.id {
        return Err(Refusal::WrongConnection {
            id: id.to_owned(),
            request: "an AuthnRequest",
            issued: pending.connection,
            used: connection.id.clone(),
        });
    }
    let same = relay_state.is_some_and(|posted| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            posted.as_bytes(),
            pending.relay_state.as_bytes(),
        ))
    });
    if !same {
        return Err(Refusal::RelayState);
    }
    Ok(())
}

/// Verifies the signature(s) with samael and returns the signed assertion.
fn verify_signature(
    configured: &Configured,
    xml: &str,
    entity_id: &str,
    acs_url: &str,
    request_id: Option<&str>,
) -> Result<Assertion, SamaelError> {
    let connection = &configured.connection;
    // samael skips signature checks when the IdP metadata has no signing key: it always has.
    let idp_metadata = EntityDescriptor {
        entity_id: Some(connection.idp_entity_id.clone()),
        idp_sso_descriptors: Some(vec![IdpSsoDescriptor {
            id: None,
            valid_until: None,
            cache_duration: None,
            protocol_support_enumeration: Some(PROTOCOL_NS.to_owned()),
            error_url: None,
            signature: None,
            key_descriptors: configured
                .certificates
                .iter()
                .map(|certificate| KeyDescriptor {
                    key_use: Some("signing".to_owned()),
                    key_info: KeyInfo {
                        id: None,
                        x509_data: Some(X509Data {
                            certificates: vec![certificate.clone()],
                        }),
                    },
                    encryption_methods: None,
                })
                .collect(),
            organization: None,
            contact_people: Vec::new(),
            artifact_resolution_service: Vec::new(),
            single_logout_services: Vec::new(),
            manage_name_id_services: Vec::new(),
            name_id_formats: Vec::new(),
            want_authn_requests_signed: Some(false),
            single_sign_on_services: vec![Endpoint {
                binding: HTTP_REDIRECT_BINDING.to_owned(),
                location: connection.idp_sso_url.clone(),
                response_location: None,
            }],
            name_id_mapping_services: Vec::new(),
            assertion_id_request_services: Vec::new(),
            attribute_profiles: Vec::new(),
            attributes: Vec::new(),
        }]),
        ..EntityDescriptor::default()
    };
    let service_provider = ServiceProviderBuilder::default()
        .entity_id(entity_id.to_owned())
        .metadata_url(entity_id.to_owned())
        .acs_url(acs_url.to_owned())
        .idp_metadata(idp_metadata)
        .allow_idp_initiated(request_id.is_none())
        .max_issue_delay(SAMAEL_TOLERANCE)
        .max_clock_skew(SAMAEL_TOLERANCE)
        .allowed_signature_algorithms(vec![AllowedSignatureAlgorithm::RsaSha256])
        .build()
        .map_err(|_| SamaelError::UnexpectedError)?;
    let ids: Vec<&str> = request_id.into_iter().collect();
    service_provider.parse_xml_response_with_mode(
        xml,
        Some(&ids),
        ReduceMode::ValidateAndMarkNoAncestors,
    )
}

/// The refusal for an error of samael's.
fn samael_refusal(
    error: SamaelError,
    key_info_certificates: &[String],
    configured: &Configured,
    entity_id: &str,
    acs_url: &str,
) -> Refusal {
    match error {
        SamaelError::FailedToValidateSignature => {
            let known = |certificate: &String| {
                let der = STANDARD.decode(certificate).ok();
                configured
                    .certificates
                    .iter()
                    .any(|ours| STANDARD.decode(ours).ok() == der)
            };
            if !key_info_certificates.is_empty() && !key_info_certificates.iter().any(known) {
                Refusal::BadSignature(
                    "signed with a certificate that is not one of the connection's",
                )
            } else {
                Refusal::BadSignature(
                    "it does not verify with the connection's certificates (signed by \
                     another key, or the signed content was changed after signing)",
                )
            }
        }
        SamaelError::DestinationValidationError {
            response_destination,
            ..
        } => Refusal::WrongDestination {
            found: response_destination,
            expected: acs_url.to_owned(),
            endpoint: "ACS",
        },
        SamaelError::AssertionIssuerMismatch { issuer, entity_id }
        | SamaelError::ResponseIssuerMismatch { issuer, entity_id } => Refusal::WrongIssuer {
            found: issuer,
            expected: entity_id.unwrap_or_default(),
        },
        SamaelError::AssertionConditionAudienceRestrictionFailed { .. } => {
            Refusal::WrongAudience(format!("the AudienceRestriction does not name {entity_id}"))
        }
        SamaelError::AssertionRecipientMismatch {
            assertion_recipient,
            ..
        } => Refusal::WrongRecipient {
            found: assertion_recipient,
            expected: acs_url.to_owned(),
        },
        error @ (SamaelError::AssertionInResponseToInvalid { .. }
        | SamaelError::ResponseInResponseToInvalid { .. }) => {
            Refusal::InResponseTo(error.to_string())
        }
        SamaelError::ResponseBadStatusCode { code } => Refusal::Status {
            code,
            message: String::new(),
        },
        error @ (SamaelError::AssertionExpired { .. }
        | SamaelError::ResponseExpired { .. }
        | SamaelError::AssertionConditionExpired { .. }
        | SamaelError::AssertionSubjectConfirmationExpired { .. }) => {
            Refusal::Expired(error.to_string())
        }
        error @ (SamaelError::AssertionConditionExpiredBefore { .. }
        | SamaelError::AssertionSubjectConfirmationExpiredBefore { .. }) => {
            Refusal::NotYetValid(error.to_string())
        }
        error @ (SamaelError::AssertionBearerSubjectConfirmationMissing
        | SamaelError::AssertionSubjectConfirmationMissing) => {
            Refusal::SubjectConfirmation(error.to_string())
        }
        SamaelError::EncryptedAssertionsNotYetSupported | SamaelError::MissingPrivateKeySP => {
            Refusal::Encrypted
        }
        error => Refusal::Invalid(error.to_string()),
    }
}

/// This module's own checks of the signed assertion; returns when its ID may be forgotten.
fn check_assertion(
    assertion: &Assertion,
    connection: &SamlConnection,
    entity_id: &str,
    acs_url: &str,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Refusal> {
    if assertion.issuer.value.as_deref() != Some(connection.idp_entity_id.as_str()) {
        return Err(Refusal::WrongIssuer {
            found: assertion.issuer.value.clone(),
            expected: connection.idp_entity_id.clone(),
        });
    }
    if assertion.issue_instant > now + CLOCK_SKEW {
        return Err(Refusal::NotYetValid(format!(
            "the assertion was issued in the future ({})",
            assertion.issue_instant
        )));
    }
    let conditions = assertion.conditions.as_ref().ok_or(Refusal::NoConditions)?;
    if let Some(not_before) = conditions.not_before
        && now + CLOCK_SKEW < not_before
    {
        return Err(Refusal::NotYetValid(format!(
            "the Conditions hold from {not_before}"
        )));
    }
    if let Some(not_on_or_after) = conditions.not_on_or_after
        && now - CLOCK_SKEW >= not_on_or_after
    {
        return Err(Refusal::Expired(format!(
            "the Conditions ended at {not_on_or_after}"
        )));
    }
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .unwrap_or_default();
    if restrictions.is_empty() {
        return Err(Refusal::WrongAudience(
            "the assertion has no AudienceRestriction".into(),
        ));
    }
    // Each AudienceRestriction must hold (SAML Core §2.5.1.4).
    if !restrictions
        .iter()
        .all(|restriction| restriction.audience.iter().any(|a| a == entity_id))
    {
        return Err(Refusal::WrongAudience(format!(
            "the AudienceRestriction does not name {entity_id}"
        )));
    }
    let confirmed_until = confirmation(assertion, acs_url, request_id, now)?;
    let valid_until = conditions
        .not_on_or_after
        .map_or(confirmed_until, |end| end.max(confirmed_until));
    Ok(valid_until
        .checked_add_signed(CLOCK_SKEW)
        .unwrap_or(DateTime::<Utc>::MAX_UTC))
}

/// A bearer SubjectConfirmation that holds (SAML Profiles §4.1.4.2, §4.1.4.3); returns its
/// NotOnOrAfter. Without one, the first reason a bearer confirmation failed.
fn confirmation(
    assertion: &Assertion,
    acs_url: &str,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Refusal> {
    let mut first_failure = None;
    let bearers = assertion
        .subject
        .iter()
        .flat_map(|subject| subject.subject_confirmations.iter().flatten())
        .filter(|confirmation| confirmation.method.as_deref() == Some(BEARER));
    for bearer in bearers {
        let checked = (|| {
            let data = bearer.subject_confirmation_data.as_ref().ok_or_else(|| {
                Refusal::SubjectConfirmation("it has no SubjectConfirmationData".into())
            })?;
            if data.recipient.as_deref() != Some(acs_url) {
                return Err(Refusal::WrongRecipient {
                    found: data.recipient.clone(),
                    expected: acs_url.to_owned(),
                });
            }
            let not_on_or_after = data.not_on_or_after.ok_or_else(|| {
                Refusal::SubjectConfirmation(
                    "its SubjectConfirmationData has no NotOnOrAfter".into(),
                )
            })?;
            if now - CLOCK_SKEW >= not_on_or_after {
                return Err(Refusal::Expired(format!(
                    "the SubjectConfirmationData ended at {not_on_or_after}"
                )));
            }
            if let Some(not_before) = data.not_before
                && now + CLOCK_SKEW < not_before
            {
                return Err(Refusal::NotYetValid(format!(
                    "the SubjectConfirmationData holds from {not_before}"
                )));
            }
            if data.in_response_to.as_deref() != request_id {
                return Err(Refusal::InResponseTo(format!(
                    "the SubjectConfirmationData answers {:?}, the Response {request_id:?}",
                    data.in_response_to
                )));
            }
            Ok(not_on_or_after)
        })();
        match checked {
            Ok(until) => return Ok(until),
            Err(refusal) => {
                first_failure.get_or_insert(refusal);
            }
        }
    }
    Err(first_failure.unwrap_or_else(|| {
        Refusal::SubjectConfirmation("the assertion has no bearer SubjectConfirmation".into())
    }))
}

/// What the session says of a SAML login: every attribute (one value as a string, several as
/// an array), the matching claims from `claim_attributes`, and `sub` (the NameID),
/// `name_id_format` and `session_index`.
fn claims(
    assertion: &Assertion,
    connection: &SamlConnection,
    name_id: &samael::schema::SubjectNameID,
) -> Map<String, Value> {
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for attribute in assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|statement| &statement.attributes)
    {
        if let Some(name) = &attribute.name {
            attributes.entry(name.clone()).or_default().extend(
                attribute
                    .values
                    .iter()
                    .filter_map(|value| value.value.clone()),
            );
        }
    }
    let mut claims: Map<String, Value> = attributes
        .iter()
        .map(|(name, values)| {
            let value = match values.as_slice() {
                [one] => Value::String(one.clone()),
                many => Value::from(many.to_vec()),
            };
            (name.clone(), value)
        })
        .collect();
    for (claim, attribute) in &connection.claim_attributes {
        if claim == GROUPS_CLAIM {
            if let Some(values) = attributes.get(attribute) {
                claims.insert(claim.clone(), Value::from(values.clone()));
            }
        } else if let Some(value) = attributes.get(attribute).and_then(|values| values.first()) {
            claims.insert(claim.clone(), Value::String(value.clone()));
        }
    }
    let session_index = assertion
        .authn_statements
        .iter()
        .flatten()
        .find_map(|statement| statement.session_index.clone());
    claims.insert("sub".into(), Value::String(name_id.value.clone()));
    claims.insert("name_id_format".into(), Value::from(name_id.format.clone()));
    claims.insert("session_index".into(), Value::from(session_index));
    claims
}

/// The most a message of the HTTP-Redirect binding may inflate to.
const MAX_INFLATED: usize = 256 * 1024;

/// What arrives at the single logout service (HTTP-Redirect binding, SAML Bindings §3.4.4).
/// A LogoutRequest's `SigAlg` and `Signature` are checked on the raw query (see
/// [`redirect::verify`]); a LogoutResponse's are not read.
#[derive(Debug, serde::Deserialize)]
struct SloQuery {
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

fn refuse_logout(refusal: &Refusal) -> Response {
    tracing::warn!(reason = %refusal, "SAML single logout refused");
    let status = match refusal {
        Refusal::UnknownConnection(_) => StatusCode::NOT_FOUND,
        Refusal::Request(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, format!("Logout refused: {refusal}\n")).into_response()
}

async fn slo(
    State(saml): State<Saml>,
    Path(connection_id): Path<String>,
    Query(query): Query<SloQuery>,
    RawQuery(raw_query): RawQuery,
) -> Response {
    let now = saml.0.sso.now();
    let answered = saml.connection(&connection_id).and_then(|configured| {
        let connection = &configured.connection;
        let idp_slo_url = connection
            .idp_slo_url
            .as_deref()
            .ok_or(Refusal::NoSingleLogout)?;
        match (&query.saml_request, &query.saml_response) {
            (Some(_), Some(_)) => Err(Refusal::TwoLogoutMessages),
            (None, None) => Err(Refusal::NoLogoutMessage),
            (None, Some(response)) => finish_logout(&saml, connection, response, now)
                .map(|()| (StatusCode::OK, "You have signed out\n").into_response()),
            (Some(request), None) => {
                // SAML Profiles §4.4.4.1: the IdP's LogoutRequest must be signed; over
                // HTTP-Redirect the signature is in the query (SAML Bindings §3.4.4.1).
                redirect::verify(
                    raw_query.as_deref().unwrap_or_default(),
                    "SAMLRequest",
                    &configured.certificates,
                )
                .map_err(|problem| Refusal::Logout(format!("the LogoutRequest {problem}")))?;
                idp_logout(
                    &saml,
                    connection,
                    idp_slo_url,
                    request,
                    query.relay_state.as_deref(),
                    now,
                )
                .map(|url| Redirect::to(&url).into_response())
            }
        }
    });
    answered.unwrap_or_else(|refusal| refuse_logout(&refusal))
}

/// The IdP URL carrying a LogoutRequest for `session`, which has just ended here
/// (SP-initiated single logout, SAML Profiles §4.4; personas.md §1.2 "Single logout"); `None`
/// for a session of another protocol or of a connection without single logout. A request
/// that cannot be made is logged, and the logout stays local.
fn start_logout(saml: &Saml, session: &Session, now: DateTime<Utc>) -> Option<String> {
    if session.protocol != "saml" {
        return None;
    }
    let configured = saml.connection(&session.connection).ok()?;
    let connection = &configured.connection;
    let idp_slo_url = connection.idp_slo_url.as_deref()?;
    let id = message_id();
    let claim = |name: &str| session.claims.get(name).and_then(Value::as_str);
    let made = logout_request_xml(
        &id,
        now,
        idp_slo_url,
        &saml.entity_id(&connection.id),
        &session.subject,
        claim("name_id_format"),
        claim("session_index"),
    )
    .and_then(|xml| redirect_binding_url(idp_slo_url, "SAMLRequest", &xml, Some(&random_token())));
    match made {
        Ok(url) => {
            let mut logouts = saml
                .0
                .logouts
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            logouts.retain(|_, logout| now - logout.sent < PENDING_LIFETIME);
            logouts.insert(
                id,
                PendingLogout {
                    connection: connection.id.clone(),
                    sent: now,
                },
            );
            Some(url)
        }
        Err(refusal) => {
            tracing::warn!(
                reason = %refusal,
                connection = %connection.id,
                "the LogoutRequest could not be made; the logout stays local"
            );
            None
        }
    }
}

/// Checks the IdP's LogoutResponse to a LogoutRequest of this SP. Its Issuer is only logged:
/// Entra's is not its assertion issuer (personas.md §1.2 "Single logout"); what binds the
/// response is that it answers a pending LogoutRequest of this connection (single use).
fn finish_logout(
    saml: &Saml,
    connection: &SamlConnection,
    encoded: &str,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let xml = inflate("SAMLResponse", encoded)?;
    scan(&xml, "LogoutResponse")?;
    let response: LogoutResponse = xml
        .parse()
        .map_err(|error| Refusal::Malformed(format!("not a SAML LogoutResponse: {error}")))?;
    check_slo_destination(saml, connection, response.destination.as_deref())?;
    let id = response
        .in_response_to
        .as_deref()
        .ok_or_else(|| Refusal::Logout("the LogoutResponse has no InResponseTo".into()))?;
    // The request is used once, whatever happens next.
    let pending = saml
        .0
        .logouts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(id)
        .filter(|pending| now - pending.sent < PENDING_LIFETIME)
        .ok_or_else(|| Refusal::UnknownInResponseTo {
            id: id.to_owned(),
            request: "LogoutRequest",
        })?;
    if pending.connection != connection.id {
        return Err(Refusal::WrongConnection {
            id: id.to_owned(),
            request: "a LogoutRequest",
            issued: pending.connection,
            used: connection.id.clone(),
        });
    }
    let status = response
        .status
        .as_ref()
        .ok_or_else(|| Refusal::Logout("the LogoutResponse has no Status".into()))?;
    if let Some(refusal) = status_refusal(status) {
        return Err(refusal);
    }
    tracing::info!(
        connection = %connection.id,
        issuer = ?response.issuer.as_ref().and_then(|issuer| issuer.value.as_deref()),
        request = %id,
        "the IdP confirmed the single logout"
    );
    Ok(())
}

/// Takes an IdP-initiated LogoutRequest (SAML Profiles §4.4.4): its Issuer must be the IdP's;
/// every session of the connection whose subject is its NameID (and, when it names
/// SessionIndexes, whose session index is one of them) ends. Returns the IdP URL carrying the
/// LogoutResponse, with the RelayState passed back unchanged.
fn idp_logout(
    saml: &Saml,
    connection: &SamlConnection,
    idp_slo_url: &str,
    encoded: &str,
    relay_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, Refusal> {
    let xml = inflate("SAMLRequest", encoded)?;
    scan(&xml, "LogoutRequest")?;
    let request = read_logout_request(&xml)?;
    if request.issuer.as_deref() != Some(connection.idp_entity_id.as_str()) {
        return Err(Refusal::WrongIssuer {
            found: request.issuer,
            expected: connection.idp_entity_id.clone(),
        });
    }
    check_slo_destination(saml, connection, request.destination.as_deref())?;
    let id = request
        .id
        .ok_or_else(|| Refusal::Logout("the LogoutRequest has no ID".into()))?;
    let name_id = request
        .name_id
        .filter(|name_id| !name_id.is_empty())
        .ok_or_else(|| {
            Refusal::Logout(
                "the LogoutRequest has no NameID (EncryptedID and BaseID are not accepted)".into(),
            )
        })?;
    let ended = saml.0.sso.end_sessions(|session| {
        session.protocol == "saml"
            && session.connection == connection.id
            && session.subject == name_id
            && (request.session_indexes.is_empty()
                || session
                    .claims
                    .get("session_index")
                    .and_then(Value::as_str)
                    .is_some_and(|index| request.session_indexes.iter().any(|i| i == index)))
    });
    tracing::info!(
        connection = %connection.id,
        %name_id,
        session_indexes = ?request.session_indexes,
        ended,
        "IdP-initiated single logout"
    );
    let xml = logout_response_xml(&id, now, idp_slo_url, &saml.entity_id(&connection.id))?;
    redirect_binding_url(idp_slo_url, "SAMLResponse", &xml, relay_state)
}

/// A Destination, when present, must be the SP's single logout URL (SAML Core §3.2.1, §3.2.2).
fn check_slo_destination(
    saml: &Saml,
    connection: &SamlConnection,
    destination: Option<&str>,
) -> Result<(), Refusal> {
    let expected = saml.slo_url(&connection.id);
    match destination {
        Some(found) if found != expected => Err(Refusal::WrongDestination {
            found: Some(found.to_owned()),
            expected,
            endpoint: "single logout",
        }),
        _ => Ok(()),
    }
}

/// The refusal for a Status other than Success, with its code and message.
fn status_refusal(status: &Status) -> Option<Refusal> {
    let code = status.status_code.value.as_deref().unwrap_or("(none)");
    if code == SUCCESS {
        return None;
    }
    let message = status
        .status_message
        .as_ref()
        .and_then(|message| message.value.as_deref())
        .map(|message| format!(" ({message})"))
        .unwrap_or_default();
    Some(Refusal::Status {
        code: code.to_owned(),
        message,
    })
}

/// The XML of a message an HTTP-Redirect parameter carries: base64 (a `+` the sender left
/// unencoded arrives as a space and is read as `+`), then raw DEFLATE (SAML Bindings
/// §3.4.4.1), at most [`MAX_INFLATED`] bytes of UTF-8.
fn inflate(parameter: &'static str, encoded: &str) -> Result<String, Refusal> {
    let refusal = |reason: String| Refusal::Redirect { parameter, reason };
    let compact: String = encoded
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('+'),
            c if c.is_ascii_whitespace() => None,
            c => Some(c),
        })
        .collect();
    let deflated = STANDARD
        .decode(compact)
        .map_err(|error| refusal(format!("bad base64: {error}")))?;
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .take(u64::try_from(MAX_INFLATED + 1).unwrap_or(u64::MAX))
        .read_to_end(&mut inflated)
        .map_err(|error| refusal(format!("bad DEFLATE data: {error}")))?;
    if inflated.len() > MAX_INFLATED {
        return Err(refusal(format!(
            "it inflates to more than {MAX_INFLATED} bytes"
        )));
    }
    String::from_utf8(inflated).map_err(|error| refusal(format!("not UTF-8: {error}")))
}

/// `endpoint` with `parameter` (`SAMLRequest` or `SAMLResponse`) carrying `xml` and, when
/// given, the RelayState (HTTP-Redirect binding, SAML Bindings §3.4.4.1; unsigned).
fn redirect_binding_url(
    endpoint: &str,
    parameter: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> Result<String, Refusal> {
    let encoded = deflate_base64(xml)?;
    let mut url = reqwest::Url::parse(endpoint)
        .map_err(|error| Refusal::Request(format!("idp_slo_url is not a URL: {error}")))?;
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair(parameter, &encoded);
        if let Some(relay_state) = relay_state {
            pairs.append_pair("RelayState", relay_state);
        }
    }
    Ok(url.to_string())
}

/// A LogoutRequest of the SP (SAML Core §3.7.1), its children in schema order: Issuer,
/// NameID, SessionIndex. Written here rather than with samael's `LogoutRequest`, which puts
/// SessionIndex before NameID and writes the NameID unescaped.
fn logout_request_xml(
    id: &str,
    now: DateTime<Utc>,
    destination: &str,
    issuer: &str,
    name_id: &str,
    name_id_format: Option<&str>,
    session_index: Option<&str>,
) -> Result<String, Refusal> {
    let attributes = [("ID", id), ("Destination", destination)];
    protocol_message("LogoutRequest", &attributes, now, issuer, |writer| {
        let mut element = writer.create_element("saml2:NameID");
        if let Some(format) = name_id_format {
            element = element.with_attribute(("Format", format));
        }
        element.write_text_content(BytesText::new(name_id))?;
        if let Some(session_index) = session_index {
            writer
                .create_element("saml2p:SessionIndex")
                .write_text_content(BytesText::new(session_index))?;
        }
        Ok(())
    })
}

/// The SP's successful LogoutResponse to the IdP's request `in_response_to` (SAML Core
/// §3.7.2).
fn logout_response_xml(
    in_response_to: &str,
    now: DateTime<Utc>,
    destination: &str,
    issuer: &str,
) -> Result<String, Refusal> {
    let id = message_id();
    let attributes = [
        ("ID", id.as_str()),
        ("InResponseTo", in_response_to),
        ("Destination", destination),
    ];
    protocol_message("LogoutResponse", &attributes, now, issuer, |writer| {
        writer
            .create_element("saml2p:Status")
            .write_inner_content(|writer| {
                writer
                    .create_element("saml2p:StatusCode")
                    .with_attribute(("Value", SUCCESS))
                    .write_empty()?;
                Ok(())
            })?;
        Ok(())
    })
}

/// A protocol message `saml2p:{name}` with `attributes` (ID first), Version 2.0, IssueInstant
/// `now`, the SP's Issuer, then what `body` writes.
fn protocol_message(
    name: &str,
    attributes: &[(&str, &str)],
    now: DateTime<Utc>,
    issuer: &str,
    body: impl FnOnce(&mut Writer<Vec<u8>>) -> std::io::Result<()>,
) -> Result<String, Refusal> {
    let issue_instant = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut writer = Writer::new(Vec::new());
    let written = writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .and_then(|()| {
            writer
                .create_element(format!("saml2p:{name}"))
                .with_attributes([("xmlns:saml2p", PROTOCOL_NS), ("xmlns:saml2", ASSERTION_NS)])
                .with_attributes(attributes.iter().copied())
                .with_attributes([("Version", "2.0"), ("IssueInstant", issue_instant.as_str())])
                .write_inner_content(|writer| {
                    writer
                        .create_element("saml2:Issuer")
                        .write_text_content(BytesText::new(issuer))?;
                    body(writer)
                })
                .map(|_| ())
        });
    written.map_err(|error| Refusal::Request(format!("the {name}: {error}")))?;
    String::from_utf8(writer.into_inner())
        .map_err(|error| Refusal::Request(format!("the {name}: {error}")))
}

/// What the SP reads of an IdP's LogoutRequest (SAML Core §3.7.1).
#[derive(Debug, Default)]
struct IdpLogoutRequest {
    id: Option<String>,
    destination: Option<String>,
    issuer: Option<String>,
    name_id: Option<String>,
    session_indexes: Vec<String>,
}

/// Reads a LogoutRequest that [`scan`] has accepted: the root's ID and Destination, and the
/// Issuer, NameID and SessionIndex children. samael's `LogoutRequest` is not used: it reads
/// SessionIndex as an attribute (it is an element) and loses the NameID's Format.
fn read_logout_request(xml: &str) -> Result<IdpLogoutRequest, Refusal> {
    let malformed = |error: &dyn std::fmt::Display| Refusal::Malformed(error.to_string());
    let mut reader = NsReader::from_str(xml);
    let mut request = IdpLogoutRequest::default();
    let mut depth = 0_usize;
    // The child being read, and its text so far.
    let mut child: Option<(String, String)> = None;
    loop {
        let (namespace, event) = reader
            .read_resolved_event()
            .map_err(|error| malformed(&error))?;
        let namespace = match namespace {
            ResolveResult::Bound(namespace) => namespace.as_ref().to_vec(),
            _ => Vec::new(),
        };
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(element) | Event::Empty(element) => {
                if depth == 0 {
                    request.id = attribute(&element, "ID")?;
                    request.destination = attribute(&element, "Destination")?;
                } else if depth == 1 {
                    let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
                    let known = match (namespace.as_slice(), name.as_str()) {
                        (ns, "Issuer" | "NameID") if ns == ASSERTION_NS.as_bytes() => true,
                        (ns, "SessionIndex") if ns == PROTOCOL_NS.as_bytes() => true,
                        _ => false,
                    };
                    if known {
                        child = Some((name, String::new()));
                    }
                }
                if empty {
                    if depth == 1 {
                        store_child(&mut request, child.take());
                    }
                } else {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    store_child(&mut request, child.take());
                }
            }
            Event::Text(text) if depth == 2 => {
                if let Some((_, value)) = &mut child {
                    value.push_str(&text.xml10_content().map_err(|error| malformed(&error))?);
                }
            }
            Event::CData(text) if depth == 2 => {
                if let Some((_, value)) = &mut child {
                    value.push_str(&text.xml10_content().map_err(|error| malformed(&error))?);
                }
            }
            Event::GeneralRef(reference) if depth == 2 => {
                if let Some((_, value)) = &mut child {
                    let resolved = match reference
                        .resolve_char_ref()
                        .map_err(|error| malformed(&error))?
                    {
                        Some(character) => character.to_string(),
                        None => {
                            let name = reference.decode().map_err(|error| malformed(&error))?;
                            quick_xml::escape::resolve_predefined_entity(&name)
                                .ok_or_else(|| {
                                    Refusal::Forbidden(format!("the entity reference &{name};"))
                                })?
                                .to_owned()
                        }
                    };
                    value.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(request)
}

/// Keeps a child of a LogoutRequest that has been read; the first Issuer and NameID count.
fn store_child(request: &mut IdpLogoutRequest, child: Option<(String, String)>) {
    let Some((name, value)) = child else {
        return;
    };
    let value = value.trim().to_owned();
    match name.as_str() {
        "Issuer" => {
            request.issuer.get_or_insert(value);
        }
        "NameID" => {
            request.name_id.get_or_insert(value);
        }
        _ => request.session_indexes.push(value),
    }
}

/// What the scan before parsing learned of a response.
#[derive(Debug, Default)]
struct Shape {
    /// `ds:Signature` elements.
    signatures: usize,
    /// The ID of the one assertion, if there is one.
    assertion_id: Option<String>,
    /// The base64 certificates in the signatures' KeyInfo (which says who signed, not who is
    /// trusted).
    key_info_certificates: Vec<String>,
}

/// An open element of the scan.
struct Open {
    namespace: String,
    name: String,
    /// Its `ID` attribute.
    id: Option<String>,
    /// For XML Signature elements: `Algorithm` (methods) or `URI` (Reference).
    target: Option<String>,
    /// For a `Signature`: its References so far.
    references: usize,
}

impl Open {
    fn is(&self, namespace: &str, name: &str) -> bool {
        self.namespace == namespace && self.name == name
    }
}

/// Reads the whole message with quick-xml before anything else does: refuses DTDs, entity
/// references, comments, processing instructions and foreign encodings, checks that the root
/// is the protocol element `root` and the shape a signature can be trusted in (see the module
/// documentation), and reports what it saw.
fn scan(xml: &str, root: &'static str) -> Result<Shape, Refusal> {
    let mut reader = NsReader::from_str(xml);
    let mut scanner = Scanner {
        root,
        ..Scanner::default()
    };
    loop {
        let (namespace, event) = reader
            .read_resolved_event()
            .map_err(|error| Refusal::Malformed(error.to_string()))?;
        let namespace = match namespace {
            ResolveResult::Bound(namespace) => {
                String::from_utf8_lossy(namespace.as_ref()).into_owned()
            }
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(prefix) => {
                return Err(Refusal::Malformed(format!(
                    "undeclared namespace prefix {}",
                    String::from_utf8_lossy(&prefix)
                )));
            }
        };
        match event {
            Event::DocType(_) => return Err(Refusal::Doctype),
            Event::Decl(declaration) => {
                if let Some(encoding) = declaration.encoding() {
                    let encoding =
                        encoding.map_err(|error| Refusal::Malformed(error.to_string()))?;
                    if !encoding.eq_ignore_ascii_case(b"utf-8") {
                        return Err(Refusal::Forbidden(format!(
                            "the encoding {}",
                            String::from_utf8_lossy(&encoding)
                        )));
                    }
                }
            }
            Event::PI(_) => return Err(Refusal::Forbidden("a processing instruction".into())),
            Event::Comment(_) => return Err(Refusal::Forbidden("a comment".into())),
            Event::GeneralRef(reference) => {
                let name = String::from_utf8_lossy(&reference).into_owned();
                if !reference.is_char_ref()
                    && !matches!(name.as_str(), "amp" | "lt" | "gt" | "quot" | "apos")
                {
                    return Err(Refusal::Forbidden(format!("the entity reference &{name};")));
                }
            }
            Event::Start(element) => {
                let opened = scanner.begin(&element, namespace)?;
                scanner.open.push(opened);
            }
            Event::Empty(element) => {
                scanner.begin(&element, namespace)?;
            }
            Event::End(_) => {
                scanner.open.pop();
            }
            Event::Text(text) => {
                let in_certificate = scanner
                    .open
                    .last()
                    .is_some_and(|element| element.is(DSIG_NS, "X509Certificate"));
                if in_certificate {
                    let text = text
                        .decode()
                        .map_err(|error| Refusal::Malformed(error.to_string()))?;
                    scanner
                        .shape
                        .key_info_certificates
                        .push(text.chars().filter(|c| !c.is_ascii_whitespace()).collect());
                } else if scanner.open.is_empty() && !text.iter().all(u8::is_ascii_whitespace) {
                    return Err(Refusal::Malformed("text outside the root element".into()));
                }
            }
            Event::Eof => break,
            Event::CData(_) => {}
        }
    }
    if !scanner.root_seen {
        return Err(Refusal::Malformed("no root element".into()));
    }
    if scanner.assertions > 1 {
        return Err(Refusal::Wrapping(format!(
            "{} assertions in one response (only one is accepted)",
            scanner.assertions
        )));
    }
    Ok(scanner.shape)
}

/// The scan's state.
#[derive(Default)]
struct Scanner {
    /// The local name the root must have, in the protocol namespace.
    root: &'static str,
    shape: Shape,
    /// The elements open around the current one, the root first.
    open: Vec<Open>,
    /// Every `ID` seen.
    ids: HashSet<String>,
    assertions: usize,
    root_seen: bool,
}

impl Scanner {
    /// Checks an element that begins against what is open around it, and records it.
    fn begin(&mut self, element: &BytesStart<'_>, namespace: String) -> Result<Open, Refusal> {
        let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
        if self.open.is_empty() {
            if self.root_seen {
                return Err(Refusal::Malformed("more than one root element".into()));
            }
            if !(namespace == PROTOCOL_NS && name == self.root) {
                return Err(Refusal::WrongDocument {
                    found: name,
                    expected: self.root,
                });
            }
            self.root_seen = true;
        }
        let target = match (namespace == DSIG_NS, name.as_str()) {
            (true, "SignatureMethod" | "DigestMethod") => attribute(element, "Algorithm")?,
            (true, "Reference") => attribute(element, "URI")?,
            _ => None,
        };
        let opened = Open {
            id: attribute(element, "ID")?,
            namespace,
            name,
            target,
            references: 0,
        };
        if let Some(id) = &opened.id
            && !self.ids.insert(id.clone())
        {
            return Err(Refusal::Wrapping(format!("the ID {id} appears twice")));
        }
        let parent = self.open.last();
        let parent_name = parent.map_or("", |parent| parent.name.as_str());
        if opened.is(ASSERTION_NS, "EncryptedAssertion") {
            return Err(Refusal::Encrypted);
        }
        if opened.is(ASSERTION_NS, "Assertion") {
            self.assertions += 1;
            if self.open.len() != 1 {
                return Err(Refusal::Wrapping(format!(
                    "an Assertion inside {parent_name}, not directly in the Response"
                )));
            }
            self.shape.assertion_id = opened.id.clone();
        }
        if opened.is(DSIG_NS, "Signature") {
            self.shape.signatures += 1;
            let signs_response = self.open.len() == 1;
            let signs_assertion = self.open.len() == 2
                && parent.is_some_and(|parent| parent.is(ASSERTION_NS, "Assertion"));
            if !(signs_response || signs_assertion) {
                return Err(Refusal::Wrapping(format!(
                    "a Signature inside {parent_name}, neither the Response nor its Assertion"
                )));
            }
        }
        if opened.is(DSIG_NS, "SignatureMethod") && opened.target.as_deref() != Some(RSA_SHA256)
            || opened.is(DSIG_NS, "DigestMethod") && opened.target.as_deref() != Some(SHA256)
        {
            return Err(Refusal::Algorithm(format!(
                "{} {}",
                opened.name,
                opened.target.as_deref().unwrap_or("(none)")
            )));
        }
        if opened.is(DSIG_NS, "Reference") {
            self.reference(&opened)?;
        }
        Ok(opened)
    }

    /// A signature's one Reference must name the element the signature is in: open now are
    /// that element, the Signature and its SignedInfo.
    fn reference(&mut self, reference: &Open) -> Result<(), Refusal> {
        let depth = self.open.len();
        let (signed, signature) = match self.open.as_mut_slice() {
            [.., signed, signature, signed_info]
                if signature.is(DSIG_NS, "Signature") && signed_info.is(DSIG_NS, "SignedInfo") =>
            {
                (signed, signature)
            }
            _ => {
                return Err(Refusal::Wrapping(format!(
                    "a Reference outside a SignedInfo (depth {depth})"
                )));
            }
        };
        signature.references += 1;
        if signature.references > 1 {
            return Err(Refusal::Wrapping(
                "a Signature with more than one Reference".into(),
            ));
        }
        let expected = signed.id.as_ref().map(|id| format!("#{id}"));
        if reference.target.is_none() || reference.target != expected {
            return Err(Refusal::Wrapping(format!(
                "the Signature in {} references {:?}, not its own element {:?}",
                signed.name, reference.target, expected
            )));
        }
        Ok(())
    }
}

/// The value of the attribute `name` of `element`.
fn attribute(element: &BytesStart<'_>, name: &str) -> Result<Option<String>, Refusal> {
    let Some(value) = element
        .try_get_attribute(name)
        .map_err(|error| Refusal::Malformed(error.to_string()))?
    else {
        return Ok(None);
    };
    value
        .normalized_value(XmlVersion::Implicit1_0)
        .map(|value| Some(value.into_owned()))
        .map_err(|error| Refusal::Malformed(error.to_string()))
}
