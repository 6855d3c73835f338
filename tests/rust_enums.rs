//! Rust enums (tests/fixtures/enums.rs) built by rustc at opt-level 0 and
//! 2 with debug info and snapshotted live: every encoding rustc writes
//! (tagged, niche, nested, a signed discriminant, one variant, C-like)
//! shown as the active variant with its fields, `ptsnap show` printing
//! them as gdb does, and gdb as the oracle for every scalar.

mod common;

use common::*;
use serde_json::{Value, json};

const OPT_LEVELS: [&str; 2] = ["0", "2"];

fn build_enums(opt: &str) -> std::path::PathBuf {
    build("enums.rs", &format!("enums-O{opt}"), &["-g", "-C", &format!("opt-level={opt}")])
}

fn main_frame(snap: &Value) -> &Value {
    let t = thread(snap, snap["process"]["pid"].as_i64().unwrap());
    t["frames"].as_array().unwrap().iter().find(|f| f["function"] == "enums::main").expect("a frame of enums::main")
}

fn local<'v>(frame: &'v Value, name: &str) -> &'v Value {
    frame["locals"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("no local {name}"))
}

/// A Rust enum's value as the snapshot shows it: its type, the active
/// variant (`symbol`, and the one member named by it) and that variant's
/// fields as `name: value` (a struct or enum field by its `symbol`).
fn variant(v: &Value) -> (String, String, Vec<(String, Value)>) {
    let members = v["members"].as_array().unwrap_or_else(|| panic!("no members: {v}"));
    assert_eq!(members.len(), 1, "one member, the active variant: {v}");
    let active = &members[0];
    assert_eq!((&v["kind"], &active["kind"], &active["name"]), (&json!("tuple"), &json!("tuple"), &v["symbol"]), "{v}");
    let fields = active["members"].as_array().map_or(Vec::new(), |fields| {
        let shown = |f: &Value| if f["kind"] == "tuple" { f["symbol"].clone() } else { f["value"].clone() };
        fields.iter().map(|f| (f["name"].as_str().unwrap().to_string(), shown(f))).collect()
    });
    (v["type"].as_str().unwrap().to_string(), v["symbol"].as_str().unwrap().to_string(), fields)
}

fn fields(list: &[(&str, Value)]) -> Vec<(String, Value)> {
    list.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()
}

#[test]
fn every_encoding_shows_its_active_variant() {
    let _serial = serial();
    for opt in OPT_LEVELS {
        let name = format!("enums-O{opt}");
        let running = start(&build_enums(opt), &[]);
        let snap = snapshot(running.pid(), &name, &[]);
        let main = main_frame(&snap);
        let check = |local_name: &str, ty: &str, symbol: &str, expected: &[(&str, Value)]| {
            let got = variant(local(main, local_name));
            assert_eq!(got, (ty.to_string(), symbol.to_string(), fields(expected)), "{name}: {local_name}");
        };
        let option = |t: &str| format!("core::option::Option<{t}>");
        let result = "core::result::Result<u32, enums::MyErr>";
        check("some_int", &option("i32"), "Some", &[("__0", json!(5))]);
        check("none_int", &option("i32"), "None", &[]);
        let point = local(main, "point")["address"].as_str().unwrap();
        let point = u64::from_str_radix(point.trim_start_matches("0x"), 16).unwrap();
        check("some_ref", &option("&enums::Point"), "Some", &[("__0", json!(point))]);
        check("none_ref", &option("&enums::Point"), "None", &[]);
        let boxed = variant(local(main, "some_box"));
        assert_eq!((boxed.1.as_str(), boxed.2.len()), ("Some", 1), "{boxed:?}");
        assert!(boxed.2[0].1.as_u64().is_some_and(|p| p != 0), "a box's pointer: {boxed:?}");
        check("none_box", &option("alloc::boxed::Box<u64, alloc::alloc::Global>"), "None", &[]);
        check("none_nz", &option("core::num::nonzero::NonZero<u32>"), "None", &[]);
        let nz = &local(main, "some_nz")["members"][0]["members"][0];
        assert_eq!(nz["members"][0]["members"][0]["value"], 9, "NonZero(NonZeroU32Inner(9)): {nz}");
        check("ok", result, "Ok", &[("__0", json!(42))]);
        check("err", result, "Err", &[("__0", json!("Denied"))]);
        let denied = &local(main, "err")["members"][0]["members"][0];
        assert_eq!(
            variant(denied),
            ("enums::MyErr".into(), "Denied".into(), fields(&[("code", json!(-3)), ("retry", json!(true))]))
        );
        check("err_nf", result, "Err", &[("__0", json!("NotFound"))]);
        check("empty", "enums::Shape", "Empty", &[]);
        check("circle", "enums::Shape", "Circle", &[("__0", json!(1.5))]);
        check("rect", "enums::Shape", "Rect", &[("w", json!(6)), ("h", json!(7))]);
        check("pair", "enums::Shape", "Pair", &[("__0", json!(-8)), ("__1", json!(1u64 << 40))]);
        check("nested", &option("core::result::Result<u8, i16>"), "Some", &[("__0", json!("Err"))]);
        let inner = &local(main, "nested")["members"][0]["members"][0];
        assert_eq!(variant(inner).2, fields(&[("__0", json!(-2))]));
        check("nested_none", &option("core::result::Result<u8, i16>"), "None", &[]);
        check("none_mode", &option("enums::Mode"), "None", &[]);
        let some_mode = &local(main, "some_mode")["members"][0]["members"][0];
        assert_eq!(
            (&some_mode["kind"], &some_mode["value"], &some_mode["symbol"]),
            (&json!("enum"), &json!(2), &json!("enums::Mode::Count"))
        );
        check("cold", "enums::Temp", "Cold", &[("__0", json!(12))]);
        check("warm", "enums::Temp", "Warm", &[]);
        check("single", "enums::Single", "Only", &[("__0", json!(31))]);
        // A C-like enum is an enumeration, as in C, its enumerators named
        // in the enum as gdb names them.
        let mode = local(main, "mode");
        assert_eq!(
            (&mode["kind"], &mode["value"], &mode["symbol"]),
            (&json!("enum"), &json!(1), &json!("enums::Mode::Replace"))
        );
        drop(running);
    }
}

