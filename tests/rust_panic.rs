//! Rust panics (tests/fixtures/panics.rs) built by rustc at opt-level 0
//! and 2 with debug info and run under `ptsnap run`: a panic that aborts
//! (`-C panic=abort`, in the main thread and in a worker, under a hook of
//! the program's; a panic while unwinding with the default strategy) gets
//! classifier `rust-panic` from the bundled module `rust_panic`, with the
//! message and location the panic hook printed on stderr, also in the
//! fault's reason; a panic that unwinds out of `main` exits
//! with 101 and leaves no snapshot; a Rust crash that is no panic gets no
//! `rust-panic`.

mod common;

use common::*;
use serde_json::Value;

const OPT_LEVELS: [&str; 2] = ["0", "2"];
const FIXTURE: &str = "panics.rs";

/// The fixture built with the panic strategy `strategy` ("abort",
/// "unwind") at opt-level `opt`.
fn build_panics(strategy: &str, opt: &str) -> std::path::PathBuf {
    let flags = ["--edition", "2021", "-g", "-C", &format!("opt-level={opt}"), "-C", &format!("panic={strategy}")];
    build(FIXTURE, &format!("panics-{strategy}-O{opt}"), &flags)
}

/// The last panic the program's hook printed on stderr ("thread 'main'
/// (tid) panicked at FILE:LINE:COL:\nMESSAGE"): (location, message).
fn printed_panic(stderr: &str, name: &str) -> (String, String) {
    let (_, rest) = stderr.rsplit_once(" panicked at ").unwrap_or_else(|| panic!("{name}: no panic in {stderr}"));
    let (location, rest) = rest.split_once(":\n").unwrap_or_else(|| panic!("{name}: {rest}"));
    (location.to_string(), rest.lines().next().unwrap_or_default().to_string())
}

fn classifiers(snap: &Value) -> Vec<&str> {
    snap["classifiers"].as_array().unwrap().iter().filter_map(Value::as_str).collect()
}

/// The texts and levels of the annotations of `v` made by rust_panic.
fn notes(v: &Value) -> Vec<(&str, &str)> {
    v["annotations"].as_array().map_or(Vec::new(), |a| {
        a.iter()
            .filter(|x| x["source"] == "rust_panic")
            .map(|x| (x["level"].as_str().unwrap(), x["text"].as_str().unwrap()))
            .collect()
    })
}

/// Runs the fixture in `mode` under `ptsnap run` and checks the panic:
/// SIGABRT, exactly `rust-panic`, kv `fault.message` and `panic.location`
/// what the hook printed, the fault's reason `aborted: panicked at
/// LOCATION: MESSAGE`, and that line as a critical annotation on the
/// snapshot and on one frame of the faulting thread, the frame of
/// `function` (at the fixture's line `marker`, when given). Returns the
/// snapshot.
fn check_panic(bin: &std::path::Path, mode: &str, name: &str, function: &str, marker: Option<&str>) -> Value {
    let (snap, status, stderr) = run_crash(bin, &[mode], name, &[]);
    let snap = snap.unwrap_or_else(|| panic!("{name}: no snapshot; stderr: {stderr}"));
    assert_eq!((status, &snap["fault"]["signal"]["name"]), (134, &Value::from("SIGABRT")), "{name}");
    let (location, message) = printed_panic(&stderr, name);
    assert_eq!(classifiers(&snap), ["rust-panic"], "{name}");
    assert_eq!(snap["kv"]["fault.message"], message.as_str(), "{name}");
    assert_eq!(snap["kv"]["panic.location"], location.as_str(), "{name}");
    let line = format!("rust-panic: panicked at {location}: {message}");
    assert_eq!(snap["fault"]["signal"]["reason"], format!("aborted: panicked at {location}: {message}"), "{name}");
    assert_eq!(notes(&snap), [("critical", line.as_str())], "{name}");
    let faulted = thread(&snap, snap["fault"]["tid"].as_i64().unwrap());
    let annotated: Vec<&Value> =
        faulted["frames"].as_array().unwrap().iter().filter(|f| !notes(f).is_empty()).collect();
    assert_eq!(annotated.len(), 1, "{name}: one frame annotated");
    assert_eq!(
        (annotated[0]["function"].as_str(), notes(annotated[0])),
        (Some(function), vec![("critical", line.as_str())]),
        "{name}"
    );
    if let Some(marker) = marker {
        let at = line_of(FIXTURE, marker);
        assert_eq!(annotated[0]["line"], at, "{name}");
        assert!(location.contains(&format!("panics.rs:{at}:")), "{name}: {location}");
    }
    snap
}

