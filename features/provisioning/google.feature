@provisioning @google
Feature: Google Workspace pushes no SCIM to a custom app
  Google Workspace provisions users only into the apps of its own catalog; it offers no
  generic SCIM connector, so a custom SCIM target never receives a request from it
  (personas.md §4.1 "SCIM: what exists and what does not"). The simulator refuses the cycle
  instead of inventing a dialect.

  @should
  Scenario: a provisioning cycle is refused before any request is sent
    Google Workspace sends no SCIM to a custom app, only to apps of its own catalog, so an endpoint waiting
    for Google's pushes never gets a user (personas.md §4.1).
    Given the "google" persona with the directory "acme"
    When the IdP tries to run a provisioning cycle
    Then the IdP refuses because it pushes no SCIM
    And the last cycle sent no requests
