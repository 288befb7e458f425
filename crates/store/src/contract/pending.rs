//! [`Pending`]: the result of a write that a store's writer will commit later,
//! together with other writes (group commit). Await it from async code, or
//! call [`Pending::wait`] from a plain thread.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// A write that resolves once its transaction has committed (or failed).
/// Resolving with `Ok` means the write is durable at the store's configured
/// durability level.
#[must_use = "a write is only known to be durable once its Pending resolves"]
pub struct Pending<T> {
    rx: oneshot::Receiver<Result<T>>,
}

/// The sending half, held by the store's writer.
pub struct Completer<T> {
    tx: oneshot::Sender<Result<T>>,
}

impl<T> Pending<T> {
    /// A new pending result and the completer that resolves it.
    pub fn new() -> (Completer<T>, Pending<T>) {
        let (tx, rx) = oneshot::channel();
        (Completer { tx }, Pending { rx })
    }

    /// An already resolved result (for errors detected before queueing).
    pub fn ready(result: Result<T>) -> Pending<T> {
        let (c, p) = Pending::new();
        c.complete(result);
        p
    }

    /// Blocks the current thread until the write resolves. Must not be called
    /// from inside an async task (it would block a runtime worker); await
    /// the `Pending` there instead.
    pub fn wait(self) -> Result<T> {
        self.rx.blocking_recv().unwrap_or(Err(Error::Closed))
    }
}

impl<T> Completer<T> {
    pub fn complete(self, result: Result<T>) {
        // The receiver may have been dropped (caller lost interest); the write
        // itself has happened or not regardless, so there is nothing to do.
        let _ = self.tx.send(result);
    }
}

impl<T> Future for Pending<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}
