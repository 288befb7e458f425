//! YAML definitions: the same machine as JSON, with positions in the YAML text.

use statecraft_language::ast::{StateKind, Transition, WaitDuration};

const MACHINE: &str = "\
Comment: A YAML machine
StartAt: Hello
States:
  Hello:
    Type: Pass
    Result:
      greeting: hi
    Next: Pause
  Pause:
    Type: Wait
    Seconds: 3
    Next: Done
  Done:
    Type: Succeed
";

#[test]
fn yaml_parses_like_json() {
    let machine = statecraft_language::parse(MACHINE).expect("valid YAML machine");
    assert_eq!(machine.start_at, "Hello");
    assert_eq!(machine.states.len(), 3);
    let pause = machine.state("Pause").expect("Pause");
    assert_eq!(pause.pointer, "/States/Pause");
    match &pause.kind {
        StateKind::Wait(w) => {
            assert!(matches!(w.duration, WaitDuration::Seconds(3)));
            assert_eq!(w.transition, Transition::Next("Done".into()));
        }
        other => panic!("expected a Wait state, got {}", other.type_name()),
    }
}

#[test]
fn yaml_diagnostics_have_yaml_positions() {
    let text = MACHINE
        .replace("Seconds: 3", "Seconds: -3")
        .replace("Next: Done", "Next: Gone");
    let diagnostics = statecraft_language::validate(&text);
    let found: Vec<(String, Option<u32>, Option<u32>)> = diagnostics
        .iter()
        .map(|d| (d.pointer.clone(), d.line, d.column))
        .collect();
    assert!(
        found.contains(&("/States/Pause/Seconds".into(), Some(11), Some(5))),
        "{found:?}"
    );
    assert!(
        found.contains(&("/States/Pause/Next".into(), Some(12), Some(5))),
        "{found:?}"
    );
}
