//! Core files: ptsnap's reading of ELF core dumps (gcore's and the
//! kernel's) checked against gdb on the same core and against the live
//! process the core was taken of.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
use ptsnap::arch::CpuState;
use ptsnap::coredump::{Bytes, Core, CoreMemory, local_files};
use ptsnap::memory::Memory;
use serde_json::Value;

/// A core of the running process `pid` written by gdb's gcore.
fn gcore(pid: i32, name: &str) -> PathBuf {
    let prefix = work_dir().join(name);
    let out = Command::new("gcore").arg("-o").arg(&prefix).arg(pid.to_string()).output().expect("gcore runs");
    let core = PathBuf::from(format!("{}.{pid}", prefix.display()));
    assert!(core.exists(), "gcore wrote no core: {}", String::from_utf8_lossy(&out.stderr));
    core
}

/// The registers compared with gdb's.
const REGISTERS: &str =
    "rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 rip eflags cs ss fs_base gs_base";

/// gdb's `REGISTERS` of every thread of `core`, by LWP.
fn gdb_registers(prog: &Path, core: &Path) -> BTreeMap<i32, BTreeMap<String, u64>> {
    let out = Command::new("gdb")
        .args(["-batch", "-nx"])
        .arg(prog)
        .arg(core)
        .args(["-ex", &format!("thread apply all info registers {REGISTERS}")])
        .output()
        .expect("gdb runs");
    let mut all = BTreeMap::new();
    let mut current = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(lwp) = line.split("(LWP ").nth(1) {
            current = lwp.split(')').next().and_then(|t| t.parse().ok());
            continue;
        }
        let mut words = line.split_whitespace();
        if let (Some(tid), Some(name), Some(value)) = (current, words.next(), words.next())
            && let Some(hex) = value.strip_prefix("0x")
            && let Ok(v) = u64::from_str_radix(hex, 16)
        {
            all.entry(tid).or_insert_with(BTreeMap::new).insert(name.to_string(), v);
        }
    }
    all
}

fn started_hang(threads: &str) -> (PathBuf, Running) {
    let bin = build("hang.c", "core-hang", &["-g", "-O0", "-pthread"]);
    let running = start(&bin, &[threads]);
    (bin, running)
}

#[test]
fn registers_equal_gdbs_on_the_same_core() {
    if !tool_available("gcore") || !tool_available("gdb") {
        return;
    }
    let _g = serial();
    let (bin, running) = started_hang("3");
    let path = gcore(running.pid(), "core-regs");
    let core = Core::open(&path).unwrap();
    let gdb = gdb_registers(&bin, &path);
    assert_eq!(core.threads.len(), 6, "main, two deadlocked, three idle");
    assert_eq!(gdb.len(), core.threads.len());
    for t in &core.threads {
        let theirs = &gdb[&t.tid];
        // The registers as the snapshot names them (arch::CpuState).
        let ours = CpuState { general: Some(t.regs), vector: None }.snapshot_registers();
        for name in REGISTERS.split_whitespace() {
            let value = ours.get(name).map(|v| v as u64);
            assert_eq!(theirs.get(name).copied(), value, "thread {} register {name}", t.tid);
        }
        assert!(t.fpregs.is_some(), "thread {} has its vector registers", t.tid);
    }
}

/// The file mappings of /proc/PID/maps as (start, end, offset, path).
fn live_file_maps(pid: i32) -> Vec<(u64, u64, u64, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let path = f.get(5).filter(|p| p.starts_with('/') && f[4] != "0")?;
            let (s, e) = f[0].split_once('-')?;
            let hex = |t: &str| u64::from_str_radix(t, 16).unwrap();
            Some((hex(s), hex(e), hex(f[2]), path.to_string()))
        })
        .collect()
}

