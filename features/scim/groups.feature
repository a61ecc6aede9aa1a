@scim
Feature: Group lifecycle and membership
  Groups reference users through `members`; each user's read-only `groups` attribute reflects
  its memberships (RFC 7643 §4.1.2, §4.2).

  Background:
    Given these users:
      """json
      {
        "ada":   {"userName": "{unique}.ada@example.test"},
        "grace": {"userName": "{unique}.grace@example.test"},
        "linus": {"userName": "{unique}.linus@example.test"}
      }
      """

  Scenario: creating a group answers 201 with its members
    When I create a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Engineering",
        "externalId": "{unique}-eng",
        "members": [{"value": "{id:ada}"}, {"value": "{id:grace}"}]
      }
      """
    Then the response status is 201
    And the response header "Location" equals the response attribute "meta.location"
    And the response header "Location" ends with "/Groups/{id:eng}"
    And the response attribute "displayName" is "{unique} Engineering"
    And the response attribute "meta.resourceType" is "Group"
    And the group "eng" has exactly the members "ada, grace"

  Scenario: Entra creates a group without members and with its own second schema URN
    When I create a group "sales" with:
      """json
      {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group",
                  "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
       "externalId":"{unique}-8aa1a0c0",
       "displayName":"{unique} Sales",
       "meta":{"resourceType":"Group"}}
      """
    Then the response status is 201
    And the group "sales" has no members

  Scenario: members carry the user's display and reference
    Given a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Engineering",
        "members": [{"value": "{id:ada}"}]
      }
      """
    When I fetch the group "eng"
    Then the response status is 200
    And the response attribute "members" contains {"value": "{id:ada}"}
    And the response attribute "members[value eq \"{id:ada}\"].$ref" ends with "/Users/{id:ada}"

  Scenario: a user's groups attribute reflects its memberships
    Given a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "displayName": "{unique} Engineering",
        "members": [{"value": "{id:ada}"}, {"value": "{id:grace}"}]
      }
      """
    And a group "ops" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Operations",
        "members": [{"value": "{id:ada}"}]
      }
      """
    Then the user "ada" is a member of exactly the groups "eng, ops"
    And the user "grace" is a member of exactly the groups "eng"
    And the user "linus" is in no group

  Scenario: members are added and removed with PATCH
    Given a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Engineering",
        "members": [{"value": "{id:ada}"}]
      }
      """
    When I patch the group "eng" with:
      """json
      {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations": [{"op": "add", "path": "members",
                       "value": [{"value": "{id:grace}"}, {"value": "{id:linus}"}]}]}
      """
    Then the response status is 200 or 204
    And the group "eng" has exactly the members "ada, grace, linus"
    And the user "linus" is a member of exactly the groups "eng"
    When I patch the group "eng" with:
      """json
      {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations": [{"op": "remove", "path": "members[value eq \"{id:ada}\"]"}]}
      """
    Then the response status is 200 or 204
    And the group "eng" has exactly the members "grace, linus"
    And the user "ada" is in no group

  Scenario: adding a member twice keeps one membership
    Given a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Engineering",
        "members": [{"value": "{id:ada}"}]
      }
      """
    When I patch the group "eng" with:
      """json
      {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations": [{"op": "add", "path": "members", "value": [{"value": "{id:ada}"}]}]}
      """
    Then the response status is 200 or 204
    And the group "eng" has exactly the members "ada"

  Scenario: PUT replaces the whole member list, as Okta's custom apps do
    Given a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Engineering",
        "members": [{"value": "{id:ada}"}, {"value": "{id:grace}"}]
      }
      """
    When I replace the group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Engineering EMEA",
        "members": [{"value": "{id:linus}", "display": "{unique}.linus@example.test"}]
      }
      """
    Then the response status is 200
    And the response attribute "displayName" is "{unique} Engineering EMEA"
    And the group "eng" has exactly the members "linus"
    And the user "ada" is in no group

  Scenario: deleting a user removes it from its groups
    Given a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Engineering",
        "members": [{"value": "{id:ada}"}, {"value": "{id:grace}"}]
      }
      """
    When I delete the user "ada"
    Then the response status is 204
    And the group "eng" has exactly the members "grace"

  Scenario: a member that is not a user of this service provider is refused
    When I create a group "ghosts" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Ghosts",
        "members": [{"value": "{unique}-no-such-user"}]
      }
      """
    Then the response is a SCIM error with status 400

  Scenario: deleting a group answers 204 and leaves its members in place
    Given a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Engineering",
        "members": [{"value": "{id:ada}"}]
      }
      """
    When I delete the group "eng"
    Then the response status is 204
    When I fetch the group "eng"
    Then the response is a SCIM error with status 404
    And the user "ada" is in no group
    When I fetch the user "ada"
    Then the response status is 200
