//! Stack unwinding: from a thread's registers to the chain of physical
//! frames, each with the registers the unwinder could recover.
//!
//! [`StackWalk`] is a resumable state machine: each call to
//! [`StackWalk::next_frame`] yields one frame (with its CFA), so the caller
//! can symbolize, check a deadline or stop at a frame limit between steps.
//! It reads memory only through [`Memory`] and CFI only through
//! [`CfiLookup`], so it runs the same on a live process or a test buffer.
//!
//! Per step, in order: the kernel's signal frame (recognised by the
//! sigreturn trampoline's code), CFI from `.eh_frame`/`.debug_frame`, and
//! frame pointers where there is no CFI. A walk ends when the return
//! address is undefined or zero (the outermost frame), when the stack does
//! not move upward (a loop or garbage), at the frame limit, or when no
//! method applies; the reason is recorded.
//!
//! Registers, stack words and CFI all come from the target, so nothing
//! they hold is trusted: addresses computed from them wrap like the
//! machine's (a garbage frame pointer at the top of the address space
//! must end the walk, not panic), and CFI expressions run under an
//! operation budget (see [`cfi`]).

pub(crate) mod cfi;
pub mod regs;
pub(crate) mod sigframe;

use gimli::UnwindContext;
use rustc_hash::FxHashMap as HashMap;

use crate::address::{Bias, RunAddr};
use crate::arch::dwarf;
use crate::memory::Memory;
use cfi::{Cfi, Step};
use regs::Regs;

/// Finds the CFI of the module mapped at a run-time address, with the
/// module's load bias (run-time minus link-time address).
pub trait CfiLookup {
    fn cfi_for(&self, pc: RunAddr) -> Option<(&Cfi<'_>, Bias)>;
    /// Whether `pc` lies in executable memory of some module.
    fn is_code(&self, pc: RunAddr) -> bool;
    /// Reads code bytes at `pc` from the file the code is mapped from;
    /// false when `pc` is not file-backed code.
    fn read_code(&self, pc: RunAddr, buf: &mut [u8]) -> bool;
}

/// How a frame's registers were obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnwindMethod {
    /// The thread's own registers (frame 0).
    Context,
    /// Call frame information.
    Cfi,
    /// The kernel's signal frame (the interrupted context).
    SignalFrame,
    /// The saved frame-pointer chain, where no CFI covers the callee.
    FramePointer,
    /// The callee's pc was not code (a call through a bad pointer), so the
    /// return address was taken from the top of the stack.
    StackTop,
}

/// Why a walk ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The outermost frame: its return address is undefined or zero.
    Outermost,
    /// The configured frame limit was reached.
    MaxFrames,
    /// The caller's stack pointer was not above the callee's.
    NoProgress,
    /// No CFI and no usable frame pointer for this pc.
    NoUnwindInfo,
    /// The unwind information could not be applied.
    Error(String),
}

/// A frame the walk found. Its registers come with it from
/// [`StackWalk::next_frame`], apart: a frame-only snapshot does not keep
/// them, and they are two thirds of a frame's bytes.
#[derive(Clone, Debug)]
pub struct RawFrame {
    pub pc: RunAddr,
    pub sp: RunAddr,
    /// Canonical frame address, once the frame has been stepped through.
    pub cfa: Option<RunAddr>,
    pub method: UnwindMethod,
    /// `pc` is the address of the instruction executing (frame 0, or the
    /// frame a signal interrupted), not a return address: look it up as is,
    /// not at pc-1.
    pub pc_is_exact: bool,
    /// This frame is the sigreturn trampoline.
    pub signal_trampoline: bool,
    /// Why the CFI covering the callee's pc was not used to find this
    /// frame (it could not be read), when frame pointers found it instead.
    pub cfi_error: Option<String>,
}

impl RawFrame {
    /// The address to symbolize and look CFI up at: a return address points
    /// after the call, which may be the first byte of the next function.
    pub fn lookup_pc(&self) -> RunAddr {
        if self.pc_is_exact { self.pc } else { self.pc - 1 }
    }
}

