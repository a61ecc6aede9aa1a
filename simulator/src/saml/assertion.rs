//! The Response a persona's IdP posts to an SP: its IDs, NameID, validity window,
//! SubjectConfirmation, AuthnStatement and attributes as the persona's knobs say
//! (personas.md §1.2, §2.2, §3.2, §4.2, §6.2), signed with RSA-SHA256, a SHA-256 digest and
//! exclusive C14N over the assertion, the response or both.

use super::credential::SamlCredential;
use crate::directory::{Directory, DirectoryUser};
use crate::html::escape;
use crate::mapping::NativeRecord;
use crate::persona::Persona;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider as _};
use samael::schema::{
    Assertion, AudienceRestriction, AuthnContext, AuthnContextClassRef, AuthnStatement, Conditions,
    Issuer, Response, Status, StatusCode, Subject, SubjectConfirmation, SubjectConfirmationData,
    SubjectNameID,
};
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml as _;
use serde_json::Value;

/// The bearer confirmation method.
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// The top-level status of a successful response.
pub const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// A Response cannot be made for this user.
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    /// The user has no block for the persona's IdP.
    #[error("user \"{0}\" has no `{1}` block in the directory")]
    NoBlock(String, String),
    /// The attribute the NameID comes from is missing.
    #[error("user \"{user}\" has no `{attribute}`, which the persona's NameID comes from")]
    NoNameId {
        /// The user's key.
        user: String,
        /// The native attribute.
        attribute: String,
    },
    /// Serialising or signing failed.
    #[error("cannot sign the response: {0}")]
    Signing(String),
}

/// Who the Response is for, and what it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience {
    /// The SP's entity ID (the AuthnRequest's `Issuer`): the `Audience`.
    pub entity_id: String,
    /// The SP's ACS URL: the Response's `Destination` and the confirmation's `Recipient`.
    pub acs_url: String,
    /// The AuthnRequest's `ID`; none for an IdP-initiated (unsolicited) response.
    pub in_response_to: Option<String>,
    /// The NameID format the AuthnRequest's `NameIDPolicy` asked for, if any.
    pub name_id_format: Option<String>,
}

/// How a requested NameID format is answered (the `name_id_policy` knob).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameIdRule {
    /// The configured NameID (`name_id_attribute`, `name_id_format`).
    Configured,
    /// An opaque persistent value that differs per SP.
    Pairwise,
    /// A new value at each sign-in.
    Transient,
}

/// How `persona` answers a request for `format`; `Err` is the reason it refuses it
/// (`InvalidNameIDPolicy`).
pub fn name_id_rule(persona: &Persona, format: Option<&str>) -> Result<NameIdRule, String> {
    let (Some(format), Some(policy)) = (format, &persona.saml.name_id_policy) else {
        return Ok(NameIdRule::Configured);
    };
    match policy.value.get(format).map(String::as_str) {
        Some("pairwise") => Ok(NameIdRule::Pairwise),
        Some("transient") => Ok(NameIdRule::Transient),
        Some(_) => Ok(NameIdRule::Configured),
        None => {
            let accepted: Vec<&str> = policy.value.keys().map(String::as_str).collect();
            Err(format!(
                "{} does not issue the NameID format {format} (it accepts {})",
                persona.display_name,
                accepted.join(", ")
            ))
        }
    }
}

/// The `Audience` naming the SP `entity_id`: the entity ID itself, or, for a persona that
/// prefixes one that is no URI (Entra: personas.md §1.2 "Response shape and defaults"
/// [S20]), `spn:` and the entity ID.
fn audience_value(issuing: &Issuing<'_>, entity_id: &str) -> String {
    let prefixes = issuing
        .persona
        .saml
        .audience_spn_prefix
        .as_ref()
        .is_some_and(|knob| knob.value);
    if prefixes && !is_uri(entity_id) {
        format!("spn:{entity_id}")
    } else {
        entity_id.to_owned()
    }
}

/// Whether `text` is an absolute URI: a scheme (a letter, then letters, digits, `+`, `-`,
/// `.`) and a colon (RFC 3986 §3.1).
fn is_uri(text: &str) -> bool {
    text.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// The NameID (format, value) of `user` for `audience`.
fn subject_name_id(
    issuing: &Issuing<'_>,
    user: &DirectoryUser,
    audience: &Audience,
    rng: &mut impl Rng,
) -> Result<(String, String), AssertionError> {
    let persona = issuing.persona;
    let configured = || -> Result<(String, String), AssertionError> {
        Ok((
            persona.saml.name_id_format.value.clone(),
            name_id(persona, user)?,
        ))
    };
    let requested = audience.name_id_format.as_deref();
    match name_id_rule(persona, requested) {
        Ok(NameIdRule::Pairwise) => {
            let stable = name_id(persona, user)?;
            Ok((
                requested.unwrap_or_default().to_owned(),
                crate::oidc::claims::pairwise_subject(&audience.entity_id, &stable, issuing.tenant),
            ))
        }
        Ok(NameIdRule::Transient) => {
            let bytes: [u8; 16] = rng.random();
            let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            Ok((requested.unwrap_or_default().to_owned(), format!("_{hex}")))
        }
        Ok(NameIdRule::Configured) | Err(_) => configured(),
    }
}

/// The IdP issuing a Response.
#[derive(Debug, Clone, Copy)]
pub struct Issuing<'a> {
    /// The persona.
    pub persona: &'a Persona,
    /// The IdP's entity ID (the `Issuer`).
    pub entity_id: &'a str,
    /// The simulated tenant (`{tenant}` of static attributes).
    pub tenant: &'a str,
    /// The signing credential.
    pub credential: &'a SamlCredential,
}

