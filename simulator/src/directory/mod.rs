//! IdP directories: people and groups in each IdP's own attribute names (one YAML file,
//! one block per IdP; format in `fixtures/directories/README.md`).
//!
//! - this module: the directory, loading and checking it.
//! - `generate`: deterministic synthetic directories for load tests.

mod generate;

pub use generate::{ALL_BLOCKS, GenerateOptions, generate};

use crate::mapping::{MappingOverrides, compile_rules};
use idpsim_scim::ResourceSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// A directory: the people and groups an IdP would provision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// Short name, used in reports.
    pub name: String,
    /// The people.
    #[serde(default)]
    pub users: Vec<DirectoryUser>,
    /// The groups.
    #[serde(default)]
    pub groups: Vec<DirectoryGroup>,
    /// This organization's own attribute mappings, by IdP block: they replace or extend the
    /// persona's defaults (seed 003: "the exact attribute names may vary").
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mappings: BTreeMap<String, MappingOverrides>,
}

/// A person, with one block of native attributes per IdP that holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryUser {
    /// Stable key; groups and managers refer to it.
    pub key: String,
    /// The simulated IdP's sign-in password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Native attributes by IdP block name (`entra`, `okta`, ...).
    #[serde(flatten)]
    pub blocks: Blocks,
}

/// The IdP blocks of a person or group, by block name.
///
/// A small vector: an entry holds one to five blocks, and a B-tree node is sized for eleven.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Blocks(Vec<(String, Block)>);

impl Blocks {
    /// The block `name`.
    pub fn get(&self, name: &str) -> Option<&Block> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, block)| block)
    }

    /// The block `name`, to change it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Block> {
        self.0
            .iter_mut()
            .find(|(key, _)| key == name)
            .map(|(_, block)| block)
    }

    /// Sets the block `name`, returning the one it replaces.
    pub fn insert(&mut self, name: String, block: Block) -> Option<Block> {
        match self.get_mut(&name) {
            Some(existing) => Some(std::mem::replace(existing, block)),
            None => {
                self.0.push((name, block));
                self.0.sort_by(|(a, _), (b, _)| a.cmp(b));
                None
            }
        }
    }

    /// Removes the block `name` (the person leaves that IdP's app).
    pub fn remove(&mut self, name: &str) -> Option<Block> {
        let index = self.0.iter().position(|(key, _)| key == name)?;
        Some(self.0.remove(index).1)
    }

    /// Whether there is a block `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The block names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(key, _)| key.as_str())
    }

    /// The blocks with their names, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Block)> {
        self.0.iter().map(|(key, block)| (key, block))
    }

    /// How many blocks there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for Blocks {
    type Output = Block;

    /// The block `name`; panics when there is none, as indexing a map does.
    #[allow(clippy::panic)]
    fn index(&self, name: &str) -> &Block {
        self.get(name)
            .unwrap_or_else(|| panic!("no `{name}` block"))
    }
}

impl<'a> IntoIterator for &'a mut Blocks {
    type Item = (&'a String, &'a mut Block);
    type IntoIter = Box<dyn Iterator<Item = (&'a String, &'a mut Block)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.0.iter_mut().map(|(key, block)| (&*key, block)))
    }
}

impl FromIterator<(String, Block)> for Blocks {
    fn from_iter<I: IntoIterator<Item = (String, Block)>>(blocks: I) -> Blocks {
        let mut all = Blocks::default();
        for (name, block) in blocks {
            all.insert(name, block);
        }
        all
    }
}

impl Serialize for Blocks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Blocks {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Blocks, D::Error> {
        BTreeMap::<String, Block>::deserialize(deserializer)
            .map(|blocks| Blocks(blocks.into_iter().collect()))
    }
}

/// One IdP's native attributes of a person or group.
///
/// Kept as compact JSON text: a parsed tree costs several times the memory of its text, and
/// a load-test directory holds 100,000 people. Read it with [`Block::attributes`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block(Box<str>);

