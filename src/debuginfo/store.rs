//! Owner of every byte of debug data a run looks at.
//!
//! ELF files are mapped, and compressed sections are inflated, lazily, the
//! first time a frame needs them. Both live until the run ends, so the parsed
//! structures built over them (gimli readers, symbol tables) borrow plain
//! `&'a [u8]` slices from this store instead of reference-counting or
//! copying section data.
//!
//! Compressed sections are [`Inflation`]s (inflated as far as readers need)
//! in an [`InflatedSections`] cache that other threads can share: a
//! prefetch thread inflates the debug sections of the mapped modules on the
//! second core while the main thread is stopping the target's threads, and
//! each byte of a section is inflated once, by whichever thread gets there
//! first.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use memmap2::Mmap;
use typed_arena::Arena;

use super::inflate::Inflation;

/// A section being inflated; None when it cannot be (no memory for it).
type Slot = Option<Arc<Inflation>>;

/// Bytes owned elsewhere too (a file a core's memory reads as well).
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Inflated section contents by (file path, section name), and the
/// mapped files by path: what the stores of one run share. Sharing the
/// mappings also gives every store the same bytes at the same addresses,
/// which is how a DWARF is recognised across stores
/// ([`super::dwarf::DwarfInfo::identity`]).
#[derive(Default)]
pub struct InflatedSections {
    slots: Mutex<HashMap<(PathBuf, String), Slot>>,
    mapped: Mutex<HashMap<PathBuf, Arc<Mmap>>>,
}

impl InflatedSections {
    fn slot(&self, path: &Path, section: &str, create: impl FnOnce() -> Option<Inflation>) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry((path.to_path_buf(), section.to_string())).or_insert_with(|| create().map(Arc::new)).clone()
    }
}

#[derive(Default)]
pub struct FileStore {
    maps: Arena<Arc<Mmap>>,
    buffers: Arena<Vec<u8>>,
    shared: Arena<SharedBytes>,
    inflated: Arc<InflatedSections>,
    held: Arena<Arc<Inflation>>,
}

/// Maps a whole regular file read-only, opened without blocking (a FIFO
/// or device named by a target's file is refused).
fn map_regular_file(path: &Path) -> io::Result<Mmap> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = File::options().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    // SAFETY: the mapping is private and read-only. A file truncated or
    // rewritten in place underneath us could fault or change: nothing
    // prevents that (ETXTBSY guards only a running executable against
    // writes, not its libraries or debug files), but package managers
    // replace files by rename, which leaves the mapped inode intact.
    unsafe { Mmap::map(&file) }
}

impl FileStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose inflated sections are shared with other stores.
    pub fn sharing(inflated: Arc<InflatedSections>) -> Self {
        FileStore { inflated, ..Self::default() }
    }

    /// Maps a whole regular file read-only. Paths come from the target's
    /// files too (`.gnu_debuglink`, `.gnu_debugaltlink`), so a FIFO or
    /// device named there is refused, and opened without blocking.
    /// A file another store sharing this one's sections mapped already is
    /// not mapped again.
    pub fn map_file(&self, path: &Path) -> io::Result<&[u8]> {
        let mut mapped = self.inflated.mapped.lock().unwrap_or_else(|e| e.into_inner());
        let map = match mapped.get(path) {
            Some(map) => map.clone(),
            None => {
                let map = Arc::new(map_regular_file(path)?);
                mapped.insert(path.to_path_buf(), map.clone());
                map
            }
        };
        Ok(&self.maps.alloc(map)[..])
    }

    /// Keeps an owned buffer (a copied vdso image).
    pub fn keep(&self, bytes: Vec<u8>) -> &[u8] {
        &self.buffers.alloc(bytes)[..]
    }

    /// Keeps shared bytes (a mapped file a core's memory reads too).
    pub fn hold(&self, bytes: SharedBytes) -> &[u8] {
        let held: &SharedBytes = self.shared.alloc(bytes);
        (**held).as_ref()
    }

    /// The inflation of `section` of the file at `path`, shared with the
    /// threads that asked for it before; `create` makes it for the first.
    pub fn inflation(
        &self,
        path: &Path,
        section: &str,
        create: impl FnOnce() -> Option<Inflation>,
    ) -> Option<&Inflation> {
        let inflation = self.inflated.slot(path, section, create)?;
        Some(self.held.alloc(inflation))
    }
}
