use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA, ENTRA_GROUP_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::json;
use std::sync::OnceLock;

fn create_user(body: Value) -> ScimResult<Map<String, Value>> {
    prepare_write(&body, ResourceSchema::user(), None)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn invalid_value(result: ScimResult<Map<String, Value>>) -> String {
    match result {
        Err(ScimError::InvalidValue(message)) => message,
        other => panic!("expected invalidValue, got {other:?}"),
    }
}

fn invalid_syntax(result: ScimResult<Map<String, Value>>) -> String {
    match result {
        Err(ScimError::InvalidSyntax(message)) => message,
        other => panic!("expected invalidSyntax, got {other:?}"),
    }
}

/// A resource type exercising the attribute types and mutabilities User and Group lack.
pub(crate) fn badge_schema() -> &'static ResourceSchema {
    static BADGE: OnceLock<ResourceSchema> = OnceLock::new();
    BADGE.get_or_init(|| {
        let attribute = |name: &str, kind: &str, mutability: &str, required: bool| {
            json!({
                "name": name, "type": kind, "multiValued": false, "description": name,
                "required": required, "caseExact": false, "mutability": mutability,
                "returned": "default", "uniqueness": "none"
            })
        };
        let mut card = attribute("card", "complex", "readWrite", false);
        card["subAttributes"] = json!([
            attribute("serial", "string", "immutable", false),
            attribute("label", "string", "readWrite", false),
        ]);
        let mut tags = attribute("tags", "string", "readWrite", false);
        tags["multiValued"] = json!(true);
        let core: crate::schema::Schema = serde_json::from_value(json!({
            "id": "urn:example:params:scim:schemas:core:2.0:Badge",
            "name": "Badge",
            "description": "A test resource",
            "attributes": [
                attribute("code", "string", "readWrite", true),
                attribute("serial", "string", "immutable", false),
                attribute("count", "integer", "readWrite", false),
                attribute("ratio", "decimal", "readWrite", false),
                attribute("issued", "dateTime", "readWrite", false),
                attribute("photo", "binary", "readWrite", false),
                tags,
                card,
            ]
        }))
        .unwrap();
        ResourceSchema {
            name: "Badge",
            endpoint: "/Badges",
            description: "Badge",
            core: Box::leak(Box::new(core)),
            extensions: Vec::new(),
            marker_schemas: &[],
        }
    })
}

fn badge(body: Value, existing: Option<&Map<String, Value>>) -> ScimResult<Map<String, Value>> {
    let mut body = body;
    body["schemas"] = json!(["urn:example:params:scim:schemas:core:2.0:Badge"]);
    prepare_write(&body, badge_schema(), existing)
}

#[test]
fn entra_create_user_body_becomes_canonical() {
    // personas.md §1.1 "Create user": meta is ignored, `roles: []` is unassigned, and the
    // listed enterprise extension is dropped from `schemas` since no attribute uses it.
    let stored = create_user(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "externalId": "adele",
        "userName": "adele@contoso.test",
        "active": true,
        "displayName": "Adele Vance",
        "emails": [{"primary": true, "type": "work", "value": "adele@contoso.test"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Adele Vance", "familyName": "Vance", "givenName": "Adele"},
        "roles": []
    }))
    .unwrap();
    assert_eq!(
        Value::Object(stored.clone()),
        json!({
            "schemas": [USER_SCHEMA],
            "externalId": "adele",
            "userName": "adele@contoso.test",
            "name": {"formatted": "Adele Vance", "familyName": "Vance", "givenName": "Adele"},
            "displayName": "Adele Vance",
            "active": true,
            "emails": [{"value": "adele@contoso.test", "type": "work", "primary": true}]
        })
    );
    let keys: Vec<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "schemas",
            "externalId",
            "userName",
            "name",
            "displayName",
            "active",
            "emails"
        ],
        "schemas first, then schema order"
    );
}

