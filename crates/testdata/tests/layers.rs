//! The workspace's crates are its layers (ARCHITECTURE.md): each crate has
//! a rank, and a crate may depend only on crates of a lower rank, so no
//! crate depends upward and the pure core (types, jsonata, language,
//! engine) never reaches storage, the runtime or I/O. This test reads every
//! `crates/*/Cargo.toml` and fails on a dependency that breaks the ranks or
//! on a crate the table does not know (place it, and update the diagram).

use std::collections::BTreeMap;
use std::path::Path;

/// The layers, lowest first. Keep ARCHITECTURE.md's diagram in step.
const RANKS: &[(&str, u8)] = &[
    ("types", 0),
    ("jsonata", 0),
    ("testdata", 0),
    ("telemetry", 1),
    ("tasks", 1),
    ("language", 1),
    ("bench", 1),
    ("engine", 2),
    ("graph", 2),
    ("store", 2),
    ("runtime", 3),
    ("console", 4),
    ("conformance", 3),
    ("integrations", 4),
    ("server", 5),
    ("cli", 6),
    // Test-only (see TEST_ONLY): above everything it helps test.
    ("testsupport", 7),
];

/// Dependencies that the ranks would allow but the design does not: the
/// runtime is the only door to executions and to the store, so the API
/// server and the console reach them through it (its catalogue and read
/// model), never the store directly.
const FORBIDDEN: &[(&str, &str)] = &[("server", "store"), ("console", "store")];

/// Crates only tests and benchmarks may use: a dev-dependency, never a
/// dependency, so nothing of them is compiled into what ships (the
/// storage contract's suite lives in `testsupport`).
const TEST_ONLY: &[&str] = &["testsupport"];

/// The pure crates: they parse, validate and evaluate, and do no I/O.
const PURE: &[&str] = &["types", "jsonata", "language", "engine"];

/// The `statecraft-*` crates in a manifest's `[dependencies]` section (not
/// dev-dependencies: tests may use anything).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_deps = t == "[dependencies]";
            continue;
        }
        if in_deps {
            if let Some(name) = t.strip_prefix("statecraft-") {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                out.push(name);
            }
        }
    }
    out
}

/// What is wrong with crate `name`, whose manifest is `manifest`.
fn problems_of(name: &str, manifest: &str) -> Vec<String> {
    let ranks: BTreeMap<&str, u8> = RANKS.iter().copied().collect();
    let mut problems = Vec::new();
    let Some(&rank) = ranks.get(name) else {
        return vec![format!(
            "crates/{name} has no layer: add it to RANKS here and to ARCHITECTURE.md"
        )];
    };
    for dep in dependencies(manifest) {
        match ranks.get(dep.as_str()) {
            None => problems.push(format!("{name} depends on unknown crate {dep}")),
            Some(&r) if r >= rank => problems.push(format!(
                "{name} (layer {rank}) depends on {dep} (layer {r}): dependencies point down"
            )),
            Some(_) => {}
        }
        if FORBIDDEN.contains(&(name, dep.as_str())) {
            problems.push(format!(
                "{name} depends on {dep}: it must go through the runtime (catalog, read model)"
            ));
        }
        if TEST_ONLY.contains(&dep.as_str()) {
            problems.push(format!(
                "{name} depends on {dep}, which is for tests only: make it a dev-dependency"
            ));
        }
        if PURE.contains(&name) && !PURE.contains(&dep.as_str()) {
            problems.push(format!("{name} is pure (no I/O) but depends on {dep}"));
        }
    }
    problems
}

#[test]
fn no_crate_depends_upward_and_the_core_stays_pure() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut problems = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&crates).expect("crates/").flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        seen += 1;
        let name = entry.file_name().to_string_lossy().to_string();
        problems.extend(problems_of(&name, &text));
    }
    assert!(seen >= RANKS.len(), "found only {seen} crates");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Each rule, broken on purpose, is reported (so the test above can fail).
