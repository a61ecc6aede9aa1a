//! Schema definitions (RFC 7643 §2, §7, §8.7) and attribute resolution.
//!
//! The core User, Enterprise User and Group schemas are data files (`scim/schemas/*.json`,
//! written from RFC 7643 §8.7.1), loaded once. The same values drive validation, PATCH,
//! filtering, projection and the `/Schemas` endpoint, so what is served is what is enforced.

mod resolve;

pub use resolve::{ResolvedAttribute, ResourceSchema, get_ignore_case};

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// URN of the core User schema (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of the core Group schema (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The Microsoft-specific group schema URI Entra lists in every group create
/// (`../shared/reference/personas.md` §1.1, "Groups"). It defines no attributes; it is accepted
/// so that Entra's group provisioning works, as it must against any real endpoint.
pub const ENTRA_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttributeType {
    /// A sequence of characters.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An `xsd:dateTime` instant, e.g. `2008-01-23T04:56:22Z`.
    DateTime,
    /// Base64-encoded binary data.
    Binary,
    /// A URI naming a resource.
    Reference,
    /// A singular or multi-valued attribute made of sub-attributes.
    Complex,
}

/// Whether and how a client may change an attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Set by the service provider only; ignored in create and replace bodies.
    ReadOnly,
    /// May be updated and read at any time.
    ReadWrite,
    /// May be set once (at create, or while unset) and never changed after.
    Immutable,
    /// May be written but is never returned.
    WriteOnly,
}

/// When an attribute is returned in a response (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always returned, even when excluded or not requested.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded, or unless another set of attributes was requested.
    Default,
    /// Returned only when named in `attributes`.
    Request,
}

/// The scope in which a value must be unique (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No uniqueness constraint.
    None,
    /// Unique within the service provider's tenant.
    Server,
    /// Globally unique.
    Global,
}

/// One attribute definition, as served by `/Schemas` (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    /// The attribute's name; matching is case-insensitive.
    pub name: String,
    /// Its data type.
    #[serde(rename = "type")]
    pub kind: AttributeType,
    /// Whether it holds a list of values.
    pub multi_valued: bool,
    /// What it means.
    pub description: String,
    /// Whether a resource must carry it.
    pub required: bool,
    /// Whether string comparison is case-sensitive (absent for complex attributes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_exact: Option<bool>,
    /// Suggested values, e.g. `work`, `home`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// For references, the kinds of resource they may name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    /// Sub-attributes of a complex attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<AttributeDef>,
    /// Whether and how clients may change it.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// Its uniqueness scope.
    pub uniqueness: Uniqueness,
}

impl AttributeDef {
    /// The sub-attribute called `name` (case-insensitive).
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|sub| sub.name.eq_ignore_ascii_case(name))
    }

    /// Whether string values of this attribute compare case-sensitively.
    pub fn is_case_exact(&self) -> bool {
        self.case_exact.unwrap_or(false)
    }

    /// Whether this is a complex attribute.
    pub fn is_complex(&self) -> bool {
        self.kind == AttributeType::Complex
    }

    fn simple(name: &str, kind: AttributeType, description: &str) -> AttributeDef {
        AttributeDef {
            name: name.into(),
            kind,
            multi_valued: false,
            description: description.into(),
            required: false,
            case_exact: Some(false),
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
            mutability: Mutability::ReadOnly,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
        }
    }
}

/// A schema: a URN and its attributes (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The schema URN.
    pub id: String,
    /// Its short name.
    pub name: String,
    /// What it describes.
    pub description: String,
    /// Its attribute definitions.
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// The attribute called `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|attr| attr.name.eq_ignore_ascii_case(name))
    }

    /// The schema as served by `/Schemas/{id}`, with `meta` pointing at `location`.
    pub fn to_json(&self, location: &str) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "schemas".into(),
                serde_json::json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]),
            );
            map.insert(
                "meta".into(),
                serde_json::json!({"resourceType": "Schema", "location": location}),
            );
        }
        value
    }
}

