//! `ptsnap run -- CMD`: crashes caught at the signal, exact fault and
//! frames, exit statuses as a shell shows them, signals passed through,
//! threads and forked children followed; and a crash handler inside the
//! process calling `ptsnap --fault-thread`.

mod common;

use common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

fn fault_thread(snap: &Value) -> &Value {
    let tid = snap["fault"]["tid"].as_i64().expect("a fault thread");
    let t = thread(snap, tid);
    assert_eq!(t["faulted"], true);
    t
}

/// gcc and clang where installed (both under CI): each writes its own
/// DWARF and CFI for the same fixture.
fn compilers() -> impl Iterator<Item = Compiler> {
    Compiler::ALL.into_iter().filter(|c| c.available())
}

fn check_crash(opt: &str, mode: &str) {
    for compiler in compilers() {
        check_crash_with(compiler, opt, mode);
    }
}

fn check_crash_with(compiler: Compiler, opt: &str, mode: &str) {
    let _serial = serial();
    let bin = build_with(compiler, "crash.c", &format!("crash{opt}"), &["-g", opt]);
    let (snap, code, stderr) = run_crash(&bin, &["3", mode], &format!("crash{opt}-{mode}-{}", compiler.name()), &[]);
    let snap = snap.unwrap_or_else(|| panic!("no snapshot; stderr: {stderr}"));
    assert_eq!(code, if mode == "fork" { 3 } else { 128 + 11 }, "stderr: {stderr}");
    assert!(stderr.contains("SIGSEGV") && stderr.contains("snapshot written to"), "{stderr}");

    let sig = &snap["fault"]["signal"];
    assert_eq!(sig["num"], 11);
    assert_eq!(sig["name"], "SIGSEGV");
    assert_eq!(sig["code"], 1);
    assert_eq!(sig["code_name"], "SEGV_MAPERR");
    assert_eq!(sig["address"], "0x0");
    assert_eq!(sig["address_populated"], true);
    assert_eq!(sig["sent_by_kill"], false);
    assert_eq!(sig["source"], "signal-delivery-stop");

    let t = fault_thread(&snap);
    let pid = snap["process"]["pid"].as_i64().unwrap();
    match mode {
        "thread" => {
            assert_ne!(t["tid"], pid, "the crashing thread is not the main thread");
            assert_eq!(snap["threads"].as_array().unwrap().len(), 2, "the main thread is in the snapshot too");
        }
        _ => assert_eq!(t["tid"], pid),
    }
    let frames = t["frames"].as_array().unwrap();
    assert_eq!(frames[0]["faulted"], true);
    assert_eq!(frames.iter().filter(|f| f["faulted"] == true).count(), 1);
    let caller = match mode {
        "thread" => ("crash_thread", "thread_call"),
        "fork" => ("main", "child_call"),
        _ => ("main", "main_call"),
    };
    let call = ("recurse".to_string(), "crash.c".to_string(), line_of("crash.c", "recurse_call"));
    let mut expected = vec![("recurse".to_string(), "crash.c".to_string(), line_of("crash.c", "crash_write"))];
    expected.extend(vec![call; 3]);
    expected.push((caller.0.into(), "crash.c".into(), line_of("crash.c", caller.1)));
    assert_eq!(frames_from(t, "recurse")[..5], expected[..]);
    assert_eq!(functions(t)[0], "recurse");
}

#[test]
fn crash_o0() {
    check_crash("-O0", "main");
}

#[test]
fn crash_o2() {
    check_crash("-O2", "main");
}

#[test]
fn crash_in_second_thread() {
    check_crash("-O2", "thread");
}

#[test]
fn crash_in_forked_child() {
    check_crash("-O0", "fork");
}

#[test]
fn abort_from_assert() {
    for compiler in compilers() {
        abort_with(compiler);
    }
}

