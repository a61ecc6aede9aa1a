//! The optional SCIM features a target announces in `/ServiceProviderConfig` (RFC 7643 §5),
//! and the ones each persona's client cannot work without.

use idpsim_simulator::persona::{Persona, StatusChange, UpdateVerb};
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// An optional feature of a SCIM service provider (RFC 7643 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// PATCH (RFC 7644 §3.5.2).
    Patch,
    /// Bulk operations (RFC 7644 §3.7).
    Bulk,
    /// Filtering (RFC 7644 §3.4.2.2).
    Filter,
    /// Sorting (RFC 7644 §3.4.2.3).
    Sort,
    /// ETags (RFC 7644 §3.14).
    Etag,
    /// Changing passwords (RFC 7644 §3.5.2).
    ChangePassword,
}

impl Capability {
    /// Every capability, in report order.
    pub const ALL: [Capability; 6] = [
        Capability::Patch,
        Capability::Bulk,
        Capability::Filter,
        Capability::Sort,
        Capability::Etag,
        Capability::ChangePassword,
    ];

    /// The capability a `@needs-NAME` tag names (`NAME` without the prefix).
    pub fn from_tag(name: &str) -> Option<Capability> {
        Capability::ALL
            .into_iter()
            .find(|capability| capability.tag() == name)
    }

    /// The tag suffix: `needs-patch` names [`Capability::Patch`].
    pub fn tag(self) -> &'static str {
        match self {
            Capability::Patch => "patch",
            Capability::Bulk => "bulk",
            Capability::Filter => "filter",
            Capability::Sort => "sort",
            Capability::Etag => "etag",
            Capability::ChangePassword => "change-password",
        }
    }

    /// The attribute of `ServiceProviderConfig` that announces it.
    pub fn config_attribute(self) -> &'static str {
        match self {
            Capability::Patch => "patch",
            Capability::Bulk => "bulk",
            Capability::Filter => "filter",
            Capability::Sort => "sort",
            Capability::Etag => "etag",
            Capability::ChangePassword => "changePassword",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.config_attribute())
    }
}

/// What a target announced: the capabilities whose `supported` is not `true`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Announced {
    /// Capabilities the configuration says are unsupported (or does not mention).
    pub unsupported: Vec<Capability>,
}

impl Announced {
    /// Reads a `ServiceProviderConfig` document. The attribute names are case-insensitive
    /// (RFC 7643 §2.1); a capability counts as supported only when `supported` is `true`
    /// (or Entra-style `"true"` text).
    pub fn from_config(config: &Value) -> Announced {
        let unsupported = Capability::ALL
            .into_iter()
            .filter(|capability| !supported(config, capability.config_attribute()))
            .collect();
        Announced { unsupported }
    }

    /// Whether `capability` was announced.
    pub fn supports(&self, capability: Capability) -> bool {
        !self.unsupported.contains(&capability)
    }
}

fn supported(config: &Value, attribute: &str) -> bool {
    let field = |object: &Value, name: &str| -> Option<Value> {
        object.as_object().and_then(|map| {
            map.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        })
    };
    match field(config, attribute).and_then(|section| field(&section, "supported")) {
        Some(Value::Bool(flag)) => flag,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A capability a persona's client needs, and the knob that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonaNeed {
    /// The capability.
    pub capability: Capability,
    /// What the persona does with it, with the knob's source.
    pub because: String,
}

/// The capabilities `persona` cannot provision without, derived from its knobs: PATCH when it
/// updates users or groups or changes status with PATCH, filtering when it looks users up
/// before creating them. A persona that pushes nothing needs nothing.
pub fn persona_needs(persona: &Persona) -> Vec<PersonaNeed> {
    let scim = &persona.scim;
    if !scim.pushes.value {
        return Vec::new();
    }
    let mut needs = vec![PersonaNeed {
        capability: Capability::Filter,
        because: format!(
            "{} looks users up with `filter={} eq \"…\"` before creating them ({})",
            persona.display_name, scim.lookup_attribute.value, scim.lookup_attribute.source
        ),
    }];
    let patch_knob = if scim.update_verb.value == UpdateVerb::Patch {
        Some(("updates users with PATCH", &scim.update_verb.source))
    } else if scim.status_change.value != StatusChange::Put {
        Some((
            "deactivates and reactivates users with PATCH",
            &scim.status_change.source,
        ))
    } else if scim.pushes_groups.value && scim.group_update_verb.value == UpdateVerb::Patch {
        Some((
            "changes group membership with PATCH",
            &scim.group_update_verb.source,
        ))
    } else {
        None
    };
    if let Some((what, source)) = patch_knob {
        needs.push(PersonaNeed {
            capability: Capability::Patch,
            because: format!("{} {what} ({source})", persona.display_name),
        });
    }
    needs
}

#[cfg(test)]
mod tests {
    use super::*;
    use idpsim_simulator::fixtures_dir;
    use idpsim_simulator::persona::PersonaCatalog;
    use serde_json::json;

    #[test]
    fn only_true_is_supported_and_names_are_case_insensitive() {
        let announced = Announced::from_config(&json!({
            "PATCH": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0},
            "filter": {"supported": "True"},
            "sort": {},
            "etag": {"supported": true},
        }));
        assert_eq!(
            announced.unsupported,
            [
                Capability::Bulk,
                Capability::Sort,
                Capability::ChangePassword
            ]
        );
        assert!(announced.supports(Capability::Patch));
        assert!(announced.supports(Capability::Filter));
    }

    #[test]
    fn tags_name_capabilities() {
        for capability in Capability::ALL {
            assert_eq!(Capability::from_tag(capability.tag()), Some(capability));
        }
        assert_eq!(Capability::from_tag("coffee"), None);
    }

    #[test]
    fn personas_need_what_their_knobs_send() {
        let catalog = PersonaCatalog::open(&fixtures_dir().join("personas")).unwrap();
        let needs = |name: &str| -> Vec<Capability> {
            persona_needs(&catalog.load(name).unwrap().persona)
                .into_iter()
                .map(|need| need.capability)
                .collect()
        };
        assert_eq!(needs("entra"), [Capability::Filter, Capability::Patch]);
        assert_eq!(needs("okta"), [Capability::Filter, Capability::Patch]);
        assert_eq!(needs("google"), []);
        // The wizard-built app updates, deactivates and changes groups with GET + PUT.
        assert_eq!(needs("okta-aiw"), [Capability::Filter]);
    }
}
