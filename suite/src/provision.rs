//! `idpsim provision`, `idpsim import` and `idpsim directory generate`: a persona's
//! provisioning cycle against any SCIM endpoint, with a progress bar and a summary; its import
//! of what the endpoint holds; synthetic directories.

use crate::cli::{GenerateArgs, ImportArgs, ProvisionArgs};
use crate::personas::default_personas_dir;
use idpsim_simulator::directory::{ALL_BLOCKS, Directory, GenerateOptions, generate};
use idpsim_simulator::persona::{Persona, PersonaCatalog, TestConnection};
use idpsim_simulator::provision::{
    CycleError, CycleOptions, CycleReport, ImportReport, Progress, ProvisioningCycle,
    ProvisioningState, ScimClient, SleepingPause, Transcript, import,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// A command that could not run: one line for the user, exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// How many skipped users and failures the summary lists before it says "and N more".
const LISTED: usize = 20;

/// Writes a generated directory to the output file or standard output.
pub fn run_generate(args: &GenerateArgs) -> Result<(), UsageError> {
    let blocks = if args.blocks.is_empty() {
        ALL_BLOCKS.iter().map(|block| (*block).to_owned()).collect()
    } else {
        args.blocks.clone()
    };
    if let Some(unknown) = blocks
        .iter()
        .find(|block| !ALL_BLOCKS.contains(&block.as_str()))
    {
        return Err(UsageError(format!(
            "unknown block `{unknown}` (known: {})",
            ALL_BLOCKS.join(", ")
        )));
    }
    let directory = generate(&GenerateOptions {
        users: args.users,
        groups: args.groups,
        seed: args.seed,
        blocks,
    });
    match &args.output {
        Some(path) => directory
            .save(path)
            .map_err(|error| UsageError(error.to_string())),
        None => {
            let yaml = directory.to_yaml().map_err(UsageError)?;
            print!("{yaml}");
            Ok(())
        }
    }
}

/// Runs one cycle and prints its summary; `Ok(true)` when every operation succeeded.
pub async fn run_provision(args: &ProvisionArgs) -> Result<bool, UsageError> {
    let usage = |error: &dyn std::fmt::Display| UsageError(error.to_string());
    let persona = load_persona(args.personas_dir.as_ref(), &args.persona)?;
    if !persona.scim.pushes.value {
        return Err(UsageError(format!(
            "{} does not push SCIM: {}",
            persona.display_name,
            persona
                .scim
                .pushes
                .note
                .as_deref()
                .unwrap_or(&persona.scim.pushes.source)
        )));
    }
    if args.test_email.is_some()
        && persona.scim.test_connection.value != TestConnection::CreateAndDelete
    {
        return Err(UsageError(format!(
            "--test-email: {}'s test connection creates no user",
            persona.display_name
        )));
    }
    let directory = Directory::load(&args.directory).map_err(|error| usage(&error))?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| default_state_path(args));
    let mut state = ProvisioningState::load(&state_path, &args.persona, &args.target)
        .map_err(|error| usage(&error))?;
    let (client, transcript) = connect(&persona, &args.target, &args.token, args.har.is_some())?;
    let options = CycleOptions {
        concurrency: args.concurrency.max(1),
        now: chrono::Utc::now(),
        seed: rand::random(),
        test_object_stem: None,
        test_user_email: args.test_email.clone(),
    };
    let progress = TerminalProgress::new();
    let outcome = ProvisioningCycle::new(&persona, &directory, &client, options)
        .run(&mut state, &progress)
        .await;
    progress.finish();
    write_har(args.har.as_ref(), transcript.as_ref())?;
    let report = match outcome {
        Ok(report) => report,
        Err(
            error @ (CycleError::Unreachable(_)
            | CycleError::TestConnection { .. }
            | CycleError::NoScimPush { .. }
            | CycleError::Mapping(_)),
        ) => {
            return Err(usage(&error));
        }
    };
    state.save(&state_path).map_err(|error| usage(&error))?;
    print!("{}", summary(&persona.display_name, &report));
    println!("state: {}", state_path.display());
    if let Some(path) = &args.har {
        println!("HAR: {}", path.display());
    }
    Ok(report.failures.is_empty())
}

/// `idpsim import`: reads the target's users and groups as the persona's import pages
/// through them, prints what it read and the paging problems; `Ok(false)` when there are
/// problems.
pub async fn run_import(args: &ImportArgs) -> Result<bool, UsageError> {
    let persona = load_persona(args.personas_dir.as_ref(), &args.persona)?;
    let (client, transcript) = connect(&persona, &args.target, &args.token, args.har.is_some())?;
    let outcome = import(&persona, &client).await;
    write_har(args.har.as_ref(), transcript.as_ref())?;
    let report = outcome.map_err(|error| UsageError(error.to_string()))?;
    print!("{}", import_summary(&persona.display_name, &report));
    if let Some(path) = &args.har {
        println!("HAR: {}", path.display());
    }
    Ok(report.problems.is_empty())
}

