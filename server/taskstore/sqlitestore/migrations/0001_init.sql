-- Initial schema. Times are integer Unix nanoseconds: exact, so a page
-- token's (updated, id) matches the stored row bit for bit, and cheap to
-- compare. Protobuf messages are stored in their binary encoding.

CREATE TABLE tasks (
    -- rid numbers tasks in creation order. The event log is keyed by it
    -- rather than by id, so that the events of the tasks running at the
    -- same time land on the same few pages at the end of the log instead
    -- of one page each wherever their random ids fall, and a commit writes
    -- that many fewer pages.
    rid            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    tenant         TEXT    NOT NULL,
    owner          TEXT    NOT NULL,
    context_id     TEXT    NOT NULL,
    state          INTEGER NOT NULL,  -- a2a.v1.TaskState
    updated        INTEGER NOT NULL,  -- status timestamp, the ListTasks key
    version        INTEGER NOT NULL,
    runner         TEXT    NOT NULL,
    task           BLOB    NOT NULL,  -- a2a.v1.Task
    -- Retention clocks: when the task first became terminal, and since when
    -- it has been waiting for its caller. NULL when not applicable.
    terminal_at    INTEGER,
    waiting_at     INTEGER,
    -- Bookkeeping of the event log: how many events task_events holds, and
    -- the highest seq trimmed from it (0: none).
    event_count    INTEGER NOT NULL DEFAULT 0,
    events_dropped INTEGER NOT NULL DEFAULT 0
) STRICT;

-- ListTasks: scope, then newest first. The trailing columns make counting a
-- scope's live tasks (the page's total) an index-only scan.
CREATE INDEX tasks_list ON tasks (tenant, owner, updated DESC, id DESC, state, terminal_at, waiting_at);
-- The retention sweep.
CREATE INDEX tasks_terminal ON tasks (terminal_at) WHERE terminal_at IS NOT NULL;
CREATE INDEX tasks_waiting ON tasks (waiting_at) WHERE waiting_at IS NOT NULL;
-- Orphan detection looks at SUBMITTED (1) and WORKING (2) tasks only. Keyed
-- by runner rather than by updated, so that the many updates of a working
-- task leave the index alone; the few tasks in flight are sorted at query
-- time.
CREATE INDEX tasks_active ON tasks (runner) WHERE state IN (1, 2);

CREATE TABLE task_events (
    task_rid INTEGER NOT NULL REFERENCES tasks (rid) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,  -- the task version the event produced
    event    BLOB    NOT NULL,  -- a2a.v1.StreamResponse
    PRIMARY KEY (task_rid, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE push_configs (
    task_id TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    id      TEXT    NOT NULL,
    ord     INTEGER NOT NULL,  -- creation order within the task; kept on replace
    config  BLOB    NOT NULL,  -- a2a.v1.TaskPushNotificationConfig
    PRIMARY KEY (task_id, id)
) STRICT, WITHOUT ROWID;

-- The transactional outbox. AUTOINCREMENT so that an id is never reused: a
-- late CompleteDelivery from a claimer whose lease ran out must not remove
-- a newer delivery that happened to get the same id.
--
-- Each webhook (task_id, config_id) is a FIFO queue: only its oldest
-- delivery, its head, may be claimed, so a webhook gets its notifications
-- in order and a retried one holds back the later ones. head materializes
-- "oldest of its webhook" so that claims scan heads only, however long the
-- backlog of a failing webhook grows.
CREATE TABLE push_outbox (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id   TEXT    NOT NULL,
    config_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    event     BLOB    NOT NULL,  -- a2a.v1.StreamResponse
    attempts  INTEGER NOT NULL DEFAULT 0,
    due       INTEGER NOT NULL,
    head      INTEGER NOT NULL,  -- 1: the oldest delivery of its webhook
    -- Deleting a config (or its task) drops what is queued for it.
    FOREIGN KEY (task_id, config_id) REFERENCES push_configs (task_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX push_outbox_due ON push_outbox (due, id) WHERE head = 1;
CREATE INDEX push_outbox_webhook ON push_outbox (task_id, config_id);

-- Whatever removes a head (completion, or a cascade from a deleted config)
-- makes the next delivery of the same webhook the head. Keeping this in
-- the schema means no code path can forget it.
CREATE TRIGGER push_outbox_next_head AFTER DELETE ON push_outbox WHEN old.head = 1
BEGIN
    UPDATE push_outbox SET head = 1
    WHERE id = (SELECT min(id) FROM push_outbox WHERE task_id = old.task_id AND config_id = old.config_id);
END;

CREATE TABLE runners (
    id         TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
