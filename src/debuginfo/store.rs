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
//! first. With a [`SectionCache`], a section an earlier run inflated is
//! mapped from it instead, and the sections this run's readers inflated
//! are [saved](InflatedSections::save_to_cache) there once the target is
//! released.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use memmap2::{Mmap, UncheckedAdvice};
use object::CompressionFormat;
use typed_arena::Arena;

use super::inflate::{Inflation, SectionBytes};
use super::section_cache::{CacheKey, SectionCache};

/// A compressed section of a file as this run has it.
#[derive(Clone)]
enum Slot {
    /// Inflated by an earlier run, mapped from the cache.
    Cached(Arc<Mmap>),
    /// Inflated as far as readers need; the key it is cached under.
    Inflating(Arc<Inflation>, Option<CacheKey>),
    /// It cannot be inflated (no memory for it, an unknown format).
    Unavailable,
}

/// A compressed section as its file describes it.
pub struct CompressedSection<'n, 'a> {
    pub name: &'n str,
    pub format: CompressionFormat,
    /// The compressed bytes.
    pub data: &'a [u8],
    /// The inflated size.
    pub size: usize,
    pub build_id: Option<&'a [u8]>,
}

/// A section this run's readers inflated, to keep in the cache.
struct Unsaved {
    key: CacheKey,
    inflation: Arc<Inflation>,
    /// The mapped file holding the compressed bytes, and where they are.
    file: Arc<Mmap>,
    compressed: Range<usize>,
}

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
    cache: Option<SectionCache>,
    unsaved: Mutex<Vec<Unsaved>>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl InflatedSections {
    /// Sections shared by the stores of one run, kept in `cache` too.
    pub fn with_cache(cache: Option<SectionCache>) -> Self {
        InflatedSections { cache, ..Self::default() }
    }

    fn slot(&self, path: &Path, section: &CompressedSection<'_, '_>) -> Slot {
        let mut slots = locked(&self.slots);
        let create = || {
            let key =
                self.cache.as_ref().map(|_| CacheKey::new(section.build_id, section.name, section.data, section.size));
            if let Some(map) = self.cache.as_ref().zip(key.as_ref()).and_then(|(c, k)| c.open(k)) {
                return Slot::Cached(Arc::new(map));
            }
            match Inflation::new(section.name, section.format, section.size) {
                Some(inflation) => Slot::Inflating(Arc::new(inflation), key),
                None => Slot::Unavailable,
            }
        };
        slots.entry((path.to_path_buf(), section.name.to_string())).or_insert_with(create).clone()
    }

    /// Remembers to save `inflation` under `key` (once), when the
    /// compressed bytes lie in a mapped file.
    fn remember(&self, key: &CacheKey, inflation: &Arc<Inflation>, compressed: &[u8]) {
        let mut unsaved = locked(&self.unsaved);
        if unsaved.iter().any(|u| u.key == *key) {
            return;
        }
        if let Some((file, offset)) = containing(locked(&self.mapped).values(), compressed) {
            unsaved.push(Unsaved {
                key: key.clone(),
                inflation: inflation.clone(),
                file: file.clone(),
                compressed: offset..offset + compressed.len(),
            });
        }
    }

    /// Inflates whole each section this run's readers read, and keeps it
    /// in the cache. Call it once the target is released: it costs the
    /// rest of those sections' inflation, once per file.
    pub fn save_to_cache(&self) {
        let Some(cache) = &self.cache else { return };
        for u in std::mem::take(&mut *locked(&self.unsaved)) {
            if let Ok(bytes) = u.inflation.whole(&u.file[u.compressed]) {
                // A cache that cannot be written only costs the next run time.
                let _ = cache.save(&u.key, bytes);
            }
        }
    }
}

/// The mapping among `maps` that holds all of `bytes`, and where in it.
fn containing<'m>(maps: impl IntoIterator<Item = &'m Arc<Mmap>>, bytes: &[u8]) -> Option<(&'m Arc<Mmap>, usize)> {
    let start = bytes.as_ptr() as usize;
    maps.into_iter().find_map(|map| {
        let offset = start.checked_sub(map.as_ptr() as usize)?;
        (offset.checked_add(bytes.len())? <= map.len()).then_some((map, offset))
    })
}

