//! `attributes` / `excludedAttributes` projection (RFC 7644 §3.4.2.5) combined with each
//! attribute's `returned` characteristic (RFC 7643 §7).

use crate::error::ScimResult;
use crate::path::{AttrPath, starts_with_ignore_case};
use crate::schema::{AttributeDef, ResourceSchema, Returned, Schema, common_attributes};
use serde_json::{Map, Value};

/// One name from an `attributes` or `excludedAttributes` list, resolved against the schema.
#[derive(Debug, Clone, Copy)]
enum Selector {
    /// A whole extension, named by its URN.
    Extension(&'static Schema),
    /// An attribute (of the core schema when `extension` is `None`), optionally one sub-attribute.
    Attribute {
        extension: Option<&'static Schema>,
        attribute: &'static AttributeDef,
        sub_attribute: Option<&'static AttributeDef>,
    },
}

/// Which attributes a response carries.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    /// Whether the client named attributes to return (even ones the schema lacks).
    restricted: bool,
    requested: Vec<Selector>,
    excluded: Vec<Selector>,
}

impl Projection {
    /// The default projection: every attribute whose `returned` is `always` or `default`.
    pub fn all() -> Projection {
        Projection::default()
    }

    /// Parses the comma-separated `attributes` and `excludedAttributes` parameters.
    ///
    /// Names that are syntactically invalid are an `invalidPath` error; well-formed names the
    /// schema does not define select nothing, as RFC 7644 gives no error for them.
    pub fn parse(
        attributes: Option<&str>,
        excluded_attributes: Option<&str>,
        schema: &ResourceSchema,
    ) -> ScimResult<Projection> {
        Ok(Projection {
            restricted: attributes
                .is_some_and(|list| list.split(',').any(|n| !n.trim().is_empty())),
            requested: parse_list(attributes, schema)?,
            excluded: parse_list(excluded_attributes, schema)?,
        })
    }

    /// Builds a projection from name lists already split (the `.search` body form).
    pub fn from_lists(
        attributes: &[String],
        excluded_attributes: &[String],
        schema: &ResourceSchema,
    ) -> ScimResult<Projection> {
        let resolve_all = |names: &[String]| -> ScimResult<Vec<Selector>> {
            let mut selectors = Vec::new();
            for name in names {
                if !name.trim().is_empty() {
                    selectors.extend(resolve_name(name.trim(), schema)?);
                }
            }
            Ok(selectors)
        };
        Ok(Projection {
            restricted: attributes.iter().any(|n| !n.trim().is_empty()),
            requested: resolve_all(attributes)?,
            excluded: resolve_all(excluded_attributes)?,
        })
    }

    /// Applies the projection to a rendered resource. `schemas` and `returned: always`
    /// attributes survive any projection; `returned: never` ones (e.g. `password`) never do.
    pub fn apply(&self, resource: &Value, schema: &ResourceSchema) -> Value {
        let Some(map) = resource.as_object() else {
            return resource.clone();
        };
        let mut out = Map::new();
        for (key, value) in map {
            if key.eq_ignore_ascii_case("schemas") {
                out.insert(key.clone(), value.clone());
            } else if let Some(ext) = schema.extension(key) {
                let Some(ext_map) = value.as_object() else {
                    continue;
                };
                let mut projected = Map::new();
                for (name, attr_value) in ext_map {
                    if let Some(def) = ext.attribute(name)
                        && let Some(kept) = self.project(Some(ext), def, attr_value)
                    {
                        projected.insert(name.clone(), kept);
                    }
                }
                if !projected.is_empty() {
                    out.insert(key.clone(), Value::Object(projected));
                }
            } else if let Some(def) = top_level_attribute(key, schema)
                && let Some(kept) = self.project(None, def, value)
            {
                out.insert(key.clone(), kept);
            }
        }
        Value::Object(out)
    }

    fn project(
        &self,
        extension: Option<&'static Schema>,
        def: &AttributeDef,
        value: &Value,
    ) -> Option<Value> {
        match def.returned {
            Returned::Never => return None,
            Returned::Always => return Some(strip_never(def, value, &[])),
            Returned::Default | Returned::Request => {}
        }
        let requested = matching(&self.requested, extension, def);
        if self.restricted {
            if requested.whole {
                return Some(strip_never(def, value, &[]));
            }
            if requested.subs.is_empty() {
                return None;
            }
            return keep_only(def, value, &requested.subs);
        }
        if def.returned == Returned::Request {
            return None;
        }
        let excluded = matching(&self.excluded, extension, def);
        if excluded.whole {
            return None;
        }
        Some(strip_never(def, value, &excluded.subs))
    }
}

/// What a selector list says about one attribute: all of it, or some sub-attributes.
struct Selection {
    whole: bool,
    subs: Vec<&'static AttributeDef>,
}

fn matching(
    selectors: &[Selector],
    extension: Option<&'static Schema>,
    def: &AttributeDef,
) -> Selection {
    let mut selection = Selection {
        whole: false,
        subs: Vec::new(),
    };
    for selector in selectors {
        match *selector {
            Selector::Extension(ext) => {
                if extension.is_some_and(|e| e.id == ext.id) {
                    selection.whole = true;
                }
            }
            Selector::Attribute {
                extension: sel_ext,
                attribute,
                sub_attribute,
            } => {
                let same_schema = sel_ext.map(|e| &e.id) == extension.map(|e| &e.id);
                if same_schema && attribute.name == def.name {
                    match sub_attribute {
                        None => selection.whole = true,
                        Some(sub) => selection.subs.push(sub),
                    }
                }
            }
        }
    }
    selection
}

