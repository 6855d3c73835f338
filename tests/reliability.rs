//! The first promise: the target comes out unharmed, promptly. Modules
//! that never return, corrupt debug info and signals to ptsnap are cut at
//! the documented bounds (docs/cli.md, "Guarantees"), measured from outside
//! by watching the target's threads in /proc; and the command line's edge
//! cases (threads that do not exist, a main thread that has exited, a
//! target killed during the snapshot) give a snapshot or one clear line.

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// A Lua module that calls, from `event`, a pattern match that takes
/// hours: one C call, which the instruction budget cannot interrupt.
fn stuck_module(id: &str, event: &str) -> PathBuf {
    lua_module(
        id,
        &format!(
            r#"pmodule.define{{ id = "{id}", load = function()
                pmodule.register(pmodule.event.{event}, function()
                    string.find(string.rep("a", 3000), ".-.-.-.-.-.-.-b")
                end)
            end }}"#
        ),
    )
}

/// A module of tests/pmodules/hostile/.
fn hostile_module(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pmodules/hostile").join(name)
}

fn lua_module(id: &str, source: &str) -> PathBuf {
    let dir = work_dir().join("reliability");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{id}.lua"));
    std::fs::write(&path, source).unwrap();
    path
}

/// Watches a process's threads from outside: the longest time any of them
/// stayed in a ptrace stop (state `t`) without a break.
struct StopWatch {
    running: Arc<AtomicBool>,
    thread: Option<JoinHandle<Duration>>,
}

