//! Rust's strings, sequences, maps and cells
//! (tests/fixtures/containers.rs) built by rustc at opt-level 0 and 2 with
//! debug info and snapshotted live: `&str`, `String` and `Box<str>` as
//! their text, slices, `Box<[T]>` and `Vec`s as their elements, `HashMap`s
//! and `HashSet`s as their entries, within the limits and next to their
//! raw members; `Box` as the pointer it is, with its pointee, `Rc` and
//! `Weak` as their structs, with the `RcInner`, and a dangling `Weak` said
//! so; `ptsnap show` printing them, and Rust's structs, tuples and arrays,
//! as rust-gdb does; gdb as the oracle for every scalar of the raw
//! members, and rust-gdb's pretty printers for every scalar they print.

mod common;

use std::collections::BTreeMap;

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
        // Maps and sets: their entries, as many as --max-elements says.
        let (map, cut, items) = entries(local(main, "map"));
        assert_eq!((map.len(), cut, items), (2, true, 3), "{name}");
        assert!(map.iter().all(|e| [json!(["one", 1]), json!(["two", 2]), json!(["three", 3])].contains(e)), "{map:?}");
        let small = entries(local(main, "small_map"));
        assert_eq!(small, (vec![json!([1, 100]), json!([2, 200])], false, 2), "{name}");
        let (wide, cut, items) = entries(local(main, "wide_map"));
        assert_eq!((wide.len(), cut, items), (2, true, 20), "{name}");
        for entry in &wide {
            let key = entry[0].as_u64().unwrap();
            assert_eq!(entry[1], json!([key, key * 1000, 7]), "{name}");
        }
        assert_eq!(entries(local(main, "empty_map")), (vec![], false, 0), "{name}");
        let (set, cut, items) = entries(local(main, "set"));
        assert_eq!((set.len(), cut, items), (2, true, 3), "{name}");
        assert!(set.iter().all(|k| [json!(5), json!(-6), json!(7)].contains(k)), "{set:?}");
        assert_eq!(entries(local(main, "string_set")), (vec![json!("x"), json!("yz")], false, 2), "{name}");
        // A Box of a slice or a str, as a reference to one.
        assert_eq!(elements(local(main, "boxed_slice"), "length"), (vec![json!(4), json!(5)], true, 3), "{name}");
        assert_eq!(text(local(main, "boxed_str")), ("boxed", false), "{name}");
        // A Weak from Weak::new() points nowhere: said so, not followed.
        let dangling = local(main, "dangling");
        let pointer = &dangling["members"][0]["members"][0];
        assert_eq!((&dangling["symbol"], &pointer["target"]), (&json!("dangling"), &Value::Null), "{dangling}");
        assert!(local(main, "weak")["symbol"].is_null(), "{name}");
        // Every type of a Rust unit says so, down to the members.
        let point = local(main, "point");
        assert_eq!((&point["language"], &point["members"][0]["language"]), (&json!("rust"), &json!("rust")));
    }
}

/// A map's or set's entries, sorted (a map's as `[key, value]`, tuples as
/// lists, strings as their text), whether they were cut, and its raw
/// `items`.
fn entries(v: &Value) -> (Vec<Value>, bool, u64) {
    fn plain(v: &Value) -> Value {
        match v["kind"].as_str() {
            Some("string") => v["symbol"].clone(),
            Some("tuple") => Value::Array(v["members"].as_array().unwrap().iter().map(plain).collect()),
            _ => v["value"].clone(),
        }
    }
    fn items(v: &Value) -> Option<u64> {
        let members = v["members"].as_array()?;
        members
            .iter()
            .find(|m| m["name"] == "items")
            .map_or_else(|| members.iter().find_map(items), |m| m["value"].as_u64())
    }
    assert_eq!(v["kind"], "tuple", "{v}");
    let mut list: Vec<Value> = v["elements"].as_array().map_or(Vec::new(), |l| l.iter().map(plain).collect());
    list.sort_by_key(|e| e.to_string());
    (list, v["truncated"] == true, items(v).expect("raw members kept, `items` among them"))
}

