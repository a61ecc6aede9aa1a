-- The SP keeps no SCIM password (users sign in through SSO; RFC 7643 §4.1.1 asks that a
-- password held locally be hashed, and this SP has no use for one). Earlier versions kept the
-- value a client set in the stored body; remove it from every row.

UPDATE resources
SET body = json_remove(body, '$.password')
WHERE resource_type = 'User' AND json_type(body, '$.password') IS NOT NULL;
