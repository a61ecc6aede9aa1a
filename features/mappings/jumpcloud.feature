@mappings @jumpcloud
Feature: JumpCloud's attribute mappings reach the target
  Each row of the seed 003 "Attribute Mappings" table that JumpCloud has, as the jumpcloud
  persona maps them (personas.md §3.1 "Attribute mapping"): the target holds, at the SCIM
  path, the value of the JumpCloud attribute; the address is JumpCloud's nested object. Each
  example provisions adele alone, who has every attribute of the table.

  Scenario Outline: <scim> comes from JumpCloud's <source>
    JumpCloud sends its `<source>` at the SCIM path of its attribute mapping; an endpoint that drops or
    misplaces it leaves the field empty or wrong (seed 003; personas.md §3.1 "Attribute mapping").
    Given the "jumpcloud" persona with the user "adele" of the directory "acme"
    When the IdP runs a provisioning cycle
    Then the user "adele" at the target has "<scim>" equal to the IdP attribute "<source>"

    @must
    Examples:
      | scim                                        | source                |
      | userName                                    | username              |
      | name.givenName                              | firstname             |
      | name.familyName                             | lastname              |
      | emails[type eq \\"work\\"].value            | email                 |

    @should
    Examples:
      | scim                                        | source                |
      | phoneNumbers[type eq \\"mobile\\"].value    | mobile                |
      | phoneNumbers[type eq \\"work\\"].value      | phone                 |
      | title                                       | jobTitle              |
      | addresses[type eq \\"work\\"].streetAddress | address.streetAddress |
      | addresses[type eq \\"work\\"].locality      | address.locality      |
      | addresses[type eq \\"work\\"].region        | address.region        |
      | addresses[type eq \\"work\\"].postalCode    | address.postalCode    |
      | addresses[type eq \\"work\\"].country       | address.country       |

  @must
  Scenario: an activated user is active at the target
    JumpCloud sends `active` true for an activated user; an endpoint that drops or misreads it holds the user
    as inactive and locks them out (seed 003; personas.md §3.1 "Attribute mapping").
    Given the "jumpcloud" persona with the user "adele" of the directory "acme"
    And in the IdP, "adele" has the "activated" true
    When the IdP runs a provisioning cycle
    Then the user "adele" is active at the target
    And the user "adele" at the target has "active" equal to the IdP attribute "activated"
