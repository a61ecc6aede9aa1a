@sp @reference-sp
Feature: Break-glass users sign in with a password, and only through the bypass URL
  When the IdP has an outage, the users an organization lists may still sign in with a
  password, through the login page with `?noLoginRedirect`; anyone else is told to use SSO, and
  without the bypass everyone, break-glass users too, is sent to SSO (seed 000, "Break Glass
  Users" and "Bypass Login URL"). The scenarios need the bundled SP, so they are skipped for an
  external target.

  @must @generic
  Scenario: a break-glass user signs in with a password through the bypass URL
    The listed users "are exempt from SSO login the event of a SSO outage" and "add the ?noLoginRedirect query
    parameter" to sign in (seed 000, "Break Glass Users", "Bypass Login URL").
    Given the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization lists "Ops.{unique}@example.test" as a break-glass user with the password "correct horse battery staple"
    When "ops.{unique}@example.test" signs in with the password "correct horse battery staple" through the bypass login URL
    Then the break-glass user "ops.{unique}@example.test" is signed in with a password
    And the last session is still open

  @must @generic
  Scenario: someone the organization does not list is told to sign in with SSO
    Only "a list of users who are exempt from SSO login" may use a password; an SSO user gets no session from the
    password form (seed 000, "Break Glass Users").
    Given the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization lists "ops.{unique}@example.test" as a break-glass user with the password "correct horse battery staple"
    When "adele.vance@acme.test" signs in with the password "correct horse battery staple" through the bypass login URL
    Then the sign-in is refused with "This account signs in with SSO"
    And the reference SP opened no session

  @must @generic
  Scenario: without the bypass URL everyone is sent to SSO, break-glass users too
    SSO "will move the authentication step outside" of the app; only the bypass URL skips it (seed 000, "General
    Configuration", "Bypass Login URL").
    Given the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization lists "ops.{unique}@example.test" as a break-glass user with the password "correct horse battery staple"
    When a browser opens "/login?organization_id={organization}" at the reference SP
    Then the browser is sent to the login of the connection
    When "ops.{unique}@example.test" posts the password "correct horse battery staple" to the login page without the bypass
    Then the browser is sent to the login of the connection with the login_hint "ops.{unique}@example.test"
    And the reference SP opened no session

  @must @generic
  Scenario: a wrong password is refused without saying which part was wrong
    A break-glass password is a credential like any other: a wrong one opens no session (seed 000, "Break Glass Users").
    Given the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization lists "ops.{unique}@example.test" as a break-glass user with the password "correct horse battery staple"
    When "ops.{unique}@example.test" signs in with the password "Correct horse battery staple" through the bypass login URL
    Then the sign-in is refused with "The username or password is not right"
    And the reference SP opened no session
