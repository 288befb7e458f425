-- An operator's hold on an execution (Statecraft.PauseExecution, or a pause
-- on failure): the runtime's pause record as JSON, opaque to the store, with
-- the task results and timer firings held until resume. NULL: not paused.
-- The same change as SQLite's migration 4.
ALTER TABLE executions ADD COLUMN pause TEXT;
