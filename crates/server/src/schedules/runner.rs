//! The schedule runner: once a second, starts the execution of each
//! enabled schedule whose due time has come.
//!
//! Exactly once per due time, across restarts and nodes, without a lock:
//! the execution's name is derived from the schedule and the due time
//! ([`execution_name`]), so a second start (another node, a restart, the
//! next tick) is refused by the store as `ExecutionAlreadyExists` and means
//! "already done". After downtime only the most recent missed due time is
//! started (the runner looks for the last due time at or before now), never
//! a storm of every missed one; due times before the schedule's last change
//! are never started.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use sha2::Digest;

use super::{expression, Schedule, Schedules};
use crate::service::Service;

/// How often the runner looks: AWS invokes within the due minute.
const TICK: Duration = Duration::from_secs(1);

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// The execution name for `schedule`'s due time `due`: at most 64
/// characters of `[A-Za-z0-9-_]`, the same on every node.
pub fn execution_name(group: &str, name: &str, due: DateTime<Utc>) -> String {
    let digest = sha2::Sha256::digest(format!("{group}/{name}").as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{hash}",
        short_name(name),
        due.format("%Y%m%dT%H%M%SZ")
    )
}

fn short_name(name: &str) -> String {
    name.chars()
        .map(|c| if c == '.' { '-' } else { c })
        .take(40)
        .collect()
}

/// The prefix every execution of the schedule's name starts with (the
/// console finds a schedule's runs by it).
pub fn execution_prefix(name: &str) -> String {
    format!("{}-", short_name(name))
}

/// The flexible window's offset: a fixed number of seconds within the
/// window, derived from the schedule's ARN so that every node agrees.
pub fn flexible_offset_secs(s: &Schedule) -> i64 {
    let Some(minutes) = s
        .flexible_time_window
        .maximum_window_in_minutes
        .filter(|_| s.flexible_time_window.mode == "FLEXIBLE")
    else {
        return 0;
    };
    let digest = sha2::Sha256::digest(s.arn.as_bytes());
    let n = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    (n % (u64::from(minutes) * 60)) as i64
}

/// What the runner needs of a schedule, parsed.
struct Plan {
    expression: expression::Expression,
    tz: chrono_tz::Tz,
    anchor: DateTime<Utc>,
    /// No due time before this counts (the last change, the StartDate).
    floor: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    offset: chrono::Duration,
}

fn plan(s: &Schedule) -> Option<Plan> {
    let expression = expression::parse(&s.schedule_expression).ok()?;
    let tz = expression::time_zone(s.schedule_expression_timezone.as_deref()).ok()?;
    let anchor = at(s.start_date.unwrap_or(s.creation_date));
    let floor = at(s
        .last_modification_date
        .max(s.start_date.unwrap_or(i64::MIN)));
    Some(Plan {
        expression,
        tz,
        anchor,
        floor,
        end: s.end_date.map(at),
        offset: chrono::Duration::seconds(flexible_offset_secs(s)),
    })
}

impl Plan {
    /// The due time to start now, if any: the last at or before `now`
    /// (less the flexible offset), not before the floor nor after the end.
    fn due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let probe = match self.end {
            Some(end) => (now - self.offset).min(end),
            None => now - self.offset,
        };
        self.expression
            .last_at_or_before(probe, self.tz, self.anchor, self.floor)
            .filter(|d| *d >= self.floor)
    }

    /// The next due time after `now`, within the end.
    fn next(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after = (now - self.offset).max(self.floor - chrono::Duration::milliseconds(1));
        self.expression
            .next_after(after, self.tz, self.anchor)
            .filter(|d| self.end.is_none_or(|e| *d <= e))
    }
}

/// When the schedule will next start an execution (the flexible offset
/// included), in epoch milliseconds; `None` when disabled or finished.
pub fn next_invocation(s: &Schedule, now_ms: i64) -> Option<i64> {
    if s.state != "ENABLED" {
        return None;
    }
    let p = plan(s)?;
    p.next(at(now_ms))
        .map(|d| (d + p.offset).timestamp_millis())
}

/// Starts the runner on the current tokio runtime; abort the handle to stop it.
pub fn spawn(service: Arc<Service>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut fired: HashMap<String, DateTime<Utc>> = HashMap::new();
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            tick(&service, &mut fired).await;
        }
    })
}

/// One look at every schedule.
async fn tick(service: &Arc<Service>, fired: &mut HashMap<String, DateTime<Utc>>) {
    let schedules = Schedules::new(service.catalog.clone());
    let all = match schedules.all() {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "the schedule runner cannot read the schedules; it tries again");
            return;
        }
    };
    let now = Utc::now();
    for s in all {
        if s.state != "ENABLED" {
            continue;
        }
        let Some(p) = plan(&s) else {
            continue;
        };
        if let Some(due) = p.due(now) {
            if fired.get(&s.arn) != Some(&due) && start(service, &s, due).await {
                fired.insert(s.arn.clone(), due);
            }
        }
        if s.action_after_completion == "DELETE" && p.next(now).is_none() {
            // Finished: its last due time (if any) has been started.
            let done = p.due(now).is_none_or(|d| fired.get(&s.arn) == Some(&d));
            if done {
                if let Err(e) = schedules.delete(&s.group_name, &s.name).await {
                    tracing::warn!(schedule = %s.arn, error = %e, "cannot delete a completed schedule");
                } else {
                    tracing::info!(schedule = %s.arn, "deleted the completed schedule (ActionAfterCompletion DELETE)");
                    fired.remove(&s.arn);
                }
            }
        }
    }
}

/// Starts the execution for `due`; true when it is done with (started,
/// already started, or refused for good), false to try again next tick.
async fn start(service: &Service, s: &Schedule, due: DateTime<Utc>) -> bool {
    let name = execution_name(&s.group_name, &s.name, due);
    let input = s
        .target
        .get("Input")
        .and_then(Value::as_str)
        .unwrap_or("{}");
    let body = json!({
        "stateMachineArn": s.target_arn(),
        "name": name,
        "input": input,
    });
    match service
        .call("StartExecution", body.to_string().as_bytes())
        .await
    {
        Ok(out) => {
            tracing::info!(schedule = %s.arn, due = %due, execution = %out["executionArn"], "schedule started an execution");
            true
        }
        Err(crate::protocol::ApiError::ExecutionAlreadyExists(_)) => true,
        Err(e) if e.status() >= 500 => {
            tracing::warn!(schedule = %s.arn, due = %due, error = %e, "a schedule could not start its execution; it tries again");
            false
        }
        Err(e) => {
            tracing::error!(schedule = %s.arn, due = %due, error = %e, "a schedule's target refused the execution; this due time is skipped");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_names_are_valid_and_distinct() {
        let due = Utc.with_ymd_and_hms(2026, 12, 4, 9, 30, 0).unwrap();
        let a = execution_name("default", "nightly.report", due);
        assert!(a.starts_with("nightly-report-20261204T093000Z-"), "{a}");
        assert!(a.len() <= 80);
        assert!(a.starts_with(&execution_prefix("nightly.report")));
        let long = "x".repeat(64);
        assert!(execution_name("g", &long, due).len() <= 80);
        // The same name in another group is another execution.
        assert_ne!(a, execution_name("other", "nightly.report", due));
        // Another time, another name; the same time, the same name.
        assert_ne!(
            a,
            execution_name(
                "default",
                "nightly.report",
                due + chrono::Duration::minutes(1)
            )
        );
        assert_eq!(a, execution_name("default", "nightly.report", due));
    }
}
