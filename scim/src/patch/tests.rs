use super::*;
use crate::resource::prepare_write;
use crate::resource::tests::badge_schema;
use crate::schema::{
    ENTERPRISE_USER_SCHEMA, ENTRA_GROUP_SCHEMA, GROUP_SCHEMA, ResourceSchema, USER_SCHEMA,
};
use serde_json::{Map, json};

const MEMBER: &str = "2819c223-7f76-453a-919d-413861904646";

fn request(operations: Value) -> ScimResult<PatchRequest> {
    PatchRequest::parse(&json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations}))
}

fn patch_with(
    resource: &Map<String, Value>,
    operations: Value,
    schema: &ResourceSchema,
) -> ScimResult<Map<String, Value>> {
    apply_patch(resource, &request(operations)?, schema)
}

fn patch_user(resource: &Map<String, Value>, operations: Value) -> ScimResult<Map<String, Value>> {
    patch_with(resource, operations, ResourceSchema::user())
}

fn patch_group(resource: &Map<String, Value>, operations: Value) -> ScimResult<Map<String, Value>> {
    patch_with(resource, operations, ResourceSchema::group())
}

/// Adele as Entra creates her (personas.md §1.1 "Create user").
fn adele() -> Map<String, Value> {
    prepare_write(
        &json!({
            "schemas": [USER_SCHEMA],
            "externalId": "adele",
            "userName": "adele@contoso.test",
            "active": true,
            "displayName": "Adele Vance",
            "emails": [{"primary": true, "type": "work", "value": "adele@contoso.test"}],
            "name": {"formatted": "Adele Vance", "familyName": "Vance", "givenName": "Adele"}
        }),
        ResourceSchema::user(),
        None,
    )
    .unwrap()
}

fn sales(members: &[&str]) -> Map<String, Value> {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    prepare_write(
        &json!({
            "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA],
            "displayName": "Sales",
            "members": members
        }),
        ResourceSchema::group(),
        None,
    )
    .unwrap()
}

fn member_ids(group: &Map<String, Value>) -> Vec<&str> {
    group
        .get("members")
        .and_then(Value::as_array)
        .map(|members| members.iter().filter_map(|m| m["value"].as_str()).collect())
        .unwrap_or_default()
}

fn mutability(attribute: &str, mutability: &str) -> ScimError {
    ScimError::Mutability {
        attribute: attribute.into(),
        mutability: mutability.into(),
    }
}

// ---- parsing ----

#[test]
fn patch_with_capitalised_op_is_accepted() {
    let parsed = request(json!([
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "REPLACE", "path": "title", "value": "CEO"},
        {"op": "Remove", "path": "title"}
    ]))
    .unwrap();
    let ops: Vec<PatchOp> = parsed.operations.iter().map(|o| o.op).collect();
    assert_eq!(ops, [PatchOp::Add, PatchOp::Replace, PatchOp::Remove]);
}

#[test]
fn patch_body_must_list_the_patch_op_schema() {
    for body in [
        json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
        json!({"schemas": [USER_SCHEMA], "Operations": [{"op": "add", "path": "title", "value": "x"}]}),
        json!("not an object"),
    ] {
        assert!(
            matches!(PatchRequest::parse(&body), Err(ScimError::InvalidSyntax(_))),
            "{body}"
        );
    }
}

#[test]
fn operations_must_be_a_non_empty_array_of_well_formed_operations() {
    for operations in [
        json!([]),
        json!({"op": "add"}),
        json!(["add"]),
        json!([{"path": "title", "value": "x"}]),
        json!([{"op": "move", "path": "title", "value": "x"}]),
        json!([{"op": "add", "path": 7, "value": "x"}]),
        json!([{"op": "add", "path": "title"}]),
        json!([{"op": "replace", "value": "x"}]),
        json!([{"op": "add", "value": ["x"]}]),
    ] {
        assert!(
            matches!(
                request(operations.clone()),
                Err(ScimError::InvalidSyntax(_))
            ),
            "{operations}"
        );
    }
}

