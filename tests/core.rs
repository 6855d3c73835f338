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
