//! The layout of the kernel's x86-64 signal frame: the sigreturn
//! trampoline's code, where the interrupted registers lie in the saved
//! `struct ucontext`, and where the `siginfo_t` follows it.

use super::dwarf;

/// `mov $0xf,%rax; syscall` (rt_sigreturn), the code of `__restore_rt`.
pub const TRAMPOLINE: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];
/// offsetof(struct ucontext, uc_mcontext): uc_flags, uc_link, uc_stack.
pub const MCONTEXT_OFFSET: u64 = 40;
/// sizeof(struct ucontext) as the kernel lays it out (8-byte sigset): the
/// `siginfo_t` follows it.
pub const UCONTEXT_SIZE: u64 = 304;
/// The general registers at the start of `struct sigcontext`, in order,
/// as DWARF numbers.
pub const SIGCONTEXT_REGS: [u16; 17] = [
    dwarf::R8,
    dwarf::R9,
    dwarf::R10,
    dwarf::R11,
    dwarf::R12,
    dwarf::R13,
    dwarf::R14,
    dwarf::R15,
    dwarf::RDI,
    dwarf::RSI,
    dwarf::RBP,
    dwarf::RBX,
    dwarf::RDX,
    dwarf::RAX,
    dwarf::RCX,
    dwarf::RSP,
    dwarf::RIP,
];
