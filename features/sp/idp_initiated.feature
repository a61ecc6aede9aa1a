@sp @reference-sp
Feature: Each SAML connection decides what an IdP-initiated login does
  A Response no AuthnRequest of the SP asked for (a login started at the IdP's dashboard) signs
  the user in under `Accept`, is refused with its reason under `Refuse` (seed 001), and under
  `StartSpInitiated` is verified and then not used: the SP starts an SP-initiated login at the
  same connection with the NameID as `login_hint` (seed 004; personas.md §2.2). The scenarios
  need the bundled SP, so they are skipped for an external target.

  @must @okta
  Scenario: a connection that accepts IdP-initiated logins signs the user in
    Okta starts logins from its dashboard with an unsolicited Response, which a connection that accepts them
    turns into a session of the matched SCIM user (personas.md §2.2 [S33]).
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "okta" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the connection answers IdP-initiated logins with "Accept"
    When the user "catherine" signs in through an IdP-initiated login
    Then the sign-in succeeds
    And the signed-in SCIM user is "catherine"

  @must @generic
  Scenario: a connection that refuses IdP-initiated logins says so, and SP-initiated ones still work
    "RudderStack does not support IdP-initiated authentication. Make sure the users log in through" the app's SSO
    URL: the unsolicited Response is refused with that reason (seed 001, "Performing SSO login").
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the connection answers IdP-initiated logins with "Refuse"
    When the user "adele" signs in through an IdP-initiated login
    Then the sign-in is refused with "does not accept IdP-initiated sign-in"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds

  @must @okta
  Scenario: a connection that starts an SP-initiated login signs the user in through a fresh AuthnRequest
    "Scalekit converts these requests to secure SP-initiated flows automatically", "protecting against SAML assertion
    theft and replay attacks": the browser ends signed in by a Response that answers the SP's own AuthnRequest
    (seed 004, "IdP-initiated SSO").
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "okta" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the connection answers IdP-initiated logins with "StartSpInitiated"
    When the user "catherine" starts at the IdP and the browser follows the reference SP to the end
    Then the sign-in succeeds
    And the browser went through a fresh SP-initiated sign-in
    And the signed-in SCIM user is "catherine"