/// `ptsnap show` prints main's locals as rust-gdb's `info locals` does:
/// strings, slices, `Vec`s and `Box`es, `Rc` and `Arc` with their counts,
/// `HashMap`s and `HashSet`s with their entries, `Cell`s and `RefCell`s
/// with their borrow state, structs, tuples and arrays in Rust's syntax
/// (a `Mutex` and an `RwLock` among them). What differs is listed: `Weak`s,
/// which rust-gdb prints as their raw struct and show as an `Rc`, a
/// `Box<str>` (its bytes in gdb, its text in show) and the long string
/// (gdb's `'x' <repeats 200 times>...`); and a `Ref`, whose printer fails
/// in rust-gdb, which prints its raw struct: show prints it as the
/// printer means to.
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
        let (equal, theirs, ours) = (&compared.equal, &compared.theirs, &compared.ours);
        let differ = ["arc_weak", "borrowed", "boxed_str", "dangling", "long", "mut_borrowed", "orphan", "weak"];
        assert_eq!(compared.differ, differ, "{}", compared.shown);
        let alike = ["string", "empty_str", "slice_mut", "vec", "strings", "empty_vec", "boxed", "boxed_pair"];
        let maps = ["map", "small_map", "wide_map", "empty_map", "set", "string_set"];
        let cells = ["cell", "ref_cell", "mut_cell", "idle_cell", "boxed_slice", "mutex", "rw_lock"];
        let structs = ["point", "pair", "tuple", "grid", "shape", "points", "bytes", "numbers"];
        // A char with its literal: `letter = 97 'a'`.
        let chars = ["letter", "newline", "accented"];
        // At opt-level 2, rustc leaves values of no bytes without a location.
        let zero_sized = if opt == "0" { &["marker", "unit"][..] } else { &[] };
        let all = alike.into_iter().chain(["rc", "rc2", "arc"]).chain(maps).chain(cells).chain(structs).chain(chars);
        for &local in all.collect::<Vec<_>>().iter().chain(zero_sized) {
            assert!(equal.iter().any(|e| e == local), "{name}: {local} not compared: {theirs:?}");
        }
        let shown = |local: &str| ours.iter().find(|(n, _)| n == local).map(|(_, v)| v.as_str());
        assert_eq!(shown("weak"), Some("Weak(strong=2, weak=1) = {value = 7, strong = 2, weak = 1}"), "{name}");
        let arc_weak = "Weak(strong=1, weak=1) = {value = \"shared\", strong = 1, weak = 1}";
        assert_eq!(shown("arc_weak"), Some(arc_weak), "{name}");
        assert_eq!(shown("orphan"), Some("Weak(strong=0, weak=1)"), "{name}");
        assert_eq!(shown("dangling"), Some("Weak(dangling)"), "{name}");
        assert_eq!(shown("boxed_str"), Some("\"boxed\""), "{name}");
        let borrowed = "Ref(borrow=1) = {*value = Vec(size=2) = {1, 2}, borrow = 1}";
        assert_eq!(shown("borrowed"), Some(borrowed), "{name}");
        assert_eq!(shown("mut_borrowed"), Some("Ref(borrow_mut=1) = {*value = 9, borrow = -1}"), "{name}");
    }
}

/// rust-gdb's pretty printers as the oracle for what the snapshot's views
/// hold: every scalar they print of main's locals (a map's keys and
/// values, a set's and a `Vec`'s elements, strings' text, an `Rc`'s
/// counts and value, and the fields of what no printer knows) is found in
/// the snapshot where the printers find it, and is equal.
#[test]
fn rust_gdb_printers_agree_with_every_view() {
    if !tool_available("rust-gdb") {
        return;
    }
    let _serial = serial();
    for opt in OPT_LEVELS {
        let name = format!("containers-views-O{opt}");
        let running = start(&build_containers(opt), &[]);
        let snap = snapshot(running.pid(), &name, &[]);
        let theirs = gdb::printed_by_rust_gdb(running.pid(), "containers::main");
        drop(running);
        let mut ours = BTreeMap::new();
        for v in main_frame(&snap)["locals"].as_array().unwrap() {
            viewed(v, v["name"].as_str().unwrap(), &mut ours);
        }
        let (mut compared, mut differ, mut lacking) = (0, Vec::new(), Vec::new());
        for (path, gdb_value) in theirs.iter().filter(|(_, v)| !gdb::is_missing(v)) {
            match ours.get(path) {
                Some(ours) if gdb::same_number(gdb_value, ours) => compared += 1,
                Some(ours) => differ.push(format!("{path}: ours {ours}, rust-gdb {gdb_value}")),
                None => lacking.push(format!("{path}: rust-gdb {gdb_value}")),
            }
        }
        eprintln!("{name}: {compared} scalars rust-gdb's printers print are the snapshot's");
        assert!(differ.is_empty() && lacking.is_empty(), "{name}: differ {differ:#?}, only rust-gdb {lacking:#?}");
        assert!(compared >= 100, "{name}: only {compared} compared");
    }
}

