//! Rust closures and a type declared in one unit and defined in another
//! (tests/fixtures/closures.rs, with the crate tests/fixtures/closure_walk.rs)
//! built by rustc at opt-level 0 and 2 with ThinLTO and snapshotted live:
//! the captures of a closure called through a generic function in a thread,
//! as the closure's variables and as the members of its environment
//! (`{closure_env#0}`); `closure_walk::walker::Walk`, which ThinLTO leaves
//! declared (`DW_AT_declaration`) in the unit it inlined `Walk::run` into,
//! completed from its definition in the other crate's unit by its qualified
//! name, as gdb does; and gdb as the oracle for every scalar.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};

const OPT_LEVELS: [&str; 2] = ["0", "2"];

/// The crate closure_walk as an rlib, then the fixture linked with it, both
/// at opt-level `opt` with ThinLTO across the crates.
fn build_closures(opt: &str) -> PathBuf {
    let level = format!("opt-level={opt}");
    let rlib_name = format!("libclosure_walk-O{opt}.rlib");
    let lib = ["--crate-type", "rlib", "--crate-name", "closure_walk", "-g", "-C", &level];
    let rlib = build("closure_walk.rs", &rlib_name, &lib);
    let extern_arg = format!("closure_walk={}", rlib.display());
    let flags = ["-g", "-C", &level, "-C", "codegen-units=16", "-C", "lto=thin", "--extern", &extern_arg];
    build("closures.rs", &format!("closures-O{opt}"), &flags)
}

/// The one frame of `function` among all threads'.
fn frame(snap: &Value, function: &str) -> Value {
    let all = snap["threads"].as_array().unwrap().iter().flat_map(|t| t["frames"].as_array().unwrap());
    let mut found: Vec<&Value> = all.filter(|f| f["function"] == function).collect();
    assert_eq!(found.len(), 1, "one frame of {function}");
    found.remove(0).clone()
}

/// The variable `name` among a frame's parameters, then its locals.
fn variable<'v>(frame: &'v Value, name: &str) -> &'v Value {
    let all = frame["parameters"].as_array().unwrap().iter().chain(frame["locals"].as_array().unwrap());
    all.clone().find(|v| v["name"] == name).unwrap_or_else(|| panic!("no {name} in {}", frame["function"]))
}

fn member<'v>(v: &'v Value, name: &str) -> &'v Value {
    let members = v["members"].as_array().unwrap_or_else(|| panic!("no members: {v}"));
    members.iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("no member {name} in {v}"))
}

/// A scalar's value, a string's text, a pointer's or reference's target's.
fn shown(v: &Value) -> Value {
    match v["kind"].as_str() {
        Some("string") => v["symbol"].clone(),
        Some("reference") if v.get("target").is_some() => shown(&v["target"]),
        _ => v["value"].clone(),
    }
}

/// A struct's members as `name: value` (their texts for strings).
fn fields(v: &Value) -> Vec<(String, Value)> {
    let v = if v["kind"] == "reference" { &v["target"] } else { v };
    let members = v["members"].as_array().unwrap_or_else(|| panic!("no members: {v}"));
    members.iter().map(|m| (m["name"].as_str().unwrap().to_string(), shown(m))).collect()
}

fn named(list: &[(&str, Value)]) -> Vec<(String, Value)> {
    list.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()
}

const INNER: &str = "closures::main::{closure#0}::{closure#1}::{closure#0}";
const OUTER: &str = "closures::main::{closure#0}::{closure#1}";
const ENV: &str = "closures::main::{closure#0}::{closure#1}::{closure_env#0}";

