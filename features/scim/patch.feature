@scim
Feature: PATCH in the forms real identity providers send
  RFC 7644 §3.5.2 operations, plus the dialects of Microsoft Entra (capitalised ops, string
  booleans, path-less replace with dotted keys; personas.md §1.1) and Okta (path-less
  replace of `active`, group rename repeating the id; personas.md §2.1). The request bodies
  are the vendors' documented wire shapes.

  Background:
    Given a user "adele" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "{unique}-adele",
        "userName": "{unique}.adele@contoso.test",
        "active": true,
        "displayName": "Adele Vance",
        "emails": [{"primary": true, "type": "work", "value": "{unique}.adele@contoso.test"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Adele Vance", "familyName": "Vance", "givenName": "Adele"},
        "roles": []
      }
      """

  Scenario: RFC add, replace and remove with lower-case op names
    When I patch the user "adele" with:
      """json
      {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations": [
         {"op": "add", "path": "nickName", "value": "Babs"},
         {"op": "replace", "path": "title", "value": "Director"},
         {"op": "remove", "path": "name.formatted"}
       ]}
      """
    Then the response status is 200
    And the response attribute "nickName" is "Babs"
    And the response attribute "title" is "Director"
    And the response attribute "name.formatted" is absent
    And the response attribute "name.givenName" is "Adele"
    When I fetch the user "adele"
    Then the response attribute "nickName" is "Babs"
    And the response attribute "name.formatted" is absent

  Scenario: Entra adds a single attribute with a capitalised op
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Add","path":"nickName","value":"Babs"}]}
      """
    Then the response status is 200
    And the response attribute "nickName" is "Babs"

  Scenario: Entra disables a user with Replace and the string "False"
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Replace","path":"active","value":"False"}]}
      """
    Then the response status is 200
    And the response attribute "active" is false
    When I fetch the user "adele"
    Then the response attribute "active" is false
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Replace","path":"active","value":"True"}]}
      """
    Then the response attribute "active" is true

  Scenario: Entra replaces several attributes, one operation each, without the compliance flag
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[
        {"op":"Replace","path":"displayName","value":"Adele V."},
        {"op":"Replace","path":"emails[type eq \"work\"].value","value":"{unique}.adele.v@contoso.test"},
        {"op":"Replace","path":"name.givenName","value":"Adele"},
        {"op":"Replace","path":"name.familyName","value":"V."},
        {"op":"Replace","path":"externalId","value":"{unique}-adelev"},
        {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"1042"}
       ]}
      """
    Then the response status is 200
    And the response contains:
      """json
      {
        "displayName": "Adele V.",
        "emails": [{"type": "work", "value": "{unique}.adele.v@contoso.test", "primary": true}],
        "name": {"givenName": "Adele", "familyName": "V."},
        "externalId": "{unique}-adelev",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1042"}
      }
      """
    And the response attribute "emails" has 1 element

  Scenario: Entra with the compliance flag folds attributes into one path-less replace with dotted keys
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[
        {"op":"replace","path":"emails[type eq \"work\"].value","value":"{unique}.adele.v@contoso.test"},
        {"op":"replace","value":{
           "displayName":"Adele V.",
           "name.givenName":"Adele",
           "name.familyName":"V.",
           "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"1042"}}
       ]}
      """
    Then the response status is 200
    And the response attribute "displayName" is "Adele V."
    And the response attribute "name.givenName" is "Adele"
    And the response attribute "name.familyName" is "V."
    And the response attribute "name.formatted" is "Adele Vance"
    And the response attribute "emails[type eq \"work\"].value" is "{unique}.adele.v@contoso.test"
    And the response attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber" is "1042"
    When I fetch the user "adele"
    Then the response attribute "name.familyName" is "V."
    And the response attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber" is "1042"

  Scenario: Entra changes the userName
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Replace","path":"userName","value":"{unique}.new@contoso.test"}]}
      """
    Then the response status is 200
    And the response attribute "userName" is "{unique}.new@contoso.test"

  Scenario: the manager is set through its URN-qualified path
    Given a user "boss" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.boss@contoso.test"}
      """
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"{id:boss}"}}]}
      """
    Then the response status is 200
    And the response attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value" is "{id:boss}"

  Scenario: Okta deactivates with a path-less replace of active
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"replace","value":{"active":false}}]}
      """
    Then the response status is 200 or 204
    When I fetch the user "adele"
    Then the response status is 200
    And the response attribute "active" is false
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"replace","value":{"active":true}}]}
      """
    And I fetch the user "adele"
    Then the response attribute "active" is true

  Scenario: a value-path replace changes the matching element's sub-attribute
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"add","path":"phoneNumbers","value":[{"type":"mobile","value":"+1 555 0199"}]},
                     {"op":"Replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0142"}]}
      """
    Then the response status is 200
    And the response attribute "phoneNumbers" has 1 element
    And the response attribute "phoneNumbers[type eq \"mobile\"].value" is "+1 555 0142"

  Scenario: removing an element of a multi-valued attribute by filter
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"add","path":"emails","value":[{"type":"home","value":"{unique}.adele@home.test"}]}]}
      """
    Then the response attribute "emails" has 2 elements
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"remove","path":"emails[type eq \"home\"]"}]}
      """
    Then the response status is 200
    And the response attribute "emails" has 1 element
    And the response attribute "emails.0.type" is "work"

  Scenario: a new primary email demotes the old one
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"add","path":"emails","value":[{"type":"home","value":"{unique}.adele@home.test","primary":true}]}]}
      """
    Then the response status is 200
    And the response attribute "emails[type eq \"home\"].primary" is true
    And the response attribute "emails[type eq \"work\"].primary" is not true

  Scenario: a readOnly attribute cannot be patched
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"add","path":"groups","value":[{"value":"{unique}-some-group"}]}]}
      """
    Then the response is a SCIM error with status 400 and scimType "mutability"

  Scenario: a value of the wrong type is refused with invalidValue
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Replace","path":"active","value":"maybe"}]}
      """
    Then the response is a SCIM error with status 400 and scimType "invalidValue"

  Scenario: an unknown op is refused
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"merge","path":"title","value":"Director"}]}
      """
    Then the response is a SCIM error with status 400

  Scenario: a replace through a filter that matches nothing is refused with noTarget
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"replace","path":"addresses[type eq \"work\"].locality","value":"Seattle"}]}
      """
    Then the response is a SCIM error with status 400 and scimType "noTarget"

  Scenario: a PATCH with one bad operation changes nothing
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[
         {"op":"Replace","path":"displayName","value":"Should Not Stick"},
         {"op":"Replace","path":"title","value":"Should Not Stick"},
         {"op":"Replace","path":"active","value":"perhaps"}
       ]}
      """
    Then the response is a SCIM error with status 400 and scimType "invalidValue"
    When I fetch the user "adele"
    Then the response attribute "displayName" is "Adele Vance"
    And the response attribute "title" is absent
    And the response attribute "active" is true

  Scenario: Entra adds group members with a capitalised op
    Given a user "brian" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.brian@contoso.test"}
      """
    And a group "sales" with:
      """json
      {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName":"{unique} Sales"}
      """
    When I patch the group "sales" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Add","path":"members",
         "value":[{"$ref":null,"value":"{id:adele}"},{"$ref":null,"value":"{id:brian}"}]}]}
      """
    Then the response status is 200 or 204
    And the group "sales" has exactly the members "adele, brian"

  Scenario: Entra without the compliance flag removes a member with a value array
    Given a group "sales" with:
      """json
      {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName":"{unique} Sales",
       "members":[{"value":"{id:adele}"}]}
      """
    When I patch the group "sales" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Remove","path":"members","value":[{"value":"{id:adele}"}]}]}
      """
    Then the response status is 200 or 204
    And the group "sales" has no members
    And the user "adele" is in no group

  Scenario: the compliant member removal uses a filter path
    Given a user "brian" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.brian@contoso.test"}
      """
    And a group "sales" with:
      """json
      {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName":"{unique} Sales",
       "members":[{"value":"{id:adele}"},{"value":"{id:brian}"}]}
      """
    When I patch the group "sales" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"remove","path":"members[value eq \"{id:adele}\"]"}]}
      """
    Then the response status is 200 or 204
    And the group "sales" has exactly the members "brian"

  Scenario: Entra renames a group
    Given a group "sales" with:
      """json
      {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName":"{unique} Sales"}
      """
    When I patch the group "sales" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Replace","path":"displayName","value":"{unique} Sales EMEA"}]}
      """
    Then the response status is 200 or 204
    When I fetch the group "sales"
    Then the response attribute "displayName" is "{unique} Sales EMEA"

  Scenario: Okta renames a group and changes its members in one PATCH that repeats the id
    Given a user "brian" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.brian@contoso.test"}
      """
    And a group "push" with:
      """json
      {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"{unique} Test SCIMv2",
       "members":[{"value":"{id:adele}"}]}
      """
    When I patch the group "push" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[
         {"op":"replace","value":{"id":"{id:push}","displayName":"{unique} Test SCIMv2"}},
         {"op":"remove","path":"members[value eq \"{id:adele}\"]"},
         {"op":"add","path":"members","value":[{"value":"{id:brian}",
                                                "display":"{unique}.brian@contoso.test"}]}]}
      """
    Then the response status is 200 or 204
    And the group "push" has exactly the members "brian"
    And the user "adele" is in no group
    And the user "brian" is a member of exactly the groups "push"
