//! The `idpsim` command line.

use crate::certify::scenario::Level;
use crate::certify::{
    CertifyOptions, DEFAULT_CONCURRENCY, ExternalTarget, Output, default_features_dir,
};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// idpsim: simulated enterprise identity providers, a reference SCIM service provider and a
/// SCIM conformance suite.
#[derive(Debug, Parser)]
#[command(name = "idpsim", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SCIM conformance scenarios against a target (default: the bundled reference SP).
    Certify(CertifyArgs),
    /// Serve the reference SCIM service provider until Ctrl-C.
    Sp(SpArgs),
    /// List the personas, or show one persona's knobs with their sources.
    Personas(PersonasArgs),
    /// Work with IdP directories.
    Directory(DirectoryArgs),
    /// Run one provisioning cycle of a persona against a SCIM endpoint.
    Provision(ProvisionArgs),
    /// Import a SCIM endpoint's users and groups as a persona pages through them (Okta).
    Import(ImportArgs),
    /// Serve every persona's OpenID Connect provider and the reference SP until Ctrl-C.
    Serve(ServeArgs),
}

/// `idpsim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the identity providers (loopback by default; port 0 picks one).
    #[arg(long, value_name = "ADDR", value_parser = loopback_address, default_value = "127.0.0.1:7000")]
    pub listen: SocketAddr,
    /// Address of the reference SP.
    #[arg(long, value_name = "ADDR", value_parser = loopback_address, default_value = "127.0.0.1:8080")]
    pub sp_listen: SocketAddr,
    /// Where signing keys and tenant ids are kept, so issuers and JWKS survive restarts.
    #[arg(long, value_name = "DIR", default_value = ".idpsim")]
    pub state_dir: PathBuf,
    /// The reference SP's SQLite database (created if missing).
    #[arg(long, value_name = "FILE", default_value = "idpsim.db")]
    pub database: PathBuf,
    /// The directory whose users sign in [default: the workspace's fixtures/directories/acme.yaml].
    #[arg(long, value_name = "FILE", default_value_os_t = idpsim_simulator::fixtures_dir().join("directories/acme.yaml"))]
    pub directory: PathBuf,
    /// Also write the URL table as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub urls_json: Option<PathBuf>,
    /// Another OIDC client of every provider, `ID:SECRET:REDIRECT_URI` (repeatable).
    #[arg(long = "oidc-client", value_name = "ID:SECRET:REDIRECT_URI")]
    pub oidc_clients: Vec<String>,
    /// Test mode: an authorization request (OIDC) or AuthnRequest (SAML) with a `login_hint`
    /// signs that user in without a page.
    #[arg(long)]
    pub auto_login: bool,
    /// The SAML IdPs answer only the service providers registered with `--sp` (and the
    /// reference SP's own connections); by default any SP is answered, its AuthnRequest's
    /// issuer being the audience and its ACS URL the destination.
    #[arg(long)]
    pub strict_sp: bool,
    /// Serve the clock API on the IdPs' address: `GET /clock`, `POST /clock/freeze`
    /// (`{"at": RFC 3339}` optional), `POST /clock/advance` (`{"seconds": N}`) and
    /// `POST /clock/resume` move the time the IdPs and the reference SP share.
    #[arg(long)]
    pub clock_api: bool,
    /// A service provider of every SAML IdP, `ENTITY_ID=ACS_URL` (repeatable).
    #[arg(long = "sp", value_name = "ENTITY_ID=ACS_URL")]
    pub service_providers: Vec<String>,
    /// How the SP matches a persona's logins to SCIM users, `PERSONA=STRATEGY` (repeatable),
    /// e.g. `entra=OidcOidToScimExternalId` [default: the persona's `default_matching`].
    #[arg(long = "matching", value_name = "PERSONA=STRATEGY")]
    pub matching: Vec<String>,
    /// The reference SP's admin API key (`Authorization: Bearer KEY` on `/admin/v1`)
    /// [default: a new random one, printed].
    #[arg(long, value_name = "KEY", value_parser = non_empty)]
    pub admin_key: Option<String>,
    /// Bearer token of the SP's default organization [default: a new random one].
    #[arg(long, value_name = "TOKEN", value_parser = non_empty)]
    pub scim_token: Option<String>,
    /// Folder of persona files [default: the workspace's fixtures/personas].
    #[arg(long, value_name = "DIR")]
    pub personas_dir: Option<PathBuf>,
}

