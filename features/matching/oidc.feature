@matching @reference-sp
Feature: Matching an OpenID Connect login to the SCIM user the same IdP provisioned
  The IdP provisions the acme directory into the target, then signs a user in to the bundled
  reference SP through its OpenID Connect provider; the SP's connection is paired with the
  target's SCIM directory and matches the login with one of the seed 002 strategies. A login
  that matches no active SCIM user is refused with `ScimUserNotActive` (seed 002; personas.md §7).

  @must @entra
  Scenario: Entra's default strategy fails with the pairwise sub, and the oid form works
    Entra's `sub` is pairwise while its provisioning sends `objectId` as `externalId`, so the seed's
    default `OidcSubToScimExternalId` matches no one; matching `oid` to `externalId` works (personas.md §7, failure mode 1).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "entra" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"
    When the reference SP matches logins with "OidcOidToScimExternalId"
    And the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "adele"

  @must @entra
  Scenario: Entra users match by preferred_username but not by email, which Entra leaves out
    Entra's `preferred_username` is the UPN its provisioning sends as `userName`, while a member's ID token
    usually has no `email` (personas.md §7, failure mode 3).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "entra" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the reference SP matches logins with "OidcPreferredUsernameToScimUsername"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "adele"
    When the reference SP matches logins with "OidcEmailToScimUsername"
    And the user "adele" signs in to the reference SP
    Then the sign-in is refused with "has no `email` claim"

  @must @okta
  Scenario: Okta's default strategy fails for a user whose login differs from the email
    Okta's seed default `OidcEmailToScimUsername` works when login = email, fails for `administrator1@` whose
    email is `webmaster@`; `sub` to `externalId` works, as Okta POSTs its user id as `externalId` (personas.md §7, failure mode 5).
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "okta" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "adele"
    When the user "isaiah" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"
    When the reference SP matches logins with "OidcSubToScimExternalId"
    And the user "isaiah" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "isaiah"

  @must @jumpcloud
  Scenario: JumpCloud's short usernames match preferred_username, not the email
    JumpCloud sends its short username (`avance`) as `userName` while the login's email is
    `adele.vance@…`, so email strategies fail and `OidcPreferredUsernameToScimUsername` works (personas.md §7, failure mode 9).
    Given the "jumpcloud" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "jumpcloud" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"
    When the reference SP matches logins with "OidcPreferredUsernameToScimUsername"
    And the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "adele"

  @must @google
  Scenario: Google users are in the SSO app but not in the SCIM directory
    Google pushes no SCIM to custom apps, so every Google login into a SCIM-paired connection finds no SCIM user
    and is refused with `ScimUserNotActive` (personas.md §7, failure modes 8 and 10).
    Given the "google" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"

  @must @okta
  Scenario Outline: seed 002's payload example is matched by <strategy>
    The seed's Okta user has `sub` = SCIM `externalId` and email = preferred_username = SCIM `userName`, so every
    strategy but `OidcSubToScimUsername` links the two accounts (seed 002, "Using SSO with SCIM").
    Given the "okta" persona with the directory "seed002"
    And the IdP has run a provisioning cycle
    And the "okta" OpenID Connect provider with the directory "seed002"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the reference SP matches logins with "<strategy>"
    When the user "john" signs in to the reference SP
    Then the sign-in <outcome>

    Examples:
      | strategy                            | outcome                                   |
      | OidcSubToScimUsername               | is refused with "ScimUserNotActive"       |
      | OidcSubToScimExternalId             | succeeds                                  |
      | OidcEmailToScimUsername             | succeeds                                  |
      | OidcEmailUsernameToScimUsername     | succeeds                                  |
      | OidcPreferredUsernameToScimUsername | succeeds                                  |
