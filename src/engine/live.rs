//! A live process as the worker's input: its memory through
//! process_vm_readv, its map from /proc/PID/maps, its files from disk, or
//! through /proc/PID/map_files when they were deleted or replaced since
//! they were mapped.

use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::debuginfo::MappedFiles;
use crate::debuginfo::store::FileStore;
use crate::memory::{Memory, MemoryError};
use crate::process::procfs::{self, Mapping};
use crate::process::remote_memory::ProcessMemory;

use super::input::{Inferior, Source};

/// The process whose /proc entries and memory are read through thread
/// `via` (the main thread, unless it has exited: a zombie leader has no
/// maps and no memory while the process lives on in its other threads).
pub struct LiveSource {
    pub via: i32,
}

impl Source for LiveSource {
    fn open(&self) -> Rc<dyn Inferior> {
        Rc::new(LiveProcess::new(self.via))
    }
}

pub struct LiveProcess {
    via: i32,
    memory: ProcessMemory,
}

impl LiveProcess {
    pub fn new(via: i32) -> Self {
        LiveProcess { via, memory: ProcessMemory::new(via) }
    }
}

impl Memory for LiveProcess {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        self.memory.read(addr, buf)
    }

    fn read_u64(&self, addr: u64) -> Result<u64, MemoryError> {
        self.memory.read_u64(addr)
    }
}

impl Inferior for LiveProcess {
    fn forget(&self) {
        self.memory.clear_cache();
    }

    fn maps(&self) -> io::Result<Vec<Mapping>> {
        procfs::read_maps(self.via)
    }
}

impl MappedFiles for LiveProcess {
    fn open_mapped<'a>(&self, map: &Mapping, store: &'a FileStore) -> Option<Result<&'a [u8], String>> {
        if !map.is_file() {
            return None;
        }
        let path = Path::new(&map.path);
        let map_files = PathBuf::from(format!("/proc/{}/map_files/{:x}-{:x}", self.via, map.start, map.end));
        let open_path = if !map.deleted && is_same_inode(path, map) { path } else { &map_files };
        Some(
            store
                .map_file(open_path)
                .or_else(|_| store.map_file(&map_files))
                .map_err(|e| format!("cannot open {}: {e}", map.path)),
        )
    }
}

/// Whether the file now at `path` is the one that was mapped (it may have
/// been replaced, e.g. by a package upgrade, since).
fn is_same_inode(path: &Path, map: &Mapping) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).is_ok_and(|md| md.ino() == map.inode)
}
