//! Signing in to the bundled reference SP through a persona's OpenID Connect provider, which
//! the scenario serves on 127.0.0.1:0 in test mode (the `login_hint` user is signed in without
//! a page): personas.md §1.3, §2.3, §3.3, §4.3, §6.3. When the scenario's IdP has provisioned
//! the target, the provider signs in the same (uniquely named) directory, and the connection
//! can be paired with the target's SCIM directory and a matching strategy (seed 002).

use super::saml;
use crate::world::{ScimWorld, SsoScenario, StepError};
use cucumber::{given, then, when};
use idpsim_reference_sp::{MatchingStrategy, OidcConnection};
use idpsim_simulator::directory::Directory;
use idpsim_simulator::fixtures_dir;
use idpsim_simulator::oidc::claims::sign_in_name;
use idpsim_simulator::oidc::{Client, OidcProvider, ProviderConfig, SigningKey};
use idpsim_simulator::persona::{Persona, PersonaCatalog};
use reqwest::redirect::Policy;
use serde_json::Value;
use std::sync::{Arc, LazyLock};

/// The providers' signing key: one per run, since RSA generation is the slow part.
static KEY: LazyLock<Result<SigningKey, String>> =
    LazyLock::new(|| SigningKey::generate().map_err(|error| error.to_string()));

/// The SP's client secret at the scenario's provider.
const SP_SECRET: &str = "sp-secret";

/// The most redirects a sign-in follows.
const MOST_REDIRECTS: usize = 5;

pub(crate) fn step_error(error: impl std::fmt::Display) -> StepError {
    StepError::Step(error.to_string())
}

#[given(regex = r#"^the "([^"]+)" OpenID Connect provider with the directory "([^"]+)"$"#)]
async fn provider(
    world: &mut ScimWorld,
    persona: String,
    directory: String,
) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let (persona, directory) = persona_and_directory(world, &persona, &directory)?;
    let key = KEY.as_ref().map_err(step_error)?.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(step_error)?;
    let base = format!("http://{}", listener.local_addr().map_err(step_error)?);
    // Two connections through two clients, to compare what each client is told.
    let ids = [
        format!("{}-{}", persona.name, world.unique()),
        format!("{}-{}-other", persona.name, world.unique()),
    ];
    let clients = ids
        .iter()
        .map(|id| Client {
            id: format!("client-{id}"),
            secret: SP_SECRET.into(),
            redirect_uris: vec![sp.oidc_redirect_uri(id)],
        })
        .collect();
    let provider = Arc::new(OidcProvider::new(
        persona.clone(),
        Arc::new(directory.clone()),
        key,
        ProviderConfig {
            base_url: base,
            tenant: format!("tenant-{}", world.unique()),
            clients,
            auto_login: true,
            clock: world.clock(),
        },
    ));
    let default_matching = default_matching(&persona)?;
    let connections: Vec<OidcConnection> = ids
        .into_iter()
        .map(|id| OidcConnection {
            client_id: format!("client-{id}"),
            id,
            issuer: provider.issuer().to_owned(),
            client_secret: SP_SECRET.into(),
            organization: None,
            matching: default_matching,
        })
        .collect();
    for connection in &connections {
        sp.add_oidc_connection(connection.clone()).await?;
    }
    let router = Arc::clone(&provider).router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    world.start_sso(SsoScenario {
        persona,
        directory,
        connections,
        saml: None,
        server,
        sessions: Vec::new(),
        last_refusal: None,
    });
    Ok(())
}

/// The scenario's persona and the directory whose users sign in: the users the IdP
/// provisioned in this scenario, under the names it pushed, or the named fixture directory.
pub(crate) fn persona_and_directory(
    world: &ScimWorld,
    persona: &str,
    directory: &str,
) -> Result<(Persona, Directory), StepError> {
    let persona = PersonaCatalog::open(&fixtures_dir().join("personas"))
        .and_then(|catalog| catalog.load(persona))
        .map_err(step_error)?
        .persona;
    let directory = match world.provisioning() {
        Ok(provisioning) => provisioning.directory.clone(),
        Err(_) => Directory::load(
            &fixtures_dir()
                .join("directories")
                .join(format!("{directory}.yaml")),
        )
        .map_err(step_error)?,
    };
    Ok((persona, directory))
}

/// The persona's default strategy (its `default_matching` knob, from seed 002).
pub(crate) fn default_matching(persona: &Persona) -> Result<MatchingStrategy, StepError> {
    persona
        .default_matching
        .value
        .parse()
        .map_err(StepError::Step)
}

