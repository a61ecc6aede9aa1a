//! An IdP's import of the users and groups an app already holds (Okta's "Import",
//! personas.md §2.1 "Import and pagination"): `GET /Users?startIndex=1&count=100`, then
//! `startIndex=101`, … while `totalResults` says there are more, the same for `/Groups`; users
//! with `active` false are skipped [S9]. What the pages say about themselves is checked on
//! the way, since an import that trusts a wrong `totalResults` misses users or loops.

use super::client::{ScimClient, Unreachable};
use super::request::{Method, ScimRequest};
use crate::persona::Persona;
use serde_json::Value;
use std::collections::HashSet;

/// What an import read.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Active users: `(id, userName)`.
    pub users: Vec<(String, String)>,
    /// Users skipped because `active` is false.
    pub inactive_skipped: usize,
    /// Groups: `(id, displayName)`.
    pub groups: Vec<(String, String)>,
    /// The requests sent, one per page.
    pub requests: Vec<String>,
    /// Where the pages contradict themselves or the RFC's paging (RFC 7644 §3.4.2.4).
    pub problems: Vec<String>,
}

/// The import could not run or was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The persona imports nothing (or how it pages is not known).
    #[error("{0} has no import (its persona file sets no import_page_size)")]
    NoImport(String),
    /// No answer came.
    #[error("target unreachable: {0}")]
    Unreachable(#[from] Unreachable),
    /// A page was answered with an error.
    #[error("{request} answered {status}: {detail}")]
    Refused {
        /// The request, e.g. `GET /Users?startIndex=1&count=100`.
        request: String,
        /// Its status.
        status: u16,
        /// The answer's detail.
        detail: String,
    },
}

/// Imports the target's users and groups as `persona` pages through them.
pub async fn import(persona: &Persona, client: &ScimClient) -> Result<ImportReport, ImportError> {
    let page_size = persona
        .scim
        .import_page_size
        .as_ref()
        .map(|knob| knob.value.max(1))
        .ok_or_else(|| ImportError::NoImport(persona.display_name.clone()))?;
    let mut report = ImportReport::default();
    for user in read_all(client, "Users", page_size, &mut report).await? {
        if is_inactive(&user) {
            report.inactive_skipped += 1;
            continue;
        }
        report
            .users
            .push((text(&user, "id"), text(&user, "userName")));
    }
    for group in read_all(client, "Groups", page_size, &mut report).await? {
        report
            .groups
            .push((text(&group, "id"), text(&group, "displayName")));
    }
    Ok(report)
}

/// Every resource of `resource` (`Users`, `Groups`), page by page.
async fn read_all(
    client: &ScimClient,
    resource: &str,
    page_size: u64,
    report: &mut ImportReport,
) -> Result<Vec<Value>, ImportError> {
    let mut resources = Vec::new();
    let mut ids = HashSet::new();
    let mut start = 1_u64;
    let mut announced: Option<u64> = None;
    loop {
        let request = ScimRequest {
            method: Method::Get,
            path: format!("/{resource}"),
            query: vec![
                ("startIndex".into(), start.to_string()),
                ("count".into(), page_size.to_string()),
            ],
            body: None,
        };
        let line = format!("GET /{resource}?startIndex={start}&count={page_size}");
        report.requests.push(line.clone());
        let response = client.send(&request).await?;
        if response.status != 200 {
            return Err(ImportError::Refused {
                request: line,
                status: response.status,
                detail: response.detail(),
            });
        }
        let page = response.json.unwrap_or(Value::Null);
        let Some(total) = total_results(&page, &line, &mut report.problems) else {
            break;
        };
        if let Some(previous) = announced.filter(|previous| *previous != total) {
            report.problems.push(format!(
                "{line}: totalResults changed from {previous} to {total} during the import"
            ));
        }
        announced = Some(total);
        let items = match page.get("Resources") {
            Some(Value::Array(items)) => items.clone(),
            None if total < start => Vec::new(),
            _ => {
                report
                    .problems
                    .push(format!("{line}: the answer has no Resources list"));
                break;
            }
        };
        if items.len() as u64 > page_size {
            report.problems.push(format!(
                "{line}: {} resources answered to count={page_size}",
                items.len()
            ));
        }
        for item in &items {
            let id = text(item, "id");
            if !ids.insert(id.clone()) {
                report.problems.push(format!(
                    "{line}: {resource} {id} was already on an earlier page"
                ));
            }
        }
        let read = items.len() as u64;
        resources.extend(items);
        if start - 1 + read >= total {
            break;
        }
        if read == 0 {
            report.problems.push(format!(
                "{line}: an empty page although totalResults is {total}; {} of them read",
                start - 1
            ));
            break;
        }
        start += read;
    }
    Ok(resources)
}

