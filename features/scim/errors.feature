@scim
Feature: Errors
  Every error is an RFC 7644 §3.12 body: the Error schema, `status` as a string, `scimType`
  where the RFC defines one, and a `detail` a person can act on.

  @should @generic
  Scenario: malformed JSON is refused with invalidSyntax
    A body that is not JSON must get 400 `invalidSyntax` with a `detail`; an endpoint that answers otherwise
    leaves the IdP's admin without an error to act on (RFC 7644 §3.12).
    When I send a POST request to "/Users" with the body:
      """
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.broken@example.test",
      """
    Then the response is a SCIM error with status 400 and scimType "invalidSyntax"
    And the response attribute "detail" is present

  @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud
  Scenario: a duplicate userName is refused with uniqueness, whatever its case
    IdPs POST a user only when their lookup found none, and Okta stops on 409; an endpoint that takes a
    userName differing only in case holds two accounts for one person (RFC 7644 §3.3; RFC 7643 §8.7.1).
    Given a user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test"}
      """
    When I create a user "ada-again" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ADA@Example.Test"}
      """
    Then the response is a SCIM error with status 409 and scimType "uniqueness"

  @must @entra @needs-patch
  Scenario: renaming a user onto a taken userName is refused with uniqueness
    Entra renames a user with `{"op":"Replace","path":"userName",...}`; an endpoint that lets it take another
    user's name, in any case, holds two accounts under one name (personas.md §1.1).
    Given these users:
      """json
      {
        "ada":   {"userName": "{unique}.ada@example.test"},
        "grace": {"userName": "{unique}.grace@example.test"}
      }
      """
    When I patch the user "grace" with:
      """json
      {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
       "Operations":[{"op":"Replace","path":"userName","value":"{unique}.Ada@example.test"}]}
      """
    Then the response is a SCIM error with status 409 and scimType "uniqueness"
    When I fetch the user "grace"
    Then the response attribute "userName" is "{unique}.grace@example.test"

  @should @generic @entra @entra-compliant
  Scenario Outline: an unknown id is a SCIM 404 on <method>
    A `<method>` of a user id the endpoint does not know must get a SCIM 404, as Entra expects; an endpoint
    that answers otherwise makes a missing user look present or broken (personas.md §1.1).
    When I send a <method> request to "/Users/{unique}-no-such-user"
    Then the response is a SCIM error with status 404

    Examples:
      | method |
      | GET    |
      | DELETE |

  @should @generic @entra @entra-compliant
  Scenario: an unknown group id is a SCIM 404
    Entra reads groups by id, and an id the endpoint does not know must get a SCIM 404; an endpoint that
    answers otherwise makes a missing group look present or broken (personas.md §1.1).
    When I send a GET request to "/Groups/{unique}-no-such-group"
    Then the response is a SCIM error with status 404

  @should @generic
  Scenario: an unknown endpoint is a SCIM 404
    A path the endpoint does not serve must get a SCIM 404 error body; an endpoint that answers otherwise
    hides a wrong base URL from the admin setting up the IdP (RFC 7644 §3.12).
    When I send a GET request to "/Widgets"
    Then the response is a SCIM error with status 404

  @should @generic
  Scenario Outline: a wrong-typed <attribute> is refused with invalidValue
    A user whose `<attribute>` has the wrong JSON type must be refused with 400 `invalidValue`; an endpoint
    that stores it anyway holds data the product cannot read (RFC 7644 §3.12).
    When I create a user "wrong" with:
      """json
      <body>
      """
    Then the response is a SCIM error with status 400 and scimType "invalidValue"

    Examples:
      | attribute | body                                                                                                              |
      | name      | {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.w1@example.test", "name": "Ada"}   |
      | active    | {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.w2@example.test", "active": 3}     |
      | emails    | {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.w3@example.test", "emails": "x@y"} |

  @should @generic
  Scenario: a user without the required userName is refused with invalidValue
    Every user needs a `userName`, so a POST without one must get 400 `invalidValue`; an endpoint that creates
    it holds a user no IdP can look up (RFC 7643 §4.1.1; RFC 7644 §3.12).
    When I create a user "nameless" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "Nobody"}
      """
    Then the response is a SCIM error with status 400 and scimType "invalidValue"

  @should @generic
  Scenario: a body that names an unknown schema is refused
    A body whose `schemas` names no schema the endpoint supports must be refused with 400; an endpoint that
    accepts it stores a resource of unknown shape (RFC 7644 §3.12).
    When I create a user "alien" with:
      """json
      {"schemas": ["urn:example:params:scim:schemas:alien:2.0:User"], "userName": "{unique}.alien@example.test"}
      """
    Then the response is a SCIM error with status 400

  @should @generic
  Scenario: POST to /Schemas is not allowed
    `/Schemas` is read-only (GET only), so a POST to it must be refused; an endpoint that accepts it lets one
    client change what every client discovers (RFC 7644 §3.2).
    When I send a POST request to "/Schemas" with the body:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"], "id": "urn:example:{unique}"}
      """
    Then the response is a SCIM error with status 405

  @should @generic
  Scenario: a body over 1 MiB is refused with 413
    A request body over 1 MiB must be refused with a SCIM 413 error; an endpoint that reads bodies of any size
    can be worn down by a single request (RFC 7644 §3.12).
    When I send a POST request to "/Users" with a body larger than 1 MiB
    Then the response is a SCIM error with status 413
