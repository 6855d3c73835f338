//! The one interface through which the unwinder, the variable reader and
//! the pmodules see the target's memory.
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

/// Reads a NUL-terminated string of at most `max` bytes at `address`, a
/// page at a time (a string may end just before an unmapped page), with
/// `read` filling a buffer from an address or failing. Returns the bytes
/// before the NUL (None when nothing at `address` is readable) and whether
/// `max` cut the string.
pub fn read_c_string(
    address: u64,
    max: usize,
    mut read: impl FnMut(u64, &mut [u8]) -> bool,
) -> (Option<Vec<u8>>, bool) {
    const PAGE: u64 = 4096;
    let mut out = Vec::new();
    let mut at = address;
    while out.len() < max {
        let mut chunk = vec![0u8; ((PAGE - at % PAGE) as usize).min(max - out.len())];
        if !read(at, &mut chunk) {
            return (if out.is_empty() { None } else { Some(out) }, false);
        }
        if let Some(nul) = chunk.iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            return (Some(out), false);
        }
        // The next page; an address at the top of the space wraps.
        at = at.wrapping_add(chunk.len() as u64);
        out.extend_from_slice(&chunk);
    }
    (Some(out), true)
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

#[cfg(test)]
mod tests {
    use super::{BufferMemory, Memory, read_c_string};

    #[test]
    fn c_strings_end_at_nul_limit_or_unmapped_page() {
        let mut mem = BufferMemory::new();
        // "hi\0" at 0x1000; 8 bytes without NUL ending at a page end.
        let mut page = vec![b'x'; 4096];
        page[..3].copy_from_slice(b"hi\0");
        mem.add(0x1000, page);
        let read = |at: u64, buf: &mut [u8]| mem.read(at, buf).is_ok();
        assert_eq!(read_c_string(0x1000, 256, read), (Some(b"hi".to_vec()), false));
        assert_eq!(read_c_string(0x1ff8, 256, read), (Some(b"xxxxxxxx".to_vec()), false));
        assert_eq!(read_c_string(0x1003, 4, read), (Some(b"xxxx".to_vec()), true));
        assert_eq!(read_c_string(0x9000, 4, read), (None, false));
    }

    #[test]
    fn c_strings_at_the_top_of_the_address_space_end_there() {
        // A target's pointer may point anywhere: the address after the
        // last byte wraps to 0, which is not mapped.
        let mut mem = BufferMemory::new();
        mem.add(u64::MAX - 3, b"abcd".to_vec());
        let read = |at: u64, buf: &mut [u8]| mem.read(at, buf).is_ok();
        assert_eq!(read_c_string(u64::MAX - 3, 256, read), (Some(b"abcd".to_vec()), false));
    }
}