/// The page's `totalResults`: an integer, as Okta reads it (personas.md §2.1); anything else
/// is a problem and ends the paging.
fn total_results(page: &Value, line: &str, problems: &mut Vec<String>) -> Option<u64> {
    match page.get("totalResults") {
        Some(Value::Number(number)) if number.as_u64().is_some() => number.as_u64(),
        Some(Value::String(text)) => {
            problems.push(format!(
                "{line}: totalResults is the string \"{text}\", not an integer"
            ));
            None
        }
        Some(other) => {
            problems.push(format!(
                "{line}: totalResults is {other}, not a whole number"
            ));
            None
        }
        None => {
            problems.push(format!("{line}: the answer has no totalResults"));
            None
        }
    }
}

/// Whether a user says `active` false (a boolean, or Entra-style `"False"`).
fn is_inactive(user: &Value) -> bool {
    match user.get("active") {
        Some(Value::Bool(active)) => !active,
        Some(Value::String(active)) => active.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

/// A string attribute of `resource`, or empty.
fn text(resource: &Value, attribute: &str) -> String {
    resource
        .get(attribute)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled::persona;
    use crate::provision::SimulatedPause;
    use serde_json::json;
    use std::sync::Arc;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// A server whose `/Users` pages are `pages` (by startIndex) and whose `/Groups` is empty.
    async fn server(pages: Vec<(u64, Value)>) -> MockServer {
        let server = MockServer::start().await;
        for (start, page) in pages {
            Mock::given(method("GET"))
                .and(path("/scim/v2/Users"))
                .and(query_param("startIndex", start.to_string()))
                .respond_with(ResponseTemplate::new(200).set_body_json(page))
                .mount(&server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path("/scim/v2/Groups"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"totalResults": 0, "Resources": []})),
            )
            .mount(&server)
            .await;
        server
    }

    fn users(ids: std::ops::Range<u32>) -> Value {
        ids.map(|id| json!({"id": format!("u{id}"), "userName": format!("user{id}")}))
            .collect()
    }

    async fn run(pages: Vec<(u64, Value)>) -> ImportReport {
        let server = server(pages).await;
        let okta = persona("okta");
        let base_url = format!("{}/scim/v2", server.uri());
        let client = ScimClient::new(
            &okta,
            &base_url,
            "t",
            Arc::new(SimulatedPause::default()),
            None,
        )
        .unwrap();
        import(&okta, &client).await.unwrap()
    }

    #[tokio::test]
    async fn a_server_that_answers_every_page_in_full_is_read_once() {
        let report = run(vec![
            (1, json!({"totalResults": 150, "Resources": users(0..100)})),
            (
                101,
                json!({"totalResults": 150, "Resources": users(100..150)}),
            ),
        ])
        .await;
        assert_eq!(report.users.len(), 150);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[tokio::test]
    async fn pages_that_contradict_themselves_are_problems() {
        let string_total = run(vec![(
            1,
            json!({"totalResults": "2", "Resources": users(0..2)}),
        )])
        .await;
        assert_eq!(
            string_total.problems,
            ["GET /Users?startIndex=1&count=100: totalResults is the string \"2\", not an integer"]
        );
        let shifting = run(vec![
            (1, json!({"totalResults": 150, "Resources": users(0..100)})),
            (
                101,
                json!({"totalResults": 160, "Resources": users(99..159)}),
            ),
            (161, json!({"totalResults": 160, "Resources": []})),
        ])
        .await;
        assert_eq!(
            shifting.problems,
            [
                "GET /Users?startIndex=101&count=100: totalResults changed from 150 to 160 during the import",
                "GET /Users?startIndex=101&count=100: Users u99 was already on an earlier page",
            ]
        );
        let short = run(vec![
            (1, json!({"totalResults": 300, "Resources": users(0..100)})),
            (101, json!({"totalResults": 300, "Resources": []})),
        ])
        .await;
        assert_eq!(
            short.problems,
            [
                "GET /Users?startIndex=101&count=100: an empty page although totalResults is 300; 100 of them read"
            ]
        );
        let oversized = run(vec![(
            1,
            json!({"totalResults": 120, "Resources": users(0..120)}),
        )])
        .await;
        assert_eq!(
            oversized.problems,
            ["GET /Users?startIndex=1&count=100: 120 resources answered to count=100"]
        );
        assert_eq!(oversized.users.len(), 120);
    }
}
