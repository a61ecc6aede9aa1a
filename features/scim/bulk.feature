@scim
Feature: Bulk operations
  RFC 7644 §3.7: several operations in one request, `bulkId` references between them, and
  `failOnErrors` to stop after a number of errors.

  Scenario: a group references users created in the same bulk request
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

  Scenario: bulk updates and deletes address existing resources
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

  Scenario: failOnErrors stops processing after the given number of errors
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
    And the bulk operation "eng" answered 400