/// The attributes every resource has (RFC 7643 §3.1): `id`, `externalId`, `meta`.
pub fn common_attributes() -> &'static [AttributeDef] {
    static COMMON: OnceLock<Vec<AttributeDef>> = OnceLock::new();
    COMMON.get_or_init(|| {
        use AttributeType::{DateTime, Reference, String as Str};
        let mut id = AttributeDef::simple("id", Str, "A unique identifier for a SCIM resource as defined by the service provider.");
        id.case_exact = Some(true);
        id.returned = Returned::Always;
        id.uniqueness = Uniqueness::Server;
        let mut external_id = AttributeDef::simple("externalId", Str, "A String that is an identifier for the resource as defined by the provisioning client.");
        external_id.case_exact = Some(true);
        external_id.mutability = Mutability::ReadWrite;
        let mut meta = AttributeDef::simple("meta", AttributeType::Complex, "A complex attribute containing resource metadata.");
        meta.case_exact = None;
        let mut resource_type = AttributeDef::simple("resourceType", Str, "The name of the resource type of the resource.");
        resource_type.case_exact = Some(true);
        let mut location = AttributeDef::simple("location", Reference, "The URI of the resource being returned.");
        location.case_exact = Some(true);
        let mut version = AttributeDef::simple("version", Str, "The version of the resource being returned.");
        version.case_exact = Some(true);
        meta.sub_attributes = vec![
            resource_type,
            AttributeDef::simple("created", DateTime, "The DateTime that the resource was added to the service provider."),
            AttributeDef::simple("lastModified", DateTime, "The most recent DateTime that the details of this resource were updated at the service provider."),
            location,
            version,
        ];
        vec![id, external_id, meta]
    })
}

fn load(text: &'static str) -> Schema {
    // The schema files are compiled in and checked by `bundled_schemas_load`; a parse failure
    // is a build defect, not an input error.
    #[allow(clippy::expect_used)]
    serde_json::from_str(text).expect("bundled SCIM schema JSON is valid")
}

/// The core User schema (RFC 7643 §4.1).
pub fn user_schema() -> &'static Schema {
    static USER: OnceLock<Schema> = OnceLock::new();
    USER.get_or_init(|| load(include_str!("../../schemas/User.json")))
}

/// The Enterprise User extension schema (RFC 7643 §4.3).
pub fn enterprise_user_schema() -> &'static Schema {
    static ENTERPRISE: OnceLock<Schema> = OnceLock::new();
    ENTERPRISE.get_or_init(|| load(include_str!("../../schemas/EnterpriseUser.json")))
}

/// The core Group schema (RFC 7643 §4.2).
pub fn group_schema() -> &'static Schema {
    static GROUP: OnceLock<Schema> = OnceLock::new();
    GROUP.get_or_init(|| load(include_str!("../../schemas/Group.json")))
}

/// Every schema the core knows, in the order `/Schemas` lists them.
pub fn all_schemas() -> [&'static Schema; 3] {
    [user_schema(), enterprise_user_schema(), group_schema()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_schemas_load() {
        assert_eq!(user_schema().id, USER_SCHEMA);
        assert_eq!(enterprise_user_schema().id, ENTERPRISE_USER_SCHEMA);
        assert_eq!(group_schema().id, GROUP_SCHEMA);
    }

    #[test]
    fn attribute_lookup_ignores_case() {
        let emails = user_schema().attribute("EMAILS").unwrap();
        assert!(emails.multi_valued);
        assert_eq!(emails.sub_attribute("VALUE").unwrap().name, "value");
    }

    #[test]
    fn user_name_is_required_and_unique() {
        let user_name = user_schema().attribute("userName").unwrap();
        assert!(user_name.required);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        assert!(!user_name.is_case_exact());
    }

    #[test]
    fn password_is_write_only_and_never_returned() {
        let password = user_schema().attribute("password").unwrap();
        assert_eq!(password.mutability, Mutability::WriteOnly);
        assert_eq!(password.returned, Returned::Never);
    }

    #[test]
    fn schema_json_round_trips() {
        let json = serde_json::to_value(user_schema()).unwrap();
        let back: Schema = serde_json::from_value(json).unwrap();
        assert_eq!(&back, user_schema());
    }
}
