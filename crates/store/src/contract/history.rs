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

/// One history event as the store keeps it: its id and its JSON text in
/// the API's `HistoryEvent` shape ([`HistoryEvent::to_wire`]), with any
/// offloaded payload put back. GetExecutionHistory sends this text as it
/// is, without parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireEvent {
    pub id: u64,
    pub json: String,
}

/// Reads of execution histories.
pub trait HistoryStore: Send + Sync {
    /// One page of an execution's history. `NotFound` if it does not exist.
    fn history(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<HistoryEvent>>;

    /// The same page as [`history`](Self::history), each event as the JSON
    /// text the store keeps ([`WireEvent`]).
    fn history_wire(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<WireEvent>>;

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

    /// [`history_after`](Self::history_after), each event as the JSON text
    /// the store keeps ([`WireEvent`]): what the console's stream sends.
    fn history_wire_after(
        &self,
        execution_arn: &str,
        after_id: u64,
        limit: u32,
    ) -> Result<Vec<WireEvent>> {
        let query = HistoryQuery {
            page: PageRequest {
                max_results: limit,
                next_token: (after_id > 0)
                    .then(|| crate::page::encode_token("history", &after_id.to_string())),
            },
            reverse: false,
        };
        Ok(self.history_wire(execution_arn, &query)?.items)
    }
}
