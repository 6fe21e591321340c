-- Initial schema.
--
-- A registration is stored whole, as its binary protobuf encoding: the
-- registry reads registrations whole and searches them in memory, so the
-- only columns are the ones the store itself queries. expire_unix_ns is the
-- lease's end in Unix nanoseconds (9223372036854775807: never), indexed for
-- the expiry sweep.

CREATE TABLE registry_agents (
    id             TEXT    PRIMARY KEY,
    revision       INTEGER NOT NULL,
    expire_unix_ns INTEGER NOT NULL,
    data           BLOB    NOT NULL  -- a2agrpc.registry.v1.AgentRegistration
) STRICT;

CREATE INDEX registry_agents_expire ON registry_agents (expire_unix_ns);

-- The last revision assigned. Revisions must keep increasing after the
-- registration holding the highest one is deleted, so max(revision) will
-- not do; this one row is the counter.
CREATE TABLE registry_revision (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    last INTEGER NOT NULL
) STRICT;

INSERT INTO registry_revision (one, last) VALUES (1, 0);
