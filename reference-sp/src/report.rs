//! The matching report of a connection (seed 002: "a report of users that a strategy fails to
//! match — toggle strategies until no user is listed"; personas.md §7).
//!
//! The SP remembers, per connection, the latest claims of every subject that signed in through
//! it (verified logins, matched or refused; at most [`MAX_SUBJECTS_PER_CONNECTION`] subjects,
//! the least recently seen dropped first). `GET /sso/report/{connection}` answers, in JSON,
//! the connection with its organization and current strategy; the subjects seen that no
//! active SCIM user of the organization matches under that strategy, with the claims the
//! strategies read and why (no claim, no user, inactive user); and for each strategy of
//! [`MatchingStrategy::ALL`] how many of the subjects seen it would match and which it would
//! not. `GET /sso/report/{connection}.html` is the same report as a self-contained page. Both
//! take the admin key as a bearer token, as the admin API does (`admin`). When
//! an OIDC and a SAML connection share an id, `?protocol=saml` picks the SAML one (the OIDC one
//! otherwise).

use crate::admin::{self, Admin};
use crate::matching::{self, MatchOutcome, MatchingStrategy};
use crate::saml::Saml;
use crate::sso::{Login, Sso};
use crate::store::OrganizationData;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

/// The most subjects remembered per connection; the least recently seen is dropped first.
pub(crate) const MAX_SUBJECTS_PER_CONNECTION: usize = 10_000;

/// What a connection is paired with, as the report needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pairing {
    /// `oidc` or `saml`.
    pub(crate) protocol: &'static str,
    /// The organization whose SCIM directory logins are matched against.
    pub(crate) organization: Option<String>,
    /// The connection's current strategy.
    pub(crate) matching: MatchingStrategy,
}

/// The latest login of one subject.
#[derive(Debug, Clone)]
struct SeenLogin {
    claims: Map<String, Value>,
    last_login: DateTime<Utc>,
    sequence: u64,
}

/// The subjects seen through one connection.
#[derive(Debug, Default)]
struct ConnectionLogins {
    next: u64,
    by_subject: HashMap<String, SeenLogin>,
    /// Sequence of each subject's latest login → subject: the first is the least recent.
    order: BTreeMap<u64, String>,
}

/// Every connection's logins, keyed by protocol and connection id.
#[derive(Debug, Default)]
pub(crate) struct SeenLogins {
    connections: Mutex<HashMap<(&'static str, String), ConnectionLogins>>,
}

impl SeenLogins {
    /// Remembers `login`'s claims as its subject's latest, seen at `now`.
    pub(crate) fn record(&self, login: &Login, now: DateTime<Utc>) {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let logins = connections
            .entry((login.protocol, login.connection.clone()))
            .or_default();
        let sequence = logins.next;
        logins.next += 1;
        let previous = logins.by_subject.insert(
            login.subject.clone(),
            SeenLogin {
                claims: login.claims.clone(),
                last_login: now,
                sequence,
            },
        );
        if let Some(previous) = previous {
            logins.order.remove(&previous.sequence);
        }
        logins.order.insert(sequence, login.subject.clone());
        while logins.by_subject.len() > MAX_SUBJECTS_PER_CONNECTION {
            let Some((_, oldest)) = logins.order.pop_first() else {
                break;
            };
            logins.by_subject.remove(&oldest);
        }
    }