/// The scalar leaves of `v` (under `path`) as rust-gdb's printers show
/// them (tests/support/gdb_printed.py): a string's text as `$str`, the
/// elements of a sequence, map or set by their names (a map's entries are
/// `(key, value)` tuples: `[i].__0`, `[i].__1`), an `Rc`'s or `Arc`'s
/// value and counts, a `Cell`'s or `RefCell`'s value (and borrow), the
/// members of other structs, pointers as their address.
fn viewed(v: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    if let Some(l @ ("optimized-out" | "unavailable")) = v["location"].as_str() {
        out.insert(path.to_string(), l.into());
        return;
    }
    let ty = v["type"].as_str().unwrap_or_default();
    let rust_std = |prefixes: &[&str]| prefixes.iter().any(|p| ty.starts_with(p));
    match v["kind"].as_str().unwrap() {
        // No printer knows a Box<[T]> or Box<str>: its raw members.
        "string" | "tuple" if rust_std(&["alloc::boxed::Box<"]) => {
            for m in v["members"].as_array().into_iter().flatten() {
                viewed(m, &format!("{path}.{}", m["name"].as_str().unwrap()), out);
            }
        }
        "string" => {
            out.insert(format!("{path}$str"), v["symbol"].clone());
        }
        "tuple" | "array" if v.get("elements").is_some() => {
            for e in v["elements"].as_array().unwrap() {
                viewed(e, &format!("{path}{}", e["name"].as_str().unwrap()), out);
            }
        }
        "tuple" if rust_std(&["alloc::rc::Rc<", "alloc::sync::Arc<"]) => {
            let mut ptr = member(v, &["ptr"]).unwrap();
            while ptr.get("target").is_none() {
                ptr = member(ptr, &["pointer"]).unwrap();
            }
            let inner = &ptr["target"];
            let count = |name| number(member(inner, &[name]).unwrap());
            out.insert(format!("{path}.strong"), count("strong").into());
            out.insert(format!("{path}.weak"), (count("weak") - 1).into());
            let value = member(inner, &["value"]).or_else(|| member(inner, &["data"])).unwrap();
            viewed(value, &format!("{path}.value"), out);
        }
        "tuple" if rust_std(&["core::cell::Cell<", "core::cell::RefCell<"]) => {
            viewed(member(v, &["value", "value"]).unwrap(), &format!("{path}.value"), out);
            if let Some(borrow) = member(v, &["borrow"]) {
                out.insert(format!("{path}.borrow"), number(borrow).into());
            }
        }
        "tuple" => {
            for m in v["members"].as_array().into_iter().flatten() {
                viewed(m, &format!("{path}.{}", m["name"].as_str().unwrap()), out);
            }
        }
        "reference" => {
            out.insert(path.to_string(), v["value"].clone());
        }
        _ => {
            let value = match &v["value"] {
                Value::Bool(b) => Value::from(*b as i64),
                other => other.clone(),
            };
            out.insert(path.to_string(), value);
        }
    }
}

/// The member of `v` down the member names `path`.
fn member<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, name| v["members"].as_array()?.iter().find(|m| m["name"] == *name))
}

/// The one number inside wrapper structs (a `Cell`, an atomic).
fn number(mut v: &Value) -> i64 {
    while let Some([only]) = v["members"].as_array().map(Vec::as_slice) {
        v = only;
    }
    v["value"].as_i64().unwrap_or_else(|| panic!("no number in {v}"))
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
