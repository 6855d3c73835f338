//! `ptsnap PID` on live, hung fixtures: every thread stopped, unwound and
//! symbolized, exact frames, options, and the process left running.

mod common;

use common::*;
use serde_json::Value;

fn fixture_frames(t: &Value, first: &str) -> Vec<(String, String, u64)> {
    frames_from(t, first).into_iter().filter(|f| f.1 == "hang.c").collect()
}

fn check_hang(opt: &str) {
    for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
        check_hang_with(compiler, opt);
    }
}

fn check_hang_with(compiler: Compiler, opt: &str) {
    let _serial = serial();
    let bin = build_with(compiler, "hang.c", &format!("hang{opt}"), &["-g", opt]);
    let proc_ = start(&bin, &["4"]);
    let pid = proc_.pid();
    let snap = snapshot(pid, &format!("hang{opt}-{}", compiler.name()), &[]);
    assert_released(pid);

    assert_eq!(snap["format"], "ptsnap-snapshot");
    assert_eq!(snap["version"], 2);
    assert_eq!(snap["process"]["pid"], pid);
    assert_eq!(snap["fault"], Value::Null);
    let threads = snap["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 7, "main, 4 idle workers, 2 deadlocked");
    assert_eq!(threads[0]["tid"], pid, "the main thread comes first");
    for t in threads {
        assert_eq!(t["state"], "sleeping", "state before the stop");
        assert!(t["registers"]["rip"].as_str().unwrap().starts_with("0x"));
        assert!(t["registers"]["xmm0"].is_string() && t["registers"]["fs_base"].is_string());
        assert_eq!(t["unwind_stop"], "outermost", "thread {} did not unwind to its end", t["tid"]);
        let frames = t["frames"].as_array().unwrap();
        assert_eq!(frames[0]["unwind"], "context");
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f["index"], i);
            assert!(f["module"].is_string(), "frame without module: {f}");
        }
    }

    let (take, fwd, bwd) =
        (line_of("hang.c", "take_second"), line_of("hang.c", "forward_call"), line_of("hang.c", "backward_call"));
    let deadlocked: Vec<Vec<_>> = threads
        .iter()
        .filter(|t| functions(t).contains(&"take_second".to_string()))
        .map(|t| fixture_frames(t, "take_second"))
        .collect();
    assert_eq!(deadlocked.len(), 2);
    assert!(
        deadlocked
            .contains(&vec![("take_second".into(), "hang.c".into(), take), ("forward".into(), "hang.c".into(), fwd)])
    );
    assert!(
        deadlocked
            .contains(&vec![("take_second".into(), "hang.c".into(), take), ("backward".into(), "hang.c".into(), bwd)])
    );

    let idle: Vec<&Value> = threads.iter().filter(|t| functions(t).contains(&"idle_forever".to_string())).collect();
    assert_eq!(idle.len(), 4);
    for t in idle {
        assert_eq!(
            fixture_frames(t, "idle_forever"),
            vec![
                ("idle_forever".into(), "hang.c".into(), line_of("hang.c", "idle_wait")),
                ("idle_worker".into(), "hang.c".into(), line_of("hang.c", "idle_call")),
            ]
        );
    }
    let main = thread(&snap, pid as i64);
    assert_eq!(fixture_frames(main, "main"), vec![("main".into(), "hang.c".into(), line_of("hang.c", "main_join"))]);

    if libc_debug_info_available() {
        // Above take_second: the C library's mutex lock, with source lines.
        let t = threads.iter().find(|t| functions(t).contains(&"take_second".to_string())).unwrap();
        let frames = t["frames"].as_array().unwrap();
        let i = frames.iter().position(|f| f["function"] == "take_second").unwrap();
        assert!(i >= 1);
        for f in &frames[..i] {
            assert_eq!(f["module"], "libc.so.6");
            assert!(f["file"].is_string() && f["line"].as_u64().unwrap() > 0, "libc frame without line: {f}");
        }
        assert!(frames[..i].iter().any(|f| f["function"].as_str().unwrap().contains("pthread_mutex_lock")));
        assert!(frames[..i].iter().any(|f| f["inlined"] == true), "libc's inlined futex helpers are expanded");
        let libc = snap["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["path"].as_str().unwrap().contains("libc.so"))
            .unwrap();
        assert!(libc["debug_file"].as_str().unwrap().contains("/usr/lib/debug/.build-id/"));
        assert_eq!(libc["debug_file_source"], "build-id");
        assert!(libc["symbols"].as_str().unwrap().contains("dwarf"));
    }
}