#[derive(Default)]
pub struct FileStore {
    maps: Arena<Arc<Mmap>>,
    buffers: Arena<Vec<u8>>,
    shared: Arena<SharedBytes>,
    inflated: Arc<InflatedSections>,
    held: Arena<Arc<Inflation>>,
    /// The sections this store's readers inflate are saved to the cache
    /// (not those only inflated ahead of need).
    saves: bool,
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
        FileStore { inflated, saves: true, ..Self::default() }
    }

    /// A store that inflates sections ahead of need: what it inflates is
    /// saved to the cache only if a reader wants it too.
    pub fn prefetching(inflated: Arc<InflatedSections>) -> Self {
        FileStore { inflated, ..Self::default() }
    }

    /// Maps a whole regular file read-only. Paths come from the target's
    /// files too (`.gnu_debuglink`, `.gnu_debugaltlink`), so a FIFO or
    /// device named there is refused, and opened without blocking.
    /// A file another store sharing this one's sections mapped already is
    /// not mapped again.
    pub fn map_file(&self, path: &Path) -> io::Result<&[u8]> {
        let mut mapped = locked(&self.inflated.mapped);
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

    /// Lets the kernel take back the memory pages of `bytes` (and of the
    /// partial pages at its ends), when they are part of a mapped file or
    /// cache entry: for a one-pass scan over a big section, whose pages
    /// would otherwise stay in ptsnap's resident memory until it exits.
    /// Bytes anywhere else (an inflated section) are left alone.
    pub fn release(&self, bytes: &[u8]) {
        let slots = locked(&self.inflated.slots);
        let cached = slots.values().filter_map(|slot| match slot {
            Slot::Cached(map) => Some(map),
            _ => None,
        });
        let mapped = locked(&self.inflated.mapped);
        if let Some((map, offset)) = containing(mapped.values().chain(cached), bytes) {
            // SAFETY: the mapping is private and read-only, so it has no
            // page of its own: a dropped page is read again from the file
            // when next touched, with the same bytes (the file changing
            // under a mapping is the risk every mapped file takes, see
            // `map_regular_file`).
            let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, bytes.len()) };
        }
    }

    /// The compressed `section` of the file at `path`: from the cache, or
    /// its inflation, shared with the threads that asked for it before.
    /// None when it cannot be inflated.
    pub fn compressed<'s>(&'s self, path: &Path, section: &CompressedSection<'_, 's>) -> Option<SectionBytes<'s>> {
        match self.inflated.slot(path, section) {
            Slot::Cached(map) => Some(SectionBytes::Whole(&self.maps.alloc(map)[..])),
            Slot::Inflating(inflation, key) => {
                if let Some(key) = key.filter(|_| self.saves) {
                    self.inflated.remember(&key, &inflation, section.data);
                }
                Some(SectionBytes::Inflating { inflation: self.held.alloc(inflation), compressed: section.data })
            }
            Slot::Unavailable => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Released pages of a mapped file read back the same; bytes that are
    /// not a mapped file's (a kept buffer) are left alone.
    #[test]
    fn released_pages_read_back_the_same() {
        let path = std::env::temp_dir().join(format!("ptsnap-store-release-{}", std::process::id()));
        let contents: Vec<u8> = (0..5 * 4096u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &contents).unwrap();
        let store = FileStore::new();
        let mapped = store.map_file(&path).unwrap();
        assert_eq!(mapped, &contents[..]);
        store.release(&mapped[100..3 * 4096 + 5]);
        store.release(mapped);
        assert_eq!(mapped, &contents[..]);
        let kept = store.keep(contents.clone());
        store.release(kept);
        assert_eq!(kept, &contents[..], "a buffer of ours is not a file: nothing to read back");
        std::fs::remove_file(&path).unwrap();
    }
}