pub struct StackWalk<'m> {
    stepper: Stepper<'m>,
    current: Option<(RawFrame, Regs)>,
    yielded: usize,
    max_frames: usize,
    stop: Option<StopReason>,
}

/// What a step from a frame to its caller reads and keeps, apart from
/// where the walk is, so a step borrows the current frame where it lies:
/// a frame with its registers is two hundred bytes, and moving it out
/// and back costs per frame.
struct Stepper<'m> {
    memory: &'m dyn Memory,
    lookup: &'m dyn CfiLookup,
    ctx: Box<UnwindContext<usize>>,
    /// Whether each caller pc met is the sigreturn trampoline. Reading and
    /// comparing a pc's code cost about as much as a CFI step, and the
    /// frames of a recursion share one return address; within one walk
    /// the same run-time pc has the same code, so the answer is kept.
    trampolines: HashMap<RunAddr, bool>,
    /// The last pc asked about and its answer: a recursion's frames
    /// return to one pc, frame after frame, and need no hash.
    last_trampoline: Option<(RunAddr, bool)>,
}

impl<'m> StackWalk<'m> {
    pub fn new(memory: &'m dyn Memory, lookup: &'m dyn CfiLookup, regs: Regs, max_frames: usize) -> Self {
        let current = regs.pc().zip(regs.sp()).map(|(pc, sp)| {
            let frame = RawFrame {
                pc,
                sp,
                cfa: None,
                method: UnwindMethod::Context,
                pc_is_exact: true,
                signal_trampoline: sigframe::is_trampoline(lookup, memory, pc),
                cfi_error: None,
            };
            (frame, regs)
        });
        let stop = current.is_none().then(|| StopReason::Error("no pc or stack pointer".into()));
        let stepper = Stepper {
            memory,
            lookup,
            ctx: Box::new(UnwindContext::new()),
            trampolines: HashMap::default(),
            last_trampoline: None,
        };
        StackWalk { stepper, current, yielded: 0, max_frames, stop }
    }

    /// Why the walk ended, once `next_frame` has returned `None`.
    pub fn stop_reason(&self) -> Option<&StopReason> {
        self.stop.as_ref()
    }

    /// The next frame, innermost first, with the registers known in it.
    pub fn next_frame(&mut self) -> Option<(RawFrame, Regs)> {
        let (frame, regs) = self.current.as_mut()?;
        if self.yielded >= self.max_frames {
            self.stop = Some(StopReason::MaxFrames);
            self.current = None;
            return None;
        }
        self.yielded += 1;
        match self.stepper.step(frame, regs) {
            Ok((cfa, caller)) => {
                frame.cfa = Some(cfa);
                match no_frame(frame, &caller.0) {
                    None => return self.current.replace(caller),
                    Some(reason) => self.stop = Some(reason),
                }
            }
            Err(reason) => self.stop = Some(reason),
        }
        self.current.take()
    }
}

/// Why the caller a step produced is no frame and ends the walk, if it is
/// not one.
fn no_frame(callee: &RawFrame, caller: &RawFrame) -> Option<StopReason> {
    if caller.pc.is_null() {
        return Some(StopReason::Outermost);
    }
    // A signal may run its handler on an alternate stack below or above
    // the interrupted one; everywhere else the stack grows down, so the
    // caller's stack pointer must be above the callee's.
    let crossed_signal = callee.signal_trampoline;
    if !crossed_signal && caller.sp <= callee.sp {
        return Some(StopReason::NoProgress);
    }
    if crossed_signal && caller.sp == callee.sp && caller.pc == callee.pc {
        return Some(StopReason::NoProgress);
    }
    None
}

