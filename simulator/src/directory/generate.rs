//! Synthetic directories: `idpsim directory generate --users N --groups M --seed S`.
//!
//! The same options always give the same directory (ChaCha8 seeded with `seed`), so a load
//! test or a failing run can be reproduced from its command line.

use super::{Block, Blocks, Directory, DirectoryGroup, DirectoryUser};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// How many people.
    pub users: usize,
    /// How many groups.
    pub groups: usize,
    /// The random seed.
    pub seed: u64,
    /// The IdP blocks each person gets (`entra`, `okta`, `jumpcloud`, `google`, `generic`).
    pub blocks: Vec<String>,
}

/// Every block the generator knows.
pub const ALL_BLOCKS: [&str; 5] = ["entra", "okta", "jumpcloud", "google", "generic"];

const GIVEN_NAMES: [&str; 16] = [
    "Ada",
    "Bruno",
    "Chloé",
    "Dmitri",
    "Eun-ji",
    "Farah",
    "Gustavo",
    "Hana",
    "Ingrid",
    "Jamal",
    "Kofi",
    "Léa",
    "Mateo",
    "Nadia",
    "Olúwadé",
    "Priya",
];
const FAMILY_NAMES: [&str; 16] = [
    "Anderson",
    "Bergström",
    "Chen",
    "D'Angelo",
    "Eriksen",
    "Fernández",
    "Gallagher",
    "Haddad",
    "Ivanova",
    "Jones",
    "Kowalski",
    "Lindqvist",
    "Müller",
    "Nakamura",
    "O'Neil",
    "Patel",
];
const DEPARTMENTS: [&str; 6] = [
    "Engineering",
    "Sales",
    "Support",
    "Finance",
    "Marketing",
    "Legal",
];
const TITLES: [&str; 6] = [
    "Engineer",
    "Account Executive",
    "Support Agent",
    "Analyst",
    "Designer",
    "Counsel",
];

/// Generates a directory: people with every requested block, about one in twenty disabled,
/// and groups whose members are drawn from the people (each person in one or two groups).
pub fn generate(options: &GenerateOptions) -> Directory {
    let mut random = ChaCha8Rng::seed_from_u64(options.seed);
    let users: Vec<DirectoryUser> = (0..options.users)
        .map(|index| person(index, &mut random, &options.blocks))
        .collect();
    let mut members: Vec<Vec<String>> = vec![Vec::new(); options.groups];
    if options.groups > 0 {
        for user in &users {
            let memberships = random.random_range(1..=2);
            for _ in 0..memberships {
                let group = random.random_range(0..options.groups);
                if members
                    .get(group)
                    .is_some_and(|list| !list.contains(&user.key))
                    && let Some(list) = members.get_mut(group)
                {
                    list.push(user.key.clone());
                }
            }
        }
    }
    let groups = members
        .into_iter()
        .enumerate()
        .map(|(index, members)| group(index, members, &mut random, &options.blocks))
        .collect();
    Directory {
        name: format!("generated-{}", options.seed),
        users,
        groups,
        mappings: BTreeMap::new(),
    }
}

fn person(index: usize, random: &mut ChaCha8Rng, blocks: &[String]) -> DirectoryUser {
    let given = pick(&GIVEN_NAMES, random);
    let family = pick(&FAMILY_NAMES, random);
    let local = format!("{}.{}{index}", ascii_slug(given), ascii_slug(family));
    let email = format!("{local}@example.test");
    let display = format!("{given} {family}");
    let enabled = random.random_range(0..20) != 0;
    let department = pick(&DEPARTMENTS, random);
    let title = pick(&TITLES, random);
    let phone = format!(
        "+1 555 {:03} {:04}",
        random.random_range(100..1000),
        random.random_range(0..10000)
    );
    let mut user_blocks = Blocks::default();
    for block in blocks {
        let attributes = match block.as_str() {
            "entra" => json!({
                "objectId": guid(random),
                "userPrincipalName": email,
                "displayName": display,
                "givenName": given,
                "surname": family,
                "mail": email,
                "mailNickname": local,
                "accountEnabled": enabled,
                "jobTitle": title,
                "department": department,
                "employeeId": format!("{:06}", index + 1),
                "businessPhones": [phone],
                "userType": "Member",
            }),
            "okta" => json!({
                "id": format!("00u{}", alphanumeric(17, random)),
                "status": if enabled { "ACTIVE" } else { "DEPROVISIONED" },
                "login": email,
                "firstName": given,
                "lastName": family,
                "email": email,
                "displayName": display,
                "title": title,
                "department": department,
                "locale": "en-US",
            }),
            "jumpcloud" => json!({
                "id": hex(24, random),
                "username": format!("{}{}{index}", ascii_slug(given).chars().next().unwrap_or('u'), ascii_slug(family)),
                "firstname": given,
                "lastname": family,
                "email": email,
                "displayname": display,
                "activated": enabled,
                "suspended": false,
                "jobTitle": title,
                "department": department,
                "phone": phone,
            }),
            "google" => json!({
                "id": digits(21, random),
                "primaryEmail": email,
                "name": { "givenName": given, "familyName": family },
                "suspended": !enabled,
                "orgTitle": title,
                "orgDepartment": department,
            }),
            _ => json!({
                "id": guid(random),
                "userName": email,
                "givenName": given,
                "familyName": family,
                "displayName": display,
                "email": email,
                "active": enabled,
                "title": title,
            }),
        };
        if let Value::Object(map) = attributes {
            user_blocks.insert(block.clone(), Block::new(&map));
        }
    }
    DirectoryUser {
        key: format!("user{index}"),
        password: None,
        blocks: user_blocks,
    }
}

