@scim
Feature: User lifecycle
  Create, read, replace and delete users (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.6).

  @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud
  Scenario: creating a user answers 201 with its location and the stored resource
    Entra, Okta, JumpCloud and RFC clients POST new users and keep the `id` from the 201 body (Entra expects
    `application/scim+json`); without it the user is never linked (RFC 7644 §3.3; personas.md §1.1, §2.1, §3.1).
    When I create a user "ada" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.ada@example.test",
        "externalId": "{unique}-ext-ada",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "emails": [{"value": "{unique}.ada@example.test", "type": "work", "primary": true}],
        "active": true
      }
      """
    Then the response status is 201
    And the response header "Content-Type" contains "application/scim+json"
    And the response header "Location" equals the response attribute "meta.location"
    And the response header "Location" ends with "/Users/{id:ada}"
    And the response contains:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.ada@example.test",
        "externalId": "{unique}-ext-ada",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "active": true,
        "meta": {"resourceType": "User"}
      }
      """
    And the response attribute "id" is present
    And the response attribute "meta.created" is present
    And the response attribute "meta.lastModified" is present

  @must @generic @entra @entra-compliant @okta @okta-aiw
  Scenario: a created user can be read back by id
    Okta fetches a user with `GET /Users/{id}` before every PUT and Entra reads users by id; an endpoint that
    cannot return it breaks Okta's updates (personas.md §1.1 "Query/filter dialect", §2.1 "Update user").
    Given a user "grace" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.grace@example.test",
        "name": {"givenName": "Grace", "familyName": "Hopper"}
      }
      """
    When I fetch the user "grace"
    Then the response status is 200
    And the response is the user "grace"
    And the response attribute "userName" is "{unique}.grace@example.test"
    And the response attribute "name.familyName" is "Hopper"

  @must @generic @entra @entra-compliant
  Scenario: a user is accepted with the enterprise extension and its manager
    Entra creates users with the enterprise extension (`employeeNumber`, `department`, later the manager); an
    endpoint that refuses or drops the extension loses them (personas.md §1.1 "Create user"; RFC 7643 §4.3).
    Given a user "boss" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.boss@example.test"
      }
      """
    When I create a user "emp" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "{unique}.emp@example.test",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
          "employeeNumber": "1042",
          "department": "Research",
          "manager": {"value": "{id:boss}"}
        }
      }
      """
    Then the response status is 201
    And the response attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber" is "1042"
    And the response attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value" is "{id:boss}"

  @should @generic
  Scenario: a request sent as application/json is accepted
    RFC 7644 notes that older SCIM clients send `application/json` and asks servers to support it in `Accept`;
    an endpoint that refuses it as a request type turns those clients away (RFC 7644 §3.8, §8.1).
    Given the next request carries the header "Content-Type" with the value "application/json"
    When I create a user "plain" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.plain@example.test"
      }
      """
    Then the response status is 201

  @must @okta @okta-aiw
  Scenario: a user created with Okta's random password is accepted and the password is never returned
    Okta sends a random `password` with every create (personas.md §2.1 "Create user"); an endpoint that refuses
    it never creates Okta's users, and one that echoes it breaks RFC 7643 §4.1.1 ("SHALL NOT be returnable").
    When I create a user "pat" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.pat@example.test",
        "name": {"givenName": "Pat", "familyName": "Doe"},
        "password": "1mz050nq"
      }
      """
    Then the response status is 201
    And the response attribute "password" is absent
    When I fetch the user "pat"
    Then the response status is 200
    And the response attribute "password" is absent

  @must @okta @okta-aiw
  Scenario: PUT replaces the user and clears the attributes it omits
    Okta updates profiles with GET and a full PUT that omits cleared attributes; an endpoint that keeps what a
    PUT omits (RFC 7644 §3.5.1 allows both) never clears what Okta removed (personas.md §2.1 "Update user").
    Given a user "linus" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.linus@example.test",
        "displayName": "Linus",
        "title": "Engineer",
        "nickName": "lt",
        "name": {"givenName": "Linus", "familyName": "Torvalds"},
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}]
      }
      """
    When I replace the user "linus" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.linus@example.test",
        "displayName": "Linus T.",
        "name": {"givenName": "Linus"}
      }
      """
    Then the response status is 200
    And the response attribute "displayName" is "Linus T."
    And the response attribute "title" is absent
    And the response attribute "nickName" is absent
    And the response attribute "phoneNumbers" is absent
    And the response attribute "name.familyName" is absent
    When I fetch the user "linus"
    Then the response attribute "displayName" is "Linus T."
    And the response attribute "title" is absent
    And the response attribute "name.familyName" is absent

  @must @okta @okta-aiw
  Scenario: PUT follows the Okta shape that repeats id and meta from the fetched user
    Okta's PUT, which AIW apps also deactivate with, repeats the fetched `id`, `meta` and `groups`; an endpoint
    refusing read-only values instead of ignoring them fails Okta's updates (personas.md §2.1; RFC 7644 §3.5.1).
    Given a user "okta" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.okta@example.test",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "{unique}.okta@example.test", "type": "work"}],
        "active": true
      }
      """
    When I replace the user "okta" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "{id:okta}",
        "userName": "{unique}.okta@example.test",
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [{"primary": true, "value": "{unique}.okta@example.test", "type": "work",
                    "display": "{unique}.okta@example.test"}],
        "active": false,
        "groups": [],
        "meta": {"resourceType": "User"}
      }
      """
    Then the response status is 200
    And the response is the user "okta"
    And the response attribute "active" is false
    And the response attribute "name.middleName" is "Excited"

  @must @generic @entra @entra-compliant @jumpcloud
  Scenario: deleting a user answers 204 and the user is gone
    Entra (after a hard delete), JumpCloud and RFC clients send `DELETE /Users/{id}` and expect 204; an endpoint
    that keeps the user, or errors on a repeat, leaves accounts behind (personas.md §1.1, §3.1; RFC 7644 §3.6).
    Given a user "gone" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.gone@example.test"
      }
      """
    When I delete the user "gone"
    Then the response status is 204
    And the response body is empty
    When I fetch the user "gone"
    Then the response is a SCIM error with status 404
    When I delete the user "gone"
    Then the response is a SCIM error with status 404