#[test]
fn okta_create_user_ignores_read_only_groups_and_keeps_password() {
    // personas.md §2.1 "Create user".
    let stored = create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    }))
    .unwrap();
    assert!(!stored.contains_key("groups"));
    assert_eq!(stored["password"], "1mz050nq");
    assert_eq!(stored["locale"], "en-US");
}

#[test]
fn id_meta_and_read_only_attributes_in_a_body_are_ignored() {
    let stored = create_user(json!({
        "schemas": [USER_SCHEMA],
        "id": "client-chosen",
        "meta": {"resourceType": "User", "version": "W/\"1\""},
        "userName": "a",
        "groups": [{"value": "g1", "display": "Sales"}]
    }))
    .unwrap();
    assert_eq!(
        Value::Object(stored),
        json!({"schemas": [USER_SCHEMA], "userName": "a"})
    );
}

#[test]
fn attribute_names_match_ignoring_case_and_come_out_canonical() {
    let stored = create_user(json!({
        "Schemas": ["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"],
        "USERNAME": "a",
        "Name": {"GIVENNAME": "Ada"},
        "Emails": [{"Value": "a@example.test", "Primary": true}]
    }))
    .unwrap();
    assert_eq!(
        Value::Object(stored),
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "a",
            "name": {"givenName": "Ada"},
            "emails": [{"value": "a@example.test", "primary": true}]
        })
    );
}

#[test]
fn extension_attributes_nested_or_urn_qualified_are_stored_nested() {
    let stored = create_user(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "a",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "Sales"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "1042",
    }))
    .unwrap();
    assert_eq!(
        Value::Object(stored),
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "a",
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "1042", "department": "Sales"}
        })
    );
}

#[test]
fn extension_used_but_not_listed_in_schemas_is_added() {
    // personas.md §1.1 "Create user": Entra prefixes attributes with an extension URN it does
    // not list in `schemas`.
    let stored = create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "a",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:costCenter": "4130"
    }))
    .unwrap();
    assert_eq!(
        stored["schemas"],
        json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
    );
    assert_eq!(stored[ENTERPRISE_USER_SCHEMA]["costCenter"], "4130");
}

#[test]
fn unknown_attributes_are_invalid_syntax_naming_them() {
    for (body, named) in [
        (json!({"shoeSize": 42}), "shoeSize"),
        (json!({"name": {"nick": "x"}}), "nick"),
        (
            json!({"emails": [{"value": "a", "colour": "red"}]}),
            "colour",
        ),
        (json!({"name.givenName": "x"}), "name.givenName"),
        (json!({"employeeNumber": "1"}), "employeeNumber"),
        (json!({ENTERPRISE_USER_SCHEMA: {"shoeSize": 1}}), "shoeSize"),
        (
            json!({"urn:example:ext:2.0:User": {"a": 1}}),
            "urn:example:ext:2.0:User",
        ),
        (
            json!({"urn:example:ext:2.0:User:a": 1}),
            "urn:example:ext:2.0:User:a",
        ),
    ] {
        let mut body = body;
        body["schemas"] = json!([USER_SCHEMA]);
        body["userName"] = json!("a");
        let message = invalid_syntax(create_user(body.clone()));
        assert!(message.contains(named), "{body}: {message}");
    }
}

#[test]
fn schemas_must_be_an_array_listing_the_core_schema() {
    invalid_syntax(create_user(json!({"userName": "a"})));
    invalid_syntax(create_user(
        json!({"schemas": USER_SCHEMA, "userName": "a"}),
    ));
    invalid_syntax(create_user(json!({"schemas": [1], "userName": "a"})));
    let message = invalid_syntax(create_user(
        json!({"schemas": [ENTERPRISE_USER_SCHEMA], "userName": "a"}),
    ));
    assert!(message.contains(USER_SCHEMA), "{message}");
}

