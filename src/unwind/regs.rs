//! The unwinder's register file, numbered as DWARF numbers the registers
//! ([`dwarf`]), with each register either known or not: in caller frames
//! only what the unwinder recovered is known, and later readers must see
//! "unknown", never a stale callee value.

use crate::address::RunAddr;
use crate::arch::dwarf;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    values: [Option<u64>; dwarf::COUNT],
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
        self.get(dwarf::PC).map(RunAddr::new)
    }

    pub fn sp(&self) -> Option<RunAddr> {
        self.get(dwarf::SP).map(RunAddr::new)
    }

    /// The known registers by name, for the snapshot.
    pub fn known(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        dwarf::NAMES.iter().zip(self.values.iter()).filter_map(|(n, v)| Some((*n, (*v)?)))
    }
}
