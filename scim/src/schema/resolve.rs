//! Resource types (RFC 7643 §6) and resolution of attribute paths against them.

use super::{
    AttributeDef, ENTRA_GROUP_SCHEMA, Schema, common_attributes, enterprise_user_schema,
    group_schema, user_schema,
};
use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

/// A resource type: its core schema, its extensions, and the endpoint it lives at.
#[derive(Debug)]
pub struct ResourceSchema {
    /// The resource type name, e.g. `User`.
    pub name: &'static str,
    /// The endpoint relative to the SCIM base URL, e.g. `/Users`.
    pub endpoint: &'static str,
    /// What the resource type is.
    pub description: &'static str,
    /// The core schema.
    pub core: &'static Schema,
    /// Schema extensions whose attributes live under their URN.
    pub extensions: Vec<&'static Schema>,
    /// Schema URIs accepted in `schemas` that define no attributes (vendor markers).
    pub marker_schemas: &'static [&'static str],
}

/// The outcome of resolving an [`AttrPath`]: which definition it names and where it lives.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedAttribute {
    /// The extension schema the attribute belongs to; `None` for core and common attributes,
    /// which sit at the top level of a resource.
    pub extension: Option<&'static Schema>,
    /// The top-level attribute.
    pub attribute: &'static AttributeDef,
    /// The sub-attribute, when the path names one.
    pub sub_attribute: Option<&'static AttributeDef>,
}

impl ResolvedAttribute {
    /// The definition the path ends at: the sub-attribute if there is one.
    pub fn target(&self) -> &'static AttributeDef {
        self.sub_attribute.unwrap_or(self.attribute)
    }

    /// The top-level attribute's value in `resource`, looked up case-insensitively.
    pub fn value_in<'v>(&self, resource: &'v Map<String, Value>) -> Option<&'v Value> {
        let container = match self.extension {
            None => resource,
            Some(ext) => get_ignore_case(resource, &ext.id)?.as_object()?,
        };
        get_ignore_case(container, &self.attribute.name)
    }

    /// The canonical spelling of the path, with the extension URN when there is one.
    pub fn canonical_path(&self) -> String {
        let mut path = match self.extension {
            Some(ext) => format!("{}:{}", ext.id, self.attribute.name),
            None => self.attribute.name.clone(),
        };
        if let Some(sub) = self.sub_attribute {
            path.push('.');
            path.push_str(&sub.name);
        }
        path
    }
}

/// Looks `key` up in `map` ignoring ASCII case (RFC 7643 §2.1: attribute names are
/// case-insensitive). An exact match wins over a case-folded one.
pub fn get_ignore_case<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

