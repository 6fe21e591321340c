-- The task store's tables. Protobuf messages are stored as binary
-- (bytea): the store never queries inside them, and the columns it filters
-- or sorts on are copied out next to them. Identifiers use the "C"
-- collation: they are compared byte by byte, as the in-memory store does,
-- whatever the database's locale, and comparing them is cheaper.

CREATE TABLE tasks (
    id             text COLLATE "C" PRIMARY KEY,
    tenant         text COLLATE "C" NOT NULL,
    owner          text COLLATE "C" NOT NULL,
    context_id     text COLLATE "C" NOT NULL,
    -- a2a.v1.TaskState number.
    state          integer NOT NULL,
    -- Status timestamp in Unix nanoseconds rather than timestamptz, whose
    -- microseconds would make a page cursor miss the task it names.
    updated        bigint NOT NULL,
    version        bigint NOT NULL,
    runner         text COLLATE "C" NOT NULL,
    task           bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- When the task reached a terminal state, and since when it has been
    -- waiting for its caller: the starting points of its retention.
    terminal_at    timestamptz,
    waiting_since  timestamptz,
    -- NULL while the task is being worked on. Readers treat a row past it
    -- as gone; the sweep deletes it.
    expires_at     timestamptz,
    -- How many events task_events keeps for the task, and the highest seq
    -- trimmed from it (reading from before it is ErrEventsTruncated).
    event_count    integer NOT NULL DEFAULT 0,
    events_dropped bigint NOT NULL DEFAULT 0
);

-- ListTasks: newest first within a tenant and owner, optionally a context.
CREATE INDEX tasks_list ON tasks (tenant, owner, updated DESC, id DESC);
CREATE INDEX tasks_list_context ON tasks (tenant, owner, context_id, updated DESC, id DESC);
-- The retention sweep.
CREATE INDEX tasks_expiry ON tasks (expires_at) WHERE expires_at IS NOT NULL;
-- Orphan search: only SUBMITTED (1) and WORKING (2) tasks, oldest first.
CREATE INDEX tasks_active ON tasks (updated, id) WHERE state IN (1, 2);

CREATE TABLE task_events (
    task_id text COLLATE "C" NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    -- The task version the event produced.
    seq     bigint NOT NULL,
    event   bytea NOT NULL,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE push_configs (
    task_id text COLLATE "C" NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    id      text COLLATE "C" NOT NULL,
    -- Creation order; replacing a config keeps its place.
    ordinal bigserial NOT NULL,
    config  bytea NOT NULL,
    PRIMARY KEY (task_id, id)
);
CREATE INDEX push_configs_order ON push_configs (task_id, ordinal);

-- The transactional outbox: one row per event per webhook, written in the
-- same statement as the event. The rows of one config form a queue in id
-- order, and only its head (lowest id) may be claimed, so a webhook gets
-- its notifications in order. Deleting a config drops its queue, so
-- nothing is sent to a webhook after it is removed.
CREATE TABLE push_outbox (
    id        bigserial PRIMARY KEY,
    task_id   text COLLATE "C" NOT NULL,
    config_id text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    event     bytea NOT NULL,
    attempts  integer NOT NULL DEFAULT 0,
    -- When the head may next be claimed: a claim moves it forward by the
    -- lease, a retry to the retry time. Behind a head, due is only a hint
    -- that keeps a blocked queue out of the claim scan (see outbox.go).
    due       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (task_id, config_id) REFERENCES push_configs (task_id, id) ON DELETE CASCADE
);
CREATE INDEX push_outbox_due ON push_outbox (due, id);
-- Finding a queue's head, its followers, and the rows of a deleted config.
CREATE INDEX push_outbox_queue ON push_outbox (task_id, config_id, id);

-- Leases of the server processes sharing the store (taskstore.Reaper).
CREATE TABLE runners (
    id         text COLLATE "C" PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
