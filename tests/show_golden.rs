//! `ptsnap show`'s rendering of checked-in snapshots (tests/golden/*.json:
//! a crash with its fault and kv, every C value kind, C++ classes, strings
//! that are not all text, tail-call frames), compared with golden text
//! files beside them, as rust-minidump does: a change in what people read
//! shows up as a diff to review. `PTSNAP_BLESS=1 cargo test --test
//! show_golden` writes the golden files anew.

mod common;

use std::path::Path;

use common::*;

#[test]
fn show_renders_as_the_golden_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("PTSNAP_BLESS").is_some();
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 5, "golden snapshots: {inputs:?}");
    let mut changed = Vec::new();
    for input in &inputs {
        // The inputs are snapshots as ptsnap writes them: valid under the schema.
        read_json(input);
        let out = ptsnap(&["show", input.to_str().unwrap()]);
        assert!(out.status.success(), "show {}: {}", input.display(), String::from_utf8_lossy(&out.stderr));
        let shown = String::from_utf8(out.stdout).unwrap();
        let golden = input.with_extension("txt");
        if bless {
            std::fs::write(&golden, &shown).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (PTSNAP_BLESS=1 writes it)", golden.display()));
        if shown != expected {
            let line = shown.lines().zip(expected.lines()).position(|(a, b)| a != b);
            let at = line.unwrap_or(shown.lines().count().min(expected.lines().count()));
            changed.push(format!(
                "{}: first difference at line {}:\n  now:    {:?}\n  golden: {:?}",
                golden.display(),
                at + 1,
                shown.lines().nth(at),
                expected.lines().nth(at)
            ));
        }
    }
    assert!(changed.is_empty(), "show's output changed (review, then PTSNAP_BLESS=1):\n{}", changed.join("\n"));
}
