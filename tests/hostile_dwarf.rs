//! Corrupt and hostile DWARF (tests/fixtures/hostile/, hand-written
//! assembly linked with a C program): type cycles, types that contain
//! themselves or fan out exponentially, sizes and offsets near 2^64,
//! location expressions that loop, a frame base defined by itself and a
//! tail-call search that multiplies. Run on the debug build, where an
//! arithmetic overflow panics. ptsnap must finish within seconds with the
//! snapshot written, mark each affected variable, keep the sound ones
//! right and leave the target running untraced.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Far more than the snapshot takes (under a second): a walk that does
/// not end, or takes exponential time, hits it.
const DEADLINE: Duration = Duration::from_secs(30);

fn build_fixture() -> PathBuf {
    let asm = fixtures_dir().join("hostile/hostile_dwarf.s");
    build("hostile/hostile.c", "hostile", &["-g", "-O0", asm.to_str().unwrap()])
}

/// Snapshots the running fixture with `extra` options, failing if ptsnap
/// runs past the deadline (it is killed then) or fails; checks that the
/// target is released.
fn snapshot_of_fixture(name: &str, extra: &[&str]) -> Value {
    let _serial = serial();
    let running = start(&build_fixture(), &[]);
    let out = work_dir().join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let mut child = Command::new(ptsnap_bin())
        .arg("-o")
        .arg(&out)
        .args(["--globals", "--global", "plain_value"])
        .args(extra)
        .arg(running.pid().to_string())
        .stdout(Stdio::null())
        .spawn()
        .expect("cannot run ptsnap");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ptsnap ran longer than {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "ptsnap failed: {status}");
    assert_released(running.pid());
    read_json(&out)
}

fn global<'v>(snap: &'v Value, name: &str) -> &'v Value {
    let all = snap["globals"].as_array().expect("globals");
    all.iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("no global {name}"))
}

/// A local of the frame of `function` in the main thread.
fn local<'v>(snap: &'v Value, function: &str, name: &str) -> &'v Value {
    let main = thread(snap, snap["process"]["pid"].as_i64().unwrap());
    let frames = main["frames"].as_array().unwrap();
    let frame = frames.iter().find(|f| f["function"] == function).unwrap_or_else(|| panic!("no frame {function}"));
    let locals = frame["locals"].as_array().unwrap();
    locals.iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("no local {name} in {function}"))
}

fn member<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["members"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("no member {name}"))
}

fn error(v: &Value) -> &str {
    v["error"].as_str().unwrap_or_else(|| panic!("{} has no error: {v}", v["name"]))
}

/// The sound variables next to the hostile ones keep their values.
fn assert_sound_values(snap: &Value) {
    assert_eq!(global(snap, "plain_value")["value"], 42);
    assert_eq!(global(snap, "hv_ok")["value"], 1);
    assert_eq!(local(snap, "hostile_frame", "hv_local_ok")["value"], 1);
}

#[test]
fn type_cycles_and_self_containing_types_are_marked() {
    let snap = snapshot_of_fixture("hostile-types", &[]);
    assert_sound_values(&snap);

    // const -> volatile -> const ...: spelled with a marker, not read.
    let cv = global(&snap, "hv_cv");
    assert_eq!(cv["type"], "const volatile <too deep>");
    assert!(error(cv).contains("does not end"), "{cv}");
    assert_eq!(cv["value"], Value::Null);

    // An array of itself: no size, no elements.
    let array = global(&snap, "hv_self_array");
    assert!(array["type"].as_str().unwrap().starts_with("<too deep> [4][4]"), "{array}");
    assert!(error(array).contains("too deep"), "{array}");
    assert_eq!(array["size"], Value::Null);

    // A pointer to itself is still a pointer with a value.
    let pointer = global(&snap, "hv_self_pointer");
    assert!(pointer["type"].as_str().unwrap().starts_with("<too deep> ***"), "{pointer}");
    assert_eq!(pointer["value"], 1);

    // A function type whose 16 parameters are pointers to it: the spelling
    // is cut (16^32 types otherwise), the pointer's value still read.
    let function = global(&snap, "hv_fanout_function");
    let spelled = function["type"].as_str().unwrap();
    assert!(spelled.contains("<too deep>") && spelled.len() < 1 << 16, "{} bytes", spelled.len());
    assert_eq!(function["value"], 1);
}

