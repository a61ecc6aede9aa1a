//! Step definitions, one module per domain concept. Steps read as the user's sentence; the
//! data they send (bodies, filters) comes from the feature file, placeholders expanded.
//!
//! Quoted step arguments may contain `\"` (for filters inside paths); [`unquote`] turns
//! them back into plain quotes.

pub mod auth;
pub mod bulk;
pub mod discovery;
pub mod errors;
pub mod groups;
pub mod mappings;
pub mod provisioning;
pub mod queries;
pub mod resources;
pub mod responses;
pub mod saml;
pub mod sp;
pub mod sso;
pub mod users;
pub mod webhooks;

use crate::world::StepError;
use cucumber::gherkin::Step;

/// The doc string under `step`, or a failure naming the step.
pub(crate) fn doc_string(step: &Step) -> Result<&str, StepError> {
    step.docstring
        .as_deref()
        .map(without_content_type)
        .ok_or_else(|| StepError::Step(format!("the step `{}` needs a doc string", step.value)))
}

/// The doc string's text without its opening line: the parser keeps what follows the
/// opening `"""`, which is empty or a content type such as `json`.
fn without_content_type(text: &str) -> &str {
    match text.split_once('\n') {
        Some((first, rest))
            if first
                .trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-_/".contains(c)) =>
        {
            rest
        }
        _ => text,
    }
}

/// A quoted step argument with its `\"` and `\\` escapes resolved.
pub(crate) fn unquote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(escaped) = chars.next() {
                out.push(escaped);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The names in a comma-separated list such as `"ada, grace"`.
pub(crate) fn name_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_resolves_escaped_quotes_and_backslashes() {
        assert_eq!(
            unquote(r#"emails[type eq \"work\"].value"#),
            r#"emails[type eq "work"].value"#
        );
        assert_eq!(unquote(r"a\\b"), r"a\b");
    }

    /// The folders of `features/` whose steps the definitions must cover.
    const FEATURE_FOLDERS: [&str; 7] = [
        "scim",
        "provisioning",
        "mappings",
        "sso",
        "matching",
        "lifecycle",
        "sp",
    ];

    /// Every step of every feature (outlines expanded) matches exactly one definition, so a
    /// typo in a feature fails here, not only when the suite runs.
    #[test]
    fn every_feature_step_has_exactly_one_definition() {
        use crate::world::ScimWorld;
        use cucumber::World as _;
        use cucumber::feature::Ext as _;
        use cucumber::gherkin::{Feature, GherkinEnv};

        let steps = ScimWorld::collection();
        let features = crate::certify::default_features_dir();
        let mut problems = Vec::new();
        let mut checked = 0;
        let mut paths = Vec::new();
        for folder in FEATURE_FOLDERS {
            let dir = features.join(folder);
            let before = paths.len();
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|ext| ext == "feature") {
                    paths.push(path);
                }
            }
            assert!(
                paths.len() > before,
                "no feature files in {}",
                dir.display()
            );
        }
        for path in paths {
            let feature = Feature::parse_path(&path, GherkinEnv::default())
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
                .expand_examples()
                .unwrap();
            let scenarios = feature.scenarios.iter();
            let background = feature.background.iter().flat_map(|b| &b.steps);
            for step in background.chain(scenarios.flat_map(|s| &s.steps)) {
                checked += 1;
                match steps.find(step) {
                    Ok(Some(_)) => {}
                    Ok(None) => problems.push(format!(
                        "{}: no definition for `{} {}`",
                        path.display(),
                        step.keyword,
                        step.value
                    )),
                    Err(err) => problems.push(format!(
                        "{}: `{}` is ambiguous: {err}",
                        path.display(),
                        step.value
                    )),
                }
            }
        }
        assert!(
            checked > 100,
            "only {checked} steps found in {}",
            features.display()
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn name_lists_are_split_on_commas() {
        assert_eq!(name_list("ada, grace,linus"), ["ada", "grace", "linus"]);
        assert!(name_list(" ").is_empty());
    }
}
