-- An operator's hold on an execution (Statecraft.PauseExecution, or a pause
-- on failure): the runtime's pause record as JSON, opaque to the store, with
-- the task results and timer firings held until resume. NULL: not paused.
-- Written by every transition with the rest of the execution's state, so the
-- hold and what it holds survive a crash, and any node sees it.
ALTER TABLE executions ADD COLUMN pause TEXT;