/// Keeps only the listed sub-attributes (plus `returned: always` ones) of a complex value.
fn keep_only(def: &AttributeDef, value: &Value, subs: &[&AttributeDef]) -> Option<Value> {
    let keep = |element: &Map<String, Value>| -> Map<String, Value> {
        element
            .iter()
            .filter(|(name, _)| {
                def.sub_attribute(name).is_some_and(|sub| {
                    sub.returned == Returned::Always
                        || (sub.returned != Returned::Never
                            && subs.iter().any(|s| s.name == sub.name))
                })
            })
            .map(|(name, v)| (name.clone(), v.clone()))
            .collect()
    };
    match value {
        Value::Object(element) => {
            let kept = keep(element);
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        Value::Array(elements) => {
            let kept: Vec<Value> = elements
                .iter()
                .filter_map(Value::as_object)
                .map(keep)
                .filter(|m| !m.is_empty())
                .map(Value::Object)
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

/// Removes `returned: never` sub-attributes and the excluded ones from a complex value.
fn strip_never(def: &AttributeDef, value: &Value, excluded: &[&AttributeDef]) -> Value {
    if !def.is_complex() {
        return value.clone();
    }
    let strip = |element: &Map<String, Value>| -> Map<String, Value> {
        element
            .iter()
            .filter(|(name, _)| match def.sub_attribute(name) {
                Some(sub) => {
                    sub.returned != Returned::Never && !excluded.iter().any(|e| e.name == sub.name)
                }
                None => true,
            })
            .map(|(name, v)| (name.clone(), v.clone()))
            .collect()
    };
    match value {
        Value::Object(element) => Value::Object(strip(element)),
        Value::Array(elements) => Value::Array(
            elements
                .iter()
                .map(|e| match e.as_object() {
                    Some(element) => Value::Object(strip(element)),
                    None => e.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn top_level_attribute(name: &str, schema: &ResourceSchema) -> Option<&'static AttributeDef> {
    common_attributes()
        .iter()
        .find(|attr| attr.name.eq_ignore_ascii_case(name))
        .or_else(|| schema.core.attribute(name))
}

fn parse_list(list: Option<&str>, schema: &ResourceSchema) -> ScimResult<Vec<Selector>> {
    let mut selectors = Vec::new();
    for name in list.unwrap_or_default().split(',') {
        let name = name.trim();
        if !name.is_empty() {
            selectors.extend(resolve_name(name, schema)?);
        }
    }
    Ok(selectors)
}

fn resolve_name(name: &str, schema: &ResourceSchema) -> ScimResult<Option<Selector>> {
    if let Some(ext) = schema.extension(name) {
        return Ok(Some(Selector::Extension(ext)));
    }
    if starts_with_ignore_case(name, &schema.core.id) && name.len() == schema.core.id.len() {
        return Ok(None);
    }
    let path = AttrPath::parse(name)?;
    Ok(schema
        .resolve(&path)
        .ok()
        .map(|resolved| Selector::Attribute {
            extension: resolved.extension,
            attribute: resolved.attribute,
            sub_attribute: resolved.sub_attribute,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
            "id": "u1",
            "userName": "adele@contoso.test",
            "password": "secret",
            "name": {"givenName": "Adele", "familyName": "Vance"},
            "emails": [{"value": "adele@contoso.test", "type": "work", "primary": true}],
            "meta": {"resourceType": "User"},
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "42", "department": "Sales"}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let schema = ResourceSchema::user();
        Projection::parse(attributes, excluded, schema)
            .unwrap()
            .apply(&user(), schema)
    }

    #[test]
    fn password_is_never_returned() {
        assert!(project(None, None).get("password").is_none());
        assert!(project(Some("password"), None).get("password").is_none());
    }

    #[test]
    fn requested_attributes_keep_id_and_schemas() {
        let out = project(Some("userName"), None);
        assert_eq!(
            out.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["schemas", "id", "userName"]
        );
    }

    #[test]
    fn requested_sub_attribute_keeps_only_it() {
        let out = project(Some("name.familyName,emails.value"), None);
        assert_eq!(out["name"], json!({"familyName": "Vance"}));
        assert_eq!(out["emails"], json!([{"value": "adele@contoso.test"}]));
    }

    #[test]
    fn excluded_attribute_is_removed() {
        let out = project(None, Some("emails,NAME.givenName"));
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({"familyName": "Vance"}));
        assert_eq!(out["userName"], "adele@contoso.test");
    }

    #[test]
    fn id_survives_exclusion() {
        assert_eq!(project(None, Some("id"))["id"], "u1");
    }

    #[test]
    fn urn_qualified_extension_attribute_can_be_requested() {
        let out = project(
            Some(&format!("{ENTERPRISE_USER_SCHEMA}:employeeNumber")),
            None,
        );
        assert_eq!(out[ENTERPRISE_USER_SCHEMA], json!({"employeeNumber": "42"}));
        assert!(out.get("userName").is_none());
    }

    #[test]
    fn whole_extension_can_be_excluded() {
        let out = project(None, Some(ENTERPRISE_USER_SCHEMA));
        assert!(out.get(ENTERPRISE_USER_SCHEMA).is_none());
    }

    #[test]
    fn unknown_names_select_nothing_but_bad_syntax_is_an_error() {
        assert!(project(Some("shoeSize"), None).get("userName").is_none());
        assert!(Projection::parse(Some("a.b.c"), None, ResourceSchema::user()).is_err());
    }

    #[test]
    fn group_members_excluded_as_entra_asks() {
        let group = json!({"schemas": [], "id": "g", "displayName": "Sales",
                           "members": [{"value": "u1"}]});
        let schema = ResourceSchema::group();
        let out = Projection::parse(None, Some("members"), schema)
            .unwrap()
            .apply(&group, schema);
        assert!(out.get("members").is_none());
        assert_eq!(out["displayName"], "Sales");
    }
}
