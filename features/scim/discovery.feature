@scim
Feature: Discovery endpoints
  A SCIM client learns what a service provider supports from three read-only documents
  (RFC 7643 §5-§7, RFC 7644 §4). Entra reads /Schemas when a provisioning configuration is
  saved (personas.md §1.1).

  Scenario: the service provider configuration describes limits and authentication
    When I send a GET request to "/ServiceProviderConfig"
    Then the response status is 200
    And the response header "Content-Type" contains "application/scim+json"
    And the response attribute "schemas" contains "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    And the response attribute "filter.maxResults" is present
    And the response attribute "bulk.maxOperations" is present
    And the response attribute "bulk.maxPayloadSize" is present
    And the response attribute "authenticationSchemes" contains {"type": "oauthbearertoken"}

  Scenario Outline: the service provider configuration advertises <feature> support
    Then the service provider configuration says "<feature>" is supported

    Examples:
      | feature |
      | patch   |
      | filter  |
      | sort    |
      | etag    |
      | bulk    |

  Scenario: the resource types name the User and Group endpoints
    When I send a GET request to "/ResourceTypes"
    Then the response status is 200
    And the response attribute "schemas" contains "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    And the response attribute "Resources" contains {"id": "User", "endpoint": "/Users", "schema": "urn:ietf:params:scim:schemas:core:2.0:User"}
    And the response attribute "Resources" contains {"id": "Group", "endpoint": "/Groups", "schema": "urn:ietf:params:scim:schemas:core:2.0:Group"}
    And the response attribute "Resources" contains {"id": "User", "schemaExtensions": [{"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]}

  Scenario: the schemas endpoint lists the user, enterprise user and group schemas
    When I send a GET request to "/Schemas"
    Then the response status is 200
    And the response attribute "Resources" contains {"id": "urn:ietf:params:scim:schemas:core:2.0:User"}
    And the response attribute "Resources" contains {"id": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}
    And the response attribute "Resources" contains {"id": "urn:ietf:params:scim:schemas:core:2.0:Group"}

  Scenario: one schema is served by its URN with its attribute definitions
    When I send a GET request to "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
    Then the response status is 200
    And the response attribute "id" is "urn:ietf:params:scim:schemas:core:2.0:User"
    And the response attribute "attributes" contains {"name": "userName", "type": "string", "required": true, "caseExact": false, "uniqueness": "server"}
    And the response attribute "attributes" contains {"name": "groups", "mutability": "readOnly"}

  Scenario: an unknown schema URN is a SCIM 404
    When I send a GET request to "/Schemas/urn:example:params:scim:schemas:nothing"
    Then the response is a SCIM error with status 404

  Scenario Outline: discovery documents cannot be written
    When I send a <method> request to "<path>" with the body:
      """json
      {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "{unique}.writer@example.test"}
      """
    Then the response is a SCIM error with status 405

    Examples:
      | method | path                   |
      | POST   | /Schemas               |
      | PUT    | /ServiceProviderConfig |
      | POST   | /ResourceTypes         |
