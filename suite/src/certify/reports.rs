//! The run's report for people and CI: the verdict table on the terminal, `summary.md`,
//! `report.html` (one self-contained file), one HAR 1.2 file per failed scenario, and the
//! JSON document of `--format json`.

use super::capabilities::Announced;
use super::scenario::Level;
use super::verdict::{PersonaVerdict, ScenarioRecord, Status};
use chrono::{DateTime, Utc};
use idpsim_simulator::html::escape;
use idpsim_simulator::provision::{Exchange, Transcript, redact_body};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// Everything a run found, in the shape every report is written from.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// What was tested: `bundled reference SP` or the target's base URL.
    pub target: String,
    /// When the run started.
    pub started: DateTime<Utc>,
    /// How long the scenarios took, in milliseconds.
    pub duration_ms: u64,
    /// The level at which failures fail the run.
    pub fail_on: Level,
    /// What the target announced in `/ServiceProviderConfig`.
    pub announced: Announced,
    /// One verdict per persona.
    pub verdicts: Vec<PersonaVerdict>,
    /// Every scenario, failed ones first, then by file and line.
    pub scenarios: Vec<ScenarioRecord>,
    /// Feature files that did not parse.
    pub parse_errors: Vec<String>,
    /// Whether the run passes at `fail_on`.
    pub passed: bool,
}

impl RunReport {
    /// How many scenarios ended with `status`'s kind.
    pub fn count(&self, wanted: fn(&Status) -> bool) -> usize {
        self.scenarios
            .iter()
            .filter(|record| wanted(&record.status))
            .count()
    }

    /// The scenarios that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ScenarioRecord> {
        self.scenarios
            .iter()
            .filter(|record| record.failure.is_some())
    }
}

/// Passed, failed, not applicable and skipped counts in one line.
pub fn counts_line(report: &RunReport) -> String {
    let passed = report.count(|status| *status == Status::Passed);
    let failed = report.count(|status| *status == Status::Failed);
    let not_applicable = report.count(|status| matches!(status, Status::NotApplicable(_)));
    let skipped = report.count(|status| matches!(status, Status::Skipped(_)));
    let mut line = format!(
        "{} scenarios: {passed} passed, {failed} failed",
        report.scenarios.len()
    );
    if not_applicable > 0 {
        let _ = write!(line, ", {not_applicable} not applicable");
    }
    if skipped > 0 {
        let _ = write!(line, ", {skipped} skipped");
    }
    let _ = write!(line, " in {:.1} s", report.duration_ms as f64 / 1000.0);
    line
}

/// The verdict table for the terminal: one line per persona, then each blocking problem and
/// warning with its explanation.
pub fn terminal(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{}", counts_line(report));
    for error in &report.parse_errors {
        let _ = writeln!(out, "feature file did not parse: {error}");
    }
    let width = report
        .verdicts
        .iter()
        .map(|verdict| verdict.display_name.chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(out);
    for verdict in &report.verdicts {
        let mark = verdict.mark(report.fail_on, ["✔", "✘", "–"]);
        let _ = writeln!(
            out,
            "{mark} {:width$}  {}",
            verdict.display_name,
            verdict.summary()
        );
    }
    for verdict in &report.verdicts {
        for (kind, problems) in [
            ("blocking", &verdict.blocking),
            ("warning", &verdict.warnings),
        ] {
            for problem in problems {
                let _ = writeln!(
                    out,
                    "\n[{} · {kind}] {}{}\n  {}",
                    verdict.display_name,
                    problem.title,
                    problem
                        .location
                        .as_deref()
                        .map(|location| format!(" ({location})"))
                        .unwrap_or_default(),
                    problem.explanation
                );
            }
        }
    }
    out
}

/// `summary.md`: the verdict table and the failures, short enough for a CI job summary or a
/// pull-request comment.
pub fn summary_markdown(report: &RunReport) -> String {
    let mut out = String::new();
    let result = if report.passed { "passed" } else { "failed" };
    let _ = writeln!(out, "# idpsim certify: {result}\n");
    let _ = writeln!(
        out,
        "Target: {} · {} · failing on `@{}`\n",
        report.target,
        counts_line(report),
        report.fail_on.tag()
    );
    let _ = writeln!(
        out,
        "| IdP | Verdict | Passed | Blocking | Warnings |\n|---|---|---:|---:|---:|"
    );
    for verdict in &report.verdicts {
        let mark = verdict.mark(report.fail_on, ["✅", "❌", "➖"]);
        let _ = writeln!(
            out,
            "| {mark} {} | {} | {} | {} | {} |",
            verdict.display_name,
            verdict.summary(),
            verdict.passed,
            verdict.blocking.len(),
            verdict.warnings.len()
        );
    }
    let capability_problems: Vec<String> = report
        .verdicts
        .iter()
        .flat_map(|verdict| &verdict.blocking)
        .filter(|problem| problem.location.is_none())
        .map(|problem| format!("- {}", problem.explanation))
        .collect();
    if !capability_problems.is_empty() {
        let _ = writeln!(out, "\n## Missing capabilities\n");
        for line in capability_problems {
            let _ = writeln!(out, "{line}");
        }
    }
    let failures: Vec<&ScenarioRecord> = report.failures().collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\n## Failed scenarios\n");
        for record in failures {
            let explanation = record
                .failure
                .as_ref()
                .map(|failure| failure.explanation.as_str())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- **{}** › {} (`{}`, @{}, {}): {}",
                record.feature,
                record.name,
                record.location(),
                record.meta.level.tag(),
                personas_text(record),
                explanation
            );
        }
    }
    for error in &report.parse_errors {
        let _ = writeln!(out, "\n- feature file did not parse: {error}");
    }
    out
}

