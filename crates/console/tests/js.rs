//! Runs the console's JavaScript unit tests (`tests/js/*.test.mjs`) with
//! Node. Node is part of the test environment (the README's test command
//! needs it for the browser tests too): without it this test fails.

use std::path::Path;
use std::process::Command;

#[test]
fn javascript_unit_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let version = Command::new("node")
        .arg("--version")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "node is needed for the console's JavaScript unit tests and could not be run: {e}"
            )
        });
    eprintln!("node {}", String::from_utf8_lossy(&version.stdout).trim());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/js exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let out = Command::new("node").arg(&file).output().expect("node runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{}:\n{stdout}\n{stderr}",
            file.display()
        );
    }
}