#[test]
fn remove_without_path_is_no_target() {
    assert!(matches!(
        request(json!([{"op": "remove", "value": {"title": "x"}}])),
        Err(ScimError::NoTarget(_))
    ));
    let operation = PatchOperation {
        op: PatchOp::Remove,
        path: None,
        value: None,
    };
    let request = PatchRequest {
        operations: vec![operation],
    };
    assert!(matches!(
        apply_patch(&adele(), &request, ResourceSchema::user()),
        Err(ScimError::NoTarget(_))
    ));
}

#[test]
fn malformed_paths_are_invalid_path() {
    for path in [
        "",
        "a.b.c",
        "emails[type eq \"work\"",
        "emails[type eq \"work\"]x",
        "emails[type eq \"work\"].",
        "emails.value[type eq \"work\"]",
        "[type eq \"work\"]",
    ] {
        let err = PatchPath::parse(path).unwrap_err();
        assert!(
            matches!(err, ScimError::InvalidPath { .. }),
            "{path}: {err:?}"
        );
    }
}

#[test]
fn malformed_value_filter_is_invalid_filter_positioned_in_the_path() {
    let err = PatchPath::parse("emails[type xx \"work\"].value").unwrap_err();
    match err {
        ScimError::InvalidFilter { position, .. } => assert_eq!(position, 12),
        other => panic!("expected invalidFilter, got {other:?}"),
    }
}

#[test]
fn paths_print_back_as_parsed() {
    for text in [
        "userName",
        "name.givenName",
        r#"emails[type eq "work"].value"#,
        r#"members[value eq "2819c223"]"#,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ] {
        let path = PatchPath::parse(text).unwrap();
        assert_eq!(path.to_string(), text);
        assert_eq!(PatchPath::parse(&path.to_string()).unwrap(), path);
    }
}

#[test]
fn closing_bracket_inside_a_filter_literal_is_skipped() {
    let path = PatchPath::parse(r#"emails[value eq "a]\"b"].type"#).unwrap();
    assert_eq!(path.attribute.sub_attribute.as_deref(), Some("type"));
    assert!(path.value_filter.is_some());
}

// ---- Entra shapes (personas.md §1.1) ----

#[test]
fn entra_add_of_a_single_attribute_sets_it() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "Add", "path": "nickName", "value": "Babs"}]),
    )
    .unwrap();
    assert_eq!(patched["nickName"], "Babs");
}

#[test]
fn entra_replace_of_several_attributes_without_the_flag() {
    let patched = patch_user(
        &adele(),
        json!([
            {"op": "Replace", "path": "displayName", "value": "Adele V."},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "adele.v@contoso.test"},
            {"op": "Replace", "path": "name.givenName", "value": "Adele"},
            {"op": "Replace", "path": "name.familyName", "value": "V."},
            {"op": "Replace", "path": "externalId", "value": "adelev"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "1042"}
        ]),
    )
    .unwrap();
    assert_eq!(
        Value::Object(patched),
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "externalId": "adelev",
            "userName": "adele@contoso.test",
            "name": {"formatted": "Adele Vance", "familyName": "V.", "givenName": "Adele"},
            "displayName": "Adele V.",
            "active": true,
            "emails": [{"value": "adele.v@contoso.test", "type": "work", "primary": true}],
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "1042"}
        })
    );
}

#[test]
fn entra_pathless_replace_with_dotted_and_urn_keys_matches_the_per_path_form() {
    let with_flag = patch_user(
        &adele(),
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "adele.v@contoso.test"},
            {"op": "replace", "value": {
                "displayName": "Adele V.",
                "name.givenName": "Adele",
                "name.familyName": "V.",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "1042"}}
        ]),
    )
    .unwrap();
    let without_flag = patch_user(
        &adele(),
        json!([
            {"op": "Replace", "path": "displayName", "value": "Adele V."},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "adele.v@contoso.test"},
            {"op": "Replace", "path": "name.familyName", "value": "V."},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "1042"}
        ]),
    )
    .unwrap();
    assert_eq!(with_flag, without_flag);
}

#[test]
fn pathless_value_may_nest_extension_attributes_under_the_urn() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "add", "value": {
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "m1"}}
        }}]),
    )
    .unwrap();
    assert_eq!(
        patched[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Sales", "manager": {"value": "m1"}})
    );
    assert_eq!(
        patched["schemas"],
        json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
    );
}

