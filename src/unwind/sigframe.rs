//! The kernel's signal frame on x86-64 Linux.
//!
//! When a handler returns, it "returns" into the sigreturn trampoline
//! (`__restore_rt`: `mov $15,%rax; syscall`), whose stack pointer points at
//! the `struct ucontext` the kernel saved; the interrupted registers are in
//! its `uc_mcontext`, and the `siginfo_t` follows the ucontext. Recognising
//! the trampoline by its code (as gdb does) works whether or not the C
//! library describes it with CFI.

use super::CfiLookup;
use super::regs::{self, Regs};
use crate::address::RunAddr;
use crate::memory::Memory;

/// `mov $0xf,%rax; syscall` (rt_sigreturn).
const TRAMPOLINE: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];
/// offsetof(struct ucontext, uc_mcontext): uc_flags, uc_link, uc_stack.
const MCONTEXT_OFFSET: u64 = 40;
/// sizeof(struct ucontext) as the kernel lays it out (8-byte sigset).
const UCONTEXT_SIZE: u64 = 304;
/// Order of the general registers in `struct sigcontext`, as DWARF numbers.
const SIGCONTEXT_REGS: [u16; 17] = [
    regs::R8,
    9,
    10,
    11,
    regs::R12,
    13,
    14,
    regs::R15,
    regs::RDI,
    regs::RSI,
    regs::RBP,
    regs::RBX,
    regs::RDX,
    regs::RAX,
    regs::RCX,
    regs::RSP,
    regs::RIP,
];

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
    let mut raw = [0u8; 17 * 8];
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
