//! gdb as the oracle for variables: every scalar leaf of every parameter
//! and local in every frame of a running fixture, as gdb reads them
//! (tests/support/gdb_leaves.py), compared with ptsnap's snapshot of it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{snapshot, start, thread};

/// Our leaves as gdb_leaves.py flattens gdb's: "arg:NAME#k" and
/// "local:NAME#k" (k counting shadowed names innermost first), then
/// `.member` and `[i]`; char arrays as `$str`.
pub fn our_leaves(frame: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (kind, list) in [("arg", &frame["parameters"]), ("local", &frame["locals"])] {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for v in list.as_array().unwrap() {
            let name = v["name"].as_str().unwrap();
            let n = seen.entry(name.to_string()).or_default();
            flatten(v, &format!("{kind}:{name}#{n}"), &mut out);
            *n += 1;
        }
    }
    out
}

fn flatten(v: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    if let Some(l @ ("optimized-out" | "unavailable")) = v["location"].as_str() {
        // A register the unwinder could not recover in a caller frame.
        let unsaved = v["error"].as_str().and_then(|e| e.strip_suffix(" is not saved in this frame"));
        out.insert(path.to_string(), unsaved.map_or(Value::from(l), |r| serde_json::json!({ "unsaved": r })));
        return;
    }
    match v["kind"].as_str().unwrap() {
        // A Rust string also has the raw members it is read from.
        "string" => {
            out.insert(format!("{path}$str"), v["symbol"].clone());
            for m in v["members"].as_array().into_iter().flatten() {
                flatten(m, &format!("{path}.{}", m["name"].as_str().unwrap()), out);
            }
        }
        "tuple" => {
            for m in v["members"].as_array().into_iter().flatten() {
                flatten(m, &format!("{path}.{}", m["name"].as_str().unwrap()), out);
            }
        }
        "array" => {
            for e in v["elements"].as_array().into_iter().flatten() {
                flatten(e, &format!("{path}{}", e["name"].as_str().unwrap()), out);
            }
        }
        "reference" if v["type"].as_str().is_some_and(|t| t.ends_with('&')) => {
            if let Some(target) = v.get("target") {
                flatten(target, &format!("{path}@"), out);
            }
        }
        // A pointer, and what it points to (--deref-depth) under `*`.
        "reference" => {
            out.insert(path.to_string(), v["value"].clone());
            if let Some(target) = v.get("target") {
                flatten(target, &format!("{path}*"), out);
            }
        }
        _ => {
            let value = match &v["value"] {
                Value::Bool(b) => Value::from(*b as i64),
                Value::Array(_) => return, // complex: gdb's side skips them too
                other => other.clone(),
            };
            out.insert(path.to_string(), value);
        }
    }
}

pub fn same_number(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => a == b,
    }
}

pub fn is_missing(v: &Value) -> bool {
    v.is_null() || matches!(v.as_str(), Some("optimized-out" | "unavailable")) || v.get("unsaved").is_some()
}

/// gdb takes every register the CFI does not mention as unchanged in the
/// caller (its DWARF unwinder's "same value" default), so in a caller frame
/// a caller-saved register holds whatever the callee left in it: the value
/// is `thread`'s register as the kernel gave it. ptsnap reports those as
/// unavailable (see src/variables/location.rs), and such a difference is
/// gdb's, not ours.
fn gdb_stale_register(thread: &Value, ours: &Value, theirs: &Value) -> bool {
    let live = ours["unsaved"].as_str().and_then(|r| thread["registers"][r].as_str());
    let live = live.and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok());
    live.is_some_and(|live| theirs.as_u64() == Some(live) || theirs.as_i64() == Some(live as i64))
}

/// Whether a variable or member holding the leaf `path` (`arg:f#0.x.y`)
/// is, for us, in a register not saved in this frame: gdb reads the
/// memory it points to from the register's stale value (see
/// [`gdb_stale_register`]), a struct passed by reference in a caller
/// frame, say.
fn unsaved_ancestor(mine: &BTreeMap<String, Value>, path: &str) -> bool {
    let ends = path.char_indices().filter(|(_, c)| matches!(c, '.' | '[' | '*' | '@')).map(|(i, _)| i);
    ends.filter_map(|i| mine.get(&path[..i])).any(|v| v.get("unsaved").is_some())
}

/// gdb as the oracle: every scalar leaf of every parameter and local in
/// every frame, compared. A value both read must be equal, and a value gdb
/// reads must be read by us too. Values only we read (gdb does not follow
/// a call site whose target is computed, say) are counted and listed.
pub fn differential(bin: &Path, name: &str, args: &[&str]) -> (usize, usize) {
    let d = differential_of(bin, name, args, 0);
    (d.compared, d.matched)
}

