//! Runs the console's JavaScript unit tests (`tests/js/*.test.mjs`) with
//! Node when it is installed. Without Node the test says so and passes: the
//! browser end-to-end tests (Playwright, in `.ci/run`) cover the same code.

use std::path::Path;
use std::process::Command;

#[test]
fn javascript_unit_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let Ok(version) = Command::new("node").arg("--version").output() else {
        eprintln!("node is not installed: skipping the JavaScript unit tests");
        return;
    };
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
