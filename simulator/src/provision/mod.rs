//! The SCIM provisioning client: a persona's provisioning cycle against any SCIM endpoint.
//!
//! - `request`: the persona's requests as plain data (lookups, bodies, PATCH shapes).
//! - `client`: sending them with the persona's headers, retries and `Retry-After`.
//! - `engine`: one cycle: diff the directory against the state, send the requests (users
//!   and groups in submodules of their own).
//! - `import`: the IdP's import of the users and groups the app holds, page by page.
//! - `state`: what the persona last pushed, kept in a state file between cycles.
//! - `transcript`: every exchange, and its HAR 1.2 export.

mod client;
mod engine;
mod import;
pub mod request;
mod state;
mod transcript;

pub use client::{Pause, ScimClient, ScimResponse, SimulatedPause, SleepingPause, Unreachable};
pub use engine::{
    CycleError, CycleOptions, CycleReport, Failure, NoProgress, Progress, ProvisioningCycle,
    Skipped,
};
pub use import::{ImportError, ImportReport, import};
pub use state::{GroupState, ProvisioningState, Pushed, StateError, UserState};
pub use transcript::{Exchange, REDACTED, Transcript, is_secret_header, redact_body};
