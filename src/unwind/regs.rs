//! The x86-64 register file as DWARF numbers it, with each register either
//! known or not: in caller frames only what the unwinder recovered is known,
//! and later readers must see "unknown", never a stale callee value.

use crate::address::RunAddr;

pub const RAX: u16 = 0;
pub const RDX: u16 = 1;
pub const RCX: u16 = 2;
pub const RBX: u16 = 3;
pub const RSI: u16 = 4;
pub const RDI: u16 = 5;
pub const RBP: u16 = 6;
pub const RSP: u16 = 7;
pub const R8: u16 = 8;
pub const R12: u16 = 12;
pub const R15: u16 = 15;
/// DWARF's return-address column; in the frame's own set it holds the pc.
pub const RIP: u16 = 16;
pub const COUNT: usize = 17;

pub const NAMES: [&str; COUNT] = [
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
];

/// Registers a callee must preserve (System V AMD64 ABI): a caller frame
/// inherits them unless the CFI says where they were saved.
pub fn is_callee_saved(reg: u16) -> bool {
    matches!(reg, RBX | RBP | R12..=R15)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    values: [Option<u64>; COUNT],
}

impl Regs {
    pub fn get(&self, reg: u16) -> Option<u64> {
        self.values.get(reg as usize).copied().flatten()
    }

    pub fn set(&mut self, reg: u16, value: Option<u64>) {
        if let Some(slot) = self.values.get_mut(reg as usize) {
            *slot = value;
        }
    }

    pub fn pc(&self) -> Option<RunAddr> {
        self.get(RIP).map(RunAddr::new)
    }

    pub fn sp(&self) -> Option<RunAddr> {
        self.get(RSP).map(RunAddr::new)
    }

    /// The known registers by name, for the snapshot.
    pub fn known(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        NAMES.iter().zip(self.values.iter()).filter_map(|(n, v)| Some((*n, (*v)?)))
    }

    /// The registers of a thread as the kernel reports them.
    pub fn from_user_regs(r: &libc::user_regs_struct) -> Self {
        let mut regs = Regs::default();
        let all = [
            r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
            r.r15, r.rip,
        ];
        for (i, v) in all.into_iter().enumerate() {
            regs.values[i] = Some(v);
        }
        regs
    }
}
