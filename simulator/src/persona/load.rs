//! Reading persona files: one TOML file per persona, `extends` merged table by table, and
//! errors that name the file, the line and the knob.

use super::Persona;
use crate::mapping::{AttributeMapping, MappingRule, compile_rules};
use idpsim_scim::ResourceSchema;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// Why a persona cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// The persona folder cannot be listed.
    #[error("cannot read the persona folder {}: {source}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No file defines the persona.
    #[error("unknown persona `{name}` (known: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A persona file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A persona file is malformed: bad TOML, an unknown or missing knob, a wrong value.
    #[error("{}:{line}: {knob}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The knob's dotted path, e.g. `scim.update_verb.value`.
        knob: String,
        /// What is wrong.
        message: String,
    },
    /// `extends` goes round in a circle.
    #[error("{}: `extends` goes round in a circle: {chain}", path.display())]
    ExtendsCycle {
        /// The file where the circle was noticed.
        path: PathBuf,
        /// The personas in the circle.
        chain: String,
    },
}

/// The persona files of one folder, loaded on demand.
#[derive(Debug, Clone)]
pub struct PersonaCatalog {
    folder: PathBuf,
    names: Vec<String>,
}

/// A persona with the merged table it was read from (for `idpsim personas show`).
#[derive(Debug, Clone)]
pub struct LoadedPersona {
    /// The typed persona.
    pub persona: Persona,
    /// The files read, the persona's own first, then its bases.
    pub files: Vec<PathBuf>,
    /// The merged knobs, as read.
    pub table: toml::Table,
}

/// One line of `idpsim personas show`: a knob, its value and its source.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobLine {
    /// Dotted path, e.g. `scim.op_casing`.
    pub knob: String,
    /// The value as TOML text.
    pub value: String,
    /// The cited source.
    pub source: String,
    /// Whether the source leaves the value unconfirmed.
    pub unconfirmed: bool,
    /// What the source leaves open, when the file says.
    pub note: Option<String>,
}

impl PersonaCatalog {
    /// Lists the `*.toml` files of `folder`.
    pub fn open(folder: &Path) -> Result<PersonaCatalog, PersonaError> {
        let folder_error = |source| PersonaError::Folder {
            path: folder.to_path_buf(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(folder).map_err(folder_error)? {
            let path = entry.map_err(folder_error)?.path();
            if path
                .extension()
                .is_some_and(|extension| extension == "toml")
                && let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
            {
                names.push(stem.to_owned());
            }
        }
        names.sort();
        Ok(PersonaCatalog {
            folder: folder.to_path_buf(),
            names,
        })
    }

    /// The persona names, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Loads the persona `name`, merged with the personas it extends, and checks every knob.
    pub fn load(&self, name: &str) -> Result<LoadedPersona, PersonaError> {
        let mut chain: Vec<(PathBuf, String, toml::Table)> = Vec::new();
        let mut next = Some(name.to_owned());
        while let Some(current) = next.take() {
            let path = self.path_of(&current)?;
            if chain.iter().any(|(seen, _, _)| *seen == path) {
                let mut names: Vec<String> = chain
                    .iter()
                    .map(|(_, text, _)| persona_name(text))
                    .collect();
                names.push(current);
                return Err(PersonaError::ExtendsCycle {
                    path,
                    chain: names.join(" -> "),
                });
            }
            let text = std::fs::read_to_string(&path).map_err(|source| PersonaError::Read {
                path: path.clone(),
                source,
            })?;
            let table: toml::Table =
                toml::from_str(&text).map_err(|error| PersonaError::Invalid {
                    line: error.span().map_or(1, |span| line_of(&text, span.start)),
                    knob: "(syntax)".into(),
                    message: error.message().trim().to_owned(),
                    path: path.clone(),
                })?;
            next = match table.get("extends") {
                Some(toml::Value::String(base)) => Some(base.clone()),
                Some(_) => {
                    return Err(invalid_at(
                        &path,
                        &text,
                        "extends",
                        "must be a persona name",
                    ));
                }
                None => None,
            };
            chain.push((path, format!("{current}\n{text}"), table));
        }
        let mut merged = toml::Table::new();
        for (_, _, table) in chain.iter().rev() {
            merge(&mut merged, table);
        }
        let mut persona: Persona = serde_path_to_error::deserialize(toml::Value::Table(
            merged.clone(),
        ))
        .map_err(|error| {
            let knob = error.path().to_string();
            let message = error.inner().message().trim().to_owned();
            located(&chain, &knob, message)
        })?;
        persona.name = name.to_owned();
        persona.user_rules = rules(
            &persona.user_mapping,
            ResourceSchema::user(),
            "user_mapping",
            &chain,
        )?;
        persona.group_rules = rules(
            &persona.group_mapping,
            ResourceSchema::group(),
            "group_mapping",
            &chain,
        )?;
        Ok(LoadedPersona {
            persona,
            files: chain.into_iter().map(|(path, _, _)| path).collect(),
            table: merged,
        })
    }

    fn path_of(&self, name: &str) -> Result<PathBuf, PersonaError> {
        if self.names.iter().any(|known| known == name) {
            Ok(self.folder.join(format!("{name}.toml")))
        } else {
            Err(PersonaError::Unknown {
                name: name.to_owned(),
                known: self.names.join(", "),
            })
        }
    }
}

impl LoadedPersona {
    /// Every knob with its value and source, in file order of the merged table.
    pub fn knob_lines(&self) -> Vec<KnobLine> {
        let mut lines = Vec::new();
        collect_knobs(&self.table, "", &mut lines);
        lines
    }
}

fn rules(
    mappings: &[AttributeMapping],
    schema: &ResourceSchema,
    list: &str,
    chain: &[(PathBuf, String, toml::Table)],
) -> Result<Vec<MappingRule>, PersonaError> {
    compile_rules(mappings, schema)
        .map_err(|(index, message)| located(chain, &format!("{list}[{index}].scim"), message))
}

fn collect_knobs(table: &toml::Table, prefix: &str, lines: &mut Vec<KnobLine>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) if inner.contains_key("source") => {
                let shown = inner
                    .get("value")
                    .or_else(|| inner.get("native"))
                    .or_else(|| inner.get("expression"))
                    .or_else(|| inner.get("constant"))
                    .map(inline)
                    .unwrap_or_default();
                lines.push(KnobLine {
                    knob: inner
                        .get("scim")
                        .and_then(toml::Value::as_str)
                        .map_or_else(|| path.clone(), |target| format!("{path} -> {target}")),
                    value: shown,
                    source: inner
                        .get("source")
                        .and_then(toml::Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    unconfirmed: inner
                        .get("unconfirmed")
                        .and_then(toml::Value::as_bool)
                        .unwrap_or(false),
                    note: inner
                        .get("note")
                        .and_then(toml::Value::as_str)
                        .map(str::to_owned),
                });
            }
            toml::Value::Table(inner) => collect_knobs(inner, &path, lines),
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                for (index, item) in items.iter().enumerate() {
                    if let toml::Value::Table(inner) = item {
                        let mut single = toml::Table::new();
                        single.insert(format!("{index}"), toml::Value::Table(inner.clone()));
                        collect_knobs(&single, &path, lines);
                    }
                }
            }
            _ => {}
        }
    }
}

