-- How long an SSO session lasts in an organization before its user must sign in again
-- (seed 000: two hours by default, set per organization).
ALTER TABLE organizations ADD COLUMN session_timeout_minutes INTEGER NOT NULL DEFAULT 120;
