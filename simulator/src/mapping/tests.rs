#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::bundled::{acme, persona};
use crate::directory::{ALL_BLOCKS, Directory, GenerateOptions, generate};
use crate::persona::Persona;
use proptest::prelude::*;
use serde_json::json;

fn map_person(persona: &Persona, directory: &Directory, key: &str) -> MappedValues {
    let block = directory.user(key).unwrap().blocks[&persona.directory_block].attributes();
    let record = NativeRecord {
        attributes: &block,
        computed: &persona.computed,
    };
    map_record(&persona.user_rules, record, &|key| {
        Some(format!("id-of-{key}"))
    })
    .unwrap()
}

#[test]
fn entra_maps_the_seed_attributes() {
    let entra = persona("entra");
    let mapped = map_person(&entra, &acme(), "adele");
    let acme = acme();
    let block = &acme.user("adele").unwrap().blocks["entra"].attributes();
    assert_eq!(mapped["userName"], block["userPrincipalName"]);
    assert_eq!(mapped["name.givenName"], block["givenName"]);
    assert_eq!(mapped["name.familyName"], block["surname"]);
    assert_eq!(mapped["externalId"], block["objectId"]);
    assert_eq!(mapped["active"], json!(true));
    assert_eq!(
        mapped["phoneNumbers[type eq \"work\"].value"],
        block["businessPhones"][0]
    );
    assert_eq!(
        mapped["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"],
        json!("id-of-dana")
    );
}

#[test]
fn the_switch_expression_turns_disabled_and_soft_deleted_users_inactive() {
    let entra = persona("entra");
    let acme = acme();
    assert_eq!(map_person(&entra, &acme, "debra")["active"], json!(false));
    assert_eq!(
        map_person(&entra, &acme, "henrietta")["active"],
        json!(false)
    );
}

#[test]
fn okta_deprovisioned_is_inactive_and_suspended_stays_active() {
    let okta = persona("okta");
    let mut acme = acme();
    assert_eq!(map_person(&okta, &acme, "debra")["active"], json!(false));
    let adele = acme
        .users
        .iter_mut()
        .find(|user| user.key == "adele")
        .unwrap();
    adele
        .blocks
        .get_mut("okta")
        .unwrap()
        .set("status", json!("SUSPENDED"));
    assert_eq!(map_person(&okta, &acme, "adele")["active"], json!(true));
}

#[test]
fn absent_attributes_are_omitted() {
    let entra = persona("entra");
    let mapped = map_person(&entra, &acme(), "alex");
    assert!(!mapped.contains_key("title"));
    assert!(mapped.values().all(|value| !value.is_null()));
}

#[test]
fn jumpcloud_reads_nested_address_attributes() {
    let jumpcloud = persona("jumpcloud");
    let mapped = map_person(&jumpcloud, &acme(), "adele");
    let acme = acme();
    let block = &acme.user("adele").unwrap().blocks["jumpcloud"].attributes();
    assert_eq!(
        mapped["addresses[type eq \"work\"].locality"],
        block["address"]["locality"]
    );
    assert_eq!(mapped["userName"], block["username"]);
}

#[test]
fn a_value_the_target_cannot_hold_is_an_error_naming_it() {
    let generic = persona("generic");
    let block = json!({ "id": "1", "userName": "a", "active": "maybe" });
    let record = NativeRecord {
        attributes: block.as_object().unwrap(),
        computed: &generic.computed,
    };
    let error = map_record(&generic.user_rules, record, &|_| None).unwrap_err();
    assert_eq!(error.target, "active");
}

#[test]
fn target_paths_write_and_read_back() {
    let schema = idpsim_scim::ResourceSchema::user();
    let mut body = Map::new();
    for (path, value) in [
        ("emails[type eq \"work\"].value", "a@x.test"),
        ("addresses[type eq \"work\"].locality", "Paris"),
        ("addresses[type eq \"work\"].country", "FR"),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "R&D",
        ),
        ("name.givenName", "Zoë"),
    ] {
        let target = TargetPath::parse(path, schema).unwrap();
        target.write(&mut body, json!(value), None);
        assert_eq!(target.read(&body), Some(json!(value)), "{path}");
    }
    assert_eq!(body["addresses"].as_array().unwrap().len(), 1);
    let locality = TargetPath::parse("addresses[type eq \"work\"].locality", schema).unwrap();
    locality.remove(&mut body);
    assert_eq!(locality.read(&body), None);
    assert_eq!(body["addresses"][0]["country"], "FR");
}

#[test]
fn a_target_filter_other_than_equalities_is_refused() {
    let schema = idpsim_scim::ResourceSchema::user();
    assert!(TargetPath::parse("emails[type co \"work\"].value", schema).is_err());
    assert!(TargetPath::parse("nickName[type eq \"x\"]", schema).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn mapping_never_panics_and_never_emits_null(seed in any::<u64>(), users in 1usize..12) {
        let directory = generate(&GenerateOptions {
            users,
            groups: 2,
            seed,
            blocks: ALL_BLOCKS.iter().map(|block| (*block).to_owned()).collect(),
        });
        for name in ["entra", "entra-compliant", "okta", "okta-aiw", "jumpcloud", "generic"] {
            let persona = persona(name);
            for user in &directory.users {
                let attributes = user.blocks[&persona.directory_block].attributes();
                let record = NativeRecord {
                    attributes: &attributes,
                    computed: &persona.computed,
                };
                let mapped = map_record(&persona.user_rules, record, &|key| Some(key.to_owned())).unwrap();
                prop_assert!(mapped.values().all(|value| !value.is_null()));
                prop_assert!(mapped.contains_key("userName"));
            }
        }
    }

    #[test]
    fn mapping_arbitrary_native_values_never_panics_or_emits_null(
        values in proptest::collection::btree_map(
            prop_oneof![Just("userPrincipalName"), Just("accountEnabled"), Just("mail"), Just("businessPhones"), Just("deletedDateTime"), Just("manager"), Just("givenName")],
            prop_oneof![
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|number| json!(number)),
                ".{0,12}".prop_map(Value::String),
                proptest::collection::vec(".{0,6}".prop_map(Value::String), 0..3).prop_map(Value::Array),
                Just(Value::Null),
            ],
            0..7,
        )
    ) {
        let entra = persona("entra");
        let attributes: Map<String, Value> = values.into_iter().map(|(key, value)| (key.to_owned(), value)).collect();
        let record = NativeRecord { attributes: &attributes, computed: &entra.computed };
        if let Ok(mapped) = map_record(&entra.user_rules, record, &|key| Some(key.to_owned())) {
            prop_assert!(mapped.values().all(|value| !value.is_null()));
        }
    }
}
