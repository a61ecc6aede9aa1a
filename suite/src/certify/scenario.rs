//! What a scenario's tags and description say about it: the personas it matters to, how much
//! a failure counts (`@must` / `@should`), the optional SCIM features it needs
//! (`@needs-patch`, ...), and what it expects, in one sentence a failure report starts with.

use super::capabilities::Capability;
use cucumber::gherkin;
use serde::Serialize;

/// How much a failed scenario counts in a persona's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A warning: RFC behaviour none of the tagged IdPs depends on.
    Should,
    /// A blocking problem: provisioning from a tagged IdP breaks.
    Must,
}

impl Level {
    /// The tag that sets this level.
    pub fn tag(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
        }
    }
}

/// A scenario's metadata, read from its tags (feature, rule, scenario and examples) and its
/// description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioMeta {
    /// The personas the scenario matters to, in catalog order; empty when it names none
    /// (it then matters to every persona).
    pub personas: Vec<String>,
    /// The level; `@must` when no level tag is given.
    pub level: Level,
    /// Whether a level tag was given (the features' own check requires one).
    pub level_tagged: bool,
    /// Optional SCIM features the scenario exercises.
    pub needs: Vec<Capability>,
    /// The description: what the IdP sends or the RFC requires, with its source.
    pub expectation: Option<String>,
}

impl ScenarioMeta {
    /// Reads the metadata of `scenario` (already expanded from its outline, so its tags
    /// include those of its `Examples:`) in `feature` and `rule`; `personas` are the known
    /// persona names, in the order verdicts list them.
    pub fn read(
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        personas: &[String],
    ) -> ScenarioMeta {
        let examples_tags = scenario
            .examples
            .first()
            .map(|examples| examples.tags.as_slice())
            .unwrap_or_default();
        let layers: [&[String]; 4] = [
            examples_tags,
            &scenario.tags,
            rule.map(|rule| rule.tags.as_slice()).unwrap_or_default(),
            &feature.tags,
        ];
        let level = layers.iter().find_map(|tags| level_of(tags));
        let all_tags = || layers.iter().flat_map(|tags| tags.iter());
        let selected: Vec<String> = personas
            .iter()
            .filter(|persona| all_tags().any(|tag| tag == *persona))
            .cloned()
            .collect();
        let mut needs: Vec<Capability> = all_tags()
            .filter_map(|tag| tag.strip_prefix("needs-"))
            .filter_map(Capability::from_tag)
            .collect();
        needs.sort();
        needs.dedup();
        ScenarioMeta {
            personas: selected,
            level: level.unwrap_or(Level::Must),
            level_tagged: level.is_some(),
            needs,
            expectation: scenario
                .description
                .as_deref()
                .map(|text| expectation_text(text, scenario)),
        }
    }

    /// Whether the scenario matters to `persona`.
    pub fn concerns(&self, persona: &str) -> bool {
        self.personas.is_empty() || self.personas.iter().any(|name| name == persona)
    }
}

/// The level tag among `tags` (the last one wins if a layer has both).
fn level_of(tags: &[String]) -> Option<Level> {
    tags.iter().rev().find_map(|tag| match tag.as_str() {
        "must" => Some(Level::Must),
        "should" => Some(Level::Should),
        _ => None,
    })
}