#[test]
fn mapped_files_and_memory_equal_the_live_process() {
    if !tool_available("gcore") {
        return;
    }
    let _g = serial();
    let (_bin, running) = started_hang("1");
    let pid = running.pid();
    let path = gcore(pid, "core-memory");
    let core = Arc::new(Core::open(&path).unwrap());
    let files: Vec<_> = core.files.iter().map(|f| (f.start, f.end, f.offset, f.path.clone())).collect();
    assert_eq!(files, live_file_maps(pid));
    let memory = CoreMemory::new(core.clone(), local_files());
    let live = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let live_read = |addr: u64, len: usize| {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; len];
        live.read_exact_at(&mut buf, addr).unwrap();
        buf
    };
    let main = core.threads.iter().find(|t| t.tid == pid).unwrap();
    let exe = &core.files[0];
    // The main thread's stack words; the executable's ELF header (dumped)
    // and its code (not dumped by gcore: read from the file); a page
    // across the executable's writable data (the mutexes).
    let writable = core.segments.iter().find(|s| s.writable && s.vaddr >= exe.start).unwrap();
    let code = core.files.iter().find(|f| f.path == exe.path && f.offset > 0).unwrap();
    assert!(core.segment_at(code.start).is_none_or(|s| s.filesz == 0), "gcore left the code out");
    for (addr, len) in [(main.regs.rsp, 256), (exe.start, 64), (code.start, 4096), (writable.vaddr, 512)] {
        let mut ours = vec![0u8; len];
        memory.read(addr, &mut ours).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ours, live_read(addr, len), "{len} bytes at {addr:#x}");
    }
    assert!(memory.read(0x1000, &mut [0u8; 8]).is_err(), "unmapped memory is an error");
}

/// A core's first `len` bytes, without a copy.
struct Prefix(Arc<Vec<u8>>, usize);

impl AsRef<[u8]> for Prefix {
    fn as_ref(&self) -> &[u8] {
        &self.0[..self.1]
    }
}

#[test]
fn truncated_cores_are_errors_or_short_reads_never_panics() {
    if !tool_available("gcore") {
        return;
    }
    let _g = serial();
    let (_bin, running) = started_hang("1");
    let path = gcore(running.pid(), "core-truncated");
    let whole = Arc::new(std::fs::read(&path).unwrap());
    let full = Core::parse(Arc::new(Prefix(whole.clone(), whole.len())) as Bytes).unwrap();
    let notes_at = full.segments.iter().map(|s| s.offset + s.filesz).max().unwrap() as usize;
    // Every byte of the headers and of the notes, and a spread of
    // offsets through the memory.
    let mut cuts: Vec<usize> = (0..4096).chain(notes_at.saturating_sub(64)..whole.len()).collect();
    cuts.extend((0..whole.len()).step_by(whole.len() / 97));
    let (mut failed, mut parsed) = (0, 0);
    for len in cuts {
        match Core::parse(Arc::new(Prefix(whole.clone(), len)) as Bytes) {
            Err(e) => {
                assert!(!e.to_string().is_empty());
                failed += 1;
            }
            Ok(core) => {
                parsed += 1;
                let core = Arc::new(core);
                let memory = CoreMemory::new(core.clone(), local_files());
                let mut buf = [0u8; 64];
                for t in &core.threads {
                    let _ = memory.read(t.regs.rsp, &mut buf);
                }
            }
        }
    }
    assert!(failed > 0 && parsed > 0, "{failed} failed, {parsed} parsed");
}

