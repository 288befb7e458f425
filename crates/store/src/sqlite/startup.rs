//! Tests of what the SQLite store checks before it serves anything (issue
//! 14): a damaged file or an empty one is refused with a sentence saying what
//! to do, a new database is created whole, `health` reads every table, and a
//! full database fails its writes with an error that is counted.

use std::io::{Seek, SeekFrom, Write};

use super::*;

fn tags(n: usize) -> Vec<Tag> {
    (0..n)
        .map(|i| Tag {
            key: format!("key-{i:04}"),
            value: "v".repeat(200),
        })
        .collect()
}

/// A database with enough rows to span many pages, closed (its WAL
/// checkpointed into the file).
fn filled(dir: &Path) -> PathBuf {
    let store = SqliteStore::open(&SqliteOptions::new(dir)).expect("store opens");
    for r in 0..40 {
        store
            .tag_resource(
                &format!("arn:aws:states:us-east-1:1:stateMachine:m{r}"),
                tags(40),
            )
            .wait()
            .expect("tagged");
    }
    store.health().expect("a fresh store is healthy");
    drop(store);
    // The store's read-only connections close last and cannot checkpoint:
    // move everything into the file, so that damaging it damages the data.
    let path = dir.join(DB_FILE);
    let conn = Connection::open(&path).expect("db opens");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpointed");
    drop(conn);
    path
}

/// Garbage over every page but the first (the header stays readable, so
/// SQLite opens the file and finds the damage only when it reads pages).
fn damage(path: &Path) {
    let len = std::fs::metadata(path).expect("db exists").len();
    assert!(
        len > 16 * 4096,
        "the database spans many pages ({len} bytes)"
    );
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("db opens for writing");
    f.seek(SeekFrom::Start(4096)).expect("seek");
    let garbage: Vec<u8> = (0..len - 4096).map(|i| (i * 131 % 251) as u8).collect();
    f.write_all(&garbage).expect("garbage written");
    f.sync_all().expect("synced");
}

fn refused(dir: &Path) -> String {
    match SqliteStore::open(&SqliteOptions::new(dir)) {
        Ok(_) => panic!("the store opened"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_damaged_database_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = filled(dir.path());
    damage(&path);
    let message = refused(dir.path());
    assert!(message.contains("is damaged"), "{message}");
    assert!(
        message.contains("restore statecraft.db from a backup"),
        "{message}"
    );
    assert!(message.contains("move it"), "{message}");
}

#[test]
fn garbage_instead_of_a_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(DB_FILE), vec![0x5a; 3 * 4096]).expect("written");
    let message = refused(dir.path());
    assert!(message.contains("is damaged"), "{message}");
    assert!(message.contains("not a database"), "{message}");
}

#[test]
fn an_empty_database_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(DB_FILE), b"").expect("written");
    let message = refused(dir.path());
    assert!(message.contains("empty file (0 bytes)"), "{message}");
    assert!(
        message.contains("restore statecraft.db from a backup"),
        "{message}"
    );
    // Nothing was written over it.
    assert_eq!(
        std::fs::metadata(dir.path().join(DB_FILE))
            .map(|m| m.len())
            .ok(),
        Some(0)
    );
}

#[test]
fn a_new_database_is_created_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A leftover of a creation cut short is replaced, not trusted.
    std::fs::write(dir.path().join("statecraft.db.new"), b"half").expect("written");
    let store = SqliteStore::open(&SqliteOptions::new(dir.path())).expect("store opens");
    assert!(!dir.path().join("statecraft.db.new").exists());
    let len = std::fs::metadata(dir.path().join(DB_FILE))
        .map(|m| m.len())
        .ok();
    assert!(len.is_some_and(|l| l > 0), "{len:?}");
    store.health().expect("healthy");
    drop(store);
    // And it opens again, schema in place.
    let store = SqliteStore::open(&SqliteOptions::new(dir.path())).expect("store reopens");
    store.health().expect("healthy");
}

#[test]
fn health_fails_when_pages_are_damaged_under_a_running_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = filled(dir.path());
    let store = SqliteStore::open(&SqliteOptions::new(dir.path())).expect("store opens");
    store.health().expect("healthy before");
    damage(&path);
    assert!(store.health().is_err(), "health ignored the damage");
}

#[test]
fn a_full_database_fails_writes_and_counts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = SqliteOptions::new(dir.path());
    // The schema takes some 30 pages; a few more hold the first rows.
    options.max_page_count = Some(60);
    let store = SqliteStore::open(&options).expect("store opens");
    let full_errors = || {
        statecraft_telemetry::metrics::render()
            .lines()
            .find_map(|l| l.strip_prefix("statecraft_store_errors_total{kind=\"full\"} "))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let before = full_errors();
    let mut failure = None;
    for r in 0..200 {
        if let Err(e) = store
            .tag_resource(
                &format!("arn:aws:states:us-east-1:1:stateMachine:m{r}"),
                tags(40),
            )
            .wait()
        {
            failure = Some(e);
            break;
        }
    }
    let failure = failure.expect("the writes hit the page limit");
    assert!(
        failure.to_string().contains("full"),
        "not a disk-full error: {failure}"
    );
    assert!(full_errors() > before, "the error was not counted");
    // Reads still work, and so does the health check.
    store.health().expect("reads still served");
}
