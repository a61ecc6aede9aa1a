//! Property tests: any sequence of operations either fails and changes nothing, or yields a
//! resource that validates as it stands; adding values is idempotent.

use super::{PATCH_OP_SCHEMA, PatchRequest, apply_patch};
use crate::resource::prepare_write;
use crate::schema::{ENTERPRISE_USER_SCHEMA, ResourceSchema, USER_SCHEMA};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A valid canonical user with a few optional attributes.
fn user() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::sample::select(vec!["adele@contoso.test", "Bo", "c"]),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(vec!["Adele", "Bo"])),
        prop::collection::vec(email(), 0..3),
        prop::option::of(prop::sample::select(vec!["1042", "7"])),
    )
        .prop_filter_map(
            "users with two primary emails are invalid",
            |(user_name, active, given_name, emails, employee_number)| {
                let mut body =
                    json!({"schemas": [USER_SCHEMA], "userName": user_name, "emails": emails});
                if let Some(active) = active {
                    body["active"] = json!(active);
                }
                if let Some(given_name) = given_name {
                    body["name"] = json!({"givenName": given_name});
                }
                if let Some(number) = employee_number {
                    body[ENTERPRISE_USER_SCHEMA] = json!({"employeeNumber": number});
                }
                prepare_write(&body, ResourceSchema::user(), None).ok()
            },
        )
}

fn email() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["a@x.test", "b@x.test", "C@x.test"]),
        prop::option::of(prop::sample::select(vec!["work", "home"])),
        prop::option::of(prop::sample::select(vec![
            json!(true),
            json!(false),
            json!("True"),
        ])),
    )
        .prop_map(|(value, kind, primary)| {
            let mut email = json!({"value": value});
            if let Some(kind) = kind {
                email["type"] = json!(kind);
            }
            if let Some(primary) = primary {
                email["primary"] = primary;
            }
            email
        })
}

/// Paths, and `None` (no `path` member; `null` parses the same way).
fn path() -> impl Strategy<Value = Option<String>> {
    let paths: Vec<Option<String>> = [
        "userName",
        "displayName",
        "active",
        "externalId",
        "name",
        "name.givenName",
        "emails",
        "emails.value",
        r#"emails[type eq "work"]"#,
        r#"emails[type eq "work"].value"#,
        r#"emails[primary eq true].type"#,
        r#"emails[value co "@"].primary"#,
        r#"phoneNumbers[type eq "mobile"].value"#,
        ENTERPRISE_USER_SCHEMA,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "manager",
        "manager.value",
        "groups",
        "id",
        "roles",
    ]
    .into_iter()
    .map(|path| Some(path.to_string()))
    .chain([None])
    .collect();
    prop::sample::select(paths)
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            Value::Null,
            json!("x"),
            json!("True"),
            json!(false),
            json!(42),
            json!([]),
            json!({}),
            json!({"givenName": "Ada"}),
            json!({"value": "m1"}),
        ]),
        email(),
        prop::collection::vec(email(), 1..3).prop_map(Value::Array),
    ]
}

/// Values of path-less operations: objects whose keys name attributes (personas.md §1.1, §2.1).
fn pathless_value() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!({"active": "False", "displayName": "D"}),
        json!({"name.givenName": "Q", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "9"}),
        json!({ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "m1"}}}),
        json!({"id": "abf4dd94", "nickName": "N"}),
        json!({"name": {"familyName": "V"}, "userName": "new"}),
        json!({"emails": [{"value": "d@x.test", "primary": true}]}),
        json!({"userName": null}),
        json!({"displayName": null, "title": "CEO"}),
    ])
}

fn operation() -> impl Strategy<Value = Value> {
    let add_or_replace = || prop::sample::select(vec!["add", "Replace", "Add", "replace"]);
    prop_oneof![
        (add_or_replace(), path(), value())
            .prop_map(|(op, path, value)| json!({"op": op, "path": path, "value": value})),
        (add_or_replace(), pathless_value())
            .prop_map(|(op, value)| json!({"op": op, "value": value})),
        (
            prop::sample::select(vec!["remove", "Remove"]),
            path(),
            prop::option::weighted(0.2, value()),
        )
            .prop_map(|(op, path, value)| {
                let mut operation = json!({"op": op, "path": path});
                if let Some(value) = value {
                    operation["value"] = value;
                }
                operation
            }),
    ]
}

fn body(operations: Vec<Value>) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn patch_either_fails_untouched_or_yields_a_valid_resource(
        user in user(),
        operations in prop::collection::vec(operation(), 1..5),
    ) {
        let Ok(request) = PatchRequest::parse(&body(operations)) else {
            return Ok(());
        };
        let before = user.clone();
        let schema = ResourceSchema::user();
        match apply_patch(&user, &request, schema) {
            Err(_) => prop_assert_eq!(&user, &before),
            Ok(patched) => {
                let revalidated = prepare_write(&Value::Object(patched.clone()), schema, None);
                prop_assert_eq!(revalidated, Ok(patched));
            }
        }
    }

    #[test]
    fn adding_values_twice_is_adding_them_once(
        user in user(),
        emails in prop::collection::vec(email(), 1..3),
    ) {
        let schema = ResourceSchema::user();
        let add = json!({"op": "add", "path": "emails", "value": emails});
        let once = PatchRequest::parse(&body(vec![add.clone()])).unwrap();
        let twice = PatchRequest::parse(&body(vec![add.clone(), add])).unwrap();
        let added_once = apply_patch(&user, &once, schema);
        prop_assert_eq!(&apply_patch(&user, &twice, schema), &added_once);
        if let Ok(added) = added_once {
            prop_assert_eq!(apply_patch(&added, &once, schema), Ok(added.clone()));
        }
    }
}
