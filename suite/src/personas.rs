//! `idpsim personas`: the persona files, listed, or one persona's knobs with their sources.

use idpsim_simulator::persona::{PersonaCatalog, PersonaError};
use std::fmt::Write as _;
use std::path::PathBuf;

/// The shipped persona folder (`fixtures/personas` of the workspace).
pub fn default_personas_dir() -> PathBuf {
    idpsim_simulator::fixtures_dir().join("personas")
}

/// One line per persona: name, product, whether it pushes SCIM, what it extends.
pub fn list(catalog: &PersonaCatalog) -> Result<String, PersonaError> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:<42} {:<10} EXTENDS",
        "NAME", "IDENTITY PROVIDER", "SCIM PUSH"
    );
    for name in catalog.names() {
        let persona = catalog.load(name)?.persona;
        let _ = writeln!(
            out,
            "{:<18} {:<42} {:<10} {}",
            name,
            persona.display_name,
            if persona.scim.pushes.value {
                "yes"
            } else {
                "no"
            },
            persona.extends.as_deref().unwrap_or("-")
        );
    }
    let _ = writeln!(
        out,
        "\n`idpsim personas show NAME` prints a persona's knobs with their sources."
    );
    Ok(out)
}

/// A persona's description and every knob: value, source, and `unconfirmed` where the
/// source leaves the value a guess.
pub fn show(catalog: &PersonaCatalog, name: &str) -> Result<String, PersonaError> {
    let loaded = catalog.load(name)?;
    let persona = &loaded.persona;
    let mut out = String::new();
    let _ = writeln!(out, "{name}: {}", persona.display_name);
    let _ = writeln!(out, "{}", persona.description);
    let files: Vec<String> = loaded
        .files
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let _ = writeln!(out, "files: {}", files.join(" (extends) "));
    let _ = writeln!(out, "directory block: {}\n", persona.directory_block);
    let lines = loaded.knob_lines();
    let width = lines
        .iter()
        .map(|line| line.knob.len())
        .max()
        .unwrap_or(0)
        .min(40);
    for line in &lines {
        let _ = writeln!(
            out,
            "{:<width$}  {}\n{:<width$}    source: {}{}",
            line.knob,
            line.value,
            "",
            line.source,
            if line.unconfirmed {
                " (unconfirmed)"
            } else {
                ""
            },
        );
        if let Some(note) = &line.note {
            let _ = writeln!(out, "{:<width$}    note: {note}", "");
        }
    }
    let unconfirmed = lines.iter().filter(|line| line.unconfirmed).count();
    let _ = writeln!(out, "\n{} knobs, {unconfirmed} unconfirmed.", lines.len());
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn catalog() -> PersonaCatalog {
        PersonaCatalog::open(&default_personas_dir()).unwrap()
    }

    #[test]
    fn the_list_names_every_persona_and_says_google_pushes_no_scim() {
        let text = list(&catalog()).unwrap();
        for name in [
            "entra",
            "entra-compliant",
            "okta",
            "okta-aiw",
            "jumpcloud",
            "google",
            "generic",
        ] {
            assert!(
                text.lines().any(|line| line.starts_with(name)),
                "{name}: {text}"
            );
        }
        let google = text
            .lines()
            .find(|line| line.starts_with("google"))
            .unwrap();
        assert!(google.contains(" no "), "{google}");
    }

    #[test]
    fn show_prints_values_sources_and_unconfirmed_marks() {
        let text = show(&catalog(), "entra").unwrap();
        let knob = |name: &str| {
            text.lines()
                .find(|line| line.split_whitespace().next() == Some(name))
                .unwrap_or_default()
                .to_owned()
        };
        assert!(knob("scim.op_casing").ends_with("  capitalized"), "{text}");
        assert!(text.contains("source: personas.md §1.1"), "{text}");
        assert!(text.contains("scim.user_agent"));
        assert!(text.contains("(unconfirmed)"));
        assert!(
            text.contains("note: no Microsoft document states the User-Agent"),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|line| line.starts_with("user_mapping.0 -> userName")
                    && line.ends_with(" userPrincipalName")),
            "{text}"
        );
    }
}
