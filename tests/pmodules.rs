//! pmodules: the tutorial's module unmodified; every event with and
//! without match filters; iteration; annotations, kv, classifiers and
//! tags; module arguments; the sandbox and its limits; failing modules.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Writes a module file into the work directory.
fn module(name: &str, source: &str) -> PathBuf {
    let dir = work_dir().join("pmodules");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    path
}

fn repo_module(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pmodules").join(name).display().to_string()
}

/// Snapshots `pid` with extra arguments; returns the snapshot, stdout and stderr.
fn snapshot_with(pid: i32, name: &str, extra: &[&str]) -> (Value, String, String) {
    let out = work_dir().join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let pid_s = pid.to_string();
    let mut args: Vec<&str> = vec!["-o", out.to_str().unwrap(), "--no-default-modules"];
    args.extend_from_slice(extra);
    args.push(&pid_s);
    let o = ptsnap(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "ptsnap failed: {stderr}");
    (read_json(&out), String::from_utf8_lossy(&o.stdout).into_owned(), stderr)
}

const EVENTS_MODULE: &str = r#"
local function count(bt, key)
    -- kv values are set in the snapshot; keep counts in the module.
    counts[key] = (counts[key] or 0) + 1
end
counts = {}

local function load()
    pmodule.register(pmodule.event.preattach, function(bt)
        bt:add_kv_int("preattach_pid", bt:pid())
    end)
    pmodule.event_register(pmodule.event_type.attach, function(bt)
        bt:add_tag("attached")
    end)
    pmodule.register(pmodule.event.thread, function(thr)
        count(thr:backtrace(), "threads")
        if thr:n_frames() > 0 then thr:annotate(pmodule.annotation.comment, "thread %d", thr:tid()) end
    end)
    local m = pmodule.match()
    m:add_frame_symbol("walk")
    pmodule.register(pmodule.event.frame, function(fr)
        fr:annotate(pmodule.annotation.warning, "frame %s:%d", fr:symbol(), fr:line())
    end, m)
    m:reset()
    m:add_variable_name("corner")
    m:add_variable_ptrace_type(pmodule.variable_type.tuple)
    pmodule.register(pmodule.event.variable, function(var)
        var:annotate(pmodule.annotation.comment, "struct %s %s", var:type_name(), var:base_type())
    end, m)
    local globals = pmodule.match()
    globals:add_object("vars-pm")
    globals:add_base_type("int", pmodule.match_type.substr)
    pmodule.register(pmodule.event.variable, function(var)
        if var:frame() == nil then var:annotate(pmodule.annotation.comment, "global %s", var:name()) end
    end, globals)
    pmodule.register(pmodule.event.variable, function(var) count(nil, "variables") end)
    pmodule.register(pmodule.event.postattach, function(bt)
        bt:add_kv_int("threads_seen", counts.threads)
        bt:add_kv_int("variables_seen", counts.variables)
        bt:add_kv_string("option", pmodule.config_option("flavour") or "none")
        bt:add_kv_string("second", pmodule.config_option("k2") or "none")
        local walk = pmodule.match()
        walk:add_frame_symbol("walk")
        for thr in bt, walk do
            for fr in thr, walk do
                local names = {}
                for var in fr do names[#names + 1] = var:name() end
                bt:add_kv_string("walk_vars", table.concat(names, ","))
                bt:add_kv_int("walk_line", fr:line())
                bt:add_kv_string("walk_object", fr:object_file())
                local p = fr:fprm_at(2)
                bt:add_kv_int("depth_param", p:value())
                bt:add_kv_int("depth_offset", p:fprm_offset())
                for var in fr, pmodule.match() do
                    if var:name() == "d" then bt:add_kv_string("d", string.format("%.2f", var:value())) end
                    if var:name() == "buf" then bt:add_kv_string("buf", var:symbol()) end
                    if var:name() == "color" then bt:add_kv_string("color", var:symbol()) end
                end
            end
            for var, object, cu in thr:variables(), {name = "tls_counter"} do
                bt:add_kv_int("tls_counter", var:value())
                bt:add_kv_string("tls_object", object)
            end
        end
        for var, object, cu in bt:variables(), {name = "global_version"} do
            bt:add_kv_string("version", pmodule.address_read_string(var:value(), 256))
            bt:add_kv_string("version_cu", cu)
        end
        local raw = pmodule.address_read_raw(0, 4)
        bt:add_kv_string("null_read", tostring(raw))
        bt:add_classifier("checked")
        bt:add_classifier("checked")
        bt:annotate(pmodule.annotation.json, '{"json": not json}')
        bt:annotate(pmodule.annotation.json, '{"other": {}}')
        bt:add_kv_string("after_bad_json", "still running")
    end)
end

pmodule.define{ id = "events", load = load }
"#;

/// Every event, with and without match filters; iteration with matches;
/// module arguments in both forms.
#[test]
fn events_matches_and_iteration() {
    let _serial = serial();
    let bin = build("vars.c", "vars-pm", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let pid = running.pid();
    let path = module("events.lua", EVENTS_MODULE);
    let (snap, stdout, stderr) = snapshot_with(
        pid,
        "pm-events",
        &["--module-load", path.to_str().unwrap()].into_iter().chain(events::ARGS).collect::<Vec<_>>(),
    );
    assert_eq!(stdout.lines().count(), 1, "stdout carries only the path: {stdout}");
    assert!(snap["pmodules"][0]["errors"].as_array().unwrap().is_empty(), "{}\n{stderr}", snap["pmodules"]);
    events::check(&snap, &stderr, pid, "vars-pm");
}

/// The sandbox: no io, os, load, require, dofile, loadfile or
/// collectgarbage unless whitelisted; no bytecode chunks.
#[test]
fn sandbox_withholds_unsafe_libraries() {
    let _serial = serial();
    let bin = build("vars.c", "vars-sandbox", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let probe = module(
        "sandbox.lua",
        r#"
pmodule.define{ id = "sandbox", load = function()
    pmodule.register(pmodule.event.postattach, function(bt)
        local names = {}
        for _, n in ipairs({"io", "os", "load", "require", "dofile", "loadfile", "collectgarbage", "string", "table", "math", "utf8", "coroutine"}) do
            if _G[n] ~= nil then names[#names + 1] = n end
        end
        bt:add_kv_string("present", table.concat(names, ","))
    end)
end }
"#,
    );
    let (snap, _, _) = snapshot_with(running.pid(), "pm-sandbox", &["--module-load", probe.to_str().unwrap()]);
    assert_eq!(snap["kv"]["present"], "string,table,math,utf8,coroutine");
    let (snap, _, _) = snapshot_with(
        running.pid(),
        "pm-sandbox-io",
        &["--module-load", probe.to_str().unwrap(), "--sandbox-whitelist", "io,os"],
    );
    assert_eq!(snap["kv"]["present"], "io,os,string,table,math,utf8,coroutine");
    let o = ptsnap(&["--no-default-modules", "--sandbox-whitelist", "net", &running.pid().to_string()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.lines().count() == 1 && err.contains("unknown library `net`"), "{err}");
    // debug.sethook would remove the instruction budget.
    let o = ptsnap(&["--no-default-modules", "--sandbox-whitelist", "debug", &running.pid().to_string()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.lines().count() == 1 && err.contains("`debug` is refused"), "{err}");
    assert_released(running.pid());
}

/// A module that loops forever, one that allocates without end and one
/// that raises an error are stopped with their errors recorded; the other
/// module runs, the snapshot is written and the target keeps running.
#[test]
fn failing_modules_are_stopped() {
    let _serial = serial();
    let bin = build("vars.c", "vars-failing", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let looping = module(
        "loop.lua",
        r#"pmodule.define{ id = "loop", load = function()
            pmodule.register(pmodule.event.attach, function(bt) while true do end end)
        end }"#,
    );
    let bomb = module(
        "bomb.lua",
        r#"pmodule.define{ id = "bomb", load = function()
            pmodule.register(pmodule.event.thread, function(thr)
                local t = {}
                for i = 1, 100000000 do t[i] = string.rep("x", 64) .. i end
            end)
        end }"#,
    );
    let throwing = module(
        "throw.lua",
        r#"pmodule.define{ id = "throw", load = function()
            pmodule.register(pmodule.event.frame, function(fr) error("boom in " .. fr:symbol()) end)
        end }"#,
    );
    let fine = fine_module();
    let broken = module("broken.lua", "this is not lua");
    let started = std::time::Instant::now();
    let mut args = Vec::new();
    for m in [&looping, &bomb, &throwing, &fine, &broken] {
        args.push("--module-load");
        args.push(m.to_str().unwrap());
    }
    args.extend(["--module-instructions", "5000000", "--module-memory", "16"]);
    let (snap, _, stderr) = snapshot_with(running.pid(), "pm-failing", &args);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "limits stop the modules in time");
    assert_eq!(snap["kv"]["fine"], "yes");
    let errors = |id: &str| -> String {
        let pm =
            snap["pmodules"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("no {id}"));
        pm["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect::<Vec<_>>().join("; ")
    };
    assert!(errors("loop").contains("instruction budget"), "{}", errors("loop"));
    assert!(errors("bomb").contains("memory"), "{}", errors("bomb"));
    assert!(errors("throw").contains("boom in"), "{}", errors("throw"));
    assert!(errors("fine").is_empty());
    let broken_entry = snap["pmodules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"].as_str().unwrap().ends_with("broken.lua"))
        .unwrap();
    assert!(!broken_entry["errors"].as_array().unwrap().is_empty());
    assert!(stderr.contains("pmodule throw:") && stderr.contains("the module is stopped"), "{stderr}");
    let warnings: Vec<&Value> =
        snap["annotations"].as_array().unwrap().iter().filter(|a| a["level"] == "warning").collect();
    assert_eq!(warnings.len(), 4, "one warning per failed module: {warnings:?}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", running.pid())).unwrap();
    assert!(status.lines().any(|l| l == "TracerPid:\t0"), "the target is released");
    assert!(!status.lines().any(|l| l.starts_with("State:") && (l.contains("t (") || l.contains("T ("))), "{status}");
}

/// Two modules with one id: a one-line error naming both files, before
/// the target is touched; modules found recursively under --modules-path.
#[test]
fn module_ids_are_unique_and_paths_are_searched() {
    let _serial = serial();
    let bin = build("vars.c", "vars-ids", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let dir = work_dir().join("pmodules-tree");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("nested/deeper")).unwrap();
    let source = |kv: &str| {
        format!(
            r#"pmodule.define{{ id = "{kv}", load = function()
                pmodule.register(pmodule.event.postattach, function(bt) bt:add_kv_int("{kv}", 1) end)
            end }}"#
        )
    };
    std::fs::write(dir.join("top.lua"), source("top")).unwrap();
    std::fs::write(dir.join("nested/deeper/inner.lua"), source("inner")).unwrap();
    std::fs::write(dir.join("nested/readme.txt"), "not a module").unwrap();
    let (snap, _, _) = snapshot_with(running.pid(), "pm-tree", &["--modules-path", dir.to_str().unwrap()]);
    assert_eq!((snap["kv"]["top"].as_i64(), snap["kv"]["inner"].as_i64()), (Some(1), Some(1)));
    let twin = module("twin.lua", &source("top"));
    let o = ptsnap(&[
        "--no-default-modules",
        "--modules-path",
        dir.to_str().unwrap(),
        "--module-load",
        twin.to_str().unwrap(),
        &running.pid().to_string(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.lines().count() == 1, "{err}");
    assert!(err.contains("`top`") && err.contains("top.lua") && err.contains("twin.lua"), "{err}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", running.pid())).unwrap();
    assert!(status.lines().any(|l| l == "TracerPid:\t0"));
}

/// Builds the tutorial's program as `crash` (the tutorial's modules match
/// on that name and on its units crash.c, invalid_write.c and hang.c), in
/// a directory of its own.
fn tutorial_program() -> PathBuf {
    std::fs::create_dir_all(work_dir().join("tutorial")).unwrap();
    let units = ["tutorial/crash.c", "tutorial/invalid_write.c", "tutorial/hang.c"];
    build_program(&units, "tutorial/crash", &["-g", "-O0"])
}

/// The tutorial's two modules, verbatim, with no flag but `--module-load`.
fn tutorial_modules() -> Vec<String> {
    let mut args = Vec::new();
    for file in ["tutorial_annotate.lua", "tutorial_array_iter.lua"] {
        args.extend(["--module-load".to_string(), repo_module(file)]);
    }
    args
}

/// What the tutorial's modules print in either mode: the first module's
/// globals of invalid_write.c, TLS of hang.c, global_version's string,
/// the process state and unload; the second's list and array walk.
fn check_tutorial_lines(stderr: &str) {
    let first: Vec<&str> = stderr.lines().filter_map(|l| l.strip_prefix("[pmodule_lua] warning: ")).collect();
    let at = |line: &str| first.iter().position(|l| *l == line).unwrap_or_else(|| panic!("no {line:?} in {stderr}"));
    let globals = at("Global variables:");
    let unit = format!("{}/tutorial/invalid_write.c", fixtures_dir().display());
    let mut listed: Vec<&str> = first[globals + 1..].iter().take_while(|l| l.starts_with("name: ")).copied().collect();
    listed.sort();
    assert_eq!(listed.len(), 3, "{listed:?}");
    let pointer = |l: &str| l.split(", ").nth(1).and_then(|v| v.strip_prefix("value: ")?.parse::<u64>().ok());
    assert!(listed[0].starts_with("name: global_version, value: ") && pointer(listed[0]).unwrap() > 0);
    assert!(listed[1].starts_with("name: invalid_writes, value: ") && listed[1].ends_with(&unit), "{listed:?}");
    assert!(listed[0].ends_with(&format!(", object: crash, cu: {unit}")), "{listed:?}");
    assert!(listed[2].starts_with("name: last_writer, value: ") && listed[2].ends_with(&unit), "{listed:?}");
    let tls = at("TLS variables:");
    let hang = format!("{}/tutorial/hang.c", fixtures_dir().display());
    assert!(first[tls + 1].starts_with("name: hang_tls, value: 1"), "{stderr}");
    assert!(first[tls + 1].ends_with(&format!(", object: crash, cu: {hang}")), "{stderr}");
    let version = pointer(listed[0]).unwrap();
    at(&format!("[{version:x}] string: tutorial 1.0"));
    let state = first.iter().find(|l| l.starts_with("process state: ")).expect("process state");
    assert!(state["process state: ".len()..].parse::<u32>().is_ok(), "{state}");
    assert_eq!(first.last(), Some(&"pm_unload"));
    let second: Vec<&str> = stderr.lines().filter_map(|l| l.strip_prefix("[array_iter] info: ")).collect();
    let list: Vec<String> =
        second.iter().take(10).map(|l| l.split("] ").nth(1).unwrap_or_default().to_string()).collect();
    let expected: Vec<String> = (0..10).map(|v| format!("v: {v}")).collect();
    assert_eq!(list, expected, "{stderr}");
    let header = second.get(10).unwrap_or_else(|| panic!("no array walk in {stderr}"));
    assert!(header.starts_with("addr: ") && header.ends_with(", len: 10, size: 72"), "{header}");
    for i in 0..10 {
        let at = 11 + i * 4;
        assert!(second[at].starts_with(&format!("--- iter {i} (")), "{}", second[at]);
        assert_eq!(
            second[at + 1..at + 4],
            [format!("a: {}", 9 + i), format!("b: {}.000000", 9 + i), format!("nppp.c: {}", 9 + i)]
        );
    }
}

/// The tutorial's modules against its program crashing under `ptsnap
/// run`: every line the tutorial shows, and the annotations, kv and
/// classifier the first module makes at the fault.
#[test]
fn tutorial_modules_in_run_mode() {
    let _serial = serial();
    let bin = tutorial_program();
    let mut extra = vec!["--no-default-modules".to_string()];
    extra.extend(tutorial_modules());
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let (snap, code, stderr) = run_crash(&bin, &["crash"], "pm-tutorial-run", &extra);
    let snap = snap.unwrap_or_else(|| panic!("no snapshot: {stderr}"));
    assert_eq!(code, 139, "{stderr}");
    for p in snap["pmodules"].as_array().unwrap() {
        assert!(p["errors"].as_array().unwrap().is_empty(), "{p}\n{stderr}");
    }
    check_tutorial_lines(&stderr);
    assert_eq!((snap["kv"]["lua_key1"].as_i64(), snap["kv"]["lua_key2"].as_str()), (Some(42), Some("lua_value")));
    assert_eq!(snap["classifiers"], serde_json::json!(["lua"]));
    // The signal as a json annotation on the backtrace.
    let json = snap["annotations"].as_array().unwrap().iter().find(|a| a["level"] == "json").expect("json annotation");
    assert_eq!((json["source"].as_str(), json["json"]["context"].as_str()), (Some("pmodule_lua"), Some("Signal")));
    assert_eq!((json["json"]["Num"].as_str(), json["json"]["Code"].as_str()), (Some("11"), Some("1")));
    assert!(json["json"]["String"].as_str().unwrap().starts_with("SIGSEGV (SEGV_MAPERR)"));
    // The faulting frame's parameters; the struct parameters of the
    // recurse frames; every reference of the faulting thread.
    let t = thread(&snap, snap["fault"]["tid"].as_i64().unwrap());
    let frames = t["frames"].as_array().unwrap();
    assert_eq!(frames[0]["function"], "invalid_write");
    let texts = annotations_text(&frames[0]["parameters"][0]);
    assert!(texts.contains(&"lua: fprm 0".to_string()), "{texts:?}");
    assert!(texts.contains(&"[0] where - example annotation".to_string()), "{texts:?}");
    assert_eq!(annotations_text(&frames[0]["parameters"][1]), ["lua: fprm 1"]);
    let recurse: Vec<&Value> = frames.iter().filter(|f| f["function"] == "recurse").collect();
    assert_eq!(recurse.len(), 4);
    for f in recurse {
        assert_eq!(annotations_text(&f["parameters"][0]), ["lua: struct var"], "{f}");
        assert!(annotations_text(&f["parameters"][1]).is_empty(), "only the faulting frame's parameters");
    }
}

/// The same modules against the same program hung, `ptsnap PID`: every
/// line the tutorial shows (the fault's annotations aside: nothing
/// faulted).
#[test]
fn tutorial_modules_in_attach_mode() {
    let _serial = serial();
    let bin = tutorial_program();
    let running = start(&bin, &[]);
    let modules = tutorial_modules();
    let modules: Vec<&str> = modules.iter().map(String::as_str).collect();
    let (snap, _, stderr) = snapshot_with(running.pid(), "pm-tutorial-attach", &modules);
    for p in snap["pmodules"].as_array().unwrap() {
        assert!(p["errors"].as_array().unwrap().is_empty(), "{p}\n{stderr}");
    }
    check_tutorial_lines(&stderr);
    assert_eq!(snap["classifiers"], serde_json::json!(["lua"]));
    // What the modules looked at is in the snapshot for its readers.
    let globals: Vec<&str> = snap["globals"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    for name in ["global_version", "invalid_writes", "last_writer", "papa"] {
        assert!(globals.contains(&name), "{globals:?}");
    }
    let version = snap["globals"].as_array().unwrap().iter().find(|g| g["name"] == "global_version").unwrap();
    assert_eq!(version["target"]["value"].as_str().or(version["symbol"].as_str()), Some("tutorial 1.0"), "{version}");
}

/// A filter that takes more globals than a filter may read (every global
/// of the C library) reads the first 256, says so, and takes the same
/// ones when asked again.
#[test]
fn global_lookups_are_bounded() {
    let _serial = serial();
    if !libc_debug_info_available() {
        return;
    }
    let bin = tutorial_program();
    let running = start(&bin, &[]);
    let counter = module(
        "libc_globals.lua",
        r#"
pmodule.define{ id = "libc_globals", load = function()
    pmodule.register(pmodule.event.postattach, function(bt)
        for _, key in ipairs({"first", "again"}) do
            local n = 0
            for var, object in bt:variables(), {object = "libc.so"} do
                if not object:find("libc.so", 1, true) then error("object " .. object) end
                n = n + 1
            end
            bt:add_kv_int(key, n)
        end
    end)
end }
"#,
    );
    let (snap, _, stderr) =
        snapshot_with(running.pid(), "pm-libc-globals", &["--module-load", counter.to_str().unwrap()]);
    assert!(snap["pmodules"][0]["errors"].as_array().unwrap().is_empty(), "{}", snap["pmodules"]);
    assert_eq!((snap["kv"]["first"].as_i64(), snap["kv"]["again"].as_i64()), (Some(256), Some(256)), "{stderr}");
    assert_eq!(snap["globals"].as_array().unwrap().len(), 256);
    let warning = "[libc_globals] warning: bt:variables(), {object = \"libc.so\"}: ";
    let warned = stderr.lines().filter(|l| l.starts_with(warning) && l.ends_with("at most 256 are read per filter"));
    assert_eq!(warned.count(), 2, "{stderr}");
}

/// Typed memory and symbols beyond the tutorial: sizeof, deref of a
/// pointer and its errors, symbol lookups; errors stop the module with
/// the reason.
#[test]
fn typed_memory_and_symbols() {
    let _serial = serial();
    let bin = tutorial_program();
    let running = start(&bin, &[]);
    let probe = module(
        "typed.lua",
        r#"
pmodule.define{ id = "typed", load = function()
    pmodule.register(pmodule.event.postattach, function(bt)
        local g = pmodule.bt_query("some_struct_g")
        bt:add_kv_int("ptr_size", pmodule.sizeof(g))
        local s = pmodule.deref(g)
        bt:add_kv_int("struct_size", pmodule.sizeof(s))
        bt:add_kv_int("a", pmodule.variable_from_bt(s.a):value())
        bt:add_kv_string("s", pmodule.variable_from_bt(s.s):symbol())
        bt:add_kv_int("npp_c", pmodule.variable_from_bt(g.npp.c):value())
        local v = pmodule.variable_from_bt(g)
        bt:add_kv_string("temp_type", v:type_name())
        local addr = pmodule.symbol_address("global_version", "crash")
        bt:add_kv_string("version", pmodule.address_read_string(pmodule.variable_from_bt(pmodule.bt_query("global_version")):value(), 64))
        bt:add_kv_string("version_ptr_ok", tostring(addr ~= nil))
        bt:add_kv_string("main_name", pmodule.address_symbol(pmodule.symbol_address("main", "crash")))
        bt:add_kv_string("missing", tostring(pmodule.bt_query("no_such_global")))
        local ok, err = pcall(function() return g.no_such_member end)
        bt:add_kv_string("member_error", tostring(err))
        local ok2, err2 = pcall(function() return pmodule.deref(s.a) end)
        bt:add_kv_string("deref_error", tostring(err2))
        local last = g.list.stqh_first
        for _ = 1, 9 do last = last.linkage.stqe_next end
        local ok3, err3 = pcall(function() return last.linkage.stqe_next.v end)
        bt:add_kv_string("null_error", tostring(err3))
        local code = bt:pmap_entry(pmodule.symbol_address("main", "crash"))
        local perms = pmodule.pmap_perms
        bt:add_kv_string("code_map", string.format("%s %s %s %s %s", tostring(code:permissions(perms.rd, perms.ex)),
            tostring(code:permissions(perms.wr)), tostring(code:permissions(perms.pr)), tostring(code:guard()), code:path()))
        local heap = bt:pmap_entry(pmodule.variable_from_bt(g):value())
        bt:add_kv_string("heap_map", string.format("%s %s", tostring(heap:permissions(perms.rd, perms.wr)), tostring(heap:permissions(perms.ex))))
        bt:add_kv_string("unmapped", tostring(bt:pmap_entry(0)))
    end)
end }
"#,
    );
    let (snap, _, stderr) = snapshot_with(running.pid(), "pm-typed", &["--module-load", probe.to_str().unwrap()]);
    assert!(snap["pmodules"][0]["errors"].as_array().unwrap().is_empty(), "{}\n{stderr}", snap["pmodules"]);
    let kv = &snap["kv"];
    assert_eq!((kv["ptr_size"].as_i64(), kv["struct_size"].as_i64()), (Some(8), Some(72)));
    assert_eq!((kv["a"].as_i64(), kv["s"].as_str(), kv["npp_c"].as_i64()), (Some(4), Some("kids"), Some(6)));
    assert_eq!(kv["temp_type"], "struct somestruct *");
    assert_eq!(kv["version"], "tutorial 1.0");
    assert_eq!(kv["version_ptr_ok"], "true");
    assert_eq!(kv["main_name"], "main");
    assert_eq!(kv["missing"], "nil");
    assert!(
        kv["member_error"].as_str().unwrap().contains("no member `no_such_member` in struct somestruct"),
        "{}",
        kv["member_error"]
    );
    assert!(kv["deref_error"].as_str().unwrap().contains("int is not a pointer"), "{}", kv["deref_error"]);
    assert!(kv["null_error"].as_str().unwrap().contains("null pointer on the way to `v`"), "{}", kv["null_error"]);
    assert_eq!(kv["code_map"], format!("true false true false {}", bin.display()));
    assert_eq!(kv["heap_map"], "true false");
    assert_eq!(kv["unmapped"], "nil");
}

/// A pretty printer: a variable made from a struct's fields, added to
/// its frame after the struct; a made frame added to the thread; the
/// frame setters.
#[test]
fn pretty_printer_adds_variables_and_frames() {
    let _serial = serial();
    let bin = build("vars.c", "vars-pretty", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let printer = module(
        "pretty.lua",
        r#"
pmodule.define{ id = "pretty", load = function()
    local m = pmodule.match()
    m:add_variable_name("corner")
    pmodule.register(pmodule.event.variable, function(var, raw)
        local view = pmodule.create_variable(pmodule.variable_type.tuple, "corner_view", var:address(), 0)
        local x = pmodule.create_variable(pmodule.variable_type.ll, "x", var:address(), 0, view)
        x:set_ll(pmodule.variable_from_bt(raw.x):value())
        if x:owner():name() ~= "corner_view" or view:owner() ~= nil or var:owner() ~= nil then error("owner") end
        local area = pmodule.create_variable(pmodule.variable_type.ll, "area", nil, nil, view)
        area:set_ll(pmodule.variable_from_bt(raw.x):value() * pmodule.variable_from_bt(raw.y):value())
        local label = pmodule.create_variable(pmodule.variable_type.string, "label", nil, nil, view)
        label:set_string(string.format("(%d, %d)", pmodule.variable_from_bt(raw.x):value(), pmodule.variable_from_bt(raw.y):value()))
        var:frame():add_variable(view, var)
    end, m)
    local f = pmodule.match()
    f:add_frame_symbol("walk")
    pmodule.register(pmodule.event.frame, function(fr)
        fr:set_decl_line(fr:decl_line() + 1000)
        local made = pmodule.create_frame()
        made:set_symbol("queue_summary")
        made:set_path("/virtual/queue.c")
        made:set_basename("summary.c")
        made:set_line(7)
        local n = pmodule.create_variable(pmodule.variable_type.ull, "pending", nil, nil)
        n:set_ull(3)
        made:add_variable(n)
        fr:thread():add_frame(made, true)
    end, f)
end }
"#,
    );
    let (snap, _, stderr) = snapshot_with(running.pid(), "pm-pretty", &["--module-load", printer.to_str().unwrap()]);
    assert!(snap["pmodules"][0]["errors"].as_array().unwrap().is_empty(), "{}\n{stderr}", snap["pmodules"]);
    let main = thread(&snap, running.pid() as i64);
    let frames = main["frames"].as_array().unwrap();
    let top = &frames[0];
    assert_eq!(
        (top["function"].as_str(), top["file"].as_str(), top["line"].as_u64()),
        (Some("queue_summary"), Some("/virtual/summary.c"), Some(7))
    );
    assert_eq!((top["locals"][0]["name"].as_str(), top["locals"][0]["value"].as_u64()), (Some("pending"), Some(3)));
    assert!(frames.iter().enumerate().all(|(i, f)| f["index"] == i), "frames renumbered");
    let walk = frames.iter().find(|f| f["function"] == "walk").unwrap();
    let decl = line_of("vars.c", "walk_decl") + 1000;
    assert_eq!(walk["decl_line"], decl);
    let locals = walk["locals"].as_array().unwrap();
    let at = locals.iter().position(|v| v["name"] == "corner").unwrap();
    let view = &locals[at + 1];
    assert_eq!((view["name"].as_str(), view["kind"].as_str()), (Some("corner_view"), Some("tuple")));
    let members: Vec<(&str, &Value)> =
        view["members"].as_array().unwrap().iter().map(|m| (m["name"].as_str().unwrap(), &m["value"])).collect();
    assert_eq!(members[..2], [("x", &Value::from(3)), ("area", &Value::from(12))]);
    assert_eq!(view["members"][2]["symbol"], "(3, 4)");
    assert_eq!(view["members"][2]["kind"], "string");
    assert_eq!(view["annotations"][0]["text"], "made by pmodule pretty");
    assert_eq!(view["address"], locals[at]["address"]);
}

/// A module keeps handles to a frame, a parameter and a local, then adds
/// frames before and after the frame and a local before the kept one:
/// the kept handles still read and annotate their own objects.
#[test]
fn handles_stay_valid_across_added_frames_and_variables() {
    let _serial = serial();
    let bin = build("vars.c", "vars-handles", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let keeper = module(
        "keeper.lua",
        r#"
local kept = {}
local function check(what, got, want)
    if got ~= want then error(string.format("%s: %s, expected %s", what, tostring(got), tostring(want))) end
end
pmodule.define{ id = "keeper", load = function()
    local m = pmodule.match()
    m:add_frame_symbol("walk")
    pmodule.register(pmodule.event.frame, function(fr)
        kept.frame, kept.thread = fr, fr:thread()
        kept.param = fr:fprm_at(1)
        for v in fr do
            if v:name() == "bits" then kept.bits = v end
            if v:name() == "corner" then kept.corner = v end
        end
        local made = pmodule.create_frame()
        made:set_symbol("made_frame")
        fr:thread():add_frame(made, true)
        fr:add_frame(made)
        local x = pmodule.create_variable(pmodule.variable_type.ll, "inserted", nil, nil)
        x:set_ll(1)
        fr:add_variable(x, kept.corner)
        fr:add_variable(x, kept.corner)
        check("frame after adding", kept.frame:symbol(), "walk")
    end, m)
    pmodule.register(pmodule.event.postattach, function(bt)
        check("frame", kept.frame:symbol(), "walk")
        check("frame's thread", kept.frame:thread():tid(), kept.thread:tid())
        check("param", kept.param:name(), "list")
        check("param offset", kept.param:fprm_offset(), 1)
        check("local", kept.bits:name(), "bits")
        check("local's frame", kept.bits:frame():symbol(), "walk")
        local after = {}
        for v in kept.frame do after[#after + 1] = v:name() end
        check("variables after corner", table.concat(after, ",", 5, 8), "corner,inserted,inserted,alias")
        kept.frame:annotate(pmodule.annotation.comment, "kept frame")
        kept.bits:annotate(pmodule.annotation.comment, "kept local")
        kept.param:annotate(pmodule.annotation.comment, "kept param")
    end)
end }
"#,
    );
    let (snap, _, stderr) = snapshot_with(running.pid(), "pm-handles", &["--module-load", keeper.to_str().unwrap()]);
    assert!(snap["pmodules"][0]["errors"].as_array().unwrap().is_empty(), "{}\n{stderr}", snap["pmodules"]);
    let main = thread(&snap, running.pid() as i64);
    let frames = main["frames"].as_array().unwrap();
    let names: Vec<&str> = frames.iter().map(|f| f["function"].as_str().unwrap_or("?")).collect();
    let walk = names.iter().position(|n| *n == "walk").unwrap();
    assert_eq!((names[0], names[walk + 1]), ("made_frame", "made_frame"), "{names:?}");
    let walk = &frames[walk];
    assert_eq!(annotations_text(walk), ["kept frame"]);
    assert_eq!(annotations_text(&walk["parameters"][1]), ["kept param"]);
    let bits = walk["locals"].as_array().unwrap().iter().find(|v| v["name"] == "bits").unwrap();
    assert_eq!(annotations_text(bits), ["kept local"]);
    let annotated = frames.iter().map(|f| annotations_text(f).len()).sum::<usize>();
    assert_eq!(annotated, 1, "only the kept frame is annotated");
}

/// The example modules (examples/pmodules) on the tutorial's program, as
/// examples/pmodules.sh runs them.
#[test]
fn example_modules() {
    let _serial = serial();
    let bin = tutorial_program();
    let running = start(&bin, &[]);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pmodules");
    let (snap, _, stderr) = snapshot_with(
        running.pid(),
        "pm-examples",
        &["--modules-path", dir.to_str().unwrap(), "--module", "triage:team=storage"],
    );
    let ids: Vec<&str> = snap["pmodules"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["list_printer", "memory_map", "triage"]);
    for p in snap["pmodules"].as_array().unwrap() {
        assert!(p["errors"].as_array().unwrap().is_empty(), "{p}\n{stderr}");
    }
    let kv = &snap["kv"];
    assert_eq!(
        (kv["team"].as_str(), kv["threads_waiting"].as_i64(), kv["list_element_size"].as_i64()),
        (Some("storage"), Some(1), Some(16))
    );
    assert_eq!(
        (snap["classifiers"].clone(), snap["tags"].clone()),
        (serde_json::json!(["hang"]), serde_json::json!(["triaged"]))
    );
    let main = thread(&snap, running.pid() as i64);
    let main_frame = main["frames"].as_array().unwrap().iter().find(|f| f["function"] == "main").unwrap();
    let list = main_frame["locals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "some_struct_g->list")
        .expect("the made list");
    assert_eq!(list["members"][0]["value"], 10);
    let values: Vec<i64> =
        list["members"][1]["elements"].as_array().unwrap().iter().map(|e| e["value"].as_i64().unwrap()).collect();
    assert_eq!(values, (0..10).collect::<Vec<_>>());
    let annotated: Vec<String> = main["frames"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["parameters"].as_array().unwrap().iter().chain(f["locals"].as_array().unwrap()))
        .flat_map(annotations_text)
        .collect();
    assert!(annotated.contains(&"calls main".to_string()), "{annotated:?}");
    assert!(annotated.contains(&"writable data in [stack]".to_string()), "{annotated:?}");
    assert!(stderr.contains(&format!("[triage] info: triage done for pid {} (storage)", running.pid())), "{stderr}");
}

/// The remaining methods, each used once against a crash: thread and frame
/// setters, frame queries, variable setters and queries, siginfo in the
/// attach phase (run mode), symbol reads, a frame added after another.
#[test]
fn remaining_methods() {
    let _serial = serial();
    let bin = build("crash.c", "crash-methods", &["-g", "-O0"]);
    let probe = module(
        "methods.lua",
        r#"
local seen = {}
pmodule.define{ id = "methods", reset = function() end, load = function()
    local fault = pmodule.match()
    fault:set_fault(true)
    pmodule.register(pmodule.event.thread, function(thr)
        thr:set_name("renamed")
        seen.thread_fault = thr:fault()
    end, fault)
    local top = pmodule.match()
    top:set_fault()
    pmodule.register(pmodule.event.frame, function(fr)
        local sig = fr:siginfo()
        seen.sig = string.format("%d %d %x %s %s", sig:num(), sig:code(), sig:address(), tostring(sig:address_populated()), (sig:reason()))
        seen.frame = string.format("%s %s %x %s", tostring(fr:line_resolved()), fr:object_file(), fr:instruction(), fr:thread():backtrace():application_name())
        fr:set_path("/elsewhere/crash.c")
        fr:set_directory("/moved")
        local info = fr:fprm_at(0)
        seen.info = string.format("%s %s %s %s %s", info:type_name(), info:base_type(), tostring(info:is_string()), tostring(info:owner()), tostring(info:frame():symbol()))
        local extra = pmodule.create_frame()
        extra:set_symbol("after_recurse")
        fr:add_frame(extra)
        -- The target is stopped here; in run mode it is gone by postattach.
        seen.version = pmodule.symbol_read_string("main", "crash-methods", 1) ~= nil and "readable" or "nil"
        seen.raw_len = #pmodule.symbol_read_raw("main", "crash-methods", 4)
    end, top)
    pmodule.register(pmodule.event.postattach, function(bt)
        for k, v in pairs(seen) do bt:add_kv_string(k, tostring(v)) end
        local v = pmodule.create_variable(pmodule.variable_type.bottom, "made")
        v:set_cdbl(1.5, -2)
        local re, im = v:value()
        bt:add_kv_string("cdbl", string.format("%s %s %d", re, im, v:type()))
        v:set_ref(4096); bt:add_kv_int("ref", v:value())
        v:set_struct(); bt:add_kv_int("struct_type", v:type())
        v:set_function("handler"); bt:add_kv_string("fn", v:symbol())
        v:set_array(); bt:add_kv_int("array_type", v:type())
    end)
end }
"#,
    );
    let (snap, code, stderr) = run_crash(
        &bin,
        &["3", "main"],
        "pm-methods",
        &["--no-default-modules", "--module-load", probe.to_str().unwrap()],
    );
    let snap = snap.unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(code, 139);
    assert!(snap["pmodules"][0]["errors"].as_array().unwrap().is_empty(), "{}", snap["pmodules"]);
    let kv = &snap["kv"];
    assert_eq!(kv["thread_fault"], "true");
    assert_eq!(kv["sig"], "11 1 0 true invalid memory access: address not mapped at 0x0");
    let t = thread(&snap, snap["fault"]["tid"].as_i64().unwrap());
    assert_eq!(t["name"], "renamed");
    let frame0 = &t["frames"][0];
    assert_eq!(
        kv["frame"],
        format!(
            "true crash-methods {:x} crash-methods",
            u64::from_str_radix(&frame0["pc"].as_str().unwrap()[2..], 16).unwrap()
        )
    );
    assert_eq!(frame0["file"], "/moved/crash.c");
    assert_eq!(kv["info"], "struct crash_info * crash_info false nil recurse");
    assert_eq!(
        (t["frames"][1]["function"].as_str(), t["frames"][1]["unwind"].as_str()),
        (Some("after_recurse"), Some("synthesized"))
    );
    assert_eq!(t["frames"][2]["function"], "recurse");
    assert_eq!((kv["version"].as_str(), kv["raw_len"].as_str()), (Some("readable"), Some("4")));
    assert_eq!(kv["cdbl"], "1.5 -2.0 6");
    assert_eq!(
        (kv["ref"].as_i64(), kv["struct_type"].as_i64(), kv["fn"].as_str(), kv["array_type"].as_i64()),
        (Some(4096), Some(10), Some("handler"), Some(11))
    );
}

/// The bundled module (pmodules/fault_summary.lua) runs by default and
/// records the fault; --no-default-modules leaves it out.
#[test]
fn bundled_fault_summary() {
    let _serial = serial();
    let bin = build("crash.c", "crash-bundled", &["-g", "-O0"]);
    let (snap, _, stderr) = run_crash(&bin, &["3", "main"], "pm-bundled", &[]);
    let snap = snap.unwrap_or_else(|| panic!("{stderr}"));
    let pm = &snap["pmodules"][0];
    assert_eq!(
        (pm["id"].as_str(), pm["path"].as_str()),
        (Some("fault_summary"), Some("<bundled>/pmodules/fault_summary.lua"))
    );
    let kv = &snap["kv"];
    assert_eq!((kv["fault.signal"].as_str(), kv["fault.code"].as_i64()), (Some("SIGSEGV"), Some(1)));
    assert_eq!((kv["fault.function"].as_str(), kv["fault.file"].as_str()), (Some("recurse"), Some("crash.c")));
    assert_eq!(kv["fault.line"], line_of("crash.c", "crash_write"));
    assert_eq!(kv["fault.module"], "crash-bundled");
    let (snap, _, _) = run_crash(&bin, &["3", "main"], "pm-unbundled", &["--no-default-modules"]);
    let snap = snap.unwrap();
    assert!(snap["pmodules"].as_array().unwrap().is_empty() && snap["kv"].as_object().unwrap().is_empty());
    // --no-module switches off that one module; the other bundled ones run.
    let (snap, _, _) = run_crash(&bin, &["3", "main"], "pm-no-module", &["--no-module", "fault_summary"]);
    let snap = snap.unwrap();
    let ids: Vec<&str> = snap["pmodules"].as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
    assert!(!ids.contains(&"fault_summary") && !ids.is_empty(), "{ids:?}");
    assert!(snap["kv"].get("fault.signal").is_none(), "{}", snap["kv"]);
}

/// A module that sets the kv `fine` to "yes" in postattach: the bystander
/// that must run whatever the other modules do.
fn fine_module() -> PathBuf {
    module(
        "fine.lua",
        r#"pmodule.define{ id = "fine", load = function()
            pmodule.register(pmodule.event.postattach, function(bt) bt:add_kv_string("fine", "yes") end)
        end }"#,
    )
}

/// A module of tests/pmodules/hostile.
fn hostile(name: &str) -> String {
    repo_module(&format!("hostile/{name}"))
}

/// The errors of the module `id` in `pmodules[]`, joined with "; ".
fn errors_of(snap: &Value, id: &str) -> String {
    let pm = snap["pmodules"].as_array().unwrap().iter().find(|p| p["id"] == id);
    let pm = pm.unwrap_or_else(|| panic!("no module {id} in {}", snap["pmodules"]));
    pm["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect::<Vec<_>>().join("; ")
}

/// The target runs again, traced by no one.
fn assert_released(pid: i32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.lines().any(|l| l == "TracerPid:\t0"), "the target is released: {status}");
    assert!(!status.lines().any(|l| l.starts_with("State:") && (l.contains("t (") || l.contains("T ("))), "{status}");
}

/// Snapshots `running` with the bystander module and `extra`; the
/// bystander ran and the target is released.
fn snapshot_beside_fine(running: &Running, name: &str, extra: &[&str]) -> (Value, String) {
    let fine = fine_module();
    let mut args = vec!["--module-load", fine.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (snap, _, stderr) = snapshot_with(running.pid(), name, &args);
    assert_eq!(errors_of(&snap, "fine"), "", "{stderr}");
    assert_eq!(snap["kv"]["fine"], "yes", "{stderr}");
    assert_released(running.pid());
    (snap, stderr)
}

/// Issue #8: a module that calls back into ptsnap from a metamethod that
/// ptsnap runs (a filter table's `__index`, a `__tostring` in annotate,
/// the definition table's `__index`) is served; it used to panic ptsnap.
#[test]
fn reentering_ptsnap_from_a_metamethod_is_served() {
    let _serial = serial();
    let bin = build("vars.c", "vars-reenter", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let (snap, stderr) = snapshot_beside_fine(&running, "pm-reenter", &["--module-load", &hostile("reenter.lua")]);
    assert_eq!(errors_of(&snap, "reenter"), "", "{stderr}");
    let kv = &snap["kv"];
    for key in ["reentered_object", "reentered_cu", "reentered_name", "define_unload", "define_reset"] {
        assert_eq!(kv[key], "yes", "{key}: {kv}");
    }
    assert_eq!(kv["reenter"], "done");
    assert_eq!(snap["tags"], serde_json::json!(["from_tostring"]));
}

/// A module that catches its budget's error (pcall, xpcall, a coroutine,
/// or its memory limit) is stopped anyway, with the budget's error; the
/// bystander runs and the target is released.
#[test]
fn a_module_cannot_catch_the_end_of_its_budget() {
    let _serial = serial();
    let bin = build("vars.c", "vars-pcall", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let module = hostile("pcall_loop.lua");
    for (via, expected) in [
        ("pcall", "instruction budget of 2000000 exceeded"),
        ("xpcall", "instruction budget of 2000000 exceeded"),
        ("resume", "instruction budget of 2000000 exceeded"),
        ("wrap", "instruction budget of 2000000 exceeded"),
        ("memory", "memory limit of 8 MiB exceeded"),
    ] {
        let option = format!("pcall_loop:via={via}");
        let extra = ["--module-load", &module, "--module", &option];
        let limits = ["--module-instructions", "2000000", "--module-memory", "8"];
        let started = std::time::Instant::now();
        let (snap, stderr) =
            snapshot_beside_fine(&running, &format!("pm-pcall-{via}"), &[&extra[..], &limits].concat());
        assert_eq!(errors_of(&snap, "pcall_loop"), expected, "{via}: {stderr}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{via}");
    }
}

/// What a module makes ptsnap store counts against its memory limit (40
/// kv strings of 16 MiB under 64 MiB); a chain of 40,000 owners stops at
/// the nesting bound, at once.
#[test]
fn what_a_module_makes_ptsnap_store_is_bounded() {
    let _serial = serial();
    let bin = build("vars.c", "vars-hoard", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let module = hostile("hoard.lua");
    let (snap, stderr) = snapshot_beside_fine(&running, "pm-hoard-kv", &["--module-load", &module]);
    let errors = errors_of(&snap, "hoard");
    assert!(errors.starts_with("memory limit of 64 MiB exceeded by what the module asked"), "{errors}\n{stderr}");
    assert!(snap["kv"]["big"].as_str().is_some_and(|s| s.len() == 16 << 20), "stored before the limit");
    let started = std::time::Instant::now();
    let (snap, stderr) =
        snapshot_beside_fine(&running, "pm-hoard-chain", &["--module-load", &module, "--module", "hoard:what=chain"]);
    assert!(errors_of(&snap, "hoard").contains("made variables nest at most 32 levels"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// A module file that is not UTF-8, a dangling link and a FIFO under
/// --modules-path are each one entry with its error; the other modules
/// load and the snapshot is taken (the FIFO is never opened).
#[test]
fn unreadable_module_files_are_report_entries() {
    let _serial = serial();
    let bin = build("vars.c", "vars-unreadable", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let dir = work_dir().join("pmodules-unreadable");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bytes.lua"), b"\xff\xfe").unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling.lua")).unwrap();
    tool("mkfifo", &[dir.join("fifo.lua").to_str().unwrap()]);
    let started = std::time::Instant::now();
    let (snap, stderr) = snapshot_beside_fine(&running, "pm-unreadable", &["--modules-path", dir.to_str().unwrap()]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    for (name, why) in [("bytes.lua", "near"), ("dangling.lua", "No such file"), ("fifo.lua", "not a regular file")] {
        let entry = snap["pmodules"].as_array().unwrap().iter().find(|p| p["path"].as_str().unwrap().ends_with(name));
        let entry = entry.unwrap_or_else(|| panic!("no entry for {name}: {}\n{stderr}", snap["pmodules"]));
        let errors = entry["errors"].to_string();
        assert!(errors.contains(why), "{name}: {errors}");
    }
}
