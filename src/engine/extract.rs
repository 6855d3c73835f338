//! The per-thread work of a snapshot, on the worker: walking a stack,
//! finding the faulting thread and frame, and turning a walked stack into
//! the snapshot's frames with their source positions and variables.

use std::rc::Rc;

use crate::debuginfo::ModuleSet;
use crate::debuginfo::locate::DebugSource;
use crate::fault::RawSigInfo;
use crate::memory::Memory;
use crate::snapshot::{Addr, Fault, Frame, ModuleInfo, Registers, Thread};
use crate::symbolize::{SourceFrame, Symbolizer};
use crate::target::procfs;
use crate::target::ptrace::WaitEvent;
use crate::target::signals;
use crate::target::stopper::StoppedThread;
use crate::unwind::regs::Regs;
use crate::unwind::{RawFrame, StackWalk, StopReason, sigframe};

use super::variables::VariableReader;

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
    pub thread: &'t StoppedThread,
    pub frames: Vec<RawFrame>,
    pub stop: Option<StopReason>,
}

pub fn walk_thread<'t>(
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
    if let (WaitEvent::Signal(sig), Some(info)) = (w.thread.stop, w.thread.siginfo.as_ref())
        && accept(sig)
    {
        let signal = RawSigInfo::from_bytes(info).describe("signal-delivery-stop");
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
pub fn render_thread<'d, 'a>(
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

pub fn module_info(m: &crate::debuginfo::Module<'_>) -> ModuleInfo {
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
                DebugSource::Debuginfod => "debuginfod",
            }
            .to_string()
        }),
        symbols: m.symbol_kinds(),
        error: m.error.clone(),
    }
}