/// `ptsnap core` of `core` with `extra` options; returns the snapshot.
fn core_snapshot(core: &Path, name: &str, extra: &[&str]) -> Value {
    let out = work_dir().join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let o = Command::new(ptsnap_bin()).arg("core").arg("-o").arg(&out).args(extra).arg(core).output().unwrap();
    assert!(o.status.success(), "ptsnap core failed: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), out.to_str().unwrap());
    read_json(&out)
}

/// Whether a thread's innermost pc in the core is its live pc less the
/// two bytes of x86-64's `syscall`: the live snapshot stopped the thread
/// in a system call (pc after the instruction), and the kernel rewound the
/// pc to restart the call when the thread was let go, before the dump
/// caught it (had it entered the call again, the pc would be as live).
fn restarted_syscall(core_pc: &Value, live_pc: &Value) -> bool {
    let pc = |v: &Value| v.as_str().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
    matches!((pc(core_pc), pc(live_pc)), (Some(c), Some(l)) if l.checked_sub(2) == Some(c))
}

/// What the core's snapshot shares with the live one.
#[derive(Default)]
struct Same {
    frames: usize,
    variables: usize,
}

/// Every thread of `live` (or only thread `only`) is in `core` with the
/// same frames (function, file, line, inline), the same parameters,
/// locals and TLS variables; the same globals and modules.
fn assert_same_as_live(live: &Value, core: &Value, what: &str, only: Option<&Value>) -> Same {
    let mut same = Same::default();
    let live_threads = live["threads"].as_array().unwrap();
    assert_eq!(live_threads.len(), core["threads"].as_array().unwrap().len(), "{what}: threads");
    for lt in live_threads.iter().filter(|t| only.is_none_or(|tid| t["tid"] == *tid)) {
        let ct = thread(core, lt["tid"].as_i64().unwrap());
        assert_eq!(frames(ct), frames(lt), "{what}: frames of thread {}", lt["tid"]);
        assert_eq!(ct["tls"], lt["tls"], "{what}: TLS of thread {}", lt["tid"]);
        let innermost_pc = lt["frames"][0]["pc"].clone();
        let restarted = restarted_syscall(&ct["frames"][0]["pc"], &innermost_pc);
        for (cf, lf) in ct["frames"].as_array().unwrap().iter().zip(lt["frames"].as_array().unwrap()) {
            // The innermost frame and those inlined into it. At the rewound
            // pc the scopes and location lists are those of the `syscall`
            // instruction itself: other variables, or others in registers.
            let rewound = restarted && lf["pc"] == innermost_pc && lf["sp"] == lt["frames"][0]["sp"];
            for key in ["pc", "sp", "cfa", "inlined", "unwind", "module", "faulted"] {
                if key == "pc" && rewound {
                    continue;
                }
                assert_eq!(cf[key], lf[key], "{what}: {key} of {}", lf["function"]);
            }
            for list in ["parameters", "locals"].into_iter().filter(|_| !rewound) {
                let diff = differences(&cf[list], &lf[list], "");
                assert!(diff.is_empty(), "{what}: {list} of {} in thread {}: {diff:?}", lf["function"], lt["tid"]);
                same.variables += lf[list].as_array().unwrap().len();
            }
            same.frames += 1;
        }
    }
    assert_eq!(core["globals"], live["globals"], "{what}: globals");
    same.variables += live["globals"].as_array().map_or(0, Vec::len);
    let modules = |s: &Value| -> Vec<(Value, Value)> {
        s["modules"].as_array().unwrap().iter().map(|m| (m["path"].clone(), m["build_id"].clone())).collect()
    };
    assert_eq!(modules(core), modules(live), "{what}: modules");
    assert_eq!(core["process"]["state"], "core");
    assert_eq!((core["timings"]["stop_us"].as_u64(), core["timings"]["paused_us"].as_u64()), (Some(0), Some(0)));
    assert!(core["errors"].as_array().unwrap().is_empty(), "{what}: errors {}", core["errors"]);
    same
}

/// Where two values differ (at most a few paths, with both sides).
fn differences(a: &Value, b: &Value, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    match (a, b) {
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                let name = p["name"].as_str().map_or_else(|| format!("[{i}]"), |n| format!(".{n}"));
                out.extend(differences(p, q, &format!("{path}{name}")));
            }
        }
        (Value::Object(x), Value::Object(y)) if x.keys().eq(y.keys()) => {
            for (k, p) in x {
                let sub = if matches!(p, Value::Array(_) | Value::Object(_)) {
                    path.to_string()
                } else {
                    format!("{path}:{k}")
                };
                out.extend(differences(p, &y[k], &sub));
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: core {a}, live {b}")),
    }
    out.truncate(5);
    out
}

/// gdb on the core as the oracle for the core snapshot's variables.
fn gdb_on_core(bin: &Path, core: &Path, name: &str) -> (usize, usize) {
    let snap = core_snapshot(core, &format!("{name}-gdb"), &["--deref-depth", "0"]);
    gdb::compare(name, &snap, &[bin.as_os_str(), core.as_os_str()])
}

/// A fixture started, snapshotted live, then dumped by gcore: the core's
/// snapshot equals the live one, and gdb on the core agrees with it.
fn gcore_case(source: &str, opt: &str, args: &[&str]) {
    let _g = serial();
    let name = format!("core-{}{opt}", source.replace('.', "-"));
    let flags = ["-g", opt, "-pthread"];
    let bin = build(source, &name, &flags);
    let running = start(&bin, args);
    // Stopped, so that nothing changes between the two (the kernel writes
    // a thread's CPU number into its rseq area whenever it runs).
    let stop = Command::new("kill").args(["-STOP", &running.pid().to_string()]).status().unwrap();
    assert!(stop.success());
    let module = counting_module();
    let opts = ["--globals", "--module-load", module.to_str().unwrap()];
    let live = snapshot(running.pid(), &format!("{name}-live"), &opts);
    let core = gcore(running.pid(), &name);
    drop(running);
    let snap = core_snapshot(&core, &name, &opts);
    let same = assert_same_as_live(&live, &snap, &name, None);
    // The module saw the same events and values, and that this is a core.
    assert_eq!(snap["kv"]["frames"], live["kv"]["frames"], "{name}: frame events");
    assert_eq!(snap["kv"]["variables"], live["kv"]["variables"], "{name}: variable events");
    assert_eq!(snap["kv"]["state"], snap["kv"]["core"], "{name}: process_state() is core");
    assert_ne!(live["kv"]["state"], live["kv"]["core"]);
    let (compared, equal) = gdb_on_core(&bin, &core, &name);
    eprintln!(
        "{name}: vs live: {} frames and {} variables equal; vs gdb on the core: {equal}/{compared} values equal",
        same.frames, same.variables
    );
    let _ = std::fs::remove_file(core);
}

/// A pmodule that counts the frame and variable events it gets, reads
/// every variable's value (memory, through the module API) and records
/// `process_state()`.
fn counting_module() -> PathBuf {
    let path = work_dir().join("core-counting.lua");
    let source = r#"
local frames, variables = 0, 0
pmodule.define{ id = "counting", load = function()
    pmodule.register(pmodule.event.frame, function(fr) frames = frames + 1 end)
    pmodule.register(pmodule.event.variable, function(var)
        variables = variables + 1
        local _ = var:value()
    end)
    pmodule.register(pmodule.event.postattach, function(bt)
        bt:add_kv_int("frames", frames)
        bt:add_kv_int("variables", variables)
        bt:add_kv_int("state", bt:process_state())
        bt:add_kv_int("core", pmodule.process_state.core)
    end)
end }
"#;
    std::fs::write(&path, source).unwrap();
    path
}

#[test]
fn gcore_of_a_hung_process_gives_the_live_snapshot() {
    if !tool_available("gcore") || !tool_available("gdb") {
        return;
    }
    for opt in ["-O0", "-O2"] {
        gcore_case("hang.c", opt, &["4"]);
    }
}

#[test]
fn gcore_of_cpp_values_gives_the_live_snapshot() {
    if !tool_available("gcore") || !tool_available("gdb") {
        return;
    }
    for opt in ["-O0", "-O2"] {
        gcore_case("classes.cpp", opt, &[]);
    }
}

/// None, after saying why: the kernel's core_pattern gives the test no
/// core file to read. Under CI that fails the test.
fn unusable<T>(why: String) -> Option<T> {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}; set kernel.core_pattern to a file name");
    eprintln!("skipped: {why}");
    None
}

