@scim @needs-filter
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

  @should @generic
  Scenario Outline: <operator> selects the right users
    RFC clients may filter with `<filter>`; an endpoint that announces filtering must return exactly the users
    that match it, or `<operator>` queries answer with the wrong people (RFC 7644 §3.4.2.2).
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

  @should @generic
  Scenario Outline: <case> is evaluated with the RFC's precedence
    Filters bind parentheses first, then `not`, then `and` before `or`; an endpoint that evaluates
    `<filter>` another way returns the wrong users (RFC 7644 §3.4.2.2).
    When I list users with the filter userName sw "{unique}" and (<filter>)
    Then the listed resources are exactly "<users>"

    Examples:
      | case                         | filter                                                       | users        |
      | and binds tighter than or    | title eq "Host" or title eq "Admiral" and active eq true     | conan        |
      | parentheses override it      | (title eq "Host" or title eq "Admiral") and active eq false  | grace        |
      | not applies to a group       | not (title eq "Host" or title eq "Admiral") and title pr     | ada          |

  @should @generic
  Scenario Outline: value path <filter>
    RFC clients may select users by the values of a multi-valued attribute with `<filter>`; an endpoint that
    mishandles value paths returns the wrong users (RFC 7644 §3.4.2.2).
    When I list users with the filter userName sw "{unique}" and <filter>
    Then the listed resources are exactly "<users>"

    Examples:
      | filter                                               | users       |
      | emails[type eq "work" and value co "@"]              | ada         |
      | emails[type eq "work"]                               | ada, conan  |
      | emails[type eq "home" and value sw "grace"]          | grace       |
      | emails[not (type eq "work")]                         | ada, grace  |
      | emails.value ew "@home.example.test"                 | ada, grace  |

  @should @generic
  Scenario: an enterprise attribute is filtered by its URN-qualified path
    RFC clients may filter on an extension attribute by its URN-qualified name; an endpoint that rejects or
    ignores the URN prefix cannot find users by department (RFC 7644 §3.4.2.2, §3.10).
    When I list users with the filter userName sw "{unique}" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Navy"
    Then the listed resources are exactly "grace"

  @must @okta @okta-aiw
  Scenario: userName is compared case-insensitively
    Okta wants `userName` filters to ignore case (its spec tests look users up upper-cased), and `userName` is
    not case-exact; an endpoint comparing exactly misses users (personas.md §2.1 "Create user"; RFC 7643 §8.7.1).
    When I list users with the filter userName eq "{unique}.ADA@Example.TEST"
    Then the listed resources are exactly "ada"

  @should @generic
  Scenario: attribute names and operators are case-insensitive
    Attribute names and operators in filters are case-insensitive; an endpoint that only knows `userName eq`
    rejects or misreads clients that write `USERNAME EQ` (RFC 7644 §3.4.2.2).
    When I list users with the filter USERNAME SW "{unique}" AND Name.FamilyName EQ "Hopper"
    Then the listed resources are exactly "grace"

  @should @generic
  Scenario: a value with an apostrophe needs no escaping
    Filter values are JSON strings, in which an apostrophe needs no escaping; an endpoint that chokes on it
    cannot find people such as O'Brien (RFC 7644 §3.4.2.2).
    When I list users with the filter userName sw "{unique}" and name.familyName eq "O'Brien"
    Then the listed resources are exactly "conan"

  @should @generic
  Scenario: an escaped double quote inside a string literal
    Filter values are JSON strings, so `\"` is a double quote inside the value; an endpoint that ends the
    string there cannot find names that contain quotes (RFC 7644 §3.4.2.2).
    When I list users with the filter userName sw "{unique}" and displayName eq "Ada \"The Countess\" Lovelace"
    Then the listed resources are exactly "ada"

  @must @generic @entra @entra-compliant @jumpcloud
  Scenario: the Entra test-connection probe for a random userName answers an empty list
    Entra's test connection and the lookups of Entra, RFC clients and JumpCloud (unconfirmed) expect 200 and an
    empty list for no match; a 404 quarantines Entra (personas.md §1.1 "Test connection"; RFC 7644 §3.4.2).
    When I list users with the filter userName eq "{unique}-06f1b5a0-5c2d-4d7c-9a8e-0f3b2e9a1c11"
    Then the response status is 200
    And the list is empty
    And the response attribute "totalResults" is 0

  @should @generic
  Scenario: the filter can be sent with POST /.search
    RFC clients may send a query as a `SearchRequest` to `POST /Users/.search` instead of a GET; an endpoint
    without it turns those queries away (RFC 7644 §3.4.3).
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

  @must @generic @entra @entra-compliant
  Scenario: groups are filtered by displayName, with members excluded as Entra asks
    Entra looks groups up with `filter=displayName eq "..."` and `excludedAttributes=members`; an endpoint that
    misses the group or ignores the exclusion breaks or slows Entra's group sync (personas.md §1.1 "Groups").
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

  @should @generic
  Scenario Outline: an invalid filter is refused with invalidFilter
    A malformed filter such as `<filter>` must be refused with 400 `invalidFilter`; an endpoint that guesses or
    answers 500 gives the client nothing to act on (RFC 7644 §3.12).
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

  @should @generic
  Scenario: a filter on part of the password finds nobody
    RFC 7643 §4.1.1: the password "SHALL NOT be returnable"; an endpoint that answers a filter matching its first
    characters (`sw`, `co`, `gt`) lets any token holder read it one character at a time. Refusing the filter (400)
    or matching nothing both keep it secret.
    Given a user "secret" with:
      """json
      {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "{unique}.secret@example.test",
        "password": "Zq9-not-to-be-found"
      }
      """
    When I list users with the filter userName sw "{unique}" and password sw "Zq9"
    Then the answer does not find the user "secret"
    When I list users with the filter userName sw "{unique}" and password gt "Z"
    Then the answer does not find the user "secret"
