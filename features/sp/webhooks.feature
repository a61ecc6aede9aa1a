@sp @reference-sp
Feature: The reference SP announces directory changes with signed webhooks
  Each SCIM change an IdP makes is posted to the organization's webhook endpoints as an
  `organization.directory.*` event signed with the `webhook-id`, `webhook-timestamp` and
  `webhook-signature` headers (HMAC-SHA256 over id.timestamp.body with the endpoint's secret),
  so an app can keep its own user records in step (seed 004). The scenarios need the bundled
  SP, so they are skipped for an external target.

  @must @okta
  Scenario: Okta's assignments, group pushes and deprovisioning arrive as signed events
    Users and groups Okta creates, and a user it deactivates, are announced as `user_created`,
    `group_created` and `user_updated` events whose signatures verify with the endpoint's secret (seed 004).
    Given the "okta" persona with the directory "acme"
    And a webhook endpoint of the IdP's organization subscribed to all directory events
    When the IdP runs a provisioning cycle
    Then the endpoint receives a signed "user_created" event for the user "adele"
    And the endpoint receives a signed "group_created" event for the group "engineering"
    When in the IdP, "adele" gets the "status" "DEPROVISIONED"
    And the IdP runs a provisioning cycle
    Then the endpoint receives a signed "user_updated" event for the user "adele" with "active" false

  @must @generic
  Scenario: deleted users and groups arrive as deletion events
    A user removed from the app and a group deleted in the IdP are announced as `user_deleted` and
    `group_deleted` events (seed 004).
    Given the "generic" persona with the directory "acme"
    And a webhook endpoint of the IdP's organization subscribed to "user_deleted, group_deleted" directory events
    And the IdP has run a provisioning cycle
    When in the IdP, "adele" is unassigned from the app
    And in the IdP, the group "engineering" is deleted
    And the IdP runs a provisioning cycle
    Then the endpoint receives a signed "user_deleted" event for the user "adele"
    And the endpoint receives a signed "group_deleted" event for the group "engineering"