/// What [`differential_of`] found.
pub struct Differential {
    pub compared: usize,
    pub matched: usize,
    /// Leaves gdb read that the snapshot lacks, as "function path: gdb value".
    pub gdb_only: Vec<String>,
}

/// [`differential`] with pointers to structs and unions followed `deref`
/// deep on both sides.
pub fn differential_of(bin: &Path, name: &str, args: &[&str], deref: usize) -> Differential {
    let running = start(bin, args);
    let snap = snapshot(running.pid(), &format!("{name}-diff"), &["--deref-depth", &deref.to_string()]);
    compare_deref(name, &snap, &["-p".as_ref(), running.pid().to_string().as_ref()], deref)
}

/// gdb as the oracle for `snap` (taken with `--deref-depth 0`), gdb given
/// `target`: `-p PID` for a live process, `PROG CORE` for a core dump.
/// Returns the values compared and the values equal.
pub fn compare(name: &str, snap: &Value, target: &[&std::ffi::OsStr]) -> (usize, usize) {
    let d = compare_deref(name, snap, target, 0);
    (d.compared, d.matched)
}

/// [`compare`] for a snapshot taken with `--deref-depth deref`: gdb
/// follows pointers to structs and unions as deep.
fn compare_deref(name: &str, snap: &Value, target: &[&std::ffi::OsStr], deref: usize) -> Differential {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/gdb_leaves.py");
    let set_deref = format!("set $deref_depth = {deref}");
    let out = std::process::Command::new("gdb")
        .args(["-batch", "-nx"])
        .args(target)
        .args(["-ex", &set_deref, "-x"])
        .arg(script.as_os_str())
        .output()
        .expect("gdb runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("GDB-LEAVES ")).unwrap_or_else(|| {
        panic!("gdb printed no leaves: {}", String::from_utf8_lossy(&out.stderr));
    });
    let gdb: Value = serde_json::from_str(line).unwrap();
    let (mut frames, mut tail_calls, mut listed, mut compared, mut matched) = (0, 0, 0, 0, 0);
    let mut mismatches = Vec::new();
    let mut ours_only = Vec::new();
    let mut stale = Vec::new();
    let mut gdb_only = Vec::new();
    for gt in gdb.as_array().unwrap() {
        let ours_thread = thread(snap, gt["tid"].as_i64().unwrap());
        let our_frames = ours_thread["frames"].as_array().unwrap();
        let gdb_frames = gt["frames"].as_array().unwrap();
        tail_calls += our_frames.iter().filter(|f| f["unwind"] == "tailcall").count();
        // Frames pair up in order, tail-call frames included; a function
        // name must agree.
        let mut j = 0;
        for gf in gdb_frames {
            let Some(k) = our_frames[j..].iter().position(|f| f["function"] == gf["function"]) else { continue };
            let of = &our_frames[j + k];
            j += k + 1;
            frames += 1;
            listed += of["parameters"].as_array().unwrap().len() + of["locals"].as_array().unwrap().len();
            let mine = our_leaves(of);
            for (path, theirs) in gf["vars"].as_object().unwrap() {
                let Some(ours) = mine.get(path) else {
                    let line = format!("{} {path}: gdb {theirs}", gf["function"]);
                    if unsaved_ancestor(&mine, path) {
                        stale.push(line);
                    } else if !is_missing(theirs) {
                        gdb_only.push(line);
                    }
                    continue;
                };
                if is_missing(theirs) && is_missing(ours) {
                    continue;
                }
                if is_missing(theirs) {
                    ours_only.push(format!("{} {path}: ours {ours}, gdb {theirs}", gf["function"]));
                    continue;
                }
                let line = format!("{} {path}: ours {ours}, gdb {theirs}", gf["function"]);
                if gdb_stale_register(ours_thread, ours, theirs) {
                    stale.push(line);
                    continue;
                }
                compared += 1;
                if !is_missing(ours) && same_number(theirs, ours) {
                    matched += 1;
                } else {
                    mismatches.push(line);
                }
            }
        }
    }
    eprintln!(
        "{name}: {frames} frames paired with gdb's ({tail_calls} tail-call frames), {listed} variables listed; \
         {compared} values compared with gdb, {matched} equal; {} read only by ptsnap, {} only by gdb; \
         {} stale registers in gdb",
        ours_only.len(),
        gdb_only.len(),
        stale.len()
    );
    for line in &gdb_only {
        eprintln!("  only gdb: {line}");
    }
    for line in &ours_only {
        eprintln!("  only ptsnap: {line}");
    }
    for line in &stale {
        eprintln!("  gdb's stale register: {line}");
    }
    assert!(mismatches.is_empty(), "{} mismatches with gdb:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(compared >= 5, "too few values compared ({compared})");
    Differential { compared, matched, gdb_only }
}

