//! Owner of every byte of debug data a run looks at.
//!
//! ELF files are mapped, and compressed sections are inflated, lazily, the
//! first time a frame needs them. Both live until the run ends, so the parsed
//! structures built over them (gimli readers, addr2line contexts, symbol
//! tables) borrow plain `&'a [u8]` slices from this store instead of
//! reference-counting or copying section data.

use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::Mmap;
use typed_arena::Arena;

#[derive(Default)]
pub struct FileStore {
    maps: Arena<Mmap>,
    buffers: Arena<Vec<u8>>,
}

impl FileStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps a whole file read-only.
    pub fn map_file(&self, path: &Path) -> io::Result<&[u8]> {
        let file = File::open(path)?;
        // SAFETY: the mapping is private and read-only. A file truncated
        // underneath us could fault; ELF files of a running process are in
        // use (ETXTBSY protects executables) and debug files are not written
        // by anyone during a snapshot.
        let map = unsafe { Mmap::map(&file)? };
        Ok(&self.maps.alloc(map)[..])
    }

    /// Keeps an owned buffer (an inflated section, a copied vdso image).
    pub fn keep(&self, bytes: Vec<u8>) -> &[u8] {
        &self.buffers.alloc(bytes)[..]
    }
}
