@scim
Feature: Paging, sorting and projection of lists
  `startIndex`/`count` paging (RFC 7644 §3.4.2.4), `sortBy`/`sortOrder` (§3.4.2.3) and
  `attributes`/`excludedAttributes` (§3.4.2.5, §3.9). Queries are scoped to this scenario's
  users with `userName sw "{unique}"`.

  Background:
    Given these users:
      """json
      {
        "u1": {"userName": "{unique}.u1@example.test", "name": {"givenName": "Delta", "familyName": "Four"}, "title": "Analyst", "nickName": "d"},
        "u2": {"userName": "{unique}.u2@example.test", "name": {"givenName": "alpha", "familyName": "Two"}, "title": "Admiral", "nickName": "a"},
        "u3": {"userName": "{unique}.u3@example.test", "name": {"givenName": "Echo", "familyName": "Five"}, "title": "Host", "nickName": "e"},
        "u4": {"userName": "{unique}.u4@example.test", "name": {"givenName": "Charlie", "familyName": "Three"}, "nickName": "c"},
        "u5": {"userName": "{unique}.u5@example.test", "name": {"givenName": "Bravo", "familyName": "One"}, "title": "Engineer", "nickName": "b"}
      }
      """

  Scenario: the first page reports the total and its own size
    When I list users with the query parameters:
      | parameter  | value                     |
      | filter     | userName sw "{unique}"    |
      | sortBy     | userName                  |
      | startIndex | 1                         |
      | count      | 2                         |
    Then the response status is 200
    And the response attribute "schemas" contains "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    And the response attribute "totalResults" is 5
    And the response attribute "itemsPerPage" is 2
    And the response attribute "startIndex" is 1
    And the listed resources are "u1, u2" in that order

  Scenario: later pages continue where the previous one ended
    When I list users with the query parameters:
      | parameter  | value                     |
      | filter     | userName sw "{unique}"    |
      | sortBy     | userName                  |
      | startIndex | 3                         |
      | count      | 2                         |
    Then the response attribute "totalResults" is 5
    And the response attribute "startIndex" is 3
    And the listed resources are "u3, u4" in that order
    When I list users with the query parameters:
      | parameter  | value                     |
      | filter     | userName sw "{unique}"    |
      | sortBy     | userName                  |
      | startIndex | 5                         |
      | count      | 2                         |
    Then the response attribute "itemsPerPage" is 1
    And the listed resources are "u5" in that order

  Scenario: a page past the end is empty but still reports the total
    When I list users with the query parameters:
      | parameter  | value                     |
      | filter     | userName sw "{unique}"    |
      | startIndex | 50                        |
    Then the response status is 200
    And the response attribute "totalResults" is 5
    And the list is empty

  Scenario: count=0 answers only the total
    When I list users with the query parameters:
      | parameter | value                  |
      | filter    | userName sw "{unique}" |
      | count     | 0                      |
    Then the response attribute "totalResults" is 5
    And the list is empty

  Scenario: a startIndex below 1 is read as 1
    When I list users with the query parameters:
      | parameter  | value                  |
      | filter     | userName sw "{unique}" |
      | sortBy     | userName               |
      | startIndex | 0                      |
      | count      | 1                      |
    Then the response attribute "startIndex" is 1
    And the listed resources are "u1" in that order

  Scenario: a count above the advertised maximum is capped
    When I send a GET request to "/ServiceProviderConfig"
    And I remember the response attribute "filter.maxResults" as "max"
    And I list users with the query parameters:
      | parameter | value   |
      | count     | 1000000 |
    Then the response status is 200
    And the response attribute "itemsPerPage" is at most {max}
    And the response attribute "Resources" has at most {max} elements

  Scenario: sorting ascending by a string attribute ignores case
    When I list users with the query parameters:
      | parameter | value                  |
      | filter    | userName sw "{unique}" |
      | sortBy    | name.givenName         |
      | sortOrder | ascending              |
    Then the listed resources are "u2, u5, u4, u1, u3" in that order

  Scenario: sorting descending
    When I list users with the query parameters:
      | parameter | value                  |
      | filter    | userName sw "{unique}" |
      | sortBy    | name.givenName         |
      | sortOrder | descending             |
    Then the listed resources are "u3, u1, u4, u5, u2" in that order

  Scenario: resources without the sort attribute come last when ascending
    When I list users with the query parameters:
      | parameter | value                  |
      | filter    | userName sw "{unique}" |
      | sortBy    | title                  |
    Then the listed resources are "u2, u1, u5, u3, u4" in that order

  Scenario: attributes limits each resource to the requested attributes plus id
    When I list users with the query parameters:
      | parameter  | value                  |
      | filter     | userName sw "{unique}" |
      | sortBy     | userName               |
      | attributes | userName,name.givenName |
    Then the response attribute "Resources.0.id" is "{id:u1}"
    And the response attribute "Resources.0.userName" is "{unique}.u1@example.test"
    And the response attribute "Resources.0.name.givenName" is "Delta"
    And the response attribute "Resources.0.name.familyName" is absent
    And the response attribute "Resources.0.title" is absent
    And the response attribute "Resources.0.nickName" is absent

  Scenario: excludedAttributes drops the named attributes and keeps the rest
    When I list users with the query parameters:
      | parameter          | value                  |
      | filter             | userName sw "{unique}" |
      | sortBy             | userName               |
      | excludedAttributes | title,name.familyName  |
    Then the response attribute "Resources.0.id" is "{id:u1}"
    And the response attribute "Resources.0.title" is absent
    And the response attribute "Resources.0.name.familyName" is absent
    And the response attribute "Resources.0.name.givenName" is "Delta"
    And the response attribute "Resources.0.nickName" is "d"

  Scenario: attributes also applies to a single resource
    When I send a GET request to "/Users/{id:u3}?attributes=title"
    Then the response status is 200
    And the response attribute "id" is "{id:u3}"
    And the response attribute "title" is "Host"
    And the response attribute "userName" is absent
