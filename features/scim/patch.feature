@scim @needs-patch
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

  @must @generic @entra-compliant @jumpcloud
  Scenario: RFC add, replace and remove with lower-case op names
    RFC clients, Entra with aadOptscim062020 and JumpCloud (unconfirmed) send lower-case ops with a path;
    an endpoint that mishandles `add`, `replace` or `remove` leaves data stale (RFC 7644 §3.5.2.1–3.5.2.3).
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

  @must @entra
  Scenario: Entra adds a single attribute with a capitalised op
    Entra without aadOptscim062020 sets a newly filled attribute with `{"op":"Add","path":"nickName",...}`;
    an endpoint that matches op names case-sensitively never stores it (personas.md §1.1 "Update user").
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Add","path":"nickName","value":"Babs"}]}
      """
    Then the response status is 200
    And the response attribute "nickName" is "Babs"

  @must @entra
  Scenario: Entra disables a user with Replace and the string "False"
    Entra without aadOptscim062020 disables with `{"op":"Replace","path":"active","value":"False"}`, enables
    with `"True"`; an endpoint refusing string booleans keeps such users active (personas.md §1.1 "Deactivate").
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

  @must @entra
  Scenario: Entra replaces several attributes, one operation each, without the compliance flag
    Entra without aadOptscim062020 sends one `Replace` per changed attribute, filtered and URN paths included;
    an endpoint that fails one path leaves the whole change unapplied (personas.md §1.1 "Update user").
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

  @must @entra-compliant
  Scenario: Entra with the compliance flag folds attributes into one path-less replace with dotted keys
    Entra with aadOptscim062020 folds changed attributes into one path-less `replace` with dotted and URN keys;
    an endpoint taking the keys literally or replacing all of `name` loses data (personas.md §1.1 "Update user").
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

  @must @entra
  Scenario: Entra changes the userName
    Entra sends a UPN rename as `{"op":"Replace","path":"userName",...}`; an endpoint that refuses it keeps the
    old userName, so lookups and sign-in matching miss the user (personas.md §1.1 "Update user", §7).
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Replace","path":"userName","value":"{unique}.new@contoso.test"}]}
      """
    Then the response status is 200
    And the response attribute "userName" is "{unique}.new@contoso.test"

  @must @generic @entra
  Scenario: the manager is set through its URN-qualified path
    Entra sets the manager by PATCH of the URN-qualified enterprise `manager` path (exact form unconfirmed);
    an endpoint that refuses that path never records managers (personas.md §1.1 "Update user"; RFC 7643 §4.3).
    Given a user "boss" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.boss@contoso.test"}
      """
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"{id:boss}"}}]}
      """
    Then the response status is 200
    And the response attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value" is "{id:boss}"

  @must @okta
  Scenario: Okta deactivates with a path-less replace of active
    Okta (catalog) deactivates and reactivates with the path-less `{"op":"replace","value":{"active":false}}`;
    an endpoint that needs a `path` keeps unassigned users active (RFC 7644 §3.5.2.3; personas.md §2.1).
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

  @must @generic @entra
  Scenario: a value-path replace changes the matching element's sub-attribute
    Entra updates multi-valued attributes through value paths such as `phoneNumbers[type eq "mobile"].value`;
    an endpoint that misses the filter keeps the old number (RFC 7644 §3.5.2.3; personas.md §1.1 "Update user").
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"add","path":"phoneNumbers","value":[{"type":"mobile","value":"+1 555 0199"}]},
                     {"op":"replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0142"}]}
      """
    Then the response status is 200
    And the response attribute "phoneNumbers" has 1 element
    And the response attribute "phoneNumbers[type eq \"mobile\"].value" is "+1 555 0142"

  @must @generic @jumpcloud
  Scenario: removing an element of a multi-valued attribute by filter
    RFC clients, and JumpCloud when an attribute is emptied (unconfirmed), clear values with `remove` through a
    filtered path; an endpoint that ignores the filter keeps or drops the wrong emails (RFC 7644 §3.5.2.2).
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

  @should @generic
  Scenario: a new primary email demotes the old one
    Setting `primary` to true on one value must set it to false on the others; an endpoint that keeps two
    primary emails leaves clients unsure which address is the user's (RFC 7644 §3.5.2).
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"add","path":"emails","value":[{"type":"home","value":"{unique}.adele@home.test","primary":true}]}]}
      """
    Then the response status is 200
    And the response attribute "emails[type eq \"home\"].primary" is true
    And the response attribute "emails[type eq \"work\"].primary" is not true

  @should @generic
  Scenario: a readOnly attribute cannot be patched
    `groups` is read-only on a User, so PATCH must refuse it with 400 `mutability`; an endpoint that accepts it
    lets clients change memberships behind the Group resource (RFC 7644 §3.5.2, §3.12; RFC 7643 §4.1.2).
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"add","path":"groups","value":[{"value":"{unique}-some-group"}]}]}
      """
    Then the response is a SCIM error with status 400 and scimType "mutability"

  @should @generic
  Scenario: a value of the wrong type is refused with invalidValue
    An `active` that is neither a boolean nor Entra's "True"/"False" must be refused with 400 `invalidValue`;
    an endpoint that stores it or guesses corrupts the user's status (RFC 7644 §3.12).
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Replace","path":"active","value":"maybe"}]}
      """
    Then the response is a SCIM error with status 400 and scimType "invalidValue"

  @should @generic
  Scenario: an unknown op is refused
    A PATCH `op` is `add`, `remove` or `replace`, and a failed request gets an error response; an endpoint
    that answers 200 to `merge` hides the client's mistake (RFC 7644 §3.5.2).
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"merge","path":"title","value":"Director"}]}
      """
    Then the response is a SCIM error with status 400

  @should @generic
  Scenario: a replace through a filter that matches nothing is refused with noTarget
    A `replace` through a value filter that matches nothing must fail with 400 `noTarget`; an endpoint that
    answers success leaves clients unable to tell a missed target from an update (RFC 7644 §3.5.2.3).
    When I patch the user "adele" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"replace","path":"addresses[type eq \"work\"].locality","value":"Seattle"}]}
      """
    Then the response is a SCIM error with status 400 and scimType "noTarget"

  @should @generic
  Scenario: a PATCH with one bad operation changes nothing
    A PATCH is atomic: when one operation fails the resource must stay as it was; an endpoint that applies the
    other operations leaves a half-applied change the client believes failed (RFC 7644 §3.5.2).
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

  @must @entra
  Scenario: Entra adds group members with a capitalised op
    Entra adds members with `"op":"Add"` and `[{"$ref":null,"value":"..."}]`; an endpoint refusing the capital op
    or the null `$ref` leaves groups empty (personas.md §1.1 "Groups").
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

  @must @entra
  Scenario: Entra without the compliance flag removes a member with a value array
    Entra without aadOptscim062020 removes members with `"op":"Remove"`, path `members` and a `value` list; an
    endpoint that ignores the list keeps ex-members (personas.md §1.1 "Groups").
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

  @must @generic @entra-compliant @okta
  Scenario: the compliant member removal uses a filter path
    Okta, Entra with aadOptscim062020 and RFC clients remove a member by `remove` of `members[value eq "..."]`;
    an endpoint that ignores the filter keeps ex-members (personas.md §1.1, §2.1 "Groups"; RFC 7644 §3.5.2.2).
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

  @must @entra
  Scenario: Entra renames a group
    Entra renames a group with `{"op":"Replace","path":"displayName",...}`; an endpoint that refuses it keeps
    the old name (personas.md §1.1 "Groups").
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

  @must @okta
  Scenario: Okta renames a group and changes its members in one PATCH that repeats the id
    Okta (catalog) sends a path-less `replace` of `{"id","displayName"}` with every member change; an endpoint
    that refuses the read-only `id` there fails every group push (personas.md §2.1 "Groups").
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
