-- The ends of an EXPRESS map run's children (which have no execution
-- records of their own): saved in the same transaction as the map run's
-- cursor, so that a map run resumed after a restart runs no finished child
-- again and writes each result once. Keyed by the child's number.
CREATE TABLE IF NOT EXISTS map_run_results (
    map_run_arn TEXT NOT NULL,
    child       INTEGER NOT NULL,
    status      TEXT NOT NULL,
    items       INTEGER NOT NULL,
    result      TEXT NOT NULL,
    PRIMARY KEY (map_run_arn, child)
);