/// At opt-level 0 the closure's frame shows each capture by its name,
/// through its environment: by reference (`text`, `point`), by unique
/// borrow (`counter`, a `&mut` the closure increments), the values the
/// thread's `move` closure owns (`moved`, `shape` of the other crate,
/// `limit`). The frame that made the closure holds its environment, a
/// reference per capture; the thread's closure's environment, in the
/// standard library's frame that calls it, holds what it took by move.
#[test]
fn captures_are_the_closure_environment() {
    let _serial = serial();
    let running = start(&build_closures("0"), &[]);
    let snap = snapshot(running.pid(), "closures-O0", &[]);
    let inner = frame(&snap, INNER);
    let point = named(&[("x", json!(3)), ("y", json!(-4))]);
    let local = named(&[("x", json!(1)), ("y", json!(2))]);
    let shape = named(&[("sides", json!(5)), ("name", json!("pentagon"))]);
    assert_eq!(shown(variable(&inner, "n")), json!(4));
    assert_eq!(shown(variable(&inner, "limit")), json!(7));
    assert_eq!(shown(variable(&inner, "text")), json!("captured"));
    assert_eq!(shown(variable(&inner, "moved")), json!("moved"));
    assert_eq!(fields(variable(&inner, "point")), point);
    assert_eq!(fields(variable(&inner, "local")), local);
    assert_eq!(fields(variable(&inner, "shape")), shape);
    assert_eq!(shown(variable(&inner, "counter")), json!(11), "incremented through the &mut");
    // The environment, in the frame that made the closure: a reference
    // per capture.
    let visit = variable(&frame(&snap, OUTER), "visit").clone();
    assert_eq!(visit["type"], ENV);
    let captures: Vec<&str> =
        visit["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    let expected =
        ["counter", "ready", "limit", "text", "moved", "point", "local", "shape"].map(|c| format!("_ref__{c}"));
    assert_eq!(captures, expected);
    assert_eq!(shown(member(&visit, "_ref__limit")), json!(7));
    assert_eq!(shown(member(&visit, "_ref__moved")), json!("moved"));
    assert_eq!(fields(member(&visit, "_ref__local")), local);
    assert_eq!(fields(member(&visit, "_ref__shape")), shape);
    // The thread's closure, by move: its environment as the standard
    // library's frame that runs it holds it.
    let thread_env = "closures::main::{closure#0}::{closure_env#1}";
    let spawned = format!("std::thread::lifecycle::spawn_unchecked::{{closure#1}}::{{closure#0}}<{thread_env}, u64>");
    let taken = variable(&frame(&snap, &spawned), "f").clone();
    assert_eq!(taken["type"], thread_env);
    assert_eq!((shown(member(&taken, "limit")), shown(member(&taken, "moved"))), (json!(7), json!("moved")));
    assert_eq!((shown(member(&taken, "counter")), fields(member(&taken, "shape"))), (json!(11), shape));
    // The generic function the closure was called through, instantiated
    // for it.
    frame(&snap, &format!("closures::call_with<{ENV}>"));
}

/// Whether some unit of `bin`'s DWARF declares a struct named `name`
/// (`DW_AT_declaration`) and another defines it.
fn declared_and_defined(bin: &Path, name: &str) -> (bool, bool) {
    use object::{Object, ObjectSection};
    let data = std::fs::read(bin).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let section = |id: gimli::SectionId| -> Result<gimli::EndianSlice<'_, gimli::LittleEndian>, gimli::Error> {
        let bytes = file.section_by_name(id.name()).and_then(|s| s.data().ok()).unwrap_or(&[]);
        Ok(gimli::EndianSlice::new(bytes, gimli::LittleEndian))
    };
    let dwarf = gimli::Dwarf::load(section).unwrap();
    let (mut declared, mut defined) = (false, false);
    let mut units = dwarf.units();
    while let Some(header) = units.next().unwrap() {
        let unit = dwarf.unit(header).unwrap();
        let mut entries = unit.entries();
        while let Some(entry) = entries.next_dfs().unwrap() {
            let named_so = entry.tag() == gimli::DW_TAG_structure_type
                && entry.attr_value(gimli::DW_AT_name).and_then(|v| dwarf.attr_string(&unit, v).ok())
                    == Some(gimli::EndianSlice::new(name.as_bytes(), gimli::LittleEndian));
            if named_so {
                let declaration = entry.attr_value(gimli::DW_AT_declaration) == Some(gimli::AttributeValue::Flag(true));
                if declaration { declared = true } else { defined = true }
            }
        }
    }
    (declared, defined)
}

