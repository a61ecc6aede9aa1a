//! What the persona last pushed, kept between cycles as real IdPs keep their own cache
//! (Entra caches the returned `id`: personas.md §1.1 "Create user"; Okta stores it in the app
//! user profile: §2.1).

use crate::mapping::MappedValues;
use idpsim_scim::compact::{fold_urns, unfold_urns};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

/// The provisioning state of one persona against one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProvisioningState {
    /// The persona that pushed.
    pub persona: String,
    /// The SCIM base URL it pushed to.
    pub target: String,
    /// Whether "Test Connection" has run.
    pub connection_tested: bool,
    /// Provisioned users by directory key.
    pub users: BTreeMap<String, UserState>,
    /// Provisioned groups by directory key.
    pub groups: BTreeMap<String, GroupState>,
    /// Operations sent over all cycles (for quarantine thresholds).
    pub operations: u64,
    /// Operations failed over all cycles.
    pub failures: u64,
}

/// A user the persona provisioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserState {
    /// The target's id.
    pub id: String,
    /// The SCIM values last pushed, by target path.
    pub pushed: Pushed,
    /// Whether the persona found the user at the target (the lookup before create) instead
    /// of creating it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linked: bool,
}

impl UserState {
    /// The userName pushed (sent as a member's `display`).
    pub fn user_name(&self) -> String {
        self.pushed
            .get("userName")
            .and_then(|name| name.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Whether the last push left the user active.
    pub fn active(&self) -> bool {
        self.pushed
            .get("active")
            .and_then(|active| active.as_bool())
            .unwrap_or(true)
    }
}

/// A user's SCIM values as last pushed, kept as compact JSON text with the SCIM URN prefix
/// folded (`idpsim_scim::compact`) and each target path replaced by its number in
/// [`PathTable`]: the state holds every provisioned user, all with the same few paths, and
/// 100,000 users' values as parsed maps took about 150 MiB.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pushed(Box<str>);

impl Pushed {
    /// `values`, kept.
    pub fn new(values: &MappedValues) -> Pushed {
        let numbered: serde_json::Map<String, serde_json::Value> = values
            .iter()
            .map(|(path, value)| (PathTable::number(path).to_string(), value.clone()))
            .collect();
        // Serialising a map of JSON values cannot fail.
        Pushed(fold_urns(
            &serde_json::to_string(&numbered).unwrap_or_else(|_| String::from("{}")),
        ))
    }

    /// The values, by target path.
    pub fn values(&self) -> MappedValues {
        let numbered: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&unfold_urns(&self.0)).unwrap_or_default();
        numbered
            .into_iter()
            .filter_map(|(number, value)| {
                let path = PathTable::path(number.parse().ok()?)?;
                Some((path.to_string(), value))
            })
            .collect()
    }

    /// The value pushed at `path`, if any.
    pub fn get(&self, path: &str) -> Option<serde_json::Value> {
        self.values().remove(path)
    }
}

/// The target paths of pushed values, numbered in the order first seen (process-wide; the
/// numbers never leave memory: the state file names paths).
#[derive(Debug, Default)]
struct PathTable {
    numbers: HashMap<Arc<str>, usize>,
    paths: Vec<Arc<str>>,
}

static PATH_TABLE: LazyLock<RwLock<PathTable>> = LazyLock::new(RwLock::default);

impl PathTable {
    /// The number of `path`, given it on first sight.
    fn number(path: &str) -> usize {
        if let Some(number) = PATH_TABLE
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .numbers
            .get(path)
        {
            return *number;
        }
        let mut table = PATH_TABLE.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(number) = table.numbers.get(path) {
            return *number;
        }
        let number = table.paths.len();
        let path: Arc<str> = Arc::from(path);
        table.paths.push(Arc::clone(&path));
        table.numbers.insert(path, number);
        number
    }

    /// The path numbered `number`.
    fn path(number: usize) -> Option<Arc<str>> {
        PATH_TABLE
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .paths
            .get(number)
            .cloned()
    }
}

impl From<MappedValues> for Pushed {
    fn from(values: MappedValues) -> Pushed {
        Pushed::new(&values)
    }
}

impl Serialize for Pushed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.values().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Pushed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Pushed, D::Error> {
        MappedValues::deserialize(deserializer).map(Pushed::from)
    }
}

/// A group the persona provisioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    /// The target's id.
    pub id: String,
    /// The SCIM values last pushed.
    pub pushed: MappedValues,
    /// Members last pushed, by directory key.
    pub members: BTreeSet<String>,
}

/// The state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("cannot use the state file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a state file.
    #[error("{} is not an idpsim state file: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        message: String,
    },
    /// The file belongs to another persona or target.
    #[error("{} holds the state of `{persona}` at {target}; use another --state file for this persona and target", path.display())]
    OtherRun {
        /// The file.
        path: PathBuf,
        /// Its persona.
        persona: String,
        /// Its target.
        target: String,
    },
}

impl ProvisioningState {
    /// A fresh state for `persona` at `target`.
    pub fn new(persona: &str, target: &str) -> ProvisioningState {
        ProvisioningState {
            persona: persona.to_owned(),
            target: target.to_owned(),
            ..ProvisioningState::default()
        }
    }

    /// Reads the state at `path` for `persona` at `target`; a missing file is a fresh state.
    pub fn load(path: &Path, persona: &str, target: &str) -> Result<ProvisioningState, StateError> {
        let file = match std::fs::File::open(path) {
            Ok(file) => std::io::BufReader::new(file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ProvisioningState::new(persona, target));
            }
            Err(source) => {
                return Err(StateError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let state: ProvisioningState =
            serde_json::from_reader(file).map_err(|error| StateError::Malformed {
                path: path.to_path_buf(),
                message: error.to_string(),
            })?;
        if state.persona != persona || state.target != target {
            return Err(StateError::OtherRun {
                path: path.to_path_buf(),
                persona: state.persona,
                target: state.target,
            });
        }
        Ok(state)
    }

    /// Writes the state to `path`, streamed (a large state is never one string in memory),
    /// into a temporary file renamed over it, so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let temporary = path.with_extension("tmp");
        let file = std::fs::File::create(&temporary).map_err(io)?;
        let mut writer = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut writer, self).map_err(|error| StateError::Malformed {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        std::io::Write::flush(&mut writer).map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    #[test]
    fn the_state_file_names_paths_not_numbers() {
        let values: MappedValues = [
            ("userName".to_owned(), json!("ada@acme.test")),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".to_owned(),
                json!("42"),
            ),
        ]
        .into_iter()
        .collect();
        let user = UserState {
            id: "1".into(),
            pushed: Pushed::new(&values),
            linked: false,
        };
        assert_eq!(user.pushed.values(), values);
        assert_eq!(user.user_name(), "ada@acme.test");
        let text = serde_json::to_string(&user).unwrap();
        assert!(text.contains("\"userName\":\"ada@acme.test\""), "{text}");
        let read: UserState = serde_json::from_str(&text).unwrap();
        assert_eq!(read, user);
    }

    proptest! {
        #[test]
        fn pushed_values_round_trip(values in prop::collection::btree_map(
            "[a-zA-Z:.\\[\\]\" ]{1,40}",
            prop_oneof![
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                ".{0,20}".prop_map(Value::from),
            ],
            0..8,
        )) {
            prop_assert_eq!(Pushed::new(&values).values(), values);
        }
    }
}