#[test]
fn entra_deactivation_with_string_false_is_a_json_boolean() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .unwrap();
    assert_eq!(patched["active"], false);
    let reactivated = patch_user(
        &patched,
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
    )
    .unwrap();
    assert_eq!(reactivated["active"], true);
    let with_flag = patch_user(
        &adele(),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .unwrap();
    assert_eq!(with_flag, patched);
}

#[test]
fn entra_user_name_change_replaces_it() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "Replace", "path": "userName", "value": "new@contoso.test"}]),
    )
    .unwrap();
    assert_eq!(patched["userName"], "new@contoso.test");
}

#[test]
fn entra_manager_as_a_one_element_array_sets_the_enterprise_manager() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "Add", "path": "manager",
                "value": [{"$ref": "http://sp.test/scim/Users/m1", "value": "m1"}]}]),
    )
    .unwrap();
    assert_eq!(
        patched[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"value": "m1", "$ref": "http://sp.test/scim/Users/m1"})
    );
    let by_urn = patch_user(
        &adele(),
        json!([{"op": "Replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "value": {"value": "m1", "$ref": "http://sp.test/scim/Users/m1"}}]),
    )
    .unwrap();
    assert_eq!(by_urn, patched);
}

#[test]
fn entra_manager_as_a_bare_id_sets_the_manager_reference() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "Add",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "value": "m1"}]),
    )
    .unwrap();
    assert_eq!(
        patched[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"value": "m1"})
    );
    let not_a_reference = patch_user(
        &adele(),
        json!([{"op": "Replace", "path": "name", "value": "Adele"}]),
    );
    assert!(not_a_reference.is_err());
}

