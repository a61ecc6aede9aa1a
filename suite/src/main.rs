//! The `idpsim` binary: parses the command line, runs the subcommand, maps the result to
//! an exit code (0 success, 1 a scenario failed, 2 bad usage or the target unreachable).

use anyhow::Context as _;
use clap::Parser as _;
use idpsim_reference_sp::{DatabaseLocation, RunningSp, SpConfig};
use idpsim_simulator::persona::PersonaCatalog;
use idpsim_suite::certify::{self, Outcome};
use idpsim_suite::cli::{Cli, Command, DirectoryAction, PersonasAction, PersonasArgs, SpArgs};
use idpsim_suite::provision::{self, UsageError};
use idpsim_suite::{personas, serve};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The conformance scenarios provoke the SP's refusals on purpose; certify reports them in
    // its verdicts, so the SP's own log of them stays quiet there (RUST_LOG overrides).
    let default_filter = match cli.command {
        Command::Certify(_) => "warn,idpsim_reference_sp::sso=error",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
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
        Command::Serve(args) => match serve::start(&args).await {
            Ok(served) => {
                print!("{}", serve::table(&served.urls));
                println!("Press Ctrl-C to stop.");
                let stop = tokio::signal::ctrl_c().await;
                served.idp_server.abort();
                served.sp.shutdown().await;
                match stop {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => {
                        eprintln!("error: cannot listen for Ctrl-C: {error}");
                        ExitCode::from(2)
                    }
                }
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
        Command::Sp(args) => match serve(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        },
    }
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

/// Serves the reference SP until Ctrl-C, then shuts it down cleanly.
async fn serve(args: SpArgs) -> anyhow::Result<()> {
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
    let stop = tokio::signal::ctrl_c().await;
    sp.shutdown().await;
    stop.context("cannot listen for Ctrl-C")
}
