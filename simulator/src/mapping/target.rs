//! SCIM target paths of a mapping, and writing values at them into a resource body.

use idpsim_scim::filter::{CompValue, CompareOp, Filter};
use idpsim_scim::schema::{AttributeType, ResourceSchema, get_ignore_case};
use idpsim_scim::{AttrPath, PatchPath};
use serde_json::{Map, Value};

/// Where a mapped value goes: `userName`, `name.givenName`, `emails[type eq "work"].value`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetPath {
    /// The path as the persona file writes it; PATCH operations use it verbatim.
    pub text: String,
    /// The extension URN the attribute lives under, if any.
    pub extension: Option<String>,
    /// The top-level attribute, in its canonical spelling.
    pub attribute: String,
    /// The sub-attribute, if any.
    pub sub_attribute: Option<String>,
    /// For a value filter: the sub-attribute values that pick (or make) the element.
    pub element: Option<Map<String, Value>>,
    /// The SCIM type of the value written.
    pub kind: AttributeType,
    /// Whether the path ends at a complex attribute (a reference such as `manager`).
    pub complex: bool,
}

impl TargetPath {
    /// Parses and resolves `text` against `schema`. Value filters may only be `eq`
    /// comparisons joined by `and`: they must say which element to write.
    pub fn parse(text: &str, schema: &ResourceSchema) -> Result<TargetPath, String> {
        let path = PatchPath::parse(text).map_err(|error| error.to_string())?;
        let resolved = schema
            .resolve(&path.attribute)
            .map_err(|error| error.to_string())?;
        let element = match &path.value_filter {
            None => None,
            Some(filter) => {
                let mut element = Map::new();
                equalities(filter, &mut element)?;
                Some(element)
            }
        };
        if element.is_some() && !resolved.attribute.multi_valued {
            return Err(format!("`{}` is not multi-valued", resolved.attribute.name));
        }
        let target = resolved.target();
        Ok(TargetPath {
            text: text.to_owned(),
            extension: resolved.extension.map(|extension| extension.id.clone()),
            attribute: resolved.attribute.name.clone(),
            sub_attribute: resolved.sub_attribute.map(|sub| sub.name.clone()),
            element,
            kind: target.kind,
            complex: target.is_complex(),
        })
    }

    /// Whether the path has a value filter (such paths stay PATCH operations of their own).
    pub fn is_filtered(&self) -> bool {
        self.element.is_some()
    }

    /// The key of a path-less PATCH value: dotted (`name.givenName`), with the full URN for
    /// extension attributes (personas.md §1.1, "Update user", with the compliance flag).
    pub fn dotted_key(&self) -> String {
        let mut key = match &self.extension {
            Some(urn) => format!("{urn}:{}", self.attribute),
            None => self.attribute.clone(),
        };
        if let Some(sub) = &self.sub_attribute {
            key.push('.');
            key.push_str(sub);
        }
        key
    }

    /// Writes `value` at this path into `body`, creating containers and the filtered element
    /// as needed; `element_extras` are added to a newly made element (Entra's `primary`).
    pub fn write(
        &self,
        body: &mut Map<String, Value>,
        value: Value,
        element_extras: Option<&Map<String, Value>>,
    ) {
        let value = if self.complex && !value.is_object() {
            let mut reference = Map::new();
            reference.insert("value".into(), value);
            Value::Object(reference)
        } else {
            value
        };
        let container = match &self.extension {
            Some(urn) => object_at(body, urn),
            None => Some(body),
        };
        let Some(container) = container else {
            return;
        };
        match (&self.element, &self.sub_attribute) {
            (None, None) => {
                container.insert(self.attribute.clone(), value);
            }
            (None, Some(sub)) => {
                if let Some(inner) = object_at(container, &self.attribute) {
                    inner.insert(sub.clone(), value);
                }
            }
            (Some(element), sub) => {
                let Some(list) = array_at(container, &self.attribute) else {
                    return;
                };
                let index = match list.iter().position(|item| matches_element(item, element)) {
                    Some(index) => index,
                    None => {
                        let mut made = element.clone();
                        if let Some(extras) = element_extras {
                            for (key, extra) in extras {
                                made.entry(key.clone()).or_insert_with(|| extra.clone());
                            }
                        }
                        list.push(Value::Object(made));
                        list.len() - 1
                    }
                };
                if let Some(Value::Object(item)) = list.get_mut(index) {
                    item.insert(sub.clone().unwrap_or_else(|| "value".into()), value);
                }
            }
        }
    }