#[test]
fn entra_app_role_add_and_assertive_replace() {
    let role = r#"{"id":"7a1f","value":"25","displayName":"Role1234"}"#;
    let added = patch_user(
        &adele(),
        json!([{"op": "Add", "path": "roles", "value": [{"value": role}]}]),
    )
    .unwrap();
    assert_eq!(added["roles"], json!([{"value": role}]));
    let replaced = patch_user(
        &added,
        json!([{"op": "replace", "path": "roles",
                "value": [{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]}]),
    )
    .unwrap();
    assert_eq!(
        replaced["roles"],
        json!([{"value": "Admin", "type": "WindowsAzureActiveDirectoryRole", "primary": true}])
    );
    let renamed = patch_user(
        &replaced,
        json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Reader"}]),
    )
    .unwrap();
    assert_eq!(renamed["roles"][0]["value"], "Reader");
}

#[test]
fn entra_add_through_a_filter_matching_nothing_creates_the_value() {
    let patched = patch_user(
        &adele(),
        json!([
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"}
        ]),
    )
    .unwrap();
    assert_eq!(
        patched["phoneNumbers"],
        json!([{"value": "+1 555 0100", "type": "mobile"}])
    );
    assert_eq!(
        patched["addresses"],
        json!([{"postalCode": "98052", "type": "work"}])
    );
}

#[test]
fn entra_group_member_add_with_null_ref() {
    let patched = patch_group(
        &sales(&[]),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": MEMBER}]}]),
    )
    .unwrap();
    assert_eq!(patched["members"], json!([{"value": MEMBER}]));
    assert_eq!(
        patched["schemas"],
        json!([GROUP_SCHEMA, ENTRA_GROUP_SCHEMA])
    );
}

#[test]
fn entra_member_removal_by_value_list_removes_only_the_listed_members() {
    let group = sales(&["u1", MEMBER, "u3"]);
    let patched = patch_group(
        &group,
        json!([{"op": "Remove", "path": "members", "value": [{"value": MEMBER}]}]),
    )
    .unwrap();
    assert_eq!(member_ids(&patched), ["u1", "u3"]);
    let again = patch_group(
        &patched,
        json!([{"op": "Remove", "path": "members", "value": [{"value": MEMBER}]}]),
    )
    .unwrap();
    assert_eq!(again, patched, "removing an absent member changes nothing");
}

#[test]
fn entra_member_removal_with_filter_path() {
    let patched = patch_group(
        &sales(&["u1", MEMBER]),
        json!([{"op": "remove", "path": format!("members[value eq \"{MEMBER}\"]")}]),
    )
    .unwrap();
    assert_eq!(member_ids(&patched), ["u1"]);
}

#[test]
fn several_membership_changes_in_one_patch() {
    // personas.md §1.1 "Groups": the gallery checklist requires it.
    let patched = patch_group(
        &sales(&["u1", "u2"]),
        json!([
            {"op": "Add", "path": "members", "value": [{"value": "u3"}, {"value": "u4"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u1"}]},
            {"op": "Replace", "path": "displayName", "value": "Sales EMEA"}
        ]),
    )
    .unwrap();
    assert_eq!(member_ids(&patched), ["u2", "u3", "u4"]);
    assert_eq!(patched["displayName"], "Sales EMEA");
}

// ---- Okta shapes (personas.md §2.1) ----

#[test]
fn okta_pathless_replace_deactivates() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .unwrap();
    assert_eq!(patched["active"], false);
}

#[test]
fn okta_pathless_value_repeating_id_is_accepted() {
    let patched = patch_group(
        &sales(&["u1"]),
        json!([{"op": "replace", "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2"}}]),
    )
    .unwrap();
    assert_eq!(patched["displayName"], "Test SCIMv2");
    assert!(!patched.contains_key("id"));
    let user = patch_user(
        &adele(),
        json!([{"op": "replace", "value": {"id": "x", "active": false}}]),
    )
    .unwrap();
    assert_eq!(user["active"], false);
}

#[test]
fn okta_membership_remove_by_filter_and_add_with_display() {
    let patched = patch_group(
        &sales(&["89bb1940-b905-4575-9e7f-6f887cfb368e"]),
        json!([
            {"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
            {"op": "add", "path": "members", "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
                                                    "display": "test.user@okta.local"}]}
        ]),
    )
    .unwrap();
    assert_eq!(
        patched["members"],
        json!([{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173"}])
    );
}

#[test]
fn okta_full_members_replace() {
    let patched = patch_group(
        &sales(&["u1", "u2"]),
        json!([{"op": "replace", "path": "members", "value": [{"value": "u3"}]}]),
    )
    .unwrap();
    assert_eq!(member_ids(&patched), ["u3"]);
    let emptied = patch_group(
        &patched,
        json!([{"op": "replace", "path": "members", "value": []}]),
    )
    .unwrap();
    assert!(!emptied.contains_key("members"));
}

// ---- add ----

#[test]
fn add_to_multi_valued_appends_values_not_already_present() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "adele@contoso.test", "type": "work", "primary": true},
            {"value": "adele@home.test", "type": "home"}
        ]}]),
    )
    .unwrap();
    assert_eq!(
        patched["emails"],
        json!([
            {"value": "adele@contoso.test", "type": "work", "primary": true},
            {"value": "adele@home.test", "type": "home"}
        ])
    );
}

#[test]
fn add_of_a_value_already_there_in_another_case_or_without_its_details_changes_nothing() {
    // `emails.value` is not caseExact (RFC 7643 §4.1.2), and a value "already contained" is
    // not added again (RFC 7644 §3.5.2.1).
    for added in [
        json!({"value": "ADELE@contoso.test", "type": "work"}),
        json!({"value": "adele@contoso.test"}),
        json!({"value": "Adele@Contoso.test", "type": "Work", "primary": true}),
    ] {
        let patched = patch_user(
            &adele(),
            json!([{"op": "add", "path": "emails", "value": [added.clone()]}]),
        )
        .unwrap();
        assert_eq!(patched, adele(), "{added}");
    }
}

#[test]
fn add_of_a_value_already_there_updates_its_details_and_keeps_one_primary() {
    let two = patch_user(
        &adele(),
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "adele@home.test", "type": "home"}
        ]}]),
    )
    .unwrap();
    let patched = patch_user(
        &two,
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "ADELE@home.test", "type": "home", "primary": true}
        ]}]),
    )
    .unwrap();
    assert_eq!(
        patched["emails"],
        json!([
            {"value": "adele@contoso.test", "type": "work", "primary": false},
            {"value": "adele@home.test", "type": "home", "primary": true}
        ])
    );
}

#[test]
fn add_of_the_same_address_with_another_type_is_a_new_value() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "adele@contoso.test", "type": "home"}
        ]}]),
    )
    .unwrap();
    assert_eq!(patched["emails"].as_array().unwrap().len(), 2);
}