/// At opt-level 2 ThinLTO inlines `closure_walk::walker::start` and
/// `Walk::run` into the fixture's unit, which declares `Walk` only; the
/// snapshot completes it from the definition in closure_walk's unit, by
/// its qualified name: `start`'s `walk` and `run`'s `self` show their
/// members.
#[test]
fn a_type_declared_here_is_completed_from_another_crate() {
    let _serial = serial();
    let bin = build_closures("2");
    assert_eq!(declared_and_defined(&bin, "Walk"), (true, true), "ThinLTO left Walk declared in one unit");
    let running = start(&bin, &[]);
    let snap = snapshot(running.pid(), "closures-O2", &[]);
    let walk = [("threads", json!(4)), ("root", json!("/srv")), ("depth", json!(3))];
    let start_frame = frame(&snap, "closure_walk::walker::start");
    assert_eq!(start_frame["inlined"], true, "start inlined into the fixture's unit");
    let local = variable(&start_frame, "walk");
    assert_eq!((&local["type"], fields(local)), (&json!("closure_walk::walker::Walk"), named(&walk)));
    let run = frame(&snap, "closure_walk::walker::Walk::run");
    let this = variable(&run, "self");
    assert!(this["type"].as_str().is_some_and(|t| t.contains("closure_walk::walker::Walk")), "{this}");
    assert_eq!(fields(this), named(&walk));
    assert!(!snap.to_string().contains("<incomplete type>"), "no type left incomplete");
}

/// Each Rust frame names its crate, the first component of its path: the
/// fixture's, the other crate's (linked into the same ELF module) and the
/// standard library's, which `ptsnap show` marks `(std)`; the C library's
/// frames and the `main` rustc writes have none.
#[test]
fn frames_name_their_crate() {
    let _serial = serial();
    let running = start(&build_closures("0"), &[]);
    let snap = snapshot(running.pid(), "closures-crates-O0", &[]);
    let frames = snap["threads"].as_array().unwrap().iter().flat_map(|t| t["frames"].as_array().unwrap());
    let mut crates = std::collections::BTreeSet::new();
    for f in frames {
        let function = f["function"].as_str().unwrap_or("??");
        let expected = match function.split_once("::") {
            Some((first, _)) if f["module"] == "closures-O0" => json!(first),
            _ => Value::Null,
        };
        assert_eq!(f["crate"], expected, "{function} in {}", f["module"]);
        if f["module"] == "closures-O0" {
            crates.insert(f["crate"].as_str().unwrap_or("").to_string());
        }
    }
    assert_eq!(crates, ["", "alloc", "closure_walk", "closures", "core", "std"].map(String::from).into());
    let path = work_dir().join("closures-crates-O0.json");
    let shown = String::from_utf8(ptsnap(&["show", path.to_str().unwrap()]).stdout).unwrap();
    let frame_lines: Vec<&str> = shown.lines().filter(|l| l.starts_with('#')).collect();
    for line in &frame_lines {
        let function = line.split(" in ").nth(1).unwrap_or_default();
        let std = ["std::", "core::", "alloc::"].iter().any(|c| function.starts_with(c));
        assert_eq!(line.contains("] (std)"), std, "{line}");
    }
}

/// gdb as the oracle for every scalar of every variable in every frame,
/// pointers followed one deep (`self` of `Walk::run`): equal, and nothing
/// gdb reads in the fixture's frames that the snapshot lacks.
#[test]
fn gdb_agrees_with_every_capture() {
    if !tool_available("gdb") {
        return;
    }
    let _serial = serial();
    for opt in OPT_LEVELS {
        let d = gdb::differential_of(&build_closures(opt), &format!("closures-O{opt}"), &[], 1);
        let ours = |l: &&String| l.starts_with("\"closures::") || l.starts_with("\"closure_walk::");
        let missing: Vec<&String> = d.gdb_only.iter().filter(ours).collect();
        assert!(missing.is_empty(), "O{opt}: gdb reads what the snapshot lacks:\n{missing:#?}");
        assert!(d.compared >= 50 && d.compared == d.matched, "O{opt}: {} of {}", d.matched, d.compared);
    }
}
