//! Time for the IdPs and the reference SP: the wall clock by default, or a [`ControlledClock`]
//! shared by both that tests and scenarios freeze and advance ("when 2 hours pass" never
//! sleeps), and that `idpsim serve --clock-api` exposes over HTTP for users' own tests.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, PoisonError};

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

    /// Moves it `by` ahead (or back, when negative), frozen or not.
    pub fn advance(&self, by: Duration) {
        let mut setting = self.setting();
        match &mut setting.frozen_at {
            Some(at) => *at += by,
            None => setting.offset += by,
        }
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

/// The JSON body of a clock request (an empty body is `{}`), or `None` when it is not an
/// object.
fn body_object(body: &str) -> Option<Value> {
    if body.trim().is_empty() {
        return Some(json!({}));
    }
    serde_json::from_str::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

async fn show(State(clock): State<Arc<ControlledClock>>) -> Json<Value> {
    clock.state()
}

async fn freeze(State(clock): State<Arc<ControlledClock>>, body: String) -> Response {
    let Some(body) = body_object(&body) else {
        return bad_request("the body must be a JSON object".into());
    };
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

async fn advance(State(clock): State<Arc<ControlledClock>>, body: String) -> Response {
    let Some(body) = body_object(&body) else {
        return bad_request("the body must be a JSON object".into());
    };
    let Some(seconds) = body.get("seconds").and_then(Value::as_i64) else {
        return bad_request("give `seconds` as an integer, e.g. {\"seconds\": 7200}".into());
    };
    match Duration::try_seconds(seconds) {
        Some(by) => {
            clock.advance(by);
            clock.state().into_response()
        }
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
        clock.advance(Duration::hours(2));
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
        clock.advance(Duration::hours(2));
        let shown = clock.now();
        assert!(shown > Utc::now() + Duration::minutes(119));
    }
}
