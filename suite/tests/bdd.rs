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
    let mut options = certify_args.to_options(chrono::Utc::now());
    // `cargo test` runs in the crate's folder; the reports go to the workspace's reports/.
    if certify_args.report_dir.is_none() {
        options.report_dir = options
            .report_dir
            .map(|dir| std::path::Path::new("..").join(dir));
    }
    let outcome = certify::run(&options).await;
    match &outcome {
        Outcome::Passed(report) | Outcome::Failed(report) => {
            eprintln!("bdd: {}", certify::reports::counts_line(report))
        }
        Outcome::NotRun(err) => eprintln!("error: {err}"),
    }
    ExitCode::from(outcome.exit_code())
}
