-- The fencing token of an execution's lease, as in the PostgreSQL schema: it
-- grows each time the lease changes hands, and a fenced commit carries the
-- token its node was given, so a node that lost the lease cannot commit.
-- One SQLite file has one node, so the check always passes here; the column
-- keeps the store contract the same for both stores.
ALTER TABLE executions ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