/// Changes the scenario's main connection on the SP (the SAML one, or the first OIDC one: an
/// organization has one SSO connection, seed 002): its paired organization and strategy. The
/// second OIDC client only compares what each client is told and stays unpaired.
async fn reconfigure(
    world: &mut ScimWorld,
    change: impl Fn(&mut Option<String>, &mut MatchingStrategy),
) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let sso = world.sso_mut()?;
    if let Some(saml) = &mut sso.saml {
        change(
            &mut saml.connection.organization,
            &mut saml.connection.matching,
        );
        sp.add_saml_connection(saml.connection.clone()).await?;
    } else if let Some(connection) = sso.connections.first_mut() {
        change(&mut connection.organization, &mut connection.matching);
        sp.add_oidc_connection(connection.clone()).await?;
    }
    Ok(())
}

/// Pairs the connections with the organization the scenario's IdP provisioned, or with a new
/// empty one when no IdP provisioned anything (a Google sign-in, personas.md §7).
#[given("the reference SP pairs the connection with the SCIM directory of the target")]
async fn pair(world: &mut ScimWorld) -> Result<(), StepError> {
    let provisioned = world
        .provisioning()
        .ok()
        .and_then(|provisioning| provisioning.organization.clone());
    let organization = match provisioned {
        Some(organization) => organization,
        None => {
            let sp = world.reference_sp()?;
            sp.create_organization(&format!("sso {}", world.unique()))
                .await?
                .id
        }
    };
    reconfigure(world, |paired, _| *paired = Some(organization.clone())).await
}

#[given(regex = r#"^the reference SP matches logins with "([^"]+)"$"#)]
#[when(regex = r#"^the reference SP matches logins with "([^"]+)"$"#)]
async fn matches_with(world: &mut ScimWorld, strategy: String) -> Result<(), StepError> {
    let strategy: MatchingStrategy = strategy.parse().map_err(StepError::Step)?;
    reconfigure(world, |_, matching| *matching = strategy).await
}

#[when(regex = r#"^the user "([^"]+)" signs in to the reference SP( through another client)?$"#)]
async fn signs_in(world: &mut ScimWorld, user: String, other: String) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let sso = world.sso()?;
    let entry = sso
        .directory
        .user(&user)
        .ok_or_else(|| StepError::Step(format!("the directory has no user \"{user}\"")))?;
    let hint = sign_in_name(&sso.persona, entry).ok_or_else(|| {
        StepError::Step(format!(
            "\"{user}\" has no sign-in name for {}",
            sso.persona.name
        ))
    })?;
    if sso.saml.is_some() {
        let (status, body, cookie) = saml::sign_in(world, &hint).await?;
        return record_sign_in(world, status, body, cookie);
    }
    let connection = sso
        .connections
        .get(usize::from(!other.is_empty()))
        .ok_or_else(|| StepError::Step("the scenario has no such connection".into()))?
        .id
        .clone();
    let url = reqwest::Url::parse(&format!("{}/sso/oidc/{connection}/login", sp.origin()))
        .map_err(step_error)?;
    let landing = follow(url, &hint, None).await?;
    record_sign_in(world, landing.status, landing.body, landing.cookie)
}

/// Where a browser following redirects ended up.
pub(crate) struct Landing {
    /// The last answer's status.
    pub(crate) status: u16,
    /// The last answer's body.
    pub(crate) body: String,
    /// The cookie as last set (or as given).
    pub(crate) cookie: Option<String>,
    /// Every URL requested, in order.
    pub(crate) visited: Vec<String>,
}

/// Follows redirects from `url` (with `login_hint`, when given, added to it) as a browser
/// would, carrying the SP's cookie.
pub(crate) async fn follow(
    mut url: reqwest::Url,
    login_hint: &str,
    mut cookie: Option<String>,
) -> Result<Landing, StepError> {
    if !login_hint.is_empty() {
        url.query_pairs_mut().append_pair("login_hint", login_hint);
    }
    let browser = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .map_err(step_error)?;
    let mut visited = Vec::new();
    for _ in 0..MOST_REDIRECTS {
        visited.push(url.to_string());
        let mut request = browser.get(url.clone());
        if let Some(cookie) = &cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        let response = request.send().await.map_err(step_error)?;
        if let Some(set) = response.headers().get(reqwest::header::SET_COOKIE) {
            cookie = set
                .to_str()
                .ok()
                .and_then(|value| value.split(';').next())
                .map(str::to_owned);
        }
        let next = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        match next {
            Some(next) => url = url.join(&next).map_err(step_error)?,
            None => {
                return Ok(Landing {
                    status: response.status().as_u16(),
                    body: response.text().await.map_err(step_error)?,
                    cookie,
                    visited,
                });
            }
        }
    }
    Err(StepError::Step(format!(
        "still redirected after {MOST_REDIRECTS} requests from {}",
        visited.first().map_or("", String::as_str)
    )))
}

