//! The snapshot pipeline: from a stopped process to a written snapshot.
//!
//! The order matters for the target: everything that needs the process
//! stopped (memory map, registers, stack walks, symbolization of the pcs)
//! happens between stop and release; everything else (module summaries,
//! serialization, the write) happens after the process runs again. Every
//! failure that concerns one thread, frame or module is recorded in the
//! snapshot's `errors` and the snapshot goes on.

mod variables;

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use thiserror::Error;

use crate::debuginfo::ModuleSet;
use crate::debuginfo::locate::{DebugDirs, DebugSource};
use crate::debuginfo::prefetch::Prefetch;
use crate::debuginfo::store::{FileStore, InflatedSections};
use crate::fault::RawSigInfo;
use crate::memory::Memory;
use crate::options::Options;
use crate::pmodule::services::Services;
use crate::pmodule::{Host, PmoduleError, Shared};
use crate::snapshot::{
    self, Addr, Annotation, ErrorEntry, Fault, Frame, ModuleInfo, Registers, Snapshot, Thread, writer,
};
use crate::symbolize::{SourceFrame, Symbolizer};
use crate::target::memory::ProcessMemory;
use crate::target::procfs::{self, ProcessInfo};
use crate::target::ptrace::WaitEvent;
use crate::target::run::CrashStop;
use crate::target::stopper::{Mode, StoppedProcess, StoppedThread};
use crate::target::{TargetError, signals};
use crate::unwind::regs::Regs;
use crate::unwind::{RawFrame, StackWalk, StopReason, sigframe};
use variables::VariableReader;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot write the snapshot to {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("thread {tid} given to --fault-thread is not a thread of process {pid}")]
    NoSuchThread { tid: i32, pid: i32 },
    #[error(transparent)]
    Pmodule(#[from] PmoduleError),
}

/// The snapshot as it starts, and the modules that shape it (None when no
/// module is loaded: the pipeline then pays nothing for them).
struct Prepared {
    shared: Shared,
    host: Option<Host>,
}

/// Loads the pmodules and runs their `preattach` callbacks.
fn prepare(opts: &Options, info: &ProcessInfo, pid: i32) -> Result<Prepared, Error> {
    let shared = Shared::new(base_snapshot(opts, info, pid));
    let memory: Rc<dyn Memory> = Rc::new(ProcessMemory::new(pid));
    let interrupt = Arc::new(AtomicBool::new(false));
    let mut host = Some(Host::load(&opts.pmodules, memory, shared.clone(), interrupt)?).filter(|h| !h.is_empty());
    if let Some(h) = host.as_mut() {
        h.preattach();
    }
    Ok(Prepared { shared, host })
}

/// Snapshots a running process and leaves it running.
pub fn snapshot_process(opts: &Options, pid: i32) -> Result<(PathBuf, Snapshot), Error> {
    let started = Instant::now();
    let tgid = procfs::ProcessInfo::read(pid).map_err(|_| TargetError::NoSuchProcess(pid))?.tgid;
    let info = ProcessInfo::read(tgid).map_err(|_| TargetError::NoSuchProcess(tgid))?;
    let prepared = prepare(opts, &info, tgid)?;
    let inflated = Arc::new(InflatedSections::default());
    let prefetch = Prefetch::start(tgid, inflated.clone(), DebugDirs::new(&opts.debug_dirs), opts.variables);
    let stopped = StoppedProcess::stop_all(tgid, Mode::Attach, &[], opts.timeout.map(|t| started + t))?;
    if let Some(tid) = opts.fault_thread
        && stopped.thread(tid).is_none()
    {
        return Err(Error::NoSuchThread { tid, pid: tgid });
    }
    let hint = match opts.fault_thread {
        Some(tid) => FaultHint::Thread(tid),
        None if opts.faulted => FaultHint::Search,
        None => FaultHint::None,
    };
    finish(opts, info, prepared, stopped, hint, (inflated, Some(prefetch)), (started, started))
}

/// Snapshots a traced process stopped at a fatal signal (run mode); the
/// signal is delivered when this returns.
pub fn snapshot_crash(opts: &Options, crash: CrashStop) -> Result<(PathBuf, Snapshot), Error> {
    let started = Instant::now();
    let mut info = ProcessInfo::read(crash.pid).map_err(|_| TargetError::ProcessExited(crash.pid))?;
    // /proc now says "traced"; the process was running when it faulted.
    info.state = 'R';
    let prepared = prepare(opts, &info, crash.pid)?;
    let inflated = Arc::new(InflatedSections::default());
    finish(opts, info, prepared, crash.stopped, FaultHint::Thread(crash.tid), (inflated, None), (crash.seen, started))
}

