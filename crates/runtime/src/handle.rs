//! The runtime as seen by what must be built before it: the integrations
//! that call back into it (nested executions, the flow-limit queues, the
//! activity queue's store polls) are built first, because the runtime runs
//! them from its first moment (recovery re-dispatches tasks).
//!
//! They get a [`RuntimeHandle`] made with the runtime's [`Options`]; the
//! runtime fills it while it is constructed, before recovery dispatches
//! anything, so nobody binds anything later. The handle holds the runtime
//! weakly: the runtime owns its integrations, and a strong reference back
//! would keep both alive forever.
//!
//! [`Options`]: crate::Options

use std::sync::{Arc, Weak};

use tokio::sync::watch;

use crate::{Inner, Runtime};

/// A handle on a runtime not built yet; cheap to clone (clones share it).
#[derive(Clone)]
pub struct RuntimeHandle {
    cell: watch::Sender<Option<Weak<Inner>>>,
}

impl Default for RuntimeHandle {
    fn default() -> Self {
        RuntimeHandle::new()
    }
}

impl std::fmt::Debug for RuntimeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.cell.borrow() {
            None => "not open yet",
            Some(w) if w.strong_count() == 0 => "gone",
            Some(_) => "open",
        };
        f.debug_tuple("RuntimeHandle").field(&state).finish()
    }
}

impl RuntimeHandle {
    pub fn new() -> Self {
        RuntimeHandle {
            cell: watch::Sender::new(None),
        }
    }

    /// The runtime, once it is constructed and while it is alive.
    pub fn get(&self) -> Option<Runtime> {
        let inner = self.cell.borrow().as_ref()?.upgrade()?;
        Some(Runtime { inner })
    }

    /// Waits until the runtime is constructed; `None` once it is gone.
    pub async fn wait(&self) -> Option<Runtime> {
        let mut rx = self.cell.subscribe();
        let weak = rx.wait_for(Option::is_some).await.ok()?.clone()?;
        Some(Runtime {
            inner: weak.upgrade()?,
        })
    }

    /// Called by the runtime's constructor.
    pub(crate) fn fill(&self, inner: &Arc<Inner>) {
        self.cell.send_replace(Some(Arc::downgrade(inner)));
    }
}
