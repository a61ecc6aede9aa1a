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

  @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud @needs-filter
  Scenario: the first page reports the total and its own size
    Okta pages lookups and imports with `startIndex`/`count`, as do Entra's account discovery and JumpCloud's
    import (unconfirmed); a wrong total or page size loses users (personas.md §1.1, §2.1; RFC 7644 §3.4.2.4).
    When I list users with the query parameters:
      | parameter  | value                     |
      | filter     | userName sw "{unique}"    |
      | startIndex | 1                         |
      | count      | 2                         |
    Then the response status is 200
    And the response attribute "schemas" contains "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    And the response attribute "totalResults" is 5
    And the response attribute "itemsPerPage" is 2
    And the response attribute "startIndex" is 1
    And the response attribute "Resources" has 2 elements

  @must @generic @entra @entra-compliant @okta @okta-aiw @jumpcloud @needs-filter
  Scenario: later pages continue where the previous one ended
    Okta, Entra's account discovery and JumpCloud (unconfirmed) read later pages by `startIndex` without
    `sortBy`; an endpoint that repeats or skips users there drops them from imports (personas.md §1.1, §2.1;
    RFC 7644 §3.4.2.4).
    Then paging through the users with the filter userName sw "{unique}" and count 2 lists "u1, u2, u3, u4, u5" once each

  @should @generic @needs-filter
  Scenario: a page past the end is empty but still reports the total
    `totalResults` is required in every list and `startIndex` only says where the page starts; an endpoint that
    errors past the end breaks clients whose list shrank while they paged (RFC 7644 §3.4.2, §3.4.2.4).
    When I list users with the query parameters:
      | parameter  | value                     |
      | filter     | userName sw "{unique}"    |
      | startIndex | 50                        |
    Then the response status is 200
    And the response attribute "totalResults" is 5
    And the list is empty

  @should @generic @needs-filter
  Scenario: count=0 answers only the total
    `count=0` asks for no resources, only `totalResults`; an endpoint that ignores it sends a full page to
    clients that only wanted the count (RFC 7644 §3.4.2.4).
    When I list users with the query parameters:
      | parameter | value                  |
      | filter    | userName sw "{unique}" |
      | count     | 0                      |
    Then the response attribute "totalResults" is 5
    And the list is empty

  @should @generic @needs-filter @needs-sort
  Scenario: a startIndex below 1 is read as 1
    A `startIndex` below 1 must be read as 1; an endpoint that refuses it or shifts the page breaks clients
    that send 0 (RFC 7644 §3.4.2.4).
    When I list users with the query parameters:
      | parameter  | value                  |
      | filter     | userName sw "{unique}" |
      | sortBy     | userName               |
      | startIndex | 0                      |
      | count      | 1                      |
    Then the response attribute "startIndex" is 1
    And the listed resources are "u1" in that order

  @should @generic
  Scenario: a count above the advertised maximum is capped
    A response must not hold more resources than the `filter.maxResults` the endpoint announces; an endpoint
    that returns more contradicts its own configuration (RFC 7643 §5).
    When I send a GET request to "/ServiceProviderConfig"
    And I remember the response attribute "filter.maxResults" as "max"
    And I list users with the query parameters:
      | parameter | value   |
      | count     | 1000000 |
    Then the response status is 200
    And the response attribute "itemsPerPage" is at most {max}
    And the response attribute "Resources" has at most {max} elements

  @should @generic @needs-filter @needs-sort
  Scenario: sorting ascending by a string attribute ignores case
    RFC clients may ask for `sortBy=name.givenName`; an endpoint that announces sorting must order strings that
    are not case-exact without regard to case, so "alpha" comes first (RFC 7644 §3.4.2.3).
    When I list users with the query parameters:
      | parameter | value                  |
      | filter    | userName sw "{unique}" |
      | sortBy    | name.givenName         |
      | sortOrder | ascending              |
    Then the listed resources are "u2, u5, u4, u1, u3" in that order

  @should @generic @needs-filter @needs-sort
  Scenario: sorting descending
    RFC clients may ask for `sortOrder=descending`; an endpoint that announces sorting must return the list in
    reverse order (RFC 7644 §3.4.2.3).
    When I list users with the query parameters:
      | parameter | value                  |
      | filter    | userName sw "{unique}" |
      | sortBy    | name.givenName         |
      | sortOrder | descending             |
    Then the listed resources are "u3, u1, u4, u5, u2" in that order

  @should @generic @needs-filter @needs-sort
  Scenario: resources without the sort attribute come last when ascending
    Resources without a value for `sortBy` come last when ascending and first when descending; an endpoint
    that mixes them into the list returns another order (RFC 7644 §3.4.2.3).
    When I list users with the query parameters:
      | parameter | value                  |
      | filter    | userName sw "{unique}" |
      | sortBy    | title                  |
    Then the listed resources are "u2, u1, u5, u3, u4" in that order

  @should @generic @needs-filter @needs-sort
  Scenario: attributes limits each resource to the requested attributes plus id
    `attributes=userName,name.givenName` limits each resource to those attributes plus `id`; an endpoint that
    ignores it sends clients more than they asked for (RFC 7644 §3.4.2.5, §3.9).
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

  @should @generic @needs-filter @needs-sort
  Scenario: excludedAttributes drops the named attributes and keeps the rest
    `excludedAttributes` drops the named attributes and keeps the other defaults; an endpoint that ignores it,
    or drops too much, returns the wrong attributes (RFC 7644 §3.4.2.5, §3.9).
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

  @should @generic
  Scenario: attributes also applies to a single resource
    `attributes` applies to every operation that returns a resource, `GET /Users/{id}` included; an endpoint
    that ignores it there returns the whole user (RFC 7644 §3.9).
    When I send a GET request to "/Users/{id:u3}?attributes=title"
    Then the response status is 200
    And the response attribute "id" is "{id:u3}"
    And the response attribute "title" is "Host"
    And the response attribute "userName" is absent
