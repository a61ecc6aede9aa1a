//! A browser at the reference SP: each answer read without following it (kept under
//! [`LAST_ANSWER`] for the steps that check where the browser is sent), and walks that follow
//! redirects and post auto-submitting SAML forms as a browser running the page's script does.

use super::super::saml::saml_form;
use super::super::sso::{record_sign_in, step_error};
use crate::world::{ScimWorld, StepError};
use idpsim_reference_sp::SESSION_COOKIE;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

/// Where the browser's last answer is remembered (as JSON).
pub(super) const LAST_ANSWER: &str = "sp:last-answer";
/// The requests of the last walk, remembered as a JSON array of `METHOD URL`.
pub(super) const LAST_WALK: &str = "sp:last-walk";
/// The most answers a walk goes through.
const MOST_HOPS: usize = 12;

/// One answer the browser got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Answer {
    /// The method and URL of the request.
    pub(super) request: String,
    /// The HTTP status.
    pub(super) status: u16,
    /// The `Location` header, resolved against the request URL.
    pub(super) location: Option<String>,
    /// The SP's session cookie it set (`name=value`), if any.
    pub(super) session_cookie: Option<String>,
    /// The body as text.
    pub(super) body: String,
}

impl Answer {
    /// Reads the answer to `method` `url`.
    async fn read(
        method: &Method,
        url: &Url,
        response: reqwest::Response,
    ) -> Result<Answer, StepError> {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(|next| url.join(next).map(String::from))
            .transpose()
            .map_err(step_error)?;
        let session_cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .find(|pair| {
                pair.split_once('=')
                    .is_some_and(|(name, value)| name.trim() == SESSION_COOKIE && !value.is_empty())
            })
            .map(str::to_owned);
        let body = response.text().await.map_err(step_error)?;
        Ok(Answer {
            request: format!("{method} {url}"),
            status,
            location,
            session_cookie,
            body,
        })
    }

    /// The answer for a failure message.
    pub(super) fn describe(&self) -> String {
        const SHOWN: usize = 600;
        let body: String = self.body.chars().take(SHOWN).collect();
        let location = self
            .location
            .as_deref()
            .map(|location| format!(", Location {location}"))
            .unwrap_or_default();
        format!(
            "{} answered HTTP {}{location}: {body}",
            self.request, self.status
        )
    }
}

/// A client that never follows redirects, as the steps check each one.
fn browser() -> Result<reqwest::Client, StepError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(step_error)
}

/// Sends a request as a browser would (the SP's session cookie `cookie` only to the SP's
/// origin, `form` form-encoded) and reads the answer.
pub(super) async fn send(
    world: &ScimWorld,
    method: Method,
    url: Url,
    form: Option<&[(String, String)]>,
    cookie: Option<&str>,
) -> Result<Answer, StepError> {
    let origin = Url::parse(&world.reference_sp()?.origin()).map_err(step_error)?;
    let mut request = browser()?.request(method.clone(), url.clone());
    if let Some(form) = form {
        request = request.form(form);
    }
    if let Some(cookie) = cookie
        && url.origin() == origin.origin()
    {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.map_err(step_error)?;
    Answer::read(&method, &url, response).await
}

/// Keeps `answer` as the browser's last one, under [`LAST_ANSWER`].
pub(super) fn keep_answer(world: &mut ScimWorld, answer: &Answer) -> Result<(), StepError> {
    let text = serde_json::to_string(answer).map_err(step_error)?;
    world.remember(LAST_ANSWER, text);
    Ok(())
}

/// The browser's last answer kept by [`keep_answer`].
pub(super) fn last_answer(world: &ScimWorld) -> Result<Answer, StepError> {
    let text = world.recall(LAST_ANSWER).map_err(|_| {
        StepError::Step("no browser has opened a page of the reference SP yet".into())
    })?;
    serde_json::from_str(text).map_err(step_error)
}

/// A URL at the SP's origin; `path` has its placeholders expanded.
pub(super) fn sp_url(world: &ScimWorld, path: &str) -> Result<Url, StepError> {
    let path = world.expand(path)?;
    Url::parse(&format!("{}{path}", world.reference_sp()?.origin())).map_err(step_error)
}

/// The next request of a browser.
pub(super) enum Hop {
    /// Opening a URL, or following a redirect.
    Get(Url),
    /// Submitting a form's fields to its action.
    Post(Url, Vec<(String, String)>),
}

/// Where a browser went: every answer in order, the SP's session cookie, and the SAML forms it
/// posted.
pub(super) struct Walk {
    /// Every answer, in order.
    pub(super) answers: Vec<Answer>,
    /// The last session cookie the SP set.
    pub(super) cookie: Option<String>,
    /// The fields of each SAML form posted, in order.
    pub(super) posted: Vec<Vec<(String, String)>>,
}

/// Goes where the browser is sent from `first`: redirects are followed and a page holding an
/// auto-submitting SAML form is posted, as a browser running the page's script does; it stops
/// at the first other page. The URLs visited are remembered under [`LAST_WALK`].
pub(super) async fn walk(world: &mut ScimWorld, first: Hop) -> Result<Walk, StepError> {
    let mut walk = Walk {
        answers: Vec::new(),
        cookie: None,
        posted: Vec::new(),
    };
    let mut next = Some(first);
    while let Some(hop) = next.take() {
        if walk.answers.len() >= MOST_HOPS {
            return Err(StepError::Step(format!(
                "the browser went through more than {MOST_HOPS} pages: {:?}",
                walk.answers
                    .iter()
                    .map(|answer| &answer.request)
                    .collect::<Vec<_>>()
            )));
        }
        let (url, answer) = match hop {
            Hop::Get(url) => {
                let answer = send(
                    world,
                    Method::GET,
                    url.clone(),
                    None,
                    walk.cookie.as_deref(),
                )
                .await?;
                (url, answer)
            }
            Hop::Post(url, fields) => {
                let answer = send(
                    world,
                    Method::POST,
                    url.clone(),
                    Some(&fields),
                    walk.cookie.as_deref(),
                )
                .await?;
                walk.posted.push(fields);
                (url, answer)
            }
        };
        if let Some(cookie) = &answer.session_cookie {
            walk.cookie = Some(cookie.clone());
        }
        next = match &answer.location {
            Some(location) => Some(Hop::Get(Url::parse(location).map_err(step_error)?)),
            None if answer.status == 200 => match saml_form(&answer.body) {
                Some((action, fields)) => {
                    Some(Hop::Post(url.join(&action).map_err(step_error)?, fields))
                }
                None => None,
            },
            None => None,
        };
        walk.answers.push(answer);
    }
    let visited: Vec<&str> = walk
        .answers
        .iter()
        .map(|answer| answer.request.as_str())
        .collect();
    let text = serde_json::to_string(&visited).map_err(step_error)?;
    world.remember(LAST_WALK, text);
    Ok(walk)
}

/// Records the end of a walk as a sign-in: a session when it ended at `/whoami`, else the
/// refusal.
pub(super) fn finish_sign_in(world: &mut ScimWorld, walk: Walk) -> Result<(), StepError> {
    let last = walk
        .answers
        .last()
        .cloned()
        .ok_or_else(|| StepError::Step("the browser sent nothing".into()))?;
    record_sign_in(world, last.status, last.body, walk.cookie)
}
