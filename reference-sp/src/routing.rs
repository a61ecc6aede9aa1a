//! Which SSO connection a sign-in goes to, and whether a domain has SSO (seed 004, "SSO
//! identifiers ... evaluated in order of precedence" and "verify whether an SSO connection
//! exists for a specific domain before proceeding").
//!
//! - `GET /sso/start?connection_id=…|organization_id=…|domain_hint=…|login_hint=…`: the
//!   connection is picked by the first identifier given (an empty one counts as absent) in the
//!   order `connection_id` > `organization_id` > `domain_hint` > the domain of `login_hint`'s
//!   email; a domain leads to the organization that verified it, an organization to its one
//!   connection. The answer is a 303 to the connection's login URL (`/sso/oidc/{id}/login` or
//!   `/sso/saml/{id}/login`) with `login_hint` passed on. Only the identifier that decides is
//!   looked up: when it names nothing (an unknown connection or organization, a domain no
//!   organization verified, an organization without a connection) the answer is 404 naming
//!   what was looked up, never a redirect, so a sign-in cannot loop. Without any identifier,
//!   or with a `domain_hint` that is no domain or a `login_hint` that is no email, it is 400.
//!   Errors are JSON `{"error", "error_description", "looked_up"}`, or an HTML page when the
//!   client asks for `text/html`.
//! - `GET /sso/domain?domain=acme.test` (or `?email=jdoe@acme.test`): `{"domain", "sso",
//!   "organization_id", "connection_id", "protocol"}`, the last three `null` when unknown.
//!
//! The password login page of break-glass users (`/login`, see `break_glass`) routes the same.

use crate::break_glass::{self, BreakGlass};
use crate::connections::{self, Connections, StoredConnection};
use crate::error::SpError;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;

/// The identifiers a sign-in can be routed by (seed 004), as query parameters.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub(crate) struct RouteQuery {
    /// A connection's id.
    pub(crate) connection_id: Option<String>,
    /// An organization's id.
    pub(crate) organization_id: Option<String>,
    /// A domain an organization verified.
    pub(crate) domain_hint: Option<String>,
    /// The user's email address; its domain routes, and it is passed on to the IdP.
    pub(crate) login_hint: Option<String>,
}

impl RouteQuery {
    /// The `login_hint`, when one is given.
    pub(crate) fn login_hint(&self) -> Option<&str> {
        given(self.login_hint.as_ref())
    }
}

/// The identifier that decides where a sign-in goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identifier {
    /// `connection_id`.
    Connection(String),
    /// `organization_id`.
    Organization(String),
    /// `domain_hint`, normalized.
    Domain(String),
    /// The domain of `login_hint`, normalized.
    LoginHint(String),
}

impl Identifier {
    /// The query parameter it came from.
    fn parameter(&self) -> &'static str {
        match self {
            Identifier::Connection(_) => "connection_id",
            Identifier::Organization(_) => "organization_id",
            Identifier::Domain(_) => "domain_hint",
            Identifier::LoginHint(_) => "login_hint",
        }
    }

    /// What is looked up: an id, or a domain.
    fn value(&self) -> &str {
        match self {
            Identifier::Connection(value)
            | Identifier::Organization(value)
            | Identifier::Domain(value)
            | Identifier::LoginHint(value) => value,
        }
    }
}

/// Why a sign-in cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// 400 for a request that names nothing usable, 404 for one that names nothing known.
    pub(crate) status: StatusCode,
    /// `invalid_request` or `sso_not_found`.
    pub(crate) error: &'static str,
    /// What is wrong, for people.
    pub(crate) description: String,
    /// The parameter and the value that were looked up.
    pub(crate) looked_up: Option<(&'static str, String)>,
}

impl Problem {
    fn invalid(description: String) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description,
            looked_up: None,
        }
    }

    fn not_found(identifier: &Identifier, description: String) -> Problem {
        Problem {
            status: StatusCode::NOT_FOUND,
            error: "sso_not_found",
            description,
            looked_up: Some((identifier.parameter(), identifier.value().to_owned())),
        }
    }

    /// A failure of the SP itself, logged; the answer does not show the cause.
    pub(crate) fn internal(error: &SpError) -> Problem {
        tracing::error!(%error, "sign-in failed");
        Problem {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "the SP could not look the sign-in up; try again".into(),
            looked_up: None,
        }
    }

    /// The answer: JSON, or an HTML page when `headers` ask for `text/html`.
    pub(crate) fn answer(&self, headers: &HeaderMap) -> Response {
        if wants_html(headers) {
            let looked_up = self
                .looked_up
                .as_ref()
                .map(|(parameter, value)| {
                    format!(
                        "<p>Looked up: <code>{}={}</code></p>",
                        escape(parameter),
                        escape(value)
                    )
                })
                .unwrap_or_default();
            let body = format!("<p>{}</p>{looked_up}", escape(&self.description));
            return (self.status, page("Single sign-on is not available", &body)).into_response();
        }
        let mut body = json!({ "error": self.error, "error_description": self.description });
        if let (Some((parameter, value)), Some(map)) = (&self.looked_up, body.as_object_mut()) {
            map.insert("looked_up".into(), json!({ *parameter: value }));
        }
        (self.status, axum::Json(body)).into_response()
    }
}

