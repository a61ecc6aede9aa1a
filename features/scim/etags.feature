@scim @should @generic @needs-etag
Feature: Versions and conditional requests
  `meta.version` is served as the ETag header, and `If-Match` with a stale version is refused
  with 412 (RFC 7644 §3.14, RFC 7232 §3.1).

  Background:
    Given a user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test"}
      """

  Scenario: a read carries the version as its ETag
    RFC clients compare the `ETag` header, equal to `meta.version`, to detect changes; an endpoint that serves
    neither or two different values defeats conditional requests (RFC 7644 §3.14).
    When I fetch the user "ada"
    Then the response status is 200
    And the response header "ETag" is present
    And the response header "ETag" equals the response attribute "meta.version"

  @needs-patch
  Scenario: a change produces a new version
    Every change must produce a new version; an endpoint that keeps the old one lets a client overwrite a
    change it never saw (RFC 7644 §3.14).
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

  @needs-patch
  Scenario: If-Match with the current version lets the write through
    A write with `If-Match` naming the current version must go through; an endpoint that refuses it blocks
    every client that locks optimistically (RFC 7644 §3.14).
    When I fetch the user "ada"
    And I remember the response header "ETag" as "current"
    Given the next request carries the header "If-Match" with the value "{current}"
    When I patch the user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations": [{"op": "replace", "path": "title", "value": "Countess"}]}
      """
    Then the response status is 200

  @needs-patch
  Scenario Outline: If-Match with a stale version is refused with 412 on <method>
    A `<method>` with `If-Match` naming an outdated version must get 412 and change nothing; an endpoint that
    applies it overwrites a newer change (RFC 7644 §3.14; RFC 7232 §3.1).
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

  @needs-patch
  Scenario: If-Match with a stale version protects a delete
    A DELETE with `If-Match` naming an outdated version must get 412 and keep the user; an endpoint that
    deletes anyway loses a user changed in the meantime (RFC 7232 §3.1).
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
