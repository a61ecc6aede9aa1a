//! The `idpsim` binary: parses the command line, runs the subcommand, maps the result to
//! an exit code (0 success, 1 a scenario failed, 2 bad usage or the target unreachable).

use anyhow::Context as _;
use clap::Parser as _;
use clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
use idpsim_reference_sp::{DatabaseLocation, RunningSp, SpConfig};
use idpsim_simulator::persona::PersonaCatalog;
use idpsim_suite::certify::{self, Outcome};
use idpsim_suite::cli::{
    Cli, Command, DirectoryAction, PersonasAction, PersonasArgs, ServeArgs, SpArgs,
};
use idpsim_suite::interrupt::CtrlC;
use idpsim_suite::provision::{self, UsageError};
use idpsim_suite::{personas, serve};
use std::io::IsTerminal as _;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if !error.use_stderr() || error.kind() == DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            error.exit()
        }
        Err(error) => {
            eprintln!("{}", one_line(&error));
            return ExitCode::from(2);
        }
    };
    // The conformance scenarios provoke the bundled SP's refusals (sign-ins, webhook
    // deliveries) on purpose; certify reports them in its verdicts, so the SP's own log of
    // them stays quiet there (RUST_LOG overrides).
    let default_filter = match cli.command {
        Command::Certify(_) => "warn,idpsim_reference_sp=error",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Command::Certify(args) => match args.external_target().filter(|_| args.cleanup) {
            Some(target) => match certify::cleanup(&target).await {
                Ok(swept) => {
                    println!("removed {} left by earlier runs", swept.describe());
                    for error in &swept.errors {
                        eprintln!("warning: {error}");
                    }
                    ExitCode::from(if swept.errors.is_empty() { 0 } else { 1 })
                }
                Err(err) => {
                    eprintln!("error: {err}");
                    ExitCode::from(2)
                }
            },
            None => {
                let outcome = certify::run(&args.to_options(chrono::Utc::now())).await;
                if let Outcome::NotRun(err) = &outcome {
                    eprintln!("error: {err}");
                }
                ExitCode::from(outcome.exit_code())
            }
        },
        Command::Personas(args) => finish(show_personas(&args).map(|text| {
            print!("{text}");
            true
        })),
        Command::Directory(args) => match args.action {
            DirectoryAction::Generate(generate) => {
                finish(provision::run_generate(&generate).map(|()| true))
            }
        },
        Command::Provision(args) => finish(provision::run_provision(&args).await),
        Command::Import(args) => finish(provision::run_import(&args).await),
        Command::Serve(args) => match CtrlC::listen() {
            Err(error) => {
                eprintln!("error: cannot listen for Ctrl-C: {error}");
                ExitCode::from(2)
            }
            Ok(ctrl_c) => run_serve(&args, ctrl_c).await,
        },
        Command::Sp(args) => match serve(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {}", causes(&err));
                ExitCode::from(2)
            }
        },
    }
}

/// A usage error as one line: clap's message without its usage block, e.g. "error: the
/// following required arguments were not provided: --token <TOKEN> (see --help)".
fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .collect();
    format!("{} (see --help)", message.join(" "))
}

/// Exit code 0 on success, 1 when operations failed, 2 (with one line) when the command could
/// not run.
fn finish(outcome: Result<bool, UsageError>) -> ExitCode {
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

fn show_personas(args: &PersonasArgs) -> Result<String, UsageError> {
    let folder = args
        .personas_dir
        .clone()
        .unwrap_or_else(personas::default_personas_dir);
    let catalog = PersonaCatalog::open(&folder).map_err(|error| UsageError(error.to_string()))?;
    match &args.action {
        None => personas::list(&catalog),
        Some(PersonasAction::Show { name }) => personas::show(&catalog, name),
    }
    .map_err(|error| UsageError(error.to_string()))
}

/// An error and its causes on one line, each cause once: an error's message often already
/// quotes its source ("cannot listen on …: Address already in use").
fn causes(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Runs `idpsim serve` until Ctrl-C, then stops the IdPs and shuts the SP down cleanly.
async fn run_serve(args: &ServeArgs, mut ctrl_c: CtrlC) -> ExitCode {
    let served = match serve::start(args).await {
        Ok(served) => served,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    print!("{}", serve::table(&served.urls));
    if !args.strict_sp {
        println!(
            "\nSAML: lenient about SPs (the default): an AuthnRequest from any SP gets its \
             assertion at the ACS it names. --strict-sp answers registered SPs only."
        );
    }
    println!("Press Ctrl-C to stop.");
    ctrl_c.pressed().await;
    served.idp_server.abort();
    stop_within_grace(served.sp.shutdown(), &mut ctrl_c).await;
    ExitCode::SUCCESS
}

/// Serves the reference SP until Ctrl-C, then shuts it down cleanly.
async fn serve(args: SpArgs) -> anyhow::Result<()> {
    // SQLite says "unable to open database file" for both; say which.
    if args.database.is_dir() {
        anyhow::bail!(
            "--database {} is a directory, not a file",
            args.database.display()
        );
    }
    if let Some(folder) = args
        .database
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        && !folder.is_dir()
    {
        anyhow::bail!(
            "--database {}: the folder {} does not exist",
            args.database.display(),
            folder.display()
        );
    }
    let mut ctrl_c = CtrlC::listen().context("cannot listen for Ctrl-C")?;
    let sp = RunningSp::start(SpConfig {
        listen: args.listen,
        database: DatabaseLocation::File(args.database.clone()),
        bootstrap_token: Some(args.token),
        admin_key: args.admin_key,
    })
    .await
    .with_context(|| format!("cannot start the reference SP on {}", args.listen))?;
    println!("SCIM base URL: {}", sp.base_url());
    println!(
        "Admin API: {}/admin/v1 (key {})",
        sp.origin(),
        sp.admin_key()
    );
    println!("Database: {}", args.database.display());
    println!("Press Ctrl-C to stop.");
    ctrl_c.pressed().await;
    stop_within_grace(sp.shutdown(), &mut ctrl_c).await;
    Ok(())
}

/// How long requests in flight at Ctrl-C may take to finish, e.g. a client that sent half a
/// body and went quiet.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs a clean shutdown, but gives up on it after [`SHUTDOWN_GRACE`] or at a second Ctrl-C:
/// the requests still in flight then get no answer. Nothing answered is lost: every write is
/// on disk before its answer is sent, and SQLite rolls back a commit the exit interrupts.
async fn stop_within_grace(shutdown: impl std::future::Future<Output = ()>, ctrl_c: &mut CtrlC) {
    tokio::select! {
        () = shutdown => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            eprintln!(
                "warning: stopped with requests still in flight after {} s; they got no answer",
                SHUTDOWN_GRACE.as_secs()
            );
        }
        () = ctrl_c.pressed() => {
            eprintln!("warning: stopped at once; requests in flight got no answer");
        }
    }
}
