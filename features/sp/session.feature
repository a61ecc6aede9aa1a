@sp @reference-sp
Feature: SSO sessions at the reference SP end after the organization's session timeout
  A session that SSO opened lasts two hours unless the organization sets another timeout; then
  the user must sign in again (seed 000). The scenarios move the clock the reference SP and the
  IdP share instead of waiting, so they run alone (`@serial`). They need the bundled SP, so they
  are skipped for an external target.

  @must @generic @serial
  Scenario: an SSO session ends two hours after sign-in by default
    Without an organization setting, an SSO session lasts two hours and the user then signs in again
    (seed 000, "SSO session timeout", default 2 hours).
    Given the "generic" OpenID Connect provider with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    When 119 minutes pass
    Then the last session is still open
    When 2 minutes pass
    Then the last session has ended with "SessionExpired"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the last session is still open

  @must @generic @serial
  Scenario: an organization's own session timeout applies to SAML sign-ins
    An organization may shorten its SSO sessions; a session then ends after that many minutes, whatever the
    protocol (seed 000, "SSO session timeout" per organization).
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization's SSO session timeout is 30 minutes
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "adele"
    When 29 minutes pass
    Then the last session is still open
    When 2 minutes pass
    Then the last session has ended with "SessionExpired"
