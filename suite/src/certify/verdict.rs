//! A run's results: one record per scenario and the verdict per persona built from them.

use super::capabilities::{Announced, Capability, PersonaNeed};
use super::scenario::{Level, ScenarioMeta};
use idpsim_simulator::provision::Exchange;
use serde::Serialize;

/// How a scenario ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum Status {
    /// Every step passed.
    Passed,
    /// A step or hook failed.
    Failed,
    /// Not run: the target does not announce a capability the scenario exercises.
    NotApplicable(String),
    /// Not run: the scenario needs something this target cannot offer.
    Skipped(String),
}

/// What went wrong in a failed scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The step that failed (`Then the response status is 200`), or the hook.
    pub step: String,
    /// The step's error, as the step wrote it (may span lines: request, response, body).
    pub message: String,
    /// One sentence: what the IdP does (the scenario's expectation) and what the endpoint
    /// did instead.
    pub explanation: String,
}

/// One scenario of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioRecord {
    /// The feature's name.
    pub feature: String,
    /// The feature file, relative to the features directory.
    pub file: String,
    /// The scenario's line (an outline's example row: the row's line).
    pub line: usize,
    /// The scenario's name.
    pub name: String,
    /// Personas, level, capabilities and expectation.
    pub meta: ScenarioMeta,
    /// How it ended.
    #[serde(flatten)]
    pub status: Status,
    /// Why it failed.
    pub failure: Option<Failure>,
    /// Milliseconds from start to finish.
    pub duration_ms: u64,
    /// The scenario's exchanges with the target (kept for failed scenarios only).
    #[serde(skip)]
    pub exchanges: Vec<Exchange>,
    /// The HAR file of a failed scenario, relative to the report directory.
    pub har: Option<String>,
}

impl ScenarioRecord {
    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// A problem in a persona's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// The scenario (`feature › scenario`), or the missing capability.
    pub title: String,
    /// `file:line` of the scenario, when it is one.
    pub location: Option<String>,
    /// One sentence: what the IdP does and what the endpoint did instead.
    pub explanation: String,
}

/// One persona's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonaVerdict {
    /// The persona (`entra`).
    pub persona: String,
    /// Its product name (`Microsoft Entra ID`).
    pub display_name: String,
    /// Failed `@must` scenarios and capabilities the persona needs that the target lacks.
    pub blocking: Vec<Problem>,
    /// Failed `@should` scenarios.
    pub warnings: Vec<Problem>,
    /// Scenarios of this persona that passed.
    pub passed: usize,
    /// Scenarios of this persona that were not run (not applicable or skipped).
    pub not_run: usize,
}

impl PersonaVerdict {
    /// The verdict in a few words: `compatible`, `compatible, 1 warning`,
    /// `2 blocking problems, 1 warning`, or `not tested`.
    pub fn summary(&self) -> String {
        let warnings = match self.warnings.len() {
            0 => None,
            1 => Some("1 warning".to_owned()),
            n => Some(format!("{n} warnings")),
        };
        if !self.tested() {
            return "not tested".to_owned();
        }
        let head = match self.blocking.len() {
            0 => "compatible".to_owned(),
            1 => "1 blocking problem".to_owned(),
            n => format!("{n} blocking problems"),
        };
        match warnings {
            Some(warnings) => format!("{head}, {warnings}"),
            None => head,
        }
    }

    /// Whether any scenario of this persona ran (or a capability it needs was found missing).
    pub fn tested(&self) -> bool {
        self.passed > 0 || !self.blocking.is_empty() || !self.warnings.is_empty()
    }

    /// The mark before the persona's name: `passed`, `failed`, or `untested` when nothing of
    /// it was tested (such a persona passes, but is not shown as compatible).
    pub fn mark<'m>(&self, fail_on: Level, [passed, failed, untested]: [&'m str; 3]) -> &'m str {
        if !self.tested() {
            untested
        } else if self.passes(fail_on) {
            passed
        } else {
            failed
        }
    }

    /// Whether nothing at or above `fail_on` went wrong for this persona.
    pub fn passes(&self, fail_on: Level) -> bool {
        self.blocking.is_empty() && (fail_on == Level::Must || self.warnings.is_empty())
    }
}