/// Keeps a sign-in's outcome: a session (200 from `/whoami` with a cookie) or the refusal.
pub(crate) fn record_sign_in(
    world: &mut ScimWorld,
    status: u16,
    body: String,
    cookie: Option<String>,
) -> Result<(), StepError> {
    let session: Option<(String, Value)> = match (status, cookie) {
        (200, Some(cookie)) => serde_json::from_str(&body)
            .ok()
            .map(|session| (cookie, session)),
        _ => None,
    };
    let sso = world.sso_mut()?;
    match session {
        Some(session) => {
            sso.sessions.push(session);
            sso.last_refusal = None;
        }
        None => sso.last_refusal = Some(format!("HTTP {status}: {body}")),
    }
    Ok(())
}

pub(crate) fn last_session(world: &ScimWorld) -> Result<&Value, StepError> {
    let sso = world.sso()?;
    match (&sso.last_refusal, sso.sessions.last()) {
        (None, Some((_, session))) => Ok(session),
        (Some(refusal), _) => Err(StepError::Expectation(format!(
            "expected a signed-in session, but the sign-in was refused: {refusal}"
        ))),
        (None, None) => Err(StepError::Step(
            "no one has signed in in this scenario".into(),
        )),
    }
}

#[then("the sign-in succeeds")]
fn succeeds(world: &mut ScimWorld) -> Result<(), StepError> {
    let protocol = if world.sso()?.saml.is_some() {
        "saml"
    } else {
        "oidc"
    };
    let session = last_session(world)?;
    if session["protocol"] == protocol && session["subject"] == session["claims"]["sub"] {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "the SP's session is not a {protocol} sign-in: {session}"
        )))
    }
}

#[then(regex = r#"^the sign-in is refused with "([^"]+)"$"#)]
fn refused(world: &mut ScimWorld, reason: String) -> Result<(), StepError> {
    match &world.sso()?.last_refusal {
        Some(refusal) if refusal.contains(&reason) => Ok(()),
        Some(refusal) => Err(StepError::Expectation(format!(
            "the sign-in was refused, but not with \"{reason}\": {refusal}"
        ))),
        None => Err(StepError::Expectation(format!(
            "expected the sign-in to be refused with \"{reason}\", but it succeeded"
        ))),
    }
}

#[then(regex = r#"^the ID token's "([^"]+)" is "([^"]*)"$"#)]
fn claim_is(world: &mut ScimWorld, claim: String, expected: String) -> Result<(), StepError> {
    let session = last_session(world)?;
    let actual = &session["claims"][&claim];
    let text = actual
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| actual.to_string());
    if text == expected {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the claim `{claim}` to be \"{expected}\", it is {actual}"
        )))
    }
}

#[then(regex = r#"^the ID token has no "([^"]+)"$"#)]
fn no_claim(world: &mut ScimWorld, claim: String) -> Result<(), StepError> {
    let session = last_session(world)?;
    match session["claims"].get(&claim) {
        None => Ok(()),
        Some(value) => Err(StepError::Expectation(format!(
            "expected no `{claim}` claim, it is {value}"
        ))),
    }
}

/// The claim holds the signed-in user's native attribute from the persona's block.
#[then(regex = r#"^the ID token's "([^"]+)" is the user's IdP attribute "([^"]+)"$"#)]
fn claim_is_attribute(
    world: &mut ScimWorld,
    claim: String,
    attribute: String,
) -> Result<(), StepError> {
    let session = last_session(world)?.clone();
    let sso = world.sso()?;
    let login = session["claims"]["preferred_username"]
        .as_str()
        .or_else(|| session["claims"]["email"].as_str())
        .unwrap_or_default()
        .to_owned();
    let user = sso
        .directory
        .users
        .iter()
        .find(|user| {
            sign_in_name(&sso.persona, user).is_some_and(|name| name.eq_ignore_ascii_case(&login))
        })
        .ok_or_else(|| {
            StepError::Expectation(format!("no directory user signs in as \"{login}\""))
        })?;
    let expected = user
        .blocks
        .get(&sso.persona.directory_block)
        .and_then(|block| block.get(&attribute))
        .ok_or_else(|| StepError::Step(format!("the user has no `{attribute}`")))?;
    if session["claims"][&claim] == expected {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the claim `{claim}` to be the IdP's `{attribute}` {expected}, it is {}",
            session["claims"][&claim]
        )))
    }
}

