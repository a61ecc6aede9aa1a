-- The URLs an organization's directory changes are posted to, signed (seed 004, "Realtime user
-- provisioning with webhooks"; signatures as Standard Webhooks defines them).
--
-- The signing secret has to be kept as it is, not as a digest like the tokens: the SP signs
-- every delivery with it. It is returned once, when the endpoint is registered.

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    url TEXT NOT NULL,
    -- The event types delivered, separated by spaces; empty: all of them.
    events TEXT NOT NULL,
    -- 'whsec_' followed by the base64 of the random key.
    secret TEXT NOT NULL,
    created TEXT NOT NULL
);