/// A panic in the main thread of a program built with panic=abort: a
/// formatted message (the hook's String), a literal one (a &str), and the
/// standard library's panics for an index out of bounds, `unwrap` on None
/// and `expect` on Err, each located at the caller's line.
#[test]
fn abort_panics_in_main_report_message_and_location() {
    let _serial = serial();
    for opt in OPT_LEVELS {
        let bin = build_panics("abort", opt);
        for (mode, function, marker) in [
            ("format", "panics::withdraw", "format"),
            ("literal", "panics::main", "literal"),
            ("bounds", "panics::entry", "bounds"),
            ("unwrap", "panics::main", "unwrap"),
            ("expect", "panics::main", "expect"),
        ] {
            check_panic(&bin, mode, &format!("panics-abort-O{opt}-{mode}"), function, Some(marker));
        }
    }
}

/// A panic in a worker thread with panic=abort: that thread is the
/// faulting one, and its panic is the one reported.
#[test]
fn abort_panic_in_worker_thread() {
    let _serial = serial();
    for opt in OPT_LEVELS {
        let name = format!("panics-abort-O{opt}-thread");
        let snap = check_panic(&build_panics("abort", opt), "thread", &name, "panics::withdraw", Some("format"));
        let tid = snap["fault"]["tid"].as_i64().unwrap();
        assert_ne!(tid, snap["process"]["pid"].as_i64().unwrap(), "{name}: the worker faulted");
        assert_eq!(thread(&snap, tid)["name"], "worker", "{name}");
    }
}

/// A hook of the program's that prints nothing of the panic: the
/// standard library formatted the message before it called the hook, and
/// it is reported as without the hook.
#[test]
fn panic_with_a_silent_hook_is_reported() {
    let _serial = serial();
    let bin = build_panics("abort", "2");
    let (snap, _, stderr) = run_crash(&bin, &["hook"], "panics-abort-O2-hook", &[]);
    let snap = snap.unwrap_or_else(|| panic!("no snapshot: {stderr}"));
    assert!(stderr.contains("the program's hook") && !stderr.contains("panicked at"), "{stderr}");
    assert_eq!(classifiers(&snap), ["rust-panic"]);
    assert_eq!(snap["kv"]["fault.message"], "account 7 is overdrawn by 42");
    let line = format!("panics.rs:{}:", line_of(FIXTURE, "format"));
    assert!(snap["kv"]["panic.location"].as_str().is_some_and(|l| l.contains(&line)), "{}", snap["kv"]);
}

/// With the default unwind strategy a panic in a destructor while a
/// panic unwinds aborts: the second panic is reported (the standard
/// library's message and location), on the frame whose cleanup panicked.
#[test]
fn panic_while_unwinding_aborts_and_is_reported() {
    let _serial = serial();
    for opt in OPT_LEVELS {
        let name = format!("panics-unwind-O{opt}-nested");
        let snap = check_panic(&build_panics("unwind", opt), "nested", &name, "panics::main", None);
        assert_eq!(snap["kv"]["fault.message"], "panic in a destructor during cleanup", "{name}");
    }
}

/// With the default unwind strategy a panic unwinds out of `main` and
/// the program exits with 101 by itself, without a signal: `ptsnap run`
/// exits with 101 and writes no snapshot.
#[test]
fn unwinding_panic_exits_101_without_snapshot() {
    let _serial = serial();
    let name = "panics-unwind-O0-format";
    let (snap, status, stderr) = run_crash(&build_panics("unwind", "0"), &["format"], name, &[]);
    assert!(snap.is_none(), "{name}: a snapshot");
    assert_eq!(status, 101, "{name}: {stderr}");
    assert_eq!(printed_panic(&stderr, name).1, "account 7 is overdrawn by 42", "{name}");
}

/// A Rust program's SIGSEGV is no panic, and `--no-module rust_panic`
/// leaves a panic unclassified.
#[test]
fn no_panic_no_classifier() {
    let _serial = serial();
    let bin = build_panics("abort", "0");
    let (snap, _, stderr) = run_crash(&bin, &["segv"], "panics-abort-O0-segv", &[]);
    let snap = snap.unwrap_or_else(|| panic!("no snapshot: {stderr}"));
    assert_eq!(classifiers(&snap), ["null-dereference"]);
    assert!(notes(&snap).is_empty() && snap["kv"].get("panic.location").is_none(), "{}", snap["kv"]);
    assert_eq!(snap["fault"]["signal"]["reason"], "invalid memory access: address not mapped at 0x0");
    let (snap, _, _) = run_crash(&bin, &["format"], "panics-abort-O0-off", &["--no-module", "rust_panic"]);
    let snap = snap.unwrap();
    assert!(classifiers(&snap).is_empty() && snap["kv"].get("panic.location").is_none(), "{}", snap["kv"]);
}
