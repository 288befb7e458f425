//! The shared test suite.
pub fn run_all(_s: &dyn crate::Store) {}
pub fn seed_execution(_s: &dyn crate::Store, _a: &str) {}
