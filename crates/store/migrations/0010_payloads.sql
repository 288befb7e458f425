-- Large payloads of history events, stored once per execution under their
-- SHA-256 (hex); the events refer to them (see src/payloads.rs). Deleted
-- with their execution.
CREATE TABLE IF NOT EXISTS payloads (
    execution_id INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    text         TEXT NOT NULL,
    PRIMARY KEY (execution_id, hash)
);
