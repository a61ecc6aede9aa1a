@scim
Feature: Authentication and tenants
  Every request carries a bearer token (RFC 7644 §2, RFC 6750). The scenarios with the
  reference-sp tag use the bundled reference SP's administration handle to make organizations
  and tokens; they are left out against an external target.

  @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud
  Scenario: a request without a token is refused with 401
    Every IdP sends the secret token its admin entered as a bearer token; an endpoint that serves `/Users`
    without one hands the directory to anyone (RFC 7644 §2, §3.12).
    Given I send no bearer token
    When I send a GET request to "/Users"
    Then the response is a SCIM error with status 401

  @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud
  Scenario: a request with a wrong token is refused with 401
    IdPs report a wrong secret only through a 401 (Entra quarantines the job on it); an endpoint that accepts
    any token hands the directory to anyone (personas.md §1.1; RFC 7644 §3.12).
    Given I send the bearer token "{unique}-not-a-token"
    When I send a GET request to "/Users"
    Then the response is a SCIM error with status 401

  @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud
  Scenario: a wrong token cannot write either
    A write with a wrong bearer token must be refused with 401 like a read; an endpoint that checks tokens on
    reads only lets anyone create users (RFC 7644 §3.12).
    Given I send the bearer token "{unique}-not-a-token"
    When I create a user "intruder" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.intruder@example.test"}
      """
    Then the response is a SCIM error with status 401

  @reference-sp @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud @needs-patch
  Scenario: a read-only token can read but not write
    Provisioning needs a token with write rights, and a read-only token must get 403 on every write; an
    endpoint that lets it write gives admin power to any reader (seed 001; RFC 7644 §3.12).
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

  @reference-sp @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud @needs-filter
  Scenario: tenants never see each other's users
    Each customer's IdP provisions its own organization with its own token; an endpoint that lets one tenant
    see, delete or block another's users mixes customers' directories (RFC 7644 §6).
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

  @reference-sp @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud
  Scenario: rotating a token invalidates the old one at once
    After the admin rotates the API key and enters the new one in the IdP, the old key must stop working at
    once; an endpoint that still accepts it keeps a leaked key valid (seed 003).
    Given a separate organization "acme" on the reference SP
    When the token of organization "acme" is rotated
    And I use the previous token of organization "acme"
    And I send a GET request to "/Users"
    Then the response is a SCIM error with status 401
    When I use the token of organization "acme"
    And I send a GET request to "/Users"
    Then the response status is 200

  @reference-sp @should @entra @entra-compliant @jumpcloud
  Scenario: an organization may deactivate users instead of deleting them
    Entra (30 days after a soft delete) and JumpCloud send DELETE and expect 204; an organization that keeps
    users must answer 204 and keep the user inactive, or its history is lost (seed 003).
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