/// Every scalar leaf of the locals of `function` in the live process
/// `pid` as rust-gdb's pretty printers show them
/// (tests/support/gdb_printed.py): a map's entries as `NAME[i].__0` and
/// `NAME[i].__1`, a sequence's as `NAME[i]`, a printer's other children as
/// `NAME.child`, strings as `NAME$str`, other values by their fields.
pub fn printed_by_rust_gdb(pid: i32, function: &str) -> serde_json::Map<String, Value> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/gdb_printed.py");
    let set_function = format!("set $function = \"{function}\"");
    let out = std::process::Command::new("rust-gdb")
        .args(["-batch", "-nx", "-p", &pid.to_string(), "-ex", &set_function, "-x"])
        .arg(script.as_os_str())
        .output()
        .expect("rust-gdb runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("GDB-PRINTED ")).unwrap_or_else(|| {
        panic!("rust-gdb printed no leaves: {}", String::from_utf8_lossy(&out.stderr));
    });
    serde_json::from_str(line).unwrap()
}

/// The `name = value` lines `gdb` (`"gdb"`, or `"rust-gdb"` with the Rust
/// standard library's pretty printers) prints for `info locals` in
/// `function` of the process `pid`.
fn info_locals(gdb: &str, pid: i32, function: &str) -> Vec<(String, String)> {
    let frame = format!("frame function {function}");
    let args = ["-batch", "-nx", "-p", &pid.to_string(), "-ex", "set print pretty off", "-ex", &frame];
    let o = std::process::Command::new(gdb).args(args).args(["-ex", "info locals"]).output().expect("gdb runs");
    assignments(String::from_utf8_lossy(&o.stdout).lines())
}

/// The locals of the first frame of `function` as `ptsnap show` prints
/// them from the snapshot `name` (in the tests' work directory), and
/// show's whole output.
fn shown_locals(name: &str, function: &str) -> (Vec<(String, String)>, String) {
    let path = super::work_dir().join(format!("{name}.json"));
    let shown = String::from_utf8(super::ptsnap(&["show", path.to_str().unwrap()]).stdout).unwrap();
    let marker = format!(" in {function} ");
    let start = shown.lines().position(|l| l.contains(&marker)).unwrap_or_else(|| panic!("no frame of {function}"));
    let locals = assignments(shown.lines().skip(start + 1).map_while(|l| l.strip_prefix("        ")));
    (locals, shown)
}

/// `function`'s locals as `gdb` prints them in the live process `pid`,
/// against how `ptsnap show` prints them from the snapshot `name` of it:
/// the locals printed alike and those printed otherwise (sorted), gdb's
/// and show's locals, and show's whole output. Locals `skip` takes (by
/// name and gdb's value) are in neither list.
pub struct ShownAgainstGdb {
    pub equal: Vec<String>,
    pub differ: Vec<String>,
    pub theirs: Vec<(String, String)>,
    pub ours: Vec<(String, String)>,
    pub shown: String,
}

pub fn shown_against_gdb(
    gdb: &str,
    pid: i32,
    name: &str,
    function: &str,
    skip: impl Fn(&str, &str) -> bool,
) -> ShownAgainstGdb {
    let theirs = info_locals(gdb, pid, function);
    let (ours, shown) = shown_locals(name, function);
    let (mut equal, mut differ) = (Vec::new(), Vec::new());
    for (local, gdb_value) in theirs.iter().filter(|(n, v)| !skip(n, v)) {
        let ours = ours.iter().find(|(n, _)| n == local).map(|(_, v)| v.as_str());
        if ours == Some(gdb_value.as_str()) { &mut equal } else { &mut differ }.push(local.clone());
    }
    eprintln!("{name}: {} locals printed as {gdb} prints them: {equal:?}; differ: {differ:?}", equal.len());
    differ.sort();
    ShownAgainstGdb { equal, differ, theirs, ours, shown }
}

/// The `name = value` lines among `lines`, split.
fn assignments<'l>(lines: impl Iterator<Item = &'l str>) -> Vec<(String, String)> {
    lines.filter_map(|l| l.split_once(" = ")).map(|(n, v)| (n.to_string(), v.to_string())).collect()
}