#[test]
fn add_of_a_member_already_there_with_its_type_adds_nothing() {
    let patched = patch_group(
        &sales(&["u1"]),
        json!([{"op": "add", "path": "members", "value": [{"value": "u1", "type": "User"}]}]),
    )
    .unwrap();
    assert_eq!(member_ids(&patched), ["u1"]);
}

#[test]
fn add_of_a_single_value_to_a_multi_valued_attribute_is_a_list_of_one() {
    let patched = patch_group(
        &sales(&["u1"]),
        json!([{"op": "add", "path": "members", "value": {"value": "u2"}}]),
    )
    .unwrap();
    assert_eq!(member_ids(&patched), ["u1", "u2"]);
}

#[test]
fn add_to_a_complex_attribute_merges_sub_attributes() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "add", "path": "name", "value": {"middleName": "Q", "GivenName": "Ada"}}]),
    )
    .unwrap();
    assert_eq!(
        patched["name"],
        json!({"formatted": "Adele Vance", "familyName": "Vance", "givenName": "Ada", "middleName": "Q"})
    );
}

#[test]
fn add_through_a_filter_with_other_operators_and_no_match_is_no_target() {
    let err = patch_user(
        &adele(),
        json!([{"op": "add", "path": "phoneNumbers[type co \"mob\"].value", "value": "1"}]),
    )
    .unwrap_err();
    assert!(matches!(err, ScimError::NoTarget(_)), "{err:?}");
}

// ---- replace ----

#[test]
fn replace_through_a_filter_matching_nothing_is_no_target() {
    let err = patch_user(
        &adele(),
        json!([{"op": "Replace", "path": "emails[type eq \"home\"].value", "value": "a@home.test"}]),
    )
    .unwrap_err();
    assert!(matches!(err, ScimError::NoTarget(_)), "{err:?}");
}

#[test]
fn replace_of_an_absent_attribute_adds_it() {
    let patched = patch_user(
        &adele(),
        json!([
            {"op": "replace", "path": "title", "value": "CEO"},
            {"op": "replace", "path": "phoneNumbers", "value": [{"value": "1", "type": "work"}]},
            {"op": "replace", "path": "ims.value", "value": "adele@im"}
        ]),
    )
    .unwrap();
    assert_eq!(patched["title"], "CEO");
    assert_eq!(
        patched["phoneNumbers"],
        json!([{"value": "1", "type": "work"}])
    );
    assert_eq!(patched["ims"], json!([{"value": "adele@im"}]));
}

#[test]
fn replace_of_a_multi_valued_attribute_replaces_every_value() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "b@x.test"}]}]),
    )
    .unwrap();
    assert_eq!(patched["emails"], json!([{"value": "b@x.test"}]));
}

#[test]
fn replace_of_a_complex_attribute_keeps_unnamed_sub_attributes() {
    // RFC 7644 §3.5.2.3: "Sub-attributes that are not specified in the value are left unchanged."
    let patched = patch_user(
        &adele(),
        json!([{"op": "replace", "path": "name", "value": {"familyName": "V."}}]),
    )
    .unwrap();
    assert_eq!(
        patched["name"],
        json!({"formatted": "Adele Vance", "familyName": "V.", "givenName": "Adele"})
    );
}

#[test]
fn replace_through_a_filter_updates_every_matching_value() {
    let user = patch_user(
        &adele(),
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "a@other.test", "type": "other"},
            {"value": "b@other.test", "type": "other"}
        ]}]),
    )
    .unwrap();
    let patched = patch_user(
        &user,
        json!([
            {"op": "replace", "path": "emails[type eq \"other\"].display", "value": "old"},
            {"op": "replace", "path": "emails[value eq \"adele@contoso.test\"]", "value": {"display": "Work"}}
        ]),
    )
    .unwrap();
    let displays: Vec<&str> = patched["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["display"].as_str())
        .collect();
    assert_eq!(displays, ["Work", "old", "old"]);
    assert_eq!(
        patched["emails"][0]["primary"], true,
        "merge keeps unnamed sub-attributes"
    );
}

#[test]
fn replace_with_null_unassigns() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "replace", "value": {"displayName": null}}]),
    )
    .unwrap();
    assert!(!patched.contains_key("displayName"));
}

