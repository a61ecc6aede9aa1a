@provisioning @generic
Feature: The generic RFC 7644 client provisions the acme directory
  The generic persona is a plain RFC 7644 client (personas.md §5): lower-case PATCH ops with
  a path each, JSON booleans, users created even when disabled (inactive), a hard DELETE for
  users who leave, groups with externalId. It is the baseline the vendor personas are
  compared with (§6.1).

  Scenario: the first cycle provisions every user, the disabled one inactive
    Given the "generic" persona with the directory "acme"
    When the IdP runs a provisioning cycle
    Then the last cycle created 28 users
    And the last cycle created 6 groups
    And the user "debra" is inactive at the target
    And the target holds every provisioned user as the persona mapped it
    And the target holds every provisioned group with its members

  Scenario: a second cycle with nothing changed sends nothing
    Given the "generic" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When the IdP runs a provisioning cycle
    Then the last cycle sent no requests

  Scenario: a new title and a renamed userName are patched with lower-case ops
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

  Scenario: a disabled user is set inactive and a removed user is deleted
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

  Scenario: a renamed group, a member who joins and one who leaves, a deleted group
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