#[test]
fn hung_threads_o0() {
    check_hang("-O0");
}

#[test]
fn hung_threads_o2() {
    check_hang("-O2");
}

#[test]
fn deep_recursion_all_frames() {
    let _serial = serial();
    let bin = build("deep.c", "deep", &["-g", "-O0"]);
    let proc_ = start(&bin, &["500"]);
    let snap = snapshot(proc_.pid(), "deep", &[]);
    let t = thread(&snap, proc_.pid() as i64);
    let f = frames_from(t, "descend");
    assert_eq!(f[0], ("descend".into(), "deep.c".into(), line_of("deep.c", "bottom")));
    let call = ("descend".to_string(), "deep.c".to_string(), line_of("deep.c", "descend_call"));
    assert_eq!(f[1..501], vec![call; 500][..]);
    assert_eq!(f[501], ("main".into(), "deep.c".into(), line_of("deep.c", "main_call")));
    assert_eq!(t["truncated"], false);
    let cfas: Vec<u64> = t["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["cfa"].as_str())
        .map(|s| u64::from_str_radix(&s[2..], 16).unwrap())
        .collect();
    assert!(cfas.windows(2).all(|w| w[0] <= w[1]), "CFAs ascend");
}

/// A stack of 3,000 frames is a frame list of about 800 KB, which another
/// thread faults in while the worker fills it (engine::prefault) unless
/// `--jobs 1`: the frames are the same either way, every one of them.
#[test]
fn deep_stack_frames_are_the_same_with_the_list_faulted_in_apart() {
    let _serial = serial();
    let bin = build("deep.c", "deep", &["-g", "-O0"]);
    let proc_ = start(&bin, &["3000"]);
    let all = ["--no-variables", "--max-frames", "100000"];
    let apart = snapshot(proc_.pid(), "deep-apart", &all);
    let one = snapshot(proc_.pid(), "deep-one-job", &[&all[..], &["--jobs", "1"]].concat());
    let (t, t1) = (thread(&apart, proc_.pid() as i64), thread(&one, proc_.pid() as i64));
    let f = frames_from(t, "descend");
    let call = ("descend".to_string(), "deep.c".to_string(), line_of("deep.c", "descend_call"));
    assert_eq!(f[1..3001], vec![call; 3000][..]);
    assert_eq!(f[3001], ("main".into(), "deep.c".into(), line_of("deep.c", "main_call")));
    assert_eq!(t["frames"], t1["frames"]);
    assert_released(proc_.pid());
}

/// With `--jobs 2` a second thread extracts the threads it takes of the
/// 43 (each job takes the next one left) with debug info of its own: the
/// snapshot is the one `--jobs 1` makes, every frame and variable, threads
/// in order, faulted thread and pointer targets alike.
#[test]
fn two_jobs_make_the_snapshot_one_job_makes() {
    let _serial = serial();
    for opt in ["-O0", "-O2"] {
        let bin = build("hang.c", &format!("hang{opt}"), &["-g", opt]);
        let proc_ = start(&bin, &["40"]);
        let pid = proc_.pid();
        let tid = thread_ids(pid)[20].to_string();
        let stamps = |mut snap: Value| {
            for field in ["uuid", "timestamp", "timings"] {
                snap[field] = Value::Null;
            }
            forget_rseq(&mut snap);
            snap
        };
        let module = typed_view_module();
        let module = module.to_str().unwrap();
        let args =
            |jobs: &'static str| ["--jobs", jobs, "--fault-thread", &tid, "--module-load", module].map(str::to_string);
        let one = stamps(snapshot(pid, &format!("jobs-1{opt}"), &args("1").each_ref().map(String::as_str)));
        let two = stamps(snapshot(pid, &format!("jobs-2{opt}"), &args("2").each_ref().map(String::as_str)));
        // Every variable of every thread was read through its typed view,
        // those of the threads the second job extracted included.
        let viewed = |snap: &Value| {
            let text = serde_json::to_string(&snap["threads"][42]).unwrap();
            text.matches("typed view: ").count()
        };
        assert!(viewed(&two) > 3, "{}", serde_json::to_string(&two["threads"][42]).unwrap());
        assert_released(pid);
        assert_eq!(one["threads"].as_array().unwrap().len(), 43);
        assert!(one["threads"][20]["faulted"] == true, "the fault thread is in the second half");
        assert_eq!(one, two, "{opt}");
    }
}

/// A module that reads every variable in memory again through its typed
/// view (the `bt_variable` of the variable event) and annotates it with
/// the type and value it finds there: the same as the variable's own
/// when the view names the right type in the right module.
fn typed_view_module() -> std::path::PathBuf {
    let path = work_dir().join("typed-view.lua");
    let source = r#"
pmodule.define{ id = "typed_view", load = function()
    pmodule.register(pmodule.event.variable, function(var, raw)
        if var:address() == nil then return end
        if raw == nil then
            var:annotate(pmodule.annotation.warning, "no typed view")
            return
        end
        local v = pmodule.variable_from_bt(raw)
        var:annotate(pmodule.annotation.comment, "typed view: %s = %s", v:type_name(), tostring(v:value()))
    end)
end }
"#;
    std::fs::write(&path, source).unwrap();
    path
}

/// The thread ids of a process, main thread first.
fn thread_ids(pid: i32) -> Vec<i32> {
    let mut tids: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect();
    tids.sort();
    tids
}

#[test]
fn max_frames_truncates_and_says_so() {
    let _serial = serial();
    let bin = build("deep.c", "deep", &["-g", "-O0"]);
    let proc_ = start(&bin, &["500"]);
    let snap = snapshot(proc_.pid(), "deep-max", &["--max-frames", "50"]);
    let t = thread(&snap, proc_.pid() as i64);
    assert_eq!(t["frames"].as_array().unwrap().len(), 50);
    assert_eq!(t["truncated"], true);
    assert_eq!(t["unwind_stop"], "max-frames");
    assert_released(proc_.pid());
}

#[test]
fn inline_frames_at_o2() {
    for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
        inline_frames_with(compiler);
    }
}