#[test]
fn wrong_value_types_are_invalid_value() {
    for (path, value) in [
        ("active", json!("maybe")),
        ("displayName", json!(5)),
        ("emails[type eq \"work\"].primary", json!("yes")),
        ("name", json!("Adele")),
        ("emails", json!("a@x.test")),
    ] {
        let err = patch_user(
            &adele(),
            json!([{"op": "replace", "path": path, "value": value}]),
        )
        .unwrap_err();
        assert!(matches!(err, ScimError::InvalidValue(_)), "{path}: {err:?}");
    }
}

// ---- primary ----

#[test]
fn adding_a_primary_value_clears_primary_on_the_others() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "a@home.test", "type": "home", "primary": "True"}]}]),
    )
    .unwrap();
    assert_eq!(patched["emails"][0]["primary"], false);
    assert_eq!(patched["emails"][1]["primary"], true);
}

#[test]
fn making_a_value_primary_through_a_filter_clears_the_others() {
    let user = patch_user(
        &adele(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "a@home.test", "type": "home"}]}]),
    )
    .unwrap();
    let patched = patch_user(
        &user,
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    )
    .unwrap();
    assert_eq!(patched["emails"][0]["primary"], false);
    assert_eq!(patched["emails"][1]["primary"], true);
}

#[test]
fn replacing_a_list_with_two_primary_values_is_invalid_value() {
    let err = patch_user(
        &adele(),
        json!([{"op": "replace", "path": "emails", "value": [
            {"value": "a@x.test", "primary": true}, {"value": "b@x.test", "primary": true}
        ]}]),
    )
    .unwrap_err();
    assert!(matches!(err, ScimError::InvalidValue(_)), "{err:?}");
}

// ---- remove ----

#[test]
fn remove_of_an_attribute_and_of_a_sub_attribute() {
    let patched = patch_user(
        &adele(),
        json!([
            {"op": "remove", "path": "displayName"},
            {"op": "remove", "path": "name.formatted"},
            {"op": "remove", "path": "emails"}
        ]),
    )
    .unwrap();
    assert!(!patched.contains_key("displayName") && !patched.contains_key("emails"));
    assert_eq!(
        patched["name"],
        json!({"familyName": "Vance", "givenName": "Adele"})
    );
}

#[test]
fn remove_through_a_filter_with_a_sub_attribute_removes_that_sub_attribute() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"].type"}]),
    )
    .unwrap();
    assert_eq!(
        patched["emails"],
        json!([{"value": "adele@contoso.test", "primary": true}])
    );
}

#[test]
fn remove_through_a_filter_matching_nothing_changes_nothing() {
    let group = sales(&["u1"]);
    let patched = patch_group(
        &group,
        json!([{"op": "remove", "path": "members[value eq \"gone\"]"}]),
    )
    .unwrap();
    assert_eq!(patched, group);
}

#[test]
fn removing_a_required_attribute_is_invalid_value() {
    let err = patch_user(&adele(), json!([{"op": "remove", "path": "userName"}])).unwrap_err();
    assert!(
        matches!(err, ScimError::InvalidValue(ref m) if m.contains("userName")),
        "{err:?}"
    );
    let err = patch_group(
        &sales(&[]),
        json!([{"op": "remove", "path": "displayName"}]),
    )
    .unwrap_err();
    assert!(matches!(err, ScimError::InvalidValue(_)), "{err:?}");
}

#[test]
fn extension_urn_as_path_adds_and_removes_the_extension() {
    let added = patch_user(
        &adele(),
        json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"costCenter": "4130"}}]),
    )
    .unwrap();
    assert_eq!(added[ENTERPRISE_USER_SCHEMA], json!({"costCenter": "4130"}));
    let removed = patch_user(
        &added,
        json!([{"op": "remove", "path": ENTERPRISE_USER_SCHEMA}]),
    )
    .unwrap();
    assert_eq!(removed, adele());
    assert_eq!(removed["schemas"], json!([USER_SCHEMA]));
}

#[test]
fn removing_the_last_extension_attribute_drops_the_extension_schema() {
    let added = patch_user(
        &adele(),
        json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"}]),
    )
    .unwrap();
    let removed = patch_user(
        &added,
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:DEPARTMENT"}]),
    )
    .unwrap();
    assert_eq!(removed, adele());
}

