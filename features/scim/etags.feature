@scim
Feature: Versions and conditional requests
  `meta.version` is served as the ETag header, and `If-Match` with a stale version is refused
  with 412 (RFC 7644 §3.14, RFC 7232 §3.1).

  Background:
    Given a user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test"}
      """

  Scenario: a read carries the version as its ETag
    When I fetch the user "ada"
    Then the response status is 200
    And the response header "ETag" is present
    And the response header "ETag" equals the response attribute "meta.version"

  Scenario: a change produces a new version
    When I fetch the user "ada"
    And I remember the response header "ETag" as "before"
    And I patch the user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations": [{"op": "replace", "path": "title", "value": "Countess"}]}
      """
    Then the response status is 200
    And the response header "ETag" is not "{before}"
    And the response header "ETag" equals the response attribute "meta.version"

  Scenario: If-Match with the current version lets the write through
    When I fetch the user "ada"
    And I remember the response header "ETag" as "current"
    Given the next request carries the header "If-Match" with the value "{current}"
    When I patch the user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations": [{"op": "replace", "path": "title", "value": "Countess"}]}
      """
    Then the response status is 200

  Scenario Outline: If-Match with a stale version is refused with 412 on <method>
    When I fetch the user "ada"
    And I remember the response header "ETag" as "stale"
    And I patch the user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations": [{"op": "replace", "path": "title", "value": "Countess"}]}
      """
    Given the next request carries the header "If-Match" with the value "{stale}"
    When I send a <method> request to "/Users/{id:ada}" with the body:
      """json
      <body>
      """
    Then the response is a SCIM error with status 412
    When I fetch the user "ada"
    Then the response attribute "title" is "Countess"

    Examples:
      | method | body                                                                                                                                       |
      | PUT    | {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test", "title": "Stale"}                     |
      | PATCH  | {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "Stale"}]}       |

  Scenario: If-Match with a stale version protects a delete
    When I fetch the user "ada"
    And I remember the response header "ETag" as "stale"
    And I patch the user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations": [{"op": "replace", "path": "title", "value": "Countess"}]}
      """
    Given the next request carries the header "If-Match" with the value "{stale}"
    When I delete the user "ada"
    Then the response is a SCIM error with status 412
    When I fetch the user "ada"
    Then the response status is 200