/// A persona as the verdicts need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonaInfo {
    /// The persona's name.
    pub name: String,
    /// Its product name.
    pub display_name: String,
    /// Capabilities its client needs.
    pub needs: Vec<PersonaNeed>,
}

/// The verdict of each persona in `personas` over `records`, given what the target
/// announced.
pub fn verdicts(
    personas: &[PersonaInfo],
    records: &[ScenarioRecord],
    announced: &Announced,
) -> Vec<PersonaVerdict> {
    personas
        .iter()
        .map(|persona| {
            let mine = || {
                records
                    .iter()
                    .filter(|record| record.meta.concerns(&persona.name))
            };
            let mut blocking: Vec<Problem> = persona
                .needs
                .iter()
                .filter(|need| !announced.supports(need.capability))
                .map(missing_capability)
                .collect();
            let mut warnings = Vec::new();
            for record in mine() {
                let Some(failure) = &record.failure else {
                    continue;
                };
                let problem = Problem {
                    title: format!("{} › {}", record.feature, record.name),
                    location: Some(record.location()),
                    explanation: failure.explanation.clone(),
                };
                match record.meta.level {
                    Level::Must => blocking.push(problem),
                    Level::Should => warnings.push(problem),
                }
            }
            PersonaVerdict {
                persona: persona.name.clone(),
                display_name: persona.display_name.clone(),
                blocking,
                warnings,
                passed: mine()
                    .filter(|record| record.status == Status::Passed)
                    .count(),
                not_run: mine()
                    .filter(|record| {
                        matches!(record.status, Status::NotApplicable(_) | Status::Skipped(_))
                    })
                    .count(),
            }
        })
        .collect()
}

fn missing_capability(need: &PersonaNeed) -> Problem {
    Problem {
        title: format!("{} not supported", capability_name(need.capability)),
        location: None,
        explanation: format!(
            "{}; the target's ServiceProviderConfig says `{}` is not supported (RFC 7643 §5).",
            need.because,
            need.capability.config_attribute()
        ),
    }
}

/// A capability as a person names it.
pub fn capability_name(capability: Capability) -> &'static str {
    match capability {
        Capability::Patch => "PATCH",
        Capability::Bulk => "Bulk",
        Capability::Filter => "Filtering",
        Capability::Sort => "Sorting",
        Capability::Etag => "ETags",
        Capability::ChangePassword => "Password change",
    }
}

