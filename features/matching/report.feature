@matching @reference-sp
Feature: The matching report names the logins no SCIM user matches and the strategy that would
  `GET /sso/report/{connection}` (admin key) lists the subjects seen at login that no active
  SCIM user matches under the connection's strategy, with why, and counts for every strategy
  how many of them it would match, so an admin can "toggle through each combination until no
  users are listed" (seed 002, "Setting Matching Strategies in the Dashboard"; personas.md §7).

  @must @entra
  Scenario: the report lists an Entra user the default strategy misses and shows that the oid strategy matches them
    Entra's pairwise `sub` is no SCIM `externalId`, so its default strategy matches no one, while its `oid` is the
    `externalId` Entra provisions; the report says so, and is empty once the strategy is switched (seed 002;
    personas.md §7, failure mode 1).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "entra" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"
    And the matching report lists "adele" as unmatched because of "no user"
    And the matching report says "OidcSubToScimExternalId" would not match "adele"
    And the matching report says "OidcOidToScimExternalId" would match "adele"
    And the matching report says "OidcPreferredUsernameToScimUsername" would match "adele"
    When the reference SP matches logins with "OidcOidToScimExternalId"
    Then the matching report lists no unmatched user
