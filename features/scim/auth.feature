@scim
Feature: Authentication and tenants
  Every request carries a bearer token (RFC 7644 §2, RFC 6750). The scenarios with the
  reference-sp tag use the bundled reference SP's administration handle to make organizations
  and tokens; they are left out against an external target.

  Scenario: a request without a token is refused with 401
    Given I send no bearer token
    When I send a GET request to "/Users"
    Then the response is a SCIM error with status 401

  Scenario: a request with a wrong token is refused with 401
    Given I send the bearer token "{unique}-not-a-token"
    When I send a GET request to "/Users"
    Then the response is a SCIM error with status 401

  Scenario: a wrong token cannot write either
    Given I send the bearer token "{unique}-not-a-token"
    When I create a user "intruder" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.intruder@example.test"}
      """
    Then the response is a SCIM error with status 401

  @reference-sp
  Scenario: a read-only token can read but not write
    Given a separate organization "acme" on the reference SP
    And I use the token of organization "acme"
    And a user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test"}
      """
    And a read-only token "auditor" issued for organization "acme"
    When I use the token "auditor"
    And I fetch the user "ada"
    Then the response status is 200
    When I create a user "bob" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.bob@example.test"}
      """
    Then the response is a SCIM error with status 403
    When I patch the user "ada" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"replace","path":"title","value":"Auditor was here"}]}
      """
    Then the response is a SCIM error with status 403
    When I delete the user "ada"
    Then the response is a SCIM error with status 403

  @reference-sp
  Scenario: tenants never see each other's users
    Given a separate organization "acme" on the reference SP
    And a separate organization "globex" on the reference SP
    And I use the token of organization "acme"
    And a user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test"}
      """
    When I use the token of organization "globex"
    And I fetch the user "ada"
    Then the response is a SCIM error with status 404
    When I list users with the filter userName sw "{unique}"
    Then the list is empty
    When I delete the user "ada"
    Then the response is a SCIM error with status 404
    When I create a user "ada-globex" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test"}
      """
    Then the response status is 201
    When I use the token of organization "acme"
    And I list users with the filter userName sw "{unique}"
    Then the listed resources are exactly "ada"

  @reference-sp
  Scenario: rotating a token invalidates the old one at once
    Given a separate organization "acme" on the reference SP
    When the token of organization "acme" is rotated
    And I use the previous token of organization "acme"
    And I send a GET request to "/Users"
    Then the response is a SCIM error with status 401
    When I use the token of organization "acme"
    And I send a GET request to "/Users"
    Then the response status is 200

  @reference-sp
  Scenario: an organization may deactivate users instead of deleting them
    Given a separate organization "acme" on the reference SP
    And organization "acme" deactivates users instead of deleting them
    And I use the token of organization "acme"
    And a user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test", "active": true}
      """
    When I delete the user "ada"
    Then the response status is 204
    When I fetch the user "ada"
    Then the response status is 200
    And the response attribute "active" is false