fn abort_with(compiler: Compiler) {
    let _serial = serial();
    let bin = build_with(compiler, "abort.c", "abort", &["-g", "-O0"]);
    let (snap, code, stderr) = run_crash(&bin, &[], &format!("abort-{}", compiler.name()), &[]);
    let snap = snap.unwrap();
    assert_eq!(code, 128 + 6);
    assert!(stderr.contains("Assertion"), "the program's own stderr is its own: {stderr}");
    let sig = &snap["fault"]["signal"];
    assert_eq!(sig["name"], "SIGABRT");
    assert_eq!(sig["code_name"], "SI_TKILL");
    assert_eq!(sig["sent_by_kill"], true);
    assert_eq!(sig["address_populated"], false);
    let t = fault_thread(&snap);
    assert_eq!(
        frames_from(t, "check_balance")[..3],
        [
            ("check_balance".into(), "abort.c".into(), line_of("abort.c", "assert")),
            ("withdraw".into(), "abort.c".into(), line_of("abort.c", "withdraw_call")),
            ("main".into(), "abort.c".into(), line_of("abort.c", "main_call")),
        ]
    );
    let libc_frames: Vec<String> = functions(t).into_iter().take_while(|f| f != "check_balance").collect();
    assert!(libc_frames.iter().any(|f| f.contains("abort")), "{libc_frames:?}");
    assert!(libc_frames.iter().any(|f| f.contains("assert_fail")), "{libc_frames:?}");
    if libc_debug_info_available() {
        assert!(t["frames"][0]["file"].is_string(), "libc frame 0 has a source file");
    }
}

#[test]
fn crash_inside_signal_handler() {
    let _serial = serial();
    let bin = build("sighandler.c", "sighandler", &["-g", "-O0"]);
    let (snap, code, _) = run_crash(&bin, &[], "sighandler", &[]);
    let snap = snap.unwrap();
    assert_eq!(code, 139);
    let t = fault_thread(&snap);
    let frames = t["frames"].as_array().unwrap();
    assert_eq!(
        frame_key(&frames[0]),
        ("on_usr1".into(), "sighandler.c".into(), line_of("sighandler.c", "handler_write"))
    );
    assert_eq!(frames[1]["function"], "__restore_rt", "the kernel's signal trampoline");
    // Below the trampoline: the interrupted code, found from the kernel's
    // signal frame, then the callers of the code that sent the signal.
    assert_eq!(frames[2]["unwind"], "signal-frame");
    assert_eq!(
        frames_from(t, "deliver")[..2],
        [
            ("deliver".into(), "sighandler.c".into(), line_of("sighandler.c", "deliver_kill")),
            ("main".into(), "sighandler.c".into(), line_of("sighandler.c", "main_call")),
        ]
    );
    assert_eq!(t["unwind_stop"], "outermost");
    let shown = ptsnap(&["show", work_dir().join("sighandler.json").to_str().unwrap()]);
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with("#1 ") && l.ends_with("<signal handler called>")), "{text}");
}

/// A crash handler in the process runs `ptsnap --fault-thread TID PID`
/// (or `--faulted PID`): the fault comes from the kernel's signal frame on
/// that thread's stack.
fn check_crash_handler(faulted_flag: bool) {
    let _serial = serial();
    let bin = build("crashhandler.c", "crashhandler", &["-g", "-O0"]);
    let out = work_dir().join(format!("crashhandler-{faulted_flag}.json"));
    let _ = std::fs::remove_file(&out);
    let mut cmd = std::process::Command::new(&bin);
    cmd.env("PTSNAP", ptsnap_bin()).env("PTSNAP_OUT", &out).stdout(std::process::Stdio::null());
    if faulted_flag {
        cmd.env("PTSNAP_FAULTED", "1");
    }
    let status = cmd.status().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(11), "the program still dies of its signal");
    let snap = read_json(&out);
    assert_eq!(snap["kv"]["handler"], "yes");
    let sig = &snap["fault"]["signal"];
    assert_eq!(sig["name"], "SIGSEGV");
    assert_eq!(sig["code_name"], "SEGV_MAPERR");
    assert_eq!(sig["address"], "0x10");
    assert_eq!(sig["source"], "signal-frame");
    let t = fault_thread(&snap);
    let frames = t["frames"].as_array().unwrap();
    let faulted: Vec<&Value> = frames.iter().filter(|f| f["faulted"] == true).collect();
    assert_eq!(faulted.len(), 1);
    assert_eq!(frame_key(faulted[0]), ("store".into(), "crashhandler.c".into(), line_of("crashhandler.c", "store")));
    assert_eq!(
        frames_from(t, "on_segv")[0],
        ("on_segv".into(), "crashhandler.c".into(), line_of("crashhandler.c", "handler_wait"))
    );
}