/// `idpsim personas [show NAME]`.
#[derive(Debug, Args)]
pub struct PersonasArgs {
    /// `show NAME` prints one persona's knobs; without it, the personas are listed.
    #[command(subcommand)]
    pub action: Option<PersonasAction>,
    /// Folder of persona files [default: the workspace's fixtures/personas].
    #[arg(long, value_name = "DIR", global = true)]
    pub personas_dir: Option<PathBuf>,
}

/// What `idpsim personas` does.
#[derive(Debug, Subcommand)]
pub enum PersonasAction {
    /// Print every knob of a persona with its value and source.
    Show {
        /// The persona, e.g. `entra` or `okta-aiw`.
        name: String,
    },
}

/// `idpsim directory ...`.
#[derive(Debug, Args)]
pub struct DirectoryArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DirectoryAction,
}

/// What `idpsim directory` does.
#[derive(Debug, Subcommand)]
pub enum DirectoryAction {
    /// Write a deterministic synthetic directory (YAML).
    Generate(GenerateArgs),
}

/// `idpsim directory generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many users.
    #[arg(long, value_name = "N")]
    pub users: usize,
    /// How many groups.
    #[arg(long, value_name = "M", default_value_t = 0)]
    pub groups: usize,
    /// Random seed: the same seed gives the same directory.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// IdP blocks to write, comma-separated [default: all: entra,okta,jumpcloud,google,generic].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub blocks: Vec<String>,
    /// Where to write it [default: standard output].
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `idpsim provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The persona, e.g. `entra`, `okta-aiw` (see `idpsim personas`).
    #[arg(long, value_name = "NAME")]
    pub persona: String,
    /// The directory file (YAML), e.g. fixtures/directories/acme.yaml.
    #[arg(long, value_name = "FILE")]
    pub directory: PathBuf,
    /// SCIM base URL of the endpoint, e.g. http://127.0.0.1:8080/scim/v2.
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// Bearer token for the endpoint.
    #[arg(long, value_name = "TOKEN", value_parser = non_empty)]
    pub token: String,
    /// What the persona pushed last time, kept between cycles
    /// [default: <directory>.<persona>.state.json in the working directory].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = at_least_one)]
    pub concurrency: usize,
    /// Write every exchange of the cycle to this HAR 1.2 file.
    #[arg(long, value_name = "FILE")]
    pub har: Option<PathBuf>,
    /// The test user's email, for personas whose test connection creates a user (JumpCloud
    /// asks the admin for one so that apps checking email domains accept it): the test
    /// user's userName and work email [default: idpsim.test.<random>@example.test].
    #[arg(long, value_name = "EMAIL", value_parser = email_address)]
    pub test_email: Option<String>,
    /// Folder of persona files [default: the workspace's fixtures/personas].
    #[arg(long, value_name = "DIR")]
    pub personas_dir: Option<PathBuf>,
}

/// `idpsim import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The persona, e.g. `okta` (only personas whose file sets an import page size).
    #[arg(long, value_name = "NAME")]
    pub persona: String,
    /// SCIM base URL of the endpoint, e.g. http://127.0.0.1:8080/scim/v2.
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// Bearer token for the endpoint.
    #[arg(long, value_name = "TOKEN", value_parser = non_empty)]
    pub token: String,
    /// Write every exchange of the import to this HAR 1.2 file.
    #[arg(long, value_name = "FILE")]
    pub har: Option<PathBuf>,
    /// Folder of persona files [default: the workspace's fixtures/personas].
    #[arg(long, value_name = "DIR")]
    pub personas_dir: Option<PathBuf>,
}

