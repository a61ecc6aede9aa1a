//! The conformance suite against the bundled reference SP, as a `harness = false` test:
//! `cargo test -p idpsim-suite --test bdd [-- --tags EXPR]`. It takes `idpsim certify`'s
//! options (not libtest's), and fails when any scenario fails.

use clap::Parser as _;
use idpsim_suite::certify::{self, Outcome};
use idpsim_suite::cli::{Cli, Command};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = std::iter::once("idpsim".to_owned())
        .chain(std::iter::once("certify".to_owned()))
        .chain(std::env::args().skip(1));
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let Command::Certify(certify_args) = cli.command else {
        eprintln!("error: the bdd test only runs `certify`");
        return ExitCode::from(2);
    };
    let outcome = certify::run(&certify_args.to_options()).await;
    match &outcome {
        Outcome::Passed(summary) => eprintln!("bdd: {} scenarios passed", summary.passed_scenarios),
        Outcome::Failed(summary) => eprintln!(
            "bdd: {} scenarios failed, {} passed, {} feature files did not parse",
            summary.failed_scenarios, summary.passed_scenarios, summary.parsing_errors
        ),
        Outcome::NotRun(err) => eprintln!("error: {err}"),
    }
    ExitCode::from(outcome.exit_code())
}