fn group(
    index: usize,
    members: Vec<String>,
    random: &mut ChaCha8Rng,
    blocks: &[String],
) -> DirectoryGroup {
    let name = format!("{} {index}", pick(&DEPARTMENTS, random));
    let mut group_blocks = Blocks::default();
    for block in blocks {
        let attributes: Map<String, Value> = match block.as_str() {
            "entra" => object(json!({ "objectId": guid(random), "displayName": name })),
            "okta" => {
                object(json!({ "id": format!("00g{}", alphanumeric(17, random)), "name": name }))
            }
            "jumpcloud" => object(json!({ "id": hex(24, random), "name": name })),
            "google" => object(json!({
                "id": digits(21, random),
                "email": format!("group{index}@example.test"),
                "name": name,
            })),
            _ => object(json!({ "id": guid(random), "displayName": name })),
        };
        group_blocks.insert(block.clone(), Block::new(&attributes));
    }
    DirectoryGroup {
        key: format!("group{index}"),
        members,
        blocks: group_blocks,
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn pick<'a>(choices: &[&'a str], random: &mut ChaCha8Rng) -> &'a str {
    choices
        .get(random.random_range(0..choices.len()))
        .copied()
        .unwrap_or_default()
}

fn ascii_slug(name: &str) -> String {
    name.chars()
        .filter_map(|character| match character {
            'a'..='z' | 'A'..='Z' => Some(character.to_ascii_lowercase()),
            'é' | 'É' => Some('e'),
            'ö' | 'ü' | 'ú' => Some(if character == 'ö' { 'o' } else { 'u' }),
            'á' => Some('a'),
            _ => None,
        })
        .collect()
}

fn guid(random: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(random.random())
        .into_uuid()
        .to_string()
}

fn hex(length: usize, random: &mut ChaCha8Rng) -> String {
    (0..length)
        .map(|_| char::from_digit(random.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

fn digits(length: usize, random: &mut ChaCha8Rng) -> String {
    (0..length)
        .map(|position| {
            let low = u32::from(position == 0);
            char::from_digit(random.random_range(low..10), 10).unwrap_or('1')
        })
        .collect()
}

fn alphanumeric(length: usize, random: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..length)
        .map(|_| {
            ALPHABET
                .get(random.random_range(0..ALPHABET.len()))
                .map_or('0', |byte| char::from(*byte))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn options(seed: u64) -> GenerateOptions {
        GenerateOptions {
            users: 50,
            groups: 4,
            seed,
            blocks: ALL_BLOCKS.iter().map(|block| (*block).to_owned()).collect(),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_directory() {
        assert_eq!(generate(&options(7)), generate(&options(7)));
        assert_ne!(generate(&options(7)), generate(&options(8)));
    }

    #[test]
    fn a_generated_directory_is_valid_and_complete() {
        let directory = generate(&options(1));
        let reparsed = Directory::parse(&directory.to_yaml().unwrap()).unwrap();
        assert_eq!(reparsed, directory);
        assert_eq!(directory.users.len(), 50);
        assert_eq!(directory.groups.len(), 4);
        assert!(directory.users.iter().all(|user| user.blocks.len() == 5));
        let user_names: std::collections::HashSet<_> = directory
            .users
            .iter()
            .map(|user| user.blocks["entra"].get("userPrincipalName"))
            .collect();
        assert_eq!(user_names.len(), 50, "user principal names are unique");
    }

    #[test]
    fn only_the_requested_blocks_are_written() {
        let mut only_entra = options(3);
        only_entra.blocks = vec!["entra".into()];
        let directory = generate(&only_entra);
        assert!(
            directory
                .users
                .iter()
                .all(|user| user.blocks.keys().eq(["entra"]))
        );
    }
}
