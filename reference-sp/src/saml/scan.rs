//! The structural scan every SAML message goes through before libxml2 or samael reads it:
//! no DTD, entity reference, comment, processing instruction or foreign encoding, the shape a
//! signature can be trusted in (see the parent module's documentation), and nothing that
//! would make libxml2 or libxmlsec1 work without bound: no transform but the enveloped
//! signature and canonicalisation (XSLT and XPath run the sender's code), no
//! `ds:RetrievalMethod`, at most 64 levels of elements and 64 attributes on one.

use super::{ASSERTION_NS, DSIG_NS, PROTOCOL_NS, RSA_SHA256, Refusal, SHA256};

/// The deepest nesting accepted: a SAML Response is about ten elements deep.
const MAX_DEPTH: usize = 64;
/// The most attributes (namespace declarations included) one element may carry: libxml2
/// checks them for duplicates in quadratic time.
const MAX_ATTRIBUTES: usize = 64;
/// The transforms a signature's Reference may ask for (SAML Core §5.4.4): enveloped
/// signature and canonicalisation. Others (XSLT, XPath) would run code of the sender's choice
/// in libxmlsec1 before the signature is checked.
const ALLOWED_TRANSFORMS: [&str; 7] = [
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
];
/// The most transforms one Reference may list (SAML's is two).
const MAX_TRANSFORMS: usize = 4;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};
use std::collections::HashSet;

/// What the scan before parsing learned of a response.
#[derive(Debug, Default)]
pub(super) struct Shape {
    /// `ds:Signature` elements.
    pub(super) signatures: usize,
    /// The ID of the one assertion, if there is one.
    pub(super) assertion_id: Option<String>,
    /// The base64 certificates in the signatures' KeyInfo (which says who signed, not who is
    /// trusted).
    pub(super) key_info_certificates: Vec<String>,
}

/// An open element of the scan.
struct Open {
    namespace: String,
    name: String,
    /// Its `ID` attribute.
    id: Option<String>,
    /// For XML Signature elements: `Algorithm` (methods) or `URI` (Reference).
    target: Option<String>,
    /// Children counted: a `Signature`'s References, a `Transforms`'s Transforms.
    children: usize,
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
pub(super) fn scan(xml: &str, root: &'static str) -> Result<Shape, Refusal> {
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
        if self.open.len() >= MAX_DEPTH {
            return Err(Refusal::Forbidden(format!(
                "elements nested more than {MAX_DEPTH} deep"
            )));
        }
        // Counted before any attribute is looked up, without the duplicate check.
        let attributes = element
            .attributes()
            .with_checks(false)
            .take(MAX_ATTRIBUTES + 1)
            .count();
        if attributes > MAX_ATTRIBUTES {
            return Err(Refusal::Forbidden(format!(
                "more than {MAX_ATTRIBUTES} attributes on {name}"
            )));
        }
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
            (true, "SignatureMethod" | "DigestMethod" | "Transform" | "CanonicalizationMethod") => {
                attribute(element, "Algorithm")?
            }
            (true, "Reference") => attribute(element, "URI")?,
            _ => None,
        };
        let opened = Open {
            id: attribute(element, "ID")?,
            namespace,
            name,
            target,
            children: 0,
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
        if opened.is(DSIG_NS, "RetrievalMethod") {
            // It names key material elsewhere, for libxmlsec1 to fetch; SAML never needs it.
            return Err(Refusal::Forbidden("a ds:RetrievalMethod".into()));
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
        if opened.is(DSIG_NS, "Transform") || opened.is(DSIG_NS, "CanonicalizationMethod") {
            self.transform(&opened)?;
        }
        Ok(opened)
    }

    /// A Transform or CanonicalizationMethod must be one of [`ALLOWED_TRANSFORMS`] (the
    /// enveloped-signature transform only as a Transform), at most [`MAX_TRANSFORMS`] to a
    /// Reference.
    fn transform(&mut self, transform: &Open) -> Result<(), Refusal> {
        let algorithm = transform.target.as_deref().unwrap_or("(none)");
        let enveloped = algorithm == ALLOWED_TRANSFORMS[0];
        let allowed = ALLOWED_TRANSFORMS.contains(&algorithm)
            && !(enveloped && transform.name == "CanonicalizationMethod");
        if !allowed {
            return Err(Refusal::Algorithm(format!(
                "{} {algorithm}",
                transform.name
            )));
        }
        if transform.name == "Transform" {
            let Some(transforms) = self
                .open
                .last_mut()
                .filter(|parent| parent.is(DSIG_NS, "Transforms"))
            else {
                return Err(Refusal::Wrapping("a Transform outside Transforms".into()));
            };
            transforms.children += 1;
            if transforms.children > MAX_TRANSFORMS {
                return Err(Refusal::Forbidden(format!(
                    "more than {MAX_TRANSFORMS} transforms in one Reference"
                )));
            }
        }
        Ok(())
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
        signature.children += 1;
        if signature.children > 1 {
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
pub(super) fn attribute(element: &BytesStart<'_>, name: &str) -> Result<Option<String>, Refusal> {
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