/// The description on one line, with an outline's `<placeholders>` filled from its row.
fn expectation_text(description: &str, scenario: &gherkin::Scenario) -> String {
    let mut text = description
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let row = scenario
        .examples
        .first()
        .and_then(|examples| examples.table.as_ref())
        .and_then(|table| table.rows.first().zip(table.rows.get(1)));
    if let Some((header, values)) = row {
        for (name, value) in header.iter().zip(values) {
            text = text.replace(&format!("<{name}>"), value);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use cucumber::gherkin::GherkinEnv;

    fn personas() -> Vec<String> {
        ["entra", "okta", "generic"].map(String::from).to_vec()
    }

    fn parse(text: &str) -> gherkin::Feature {
        gherkin::Feature::parse(text, GherkinEnv::default()).unwrap()
    }

    #[test]
    fn scenario_tags_add_personas_and_override_the_feature_level() {
        let feature = parse(
            "@scim @generic @must\nFeature: f\n\n  @should @okta @needs-sort\n  Scenario: s\n    \
             Okta sorts (RFC 7644 §3.4.2.3).\n    When x\n",
        );
        let meta = ScenarioMeta::read(&feature, None, &feature.scenarios[0], &personas());
        assert_eq!(meta.personas, ["okta", "generic"]);
        assert_eq!(meta.level, Level::Should);
        assert!(meta.level_tagged);
        assert_eq!(meta.needs, [Capability::Sort]);
        assert_eq!(
            meta.expectation.as_deref(),
            Some("Okta sorts (RFC 7644 §3.4.2.3).")
        );
        assert!(meta.concerns("okta"));
        assert!(!meta.concerns("entra"));
    }

    #[test]
    fn an_untagged_scenario_is_must_and_concerns_everyone() {
        let feature = parse("Feature: f\n  Scenario: s\n    When x\n");
        let meta = ScenarioMeta::read(&feature, None, &feature.scenarios[0], &personas());
        assert_eq!(meta.level, Level::Must);
        assert!(!meta.level_tagged);
        assert!(meta.personas.is_empty());
        assert!(meta.concerns("entra"));
        assert_eq!(meta.expectation, None);
    }

    /// Each scenario of `feature` as the runner sees it: an outline once per `Examples:` block,
    /// with that block's tags.
    fn scenarios_of(feature: &gherkin::Feature) -> Vec<gherkin::Scenario> {
        let all = feature
            .scenarios
            .iter()
            .chain(feature.rules.iter().flat_map(|rule| &rule.scenarios));
        all.flat_map(|scenario| {
            if scenario.examples.is_empty() {
                return vec![scenario.clone()];
            }
            scenario
                .examples
                .iter()
                .map(|examples| {
                    let mut one = scenario.clone();
                    one.tags.extend(examples.tags.iter().cloned());
                    one.examples = vec![examples.clone()];
                    one
                })
                .collect()
        })
        .collect()
    }

    #[test]
    fn every_workspace_scenario_names_personas_a_level_and_a_sourced_expectation() {
        let catalog = idpsim_simulator::persona::PersonaCatalog::open(
            &idpsim_simulator::fixtures_dir().join("personas"),
        )
        .unwrap();
        let personas = catalog.names().to_vec();
        let mut problems = Vec::new();
        let mut checked = 0;
        let mut pending = vec![crate::certify::default_features_dir()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                if path.extension().is_none_or(|ext| ext != "feature") {
                    continue;
                }
                let feature = gherkin::Feature::parse_path(&path, GherkinEnv::default()).unwrap();
                for scenario in scenarios_of(&feature) {
                    checked += 1;
                    let meta = ScenarioMeta::read(&feature, None, &scenario, &personas);
                    let at = format!(
                        "{}:{} {}",
                        path.display(),
                        scenario.position.line,
                        scenario.name
                    );
                    if meta.personas.is_empty() {
                        problems.push(format!("{at}: no persona tag"));
                    }
                    if !meta.level_tagged {
                        problems.push(format!("{at}: no @must/@should"));
                    }
                    let tags = feature.tags.iter().chain(&scenario.tags);
                    for tag in tags.filter_map(|tag| tag.strip_prefix("needs-")) {
                        if Capability::from_tag(tag).is_none() {
                            problems.push(format!("{at}: unknown capability tag @needs-{tag}"));
                        }
                    }
                    let sourced = meta.expectation.as_deref().is_some_and(|text| {
                        ["§", "RFC", "seed"]
                            .iter()
                            .any(|source| text.contains(source))
                    });
                    if !sourced {
                        problems.push(format!("{at}: no expectation with a source"));
                    }
                }
            }
        }
        assert!(checked > 100, "only {checked} scenarios found");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn examples_tags_win_and_fill_the_description() {
        let mut scenario = parse(
            "@must @entra\nFeature: f\n  Scenario Outline: <scim>\n    <scim> arrives (seed 003).\n    \
             When x\n\n    @should\n    Examples:\n      | scim  |\n      | title |\n",
        )
        .scenarios
        .remove(0);
        if let Some(table) = scenario
            .examples
            .first_mut()
            .and_then(|examples| examples.table.as_mut())
        {
            table.rows.truncate(2);
        }
        let feature = parse("@must @entra\nFeature: f\n");
        let meta = ScenarioMeta::read(&feature, None, &scenario, &personas());
        assert_eq!(meta.level, Level::Should);
        assert_eq!(
            meta.expectation.as_deref(),
            Some("title arrives (seed 003).")
        );
    }
}
