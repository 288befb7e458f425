-- The answer a task received (SendTaskSuccess / SendTaskFailure), recorded by
-- the one statement that closes the task: `answer IS NULL` is "open", so a
-- second answer to the same token finds nothing to close. Kept until the
-- execution's transition that consumes it removes the task, so an answer
-- survives a crash in between.
ALTER TABLE tasks ADD COLUMN answer TEXT;