/// `ptsnap show` prints every local as gdb's `info locals` does, the
/// structs among them in Rust's syntax (`point = enums::Point {x: 3, y:
/// 4}`, `some_nz`'s `NonZero`, the slice of trait objects `values`), but
/// for `cold`, whose negative discriminant (`#[repr(i8)]`, -5 as
/// `DW_FORM_data1` 0xfb) gdb 13 matches to no variant ("Could not find
/// active enum variant").
#[test]
fn show_prints_enums_like_gdb() {
    if !tool_available("gdb") {
        return;
    }
    let _serial = serial();
    for opt in OPT_LEVELS {
        let name = format!("enums-show-O{opt}");
        let running = start(&build_enums(opt), &[]);
        snapshot(running.pid(), &name, &[]);
        let compared = gdb::shown_against_gdb("gdb", running.pid(), &name, "enums::main", |_, _| false);
        assert!(compared.theirs.len() >= 25, "gdb's locals: {:?}", compared.theirs);
        assert_eq!(compared.differ, ["cold"], "{}", compared.shown);
        for local in ["point", "some_nz", "values"] {
            assert!(compared.equal.iter().any(|e| e == local), "{name}: {local} not compared");
        }
        let cold = compared.ours.iter().find(|(n, _)| n == "cold").map(|(_, v)| v.as_str());
        assert_eq!(cold, Some("enums::Temp::Cold(12)"));
    }
}

/// gdb as the oracle for every scalar of every variable in every frame,
/// the enums' fields under their variant (`some_int.Some.__0`), as gdb's
/// Python API sees them.
#[test]
fn gdb_agrees_with_every_enum_field() {
    if !tool_available("gdb") {
        return;
    }
    let _serial = serial();
    for opt in OPT_LEVELS {
        let d = gdb::differential_of(&build_enums(opt), &format!("enums-O{opt}"), &[], 0);
        assert!(d.compared >= 60 && d.compared == d.matched, "O{opt}: {} of {}", d.matched, d.compared);
        assert!(d.gdb_only.is_empty(), "O{opt}: fields gdb reads and the snapshot lacks: {:?}", d.gdb_only);
    }
}

/// The names gdb gives the main thread's frames that have Rust source
/// lines, innermost first.
fn gdb_rust_frame_names(pid: i32) -> Vec<String> {
    let script = work_dir().join("rust-frame-names.py");
    std::fs::write(
        &script,
        "gdb.execute('set backtrace past-main on')\n\
         f = gdb.newest_frame()\n\
         while f is not None:\n\
         \x20   sal = f.find_sal()\n\
         \x20   if sal.symtab is not None and sal.symtab.filename.endswith('.rs'):\n\
         \x20       print('GDB-FRAME ' + f.name())\n\
         \x20   f = f.older()\n",
    )
    .unwrap();
    let out = std::process::Command::new("gdb")
        .args(["-batch", "-nx", "-p", &pid.to_string(), "-x"])
        .arg(&script)
        .output()
        .expect("gdb runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().filter_map(|l| l.strip_prefix("GDB-FRAME ")).map(str::to_string).collect()
}

/// Frames are named as gdb names them in Rust: rustc's names with their
/// generic arguments, closures and impl blocks numbered, in their
/// namespaces (`std::rt::lang_start::{closure#0}<()>`), not the legacy
/// mangled name's `{{closure}}` without generics.
#[test]
fn frames_are_named_as_gdb_names_them() {
    if !tool_available("gdb") {
        return;
    }
    let _serial = serial();
    for opt in OPT_LEVELS {
        let name = format!("enums-names-O{opt}");
        let running = start(&build_enums(opt), &[]);
        let snap = snapshot(running.pid(), &name, &[]);
        let t = thread(&snap, running.pid() as i64);
        let ours: Vec<String> = t["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["file"].as_str().is_some_and(|p| p.ends_with(".rs")))
            .map(|f| f["function"].as_str().unwrap().to_string())
            .collect();
        let theirs = gdb_rust_frame_names(running.pid());
        assert!(ours.iter().any(|n| n.contains("{closure#")), "{name}: a closure among {ours:?}");
        assert!(ours.iter().any(|n| n.contains('<')), "{name}: generic arguments among {ours:?}");
        assert_eq!(ours, theirs, "{name}");
    }
}