/// Members and elements below a variable, itself included.
fn nodes(v: &Value) -> usize {
    let children = |key: &str| v[key].as_array().map_or(0, |c| c.iter().map(nodes).sum());
    1 + children("members") + children("elements")
}

/// Levels of first members below a variable.
fn nesting(v: &Value) -> usize {
    v["members"].as_array().and_then(|m| m.first()).map_or(0, |m| 1 + nesting(m))
}

#[test]
fn value_walks_are_bounded() {
    // A nesting limit far beyond the stack's: ptsnap's own cap applies.
    let snap = snapshot_of_fixture("hostile-values", &["--max-depth", "1000000"]);
    assert_sound_values(&snap);

    // A struct of 16 members of its own type: 16^depth members unless cut.
    let fanout = global(&snap, "hv_fanout_struct");
    assert_eq!(fanout["truncated"], true);
    assert!(nodes(fanout) <= (1 << 14) + 1, "{} nodes", nodes(fanout));

    // A struct containing itself: cut at ptsnap's nesting cap (and the
    // snapshot still parses: serde_json refuses more than 128 levels).
    let deep = global(&snap, "hv_deep_struct");
    let levels = nesting(deep);
    assert!((8..=32).contains(&levels), "{levels} levels");
}

#[test]
fn sizes_and_offsets_from_dwarf_are_checked() {
    let snap = snapshot_of_fixture("hostile-sizes", &[]);
    assert_sound_values(&snap);

    // A bit field of 200 bits next to a sound member.
    let bits = global(&snap, "hv_bitfield");
    assert_eq!(member(bits, "ok")["value"], 1);
    assert!(error(member(bits, "wide")).contains("200 bits"));

    // A member 2^64 - 256 bytes into a 16-byte struct.
    let far = global(&snap, "hv_far_member");
    assert!(error(member(far, "far")).contains("fewer than 8 bytes"));
    assert_eq!(member(far, "near")["value"], 2);

    // 2^62 longs: the size overflows, the first elements are shown.
    let array = global(&snap, "hv_huge_array");
    assert_eq!(array["size"], Value::Null);
    assert_eq!(array["truncated"], true);
    let elements: Vec<i64> =
        array["elements"].as_array().unwrap().iter().map(|e| e["value"].as_i64().unwrap()).collect();
    assert_eq!(elements.len(), 100);
    assert_eq!(elements[..9], [1, 2, 3, 4, 5, 6, 7, 8, 0]);

    // A 2^40-byte scalar in memory and as a constant: not read, not allocated.
    let scalar = global(&snap, "hv_huge_scalar");
    assert!(error(scalar).contains("too many to read"), "{scalar}");
    assert_eq!(scalar["truncated"], true);
    let constant = local(&snap, "hostile_frame", "hv_huge_const");
    assert!(error(constant).contains("fewer than"), "{constant}");

    // A piece 2^57 bytes away: only its byte is read (it is unreadable),
    // and the first piece gives the value.
    let piece = global(&snap, "hv_far_piece");
    assert_eq!(piece["value"], 1);
    // Pieces whose bit count overflows.
    assert!(error(global(&snap, "hv_huge_pieces")).contains("too large"));
}

#[test]
fn looping_and_recursive_locations_end() {
    let snap = snapshot_of_fixture("hostile-locations", &[]);
    assert_sound_values(&snap);

    // DW_OP_call4 of itself and DW_OP_skip to itself: gimli's iteration bound.
    for name in ["hv_call_loop", "hv_skip_loop"] {
        let v = global(&snap, name);
        assert!(error(v).contains("iterations"), "{v}");
        assert_eq!(v["location"], "unavailable");
    }

    // DW_AT_frame_base = DW_OP_fbreg 0.
    let frame_base = local(&snap, "hostile_frame", "hv_frame_base");
    assert!(error(frame_base).contains("frame base is defined by itself"), "{frame_base}");

    // An entry value whose call site leads into 64 tail calls per level.
    let entry = local(&snap, "hostile_inner", "hv_entry");
    assert!(error(entry).contains("too many tail calls"), "{entry}");
}
