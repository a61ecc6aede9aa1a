//! Personas: one file per simulated IdP (and per variant of one) under `fixtures/personas/`,
//! holding every knob that reproduces that vendor's behaviour with the source it comes from.
//!
//! Code reads knobs, never the persona's name: adding a persona or a variant is adding a file
//! (ARCHITECTURE "Personas are data"). A variant names its base with `extends` and overrides
//! only what differs; the two files are merged table by table before they are checked.
//!
//! - this module: the typed persona and its knobs.
//! - `load`: reading a folder of persona files, `extends`, errors that name file, line, knob.

mod load;

pub use load::{PersonaCatalog, PersonaError};

use crate::directory::Directory;
use crate::mapping::{
    AttributeMapping, ComputedAttribute, MappingRule, compile_rules, override_rules,
};
use idpsim_scim::ResourceSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A knob: a value, the source that makes it the vendor's behaviour, and whether that source
/// confirms it (personas.md marks guesses `unconfirmed`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knob<T> {
    /// The value the simulator uses.
    pub value: T,
    /// Where the behaviour is documented, e.g. `personas.md §1.1 [S14]`.
    pub source: String,
    /// True when no source confirms the value: it is a guess to be checked.
    #[serde(default)]
    pub unconfirmed: bool,
    /// A sentence for people reading `idpsim personas show`.
    #[serde(default)]
    pub note: Option<String>,
}

impl<T> std::ops::Deref for Knob<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// One persona, after `extends` is resolved.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    /// The persona's name: its file name without extension (`entra`, `okta-aiw`).
    #[serde(skip)]
    pub name: String,
    /// The persona this one is a variant of.
    #[serde(default)]
    pub extends: Option<String>,
    /// The vendor's product name, e.g. `Microsoft Entra ID`.
    pub display_name: String,
    /// One paragraph: who this persona is and when to pick it.
    pub description: String,
    /// The block of a directory entry this persona reads (`entra`, `okta`, ...).
    pub directory_block: String,
    /// The native attributes every user of the block must have.
    #[serde(default)]
    pub required_attributes: Vec<String>,
    /// How the persona speaks SCIM as a provisioning client.
    pub scim: ScimDialect,
    /// Attributes the IdP computes from others (Entra's `IsSoftDeleted`), by name.
    #[serde(default)]
    pub computed: BTreeMap<String, ComputedAttribute>,
    /// Native user attributes to SCIM User paths.
    #[serde(default)]
    pub user_mapping: Vec<AttributeMapping>,
    /// Native group attributes to SCIM Group paths.
    #[serde(default)]
    pub group_mapping: Vec<AttributeMapping>,
    /// SAML 2.0 IdP settings.
    pub saml: SamlSettings,
    /// OpenID Connect provider settings.
    pub oidc: OidcSettings,
    /// The matching strategy an SP uses by default for this IdP (seed 002).
    pub default_matching: Knob<String>,
    /// `user_mapping` with targets resolved against the SCIM User schema.
    #[serde(skip)]
    pub user_rules: Vec<MappingRule>,
    /// `group_mapping` with targets resolved against the SCIM Group schema.
    #[serde(skip)]
    pub group_rules: Vec<MappingRule>,
}

impl Persona {
    /// This persona with a directory's own mapping rules for its block (`mappings.<block>` in
    /// the directory file) applied; an error names the rule whose SCIM path is invalid.
    pub fn for_directory(&self, directory: &Directory) -> Result<Persona, String> {
        let Some(overrides) = directory.mappings.get(&self.directory_block) else {
            return Ok(self.clone());
        };
        let compile = |mappings, schema, list: &str| {
            compile_rules(mappings, schema).map_err(|(index, message)| {
                format!(
                    "directory `{}`: mappings.{}.{list}[{index}].scim: {message}",
                    directory.name, self.directory_block
                )
            })
        };
        let user = compile(&overrides.user, ResourceSchema::user(), "user")?;
        let group = compile(&overrides.group, ResourceSchema::group(), "group")?;
        let mut persona = self.clone();
        persona.user_rules = override_rules(&self.user_rules, &user);
        persona.group_rules = override_rules(&self.group_rules, &group);
        Ok(persona)
    }
}

