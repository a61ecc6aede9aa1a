//! Requests awaiting their answer: AuthnRequests, LogoutRequests and OIDC authorization
//! requests, each by its ID (or `state`).

use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// The most requests of one kind kept waiting; past it the oldest is forgotten.
const CAPACITY: usize = 10_000;

/// Requests awaiting their answer, by ID. Each is taken once and forgotten after `lifetime`;
/// at most [`CAPACITY`] are kept, the oldest going first, so that anyone able to start sign-ins
/// can neither grow the SP's memory nor slow down the next sign-in (each insert forgets the
/// expired ones in the order they were made, without looking at the others).
pub(crate) struct Waiting<P> {
    lifetime: Duration,
    inner: Mutex<Inner<P>>,
}

struct Inner<P> {
    by_id: HashMap<String, (DateTime<Utc>, P)>,
    /// Every ID with when it was made, oldest first (taken ones too, until they expire).
    order: VecDeque<(DateTime<Utc>, String)>,
}

impl<P> Waiting<P> {
    /// No request waiting; each will wait at most `lifetime`.
    pub(crate) fn new(lifetime: Duration) -> Waiting<P> {
        Waiting {
            lifetime,
            inner: Mutex::new(Inner {
                by_id: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    /// Records `request`, made `now` with the ID `id`.
    pub(crate) fn insert(&self, id: String, request: P, now: DateTime<Utc>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((made, _)) = inner.order.front() {
            let expired = now - *made >= self.lifetime;
            let full = inner.by_id.len() >= CAPACITY || inner.order.len() >= 2 * CAPACITY;
            if !(expired || full) {
                break;
            }
            if let Some((_, old)) = inner.order.pop_front() {
                inner.by_id.remove(&old);
            }
        }
        inner.order.push_back((now, id.clone()));
        inner.by_id.insert(id, (now, request));
    }

    /// Takes the request `id` out (it is answered once, whatever happens next): `None` when
    /// there is none, or it was made `lifetime` or longer before `now`.
    pub(crate) fn take(&self, id: &str, now: DateTime<Utc>) -> Option<P> {
        let (made, request) = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .remove(id)?;
        (now - made < self.lifetime).then_some(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn a_request_is_taken_once_and_only_within_its_lifetime() {
        let waiting = Waiting::new(Duration::seconds(600));
        waiting.insert("a".into(), 1, at(0));
        waiting.insert("b".into(), 2, at(10));
        assert_eq!(waiting.take("a", at(599)), Some(1));
        assert_eq!(waiting.take("a", at(599)), None);
        assert_eq!(waiting.take("b", at(610)), None, "expired");
        assert_eq!(waiting.take("c", at(0)), None);
    }

    #[test]
    fn past_capacity_the_oldest_are_forgotten_and_expired_ones_go_on_insert() {
        let waiting = Waiting::new(Duration::seconds(600));
        for i in 0..=CAPACITY {
            waiting.insert(format!("r{i}"), i, at(0));
        }
        assert_eq!(waiting.take("r0", at(1)), None, "the oldest made room");
        assert_eq!(waiting.take("r1", at(1)), Some(1));
        waiting.insert("late".into(), 0, at(700));
        let inner = waiting.inner.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(inner.by_id.len(), 1, "every request made at 0 expired");
        assert_eq!(inner.order.len(), 1);
    }
}