/// Runs `argv` with core dumps allowed, in `dir` (made afresh), and
/// returns the core the kernel wrote when the program died; `on_ready`
/// is called with the pid of `argv`'s process when the program prints its
/// ready line, and the exit status is `status` when one is given. The
/// test's own files in `dir` are named `ptsnap-*`.
fn kernel_core(dir: &Path, argv: &[&OsStr], status: Option<i32>, on_ready: impl Fn(i32)) -> Option<PathBuf> {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap().trim().to_string();
    if pattern.starts_with('|') {
        return unusable(format!("kernel.core_pattern pipes cores to a program ({pattern})"));
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    // (File times are coarser than the clock.)
    let started = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -c unlimited && exec \"$0\" \"$@\""])
        .args(argv)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for line in std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap())) {
        if line.unwrap().trim() == "ready" {
            on_ready(child.id() as i32);
        }
    }
    let exit = child.wait().unwrap();
    if let Some(code) = status {
        assert_eq!(exit.code(), Some(code), "{argv:?}: the program died of signal {}", code - 128);
    }
    // The pattern's directory (relative to the crashed program's), and
    // the file name up to its first %-specifier.
    let pattern = Path::new(&pattern);
    let where_ = dir.join(pattern.parent().unwrap_or(Path::new("")));
    let prefix = pattern.file_name().unwrap().to_string_lossy().split('%').next().unwrap().to_string();
    let core = std::fs::read_dir(&where_).ok().into_iter().flatten().filter_map(Result::ok).find(|e| {
        let fresh = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t >= started);
        let name = e.file_name().to_string_lossy().into_owned();
        name.starts_with(&prefix) && !name.starts_with("ptsnap-") && fresh
    });
    match core {
        Some(core) => Some(core.path()),
        None => {
            unusable(format!("the kernel wrote no core into {} (core_pattern {})", where_.display(), pattern.display()))
        }
    }
}

/// Runs `bin args` under `ptsnap run` in `dir` with core dumps allowed:
/// returns ptsnap's snapshot and the core the kernel wrote when the signal
/// ptsnap passed on killed the program. `on_ready` gets ptsnap's pid.
fn run_with_kernel_core(
    bin: &Path,
    args: &[&str],
    dir: &Path,
    signal: i32,
    on_ready: impl Fn(i32),
) -> Option<(Value, PathBuf)> {
    let out = dir.join("ptsnap-snapshot.json");
    let mut argv: Vec<&OsStr> = vec![ptsnap_bin().as_ref()];
    argv.extend(["run", "--globals", "-o"].map(OsStr::new));
    argv.extend([out.as_os_str(), "--".as_ref(), bin.as_os_str()]);
    argv.extend(args.iter().map(OsStr::new));
    let core = kernel_core(dir, &argv, Some(128 + signal), on_ready)?;
    Some((read_json(&out), core))
}

