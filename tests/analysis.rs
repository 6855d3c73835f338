//! The analysis modules bundled with ptsnap (`pmodules/`): a fixture per
//! class of crash or hang (`tests/fixtures/analysis/`), built at -O0 and
//! -O2 with gcc and clang where installed (the Rust one with rustc), gets
//! exactly its classifier and the evidence in its annotations; a healthy
//! process gets none.

mod common;

use common::*;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// gcc and clang where installed (both under CI).
fn compilers() -> impl Iterator<Item = Compiler> {
    Compiler::ALL.into_iter().filter(|c| c.available())
}

const LEVELS: [&str; 2] = ["-O0", "-O2"];

fn classifiers(snap: &Value) -> Vec<String> {
    snap["classifiers"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

/// The texts of the annotations `source` made on `v`.
fn annotations_by(v: &Value, source: &str) -> Vec<String> {
    v["annotations"].as_array().map_or(Vec::new(), |a| {
        a.iter().filter(|x| x["source"] == source).filter_map(|x| x["text"].as_str()).map(String::from).collect()
    })
}

/// The first two lines `ptsnap show` prints of the snapshot `name` (in the
/// tests' work directory).
fn shown_first(name: &str) -> Vec<String> {
    let path = work_dir().join(format!("{name}.json"));
    let o = ptsnap(&["show", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().lines().take(2).map(String::from).collect()
}

/// `ptsnap show` starts with the classifiers and the module's answer.
fn assert_shown_first(snap: &Value, name: &str, class: &str, module: &str) {
    let answer = annotations_by(snap, module);
    assert_eq!(shown_first(name), [format!("classifiers: {class}"), answer[0].clone()], "{name}");
}

/// The faulting frame of a snapshot.
fn faulting_frame(snap: &Value) -> &Value {
    let tid = snap["fault"]["tid"].as_i64().expect("a fault thread");
    let frames = thread(snap, tid)["frames"].as_array().unwrap();
    frames.iter().find(|f| f["faulted"] == true).expect("a faulting frame")
}

/// Runs `tests/fixtures/analysis/<source>` with `args` under `ptsnap run`
/// for each compiler and level, and hands each snapshot to `check` with a
/// name for messages.
fn each_crash(source: &str, args: &[&str], check: impl Fn(&Value, &str)) {
    for compiler in compilers() {
        for opt in LEVELS {
            let _serial = serial();
            let stem = source.split('.').next().unwrap();
            let bin =
                build_with(compiler, &format!("analysis/{source}"), &format!("analysis-{stem}{opt}"), &["-g", opt]);
            let name = format!("analysis-{stem}-{}{opt}-{}", args.join("-"), compiler.name());
            let (snap, _, stderr) = run_crash(&bin, args, &name, &[]);
            let snap = snap.unwrap_or_else(|| panic!("{name}: no snapshot; stderr: {stderr}"));
            check(&snap, &name);
        }
    }
}

/// Starts `tests/fixtures/<source>` with `args` for each compiler
/// and level, snapshots it once it is ready, and hands the snapshot to
/// `check` with a name for messages.
fn each_live(source: &str, args: &[&str], check: impl Fn(&Value, &str)) {
    each_live_with(source, args, &LEVELS, &[], check);
}

/// `each_live` at `levels`, the fixture started with `env` added.
fn each_live_with(source: &str, args: &[&str], levels: &[&str], env: &[(&str, &Path)], check: impl Fn(&Value, &str)) {
    for compiler in compilers() {
        for opt in levels {
            let _serial = serial();
            let stem = source.rsplit('/').next().unwrap().split('.').next().unwrap();
            let bin = build_with(compiler, source, &format!("analysis-{stem}{opt}"), &["-g", opt]);
            let tag = if env.is_empty() { "" } else { "-env" };
            let name = format!("analysis-{stem}-{}{opt}-{}{tag}", args.join("-"), compiler.name());
            let running = start_with_env(&bin, args, env);
            let snap = snapshot(running.pid(), &name, &[]);
            assert_released(running.pid());
            check(&snap, &name);
        }
    }
}

/// The threads other than the main one, by tid.
fn workers(snap: &Value) -> Vec<&Value> {
    let pid = &snap["process"]["pid"];
    let mut t: Vec<&Value> = snap["threads"].as_array().unwrap().iter().filter(|t| &t["tid"] != pid).collect();
    t.sort_by_key(|t| t["tid"].as_i64());
    t
}

/// The one frame of `thread` the module `source` annotated, and the
/// annotation (level, text).
fn annotated_frame<'s>(thread: &'s Value, source: &str) -> (&'s Value, String, String) {
    let frames: Vec<&Value> =
        thread["frames"].as_array().unwrap().iter().filter(|f| !annotations_by(f, source).is_empty()).collect();
    assert_eq!(frames.len(), 1, "one frame of thread {} annotated by {source}", thread["tid"]);
    let a = frames[0]["annotations"].as_array().unwrap().iter().find(|a| a["source"] == source).unwrap();
    (frames[0], a["level"].as_str().unwrap().to_string(), a["text"].as_str().unwrap().to_string())
}

/// The thread id after "held by thread " in an annotation.
fn holder_in(text: &str) -> i64 {
    let rest = &text[text.find("held by thread ").unwrap_or_else(|| panic!("no holder in {text}")) + 15..];
    rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// A cycle of `n` threads of `locks.c` in `mode`: exactly `deadlock`, kv
/// `deadlock.threads` the cycle's threads, and on each a critical
/// annotation of its lock function's frame naming the lock it waits for
/// (one of `locks`) and the thread that holds it, which is the next one of
/// the cycle.
fn deadlock_case(mode: &str, n: usize, locks: &[&str]) {
    if libc_debug_info_available() {
        each_live("analysis/locks.c", &[mode], |snap, name| check_cycle(snap, name, n, locks));
    }
}

fn check_cycle(snap: &Value, name: &str, n: usize, locks: &[&str]) {
    assert_eq!(classifiers(snap), ["deadlock"], "{name}");
    let workers = workers(snap);
    assert_eq!(workers.len(), n, "{name}");
    let cycle: Vec<i64> =
        snap["kv"]["deadlock.threads"].as_str().unwrap().split(',').map(|t| t.parse().unwrap()).collect();
    let mut members = cycle.clone();
    members.sort();
    assert_eq!(members, workers.iter().map(|t| t["tid"].as_i64().unwrap()).collect::<Vec<_>>(), "{name}");
    for (i, tid) in cycle.iter().enumerate() {
        let (frame, level, text) = annotated_frame(thread(snap, *tid), "deadlock");
        let function = frame["function"].as_str().unwrap();
        assert!(function.contains("lock"), "{name}: the lock function's frame, not {function}");
        assert_eq!(level, "critical", "{name}");
        assert!(text.starts_with(&format!("deadlock: thread {tid} waits for ")), "{name}: {text}");
        assert!(locks.iter().any(|l| text.contains(l)), "{name}: none of {locks:?} in {text}");
        assert!(text.contains(" (0x"), "{name}: the lock's address in {text}");
        assert_eq!(holder_in(&text), cycle[(i + 1) % n], "{name}: {text}");
    }
    let answer = annotations_by(snap, "deadlock");
    assert!(answer.len() == 1 && answer[0].starts_with("deadlock: "), "{name}: {answer:?}");
    assert_shown_first(snap, name, "deadlock", "deadlock");
}

#[test]
fn ab_ba_deadlock() {
    deadlock_case("ab", 2, &["mutex lock_a (", "mutex lock_b ("]);
}

#[test]
fn three_thread_cycle() {
    deadlock_case("cycle3", 3, &["mutex lock_a (", "mutex lock_b (", "mutex lock_c ("]);
}

#[test]
fn deadlock_through_a_rwlock() {
    deadlock_case("rwlock", 2, &["mutex lock_a (", "rwlock table_lock ("]);
}

/// A copy of the C library without its build id and debug link, so that
/// the debug information libc6-dbg installs is not found for it, as on a
/// host without it: its directory, for LD_LIBRARY_PATH.
fn libc_without_debug_info() -> PathBuf {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ldd /bin/true | awk '/libc.so/{print $3}'")
        .output()
        .expect("ldd");
    let libc = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let dir = work_dir().join("libc-without-debug-info");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("libc.so.6");
    tool(
        "objcopy",
        &[
            "--remove-section",
            ".note.gnu.build-id",
            "--remove-section",
            ".gnu_debuglink",
            &libc,
            copy.to_str().unwrap(),
        ],
    );
    dir
}

/// Without the C library's debug information pthread_mutex_lock shows no
/// parameter: the mutex is the pointer the program's frame holds (take's
/// `m`, at -O0), and the cycles are found all the same.
#[test]
fn deadlock_without_the_c_librarys_debug_information() {
    let libc = libc_without_debug_info();
    let env = [("LD_LIBRARY_PATH", libc.as_path())];
    for (mode, n, locks) in [("ab", 2, &["mutex lock_a (", "mutex lock_b ("][..]), ("cycle3", 3, &["mutex lock_"][..])]
    {
        each_live_with("analysis/locks.c", &[mode], &["-O0"], &env, |snap, name| {
            let libc = snap["modules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["path"].as_str().unwrap().starts_with(libc.to_str().unwrap()));
            let libc = libc.unwrap_or_else(|| panic!("{name}: the copy of the C library is not mapped"));
            assert!(
                libc["debug_file"].is_null() && !libc["symbols"].as_str().unwrap().contains("dwarf"),
                "{name}: {libc}"
            );
            check_cycle(snap, name, n, locks);
        });
    }
}

/// Without the C library's debug information a rwlock taken with no
/// pointer in the program's frame (write_table locks a global) is not
/// known: the thread waiting for the mutex its writer holds gets a warning
/// saying so, and no classifier is given, neither deadlock nor contention.
#[test]
fn a_lock_that_cannot_be_named_is_no_contention() {
    let libc = libc_without_debug_info();
    each_live_with("analysis/locks.c", &["rwlock"], &["-O0"], &[("LD_LIBRARY_PATH", libc.as_path())], |snap, name| {
        assert_eq!(classifiers(snap), Vec::<String>::new(), "{name}");
        let waiter = workers(snap).into_iter().find(|t| functions(t).iter().any(|f| f == "writer_then_mutex")).unwrap();
        let (_, level, text) = annotated_frame(waiter, "deadlock");
        assert_eq!(level, "warning", "{name}");
        assert!(
            text.contains("waits for mutex lock_a (0x") && text.ends_with("waits for a lock whose owner is not known"),
            "{name}: {text}"
        );
    });
}

/// One thread holds lock_a and sleeps in read; two wait for it: exactly
/// `lock-contention` with that holder, a warning on each waiter's lock
/// frame saying where the holder is.
#[test]
fn lock_contention() {
    if !libc_debug_info_available() {
        return;
    }
    each_live("analysis/locks.c", &["contention"], |snap, name| {
        let (holder, holder_tid, waiters) = contention(snap, name, "hold_and_sleep");
        assert!(annotations_by(holder, "deadlock").is_empty(), "{name}");
        assert!(holder["frames"].as_array().unwrap().iter().all(|f| annotations_by(f, "deadlock").is_empty()));
        for tid in waiters {
            let (_, level, text) = annotated_frame(thread(snap, tid), "deadlock");
            assert_eq!(level, "warning", "{name}");
            assert_eq!(holder_in(&text), holder_tid, "{name}: {text}");
            assert!(text.contains("mutex lock_a (0x"), "{name}: {text}");
            assert!(text.contains("in read from hold_and_sleep (locks.c:"), "{name}: {text}");
        }
    });
}

/// A snapshot classified exactly `lock-contention`: the worker in
/// `function` holds the lock, the other workers wait, and the kv say so.
/// The holder, its tid and the waiters' tids.
fn contention<'s>(snap: &'s Value, name: &str, function: &str) -> (&'s Value, i64, Vec<i64>) {
    assert_eq!(classifiers(snap), ["lock-contention"], "{name}");
    let holder = workers(snap)
        .into_iter()
        .find(|t| functions(t).iter().any(|f| f == function))
        .unwrap_or_else(|| panic!("{name}: no holder"));
    let holder_tid = holder["tid"].as_i64().unwrap();
    let waiters: Vec<i64> =
        workers(snap).iter().map(|t| t["tid"].as_i64().unwrap()).filter(|t| *t != holder_tid).collect();
    assert_eq!(snap["kv"]["lock-contention.holders"], holder_tid.to_string(), "{name}");
    let listed = waiters.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    assert_eq!(snap["kv"]["lock-contention.waiters"], listed, "{name}");
    (holder, holder_tid, waiters)
}

/// Starts the Rust fixture `tests/fixtures/analysis/mutexes.rs` in `mode`
/// at opt-level 0 and 2, snapshots it once it is ready, and hands the
/// snapshot to `check` with a name for messages.
fn each_rust_live(mode: &str, check: impl Fn(&Value, &str)) {
    for opt in ["0", "2"] {
        let _serial = serial();
        let flags = ["--edition", "2021", "-g", "-C", &format!("opt-level={opt}")];
        let bin = build("analysis/mutexes.rs", &format!("analysis-mutexes-O{opt}"), &flags);
        let name = format!("analysis-mutexes-{mode}-O{opt}");
        let running = start(&bin, &[mode]);
        let snap = snapshot(running.pid(), &name, &[]);
        assert_released(running.pid());
        check(&snap, &name);
    }
}

/// Rust's `std::sync::Mutex` holds no owner: two threads taking two of
/// them in opposite order are a cycle found from the `MutexGuard` each
/// holds and the mutex each waits for in `lock_contended`, at -O0 and
/// -O2, each waiting thread's `Mutex<T>::lock` frame naming the static
/// it waits for and the thread holding it.
#[test]
fn rust_mutex_deadlock() {
    each_rust_live("ab", |snap, name| {
        check_cycle(snap, name, 2, &["mutex mutexes::LOCK_A (", "mutex mutexes::LOCK_B ("]);
        for worker in workers(snap) {
            let (frame, _, _) = annotated_frame(worker, "deadlock");
            assert_eq!(frame["function"], "std::sync::poison::mutex::Mutex<u64>::lock<u64>", "{name}");
        }
    });
}

/// A thread holds a Rust mutex and waits on a channel; two wait for the
/// mutex: exactly `lock-contention`, with that holder.
#[test]
fn rust_mutex_contention() {
    each_rust_live("contention", |snap, name| {
        let (_, holder_tid, waiters) = contention(snap, name, "mutexes::hold_and_wait");
        for tid in waiters {
            let (_, level, text) = annotated_frame(thread(snap, tid), "deadlock");
            assert_eq!((level.as_str(), holder_in(&text)), ("warning", holder_tid), "{name}: {text}");
            assert!(text.contains("mutex mutexes::LOCK_A (0x"), "{name}: {text}");
        }
    });
}

/// The same cycle with each held mutex's guard inside a struct of the
/// program's, where no `MutexGuard` variable shows who holds it (as when
/// the compiler keeps a guard in registers): no owner is known, and
/// nothing is claimed, neither deadlock nor contention.
#[test]
fn rust_mutex_without_a_visible_guard_is_no_claim() {
    each_rust_live("hidden", |snap, name| {
        assert_eq!(classifiers(snap), Vec::<String>::new(), "{name}");
        for worker in workers(snap) {
            let frames = worker["frames"].as_array().unwrap();
            assert!(frames.iter().all(|f| annotations_by(f, "deadlock").is_empty()), "{name}");
        }
        assert!(annotations_by(snap, "deadlock").is_empty(), "{name}");
    });
}

/// An abort of `source` with `args`: exactly `class`, kv `fault.message`
/// the message, and a critical annotation with it on the frame of the
/// function that aborted (`function`, by substring) and on the snapshot.
fn abort_case(source: &str, args: &[&str], class: &str, function: &str, message: &[&str]) {
    each_crash(source, args, |snap, name| {
        assert_eq!(snap["fault"]["signal"]["name"], "SIGABRT", "{name}");
        assert_eq!(classifiers(snap), [class], "{name}");
        let got = snap["kv"]["fault.message"].as_str().unwrap_or_else(|| panic!("{name}: no fault.message"));
        for piece in message {
            assert!(got.contains(piece), "{name}: {piece:?} is not in {got:?}");
        }
        let tid = snap["fault"]["tid"].as_i64().unwrap();
        let (frame, level, text) = annotated_frame(thread(snap, tid), "abort_message");
        assert!(frame["function"].as_str().unwrap().contains(function), "{name}: {}", frame["function"]);
        assert_eq!((level.as_str(), text), ("critical", format!("{class}: {got}")), "{name}");
        assert_eq!(annotations_by(snap, "abort_message"), [format!("{class}: {got}")], "{name}");
        assert_shown_first(snap, name, class, "abort_message");
    });
}

/// glibc's message: the program, file and line, the function (gcc names
/// it, clang gives its signature) and the expression.
#[test]
fn failed_assert() {
    let line = format!("faults.c:{}: ", line_of("analysis/faults.c", "assert"));
    let message = [line.as_str(), "withdraw", ": Assertion `amount <= a->balance' failed."];
    abort_case("faults.c", &["assert"], "assert", "assert_fail", &message);
}

#[test]
fn double_free() {
    // malloc_printerr is a local symbol: named with the C library's debug
    // information only.
    if libc_debug_info_available() {
        abort_case(
            "faults.c",
            &["doublefree"],
            "heap-corruption",
            "malloc_printerr",
            &["free(): double free detected in tcache 2"],
        );
    }
}

#[test]
fn uncaught_cpp_exception() {
    let message = "terminate called after throwing an instance of 'inventory::out_of_stock': what(): no more widgets";
    abort_case("uncaught.cpp", &[], "uncaught-exception", "__cxa_throw", &[message]);
}

/// A crash of `faults.c` in `mode`: exactly `class`, in kv `fault.class`,
/// with a critical annotation on the faulting frame (which runs
/// `function`, or is outside any function) holding every piece of
/// `evidence`, and the same answer on the snapshot.
fn fault_case(mode: &str, class: &str, function: Option<&str>, evidence: &[&str]) {
    each_crash("faults.c", &[mode], |snap, name| {
        assert_eq!(classifiers(snap), [class], "{name}");
        assert_eq!(snap["kv"]["fault.class"], class, "{name}");
        let frame = faulting_frame(snap);
        assert_eq!(frame["function"].as_str(), function, "{name}");
        let notes = annotations_by(frame, "fault_class");
        assert_eq!(notes.len(), 1, "{name}: {notes:?}");
        assert!(notes[0].starts_with(&format!("{class}: ")), "{name}: {notes:?}");
        for piece in evidence {
            assert!(notes[0].contains(piece), "{name}: {piece:?} is not in {notes:?}");
        }
        let answer = annotations_by(snap, "fault_class");
        assert!(answer.len() == 1 && answer[0].starts_with(class), "{name}: {answer:?}");
        assert_shown_first(snap, name, class, "fault_class");
    });
}

#[test]
fn null_dereference() {
    fault_case(
        "null",
        "null-dereference",
        Some("credit"),
        &["access to 0x8", "first 64 KiB", "a null pointer plus 8 ("],
    );
}

#[test]
fn stack_overflow_by_recursion() {
    fault_case("overflow", "stack-overflow", Some("descend"), &["below the stack", "[stack]", "frames of descend"]);
}

#[test]
fn write_to_a_string_literal() {
    fault_case("rodata", "write-to-readonly", Some("shout"), &["\"hello\"", "without write permission", "r--p"]);
}

#[test]
fn call_through_a_bad_function_pointer() {
    fault_case(
        "badcall",
        "bad-jump",
        None,
        &["the pc 0x7fff00001234", "no executable mapping (not mapped)", "jumped to from"],
    );
}

#[test]
fn non_canonical_address() {
    fault_case(
        "noncanon",
        "non-canonical-address",
        Some("poke"),
        &["general protection fault (SI_KERNEL, no address)", "not canonical: address = 0xdead000000000000"],
    );
}

#[test]
fn divide_by_zero() {
    fault_case("div0", "divide-by-zero", Some("average"), &["FPE_INTDIV"]);
}

const MODULES: [&str; 5] = ["fault_class", "deadlock", "abort_message", "rust_panic", "hang_summary"];

/// The annotations the analysis modules made on threads and frames.
fn analysis_notes(snap: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    for t in snap["threads"].as_array().unwrap() {
        for v in std::iter::once(t).chain(t["frames"].as_array().unwrap()) {
            for m in MODULES {
                notes.extend(annotations_by(v, m).into_iter().map(|n| format!("thread {}: {n}", t["tid"])));
            }
        }
    }
    notes
}

/// The hang summary's line: `groups` then main in pthread_join (which
/// tail-calls __pthread_clockjoin_ex: the frame of pthread_join is there
/// only when the caller's call site information recovers it).
fn assert_summary(snap: &Value, name: &str, groups: &str) {
    let got = annotations_by(snap, "hang_summary");
    assert_eq!(got.len(), 1, "{name}: {got:?}");
    let (first, last) = got[0].rsplit_once("; ").unwrap();
    assert_eq!(first, groups, "{name}");
    assert!(
        ["1 thread waiting in pthread_join from main", "1 thread waiting in __pthread_clockjoin_ex from main"]
            .contains(&last),
        "{name}: {last}"
    );
}

/// A healthy process, workers waiting for work and two threads
/// computing: no classifier, no annotation on any thread or frame, and
/// the hang summary says where the threads are.
#[test]
fn healthy_busy_process_gets_no_classifier() {
    each_live("analysis/busy.c", &["8"], |snap, name| {
        assert_eq!(classifiers(snap), Vec::<String>::new(), "{name}");
        assert_eq!(analysis_notes(snap), Vec::<String>::new(), "{name}");
        let kv = &snap["kv"];
        assert_eq!(kv["hang.threads"], 11, "{name}");
        assert_eq!(kv["hang.blocking_point"], "waiting in pthread_cond_wait from wait_for_work <- worker", "{name}");
        // The computing threads are in collatz_steps or between two calls
        // of it, in compute: three or four groups.
        assert_eq!(kv["hang.blocking_threads"], 8, "{name}");
        assert!(matches!(kv["hang.groups"].as_i64(), Some(3 | 4)), "{name}: {}", kv["hang.groups"]);
        let summary = annotations_by(snap, "hang_summary");
        let first = "hang: 11 threads: 8 threads waiting in pthread_cond_wait from wait_for_work <- worker; ";
        assert!(summary.len() == 1 && summary[0].starts_with(first), "{name}: {summary:?}");
        for m in ["fault_class", "deadlock", "abort_message", "rust_panic"] {
            assert!(annotations_by(snap, m).is_empty(), "{name}: {m}");
        }
    });
}

/// The hang fixture: its two deadlocked threads are the only thing
/// classified; its 20 idle threads get no annotation and are the biggest
/// group of the summary.
#[test]
fn hang_fixture_idle_threads_are_summarized_not_classified() {
    let debug = libc_debug_info_available();
    each_live("hang.c", &["20"], |snap, name| {
        let expected: &[&str] = if debug { &["deadlock"] } else { &[] };
        assert_eq!(classifiers(snap), expected, "{name}");
        let idle: Vec<&Value> =
            workers(snap).into_iter().filter(|t| functions(t).iter().any(|f| f == "idle_worker")).collect();
        assert_eq!(idle.len(), 20, "{name}");
        let notes = analysis_notes(snap);
        assert!(
            idle.iter().all(|t| !notes.iter().any(|n| n.starts_with(&format!("thread {}:", t["tid"])))),
            "{name}: {notes:?}"
        );
        assert_eq!(notes.len(), if debug { 2 } else { 0 }, "{name}: the two deadlocked threads: {notes:?}");
        let kv = &snap["kv"];
        assert_eq!(
            kv["hang.blocking_point"], "waiting in pthread_cond_wait from idle_forever <- idle_worker",
            "{name}"
        );
        assert_eq!((kv["hang.threads"].as_i64(), kv["hang.blocking_threads"].as_i64()), (Some(23), Some(20)), "{name}");
        assert_summary(
            snap,
            name,
            "hang: 23 threads: 20 threads waiting in pthread_cond_wait from idle_forever <- idle_worker; \
             2 threads waiting in pthread_mutex_lock from take_second",
        );
    });
}

/// A crash is no hang: the summary stays out of a crash's snapshot.
#[test]
fn no_hang_summary_for_a_crash() {
    each_crash("faults.c", &["null"], |snap, name| {
        assert!(snap["kv"].get("hang.threads").is_none() && annotations_by(snap, "hang_summary").is_empty(), "{name}");
    });
}

/// --no-module switches off one analysis and leaves the others.
#[test]
fn each_module_can_be_switched_off() {
    let _serial = serial();
    let bin = build("analysis/faults.c", "analysis-faults-switch", &["-g", "-O0"]);
    let (snap, _, _) = run_crash(&bin, &["null"], "analysis-switch", &["--no-module", "fault_class"]);
    let snap = snap.unwrap();
    assert!(classifiers(&snap).is_empty(), "{}", snap["classifiers"]);
    let ids: Vec<&str> = snap["pmodules"].as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, ["fault_summary", "deadlock", "abort_message", "hang_summary", "rust_panic"]);
}
