//! The unwinder's register file, numbered as DWARF numbers the registers
//! ([`dwarf`]), with each register either known or not: in caller frames
//! only what the unwinder recovered is known, and later readers must see
//! "unknown", never a stale callee value.
//!
//! A walk holds one for each frame (while it steps, and after it when
//! variables are read), so it is kept small: the values with a bit per
//! register saying which are known (an unknown one's value is 0, so equal
//! sets compare equal), not an `Option` each.

use crate::address::RunAddr;
use crate::arch::dwarf;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    values: [u64; dwarf::COUNT],
    /// Bit `reg` is set when register `reg` is known.
    known: u32,
}

impl Regs {
    pub fn get(&self, reg: u16) -> Option<u64> {
        let value = *self.values.get(reg as usize)?;
        (self.known & (1 << reg) != 0).then_some(value)
    }

    pub fn set(&mut self, reg: u16, value: Option<u64>) {
        if let Some(slot) = self.values.get_mut(reg as usize) {
            *slot = value.unwrap_or(0);
            let bit = 1 << reg;
            self.known = if value.is_some() { self.known | bit } else { self.known & !bit };
        }
    }

    pub fn pc(&self) -> Option<RunAddr> {
        self.get(dwarf::PC).map(RunAddr::new)
    }

    pub fn sp(&self) -> Option<RunAddr> {
        self.get(dwarf::SP).map(RunAddr::new)
    }
}

// A bit of `known` for each register.
const _: () = assert!(dwarf::COUNT <= u32::BITS as usize);
