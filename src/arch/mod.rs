//! What is specific to the processor, in one place: how DWARF numbers the
//! registers and what they are called, the register sets the kernel
//! reports (ptrace and core notes) and how they become the unwinder's
//! register file and the snapshot's, the layout of the kernel's signal
//! frame, the TLS variant and the `long double` format.
//!
//! Everything else is written against these names; x86-64 is the only
//! architecture today (`lib.rs` refuses to build for another), so a port
//! adds a sibling of `x86_64/` and selects it here.

mod x86_64;

pub use x86_64::*;
