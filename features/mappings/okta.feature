@mappings @okta
Feature: Okta's attribute mappings reach the target
  Each row of the seed 003 "Attribute Mappings" table that Okta has, as the okta persona
  maps them (personas.md §2.1 "Default attribute mappings (Okta → SCIM)"): the target holds,
  at the SCIM path, the value of the Okta profile attribute. Okta's userName is its login;
  the seed leaves the work email's Okta attribute blank, Okta maps email. Each example
  provisions adele alone, who has every attribute of the table.

  Scenario Outline: <scim> comes from Okta's <source>
    Okta sends its profile's `<source>` at this SCIM path (the address rows unconfirmed); an endpoint that
    drops or misplaces it leaves the field empty or wrong (seed 003; personas.md §2.1).
    Given the "okta" persona with the user "adele" of the directory "acme"
    When the IdP runs a provisioning cycle
    Then the user "adele" at the target has "<scim>" equal to the IdP attribute "<source>"

    @must
    Examples:
      | scim                                        | source        |
      | userName                                    | login         |
      | name.givenName                              | firstName     |
      | name.familyName                             | lastName      |
      | emails[type eq \\"work\\"].value            | email         |

    @should
    Examples:
      | scim                                        | source        |
      | phoneNumbers[type eq \\"mobile\\"].value    | mobilePhone   |
      | title                                       | title         |
      | addresses[type eq \\"work\\"].streetAddress | streetAddress |
      | addresses[type eq \\"work\\"].locality      | city          |
      | addresses[type eq \\"work\\"].region        | state         |
      | addresses[type eq \\"work\\"].postalCode    | zipCode       |
      | addresses[type eq \\"work\\"].country       | countryCode   |

  @must
  Scenario: an active user is active at the target
    Okta POSTs an assigned, active user with `active` true; an endpoint that drops or misreads it holds the
    user as inactive and locks them out (personas.md §2.1 "Create user (assignment)").
    Given the "okta" persona with the user "adele" of the directory "acme"
    And in the IdP, "adele" has the "status" "ACTIVE"
    When the IdP runs a provisioning cycle
    Then the user "adele" is active at the target
