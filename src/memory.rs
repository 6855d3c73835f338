//! The one interface through which the unwinder, the variable reader and
//! the pmodules see the target's memory.
//!
//! Nothing above `process/` calls ptrace or opens /proc: a live process, a
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

/// Fills `buf` from `addr` one piece at a time, for a memory made of
/// pieces (pages, a core's segments and files): `piece_end(a)` is where
/// the piece holding `a` ends (0 for the end of the address space), and
/// `fill(a, part)` reads `part` at `a` from that piece or fails.
pub fn read_in_pieces(
    addr: u64,
    buf: &mut [u8],
    piece_end: impl Fn(u64) -> u64,
    mut fill: impl FnMut(u64, &mut [u8]) -> bool,
) -> Result<(), MemoryError> {
    let len = buf.len();
    let err = || MemoryError { addr, len };
    let mut done = 0usize;
    while done < buf.len() {
        let cur = addr.checked_add(done as u64).ok_or_else(err)?;
        let n = piece_end(cur).wrapping_sub(cur).min((buf.len() - done) as u64) as usize;
        if n == 0 || !fill(cur, &mut buf[done..done + n]) {
            return Err(err());
        }
        done += n;
    }
    Ok(())
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
    use super::{BufferMemory, Memory, MemoryError, read_c_string, read_in_pieces};

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

    #[test]
    fn reads_in_pieces_split_at_piece_ends_up_to_the_top_of_the_address_space() {
        let page = |a: u64| (a & !0xf).wrapping_add(0x10);
        let mut parts = Vec::new();
        let mut buf = [0u8; 0x1c];
        let fill = |a: u64, part: &mut [u8]| {
            parts.push((a, part.len()));
            part.fill(a as u8);
            true
        };
        assert_eq!(read_in_pieces(0x108, &mut buf, page, fill), Ok(()));
        assert_eq!(parts, [(0x108, 8), (0x110, 0x10), (0x120, 4)]);
        assert_eq!((buf[0], buf[8], buf[0x1b]), (0x08, 0x10, 0x20));
        // The last piece ends at the end of the address space (0); a read
        // past it fails instead of wrapping.
        let mut top = [0u8; 4];
        assert_eq!(read_in_pieces(u64::MAX - 3, &mut top, page, |_, _| true), Ok(()));
        let mut past = [0u8; 8];
        let err = MemoryError { addr: u64::MAX - 3, len: 8 };
        assert_eq!(read_in_pieces(u64::MAX - 3, &mut past, page, |_, _| true), Err(err.clone()));
        assert_eq!(read_in_pieces(u64::MAX - 3, &mut past, |_| u64::MAX - 3, |_, _| true), Err(err), "an empty piece");
    }
}
