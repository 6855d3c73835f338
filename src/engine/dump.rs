//! A core dump as the worker's input, and `ptsnap core`: the same
//! supervisor and worker as for a live process, with nothing to stop or
//! release.
//!
//! Memory is the core's ([`CoreMemory`]: dumped segments, else the mapped
//! files); the memory map is rebuilt from NT_FILE and the PT_LOAD
//! segments; a mapped file is used only if its build-id is the one the
//! core holds for it; `--exe` names the executable when it is not where
//! the process ran it, and `--sysroot` a tree that holds the files where
//! the process had them, tried first. What a core does not record (the threads'
//! names but the main thread's, their scheduler states, the working
//! directory, device and inode numbers) is left empty, never invented.

use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use object::read::elf::{ElfFile64, ProgramHeader};

use crate::coredump::{self, Core, CoreMemory, CoreThread, Opener};
use crate::debuginfo::store::FileStore;
use crate::debuginfo::{MappedFiles, locate};
use crate::memory::{Memory, MemoryError};
use crate::options::Options;
use crate::process::procfs::{Mapping, ProcessInfo};

use super::extract::FaultHint;
use super::input::{Inferior, Source, StopSignal, ThreadState};
use super::supervisor::{self, Clock, Held};
use super::worker::Assignment;
use super::{Error, Written};
use crate::arch::CpuState;

/// The state of a core's threads and process in the snapshot.
pub const CORE_STATE: &str = "core";
/// `fault.signal.source` of a signal read from a core's NT_SIGINFO.
const SIGINFO_SOURCE: &str = "core";
/// Where the kernel maps the legacy vsyscall page.
const VSYSCALL: u64 = 0xffff_ffff_ff60_0000;

/// Snapshots the core at `path`; `exe` is the executable to read instead
/// of the one the core names.
pub fn snapshot_core(opts: &Options, path: &Path, exe: Option<&Path>, pid: Option<i32>) -> Result<Written, Error> {
    let started = Instant::now();
    let core = if path == Path::new("-") {
        Core::read_from(&mut io::stdin().lock(), &spool_dir(opts))?
    } else {
        Core::open(path)?
    };
    let core = Arc::new(core);
    let info = process_info(&core, pid);
    let pid = info.tgid;
    let threads: Vec<ThreadState> = core.threads.iter().map(|t| thread_state(t, pid, &core)).collect();
    if let Some(tid) = opts.fault_thread
        && !threads.iter().any(|t| t.tid == tid)
    {
        return Err(Error::NoSuchThread { tid, pid });
    }
    let hint = match opts.fault_thread {
        Some(tid) => FaultHint::Thread(tid),
        None if opts.faulted => FaultHint::Search,
        // The kernel writes the thread that took the fatal signal first.
        None => threads.first().filter(|t| t.signal.is_some()).map_or(FaultHint::None, |t| FaultHint::Thread(t.tid)),
    };
    let opener = opener(core.executable().map(PathBuf::from), exe.map(Path::to_path_buf), opts.sysroot.clone());
    let source = Arc::new(CoreSource { core, opener });
    let clock = Clock::unpaused(opts, started);
    let mut notes = supervisor::fetch_debug_files(opts, &*source.open(), clock.debuginfod_deadline(started))?;
    let task =
        Assignment { opts: opts.clone(), info, state: CORE_STATE, pid, source, hint, prefetch: false, modules: true };
    let (worker, more, ()) = supervisor::start_prepared(task.clone(), clock.pause_deadline(Instant::now()), || ())?;
    notes.extend(more);
    let held = Held { pid, threads, late: Vec::new(), problems: Vec::new(), mode: None, release: Box::new(|| {}) };
    supervisor::supervise(&task, worker, held, notes, started, &clock)
}