#[test]
fn unknown_schema_uri_is_invalid_syntax_naming_it() {
    let message = invalid_syntax(create_user(json!({
        "schemas": [USER_SCHEMA, "urn:example:unknown"],
        "userName": "a"
    })));
    assert!(message.contains("urn:example:unknown"), "{message}");
    // A group marker schema is not a User schema.
    invalid_syntax(create_user(
        json!({"schemas": [USER_SCHEMA, ENTRA_GROUP_SCHEMA], "userName": "a"}),
    ));
}

#[test]
fn body_that_is_not_an_object_is_invalid_syntax() {
    invalid_syntax(create_user(json!([{"userName": "a"}])));
}

#[test]
fn attribute_given_twice_in_different_case_is_invalid_syntax() {
    let message = invalid_syntax(create_user(
        json!({"schemas": [USER_SCHEMA], "userName": "a", "USERNAME": "b"}),
    ));
    assert!(message.contains("userName"), "{message}");
}

#[test]
fn nulls_and_empty_values_are_unassigned() {
    let stored = create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "a",
        "nickName": null,
        "emails": [],
        "name": {"givenName": null},
        "phoneNumbers": [{"value": null}],
        ENTERPRISE_USER_SCHEMA: {"department": null}
    }))
    .unwrap();
    assert_eq!(
        Value::Object(stored),
        json!({"schemas": [USER_SCHEMA], "userName": "a"})
    );
}

#[test]
fn string_booleans_are_normalised_to_json_booleans() {
    // personas.md §1.1: Entra sends "True"/"False".
    for (text, flag) in [
        ("True", true),
        ("False", false),
        ("FALSE", false),
        ("true", true),
    ] {
        let stored = create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "a",
            "active": text,
            "emails": [{"value": "a@x.test", "primary": text}]
        }))
        .unwrap();
        assert_eq!(stored["active"], json!(flag));
        assert_eq!(stored["emails"][0]["primary"], json!(flag));
    }
}

#[test]
fn wrong_types_are_invalid_value_naming_attribute_and_type() {
    for (attribute, value, named, expected) in [
        ("active", json!("yes"), "active", "boolean"),
        ("active", json!(1), "active", "boolean"),
        ("displayName", json!(42), "displayName", "string"),
        ("displayName", json!(["a"]), "displayName", "string"),
        ("name", json!("Ada"), "name", "object"),
        ("emails", json!({"value": "a@x.test"}), "emails", "array"),
        ("emails", json!([{"value": 7}]), "emails.value", "string"),
        ("profileUrl", json!(true), "profileUrl", "reference"),
        (
            "x509Certificates",
            json!([{"value": 12}]),
            "x509Certificates.value",
            "base64",
        ),
    ] {
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a", attribute: value});
        let message = invalid_value(create_user(body));
        assert!(
            message.contains(named) && message.contains(expected),
            "{attribute}: {message}"
        );
    }
}

#[test]
fn numbers_and_date_times_are_type_checked() {
    let stored = badge(
        json!({"code": "c", "count": 3, "ratio": 0.5, "issued": "2008-01-23T04:56:22Z"}),
        None,
    )
    .unwrap();
    assert_eq!(stored["count"], 3);
    assert_eq!(stored["ratio"], 0.5);
    assert!(badge(json!({"code": "c", "ratio": 2}), None).is_ok());
    for (attribute, value) in [
        ("count", json!(1.5)),
        ("count", json!("3")),
        ("ratio", json!("0.5")),
        ("issued", json!("yesterday")),
        ("issued", json!("2008-01-23")),
        ("photo", json!(["AAAA"])),
        ("tags", json!("one")),
    ] {
        let message = invalid_value(badge(json!({"code": "c", attribute: value}), None));
        assert!(message.contains(attribute), "{attribute}: {message}");
    }
}