/// The persona `name` from `personas_dir` (default: the workspace's fixtures/personas).
fn load_persona(personas_dir: Option<&PathBuf>, name: &str) -> Result<Persona, UsageError> {
    let folder = personas_dir.cloned().unwrap_or_else(default_personas_dir);
    PersonaCatalog::open(&folder)
        .and_then(|catalog| catalog.load(name))
        .map(|loaded| loaded.persona)
        .map_err(|error| UsageError(error.to_string()))
}

/// The persona's SCIM client for `target`, with a transcript when a HAR is to be written.
fn connect(
    persona: &Persona,
    target: &str,
    token: &str,
    recorded: bool,
) -> Result<(ScimClient, Option<Transcript>), UsageError> {
    let transcript = recorded.then(Transcript::default);
    let client = ScimClient::new(
        persona,
        target,
        token,
        Arc::new(SleepingPause),
        transcript.clone(),
    )
    .map_err(UsageError)?;
    Ok((client, transcript))
}

/// Writes `transcript` as HAR 1.2 to `path`, when both are given.
fn write_har(path: Option<&PathBuf>, transcript: Option<&Transcript>) -> Result<(), UsageError> {
    let (Some(path), Some(transcript)) = (path, transcript) else {
        return Ok(());
    };
    let har = transcript.to_har(env!("CARGO_PKG_VERSION"));
    let text = serde_json::to_string_pretty(&har).map_err(|error| UsageError(error.to_string()))?;
    std::fs::write(path, text)
        .map_err(|error| UsageError(format!("cannot write {}: {error}", path.display())))
}

/// The summary printed at the end of `idpsim import`.
pub fn import_summary(persona: &str, report: &ImportReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{persona} import:");
    let _ = writeln!(
        out,
        "  users: {} imported, {} skipped (active false)",
        report.users.len(),
        report.inactive_skipped
    );
    let _ = writeln!(out, "  groups: {} imported", report.groups.len());
    let _ = writeln!(out, "  requests: {}", report.requests.len());
    for request in &report.requests {
        let _ = writeln!(out, "    {request}");
    }
    let _ = writeln!(out, "  problems: {}", report.problems.len());
    for problem in &report.problems {
        let _ = writeln!(out, "    {problem}");
    }
    out
}

fn default_state_path(args: &ProvisionArgs) -> PathBuf {
    let stem = args.directory.file_stem().map_or_else(
        || "directory".into(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    PathBuf::from(format!("{stem}.{}.state.json", args.persona))
}

/// The summary printed at the end of `idpsim provision`.
pub fn summary(persona: &str, report: &CycleReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{persona} provisioning cycle:");
    let _ = writeln!(
        out,
        "  users: {} created, {} linked, {} updated, {} deactivated, {} reactivated, {} deleted",
        report.created,
        report.linked,
        report.updated,
        report.deactivated,
        report.reactivated,
        report.deleted
    );
    let _ = writeln!(
        out,
        "  groups: {} created, {} updated, {} deleted",
        report.groups_created, report.groups_updated, report.groups_deleted
    );
    if !report.waited.is_zero() {
        let _ = writeln!(
            out,
            "  waited {} s before retries (429/5xx)",
            report.waited.as_secs()
        );
    }
    for skipped in report.skipped.iter().take(LISTED) {
        let _ = writeln!(out, "  skipped {}: {}", skipped.subject, skipped.reason);
    }
    if report.skipped.len() > LISTED {
        let _ = writeln!(
            out,
            "  ... and {} more skipped",
            report.skipped.len() - LISTED
        );
    }
    let _ = writeln!(out, "  failures: {}", report.failures.len());
    for failure in report.failures.iter().take(LISTED) {
        let status = failure
            .status
            .map_or_else(|| "no answer".to_owned(), |status| status.to_string());
        let _ = writeln!(
            out,
            "    {}: {} -> {status}: {}",
            failure.subject, failure.request, failure.detail
        );
    }
    if report.failures.len() > LISTED {
        let _ = writeln!(out, "    ... and {} more", report.failures.len() - LISTED);
    }
    if let Some(quarantine) = &report.quarantine {
        let _ = writeln!(out, "  {quarantine}");
    }
    out
}

/// A progress bar on standard error; hidden when it is not a terminal.
struct TerminalProgress {
    bar: ProgressBar,
}

impl TerminalProgress {
    fn new() -> TerminalProgress {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        TerminalProgress { bar }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for TerminalProgress {
    fn phase(&self, phase: &str, total: u64) {
        self.bar.set_message(phase.to_owned());
        self.bar.set_length(total);
        self.bar.set_position(0);
    }

    fn advance(&self) {
        self.bar.inc(1);
    }
}
