//! The analysis modules bundled with ptsnap (`pmodules/`): a fixture per
//! class of crash or hang (`tests/fixtures/analysis/`), built at -O0 and
//! -O2 with gcc and clang where installed, gets exactly its classifier and
//! the evidence in its annotations; a healthy process gets none.

mod common;

use common::*;
use serde_json::Value;

/// gcc and clang where installed (both under CI).
fn compilers() -> impl Iterator<Item = Compiler> {
    Compiler::ALL.into_iter().filter(|c| c.available())
}

const LEVELS: [&str; 2] = ["-O0", "-O2"];

fn classifiers(snap: &Value) -> Vec<String> {
    snap["classifiers"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

/// The texts of the annotations `source` made on `v`.
fn annotations_by(v: &Value, source: &str) -> Vec<String> {
    v["annotations"].as_array().map_or(Vec::new(), |a| {
        a.iter().filter(|x| x["source"] == source).filter_map(|x| x["text"].as_str()).map(String::from).collect()
    })
}

/// The faulting frame of a snapshot.
fn faulting_frame(snap: &Value) -> &Value {
    let tid = snap["fault"]["tid"].as_i64().expect("a fault thread");
    let frames = thread(snap, tid)["frames"].as_array().unwrap();
    frames.iter().find(|f| f["faulted"] == true).expect("a faulting frame")
}

/// Runs `tests/fixtures/analysis/<source>` with `args` under `ptsnap run`
/// for each compiler and level, and hands each snapshot to `check` with a
/// name for messages.
fn each_crash(source: &str, args: &[&str], check: impl Fn(&Value, &str)) {
    for compiler in compilers() {
        for opt in LEVELS {
            let _serial = serial();
            let stem = source.split('.').next().unwrap();
            let bin =
                build_with(compiler, &format!("analysis/{source}"), &format!("analysis-{stem}{opt}"), &["-g", opt]);
            let name = format!("analysis-{stem}-{}{opt}-{}", args.join("-"), compiler.name());
            let (snap, _, stderr) = run_crash(&bin, args, &name, &[]);
            let snap = snap.unwrap_or_else(|| panic!("{name}: no snapshot; stderr: {stderr}"));
            check(&snap, &name);
        }
    }
}

/// A crash of `faults.c` in `mode`: exactly `class`, in kv `fault.class`,
/// with a critical annotation on the faulting frame (which runs
/// `function`, or is outside any function) holding every piece of
/// `evidence`, and the same answer on the snapshot.
fn fault_case(mode: &str, class: &str, function: Option<&str>, evidence: &[&str]) {
    each_crash("faults.c", &[mode], |snap, name| {
        assert_eq!(classifiers(snap), [class], "{name}");
        assert_eq!(snap["kv"]["fault.class"], class, "{name}");
        let frame = faulting_frame(snap);
        assert_eq!(frame["function"].as_str(), function, "{name}");
        let notes = annotations_by(frame, "fault_class");
        assert_eq!(notes.len(), 1, "{name}: {notes:?}");
        assert!(notes[0].starts_with(&format!("{class}: ")), "{name}: {notes:?}");
        for piece in evidence {
            assert!(notes[0].contains(piece), "{name}: {piece:?} is not in {notes:?}");
        }
        let answer = annotations_by(snap, "fault_class");
        assert!(answer.len() == 1 && answer[0].starts_with(class), "{name}: {answer:?}");
    });
}

#[test]
fn null_dereference() {
    fault_case("null", "null-dereference", Some("credit"), &["access to 0x8", "first 64 KiB", "offset of 8"]);
}

#[test]
fn stack_overflow_by_recursion() {
    fault_case("overflow", "stack-overflow", Some("descend"), &["below the stack", "[stack]", "frames of descend"]);
}

#[test]
fn write_to_a_string_literal() {
    fault_case("rodata", "write-to-readonly", Some("shout"), &["\"hello\"", "without write permission", "r--p"]);
}

#[test]
fn call_through_a_bad_function_pointer() {
    fault_case(
        "badcall",
        "bad-jump",
        None,
        &["the pc 0x7fff00001234", "no executable mapping (not mapped)", "jumped to from"],
    );
}

#[test]
fn divide_by_zero() {
    fault_case("div0", "divide-by-zero", Some("average"), &["FPE_INTDIV"]);
}
