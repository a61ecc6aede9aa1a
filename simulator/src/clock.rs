//! Time for the IdPs and the reference SP: the wall clock by default, or a [`ControlledClock`]
//! shared by both that tests and scenarios freeze and advance ("when 2 hours pass" never
//! sleeps), and that `idpsim serve --clock-api` exposes over HTTP for users' own tests.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Datelike as _, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, PoisonError};

/// A move that would take the clock outside the years 1 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the clock would leave the years 1 to 9999")]
pub struct ClockOutOfRange;

/// The time a component goes by.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Where a controlled clock stands.
#[derive(Debug, Clone, Copy)]
struct Setting {
    /// The instant it shows while frozen.
    frozen_at: Option<DateTime<Utc>>,
    /// How far ahead of the wall clock it runs while not frozen.
    offset: Duration,
}

/// A clock that runs with the wall clock until it is frozen or moved: [`ControlledClock::clock`]
/// hands the same time to every component it is given to.
#[derive(Debug)]
pub struct ControlledClock {
    setting: Mutex<Setting>,
}

impl ControlledClock {
    /// A clock showing the wall clock's time, running.
    pub fn new() -> Arc<ControlledClock> {
        Arc::new(ControlledClock {
            setting: Mutex::new(Setting {
                frozen_at: None,
                offset: Duration::zero(),
            }),
        })
    }

    fn setting(&self) -> std::sync::MutexGuard<'_, Setting> {
        self.setting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The time it shows.
    pub fn now(&self) -> DateTime<Utc> {
        let setting = *self.setting();
        setting
            .frozen_at
            .unwrap_or_else(|| Utc::now() + setting.offset)
    }

    /// Whether it is frozen.
    pub fn is_frozen(&self) -> bool {
        self.setting().frozen_at.is_some()
    }

    /// Stops it at `at`, or where it stands now.
    pub fn freeze(&self, at: Option<DateTime<Utc>>) {
        let at = at.unwrap_or_else(|| self.now());
        self.setting().frozen_at = Some(at);
    }

    /// Moves it `by` ahead (or back, when negative), frozen or not; refused, leaving it where
    /// it was, when the time it would show falls outside the years 1 to 9999.
    pub fn advance(&self, by: Duration) -> Result<(), ClockOutOfRange> {
        let mut setting = self.setting();
        let wall = Utc::now();
        let shown = setting.frozen_at.unwrap_or(wall + setting.offset);
        let moved = shown
            .checked_add_signed(by)
            .filter(|moved| (1..=9999).contains(&moved.year()))
            .ok_or(ClockOutOfRange)?;
        match &mut setting.frozen_at {
            Some(at) => *at = moved,
            None => setting.offset = moved - wall,
        }
        Ok(())
    }

    /// Lets a frozen clock run again from the time it shows.
    pub fn resume(&self) {
        let mut setting = self.setting();
        if let Some(at) = setting.frozen_at.take() {
            setting.offset = at - Utc::now();
        }
    }

    /// Back to the wall clock's time, running.
    pub fn reset(&self) {
        *self.setting() = Setting {
            frozen_at: None,
            offset: Duration::zero(),
        };
    }

    /// Whether it shows the wall clock's time, running.
    pub fn is_wall_time(&self) -> bool {
        let setting = *self.setting();
        setting.frozen_at.is_none() && setting.offset.is_zero()
    }

    /// The clock to give the IdPs and the SP.
    pub fn clock(self: &Arc<Self>) -> Clock {
        let clock = Arc::clone(self);
        Arc::new(move || clock.now())
    }

    /// The clock API: `GET /clock` (`{"now", "frozen"}`), `POST /clock/freeze` (optional
    /// `{"at": RFC 3339}`), `POST /clock/advance` (`{"seconds": N}`, negative goes back) and
    /// `POST /clock/resume`; each answers with the clock's state.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/clock", get(show))
            .route("/clock/freeze", post(freeze))
            .route("/clock/advance", post(advance))
            .route("/clock/resume", post(resume))
            .with_state(Arc::clone(self))
    }

    fn state(&self) -> Json<Value> {
        Json(json!({
            "now": self.now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "frozen": self.is_frozen(),
        }))
    }
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// The JSON body of a clock request (an empty body is `{}`), or the answer refusing it: a
/// body must be a JSON object sent as `application/json`, which a page of another site cannot
/// send without the browser asking first (a CORS preflight this API does not answer).
fn body_object(headers: &HeaderMap, body: &str) -> Result<Value, (StatusCode, &'static str)> {
    if body.trim().is_empty() {
        return Ok(json!({}));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as Content-Type: application/json",
        ));
    }
    serde_json::from_str::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or((StatusCode::BAD_REQUEST, "the body must be a JSON object"))
}

