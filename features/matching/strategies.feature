@matching @reference-sp
Feature: Every matching strategy against every persona's OpenID Connect logins
  Each persona provisions the acme directory into the target and signs adele in through its
  OpenID Connect provider; the SP's connection, paired with the target's SCIM directory, tries
  each strategy of seed 002 and the `oid` form. What matches follows from what each IdP puts in
  its ID token and its SCIM requests (personas.md §7's table; seed 002).

  @should @entra
  Scenario Outline: Entra's login under <strategy>
    Entra's `sub` is pairwise and its member tokens carry no `email`, so only the strategies reading `preferred_username` (the UPN, its SCIM `userName`) or `oid` (its SCIM `externalId`) match (personas.md §7, failure modes 1 and 3).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "entra" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the reference SP matches logins with "<strategy>"
    When the user "adele" signs in to the reference SP
    Then the sign-in <outcome>

    Examples:
      | strategy                            | outcome                             |
      | OidcSubToScimUsername               | is refused with "ScimUserNotActive" |
      | OidcSubToScimExternalId             | is refused with "ScimUserNotActive" |
      | OidcEmailToScimUsername             | is refused with "ScimUserNotActive" |
      | OidcEmailUsernameToScimUsername     | succeeds                            |
      | OidcPreferredUsernameToScimUsername | succeeds                            |
      | OidcOidToScimExternalId             | succeeds                            |

  @should @okta
  Scenario Outline: Okta's login under <strategy>
    Okta's `sub` is the `00u…` id it POSTs as `externalId` and its login is both the email and the SCIM `userName` here, so every strategy but `sub`-to-`userName` and the Entra-only `oid` matches (personas.md §7).
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "okta" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the reference SP matches logins with "<strategy>"
    When the user "adele" signs in to the reference SP
    Then the sign-in <outcome>

    Examples:
      | strategy                            | outcome                             |
      | OidcSubToScimUsername               | is refused with "ScimUserNotActive" |
      | OidcSubToScimExternalId             | succeeds                            |
      | OidcEmailToScimUsername             | succeeds                            |
      | OidcEmailUsernameToScimUsername     | succeeds                            |
      | OidcPreferredUsernameToScimUsername | succeeds                            |
      | OidcOidToScimExternalId             | is refused with "ScimUserNotActive" |

  @should @jumpcloud
  Scenario Outline: JumpCloud's login under <strategy>
    JumpCloud provisions its short username (`avance`) as `userName` and no `externalId`, so only the strategies that read the username claim match (personas.md §7, failure mode 9).
    Given the "jumpcloud" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "jumpcloud" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the reference SP matches logins with "<strategy>"
    When the user "adele" signs in to the reference SP
    Then the sign-in <outcome>

    Examples:
      | strategy                            | outcome                             |
      | OidcSubToScimUsername               | is refused with "ScimUserNotActive" |
      | OidcSubToScimExternalId             | is refused with "ScimUserNotActive" |
      | OidcEmailToScimUsername             | is refused with "ScimUserNotActive" |
      | OidcEmailUsernameToScimUsername     | succeeds                            |
      | OidcPreferredUsernameToScimUsername | succeeds                            |
      | OidcOidToScimExternalId             | is refused with "ScimUserNotActive" |

  @should @generic
  Scenario Outline: the generic client's login under <strategy>
    The generic client's `sub` is the stable id it sends as `externalId` and its email is the SCIM `userName`, so every strategy but `sub`-to-`userName` and `oid` matches (personas.md §5, §7).
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "generic" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the reference SP matches logins with "<strategy>"
    When the user "adele" signs in to the reference SP
    Then the sign-in <outcome>

    Examples:
      | strategy                            | outcome                             |
      | OidcSubToScimUsername               | is refused with "ScimUserNotActive" |
      | OidcSubToScimExternalId             | succeeds                            |
      | OidcEmailToScimUsername             | succeeds                            |
      | OidcEmailUsernameToScimUsername     | succeeds                            |
      | OidcPreferredUsernameToScimUsername | succeeds                            |
      | OidcOidToScimExternalId             | is refused with "ScimUserNotActive" |

  @should @google
  Scenario Outline: Google's login under <strategy>
    Google pushes no SCIM to custom apps, so no strategy finds a SCIM user for a Google login (personas.md §7,
    failure mode 10).
    Given the "google" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the reference SP matches logins with "<strategy>"
    When the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"

    Examples:
      | strategy                            |
      | OidcSubToScimUsername               |
      | OidcSubToScimExternalId             |
      | OidcEmailToScimUsername             |
      | OidcEmailUsernameToScimUsername     |
      | OidcPreferredUsernameToScimUsername |
      | OidcOidToScimExternalId             |
