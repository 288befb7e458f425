-- The same change as SQLite's migration 8.
-- Flow-limit queues (the server's [limits.integrations]): a task held back
-- by a limit waits in its tasks row, marked with the limit's key (`queue`),
-- its arrival order and priority, until a claim starts it (`started_ms`).
-- A retried task is queued afresh (its row is replaced). `queues` holds one
-- counter per queue (arrival order, and the row a claim locks so that a
-- limit holds across nodes); `queue_turns` the round-robin turn of each
-- execution in a queue (also used by activity tasks, keyed by the activity
-- ARN), so the fair order survives restarts.
ALTER TABLE tasks ADD COLUMN queue TEXT;
ALTER TABLE tasks ADD COLUMN queue_seq BIGINT;
ALTER TABLE tasks ADD COLUMN queue_priority BIGINT;
ALTER TABLE tasks ADD COLUMN queued_ms BIGINT;
ALTER TABLE tasks ADD COLUMN started_ms BIGINT;
CREATE INDEX tasks_by_queue ON tasks (queue, started_ms) WHERE queue IS NOT NULL;
CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    seq  BIGINT NOT NULL
);
CREATE TABLE queue_turns (
    queue        TEXT NOT NULL,
    execution_id BIGINT NOT NULL,
    turn         BIGINT NOT NULL,
    PRIMARY KEY (queue, execution_id)
);