/// Where the fault thread comes from.
enum FaultHint {
    None,
    /// This thread faulted (run mode's thread, or --fault-thread).
    Thread(i32),
    /// --faulted: find the thread from signal state.
    Search,
}

/// A walked thread before symbolization.
struct Walked<'t> {
    thread: &'t StoppedThread,
    frames: Vec<RawFrame>,
    stop: Option<StopReason>,
}

/// `(paused_at, started)`: when the target was stopped, and when ptsnap began.
fn finish(
    opts: &Options,
    info: ProcessInfo,
    Prepared { shared, mut host }: Prepared,
    stopped: StoppedProcess,
    hint: FaultHint,
    (inflated, prefetch): (Arc<InflatedSections>, Option<Prefetch>),
    (paused_at, started): (Instant, Instant),
) -> Result<(PathBuf, Snapshot), Error> {
    let pid = stopped.pid;
    let deadline = opts.timeout.map(|t| started + t);
    let stop_us = paused_at.elapsed().as_micros() as u64;

    for (tid, problem) in &stopped.problems {
        shared.lock().errors.push(ErrorEntry { context: format!("thread {tid}"), message: problem.clone() });
    }

    let store = FileStore::sharing(inflated);
    let dirs = DebugDirs::new(&opts.debug_dirs);
    let memory = ProcessMemory::new(pid);
    let maps = procfs::read_maps(pid).map_err(|_| TargetError::ProcessExited(pid))?;
    let modules = ModuleSet::from_maps(pid, &maps, &store, &dirs, &memory);
    // Variables, and the typed memory and symbols modules use.
    let exe = info.exe.as_ref().map(|p| p.display().to_string());
    let reader = (opts.variables || host.is_some())
        .then(|| VariableReader::new(opts, (&modules, &maps), &memory, exe.as_deref()));
    let services = reader.as_ref().map(|r| r as &dyn Services);
    if let Some(h) = host.as_mut() {
        h.attach(services);
    }

    let unwind_start = Instant::now();
    let mut walked = Vec::new();
    for thread in stopped.threads.iter().filter(|t| opts.wants_thread(t.tid)) {
        if let Some(sig) = signals::termination_requested() {
            return Err(TargetError::Interrupted(sig).into());
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            shared.lock().errors.push(ErrorEntry {
                context: "timeout".into(),
                message: format!(
                    "--timeout reached: {} of {} threads extracted; the process was released",
                    walked.len(),
                    stopped.threads.len()
                ),
            });
            break;
        }
        walked.push(walk_thread(thread, &memory, &modules, opts.max_frames));
        memory.clear_cache();
    }
    let unwind_us = unwind_start.elapsed().as_micros() as u64;
    if let Some(p) = &prefetch {
        p.stop();
    }
    let symbolize_start = Instant::now();
    let fault = find_fault(&hint, &walked, &memory);

    shared.lock().fault = fault.as_ref().map(|f| f.fault.clone());
    let mut symbolizer = Some(Symbolizer::new());
    for (done, w) in walked.iter().enumerate() {
        // Loading debug info can take long for big modules: past the
        // deadline, the remaining threads keep module and offset only.
        if symbolizer.is_some() && deadline.is_some_and(|d| Instant::now() >= d) {
            symbolizer = None;
            shared.lock().errors.push(ErrorEntry {
                context: "timeout".into(),
                message: format!("--timeout reached: {} of {} threads symbolized", done, walked.len()),
            });
        }
        let faulted_frame = fault.as_ref().filter(|f| f.tid == w.thread.tid).map(|f| f.frame);
        let reader = reader.as_ref().filter(|_| symbolizer.is_some() && opts.variables);
        let thread = render_thread(w, &modules, symbolizer.as_mut(), reader, faulted_frame);
        let index = {
            let mut snap = shared.lock();
            snap.threads.push(thread);
            snap.threads.len() - 1
        };
        memory.clear_cache();
        if let Some(h) = host.as_mut() {
            h.thread_extracted(index, services);
        }
    }
    if let Some(reader) = reader.as_ref().filter(|_| opts.variables) {
        let mut errors = Vec::new();
        let globals = reader.globals(opts, &mut errors);
        {
            let mut snap = shared.lock();
            snap.globals = globals;
            snap.errors.append(&mut errors);
        }
        if let Some(h) = host.as_mut() {
            h.globals_extracted(services);
        }
    }
    // Threads that never stopped (in disk wait, say) are listed with
    // their state and no frames; `errors` says why.
    for late in stopped.late.iter().filter(|l| opts.wants_thread(l.tid)) {
        shared.lock().threads.push(Thread {
            tid: late.tid,
            name: late.stat.as_ref().map(|s| s.comm.clone()).unwrap_or_default(),
            state: procfs::state_name(late.stat.as_ref().map_or('?', |s| s.state)).into(),
            unwind_stop: Some("error: the thread did not stop".into()),
            kernel_stack: late.kernel_stack.clone(),
            ..Thread::default()
        });
    }
    let symbolize_us = symbolize_start.elapsed().as_micros() as u64;

    stopped.release();
    let mut snap = shared.lock();
    snap.timings.paused_us = paused_at.elapsed().as_micros() as u64;
    snap.timings.stop_us = stop_us;
    snap.timings.unwind_us = unwind_us;
    snap.timings.symbolize_us = symbolize_us;

    snap.modules = modules.iter().map(module_info).collect();
    for m in modules.iter() {
        if let Some(e) = &m.error {
            snap.errors.push(ErrorEntry { context: format!("module {}", m.path), message: e.clone() });
        }
    }
    if matches!(hint, FaultHint::Search) && snap.fault.is_none() {
        snap.errors.push(ErrorEntry {
            context: "fault".into(),
            message: "--faulted given, but no thread is at a crash signal or in a signal handler".into(),
        });
    }
    drop(snap);
    if let Some(h) = host.as_mut() {
        h.postattach(services);
        let pmodules = h.finish();
        let mut snap = shared.lock();
        for m in &pmodules {
            for e in &m.errors {
                let text = format!("pmodule {} ({}) was stopped: {e}", m.id, m.path);
                snap.annotations.push(Annotation::text("warning", text, "ptsnap"));
            }
        }
        snap.pmodules = pmodules;
    }
    let path = output_path(opts, &info, pid);
    let mut snap = std::mem::take(&mut *shared.lock());
    snap.timings.total_us = started.elapsed().as_micros() as u64;
    writer::write_atomic(&snap, &path).map_err(|source| Error::Write { path: path.clone(), source })?;
    Ok((path, snap))
}

