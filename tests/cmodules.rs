//! C pmodules (include/ptsnap/pmodule.h): modules compiled at test time
//! with the system compiler, checked against the fixtures and the
//! expectations of the Lua tests (tests/pmodules.rs): the tutorial's
//! module in C gives what the Lua one gives; events, match filters,
//! iteration, kv, tags, classifiers; the API's errors and handles; a
//! module built for another ABI, one whose entry point fails; and C
//! modules that crash or loop while the target is stopped, which must
//! still leave it released.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles a C module (`tests/cmodules/NAME.c`, or a repository path)
/// as the docs say to: `cc -shared -fPIC -Wall -Werror -I include`.
fn c_module(source: &str) -> PathBuf {
    assert!(tool_available("cc"), "a C compiler builds the C modules");
    let src = if source.contains('/') { repo().join(source) } else { repo().join("tests/cmodules").join(source) };
    let dir = work_dir().join("cmodules");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(Path::new(source).with_extension("so").file_name().unwrap());
    let o = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-Wall", "-Werror", "-I"])
        .arg(repo().join("include"))
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "compiling {source}: {}", String::from_utf8_lossy(&o.stderr));
    out
}

/// Snapshots `pid` with `extra`; returns the snapshot, ptsnap's exit code
/// and stderr.
fn snapshot_of(pid: i32, name: &str, extra: &[&str]) -> (Value, i32, String) {
    let out = work_dir().join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let o = Command::new(ptsnap_bin())
        .args(["-o", out.to_str().unwrap(), "--no-default-modules"])
        .args(extra)
        .arg(pid.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(out.exists(), "no snapshot: {stderr}");
    (read_json(&out), o.status.code().unwrap_or(-1), stderr)
}

/// Every annotation of a snapshot as (where, level, text or json), with
/// addresses (which differ between runs) blanked.
fn all_annotations(snap: &Value) -> Vec<String> {
    fn walk(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for a in o.get("annotations").and_then(Value::as_array).into_iter().flatten() {
                    let body = a["text"].as_str().map_or_else(|| a["json"].to_string(), String::from);
                    out.push(format!("{at} {} {}", a["level"], blank_hex(&body)));
                }
                for (k, child) in o.iter().filter(|(k, _)| *k != "annotations") {
                    walk(child, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| walk(c, &format!("{at}/{i}"), out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(snap, "", &mut out);
    out.sort();
    out
}

/// Text with every run of (hex) digits blanked: addresses differ between
/// runs.
fn blank_hex(text: &str) -> String {
    let mut out = String::new();
    let mut hex_run = false;
    for c in text.chars() {
        let hex = c.is_ascii_hexdigit();
        if !(hex && hex_run) {
            out.push(if hex { '#' } else { c });
        }
        hex_run = hex;
    }
    out
}

fn errors_of(snap: &Value, path_end: &str) -> String {
    let pm = snap["pmodules"].as_array().unwrap().iter().find(|p| p["path"].as_str().unwrap().ends_with(path_end));
    let pm = pm.unwrap_or_else(|| panic!("no module {path_end} in {}", snap["pmodules"]));
    pm["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect::<Vec<_>>().join("; ")
}

/// Builds the tutorial's program as `crash` (as tests/pmodules.rs does).
fn tutorial_program() -> PathBuf {
    std::fs::create_dir_all(work_dir().join("tutorial")).unwrap();
    let units = ["tutorial/crash.c", "tutorial/invalid_write.c", "tutorial/hang.c"];
    build_program(&units, "tutorial/crash", &["-g", "-O0"])
}

/// The lines module `id` wrote to stderr, without its prefix.
fn module_lines(stderr: &str, id: &str) -> Vec<String> {
    stderr.lines().filter_map(|l| l.strip_prefix(&format!("[{id}] ")).map(String::from)).collect()
}

/// The tutorial's first module in C (examples/pmodules/c) writes the same
/// lines, annotations, kv and classifiers as the tutorial's Lua module,
/// on the tutorial's program, in run mode (at its crash) and in attach
/// mode (hung), with no flag but --module-load.
#[test]
fn the_tutorial_module_in_c_gives_what_the_lua_one_gives() {
    let _serial = serial();
    let bin = tutorial_program();
    let c = c_module("examples/pmodules/c/tutorial_annotate.c");
    let lua = repo().join("tests/pmodules/tutorial_annotate.lua");
    let crashed = |module: &Path, name: &str| {
        let load = ["--no-default-modules", "--module-load", module.to_str().unwrap()];
        let (snap, code, stderr) = run_crash(&bin, &["crash"], name, &load);
        assert_eq!(code, 139, "{stderr}");
        (snap.unwrap_or_else(|| panic!("no snapshot: {stderr}")), stderr)
    };
    let hung = |module: &Path, name: &str| {
        let running = start(&bin, &[]);
        let (snap, code, stderr) = snapshot_of(running.pid(), name, &["--module-load", module.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        assert_released(running.pid());
        (snap, stderr)
    };
    for (mode, take) in [("run", &crashed as &dyn Fn(&Path, &str) -> (Value, String)), ("attach", &hung)] {
        let (c_snap, c_err) = take(&c, &format!("cm-tutorial-{mode}-c"));
        let (lua_snap, lua_err) = take(&lua, &format!("cm-tutorial-{mode}-lua"));
        assert_eq!(errors_of(&c_snap, "tutorial_annotate.so"), "", "{c_err}");
        assert_eq!(all_annotations(&c_snap), all_annotations(&lua_snap), "{mode}");
        for key in ["kv", "classifiers"] {
            assert_eq!(c_snap[key], lua_snap[key], "{mode}: {key}");
        }
        let lines = module_lines(&c_err, "pmodule_c");
        // The same lines but for the addresses (ASLR).
        let blanked = |lines: &[String]| lines.iter().map(|l| blank_hex(l)).collect::<Vec<_>>();
        assert_eq!(blanked(&lines), blanked(&module_lines(&lua_err, "pmodule_lua")), "{mode}");
        assert!(lines.iter().any(|l| l.ends_with("string: tutorial 1.0")), "{mode}: {c_err}");
        assert!(lines.iter().any(|l| l.starts_with("warning: name: hang_tls, value: 1")), "{mode}: {c_err}");
        assert_eq!(lines.last().map(String::as_str), Some("warning: pm_unload"));
        if mode == "run" {
            let json = c_snap["annotations"].as_array().unwrap().iter().find(|a| a["level"] == "json").unwrap();
            assert_eq!((json["source"].as_str(), json["json"]["Num"].as_str()), (Some("pmodule_c"), Some("11")));
            assert!(all_annotations(&c_snap).len() >= 6, "{:?}", all_annotations(&c_snap));
        }
    }
}

/// The events test of the Lua modules, in C: every event with and without
/// match filters, iteration with matches and filters, module arguments in
/// both forms, memory reads, kv, tags, classifiers.
#[test]
fn events_matches_and_iteration() {
    let _serial = serial();
    let bin = build("vars.c", "vars-cm", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let pid = running.pid();
    let module = c_module("events.c");
    let (snap, code, stderr) = snapshot_of(
        pid,
        "cm-events",
        &["--module-load", module.to_str().unwrap()].into_iter().chain(events::ARGS).collect::<Vec<_>>(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(errors_of(&snap, "events.so"), "", "{stderr}");
    events::check(&snap, &stderr, pid, "vars-cm");
    assert_released(pid);
}

/// Handles that are not valid (unknown, of another kind, expired after
/// their callback) are error codes; a kept one lives on; NULL arguments
/// are errors with a reason; a callback's nonzero return stops the module
/// with its error. Lua and C modules run side by side, in load order,
/// and a module built for another ABI or whose entry point fails is a
/// report entry with a one-line error naming the file.
#[test]
fn api_errors_handles_and_unloadable_modules() {
    let _serial = serial();
    let bin = build("vars.c", "vars-cm-errors", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let pid = running.pid();
    let handles = c_module("handles.c");
    let mismatch = c_module("abi_mismatch.c");
    let init_fails = c_module("init_fails.c");
    let lua = work_dir().join("cmodules/side.lua");
    std::fs::write(
        &lua,
        r#"pmodule.define{ id = "side", load = function()
            pmodule.register(pmodule.event.postattach, function(bt) bt:add_kv_string("side", "yes") end)
        end }"#,
    )
    .unwrap();
    let mut args = Vec::new();
    for m in [&handles, &mismatch, &lua, &init_fails] {
        args.extend(["--module-load", m.to_str().unwrap()]);
    }
    let (snap, code, stderr) = snapshot_of(pid, "cm-errors", &args);
    assert_eq!(code, 0, "a module that cannot be loaded does not fail the snapshot: {stderr}");
    let kv = &snap["kv"];
    // PTSNAP_ERR_HANDLE, _ARGUMENT, _FAILED (pmodule.h).
    for (key, code) in [("bogus", -2), ("wrong_kind", -2), ("expired", -2), ("null_key", -3), ("null_out", -3)] {
        assert_eq!(kv[key], code, "{key}: {kv}");
    }
    assert_eq!(kv["bad_level"], -4);
    assert_eq!((kv["kept"].as_i64(), kv["kept_btvar"].as_i64()), (Some(0), Some(0)), "{kv}");
    assert!(kv["kept_tid"].as_i64().unwrap() > 0);
    assert_eq!(kv["null_key_error"], "a NULL string where one is needed");
    assert_eq!(kv["side"], "yes", "the Lua module ran beside the C ones");
    let order: Vec<&str> = snap["pmodules"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(order, ["handles", "side", "", ""], "loaded modules in load order, then the unloadable");
    assert_eq!(errors_of(&snap, "handles.so"), "the C callback returned 3 (last error: unknown annotation level 99)");
    let refused = errors_of(&snap, "abi_mismatch.so");
    assert!(refused.contains("built for pmodule ABI 2.0, this ptsnap provides 1.2"), "{refused}");
    assert_eq!(errors_of(&snap, "init_fails.so"), "its entry point returned 7");
    for file in [&mismatch, &init_fails] {
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(file.to_str().unwrap())).collect();
        assert_eq!(lines.len(), 1, "one line naming {}: {stderr}", file.display());
        assert!(lines[0].starts_with("ptsnap: pmodule ") && lines[0].ends_with("the module is not loaded"));
    }
    assert_released(pid);
}

/// A C module found under --modules-path beside Lua modules; one module
/// id defined by a Lua and a C module is the usual error naming both.
#[test]
fn c_modules_are_found_in_the_modules_path() {
    let _serial = serial();
    let bin = build("vars.c", "vars-cm-path", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let dir = work_dir().join("cmodules-path");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::copy(c_module("events.c"), dir.join("sub/events.so")).unwrap();
    let (snap, _, stderr) = snapshot_of(running.pid(), "cm-path", &["--modules-path", dir.to_str().unwrap()]);
    assert_eq!(errors_of(&snap, "sub/events.so"), "", "{stderr}");
    assert_eq!(snap["tags"], serde_json::json!(["attached"]));
    std::fs::write(dir.join("events.lua"), r#"pmodule.define{ id = "events", load = function() end }"#).unwrap();
    let o = ptsnap(&["--no-default-modules", "--modules-path", dir.to_str().unwrap(), &running.pid().to_string()]);
    let err = one_line_error(&o);
    assert!(err.contains("`events`") && err.contains("events.lua") && err.contains("events.so"), "{err}");
    assert_released(running.pid());
}

/// A C module that crashes (SIGSEGV, abort) in a callback while the
/// target is stopped: ptsnap survives, releases the target, writes the
/// snapshot with the crash in its errors, and exits 0 (a module's failure
/// is not ptsnap's); in run mode the program dies of its own signal.
#[test]
fn a_crashing_c_module_leaves_the_target_released() {
    let _serial = serial();
    let bin = build("vars.c", "vars-cm-crash", &["-g", "-O0"]);
    let module = c_module("misbehave.c");
    for (how, signal) in [("crash", "SIGSEGV"), ("abort", "SIGABRT")] {
        let running = start(&bin, &[]);
        let option = format!("misbehave:how={how}");
        let (snap, code, stderr) = snapshot_of(
            running.pid(),
            &format!("cm-{how}"),
            &["--module-load", module.to_str().unwrap(), "--module", &option],
        );
        assert_eq!(code, 0, "{stderr}");
        let crash = snap["errors"].as_array().unwrap().iter().find(|e| e["context"] == "pmodules");
        let message = crash.unwrap_or_else(|| panic!("no crash in {}", snap["errors"]))["message"].as_str().unwrap();
        assert!(message.contains("misbehave.so") && message.contains(&format!("crashed ({signal})")), "{message}");
        assert!(!snap["threads"].as_array().unwrap().is_empty());
        assert_released(running.pid());
    }
    let crash = build("crash.c", "crash-cm-crash", &["-g", "-O0"]);
    let (snap, code, stderr) = run_crash(
        &crash,
        &["3", "main"],
        "cm-run-crash",
        &["--no-default-modules", "--module-load", module.to_str().unwrap()],
    );
    assert_eq!(code, 139, "the program died of its own SIGSEGV: {stderr}");
    let snap = snap.expect("snapshot written");
    assert!(snap["errors"].to_string().contains("crashed (SIGSEGV)"), "{}", snap["errors"]);
}

/// A C module that loops forever while the target is stopped cannot be
/// interrupted: the target is released at --max-pause all the same, and
/// ptsnap writes the snapshot and exits.
#[test]
fn a_looping_c_module_is_cut_at_the_pause_limit() {
    let _serial = serial();
    let bin = build("vars.c", "vars-cm-loop", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let module = c_module("misbehave.c");
    let started = Instant::now();
    let (snap, code, stderr) = snapshot_of(
        running.pid(),
        "cm-loop",
        &["--module-load", module.to_str().unwrap(), "--module", "misbehave:how=loop", "--max-pause", "1"],
    );
    let took = started.elapsed();
    assert_eq!(code, 0, "{stderr}");
    assert!(took < Duration::from_secs(5), "ptsnap took {took:?}");
    assert!(snap["timings"]["paused_us"].as_u64().unwrap() < 1_400_000, "{}", snap["timings"]);
    let cut = snap["errors"].as_array().unwrap().iter().find(|e| e["context"] == "cut").expect("a cut");
    assert!(cut["message"].as_str().unwrap().contains("pause limit"), "{cut}");
    assert_released(running.pid());
}

/// The typed-access example (examples/pmodules/c/array_iter.c) prints
/// what the tutorial's Lua module prints (tests/pmodules.rs): the STAILQ
/// list through member access, and papa.kids through deref and sizeof.
#[test]
fn typed_member_access_example() {
    let _serial = serial();
    let bin = tutorial_program();
    let running = start(&bin, &[]);
    let module = c_module("examples/pmodules/c/array_iter.c");
    let (snap, code, stderr) = snapshot_of(running.pid(), "cm-array", &["--module-load", module.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(errors_of(&snap, "array_iter.so"), "", "{stderr}");
    let lines = module_lines(&stderr, "array_iter_c");
    let lines: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("info: ")).collect();
    let list: Vec<String> =
        lines.iter().take(10).map(|l| l.split("] ").nth(1).unwrap_or_default().to_string()).collect();
    let expected: Vec<String> = (0..10).map(|v| format!("v: {v}")).collect();
    assert_eq!(list, expected, "{stderr}");
    let header = lines[10];
    assert!(header.starts_with("addr: ") && header.ends_with(", len: 10, size: 72"), "{header}");
    for i in 0..10 {
        let at = 11 + i * 4;
        assert!(lines[at].starts_with(&format!("--- iter {i} (")), "{}", lines[at]);
        assert_eq!(
            lines[at + 1..at + 4],
            [format!("a: {}", 9 + i), format!("b: {}.000000", 9 + i), format!("nppp.c: {}", 9 + i)]
        );
    }
    assert_released(running.pid());
}

/// pmodule.h compiles cleanly as C99 and as C++ (extern "C"), and a
/// module's entry point is exported with C names either way.
#[test]
fn the_header_compiles_as_c99_and_as_cpp() {
    let dir = work_dir().join("cmodules-header");
    std::fs::create_dir_all(&dir).unwrap();
    let source = "#include <ptsnap/pmodule.h>\nPTSNAP_PMODULE_INIT(api) { return api->abi_major == 1 ? 0 : 1; }\n";
    for (compiler, file, flags) in [
        ("cc", "module.c", &["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"][..]),
        ("c++", "module.cpp", &["-Wall", "-Wextra", "-Werror"][..]),
    ] {
        assert!(tool_available(compiler), "{compiler} compiles the header");
        let src = dir.join(file);
        std::fs::write(&src, source).unwrap();
        let out = dir.join(format!("{file}.so"));
        let o = Command::new(compiler)
            .args(flags)
            .args(["-shared", "-fPIC", "-I"])
            .arg(repo().join("include"))
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .output()
            .unwrap();
        assert!(o.status.success(), "{compiler}: {}", String::from_utf8_lossy(&o.stderr));
        let symbols = Command::new("nm").arg("-D").arg(&out).output().unwrap();
        let symbols = String::from_utf8_lossy(&symbols.stdout);
        for name in ["ptsnap_pmodule_abi", "ptsnap_pmodule_init"] {
            assert!(symbols.lines().any(|l| l.ends_with(&format!(" {name}"))), "{compiler}: {symbols}");
        }
    }
}

/// The functions ABI 1.1 added, `thread_stack_key` and
/// `frame_stack_pointer`, give in C what `thr:stack_key()` and
/// `fr:stack_pointer()` give in Lua: threads with one stack share a key,
/// and each frame's stack pointer is the snapshot's `sp`.
#[test]
fn stack_keys_and_stack_pointers() {
    let _serial = serial();
    let bin = build("hang.c", "hang-cm-stacks", &["-g", "-O0"]);
    let running = start(&bin, &["3"]);
    let lua = work_dir().join("cm-stacks.lua");
    std::fs::write(
        &lua,
        r#"pmodule.define{ id = "lua_stacks", load = function()
            pmodule.register(pmodule.event.thread, function(thr)
                thr:backtrace():add_kv_string("lua_key_" .. thr:tid(), thr:stack_key())
            end)
            pmodule.register(pmodule.event.frame, function(fr)
                fr:annotate(pmodule.annotation.comment, "sp 0x%x", fr:stack_pointer())
            end)
        end }"#,
    )
    .unwrap();
    let module = c_module("stacks.c");
    let (snap, _, stderr) = snapshot_of(
        running.pid(),
        "cm-stacks",
        &["--module-load", module.to_str().unwrap(), "--module-load", lua.to_str().unwrap()],
    );
    assert_eq!(errors_of(&snap, "stacks.so"), "", "{stderr}");
    let kv = &snap["kv"];
    let mut idle_keys = Vec::new();
    for t in snap["threads"].as_array().unwrap() {
        let tid = t["tid"].as_i64().unwrap();
        let key = kv[format!("c_key_{tid}")].as_str().unwrap_or_else(|| panic!("no key for {tid}: {kv}"));
        assert_eq!(kv[format!("lua_key_{tid}")], key, "{tid}");
        let first_pc = t["frames"][0]["pc"].as_str().unwrap().trim_start_matches("0x");
        assert!(key.starts_with(first_pc), "{key} starts with the innermost pc {first_pc}");
        if functions(t).iter().any(|f| f == "idle_worker") {
            idle_keys.push(key.to_string());
        }
        for f in t["frames"].as_array().unwrap() {
            let texts = annotations_text(f);
            let sp = format!("sp {}", f["sp"].as_str().unwrap());
            assert_eq!(texts.iter().filter(|a| **a == sp).count(), 2, "C and Lua: {texts:?} for {sp}");
        }
    }
    assert_eq!(idle_keys.len(), 3);
    assert!(idle_keys.iter().all(|k| *k == idle_keys[0]), "the idle threads share one stack: {idle_keys:?}");
    assert_ne!(kv[format!("c_key_{}", running.pid())], idle_keys[0].as_str(), "main's stack is another");
}

/// The function ABI 1.2 added, `bt_add_fault_reason`, appends to the
/// fault's reason as `bt:add_fault_reason` does in Lua, each after the
/// last (the C module loads first); without a fault both say so and
/// nothing is added.
#[test]
fn fault_reasons_are_appended() {
    let _serial = serial();
    let lua = work_dir().join("cm-reason.lua");
    std::fs::write(
        &lua,
        r#"pmodule.define{ id = "lua_reason", load = function()
            pmodule.register(pmodule.event.postattach, function(bt)
                bt:add_kv_string("lua_reason", tostring(bt:add_fault_reason("from Lua")))
            end)
        end }"#,
    )
    .unwrap();
    let module = c_module("fault_reason.c");
    let load =
        ["--no-default-modules", "--module-load", module.to_str().unwrap(), "--module-load", lua.to_str().unwrap()];
    let (snap, _, stderr) = run_crash(&build("crash.c", "crash-cm-reason", &["-g", "-O0"]), &["3"], "cm-reason", &load);
    let snap = snap.unwrap_or_else(|| panic!("no snapshot: {stderr}"));
    assert_eq!((&snap["kv"]["c_reason"], &snap["kv"]["lua_reason"]), (&json!(0), &json!("true")), "{stderr}");
    let reason = "invalid memory access: address not mapped at 0x0: from C: from Lua";
    assert_eq!(snap["fault"]["signal"]["reason"], reason);
    let running = start(&build("hang.c", "hang-cm-reason", &["-g", "-O0"]), &["1"]);
    let (snap, _, stderr) = snapshot_of(running.pid(), "cm-reason-live", &load[1..]);
    assert_eq!((&snap["kv"]["c_reason"], &snap["kv"]["lua_reason"]), (&json!(-1), &json!("false")), "{stderr}");
    assert!(snap["fault"]["signal"].is_null(), "{}", snap["fault"]);
}
