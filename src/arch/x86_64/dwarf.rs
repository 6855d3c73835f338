//! The registers as the x86-64 psABI's DWARF numbering has them (§3.6.2):
//! the general registers 0-15, the return address column 16, then xmm0-15.

pub const RAX: u16 = 0;
pub const RDX: u16 = 1;
pub const RCX: u16 = 2;
pub const RBX: u16 = 3;
pub const RSI: u16 = 4;
pub const RDI: u16 = 5;
pub const RBP: u16 = 6;
pub const RSP: u16 = 7;
pub const R8: u16 = 8;
pub const R9: u16 = 9;
pub const R10: u16 = 10;
pub const R11: u16 = 11;
pub const R12: u16 = 12;
pub const R13: u16 = 13;
pub const R14: u16 = 14;
pub const R15: u16 = 15;
/// DWARF's return-address column; in a frame's own set it holds the pc.
pub const RIP: u16 = 16;
/// The general registers and the pc: what the unwinder tracks.
pub const COUNT: usize = 17;

/// The stack pointer, the frame pointer and the pc, by role.
pub const SP: u16 = RSP;
pub const FP: u16 = RBP;
pub const PC: u16 = RIP;

pub const NAMES: [&str; COUNT] = [
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
];

/// DWARF numbers xmm0-xmm15 as 17-32.
const FIRST_VECTOR: u16 = 17;
pub const VECTOR_COUNT: usize = 16;
/// Bytes in one vector register.
pub const VECTOR_SIZE: usize = 16;

/// Registers a callee must preserve (System V AMD64 ABI): a caller frame
/// inherits them unless the CFI says where they were saved.
pub fn is_callee_saved(reg: u16) -> bool {
    matches!(reg, RBX | RBP | R12..=R15)
}

/// Which vector register (0 for xmm0) a DWARF register number names.
pub fn vector_index(reg: u16) -> Option<usize> {
    let index = usize::from(reg.checked_sub(FIRST_VECTOR)?);
    (index < VECTOR_COUNT).then_some(index)
}

/// A register's name as the snapshot spells it (`rsp`, `xmm3`), else
/// its DWARF number.
pub fn register_name(reg: u16) -> String {
    match (NAMES.get(usize::from(reg)), vector_index(reg)) {
        (Some(name), _) => (*name).to_string(),
        (None, Some(i)) => format!("xmm{i}"),
        (None, None) => format!("register {reg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_registers_follow_the_return_address_column() {
        assert_eq!(vector_index(RIP), None);
        assert_eq!(vector_index(17), Some(0));
        assert_eq!(vector_index(32), Some(15));
        assert_eq!(vector_index(33), None);
        assert_eq!(
            (register_name(SP), register_name(20), register_name(99)),
            ("rsp".into(), "xmm3".into(), "register 99".into())
        );
    }
}