/// Where a core read from standard input is spooled: the snapshot's
/// directory (a crash directory has room for cores), else the current one.
fn spool_dir(opts: &Options) -> PathBuf {
    let beside_output = opts.output.as_deref().and_then(Path::parent).filter(|p| !p.as_os_str().is_empty());
    beside_output.or(opts.output_dir.as_deref()).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The process facts a core records (NT_PRPSINFO; the executable from
/// NT_FILE). The command line is the kernel's first 80 bytes of it, split
/// at spaces. With `pid` (`--pid %P` of a `kernel.core_pattern` handler,
/// while the process is still there) the exact command line and the
/// working directory come from /proc, if that process is the core's: the
/// same pid and executable.
fn process_info(core: &Core, pid: Option<i32>) -> ProcessInfo {
    let ps = core.process.clone().unwrap_or_default();
    let recorded = ProcessInfo {
        exe: core.executable().map(PathBuf::from),
        cmdline: ps.psargs.split_whitespace().map(str::to_string).collect(),
        cwd: None,
        state: ps.state,
        ppid: ps.ppid,
        uid: ps.uid,
        tgid: if ps.pid > 0 { ps.pid } else { core.threads.first().map_or(0, |t| t.tid) },
    };
    let live = pid.and_then(|p| ProcessInfo::read(p).ok()).filter(|live| {
        live.tgid == recorded.tgid && live.exe.is_some() && live.exe == recorded.exe && !live.cmdline.is_empty()
    });
    match live {
        Some(live) => ProcessInfo { cmdline: live.cmdline, cwd: live.cwd, ..recorded },
        None => recorded,
    }
}

fn thread_state(t: &CoreThread, pid: i32, core: &Core) -> ThreadState {
    // A signal being delivered, with its siginfo: the thread stopped at it.
    let signal = t.siginfo.filter(|_| t.signal != 0).map(|info| StopSignal { info, source: SIGINFO_SOURCE });
    let name = match (&core.process, t.tid == pid) {
        (Some(ps), true) => ps.fname.clone(),
        _ => String::new(),
    };
    ThreadState {
        tid: t.tid,
        name,
        state: CORE_STATE,
        cpu: CpuState { general: Some(t.regs), vector: t.fpregs },
        signal,
    }
}

/// The files the core names on this machine: the executable (the core's
/// `executable`) at `exe` when one is given; the others under `sysroot`
/// first, as gdb's `set sysroot`, then at the paths the core names.
fn opener(executable: Option<PathBuf>, exe: Option<PathBuf>, sysroot: Option<PathBuf>) -> Opener {
    Arc::new(move |named: &Path| {
        let path = match (&exe, &sysroot) {
            (Some(exe), _) if executable.as_deref() == Some(named) => exe.clone(),
            (_, Some(root)) => {
                Some(locate::under_root(root, named)).filter(|p| p.exists()).unwrap_or_else(|| named.into())
            }
            _ => named.to_path_buf(),
        };
        Ok((path.clone(), coredump::map_file(&path)?))
    })
}

struct CoreSource {
    core: Arc<Core>,
    opener: Opener,
}

impl Source for CoreSource {
    fn open(&self) -> Rc<dyn Inferior> {
        Rc::new(CoreInferior(CoreMemory::new(self.core.clone(), self.opener.clone())))
    }
}

struct CoreInferior(CoreMemory);

impl Memory for CoreInferior {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        self.0.read(addr, buf)
    }
}

impl MappedFiles for CoreInferior {
    fn open_mapped<'a>(&self, map: &Mapping, store: &'a FileStore) -> Option<Result<&'a [u8], String>> {
        map.path.starts_with('/').then(|| self.0.file(&map.path).map(|b| store.hold(b)).map_err(|e| e.to_string()))
    }
}

impl Inferior for CoreInferior {
    fn forget(&self) {}

    /// The mapped files (NT_FILE), with the permissions of their PT_LOAD
    /// segment, or, where the core has none (gcore leaves out unchanged
    /// read-only mappings), of the file's own segment at that offset; then
    /// the other segments, anonymous (the vdso and vsyscall page named).
    fn maps(&self) -> io::Result<Vec<Mapping>> {
        let core = self.0.core();
        let vdso = core.auxv_value(coredump::AT_SYSINFO_EHDR);
        let mut maps: Vec<Mapping> = core
            .files
            .iter()
            .map(|f| {
                let perms = match core.segments.iter().find(|s| s.vaddr == f.start) {
                    Some(s) => (s.readable, s.writable, s.executable),
                    None => self.file_permissions(&f.path, f.offset).unwrap_or((true, false, false)),
                };
                Mapping { deleted: f.deleted, ..mapping(f.start, f.end, perms, f.offset, &f.path) }
            })
            .collect();
        for s in &core.segments {
            if core.files.iter().any(|f| f.start < s.end() && s.vaddr < f.end) {
                continue;
            }
            let name = match s.vaddr {
                v if Some(v) == vdso => "[vdso]",
                VSYSCALL => "[vsyscall]",
                _ => "",
            };
            maps.push(mapping(s.vaddr, s.end(), (s.readable, s.writable, s.executable), 0, name));
        }
        maps.sort_by_key(|m| m.start);
        Ok(maps)
    }
}

impl CoreInferior {
    /// The permissions of the PT_LOAD segment of the mapped file at
    /// `path` that begins on the page at `offset`.
    fn file_permissions(&self, path: &str, offset: u64) -> Option<(bool, bool, bool)> {
        let bytes = self.0.file(path).ok()?;
        let data: &[u8] = (*bytes).as_ref();
        let elf = ElfFile64::<object::LittleEndian>::parse(data).ok()?;
        let endian = object::LittleEndian;
        let segment = elf
            .elf_program_headers()
            .iter()
            .find(|p| p.p_type(endian) == object::elf::PT_LOAD && p.p_offset(endian) & !0xfff == offset)?;
        let flags = segment.p_flags(endian).0;
        Some((flags & object::elf::PF_R.0 != 0, flags & object::elf::PF_W.0 != 0, flags & object::elf::PF_X.0 != 0))
    }
}

fn mapping(
    start: u64,
    end: u64,
    (readable, writable, executable): (bool, bool, bool),
    offset: u64,
    path: &str,
) -> Mapping {
    Mapping { start, end, readable, writable, executable, offset, path: path.to_string(), ..Mapping::default() }
}
