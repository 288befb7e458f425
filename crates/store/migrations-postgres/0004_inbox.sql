-- Events for an execution that reached a node that does not run it (an
-- activity worker's TaskStarted or SendTaskHeartbeat sent to another node):
-- recorded here and applied by the execution's lease holder, which deletes
-- each once applied. The same change as SQLite's migration 6.
CREATE TABLE inbox (
    id           BIGSERIAL PRIMARY KEY,
    execution_id BIGINT NOT NULL,
    event        TEXT NOT NULL,
    created_ms   BIGINT NOT NULL
);
CREATE INDEX inbox_by_execution ON inbox (execution_id, id);
