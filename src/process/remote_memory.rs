//! Reading a stopped process's memory in page-sized blocks.
//!
//! Unwinding reads many words from the same few stack pages, so every read
//! goes through a page cache filled by `process_vm_readv` (a run of pages
//! per system call), with `/proc/PID/mem` as a fallback where that call is
//! not permitted. The cache is only valid while the target is stopped:
//! the engine clears it ([`ProcessMemory::clear_cache`]) when it stops the
//! target and when it releases it.

use std::cell::RefCell;
use std::fs::File;
use std::io::IoSliceMut;
use std::os::unix::fs::FileExt;

use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;
use rustc_hash::FxHashMap as HashMap;

use crate::memory::{Memory, MemoryError, read_in_pieces};

const PAGE: u64 = 4096;
/// Pages fetched by one system call on a cache miss: the missed page and the
/// one above it (stacks are walked upward).
const PAGES_PER_FETCH: usize = 2;
/// Bound on cached pages; beyond it the cache starts over.
const MAX_CACHED_PAGES: usize = 4096;

type Page = Box<[u8; PAGE as usize]>;

pub struct ProcessMemory {
    pid: Pid,
    pages: RefCell<HashMap<u64, Option<Page>>>,
    mem_file: RefCell<Option<File>>,
    use_proc_mem: std::cell::Cell<bool>,
}

impl ProcessMemory {
    pub fn new(pid: i32) -> Self {
        ProcessMemory {
            pid: Pid::from_raw(pid),
            pages: RefCell::new(HashMap::default()),
            mem_file: RefCell::new(None),
            use_proc_mem: std::cell::Cell::new(false),
        }
    }

    /// Drops the cached pages. Each thread's stack is its own, so the engine
    /// forgets a thread's pages once it has walked it, keeping memory flat
    /// however many threads there are.
    pub fn clear_cache(&self) {
        self.pages.borrow_mut().clear();
    }

    /// Reads pages starting at `first` into the cache: as many as fit
    /// below the end of the address space (a pointer such as a Rust
    /// `Weak::new()`'s `usize::MAX` points into its last page).
    fn fetch(&self, first: u64) {
        let below_end = ((u64::MAX - first) / PAGE + 1) as usize;
        let count = PAGES_PER_FETCH.min(below_end);
        let mut bufs: Vec<Page> = (0..count).map(|_| Box::new([0u8; PAGE as usize])).collect();
        let got = if self.use_proc_mem.get() {
            self.fetch_proc_mem(first, &mut bufs)
        } else {
            let remote: Vec<RemoteIoVec> = (0..count)
                .map(|i| RemoteIoVec { base: (first + i as u64 * PAGE) as usize, len: PAGE as usize })
                .collect();
            let mut local: Vec<IoSliceMut> = bufs.iter_mut().map(|b| IoSliceMut::new(&mut b[..])).collect();
            match process_vm_readv(self.pid, &mut local, &remote) {
                Ok(n) => n,
                Err(nix::errno::Errno::EPERM | nix::errno::Errno::ENOSYS) => {
                    self.use_proc_mem.set(true);
                    self.fetch_proc_mem(first, &mut bufs)
                }
                Err(_) => 0,
            }
        };
        let full = got / PAGE as usize;
        let mut pages = self.pages.borrow_mut();
        if pages.len() + PAGES_PER_FETCH > MAX_CACHED_PAGES {
            pages.clear();
        }
        for (i, buf) in bufs.into_iter().enumerate().take(full) {
            pages.insert(first + i as u64 * PAGE, Some(buf));
        }
        if full == 0 {
            pages.insert(first, None);
        }
    }

    fn fetch_proc_mem(&self, first: u64, bufs: &mut [Page]) -> usize {
        let mut file = self.mem_file.borrow_mut();
        if file.is_none() {
            *file = File::open(format!("/proc/{}/mem", self.pid)).ok();
        }
        let Some(f) = file.as_ref() else { return 0 };
        let mut total = 0;
        for (i, buf) in bufs.iter_mut().enumerate() {
            match f.read_exact_at(&mut buf[..], first + i as u64 * PAGE) {
                Ok(()) => total += PAGE as usize,
                Err(_) => break,
            }
        }
        total
    }

    fn with_page<T>(&self, page: u64, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        if let Some(cached) = self.pages.borrow().get(&page) {
            return cached.as_ref().map(|p| f(&p[..]));
        }
        self.fetch(page);
        let pages = self.pages.borrow();
        pages.get(&page)?.as_ref().map(|p| f(&p[..]))
    }
}

impl Memory for ProcessMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let page_of = |a: u64| a & !(PAGE - 1);
        read_in_pieces(
            addr,
            buf,
            |a| page_of(a).wrapping_add(PAGE),
            |a, part| {
                let at = (a - page_of(a)) as usize;
                self.with_page(page_of(a), |p| part.copy_from_slice(&p[at..at + part.len()])).is_some()
            },
        )
    }

    /// A word inside one page (the unwinder reads two per frame) is copied
    /// straight out of it; one across pages is read as any bytes are.
    fn read_u64(&self, addr: u64) -> Result<u64, MemoryError> {
        let at = (addr % PAGE) as usize;
        let mut word = [0u8; 8];
        if at + word.len() <= PAGE as usize {
            self.with_page(addr - at as u64, |p| word.copy_from_slice(&p[at..at + 8]))
                .ok_or(MemoryError { addr, len: word.len() })?;
        } else {
            self.read(addr, &mut word)?;
        }
        Ok(u64::from_le_bytes(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last page of the address space is read as any unmapped one:
    /// an error, not an overflow.
    #[test]
    fn reads_at_the_end_of_the_address_space_fail() {
        let memory = ProcessMemory::new(std::process::id() as i32);
        let mut buf = [0u8; 8];
        assert!(memory.read(u64::MAX - 7, &mut buf).is_err());
        assert!(memory.read(u64::MAX - PAGE - 3, &mut buf).is_err());
        assert!(memory.read_u64(u64::MAX - 7).is_err());
        let here = 0x5au8;
        memory.read(&here as *const u8 as u64, &mut buf[..1]).unwrap();
        assert_eq!(buf[0], here);
    }

    /// A word is the same whether it lies inside a page or across two.
    #[test]
    fn words_inside_and_across_pages() {
        let words: Vec<u64> = (0..2 * PAGE / 8 + 8).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
        let base = words.as_ptr() as u64;
        let memory = ProcessMemory::new(std::process::id() as i32);
        for offset in (0..2 * PAGE).step_by(3) {
            let mut buf = [0u8; 8];
            memory.read(base + offset, &mut buf).unwrap();
            assert_eq!(memory.read_u64(base + offset), Ok(u64::from_le_bytes(buf)), "at {offset}");
        }
    }
}