fn personas_text(record: &ScenarioRecord) -> String {
    if record.meta.personas.is_empty() {
        "all personas".to_owned()
    } else {
        record.meta.personas.join(", ")
    }
}

/// Writes one HAR 1.2 file per failed scenario into `dir/har/` (secrets were redacted when
/// the exchanges were recorded) and sets each record's `har`.
pub fn write_har_files(report: &mut RunReport, dir: &Path) -> io::Result<()> {
    let har_dir = dir.join("har");
    let mut created = false;
    for record in &mut report.scenarios {
        if record.failure.is_none() {
            continue;
        }
        if !created {
            std::fs::create_dir_all(&har_dir)?;
            created = true;
        }
        let transcript = Transcript::default();
        for exchange in &record.exchanges {
            transcript.record(exchange.clone());
        }
        let stem: String = record
            .file
            .trim_end_matches(".feature")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let name = format!("{stem}-{}.har", record.line);
        let text = serde_json::to_string_pretty(&transcript.to_har(env!("CARGO_PKG_VERSION")))
            .map_err(io::Error::other)?;
        std::fs::write(har_dir.join(&name), text)?;
        record.har = Some(format!("har/{name}"));
    }
    Ok(())
}

/// `report.html`: one self-contained page: verdicts, a persona × area matrix, the failures
/// first with their request/response transcript, then every scenario.
pub fn html(report: &RunReport) -> String {
    let mut out = String::new();
    let result = if report.passed { "passed" } else { "failed" };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>idpsim certify: {result}</title><style>{STYLE}</style></head><body>\n\
         <h1>idpsim certify: <span class=\"{result}\">{result}</span></h1>\n\
         <p>Target: <code>{}</code> · {} · started {} · failing on <code>@{}</code></p>\n",
        escape(&report.target),
        escape(&counts_line(report)),
        report.started.format("%Y-%m-%d %H:%M:%S UTC"),
        report.fail_on.tag()
    );
    out.push_str("<h2>Verdicts</h2>\n<table><tr><th>IdP</th><th>Verdict</th><th>Passed</th><th>Blocking</th><th>Warnings</th><th>Not run</th></tr>\n");
    for verdict in &report.verdicts {
        let class = verdict.mark(report.fail_on, ["passed", "failed", "untested"]);
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&verdict.display_name),
            escape(&verdict.summary()),
            verdict.passed,
            verdict.blocking.len(),
            verdict.warnings.len(),
            verdict.not_run
        );
    }
    out.push_str("</table>\n");
    matrix(report, &mut out);
    let missing: Vec<String> = report
        .verdicts
        .iter()
        .flat_map(|verdict| {
            verdict
                .blocking
                .iter()
                .filter(|problem| problem.location.is_none())
                .map(move |problem| {
                    format!(
                        "<li><b>{}</b>: {}</li>",
                        escape(&verdict.display_name),
                        escape(&problem.explanation)
                    )
                })
        })
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Missing capabilities</h2>\n<ul>{}</ul>",
            missing.concat()
        );
    }
    for error in &report.parse_errors {
        let _ = writeln!(
            out,
            "<p class=\"failed\">Feature file did not parse: {}</p>",
            escape(error)
        );
    }
    let failures: Vec<&ScenarioRecord> = report.failures().collect();
    if !failures.is_empty() {
        out.push_str("<h2>Failures</h2>\n");
        for record in failures {
            failure_section(record, &mut out);
        }
    }
    out.push_str("<h2>All scenarios</h2>\n<table><tr><th>Result</th><th>Scenario</th><th>Personas</th><th>Level</th><th>Location</th></tr>\n");
    for record in &report.scenarios {
        let (class, text) = match &record.status {
            Status::Passed => ("passed", "passed".to_owned()),
            Status::Failed => ("failed", "failed".to_owned()),
            Status::NotApplicable(reason) => ("not-run", format!("not applicable: {reason}")),
            Status::Skipped(reason) => ("not-run", format!("skipped: {reason}")),
        };
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td>{}</td><td>{} › {}</td><td>{}</td><td>@{}</td><td><code>{}</code></td></tr>",
            escape(&text),
            escape(&record.feature),
            escape(&record.name),
            escape(&personas_text(record)),
            record.meta.level.tag(),
            escape(&record.location())
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

/// The area of a scenario: its feature file's folder and name (`scim/patch`).
fn area(record: &ScenarioRecord) -> String {
    record.file.trim_end_matches(".feature").to_owned()
}

fn matrix(report: &RunReport, out: &mut String) {
    let areas: BTreeSet<String> = report.scenarios.iter().map(area).collect();
    out.push_str("<h2>Persona × area</h2>\n<table><tr><th>Area</th>");
    for verdict in &report.verdicts {
        let _ = write!(out, "<th>{}</th>", escape(&verdict.display_name));
    }
    out.push_str("</tr>\n");
    for area_name in &areas {
        let _ = write!(out, "<tr><td><code>{}</code></td>", escape(area_name));
        for verdict in &report.verdicts {
            let cell: Vec<&ScenarioRecord> = report
                .scenarios
                .iter()
                .filter(|record| {
                    area(record) == *area_name && record.meta.concerns(&verdict.persona)
                })
                .collect();
            let passed = cell
                .iter()
                .filter(|record| record.status == Status::Passed)
                .count();
            let failed = cell
                .iter()
                .filter(|record| record.status == Status::Failed)
                .count();
            let run = passed + failed;
            let (class, text) = match (run, failed) {
                (0, _) if cell.is_empty() => ("empty", String::new()),
                (0, _) => ("not-run", "not run".to_owned()),
                (_, 0) => ("passed", format!("{passed}/{run}")),
                _ => ("failed", format!("{passed}/{run}")),
            };
            let _ = write!(out, "<td class=\"{class}\">{text}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn failure_section(record: &ScenarioRecord, out: &mut String) {
    let Some(failure) = &record.failure else {
        return;
    };
    let _ = write!(
        out,
        "<section class=\"failure\"><h3>{} › {}</h3>\n\
         <p><code>{}</code> · @{} · {}{}</p>\n<p class=\"why\">{}</p>\n\
         <p>Failed step: <code>{}</code></p>\n<pre>{}</pre>\n",
        escape(&record.feature),
        escape(&record.name),
        escape(&record.location()),
        record.meta.level.tag(),
        escape(&personas_text(record)),
        record
            .har
            .as_deref()
            .map(|har| format!(" · <a href=\"{}\">HAR</a>", escape(har)))
            .unwrap_or_default(),
        escape(&failure.explanation),
        escape(&failure.step),
        escape(&failure.message)
    );
    if !record.exchanges.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Transcript ({} exchanges)</summary>",
            record.exchanges.len()
        );
        for exchange in &record.exchanges {
            exchange_html(exchange, out);
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
}

fn exchange_html(exchange: &Exchange, out: &mut String) {
    let status = exchange
        .status
        .map_or_else(|| "no answer".to_owned(), |status| status.to_string());
    let mut request = format!("{} {}\n", exchange.method, exchange.url);
    for (name, value) in &exchange.request_headers {
        let _ = writeln!(request, "{name}: {value}");
    }
    if let Some(body) = &exchange.request_body {
        let _ = write!(request, "\n{}", redact_body(body));
    }
    let mut response = format!("HTTP {status}\n");
    for (name, value) in &exchange.response_headers {
        let _ = writeln!(response, "{name}: {value}");
    }
    let _ = write!(response, "\n{}", redact_body(&exchange.response_body));
    if let Some(error) = &exchange.error {
        let _ = write!(response, "\n{error}");
    }
    let _ = writeln!(
        out,
        "<div class=\"exchange\"><pre class=\"request\">{}</pre><pre class=\"response\">{}</pre></div>",
        escape(&request),
        escape(&response)
    );
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;\
text-align:left;vertical-align:top}.passed{color:#0a6b2d}.failed{color:#b00020}\
td.passed{background:#e8f6ec}td.failed{background:#fde8eb}.not-run{color:#777}\
section.failure{border-left:4px solid #b00020;padding:.2em 1em;margin:1em 0}\
.why{font-weight:600}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;white-space:pre-wrap}\
.exchange{display:grid;grid-template-columns:1fr 1fr;gap:.5em}";

/// Adds to the `junit.xml` cucumber wrote what it leaves out (see [`junit_supplement`]).
pub fn complete_junit(path: &Path, report: &RunReport) -> io::Result<()> {
    let mut xml = std::fs::read_to_string(path)?;
    let end = xml.rfind("</testsuites>").ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "no </testsuites> in the JUnit report",
        )
    })?;
    xml.insert_str(end, &junit_supplement(report));
    std::fs::write(path, xml)
}

/// Two testsuites cucumber's JUnit report lacks: `not run`, each scenario not run against this
/// target as a skipped testcase with its reason; and `verdicts`, each persona's verdict as a
/// testcase, failed when it does not pass (its blocking problems, which include capabilities
/// the target lacks, as the message), skipped when none of its scenarios ran.
pub fn junit_supplement(report: &RunReport) -> String {
    let mut out = String::new();
    let not_run: Vec<(&ScenarioRecord, &str)> = report
        .scenarios
        .iter()
        .filter_map(|record| match &record.status {
            Status::NotApplicable(reason) | Status::Skipped(reason) => {
                Some((record, reason.as_str()))
            }
            Status::Passed | Status::Failed => None,
        })
        .collect();
    let _ = writeln!(
        out,
        r#"<testsuite name="not run" tests="{0}" skipped="{0}" failures="0" errors="0">"#,
        not_run.len()
    );
    for (record, reason) in not_run {
        let _ = writeln!(
            out,
            r#"<testcase classname="{}" name="{}"><skipped message="{}"/></testcase>"#,
            escape(&record.location()),
            escape(&record.name),
            escape(reason)
        );
    }
    out.push_str("</testsuite>\n");
    let failing = report
        .verdicts
        .iter()
        .filter(|verdict| verdict.tested() && !verdict.passes(report.fail_on))
        .count();
    let untested = report
        .verdicts
        .iter()
        .filter(|verdict| !verdict.tested())
        .count();
    let _ = writeln!(
        out,
        r#"<testsuite name="verdicts" tests="{}" skipped="{untested}" failures="{failing}" errors="0">"#,
        report.verdicts.len()
    );
    for verdict in &report.verdicts {
        let _ = write!(
            out,
            r#"<testcase classname="verdicts" name="{}">"#,
            escape(&verdict.display_name)
        );
        if !verdict.tested() {
            out.push_str(r#"<skipped message="not tested"/>"#);
        } else if !verdict.passes(report.fail_on) {
            let problems: Vec<String> = verdict
                .blocking
                .iter()
                .chain(
                    verdict
                        .warnings
                        .iter()
                        .filter(|_| report.fail_on == Level::Should),
                )
                .map(|problem| format!("{}: {}", problem.title, problem.explanation))
                .collect();
            let _ = write!(
                out,
                r#"<failure message="{}">{}</failure>"#,
                escape(&verdict.summary()),
                escape(&problems.join("\n"))
            );
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certify::scenario::ScenarioMeta;
    use crate::certify::verdict::{Failure, Problem};

    fn report() -> RunReport {
        let meta = ScenarioMeta {
            personas: vec!["entra".into()],
            level: Level::Must,
            level_tagged: true,
            needs: Vec::new(),
            expectation: Some("Entra sends <Replace> (personas.md §1.1).".into()),
        };
        let failed = ScenarioRecord {
            feature: "PATCH".into(),
            file: "scim/patch.feature".into(),
            line: 42,
            name: "Entra disables a user".into(),
            meta: meta.clone(),
            status: Status::Failed,
            failure: Some(Failure {
                step: "Then the response status is 200".into(),
                message: "expected status 200".into(),
                explanation: "Entra sends <Replace>. Instead, HTTP 400.".into(),
            }),
            duration_ms: 5,
            exchanges: vec![Exchange {
                started: Utc::now(),
                method: "PATCH".into(),
                url: "http://127.0.0.1:1/scim/v2/Users/1".into(),
                request_headers: vec![("authorization".into(), "<redacted>".into())],
                request_body: Some("{\"op\":\"Replace\"}".into()),
                status: Some(400),
                response_headers: Vec::new(),
                response_body: "{}".into(),
                duration_ms: 1.0,
                error: None,
            }],
            har: None,
        };
        let passed = ScenarioRecord {
            name: "lower-case ops".into(),
            line: 7,
            status: Status::Passed,
            failure: None,
            exchanges: Vec::new(),
            ..failed.clone()
        };
        RunReport {
            target: "http://127.0.0.1:1/scim/v2".into(),
            started: Utc::now(),
            duration_ms: 1500,
            fail_on: Level::Must,
            announced: Announced::default(),
            verdicts: vec![PersonaVerdict {
                persona: "entra".into(),
                display_name: "Microsoft Entra ID".into(),
                blocking: vec![Problem {
                    title: "PATCH › Entra disables a user".into(),
                    location: Some("scim/patch.feature:42".into()),
                    explanation: "Entra sends <Replace>. Instead, HTTP 400.".into(),
                }],
                warnings: Vec::new(),
                passed: 1,
                not_run: 0,
            }],
            scenarios: vec![failed, passed],
            parse_errors: Vec::new(),
            passed: false,
        }
    }

    #[test]
    fn the_terminal_table_names_the_verdict_and_the_reason() {
        let text = terminal(&report());
        assert!(
            text.contains("2 scenarios: 1 passed, 1 failed in 1.5 s"),
            "{text}"
        );
        assert!(
            text.contains("✘ Microsoft Entra ID  1 blocking problem"),
            "{text}"
        );
        assert!(
            text.contains("[Microsoft Entra ID · blocking] PATCH › Entra disables a user (scim/patch.feature:42)"),
            "{text}"
        );
    }

    #[test]
    fn the_junit_supplement_fails_a_persona_with_blocking_problems() {
        let supplement = junit_supplement(&report());
        assert!(
            supplement.contains(r#"<testsuite name="verdicts" tests="1" skipped="0" failures="1""#),
            "{supplement}"
        );
        assert!(
            supplement.contains(r#"<failure message="1 blocking problem">"#),
            "{supplement}"
        );
    }

    #[test]
    fn the_summary_is_a_markdown_table_with_the_failures() {
        let text = summary_markdown(&report());
        assert!(text.starts_with("# idpsim certify: failed\n"));
        assert!(text.contains("| ❌ Microsoft Entra ID | 1 blocking problem | 1 | 1 | 0 |"));
        assert!(text.contains("- **PATCH** › Entra disables a user (`scim/patch.feature:42`, @must, entra): Entra sends <Replace>. Instead, HTTP 400."));
    }

    #[test]
    fn the_html_escapes_text_and_shows_the_transcript() {
        let page = html(&report());
        assert!(page.contains("Entra sends &lt;Replace&gt;. Instead, HTTP 400."));
        assert!(!page.contains("<Replace>"));
        assert!(page.contains("Transcript (1 exchanges)"));
        assert!(page.contains("{&quot;op&quot;:&quot;Replace&quot;}"));
        assert!(page.contains("<td class=\"failed\">1/2</td>"));
    }

    #[test]
    fn har_files_are_written_for_failed_scenarios_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = report();
        write_har_files(&mut report, dir.path()).unwrap();
        assert_eq!(
            report.scenarios[0].har.as_deref(),
            Some("har/scim-patch-42.har")
        );
        assert_eq!(report.scenarios[1].har, None);
        let har: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("har/scim-patch-42.har")).unwrap(),
        )
        .unwrap();
        let entry = &har["log"]["entries"][0];
        assert_eq!(entry["response"]["status"], 400);
        assert_eq!(entry["request"]["headers"][0]["value"], "<redacted>");
    }
}
