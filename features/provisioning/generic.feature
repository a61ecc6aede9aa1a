@provisioning @generic
Feature: The generic RFC 7644 client provisions the acme directory
  The generic persona is a plain RFC 7644 client (personas.md §5): lower-case PATCH ops with
  a path each, JSON booleans, users created even when disabled (inactive), a hard DELETE for
  users who leave, groups with externalId. It is the baseline the vendor personas are
  compared with (§6.1).

  @must
  Scenario: the first cycle provisions every user, the disabled one inactive
    The generic client POSTs every user, a disabled one with `active` false, then creates groups with their
    members; an endpoint failing a step leaves users or groups missing (personas.md §5).
    Given the "generic" persona with the directory "acme"
    When the IdP runs a provisioning cycle
    Then the last cycle created 28 users
    And the last cycle created 6 groups
    And the user "debra" is inactive at the target
    And the target holds every provisioned user as the persona mapped it
    And the target holds every provisioned group with its members

  @must
  Scenario: a second cycle with nothing changed sends nothing
    The generic client sends only changes; a request in an unchanged cycle means the first cycle's answers (an
    error, a 201 without `id`) left writes it keeps repeating (RFC 7644 §3.3).
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When the IdP runs a provisioning cycle
    Then the last cycle sent no requests

  @must
  Scenario: a new title and a renamed userName are patched with lower-case ops
    The generic client patches each change with a lower-case op and a path; an endpoint that refuses it leaves
    titles and renamed userNames stale (RFC 7644 §3.5.2).
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "adele" gets the "title" "Staff Engineer"
    And in the IdP, "miles" gets the "userName" "miles.obrien2@acme.test"
    And the IdP runs a provisioning cycle
    Then the last cycle updated 2 users
    And every PATCH of the last cycle used the op "replace"
    And the user "adele" at the target has "title" equal to the IdP attribute "title"
    And the user "miles" at the target has "userName" equal to the IdP attribute "userName"
    And the target holds every provisioned user as the persona mapped it

  @must
  Scenario: a disabled user is set inactive and a removed user is deleted
    The generic client sends `{"op":"replace","path":"active","value":false}` or DELETE; an endpoint that
    refuses either leaves disabled or removed users with access (personas.md §5).
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "megan" is disabled
    And in the IdP, "zoe" is unassigned from the app
    And the IdP runs a provisioning cycle
    Then the last cycle deactivated 1 user
    And the last cycle deleted 1 user
    And the last cycle sent "active" as the boolean false
    And the user "megan" is inactive at the target
    And the user "zoe" no longer exists at the target
    And the target holds every provisioned group with its members

  @must
  Scenario: a renamed group, a member who joins and one who leaves, a deleted group
    The generic client removes members with `members[value eq "id"]` and deletes groups; an endpoint that
    ignores the filter path keeps people in groups they left (RFC 7644 §3.5.2.2).
    Given the "generic" persona with the directory "acme"
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
