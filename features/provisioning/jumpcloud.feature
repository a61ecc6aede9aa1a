@provisioning @jumpcloud
Feature: JumpCloud provisions the acme directory
  JumpCloud's Identity Management connector (personas.md §3.1): its test connection creates
  and deletes a test user and group ("Setup and test connection"), users are identified by
  their short username, suspended, deactivated or unassigned users are set inactive and deleted
  users are deleted ("User lifecycle", "Groups"), and groups are pushed once they have members ("Groups").

  @must
  Scenario: the first cycle provisions every active user and every group with members
    JumpCloud creates and deletes a test user and group, then creates active users and groups with members; an
    endpoint failing a step leaves users or groups missing (personas.md §3.1).
    Given the "jumpcloud" persona with the directory "acme"
    When the IdP runs a provisioning cycle
    Then the last cycle created 26 users
    And the last cycle created 5 groups
    And the target holds every provisioned user as the persona mapped it
    And the target holds every provisioned group with its members
    And the user "debra" was not provisioned

  @must
  Scenario: a second cycle with nothing changed sends nothing
    JumpCloud syncs on change events only; a request in an unchanged cycle means the first cycle's answers (an
    error, a 201 without `id`) left writes it keeps repeating (personas.md §3.1 "User lifecycle").
    Given the "jumpcloud" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When the IdP runs a provisioning cycle
    Then the last cycle sent no requests

  @must
  Scenario: a new job title and a renamed username are patched
    JumpCloud updates changed users by PATCH (unconfirmed); an endpoint that refuses it leaves job titles,
    addresses and renamed usernames stale (personas.md §3.1 "User lifecycle").
    Given the "jumpcloud" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "adele" gets the "jobTitle" "Staff Engineer"
    And in the IdP, "adele" gets the "address.locality" "Portland"
    And in the IdP, "miles" gets the "username" "mobrien"
    And the IdP runs a provisioning cycle
    Then the last cycle updated 2 users
    And the user "adele" at the target has "title" equal to the IdP attribute "jobTitle"
    And the user "adele" at the target has "addresses[type eq \"work\"].locality" equal to the IdP attribute "address.locality"
    And the user "miles" at the target has "userName" equal to the IdP attribute "username"
    And the target holds every provisioned user as the persona mapped it

  @must
  Scenario: disabled and unassigned users are set inactive and a deleted user is deleted
    JumpCloud deactivates disabled users and the members of a group unbound from the app, and deletes users
    deleted in JumpCloud (which action deletes is unconfirmed); an endpoint that refuses either leaves people
    with access (personas.md §3.1 "User lifecycle", "Groups").
    Given the "jumpcloud" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "megan" is disabled
    And in the IdP, "lee" is unassigned from the app
    And in the IdP, "zoe" is deleted
    And the IdP runs a provisioning cycle
    Then the last cycle deactivated 2 users
    And the last cycle deleted 1 user
    And the user "megan" is inactive at the target
    And the user "lee" is inactive at the target
    And the user "zoe" no longer exists at the target
    And the target holds every provisioned user as the persona mapped it
    And the target holds every provisioned group with its members

  @must
  Scenario: a renamed group, a member who joins and one who leaves, a deleted group
    JumpCloud removes members with a `value` list (unconfirmed) and deletes groups deleted in JumpCloud; an
    endpoint ignoring these keeps people in groups they left (personas.md §3.1 "Groups").
    Given the "jumpcloud" persona with the directory "acme"
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