/// `idpsim certify`.
#[derive(Debug, Args)]
pub struct CertifyArgs {
    /// SCIM base URL of the endpoint under test, e.g. https://app.example/scim/v2.
    /// Without it, the bundled reference SP is started in-process.
    #[arg(long, value_name = "URL", requires = "token")]
    pub target: Option<String>,
    /// Bearer token for --target.
    #[arg(long, value_name = "TOKEN", value_parser = non_empty, requires = "target")]
    pub token: Option<String>,
    /// Only this persona's scenarios and verdict (repeatable), e.g. `--persona entra`.
    #[arg(long = "persona", value_name = "NAME")]
    pub personas: Vec<String>,
    /// Cucumber tag expression selecting scenarios, e.g. '@scim and not @should'.
    #[arg(long, value_name = "EXPR")]
    pub tags: Option<String>,
    /// Fail the run (exit 1) on failed @must scenarios only, or on @should ones too.
    #[arg(long, value_enum, value_name = "LEVEL", default_value = "must")]
    pub fail_on: Level,
    /// Directory for the reports [default: reports/<timestamp>/].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Print only the verdicts (no progress, no failure details).
    #[arg(long, short, conflicts_with = "format")]
    pub quiet: bool,
    /// `json` prints the whole report as one JSON document on stdout.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub format: Format,
    /// Delete the users and groups earlier (interrupted) runs left on --target, then exit.
    #[arg(long, requires = "target")]
    pub cleanup: bool,
    /// Directory of .feature files [default: the workspace's features/].
    #[arg(long, value_name = "DIR")]
    pub features: Option<PathBuf>,
    /// Folder of persona files [default: the workspace's fixtures/personas].
    #[arg(long, value_name = "DIR")]
    pub personas_dir: Option<PathBuf>,
    /// How many scenarios run at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = at_least_one)]
    pub concurrency: usize,
}

/// The output format of `idpsim certify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Progress, failures as they happen, the verdict table.
    Text,
    /// One JSON document.
    Json,
}

impl CertifyArgs {
    /// The external target, when one is given.
    pub fn external_target(&self) -> Option<ExternalTarget> {
        match (&self.target, &self.token) {
            (Some(base_url), Some(token)) => Some(ExternalTarget {
                base_url: base_url.clone(),
                token: token.clone(),
            }),
            _ => None,
        }
    }

    /// The runner's options; `now` names the default report directory.
    pub fn to_options(&self, now: DateTime<Utc>) -> CertifyOptions {
        let output = match (self.format, self.quiet) {
            (Format::Json, _) => Output::Json,
            (Format::Text, true) => Output::Quiet,
            (Format::Text, false) => Output::Text,
        };
        let report_dir = self.report_dir.clone().unwrap_or_else(|| {
            PathBuf::from("reports").join(now.format("%Y%m%dT%H%M%SZ").to_string())
        });
        CertifyOptions {
            target: self.external_target(),
            tags: self.tags.clone(),
            personas: self.personas.clone(),
            fail_on: self.fail_on,
            report_dir: Some(report_dir),
            features: self.features.clone().unwrap_or_else(default_features_dir),
            personas_dir: self
                .personas_dir
                .clone()
                .unwrap_or_else(crate::personas::default_personas_dir),
            concurrency: self.concurrency,
            output,
        }
    }
}

