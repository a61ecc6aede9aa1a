//! The idpsim suite: the `idpsim` command line and the Gherkin SCIM conformance suite.
//!
//! The scenarios in `features/scim/` (the SCIM server), `features/provisioning/` (each
//! persona's lifecycle) and `features/mappings/` (attribute mappings) run against any SCIM
//! 2.0 endpoint given by base URL and bearer token, or by default against the bundled
//! reference SP started in-process on `127.0.0.1:0` with a temporary database. The same run serves
//! `idpsim certify` and `cargo test --test bdd`.
//!
//! # Layout
//! - [`cli`]: the clap command line (`idpsim certify`, `sp`, `personas`, `directory`,
//!   `provision`, `import`, `serve`).
//! - [`personas`]: listing personas and showing their knobs with sources.
//! - [`provision`]: `idpsim provision` (progress bar, summary, HAR), `import` and
//!   `directory generate`.
//! - [`serve`]: `idpsim serve`, every persona's OIDC provider and the reference SP.
//! - [`certify`]: picks the target, runs the features with cucumber, writes the terminal
//!   summary, JUnit XML and Cucumber JSON, and returns an [`certify::Outcome`].
//! - [`interrupt`]: a Ctrl-C listener in place before a command prints its URLs.
//! - [`world`]: the one cucumber World, [`world::ScimWorld`]: HTTP client, target, last
//!   response, remembered values, created resources (deleted after each scenario).
//! - [`steps`]: step definitions, one module per concept (discovery, resources, users,
//!   groups, patch, queries, errors, auth, bulk, responses; provisioning drives a persona's
//!   cycles, mappings checks what the target then holds).
//! - [`template`]: the `{unique}` / `{id:NAME}` placeholders in feature text.
//! - [`json_match`]: SCIM-aware JSON paths and "contains" comparison for assertions.

pub mod certify;
pub mod cli;
pub mod interrupt;
pub mod json_match;
pub mod personas;
pub mod provision;
pub mod serve;
pub mod steps;
pub mod template;
pub mod world;
