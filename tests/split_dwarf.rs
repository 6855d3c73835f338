//! Split DWARF (`-gsplit-dwarf`): tests/fixtures/vars.c built with gcc
//! (DWARF 5 and GNU's DWARF 4 extension, -O0 and -O2) and clang, and
//! classes.cpp with g++ and clang++, their DIEs in `.dwo` files or in a
//! `.dwp` package with the `.dwo` files removed.
//! Every build is compared with gdb (the oracle, where gdb reads that
//! form) and with the same program built without split DWARF: the frames
//! and the variables of the fixture's frames must be the same. A `.dwo`
//! that is missing, from another build or corrupt leaves the frames their
//! symbols and lines and is the module's error.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// Where a case's files go: one directory each, as compilers name `.dwo`
/// files after the source (clang) or the output (gcc), in the directory
/// they run in (clang) or the output's (gcc). `kind` is "split" or
/// "plain": the paths of a case's two builds have the same length, so
/// that their runs without address randomization have the same stack.
fn case_dir(kind: &str, case: &str) -> PathBuf {
    let dir = work_dir().join(kind).join(case);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Builds `source` (vars.c unless the case names another) as
/// `<kind>/<case>/vars` with `compiler`, in that directory.
fn build_in(kind: &str, case: &str, compiler: &str, flags: &[&str]) -> PathBuf {
    let source = if compiler.ends_with("++") { "classes.cpp" } else { "vars.c" };
    let dir = case_dir(kind, case);
    let out = dir.join("vars");
    let status = Command::new(compiler)
        .current_dir(&dir)
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(fixtures_dir().join(source))
        .arg("-pthread")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(status.success(), "{compiler} {flags:?} failed");
    out
}

/// The `.dwo` files next to a binary.
fn dwo_files(bin: &Path) -> Vec<PathBuf> {
    let dir = bin.parent().unwrap();
    let entries = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    entries.filter(|p| p.extension().is_some_and(|x| x == "dwo")).collect()
}

/// A snapshot of the fixture, run without address randomization
/// (`setarch -R`, which execs it: the pid is the fixture's).
fn snap(bin: &Path, name: &str, extra: &[&str]) -> Value {
    let running = start(Path::new("setarch"), &["-R", bin.to_str().unwrap()]);
    snapshot(running.pid(), name, extra)
}

/// Each thread's frames and then its thread-locals: the fixture's own
/// whole (positions, addresses and every variable's value), the C
/// library's frames by function and line (its variables hold per-process
/// random values, pointer guards).
fn frames_by_thread(snap: &Value) -> Vec<Vec<Value>> {
    let exe = Path::new(snap["process"]["exe"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
    let mut threads: Vec<&Value> = snap["threads"].as_array().unwrap().iter().collect();
    threads.sort_by_key(|t| t["tid"].as_i64());
    let frames = threads.iter().map(|t| {
        let frames = t["frames"].as_array().unwrap().iter().map(|f| {
            if f["module"] == exe.as_str() {
                return f.clone();
            }
            let keys = ["function", "file", "line", "column", "inlined", "unwind", "module", "pc"];
            Value::Object(keys.iter().map(|&k| (k.to_string(), f[k].clone())).collect())
        });
        let tls = t["tls"].as_array().unwrap().iter().filter(|v| v["module"] == exe.as_str()).cloned();
        frames.chain(tls).collect()
    });
    frames.collect()
}

/// The module errors of a snapshot.
fn module_errors(snap: &Value) -> Vec<String> {
    let errors = snap["errors"].as_array().unwrap().iter();
    errors.filter(|e| e["context"].as_str().unwrap().starts_with("module ")).map(|e| e["message"].to_string()).collect()
}

fn main_thread(snap: &Value) -> &Value {
    thread(snap, snap["process"]["pid"].as_i64().unwrap())
}

/// How a case's `.dwo` files are packaged.
#[derive(Clone, Copy, PartialEq)]
enum Dwp {
    /// Left as `.dwo` files.
    None,
    /// Into `vars.dwp` by this tool (`dwp` or `llvm-dwp`), the `.dwo`
    /// files then removed.
    By(&'static str),
}

/// Builds a fixture (vars.c, or classes.cpp with a C++ compiler) with
/// and without `-gsplit-dwarf`, packs the split build
/// as asked, and checks that both snapshots have the same frames and
/// variables and that the split one has its variables at all; with
/// `oracle`, compares the split build with gdb too, and prints both
/// builds' counts of values compared with gdb.
fn same_as_unsplit(case: &str, compiler: &str, flags: &[&str], dwp: Dwp, oracle: bool) {
    let _serial = serial();
    if !tool_available("setarch") {
        return;
    }
    let plain = build_in("plain", case, compiler, flags);
    let split = build_in("split", case, compiler, &[flags, &["-gsplit-dwarf"]].concat());
    let dwos = dwo_files(&split);
    assert!(!dwos.is_empty(), "{compiler} {flags:?} -gsplit-dwarf wrote no .dwo file");
    if let Dwp::By(tool_name) = dwp {
        let package = split.with_extension("dwp");
        tool(tool_name, &["-e", split.to_str().unwrap(), "-o", package.to_str().unwrap()]);
        dwos.iter().for_each(|d| std::fs::remove_file(d).unwrap());
    }
    let ours = snap(&split, &format!("{case}-split"), &[]);
    let theirs = snap(&plain, &format!("{case}-plain"), &[]);
    assert_eq!(module_errors(&ours), Vec::<String>::new());
    let variables: usize = main_thread(&ours)["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["module"] == "vars")
        .map(|f| f["parameters"].as_array().unwrap().len() + f["locals"].as_array().unwrap().len())
        .sum();
    assert!(variables >= 5, "the split build's frames have {variables} variables");
    let (split_threads, plain_threads) = (frames_by_thread(&ours), frames_by_thread(&theirs));
    assert_eq!(split_threads.len(), plain_threads.len());
    for (split_frames, plain_frames) in split_threads.iter().zip(&plain_threads) {
        for (a, b) in split_frames.iter().zip(plain_frames) {
            assert!(a == b, "split and unsplit builds differ:\n{a}\n{b}");
        }
        assert_eq!(split_frames.len(), plain_frames.len());
    }
    if oracle && tool_available("gdb") {
        let (split_compared, split_equal) = gdb::differential(&split, &format!("{case}-split"), &[]);
        let (plain_compared, plain_equal) = gdb::differential(&plain, &format!("{case}-plain"), &[]);
        // gdb itself reads fewer values from some split builds (clang's:
        // it shows them as optimized out); the split build's values are
        // the unsplit build's, checked above.
        eprintln!(
            "{case}: gdb differential, split {split_equal}/{split_compared} equal, unsplit {plain_equal}/{plain_compared}"
        );
    }
}

#[test]
fn gcc_dwarf5_o0() {
    same_as_unsplit("gcc-d5-O0", "gcc", &["-g", "-O0"], Dwp::None, true);
}

#[test]
fn gcc_dwarf5_o2() {
    same_as_unsplit("gcc-d5-O2", "gcc", &["-g", "-O2"], Dwp::None, true);
}

/// GNU's split DWARF extension to DWARF 4: `DW_AT_GNU_dwo_name`,
/// `DW_AT_GNU_addr_base`, `DW_OP_GNU_addr_index`, `.debug_loc.dwo`.
#[test]
fn gcc_dwarf4_o2() {
    same_as_unsplit("gcc-d4-O2", "gcc", &["-gdwarf-4", "-O2"], Dwp::None, true);
}

#[test]
fn clang_o0() {
    if tool_available("clang") {
        same_as_unsplit("clang-O0", "clang", &["-g", "-O0"], Dwp::None, true);
    }
}

#[test]
fn clang_o2() {
    if tool_available("clang") {
        same_as_unsplit("clang-O2", "clang", &["-g", "-O2"], Dwp::None, true);
    }
}

/// C++: namespaces, classes, references, from the `.dwo` file.
#[test]
fn gxx_o2() {
    same_as_unsplit("gxx-O2", "g++", &["-g", "-O2"], Dwp::None, true);
}

/// gdb 13 reads too few of these values from clang's `.dwo` (8 of the
/// unsplit build's 17): the unsplit build is the oracle.
#[test]
fn clangxx_o2() {
    if tool_available("clang++") {
        same_as_unsplit("clangxx-O2", "clang++", &["-g", "-O2"], Dwp::None, false);
    }
}

/// A DWARF 4 package made by binutils' `dwp` (which cannot pack gcc's
/// DWARF 5); gdb reads it too.
#[test]
fn gcc_dwarf4_package() {
    if tool_available("dwp") {
        same_as_unsplit("gcc-d4-O2-dwp", "gcc", &["-gdwarf-4", "-O2"], Dwp::By("dwp"), true);
    }
}

/// DWARF 5 packages made by `llvm-dwp`. gdb 13 crashes on them, so the
/// unsplit build is the only oracle.
#[test]
fn dwarf5_packages() {
    if tool_available("llvm-dwp") {
        same_as_unsplit("gcc-d5-O2-dwp", "gcc", &["-g", "-O2"], Dwp::By("llvm-dwp"), false);
        if tool_available("clang") {
            same_as_unsplit("clang-O2-dwp", "clang", &["-g", "-O2"], Dwp::By("llvm-dwp"), false);
        }
    }
}

/// Globals and thread-locals are found in the split units too.
#[test]
fn globals_in_dwo_files() {
    let _serial = serial();
    let bin = build_in("split", "gcc-globals", "gcc", &["-g", "-O2", "-gsplit-dwarf"]);
    let s = snap(&bin, "split-globals", &["--global", "global_origin", "--global", "global_ratio"]);
    let globals = s["globals"].as_array().unwrap();
    let origin = globals.iter().find(|g| g["name"] == "global_origin").expect("global_origin is found");
    let x = origin["members"].as_array().unwrap().iter().find(|m| m["name"] == "x").unwrap();
    assert_eq!(x["value"], -1);
    assert!(globals.iter().any(|g| g["name"] == "global_ratio" && g["value"] == 2.5), "{globals:?}");
    let tls = main_thread(&s)["tls"].as_array().unwrap();
    assert!(tls.iter().any(|v| v["name"] == "tls_counter" && v["value"] == 42), "{tls:?}");
}

/// The `.dwo` file is found next to the executable, and under
/// `--debug-dir`, when it is no longer in the compilation directory.
#[test]
fn dwo_files_moved() {
    let _serial = serial();
    let bin = build_in("split", "gcc-moved", "gcc", &["-g", "-O0", "-gsplit-dwarf"]);
    let dwo = dwo_files(&bin).pop().unwrap();
    let name = dwo.file_name().unwrap().to_owned();
    let beside = case_dir("split", "gcc-moved-beside");
    std::fs::copy(&bin, beside.join("vars")).unwrap();
    std::fs::rename(&dwo, beside.join(&name)).unwrap();
    let s = snap(&beside.join("vars"), "split-beside", &[]);
    assert_eq!(module_errors(&s), Vec::<String>::new());
    assert!(frame_with_variables(&s, "walk"));

    let debug_dir = case_dir("split", "gcc-moved-debug-dir");
    std::fs::rename(beside.join(&name), debug_dir.join(&name)).unwrap();
    let s = snap(&beside.join("vars"), "split-debug-dir", &["--debug-dir", debug_dir.to_str().unwrap()]);
    assert_eq!(module_errors(&s), Vec::<String>::new());
    assert!(frame_with_variables(&s, "walk"));
}

fn frame_with_variables(snap: &Value, function: &str) -> bool {
    let frames = main_thread(snap)["frames"].as_array().unwrap();
    frames.iter().any(|f| f["function"] == function && !f["locals"].as_array().unwrap().is_empty())
}

/// A `.dwo` that is gone, from another build, or corrupt: the frames keep
/// their functions (symbol table) and lines, lose their variables, and
/// the module's error names the file.
#[test]
fn missing_stale_and_corrupt_dwo_files() {
    let _serial = serial();
    let bin = build_in("split", "gcc-broken", "gcc", &["-g", "-O2", "-gsplit-dwarf"]);
    let dwo = dwo_files(&bin).pop().unwrap();
    let name = dwo.file_name().unwrap().to_string_lossy().into_owned();
    let good = std::fs::read(&dwo).unwrap();
    let check = |label: &str, expected: &str| {
        let s = snap(&bin, &format!("split-{label}"), &[]);
        let frames = main_thread(&s)["frames"].as_array().unwrap();
        let walk = frames.iter().find(|f| f["function"] == "walk").unwrap_or_else(|| panic!("{label}: no walk frame"));
        assert!(walk["line"].as_u64().is_some_and(|l| l > 0), "{label}: walk has no line");
        assert!(walk["parameters"].as_array().unwrap().is_empty());
        assert!(frames.iter().any(|f| f["function"] == "main"), "{label}: no main frame");
        let errors = module_errors(&s);
        assert!(
            errors.iter().any(|e| e.contains(&name) && e.contains(expected)),
            "{label}: no module error naming {name} and {expected:?}: {errors:?}"
        );
    };

    std::fs::remove_file(&dwo).unwrap();
    check("missing", "not found");

    // The same program at -O0 has another DWO id.
    let other = build_in("split", "gcc-broken-other", "gcc", &["-g", "-O0", "-gsplit-dwarf"]);
    std::fs::copy(dwo_files(&other).pop().unwrap(), &dwo).unwrap();
    check("stale", "another build");

    std::fs::write(&dwo, &good[..good.len() / 3]).unwrap();
    check("truncated", "split DWARF");
    let mut garbage = good.clone();
    garbage[64..].iter_mut().for_each(|b| *b = 0xff);
    std::fs::write(&dwo, garbage).unwrap();
    check("garbage", "split DWARF");
}