#[then(regex = r#"^the two sign-ins have (the same|different) subjects?$"#)]
fn subjects(world: &mut ScimWorld, relation: String) -> Result<(), StepError> {
    let sessions = &world.sso()?.sessions;
    let [.., first, second] = sessions.as_slice() else {
        return Err(StepError::Step("this needs two sign-ins".into()));
    };
    let (first, second) = (&first.1, &second.1);
    let same = first["subject"] == second["subject"];
    match (relation.as_str(), same) {
        ("the same", true) | ("different", false) => Ok(()),
        _ => Err(StepError::Expectation(format!(
            "expected {relation} subjects, got {} and {}",
            first["subject"], second["subject"]
        ))),
    }
}

#[then(regex = r#"^the signed-in SCIM user is "([^"]+)"$"#)]
fn signed_in_scim_user(world: &mut ScimWorld, user: String) -> Result<(), StepError> {
    let session = last_session(world)?.clone();
    let expected = world
        .provisioning()?
        .user_ids
        .get(&user)
        .cloned()
        .ok_or_else(|| StepError::Expectation(format!("the IdP never provisioned \"{user}\"")))?;
    let actual = &session["scim_user"]["id"];
    if actual.as_str() == Some(expected.as_str()) {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the login to match SCIM user {expected} (\"{user}\"), it matched {actual}"
        )))
    }
}

/// The cookie of the scenario's last session.
pub(crate) fn last_cookie(world: &ScimWorld) -> Result<String, StepError> {
    world
        .sso()?
        .sessions
        .last()
        .map(|(cookie, _)| cookie.clone())
        .ok_or_else(|| StepError::Step("no one has signed in in this scenario".into()))
}

/// `/whoami` with the last session's cookie: its status and body.
async fn last_whoami(world: &ScimWorld) -> Result<(u16, String), StepError> {
    let sp = world.reference_sp()?;
    let response = reqwest::Client::new()
        .get(format!("{}/whoami", sp.origin()))
        .header(reqwest::header::COOKIE, last_cookie(world)?)
        .send()
        .await
        .map_err(step_error)?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.map_err(step_error)?))
}

/// `/whoami` with the last session's cookie now refuses it with `reason`.
#[then(regex = r#"^the last session has ended with "([^"]+)"$"#)]
async fn session_ended(world: &mut ScimWorld, reason: String) -> Result<(), StepError> {
    let (status, body) = last_whoami(world).await?;
    if status == 401 && body.contains(&reason) {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the session to have ended with \"{reason}\", /whoami answered HTTP {status}: {body}"
        )))
    }
}

/// `/whoami` with the last session's cookie still answers with the session.
#[then("the last session is still open")]
async fn session_open(world: &mut ScimWorld) -> Result<(), StepError> {
    let (status, body) = last_whoami(world).await?;
    if status == 200 {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected the session to be open, /whoami answered HTTP {status}: {body}"
        )))
    }
}

/// Moves the clock the bundled SP and the scenario's IdP share (a `@serial` scenario only).
#[when(regex = r"^(\d+) (minutes?|hours?) pass(?:es)?$")]
fn time_passes(world: &mut ScimWorld, amount: i64, unit: String) -> Result<(), StepError> {
    let by = if unit.starts_with("hour") {
        chrono::Duration::hours(amount)
    } else {
        chrono::Duration::minutes(amount)
    };
    world.move_clock(by)
}

/// Sets the SSO session timeout of the organization the connection is paired with.
#[given(regex = r"^the organization's SSO session timeout is (\d+) minutes$")]
async fn session_timeout(world: &mut ScimWorld, minutes: u32) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let sso = world.sso()?;
    let organization = sso
        .connections
        .first()
        .and_then(|connection| connection.organization.clone())
        .or_else(|| {
            sso.saml
                .as_ref()
                .and_then(|saml| saml.connection.organization.clone())
        })
        .ok_or_else(|| StepError::Step("pair the connection with an organization first".into()))?;
    sp.set_session_timeout(&organization, minutes).await?;
    Ok(())
}