/// An ID in the persona's shape (`id_format` knob).
pub fn new_id(persona: &Persona, rng: &mut impl Rng) -> String {
    match persona.saml.id_format.value.as_str() {
        "id_digits" => {
            let digits: String = (0..25)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect();
            format!("id{digits}")
        }
        "underscore_hex" => {
            let bytes: [u8; 16] = rng.random();
            let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("_{hex}")
        }
        _ => {
            let bytes: [u8; 16] = rng.random();
            format!("_{}", uuid::Builder::from_random_bytes(bytes).into_uuid())
        }
    }
}

/// The user's attributes in the persona's names.
fn native_record(
    persona: &Persona,
    user: &DirectoryUser,
) -> Result<serde_json::Map<String, Value>, AssertionError> {
    user.blocks
        .get(&persona.directory_block)
        .map(|block| block.attributes())
        .ok_or_else(|| AssertionError::NoBlock(user.key.clone(), persona.directory_block.clone()))
}

/// A native value as the text of an AttributeValue or NameID.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The NameID value of `user` under the persona's `name_id_attribute` knob.
pub fn name_id(persona: &Persona, user: &DirectoryUser) -> Result<String, AssertionError> {
    let attributes = native_record(persona, user)?;
    let record = NativeRecord {
        attributes: &attributes,
        computed: &persona.computed,
    };
    let attribute = &persona.saml.name_id_attribute.value;
    record
        .get(attribute)
        .as_ref()
        .and_then(text_of)
        .ok_or_else(|| AssertionError::NoNameId {
            user: user.key.clone(),
            attribute: attribute.clone(),
        })
}

/// The persona's attributes for `user`: each mapped attribute the user has (unset ones are
/// left out), the static attributes, and the group attribute with one value per group.
pub fn attributes(
    persona: &Persona,
    directory: &Directory,
    user: &DirectoryUser,
    tenant: &str,
) -> Result<Vec<(String, Vec<String>)>, AssertionError> {
    let native = native_record(persona, user)?;
    let record = NativeRecord {
        attributes: &native,
        computed: &persona.computed,
    };
    let mut out = Vec::new();
    for (name, source) in &persona.saml.attributes.value {
        let values: Vec<String> = match record.get(source) {
            Some(Value::Array(items)) => items.iter().filter_map(text_of).collect(),
            Some(value) => text_of(&value).into_iter().collect(),
            None => Vec::new(),
        };
        if !values.is_empty() {
            out.push((name.clone(), values));
        }
    }
    if let Some(statics) = &persona.saml.static_attributes {
        for (name, value) in &statics.value {
            out.push((name.clone(), vec![value.replace("{tenant}", tenant)]));
        }
    }
    if let Some(groups) = &persona.saml.group_attribute {
        let names: Vec<String> = directory
            .groups
            .iter()
            .filter(|group| group.members.contains(&user.key))
            .filter_map(|group| group.blocks.get(&persona.directory_block))
            .filter_map(|block| block.get(&groups.value.value).as_ref().and_then(text_of))
            .collect();
        if !names.is_empty() {
            out.push((groups.value.name.clone(), names));
        }
    }
    Ok(out)
}

