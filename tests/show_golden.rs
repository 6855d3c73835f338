//! `ptsnap show`'s rendering of checked-in snapshots (tests/golden/*.json:
//! a crash with its fault and kv, every C value kind, C++ classes, strings
//! that are not all text, tail-call frames), compared with golden text
//! files beside them, as rust-minidump does: a change in what people read
//! shows up as a diff to review. `PTSNAP_BLESS=1 cargo test --test
//! show_golden` writes the golden files anew.
//!
//! The checked-in snapshots are of format version 1; each is also written
//! anew in the current version (read, then written by ptsnap's writer) and
//! must show the same: both versions are read, and the compact encoding
//! loses nothing `show` prints.

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
        // The inputs are snapshots as ptsnap 0.1 wrote them: valid under the schema of version 1.
        assert_eq!(read_raw_json(input)["version"], 1, "{}", input.display());
        read_json(input);
        let shown = show(input);
        let golden = input.with_extension("txt");
        let rewritten = work_dir().join(format!("golden-v2-{}", input.file_name().unwrap().to_str().unwrap()));
        let mut snap = ptsnap::snapshot::writer::read(input).unwrap();
        snap.version = ptsnap::snapshot::VERSION;
        ptsnap::snapshot::writer::write_atomic(&snap, &rewritten).unwrap();
        assert_eq!(read_raw_json(&rewritten)["version"], 2);
        assert_eq!(read_json(&rewritten), read_json(input).tap_version(2), "{}: read back the same", input.display());
        assert_eq!(show(&rewritten), shown, "{}: version 2 shows as version 1", input.display());
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

fn show(input: &Path) -> String {
    let out = ptsnap(&["show", input.to_str().unwrap()]);
    assert!(out.status.success(), "show {}: {}", input.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A snapshot read as another version.
trait TapVersion {
    fn tap_version(self, version: u64) -> Self;
}

impl TapVersion for serde_json::Value {
    fn tap_version(mut self, version: u64) -> Self {
        self["version"] = version.into();
        self
    }
}