#[test]
fn crash_handler_calls_ptsnap_with_fault_thread() {
    check_crash_handler(false);
}

#[test]
fn crash_handler_calls_ptsnap_with_faulted() {
    check_crash_handler(true);
}

#[test]
fn cpp_names_are_demangled() {
    for compiler in compilers() {
        cpp_names_with(compiler);
    }
}

fn cpp_names_with(compiler: Compiler) {
    let _serial = serial();
    let bin = build_with(compiler, "shop.cpp", "shop", &["-g", "-O0"]);
    let (snap, code, _) = run_crash(&bin, &[], &format!("shop-{}", compiler.name()), &[]);
    assert_eq!(code, 139);
    let snap = snap.unwrap();
    let t = fault_thread(&snap);
    assert_eq!(
        frames(t)[..3],
        [
            ("shop::Cart<shop::Item>::total".into(), "shop.cpp".into(), line_of("shop.cpp", "total_deref")),
            ("shop::checkout<shop::Item>".into(), "shop.cpp".into(), line_of("shop.cpp", "checkout_call")),
            ("main".into(), "shop.cpp".into(), line_of("shop.cpp", "main_call")),
        ]
    );
}

#[test]
fn rust_names_are_gdbs() {
    let _serial = serial();
    for (opt, name) in [("opt-level=0", "crash-rust-O0"), ("opt-level=2", "crash-rust-O2")] {
        let bin = build("crash.rs", name, &["-g", "-C", opt]);
        let (snap, code, stderr) = run_crash(&bin, &[], name, &[]);
        assert_eq!(code, 139, "{stderr}");
        let snap = snap.unwrap();
        let t = fault_thread(&snap);
        let call = ("crash::recurse".to_string(), "crash.rs".to_string(), line_of("crash.rs", "rust_recurse"));
        // At -O0 core::ptr::write_volatile is a frame of its own above.
        assert_eq!(
            frames_from(t, "crash::recurse")[..5],
            [
                ("crash::recurse".into(), "crash.rs".into(), line_of("crash.rs", "rust_write")),
                call.clone(),
                call,
                // As gdb names it: rustc's DW_AT_name, with the generic
                // arguments, in its namespaces.
                ("crash::shop::Cart<u8>::checkout<u8>".into(), "crash.rs".into(), line_of("crash.rs", "rust_checkout")),
                ("crash::main".into(), "crash.rs".into(), line_of("crash.rs", "rust_main")),
            ],
            "{opt}"
        );
    }
}