fn inline(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Table(table) => {
            let mut out = String::from("{ ");
            for (index, (key, item)) in table.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{key} = {}", toml_text(item));
            }
            out.push_str(" }");
            out
        }
        other => toml_text(other),
    }
}

fn toml_text(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(_) => inline(value),
        toml::Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(toml_text).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// Copies `overlay` onto `base`: tables merge key by key, everything else is replaced.
fn merge(base: &mut toml::Table, overlay: &toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(incoming)) => {
                merge(existing, incoming);
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

fn persona_name(named_text: &str) -> String {
    named_text.lines().next().unwrap_or_default().to_owned()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

fn invalid_at(path: &Path, text: &str, knob: &str, message: &str) -> PersonaError {
    let (line, _) = locate(text, knob);
    PersonaError::Invalid {
        path: path.to_path_buf(),
        line,
        knob: knob.to_owned(),
        message: message.to_owned(),
    }
}

/// The error for `knob`, placed in the file of the chain that defines most of its path (the
/// persona's own file wins ties over its bases).
fn located(chain: &[(PathBuf, String, toml::Table)], knob: &str, message: String) -> PersonaError {
    let mut best: Option<(&PathBuf, usize, usize)> = None;
    for (path, named_text, _) in chain {
        let text = named_text.split_once('\n').map_or("", |(_, text)| text);
        let (line, depth) = locate(text, knob);
        if best.is_none_or(|(_, _, best_depth)| depth > best_depth) {
            best = Some((path, line, depth));
        }
    }
    let (path, line) = best.map_or((PathBuf::new(), 1), |(path, line, _)| (path.clone(), line));
    PersonaError::Invalid {
        path,
        line,
        knob: knob.to_owned(),
        message,
    }
}

/// The line of the deepest key of `knob` (a serde path like `scim.rate_limit.value` or
/// `user_mapping[2].scim`) found in `text`, and how many segments matched.
fn locate(text: &str, knob: &str) -> (usize, usize) {
    let Ok(document) = DeTable::parse(text) else {
        return (1, 0);
    };
    let mut line = 1;
    let mut depth = 0;
    let mut current: Option<&DeValue<'_>> = None;
    let mut table: Option<&DeTable<'_>> = Some(document.get_ref());
    for segment in segments(knob) {
        let found = match (segment, table, current) {
            (Segment::Key(key), Some(table), _) => table
                .iter()
                .find(|(name, _)| name.get_ref().as_ref() == key)
                .map(|(name, value)| (name.span().start, value)),
            (Segment::Index(index), _, Some(DeValue::Array(items))) => {
                items.get(index).map(|item| (item.span().start, item))
            }
            _ => None,
        };
        let Some((offset, value)) = found else {
            break;
        };
        line = line_of(text, offset);
        depth += 1;
        current = Some(value.get_ref());
        table = match value.get_ref() {
            DeValue::Table(inner) => Some(inner),
            _ => None,
        };
    }
    (line, depth)
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(knob: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in knob.split('.') {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        for index in rest.split('[') {
            if let Ok(index) = index.trim_end_matches(']').parse() {
                out.push(Segment::Index(index));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn catalog(files: &[(&str, &str)]) -> (tempfile::TempDir, PersonaCatalog) {
        let folder = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(folder.path().join(format!("{name}.toml")), text).unwrap();
        }
        let catalog = PersonaCatalog::open(folder.path()).unwrap();
        (folder, catalog)
    }

    fn shipped() -> PersonaCatalog {
        PersonaCatalog::open(&crate::fixtures_dir().join("personas")).unwrap()
    }

    #[test]
    fn every_shipped_persona_loads() {
        let catalog = shipped();
        for name in catalog.names() {
            let loaded = catalog.load(name).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(loaded.persona.name, *name);
        }
        assert!(catalog.names().len() >= 7, "{:?}", catalog.names());
    }

    #[test]
    fn a_variant_overrides_only_what_it_names() {
        let catalog = shipped();
        let entra = catalog.load("entra").unwrap().persona;
        let compliant = catalog.load("entra-compliant").unwrap().persona;
        assert_eq!(
            compliant.scim.op_casing.value,
            super::super::OpCasing::Lower
        );
        assert_ne!(entra.scim.op_casing.value, compliant.scim.op_casing.value);
        assert_eq!(entra.scim.content_type, compliant.scim.content_type);
        assert_eq!(entra.user_mapping, compliant.user_mapping);
    }

    #[test]
    fn a_wrong_value_names_file_line_and_knob() {
        let base =
            std::fs::read_to_string(crate::fixtures_dir().join("personas/generic.toml")).unwrap();
        let broken = base.replacen("value = \"patch\"", "value = \"post\"", 1);
        assert_ne!(base, broken);
        let (_folder, catalog) = catalog(&[("broken", &broken)]);
        let error = catalog.load("broken").unwrap_err();
        let PersonaError::Invalid {
            path,
            line,
            knob,
            message,
        } = &error
        else {
            panic!("{error}");
        };
        assert!(path.ends_with("broken.toml"));
        assert_eq!(knob, "scim.update_verb.value");
        let expected_line = broken
            .lines()
            .position(|text| text.contains("\"post\""))
            .unwrap()
            + 1;
        assert_eq!(*line, expected_line, "{error}");
        assert!(message.contains("post"), "{message}");
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let (_folder, catalog) = catalog(&[("bad", "display_name = \"x\"\ndescription = \n")]);
        let error = catalog.load("bad").unwrap_err();
        assert!(
            matches!(error, PersonaError::Invalid { line: 2, .. }),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_knob_is_named() {
        let base =
            std::fs::read_to_string(crate::fixtures_dir().join("personas/generic.toml")).unwrap();
        let (_folder, catalog) = catalog(&[
            ("generic", &base),
            (
                "typo",
                "extends = \"generic\"\n\n[scim]\nop_casin = { value = \"lower\", source = \"x\" }\n",
            ),
        ]);
        let error = catalog.load("typo").unwrap_err();
        let PersonaError::Invalid {
            path,
            line,
            message,
            ..
        } = &error
        else {
            panic!("{error}");
        };
        assert!(path.ends_with("typo.toml"), "{error}");
        assert_eq!(*line, 4, "{error}");
        assert!(message.contains("op_casin"), "{error}");
    }

    #[test]
    fn extends_in_a_circle_is_an_error() {
        let (_folder, catalog) = catalog(&[("a", "extends = \"b\"\n"), ("b", "extends = \"a\"\n")]);
        let error = catalog.load("a").unwrap_err();
        assert!(
            matches!(error, PersonaError::ExtendsCycle { .. }),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_persona_lists_the_known_ones() {
        let error = shipped().load("onelogin").unwrap_err();
        assert!(error.to_string().contains("entra"), "{error}");
    }

    #[test]
    fn show_lists_knobs_with_their_sources() {
        let loaded = shipped().load("okta").unwrap();
        let lines = loaded.knob_lines();
        let agent = lines
            .iter()
            .find(|line| line.knob == "scim.user_agent")
            .unwrap();
        assert_eq!(agent.value, "Okta SCIM Client 1.0.0");
        assert!(agent.source.contains("§2.1"), "{agent:?}");
        assert!(lines.iter().all(|line| !line.source.is_empty()));
        assert!(
            lines
                .iter()
                .any(|line| line.knob.starts_with("user_mapping.0 -> "))
        );
    }

    #[test]
    fn unconfirmed_knobs_say_so() {
        let loaded = shipped().load("jumpcloud").unwrap();
        assert!(loaded.persona.scim.op_casing.unconfirmed);
        assert!(loaded.knob_lines().iter().any(|line| line.unconfirmed));
    }
}
