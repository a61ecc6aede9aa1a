-- The reference SP's store: organizations (tenants), their bearer tokens and SCIM resources.
-- Resource bodies are the canonical SCIM JSON without `id` and `meta`. The server keeps a
-- copy of every resource in memory (loaded at start); this database is what makes a
-- write durable and what survives a restart.
--
-- Uniqueness (userName per organization, case-insensitively, RFC 7643 §4.1; a group's
-- displayName) is enforced by the single writer against its in-memory index before a row is
-- written. There is deliberately no unique index here: each would add a random B-tree page to
-- every commit, which costs about a quarter of the create throughput.

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
    body TEXT NOT NULL,
    PRIMARY KEY (organization_id, resource_type, id)
) WITHOUT ROWID;