/// One sentence for a failed scenario: its expectation (or its name) and what the endpoint
/// did instead, from the step's message and the exchange the step judged (the `request:` and
/// `response:` lines [`crate::world::ScimWorld::failure`] appends).
pub fn explain(meta: &ScenarioMeta, scenario_name: &str, message: &str) -> String {
    let mut lines = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty());
    let first = lines
        .next()
        .unwrap_or("the step failed")
        .trim_start_matches("Step panicked. Captured output: ");
    // A message that introduces a list ("3 operations of the cycle failed:") is shown with
    // its first item.
    let observed = match (first.strip_suffix(':'), lines.next()) {
        (Some(head), Some(item)) => format!("{head}: {item}"),
        _ => first.to_owned(),
    };
    let observed = observed.trim_end_matches('.');
    let field = |name: &str| {
        message
            .lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .map(str::trim)
    };
    let answered = field("request:")
        .zip(field("response:"))
        .and_then(|(request, status)| {
            let (method, url) = request.split_once(' ')?;
            let path = reqwest::Url::parse(url)
                .map(|url| match url.query() {
                    Some(query) => format!("{}?{query}", url.path()),
                    None => url.path().to_owned(),
                })
                .unwrap_or_else(|_| url.to_owned());
            Some(format!(
                "the endpoint answered HTTP {status} to {method} {path}"
            ))
        });
    let expectation = meta
        .expectation
        .clone()
        .unwrap_or_else(|| format!("{scenario_name}."));
    match answered {
        Some(answered) => format!("{expectation} Instead, {answered} ({observed})."),
        None => format!("{expectation} Instead: {observed}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(personas: &[&str], level: Level) -> ScenarioMeta {
        ScenarioMeta {
            personas: personas.iter().map(|name| (*name).to_owned()).collect(),
            level,
            level_tagged: true,
            needs: Vec::new(),
            expectation: Some("Entra sends `Replace` (personas.md §1.1).".into()),
        }
    }

    fn record(name: &str, meta: ScenarioMeta, failed: bool) -> ScenarioRecord {
        ScenarioRecord {
            feature: "PATCH".into(),
            file: "scim/patch.feature".into(),
            line: 7,
            name: name.into(),
            status: if failed {
                Status::Failed
            } else {
                Status::Passed
            },
            failure: failed.then(|| Failure {
                step: "Then the response status is 200".into(),
                message: "expected status 200".into(),
                explanation: explain(&meta, name, "expected status 200"),
            }),
            meta,
            duration_ms: 3,
            exchanges: Vec::new(),
            har: None,
        }
    }

    fn persona(name: &str, needs: Vec<PersonaNeed>) -> PersonaInfo {
        PersonaInfo {
            name: name.into(),
            display_name: name.to_uppercase(),
            needs,
        }
    }

    #[test]
    fn must_failures_block_should_failures_warn() {
        let records = [
            record("a", meta(&["entra"], Level::Must), true),
            record("b", meta(&["entra", "okta"], Level::Should), true),
            record("c", meta(&["okta"], Level::Must), false),
            record("d", meta(&[], Level::Must), false),
        ];
        let verdicts = verdicts(
            &[persona("entra", Vec::new()), persona("okta", Vec::new())],
            &records,
            &Announced::default(),
        );
        assert_eq!(verdicts[0].summary(), "1 blocking problem, 1 warning");
        assert!(!verdicts[0].passes(Level::Must));
        assert_eq!(verdicts[1].summary(), "compatible, 1 warning");
        assert!(verdicts[1].passes(Level::Must));
        assert!(!verdicts[1].passes(Level::Should));
        // The untagged scenario counts for everyone.
        assert_eq!((verdicts[0].passed, verdicts[1].passed), (1, 2));
    }

    #[test]
    fn a_missing_capability_blocks_the_persona_that_needs_it() {
        let need = PersonaNeed {
            capability: Capability::Patch,
            because: "Entra updates users with PATCH (personas.md §1.1)".into(),
        };
        let announced = Announced {
            unsupported: vec![Capability::Patch],
        };
        let verdicts = verdicts(&[persona("entra", vec![need])], &[], &announced);
        assert_eq!(verdicts[0].summary(), "1 blocking problem");
        assert_eq!(
            verdicts[0].blocking[0].explanation,
            "Entra updates users with PATCH (personas.md §1.1); the target's \
             ServiceProviderConfig says `patch` is not supported (RFC 7643 §5)."
        );
    }

    #[test]
    fn nothing_run_is_not_tested() {
        let verdicts = verdicts(&[persona("google", Vec::new())], &[], &Announced::default());
        assert_eq!(verdicts[0].summary(), "not tested");
        assert!(verdicts[0].passes(Level::Should));
        assert_eq!(
            verdicts[0].mark(Level::Must, ["ok", "bad", "untested"]),
            "untested"
        );
    }

    #[test]
    fn a_list_message_is_explained_with_its_first_item() {
        let text = explain(
            &meta(&["entra"], Level::Must),
            "s",
            "2 operations of the cycle failed:\n  user dana: PATCH /Users/1 answered 400\n  user raj: …",
        );
        assert_eq!(
            text,
            "Entra sends `Replace` (personas.md §1.1). Instead: 2 operations of the cycle failed: \
             user dana: PATCH /Users/1 answered 400."
        );
    }

    #[test]
    fn the_explanation_joins_expectation_exchange_and_message() {
        let text = explain(
            &meta(&["entra"], Level::Must),
            "s",
            "expected status 200\n  request:  PATCH http://127.0.0.1:9/scim/v2/Users/42?attributes=active\n  \
             response: 400\n  body:     {}",
        );
        assert_eq!(
            text,
            "Entra sends `Replace` (personas.md §1.1). Instead, the endpoint answered HTTP 400 \
             to PATCH /scim/v2/Users/42?attributes=active (expected status 200)."
        );
    }
}