/// The value of an optional parameter, when it is given and not empty.
fn given(value: Option<&String>) -> Option<&str> {
    value
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
}

/// The identifier that decides (seed 004's precedence): `connection_id` > `organization_id` >
/// `domain_hint` > the domain of `login_hint`.
pub(crate) fn pick(query: &RouteQuery) -> Result<Identifier, Problem> {
    if let Some(id) = given(query.connection_id.as_ref()) {
        return Ok(Identifier::Connection(id.to_owned()));
    }
    if let Some(id) = given(query.organization_id.as_ref()) {
        return Ok(Identifier::Organization(id.to_owned()));
    }
    if let Some(domain) = given(query.domain_hint.as_ref()) {
        return connections::normalize_domain(domain)
            .map(Identifier::Domain)
            .map_err(|error| Problem::invalid(format!("domain_hint: {error}")));
    }
    if let Some(email) = query.login_hint() {
        return connections::email_domain(email)
            .map(Identifier::LoginHint)
            .map_err(|error| Problem::invalid(format!("login_hint: {error}")));
    }
    Err(Problem::invalid(
        "name where to sign in: connection_id, organization_id, domain_hint or login_hint (an \
         email address)"
            .into(),
    ))
}

/// The organization an identifier leads to: its own, a connection's, a domain's owner.
pub(crate) async fn organization_of(
    connections: &Connections,
    identifier: &Identifier,
) -> Result<String, Problem> {
    match identifier {
        Identifier::Connection(id) => match connections.get(id) {
            Some(stored) => stored
                .connection
                .organization()
                .map(str::to_owned)
                .ok_or_else(|| {
                    Problem::not_found(
                        identifier,
                        format!("the SSO connection `{id}` is not paired with an organization"),
                    )
                }),
            None => Err(Problem::not_found(
                identifier,
                format!("no SSO connection has the id `{id}`"),
            )),
        },
        Identifier::Organization(id) => {
            match connections::organization_exists(connections.pool(), id).await {
                Ok(true) => Ok(id.clone()),
                Ok(false) => Err(Problem::not_found(
                    identifier,
                    format!("no organization has the id `{id}`"),
                )),
                Err(error) => Err(Problem::internal(&error)),
            }
        }
        Identifier::Domain(domain) | Identifier::LoginHint(domain) => {
            connections.owner_of_domain(domain).ok_or_else(|| {
                Problem::not_found(
                    identifier,
                    format!("no organization has verified the domain `{domain}`: it has no SSO"),
                )
            })
        }
    }
}

/// The connection an identifier leads to.
pub(crate) async fn resolve(
    connections: &Connections,
    identifier: &Identifier,
) -> Result<StoredConnection, Problem> {
    if let Identifier::Connection(id) = identifier {
        return connections.get(id).ok_or_else(|| {
            Problem::not_found(identifier, format!("no SSO connection has the id `{id}`"))
        });
    }
    let organization = organization_of(connections, identifier).await?;
    connections.of_organization(&organization).ok_or_else(|| {
        let description = match identifier {
            Identifier::Organization(_) => {
                format!("the organization `{organization}` has no SSO connection")
            }
            _ => format!(
                "the domain `{}` belongs to the organization `{organization}`, which has no SSO \
                 connection",
                identifier.value()
            ),
        };
        Problem::not_found(identifier, description)
    })
}

/// The 303 to `stored`'s login URL, passing `login_hint` on.
pub(crate) fn redirect_to(
    connections: &Connections,
    stored: &StoredConnection,
    login_hint: Option<&str>,
) -> Response {
    let target = format!(
        "{}{}",
        connections.sso().origin(),
        stored.connection.login_path()
    );
    let Ok(mut url) = reqwest::Url::parse(&target) else {
        return Problem::internal(&SpError::InvalidConnection(format!(
            "`{target}` is not a URL"
        )))
        .answer(&HeaderMap::new());
    };
    if let Some(hint) = login_hint {
        url.query_pairs_mut().append_pair("login_hint", hint);
    }
    Redirect::to(url.as_str()).into_response()
}

