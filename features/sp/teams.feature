@sp @reference-sp
Feature: Teams linked to IdP groups decide who may sign in to the reference SP
  A team is linked to an IdP group by its exact name; a user's groups are their SCIM groups and
  the groups the login names (OIDC `groups`, or the SAML attribute the connection maps to it,
  such as JumpCloud's `memberOf`). In an organization with teams, a user in none of them is
  refused with `NotInAnyTeam`, and `/whoami` lists the teams of those who sign in (seed 000,
  "Users and Teams with SSO"; personas.md §3.2). The scenarios need the bundled SP, so they are
  skipped for an external target.

  @must @generic
  Scenario: a member of the linked SCIM group signs in and /whoami lists the team
    "Teams map to SSO groups ... the team name must match the group name", and "any member of the related SSO
    group can attempt to log in" (seed 000, "Users and Teams with SSO").
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization has the team "Builders" linked to the IdP group "Engineering"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is "adele"
    And /whoami lists the team "Builders"

  @must @generic
  Scenario: a user in none of the linked groups is refused with NotInAnyTeam
    Only "any member of the related SSO group" may sign in once teams are linked; a user of another group is
    refused (seed 000, "Users and Teams with SSO").
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    And the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization has the team "Builders" linked to the IdP group "Engineering"
    When the user "megan" signs in to the reference SP
    Then the sign-in is refused with "NotInAnyTeam"
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds

  @should @jumpcloud
  Scenario: JumpCloud's memberOf attribute puts the user in the team
    JumpCloud names the user's groups in the SAML attribute the admin chose, `memberOf` in seed 000 ("we have the
    include group attribute set to memberOf in JumpCloud"), which the SP must map to count (personas.md §3.2).
    Given the "jumpcloud" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization provisions users just in time
    And the organization has the team "Builders" linked to the IdP group "Engineering"
    When the user "adele" signs in to the reference SP
    Then the sign-in is refused with "NotInAnyTeam"
    When the connection reads the groups from the SAML attribute "memberOf"
    And the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And /whoami lists the team "Builders"
