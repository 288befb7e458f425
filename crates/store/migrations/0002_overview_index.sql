-- The console's overview counts executions by start time and status, per
-- state machine or overall. These covering indexes keep those counts to
-- index-only range scans, whatever the total number of executions.
CREATE INDEX executions_by_start ON executions (start_date_ms, status, state_machine_arn, stop_date_ms);
CREATE INDEX executions_by_machine_start ON executions (state_machine_arn, start_date_ms, status, stop_date_ms);