impl Stepper<'_> {
    /// Computes the frame's CFA and its caller, from the frame and its
    /// registers.
    fn step(&mut self, frame: &RawFrame, regs: &Regs) -> Result<(RunAddr, (RawFrame, Regs)), StopReason> {
        if frame.signal_trampoline {
            let regs = sigframe::interrupted_regs(self.memory, frame.sp)
                .ok_or_else(|| StopReason::Error(format!("unreadable signal frame at {:#x}", frame.sp)))?;
            return self.caller(frame.sp, regs, UnwindMethod::SignalFrame, true);
        }
        let mut unusable = None;
        if let Some((cfi, bias)) = self.lookup.cfi_for(frame.lookup_pc()) {
            match cfi.step(bias.link_time(frame.lookup_pc()), regs, self.memory, &mut self.ctx) {
                Step::Done(step) => return self.caller(step.cfa, step.caller, UnwindMethod::Cfi, step.signal_frame),
                Step::Failed(e) => return Err(StopReason::Error(e.to_string())),
                Step::UnusableFde(e) => unusable = Some(e.to_string()),
                Step::NoFde => {}
            }
        }
        if frame.method == UnwindMethod::Context && !self.lookup.is_code(frame.pc) {
            return self.stack_top(frame, regs);
        }
        // Without usable CFI, frame pointers; the caller they find says why
        // the CFI was not used, and so does the end of a walk they cannot go
        // on with.
        match (self.frame_pointer(frame, regs), unusable) {
            (Ok((cfa, (caller, regs))), unusable) => Ok((cfa, (RawFrame { cfi_error: unusable, ..caller }, regs))),
            (Err(StopReason::NoUnwindInfo), Some(why)) => Err(StopReason::Error(why)),
            (Err(reason), _) => Err(reason),
        }
    }

    fn caller(
        &mut self,
        cfa: RunAddr,
        regs: Regs,
        method: UnwindMethod,
        exact: bool,
    ) -> Result<(RunAddr, (RawFrame, Regs)), StopReason> {
        let pc = regs.pc().ok_or(StopReason::Outermost)?;
        let sp = regs.sp().unwrap_or(cfa);
        let signal_trampoline = match self.last_trampoline {
            Some((last, answer)) if last == pc => answer,
            _ => {
                let (lookup, memory) = (self.lookup, self.memory);
                let answer = *self.trampolines.entry(pc).or_insert_with(|| sigframe::is_trampoline(lookup, memory, pc));
                self.last_trampoline = Some((pc, answer));
                answer
            }
        };
        // A handler "returns" to the trampoline's first instruction; that
        // pc follows no call, so it is looked up as is.
        let pc_is_exact = exact || signal_trampoline;
        Ok((cfa, (RawFrame { pc, sp, cfa: None, method, pc_is_exact, signal_trampoline, cfi_error: None }, regs)))
    }

    /// rbp-chain step: the caller's rbp is saved at [rbp], the return
    /// address at [rbp+8], and the caller's stack starts at rbp+16. Other
    /// callee-saved registers are unknown.
    fn frame_pointer(&mut self, frame: &RawFrame, regs: &Regs) -> Result<(RunAddr, (RawFrame, Regs)), StopReason> {
        let bp = regs.get(dwarf::FP).filter(|&bp| bp != 0).ok_or(StopReason::NoUnwindInfo)?;
        let rbp = RunAddr::new(bp);
        if rbp <= frame.sp {
            // The caller's frame would not be above this one: a loop, or
            // rbp is not a frame pointer here.
            return Err(StopReason::NoProgress);
        }
        if bp % 8 != 0 {
            return Err(StopReason::Error(format!("frame pointer {rbp:#x} is misaligned")));
        }
        let saved_rbp = self.memory.read_u64(rbp.get()).map_err(|_| StopReason::NoUnwindInfo)?;
        let ra = self.memory.read_u64((rbp + 8).get()).map_err(|_| StopReason::NoUnwindInfo)?;
        let cfa = rbp + 16;
        let mut caller = Regs::default();
        caller.set(dwarf::FP, Some(saved_rbp));
        caller.set(dwarf::SP, Some(cfa.get()));
        caller.set(dwarf::PC, Some(ra));
        self.caller(cfa, caller, UnwindMethod::FramePointer, false)
    }

    /// Frame 0's pc is not code: it jumped or called through a bad pointer.
    /// A call pushed the return address at the stack top, so the caller
    /// resumes there, with the same callee-saved registers.
    fn stack_top(&mut self, frame: &RawFrame, regs: &Regs) -> Result<(RunAddr, (RawFrame, Regs)), StopReason> {
        let ra = self.memory.read_u64(frame.sp.get()).map_err(|_| StopReason::NoUnwindInfo)?;
        let mut caller = Regs::default();
        for reg in 0..dwarf::COUNT as u16 {
            if dwarf::is_callee_saved(reg) {
                caller.set(reg, regs.get(reg));
            }
        }
        let cfa = frame.sp + 8;
        caller.set(dwarf::SP, Some(cfa.get()));
        caller.set(dwarf::PC, Some(ra));
        self.caller(cfa, caller, UnwindMethod::StackTop, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::LinkAddr;
    use crate::memory::BufferMemory;

    /// Code at 0x1000..0x4000, no CFI anywhere; code bytes from `code`.
    /// Code at 0x1000..0x4000; CFI for 0x1000..0x1100 when `cfi` is set.
    struct TestLookup {
        code: BufferMemory,
        cfi: Option<Cfi<'static>>,
    }

    impl CfiLookup for TestLookup {
        fn cfi_for(&self, pc: RunAddr) -> Option<(&Cfi<'_>, Bias)> {
            self.cfi.as_ref().filter(|_| (0x1000..0x1100).contains(&pc.get())).map(|c| (c, Bias::ZERO))
        }
        fn is_code(&self, pc: RunAddr) -> bool {
            (0x1000..0x4000).contains(&pc.get())
        }
        fn read_code(&self, pc: RunAddr, buf: &mut [u8]) -> bool {
            self.code.read(pc.get(), buf).is_ok()
        }
    }

    const SP: u64 = 0x7000_0000;

    fn stack(words: &[(u64, u64)]) -> BufferMemory {
        let mut bytes = vec![0u8; 0x400];
        for &(addr, value) in words {
            let off = (addr - SP) as usize;
            bytes[off..off + 8].copy_from_slice(&value.to_le_bytes());
        }
        let mut m = BufferMemory::new();
        m.add(SP, bytes);
        m
    }

    fn regs(pc: u64, sp: u64, bp: u64) -> Regs {
        let mut r = Regs::default();
        r.set(dwarf::PC, Some(pc));
        r.set(dwarf::SP, Some(sp));
        r.set(dwarf::FP, Some(bp));
        r.set(dwarf::RBX, Some(7));
        r
    }

    /// A frame and its registers, as the walk gives them.
    struct Found {
        frame: RawFrame,
        regs: Regs,
    }

    impl std::ops::Deref for Found {
        type Target = RawFrame;
        fn deref(&self) -> &RawFrame {
            &self.frame
        }
    }

    fn walk(memory: &BufferMemory, lookup: &TestLookup, start: Regs) -> (Vec<Found>, StopReason) {
        let mut w = StackWalk::new(memory, lookup, start, 100);
        let mut frames = Vec::new();
        while let Some((frame, regs)) = w.next_frame() {
            frames.push(Found { frame, regs });
        }
        (frames, w.stop_reason().cloned().unwrap())
    }

    #[test]
    fn frame_pointer_chain() {
        let mem = stack(&[(SP + 0x20, SP + 0x60), (SP + 0x28, 0x2000), (SP + 0x60, 0), (SP + 0x68, 0x3000)]);
        let lookup = TestLookup { code: BufferMemory::new(), cfi: None };
        let (frames, stop) = walk(&mem, &lookup, regs(0x1000, SP, SP + 0x20));
        let pcs: Vec<u64> = frames.iter().map(|f| f.pc.get()).collect();
        assert_eq!(pcs, [0x1000, 0x2000, 0x3000]);
        assert_eq!(frames[1].method, UnwindMethod::FramePointer);
        assert_eq!(frames[1].sp.get(), SP + 0x30);
        assert_eq!(frames[0].cfa.map(RunAddr::get), Some(SP + 0x30));
        assert!(!frames[1].pc_is_exact, "a return address is looked up at pc-1");
        assert_eq!(frames[1].regs.get(dwarf::RBX), None, "callee-saved registers are unknown after an rbp step");
        assert_eq!(stop, StopReason::NoUnwindInfo, "rbp 0 ends the chain");
    }

    /// An FDE covers frame 0's pc but cannot be read: frame pointers find
    /// the caller, which says why the CFI was not used.
    #[test]
    fn unreadable_cfi_falls_back_to_frame_pointers_and_says_so() {
        let data: &'static [u8] = Box::leak(cfi::tests::eh_frame_with_a_bad_instruction().into_boxed_slice());
        let sections =
            cfi::CfiSections { eh_frame: Some((data, LinkAddr::new(0x2000))), ..cfi::CfiSections::default() };
        let lookup = TestLookup { code: BufferMemory::new(), cfi: Some(Cfi::new(sections)) };
        let mem = stack(&[(SP + 0x20, SP + 0x60), (SP + 0x28, 0x2000), (SP + 0x60, 0), (SP + 0x68, 0x3000)]);
        let (frames, _) = walk(&mem, &lookup, regs(0x1005, SP, SP + 0x20));
        assert_eq!(frames[1].method, UnwindMethod::FramePointer);
        let why = frames[1].cfi_error.as_deref().expect("the reason is kept");
        assert!(why.starts_with("CFI: "), "{why}");
        assert_eq!(frames[2].cfi_error, None, "no CFI covers 0x2000");
    }

    #[test]
    fn a_loop_ends_the_walk() {
        // The saved rbp points at itself: the next step would not move up.
        let mem = stack(&[(SP + 0x20, SP + 0x20), (SP + 0x28, 0x2000)]);
        let lookup = TestLookup { code: BufferMemory::new(), cfi: None };
        let (frames, stop) = walk(&mem, &lookup, regs(0x1000, SP, SP + 0x20));
        assert_eq!(frames.len(), 2);
        assert_eq!(stop, StopReason::NoProgress);
    }

    #[test]
    fn addresses_wrap_at_the_top_of_memory() {
        // Registers and saved words are the target's: a frame pointer or
        // stack pointer at the very top of the address space makes the
        // next CFA wrap to 0, which ends the walk instead of overflowing.
        let top = u64::MAX - 15;
        let mut mem = BufferMemory::new();
        mem.add(top, [top.to_le_bytes(), 0x2000u64.to_le_bytes()].concat());
        let lookup = TestLookup { code: BufferMemory::new(), cfi: None };
        let (frames, stop) = walk(&mem, &lookup, regs(0x1000, top - 0x100, top));
        assert_eq!(frames.len(), 1);
        assert_eq!(stop, StopReason::NoProgress, "the caller's stack would be at 0");
        let (frames, stop) = walk(&mem, &lookup, regs(0, u64::MAX - 7, 0));
        assert_eq!(frames.len(), 1);
        assert_eq!(stop, StopReason::NoProgress);
    }

    #[test]
    fn call_through_a_bad_pointer() {
        let mem = stack(&[(SP, 0x2345)]);
        let lookup = TestLookup { code: BufferMemory::new(), cfi: None };
        let (frames, _) = walk(&mem, &lookup, regs(0, SP, 0));
        assert_eq!(frames[1].pc.get(), 0x2345);
        assert_eq!(frames[1].method, UnwindMethod::StackTop);
        assert_eq!(frames[1].sp.get(), SP + 8);
        assert_eq!(frames[1].regs.get(dwarf::RBX), Some(7), "callee-saved registers carry over");
    }

    /// `mov $15,%rax; syscall` at 0x3000: the sigreturn trampoline.
    fn trampoline_code() -> BufferMemory {
        let mut code = BufferMemory::new();
        code.add(0x3000, vec![0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05]);
        code
    }

    #[test]
    fn signal_frame() {
        // Frame 0 returns (by its rbp chain) into the sigreturn trampoline,
        // whose stack holds the kernel's ucontext with the interrupted
        // registers: gregs start 40 bytes in; rbx is [11], rsp [15], rip [16].
        let code = trampoline_code();
        let tramp_sp = SP + 0x30;
        let gregs = tramp_sp + 40;
        let mem = stack(&[
            (SP + 0x20, SP + 0x200),
            (SP + 0x28, 0x3000),
            (gregs + 11 * 8, 0xb0b),
            (gregs + 15 * 8, SP + 0x300),
            (gregs + 16 * 8, 0x1234),
        ]);
        let lookup = TestLookup { code, cfi: None };
        let mut w = StackWalk::new(&mem, &lookup, regs(0x1000, SP, SP + 0x20), 3);
        assert_eq!(w.next_frame().unwrap().0.pc.get(), 0x1000);
        let (tramp, _) = w.next_frame().unwrap();
        assert!(tramp.signal_trampoline && tramp.pc_is_exact);
        assert_eq!(tramp.sp.get(), tramp_sp);
        let (interrupted, regs) = w.next_frame().unwrap();
        assert_eq!(interrupted.method, UnwindMethod::SignalFrame);
        assert_eq!((interrupted.pc.get(), interrupted.sp.get()), (0x1234, SP + 0x300));
        assert!(interrupted.pc_is_exact, "the interrupted pc is exact, not a return address");
        assert_eq!(regs.get(dwarf::RBX), Some(0xb0b), "all registers come from the ucontext");
        assert_eq!(w.next_frame().map(|f| f.0.pc), None);
        assert_eq!(w.stop_reason(), Some(&StopReason::NoUnwindInfo), "rbp is 0 in the interrupted context");
    }

    /// A signal interrupted the handler of another at the same pc: each pc
    /// is recognised (or not) as the trampoline every time the walk meets
    /// it, whether or not it met it before. gregs start 40 bytes into a
    /// trampoline frame; rbp is [10], rsp [15], rip [16].
    #[test]
    fn nested_signal_frames() {
        let (tramp1, tramp2) = (SP + 0x30, SP + 0x130);
        let (gregs1, gregs2) = (tramp1 + 40, tramp2 + 40);
        let mem = stack(&[
            (SP + 0x20, 0),
            (SP + 0x28, 0x3000),
            (gregs1 + 10 * 8, SP + 0x120),
            (gregs1 + 15 * 8, SP + 0x100),
            (gregs1 + 16 * 8, 0x1000),
            (SP + 0x120, 0),
            (SP + 0x128, 0x3000),
            (gregs2 + 15 * 8, SP + 0x300),
            (gregs2 + 16 * 8, 0x1234),
        ]);
        let lookup = TestLookup { code: trampoline_code(), cfi: None };
        let (frames, stop) = walk(&mem, &lookup, regs(0x1000, SP, SP + 0x20));
        let seen: Vec<(u64, bool, UnwindMethod)> =
            frames.iter().map(|f| (f.pc.get(), f.signal_trampoline, f.method)).collect();
        assert_eq!(
            seen,
            [
                (0x1000, false, UnwindMethod::Context),
                (0x3000, true, UnwindMethod::FramePointer),
                (0x1000, false, UnwindMethod::SignalFrame),
                (0x3000, true, UnwindMethod::FramePointer),
                (0x1234, false, UnwindMethod::SignalFrame),
            ]
        );
        assert_eq!(frames[3].sp.get(), tramp2);
        assert_eq!(stop, StopReason::NoUnwindInfo);
    }
}
