@mappings @generic
Feature: The generic persona's attribute mappings reach the target
  The rows of the seed 003 "Attribute Mappings" table that the generic persona has (its
  directory block already uses SCIM's names: personas.md §5): the target holds, at the SCIM
  path, the value of the generic attribute. Each example provisions adele alone, who has
  every attribute the generic block holds.

  Scenario Outline: <scim> comes from the generic <source>
    The generic client sends its `<source>` at the matching SCIM path; an endpoint that drops or misplaces it
    leaves the field empty or wrong (seed 003; personas.md §5).
    Given the "generic" persona with the user "adele" of the directory "acme"
    When the IdP runs a provisioning cycle
    Then the user "adele" at the target has "<scim>" equal to the IdP attribute "<source>"

    @must
    Examples:
      | scim                                   | source     |
      | userName                               | userName   |
      | name.givenName                         | givenName  |
      | name.familyName                        | familyName |
      | emails[type eq \\"work\\"].value       | email      |

    @should
    Examples:
      | scim                                   | source     |
      | phoneNumbers[type eq \\"work\\"].value | phone      |
      | title                                  | title      |

  @must
  Scenario: an active user is active at the target
    The generic client sends `active` true for an active user; an endpoint that drops or misreads it holds the
    user as inactive and locks them out (RFC 7643 §4.1.1).
    Given the "generic" persona with the user "adele" of the directory "acme"
    And in the IdP, "adele" has the "active" true
    When the IdP runs a provisioning cycle
    Then the user "adele" is active at the target
    And the user "adele" at the target has "active" equal to the IdP attribute "active"
