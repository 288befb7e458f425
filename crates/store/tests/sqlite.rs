//! The SQLite store against the storage contract's shared suite (the same
//! checks `tests/postgres.rs` runs on PostgreSQL), and what only a file on
//! disk can show: data that survives closing and reopening.

use statecraft_store::{ExecutionStore, SqliteOptions, SqliteStore, Store};
use statecraft_testsupport::store_suite;

#[test]
fn passes_the_shared_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&SqliteOptions::new(dir.path())).expect("open");
    store_suite::run_all(&store);
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let arn = "arn:aws:states:us-east-1:1:execution:m:e1";
    {
        let store = SqliteStore::open(&SqliteOptions::new(dir.path())).expect("open");
        store_suite::seed_execution(&store, arn);
        store.close();
    }
    let store = SqliteStore::open(&SqliteOptions::new(dir.path())).expect("reopen");
    let e = store
        .get_execution(arn)
        .expect("read")
        .expect("the execution is still there");
    assert_eq!(e.version, 1);
}
