-- The reference SP's store: organizations (tenants), their bearer tokens and SCIM resources.
-- Resource bodies are the canonical SCIM JSON without `id` and `meta`. The server keeps a
-- copy of every resource in memory (loaded at start); this database is what makes a
-- write durable and what survives a restart.

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
    -- compared case-insensitively (RFC 7643 §4.1: userName is caseExact false). The server
    -- checks this before writing; the index guards against a bug ever storing a duplicate.
    unique_name TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (organization_id, resource_type, id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX resources_by_unique_name
    ON resources (organization_id, resource_type, unique_name);
