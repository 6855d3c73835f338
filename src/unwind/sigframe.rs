//! The kernel's signal frame on Linux (its layout is the architecture's:
//! [`crate::arch::sigframe`]).
//!
//! When a handler returns, it "returns" into the sigreturn trampoline
//! (`__restore_rt`, on x86-64 `mov $15,%rax; syscall`), whose stack pointer points at
//! the `struct ucontext` the kernel saved; the interrupted registers are in
//! its `uc_mcontext`, and the `siginfo_t` follows the ucontext. Recognising
//! the trampoline by its code (as gdb does) works whether or not the C
//! library describes it with CFI.

use super::CfiLookup;
use super::regs::Regs;
use crate::address::RunAddr;
use crate::arch::sigframe::{MCONTEXT_OFFSET, SIGCONTEXT_REGS, TRAMPOLINE, UCONTEXT_SIZE};
use crate::memory::Memory;

/// Whether `pc` is at the sigreturn trampoline. Code is read from the
/// module's file where it is mapped from one (no system call), else from
/// the target's memory.
pub fn is_trampoline(code: &dyn CfiLookup, memory: &dyn Memory, pc: RunAddr) -> bool {
    let mut bytes = [0u8; TRAMPOLINE.len()];
    (code.read_code(pc, &mut bytes) || memory.read(pc.get(), &mut bytes).is_ok()) && bytes == TRAMPOLINE
}

/// The interrupted registers, all of them known, from the signal frame
/// whose trampoline frame has stack pointer `sp`.
pub fn interrupted_regs(memory: &dyn Memory, sp: RunAddr) -> Option<Regs> {
    let mut raw = [0u8; SIGCONTEXT_REGS.len() * 8];
    memory.read((sp + MCONTEXT_OFFSET).get(), &mut raw).ok()?;
    let mut out = Regs::default();
    for (i, reg) in SIGCONTEXT_REGS.iter().enumerate() {
        let bytes: [u8; 8] = raw[i * 8..i * 8 + 8].try_into().ok()?;
        out.set(*reg, Some(u64::from_le_bytes(bytes)));
    }
    Some(out)
}

/// Address of the `siginfo_t` saved with the signal frame.
pub fn siginfo_address(sp: RunAddr) -> RunAddr {
    sp + UCONTEXT_SIZE
}
