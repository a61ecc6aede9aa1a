//! Runs the Gherkin features against a SCIM target and reports the outcome: the bundled
//! reference SP by default, or an external endpoint given by URL and token.

use crate::world::{ScimWorld, Target};
use cucumber::event::ScenarioFinished;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::writer::{self, Stats as _};
use cucumber::{World as _, WriterExt as _};
use futures::FutureExt as _;
use idpsim_reference_sp::{DatabaseLocation, RunningSp, SpConfig, SpError};
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// The tag of scenarios that need the bundled reference SP's administration handle.
pub const REFERENCE_SP_TAG: &str = "reference-sp";

/// How many scenarios run at once against the target.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How long one HTTP exchange with the target may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An external SCIM endpoint to certify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalTarget {
    /// The SCIM base URL, e.g. `https://app.example/scim/v2`.
    pub base_url: String,
    /// The bearer token the endpoint accepts.
    pub token: String,
}

/// What to run and where to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifyOptions {
    /// The endpoint under test; `None` starts the bundled reference SP.
    pub target: Option<ExternalTarget>,
    /// A cucumber tag expression (`@scim and not @slow`) selecting scenarios.
    pub tags: Option<String>,
    /// Where `junit.xml` and `cucumber.json` go; no report files when `None`.
    pub report_dir: Option<PathBuf>,
    /// The directory of `.feature` files.
    pub features: PathBuf,
    /// How many scenarios run at once.
    pub concurrency: usize,
}

/// The `features/` folder of the workspace this binary was built from.
pub fn default_features_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("features")
}

/// Why the suite could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    /// The features directory is missing.
    #[error("features directory {} does not exist", .0.display())]
    FeaturesMissing(PathBuf),
    /// The tag expression does not parse.
    #[error("invalid tag expression `{expression}`: {reason}")]
    InvalidTags {
        /// The expression given.
        expression: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The target URL is not an http(s) URL.
    #[error("target `{0}` is not an http:// or https:// URL")]
    InvalidTargetUrl(String),
    /// The target did not answer the probe.
    #[error("target {url} is unreachable: {reason}")]
    Unreachable {
        /// The probed URL.
        url: String,
        /// The connection error.
        reason: String,
    },
    /// The target refused the token.
    #[error("target {url} refused the token (HTTP {status}); check --token")]
    Unauthorized {
        /// The probed URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// The target answered the probe with another non-2xx status.
    #[error(
        "target {url} answered HTTP {status} to the probe; is the URL the SCIM base URL (ending in e.g. /scim/v2)?"
    )]
    ProbeFailed {
        /// The probed URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
    /// The bundled reference SP did not start.
    #[error("cannot start the bundled reference SP: {0}")]
    ReferenceSp(#[from] SpError),
    /// A report file could not be created.
    #[error("cannot write reports to {}: {source}", path.display())]
    Report {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// Counts from a finished run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Scenarios that passed.
    pub passed_scenarios: usize,
    /// Scenarios that failed (a failed or unmatched step, or a failed hook).
    pub failed_scenarios: usize,
    /// Feature files that did not parse.
    pub parsing_errors: usize,
    /// `@reference-sp` scenarios left out because the target is external.
    pub skipped_reference_sp: usize,
    /// Whether cucumber saw any failure (a step, a hook, a feature that did not parse).
    pub execution_failed: bool,
}

impl RunSummary {
    /// Whether every selected scenario passed.
    pub fn all_passed(&self) -> bool {
        !self.execution_failed && self.failed_scenarios == 0 && self.parsing_errors == 0
    }
}

/// Scenario results, counted from the `after` hook (cucumber's writers count steps).
#[derive(Debug, Default)]
struct ScenarioTally {
    passed: Cell<usize>,
    failed: Cell<usize>,
}

impl ScenarioTally {
    /// A scenario passes only when its last step passed; a skipped (unmatched) step fails
    /// it, as `fail_on_skipped` does for the writers.
    fn record(&self, finished: &ScenarioFinished) {
        let counter = match finished {
            ScenarioFinished::StepPassed => &self.passed,
            _ => &self.failed,
        };
        counter.set(counter.get() + 1);
    }
}

/// The result of [`run`].
#[derive(Debug)]
pub enum Outcome {
    /// Every selected scenario passed.
    Passed(RunSummary),
    /// At least one scenario failed or a feature did not parse.
    Failed(RunSummary),
    /// The suite could not run.
    NotRun(CertifyError),
}

impl Outcome {
    /// The process exit code: 0 all passed, 1 a scenario failed, 2 could not run.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Passed(_) => 0,
            Outcome::Failed(_) => 1,
            Outcome::NotRun(_) => 2,
        }
    }
}

/// Runs the features selected by `options` and reports on stdout (and into the report
/// directory). Never exits the process: the caller turns the outcome into an exit code.
pub async fn run(options: &CertifyOptions) -> Outcome {
    match run_inner(options).await {
        Ok(summary) if summary.all_passed() => Outcome::Passed(summary),
        Ok(summary) => Outcome::Failed(summary),
        Err(err) => Outcome::NotRun(err),
    }
}