/// The persona's SCIM client dialect (personas.md §6.1, §6.4).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimDialect {
    /// Whether the IdP pushes SCIM to an app at all (Google Workspace does not).
    pub pushes: Knob<bool>,
    /// The request `Content-Type`.
    pub content_type: Knob<String>,
    /// The request `User-Agent`.
    pub user_agent: Knob<String>,
    /// Further headers sent on every request.
    #[serde(default)]
    pub headers: Option<Knob<BTreeMap<String, String>>>,
    /// What "Test Connection" sends before the first cycle.
    pub test_connection: Knob<TestConnection>,
    /// The attribute a user lookup filters on (`userName eq "..."`).
    pub lookup_attribute: Knob<String>,
    /// `count` sent with lookups (`startIndex=1&count=N`); none sends no paging.
    #[serde(default)]
    pub lookup_page_size: Option<Knob<u32>>,
    /// Whether a 404 answer to a lookup filter counts as "no match" (else it is a failure).
    pub lookup_404_is_no_match: Knob<bool>,
    /// `schemas` of a created user.
    pub create_schemas: Knob<Vec<String>>,
    /// Constant members added to every created user (`roles: []`, `groups: []`, `meta`).
    #[serde(default)]
    pub create_extras: Option<Knob<serde_json::Map<String, serde_json::Value>>>,
    /// Whether a random `password` is sent on create.
    pub create_random_password: Knob<bool>,
    /// Whether users disabled in the IdP are created (inactive) or skipped until enabled.
    pub create_disabled_users: Knob<bool>,
    /// How profile changes are sent.
    pub update_verb: Knob<UpdateVerb>,
    /// How `op` is spelled in PATCH requests.
    pub op_casing: Knob<OpCasing>,
    /// Whether booleans in PATCH values are the strings `"True"`/`"False"`.
    pub booleans_as_strings: Knob<bool>,
    /// How several changed attributes go into one PATCH.
    pub multi_attribute_patch: Knob<MultiAttributePatch>,
    /// Whether an attribute cleared in the IdP is removed at the target or left as it was.
    pub clears_attributes: Knob<bool>,
    /// How `active` changes are sent.
    pub status_change: Knob<StatusChange>,
    /// Whether a user found by the lookup before create (linked, never POSTed) keeps the
    /// `externalId` the target holds instead of getting the persona's.
    #[serde(default)]
    pub links_keep_external_id: Option<Knob<bool>>,
    /// Whether a B2B guest's `userPrincipalName` (`alias_home.example#EXT#@tenant…`) reaches
    /// the mappings with `#EXT#` and the tenant suffix stripped, as Entra does when UPN is
    /// the source; the sign-in tokens keep the full UPN.
    #[serde(default)]
    pub strips_guest_upn: Option<Knob<bool>>,
    /// How query parameters (the lookup filters) are encoded; without the knob, as a form.
    #[serde(default)]
    pub query_encoding: Option<Knob<QueryEncoding>>,
    /// What happens at the target when a user is unassigned from the app (the person's
    /// block removed from the directory).
    pub on_unassign: Knob<Unassign>,
    /// What happens at the target when the person is deleted in the IdP (gone from the
    /// directory); without the knob, what `on_unassign` says.
    #[serde(default)]
    pub on_delete: Option<Knob<Unassign>>,
    /// The native attribute whose presence marks a soft-deleted user.
    #[serde(default)]
    pub soft_delete_attribute: Option<Knob<String>>,
    /// Days after a soft delete when the IdP hard-deletes and sends `DELETE`.
    #[serde(default)]
    pub hard_delete_after_days: Option<Knob<u32>>,
    /// Whether groups are pushed.
    pub pushes_groups: Knob<bool>,
    /// Whether group lookups carry `excludedAttributes=members`.
    pub group_lookup_excludes_members: Knob<bool>,
    /// `schemas` of a created group.
    pub group_create_schemas: Knob<Vec<String>>,
    /// Constant members added to every created group (Entra's `meta`).
    #[serde(default)]
    pub group_create_extras: Option<Knob<serde_json::Map<String, serde_json::Value>>>,
    /// Whether a created group carries `members: []`.
    pub group_create_empty_members: Knob<bool>,
    /// Whether a group with no members is created.
    pub create_empty_groups: Knob<bool>,
    /// How membership and renames are sent.
    pub group_update_verb: Knob<UpdateVerb>,
    /// The members of an `add` (or PUT) are `{value}` plus these fields.
    pub member_value: Knob<MemberValue>,
    /// How members are removed.
    pub member_remove: Knob<MemberRemove>,
    /// At most this many members per request.
    pub member_batch_size: Knob<u32>,
    /// How a group rename is sent.
    pub group_rename: Knob<GroupRename>,
    /// Whether every membership PATCH repeats the path-less `{id, displayName}` replace.
    pub rename_with_membership: Knob<bool>,
    /// Whether a batch's member removals and additions go in one PATCH (Okta's captured
    /// request) rather than one PATCH each.
    #[serde(default)]
    pub membership_in_one_patch: Option<Knob<bool>>,
    /// Whether a group removed from the IdP is deleted at the target.
    pub deletes_groups: Knob<bool>,
    /// How 429 answers are handled.
    pub rate_limit: Knob<RateLimitPolicy>,
    /// How many times a 5xx answer is retried within the cycle.
    pub server_error_retries: Knob<u32>,
    /// Thresholds after which the IdP stops provisioning (Entra's quarantine).
    #[serde(default)]
    pub quarantine: Option<Knob<QuarantineThresholds>>,
    /// The page size of the IdP's import of the app's users and groups (Okta's 100); absent
    /// when the IdP imports nothing, or how it pages is not known.
    #[serde(default)]
    pub import_page_size: Option<Knob<u64>>,
}