/// `idpsim sp`.
#[derive(Debug, Args)]
pub struct SpArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, value_name = "ADDR", value_parser = loopback_address, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Bearer token of the default organization.
    #[arg(long, value_name = "TOKEN", value_parser = non_empty)]
    pub token: String,
    /// The admin API key (`Authorization: Bearer KEY` on `/admin/v1`) [default: a new random
    /// one, printed].
    #[arg(long, value_name = "KEY", value_parser = non_empty)]
    pub admin_key: Option<String>,
    /// SQLite database file (created if missing).
    #[arg(long, value_name = "FILE", default_value = "idpsim.db")]
    pub database: PathBuf,
}

/// A listening address on the loopback interface: the simulated IdPs and the reference SP
/// are test servers, with an admin API whose key is printed, and serve this machine only.
fn loopback_address(text: &str) -> Result<SocketAddr, String> {
    let address: SocketAddr = text
        .parse()
        .map_err(|error| format!("{error} (expected e.g. 127.0.0.1:8080)"))?;
    if address.ip().is_loopback() {
        Ok(address)
    } else {
        Err(format!(
            "idpsim serves on the loopback interface only (127.0.0.1 or [::1]), not {}",
            address.ip()
        ))
    }
}

/// A count of things done at once: at least one.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(count) => Ok(count),
        Err(error) => Err(error.to_string()),
    }
}

