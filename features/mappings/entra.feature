@mappings @entra
Feature: Microsoft Entra ID's attribute mappings reach the target
  Each row of the seed 003 "Attribute Mappings" table that Entra has, plus objectId to
  externalId (seed 000), as the entra persona maps them (personas.md §1.1 "Default attribute
  mappings"): the target holds, at the SCIM path, the value of the Entra attribute. Each
  example provisions adele alone, who has every attribute of the table.

  Scenario Outline: <scim> comes from Entra's <source>
    Entra sends its `<source>` at this SCIM path on create (city, state and country unconfirmed); an endpoint
    that drops or misplaces it leaves the field empty or wrong (seed 003; personas.md §1.1).
    Given the "entra" persona with the user "adele" of the directory "acme"
    When the IdP runs a provisioning cycle
    Then the user "adele" at the target has "<scim>" equal to the IdP attribute "<source>"

    @must
    Examples:
      | scim                                        | source            |
      | userName                                    | userPrincipalName |
      | name.givenName                              | givenName         |
      | name.familyName                             | surname           |
      | emails[type eq \\"work\\"].value            | mail              |
      | externalId                                  | objectId          |

    @should
    Examples:
      | scim                                        | source            |
      | phoneNumbers[type eq \\"mobile\\"].value    | mobilePhone       |
      | phoneNumbers[type eq \\"work\\"].value      | businessPhones    |
      | title                                       | jobTitle          |
      | addresses[type eq \\"work\\"].streetAddress | streetAddress     |
      | addresses[type eq \\"work\\"].locality      | city              |
      | addresses[type eq \\"work\\"].region        | state             |
      | addresses[type eq \\"work\\"].postalCode    | postalCode        |
      | addresses[type eq \\"work\\"].country       | country           |

  @must
  Scenario: an enabled user is active, through Entra's Switch over IsSoftDeleted
    Entra derives `active` from its Switch over `IsSoftDeleted`, true for an enabled user; an endpoint that
    drops or misreads it holds an enabled user as inactive (seed 000; personas.md §1.1).
    Given the "entra" persona with the user "adele" of the directory "acme"
    And in the IdP, "adele" has the "accountEnabled" true
    When the IdP runs a provisioning cycle
    Then the user "adele" is active at the target
    And the user "adele" at the target has "active" equal to the IdP attribute "accountEnabled"
