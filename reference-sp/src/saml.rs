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
//!   the RelayState passed back unchanged. It must have been issued in the last 5 minutes
//!   (60 s of skew), and each ID is taken once, so a signed logout URL cannot end sessions
//!   again later; a signed parameter named twice, or under a percent-encoded name, is refused.
//! - A Destination, when present, must be the SP's single logout URL. Each refusal answers 400
//!   with its reason, also logged; a connection without `idp_slo_url` refuses every message.

use crate::matching::MatchingStrategy;
use crate::policy::{AccountRefusal, GROUPS_CLAIM, IdpInitiatedPolicy};
use crate::report::Pairing;
use crate::sso::{Login, LoginQuery, Sso, matches_secret, random_token};
use crate::waiting::Waiting;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use samael::crypto::{AllowedSignatureAlgorithm, ReduceMode};
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::Endpoint;
use samael::metadata::{
    EntityDescriptor, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING, IdpSsoDescriptor, IndexedEndpoint,
    KeyDescriptor, SpSsoDescriptor,
};
use samael::schema::{Assertion, AuthnRequest, Issuer, Status};
use samael::service_provider::{Error as SamaelError, ServiceProviderBuilder};
use samael::traits::ToXml;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use tower_http::limit::RequestBodyLimitLayer;

mod redirect;
mod scan;
mod slo;

use scan::scan;
use slo::{slo, start_logout};

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

/// The largest POST the ACS reads: a signed Response with a few hundred attributes is well
/// under 100 KiB.
const MAX_ACS_BODY: usize = 1024 * 1024;

/// How long a sent AuthnRequest may wait for its response.
const PENDING_LIFETIME: Duration = Duration::minutes(10);
/// How far apart the IdP's clock and ours may be.
pub(super) const CLOCK_SKEW: Duration = Duration::seconds(60);
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
}

/// A LogoutRequest sent to the IdP whose LogoutResponse has not come back.
#[derive(Debug, Clone)]
struct PendingLogout {
    connection: String,
}

/// What the SAML routes share.
#[derive(Clone)]
pub(crate) struct Saml(Arc<SamlShared>);

pub(crate) struct SamlShared {
    sso: Sso,
    connections: RwLock<HashMap<String, Arc<Configured>>>,
    /// By AuthnRequest ID.
    pending: Waiting<PendingRequest>,
    /// Assertion ID → when it may be forgotten.
    seen: Mutex<HashMap<String, DateTime<Utc>>>,
    /// By LogoutRequest ID.
    logouts: Waiting<PendingLogout>,
}

impl Saml {
    /// SAML sign-in state, making its sessions through `sso`, whose `/logout` goes on to the
    /// IdP's single logout service for SAML sessions.
    pub(crate) fn new(sso: Sso) -> Saml {
        let shared = Arc::new(SamlShared {
            sso,
            connections: RwLock::default(),
            pending: Waiting::new(PENDING_LIFETIME),
            seen: Mutex::default(),
            logouts: Waiting::new(PENDING_LIFETIME),
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
            // A declared length over the limit is refused before the body is awaited.
            .route(
                "/sso/saml/{connection}/acs",
                post(acs).layer(RequestBodyLimitLayer::new(MAX_ACS_BODY)),
            )
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
    #[error("InResponseTo {id} names the {request} sent for connection `{issued}`, not `{used}`")]
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
    let request = PendingRequest {
        connection: connection.id.clone(),
        relay_state,
    };
    saml.0.pending.insert(id, request, now);
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
    // Parsing and libxmlsec1's checks are CPU work: off the runtime's workers, so that one
    // large response does not hold up other requests.
    let now = saml.0.sso.now();
    let checking = (saml.clone(), connection_id.clone());
    let consumed = tokio::task::spawn_blocking(move || {
        let (saml, connection_id) = checking;
        consume(&saml, &connection_id, &form, now)
    })
    .await
    .unwrap_or_else(|error| {
        Err(Refusal::Request(format!(
            "the response could not be checked: {error}"
        )))
    });
    let session = match consumed {
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
    let ends_by = assertion
        .authn_statements
        .iter()
        .flatten()
        .filter_map(|statement| statement.session_not_on_or_after)
        .min();
    Ok(Login {
        connection: connection.id.clone(),
        protocol: "saml",
        subject: name_id.value.clone(),
        claims: claims(&assertion, connection, name_id),
        organization: connection.organization.clone(),
        matching: connection.matching,
        ends_by,
    })
}

/// Takes the request `id` out of `pending` (each is answered once, whatever happens next)
/// and checks that it was sent for `connection`; `request` names its kind in the refusals,
/// `connection_of` reads which connection it was sent for.
fn take_pending<P>(
    pending: &Waiting<P>,
    (id, request): (&str, &'static str),
    connection: &SamlConnection,
    now: DateTime<Utc>,
    connection_of: fn(&P) -> &str,
) -> Result<P, Refusal> {
    let taken = pending
        .take(id, now)
        .ok_or_else(|| Refusal::UnknownInResponseTo {
            id: id.to_owned(),
            request,
        })?;
    let issued = connection_of(&taken);
    if issued != connection.id {
        return Err(Refusal::WrongConnection {
            id: id.to_owned(),
            request,
            issued: issued.to_owned(),
            used: connection.id.clone(),
        });
    }
    Ok(taken)
}

/// Takes the pending AuthnRequest `id` (see [`take_pending`]) and checks it was sent with this
/// RelayState.
fn check_pending(
    saml: &Saml,
    connection: &SamlConnection,
    id: &str,
    relay_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let pending = take_pending(
        &saml.0.pending,
        (id, "AuthnRequest"),
        connection,
        now,
        |pending| &pending.connection,
    )?;
    if !matches_secret(relay_state, &pending.relay_state) {
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
