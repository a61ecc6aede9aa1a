@scim @should @generic @needs-bulk
Feature: Bulk operations
  RFC 7644 §3.7: several operations in one request, `bulkId` references between them, and
  `failOnErrors` to stop after a number of errors.

  Scenario: a group references users created in the same bulk request
    RFC clients may list a group before the users it names by `bulkId:` in the same request; an endpoint that
    does not resolve these references loses the group's members (RFC 7644 §3.7.1, §3.7.2).
    When I send the bulk request:
      """json
      {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
          {"method": "POST", "path": "/Groups", "bulkId": "eng",
           "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "{unique} Engineering",
                    "members": [{"type": "User", "value": "bulkId:ada"}, {"type": "User", "value": "bulkId:grace"}]}},
          {"method": "POST", "path": "/Users", "bulkId": "ada",
           "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test"}},
          {"method": "POST", "path": "/Users", "bulkId": "grace",
           "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.grace@example.test"}}
        ]
      }
      """
    Then the response status is 200
    And the response attribute "schemas" contains "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    And the bulk operation "ada" answered 201
    And the bulk operation "grace" answered 201
    And the bulk operation "eng" answered 201
    And the group "eng" has exactly the members "ada, grace"
    And the user "ada" is a member of exactly the groups "eng"

  @needs-patch
  Scenario: bulk updates and deletes address existing resources
    RFC clients may PATCH and DELETE existing users in one bulk request by their resource paths; an endpoint
    that skips an operation leaves a stale title or a user that should be gone (RFC 7644 §3.7).
    Given these users:
      """json
      {
        "ada":   {"userName": "{unique}.ada@example.test"},
        "grace": {"userName": "{unique}.grace@example.test"}
      }
      """
    When I send the bulk request:
      """json
      {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
          {"method": "PATCH", "path": "/Users/{id:ada}",
           "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": "Countess"}]}},
          {"method": "DELETE", "path": "/Users/{id:grace}"}
        ]
      }
      """
    Then the response status is 200
    And the response attribute "Operations" has 2 elements
    When I fetch the user "ada"
    Then the response attribute "title" is "Countess"
    When I fetch the user "grace"
    Then the response is a SCIM error with status 404

  @needs-filter
  Scenario: failOnErrors stops processing after the given number of errors
    With `failOnErrors` 1 the endpoint must stop at the first failed operation and report only those it ran;
    an endpoint that goes on creates users the client meant to hold back (RFC 7644 §3.7).
    Given a user "taken" with:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.taken@example.test"}
      """
    When I send the bulk request:
      """json
      {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [
          {"method": "POST", "path": "/Users", "bulkId": "first",
           "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.first@example.test"}},
          {"method": "POST", "path": "/Users", "bulkId": "dup",
           "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.taken@example.test"}},
          {"method": "POST", "path": "/Users", "bulkId": "never",
           "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.never@example.test"}}
        ]
      }
      """
    Then the response status is 200
    And the bulk operation "first" answered 201
    And the bulk operation "dup" answered 409
    And the response attribute "Operations" has 2 elements
    When I list users with the filter userName eq "{unique}.never@example.test"
    Then the list is empty

  Scenario: an unresolvable bulkId reference fails that operation only
    An operation whose `bulkId:` reference names nothing in the request must fail alone while the others go
    on; an endpoint that fails the whole request loses the valid creates (RFC 7644 §3.7).
    When I send the bulk request:
      """json
      {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
          {"method": "POST", "path": "/Users", "bulkId": "ada",
           "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.ada@example.test"}},
          {"method": "POST", "path": "/Groups", "bulkId": "eng",
           "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "{unique} Engineering",
                    "members": [{"type": "User", "value": "bulkId:nobody"}]}}
        ]
      }
      """
    Then the response status is 200
    And the bulk operation "ada" answered 201
    And the bulk operation "eng" failed with a client error
