//! Inflating compressed debug sections ahead of need, on another core.
//!
//! Stopping the threads of a big process is mostly waiting on the kernel,
//! and inflating the C library's compressed DWARF is pure computation; run
//! together on two cores, the second costs no wall time. The prefetch
//! thread takes the memory map (read without ptrace: only the main thread
//! traces), opens each executable module and its debug file exactly as
//! [`super::Module`] will, and inflates the sections symbolization reads
//! (and the location lists, when variables are read) into the shared
//! [`InflatedSections`], in map order (the executable, then the libraries
//! in load order: the C library early).
//!
//! Within a file it goes through the sections in the reverse of the order
//! the main thread loads them in (`gimli::Dwarf::load`, roughly the order
//! of [`SYMBOLIZATION_SECTIONS`]: abbreviations, ranges, units, lines), so that when both
//! work on one file they meet in the middle instead of one waiting behind
//! the other on every section: a section one of them is inflating is
//! waited for by the other, never inflated twice.
//!
//! Once the stacks are walked the engine [narrows](Prefetch::narrow) it to
//! the modules that hold frames: it goes on with those (the main thread
//! needs them next, and finds them inflated or half done) and skips the
//! rest, which would only cost memory and the other core.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashSet;

use super::elf::ElfObject;
use super::locate::DebugDirs;
use super::store::{FileStore, InflatedSections};
use super::{LOCATION_SECTIONS, SYMBOLIZATION_SECTIONS};
use crate::process::procfs::Mapping;

/// What the prefetch thread is still asked to do.
#[derive(Default)]
struct Wanted {
    cancel: AtomicBool,
    /// The modules (mapped paths) to go on with; None: every module.
    only: Mutex<Option<FxHashSet<String>>>,
}

impl Wanted {
    fn wants(&self, path: &str) -> bool {
        !self.cancel.load(Ordering::Relaxed)
            && self.only.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_none_or(|only| only.contains(path))
    }
}

pub struct Prefetch {
    wanted: Arc<Wanted>,
}

impl Prefetch {
    /// Starts inflating the debug sections of the modules in `maps`; with
    /// `locations`, the location lists variables need too.
    pub fn start(maps: Vec<Mapping>, inflated: Arc<InflatedSections>, dirs: DebugDirs, locations: bool) -> Self {
        let wanted = Arc::new(Wanted::default());
        let asked = wanted.clone();
        let spawned = std::thread::Builder::new().name("prefetch".into()).spawn(move || {
            let mut paths: Vec<&str> = Vec::new();
            for m in maps.iter().filter(|m| m.executable && m.is_file() && !m.deleted) {
                if !paths.contains(&m.path.as_str()) {
                    paths.push(&m.path);
                }
            }
            let store = FileStore::sharing(inflated);
            let extra = if locations { LOCATION_SECTIONS } else { &[] };
            let names: Vec<&str> =
                SYMBOLIZATION_SECTIONS.iter().rev().map(|id| id.name()).chain(extra.iter().copied()).collect();
            for path in paths {
                if !asked.wants(path) {
                    continue;
                }
                let Ok(binary) = ElfObject::open(&store, Path::new(path), Path::new(path)) else { continue };
                let debug = if binary.has_section(".debug_info") { None } else { dirs.find(&store, &binary) };
                let file = debug.as_ref().map_or(&binary, |(d, _)| d);
                let alt = dirs.find_alt(&store, file);
                for f in std::iter::once(file).chain(alt.as_ref()) {
                    for name in &names {
                        if !asked.wants(path) {
                            break;
                        }
                        f.section(name);
                    }
                }
            }
        });
        if spawned.is_err() {
            wanted.cancel.store(true, Ordering::Relaxed);
        }
        Prefetch { wanted }
    }

    /// Goes on with the modules mapped from `paths` only (the ones frames
    /// are in; repeated as often as they hold frames), after the section
    /// in progress.
    pub fn narrow<'p>(&self, paths: impl IntoIterator<Item = &'p str>) {
        let mut only = FxHashSet::default();
        let mut last = None;
        for path in paths {
            // Frames come in runs in one module: look up each run once.
            if last != Some(path) && !only.contains(path) {
                only.insert(path.to_string());
            }
            last = Some(path);
        }
        *self.wanted.only.lock().unwrap_or_else(|e| e.into_inner()) = Some(only);
    }

    /// Stops after the section in progress.
    fn stop(&self) {
        self.wanted.cancel.store(true, Ordering::Relaxed);
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.stop();
    }
}
