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

  @must @generic @jumpcloud
  Scenario: creating a group answers 201 with its members
    RFC clients, and JumpCloud (unconfirmed: it never creates an empty group), POST groups with their members;
    an endpoint that drops them leaves the group empty (RFC 7644 §3.3, RFC 7643 §4.2; personas.md §3.1).
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

  @must @entra @entra-compliant
  Scenario: Entra creates a group without members and with its own second schema URN
    Entra creates groups without members and with Microsoft's own second schema URN in `schemas`; an endpoint
    that refuses the unknown URN never creates Entra's groups (personas.md §1.1 "Groups").
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

  @should @generic
  Scenario: members carry the user's display and reference
    A group's `members` carry each member's `value` and a `$ref` to the member resource; an endpoint without
    `$ref` leaves clients to work out where the member lives (RFC 7643 §4.2).
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

  @should @generic
  Scenario: a user's groups attribute reflects its memberships
    A User's read-only `groups` lists the groups it belongs to; an endpoint that leaves it empty hides
    memberships from clients that read users (RFC 7643 §4.1.2).
    Given a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
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
    Then the groups attribute of the user "ada" lists exactly "eng, ops"
    And the groups attribute of the user "grace" lists exactly "eng"
    And the groups attribute of the user "linus" lists exactly ""

  @must @generic @okta @needs-patch
  Scenario: members are added and removed with PATCH
    Okta and RFC clients add members by `add` of a `value` list and remove them by `members[value eq "..."]`;
    an endpoint that mishandles either gets memberships wrong (personas.md §2.1 "Groups"; RFC 7644 §3.5.2).
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

  @should @generic @needs-patch
  Scenario: adding a member twice keeps one membership
    Adding a value a group already holds should change nothing and succeed; an endpoint that duplicates the
    member or refuses the add breaks clients that resend memberships (RFC 7644 §3.5.2.1).
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

  @must @okta-aiw
  Scenario: PUT replaces the whole member list, as Okta's custom apps do
    Okta's wizard-built apps change members and names with a PUT of the whole group; an endpoint that merges
    instead of replacing `members` keeps ex-members in the group (personas.md §2.1 "Groups"; RFC 7644 §3.5.1).
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

  @should @generic @entra @entra-compliant @jumpcloud
  Scenario: deleting a user removes it from its groups
    Entra, JumpCloud and RFC clients delete users, after which a user must answer 404 everywhere; an endpoint
    that keeps it in `members` leaves groups listing a user who is gone (RFC 7644 §3.6; personas.md §1.1, §3.1).
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

  @should @generic
  Scenario: a member that is not a user of this service provider is refused
    A member's `value` is the `id` of a resource of this service provider; an endpoint that stores an unknown
    id keeps a member nobody can resolve (RFC 7643 §4.2).
    When I create a group "ghosts" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Ghosts",
        "members": [{"value": "{unique}-no-such-user"}]
      }
      """
    Then the response is a SCIM error with status 400

  @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud
  Scenario: deleting a group answers 204 and leaves its members in place
    Entra, Okta (when unlinked with delete), JumpCloud and RFC clients send `DELETE /Groups/{id}`; an endpoint
    that keeps the group or deletes its users with it gets the directory wrong (RFC 7644 §3.6; personas.md §6.1).
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
