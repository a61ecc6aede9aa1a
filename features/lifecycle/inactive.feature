@lifecycle @reference-sp
Feature: Inactive SCIM users cannot sign in, and a deactivation ends their sessions
  A login whose SCIM user is inactive is refused with `ScimUserNotActive`; a SCIM deactivation ends
  the user's live sessions at once and a reactivation lets them in again (seeds 001, 002;
  personas.md §7).

  @must @okta
  Scenario: Okta deactivates a signed-in user, whose session ends at once
    Okta never deletes: deprovisioning sets the SCIM user inactive, and the SP must end that user's session
    and refuse new logins until Okta reactivates them (personas.md §7, failure mode 7; seed 002).
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "okta" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    When in the IdP, "adele" gets the "status" "DEPROVISIONED"
    And the IdP runs a provisioning cycle
    Then the last session has ended with "ScimUserNotActive"
    When in the IdP, "adele" gets the "status" "ACTIVE"
    And the IdP runs a provisioning cycle
    And the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "adele"

  @must @entra
  Scenario: a user Entra set inactive after unassignment is refused
    Entra sets unassigned users `active=false` (personas.md §1.1 "Deactivate"); the SP refuses their logins
    with `ScimUserNotActive` (seed 002).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "entra" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the reference SP matches logins with "OidcOidToScimExternalId"
    When in the IdP, "adele" is unassigned from the app
    And the IdP runs a provisioning cycle
    And the user "adele" signs in to the reference SP
    Then the sign-in is refused with "is inactive"
