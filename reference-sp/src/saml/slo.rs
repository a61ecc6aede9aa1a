//! Single logout over the HTTP-Redirect binding (SAML Profiles §4.4, Bindings §3.4): the
//! SP's own LogoutRequests and the IdP's answers to them, and the IdP's LogoutRequests with
//! the SP's answers (see the parent module's documentation for the rules).

use super::scan::{attribute, scan};
use super::{
    ASSERTION_NS, CLOCK_SKEW, PROTOCOL_NS, PendingLogout, Refusal, SUCCESS, Saml, SamlConnection,
    deflate_base64, message_id, redirect, status_refusal, take_pending,
};
use crate::sso::{Session, random_token};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, Writer};
use samael::schema::LogoutResponse;
use serde_json::Value;
use std::io::Read as _;
use std::sync::PoisonError;

/// The most a message of the HTTP-Redirect binding may inflate to.
const MAX_INFLATED: usize = 256 * 1024;

/// How old an IdP's LogoutRequest may be: the HTTP-Redirect binding delivers it at once, and
/// a signed logout URL must not be usable again later (each ID is also accepted once).
const LOGOUT_REQUEST_LIFETIME: chrono::Duration = chrono::Duration::minutes(5);

/// What arrives at the single logout service (HTTP-Redirect binding, SAML Bindings §3.4.4).
/// A LogoutRequest's `SigAlg` and `Signature` are checked on the raw query (see
/// [`redirect::verify`]); a LogoutResponse's are not read.
#[derive(Debug, serde::Deserialize)]
pub(super) struct SloQuery {
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

pub(super) async fn slo(
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
pub(super) fn start_logout(saml: &Saml, session: &Session, now: DateTime<Utc>) -> Option<String> {
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
            let logout = PendingLogout {
                connection: connection.id.clone(),
            };
            saml.0.logouts.insert(id, logout, now);
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
    take_pending(
        &saml.0.logouts,
        (id, "LogoutRequest"),
        connection,
        now,
        |pending| &pending.connection,
    )?;
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
    check_fresh_and_first(saml, connection, &id, &request.timing, now)?;
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

/// An IdP's LogoutRequest must be recent (its IssueInstant within [`LOGOUT_REQUEST_LIFETIME`],
/// its NotOnOrAfter, if any, ahead; 60 s of skew) and seen for the first time: its ID is kept
/// until it would be too old anyway.
fn check_fresh_and_first(
    saml: &Saml,
    connection: &SamlConnection,
    id: &str,
    timing: &Timing,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let instant = |text: &Option<String>| {
        text.as_deref()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|instant| instant.with_timezone(&Utc))
    };
    let issued = instant(&timing.issue_instant)
        .ok_or_else(|| Refusal::Logout("the LogoutRequest has no valid IssueInstant".into()))?;
    if issued > now + CLOCK_SKEW || now - issued > LOGOUT_REQUEST_LIFETIME + CLOCK_SKEW {
        return Err(Refusal::Logout(format!(
            "the LogoutRequest was issued at {issued}, not in the last {} minutes",
            LOGOUT_REQUEST_LIFETIME.num_minutes()
        )));
    }
    if let Some(not_on_or_after) = instant(&timing.not_on_or_after)
        && now - CLOCK_SKEW >= not_on_or_after
    {
        return Err(Refusal::Logout(format!(
            "the LogoutRequest expired at {not_on_or_after}"
        )));
    }
    let forget_after = issued + LOGOUT_REQUEST_LIFETIME + CLOCK_SKEW * 2;
    let mut seen = saml.0.seen.lock().unwrap_or_else(PoisonError::into_inner);
    seen.retain(|_, forget| now < *forget);
    if seen
        .insert(
            format!("LogoutRequest {} {id}", connection.id),
            forget_after,
        )
        .is_some()
    {
        return Err(Refusal::Logout(format!(
            "the LogoutRequest {id} was already taken (a replay)"
        )));
    }
    Ok(())
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
    timing: Timing,
    issuer: Option<String>,
    name_id: Option<String>,
    session_indexes: Vec<String>,
}

/// When a LogoutRequest was issued and until when it holds, as written.
#[derive(Debug, Default)]
struct Timing {
    issue_instant: Option<String>,
    not_on_or_after: Option<String>,
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
                    request.timing = Timing {
                        issue_instant: attribute(&element, "IssueInstant")?,
                        not_on_or_after: attribute(&element, "NotOnOrAfter")?,
                    };
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