impl Block {
    /// A block holding `attributes`.
    pub fn new(attributes: &Map<String, Value>) -> Block {
        // Serialising a map of JSON values cannot fail.
        Block(
            serde_json::to_string(attributes)
                .unwrap_or_else(|_| String::from("{}"))
                .into_boxed_str(),
        )
    }

    /// The attributes, parsed.
    pub fn attributes(&self) -> Map<String, Value> {
        serde_json::from_str(&self.0).unwrap_or_default()
    }

    /// The attribute `name`, if set.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.attributes().remove(name)
    }

    /// Changes the attributes with `change` and keeps the result.
    pub fn edit<R>(&mut self, change: impl FnOnce(&mut Map<String, Value>) -> R) -> R {
        let mut attributes = self.attributes();
        let result = change(&mut attributes);
        *self = Block::new(&attributes);
        result
    }

    /// Sets the attribute `name` to `value`.
    pub fn set(&mut self, name: &str, value: Value) {
        self.edit(|attributes| attributes.insert(name.to_owned(), value));
    }

    /// Removes the attribute `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.edit(|attributes| attributes.shift_remove(name))
    }
}

impl From<Map<String, Value>> for Block {
    fn from(attributes: Map<String, Value>) -> Block {
        Block::new(&attributes)
    }
}

impl Serialize for Block {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.attributes().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Block, D::Error> {
        Map::<String, Value>::deserialize(deserializer).map(|attributes| Block::new(&attributes))
    }
}

/// A group: its members by person key, and its native attributes per IdP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryGroup {
    /// Stable key.
    pub key: String,
    /// Person keys.
    #[serde(default)]
    pub members: Vec<String>,
    /// Native attributes by IdP block name.
    #[serde(flatten)]
    pub blocks: Blocks,
}

/// Why a directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The file cannot be read or written.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a directory in the documented format.
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column when the YAML parser knows them.
        message: String,
    },
}

