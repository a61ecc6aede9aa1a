-- Resources keyed by a number the writer assigns in creation order (`seq`, SQLite's rowid).
--
-- The table was keyed by (organization_id, resource_type, id), a WITHOUT ROWID B-tree holding
-- whole rows. Each commit then rewrote the three right-most leaves of that tree (SQLite
-- rebalances an index B-tree across three siblings when a page fills) and a path of interior
-- pages holding copies of the long keys: about four pages per commit. Keyed by an increasing
-- integer, a create appends to the last leaf and a commit writes one or two pages.
--
-- There is no index on the id: the single writer keeps every resource in memory, addresses a
-- row by its number, and enforces that ids are unique, as it does for userName.

CREATE TABLE resources_by_seq (
    seq INTEGER PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    -- 'User' or 'Group'.
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    body TEXT NOT NULL
);

INSERT INTO resources_by_seq
    (organization_id, resource_type, id, version, created, last_modified, body)
SELECT organization_id, resource_type, id, version, created, last_modified, body
FROM resources
ORDER BY created, id;

DROP TABLE resources;

ALTER TABLE resources_by_seq RENAME TO resources;
