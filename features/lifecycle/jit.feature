@lifecycle @reference-sp
Feature: Just-in-time provisioning creates the SCIM user at the first sign-in
  With `jit` on and no SCIM directory in use (no group, and no user that just-in-time
  provisioning did not create), the first sign-in creates the SCIM user from the login
  (`userName` from the email, `externalId` the subject) and later sign-ins update it; once a SCIM
  client writes to the organization it decides who exists, and a user it does not hold is
  refused with `ScimUserNotActive` (seeds 000, 001, 002). The scenarios need the bundled SP, so
  they are skipped for an external target.

  @must @generic
  Scenario: a first SAML sign-in creates the SCIM user and a later one updates it
    "On the first login, a user record gets created" (seed 000, "Users and Teams with SSO"; seed 001, "JIT(Just In
    Time) Provisioning"), and the next login brings the record back in line with the IdP.
    Given the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization provisions users just in time
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And just-in-time provisioning created the SCIM user "adele" from the login
    When in the app, the SCIM user "adele" gets the "displayName" "Renamed In The App"
    And the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And just-in-time provisioning updated the SCIM user "adele" from the login

  @must @okta
  Scenario: a first OpenID Connect sign-in creates the SCIM user, and the next one signs in as it
    The user record created "on the first login" is the one later logins use: no second record appears (seed 000,
    "Users and Teams with SSO"; seed 001, "JIT(Just In Time) Provisioning").
    Given the "okta" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization provisions users just in time
    When the user "isaiah" signs in to the reference SP
    Then the sign-in succeeds
    And just-in-time provisioning created the SCIM user "isaiah" from the login
    When the user "isaiah" signs in to the reference SP
    Then the sign-in succeeds
    And just-in-time provisioning updated the SCIM user "isaiah" from the login

  @must @generic
  Scenario: once the IdP provisions by SCIM, a user it removed is refused and not recreated
    With a SCIM connection the directory decides who exists: a login with no matching SCIM user gets "a
    ScimUserNotActive error when completing the OIDC login, blocking the login" (seed 002), JIT or not.
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization provisions users just in time
    When in the IdP, "adele" is unassigned from the app
    And the IdP runs a provisioning cycle
    And the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"
    And just-in-time provisioning created no SCIM user for "adele"