/// What "Test Connection" sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestConnection {
    /// Filter on the lookup attribute with a random GUID; expect an empty list (Entra).
    ProbeRandomUser,
    /// `GET /Users?startIndex=1&count=2` and `GET /Groups?startIndex=1&count=100` (Okta).
    ListUsersAndGroups,
    /// Create a test user and group, then delete them (JumpCloud).
    CreateAndDelete,
    /// Nothing is sent.
    None,
}

/// The verb of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateVerb {
    /// PATCH with the changed attributes.
    Patch,
    /// GET the resource, merge the changes, PUT it back.
    Put,
}

/// How PATCH `op` values are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpCasing {
    /// `add`, `replace`, `remove` (RFC 7644).
    Lower,
    /// `Add`, `Replace`, `Remove` (Entra without `aadOptscim062020`).
    Capitalized,
}

/// How several changed attributes go into one PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiAttributePatch {
    /// One operation per attribute, each with a `path`.
    OpPerPath,
    /// Replacements folded into one path-less `replace` with dotted and URN keys; paths with
    /// a value filter stay operations of their own (Entra with `aadOptscim062020`).
    PathlessDotted,
}

/// How a change of `active` is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusChange {
    /// PATCH `{"op": "replace", "path": "active", "value": false}`.
    PatchPath,
    /// PATCH `{"op": "replace", "value": {"active": false}}`.
    PatchPathless,
    /// GET, then PUT the resource with `active` changed.
    Put,
}

/// How query parameters are encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryEncoding {
    /// `application/x-www-form-urlencoded`: a space is `+` (Entra's captured lookup).
    #[default]
    Form,
    /// RFC 3986 percent-encoding of everything but unreserved characters: a space is `%20`,
    /// `@` is `%40` (Okta's captured requests).
    Percent,
}

/// What a user leaving the app's scope becomes at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unassign {
    /// `active` is set to false.
    Deactivate,
    /// The user is deleted.
    Delete,
}

/// The fields of a member in an `add` or a PUT besides `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberValue {
    /// `{"value": id}`.
    Value,
    /// `{"$ref": null, "value": id}` (Entra).
    ValueAndNullRef,
    /// `{"value": id, "display": userName}` (Okta).
    ValueAndDisplay,
}

/// How members are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRemove {
    /// `{"op": "remove", "path": "members", "value": [{"value": id}, ...]}`.
    ValueArray,
    /// One `{"op": "remove", "path": "members[value eq \"id\"]"}` per member.
    FilterPath,
}

/// How a group rename is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRename {
    /// `{"op": "replace", "path": "displayName", "value": name}`.
    Path,
    /// `{"op": "replace", "value": {"id": id, "displayName": name}}` (Okta).
    PathlessWithId,
}

/// How a 429 answer is handled.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitPolicy {
    /// Whether an integer `Retry-After` (seconds) is honoured.
    pub honours_retry_after: bool,
    /// The wait when `Retry-After` is missing or not an integer.
    pub default_wait_seconds: u64,
    /// Whether each further 429 doubles the wait.
    pub doubles: bool,
    /// Attempts before the operation fails for this cycle.
    pub max_attempts: u32,
}

/// Failure counts at which the IdP quarantines the job (personas.md §1.1, "Quarantine").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineThresholds {
    /// Failures needed before the proportion is evaluated.
    pub minimum_failures: u64,
    /// Quarantine when more than this share of operations failed.
    pub failure_share: f64,
    /// Quarantine when more than this many operations failed.
    pub maximum_failures: u64,
}

