@provisioning @okta-aiw
Feature: Okta's wizard-built SCIM app provisions the acme directory
  A custom SCIM app made with Okta's App Integration Wizard (personas.md §2.1 "Integration
  flavours matter"): every user change, deactivation included, is GET then PUT ("Update
  user", "Deactivate, reactivate, delete, suspend"), and membership changes and renames are a
  PUT of the whole group ("Groups (Push Groups)"). It never sends PATCH, and never deletes a
  user.

  @must
  Scenario: the first cycle provisions every active user and every group
    The AIW app looks each assigned user up by `userName`, POSTs the missing ones and pushes its groups; an
    endpoint failing a step leaves users or groups missing (personas.md §2.1).
    Given the "okta-aiw" persona with the directory "acme"
    When the IdP runs a provisioning cycle
    Then the last cycle created 27 users
    And the last cycle created 6 groups
    And the target holds every provisioned user as the persona mapped it
    And the target holds every provisioned group with its members

  @must
  Scenario: a new title and a renamed login are written back with PUT, never PATCH
    The AIW app writes every profile change as GET then PUT of the whole user; an endpoint that refuses that
    PUT leaves titles and renamed logins stale (personas.md §2.1 "Update user").
    Given the "okta-aiw" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "adele" gets the "title" "Staff Engineer"
    And in the IdP, "miles" gets the "login" "miles.obrien2@acme.test"
    And the IdP runs a provisioning cycle
    Then the last cycle updated 2 users
    And the last cycle sent no PATCH
    And the user "adele" at the target has "title" equal to the IdP attribute "title"
    And the user "miles" at the target has "userName" equal to the IdP attribute "login"
    And the target holds every provisioned user as the persona mapped it

  @must
  Scenario: deactivated and unassigned users are set inactive with PUT
    The AIW app deactivates with GET then PUT of the user with `active` false; an endpoint that ignores
    `active` in a PUT leaves deactivated and unassigned users active (personas.md §2.1).
    Given the "okta-aiw" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "megan" is disabled
    And in the IdP, "zoe" is unassigned from the app
    And the IdP runs a provisioning cycle
    Then the last cycle deactivated 2 users
    And the last cycle sent no PATCH
    And the last cycle sent no DELETE for users
    And the user "megan" is inactive at the target
    And the user "zoe" is inactive at the target
    And the target holds every provisioned user as the persona mapped it

  @must
  Scenario: a renamed group and its new members are written with one PUT
    The AIW app writes a group's new name and complete member list in one PUT; an endpoint that keeps old
    members or names leaves people in groups they left (personas.md §2.1).
    Given the "okta-aiw" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, the group "sales" is renamed to "Sales EMEA"
    And in the IdP, "miles" joins the group "sales"
    And in the IdP, "jose" leaves the group "sales"
    And the IdP runs a provisioning cycle
    Then the last cycle updated 1 group
    And the last cycle sent no PATCH
    And the group "sales" is named "Sales EMEA" at the target
    And at the target, "miles" is a member of the group "sales"
    And at the target, "jose" is not a member of the group "sales"
    And the target holds every provisioned group with its members
