@sp @reference-sp
Feature: The reference SP routes a sign-in to the organization's SSO connection
  `/sso/start` picks the connection by the precedence of seed 004 — `connection_id`, then
  `organization_id`, then `domain_hint`, then the domain of `login_hint` — and answers an
  identifier that names nothing with a 404, never a redirect; `/sso/domain` tells an app whether
  a domain has SSO before it sends the browser anywhere (seed 004). Each scenario verifies
  domains of its own, under its unique value. The scenarios need the bundled SP, so they are
  skipped for an external target.

  @must @okta
  Scenario: each identifier beats the ones after it
    The highest identifier given decides: "These identifiers are evaluated in order of precedence", `connectionId`
    (highest), `organizationId`, `domain_hint`, then `login_hint` (lowest) (seed 004, "SSO identifiers").
    Given the "okta" OpenID Connect provider with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization has verified the domain "{unique}.example"
    And a second organization signs in through the provider's other client and has verified the domain "second.{unique}.example"
    When a browser opens "/sso/start?connection_id={connection}&organization_id={second-organization}&domain_hint=second.{unique}.example&login_hint=adele@second.{unique}.example" at the reference SP
    Then the browser is sent to the login of the connection with the login_hint "adele@second.{unique}.example"
    When a browser opens "/sso/start?organization_id={second-organization}&domain_hint={unique}.example&login_hint=adele@{unique}.example" at the reference SP
    Then the browser is sent to the login of the second organization's connection
    When a browser opens "/sso/start?domain_hint={unique}.example&login_hint=adele@second.{unique}.example" at the reference SP
    Then the browser is sent to the login of the connection
    When a browser opens "/sso/start?login_hint=adele@second.{unique}.example" at the reference SP
    Then the browser is sent to the login of the second organization's connection with the login_hint "adele@second.{unique}.example"

  @must @generic
  Scenario: a domain no organization verified is answered with a 404 naming it, not a redirect
    A `login_hint` or `domain_hint` routes only by a domain "registered to the organization"; one that names no
    organization must not send the browser anywhere, or sign-ins could loop (seed 004, "SSO identifiers").
    Given the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization has verified the domain "{unique}.example"
    When a browser opens "/sso/start?domain_hint=unknown.{unique}.example" at the reference SP
    Then the answer is a 404 naming the "domain_hint" "unknown.{unique}.example", with no redirect
    When a browser opens "/sso/start?login_hint=adele@unknown.{unique}.example" at the reference SP
    Then the answer is a 404 naming the "login_hint" "unknown.{unique}.example", with no redirect
    When a browser opens "/sso/start?login_hint=adele@{unique}.example" at the reference SP
    Then the browser is sent to the login of the connection with the login_hint "adele@{unique}.example"

  @must @generic
  Scenario: the domain check says whether a domain has SSO
    An app can "verify whether an SSO connection exists for a specific domain before proceeding", by domain or
    by email, whatever the case (seed 004, "list connections by domain").
    Given the "generic" SAML IdP with the directory "acme"
    And the reference SP pairs the connection with the SCIM directory of the target
    And the organization has verified the domain "{unique}.example"
    When the app asks the reference SP "/sso/domain?domain={unique}.example"
    Then the answer says the domain has SSO through the connection
    When the app asks the reference SP "/sso/domain?email=Adele@{unique}.EXAMPLE"
    Then the answer says the domain has SSO through the connection
    When the app asks the reference SP "/sso/domain?domain=unknown.{unique}.example"
    Then the answer says the domain has no SSO
