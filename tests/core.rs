//! Core files: ptsnap's reading of ELF core dumps (gcore's and the
//! kernel's) checked against gdb on the same core and against the live
//! process the core was taken of.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
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
        let r = &t.regs;
        let ours = [
            ("rax", r.rax),
            ("rbx", r.rbx),
            ("rcx", r.rcx),
            ("rdx", r.rdx),
            ("rsi", r.rsi),
            ("rdi", r.rdi),
            ("rbp", r.rbp),
            ("rsp", r.rsp),
            ("r8", r.r8),
            ("r9", r.r9),
            ("r10", r.r10),
            ("r11", r.r11),
            ("r12", r.r12),
            ("r13", r.r13),
            ("r14", r.r14),
            ("r15", r.r15),
            ("rip", r.rip),
            ("eflags", r.eflags),
            ("cs", r.cs),
            ("ss", r.ss),
            ("fs_base", r.fs_base),
            ("gs_base", r.gs_base),
        ];
        assert_eq!(ours.map(|(n, _)| n).join(" "), REGISTERS);
        for (name, value) in ours {
            assert_eq!(theirs.get(name), Some(&value), "thread {} register {name}", t.tid);
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

/// What the core's snapshot shares with the live one.
#[derive(Default)]
struct Same {
    frames: usize,
    variables: usize,
}

/// Every thread of `live` is in `core` with the same frames (function,
/// file, line, inline), the same parameters, locals and TLS variables;
/// the same globals and modules.
fn assert_same_as_live(live: &Value, core: &Value, what: &str) -> Same {
    let mut same = Same::default();
    let live_threads = live["threads"].as_array().unwrap();
    assert_eq!(live_threads.len(), core["threads"].as_array().unwrap().len(), "{what}: threads");
    for lt in live_threads {
        let ct = thread(core, lt["tid"].as_i64().unwrap());
        assert_eq!(frames(ct), frames(lt), "{what}: frames of thread {}", lt["tid"]);
        assert_eq!(ct["tls"], lt["tls"], "{what}: TLS of thread {}", lt["tid"]);
        for (cf, lf) in ct["frames"].as_array().unwrap().iter().zip(lt["frames"].as_array().unwrap()) {
            for key in ["pc", "sp", "cfa", "inlined", "unwind", "module"] {
                assert_eq!(cf[key], lf[key], "{what}: {key} of {}", lf["function"]);
            }
            for list in ["parameters", "locals"] {
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
    let opts = ["--globals"];
    let live = snapshot(running.pid(), &format!("{name}-live"), &opts);
    let core = gcore(running.pid(), &name);
    drop(running);
    let snap = core_snapshot(&core, &name, &opts);
    let same = assert_same_as_live(&live, &snap, &name);
    let (compared, equal) = gdb_on_core(&bin, &core, &name);
    eprintln!(
        "{name}: vs live: {} frames and {} variables equal; vs gdb on the core: {equal}/{compared} values equal",
        same.frames, same.variables
    );
    let _ = std::fs::remove_file(core);
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
