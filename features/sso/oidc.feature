@sso @reference-sp
Feature: Signing in to the reference SP through each persona's OpenID Connect provider
  The persona's provider, served for the scenario in test mode, signs the `login_hint` user of
  the acme directory in; the reference SP runs the code flow with PKCE, verifies the ID token
  against the provider's JWKS and opens a session (personas.md §1.3, §2.3, §3.3, §4.3, §6.3).
  These scenarios need the bundled SP's sign-in side, so they are skipped for an external target.

  @must @entra
  Scenario: Entra identifies a user by oid and tid, with a pairwise sub
    Entra's ID token carries the user's object id as `oid`, the tenant as `tid`, the UPN as
    `preferred_username`, and a `sub` that differs per application (personas.md §1.3).
    Given the "entra" OpenID Connect provider with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the ID token's "oid" is the user's IdP attribute "objectId"
    And the ID token's "preferred_username" is "adele.vance@acme.test"
    And the ID token's "ver" is "2.0"
    And the ID token has no "email"
    When the user "adele" signs in to the reference SP through another client
    Then the sign-in succeeds
    And the two sign-ins have different subjects

  @must @entra
  Scenario: a user's sub never changes between sign-ins to the same application
    Entra's pairwise `sub` is stable per user and application, so an app may key accounts on it
    (personas.md §1.3).
    Given the "entra" OpenID Connect provider with the directory "acme"
    When the user "adele" signs in to the reference SP
    And the user "adele" signs in to the reference SP
    Then the two sign-ins have the same subject

  @must @okta
  Scenario: Okta's sub is the user id
    Okta's ID token `sub` is the `00u…` user id, with the login as `preferred_username` and the
    email when the scope asks (personas.md §2.3, §6.3).
    Given the "okta" OpenID Connect provider with the directory "acme"
    When the user "isaiah" signs in to the reference SP
    Then the sign-in succeeds
    And the ID token's "sub" is the user's IdP attribute "id"
    And the ID token's "preferred_username" is the user's IdP attribute "login"
    And the ID token's "email" is the user's IdP attribute "email"

  @must @google
  Scenario: Google's sub is the numeric account id, with the hosted domain
    Google's ID token `sub` is the numeric account id, `hd` the Workspace domain,
    `email_verified` true and `name` the full name (personas.md §4.3, §6.3).
    Given the "google" OpenID Connect provider with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the ID token's "sub" is the user's IdP attribute "id"
    And the ID token's "hd" is "acme.test"
    And the ID token's "email_verified" is "true"
    And the ID token's "name" is "Adele Vance"

  @must @jumpcloud
  Scenario: JumpCloud signs a user in with the username as preferred_username
    JumpCloud's OIDC claims are unconfirmed beyond `email` with the email scope; the persona
    uses the user id as `sub` and the username as `preferred_username` (personas.md §3.3, §6.3).
    Given the "jumpcloud" OpenID Connect provider with the directory "acme"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the ID token's "sub" is the user's IdP attribute "id"
    And the ID token's "preferred_username" is "avance"

  @must @entra @okta @google @jumpcloud @generic
  Scenario Outline: a disabled user cannot sign in through <persona>
    A user disabled in the IdP is refused by the IdP itself, which answers the app with
    `access_denied` instead of a code, so the app never sees a token (OpenID Connect Core §3.1.2.6).
    Given the "<persona>" OpenID Connect provider with the directory "acme"
    When the user "debra" signs in to the reference SP
    Then the sign-in is refused with "access_denied"

    Examples:
      | persona   |
      | entra     |
      | okta      |
      | google    |
      | jumpcloud |
      | generic   |
