//! HTTP integration tests of the reference SP: each test starts the real server in-process on
//! `127.0.0.1:0` with its own temporary database and talks to it over HTTP with reqwest.

// The helpers outside `#[test]` functions fail the test the same way the tests do.
#![allow(clippy::expect_used, clippy::panic)]

mod auth;
mod bulk;
mod concurrency;
mod discovery;
mod errors;
mod etags;
mod groups;
mod lists;
mod robustness;
mod search;
mod store;
mod support;
mod tenants;
mod users;
