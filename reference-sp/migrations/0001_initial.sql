-- The reference SP's store: organizations (tenants), their bearer tokens, SCIM resources and
-- group memberships. Resource bodies are the canonical SCIM JSON without `id` and `meta`; the
-- columns beside them exist for lookups and uniqueness.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- 'delete' or 'deactivate': what DELETE /Users/{id} does.
    deletion_policy TEXT NOT NULL DEFAULT 'delete',
    created TEXT NOT NULL
);

-- Tokens are stored as SHA-256 digests only; the token itself is shown once.
CREATE TABLE tokens (
    digest BLOB PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    -- 'read-write' or 'read-only'.
    role TEXT NOT NULL,
    created TEXT NOT NULL
);

CREATE TABLE resources (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    -- 'User' or 'Group'.
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    -- Lower-cased userName (User) or displayName (Group): both unique per organization,
    -- compared case-insensitively (RFC 7643 §4.1 userName is caseExact false).
    unique_name TEXT,
    -- The name shown for the resource in `members.display` and `groups.display`.
    display TEXT,
    external_id TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (organization_id, resource_type, id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX resources_by_unique_name
    ON resources (organization_id, resource_type, unique_name);
CREATE INDEX resources_by_external_id
    ON resources (organization_id, resource_type, external_id);

-- Direct memberships, mirrored from each Group's `members` so that a User's `groups` and the
-- clean-up after a deletion are index lookups.
CREATE TABLE memberships (
    organization_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (organization_id, group_id, member_id)
) WITHOUT ROWID;

CREATE INDEX memberships_by_member ON memberships (organization_id, member_id);

-- Member references name an id without its resource type.
CREATE INDEX resources_by_id ON resources (organization_id, id);
