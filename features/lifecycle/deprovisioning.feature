@lifecycle @reference-sp
Feature: Under the deactivate policy, a deleted user is deactivated and can come back
  An organization whose deletion policy is `deactivate` answers a SCIM DELETE by setting the
  user's `active` to false and keeping the user and its group memberships; the user cannot sign
  in, and when the IdP provisions them again they sign in as the same account (seeds 001, 003;
  personas.md §5). The scenarios need the bundled SP, so they are skipped for an external
  target.

  @must @generic
  Scenario: Generic's DELETE on unassignment deactivates the user, who keeps their groups
    "When you delete or deactivate a user in your identity provider, the user will be deactivated in our
    platform—not deleted" (seed 003); Generic sends a hard DELETE when a user leaves the app (personas.md §5).
    Given the "generic" persona with the directory "acme"
    And the organization's deletion policy is "deactivate"
    And the IdP has run a provisioning cycle
    And the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    When in the IdP, "adele" is unassigned from the app
    And the IdP runs a provisioning cycle
    Then the last cycle deleted 1 user
    And the last session has ended with "ScimUserNotActive"
    And the user "adele" is inactive at the target
    And at the target, "adele" is a member of the group "engineering"
    When the user "adele" signs in to the reference SP
    Then the sign-in is refused with "ScimUserNotActive"

  @must @generic
  Scenario: a deactivated user assigned again signs in as the same account
    "The user can be reactivated if restored in your IdP" (seed 003), keeping "any historical data associated with
    the user" (seed 003; seed 001, "supports deactivating the user").
    Given the "generic" persona with the directory "acme"
    And the organization's deletion policy is "deactivate"
    And the IdP has run a provisioning cycle
    And the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    When in the IdP, "adele" is unassigned from the app
    And the IdP runs a provisioning cycle
    And in the IdP, "adele" is assigned to the app again
    And the IdP runs a provisioning cycle
    And the user "adele" signs in to the reference SP
    Then the sign-in succeeds
    And the signed-in SCIM user is the account "adele" had before
    And the user "adele" is active at the target
