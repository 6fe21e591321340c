-- Initial schema.
--
-- registry_agents holds each registration whole, in its binary protobuf
-- encoding; the registry reads registrations whole and searches them in
-- memory, so the only other columns are the ones the store queries. Ids
-- compare bytewise (COLLATE "C"), so List orders them as Go does whatever
-- the database's collation. expire_unix_ns is the lease's end in Unix
-- nanoseconds (9223372036854775807: never), exact to the nanosecond.
CREATE TABLE registry_agents (
    id             text COLLATE "C" PRIMARY KEY,
    revision       bigint NOT NULL,
    expire_unix_ns bigint NOT NULL,
    data           bytea  NOT NULL  -- a2agrpc.registry.v1.AgentRegistration
);

CREATE INDEX registry_agents_expire ON registry_agents (expire_unix_ns);

-- Revisions, and the keys of registry_changes, from one sequence: unique
-- across every registration, and never reused after a delete.
CREATE SEQUENCE registry_revision;

-- registry_changes logs every write, so watchers in every replica learn
-- exactly what was written: a registration as stored by a Put, or as it
-- was when removed (with why). A NOTIFY payload is too small to carry a
-- registration, and re-reading registry_agents on receipt would see a later
-- state, or nothing after a delete. Notifications carry only seq; rows are
-- needed only until every listener has read them, seconds, and stores prune
-- them after a retention period.
CREATE TABLE registry_changes (
    seq        bigint      PRIMARY KEY,  -- the Put's revision, or a fresh value for a removal
    id         text        COLLATE "C" NOT NULL,
    removed    boolean     NOT NULL,
    reason     text        NOT NULL,
    data       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX registry_changes_created ON registry_changes (created_at);

-- One notification per statement rather than per row (an expiry sweep
-- removes many), listing the new seqs: "c:<seq>,<seq>,...", at most 300 to
-- a notification to stay far below NOTIFY's 8000-byte payload limit.
-- Notifications are delivered at commit, in commit order. The channel is
-- per schema, as channels are database-wide; pgreg's channelFor computes
-- the same name.
CREATE FUNCTION registry_changes_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('a2agrpc_registry_' || md5(TG_TABLE_SCHEMA),
                      'c:' || string_agg(seq::text, ',' ORDER BY seq))
    FROM (SELECT seq, (row_number() OVER (ORDER BY seq) - 1) / 300 AS chunk
          FROM new_rows) numbered
    GROUP BY chunk;
    RETURN NULL;
END
$$;

CREATE TRIGGER registry_changes_notify
    AFTER INSERT ON registry_changes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changes_notify();
