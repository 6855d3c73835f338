//! The per-thread work of a snapshot, on the worker: walking a stack,
//! finding the faulting thread and frame, and turning a walked stack into
//! the snapshot's frames with their source positions and variables.

use std::rc::Rc;

use crate::address::RunAddr;
use crate::debuginfo::locate::DebugSource;
use crate::debuginfo::{Module, ModuleSet};
use crate::fault::RawSigInfo;
use crate::memory::Memory;
use crate::process::procfs::Mapping;
use crate::process::signals;
use crate::snapshot::{Addr, Fault, Frame, FrameUnwind, MemoryMapping, ModuleInfo, Thread, UnwindStop};
use crate::symbolize::{SourceFrame, Symbolizer};
use crate::unwind::regs::Regs;
use crate::unwind::{RawFrame, StackWalk, StopReason, UnwindMethod, sigframe};

use super::input::ThreadState;
use super::prefault::Prefaulted;
use super::variables::VariableReader;
use crate::variables::TailCall;

/// Where the fault thread comes from.
#[derive(Clone, Copy, Debug)]
pub enum FaultHint {
    None,
    /// This thread faulted (run mode's thread, or --fault-thread).
    Thread(i32),
    /// --faulted: find the thread from signal state.
    Search,
}

/// A walked thread before symbolization.
pub struct Walked<'t> {
    pub thread: &'t ThreadState,
    pub frames: Vec<RawFrame>,
    /// Each frame's registers, when they were kept (variables are read
    /// from them); empty otherwise.
    pub regs: Vec<Regs>,
    pub stop: Option<StopReason>,
}

/// `thread`'s stack walked; each frame's registers are kept with
/// `keep_regs` (a walk of 10,000 frames is 1.4 MB of them).
pub fn walk_thread<'t>(
    thread: &'t ThreadState,
    memory: &dyn Memory,
    modules: &ModuleSet<'_>,
    max_frames: usize,
    keep_regs: bool,
) -> Walked<'t> {
    let Some(regs) = thread.cpu.unwind_regs() else {
        let stop = Some(StopReason::Error("registers unavailable".into()));
        return Walked { thread, frames: Vec::new(), regs: Vec::new(), stop };
    };
    let mut walk = StackWalk::new(memory, modules, regs, max_frames);
    let (mut frames, mut kept) = (Vec::new(), Vec::new());
    while let Some((frame, regs)) = walk.next_frame() {
        frames.push(frame);
        if keep_regs {
            kept.push(regs);
        }
    }
    Walked { thread, frames, regs: kept, stop: walk.stop_reason().cloned() }
}

pub struct FoundFault {
    pub tid: i32,
    /// Index of the faulting physical frame.
    pub frame: usize,
    pub fault: Fault,
}

