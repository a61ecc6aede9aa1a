@scim
Feature: Errors
  Every error is an RFC 7644 §3.12 body: the Error schema, `status` as a string, `scimType`
  where the RFC defines one, and a `detail` a person can act on.

  Scenario: malformed JSON is refused with invalidSyntax
    When I send a POST request to "/Users" with the body:
      """
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.broken@example.test",
      """
    Then the response is a SCIM error with status 400 and scimType "invalidSyntax"
    And the response attribute "detail" is present

  Scenario: a duplicate userName is refused with uniqueness, whatever its case
    Given a user "ada" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test"}
      """
    When I create a user "ada-again" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ADA@Example.Test"}
      """
    Then the response is a SCIM error with status 409 and scimType "uniqueness"

  Scenario: renaming a user onto a taken userName is refused with uniqueness
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

  Scenario Outline: an unknown id is a SCIM 404 on <method>
    When I send a <method> request to "/Users/{unique}-no-such-user"
    Then the response is a SCIM error with status 404

    Examples:
      | method |
      | GET    |
      | DELETE |

  Scenario: an unknown group id is a SCIM 404
    When I send a GET request to "/Groups/{unique}-no-such-group"
    Then the response is a SCIM error with status 404

  Scenario: an unknown endpoint is a SCIM 404
    When I send a GET request to "/Widgets"
    Then the response is a SCIM error with status 404

  Scenario Outline: a wrong-typed <attribute> is refused with invalidValue
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

  Scenario: a user without the required userName is refused with invalidValue
    When I create a user "nameless" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "Nobody"}
      """
    Then the response is a SCIM error with status 400 and scimType "invalidValue"

  Scenario: a body that names an unknown schema is refused
    When I create a user "alien" with:
      """json
      {"schemas": ["urn:example:params:scim:schemas:alien:2.0:User"], "userName": "{unique}.alien@example.test"}
      """
    Then the response is a SCIM error with status 400

  Scenario: POST to /Schemas is not allowed
    When I send a POST request to "/Schemas" with the body:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"], "id": "urn:example:{unique}"}
      """
    Then the response is a SCIM error with status 405

  Scenario: a body over 1 MiB is refused with 413
    When I send a POST request to "/Users" with a body larger than 1 MiB
    Then the response is a SCIM error with status 413
