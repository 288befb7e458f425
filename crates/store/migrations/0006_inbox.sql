-- Events for an execution that reached a node that does not run it (an
-- activity worker's TaskStarted or SendTaskHeartbeat sent to another node):
-- recorded here and applied by the execution's lease holder, which deletes
-- each once applied. The execution stays where it runs, so nothing it has in
-- flight is dispatched a second time.
CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id INTEGER NOT NULL,
    event        TEXT NOT NULL,
    created_ms   INTEGER NOT NULL
);
CREATE INDEX inbox_by_execution ON inbox (execution_id, id);