/// SAML 2.0 IdP settings (personas.md §6.2); interpreted by the SAML IdP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlSettings {
    /// Entity ID template; `{tenant}` is the simulated tenant id.
    pub entity_id: Knob<String>,
    /// SSO URL template.
    pub sso_url: Knob<String>,
    /// NameID format URI.
    pub name_id_format: Knob<String>,
    /// The native attribute whose value is the NameID.
    pub name_id_attribute: Knob<String>,
    /// What is signed: `assertion`, `response` or `both`.
    pub signed: Knob<String>,
    /// Assertion attribute names to native attributes.
    pub attributes: Knob<BTreeMap<String, String>>,
    /// Assertion validity in minutes after IssueInstant.
    pub validity_minutes: Knob<u32>,
    /// Whether Single Logout is offered, and over which binding.
    pub single_logout: Knob<String>,
    /// Minutes `Conditions NotBefore` lies before IssueInstant (0: no back-dating).
    pub not_before_minutes: Knob<u32>,
    /// Minutes the bearer `SubjectConfirmationData NotOnOrAfter` lies after IssueInstant.
    pub subject_confirmation_minutes: Knob<u32>,
    /// What `SessionIndex` is: `assertion_id`, or `request_id` (the AuthnRequest's ID in
    /// SP-initiated logins, the assertion ID otherwise).
    pub session_index: Knob<String>,
    /// The `AuthnContextClassRef` of the AuthnStatement.
    pub authn_context: Knob<String>,
    /// The shape of Response and Assertion IDs: `underscore_uuid` (`_` + GUID),
    /// `id_digits` (`id` + 25 digits) or `underscore_hex` (`_` + 32 hex digits).
    pub id_format: Knob<String>,
    /// The `Format` of the `Issuer` elements, when the IdP writes one.
    #[serde(default)]
    pub issuer_format: Option<Knob<String>>,
    /// The `NameFormat` of every `Attribute`, when the IdP writes one.
    #[serde(default)]
    pub attribute_name_format: Option<Knob<String>>,
    /// The `xsi:type` of every `AttributeValue`, when the IdP writes one.
    #[serde(default)]
    pub attribute_value_type: Option<Knob<String>>,
    /// Attributes every assertion carries; a value may hold `{tenant}`.
    #[serde(default)]
    pub static_attributes: Option<Knob<BTreeMap<String, String>>>,
    /// The attribute that lists the user's groups, when the IdP sends one.
    #[serde(default)]
    pub group_attribute: Option<Knob<GroupAttribute>>,
    /// Whether the IdP sends unsolicited (IdP-initiated) responses.
    pub idp_initiated: Knob<bool>,
    /// The NameID formats an AuthnRequest's `NameIDPolicy` may ask for, and how each is
    /// answered: `configured` (the `name_id_attribute` value), `pairwise` (an opaque value
    /// that differs per SP) or `transient` (new at each sign-in). A format not listed is
    /// refused with `InvalidNameIDPolicy`; without the knob any format gets the configured
    /// NameID.
    #[serde(default)]
    pub name_id_policy: Option<Knob<BTreeMap<String, String>>>,
    /// The `Issuer` of its LogoutResponses, when it is not the entity ID; may hold `{tenant}`.
    #[serde(default)]
    pub logout_issuer: Option<Knob<String>>,
    /// Whether an SP entity ID that is no URI (an application id GUID) is written `spn:<id>`
    /// in the `Audience`, as Entra does.
    #[serde(default)]
    pub audience_spn_prefix: Option<Knob<bool>>,
    /// Whether a request's `Destination` is ignored, as Entra documents; without the knob a
    /// request naming another Destination than the SSO URL is refused (SAML Core §3.2.1).
    #[serde(default)]
    pub ignores_destination: Option<Knob<bool>>,
    /// The assertion attributes that play the role of the OIDC claims `email`,
    /// `preferred_username` and `oid` when an SP matches a SAML login (personas.md §7).
    pub oidc_equivalents: Knob<BTreeMap<String, String>>,
}

/// The attribute of an assertion that lists the user's groups.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupAttribute {
    /// The attribute's `Name`.
    pub name: String,
    /// The native group attribute each value is (a group's `name`, Entra's `objectId`).
    pub value: String,
}

/// OpenID Connect provider settings (personas.md §6.3); interpreted by the OIDC provider.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// Issuer template; `{tenant}` is the simulated tenant id.
    pub issuer: Knob<String>,
    /// How `sub` is derived: `pairwise`, or the native attribute that is the subject.
    pub subject: Knob<String>,
    /// Claims of the ID token to native attributes.
    pub claims: Knob<BTreeMap<String, String>>,
    /// Claims every ID token carries: a string may hold `{tenant}` (the simulated tenant id)
    /// or `{email_domain}` (the domain of the token's `email`).
    #[serde(default)]
    pub static_claims: Option<Knob<BTreeMap<String, serde_json::Value>>>,
    /// Whether every ID token carries `auth_time`, asked for with `max_age` or not.
    #[serde(default)]
    pub auth_time: Option<Knob<bool>>,
    /// The prefix of a `jti` unique to each ID token, for a provider that sends one.
    #[serde(default)]
    pub jti_prefix: Option<Knob<String>>,
}
