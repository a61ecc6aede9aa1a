@provisioning @entra
Feature: Microsoft Entra ID provisions the acme directory
  Entra's provisioning service as most tenants run it (personas.md §1.1): it looks a user up
  before creating it, sends the manager once the manager exists ("Create user"), PATCHes one
  attribute per operation with capitalised ops and string booleans ("Update user"), sets
  users inactive when they are disabled, unassigned or soft-deleted and deletes them only 30
  days after a soft delete ("Deactivate, reactivate, delete"), and pushes groups after their
  members ("Groups"). Every check reads the target through SCIM.

  @must
  Scenario: the first cycle provisions every enabled user and every group
    Entra looks each enabled user up by `userName`, POSTs the missing ones, then creates groups and adds
    members by PATCH; an endpoint failing a step leaves users or groups missing (personas.md §1.1).
    Given the "entra" persona with the directory "acme"
    When the IdP runs a provisioning cycle
    Then the last cycle created 26 users
    And the last cycle created 6 groups
    And the target holds every provisioned user as the persona mapped it
    And the target holds every provisioned group with its members
    And the user "debra" was not provisioned
    And the user "henrietta" was not provisioned

  @must
  Scenario: a second cycle with nothing changed sends nothing
    Entra sends only changes and retries failed writes each cycle; a request in an unchanged cycle means the
    first cycle's answers (an error, a 201 without `id`) left writes it repeats (personas.md §1.1).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When the IdP runs a provisioning cycle
    Then the last cycle sent no requests

  @must
  Scenario: a new job title and a renamed UPN are patched in place
    Entra patches each changed attribute with its own capitalised `Replace`; an endpoint that refuses
    `Replace` leaves job titles and renamed userNames stale (personas.md §1.1 "Update user").
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "adele" gets the "jobTitle" "Staff Engineer"
    And in the IdP, "miles" gets the "userPrincipalName" "miles.obrien2@acme.test"
    And the IdP runs a provisioning cycle
    Then the last cycle updated 2 users
    And every PATCH of the last cycle used the op "Replace"
    And the user "adele" at the target has "title" equal to the IdP attribute "jobTitle"
    And the user "miles" at the target has "userName" equal to the IdP attribute "userPrincipalName"
    And the target holds every provisioned user as the persona mapped it

  @must
  Scenario: disabled and unassigned users are set inactive, never deleted
    Entra deactivates with `{"op":"Replace","path":"active","value":"False"}`; an endpoint that refuses the
    string boolean leaves disabled and unassigned users active (personas.md §1.1).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "megan" is disabled
    And in the IdP, "zoe" is unassigned from the app
    And the IdP runs a provisioning cycle
    Then the last cycle deactivated 2 users
    And the last cycle sent "active" as the string "False"
    And the last cycle sent no DELETE for users
    And the user "megan" is inactive at the target
    And the user "zoe" is inactive at the target
    And the target holds every provisioned user as the persona mapped it

  @must
  Scenario: a soft-deleted user is set inactive, then deleted once 30 days have passed
    Entra sets a soft-deleted user inactive and sends DELETE 30 days later; an endpoint that refuses either,
    or keeps the deleted user in groups, leaves an ex-employee with access (personas.md §1.1).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "adele" is soft-deleted
    And the IdP runs a provisioning cycle
    Then the user "adele" is inactive at the target
    When 31 days pass
    And the IdP runs a provisioning cycle
    Then the last cycle deleted 1 user
    And the user "adele" no longer exists at the target
    And the target holds every provisioned group with its members

  @must
  Scenario: a renamed group, a member who joins and one who leaves, a deleted group
    Entra renames groups, adds and removes members with `Add`/`Remove` and a `value` list, and deletes groups;
    an endpoint that ignores the list keeps people in groups they left (personas.md §1.1).
    Given the "entra" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, the group "sales" is renamed to "Sales EMEA"
    And in the IdP, "miles" joins the group "sales"
    And in the IdP, "jose" leaves the group "sales"
    And in the IdP, the group "rd_labs" is deleted
    And the IdP runs a provisioning cycle
    Then the last cycle updated 1 group
    And the last cycle deleted 1 group
    And the group "sales" is named "Sales EMEA" at the target
    And at the target, "miles" is a member of the group "sales"
    And at the target, "jose" is not a member of the group "sales"
    And the group "rd_labs" no longer exists at the target
    And the target holds every provisioned group with its members
