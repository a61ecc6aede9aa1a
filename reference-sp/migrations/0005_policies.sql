-- An organization's account policies (seeds 000, 001): just-in-time provisioning of the users
-- who sign in, and teams linked to IdP groups by name.

-- 1 when a first SSO sign-in creates the SCIM user (seed 000 "On the first login, a user
-- record gets created", seed 001 "JIT Provisioning"); off by default.
ALTER TABLE organizations ADD COLUMN jit_provisioning INTEGER NOT NULL DEFAULT 0;

-- The organization's teams, each linked to the IdP group whose name it must match exactly
-- (seed 000 "the team name must match the group name").
CREATE TABLE teams (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    idp_group TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (organization_id, name)
) WITHOUT ROWID;

-- The SCIM users just-in-time provisioning created. A directory holding any other user, or any
-- group, has a SCIM client writing to it, and then JIT provisioning stays off (seed 002: the
-- SCIM connection decides who exists).
CREATE TABLE jit_users (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
) WITHOUT ROWID;