fn base_snapshot(opts: &Options, info: &ProcessInfo, pid: i32) -> Snapshot {
    let mut snap = Snapshot {
        format: snapshot::FORMAT.into(),
        version: snapshot::VERSION,
        uuid: writer::new_uuid(),
        timestamp: writer::rfc3339(writer::unix_now()),
        generator: snapshot::Generator { name: "ptsnap".into(), version: env!("CARGO_PKG_VERSION").into() },
        application: opts.application.clone().or_else(|| exe_name(info)),
        process: snapshot::Process {
            pid,
            exe: info.exe.as_ref().map(|p| p.display().to_string()),
            cmdline: info.cmdline.clone(),
            cwd: info.cwd.as_ref().map(|p| p.display().to_string()),
            state: procfs::state_name(info.state).into(),
            ppid: info.ppid,
            uid: info.uid,
        },
        classifiers: opts.classifiers.clone(),
        ..Snapshot::default()
    };
    for (k, v) in &opts.kv {
        snap.kv.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    snap
}

fn exe_name(info: &ProcessInfo) -> Option<String> {
    let exe = info.exe.as_ref()?;
    let name = exe.file_name()?.to_string_lossy();
    Some(name.strip_suffix(" (deleted)").unwrap_or(&name).to_string())
}

fn walk_thread<'t>(
    thread: &'t StoppedThread,
    memory: &dyn Memory,
    modules: &ModuleSet<'_>,
    max_frames: usize,
) -> Walked<'t> {
    let Some(regs) = thread.regs.as_ref() else {
        return Walked { thread, frames: Vec::new(), stop: Some(StopReason::Error("registers unavailable".into())) };
    };
    let mut walk = StackWalk::new(memory, modules, Regs::from_user_regs(regs), max_frames);
    let mut frames = Vec::new();
    while let Some(frame) = walk.next_frame() {
        frames.push(frame);
    }
    Walked { thread, frames, stop: walk.stop_reason().cloned() }
}

struct FoundFault {
    tid: i32,
    /// Index of the faulting physical frame.
    frame: usize,
    fault: Fault,
}

