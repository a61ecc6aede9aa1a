@provisioning @okta
Feature: Okta provisions the acme directory
  Okta's catalog (OIN) SCIM app (personas.md §2.1 "Integration flavours matter"): it creates
  assigned users after a lookup ("Create user (assignment)"), updates profiles with GET then
  PUT ("Update user"), deactivates with a path-less PATCH and never deletes a user
  ("Deactivate, reactivate, delete, suspend"), and pushes groups, renaming them with a
  path-less replace that repeats the id ("Groups (Push Groups)").

  @must
  Scenario: the first cycle provisions every active user and every group
    Okta looks each assigned user up by `userName` with `startIndex` and `count`, POSTs the missing ones and
    pushes groups; an endpoint failing a step leaves users or groups missing (personas.md §2.1).
    Given the "okta" persona with the directory "acme"
    When the IdP runs a provisioning cycle
    Then the last cycle created 27 users
    And the last cycle created 6 groups
    And the target holds every provisioned user as the persona mapped it
    And the target holds every provisioned group with its members
    And the user "debra" was not provisioned

  @should @serial
  Scenario: Okta's import reads every user and group, 100 at a time
    Okta imports what the app holds with `GET /Users?startIndex=1&count=100`, then `startIndex=101`, … while
    `totalResults` (an integer) says there are more, the same for `/Groups`, and skips inactive users; a
    wrong `totalResults` or a page over `count` loses or repeats users (personas.md §2.1 "Import and
    pagination"). It runs alone, so that no other scenario's users shift the pages of a shared target.
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When the IdP imports the target's users and groups
    Then the import read every active user and group the IdP pushed, without paging problems

  @must
  Scenario: a second cycle with nothing changed sends nothing
    Okta pushes only what changes in Okta; a request in an unchanged cycle means the first cycle's answers (an
    error, a 201 without `id`) left writes it keeps repeating (personas.md §2.1).
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When the IdP runs a provisioning cycle
    Then the last cycle sent no requests

  @must
  Scenario: a new title and a renamed login are written back with PUT
    Okta writes a profile change back as GET then PUT of the whole user; an endpoint that refuses that PUT
    leaves titles and renamed logins stale (personas.md §2.1 "Update user").
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "adele" gets the "title" "Staff Engineer"
    And in the IdP, "miles" gets the "login" "miles.obrien2@acme.test"
    And the IdP runs a provisioning cycle
    Then the last cycle updated 2 users
    And the user "adele" at the target has "title" equal to the IdP attribute "title"
    And the user "miles" at the target has "userName" equal to the IdP attribute "login"
    And the target holds every provisioned user as the persona mapped it

  @must
  Scenario: deactivated and unassigned users are set inactive, never deleted
    Okta deactivates with a path-less `{"op":"replace","value":{"active":false}}`; an endpoint that refuses it
    leaves deactivated and unassigned users active (personas.md §2.1).
    Given the "okta" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "megan" is disabled
    And in the IdP, "zoe" is unassigned from the app
    And the IdP runs a provisioning cycle
    Then the last cycle deactivated 2 users
    And the last cycle sent no DELETE for users
    And the user "megan" is inactive at the target
    And the user "zoe" is inactive at the target
    And the target holds every provisioned user as the persona mapped it

  @must
  Scenario: a renamed group, a member who joins and one who leaves, a deleted group
    Okta renames with a path-less `replace` repeating the `id` and removes members by a filter path; an
    endpoint refusing these keeps stale names and members (personas.md §2.1 "Groups (Push Groups)").
    Given the "okta" persona with the directory "acme"
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
