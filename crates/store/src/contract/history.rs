//! An execution's history: the events its transitions appended, read a
//! page at a time (GetExecutionHistory) or after a known event (the
//! console's live stream). Events are written only by a
//! [`crate::Transition`].

use statecraft_types::HistoryEvent;

use crate::error::Result;
use crate::page::{Page, PageRequest};

/// `GetExecutionHistory`'s paging options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    pub page: PageRequest,
    /// Newest first.
    pub reverse: bool,
}

/// Reads of execution histories.
pub trait HistoryStore: Send + Sync {
    /// One page of an execution's history. `NotFound` if it does not exist.
    fn history(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<HistoryEvent>>;

    /// Up to `limit` history events of an execution after event `after_id`,
    /// oldest first: how the console's live stream catches up. `NotFound`
    /// if the execution does not exist.
    fn history_after(
        &self,
        execution_arn: &str,
        after_id: u64,
        limit: u32,
    ) -> Result<Vec<HistoryEvent>> {
        let query = HistoryQuery {
            page: PageRequest {
                max_results: limit,
                // The forward history listing's cursor is the last event id
                // served, so "after N" is the page that follows event N.
                next_token: (after_id > 0)
                    .then(|| crate::page::encode_token("history", &after_id.to_string())),
            },
            reverse: false,
        };
        Ok(self.history(execution_arn, &query)?.items)
    }
}
