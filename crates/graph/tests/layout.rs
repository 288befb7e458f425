//! Layout tests at the crate's boundary: snapshots of the JSON layout and the
//! SVG for the definitions in `tests/data/` (adding a case is adding a
//! `*.asl.json` file; run with `UPDATE_SNAPSHOTS=1` to write the expected
//! files, then review the diff), geometric properties over random
//! definitions, agreement of the AST and JSON entry points, and speed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use proptest::prelude::*;
use serde_json::{json, Value};
use statecraft_graph::{layout, layout_value, to_svg, EdgeKind, Layout, NodeKind, Style};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn cases() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(data_dir()).expect("tests/data is readable");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".asl.json") {
            let text = std::fs::read_to_string(entry.path()).expect("case is readable");
            out.push((stem.to_string(), text));
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no cases in tests/data");
    out
}

fn check_snapshot(path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, actual).expect("snapshot is writable");
        return Ok(());
    }
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == actual => Ok(()),
        Ok(_) => Err(format!(
            "{} differs (UPDATE_SNAPSHOTS=1 to accept)",
            path.display()
        )),
        Err(_) => Err(format!(
            "{} is missing (UPDATE_SNAPSHOTS=1 to write it)",
            path.display()
        )),
    }
}

#[test]
fn snapshots() {
    let mut failures = Vec::new();
    for (stem, text) in cases() {
        let value: Value = serde_json::from_str(&text).expect("case is JSON");
        let l = layout_value(&value);
        check_geometry(&l).unwrap_or_else(|e| failures.push(format!("{stem}: {e}")));
        let json = serde_json::to_string_pretty(&l).expect("layout serialises") + "\n";
        let svg = to_svg(&l, &Style::default());
        for (ext, actual) in [("layout.json", json), ("svg", svg)] {
            if let Err(e) = check_snapshot(&data_dir().join(format!("{stem}.{ext}")), &actual) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The typed AST and the raw JSON describe the same machine: both entry
/// points must draw it identically.
#[test]
fn ast_and_value_agree() {
    for (stem, text) in cases() {
        let value: Value = serde_json::from_str(&text).expect("case is JSON");
        let machine = match statecraft_language::parse_value(&value) {
            Ok(m) => m,
            Err(d) => panic!("{stem} does not parse: {d:?}"),
        };
        assert_eq!(layout(&machine), layout_value(&value), "{stem}");
    }
}

#[test]
fn layout_round_trips_through_json() {
    for (_, text) in cases() {
        let value: Value = serde_json::from_str(&text).expect("case is JSON");
        let l = layout_value(&value);
        let back: Layout = serde_json::from_str(&serde_json::to_string(&l).expect("serialises"))
            .expect("deserialises");
        assert_eq!(back, l);
    }
}

#[test]
fn svg_marks_states_for_the_console() {
    let value: Value = serde_json::from_str(
        &cases()
            .into_iter()
            .find(|(s, _)| s == "choice_loop")
            .expect("case")
            .1,
    )
    .expect("JSON");
    let svg = to_svg(&layout_value(&value), &Style::default());
    assert!(svg.contains("data-state=\"Job complete?\""));
    assert!(svg.contains("state-Job_complete_"));
    assert!(svg.contains("class=\"edge edge-catch\""));
    assert!(svg.contains("$.status == &quot;FAILED&quot;"));
    assert!(svg.contains("kind-choice"));
}

#[test]
fn nested_regions_hold_their_states() {
    let value: Value = serde_json::from_str(
        &cases()
            .into_iter()
            .find(|(s, _)| s == "parallel_map")
            .expect("case")
            .1,
    )
    .expect("JSON");
    let l = layout_value(&value);
    let parent_of = |name: &str| {
        let n = l.state(name).expect("state is drawn");
        n.parent.and_then(|p| l.nodes.get(p))
    };
    let branch = parent_of("Transform").expect("nested");
    assert_eq!(branch.kind, NodeKind::Branch);
    let map = branch.parent.and_then(|p| l.nodes.get(p)).expect("map");
    assert_eq!(map.name, "Each item");
    assert_eq!(
        parent_of("Validate").map(|b| b.name.as_str()),
        Some("Branch 1")
    );
    assert!(parent_of("Fan out").is_none());
    assert!(l
        .edges
        .iter()
        .any(|e| e.kind == EdgeKind::Catch && e.label.as_deref() == Some("States.ALL")));
}

#[test]
fn invalid_definitions_still_draw() {
    for v in [
        json!(null),
        json!({}),
        json!({"StartAt": "Nowhere", "States": {}}),
        json!({"StartAt": "A", "States": {"A": {"Type": "Bogus", "Next": "Missing"}}}),
    ] {
        let l = layout_value(&v);
        check_geometry(&l).expect("geometry holds");
        assert!(l.nodes.iter().any(|n| n.kind == NodeKind::Start));
    }
}

#[test]
fn two_hundred_states_in_milliseconds() {
    let def = generate(0x5eed_cafe, 200, 0);
    let started = Instant::now();
    let l = layout_value(&def);
    let took = started.elapsed();
    eprintln!(
        "200 states: {} nodes, {} edges in {took:?}",
        l.nodes.len(),
        l.edges.len()
    );
    check_geometry(&l).expect("geometry holds");
    // Generous for unoptimised builds on a busy machine; a release build
    // takes a few milliseconds.
    assert!(took.as_millis() < 3000, "took {took:?}");
}

/// A random definition: `n` states with random transitions (loops, choices,
/// catches) and, above `depth` 2, nested Parallel and Map states.
fn generate(seed: u64, n: usize, depth: usize) -> Value {
    let mut rng = seed.max(1);
    let mut next = move |m: usize| {
        // xorshift64: deterministic and dependency-free.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % m.max(1) as u64) as usize
    };
    let name = |i: usize| format!("S{depth}_{i}");
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let types = if depth < 2 { 8 } else { 6 };
        let target = |r: usize| name(r);
        let s = match next(types) {
            0 => json!({"Type": "Pass", "Next": target(next(n))}),
            1 => json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": target(next(n))}], "Next": target(next(n))}),
            2 => {
                let k = 1 + next(3);
                let choices: Vec<Value> = (0..k)
                    .map(
                        |j| json!({"Variable": "$.v", "NumericEquals": j, "Next": target(next(n))}),
                    )
                    .collect();
                json!({"Type": "Choice", "Choices": choices, "Default": target(next(n))})
            }
            3 => json!({"Type": "Wait", "Seconds": 1, "End": true}),
            4 => json!({"Type": "Succeed"}),
            5 => json!({"Type": "Fail"}),
            6 => {
                let b = 1 + next(3);
                let branches: Vec<Value> = (0..b)
                    .map(|_| generate(next(1 << 30) as u64, 1 + next(4), depth + 1))
                    .collect();
                json!({"Type": "Parallel", "Branches": branches, "Next": target(next(n))})
            }
            _ => {
                json!({"Type": "Map", "ItemProcessor": generate(next(1 << 30) as u64, 1 + next(4), depth + 1), "End": true})
            }
        };
        states.insert(name(i), s);
    }
    json!({"StartAt": name(0), "States": states})
}

/// Every node inside its parent region, siblings never overlapping, edges
/// between existing nodes, everything inside the drawing.
fn check_geometry(l: &Layout) -> Result<(), String> {
    const EPS: f64 = 0.11;
    for n in &l.nodes {
        if n.x < -EPS || n.y < -EPS || n.x + n.w > l.width + EPS || n.y + n.h > l.height + EPS {
            return Err(format!("node {} ({}) outside the drawing", n.id, n.name));
        }
        if let Some(p) = n.parent {
            let p = l.nodes.get(p).ok_or("dangling parent")?;
            if n.x < p.x - EPS
                || n.y < p.y - EPS
                || n.x + n.w > p.x + p.w + EPS
                || n.y + n.h > p.y + p.h + EPS
            {
                return Err(format!(
                    "node {} ({}) outside its parent {} ({})",
                    n.id, n.name, p.id, p.name
                ));
            }
            if p.id >= n.id {
                return Err(format!("parent {} after child {}", p.id, n.id));
            }
        }
    }
    for (i, a) in l.nodes.iter().enumerate() {
        for b in l.nodes.iter().skip(i + 1) {
            if a.parent != b.parent {
                continue;
            }
            let overlap_x = a.x.max(b.x) < (a.x + a.w).min(b.x + b.w) - EPS;
            let overlap_y = a.y.max(b.y) < (a.y + a.h).min(b.y + b.h) - EPS;
            if overlap_x && overlap_y {
                return Err(format!(
                    "nodes {} ({}) and {} ({}) overlap",
                    a.id, a.name, b.id, b.name
                ));
            }
        }
    }
    for e in &l.edges {
        if e.from >= l.nodes.len() || e.to >= l.nodes.len() {
            return Err("edge to a missing node".into());
        }
        if e.points.len() < 2 {
            return Err(format!("edge {}->{} has no route", e.from, e.to));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_machines_lay_out_cleanly(seed in any::<u64>(), n in 1usize..16) {
        let def = generate(seed, n, 0);
        let l = layout_value(&def);
        prop_assert!(check_geometry(&l).is_ok(), "{:?}\n{}", check_geometry(&l), def);
        // Deterministic: the same input gives the same drawing.
        prop_assert_eq!(&l, &layout_value(&def));
    }
}

/// Thousands of states all caught by one handler at the bottom: the long
/// edges would need millions of dummy nodes; the layout must stay fast.
#[test]
fn many_long_edges_stay_fast() {
    let n = 1500;
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let next = if i + 1 < n {
            format!("T{}", i + 1)
        } else {
            "Handler".to_string()
        };
        states.insert(
            format!("T{i}"),
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": next,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]}),
        );
    }
    states.insert("Handler".to_string(), json!({"Type": "Fail"}));
    let def = json!({"StartAt": "T0", "States": states});
    let started = Instant::now();
    let l = layout_value(&def);
    let took = started.elapsed();
    eprintln!("{n} states with catches: {took:?}");
    assert_eq!(l.edges.len(), 2 * n + 2);
    assert!(took.as_secs() < 10, "took {took:?}");
}

/// Options come from callers (and from JSON): odd values must not panic.
#[test]
fn odd_options_do_not_panic() {
    let def: Value =
        serde_json::from_str(&cases().into_iter().next().expect("a case").1).expect("JSON");
    let odd = statecraft_graph::Options {
        min_node_width: 300.0,
        max_node_width: 10.0,
        char_width: f64::NAN,
        ..Default::default()
    };
    let _ = statecraft_graph::layout_value_with(&def, &odd);
}

/// A Choice graph of `n` states, each with one rule to every other state
/// (CreateStateMachine accepts it). See issue 14: with 40 states the long
/// edges outrun the dummy-node budget, and the layout indexed out of bounds.
fn dense_choices(n: usize) -> Value {
    let name = |i: usize| format!("C{i}");
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let choices: Vec<Value> = (0..n)
            .filter(|&j| j != i)
            .map(|j| json!({"Variable": "$.v", "NumericEquals": j, "Next": name(j)}))
            .collect();
        states.insert(
            name(i),
            json!({"Type": "Choice", "Choices": choices, "Default": "Done"}),
        );
    }
    states.insert("Done".to_string(), json!({"Type": "Succeed"}));
    json!({"StartAt": name(0), "States": states})
}

#[test]
fn dense_choice_graph_lays_out() {
    let def = dense_choices(40);
    let machine = statecraft_language::parse_value(&def).expect("the dense machine parses");
    let l = layout(&machine);
    check_geometry(&l).expect("geometry holds");
    // Every rule is drawn: 40 · 39 rules, 40 defaults, start and end edges.
    assert_eq!(l.edges.len(), 40 * 39 + 40 + 2);
    assert_eq!(l, layout_value(&def));
    let svg = to_svg(&l, &Style::default());
    assert!(svg.contains("data-state=\"C39\""));
}

/// Random directed graphs, dense ones included: whatever the shape, the
/// layout returns (no panic) with sane geometry.
fn random_graph(seed: u64, n: usize, density: usize) -> Value {
    let mut rng = seed.max(1);
    let mut next = move |m: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % m.max(1) as u64) as usize
    };
    let name = |i: usize| format!("G{i}");
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let k = 1 + next(density);
        let choices: Vec<Value> = (0..k)
            .map(|j| json!({"Variable": "$.v", "NumericEquals": j, "Next": name(next(n))}))
            .collect();
        let s = if next(5) == 0 {
            json!({"Type": "Succeed"})
        } else {
            json!({"Type": "Choice", "Choices": choices, "Default": name(next(n))})
        };
        states.insert(name(i), s);
    }
    json!({"StartAt": name(0), "States": states})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_graphs_lay_out(seed in any::<u64>(), n in 1usize..60, density in 1usize..60) {
        let def = random_graph(seed, n, density);
        let l = layout_value(&def);
        prop_assert!(check_geometry(&l).is_ok(), "{:?}\n{}", check_geometry(&l), def);
    }
}