fn inline_frames_with(compiler: Compiler) {
    let _serial = serial();
    let bin = build_with(compiler, "inline.c", "inline-O2", &["-g", "-O2"]);
    let proc_ = start(&bin, &[]);
    let snap = snapshot(proc_.pid(), &format!("inline-{}", compiler.name()), &[]);
    let t = thread(&snap, proc_.pid() as i64);
    assert_eq!(
        frames_from(t, "inner"),
        vec![
            ("inner".into(), "inline.c".into(), line_of("inline.c", "inner_read")),
            ("middle".into(), "inline.c".into(), line_of("inline.c", "middle_call")),
            ("outer".into(), "inline.c".into(), line_of("inline.c", "outer_call")),
            ("main".into(), "inline.c".into(), line_of("inline.c", "main_call")),
        ]
        .into_iter()
        .chain(frames_from(t, "main").into_iter().skip(1))
        .collect::<Vec<_>>()
    );
    let frames = t["frames"].as_array().unwrap();
    let i = frames.iter().position(|f| f["function"] == "inner").unwrap();
    assert_eq!(frames[i]["inlined"], true);
    assert_eq!(frames[i + 1]["inlined"], true);
    assert_eq!(frames[i + 2]["inlined"], false);
    assert_eq!(frames[i]["pc"], frames[i + 2]["pc"], "inline frames share their physical frame's pc");
    assert!(frames[i + 2]["function_offset"].as_u64().is_some());
}

#[test]
fn options_thread_filter_kv_classifier_application() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    let proc_ = start(&bin, &["2"]);
    let pid = proc_.pid();
    let pid_s = pid.to_string();
    let snap = snapshot(
        pid,
        "hang-options",
        &[
            "--thread",
            &pid_s,
            "--kv",
            "host:db1,zone:eu",
            "--kv",
            "build:42",
            "--classifier",
            "hang",
            "--application",
            "billing",
        ],
    );
    let threads = snap["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["tid"], pid);
    assert_eq!(snap["kv"]["host"], "db1");
    assert_eq!(snap["kv"]["zone"], "eu");
    assert_eq!(snap["kv"]["build"], "42");
    assert_eq!(snap["classifiers"], serde_json::json!(["hang"]));
    assert_eq!(snap["application"], "billing");
    assert_released(pid);
}

#[test]
fn output_dir_names_the_file() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    let proc_ = start(&bin, &[]);
    let dir = work_dir().join("outdir");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let o = ptsnap(&["-O", dir.to_str().unwrap(), &proc_.pid().to_string()]);
    assert!(o.status.success());
    let path = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let name = std::path::Path::new(&path).file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with(&format!("hang-O0.{}.", proc_.pid())) && name.ends_with(".json"), "{name}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left behind");
    read_json(std::path::Path::new(&path));
}