/// What the sign-in routes share.
#[derive(Clone)]
pub(crate) struct SignIn {
    /// Connections and domains.
    pub(crate) connections: Connections,
    /// Break-glass users.
    pub(crate) break_glass: BreakGlass,
}

/// The routes: `/sso/start`, `/sso/domain`, and the password login page `/login`.
pub(crate) fn router(state: SignIn) -> Router {
    Router::new()
        .route("/sso/start", get(start))
        .route("/sso/domain", get(domain_check))
        .route(
            "/login",
            get(break_glass::login_page).post(break_glass::password_login),
        )
        .with_state(state)
}

async fn start(
    State(state): State<SignIn>,
    headers: HeaderMap,
    Query(query): Query<RouteQuery>,
) -> Response {
    route(&state.connections, &query, &headers).await
}

/// Routes a sign-in by `query`: the redirect, or the problem's answer.
pub(crate) async fn route(
    connections: &Connections,
    query: &RouteQuery,
    headers: &HeaderMap,
) -> Response {
    let routed = match pick(query) {
        Ok(identifier) => resolve(connections, &identifier).await,
        Err(problem) => Err(problem),
    };
    match routed {
        Ok(stored) => redirect_to(connections, &stored, query.login_hint()),
        Err(problem) => {
            tracing::info!(reason = %problem.description, "sign-in not routed");
            problem.answer(headers)
        }
    }
}

/// `?domain=` or `?email=`.
#[derive(Debug, serde::Deserialize)]
struct DomainQuery {
    domain: Option<String>,
    email: Option<String>,
}

async fn domain_check(
    State(state): State<SignIn>,
    headers: HeaderMap,
    Query(query): Query<DomainQuery>,
) -> Response {
    let domain = match (given(query.domain.as_ref()), given(query.email.as_ref())) {
        (Some(domain), _) => connections::normalize_domain(domain),
        (None, Some(email)) => connections::email_domain(email),
        (None, None) => {
            return Problem::invalid("give `domain` or `email`".into()).answer(&headers);
        }
    };
    let domain = match domain {
        Ok(domain) => domain,
        Err(error) => return Problem::invalid(error.to_string()).answer(&headers),
    };
    let organization = state.connections.owner_of_domain(&domain);
    let connection = organization
        .as_deref()
        .and_then(|organization| state.connections.of_organization(organization));
    axum::Json(json!({
        "domain": domain,
        "sso": connection.is_some(),
        "organization_id": organization,
        "connection_id": connection.as_ref().map(|stored| stored.connection.id()),
        "protocol": connection.as_ref().map(|stored| stored.connection.protocol().as_str()),
    }))
    .into_response()
}

/// Whether the client asks for an HTML page (a browser) rather than JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// `text` safe inside HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A plain HTML page; `body` is HTML already escaped.
pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body><h1>{title}</h1>{body}</body></html>\n",
        title = escape(title)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> RouteQuery {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        RouteQuery {
            connection_id: value("connection_id"),
            organization_id: value("organization_id"),
            domain_hint: value("domain_hint"),
            login_hint: value("login_hint"),
        }
    }

    #[test]
    fn each_identifier_beats_the_next() {
        let all = [
            ("connection_id", "conn-1"),
            ("organization_id", "org-1"),
            ("domain_hint", "Acme.test"),
            ("login_hint", "jdoe@globex.test"),
        ];
        let expected = [
            Identifier::Connection("conn-1".into()),
            Identifier::Organization("org-1".into()),
            Identifier::Domain("acme.test".into()),
            Identifier::LoginHint("globex.test".into()),
        ];
        for (skip, wanted) in expected.iter().enumerate() {
            assert_eq!(pick(&query(&all[skip..])).as_ref(), Ok(wanted));
        }
    }

    #[test]
    fn an_empty_identifier_counts_as_absent() {
        assert_eq!(
            pick(&query(&[
                ("connection_id", ""),
                ("organization_id", "org-1")
            ])),
            Ok(Identifier::Organization("org-1".into()))
        );
    }

    #[test]
    fn nothing_usable_is_a_bad_request() {
        for pairs in [
            &[][..],
            &[("login_hint", "jdoe")][..],
            &[
                ("domain_hint", "not a domain"),
                ("login_hint", "jdoe@acme.test"),
            ][..],
        ] {
            let problem = pick(&query(pairs)).unwrap_err();
            assert_eq!(problem.status, StatusCode::BAD_REQUEST, "{pairs:?}");
            assert_eq!(problem.error, "invalid_request");
        }
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