    /// The subjects seen through the connection, each with its latest login.
    fn of(&self, protocol: &'static str, connection: &str) -> Vec<(String, SeenLogin)> {
        let connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connections
            .get(&(protocol, connection.to_owned()))
            .map(|logins| {
                logins
                    .order
                    .values()
                    .filter_map(|subject| {
                        let seen = logins.by_subject.get(subject)?;
                        Some((subject.clone(), seen.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Why a strategy does not match a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Reason {
    /// The login lacks the claim the strategy reads.
    NoClaim,
    /// No SCIM user has the value.
    NoUser,
    /// The user that matches is inactive.
    InactiveUser,
    /// The connection is paired with no organization, so with no SCIM directory.
    NotPaired,
}

impl Reason {
    fn text(self) -> &'static str {
        match self {
            Reason::NoClaim => "no claim",
            Reason::NoUser => "no user",
            Reason::InactiveUser => "inactive user",
            Reason::NotPaired => "not paired",
        }
    }
}

/// A subject no active SCIM user matches.
#[derive(Debug, Clone, Serialize)]
struct Unmatched {
    subject: String,
    last_login: DateTime<Utc>,
    /// The claims the strategies read, `null` where the login has none.
    claims: BTreeMap<&'static str, Value>,
    reason: Reason,
    detail: String,
}

/// What one strategy would do with the subjects seen.
#[derive(Debug, Clone, Serialize)]
struct StrategyCount {
    strategy: MatchingStrategy,
    current: bool,
    matched: usize,
    unmatched: Vec<UnmatchedSubject>,
}

#[derive(Debug, Clone, Serialize)]
struct UnmatchedSubject {
    subject: String,
    reason: Reason,
}

/// The report of one connection.
#[derive(Debug, Clone, Serialize)]
struct Report {
    connection: String,
    protocol: &'static str,
    organization: Option<String>,
    strategy: MatchingStrategy,
    generated: DateTime<Utc>,
    seen: usize,
    unmatched: Vec<Unmatched>,
    strategies: Vec<StrategyCount>,
}

/// The claims the strategies read, each once, in the order of [`MatchingStrategy::ALL`].
fn claims_read() -> Vec<&'static str> {
    let mut claims: Vec<&'static str> = Vec::new();
    for strategy in MatchingStrategy::ALL {
        if !claims.contains(&strategy.claim()) {
            claims.push(strategy.claim());
        }
    }
    claims
}

/// Why `strategy` matches no active user for `claims`, or `None` when it matches one.
fn verdict(
    data: Option<&OrganizationData>,
    strategy: MatchingStrategy,
    claims: &Map<String, Value>,
) -> Option<(Reason, String)> {
    let Some(data) = data else {
        return Some((
            Reason::NotPaired,
            "the connection is paired with no organization's SCIM directory".into(),
        ));
    };
    match matching::find_user(data, strategy, claims) {
        MatchOutcome::Matched(user) if user.active => None,
        MatchOutcome::Matched(user) => Some((
            Reason::InactiveUser,
            format!("the SCIM user {} ({}) is inactive", user.user_name, user.id),
        )),
        MatchOutcome::NoUser(value) => Some((
            Reason::NoUser,
            format!("no SCIM user matches under {strategy} (looked for {value:?})"),
        )),
        MatchOutcome::NoClaim(claim) => Some((
            Reason::NoClaim,
            format!("the login has no `{claim}` claim, which {strategy} matches on"),
        )),
    }
}

fn build(
    connection: &str,
    pairing: &Pairing,
    seen: &[(String, SeenLogin)],
    data: Option<&OrganizationData>,
    generated: DateTime<Utc>,
) -> Report {
    let read = claims_read();
    let mut unmatched: Vec<Unmatched> = seen
        .iter()
        .filter_map(|(subject, login)| {
            let (reason, detail) = verdict(data, pairing.matching, &login.claims)?;
            Some(Unmatched {
                subject: subject.clone(),
                last_login: login.last_login,
                claims: read
                    .iter()
                    .map(|claim| {
                        (
                            *claim,
                            login.claims.get(*claim).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
                reason,
                detail,
            })
        })
        .collect();
    unmatched.sort_by(|a, b| (b.last_login, &a.subject).cmp(&(a.last_login, &b.subject)));
    let strategies = MatchingStrategy::ALL
        .into_iter()
        .map(|strategy| {
            let misses: Vec<UnmatchedSubject> = seen
                .iter()
                .filter_map(|(subject, login)| {
                    let (reason, _) = verdict(data, strategy, &login.claims)?;
                    Some(UnmatchedSubject {
                        subject: subject.clone(),
                        reason,
                    })
                })
                .collect();
            StrategyCount {
                strategy,
                current: strategy == pairing.matching,
                matched: seen.len() - misses.len(),
                unmatched: misses,
            }
        })
        .collect();
    Report {
        connection: connection.to_owned(),
        protocol: pairing.protocol,
        organization: pairing.organization.clone(),
        strategy: pairing.matching,
        generated,
        seen: seen.len(),
        unmatched,
        strategies,
    }
}

/// `text` with the characters HTML gives a meaning to escaped.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

fn claim_text(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The report as a self-contained HTML page, every value escaped.
fn html(report: &Report) -> String {
    let read = claims_read();
    let mut page = String::new();
    let title = format!("Matching report: {}", escape(&report.connection));
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>\nbody{{font-family:system-ui,sans-serif;margin:2em;color:#222}}\n\
         table{{border-collapse:collapse;margin:1em 0}}\n\
         th,td{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}\n\
         th{{background:#f3f3f3}}\ntr.current{{background:#eef6ff}}\ncode{{font-size:.95em}}\n\
         .ok{{color:#1a7f37}}\n</style>\n</head>\n<body>\n<h1>{title}</h1>\n<dl>\n"
    );
    let organization = report.organization.as_deref().map_or_else(
        || "none (not paired with a SCIM directory)".to_owned(),
        escape,
    );
    for (term, value) in [
        ("Connection", escape(&report.connection)),
        ("Protocol", escape(report.protocol)),
        ("Organization", organization),
        ("Current strategy", escape(&report.strategy.to_string())),
        ("Users seen at login", report.seen.to_string()),
        ("Generated", escape(&report.generated.to_rfc3339())),
    ] {
        let _ = writeln!(page, "<dt>{term}</dt><dd>{value}</dd>");
    }
    let _ = writeln!(page, "</dl>");
    let _ = writeln!(
        page,
        "<h2>Users the current strategy does not match ({})</h2>",
        report.unmatched.len()
    );
    if report.unmatched.is_empty() {
        let _ = writeln!(
            page,
            "<p class=\"ok\">Every user seen at login matches an active SCIM user.</p>"
        );
    } else {
        let _ = write!(page, "<table>\n<tr><th>Subject</th>");
        for claim in &read {
            let _ = write!(page, "<th><code>{}</code></th>", escape(claim));
        }
        let _ = writeln!(page, "<th>Why</th><th>Last login</th></tr>");
        for unmatched in &report.unmatched {
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td>",
                escape(&unmatched.subject)
            );
            for claim in &read {
                let value = unmatched.claims.get(claim).unwrap_or(&Value::Null);
                let _ = write!(page, "<td>{}</td>", escape(&claim_text(value)));
            }
            let _ = writeln!(
                page,
                "<td><strong>{}</strong>: {}</td><td>{}</td></tr>",
                escape(unmatched.reason.text()),
                escape(&unmatched.detail),
                escape(&unmatched.last_login.to_rfc3339())
            );
        }
        let _ = writeln!(page, "</table>");
    }
    let _ = writeln!(
        page,
        "<h2>Each strategy</h2>\n<table>\n<tr><th>Strategy</th><th>Matched</th><th>Not matched</th></tr>"
    );
    for count in &report.strategies {
        let misses: Vec<String> = count
            .unmatched
            .iter()
            .map(|miss| {
                format!(
                    "<code>{}</code> ({})",
                    escape(&miss.subject),
                    escape(miss.reason.text())
                )
            })
            .collect();
        let _ = writeln!(
            page,
            "<tr{}><td><code>{}</code>{}</td><td>{} of {}</td><td>{}</td></tr>",
            if count.current {
                " class=\"current\""
            } else {
                ""
            },
            escape(&count.strategy.to_string()),
            if count.current { " (current)" } else { "" },
            count.matched,
            report.seen,
            if misses.is_empty() {
                "none".to_owned()
            } else {
                misses.join(", ")
            }
        );
    }
    let _ = writeln!(page, "</table>\n</body>\n</html>");
    page
}

/// What the report route shares.
#[derive(Clone)]
struct ReportState {
    sso: Sso,
    saml: Saml,
}

/// `?protocol=oidc|saml`.
#[derive(Debug, serde::Deserialize)]
struct ReportQuery {
    protocol: Option<String>,
}

/// The report routes: `/sso/report/{connection}` (JSON) and `/sso/report/{connection}.html`,
/// behind the admin key (`Authorization: Bearer <admin key>`, answered as the admin API does).
pub(crate) fn router(sso: Sso, saml: Saml, admin: Admin) -> Router {
    Router::new()
        .route("/sso/report/{connection}", get(report))
        .layer(middleware::from_fn_with_state(admin, admin::authenticate))
        .with_state(ReportState { sso, saml })
}

async fn report(
    State(state): State<ReportState>,
    Path(requested): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Response {
    let (connection, as_html) = match requested.strip_suffix(".html") {
        Some(connection) => (connection.to_owned(), true),
        None => (requested, false),
    };
    let oidc = || state.sso.pairing(&connection);
    let saml = || state.saml.pairing(&connection);
    let pairing = match query.protocol.as_deref() {
        Some("oidc") => oidc(),
        Some("saml") => saml(),
        Some(other) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({
                    "error": format!("unknown protocol `{other}`: oidc or saml"),
                })),
            )
                .into_response();
        }
        None => oidc().or_else(saml),
    };
    let Some(pairing) = pairing else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": format!("no connection `{connection}`") })),
        )
            .into_response();
    };
    let seen = state.sso.seen_logins().of(pairing.protocol, &connection);
    let data = pairing
        .organization
        .as_deref()
        .map(|organization| state.sso.store().organization(organization));
    let report = build(&connection, &pairing, &seen, data.as_ref(), state.sso.now());
    if as_html {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html(&report),
        )
            .into_response()
    } else {
        axum::Json(report).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(subject: &str, email: &str) -> Login {
        Login {
            connection: "acme".into(),
            protocol: "oidc",
            subject: subject.into(),
            claims: json!({"sub": subject, "email": email})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            organization: None,
            matching: MatchingStrategy::OidcEmailToScimUsername,
            ends_by: None,
        }
    }

    #[test]
    fn the_latest_claims_per_subject_are_kept_and_the_oldest_subject_dropped() {
        let seen = SeenLogins::default();
        let now = Utc::now();
        seen.record(&login("a", "a@old.test"), now);
        seen.record(&login("b", "b@acme.test"), now);
        seen.record(&login("a", "a@acme.test"), now);
        let kept = seen.of("oidc", "acme");
        let subjects: Vec<&str> = kept.iter().map(|(subject, _)| subject.as_str()).collect();
        assert_eq!(subjects, ["b", "a"]);
        assert_eq!(kept[1].1.claims["email"], "a@acme.test");
        assert!(seen.of("saml", "acme").is_empty());
        for index in 0..MAX_SUBJECTS_PER_CONNECTION {
            seen.record(&login(&format!("s{index}"), "x@acme.test"), now);
        }
        let kept = seen.of("oidc", "acme");
        assert_eq!(kept.len(), MAX_SUBJECTS_PER_CONNECTION);
        assert!(
            kept.iter()
                .all(|(subject, _)| subject != "a" && subject != "b")
        );
    }

    #[test]
    fn html_escapes_every_value() {
        let pairing = Pairing {
            protocol: "saml",
            organization: None,
            matching: MatchingStrategy::OidcEmailToScimUsername,
        };
        let seen = vec![(
            "<script>alert(1)</script>".to_owned(),
            SeenLogin {
                claims: json!({"email": "\"x\"@acme.test"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                last_login: Utc::now(),
                sequence: 0,
            },
        )];
        let report = build("a&b", &pairing, &seen, None, Utc::now());
        assert_eq!(report.unmatched.len(), 1);
        assert_eq!(report.unmatched[0].reason, Reason::NotPaired);
        let page = html(&report);
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&quot;x&quot;@acme.test"));
        assert!(page.contains("Matching report: a&amp;b"));
    }
}
