@matching @reference-sp
Feature: Matching a SAML login to the SCIM user the same IdP provisioned
  The IdP provisions the acme directory into the target, then signs a user in to the bundled
  reference SP through its SAML IdP; the SP's connection is paired with the target's SCIM
  directory and matches the login with one of the seed 002 strategies, the NameID playing the
  role of `sub` and the persona's attributes those of `email`, `preferred_username` and `oid`.
  A login that matches no active SCIM user is refused with `ScimUserNotActive` (seed 002;
  personas.md §7).

  @must @entra
  Scenario: Entra's SAML login matches its SCIM user through the objectidentifier attribute
    Entra's NameID is the UPN while its provisioning sends `objectId` as `externalId`, so the seed's default
    `OidcSubToScimExternalId` matches no one; the `objectidentifier` attribute matched to `externalId` works
    (personas.md §1.2, §7 failure mode 1).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "entra" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"
    When the reference SP matches logins with "OidcOidToScimExternalId"
    And the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "adele"

  @must @okta
  Scenario: Okta's NameID is the login, which matches userName when login and email differ
    Okta's NameID and SCIM `userName` are both the login (`administrator1@…`) while the email attribute is
    `webmaster@…`, so the email strategy fails and the NameID strategy works (personas.md §2.2, §7 failure mode 5).
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "okta" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "isaiah" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"
    When the reference SP matches logins with "OidcSubToScimUsername"
    And the user "isaiah" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "isaiah"

  @should @jumpcloud
  Scenario: JumpCloud's default SAML login carries no short username to match
    JumpCloud's default NameID and `email` attribute are the email while its SCIM `userName` is the short
    username (`avance`), which no attribute of the default assertion carries, so every strategy fails until the
    admin makes the username the NameID (personas.md §3.2, §7 failure mode 9).
    Given the "jumpcloud" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "jumpcloud" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"
    When the reference SP matches logins with "OidcEmailUsernameToScimUsername"
    And the user "adele" signs in to the reference SP
    Then the sign-in is refused with "adele.vance"
    When the reference SP matches logins with "OidcSubToScimUsername"
    And the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"