/// The JSON object a clock request carries (see [`body_object`]); a refused body is answered
/// with its status and `{"error": …}`.
struct ClockBody(Value);

impl<S: Send + Sync> FromRequest<S> for ClockBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let body = String::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        body_object(&headers, &body)
            .map(ClockBody)
            .map_err(|(status, error)| (status, Json(json!({ "error": error }))).into_response())
    }
}

async fn show(State(clock): State<Arc<ControlledClock>>) -> Json<Value> {
    clock.state()
}

async fn freeze(State(clock): State<Arc<ControlledClock>>, ClockBody(body): ClockBody) -> Response {
    let at = match body.get("at") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(error) => return bad_request(format!("`at` is not an RFC 3339 time: {error}")),
        },
        Some(other) => return bad_request(format!("`at` must be a string, not {other}")),
    };
    clock.freeze(at);
    clock.state().into_response()
}

async fn advance(
    State(clock): State<Arc<ControlledClock>>,
    ClockBody(body): ClockBody,
) -> Response {
    let Some(seconds) = body.get("seconds").and_then(Value::as_i64) else {
        return bad_request("give `seconds` as an integer, e.g. {\"seconds\": 7200}".into());
    };
    match Duration::try_seconds(seconds).map(|by| clock.advance(by)) {
        Some(Ok(())) => clock.state().into_response(),
        Some(Err(error)) => bad_request(format!("{seconds} seconds: {error}")),
        None => bad_request(format!("{seconds} seconds is out of range")),
    }
}

async fn resume(State(clock): State<Arc<ControlledClock>>) -> Json<Value> {
    clock.resume();
    clock.state()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_stands_still_and_moves_only_when_advanced() {
        let clock = ControlledClock::new();
        let at = Utc::now() - Duration::days(3);
        clock.freeze(Some(at));
        let shared = clock.clock();
        assert_eq!(shared(), at);
        clock.advance(Duration::hours(2)).unwrap();
        assert_eq!(shared(), at + Duration::hours(2));
        clock.resume();
        assert!(!clock.is_frozen());
        let running = shared();
        assert!(running >= at + Duration::hours(2));
        assert!(running < at + Duration::hours(2) + Duration::minutes(1));
    }

    #[test]
    fn a_running_clock_can_be_moved_ahead() {
        let clock = ControlledClock::new();
        clock.advance(Duration::hours(2)).unwrap();
        let shown = clock.now();
        assert!(shown > Utc::now() + Duration::minutes(119));
    }

    #[test]
    fn a_move_beyond_the_year_9999_is_refused_and_changes_nothing() {
        let clock = ControlledClock::new();
        assert_eq!(
            clock.advance(Duration::seconds(10_000_000_000_000)),
            Err(ClockOutOfRange)
        );
        assert!(clock.is_wall_time());
        let at = DateTime::parse_from_rfc3339("9999-12-31T23:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        clock.freeze(Some(at));
        assert_eq!(clock.advance(Duration::hours(2)), Err(ClockOutOfRange));
        assert_eq!(clock.now(), at);
        clock.advance(Duration::minutes(30)).unwrap();
        assert_eq!(clock.now(), at + Duration::minutes(30));
        clock.resume();
        assert_eq!(
            clock.advance(Duration::days(-4_000_000)),
            Err(ClockOutOfRange)
        );
    }

    /// The status the clock API answers `method path` with, `body` sent as `content_type`.
    async fn status_of(
        clock: &Arc<ControlledClock>,
        (method, path): (&str, &str),
        content_type: &str,
        body: &str,
    ) -> StatusCode {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap();
        tower::ServiceExt::oneshot(clock.router(), request)
            .await
            .unwrap()
            .status()
    }

    #[tokio::test]
    async fn the_api_answers_a_move_out_of_range_with_400_and_keeps_serving() {
        let clock = ControlledClock::new();
        let json = "application/json";
        let far = r#"{"seconds": 10000000000000}"#;
        let advance = ("POST", "/clock/advance");
        assert_eq!(
            status_of(&clock, advance, json, far).await,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_of(&clock, ("GET", "/clock"), json, "").await,
            StatusCode::OK
        );
        assert!(clock.is_wall_time());
        // What a form on another site can send: refused before it moves anything.
        let two_hours = r#"{"seconds": 7200}"#;
        assert_eq!(
            status_of(&clock, advance, "text/plain", two_hours).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert!(clock.is_wall_time());
        assert_eq!(
            status_of(&clock, advance, json, two_hours).await,
            StatusCode::OK
        );
        assert!(!clock.is_wall_time());
    }
}
