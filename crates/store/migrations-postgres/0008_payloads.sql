-- Large payloads of history events, stored once per execution under their
-- SHA-256 (hex); the events refer to them (see src/payloads.rs). Deleted
-- with their execution. IF NOT EXISTS: a test that rolls the schema back to
-- an older version by hand and migrates again may leave the table in place.
CREATE TABLE IF NOT EXISTS payloads (
    execution_id BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    text         TEXT NOT NULL,
    PRIMARY KEY (execution_id, hash)
);
