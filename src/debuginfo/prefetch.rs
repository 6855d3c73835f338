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
//! Within a file it first inflates whole the sections read whole (address
//! ranges, range lists, strings: small), then the three that units are
//! parsed from ([`super::unit_sections`]: DIEs, abbreviations, lines, most
//! of the file) a step at a time, the least inflated (as a fraction) first:
//! compilers lay units, their abbreviations and their line programs out in
//! the same order, so a unit's three parts tend to be reached together.
//! The main thread inflates what it needs itself, as far as it needs it;
//! a section it is at is skipped for another (both cores work), never
//! inflated twice.
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
use super::inflate::{Inflation, STEP, SectionBytes, Step};
use super::locate::DebugDirs;
use super::store::{FileStore, InflatedSections};
use super::{LOCATION_SECTIONS, SYMBOLIZATION_SECTIONS, UNIT_SECTIONS};
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
    /// Starts inflating the debug sections of the modules in the memory
    /// map `maps` reads (on the prefetch thread); with `locations`, the
    /// location lists variables need too.
    pub fn start(
        maps: impl FnOnce() -> Vec<Mapping> + Send + 'static,
        inflated: Arc<InflatedSections>,
        dirs: DebugDirs,
        locations: bool,
    ) -> Self {
        let wanted = Arc::new(Wanted::default());
        let asked = wanted.clone();
        let spawned = std::thread::Builder::new().name("prefetch".into()).spawn(move || {
            let maps = maps();
            let mut paths: Vec<&str> = Vec::new();
            for m in maps.iter().filter(|m| m.executable && m.is_file() && !m.deleted) {
                if !paths.contains(&m.path.as_str()) {
                    paths.push(&m.path);
                }
            }
            let store = FileStore::prefetching(inflated);
            let whole: Vec<&str> =
                SYMBOLIZATION_SECTIONS.iter().filter(|id| !UNIT_SECTIONS.contains(id)).map(|id| id.name()).collect();
            let last = if locations { LOCATION_SECTIONS } else { &[] };
            for path in paths {
                if !asked.wants(path) {
                    continue;
                }
                let Ok(binary) = ElfObject::open(&store, Path::new(path), Path::new(path)) else { continue };
                let debug = if binary.has_section(".debug_info") { None } else { dirs.find(&store, &binary) };
                let file = debug.as_ref().map_or(&binary, |(d, _)| d);
                let alt = dirs.find_alt(&store, file);
                let wanted = || asked.wants(path);
                for f in std::iter::once(file).chain(alt.as_ref()) {
                    for name in whole.iter().take_while(|_| wanted()) {
                        f.section(name);
                    }
                    let units = UNIT_SECTIONS.iter().filter_map(|id| match f.section_bytes(id.name()) {
                        Ok(Some(SectionBytes::Inflating { inflation, compressed })) => Some((inflation, compressed)),
                        _ => None,
                    });
                    inflate_together(units.collect(), &wanted);
                    for name in last.iter().take_while(|_| wanted()) {
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

/// Inflates `sections` a step at a time, the least inflated first, a
/// section another thread is inflating skipped for the others while there
/// are others, until they are whole or no longer wanted.
fn inflate_together(mut sections: Vec<(&Inflation, &[u8])>, wanted: &dyn Fn() -> bool) {
    let fraction = |i: &Inflation| (i.done() as u128 * 1024).checked_div(i.len() as u128).unwrap_or(1024);
    while wanted() {
        sections.sort_by_key(|(i, _)| fraction(i));
        let stepped = sections.iter().enumerate().find_map(|(n, (i, compressed))| match i.try_step(compressed) {
            Step::Busy => None,
            step => Some((n, step)),
        });
        match stepped {
            Some((_, Step::Inflated)) => {}
            Some((n, _)) => {
                sections.remove(n);
            }
            // All busy: wait for the least inflated one and step it.
            None => match sections.first() {
                Some((i, compressed)) if i.prefix(compressed, i.done().saturating_add(STEP)).is_ok() => {}
                Some(_) => {
                    sections.remove(0);
                }
                None => break,
            },
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.stop();
    }
}