#[test]
fn corrupt_executable() {
    let path = work_dir().join("corrupt-exe");
    std::fs::write(&path, b"\x7fELF\x02\x01\x01 this is not an executable").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = ptsnap(&["run", "--", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot run") && err.contains("Exec format error"), "{err}");
}

#[test]
fn normal_exit_keeps_its_status_and_writes_nothing() {
    let _serial = serial();
    let (snap, code, stderr) = run_crash(std::path::Path::new("/bin/sh"), &["-c", "exit 3"], "exit3", &[]);
    assert!(snap.is_none());
    assert_eq!(code, 3);
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn non_fatal_signals_pass_through() {
    let _serial = serial();
    // SIGUSR1 kills sh (default action) but is no crash: no snapshot.
    let (snap, code, _) = run_crash(std::path::Path::new("/bin/sh"), &["-c", "kill -USR1 $$"], "usr1", &[]);
    assert!(snap.is_none());
    assert_eq!(code, 128 + 10);
    // An ignored crash signal sent by a process does nothing: no snapshot.
    let (snap, code, _) =
        run_crash(std::path::Path::new("/bin/sh"), &["-c", "trap '' SEGV; kill -SEGV $$; exit 5"], "ign", &[]);
    assert!(snap.is_none());
    assert_eq!(code, 5);
    // A handled signal reaches the program's handler.
    let (snap, code, _) =
        run_crash(std::path::Path::new("/bin/sh"), &["-c", "trap 'exit 7' USR2; kill -USR2 $$; sleep 5"], "usr2", &[]);
    assert!(snap.is_none());
    assert_eq!(code, 7);
    // Real-time signals (ptrace and wait calls that carry them stay raw
    // libc: nix's Signal has none) kill by default or reach a handler.
    let rt = libc::SIGRTMIN();
    let (snap, code, _) = run_crash(std::path::Path::new("/bin/sh"), &["-c", &format!("kill -{rt} $$")], "rt", &[]);
    assert!(snap.is_none());
    assert_eq!(code, 128 + rt);
    let script = format!("trap 'exit 9' {0}; kill -{0} $$; sleep 5", rt + 1);
    let (snap, code, _) = run_crash(std::path::Path::new("/bin/sh"), &["-c", &script], "rt1", &[]);
    assert!(snap.is_none());
    assert_eq!(code, 9);
}

#[test]
fn command_not_found() {
    let o = ptsnap(&["run", "--", "/nonexistent/program"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot run /nonexistent/program") && err.contains("No such file"), "{err}");
}

/// Job control keeps working under `ptsnap run`: a program that stops
/// itself with SIGSTOP stays stopped (a group-stop ptsnap keeps with
/// PTRACE_LISTEN, shown as `t`) until SIGCONT, then runs on to its exit.
#[test]
fn stop_and_continue() {
    let _serial = serial();
    let out = work_dir().join("stopcont.json");
    let _ = std::fs::remove_file(&out);
    let child = std::process::Command::new(ptsnap_bin())
        .args(["run", "-o", out.to_str().unwrap(), "--", "/bin/sh", "-c", "kill -STOP $$; exit 4"])
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop { ptsnap: child, program: None };
    let children = format!("/proc/{0}/task/{0}/children", guard.ptsnap.id());
    let program: i32 = loop {
        let text = std::fs::read_to_string(&children).unwrap_or_default();
        if let Some(pid) = text.split_whitespace().next() {
            break pid.parse().unwrap();
        }
        std::thread::yield_now();
    };
    guard.program = Some(program);
    let state = || {
        let stat = std::fs::read_to_string(format!("/proc/{program}/stat")).unwrap_or_default();
        stat.rsplit(')').next().and_then(|s| s.split_whitespace().next()).unwrap_or("?").to_string()
    };
    loop {
        let s = state();
        if s == "t" || s == "T" {
            break;
        }
        assert!(guard.ptsnap.try_wait().unwrap().is_none(), "the program ran on instead of stopping");
        std::thread::yield_now();
    }
    // The first stop seen may be the SIGSTOP's delivery stop, before the
    // group-stop: keep sending SIGCONT until the program has gone on.
    let status = loop {
        let _ = kill(Pid::from_raw(program), Signal::SIGCONT);
        if let Some(status) = guard.ptsnap.try_wait().unwrap() {
            break status;
        }
        std::thread::yield_now();
    };
    assert_eq!(status.code(), Some(4));
    assert!(!out.exists(), "a stop is not a crash: no snapshot");
}

/// Kills ptsnap and the program it runs when the test ends early, so a
/// failure leaves no stopped process behind.
struct KillOnDrop {
    ptsnap: std::process::Child,
    program: Option<i32>,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.program {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.ptsnap.kill();
        let _ = self.ptsnap.wait();
    }
}