impl Directory {
    /// Reads and checks a directory file.
    ///
    /// A `.json` file is read as JSON, streamed, so a generated directory of 100,000 users is
    /// read without holding the text or a parse tree of all of it; any other file as YAML.
    pub fn load(path: &Path) -> Result<Directory, DirectoryError> {
        let malformed = |message| DirectoryError::Malformed {
            path: path.to_path_buf(),
            message,
        };
        if is_json(path) {
            let file = std::fs::File::open(path).map_err(|source| DirectoryError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            let mut directory: Directory = serde_json::from_reader(std::io::BufReader::new(file))
                .map_err(|error| malformed(error.to_string()))?;
            directory.check().map_err(malformed)?;
            directory.users.shrink_to_fit();
            directory.groups.shrink_to_fit();
            return Ok(directory);
        }
        let text = std::fs::read_to_string(path).map_err(|source| DirectoryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Directory::parse(&text).map_err(malformed)
    }

    /// Parses and checks directory YAML.
    pub fn parse(text: &str) -> Result<Directory, String> {
        let directory: Directory =
            serde_norway::from_str(text).map_err(|error| error.to_string())?;
        directory.check()?;
        Ok(directory)
    }

    /// The directory as YAML.
    pub fn to_yaml(&self) -> Result<String, String> {
        serde_norway::to_string(self).map_err(|error| error.to_string())
    }

    /// Writes the directory to `path`: JSON when the name ends in `.json`, else YAML.
    pub fn save(&self, path: &Path) -> Result<(), DirectoryError> {
        let text = if is_json(path) {
            serde_json::to_string(self).map_err(|error| error.to_string())
        } else {
            self.to_yaml()
        }
        .map_err(|message| DirectoryError::Malformed {
            path: path.to_path_buf(),
            message,
        })?;
        std::fs::write(path, text).map_err(|source| DirectoryError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The person with `key`.
    pub fn user(&self, key: &str) -> Option<&DirectoryUser> {
        self.users.iter().find(|user| user.key == key)
    }

    /// Keys are unique, and groups name only people of the directory.
    fn check(&self) -> Result<(), String> {
        let mut keys = HashSet::new();
        for user in &self.users {
            if !keys.insert(user.key.as_str()) {
                return Err(format!("user key `{}` appears twice", user.key));
            }
        }
        for (block, overrides) in &self.mappings {
            for (list, mappings, schema) in [
                ("user", &overrides.user, ResourceSchema::user()),
                ("group", &overrides.group, ResourceSchema::group()),
            ] {
                compile_rules(mappings, schema).map_err(|(index, message)| {
                    format!("mappings.{block}.{list}[{index}].scim: {message}")
                })?;
            }
        }
        let mut group_keys = HashSet::new();
        for group in &self.groups {
            if !group_keys.insert(group.key.as_str()) {
                return Err(format!("group key `{}` appears twice", group.key));
            }
            if let Some(unknown) = group
                .members
                .iter()
                .find(|member| !keys.contains(member.as_str()))
            {
                return Err(format!(
                    "group `{}` has the member `{unknown}`, who is not a user of the directory",
                    group.key
                ));
            }
        }
        Ok(())
    }
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn acme() -> Directory {
        Directory::load(&crate::fixtures_dir().join("directories/acme.yaml")).unwrap()
    }

    #[test]
    fn acme_has_the_hard_cases() {
        let acme = acme();
        assert!(acme.users.len() >= 25);
        assert!(acme.groups.len() >= 5);
        let entra = |key: &str| acme.user(key).unwrap().blocks["entra"].attributes();
        assert!(entra("miles")["surname"].as_str().unwrap().contains('\''));
        assert!(
            entra("bobby")["displayName"]
                .as_str()
                .unwrap()
                .contains('"')
        );
        assert_eq!(
            entra("lynne")["userPrincipalName"],
            "LYNNE.ROBBINS@ACME.TEST"
        );
        assert!(
            entra("pat")["userPrincipalName"]
                .as_str()
                .unwrap()
                .contains("#EXT#")
        );
        assert_eq!(entra("debra")["accountEnabled"], false);
        assert_eq!(entra("adele")["manager"], "dana");
        assert!(!acme.user("pat").unwrap().blocks.contains_key("okta"));
    }

    #[test]
    fn an_unknown_member_is_an_error_naming_the_group() {
        let text = "name: x\nusers:\n  - key: a\ngroups:\n  - key: g\n    members: [a, b]\n";
        let error = Directory::parse(text).unwrap_err();
        assert!(error.contains("`g`") && error.contains("`b`"), "{error}");
    }

    #[test]
    fn a_mapping_override_with_a_bad_path_is_an_error_naming_it() {
        let text = "name: x\nmappings:\n  entra:\n    user:\n      - scim: emails[type co \"w\"].value\n        native: mail\n        source: tenant\n";
        let error = Directory::parse(text).unwrap_err();
        assert!(
            error.starts_with("mappings.entra.user[0].scim: "),
            "{error}"
        );
    }

    #[test]
    fn a_yaml_error_names_its_line() {
        let error = Directory::parse("name: x\nusers:\n  - key: [unclosed\n").unwrap_err();
        assert!(
            error.contains("line 3") || error.contains("line 4"),
            "{error}"
        );
    }

    #[test]
    fn a_json_directory_reads_like_the_yaml_one() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("acme.json");
        acme().save(&path).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().starts_with('{'));
        assert_eq!(Directory::load(&path).unwrap(), acme());
        std::fs::write(&path, "{\"name\": \"x\",\n \"users\": [{\"key\": 1}]}").unwrap();
        let error = Directory::load(&path).unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn a_directory_survives_a_yaml_round_trip() {
        let acme = acme();
        assert_eq!(Directory::parse(&acme.to_yaml().unwrap()).unwrap(), acme);
    }
}
