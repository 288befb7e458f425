//! Retention: finished executions and their history are removed once they
//! stopped longer ago than the configured time, in the background.
//!
//! The sweep deletes in small batches through the store's writer (one
//! batch is one short write among the transitions) and pauses between
//! batches, so a large backlog — the first start with retention on, say —
//! drains without slowing running executions.

use std::sync::Arc;
use std::time::Duration;

use statecraft_store::Store;

use crate::host::now_ms;

/// How retention runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Executions that stopped longer ago than this are removed.
    pub keep: Duration,
    /// Executions removed per store write.
    pub batch: u32,
    /// Pause between two batches of one sweep.
    pub pause: Duration,
    /// Time between sweeps.
    pub interval: Duration,
}

impl Options {
    /// Keeps executions for `days` days; the other settings are defaults.
    pub fn days(days: u32) -> Options {
        Options {
            keep: Duration::from_secs(u64::from(days) * 24 * 60 * 60),
            batch: 100,
            pause: Duration::from_millis(50),
            interval: Duration::from_secs(60 * 60),
        }
    }
}

/// Removes every finished execution that stopped before `now - keep`, batch
/// by batch. Returns how many were removed.
pub async fn sweep(store: &dyn Store, options: &Options) -> statecraft_store::Result<u64> {
    let keep_ms = i64::try_from(options.keep.as_millis()).unwrap_or(i64::MAX);
    let before = now_ms().saturating_sub(keep_ms);
    let batch = options.batch.max(1);
    let mut total = 0;
    loop {
        let n = store.delete_finished_before(before, batch).await?;
        total += n;
        statecraft_telemetry::metrics::observe_retention(n);
        if n < u64::from(batch) {
            return Ok(total);
        }
        tokio::time::sleep(options.pause).await;
    }
}

/// Runs [`sweep`] now and then every `interval` until the returned task is
/// aborted. Must be called inside a tokio runtime.
pub fn spawn(store: Arc<dyn Store>, options: Options) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep(store.as_ref(), &options).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "retention removed finished executions"),
                // The store may be closing or busy; the next sweep retries.
                Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
            }
            tokio::time::sleep(options.interval).await;
        }
    })
}