    /// The value at this path in `body` (a resource as the server returned it), if any.
    pub fn read(&self, body: &Map<String, Value>) -> Option<Value> {
        let container = match &self.extension {
            Some(urn) => get_ignore_case(body, urn)?.as_object()?,
            None => body,
        };
        let attribute = get_ignore_case(container, &self.attribute)?;
        let found = match (&self.element, &self.sub_attribute) {
            (None, None) => attribute,
            (None, Some(sub)) => get_ignore_case(attribute.as_object()?, sub)?,
            (Some(element), sub) => {
                let item = attribute
                    .as_array()?
                    .iter()
                    .find(|item| matches_element(item, element))?;
                get_ignore_case(item.as_object()?, sub.as_deref().unwrap_or("value"))?
            }
        };
        let found = match found {
            Value::Object(reference)
                if self.complex && self.element.is_none() && self.sub_attribute.is_none() =>
            {
                reference.get("value")?
            }
            other => other,
        };
        (!found.is_null()).then(|| found.clone())
    }

    /// Removes the value at this path from `body`; an element left with nothing but its
    /// selecting sub-attributes goes too.
    pub fn remove(&self, body: &mut Map<String, Value>) {
        let container = match &self.extension {
            Some(urn) => match body.get_mut(urn.as_str()) {
                Some(Value::Object(inner)) => inner,
                _ => return,
            },
            None => body,
        };
        match (&self.element, &self.sub_attribute) {
            (None, None) => {
                container.remove(&self.attribute);
            }
            (None, Some(sub)) => {
                if let Some(Value::Object(inner)) = container.get_mut(&self.attribute) {
                    inner.remove(sub);
                }
            }
            (Some(element), sub) => {
                let Some(Value::Array(list)) = container.get_mut(&self.attribute) else {
                    return;
                };
                let sub = sub.clone().unwrap_or_else(|| "value".into());
                for item in list.iter_mut() {
                    if matches_element(item, element)
                        && let Value::Object(fields) = item
                    {
                        fields.remove(&sub);
                    }
                }
                list.retain(|item| {
                    item.as_object().is_none_or(|fields| {
                        fields.keys().any(|key| {
                            !element.contains_key(key) && key != "primary" && key != "display"
                        })
                    })
                });
                if list.is_empty() {
                    container.remove(&self.attribute);
                }
            }
        }
    }
}

fn equalities(filter: &Filter, element: &mut Map<String, Value>) -> Result<(), String> {
    match filter {
        Filter::And(left, right) => {
            equalities(left, element)?;
            equalities(right, element)
        }
        Filter::Compare {
            path:
                AttrPath {
                    name,
                    sub_attribute: None,
                    schema: None,
                },
            op: CompareOp::Eq,
            value,
        } => {
            let value = match value {
                CompValue::String(text) => Value::String(text.clone()),
                CompValue::Bool(flag) => Value::Bool(*flag),
                CompValue::Number(number) => Value::Number(number.clone()),
                CompValue::Null => return Err("a target filter cannot compare with null".into()),
            };
            element.insert(name.clone(), value);
            Ok(())
        }
        other => Err(format!(
            "a target filter may only join `eq` comparisons with `and`, not `{other}`"
        )),
    }
}

fn matches_element(item: &Value, element: &Map<String, Value>) -> bool {
    element
        .iter()
        .all(|(key, wanted)| match (item.get(key), wanted) {
            (Some(Value::String(have)), Value::String(want)) => have.eq_ignore_ascii_case(want),
            (Some(have), want) => have == want,
            (None, _) => false,
        })
}

/// The object under `key`, made (or replacing a non-object) when missing.
fn object_at<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Map<String, Value>> {
    let slot = map.entry(key.to_owned()).or_insert(Value::Null);
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// The array under `key`, made (or replacing a non-array) when missing.
fn array_at<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Vec<Value>> {
    let slot = map.entry(key.to_owned()).or_insert(Value::Null);
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
}
