//! Inflating compressed debug sections ahead of need, on another core.
//!
//! Stopping the threads of a big process is mostly waiting on the kernel,
//! and inflating the C library's compressed DWARF is pure computation; run
//! together on two cores, the second costs no wall time. The prefetch
//! thread takes the memory map (read without ptrace: only the main thread
//! traces), opens each executable module and its debug file exactly as
//! [`super::Module`] will, and inflates the sections symbolization reads
//! (and the location lists, when variables are read) into the shared
//! [`InflatedSections`], in map order (the executable, then
//! the libraries in load order: the C library early). It is stopped when
//! the stacks have been walked; a section it is inflating when the main thread asks
//! for it is waited for, never inflated twice.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::elf::ElfObject;
use super::locate::DebugDirs;
use super::store::{FileStore, InflatedSections};
use super::{LOCATION_SECTIONS, SYMBOLIZATION_SECTIONS};
use crate::process::procfs::Mapping;

pub struct Prefetch {
    cancel: Arc<AtomicBool>,
}

impl Prefetch {
    /// Starts inflating the debug sections of the modules in `maps`; with
    /// `locations`, the location lists variables need too.
    pub fn start(maps: Vec<Mapping>, inflated: Arc<InflatedSections>, dirs: DebugDirs, locations: bool) -> Self {
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        let spawned = std::thread::Builder::new().name("prefetch".into()).spawn(move || {
            let mut paths: Vec<PathBuf> = Vec::new();
            for m in maps.iter().filter(|m| m.executable && m.is_file() && !m.deleted) {
                let p = PathBuf::from(&m.path);
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
            let store = FileStore::sharing(inflated);
            for path in paths {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(binary) = ElfObject::open(&store, &path, &path) else { continue };
                let debug = if binary.has_section(".debug_info") { None } else { dirs.find(&store, &binary) };
                let file = debug.as_ref().map_or(&binary, |(d, _)| d);
                let alt = dirs.find_alt(&store, file);
                for f in std::iter::once(file).chain(alt.as_ref()) {
                    let extra = if locations { LOCATION_SECTIONS } else { &[] };
                    for name in SYMBOLIZATION_SECTIONS.iter().map(|id| id.name()).chain(extra.iter().copied()) {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        f.section(name);
                    }
                }
            }
        });
        if spawned.is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
        Prefetch { cancel }
    }
}

impl Prefetch {
    /// Stops after the section in progress. The engine calls this once the
    /// stacks are walked: from then on it inflates what the frames need
    /// itself, and the prefetch would only spend memory on modules no frame
    /// is in.
    pub fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.stop();
    }
}
