@provisioning @entra-compliant
Feature: Microsoft Entra ID with aadOptscim062020 provisions the acme directory
  With the aadOptscim062020 flag on its tenant URL, Entra speaks the RFC-compliant PATCH
  dialect (personas.md §1.1 "Jobs, versions and the compliance flag"): lower-case ops,
  JSON booleans, several attributes folded into one path-less replace ("Update user",
  "Deactivate, reactivate, delete") and members removed by filter path ("Groups"). What the
  target ends up holding must not depend on the dialect.

  @must
  Scenario: the first cycle provisions every enabled user and every group
    Entra looks each enabled user up by `userName`, POSTs the missing ones, then creates groups and adds
    members by PATCH; an endpoint failing a step leaves users or groups missing (personas.md §1.1).
    Given the "entra-compliant" persona with the directory "acme"
    When the IdP runs a provisioning cycle
    Then the last cycle created 26 users
    And the last cycle created 6 groups
    And the target holds every provisioned user as the persona mapped it
    And the target holds every provisioned group with its members

  @must
  Scenario: several changed attributes are patched with lower-case ops
    With the flag Entra folds changed attributes into one path-less `replace` with dotted keys; an endpoint
    that misreads it leaves titles, cities and userNames stale (personas.md §1.1 "Update user").
    Given the "entra-compliant" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "adele" gets the "jobTitle" "Staff Engineer"
    And in the IdP, "adele" gets the "city" "Portland"
    And in the IdP, "miles" gets the "userPrincipalName" "miles.obrien2@acme.test"
    And the IdP runs a provisioning cycle
    Then the last cycle updated 2 users
    And every PATCH of the last cycle used the op "replace"
    And the user "adele" at the target has "title" equal to the IdP attribute "jobTitle"
    And the user "adele" at the target has "addresses[type eq \"work\"].locality" equal to the IdP attribute "city"
    And the user "miles" at the target has "userName" equal to the IdP attribute "userPrincipalName"
    And the target holds every provisioned user as the persona mapped it

  @must
  Scenario: disabled and unassigned users are set inactive with a JSON boolean
    With the flag Entra deactivates with `{"op":"replace","path":"active","value":false}`; an endpoint that
    refuses it leaves disabled and unassigned users active (personas.md §1.1).
    Given the "entra-compliant" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, "megan" is disabled
    And in the IdP, "zoe" is unassigned from the app
    And the IdP runs a provisioning cycle
    Then the last cycle deactivated 2 users
    And the last cycle sent "active" as the boolean false
    And the last cycle sent no DELETE for users
    And the user "megan" is inactive at the target
    And the user "zoe" is inactive at the target

  @must
  Scenario: members removed by filter path leave the group they left
    With the flag Entra removes a member with `remove` on `members[value eq "id"]`; an endpoint that ignores
    the filter path keeps people in groups they left (personas.md §1.1 "Groups").
    Given the "entra-compliant" persona with the directory "acme"
    And the IdP has run a provisioning cycle
    When in the IdP, the group "sales" is renamed to "Sales EMEA"
    And in the IdP, "miles" joins the group "sales"
    And in the IdP, "jose" leaves the group "sales"
    And in the IdP, "renee" leaves the group "sales"
    And the IdP runs a provisioning cycle
    Then the last cycle updated 1 group
    And the group "sales" is named "Sales EMEA" at the target
    And at the target, "miles" is a member of the group "sales"
    And at the target, "jose" is not a member of the group "sales"
    And at the target, "renee" is not a member of the group "sales"
    And the target holds every provisioned group with its members