impl ResourceSchema {
    /// The User resource type, with the Enterprise User extension.
    pub fn user() -> &'static ResourceSchema {
        static USER: OnceLock<ResourceSchema> = OnceLock::new();
        USER.get_or_init(|| ResourceSchema {
            name: "User",
            endpoint: "/Users",
            description: "User Account",
            core: user_schema(),
            extensions: vec![enterprise_user_schema()],
            marker_schemas: &[],
        })
    }

    /// The Group resource type.
    pub fn group() -> &'static ResourceSchema {
        static GROUP: OnceLock<ResourceSchema> = OnceLock::new();
        GROUP.get_or_init(|| ResourceSchema {
            name: "Group",
            endpoint: "/Groups",
            description: "Group",
            core: group_schema(),
            extensions: Vec::new(),
            marker_schemas: &[ENTRA_GROUP_SCHEMA],
        })
    }

    /// The extension schema with URN `urn` (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&'static Schema> {
        self.extensions
            .iter()
            .copied()
            .find(|ext| ext.id.eq_ignore_ascii_case(urn))
    }

    /// Whether `uri` may appear in a resource's `schemas` list.
    pub fn accepts_schema(&self, uri: &str) -> bool {
        self.core.id.eq_ignore_ascii_case(uri)
            || self.extension(uri).is_some()
            || self
                .marker_schemas
                .iter()
                .any(|m| m.eq_ignore_ascii_case(uri))
    }

    /// Resolves `path` to the attribute definitions it names.
    ///
    /// Unqualified names are looked up among the common attributes (`id`, `externalId`,
    /// `meta`) and the core schema; a URN prefix selects the core schema or an extension.
    pub fn resolve(&self, path: &AttrPath) -> ScimResult<ResolvedAttribute> {
        let unknown = |what: String| ScimError::InvalidPath {
            path: path.to_string(),
            reason: what,
        };
        let (extension, attribute) = match &path.schema {
            Some(urn) if !self.core.id.eq_ignore_ascii_case(urn) => {
                let ext = self
                    .extension(urn)
                    .ok_or_else(|| unknown(format!("unknown schema `{urn}` for {}", self.name)))?;
                (Some(ext), ext.attribute(&path.name))
            }
            _ => {
                let core = common_attributes()
                    .iter()
                    .find(|attr| attr.name.eq_ignore_ascii_case(&path.name))
                    .or_else(|| self.core.attribute(&path.name));
                match core {
                    Some(attribute) => (None, Some(attribute)),
                    None if path.schema.is_none() => {
                        self.unqualified_extension_attribute(&path.name)
                    }
                    None => (None, None),
                }
            }
        };
        let attribute = attribute
            .ok_or_else(|| unknown(format!("{} has no attribute `{}`", self.name, path.name)))?;
        let sub_attribute = match &path.sub_attribute {
            None => None,
            Some(sub) => Some(attribute.sub_attribute(sub).ok_or_else(|| {
                unknown(format!("`{}` has no sub-attribute `{sub}`", attribute.name))
            })?),
        };
        Ok(ResolvedAttribute {
            extension,
            attribute,
            sub_attribute,
        })
    }

    /// Whether this resource type has the top-level attribute `path` names (its
    /// sub-attribute, if any, is not looked at).
    pub fn has_attribute(&self, path: &AttrPath) -> bool {
        let attribute = AttrPath {
            sub_attribute: None,
            ..path.clone()
        };
        self.resolve(&attribute).is_ok()
    }

    /// An extension attribute named without its URN, when exactly one extension defines it.
    ///
    /// RFC 7644 §3.10 reads unqualified names as core attributes, but Entra checks the manager
    /// with `manager eq "..."` (personas.md §1.1 "Update user"), so a name the core schema lacks
    /// falls back to the extensions.
    fn unqualified_extension_attribute(
        &self,
        name: &str,
    ) -> (Option<&'static Schema>, Option<&'static AttributeDef>) {
        let mut found = self
            .extensions
            .iter()
            .filter_map(|ext| ext.attribute(name).map(|attr| (*ext, attr)));
        match (found.next(), found.next()) {
            (Some((ext, attr)), None) => (Some(ext), Some(attr)),
            _ => (None, None),
        }
    }

    /// The `/ResourceTypes/{name}` document (RFC 7643 §6), located under `base_url`.
    pub fn resource_type_json(&self, base_url: &str) -> Value {
        let extensions: Vec<Value> = self
            .extensions
            .iter()
            .map(|ext| json!({"schema": ext.id, "required": false}))
            .collect();
        let mut doc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.core.id,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.name),
            },
        });
        if !extensions.is_empty()
            && let Some(map) = doc.as_object_mut()
        {
            map.insert("schemaExtensions".into(), Value::Array(extensions));
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ENTERPRISE_USER_SCHEMA;

    fn resolve(text: &str) -> ScimResult<ResolvedAttribute> {
        ResourceSchema::user().resolve(&AttrPath::parse(text)?)
    }

    #[test]
    fn core_attribute_resolves_case_insensitively() {
        let resolved = resolve("USERNAME").unwrap();
        assert_eq!(resolved.attribute.name, "userName");
        assert!(resolved.extension.is_none());
    }

    #[test]
    fn enterprise_path_resolves_to_extension() {
        let resolved =
            resolve("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:EmployeeNumber")
                .unwrap();
        assert_eq!(resolved.extension.unwrap().id, ENTERPRISE_USER_SCHEMA);
        assert_eq!(
            resolved.canonical_path(),
            format!("{ENTERPRISE_USER_SCHEMA}:employeeNumber")
        );
    }

    #[test]
    fn core_urn_prefix_is_allowed() {
        let resolved =
            resolve("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();
        assert_eq!(resolved.target().name, "givenName");
    }

    #[test]
    fn common_attributes_resolve() {
        assert_eq!(
            resolve("meta.lastModified").unwrap().target().name,
            "lastModified"
        );
        assert_eq!(resolve("externalid").unwrap().attribute.name, "externalId");
    }

    #[test]
    fn unknown_attribute_is_invalid_path() {
        assert!(matches!(
            resolve("shoeSize"),
            Err(ScimError::InvalidPath { .. })
        ));
        assert!(matches!(
            resolve("emails.colour"),
            Err(ScimError::InvalidPath { .. })
        ));
    }

    #[test]
    fn value_in_reads_extension_attributes() {
        let resource = json!({
            "userName": "a",
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "42"}
        });
        let resolved = resolve(&format!("{ENTERPRISE_USER_SCHEMA}:employeeNumber")).unwrap();
        assert_eq!(
            resolved.value_in(resource.as_object().unwrap()),
            Some(&json!("42"))
        );
    }

    #[test]
    fn unqualified_extension_attribute_resolves_to_its_extension() {
        let resolved = resolve("manager.value").unwrap();
        assert_eq!(resolved.extension.unwrap().id, ENTERPRISE_USER_SCHEMA);
        assert_eq!(resolved.target().name, "value");
    }

    #[test]
    fn group_accepts_entra_marker_schema() {
        assert!(ResourceSchema::group().accepts_schema(crate::schema::ENTRA_GROUP_SCHEMA));
        assert!(!ResourceSchema::group().accepts_schema("urn:example:unknown"));
    }
}
