//! Runs the Gherkin features against a SCIM target and reports the outcome: the bundled
//! reference SP by default, or an external endpoint given by URL and token. Each scenario is
//! tagged with the personas it matters to and a level; the run ends with a verdict per
//! persona and writes JUnit XML, Cucumber JSON, `summary.md`, `report.html` and a HAR file per
//! failed scenario.

pub mod capabilities;
pub mod cleanup;
pub mod collector;
pub mod reports;
pub mod scenario;
pub mod verdict;

use crate::world::{RUN_PREFIX_STEM, ScimWorld, Target, new_run_prefix};
use capabilities::{Announced, Capability, persona_needs};
use chrono::Utc;
use cleanup::Swept;
use collector::{Collected, Collector, Progress};
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::writer;
use cucumber::{World as _, WriterExt as _};
use futures::FutureExt as _;
use idpsim_reference_sp::{RunningSp, SpConfig, SpError};
use idpsim_simulator::persona::PersonaCatalog;
use reports::RunReport;
use scenario::{Level, ScenarioMeta};
use serde_json::Value;
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use verdict::{PersonaInfo, ScenarioRecord, Status, verdicts};

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
    /// Only the scenarios of these personas, and only their verdicts; all when empty.
    pub personas: Vec<String>,
    /// The level at which a failure fails the run.
    pub fail_on: Level,
    /// Where the report files go; none are written when `None`.
    pub report_dir: Option<PathBuf>,
    /// The directory of `.feature` files.
    pub features: PathBuf,
    /// The directory of persona files.
    pub personas_dir: PathBuf,
    /// How many scenarios run at once.
    pub concurrency: usize,
    /// What the terminal shows.
    pub output: Output,
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
    /// The target URL is not an http(s) URL, or has a query or fragment.
    #[error("target `{0}` is not an http:// or https:// base URL without a query or fragment")]
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
    /// The target's probe answer is not a SCIM `ServiceProviderConfig`.
    #[error("target {url} answered the probe with {what}; is the URL the SCIM base URL?")]
    NotScim {
        /// The probed URL.
        url: String,
        /// What came back instead.
        what: &'static str,
    },
    /// No scenario is left to run once the tags and personas have selected.
    #[error("no scenario to run: {0}")]
    NothingSelected(String),
    /// The persona files could not be read.
    #[error("{0}")]
    Personas(String),
    /// `--persona` names no persona.
    #[error("unknown persona `{name}` (known: {known})")]
    UnknownPersona {
        /// The name given.
        name: String,
        /// The personas there are.
        known: String,
    },
    /// The run was interrupted (Ctrl-C); what it had created was removed.
    #[error("interrupted")]
    Interrupted,
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

/// What the output looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// A progress bar, each failure as it happens, then the verdict table.
    #[default]
    Text,
    /// Only the verdict table.
    Quiet,
    /// One JSON document on stdout (the [`RunReport`]).
    Json,
}

/// The result of [`run`].
#[derive(Debug)]
pub enum Outcome {
    /// Nothing at or above `--fail-on` went wrong.
    Passed(Box<RunReport>),
    /// A scenario at or above `--fail-on` failed, a persona lacks a capability, or a feature
    /// did not parse.
    Failed(Box<RunReport>),
    /// The suite could not run.
    NotRun(CertifyError),
}

impl Outcome {
    /// The process exit code: 0 passed, 1 failures at or above `--fail-on`, 2 could not run.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Passed(_) => 0,
            Outcome::Failed(_) => 1,
            Outcome::NotRun(_) => 2,
        }
    }

    /// The run's report, when it ran.
    pub fn report(&self) -> Option<&RunReport> {
        match self {
            Outcome::Passed(report) | Outcome::Failed(report) => Some(report),
            Outcome::NotRun(_) => None,
        }
    }
}

/// Runs the features selected by `options`, prints the outcome as `options.output` says, and
/// writes the report files. Never exits the process: the caller turns the outcome into an
/// exit code.
pub async fn run(options: &CertifyOptions) -> Outcome {
    match run_inner(options).await {
        Ok(report) if report.passed => Outcome::Passed(Box::new(report)),
        Ok(report) => Outcome::Failed(Box::new(report)),
        Err(err) => Outcome::NotRun(err),
    }
}

/// Deletes every user and group an earlier run left on the external target (names carrying
/// the `idpsim` run prefix) and says how many went.
pub async fn cleanup(target: &ExternalTarget) -> Result<Swept, CertifyError> {
    let client = http_client()?;
    let config = probe(&client, target).await?;
    let announced = Announced::from_config(&config);
    let swept = cleanup::sweep(
        &client,
        &target.base_url,
        &target.token,
        RUN_PREFIX_STEM,
        &announced,
    )
    .await;
    Ok(swept)
}

