//! AWS's rules for RedriveExecution: which finished executions may be
//! restarted, and the `redriveStatus` / `redriveStatusReason` that
//! DescribeExecution shows (which change with time: the redrivable period
//! runs out 14 days after the stop).

use statecraft_store::{ExecutionStatus, MachineType, StateMachine, StateMachineStatus};

use crate::ExecutionRecord;

/// How long after its stop an execution can be redriven.
pub const REDRIVABLE_PERIOD_MS: i64 = 14 * 24 * 3600 * 1000;
/// A redrive needs room for `ExecutionRedriven` and at least one more event
/// under AWS's 25,000-event history limit: the longest history that can be
/// redriven is one event shorter than this.
pub const MAX_HISTORY_EVENTS: u64 = statecraft_engine::MAX_HISTORY_EVENTS - 1;
/// The longest an execution may stay open.
pub const MAX_OPEN_MS: i64 = 365 * 24 * 3600 * 1000;

/// `redriveStatus` values.
pub const REDRIVABLE: &str = "REDRIVABLE";
pub const NOT_REDRIVABLE: &str = "NOT_REDRIVABLE";
/// A map run's child: redriven by redriving its parent.
pub const REDRIVABLE_BY_MAP_RUN: &str = "REDRIVABLE_BY_MAP_RUN";

/// Why `record` cannot be redriven now, in AWS's words; `None` if it can.
/// `machine` is its state machine (`None` once deleted); `history_len` is the
/// id of its last history event; `history_limit` the history quota in force
/// (AWS's is 25,000; a redrive needs room for two more events).
pub fn refusal(
    record: &ExecutionRecord,
    machine: Option<&StateMachine>,
    history_len: u64,
    history_limit: u64,
    now_ms: i64,
) -> Option<String> {
    let status = record.state.status;
    match machine {
        None => return Some("State machine is in DELETING status".into()),
        Some(m) if m.status == StateMachineStatus::Deleting => {
            return Some("State machine is in DELETING status".into())
        }
        Some(m) if m.machine_type == MachineType::Express => {
            return Some("Execution of an EXPRESS state machine cannot be redriven".into())
        }
        Some(_) => {}
    }
    match status {
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive => {
            return Some("Execution is RUNNING and cannot be redriven".into())
        }
        ExecutionStatus::Succeeded => {
            return Some("Execution is SUCCEEDED and cannot be redriven".into())
        }
        ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => {}
    }
    if record.map_run_arn.is_some() {
        return Some(
            "Execution is a child of a Map Run and is redriven by redriving its parent execution"
                .into(),
        );
    }
    if history_len >= history_limit.saturating_sub(1) {
        return Some("Execution history event limit exceeded".into());
    }
    if now_ms.saturating_sub(record.start_date_ms) > MAX_OPEN_MS {
        return Some("Execution has exceeded the max execution time".into());
    }
    let stopped = record.state.stop_date_ms.unwrap_or(record.start_date_ms);
    if now_ms.saturating_sub(stopped) > REDRIVABLE_PERIOD_MS {
        return Some("Execution redrivable period exceeded".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use statecraft_store::{ExecutionState, Revision};

    fn record(status: ExecutionStatus, stop: Option<i64>) -> ExecutionRecord {
        ExecutionRecord {
            arn: "e".into(),
            state_machine_arn: "m".into(),
            version_arn: None,
            alias_arn: None,
            revision_id: "r".into(),
            name: "e".into(),
            input: "{}".into(),
            trace_header: None,
            start_date_ms: 0,
            map_run_arn: None,
            parent_arn: None,
            state: ExecutionState {
                status,
                output: None,
                error: None,
                cause: None,
                stop_date_ms: stop,
                redrive_count: 0,
                redrive_date_ms: None,
                redrive_status: None,
                redrive_status_reason: None,
                engine_state: "{}".into(),
                pause: None,
                revision_id: None,
            },
            version: 1,
        }
    }

    fn machine(t: MachineType, s: StateMachineStatus) -> StateMachine {
        StateMachine {
            arn: "m".into(),
            name: "m".into(),
            machine_type: t,
            status: s,
            creation_date_ms: 0,
            revision: Revision {
                revision_id: "r".into(),
                state_machine_arn: "m".into(),
                definition: "{}".into(),
                role_arn: "role".into(),
                description: None,
                logging_configuration: None,
                tracing_configuration: None,
                created_ms: 0,
            },
        }
    }

    /// (execution, its machine, history length, now, expected refusal)
    type Case = (
        ExecutionRecord,
        Option<StateMachine>,
        u64,
        i64,
        Option<&'static str>,
    );

    #[test]
    fn the_rules_in_order() {
        let std = machine(MachineType::Standard, StateMachineStatus::Active);
        let day = 24 * 3600 * 1000;
        let cases: Vec<Case> = vec![
            (
                record(ExecutionStatus::Failed, Some(10)),
                Some(std.clone()),
                5,
                20,
                None,
            ),
            (
                record(ExecutionStatus::Aborted, Some(10)),
                Some(std.clone()),
                5,
                20,
                None,
            ),
            (
                record(ExecutionStatus::TimedOut, Some(10)),
                Some(std.clone()),
                5,
                20,
                None,
            ),
            (
                record(ExecutionStatus::Succeeded, Some(10)),
                Some(std.clone()),
                5,
                20,
                Some("Execution is SUCCEEDED and cannot be redriven"),
            ),
            (
                record(ExecutionStatus::Running, None),
                Some(std.clone()),
                5,
                20,
                Some("Execution is RUNNING and cannot be redriven"),
            ),
            (
                record(ExecutionStatus::Failed, Some(10)),
                None,
                5,
                20,
                Some("State machine is in DELETING status"),
            ),
            (
                record(ExecutionStatus::Failed, Some(10)),
                Some(std.clone()),
                MAX_HISTORY_EVENTS,
                20,
                Some("Execution history event limit exceeded"),
            ),
            (
                record(ExecutionStatus::Aborted, Some(10)),
                Some(std.clone()),
                5,
                10 + 14 * day,
                None,
            ),
            (
                record(ExecutionStatus::Failed, Some(10)),
                Some(std.clone()),
                5,
                10 + 15 * day,
                Some("Execution redrivable period exceeded"),
            ),
            (
                record(ExecutionStatus::Failed, Some(10)),
                Some(machine(MachineType::Express, StateMachineStatus::Active)),
                5,
                20,
                Some("Execution of an EXPRESS state machine cannot be redriven"),
            ),
        ];
        for (r, m, len, now, expected) in cases {
            let limit = statecraft_engine::MAX_HISTORY_EVENTS;
            assert_eq!(
                refusal(&r, m.as_ref(), len, limit, now).as_deref(),
                expected
            );
        }
    }
}
