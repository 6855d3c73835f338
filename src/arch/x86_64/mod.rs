//! x86-64 (System V AMD64 ABI, Linux).

pub(crate) mod cpu;
pub mod dwarf;
pub mod float;
pub(crate) mod sigframe;

pub use cpu::{CpuState, GeneralRegs, REGISTER_NAMES, VectorRegs};

use crate::address::RunAddr;

/// The start of a module's static TLS block, given the thread pointer and
/// the block's offset as the dynamic loader assigned it. x86-64 uses TLS
/// variant II: the thread pointer (`fs_base`) points at the thread's
/// control block and the static blocks lie below it.
pub fn static_tls_block(thread_pointer: RunAddr, offset: u64) -> RunAddr {
    thread_pointer - offset
}