/// A token or key: an empty one could never be sent back.
fn non_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// An email address as a person types it: one `@` between a non-empty local part and a
/// domain with a dot, no spaces.
fn email_address(text: &str) -> Result<String, String> {
    let well_formed = text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !text.chars().any(char::is_whitespace);
    if well_formed {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not an email address such as qa@app.example"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("idpsim").chain(args.iter().copied()))
    }

    #[test]
    fn certify_without_target_runs_the_bundled_sp() {
        let Command::Certify(args) = parse(&["certify"]).unwrap().command else {
            panic!("expected certify");
        };
        let now = DateTime::parse_from_rfc3339("2026-11-28T09:30:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let options = args.to_options(now);
        assert_eq!(options.target, None);
        assert_eq!(options.features, default_features_dir());
        assert_eq!(options.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(options.fail_on, Level::Must);
        assert_eq!(options.output, Output::Text);
        assert_eq!(
            options.report_dir,
            Some(PathBuf::from("reports/20261128T093005Z"))
        );
    }

    #[test]
    fn certify_with_target_token_tags_and_reports() {
        let cli = parse(&[
            "certify",
            "--target",
            "https://app.example/scim/v2",
            "--token",
            "s3cret",
            "--tags",
            "@scim and not @slow",
            "--report-dir",
            "reports",
            "--features",
            "my-features",
            "--persona",
            "entra",
            "--persona",
            "okta",
            "--fail-on",
            "should",
            "--format",
            "json",
        ])
        .unwrap();
        let Command::Certify(args) = cli.command else {
            panic!("expected certify");
        };
        let options = args.to_options(Utc::now());
        assert_eq!(options.personas, ["entra", "okta"]);
        assert_eq!(options.fail_on, Level::Should);
        assert_eq!(options.output, Output::Json);
        assert_eq!(
            options.target,
            Some(ExternalTarget {
                base_url: "https://app.example/scim/v2".into(),
                token: "s3cret".into()
            })
        );
        assert_eq!(options.tags.as_deref(), Some("@scim and not @slow"));
        assert_eq!(options.report_dir, Some(PathBuf::from("reports")));
        assert_eq!(options.features, PathBuf::from("my-features"));
    }

    #[test]
    fn quiet_and_cleanup_are_flags() {
        let Command::Certify(args) = parse(&["certify", "-q"]).unwrap().command else {
            panic!("expected certify");
        };
        assert_eq!(args.to_options(Utc::now()).output, Output::Quiet);
        assert!(parse(&["certify", "--cleanup"]).is_err());
        let Command::Certify(args) = parse(&[
            "certify",
            "--cleanup",
            "--target",
            "http://127.0.0.1:1/scim/v2",
            "--token",
            "t",
        ])
        .unwrap()
        .command
        else {
            panic!("expected certify");
        };
        assert!(args.cleanup);
        assert!(parse(&["certify", "--fail-on", "sometimes"]).is_err());
    }

    #[test]
    fn target_without_token_is_a_usage_error() {
        let err = parse(&["certify", "--target", "https://app.example/scim/v2"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn provision_takes_a_test_email_only_in_the_shape_of_an_address() {
        let provision = |email: &str| {
            parse(&[
                "provision",
                "--persona",
                "jumpcloud",
                "--directory",
                "acme.yaml",
                "--target",
                "http://127.0.0.1:1/scim/v2",
                "--token",
                "t",
                "--test-email",
                email,
            ])
        };
        let Command::Provision(args) = provision("qa@app.example").unwrap().command else {
            panic!("expected provision");
        };
        assert_eq!(args.test_email.as_deref(), Some("qa@app.example"));
        for bad in [
            "",
            "qa",
            "@app.example",
            "qa@app",
            "qa@app.example.",
            "q a@app.example",
            "a@b@c.d",
        ] {
            let error = provision(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ValueValidation, "{bad:?}");
        }
    }

    #[test]
    fn sp_takes_listen_token_and_database() {
        let cli = parse(&[
            "sp",
            "--listen",
            "127.0.0.1:9000",
            "--token",
            "t",
            "--database",
            "x.db",
        ])
        .unwrap();
        let Command::Sp(args) = cli.command else {
            panic!("expected sp");
        };
        assert_eq!(args.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(args.token, "t");
        assert_eq!(args.database, PathBuf::from("x.db"));
    }

    #[test]
    fn sp_defaults_to_a_database_in_the_working_directory() {
        let cli = parse(&["sp", "--token", "t"]).unwrap();
        let Command::Sp(args) = cli.command else {
            panic!("expected sp");
        };
        assert_eq!(args.database, PathBuf::from("idpsim.db"));
        assert!(args.listen.ip().is_loopback());
    }

    #[test]
    fn personas_show_takes_a_name() {
        let Command::Personas(args) = parse(&["personas", "show", "okta-aiw"]).unwrap().command
        else {
            panic!("expected personas");
        };
        let Some(PersonasAction::Show { name }) = args.action else {
            panic!("expected show");
        };
        assert_eq!(name, "okta-aiw");
        let Command::Personas(list) = parse(&["personas"]).unwrap().command else {
            panic!("expected personas");
        };
        assert!(list.action.is_none());
    }

    #[test]
    fn directory_generate_takes_counts_seed_and_blocks() {
        let cli = parse(&[
            "directory",
            "generate",
            "--users",
            "100000",
            "--groups",
            "50",
            "--seed",
            "7",
            "--blocks",
            "entra,okta",
        ])
        .unwrap();
        let Command::Directory(DirectoryArgs {
            action: DirectoryAction::Generate(args),
        }) = cli.command
        else {
            panic!("expected directory generate");
        };
        assert_eq!((args.users, args.groups, args.seed), (100_000, 50, 7));
        assert_eq!(args.blocks, ["entra", "okta"]);
    }

    #[test]
    fn provision_needs_persona_directory_target_and_token() {
        let err = parse(&[
            "provision",
            "--persona",
            "entra",
            "--directory",
            "acme.yaml",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let cli = parse(&[
            "provision",
            "--persona",
            "entra",
            "--directory",
            "acme.yaml",
            "--target",
            "http://127.0.0.1:8080/scim/v2",
            "--token",
            "t",
            "--har",
            "out.har",
        ])
        .unwrap();
        let Command::Provision(args) = cli.command else {
            panic!("expected provision");
        };
        assert_eq!(args.concurrency, 4);
        assert_eq!(args.har, Some(PathBuf::from("out.har")));
    }

    #[test]
    fn an_invalid_listen_address_is_a_usage_error() {
        let err = parse(&["sp", "--listen", "localhost", "--token", "t"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