#[test]
fn missing_or_blank_required_attribute_is_invalid_value() {
    let message = invalid_value(create_user(json!({"schemas": [USER_SCHEMA]})));
    assert!(message.contains("userName"), "{message}");
    invalid_value(create_user(
        json!({"schemas": [USER_SCHEMA], "userName": "  "}),
    ));
    invalid_value(create_user(
        json!({"schemas": [USER_SCHEMA], "userName": null}),
    ));
    let message = invalid_value(prepare_write(
        &json!({"schemas": [GROUP_SCHEMA], "members": []}),
        ResourceSchema::group(),
        None,
    ));
    assert!(message.contains("displayName"), "{message}");
}

#[test]
fn two_primary_values_are_invalid_value() {
    let message = invalid_value(create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "a",
        "emails": [
            {"value": "a@x.test", "primary": true},
            {"value": "b@x.test", "primary": "True"}
        ]
    })));
    assert!(
        message.contains("emails") && message.contains("primary"),
        "{message}"
    );
}

#[test]
fn exact_duplicate_values_are_collapsed() {
    let stored = create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "a",
        "emails": [
            {"value": "a@x.test", "type": "work"},
            {"type": "work", "VALUE": "a@x.test"},
            {"value": "a@x.test", "type": "home"}
        ]
    }))
    .unwrap();
    assert_eq!(stored["emails"].as_array().unwrap().len(), 2);
}

#[test]
fn read_only_sub_attributes_are_dropped() {
    // Okta sends member `display` (personas.md §2.1); it is computed by the server.
    let stored = prepare_write(
        &json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": "Sales",
            "members": [{"value": "u1", "display": "Ada"}, {"value": "u2", "$ref": null}]
        }),
        ResourceSchema::group(),
        None,
    )
    .unwrap();
    assert_eq!(stored["members"], json!([{"value": "u1"}, {"value": "u2"}]));
    let stored = create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "a",
        ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m1", "displayName": "Boss"}}
    }))
    .unwrap();
    assert_eq!(
        stored[ENTERPRISE_USER_SCHEMA],
        json!({"manager": {"value": "m1"}})
    );
}

#[test]
fn entra_group_marker_schema_is_kept_in_canonical_spelling() {
    // personas.md §1.1 "Groups", step 2.
    let stored = prepare_write(
        &json!({
            "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA.to_uppercase()],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Sales",
            "meta": {"resourceType": "Group"}
        }),
        ResourceSchema::group(),
        None,
    )
    .unwrap();
    assert_eq!(stored["schemas"], json!([GROUP_SCHEMA, ENTRA_GROUP_SCHEMA]));
}

#[test]
fn put_clears_omitted_attributes_including_password() {
    let existing = create_user(json!({
        "schemas": [USER_SCHEMA],
        "userName": "a",
        "nickName": "Babs",
        "password": "secret",
        ENTERPRISE_USER_SCHEMA: {"department": "Sales"}
    }))
    .unwrap();
    let replaced = prepare_write(
        &json!({"schemas": [USER_SCHEMA], "userName": "a", "title": "CEO"}),
        ResourceSchema::user(),
        Some(&existing),
    )
    .unwrap();
    assert_eq!(
        Value::Object(replaced),
        json!({"schemas": [USER_SCHEMA], "userName": "a", "title": "CEO"})
    );
}

#[test]
fn okta_put_with_id_meta_and_display_is_accepted() {
    // personas.md §2.1 "Update user": the PUT body is the fetched resource plus changes.
    let existing = object(json!({"schemas": [USER_SCHEMA], "userName": "test.user@okta.local"}));
    let replaced = prepare_write(
        &json!({
            "schemas": [USER_SCHEMA],
            "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
            "userName": "test.user@okta.local",
            "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work",
                        "display": "test.user@okta.local"}],
            "active": true,
            "groups": [],
            "meta": {"resourceType": "User"}
        }),
        ResourceSchema::user(),
        Some(&existing),
    )
    .unwrap();
    assert!(!replaced.contains_key("id") && !replaced.contains_key("meta"));
    assert_eq!(replaced["emails"][0]["display"], "test.user@okta.local");
}

