-- SSO connections, verified domains and break-glass users, per organization.
--
-- An organization has at most one SSO connection, paired with its SCIM directory because they
-- share the organization (seed 002); a connection without an organization is not paired. The
-- connection's protocol settings are kept as JSON (an OIDC client secret has to be kept as it
-- is: the SP sends it to the provider).
--
-- A verified domain routes sign-ins to its organization's connection (seed 004, `domain_hint`
-- and `login_hint`); it belongs to one organization and is kept lower-case.
--
-- Break-glass users sign in with a password when SSO is down (seed 000, "Break Glass Users");
-- their passwords are kept as Argon2id PHC strings only.

CREATE TABLE sso_connections (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT REFERENCES organizations (id),
    -- 'oidc' or 'saml'.
    protocol TEXT NOT NULL CHECK (protocol IN ('oidc', 'saml')),
    -- 'Okta', 'MicrosoftEntra' or 'Generic'.
    idp_type TEXT NOT NULL DEFAULT 'Generic'
        CHECK (idp_type IN ('Okta', 'MicrosoftEntra', 'Generic')),
    -- A matching strategy's name, e.g. 'OidcEmailToScimUsername'.
    matching TEXT NOT NULL,
    -- The protocol's settings, JSON.
    settings TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

-- One connection per organization; connections without one (NULL) are not limited.
CREATE UNIQUE INDEX sso_connections_organization ON sso_connections (organization_id);

CREATE TABLE domains (
    domain TEXT PRIMARY KEY NOT NULL CHECK (domain = lower(domain)),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    created TEXT NOT NULL
);

CREATE INDEX domains_organization ON domains (organization_id);

CREATE TABLE break_glass_users (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    -- Lower-case: usernames compare without regard to case.
    username TEXT NOT NULL CHECK (username = lower(username)),
    -- An Argon2id PHC string ('$argon2id$v=19$...').
    password_hash TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (organization_id, username)
) WITHOUT ROWID;