async fn run_inner(options: &CertifyOptions) -> Result<RunSummary, CertifyError> {
    let features = options
        .features
        .canonicalize()
        .ok()
        .filter(|dir| dir.is_dir())
        .ok_or_else(|| CertifyError::FeaturesMissing(options.features.clone()))?;
    let tags_filter = options
        .tags
        .as_deref()
        .map(|expression| {
            expression
                .parse::<TagOperation>()
                .map_err(|err| CertifyError::InvalidTags {
                    expression: expression.to_owned(),
                    reason: err.to_string(),
                })
        })
        .transpose()?;
    let (junit, json) = report_outputs(options.report_dir.as_deref())?;
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(CertifyError::Client)?;

    let target = match &options.target {
        Some(external) => {
            probe(&client, external).await?;
            Target::new(client, &external.base_url, &external.token, None)
        }
        None => {
            let sp = RunningSp::start(SpConfig {
                listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                database: DatabaseLocation::Temporary,
                bootstrap_token: None,
            })
            .await?;
            let base_url = sp.base_url().to_owned();
            let token = sp.default_token().to_owned();
            Target::new(client, &base_url, &token, Some(Arc::new(sp)))
        }
    };
    let target = Arc::new(target);
    let external = options.target.is_some();
    let skipped_reference_sp = Rc::new(Cell::new(0_usize));

    let before_target = Arc::clone(&target);
    let skipped = Rc::clone(&skipped_reference_sp);
    let tally = Rc::new(ScenarioTally::default());
    let after_tally = Rc::clone(&tally);
    let writer = ScimWorld::cucumber()
        .max_concurrent_scenarios(options.concurrency.max(1))
        .with_writer(
            writer::Basic::stdout()
                .summarized()
                .tee::<ScimWorld, _>(writer::JUnit::for_tee(junit, 0))
                .tee::<ScimWorld, _>(writer::Json::for_tee(json))
                .normalized(),
        )
        // A step whose text matches no definition is a failure, not a silent skip.
        .fail_on_skipped()
        .before(move |_, _, _, world| {
            world.attach(Arc::clone(&before_target));
            async {}.boxed_local()
        })
        .after(move |_, _, _, finished, world| {
            after_tally.record(finished);
            async move {
                if let Some(world) = world {
                    world.clean_up().await;
                }
            }
            .boxed_local()
        })
        .with_default_cli()
        .filter_run(features, move |feature, rule, scenario| {
            let tags: Vec<&String> = feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|rule| &rule.tags))
                .chain(&scenario.tags)
                .collect();
            if external && tags.iter().any(|tag| *tag == REFERENCE_SP_TAG) {
                skipped.set(skipped.get() + 1);
                return false;
            }
            tags_filter
                .as_ref()
                .is_none_or(|filter| filter.eval(tags.iter()))
        })
        .await;

    let summary = RunSummary {
        passed_scenarios: tally.passed.get(),
        failed_scenarios: tally.failed.get(),
        parsing_errors: writer.parsing_errors(),
        skipped_reference_sp: skipped_reference_sp.get(),
        execution_failed: writer.execution_has_failed(),
    };
    if summary.skipped_reference_sp > 0 {
        println!(
            "{} scenarios tagged @{REFERENCE_SP_TAG} were left out: they need the bundled reference SP",
            summary.skipped_reference_sp
        );
    }
    shut_down(target).await;
    Ok(summary)
}

/// `GET {base}/ServiceProviderConfig` with the token: the one request that tells an
/// unreachable target, a wrong URL and a wrong token apart before any scenario runs.
async fn probe(client: &reqwest::Client, target: &ExternalTarget) -> Result<(), CertifyError> {
    let base = target.base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(CertifyError::InvalidTargetUrl(target.base_url.clone()));
    }
    let url = format!("{base}/ServiceProviderConfig");
    let response = client
        .get(&url)
        .bearer_auth(&target.token)
        .header(reqwest::header::ACCEPT, crate::world::SCIM_MEDIA_TYPE)
        .send()
        .await
        .map_err(|err| CertifyError::Unreachable {
            url: url.clone(),
            reason: root_cause(&err),
        })?;
    let status = response.status().as_u16();
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(CertifyError::Unauthorized { url, status }),
        _ => Err(CertifyError::ProbeFailed { url, status }),
    }
}

/// The innermost cause of an error: for a failed connection that is the line a person
/// acts on ("Connection refused"), where reqwest's own message only repeats the URL.
fn root_cause(err: &dyn std::error::Error) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Where one machine-readable report goes: a file, or nowhere.
type ReportOutput = Box<dyn Write>;

/// The JUnit and Cucumber JSON outputs: files in `report_dir`, or sinks.
fn report_outputs(report_dir: Option<&Path>) -> Result<(ReportOutput, ReportOutput), CertifyError> {
    let Some(dir) = report_dir else {
        return Ok((Box::new(io::sink()), Box::new(io::sink())));
    };
    let report_error = |path: &Path| {
        let path = path.to_owned();
        move |source| CertifyError::Report { path, source }
    };
    std::fs::create_dir_all(dir).map_err(report_error(dir))?;
    let junit_path = dir.join("junit.xml");
    let json_path = dir.join("cucumber.json");
    let junit = File::create(&junit_path).map_err(report_error(&junit_path))?;
    let json = File::create(&json_path).map_err(report_error(&json_path))?;
    Ok((Box::new(junit), Box::new(json)))
}

/// Stops the bundled reference SP once no scenario holds the target any more.
async fn shut_down(target: Arc<Target>) {
    let Some(sp) = Arc::into_inner(target).and_then(Target::into_reference_sp) else {
        return;
    };
    match Arc::into_inner(sp) {
        Some(sp) => sp.shutdown().await,
        None => {
            tracing::warn!("the reference SP is still shared after the run; it stops when dropped")
        }
    }
}