fn http_client() -> Result<reqwest::Client, CertifyError> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(CertifyError::Client)
}

/// A persona the run reports on.
fn persona_infos(options: &CertifyOptions) -> Result<Vec<PersonaInfo>, CertifyError> {
    let catalog = PersonaCatalog::open(&options.personas_dir)
        .map_err(|error| CertifyError::Personas(error.to_string()))?;
    for wanted in &options.personas {
        if !catalog.names().contains(wanted) {
            return Err(CertifyError::UnknownPersona {
                name: wanted.clone(),
                known: catalog.names().join(", "),
            });
        }
    }
    catalog
        .names()
        .iter()
        .map(|name| {
            let persona = catalog
                .load(name)
                .map_err(|error| CertifyError::Personas(error.to_string()))?
                .persona;
            Ok(PersonaInfo {
                name: name.clone(),
                display_name: persona.display_name.clone(),
                needs: persona_needs(&persona),
            })
        })
        .collect()
}

/// Why a scenario the filters selected is not run against this target, if it is not.
fn not_run_reason(
    meta: &ScenarioMeta,
    tags: &[&String],
    external: bool,
    announced: &Announced,
) -> Option<Status> {
    if external && tags.iter().any(|tag| *tag == REFERENCE_SP_TAG) {
        return Some(Status::Skipped(
            "needs the bundled reference SP's administration API".to_owned(),
        ));
    }
    meta.needs
        .iter()
        .find(|capability| !announced.supports(**capability))
        .map(|capability| {
            Status::NotApplicable(format!(
                "the target's ServiceProviderConfig says `{}` is not supported",
                capability.config_attribute()
            ))
        })
}