#[test]
fn every_rule_catches_its_breach() {
    let deps =
        |d: &str| format!("[package]\n[dependencies]\nstatecraft-{d} = {{ path = \"../{d}\" }}\n");
    let cases: &[(&str, &str, &str)] = &[
        ("store", "runtime", "dependencies point down"),
        ("engine", "engine", "dependencies point down"),
        ("server", "store", "must go through the runtime"),
        ("store", "testsupport", "for tests only"),
        ("engine", "telemetry", "is pure"),
        ("runtime", "nosuch", "unknown crate nosuch"),
        ("nosuch", "types", "has no layer"),
    ];
    for (name, dep, expected) in cases {
        let found = problems_of(name, &deps(dep));
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{name} -> {dep}: expected a problem saying {expected:?}, got {found:?}"
        );
    }
    // The same dependency as a dev-dependency is no problem.
    let dev =
        "[package]\n[dev-dependencies]\nstatecraft-testsupport = { path = \"../testsupport\" }\n";
    assert_eq!(problems_of("store", dev), Vec::<String>::new());
}

#[test]
fn the_manifest_reader_sees_dependencies_only() {
    let m = "[package]\nname = \"x\"\n[dependencies]\nstatecraft-types.workspace = true\nstatecraft-store = { path = \"../store\" }\nserde = \"1\"\n[dev-dependencies]\nstatecraft-server = { path = \"../server\" }\n";
    assert_eq!(dependencies(m), ["types", "store"]);
}

/// The rows of ARCHITECTURE.md's layer table: (layer, crates, dependencies),
/// each a set of the crate names the cell mentions (`nothing` is empty).
fn architecture_table(doc: &str) -> Vec<(u8, Vec<String>, Vec<String>)> {
    let known: Vec<&str> = RANKS.iter().map(|(c, _)| *c).collect();
    let names = |cell: &str| -> Vec<String> {
        let mut out: Vec<String> = cell
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| known.contains(w))
            .map(str::to_string)
            .collect();
        out.sort();
        out.dedup();
        out
    };
    doc.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            let [layer, crates, deps] = cells.as_slice() else {
                return None;
            };
            let layer: u8 = layer.trim().parse().ok()?;
            // Only the crate names before a parenthesis name the row's crates.
            let crates = crates.split('(').next().unwrap_or("");
            Some((layer, names(crates), names(deps)))
        })
        .collect()
}

/// ARCHITECTURE.md's layer table is the manifests' truth: every crate in
/// it once, at its rank, with exactly the dependencies its manifest lists.
#[test]
fn the_architecture_table_matches_the_manifests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let rows = architecture_table(&doc);
    let ranks: BTreeMap<&str, u8> = RANKS.iter().copied().collect();
    let mut listed: BTreeMap<String, (u8, Vec<String>)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (layer, crates, deps) in rows {
        for name in crates {
            if listed.insert(name.clone(), (layer, deps.clone())).is_some() {
                problems.push(format!("{name} is listed twice"));
            }
        }
    }
    for (name, rank) in &ranks {
        let Some((layer, deps)) = listed.get(*name) else {
            problems.push(format!(
                "{name} is missing from ARCHITECTURE.md's layer table"
            ));
            continue;
        };
        if layer != rank {
            problems.push(format!(
                "{name}: layer {layer} in ARCHITECTURE.md, {rank} here"
            ));
        }
        let manifest = std::fs::read_to_string(root.join("crates").join(name).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("crates/{name}/Cargo.toml: {e}"));
        let mut real = dependencies(&manifest);
        real.sort();
        real.dedup();
        if &real != deps {
            problems.push(format!(
                "{name}: ARCHITECTURE.md lists {deps:?}, its manifest {real:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_architecture_table_reader_reads_rows_and_names() {
    let doc = "| layer | crate | depends on |\n|---|---|---|\n\
               | 3 | runtime | store, tasks, engine |\n\
               | 0 | types, jsonata (pure) | nothing |\n";
    let rows = architecture_table(doc);
    assert_eq!(
        rows,
        [
            (
                3,
                vec!["runtime".to_string()],
                vec!["engine".into(), "store".into(), "tasks".into()]
            ),
            (0, vec!["jsonata".into(), "types".into()], vec![]),
        ]
    );
}
