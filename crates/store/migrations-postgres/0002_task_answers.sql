-- The answer a task received (SendTaskSuccess / SendTaskFailure), recorded by
-- the one statement that closes the task: `answer IS NULL` is "open", so of
-- concurrent answers to one token (from any node) exactly one closes it.
-- Kept until the transition that consumes it removes the task, so an answer
-- survives a crash in between. The same change as SQLite's migration 3.
ALTER TABLE tasks ADD COLUMN answer TEXT;