impl StopWatch {
    fn start(pid: i32) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let thread = std::thread::spawn(move || {
            let mut since: Option<Instant> = None;
            let mut longest = Duration::ZERO;
            while flag.load(Ordering::SeqCst) {
                let now = Instant::now();
                if any_thread_stopped(pid) {
                    let begun = *since.get_or_insert(now);
                    longest = longest.max(now - begun);
                } else {
                    since = None;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            longest
        });
        StopWatch { running, thread: Some(thread) }
    }

    /// The longest stop seen.
    fn finish(mut self) -> Duration {
        self.running.store(false, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

fn any_thread_stopped(pid: i32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok()).any(|s| s.contains(") t "))
}

/// Runs ptsnap on `pid` with `args`, watching the target; returns
/// (exit code, stderr, snapshot if written, longest stop, ptsnap's time).
fn watched(pid: i32, name: &str, args: &[&str]) -> (Option<i32>, String, Option<Value>, Duration, Duration) {
    let out = work_dir().join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let watch = StopWatch::start(pid);
    let started = Instant::now();
    let o = Command::new(ptsnap_bin())
        .args(["-o", out.to_str().unwrap(), "--no-default-modules"])
        .args(args)
        .arg(pid.to_string())
        .output()
        .unwrap();
    let took = started.elapsed();
    let longest = watch.finish();
    eprintln!("{name}: the target was stopped for {longest:?} at most; ptsnap took {took:?}");
    let snap = out.exists().then(|| read_json(&out));
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned(), snap, longest, took)
}

fn error_messages(snap: &Value, context: &str) -> Vec<String> {
    snap["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["context"] == context)
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

/// Guarantee 1: a module stuck in one C call while the target is stopped
/// (the instruction budget never gets a say) is cut at `--max-pause`; the
/// snapshot has the threads extracted before it, and the others listed.
#[test]
fn a_stuck_module_is_cut_at_the_pause_limit() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    let target = start(&bin, &["2"]);
    let module = stuck_module("stuck_frame", "frame");
    let (code, stderr, snap, longest, took) =
        watched(target.pid(), "stuck-frame", &["--module-load", module.to_str().unwrap(), "--max-pause", "3"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(longest < Duration::from_millis(3400), "the target was stopped for {longest:?}");
    assert!(took < Duration::from_secs(6), "ptsnap took {took:?}");
    let snap = snap.expect("snapshot written");
    let cut = error_messages(&snap, "cut");
    assert!(cut.iter().any(|m| m.contains("pause limit") && m.contains("threads extracted")), "{cut:?}");
    let threads = snap["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 5, "every thread listed: main, the two deadlocked, two idle");
    assert!(threads.iter().any(|t| !t["frames"].as_array().unwrap().is_empty()), "the first thread was extracted");
    assert!(
        threads.iter().any(|t| t["unwind_stop"].as_str().is_some_and(|s| s.starts_with("not extracted"))),
        "the others are marked"
    );
    assert_released(target.pid());
}

/// A callback that burns 0.2 s on every frame, with `--timeout 1`: the
/// target is released by 1 s and ptsnap exits soon after.
#[test]
fn a_slow_module_is_cut_at_the_timeout() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    let target = start(&bin, &["2"]);
    let module = hostile_module("burn.lua");
    let (code, stderr, snap, longest, took) =
        watched(target.pid(), "burn", &["--module-load", module.to_str().unwrap(), "--timeout", "1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(longest < Duration::from_millis(1300), "the target was stopped for {longest:?}");
    assert!(took < Duration::from_millis(2500), "ptsnap took {took:?}");
    let snap = snap.expect("snapshot written");
    assert!(error_messages(&snap, "cut").iter().any(|m| m.contains("--timeout")), "{:?}", snap["errors"]);
    assert_released(target.pid());
}

/// SIGTERM to ptsnap while a module is stuck: the target is released at
/// once, the snapshot is written with what was gathered, and ptsnap exits
/// with 128 + SIGTERM.
#[test]
fn sigterm_releases_at_once_and_writes_what_was_gathered() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    let target = start(&bin, &[]);
    let module = hostile_module("string_find.lua");
    let out = work_dir().join("sigterm-stuck.json");
    let _ = std::fs::remove_file(&out);
    let child = Command::new(ptsnap_bin())
        .args(["-o", out.to_str().unwrap(), "--no-default-modules", "--max-pause", "60"])
        .args(["--module-load", module.to_str().unwrap(), &target.pid().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waiting = Instant::now();
    while !any_thread_stopped(target.pid()) {
        assert!(waiting.elapsed() < Duration::from_secs(10), "the target was never stopped");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Let the module get stuck, then ask ptsnap to stop.
    std::thread::sleep(Duration::from_millis(200));
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
    let signalled = Instant::now();
    while any_thread_stopped(target.pid()) {
        assert!(signalled.elapsed() < Duration::from_millis(300), "not released within 300 ms of SIGTERM");
        std::thread::sleep(Duration::from_millis(1));
    }
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(128 + libc::SIGTERM), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), out.to_str().unwrap());
    let snap = read_json(&out);
    assert!(error_messages(&snap, "cut").iter().any(|m| m.contains("SIGTERM")), "{:?}", snap["errors"]);
    assert_released(target.pid());
}

/// A `preattach` that never returns (the target is not stopped yet): the
/// snapshot is taken without modules, and says so.
#[test]
fn a_stuck_preattach_gives_a_snapshot_without_modules() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    let target = start(&bin, &[]);
    let module = stuck_module("stuck_preattach", "preattach");
    let (code, stderr, snap, longest, took) =
        watched(target.pid(), "stuck-preattach", &["--module-load", module.to_str().unwrap(), "--max-pause", "3"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(took < Duration::from_secs(9), "ptsnap took {took:?}");
    assert!(longest < Duration::from_millis(3400), "the target was stopped for {longest:?}");
    let snap = snap.expect("snapshot written");
    let notes = error_messages(&snap, "pmodules");
    assert!(notes.iter().any(|m| m.contains("preattach") && m.contains("without modules")), "{notes:?}");
    let main = thread(&snap, target.pid() as i64);
    assert!(functions(main).iter().any(|f| f == "main"), "a full snapshot otherwise");
    assert_released(target.pid());
}

/// A module stuck in a C call and a corrupt separate debug file at once:
/// the target is still released within the bound.
#[test]
fn a_stuck_module_and_corrupt_debug_info_together() {
    let _serial = serial();
    let bin = build("hang.c", "hang-corrupt", &["-g", "-O0"]);
    let dir = work_dir().join("corrupt-debug");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let debug = dir.join("hang-corrupt.debug");
    tool("objcopy", &["--only-keep-debug", bin.to_str().unwrap(), debug.to_str().unwrap()]);
    tool("strip", &["--strip-debug", bin.to_str().unwrap()]);
    tool("objcopy", &[&format!("--add-gnu-debuglink={}", debug.display()), bin.to_str().unwrap()]);
    scramble_section(&debug, ".debug_info", 7);
    let target = start(&bin, &["2"]);
    let module = stuck_module("stuck_variable", "variable");
    let (code, stderr, snap, longest, _) = watched(
        target.pid(),
        "stuck-corrupt",
        &["--module-load", module.to_str().unwrap(), "--max-pause", "1", "--debug-dir", dir.to_str().unwrap()],
    );
    assert!(longest < Duration::from_millis(1400), "the target was stopped for {longest:?}");
    assert!(matches!(code, Some(0)), "{stderr}");
    assert!(snap.is_some(), "snapshot written");
    assert_released(target.pid());
}

/// Overwrites the middle of a section of an ELF file with bytes from a
/// fixed-seed generator.
fn scramble_section(file: &Path, section: &str, seed: u64) {
    let out = Command::new("readelf").args(["-W", "-S", file.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.split_whitespace().any(|w| w == section)).expect("section present");
    let fields: Vec<&str> = line.split(']').nth(1).unwrap().split_whitespace().collect();
    let (offset, size) = (u64::from_str_radix(fields[3], 16).unwrap(), u64::from_str_radix(fields[4], 16).unwrap());
    let mut bytes = std::fs::read(file).unwrap();
    let mut state = seed;
    for b in &mut bytes[(offset + size / 4) as usize..(offset + size / 2) as usize] {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *b = (state >> 56) as u8;
    }
    std::fs::write(file, bytes).unwrap();
}

/// A process whose main thread called `pthread_exit` is alive: its other
/// threads are snapshotted and the main thread is listed as a zombie.
#[test]
fn a_process_whose_main_thread_exited_is_snapshotted() {
    let _serial = serial();
    let bin = build("mainexit.c", "mainexit", &["-g", "-O0"]);
    let target = start(&bin, &[]);
    let snap = snapshot(target.pid(), "mainexit", &["--no-default-modules"]);
    let threads = snap["threads"].as_array().unwrap();
    let leader = thread(&snap, target.pid() as i64);
    assert_eq!(leader["state"], "zombie", "{leader}");
    let survivor = threads.iter().find(|t| t["tid"] != target.pid()).expect("the second thread");
    assert!(functions(survivor).iter().any(|f| f == "survivor_wait"), "{:?}", functions(survivor));
    assert_released(target.pid());
}

/// `--thread` with no thread of the process is an error, not an empty
/// snapshot; a valid TID beside an invalid one gives an `errors` entry.
#[test]
fn threads_that_do_not_exist() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    let target = start(&bin, &[]);
    let pid = target.pid().to_string();
    let o = ptsnap(&["--no-default-modules", "--thread", "999999", &pid]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no thread given to --thread (999999) is a thread of process"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let snap =
        snapshot(target.pid(), "thread-mixed", &["--no-default-modules", "--thread", "999999", "--thread", &pid]);
    assert_eq!(snap["threads"].as_array().unwrap().len(), 1);
    assert!(error_messages(&snap, "--thread").iter().any(|m| m.contains("999999")), "{:?}", snap["errors"]);
    assert_released(target.pid());
}

/// Numbers at the edges: a timeout too far to matter works, limits of 0
/// that would mean "no limit" are refused.
#[test]
fn option_edges() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    let target = start(&bin, &[]);
    let snap = snapshot(target.pid(), "huge-timeout", &["--no-default-modules", "--timeout", "1e19"]);
    assert!(error_messages(&snap, "cut").is_empty());
    for (option, value) in
        [("--module-memory", "0"), ("--module-instructions", "0"), ("--max-pause", "0"), ("--timeout", "1e30")]
    {
        let o = ptsnap(&[option, value, "1"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{option} {value}: {err}");
        assert!(err.contains(option) && err.lines().count() == 1, "{err}");
    }
    assert_released(target.pid());
}

/// The target SIGKILLed in the first milliseconds: a snapshot with frames
/// taken before it died, or one line saying it exited (or was a zombie
/// when ptsnap looked); never an empty snapshot of a zombie, never a panic.
#[test]
fn a_target_killed_during_the_snapshot() {
    let _serial = serial();
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    for delay_ms in [0u64, 1, 2, 4, 8] {
        let mut target = start(&bin, &["200"]);
        let out = work_dir().join("killed.json");
        let _ = std::fs::remove_file(&out);
        let child = Command::new(ptsnap_bin())
            .args(["-o", out.to_str().unwrap(), "--no-default-modules", &target.pid().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(delay_ms) {
            std::hint::spin_loop();
        }
        target.child.kill().unwrap();
        let o = child.wait_with_output().unwrap();
        let _ = target.child.wait();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked") && !err.contains("internal error"), "{err}");
        if o.status.success() {
            let snap = read_json(&out);
            let framed =
                snap["threads"].as_array().unwrap().iter().any(|t| !t["frames"].as_array().unwrap().is_empty());
            assert!(framed, "a snapshot without any frame: {snap}");
        } else {
            // Killed before ptsnap looked, it is a zombie already.
            let said = ["exited during the snapshot", "no process", "is a zombie"];
            assert!(said.iter().any(|s| err.contains(s)) && err.lines().count() == 1, "{err}");
        }
    }
}

/// `ptsnap run` forwards a SIGTERM sent to it to the program (whose
/// handler exits 7), like `timeout` and `tini`.
#[test]
fn run_forwards_sigterm_to_the_program() {
    let _serial = serial();
    let bin = build("signals.c", "signals", &["-g", "-O0"]);
    let run = TracedRun::until_ready(&bin, "forward");
    run.signal(Signal::SIGTERM);
    let o = run.wait();
    assert_eq!(o.status.code(), Some(7), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A SIGINT the program handles does not spoil a later crash's snapshot.
#[test]
fn run_snapshots_a_crash_after_a_handled_sigint() {
    let _serial = serial();
    let bin = build("signals.c", "signals", &["-g", "-O0"]);
    let run = TracedRun::until_ready(&bin, "after-sigint");
    run.signal(Signal::SIGINT);
    let o = run.wait();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(128 + libc::SIGSEGV), "{stderr}");
    assert!(stderr.contains("snapshot written to"), "{stderr}");
    let snap = read_json(&work_dir().join("after-sigint.json"));
    assert!(error_messages(&snap, "cut").is_empty(), "{:?}", snap["errors"]);
    let faulted = thread(&snap, snap["fault"]["tid"].as_i64().unwrap());
    assert_eq!(functions(faulted)[0], "crash_after_interrupt");
}

/// `ptsnap run -o NAME.json -- bin`, started and past the program's
/// "ready" line; killed with its program if the test ends first.
struct TracedRun {
    child: Option<std::process::Child>,
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl TracedRun {
    fn until_ready(bin: &Path, name: &str) -> Self {
        let out = work_dir().join(format!("{name}.json"));
        let _ = std::fs::remove_file(&out);
        let mut child = Command::new(ptsnap_bin())
            .args(["run", "--no-default-modules", "-o", out.to_str().unwrap(), "--"])
            .arg(bin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let run = TracedRun { child: Some(child), _stdout: stdout };
        assert_eq!(line.trim(), "ready");
        run
    }

    fn signal(&self, sig: Signal) {
        let _ = kill(Pid::from_raw(self.child.as_ref().unwrap().id() as i32), sig);
    }

    /// ptsnap's output once it has exited; a watchdog fails the test (and
    /// the guard kills both) if that takes over 60 s.
    fn wait(mut self) -> std::process::Output {
        let started = Instant::now();
        while self.child.as_mut().unwrap().try_wait().unwrap().is_none() {
            assert!(started.elapsed() < Duration::from_secs(60), "ptsnap run did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for TracedRun {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()));
            for pid in children.unwrap_or_default().split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
