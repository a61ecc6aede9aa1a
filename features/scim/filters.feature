@scim
Feature: Filtering users
  The filter grammar of RFC 7644 §3.4.2.2. Every query is scoped to this scenario's users with
  `userName sw "{unique}"`, because other scenarios create users on the same target at the
  same time.

  Background:
    Given these users:
      """json
      {
        "ada": {
          "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
          "userName": "{unique}.ada@example.test",
          "externalId": "{unique}-ext-ada",
          "displayName": "Ada \"The Countess\" Lovelace",
          "title": "Analyst",
          "name": {"givenName": "Ada", "familyName": "Lovelace"},
          "emails": [{"value": "ada@work.example.test", "type": "work", "primary": true},
                     {"value": "ada@home.example.test", "type": "home"}],
          "active": true,
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1001", "department": "Research"}
        },
        "grace": {
          "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
          "userName": "{unique}.grace@example.test",
          "displayName": "Grace Hopper",
          "title": "Admiral",
          "name": {"givenName": "Grace", "familyName": "Hopper"},
          "emails": [{"value": "grace@home.example.test", "type": "home"}],
          "active": false,
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1002", "department": "Navy"}
        },
        "conan": {
          "userName": "{unique}.conan@example.test",
          "displayName": "Conan O'Brien",
          "title": "Host",
          "name": {"givenName": "Conan", "familyName": "O'Brien"},
          "emails": [{"value": "conan.work", "type": "work"}],
          "active": true
        },
        "linus": {
          "userName": "{unique}.linus@example.test",
          "displayName": "Linus Torvalds",
          "name": {"givenName": "Linus", "familyName": "Torvalds"},
          "active": true
        }
      }
      """

  Scenario Outline: <operator> selects the right users
    When I list users with the filter userName sw "{unique}" and (<filter>)
    Then the response status is 200
    And the listed resources are exactly "<users>"

    Examples:
      | operator | filter                                          | users                   |
      | eq       | name.familyName eq "Hopper"                     | grace                   |
      | ne       | title ne "Analyst"                              | grace, conan, linus     |
      | co       | displayName co "Hop"                            | grace                   |
      | sw       | name.givenName sw "Li"                          | linus                   |
      | ew       | userName ew "conan@example.test"                | conan                   |
      | pr       | title pr                                        | ada, grace, conan       |
      | gt       | name.givenName gt "Conan"                       | grace, linus            |
      | ge       | name.givenName ge "Conan"                       | conan, grace, linus     |
      | lt       | name.givenName lt "Conan"                       | ada                     |
      | le       | name.givenName le "Conan"                       | ada, conan              |
      | boolean  | active eq false                                 | grace                   |
      | and      | active eq true and title eq "Host"              | conan                   |
      | or       | title eq "Host" or title eq "Admiral"           | grace, conan            |
      | not      | not (title pr)                                  | linus                   |
      | id       | externalId eq "{unique}-ext-ada"                | ada                     |

  Scenario Outline: <case> is evaluated with the RFC's precedence
    When I list users with the filter userName sw "{unique}" and (<filter>)
    Then the listed resources are exactly "<users>"

    Examples:
      | case                         | filter                                                       | users        |
      | and binds tighter than or    | title eq "Host" or title eq "Admiral" and active eq true     | conan        |
      | parentheses override it      | (title eq "Host" or title eq "Admiral") and active eq false  | grace        |
      | not applies to a group       | not (title eq "Host" or title eq "Admiral") and title pr     | ada          |

  Scenario Outline: value path <filter>
    When I list users with the filter userName sw "{unique}" and <filter>
    Then the listed resources are exactly "<users>"

    Examples:
      | filter                                               | users       |
      | emails[type eq "work" and value co "@"]              | ada         |
      | emails[type eq "work"]                               | ada, conan  |
      | emails[type eq "home" and value sw "grace"]          | grace       |
      | emails[not (type eq "work")]                         | ada, grace  |
      | emails.value ew "@home.example.test"                 | ada, grace  |

  Scenario: an enterprise attribute is filtered by its URN-qualified path
    When I list users with the filter userName sw "{unique}" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Navy"
    Then the listed resources are exactly "grace"

  Scenario: userName is compared case-insensitively
    When I list users with the filter userName eq "{unique}.ADA@Example.TEST"
    Then the listed resources are exactly "ada"

  Scenario: attribute names and operators are case-insensitive
    When I list users with the filter USERNAME SW "{unique}" AND Name.FamilyName EQ "Hopper"
    Then the listed resources are exactly "grace"

  Scenario: a value with an apostrophe needs no escaping
    When I list users with the filter userName sw "{unique}" and name.familyName eq "O'Brien"
    Then the listed resources are exactly "conan"

  Scenario: an escaped double quote inside a string literal
    When I list users with the filter userName sw "{unique}" and displayName eq "Ada \"The Countess\" Lovelace"
    Then the listed resources are exactly "ada"

  Scenario: the Entra test-connection probe for a random userName answers an empty list
    When I list users with the filter userName eq "{unique}-06f1b5a0-5c2d-4d7c-9a8e-0f3b2e9a1c11"
    Then the response status is 200
    And the list is empty
    And the response attribute "totalResults" is 0

  Scenario: the filter can be sent with POST /.search
    When I search users with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw \"{unique}\" and title eq \"Host\"",
        "startIndex": 1,
        "count": 10
      }
      """
    Then the response status is 200
    And the listed resources are exactly "conan"

  Scenario: groups are filtered by displayName, with members excluded as Entra asks
    Given a group "eng" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "{unique} Engineering",
        "members": [{"value": "{id:ada}"}]
      }
      """
    When I list groups with the query parameters:
      | parameter           | value                                       |
      | excludedAttributes  | members                                     |
      | filter              | displayName eq "{unique} Engineering"       |
    Then the listed resources are exactly "eng"
    And the response attribute "Resources.0.members" is absent

  Scenario Outline: an invalid filter is refused with invalidFilter
    When I list users with the filter <filter>
    Then the response is a SCIM error with status 400 and scimType "invalidFilter"

    Examples:
      | filter                               |
      | userName eq                          |
      | userName zz "x"                      |
      | (userName eq "x"                     |
      | userName eq "unterminated            |
      | emails[type eq "work"                |
      | userName eq "a" and                  |
