//! The IdP's server-rendered pages, shared by the OpenID Connect provider and the SAML IdP: a
//! plain sign-in screen marked as a simulator (one small POST form per user, so a client
//! without JavaScript can sign in, and a username and password form), the signed-out page and
//! error pages; and the check of what the sign-in form posted.

use crate::directory::{Directory, DirectoryUser};
use crate::html::escape;
use crate::oidc::claims;
use crate::persona::Persona;
use std::fmt::Write as _;
use subtle::ConstantTimeEq as _;

/// What the sign-in form posts: `user` (a button of the user list) or `username` and
/// `password`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Credentials {
    pub(crate) user: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
}

/// The directory user whose sign-in name (what the persona sends as `userName`) is `name`, in
/// any case.
pub(crate) fn user_by_sign_in_name<'a>(
    persona: &Persona,
    directory: &'a Directory,
    name: &str,
) -> Option<&'a DirectoryUser> {
    directory.users.iter().find(|user| {
        claims::sign_in_name(persona, user)
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name.trim()))
    })
}

/// The enabled user the form signs in, or the message the page shows: a user's password is
/// its directory `password`, any non-empty one when it has none; disabled users are refused
/// by the IdP itself.
pub(crate) fn authenticate<'a>(
    persona: &Persona,
    directory: &'a Directory,
    credentials: &Credentials,
) -> Result<&'a DirectoryUser, String> {
    let user = match (&credentials.user, &credentials.username) {
        (Some(key), _) => directory.user(key),
        (None, Some(name)) => {
            let user = user_by_sign_in_name(persona, directory, name)
                .ok_or("We couldn't find an account with that username.")?;
            let typed = credentials.password.as_deref().unwrap_or_default();
            let matches = match &user.password {
                Some(expected) => bool::from(expected.as_bytes().ct_eq(typed.as_bytes())),
                None => !typed.is_empty(),
            };
            if !matches {
                return Err("Your username or password is incorrect.".into());
            }
            Some(user)
        }
        (None, None) => None,
    };
    let user = user.ok_or("Choose an account or enter a username.")?;
    if !claims::is_enabled(persona, user) {
        return Err(disabled_message(persona));
    }
    Ok(user)
}

/// The message a disabled user sees.
fn disabled_message(persona: &Persona) -> String {
    format!(
        "{} refused the sign-in: this account is disabled.",
        persona.display_name
    )
}

/// The sign-in page posting to `action` with `hidden` fields (the pending request);
/// `login_hint` fills the username, `problem` is shown above the forms.
pub(crate) fn sign_in(
    persona: &Persona,
    directory: &Directory,
    action: &str,
    hidden: &[(&str, Option<&str>)],
    login_hint: Option<&str>,
    problem: Option<&str>,
) -> String {
    let hidden = hidden_fields(hidden);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Sign in · {name}</title><style>{STYLE}</style></head><body><main>\n\
         <p class=\"simulator\">idpsim simulator: not a real {name} sign-in page</p>\n\
         <h1>Sign in</h1><p class=\"idp\">{name}</p>\n",
        name = escape(&persona.display_name)
    );
    if let Some(problem) = problem {
        let _ = writeln!(
            out,
            "<p class=\"problem\" role=\"alert\">{}</p>",
            escape(problem)
        );
    }
    out.push_str("<h2>Choose an account</h2>\n<ul class=\"accounts\">\n");
    for user in &directory.users {
        let Some(name) = claims::sign_in_name(persona, user) else {
            continue;
        };
        let disabled = if claims::is_enabled(persona, user) {
            ""
        } else {
            " <small>(disabled)</small>"
        };
        let _ = writeln!(
            out,
            "<li><form method=\"post\" action=\"{action}\">{hidden}\
             <input type=\"hidden\" name=\"user\" value=\"{key}\">\
             <button type=\"submit\">{name}{disabled}</button></form></li>",
            action = escape(action),
            key = escape(&user.key),
            name = escape(&name),
        );
    }
    let _ = write!(
        out,
        "</ul>\n<h2>Or sign in with a password</h2>\n<form method=\"post\" action=\"{action}\">{hidden}\
         <label>Username <input name=\"username\" autocomplete=\"username\" value=\"{hint}\"></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
         <button type=\"submit\">Sign in</button></form>\n</main></body></html>\n",
        action = escape(action),
        hint = escape(login_hint.unwrap_or_default()),
    );
    out
}

/// The page after RP-initiated logout without a registered return address.
pub(crate) fn signed_out(persona: &Persona) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out</title>\
         <style>{STYLE}</style></head><body><main><p class=\"simulator\">idpsim simulator</p>\
         <h1>You have signed out</h1><p>{}</p></main></body></html>\n",
        escape(&persona.display_name)
    )
}

/// An error page (never a redirect: the request's client or redirect URI is not trusted).
pub(crate) fn error(message: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in error</title>\
         <style>{STYLE}</style></head><body><main><p class=\"simulator\">idpsim simulator</p>\
         <h1>Sign-in error</h1><p class=\"problem\">{}</p></main></body></html>\n",
        escape(message)
    )
}

fn hidden_fields(fields: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (name, value) in fields {
        if let Some(value) = *value {
            let _ = write!(
                out,
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(value)
            );
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;background:#f3f3f3;margin:0}\
main{max-width:26em;margin:3em auto;background:#fff;padding:2em;border-radius:6px;\
box-shadow:0 1px 4px #0002}.simulator{background:#fff4ce;padding:.3em .6em;font-size:.85em}\
.idp{color:#555;margin-top:-.6em}.problem{color:#a4262c}ul.accounts{list-style:none;padding:0}\
ul.accounts button{width:100%;text-align:left;margin:.2em 0;padding:.5em;background:#fff;\
border:1px solid #ccc;border-radius:4px;cursor:pointer}label{display:block;margin:.5em 0}\
input{width:100%;box-sizing:border-box;padding:.4em}";
