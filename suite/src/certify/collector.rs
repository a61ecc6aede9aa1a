//! The cucumber writer that turns a run's events into [`ScenarioRecord`]s and shows progress.

use super::scenario::ScenarioMeta;
use super::verdict::{Failure, ScenarioRecord, Status, explain};
use crate::world::ScimWorld;
use cucumber::event::{self, Cucumber, HookType, Info, RetryableScenario};
use cucumber::{Event, Writer, cli, gherkin, parser};
use idpsim_simulator::provision::Exchange;
use indicatif::{ProgressBar, ProgressStyle};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::SystemTime;

/// What the collector gathers, shared with the runner that reads it after the run.
#[derive(Debug, Default)]
pub struct Collected {
    /// Finished scenarios, in the order they finished.
    pub records: Vec<ScenarioRecord>,
    /// Feature files that did not parse, with the parser's message.
    pub parse_errors: Vec<String>,
}

/// How much the collector shows while the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A progress bar on stderr and a line for each failed scenario as it fails.
    Show,
    /// Nothing.
    Hidden,
}

/// A scenario that started and has not finished.
#[derive(Debug)]
struct Running {
    started: SystemTime,
    failure: Option<(String, String, Vec<Exchange>)>,
}

/// Collects one [`ScenarioRecord`] per finished scenario into a shared [`Collected`].
#[derive(Debug)]
pub struct Collector {
    collected: Rc<RefCell<Collected>>,
    features_dir: PathBuf,
    personas: Rc<[String]>,
    running: HashMap<(PathBuf, usize), Running>,
    bar: Option<ProgressBar>,
    failed: usize,
}

impl Collector {
    /// A collector writing into `collected`; `features_dir` makes file names relative,
    /// `personas` are the known persona names.
    pub fn new(
        collected: Rc<RefCell<Collected>>,
        features_dir: &Path,
        personas: Rc<[String]>,
        progress: Progress,
    ) -> Collector {
        let bar = (progress == Progress::Show).then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} scenarios {msg} [{elapsed}]",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Collector {
            collected,
            features_dir: features_dir.to_owned(),
            personas,
            running: HashMap::new(),
            bar,
            failed: 0,
        }
    }

    fn scenario_event(
        &mut self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        event: event::Scenario<ScimWorld>,
        at: SystemTime,
    ) {
        let key = (
            feature.path.clone().unwrap_or_default(),
            scenario.position.line,
        );
        match event {
            event::Scenario::Started => {
                self.running.insert(
                    key,
                    Running {
                        started: at,
                        failure: None,
                    },
                );
            }
            event::Scenario::Step(step, event::Step::Failed(_, _, world, error))
            | event::Scenario::Background(step, event::Step::Failed(_, _, world, error)) => {
                let message = match &error {
                    event::StepError::Panic(info) => panic_text(info),
                    other => other.to_string(),
                };
                let step_text = format!("{} {}", step.keyword.trim(), step.value);
                self.fail(&key, step_text, message, world);
            }
            event::Scenario::Hook(kind, event::Hook::Failed(world, info)) => {
                let hook = match kind {
                    HookType::Before => "the before-scenario hook",
                    HookType::After => "the after-scenario hook",
                };
                self.fail(&key, hook.to_owned(), panic_text(&info), world);
            }
            event::Scenario::Finished => {
                let Some(running) = self.running.remove(&key) else {
                    return;
                };
                let record = self.record(feature, rule, scenario, running, at);
                self.show(&record);
                if let Ok(mut collected) = self.collected.try_borrow_mut() {
                    collected.records.push(record);
                }
            }
            _ => {}
        }
    }

    fn fail(
        &mut self,
        key: &(PathBuf, usize),
        step: String,
        message: String,
        world: Option<Arc<ScimWorld>>,
    ) {
        if let Some(running) = self.running.get_mut(key)
            && running.failure.is_none()
        {
            let exchanges = world.map(|world| world.exchanges()).unwrap_or_default();
            running.failure = Some((step, message, exchanges));
        }
    }

    fn record(
        &self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        running: Running,
        finished: SystemTime,
    ) -> ScenarioRecord {
        let meta = ScenarioMeta::read(feature, rule, scenario, &self.personas);
        let duration_ms = finished
            .duration_since(running.started)
            .map_or(0, |duration| {
                u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
            });
        let (status, failure, exchanges) = match running.failure {
            None => (Status::Passed, None, Vec::new()),
            Some((step, message, exchanges)) => {
                let explanation = explain(&meta, &scenario.name, &message);
                let failure = Failure {
                    step,
                    message,
                    explanation,
                };
                (Status::Failed, Some(failure), exchanges)
            }
        };
        ScenarioRecord {
            feature: feature.name.clone(),
            file: relative_file(feature, &self.features_dir),
            line: scenario.position.line,
            name: scenario.name.clone(),
            meta,
            status,
            failure,
            duration_ms,
            exchanges,
            har: None,
        }
    }

    fn show(&mut self, record: &ScenarioRecord) {
        let Some(bar) = &self.bar else {
            return;
        };
        bar.inc(1);
        if let Some(failure) = &record.failure {
            self.failed += 1;
            bar.set_message(format!("({} failed)", self.failed));
            bar.println(format!(
                "✘ {} › {} ({})\n  {}",
                record.feature,
                record.name,
                record.location(),
                failure.explanation
            ));
        }
    }
}

impl Writer<ScimWorld> for Collector {
    type Cli = cli::Empty;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<Cucumber<ScimWorld>>>,
        _: &Self::Cli,
    ) {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                if let Ok(mut collected) = self.collected.try_borrow_mut() {
                    collected.parse_errors.push(error.to_string());
                }
                return;
            }
        };
        let at = event.at;
        match event.value {
            Cucumber::ParsingFinished { scenarios, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(u64::try_from(scenarios).unwrap_or(u64::MAX));
                }
            }
            Cucumber::Feature(feature, event::Feature::Scenario(scenario, retryable)) => {
                let RetryableScenario { event, .. } = retryable;
                self.scenario_event(&feature, None, &scenario, event, at);
            }
            Cucumber::Feature(
                feature,
                event::Feature::Rule(rule, event::Rule::Scenario(scenario, retryable)),
            ) => {
                let RetryableScenario { event, .. } = retryable;
                self.scenario_event(&feature, Some(&rule), &scenario, event, at);
            }
            Cucumber::Finished => {
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    }
}

/// The text a failed step or hook left: the step's error (steps return errors, which
/// cucumber reports as panics) or the panic message.
fn panic_text(info: &Info) -> String {
    info.downcast_ref::<String>()
        .cloned()
        .or_else(|| info.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_else(|| "the step panicked".to_owned())
}

fn relative_file(feature: &gherkin::Feature, features_dir: &Path) -> String {
    let Some(path) = &feature.path else {
        return feature.name.clone();
    };
    path.strip_prefix(features_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}