// ---- paths and mutability ----

#[test]
fn paths_match_ignoring_case() {
    let patched = patch_user(
        &adele(),
        json!([{"op": "replace", "path": "EMAILS[TYPE eq \"work\"].VALUE", "value": "x@contoso.test"}]),
    )
    .unwrap();
    assert_eq!(patched["emails"][0]["value"], "x@contoso.test");
}

#[test]
fn unknown_attribute_paths_are_invalid_path() {
    for operations in [
        json!([{"op": "add", "path": "shoeSize", "value": 42}]),
        json!([{"op": "add", "path": "name.nick", "value": "x"}]),
        json!([{"op": "replace", "value": {"shoeSize": 42}}]),
        json!([{"op": "add", "path": "urn:example:ext:2.0:User:a", "value": 1}]),
        json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"shoeSize": 1}}]),
        json!([{"op": "replace", "path": "displayName[value eq \"x\"]", "value": "y"}]),
    ] {
        let err = patch_user(&adele(), operations.clone()).unwrap_err();
        assert!(
            matches!(err, ScimError::InvalidPath { .. }),
            "{operations}: {err:?}"
        );
    }
}

#[test]
fn value_filter_naming_an_unknown_sub_attribute_fails_even_without_values() {
    let err = patch_user(
        &adele(),
        json!([{"op": "remove", "path": "phoneNumbers[colour eq \"red\"]"}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some("invalidFilter"), "{err:?}");
}

#[test]
fn read_only_targets_are_mutability_errors() {
    for (path, attribute) in [
        ("id", "id"),
        ("meta.lastModified", "meta.lastModified"),
        ("groups", "groups"),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
        ),
    ] {
        let err =
            patch_user(&adele(), json!([{"op": "add", "path": path, "value": "x"}])).unwrap_err();
        assert_eq!(err, mutability(attribute, "readOnly"), "{path}");
    }
    let err = patch_user(
        &adele(),
        json!([{"op": "replace", "value": {"groups": [{"value": "g"}]}}]),
    )
    .unwrap_err();
    assert_eq!(err, mutability("groups", "readOnly"));
    let err = patch_group(
        &sales(&["u1"]),
        json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "Ada"}]),
    )
    .unwrap_err();
    assert_eq!(err, mutability("members.display", "readOnly"));
}

#[test]
fn changing_a_set_immutable_value_is_a_mutability_error() {
    let err = patch_group(
        &sales(&["u1"]),
        json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u2"}]),
    )
    .unwrap_err();
    assert_eq!(err, mutability("members.value", "immutable"));
    let badge = badge_schema();
    let unset = prepare_write(
        &json!({"schemas": [badge.core.id], "code": "c", "card": {"label": "l"}}),
        badge,
        None,
    )
    .unwrap();
    let set = patch_with(
        &unset,
        json!([{"op": "add", "path": "serial", "value": "S1"}, {"op": "add", "path": "card.serial", "value": "C1"}]),
        badge,
    )
    .unwrap();
    assert_eq!(set["serial"], "S1");
    assert_eq!(set["card"], json!({"serial": "C1", "label": "l"}));
    let same = patch_with(
        &set,
        json!([{"op": "replace", "value": {"serial": "s1"}}]),
        badge,
    );
    assert!(same.is_ok(), "{same:?}");
    for operations in [
        json!([{"op": "replace", "path": "serial", "value": "S2"}]),
        json!([{"op": "remove", "path": "serial"}]),
        json!([{"op": "replace", "path": "card", "value": {"serial": "C2"}}]),
        json!([{"op": "remove", "path": "card"}]),
    ] {
        let err = patch_with(&set, operations.clone(), badge).unwrap_err();
        assert!(
            matches!(err, ScimError::Mutability { .. }),
            "{operations}: {err:?}"
        );
    }
}

#[test]
fn a_failing_operation_leaves_the_resource_untouched() {
    let user = adele();
    let before = user.clone();
    let err = patch_user(
        &user,
        json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x"}
        ]),
    )
    .unwrap_err();
    assert!(matches!(err, ScimError::NoTarget(_)));
    assert_eq!(user, before);
}