#[test]
fn show_prints_frames_like_a_debugger() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    let proc_ = start(&bin, &["1"]);
    let snap_path = work_dir().join("show.json");
    let o = ptsnap(&["-o", snap_path.to_str().unwrap(), &proc_.pid().to_string()]);
    assert!(o.status.success());
    let a = ptsnap(&["show", snap_path.to_str().unwrap()]);
    let b = ptsnap(&["show", snap_path.to_str().unwrap()]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout, "stable output");
    let text = String::from_utf8(a.stdout).unwrap();
    // The answers first (the bundled analysis modules: the fixture's
    // deadlock, where its threads wait), then the header.
    let header = format!("process {} (hang-O0)", proc_.pid());
    let answers: Vec<&str> = text.lines().take_while(|l| !l.starts_with(&header)).collect();
    assert!(answers.len() < text.lines().count(), "no header: {text}");
    assert!(answers.iter().any(|l| l.starts_with("hang: 4 threads: ")), "{text}");
    if libc_debug_info_available() {
        assert_eq!(answers[0], "classifiers: deadlock");
        assert!(answers[1].starts_with("deadlock: thread "), "{text}");
    }
    let take = line_of("hang.c", "take_second");
    let re_line = text.lines().find(|l| l.contains(" in take_second ")).unwrap();
    // The parameter shows with its value: the mutex's address and symbol
    // (it is a global, so not code: no name).
    assert!(
        re_line.starts_with('#')
            && re_line.contains(" 0x")
            && re_line.contains("in take_second (second=0x")
            && re_line.ends_with(&format!(") (hang.c:{take}) [hang-O0]")),
        "{re_line}"
    );
    assert_eq!(text.matches("\nthread ").count(), 4);
    if libc_debug_info_available() {
        assert!(text.contains("(inlined)"));
    }
}

/// Frames gdb prints for each thread: (function, file basename, line).
fn gdb_backtraces(pid: i32) -> std::collections::HashMap<i64, Vec<(String, String, u64)>> {
    let out = std::process::Command::new("gdb")
        .args(["-nx", "-batch", "-p", &pid.to_string(), "-ex", "thread apply all bt"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut gdb: std::collections::HashMap<i64, Vec<(String, String, u64)>> = Default::default();
    let mut current = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Thread ") {
            // Thread 2 (Thread 0x7f... (LWP 1234) "hang-O2"):
            current = rest.split("LWP ").nth(1).and_then(|s| s.split(')').next()).and_then(|s| s.parse().ok());
            gdb.insert(current.unwrap(), Vec::new());
        } else if let (Some(tid), Some(rest)) = (current, line.strip_prefix('#')) {
            // #1  0x... in name (args) at path/file.c:12   or   #0  name (args) at ...
            let after = rest
                .split_once(" in ")
                .map(|(_, r)| r)
                .unwrap_or_else(|| rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start());
            let name = after.split(" (").next().unwrap().trim().to_string();
            let (file, line) = after
                .rsplit_once(" at ")
                .and_then(|(_, loc)| loc.rsplit_once(':'))
                .map(|(f, l)| (f.rsplit('/').next().unwrap().to_string(), l.trim().parse().unwrap_or(0)))
                .unwrap_or_default();
            gdb.get_mut(&tid).unwrap().push((name, file, line));
        }
    }
    gdb
}