/// gdb runs `bin args` in `dir` up to its fatal signal, writes its core of
/// that stop (`generate-core-file`, as gcore does) and lets the signal
/// kill the program: returns gdb's core and the kernel's of the same state.
fn gdb_and_kernel_cores(bin: &Path, args: &[&str], dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let gcore = dir.join("ptsnap-gcore");
    let write = format!("generate-core-file {}", gcore.display());
    let mut argv: Vec<&OsStr> =
        ["gdb", "-nx", "-batch", "-ex", "run", "-ex", &write, "-ex", "continue", "--args"].map(OsStr::new).to_vec();
    argv.push(bin.as_os_str());
    argv.extend(args.iter().map(OsStr::new));
    let kernel = kernel_core(dir, &argv, None, |_| {})?;
    assert!(gcore.exists(), "gdb wrote no core of {}", bin.display());
    Some((gcore, kernel))
}

/// The core's fault is the one `expected` has: the thread and the signal.
fn assert_same_fault(expected: &Value, core: &Value, what: &str) {
    let (ef, cf) = (&expected["fault"], &core["fault"]);
    assert_eq!(cf["tid"], ef["tid"], "{what}: the faulting thread");
    for key in ["num", "name", "code", "code_name", "address", "reason"] {
        assert_eq!(cf["signal"][key], ef["signal"][key], "{what}: fault {key}");
    }
    assert_eq!(cf["signal"]["source"], "core", "{what}");
}

/// The kernel's core of a crash (at -O0 and -O2, gcc and clang; C and
/// C++; SIGSEGV and an abort; a thread's crash and the main thread's) gives ptsnap run's snapshot of it; gdb's
/// core of the same stop gives the snapshot the kernel's core of it does;
/// gdb on each core agrees with ptsnap.
#[test]
fn kernel_and_gdb_cores_of_a_crash_give_run_modes_snapshot() {
    if !tool_available("gdb") {
        return;
    }
    let _g = serial();
    let cases: [(&str, &[&str], i32); 4] = [
        ("crash.c", &["3", "main"], 11),
        ("crash.c", &["3", "thread"], 11),
        ("abort.c", &[], 6),
        ("shop.cpp", &[], 11),
    ];
    let builds = [(Compiler::Gcc, "-O0"), (Compiler::Gcc, "-O2"), (Compiler::Clang, "-O2")];
    for (compiler, opt) in builds.into_iter().filter(|(c, _)| c.available()) {
        // clang: the crash in a thread is enough of crash.c.
        for (source, args, signal) in
            cases.into_iter().filter(|(_, a, _)| compiler == Compiler::Gcc || *a != ["3", "main"])
        {
            let name = format!("core-{}{opt}-{}", source.replace('.', "-"), args.last().unwrap_or(&"main"));
            let bin = build_with(compiler, source, &name, &["-g", opt, "-pthread"]);
            let name = format!("{name}-{}", compiler.name());
            let dir = work_dir().join(format!("{name}-cores"));
            let Some((live, core)) = run_with_kernel_core(&bin, args, &dir, signal, |_| {}) else { return };
            let snap = core_snapshot(&core, &name, &["--globals"]);
            assert_same_fault(&live, &snap, &name);
            // The other threads ran on between ptsnap's snapshot and the
            // kernel's dump: the faulting thread is compared.
            let same = assert_same_as_live(&live, &snap, &name, Some(&live["fault"]["tid"]));
            let (compared, equal) = gdb_on_core(&bin, &core, &name);
            eprintln!(
                "{name}: vs ptsnap run (faulting thread, globals): {} frames and {} variables equal; vs gdb on the core: {equal}/{compared} values equal",
                same.frames, same.variables
            );
            // gdb's core (of gcc's builds: the reading is the same), but
            // of one crash of the two.
            if compiler != Compiler::Gcc || args == ["3", "main"] {
                continue;
            }
            let name = format!("{name}-gdb");
            let Some((gcore, kernel)) = gdb_and_kernel_cores(&bin, args, &dir) else { return };
            let (ours, kernels) = (
                core_snapshot(&gcore, &name, &["--globals"]),
                core_snapshot(&kernel, &format!("{name}-kernel"), &["--globals"]),
            );
            assert_same_fault(&kernels, &ours, &name);
            // The faulting thread: gdb resumes the others to deliver the
            // signal (the main thread may not have reached pthread_join);
            // gdb checks every thread of its core.
            let same = assert_same_as_live(&kernels, &ours, &name, Some(&kernels["fault"]["tid"]));
            let (compared, equal) = gdb_on_core(&bin, &gcore, &name);
            eprintln!(
                "{name}: gdb's core vs the kernel's of the same stop: {} frames and {} variables equal; vs gdb on it: {equal}/{compared} values equal",
                same.frames, same.variables
            );
        }
    }
}

