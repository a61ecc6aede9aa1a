@scim
Feature: Discovery endpoints
  A SCIM client learns what a service provider supports from three read-only documents
  (RFC 7643 §5-§7, RFC 7644 §4). Entra reads /Schemas when a provisioning configuration is
  saved (personas.md §1.1).

  @should @generic
  Scenario: the service provider configuration describes limits and authentication
    RFC clients read `/ServiceProviderConfig` for the filter and bulk limits and the bearer-token scheme (Okta
    never does); an endpoint without them leaves such clients guessing (RFC 7643 §5).
    When I send a GET request to "/ServiceProviderConfig"
    Then the response status is 200
    And the response header "Content-Type" contains "application/scim+json"
    And the response attribute "schemas" contains "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    And the response attribute "filter.maxResults" is present
    And the response attribute "bulk.maxOperations" is present
    And the response attribute "bulk.maxPayloadSize" is present
    And the response attribute "authenticationSchemes" contains {"type": "oauthbearertoken"}

  @should @generic
  Scenario Outline: the service provider configuration advertises <feature> support
    RFC clients use `<feature>` only when `/ServiceProviderConfig` says it is supported; an endpoint that says
    otherwise gets the scenarios needing it reported not applicable (RFC 7643 §5).
    Then the service provider configuration says "<feature>" is supported

    Examples:
      | feature |
      | patch   |
      | filter  |
      | sort    |
      | etag    |
      | bulk    |

  @should @generic @okta
  Scenario: the resource types name the User and Group endpoints
    RFC clients, and Okta for apps with entitlements, find the User and Group endpoints in `/ResourceTypes`;
    an endpoint without them cannot be discovered (RFC 7643 §6; personas.md §2.1).
    When I send a GET request to "/ResourceTypes"
    Then the response status is 200
    And the response attribute "schemas" contains "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    And the response attribute "Resources" contains {"id": "User", "endpoint": "/Users", "schema": "urn:ietf:params:scim:schemas:core:2.0:User"}
    And the response attribute "Resources" contains {"id": "Group", "endpoint": "/Groups", "schema": "urn:ietf:params:scim:schemas:core:2.0:Group"}
    And the response attribute "Resources" contains {"id": "User", "schemaExtensions": [{"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]}

  @should @generic @entra @entra-compliant @okta
  Scenario: the schemas endpoint lists the user, enterprise user and group schemas
    Entra requests `/Schemas` when its provisioning settings are saved, Okta for apps with entitlements; a
    schema missing there hides its attributes from mapping (personas.md §1.1, §2.1).
    When I send a GET request to "/Schemas"
    Then the response status is 200
    And the response attribute "Resources" contains {"id": "urn:ietf:params:scim:schemas:core:2.0:User"}
    And the response attribute "Resources" contains {"id": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}
    And the response attribute "Resources" contains {"id": "urn:ietf:params:scim:schemas:core:2.0:Group"}

  @should @generic
  Scenario: one schema is served by its URN with its attribute definitions
    RFC clients fetch a schema by its URN to learn e.g. that `userName` is required, case-insensitive and
    unique; an endpoint that misdescribes it misleads their matching (RFC 7644 §4; RFC 7643 §7).
    When I send a GET request to "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
    Then the response status is 200
    And the response attribute "id" is "urn:ietf:params:scim:schemas:core:2.0:User"
    And the response attribute "attributes" contains {"name": "userName", "type": "string", "required": true, "caseExact": false, "uniqueness": "server"}
    And the response attribute "attributes" contains {"name": "groups", "mutability": "readOnly"}

  @should @generic
  Scenario: an unknown schema URN is a SCIM 404
    A schema URN the endpoint does not serve must get a SCIM 404 error; an endpoint that answers otherwise
    makes clients believe the schema exists (RFC 7644 §3.12).
    When I send a GET request to "/Schemas/urn:example:params:scim:schemas:nothing"
    Then the response is a SCIM error with status 404

  @should @generic
  Scenario Outline: discovery documents cannot be written
    The discovery documents are read-only (GET only); an endpoint that accepts a `<method>` to `<path>` lets
    one client change what every client discovers (RFC 7644 §3.2).
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