/// gdb as the oracle: per thread, the same functions in the same order,
/// at the same files and lines (the C library's frames included), up to
/// main or start_thread; tail-call frames included. ptsnap may show more
/// tail-call frames than gdb: gdb does not follow a call whose target is
/// computed (main called through a pointer from the C library), ptsnap
/// evaluates the target in the calling frame.
fn check_against_gdb(compiler: Compiler, source: &str, name: &str, flags: &[&str], args: &[&str]) -> Value {
    let _serial = serial();
    let bin = build_with(compiler, source, name, flags);
    let name = format!("{name}-{}", compiler.name());
    let proc_ = start(&bin, args);
    let pid = proc_.pid();
    let snap = snapshot(pid, &format!("{name}-gdb"), &[]);
    let gdb = gdb_backtraces(pid);
    assert_eq!(gdb.len(), snap["threads"].as_array().unwrap().len(), "gdb saw the same threads");
    let (mut compared, mut tail_calls, mut extra) = (0, 0, 0);
    let outer = |f: &str| ["main", "start_thread", "__libc_start_call_main"].contains(&f);
    for t in snap["threads"].as_array().unwrap() {
        let ours: Vec<(&Value, (String, String, u64))> =
            t["frames"].as_array().unwrap().iter().map(|f| (f, frame_key(f))).collect();
        let theirs = &gdb[&t["tid"].as_i64().unwrap()];
        let (mut mine, mut gdbs) = (ours.iter().peekable(), theirs.iter().peekable());
        loop {
            let (f, g) = (mine.peek(), gdbs.peek());
            let done = |k: Option<&str>| k.is_none_or(outer);
            if done(f.map(|f| f.1.0.as_str())) && done(g.map(|g| g.0.as_str())) {
                if let (Some((_, f)), Some(g)) = (f, g)
                    && f.0 == g.0
                    && !g.1.is_empty()
                {
                    assert_eq!((&f.1, f.2), (&g.1, g.2), "thread {}: {} not where gdb says", t["tid"], f.0);
                    compared += 1;
                }
                break;
            }
            match (f, g) {
                (Some((_, f)), Some(g)) if f.0 == g.0 => {
                    if !g.1.is_empty() {
                        assert_eq!((&f.1, f.2), (&g.1, g.2), "thread {}: {} not where gdb says", t["tid"], f.0);
                        compared += 1;
                    }
                    mine.next();
                    gdbs.next();
                }
                (Some((frame, _)), _) if frame["unwind"] == "tailcall" => {
                    extra += 1;
                    mine.next();
                }
                _ => panic!(
                    "thread {}: frames differ from gdb's\nours {:?}\ngdb  {theirs:?}",
                    t["tid"],
                    ours.iter().map(|f| &f.1.0).collect::<Vec<_>>()
                ),
            }
        }
        tail_calls += ours.iter().filter(|f| f.0["unwind"] == "tailcall").count();
    }
    eprintln!(
        "{name}: {compared} frames compared with gdb, all equal; {tail_calls} tail-call frames, {extra} of them \
         not shown by gdb"
    );
    assert!(compared >= snap["threads"].as_array().unwrap().len(), "only {compared} frames compared");
    snap
}

/// The compilers to build with: gcc and clang where installed (both
/// under CI), none without gdb.
fn compilers() -> Vec<Compiler> {
    if !tool_available("gdb") {
        return Vec::new();
    }
    Compiler::ALL.into_iter().filter(|c| c.available()).collect()
}

/// Threads, inline frames, C++ and a caller-saved parameter, with every
/// compiler (tests/variables.rs pairs the frames of more fixtures with
/// gdb's by name).
fn frames_match_gdb(opt: &str) {
    for compiler in compilers() {
        for (source, args) in [("hang.c", &["2"][..]), ("inline.c", &[]), ("classes.cpp", &[]), ("callerregs.c", &[])] {
            let name = format!("{}-gdb{opt}", source.split('.').next().unwrap());
            check_against_gdb(compiler, source, &name, &["-g", opt], args);
        }
    }
}

#[test]
fn frames_match_gdb_o0() {
    frames_match_gdb("-O0");
}

#[test]
fn frames_match_gdb_o2() {
    frames_match_gdb("-O2");
}

/// C++ functions with internal linkage (no DW_AT_linkage_name) are named
/// from their namespaces and classes, `store::(anonymous namespace)::Iter::key`.
#[test]
fn internal_linkage_names_match_gdb() {
    for compiler in compilers() {
        for (name, flags) in [("anon-O0", ["-g", "-O0"]), ("anon-O2", ["-g", "-O2"])] {
            let snap = check_against_gdb(compiler, "anon.cpp", name, &flags, &[]);
            let names = functions(&snap["threads"][0]);
            assert!(names.iter().any(|f| f == "store::wait_for_key"), "{name} {compiler:?}: {names:?}");
            if flags[1] == "-O0" {
                assert!(names.iter().any(|f| f == "store::(anonymous namespace)::Iter::key"), "{names:?}");
            }
        }
    }
}

