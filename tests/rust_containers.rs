//! Rust's strings and sequences (tests/fixtures/containers.rs) built by
//! rustc at opt-level 0 and 2 with debug info and snapshotted live: `&str`
//! and `String` as their text, slices and `Vec`s as their elements, within
//! the limits and next to their raw members; `Box` as the pointer it is,
//! with its pointee, `Rc` as its struct, with the `RcInner`; `ptsnap show`
//! printing them as rust-gdb does, and gdb as the oracle for every scalar.

mod common;

use common::*;
use serde_json::{Value, json};

const OPT_LEVELS: [&str; 2] = ["0", "2"];

fn build_containers(opt: &str) -> std::path::PathBuf {
    build("containers.rs", &format!("containers-O{opt}"), &["-g", "-C", &format!("opt-level={opt}")])
}

fn main_frame(snap: &Value) -> &Value {
    let t = thread(snap, snap["process"]["pid"].as_i64().unwrap());
    let frames = t["frames"].as_array().unwrap();
    frames.iter().find(|f| f["function"] == "containers::main").expect("a frame of containers::main")
}

fn local<'v>(frame: &'v Value, name: &str) -> &'v Value {
    frame["locals"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("no local {name}"))
}

/// A string's text (kind `string`), its raw members kept.
fn text(v: &Value) -> (&str, bool) {
    assert_eq!(v["kind"], "string", "{v}");
    assert!(v["members"].as_array().is_some_and(|m| !m.is_empty()), "raw members kept: {v}");
    assert!(v.get("bytes").is_none(), "UTF-8 text is exact: {v}");
    (v["symbol"].as_str().unwrap(), v["truncated"] == true)
}

/// A slice's or Vec's elements (their values, or a String's text), and
/// whether they were cut; its raw members kept, the length among them.
fn elements(v: &Value, length: &str) -> (Vec<Value>, bool, u64) {
    assert_eq!(v["kind"], "tuple", "{v}");
    let members = v["members"].as_array().expect("raw members kept");
    let count = members.iter().find(|m| m["name"] == length).unwrap_or_else(|| panic!("no {length}: {v}"));
    let shown = |e: &Value| if e["kind"] == "string" { e["symbol"].clone() } else { e["value"].clone() };
    let list = v["elements"].as_array().map_or(Vec::new(), |l| l.iter().map(shown).collect());
    (list, v["truncated"] == true, count["value"].as_u64().unwrap())
}

#[test]
fn strings_and_sequences_show_their_contents() {
    let _serial = serial();
    for opt in OPT_LEVELS {
        let name = format!("containers-O{opt}");
        let running = start(&build_containers(opt), &[]);
        let snap = snapshot(running.pid(), &name, &["--max-elements", "2"]);
        drop(running);
        let main = main_frame(&snap);
        assert_eq!(text(local(main, "string")), ("hello", false), "{name}");
        assert_eq!(text(local(main, "empty_str")), ("", false), "{name}");
        // Cut at --max-string (256 by default).
        assert_eq!(text(local(main, "long")), ("x".repeat(256).as_str(), true), "{name}");
        // At opt-level 2, rustc leaves `text`'s and `slice`'s pointers
        // without a location: they stay the raw structs.
        let text_local = local(main, "text");
        if opt == "0" || text_local["kind"] == "string" {
            assert_eq!(text(text_local), ("wörld", false), "{name}");
        }
        let slice = local(main, "slice");
        if opt == "0" || slice.get("elements").is_some() {
            assert_eq!(elements(slice, "length"), (vec![json!(-20), json!(30)], true, 3), "{name}");
        }
        assert_eq!(elements(local(main, "slice_mut"), "length"), (vec![json!(1), json!(2)], true, 3), "{name}");
        assert_eq!(elements(local(main, "vec"), "len"), (vec![json!(1), json!(2)], true, 3), "{name}");
        assert_eq!(elements(local(main, "strings"), "len"), (vec![json!("a"), json!("bc")], false, 2), "{name}");
        assert_eq!(elements(local(main, "empty_vec"), "len"), (vec![], false, 0), "{name}");
        // A Box is a pointer, its pointee the target.
        let boxed = local(main, "boxed");
        assert!(boxed["value"].as_u64().is_some_and(|p| p != 0), "{boxed}");
        assert_eq!(boxed["target"]["value"], 5, "{boxed}");
        let pair = &local(main, "boxed_pair")["target"]["members"];
        assert_eq!((&pair[0]["value"], &pair[1]["value"]), (&json!(3), &json!(4)), "{name}");
        // An Rc is its raw struct, the RcInner the target of its pointer.
        let rc = &local(main, "rc")["members"][0]["members"][0]["target"];
        let (strong, value) = (&rc["members"][0]["members"][0]["members"][0]["value"], &rc["members"][2]["value"]);
        assert_eq!((strong, value), (&json!(2), &json!(7)), "{name}: {rc}");
    }
}

/// `ptsnap show` prints the strings, slices, `Vec`s and `Box`es as
/// rust-gdb's `info locals` does, `Rc` and `Arc` with their counts; what
/// differs is listed: arrays, `[u8; 3]` (`bytes`) and the raw struct of a
/// `Weak`, which show prints in C syntax, and the long string (gdb's `'x'
/// <repeats 200 times>...`).
#[test]
fn show_prints_them_like_rust_gdb() {
    if !tool_available("rust-gdb") {
        return;
    }
    let _serial = serial();
    for opt in OPT_LEVELS {
        let name = format!("containers-show-O{opt}");
        let running = start(&build_containers(opt), &[]);
        snapshot(running.pid(), &name, &[]);
        // gdb cannot read what rustc left without a location (its pretty
        // printer's exception goes to stderr).
        let skip =
            |local: &str, value: &str| local == "values" || value.contains("optimized out") || value.trim().is_empty();
        let compared = gdb::shown_against_gdb("rust-gdb", running.pid(), &name, "containers::main", skip);
        let (equal, theirs) = (&compared.equal, &compared.theirs);
        assert_eq!(compared.differ, ["bytes", "long", "numbers", "weak"], "{}", compared.shown);
        let alike = ["string", "empty_str", "slice_mut", "vec", "strings", "empty_vec", "boxed", "boxed_pair"];
        for local in alike.into_iter().chain(["rc", "rc2", "arc"]) {
            assert!(equal.iter().any(|e| e == local), "{name}: {local} not compared: {theirs:?}");
        }
    }
}

/// gdb as the oracle for every scalar of every variable in every frame,
/// the raw members of the strings and sequences included.
#[test]
fn gdb_agrees_with_every_raw_member() {
    if !tool_available("gdb") {
        return;
    }
    let _serial = serial();
    for opt in OPT_LEVELS {
        let d = gdb::differential_of(&build_containers(opt), &format!("containers-O{opt}"), &[], 0);
        assert!(d.compared >= 50 && d.compared == d.matched, "O{opt}: {} of {}", d.matched, d.compared);
        assert!(d.gdb_only.is_empty(), "O{opt}: fields gdb reads and the snapshot lacks: {:?}", d.gdb_only);
    }
}