/// The signed Response for `user`, issued at `now`, as XML text (the bytes to base64 and post).
pub fn signed_response(
    issuing: Issuing<'_>,
    directory: &Directory,
    user: &DirectoryUser,
    audience: &Audience,
    now: DateTime<Utc>,
    rng: &mut impl Rng,
) -> Result<String, AssertionError> {
    let persona = issuing.persona;
    let saml = &persona.saml;
    let (name_id_format, name_id_value) = subject_name_id(&issuing, user, audience, rng)?;
    let response_id = new_id(persona, rng);
    let assertion_id = new_id(persona, rng);
    let issuer = || Issuer {
        format: saml.issuer_format.as_ref().map(|knob| knob.value.clone()),
        value: Some(escape(issuing.entity_id)),
        ..Issuer::default()
    };
    let session_index = match (saml.session_index.value.as_str(), &audience.in_response_to) {
        ("request_id", Some(request)) => request.clone(),
        _ => assertion_id.clone(),
    };
    let minutes = |knob: u32| Duration::minutes(i64::from(knob));
    let attributes = attributes(persona, directory, user, issuing.tenant)?
        .into_iter()
        .map(|(name, values)| Attribute {
            friendly_name: None,
            name: Some(name),
            name_format: saml
                .attribute_name_format
                .as_ref()
                .map(|knob| knob.value.clone()),
            values: values
                .iter()
                .map(|value| AttributeValue {
                    attribute_type: saml
                        .attribute_value_type
                        .as_ref()
                        .map(|knob| knob.value.clone()),
                    value: Some(escape(value)),
                })
                .collect(),
        })
        .collect();
    let certificate = CertificateDer::from(issuing.credential.certificate_der().to_vec());
    let template = |id: &str| {
        let mut signature = Signature::template(id, &certificate);
        for reference in &mut signature.signed_info.reference {
            reference.digest_method.algorithm = DigestAlgorithm::Sha256;
        }
        signature
    };
    let sign_assertion = matches!(saml.signed.value.as_str(), "assertion" | "both");
    let sign_response = matches!(saml.signed.value.as_str(), "response" | "both");
    let assertion = Assertion {
        id: assertion_id.clone(),
        issue_instant: now,
        version: "2.0".into(),
        issuer: issuer(),
        signature: sign_assertion.then(|| template(&assertion_id)),
        subject: Some(Subject {
            name_id: Some(SubjectNameID {
                format: Some(name_id_format),
                value: escape(&name_id_value),
            }),
            subject_confirmations: Some(vec![SubjectConfirmation {
                method: Some(BEARER.into()),
                name_id: None,
                subject_confirmation_data: Some(SubjectConfirmationData {
                    not_before: None,
                    not_on_or_after: Some(now + minutes(saml.subject_confirmation_minutes.value)),
                    recipient: Some(audience.acs_url.clone()),
                    in_response_to: audience.in_response_to.clone(),
                    address: None,
                    content: None,
                }),
            }]),
        }),
        conditions: Some(Conditions {
            not_before: Some(now - minutes(saml.not_before_minutes.value)),
            not_on_or_after: Some(now + minutes(saml.validity_minutes.value)),
            audience_restrictions: Some(vec![AudienceRestriction {
                audience: vec![escape(&audience_value(&issuing, &audience.entity_id))],
            }]),
            one_time_use: None,
            proxy_restriction: None,
        }),
        authn_statements: Some(vec![AuthnStatement {
            authn_instant: Some(now),
            session_index: Some(session_index),
            session_not_on_or_after: None,
            subject_locality: None,
            authn_context: Some(AuthnContext {
                value: Some(AuthnContextClassRef {
                    value: Some(saml.authn_context.value.clone()),
                }),
            }),
        }]),
        attribute_statements: Some(vec![samael::schema::AttributeStatement { attributes }]),
    };
    let response = Response {
        id: response_id.clone(),
        in_response_to: audience.in_response_to.clone(),
        version: "2.0".into(),
        issue_instant: now,
        destination: Some(audience.acs_url.clone()),
        consent: None,
        issuer: Some(issuer()),
        signature: None,
        status: Some(Status {
            status_code: StatusCode {
                value: Some(SUCCESS.into()),
            },
            status_message: None,
            status_detail: None,
        }),
        encrypted_assertion: None,
        assertion: Some(assertion),
    };
    let signing = |error: String| AssertionError::Signing(error);
    let mut xml = response
        .to_string()
        .map_err(|error| signing(error.to_string()))?;
    let key = issuing.credential.key_der();
    if sign_assertion {
        xml = Crypto::sign_xml(&xml, key).map_err(|error| signing(error.to_string()))?;
    }
    if sign_response {
        // `sign_xml` signs the first template in document order, so the response's template
        // goes in after the assertion is signed: right after the response's Issuer.
        let end = "</saml2:Issuer>";
        let at = xml
            .find(end)
            .map(|index| index + end.len())
            .ok_or_else(|| signing("the response has no Issuer".into()))?;
        let response_template = template(&response_id)
            .to_string()
            .map_err(|error| signing(error.to_string()))?;
        xml.insert_str(at, &response_template);
        xml = Crypto::sign_xml(&xml, key).map_err(|error| signing(error.to_string()))?;
    }
    Ok(xml)
}

/// An unsigned error Response (SAML Core §3.2.2.2): a top-level status (`Requester`,
/// `Responder`) with a second-level one (`InvalidNameIDPolicy`, `NoPassive`) and a message.
pub fn error_response(
    persona: &Persona,
    entity_id: &str,
    audience: &Audience,
    status: (&str, &str),
    message: &str,
    now: DateTime<Utc>,
    rng: &mut impl Rng,
) -> String {
    let in_response_to = audience
        .in_response_to
        .as_deref()
        .map(|id| format!(" InResponseTo=\"{}\"", escape(id)))
        .unwrap_or_default();
    format!(
        "<saml2p:Response xmlns:saml2p=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" \
         IssueInstant=\"{instant}\" Destination=\"{destination}\"{in_response_to}>\
         <saml2:Issuer>{issuer}</saml2:Issuer><saml2p:Status>\
         <saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:{top}\">\
         <saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:{second}\"/></saml2p:StatusCode>\
         <saml2p:StatusMessage>{message}</saml2p:StatusMessage></saml2p:Status></saml2p:Response>",
        id = new_id(persona, rng),
        instant = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        destination = escape(&audience.acs_url),
        issuer = escape(entity_id),
        top = status.0,
        second = status.1,
        message = escape(message),
    )
}
