//! Removing what certify runs left on a target: every user and group whose name carries a
//! run prefix (`idpsim…`), found by filter when the target supports filtering, by listing
//! otherwise.

use super::capabilities::{Announced, Capability};
use crate::world::{SCENARIO_PREFIX_LEN, SCIM_MEDIA_TYPE};
use serde_json::Value;
use std::collections::BTreeSet;

/// How many resources a list request asks for at once.
const PAGE_SIZE: usize = 100;

/// What a sweep removed and what it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// Users deleted.
    pub users: usize,
    /// Groups deleted.
    pub groups: usize,
    /// Users still there after a successful DELETE: the target deactivates instead of deleting.
    pub kept: usize,
    /// Requests that failed, one line each.
    pub errors: Vec<String>,
}

impl Swept {
    /// `3 users and 1 group`.
    pub fn describe(&self) -> String {
        let noun = |count: usize, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        let removed = format!(
            "{} and {}",
            noun(self.users, "user", "users"),
            noun(self.groups, "group", "groups")
        );
        if self.kept == 0 {
            return removed;
        }
        format!(
            "{removed}; {} still there, deactivated: the target answers DELETE by deactivating",
            noun(self.kept, "user is", "users are")
        )
    }
}

/// One kind of resource a sweep looks at.
struct Kind {
    endpoint: &'static str,
    /// Attributes that carry the prefix, in the order they are searched.
    attributes: &'static [&'static str],
}

const GROUPS: Kind = Kind {
    endpoint: "/Groups",
    attributes: &["displayName", "externalId"],
};

const USERS: Kind = Kind {
    endpoint: "/Users",
    attributes: &["userName", "externalId"],
};

/// Deletes every group, then every user, whose name or externalId carries a scenario's unique
/// name starting with `prefix` (see [`carries_run_name`]) at the SCIM endpoint `base_url`.
pub async fn sweep(
    client: &reqwest::Client,
    base_url: &str,
    token: &str,
    prefix: &str,
    announced: &Announced,
) -> Swept {
    let mut swept = Swept::default();
    let base = base_url.trim_end_matches('/');
    for kind in [GROUPS, USERS] {
        let ids = match find(client, base, token, prefix, &kind, announced).await {
            Ok(ids) => ids,
            Err(error) => {
                swept.errors.push(error);
                continue;
            }
        };
        for id in ids {
            let url = format!("{base}{}/{id}", kind.endpoint);
            match client.delete(&url).bearer_auth(token).send().await {
                Ok(response) if response.status().is_success() || response.status() == 404 => {
                    if kind.endpoint != USERS.endpoint {
                        swept.groups += 1;
                    } else if still_there(client, &url, token).await {
                        swept.kept += 1;
                    } else {
                        swept.users += 1;
                    }
                }
                Ok(response) => swept
                    .errors
                    .push(format!("DELETE {url} answered HTTP {}", response.status())),
                Err(error) => swept.errors.push(format!("DELETE {url}: {error}")),
            }
        }
    }
    swept
}

/// Whether the resource at `url` still answers a GET after its DELETE succeeded, as a user
/// does on targets that deactivate instead of deleting.
async fn still_there(client: &reqwest::Client, url: &str, token: &str) -> bool {
    client
        .get(url)
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, SCIM_MEDIA_TYPE)
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

/// The ids of `kind` whose searched attributes contain `prefix`.
async fn find(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    prefix: &str,
    kind: &Kind,
    announced: &Announced,
) -> Result<BTreeSet<String>, String> {
    let mut ids = BTreeSet::new();
    if announced.supports(Capability::Filter) {
        for attribute in kind.attributes {
            let filter = format!("{attribute} co \"{prefix}\"");
            ids.extend(list(client, base, token, prefix, kind, Some(&filter)).await?);
        }
    } else {
        ids.extend(list(client, base, token, prefix, kind, None).await?);
    }
    Ok(ids)
}

/// Pages through `kind` (with `filter` when given) and keeps the resources that carry
/// `prefix`; the filter narrows the search, the check here decides.
async fn list(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    prefix: &str,
    kind: &Kind,
    filter: Option<&str>,
) -> Result<Vec<String>, String> {
    let url = format!("{base}{}", kind.endpoint);
    let mut ids = Vec::new();
    let mut start_index = 1_usize;
    loop {
        let mut query = vec![
            ("startIndex", start_index.to_string()),
            ("count", PAGE_SIZE.to_string()),
        ];
        if let Some(filter) = filter {
            query.push(("filter", filter.to_owned()));
        }
        let response = client
            .get(&url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, SCIM_MEDIA_TYPE)
            .query(&query)
            .send()
            .await
            .map_err(|error| format!("GET {url}: {error}"))?;
        let status = response.status();
        // Some servers answer a filter that matches nothing with 404 (personas.md §2.1).
        if status == reqwest::StatusCode::NOT_FOUND && filter.is_some() {
            return Ok(ids);
        }
        if !status.is_success() {
            return Err(format!("GET {url} answered HTTP {status}"));
        }
        let page: Value = response
            .json()
            .await
            .map_err(|error| format!("GET {url}: not a SCIM list response: {error}"))?;
        let resources = page
            .get("Resources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for resource in &resources {
            let carries_prefix = kind.attributes.iter().any(|attribute| {
                resource
                    .get(*attribute)
                    .and_then(Value::as_str)
                    .is_some_and(|value| carries_run_name(value, prefix))
            });
            if let (true, Some(id)) = (carries_prefix, resource.get("id").and_then(Value::as_str)) {
                ids.push(id.to_owned());
            }
        }
        let total = page
            .get("totalResults")
            .and_then(Value::as_u64)
            .and_then(|total| usize::try_from(total).ok())
            .unwrap_or(0);
        start_index += resources.len();
        if resources.is_empty() || start_index > total {
            return Ok(ids);
        }
    }
}

/// Whether `value` holds a scenario's unique name that starts with `prefix`: `prefix` (any
/// case) followed by hex digits up to the full length of such a name
/// ([`crate::world::SCENARIO_PREFIX_LEN`]), so `idpsim` alone, or a person called
/// `idpsim-admin`, is never taken for test data.
pub fn carries_run_name(value: &str, prefix: &str) -> bool {
    let value = value.to_ascii_lowercase();
    let prefix = prefix.to_ascii_lowercase();
    let Some(hex_digits) = SCENARIO_PREFIX_LEN.checked_sub(prefix.len()) else {
        return false;
    };
    value.match_indices(&prefix).any(|(at, _)| {
        let rest = &value.as_bytes()[at + prefix.len()..];
        rest.len() >= hex_digits && rest[..hex_digits].iter().all(u8::is_ascii_hexdigit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_scenario_names_are_taken_for_test_data() {
        assert!(carries_run_name("Sales idpsim3fa2c81b9e", "idpsim"));
        assert!(carries_run_name("ada@IDPSIM3FA2C81B9E.acme.test", "idpsim"));
        assert!(carries_run_name(
            "idpsim3fa2c81b9e.ada@example.test",
            "idpsim3fa2"
        ));
        assert!(!carries_run_name(
            "idpsim3fa2c81b9e.ada@example.test",
            "idpsim0000"
        ));
        assert!(!carries_run_name("idpsim-admin@example.test", "idpsim"));
        assert!(!carries_run_name("idpsim3fa2", "idpsim"));
        assert!(!carries_run_name("ada@example.test", "idpsim"));
    }
}