/// The pid of a process `parent` started.
fn child_of(parent: i32) -> i32 {
    let tasks = std::fs::read_dir(format!("/proc/{parent}/task")).unwrap();
    let children = tasks.filter_map(Result::ok).filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok());
    children
        .flat_map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find_map(|p| p.parse().ok())
        .unwrap()
}

/// The kernel's core of a hung process of many threads, aborted from
/// outside (`ptsnap run` snapshots it at the signal first): every thread
/// is as in run mode's snapshot, and gdb on the core agrees.
#[test]
fn kernel_core_of_a_hung_process_gives_run_modes_snapshot() {
    if !tool_available("gdb") {
        return;
    }
    let _g = serial();
    for opt in ["-O0", "-O2"] {
        let name = format!("core-kernel-hang{opt}");
        let bin = build("hang.c", &name, &["-g", opt, "-pthread"]);
        let abort = |ptsnap: i32| {
            let status = Command::new("kill").args(["-ABRT", &child_of(ptsnap).to_string()]).status().unwrap();
            assert!(status.success());
        };
        let dir = work_dir().join(format!("{name}-cores"));
        let Some((live, core)) = run_with_kernel_core(&bin, &["10"], &dir, 6, abort) else { return };
        let mut snap = core_snapshot(&core, &name, &["--globals"]);
        assert_eq!(snap["threads"].as_array().unwrap().len(), 13, "main, two deadlocked, 10 idle");
        // The threads ran between the two (the signal was delivered), and
        // the kernel wrote the CPU each ran on into its rseq area.
        let mut live = live;
        forget_rseq(&mut live);
        forget_rseq(&mut snap);
        assert_same_fault(&live, &snap, &name);
        let same = assert_same_as_live(&live, &snap, &name, None);
        let (compared, equal) = gdb_on_core(&bin, &core, &name);
        eprintln!(
            "{name}: vs ptsnap run: {} frames and {} variables equal; vs gdb on the core: {equal}/{compared} values equal",
            same.frames, same.variables
        );
    }
}

/// A gcore'd hang.c built as `name` at -O0, its process gone.
fn dumped_hang(name: &str) -> (PathBuf, PathBuf) {
    let bin = build("hang.c", name, &["-g", "-O0", "-pthread"]);
    let running = start(&bin, &["1"]);
    let core = gcore(running.pid(), name);
    (bin, core)
}