/// Functions that tail-called on get frames, as gdb shows them (`leaf`
/// and `middle` at -O2), with the parameters entry values give; where two
/// tail-call paths lead to the same place, none is invented.
///
/// clang makes the same tail calls but writes their call sites with
/// `DW_AT_call_pc` only (the jump's address, no `DW_AT_call_return_pc`),
/// which gdb 13 skips: it shows no tail-call frame, and neither does ptsnap.
#[test]
fn tail_call_frames_match_gdb() {
    for compiler in compilers() {
        let snap = check_against_gdb(compiler, "tailcall.c", "tailcall-O2", &["-g", "-O2"], &[]);
        let main = &snap["threads"][0];
        let tail: Vec<&Value> =
            main["frames"].as_array().unwrap().iter().filter(|f| f["unwind"] == "tailcall").collect();
        let names: Vec<&str> = tail.iter().map(|f| f["function"].as_str().unwrap()).collect();
        let param = |i: usize| (tail[i]["parameters"][0]["name"].as_str(), tail[i]["parameters"][0]["value"].as_i64());
        match compiler {
            Compiler::Gcc => {
                assert_eq!(names, ["leaf", "middle"]);
                assert_eq!(param(0), (Some("x"), Some(42)));
                assert_eq!(param(1), (Some("y"), Some(21)));
                assert_eq!(tail[0]["line"].as_u64(), Some(line_of("tailcall.c", "leaf_tail")));
            }
            Compiler::Clang => assert_eq!(names, [""; 0]),
        }
        let second = &snap["threads"][1];
        assert!(second["frames"].as_array().unwrap().iter().all(|f| f["unwind"] != "tailcall"), "an ambiguous path");
        assert_eq!(functions(second)[1..3], ["wait_here", "second"]);

        // At -O0 every call is a real call.
        let snap = check_against_gdb(compiler, "tailcall.c", "tailcall-O0", &["-g", "-O0"], &[]);
        let frames = snap["threads"][0]["frames"].as_array().unwrap();
        assert!(frames.iter().all(|f| f["unwind"] != "tailcall"));
        assert!(functions(&snap["threads"][0]).starts_with(&[
            "__libc_pause".into(),
            "wait_here".into(),
            "leaf".into()
        ]));
    }
}

/// A binary deleted, or replaced by another file, after it was started is
/// read through /proc/PID/map_files: the frames are still right.
#[test]
fn deleted_and_replaced_binaries() {
    let _serial = serial();
    let built = build("hang.c", "hang-O0", &["-g", "-O0"]);
    for case in ["deleted", "replaced"] {
        let bin = work_dir().join(format!("hang-{case}"));
        std::fs::copy(&built, &bin).unwrap();
        let proc_ = start(&bin, &["1"]);
        std::fs::remove_file(&bin).unwrap();
        if case == "replaced" {
            // Another program now has the name (as after a package upgrade).
            std::fs::copy(build("deep.c", "deep", &["-g", "-O0"]), &bin).unwrap();
        }
        let snap = snapshot(proc_.pid(), &format!("hang-{case}"), &[]);
        let idle =
            snap["threads"].as_array().unwrap().iter().find(|t| functions(t).contains(&"idle_forever".to_string()));
        let idle = idle.unwrap_or_else(|| panic!("{case}: frames not symbolized"));
        assert_eq!(
            fixture_frames(idle, "idle_forever")[0],
            ("idle_forever".into(), "hang.c".into(), line_of("hang.c", "idle_wait"))
        );
        assert!(snap["errors"].as_array().unwrap().is_empty(), "{}", snap["errors"]);
    }
}

/// A thread that cannot be stopped (uninterruptible sleep) does not hold
/// the snapshot: it is listed with its state, the others are extracted.
#[test]
fn thread_in_disk_wait() {
    let _serial = serial();
    let bin = build("vfork.c", "vfork", &["-g", "-O0"]);
    let proc_ = start(&bin, &[]);
    let pid = proc_.pid();
    // No --timeout: the stop grace (3 s) bounds the wait.
    let t0 = std::time::Instant::now();
    let snap = snapshot(pid, "vfork", &[]);
    assert!(t0.elapsed() < std::time::Duration::from_secs(6), "waited {:?}", t0.elapsed());
    let main = thread(&snap, pid as i64);
    assert_eq!(main["state"], "disk");
    assert!(main["frames"].as_array().unwrap().is_empty());
    assert_eq!(main["unwind_stop"], "error: the thread did not stop");
    // Running as root, the kernel stack says where it is stuck.
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let kstack: Vec<&str> = main["kernel_stack"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert!(kstack.iter().any(|f| f.contains("vfork")), "{kstack:?}");
    }
    let errors = snap["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["context"] == format!("thread {pid}") && e["message"].as_str().unwrap().contains("did not stop")), "{errors:?}");
    let sleeper = snap["threads"].as_array().unwrap().iter().find(|t| t["tid"] != pid).unwrap();
    assert_eq!(
        frames_from(sleeper, "sleeper")[0],
        ("sleeper".into(), "vfork.c".into(), line_of("vfork.c", "sleeper_pause"))
    );
    drop(proc_);
}