async fn run_inner(options: &CertifyOptions) -> Result<RunReport, CertifyError> {
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
    let all_personas = persona_infos(options)?;
    let client = http_client()?;

    let (target, config, target_name) = match &options.target {
        Some(external) => {
            let config = probe(&client, external).await?;
            let target = Target::new(client.clone(), &external.base_url, &external.token, None);
            (target, config, external.base_url.clone())
        }
        None => {
            let sp = RunningSp::start(SpConfig::ephemeral()).await?;
            let base_url = sp.base_url().to_owned();
            let token = sp.default_token().to_owned();
            let bundled = ExternalTarget {
                base_url: base_url.clone(),
                token: token.clone(),
            };
            let target = Target::new(client.clone(), &base_url, &token, Some(Arc::new(sp)));
            let config = probe(&client, &bundled).await?;
            (target, config, "bundled reference SP".to_owned())
        }
    };
    let announced = Announced::from_config(&config);
    // Created once the target answered, so a run that cannot start leaves no empty files.
    let (junit, json) = report_outputs(options.report_dir.as_deref())?;
    let target = Arc::new(target);
    let external = options.target.is_some();
    let run_prefix = new_run_prefix();
    let persona_names: Rc<[String]> = all_personas
        .iter()
        .map(|persona| persona.name.clone())
        .collect();
    let collected = Rc::new(RefCell::new(Collected::default()));
    let not_run: Rc<RefCell<Vec<ScenarioRecord>>> = Rc::default();
    let progress = match options.output {
        Output::Text => Progress::Show,
        Output::Quiet | Output::Json => Progress::Hidden,
    };
    let collector = Collector::new(
        Rc::clone(&collected),
        &features,
        Rc::clone(&persona_names),
        progress,
    );

    let before_target = Arc::clone(&target);
    let before_prefix = run_prefix.clone();
    let filter_personas = Rc::clone(&persona_names);
    let filter_not_run = Rc::clone(&not_run);
    let wanted_personas = options.personas.clone();
    let filter_features = features.clone();
    let features_shown = features.clone();
    let filter_announced = announced.clone();
    let started = Utc::now();
    let clock = Instant::now();
    let cucumber_run = ScimWorld::cucumber()
        .max_concurrent_scenarios(options.concurrency.max(1))
        .with_writer(
            writer::JUnit::for_tee(junit, 0)
                .tee::<ScimWorld, _>(writer::Json::for_tee(json))
                .normalized()
                .tee::<ScimWorld, _>(collector.assert_normalized())
                // A step whose text matches no definition is a failure, not a silent skip.
                .fail_on_skipped(),
        )
        .before(move |_, _, scenario, world| {
            world.attach(Arc::clone(&before_target), &before_prefix);
            world.set_serial(scenario.tags.iter().any(|tag| tag == "serial"));
            async {}.boxed_local()
        })
        .after(move |_, _, _, _, world| {
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
            if !tags_filter
                .as_ref()
                .is_none_or(|filter| filter.eval(tags.iter()))
            {
                return false;
            }
            let meta = ScenarioMeta::read(feature, rule, scenario, &filter_personas);
            if !wanted_personas.is_empty()
                && !wanted_personas.iter().any(|persona| meta.concerns(persona))
            {
                return false;
            }
            let Some(status) = not_run_reason(&meta, &tags, external, &filter_announced) else {
                return true;
            };
            filter_not_run.borrow_mut().push(ScenarioRecord {
                feature: feature.name.clone(),
                file: feature
                    .path
                    .as_deref()
                    .map(|path| {
                        path.strip_prefix(&filter_features)
                            .unwrap_or(path)
                            .display()
                            .to_string()
                    })
                    .unwrap_or_else(|| feature.name.clone()),
                line: scenario.position.line,
                name: scenario.name.clone(),
                meta,
                status,
                failure: None,
                duration_ms: 0,
                exchanges: Vec::new(),
                har: None,
            });
            false
        });
    let interrupted = tokio::select! {
        _ = cucumber_run => false,
        signal = tokio::signal::ctrl_c() => signal.is_ok(),
    };
    let duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Some(external) = &options.target {
        let swept = cleanup::sweep(
            &client,
            &external.base_url,
            &external.token,
            &run_prefix,
            &announced,
        )
        .await;
        for error in &swept.errors {
            eprintln!("warning: cleanup: {error}");
        }
        if swept.kept > 0 && !interrupted {
            eprintln!(
                "warning: cleanup: {} users this run created are still on the target, deactivated: \
                 it answers DELETE by deactivating",
                swept.kept
            );
        }
        if interrupted {
            eprintln!(
                "interrupted: removed {} this run had created",
                swept.describe()
            );
        }
    }
    shut_down(target).await;
    if interrupted {
        return Err(CertifyError::Interrupted);
    }

    let Collected {
        mut records,
        parse_errors,
    } = collected.take();
    records.append(&mut not_run.borrow_mut());
    if records.is_empty() && parse_errors.is_empty() {
        return Err(CertifyError::NothingSelected(nothing_selected(
            options,
            &features_shown,
        )));
    }
    records.sort_by(|a, b| {
        b.failure
            .is_some()
            .cmp(&a.failure.is_some())
            .then_with(|| a.file.cmp(&b.file))
            .then_with(|| a.line.cmp(&b.line))
    });
    let reported: Vec<PersonaInfo> = all_personas
        .into_iter()
        .filter(|persona| options.personas.is_empty() || options.personas.contains(&persona.name))
        .collect();
    let verdicts = verdicts(&reported, &records, &announced);
    let failed_at_level = records
        .iter()
        .any(|record| record.failure.is_some() && record.meta.level >= options.fail_on);
    let passed = parse_errors.is_empty()
        && !failed_at_level
        && verdicts
            .iter()
            .all(|verdict| verdict.passes(options.fail_on));
    let mut report = RunReport {
        target: target_name,
        started,
        duration_ms,
        fail_on: options.fail_on,
        announced,
        verdicts,
        scenarios: records,
        parse_errors,
        passed,
    };
    if let Some(dir) = &options.report_dir {
        write_reports(&mut report, dir)?;
    }
    match options.output {
        Output::Text | Output::Quiet => {
            print!("{}", reports::terminal(&report));
            if let Some(dir) = &options.report_dir {
                println!("\nReports: {}", dir.display());
            }
        }
        Output::Json => match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("error: cannot print the report as JSON: {error}"),
        },
    }
    Ok(report)
}

/// Why no scenario was selected, in the terms of the options that select.
fn nothing_selected(options: &CertifyOptions, features: &Path) -> String {
    let mut selectors = Vec::new();
    if let Some(tags) = &options.tags {
        selectors.push(format!("--tags `{tags}`"));
    }
    if !options.personas.is_empty() {
        selectors.push(format!("--persona {}", options.personas.join(", ")));
    }
    if selectors.is_empty() {
        format!("{} holds no scenario", features.display())
    } else {
        format!(
            "{} selects none of the scenarios in {}",
            selectors.join(" with "),
            features.display()
        )
    }
}

/// Writes `summary.md`, `report.html` and the HAR files next to `junit.xml` and
/// `cucumber.json`.
fn write_reports(report: &mut RunReport, dir: &Path) -> Result<(), CertifyError> {
    let report_error = |path: PathBuf| move |source| CertifyError::Report { path, source };
    let junit = dir.join("junit.xml");
    reports::complete_junit(&junit, report).map_err(report_error(junit.clone()))?;
    reports::write_har_files(report, dir).map_err(report_error(dir.join("har")))?;
    let summary = dir.join("summary.md");
    std::fs::write(&summary, reports::summary_markdown(report))
        .map_err(report_error(summary.clone()))?;
    let html = dir.join("report.html");
    std::fs::write(&html, reports::html(report)).map_err(report_error(html.clone()))?;
    Ok(())
}