pub fn find_fault(hint: &FaultHint, walked: &[Walked<'_>], memory: &dyn Memory) -> Option<FoundFault> {
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
    if let Some(stop) = &w.thread.signal {
        let info = RawSigInfo::from_bytes(&stop.info);
        if accept(info.signo) {
            let signal = info.describe(stop.source);
            return Some(FoundFault { tid, frame: 0, fault: Fault { tid, signal: Some(signal) } });
        }
    }
    let (i, tramp) = w.frames.iter().enumerate().find(|(_, f)| f.signal_trampoline)?;
    let mut raw = [0u8; RawSigInfo::SIZE];
    memory.read(sigframe::siginfo_address(tramp.sp).get(), &mut raw).ok()?;
    let info = RawSigInfo::from_bytes(&raw);
    accept(info.signo).then(|| FoundFault {
        tid,
        frame: i + 1,
        fault: Fault { tid, signal: Some(info.describe("signal-frame")) },
    })
}

/// A pc and the pc it was looked up at, its module and its source frames.
type LastPc<'d, 'a> = (RunAddr, RunAddr, Option<&'d Module<'a>>, Rc<[SourceFrame]>);

/// The thread's frames for the snapshot; without a symbolizer (time ran
/// out), physical frames with module and offset only. With `prefault`,
/// another thread may fault in a deep stack's frame list (not under
/// `--jobs 1`).
pub fn render_thread<'d, 'a>(
    w: &Walked<'_>,
    modules: &'d ModuleSet<'a>,
    mut symbolizer: Option<&mut Symbolizer>,
    reader: Option<&VariableReader<'d, 'a>>,
    faulted_frame: Option<usize>,
    prefault: bool,
) -> Thread {
    let mut frames: Prefaulted<Frame> = Prefaulted::with_capacity(w.frames.len(), prefault);
    // Kept for the variables (and the tail calls found with them).
    let mut all_sources = Vec::with_capacity(if reader.is_some() { w.frames.len() } else { 0 });
    // A recursion's frames return to one pc, frame after frame.
    let mut last: Option<LastPc<'_, '_>> = None;
    for (i, raw) in w.frames.iter().enumerate() {
        let lookup = raw.lookup_pc();
        let (module, sources) = match &last {
            Some((pc, at, module, sources)) if (*pc, *at) == (raw.pc, lookup) => (*module, sources.clone()),
            _ => {
                let module = modules.find(lookup);
                let sources = match (module, symbolizer.as_deref_mut()) {
                    (Some(m), Some(s)) => s.frames(m, raw.pc, lookup),
                    _ => Rc::from([SourceFrame::default()]),
                };
                last = Some((raw.pc, lookup, module, sources.clone()));
                (module, sources)
            }
        };
        for (j, src) in sources.iter().enumerate() {
            frames.push(Frame {
                index: frames.len(),
                cfa: raw.cfa.map(|cfa| Addr(cfa.get())),
                faulted: faulted_frame == Some(i) && j == 0,
                unwind: frame_unwind(raw.method),
                cfi_error: raw.cfi_error.clone(),
                ..source_frame(module, raw.pc, raw.sp, src)
            });
        }
        if reader.is_some() {
            all_sources.push((module, sources));
        }
    }
    let mut frames = frames.into_inner();
    let thread_pointer = w.thread.cpu.thread_pointer();
    let mut tls = Vec::new();
    if let Some(reader) = reader {
        let vector_regs = w.thread.cpu.vector_bytes();
        let walked = (&w.frames[..], &w.regs[..]);
        let tail_calls = reader.fill_frames(walked, &all_sources, vector_regs, thread_pointer, &mut frames);
        if let Some(s) = symbolizer {
            insert_tail_calls(&mut frames, &all_sources, &w.frames, tail_calls, modules, s);
        }
        tls = reader.thread_tls(thread_pointer);
    }
    let stop = w.stop.as_ref().map(unwind_stop);
    Thread {
        tls,
        tid: w.thread.tid,
        name: w.thread.name.clone(),
        state: w.thread.state.into(),
        faulted: faulted_frame.is_some(),
        registers: w.thread.cpu.snapshot_registers(),
        frames,
        truncated: w.stop == Some(StopReason::MaxFrames),
        unwind_stop: stop,
        ..Thread::default()
    }
}

/// The snapshot's `unwind` of a frame the walk found.
fn frame_unwind(method: UnwindMethod) -> FrameUnwind {
    match method {
        UnwindMethod::Context => FrameUnwind::Context,
        UnwindMethod::Cfi => FrameUnwind::Cfi,
        UnwindMethod::SignalFrame => FrameUnwind::SignalFrame,
        UnwindMethod::FramePointer => FrameUnwind::FramePointer,
        UnwindMethod::StackTop => FrameUnwind::StackTop,
    }
}

/// The snapshot's `unwind_stop` of a walk that ended.
fn unwind_stop(stop: &StopReason) -> UnwindStop {
    match stop {
        StopReason::Outermost => UnwindStop::Outermost,
        StopReason::MaxFrames => UnwindStop::MaxFrames,
        StopReason::NoProgress => UnwindStop::NoProgress,
        StopReason::NoUnwindInfo => UnwindStop::NoUnwindInfo,
        StopReason::Error(why) => UnwindStop::Error(why.clone()),
    }
}

/// A frame at `pc` with its module and source position.
fn source_frame(module: Option<&Module<'_>>, pc: RunAddr, sp: RunAddr, src: &SourceFrame) -> Frame {
    Frame {
        pc: Addr(pc.get()),
        sp: Addr(sp.get()),
        module: module.map(Module::shared_name),
        module_offset: module.map(|m| Addr(pc - m.start)),
        function: src.function.clone(),
        crate_name: src.crate_name.clone(),
        function_offset: src.function_offset,
        file: src.file.clone(),
        line: src.line,
        column: src.column,
        decl_line: src.decl_line,
        inlined: src.inlined,
        ..Frame::default()
    }
}

/// Inserts a frame for each function that tail-called on, after the
/// source frames of the physical frame it called (gdb's tail-call
/// frames): its source position is that of its jump, its values what
/// entry values and memory give. Frames are numbered again.
fn insert_tail_calls(
    frames: &mut Vec<Frame>,
    sources: &[(Option<&Module<'_>>, Rc<[SourceFrame]>)],
    raw: &[RawFrame],
    tail_calls: Vec<(usize, Vec<TailCall>)>,
    modules: &ModuleSet<'_>,
    symbolizer: &mut Symbolizer,
) {
    // Insert from the outermost so that earlier positions stay valid.
    for (physical, calls) in tail_calls.into_iter().rev() {
        let mut at: usize = sources[..=physical].iter().map(|(_, s)| s.len()).sum();
        for call in calls {
            let pc = call.return_address;
            let Some(module) = modules.find(pc - 1) else { continue };
            let positions = symbolizer.frames(module, pc, pc - 1);
            let outermost = positions.len().saturating_sub(1);
            let (mut parameters, mut locals) = (Some(call.parameters), Some(call.locals));
            for (j, src) in positions.iter().enumerate() {
                let mut frame = source_frame(Some(module), pc, raw[physical + 1].sp, src);
                frame.unwind = FrameUnwind::TailCall;
                if j == outermost {
                    frame.parameters = parameters.take().unwrap_or_default();
                    frame.locals = locals.take().unwrap_or_default();
                }
                frames.insert(at, frame);
                at += 1;
            }
        }
    }
    for (i, f) in frames.iter_mut().enumerate() {
        f.index = i;
    }
}

/// A mapping of the memory map as the snapshot lists it.
pub fn memory_mapping(m: &Mapping) -> MemoryMapping {
    let flag = |on: bool, c: char| if on { c } else { '-' };
    MemoryMapping {
        start: Addr(m.start),
        end: Addr(m.end),
        perms: [
            flag(m.readable, 'r'),
            flag(m.writable, 'w'),
            flag(m.executable, 'x'),
            if m.shared { 's' } else { 'p' },
        ]
        .iter()
        .collect(),
        offset: Addr(m.offset),
        path: m.path.clone(),
        deleted: m.deleted,
    }
}

pub fn module_info(m: &crate::debuginfo::Module<'_>) -> ModuleInfo {
    let debug = m.debug_file();
    ModuleInfo {
        path: m.path.clone(),
        start: Addr(m.start.get()),
        end: Addr(m.end.get()),
        load_bias: Addr(m.bias.get()),
        build_id: m.build_id(),
        debug_file: debug.map(|(d, _)| d.path.display().to_string()),
        debug_file_source: debug.map(|(_, how)| {
            match how {
                DebugSource::BuildId => "build-id",
                DebugSource::DebugLink => "debuglink",
                DebugSource::Debuginfod => "debuginfod",
            }
            .to_string()
        }),
        symbols: m.symbol_kinds(),
        error: m.problem(),
    }
}
