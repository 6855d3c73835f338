//! The one interface through which the unwinder and (later) the variable
//! reader see the target's memory.
//!
//! Nothing above `target/` calls ptrace or opens /proc: a live process, a
//! core file or a test buffer all look the same through [`Memory`].

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("cannot read {len} bytes at {addr:#x}")]
pub struct MemoryError {
    pub addr: u64,
    pub len: usize,
}

pub trait Memory {
    /// Fills `buf` with the bytes at `addr`, or fails without a partial result.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError>;

    fn read_u64(&self, addr: u64) -> Result<u64, MemoryError> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// Memory backed by byte ranges held in the process: tests, and small
/// regions copied out of a target (such as the vdso image).
#[derive(Default, Clone)]
pub struct BufferMemory {
    regions: Vec<(u64, Vec<u8>)>,
}

impl BufferMemory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, addr: u64, bytes: Vec<u8>) {
        self.regions.push((addr, bytes));
    }
}

impl Memory for BufferMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let err = MemoryError { addr, len: buf.len() };
        for (start, bytes) in &self.regions {
            let off = addr.checked_sub(*start);
            if let Some(off) = off.and_then(|o| usize::try_from(o).ok())
                && let Some(src) = off.checked_add(buf.len()).and_then(|end| bytes.get(off..end))
            {
                buf.copy_from_slice(src);
                return Ok(());
            }
        }
        Err(err)
    }
}