/// `GET {base}/ServiceProviderConfig` with the token, then a lookup on `{base}/Users`: the
/// requests that tell an unreachable target, a wrong URL and a wrong token apart before any
/// scenario runs (many endpoints serve their configuration without a token, so the token is
/// checked on `/Users`). The configuration says which optional features the target supports.
async fn probe(client: &reqwest::Client, target: &ExternalTarget) -> Result<Value, CertifyError> {
    let base = target.base_url.trim_end_matches('/');
    let scheme = base
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) || base.contains(['?', '#']) {
        return Err(CertifyError::InvalidTargetUrl(target.base_url.clone()));
    }
    let url = format!("{base}/ServiceProviderConfig");
    let response = probe_request(client, target, &url).await?;
    let status = response.status().as_u16();
    let config = match status {
        200..=299 => read_config(response, &url).await?,
        401 | 403 => return Err(CertifyError::Unauthorized { url, status }),
        _ => return Err(CertifyError::ProbeFailed { url, status }),
    };
    // The lookup Entra's test connection sends (personas.md §1.1), or a page of one user when
    // the target does not filter.
    let users = if Announced::from_config(&config).supports(Capability::Filter) {
        format!("{base}/Users?filter=userName%20eq%20%22idpsim-probe%22")
    } else {
        format!("{base}/Users?startIndex=1&count=1")
    };
    let status = probe_request(client, target, &users)
        .await?
        .status()
        .as_u16();
    if matches!(status, 401 | 403) {
        return Err(CertifyError::Unauthorized { url: users, status });
    }
    Ok(config)
}

/// The largest probe answer read: a configuration document is a few kilobytes.
const MAX_PROBE_BYTES: usize = 1024 * 1024;

async fn probe_request(
    client: &reqwest::Client,
    target: &ExternalTarget,
    url: &str,
) -> Result<reqwest::Response, CertifyError> {
    client
        .get(url)
        .bearer_auth(&target.token)
        .header(reqwest::header::ACCEPT, crate::world::SCIM_MEDIA_TYPE)
        .send()
        .await
        .map_err(|err| {
            let mut reason = root_cause(&err);
            if url
                .get(..8)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
                && !err.is_timeout()
                && is_tls_failure(&reason)
            {
                reason.push_str(
                    " (the TLS handshake failed: does the server speak HTTPS on that port? \
                     A plain-HTTP server is given as http://)",
                );
            }
            CertifyError::Unreachable {
                url: url.to_owned(),
                reason,
            }
        })
}

/// Whether a connection error reads like a failed TLS handshake, as when `https://` names a
/// plain-HTTP server ("received corrupt message of type InvalidContentType").
fn is_tls_failure(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    ["corrupt message", "tls", "handshake", "certificate"]
        .iter()
        .any(|sign| reason.contains(sign))
}

/// The probe's answer, at most [`MAX_PROBE_BYTES`], as a `ServiceProviderConfig` (RFC 7643
/// §5): a JSON object naming its schema or holding one of its feature members.
async fn read_config(mut response: reqwest::Response, url: &str) -> Result<Value, CertifyError> {
    let not_scim = |what| CertifyError::NotScim {
        url: url.to_owned(),
        what,
    };
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| CertifyError::Unreachable {
            url: url.to_owned(),
            reason: root_cause(&err),
        })?
    {
        if body.len() + chunk.len() > MAX_PROBE_BYTES {
            return Err(not_scim("more than 1 MiB"));
        }
        body.extend_from_slice(&chunk);
    }
    let config: Value =
        serde_json::from_slice(&body).map_err(|_| not_scim("something that is not JSON"))?;
    let object = config
        .as_object()
        .ok_or_else(|| not_scim("JSON that is not an object"))?;
    let names_schema = object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("schemas"))
        .and_then(|(_, schemas)| schemas.as_array())
        .is_some_and(|schemas| {
            schemas
                .iter()
                .filter_map(Value::as_str)
                .any(|uri| uri.eq_ignore_ascii_case(SERVICE_PROVIDER_CONFIG_SCHEMA))
        });
    let has_features = object.iter().any(|(key, value)| {
        value.is_object()
            && ["patch", "bulk", "filter", "changePassword", "sort", "etag"]
                .iter()
                .any(|feature| key.eq_ignore_ascii_case(feature))
    });
    if names_schema || has_features {
        Ok(config)
    } else {
        Err(not_scim("JSON that is not a SCIM ServiceProviderConfig"))
    }
}

/// The schema URN of a `ServiceProviderConfig` (RFC 7643 §5).
const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

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