#[test]
fn bad_cores_are_one_line_errors_or_errors_entries() {
    if !tool_available("gcore") {
        return;
    }
    let _g = serial();
    let (bin, core) = dumped_hang("core-bad");
    let bytes = std::fs::read(&core).unwrap();
    let cut = |name: &str, len: usize| {
        let path = work_dir().join(name);
        std::fs::write(&path, &bytes[..len]).unwrap();
        path
    };
    let out = work_dir().join("core-bad.json");
    // Each run's snapshot is its own: none is left from the run before.
    let run = |core: &Path, extra: &[&str]| {
        let _ = std::fs::remove_file(&out);
        Command::new(ptsnap_bin()).arg("core").arg("-o").arg(&out).args(extra).arg(core).output().unwrap()
    };
    // Not a core, no file, a core cut in its ELF header or in its notes.
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let phdrs = || (0..u16::from_le_bytes([bytes[56], bytes[57]]) as usize).map(|i| word(32) + i * 56);
    let notes =
        phdrs().find(|&ph| bytes[ph..ph + 4] == 4u32.to_le_bytes()).map(|ph| word(ph + 8) + word(ph + 32) / 2).unwrap();
    for (what, path, expected) in [
        ("an executable", bin.clone(), "not a core file"),
        ("a missing file", work_dir().join("no-such-core"), "cannot read the core"),
        ("a cut header", cut("core-bad-header", 40), "corrupt or truncated core"),
        ("cut notes", cut("core-bad-notes", notes), "corrupt or truncated core"),
    ] {
        let err = one_line_error(&run(&path, &[]));
        assert!(err.contains(expected), "{what}: {err}");
    }
    // Memory past its end (a segment whose bytes would be beyond the end
    // of the file: the kernel's cores hold the notes first, so a cut one
    // keeps them): a snapshot, what is missing reported where needed.
    let mut patched = bytes.clone();
    for ph in phdrs().filter(|&ph| bytes[ph..ph + 4] == 1u32.to_le_bytes() && word(ph + 32) > 0) {
        patched[ph + 8..ph + 16].copy_from_slice(&(bytes.len() as u64 - 64).to_le_bytes());
    }
    let memoryless = work_dir().join("core-bad-memory");
    std::fs::write(&memoryless, patched).unwrap();
    let o = run(&memoryless, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read_json(&out);
    // Segments whose file part would reach past the end of the address
    // space (p_filesz beyond p_memsz, as only a corrupt core has): read
    // as far as the file goes, no overflow.
    let mut patched = bytes.clone();
    for ph in phdrs().filter(|&ph| bytes[ph..ph + 4] == 1u32.to_le_bytes()) {
        let vaddr = u64::from_le_bytes(bytes[ph + 16..ph + 24].try_into().unwrap());
        patched[ph + 32..ph + 40].copy_from_slice(&(u64::MAX - vaddr).wrapping_add(0x1000).to_le_bytes());
    }
    let endless = work_dir().join("core-bad-filesz");
    std::fs::write(&endless, patched).unwrap();
    let o = run(&endless, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read_json(&out);

    // The executable rebuilt since: not used, and said so.
    let original = std::fs::read(&bin).unwrap();
    build("hang.c", "core-bad", &["-g", "-O1", "-pthread"]);
    let o = run(&core, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let snap = read_json(&out);
    let errors = snap["errors"].to_string();
    assert!(errors.contains("is not the file the process mapped"), "{errors}");
    let exe = snap["modules"].as_array().unwrap().iter().find(|m| m["path"] == bin.to_str().unwrap()).unwrap();
    assert!(exe["build_id"].is_null() && exe["error"].as_str().unwrap().contains("build-id"), "{exe}");
    let main = thread(&snap, snap["process"]["pid"].as_i64().unwrap());
    assert!(!functions(main).contains(&"main".to_string()), "no symbol from the rebuilt file: {:?}", functions(main));

    // --exe: the right executable, somewhere else.
    let moved = work_dir().join("core-bad-original");
    std::fs::write(&moved, original).unwrap();
    let o = run(&core, &["--exe", moved.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let snap = read_json(&out);
    assert!(snap["errors"].as_array().unwrap().is_empty(), "{}", snap["errors"]);
    let main = thread(&snap, snap["process"]["pid"].as_i64().unwrap());
    assert!(functions(main).contains(&"main".to_string()), "{:?}", functions(main));
}

/// `ptsnap core -`, as a `kernel.core_pattern` pipe handler runs it: the
/// core read from standard input gives the snapshot the core file gives,
/// leaves no file behind in the output directory, and with `--pid` of the
/// process that is still there takes its exact command line and working
/// directory.
#[test]
fn a_core_on_standard_input_as_a_pipe_handler_reads_it() {
    if !tool_available("gcore") {
        return;
    }
    let _g = serial();
    let (_bin, running) = started_hang("2");
    let core = gcore(running.pid(), "core-stdin");
    let from_file = core_snapshot(&core, "core-stdin-file", &[]);
    let dir = work_dir().join("core-stdin-out");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pid = running.pid().to_string();
    let o = Command::new(ptsnap_bin())
        .args(["core", "--pid", &pid, "--output-dir", dir.to_str().unwrap(), "-"])
        .stdin(std::fs::File::open(&core).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "ptsnap core - failed: {}", String::from_utf8_lossy(&o.stderr));
    let written = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries, std::slice::from_ref(&written), "only the snapshot is left in the output directory");
    let from_stdin = read_json(&written);
    let frames =
        |s: &Value| -> Vec<Value> { s["threads"].as_array().unwrap().iter().map(|t| t["frames"].clone()).collect() };
    assert_eq!(frames(&from_stdin), frames(&from_file), "the same frames and variables");
    // The core records the first 80 bytes of the command line; /proc has
    // it whole, and the working directory.
    let live: Vec<String> = std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap()
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    assert_eq!(from_stdin["process"]["cmdline"], serde_json::json!(live));
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(from_stdin["process"]["cwd"], cwd.to_str().unwrap());
    assert!(from_file["process"]["cwd"].is_null(), "without --pid a core has no cwd");
    // Not a core at all on standard input: one line, nothing left behind.
    let o = Command::new(ptsnap_bin())
        .args(["core", "--output-dir", dir.to_str().unwrap(), "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(one_line_error(&o).trim_end(), "ptsnap: error: not an ELF file");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

/// `--sysroot`: a core examined where the process's files are not at the
/// paths it had them, but in a tree that holds them there (as gdb's `set
/// sysroot`), gives the snapshot the core gives with the files in place;
/// the debug files are found from the paths under the tree (the
/// debuglink next to the executable, the build-id directory), a file
/// there with another build-id is an `errors` entry, and without the tree
/// the missing executable is one too.
#[test]
fn sysroot_holds_the_files_of_a_core_from_elsewhere() {
    if !tool_available("gcore") {
        return;
    }
    let _g = serial();
    let dir = work_dir().join("core-sysroot");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let bin = dir.join("bin/hang");
    std::fs::copy(build("hang.c", "core-sysroot-hang", &["-g", "-O2", "-pthread"]), &bin).unwrap();
    let running = start(&bin, &["2"]);
    let core = gcore(running.pid(), "core-sysroot");
    drop(running);
    let in_place = core_snapshot(&core, "core-sysroot-in-place", &[]);

    // Elsewhere: the executable is gone; the tree holds every mapped file.
    let root = dir.join("root");
    let rooted = |path: &Path| root.join(path.strip_prefix("/").unwrap());
    for file in &Core::open(&core).unwrap().files {
        let to = rooted(Path::new(&file.path));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file.path, &to).unwrap();
    }
    std::fs::remove_file(&bin).unwrap();
    let missing = core_snapshot(&core, "core-sysroot-missing", &[]);
    let errors = missing["errors"].to_string();
    assert!(errors.contains(&format!("cannot open {}", bin.display())), "{errors}");
    let sysroot = ["--sysroot", root.to_str().unwrap()];
    let same = assert_same_as_live(&in_place, &core_snapshot(&core, "core-sysroot", &sysroot), "sysroot", None);
    assert!(same.variables > 0, "variables compared");

    // The executable stripped, its debug file next to it (.gnu_debuglink),
    // then in the tree's build-id directory.
    let exe = rooted(&bin);
    let debug = exe.with_file_name("hang.debug");
    let (exe_arg, debug_arg) = (exe.to_str().unwrap(), debug.to_str().unwrap());
    tool("objcopy", &["--only-keep-debug", exe_arg, debug_arg]);
    tool("strip", &["--strip-debug", exe_arg]);
    tool("objcopy", &[&format!("--add-gnu-debuglink={debug_arg}"), exe_arg]);
    let id = in_place["modules"].as_array().unwrap().iter().find(|m| m["path"] == bin.to_str().unwrap()).unwrap()
        ["build_id"]
        .as_str()
        .unwrap()
        .to_string();
    let by_id = rooted(Path::new("/usr/lib/debug/.build-id")).join(&id[..2]).join(format!("{}.debug", &id[2..]));
    for (how, debug_file) in [("debuglink", &debug), ("build-id", &by_id)] {
        if debug_file != &debug {
            std::fs::create_dir_all(by_id.parent().unwrap()).unwrap();
            std::fs::rename(&debug, &by_id).unwrap();
        }
        let snap = core_snapshot(&core, &format!("core-sysroot-{how}"), &sysroot);
        assert_same_as_live(&in_place, &snap, &format!("sysroot, debug file by {how}"), None);
        let module = snap["modules"].as_array().unwrap().iter().find(|m| m["build_id"] == id.as_str()).unwrap();
        assert_eq!((&module["debug_file"], &module["debug_file_source"]), (&debug_file.to_str().into(), &how.into()));
    }

    // Another build of the program in the tree: not used, and said so.
    std::fs::copy(build("hang.c", "core-sysroot-rebuilt", &["-g", "-O0", "-pthread"]), &exe).unwrap();
    let snap = core_snapshot(&core, "core-sysroot-rebuilt", &sysroot);
    let errors = snap["errors"].to_string();
    assert!(errors.contains(&format!("{exe_arg} is not the file the process mapped")), "{errors}");

    // Not a directory; not for a live process (its files are where it has them).
    let o = Command::new(ptsnap_bin()).args(["core", "--sysroot", "/no/such/dir"]).arg(&core).output().unwrap();
    assert_eq!(one_line_error(&o).trim_end(), "ptsnap: error: --sysroot /no/such/dir: not a directory");
    let o = ptsnap(&["--sysroot", root.to_str().unwrap(), "1"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("unexpected argument '--sysroot'"));
}