fn find_fault(hint: &FaultHint, walked: &[Walked<'_>], memory: &dyn Memory) -> Option<FoundFault> {
    match hint {
        FaultHint::None => None,
        FaultHint::Thread(tid) => {
            let w = walked.iter().find(|w| w.thread.tid == *tid)?;
            Some(fault_of(w, memory, |_| true).unwrap_or(FoundFault {
                tid: *tid,
                frame: 0,
                fault: Fault { tid: *tid, signal: None },
            }))
        }
        FaultHint::Search => walked.iter().find_map(|w| fault_of(w, memory, signals::is_crash_signal)),
    }
}

/// The thread's fault: the signal it is stopped at (its frame 0 faulted),
/// else the innermost signal frame on its stack (the interrupted frame
/// faulted), when `accept` takes the signal number.
fn fault_of(w: &Walked<'_>, memory: &dyn Memory, accept: impl Fn(i32) -> bool) -> Option<FoundFault> {
    let tid = w.thread.tid;
    if let (WaitEvent::Signal(sig), Some(info)) = (w.thread.stop, w.thread.siginfo.as_ref())
        && accept(sig)
    {
        let signal = RawSigInfo::from_libc(info).describe("signal-delivery-stop");
        return Some(FoundFault { tid, frame: 0, fault: Fault { tid, signal: Some(signal) } });
    }
    let (i, tramp) = w.frames.iter().enumerate().find(|(_, f)| f.signal_trampoline)?;
    let mut raw = [0u8; RawSigInfo::SIZE];
    memory.read(sigframe::siginfo_address(tramp.sp), &mut raw).ok()?;
    let info = RawSigInfo::from_bytes(&raw);
    accept(info.signo).then(|| FoundFault {
        tid,
        frame: i + 1,
        fault: Fault { tid, signal: Some(info.describe("signal-frame")) },
    })
}

/// The thread's frames for the snapshot; without a symbolizer (time ran
/// out), physical frames with module and offset only.
fn render_thread<'d, 'a>(
    w: &Walked<'_>,
    modules: &'d ModuleSet<'a>,
    mut symbolizer: Option<&mut Symbolizer>,
    reader: Option<&VariableReader<'d, 'a>>,
    faulted_frame: Option<usize>,
) -> Thread {
    let mut frames: Vec<Frame> = Vec::new();
    let mut all_sources = Vec::with_capacity(w.frames.len());
    for (i, raw) in w.frames.iter().enumerate() {
        let lookup = raw.lookup_pc();
        let module = modules.find(lookup);
        let sources = match (module, symbolizer.as_deref_mut()) {
            (Some(m), Some(s)) => s.frames(m, raw.pc, lookup),
            _ => Rc::from([SourceFrame::default()]),
        };
        for (j, src) in sources.iter().enumerate() {
            frames.push(Frame {
                index: frames.len(),
                pc: Addr(raw.pc),
                sp: Addr(raw.sp),
                cfa: raw.cfa.map(Addr),
                module: module.map(|m| m.name().to_string()),
                module_offset: module.map(|m| Addr(raw.pc - m.start)),
                function: src.function.clone(),
                function_offset: src.function_offset,
                file: src.file.clone(),
                line: src.line,
                column: src.column,
                decl_line: src.decl_line,
                inlined: src.inlined,
                faulted: faulted_frame == Some(i) && j == 0,
                unwind: raw.method.as_str().to_string(),
                ..Frame::default()
            });
        }
        all_sources.push((module, sources));
    }
    let fs_base = w.thread.regs.as_ref().map(|r| r.fs_base);
    let mut tls = Vec::new();
    if let Some(reader) = reader {
        let vector_regs = w.thread.fpregs.as_ref().map(|f| f.xmm_space.iter().flat_map(|w| w.to_le_bytes()).collect());
        reader.fill_frames(&w.frames, &all_sources, vector_regs, fs_base, &mut frames);
        tls = reader.thread_tls(fs_base);
    }
    let stop = w.stop.as_ref().map(StopReason::to_string);
    Thread {
        tls,
        tid: w.thread.tid,
        name: w.thread.name.clone(),
        state: procfs::state_name(w.thread.state).into(),
        faulted: faulted_frame.is_some(),
        registers: Registers::from_thread(w.thread.regs.as_ref(), w.thread.fpregs.as_ref()),
        frames,
        truncated: w.stop == Some(StopReason::MaxFrames),
        unwind_stop: stop,
        ..Thread::default()
    }
}

fn module_info(m: &crate::debuginfo::Module<'_>) -> ModuleInfo {
    let debug = m.debug_file();
    ModuleInfo {
        path: m.path.clone(),
        start: Addr(m.start),
        end: Addr(m.end),
        load_bias: Addr(m.bias),
        build_id: m.build_id(),
        debug_file: debug.map(|(d, _)| d.path.display().to_string()),
        debug_file_source: debug.map(|(_, how)| {
            match how {
                DebugSource::BuildId => "build-id",
                DebugSource::DebugLink => "debuglink",
            }
            .to_string()
        }),
        symbols: m.symbol_kinds(),
        error: m.error.clone(),
    }
}

fn output_path(opts: &Options, info: &ProcessInfo, pid: i32) -> PathBuf {
    if let Some(p) = &opts.output {
        return p.clone();
    }
    let name = format!("{}.{pid}.{}.json", exe_name(info).unwrap_or_else(|| "process".into()), writer::unix_now());
    opts.output_dir.as_deref().unwrap_or(Path::new(".")).join(name)
}
