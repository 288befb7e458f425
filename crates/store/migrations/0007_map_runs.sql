-- Map runs of Distributed Map states: a run of child executions tracked on
-- its own (DescribeMapRun, ListMapRuns, UpdateMapRun). Counts are JSON in
-- the API's shape (itemCounts, executionCounts); `spec` is the runtime's
-- resolved description of the run, `cursor` where its reader stands (items
-- before it have children), both opaque to the store. The children are
-- executions whose map_run_arn names the run (indexed since migration 1).
CREATE TABLE map_runs (
    id                           INTEGER PRIMARY KEY,
    arn                          TEXT NOT NULL UNIQUE,
    execution_arn                TEXT NOT NULL,
    state_name                   TEXT NOT NULL,
    label                        TEXT,
    child_machine_arn            TEXT NOT NULL,
    revision_id                  TEXT NOT NULL,
    execution_type               TEXT NOT NULL,
    status                       TEXT NOT NULL,
    max_concurrency              INTEGER NOT NULL,
    tolerated_failure_count      INTEGER NOT NULL,
    tolerated_failure_percentage REAL NOT NULL,
    item_counts                  TEXT NOT NULL,
    execution_counts             TEXT NOT NULL,
    cursor                       TEXT,
    result_writer_details        TEXT,
    error                        TEXT,
    cause                        TEXT,
    spec                         TEXT NOT NULL,
    start_date_ms                INTEGER NOT NULL,
    stop_date_ms                 INTEGER,
    update_date_ms               INTEGER,
    redrive_count                INTEGER NOT NULL DEFAULT 0,
    redrive_date_ms              INTEGER
);
CREATE INDEX map_runs_by_execution ON map_runs (execution_arn, id);
