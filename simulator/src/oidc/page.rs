//! The provider's server-rendered pages: a plain sign-in screen marked as a simulator (one
//! small POST form per user, so a client without JavaScript can sign in, and a username and
//! password form), the signed-out page and error pages.

use super::claims;
use super::server::AuthorizationRequest;
use crate::directory::Directory;
use crate::html::escape;
use crate::persona::Persona;
use std::fmt::Write as _;

/// The message a disabled user sees.
pub(crate) fn disabled_message(persona: &Persona) -> String {
    format!(
        "{} refused the sign-in: this account is disabled.",
        persona.display_name
    )
}

/// The sign-in page for `request`, posting to `action`; `problem` is shown above the forms.
pub(crate) fn sign_in(
    persona: &Persona,
    directory: &Directory,
    action: &str,
    request: &AuthorizationRequest,
    problem: Option<&str>,
) -> String {
    let hidden = hidden_fields(request);
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
        hint = escape(request.login_hint.as_deref().unwrap_or_default()),
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

fn hidden_fields(request: &AuthorizationRequest) -> String {
    let fields = [
        ("response_type", Some(request.response_type.as_str())),
        ("client_id", Some(request.client_id.as_str())),
        ("redirect_uri", Some(request.redirect_uri.as_str())),
        ("scope", Some(request.scope.as_str())),
        ("state", request.state.as_deref()),
        ("nonce", request.nonce.as_deref()),
        ("code_challenge", request.code_challenge.as_deref()),
        (
            "code_challenge_method",
            request.code_challenge_method.as_deref(),
        ),
        ("login_hint", request.login_hint.as_deref()),
    ];
    let mut out = String::new();
    for (name, value) in fields {
        if let Some(value) = value {
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
