-- The initial PostgreSQL schema, the same tables as SQLite's
-- (crates/store/migrations/). Times are BIGINT milliseconds since the Unix
-- epoch; JSON is TEXT, stored exactly as the API shows it and served from
-- the stored text (JSONB would reorder keys and cost a parse per write).
-- Only portable SQL: no extensions, no PL/pgSQL, no triggers.

CREATE TABLE revisions (
    revision_id           TEXT PRIMARY KEY,
    state_machine_arn     TEXT NOT NULL,
    definition            TEXT NOT NULL,
    role_arn              TEXT NOT NULL,
    description           TEXT,
    logging_configuration TEXT,
    tracing_configuration TEXT,
    created_ms            BIGINT NOT NULL
);

CREATE TABLE state_machines (
    arn              TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    type             TEXT NOT NULL,
    status           TEXT NOT NULL,
    creation_date_ms BIGINT NOT NULL,
    revision_id      TEXT NOT NULL REFERENCES revisions(revision_id),
    -- Version numbers are never reused, even after a version is deleted.
    next_version     BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE versions (
    arn               TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    version           BIGINT NOT NULL,
    description       TEXT,
    creation_date_ms  BIGINT NOT NULL,
    revision_id       TEXT NOT NULL REFERENCES revisions(revision_id),
    UNIQUE (state_machine_arn, version)
);

CREATE TABLE aliases (
    arn               TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name              TEXT NOT NULL,
    description       TEXT,
    -- JSON array of {"stateMachineVersionArn", "weight"}.
    routing           TEXT NOT NULL,
    creation_date_ms  BIGINT NOT NULL,
    update_date_ms    BIGINT
);
CREATE INDEX aliases_by_machine ON aliases (state_machine_arn, arn);

CREATE TABLE tags (
    resource_arn TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
);

CREATE TABLE activities (
    arn                      TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    creation_date_ms         BIGINT NOT NULL,
    encryption_configuration TEXT
);

-- The id orders executions by creation (newest first in listings) and keys
-- the per-execution tables compactly. lease_owner/lease_expires_ms say which
-- node runs the execution; lease_token is the fencing token: it grows each
-- time the lease changes hands, so a node can prove it still holds the lease
-- it was given (multi-node work checks it on commit).
CREATE TABLE executions (
    id                    BIGSERIAL PRIMARY KEY,
    arn                   TEXT NOT NULL UNIQUE,
    state_machine_arn     TEXT NOT NULL,
    version_arn           TEXT,
    alias_arn             TEXT,
    revision_id           TEXT NOT NULL,
    name                  TEXT NOT NULL,
    input                 TEXT NOT NULL,
    trace_header          TEXT,
    start_date_ms         BIGINT NOT NULL,
    map_run_arn           TEXT,
    parent_arn            TEXT,
    status                TEXT NOT NULL,
    output                TEXT,
    error                 TEXT,
    cause                 TEXT,
    stop_date_ms          BIGINT,
    redrive_count         BIGINT NOT NULL DEFAULT 0,
    redrive_date_ms       BIGINT,
    redrive_status        TEXT,
    redrive_status_reason TEXT,
    engine_state          TEXT NOT NULL,
    version               BIGINT NOT NULL,
    lease_owner           TEXT,
    lease_expires_ms      BIGINT,
    lease_token           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX executions_by_machine ON executions (state_machine_arn, id);
CREATE INDEX executions_by_machine_status ON executions (state_machine_arn, status, id);
CREATE INDEX executions_by_version ON executions (version_arn, id) WHERE version_arn IS NOT NULL;
CREATE INDEX executions_by_alias ON executions (alias_arn, id) WHERE alias_arn IS NOT NULL;
CREATE INDEX executions_by_map_run ON executions (map_run_arn, id) WHERE map_run_arn IS NOT NULL;
-- Only active executions are indexed for recovery and claims, so the index
-- stays small.
CREATE INDEX executions_active ON executions (arn) WHERE status IN ('RUNNING', 'PENDING_REDRIVE');
-- The console's overview counts executions by start time and status.
CREATE INDEX executions_by_start ON executions (start_date_ms, status, state_machine_arn, stop_date_ms);
CREATE INDEX executions_by_machine_start ON executions (state_machine_arn, start_date_ms, status, stop_date_ms);

CREATE TABLE history (
    execution_id BIGINT NOT NULL,
    event_id     BIGINT NOT NULL,
    -- The HistoryEvent in the API's wire shape.
    event        TEXT NOT NULL,
    PRIMARY KEY (execution_id, event_id)
);

CREATE TABLE timers (
    execution_id BIGINT NOT NULL,
    timer_id     BIGINT NOT NULL,
    fire_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (execution_id, timer_id)
);
CREATE INDEX timers_due ON timers (fire_at_ms);

CREATE TABLE tasks (
    execution_id     BIGINT NOT NULL,
    task_id          BIGINT NOT NULL,
    resource         TEXT NOT NULL,
    request          TEXT NOT NULL,
    token            TEXT UNIQUE,
    lease_owner      TEXT,
    lease_expires_ms BIGINT,
    PRIMARY KEY (execution_id, task_id)
);
CREATE INDEX tasks_by_resource ON tasks (resource, execution_id, task_id);