#[test]
fn put_may_not_change_a_set_immutable_attribute() {
    let existing = badge(
        json!({"code": "c", "serial": "S1", "card": {"serial": "C1"}}),
        None,
    )
    .unwrap();
    let err = badge(json!({"code": "c", "serial": "S2"}), Some(&existing)).unwrap_err();
    assert_eq!(
        err,
        ScimError::Mutability {
            attribute: "serial".into(),
            mutability: "immutable".into()
        }
    );
    let err = badge(
        json!({"code": "c", "card": {"serial": "C2"}}),
        Some(&existing),
    )
    .unwrap_err();
    assert!(
        matches!(err, ScimError::Mutability { ref attribute, .. } if attribute == "card.serial"),
        "{err:?}"
    );
}

#[test]
fn put_keeps_immutable_values_it_repeats_or_omits() {
    let existing = badge(
        json!({"code": "c", "serial": "S1", "card": {"serial": "C1"}}),
        None,
    )
    .unwrap();
    let same = badge(
        json!({"code": "d", "serial": "s1", "card": {"serial": "C1", "label": "x"}}),
        Some(&existing),
    )
    .unwrap();
    assert_eq!(same["code"], "d");
    let omitted = badge(json!({"code": "d"}), Some(&existing)).unwrap();
    assert_eq!(omitted["serial"], "S1");
    assert_eq!(omitted["card"], json!({"serial": "C1"}));
}

#[test]
fn put_may_set_an_unset_immutable_attribute() {
    let existing = badge(json!({"code": "c"}), None).unwrap();
    let replaced = badge(json!({"code": "c", "serial": "S1"}), Some(&existing)).unwrap();
    assert_eq!(replaced["serial"], "S1");
}

#[test]
fn put_may_replace_group_members() {
    // Member sub-attributes are immutable (RFC 7643 §4.2), but the list itself is readWrite.
    let group = ResourceSchema::group();
    let existing = prepare_write(
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": [{"value": "u1"}]}),
        group,
        None,
    )
    .unwrap();
    let replaced = prepare_write(
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales",
                "members": [{"value": "u2", "display": "Bo"}]}),
        group,
        Some(&existing),
    )
    .unwrap();
    assert_eq!(replaced["members"], json!([{"value": "u2"}]));
}

#[test]
fn refresh_schemas_follows_the_extensions_present() {
    let user = ResourceSchema::user();
    let mut resource = object(json!({
        "userName": "a",
        ENTERPRISE_USER_SCHEMA: {"department": "Sales"}
    }));
    refresh_schemas(&mut resource, user);
    assert_eq!(
        resource["schemas"],
        json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
    );
    assert_eq!(resource.keys().next().map(String::as_str), Some("schemas"));
    resource.insert(ENTERPRISE_USER_SCHEMA.into(), json!({}));
    refresh_schemas(&mut resource, user);
    assert_eq!(resource["schemas"], json!([USER_SCHEMA]));
    assert!(!resource.contains_key(ENTERPRISE_USER_SCHEMA));
}

#[test]
fn refresh_schemas_keeps_listed_marker_schemas() {
    let mut resource = object(json!({
        "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA],
        "displayName": "Sales"
    }));
    refresh_schemas(&mut resource, ResourceSchema::group());
    assert_eq!(
        resource["schemas"],
        json!([GROUP_SCHEMA, ENTRA_GROUP_SCHEMA])
    );
}

#[test]
fn binary_values_must_be_base64() {
    let with_certificate = |value: &str| {
        create_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "bjensen",
            "x509Certificates": [{"value": value}]
        }))
    };
    assert!(with_certificate("TUlJRGZqQ0NBeWVnQXdJQkFnSUJBREFOQmdr").is_ok());
    assert!(with_certificate("TWFu").is_ok());
    for not_base64 in ["!!!notb64", "TWF", "TW Fu", "TWFu\nTWFu", "TWF_"] {
        let message = invalid_value(with_certificate(not_base64));
        assert!(message.contains("base64"), "{not_base64}: {message}");
    }
}
