//! One module per state type: how each enters, works, and leaves.

pub mod batch;
pub mod choice;
pub mod fail;
pub mod map;
pub mod map_run;
pub mod parallel;
pub mod pass;
pub mod reader;
pub mod succeed;
pub mod task;
pub mod wait;

#[cfg(test)]
pub(crate) mod fixtures;
