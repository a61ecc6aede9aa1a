@sso @reference-sp
Feature: Signing in to the reference SP through each persona's SAML IdP
  The persona's SAML IdP, served for the scenario in test mode, signs the `login_hint` user of
  the acme directory in; the reference SP sends an AuthnRequest over HTTP-Redirect, receives the
  Response the IdP's form posts to its ACS, verifies the signature with the IdP's certificate and
  uses only the signed element (personas.md §1.2, §2.2, §3.2, §4.2, §6.2). These scenarios need
  the bundled SP's sign-in side, so they are skipped for an external target.

  @must @entra
  Scenario: Entra names the user by UPN and sends the object id and tenant as claim URIs
    Entra's default NameID is the UPN in the emailAddress format, the assertion alone is signed, and the
    attributes are claim URIs including `objectidentifier` and `tenantid` (personas.md §1.2 [S19][S21][S24]).
    Given the "entra" SAML IdP with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the NameID is the IdP attribute "userPrincipalName" of "adele"
    And the NameID format is "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    And the assertion attribute "http://schemas.microsoft.com/identity/claims/objectidentifier" is the IdP attribute "objectId" of "adele"
    And the assertion attribute "http://schemas.microsoft.com/identity/claims/tenantid" is the IdP's tenant
    And the assertion attribute "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name" is "adele.vance@acme.test"
    And the IdP signed only the assertion
    And the AuthnStatement's SessionIndex is the assertion's ID

  @must @okta
  Scenario: Okta names the user by login, signs response and assertion, and indexes the session by the request
    Okta's NameID is the app username (the login) in the unspecified format, both the Response and the
    Assertion are signed, and SessionIndex is the AuthnRequest's ID (personas.md §2.2 [S33][S34][S61]).
    Given the "okta" SAML IdP with the directory "acme"
    When the user "isaiah" signs in to the reference SP
    Then the sign-in succeeds
    And the NameID is the IdP attribute "login" of "isaiah"
    And the NameID format is "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    And the assertion attribute "email" is the IdP attribute "email" of "isaiah"
    And the IdP signed the response and the assertion
    And the AuthnStatement's SessionIndex is the AuthnRequest's ID

  @must @google
  Scenario: Google names the user by primary email and signs the assertion
    Google's NameID is the primary email in the unspecified format and only the assertion is signed by
    default (personas.md §4.2 [S51][S53][S60]).
    Given the "google" SAML IdP with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the NameID is the IdP attribute "primaryEmail" of "adele"
    And the NameID format is "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    And the IdP signed only the assertion

  @should @jumpcloud
  Scenario: JumpCloud names the user by email with its SAML 1.0 format string and lists groups in memberOf
    JumpCloud's default NameID is the email with the non-standard `urn:oasis:names:tc:SAML:1.0:nameid-format:unspecified`,
    and its group attribute (seed 000 names it `memberOf`) lists the user's groups (personas.md §3.2 [S62][S68][S78]).
    Given the "jumpcloud" SAML IdP with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the NameID is the IdP attribute "email" of "adele"
    And the NameID format is "urn:oasis:names:tc:SAML:1.0:nameid-format:unspecified"
    And the assertion attribute "memberOf" lists "Engineering"
    And the IdP signed only the response

  @must @okta
  Scenario: an IdP-initiated login signs the user in
    Okta starts logins from its dashboard with an unsolicited Response (no InResponseTo), which an SP that
    allows IdP-initiated logins accepts (personas.md §2.2 [S33]).
    Given the "okta" SAML IdP with the directory "acme"
    When the user "catherine" signs in through an IdP-initiated login
    Then the sign-in succeeds
    And the NameID is the IdP attribute "login" of "catherine"

  @must @entra @okta @google @jumpcloud @generic
  Scenario Outline: a disabled user cannot sign in through <persona>'s SAML IdP
    A user disabled in the IdP is refused by the IdP itself, which posts no Response to the app
    (personas.md §6.2; the IdP's own sign-in rules).
    Given the "<persona>" SAML IdP with the directory "acme"
    When the user "debra" signs in to the reference SP
    Then the sign-in is refused with "this account is disabled"

    Examples:
      | persona   |
      | entra     |
      | okta      |
      | google    |
      | jumpcloud |
      | generic   |

  @must @generic
  Scenario: a Response is accepted once
    A careful SP keeps the IDs of the assertions it accepted and refuses the same Response posted again,
    so a captured Response cannot be replayed (SAML profiles §4.1.4.5).
    Given the "generic" SAML IdP with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    When the same Response is posted to the reference SP again
    Then the sign-in is refused with "replay"

  @must @generic
  Scenario: a NameID edited after signing is refused
    Changing the signed assertion breaks its digest, and the SP must refuse it rather than sign in someone
    else (XML Signature §3.2; SAML core §5.4).
    Given the "generic" SAML IdP with the directory "acme"
    When the next Response reaches the reference SP with its NameID edited after signing
    And the user "adele" signs in to the reference SP
    Then the sign-in is refused with "signature"

  @must @generic
  Scenario: an unsigned Response is refused
    An SP must accept only Responses whose Response or Assertion is signed with the IdP's certificate
    (SAML profiles §4.1.3.5).
    Given the "generic" SAML IdP with the directory "acme"
    When the next Response reaches the reference SP without its signatures
    And the user "adele" signs in to the reference SP
    Then the sign-in is refused with "sign"

  @must @generic
  Scenario: an expired assertion is refused
    An assertion past its Conditions NotOnOrAfter (the IdP's clock two hours behind) must be refused
    (SAML core §2.5.1.2).
    Given the "generic" SAML IdP with the directory "acme"
    When the IdP's clock runs 120 minutes behind
    And the user "adele" signs in to the reference SP
    Then the sign-in is refused with "expired"

  @must @generic
  Scenario: an assertion for another service provider is refused
    An assertion whose AudienceRestriction names another SP must be refused even though it is signed by the
    right IdP (SAML core §2.5.1.4).
    Given the "generic" SAML IdP with the directory "acme"
    When the user "adele" signs in through an IdP-initiated login addressed to "urn:example:another-app"
    Then the sign-in is refused with "audience"

  @must @entra
  Scenario: signing out of the app signs out at Entra too
    Entra takes the app's LogoutRequest over HTTP-Redirect at its SSO URL and answers with a LogoutResponse
    to the app's single logout URL; the app's session ends (personas.md §1.2 "Single logout" [S26]).
    Given the "entra" SAML IdP with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    When the user signs out of the reference SP
    Then the sign-out went through the IdP's single logout
    And the last session has ended with "not signed in"

  @must @google
  Scenario: signing out of an app connected to Google stays at the app
    Google's SAML apps have no single logout, so the app ends its own session only (personas.md §4.2 [S49]).
    Given the "google" SAML IdP with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    When the user signs out of the reference SP
    Then the sign-out stayed at the reference SP
    And the last session has ended with "not signed in"
