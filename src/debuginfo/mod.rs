//! Debug information of the modules (ELF files) mapped into a process.
//!
//! A [`ModuleSet`] is built from the memory map. Each [`Module`] maps its
//! file at once (cheap) but finds its separate debug file, builds its symbol
//! table, parses its CFI and creates its DWARF context only when a frame
//! first needs them; DWARF units are then parsed lazily, only those
//! covering the pcs asked about. Everything is cached for the whole run.

pub(crate) mod debuginfod;
pub mod dwarf;
pub(crate) mod elf;
pub(crate) mod inflate;
pub mod locate;
pub(crate) mod prefetch;
pub mod section_cache;
pub(crate) mod split;
pub mod store;
pub(crate) mod symbols;
pub(crate) mod type_candidates;
pub(crate) mod type_index;
pub(crate) mod unit_sections;

use std::cell::{OnceCell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gimli::{RunTimeEndian, SectionId};
use thiserror::Error;

use crate::address::{Bias, LinkAddr, RunAddr};
use crate::memory::Memory;
use crate::process::procfs::Mapping;
use crate::unwind::CfiLookup;
use crate::unwind::cfi::{Cfi, CfiSections, Slice};
use dwarf::DwarfInfo;
use elf::{ElfObject, SectionError};
use inflate::SectionBytes;
use locate::{DebugDirs, DebugSource};
use split::SplitFiles;
use store::FileStore;
use symbols::{Scanned, Symbol, SymbolTable};
use unit_sections::UnitSections;

#[derive(Debug, Error)]
pub enum DebugInfoError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a valid ELF file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

pub struct Module<'a> {
    /// The path the process mapped (as /proc/PID/maps shows it).
    pub path: String,
    /// Its file name, which every frame in it names.
    name: Arc<str>,
    pub start: RunAddr,
    pub end: RunAddr,
    /// Run-time address minus link-time address.
    pub bias: Bias,
    /// Executable mappings: start, end, file offset.
    executable: Vec<(RunAddr, RunAddr, u64)>,
    pub elf: Option<ElfObject<'a>>,
    /// Why the file could not be read, when it could not. Problems found
    /// later, in its debug information, are in [`Module::problem`].
    pub error: Option<String>,
    store: &'a FileStore,
    dirs: &'a DebugDirs,
    debug: OnceCell<Option<(ElfObject<'a>, DebugSource)>>,
    symbols: OnceCell<SymbolTable<'a>>,
    /// The scans that answered symbol lookups, before the table is built:
    /// a later lookup they cover (another pc in the same function) is
    /// answered again without a scan.
    symbol_scans: RefCell<Vec<Scanned<'a>>>,
    dwarf: OnceCell<Option<DwarfInfo<'a>>>,
    /// A DWARF section that was present but could not be had.
    dwarf_section_error: OnceCell<SectionError>,
    cfi: OnceCell<Cfi<'a>>,
}

/// DWARF sections that symbolization reads; the rest are left empty
/// (and never inflated) until a reader needs them.
pub(crate) const SYMBOLIZATION_SECTIONS: &[SectionId] = &[
    SectionId::DebugAbbrev,
    SectionId::DebugAddr,
    SectionId::DebugAranges,
    SectionId::DebugInfo,
    SectionId::DebugLine,
    SectionId::DebugLineStr,
    SectionId::DebugRanges,
    SectionId::DebugRngLists,
    SectionId::DebugStr,
    SectionId::DebugStrOffsets,
    // Type units (DWARF 4, -fdebug-types-section), which names need.
    SectionId::DebugTypes,
];

/// The sections units are parsed from, read as far as the units need.
pub(crate) const UNIT_SECTIONS: [SectionId; 3] = [SectionId::DebugInfo, SectionId::DebugAbbrev, SectionId::DebugLine];

/// The sections of location lists (DWARF 4 and 5), which only variables need.
const DEBUG_LOC: &str = ".debug_loc";
const DEBUG_LOCLISTS: &str = ".debug_loclists";
pub(crate) const LOCATION_SECTIONS: &[&str] = &[DEBUG_LOC, DEBUG_LOCLISTS];

impl<'a> Module<'a> {
    pub fn contains(&self, addr: RunAddr) -> bool {
        self.start <= addr && addr < self.end
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// [`Module::name`], shared.
    pub fn shared_name(&self) -> Arc<str> {
        self.name.clone()
    }

    pub fn build_id(&self) -> Option<String> {
        let id = self.elf.as_ref()?.build_id()?;
        Some(crate::hex::bytes(id))
    }

    /// The separate debug file, looked up once.
    pub fn debug_file(&self) -> Option<&(ElfObject<'a>, DebugSource)> {
        self.debug
            .get_or_init(|| {
                let elf = self.elf.as_ref()?;
                if elf.has_section(".debug_info") {
                    return None;
                }
                self.dirs.find(self.store, elf)
            })
            .as_ref()
    }

    /// The file holding DWARF: the debug file if there is one, else the binary.
    fn dwarf_file(&self) -> Option<&ElfObject<'a>> {
        self.debug_file().map(|(d, _)| d).or(self.elf.as_ref())
    }

    /// The function symbol containing `address` (link-time), from the
    /// symbol tables of the binary and its debug file. The first lookups
    /// read the tables through ([`SymbolTable::scan`]), each answering for
    /// the addresses around its own too; past [`SCANS_BEFORE_TABLE`] of
    /// them the sorted table is built once.
    pub fn symbol_at(&self, address: LinkAddr) -> Option<Symbol<'a>> {
        if let Some(table) = self.symbols.get() {
            return table.lookup(address);
        }
        let mut scans = self.symbol_scans.borrow_mut();
        if let Some(scanned) = scans.iter().find(|s| s.covers(address)) {
            return scanned.symbol_at(address);
        }
        let mut files: Vec<&ElfObject<'a>> = Vec::new();
        if let Some((debug, _)) = self.debug_file() {
            files.push(debug);
        }
        files.extend(self.elf.as_ref());
        if scans.len() < SCANS_BEFORE_TABLE {
            let scanned = SymbolTable::scan(&files, address);
            scans.push(scanned);
            return scanned.symbol_at(address);
        }
        self.symbols.get_or_init(|| SymbolTable::build(&files)).lookup(address)
    }

    pub fn dwarf(&self) -> Option<&DwarfInfo<'a>> {
        self.dwarf
            .get_or_init(|| {
                let file = self.dwarf_file()?;
                if !file.has_section(".debug_info") {
                    return None;
                }
                let (mut dwarf, units) = self.load_dwarf(file)?;
                // dwz moves shared DIEs and strings into a supplementary file.
                let alt = self.dirs.find_alt(self.store, file);
                let sup = alt.as_ref().and_then(|alt| {
                    dwarf.set_sup(self.load_dwarf(alt)?.0);
                    let (sup, units) = self.load_dwarf(alt)?;
                    Some(DwarfInfo::new(sup, None, location_loader(None)).with_unit_sections(units))
                });
                // Split DWARF: packages and .dwo files are named after,
                // and looked for next to, the module's file and debug file.
                let owners =
                    std::iter::once(PathBuf::from(&self.path)).chain(self.debug_file().map(|(d, _)| d.path.clone()));
                let split = SplitFiles::new(self.store, self.dirs, owners.collect());
                let tls = self.elf.as_ref().and_then(ElfObject::tls_segment);
                let info = DwarfInfo::new(dwarf, sup, location_loader(file.reopened())).with_unit_sections(units);
                let store = self.store;
                let info = info.with_page_release(Box::new(move |bytes| store.release(bytes)));
                Some(info.with_split_files(split).with_tls_segment(tls))
            })
            .as_ref()
    }

    /// The DWARF sections symbolization reads, from one file: the
    /// sections units are parsed from apart, not inflated yet (units read
    /// the prefixes they need), the others whole. A section that cannot be
    /// had reads as empty, and the first such is kept for [`Self::problem`].
    fn load_dwarf(&self, file: &ElfObject<'a>) -> Option<(gimli::Dwarf<Slice<'a>>, UnitSections<'a>)> {
        let bytes = |id: SectionId| {
            file.section_bytes(id.name()).unwrap_or_else(|e| {
                let _ = self.dwarf_section_error.set(e);
                None
            })
        };
        let dwarf = gimli::Dwarf::load(|id| -> Result<Slice<'a>, ()> {
            let data = match SYMBOLIZATION_SECTIONS.contains(&id) && !UNIT_SECTIONS.contains(&id) {
                true => bytes(id).and_then(|b| b.whole().map_err(|e| self.dwarf_section_error.set(e)).ok()),
                false => None,
            };
            Ok(Slice::new(data.unwrap_or(&[]), RunTimeEndian::Little))
        })
        .ok()?;
        let [info, abbrev, line] = UNIT_SECTIONS.map(|id| bytes(id).unwrap_or(SectionBytes::EMPTY));
        Some((dwarf, UnitSections::new(info, abbrev, line)))
    }

    /// What is wrong with this module's files, for the snapshot: why the
    /// file could not be read ([`Self::error`]), a debug section that
    /// could not be had, or the first corrupt part of its DWARF found so
    /// far (frames there lack lines and variables). Call it after the
    /// frames are symbolized.
    pub fn problem(&self) -> Option<String> {
        let dwarf = self.dwarf.get().and_then(|d| d.as_ref()?.problem());
        let found: Vec<String> = (self.error.iter().cloned())
            .chain(self.dwarf_section_error.get().map(ToString::to_string))
            .chain(dwarf.map(|e| e.to_string()))
            .collect();
        (!found.is_empty()).then(|| found.join("; "))
    }

    pub fn cfi(&self) -> &Cfi<'a> {
        self.cfi.get_or_init(|| {
            let Some(elf) = self.elf.as_ref() else { return Cfi::new(CfiSections::default()) };
            let with_addr = |name: &str| Some((elf.section(name)?, elf.section_address(name)?));
            let debug_frame =
                elf.section(".debug_frame").or_else(|| self.debug_file().and_then(|(d, _)| d.section(".debug_frame")));
            Cfi::new(CfiSections {
                eh_frame: with_addr(".eh_frame"),
                eh_frame_hdr: with_addr(".eh_frame_hdr"),
                debug_frame,
                text_address: elf.section_address(".text"),
                got_address: elf.section_address(".got"),
            })
        })
    }

    /// `len` bytes of the file mapped executable at run-time address `pc`,
    /// when they are all inside one executable mapping and the file.
    fn code_bytes(&self, pc: RunAddr, len: usize) -> Option<&'a [u8]> {
        let elf = self.elf.as_ref()?;
        let &(start, end, offset) = self.executable.iter().find(|&&(s, e, _)| s <= pc && pc < e)?;
        if pc.checked_add(len as u64)? > end {
            return None;
        }
        let at = usize::try_from((pc - start).checked_add(offset)?).ok()?;
        elf.data.get(at..at.checked_add(len)?)
    }

    /// The link-time ("stated") address of a run-time address in this module.
    pub fn svma(&self, addr: RunAddr) -> LinkAddr {
        self.bias.link_time(addr)
    }

    /// The run-time ("actual") address of a link-time address in this module.
    pub fn avma(&self, addr: LinkAddr) -> RunAddr {
        self.bias.run_time(addr)
    }

    /// Describes the symbols available, for the snapshot: "dwarf",
    /// "symtab", "dynsym", or "none", comma-separated. Looks at section
    /// headers only, so it parses nothing.
    pub fn symbol_kinds(&self) -> String {
        let mut files: Vec<&ElfObject<'a>> = self.elf.iter().collect();
        files.extend(self.debug_file().map(|(d, _)| d));
        let kinds: Vec<&str> = [("dwarf", ".debug_info"), ("symtab", ".symtab"), ("dynsym", ".dynsym")]
            .into_iter()
            .filter(|(_, section)| files.iter().any(|f| f.has_section(section)))
            .map(|(kind, _)| kind)
            .collect();
        if kinds.is_empty() { "none".into() } else { kinds.join(",") }
    }
}

/// Symbol lookups in one module answered by reading its symbol tables
/// through before they are sorted into a table: a scan of the C library's
/// (its debug file's and its own: 0.085 ms) costs about a twentieth of
/// sorting them (1.6 ms), so a module looked up more often (many distinct
/// pcs, or many function pointers' values) pays at most 40% more than it
/// did.
const SCANS_BEFORE_TABLE: usize = 8;

pub struct ModuleSet<'a> {
    /// Sorted by start address, non-overlapping.
    modules: Vec<Module<'a>>,
}

/// Where the files a target mapped are read from: a live process's files
/// (or, when replaced on disk, what it still maps), a core's files checked
/// against its build-ids.
pub trait MappedFiles {
    /// The bytes of the file behind `map`, kept in `store`; None when `map`
    /// maps no file (anonymous memory, the stack, the vdso), an error
    /// (one line) when the file cannot be had or is not the one mapped.
    fn open_mapped<'a>(&self, map: &Mapping, store: &'a FileStore) -> Option<Result<&'a [u8], String>>;
}

impl<'a> ModuleSet<'a> {
    /// One module per mapped ELF file (opened through `files`), plus the
    /// vdso (copied out of the target's memory).
    pub fn from_maps(
        maps: &[Mapping],
        files: &dyn MappedFiles,
        store: &'a FileStore,
        dirs: &'a DebugDirs,
        memory: &dyn Memory,
    ) -> Self {
        let mut modules = Vec::new();
        let mut i = 0;
        while i < maps.len() {
            let first = &maps[i];
            let mut j = i + 1;
            while j < maps.len() && same_file(first, &maps[j]) {
                j += 1;
            }
            let group = &maps[i..j];
            i = j;
            let elf = match files.open_mapped(first, store) {
                Some(data) => data.map_err(OpenOutcome::Failed).and_then(|data| parse_mapped(first, data, store)),
                None if first.path == "[vdso]" => read_vdso(first, store, memory),
                None => continue,
            };
            let (elf, error) = match elf {
                Ok(e) => (Some(e), None),
                Err(OpenOutcome::NotElf) => continue,
                Err(OpenOutcome::Failed(e)) => (None, Some(e)),
            };
            let lowest = group.iter().min_by_key(|m| m.offset).unwrap_or(first);
            let bias = elf.as_ref().and_then(|e| e.load_bias(RunAddr::new(lowest.start), lowest.offset));
            let (start, end) = (group.iter().map(|m| m.start).min(), group.iter().map(|m| m.end).max());
            let executable = group.iter().filter(|m| m.executable);
            let name = Path::new(&first.path).file_name().and_then(|n| n.to_str()).unwrap_or(&first.path);
            modules.push(Module {
                name: name.into(),
                path: first.path.clone(),
                start: RunAddr::new(start.unwrap_or(first.start)),
                end: RunAddr::new(end.unwrap_or(first.end)),
                bias: bias.unwrap_or(Bias::ZERO),
                executable: executable.map(|m| (RunAddr::new(m.start), RunAddr::new(m.end), m.offset)).collect(),
                elf,
                error,
                store,
                dirs,
                debug: OnceCell::new(),
                symbols: OnceCell::new(),
                symbol_scans: RefCell::default(),
                dwarf: OnceCell::new(),
                dwarf_section_error: OnceCell::new(),
                cfi: OnceCell::new(),
            });
        }
        modules.sort_by_key(|m| m.start);
        ModuleSet { modules }
    }

    /// The function (the outermost, not an inlined one) whose code holds
    /// `address`, with its module's load bias.
    pub fn function_at(&self, address: RunAddr) -> Option<(dwarf::Die<'_, 'a>, Bias)> {
        let module = self.find(address)?;
        let dwarf = module.dwarf()?;
        let outer = dwarf.frames(module.svma(address)).pop()?;
        Some((dwarf.die(outer.unit, outer.die?)?, module.bias))
    }

    pub fn find(&self, addr: RunAddr) -> Option<&Module<'a>> {
        let i = self.modules.partition_point(|m| m.start <= addr).checked_sub(1)?;
        let m = &self.modules[i];
        m.contains(addr).then_some(m)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Module<'a>> {
        self.modules.iter()
    }
}

impl CfiLookup for ModuleSet<'_> {
    fn cfi_for(&self, pc: RunAddr) -> Option<(&Cfi<'_>, Bias)> {
        let m = self.find(pc)?;
        Some((m.cfi(), m.bias))
    }

    fn is_code(&self, pc: RunAddr) -> bool {
        self.find(pc).is_some_and(|m| m.executable.iter().any(|&(s, e, _)| s <= pc && pc < e))
    }

    fn read_code(&self, pc: RunAddr, buf: &mut [u8]) -> bool {
        match self.find(pc).and_then(|m| m.code_bytes(pc, buf.len())) {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }
}

/// Loads a file's location lists on first use (variables need them,
/// symbolization does not).
fn location_loader<'a>(file: Option<ElfObject<'a>>) -> Box<dyn Fn() -> gimli::LocationLists<Slice<'a>> + 'a> {
    Box::new(move || {
        let section =
            |name| Slice::new(file.as_ref().and_then(|f| f.section(name)).unwrap_or(&[]), RunTimeEndian::Little);
        gimli::LocationLists::new(section(".debug_loc").into(), section(".debug_loclists").into())
    })
}

fn same_file(a: &Mapping, b: &Mapping) -> bool {
    a.path == b.path && a.inode == b.inode && a.dev_major == b.dev_major && a.dev_minor == b.dev_minor
}

enum OpenOutcome {
    NotElf,
    Failed(String),
}

fn parse_mapped<'a>(map: &Mapping, data: &'a [u8], store: &'a FileStore) -> Result<ElfObject<'a>, OpenOutcome> {
    if !data.starts_with(b"\x7fELF") {
        return Err(OpenOutcome::NotElf);
    }
    ElfObject::parse(store, data, Path::new(&map.path)).map_err(|e| OpenOutcome::Failed(e.to_string()))
}

fn read_vdso<'a>(map: &Mapping, store: &'a FileStore, memory: &dyn Memory) -> Result<ElfObject<'a>, OpenOutcome> {
    let mut bytes = vec![0u8; (map.end - map.start) as usize];
    memory.read(map.start, &mut bytes).map_err(|e| OpenOutcome::Failed(format!("cannot read the vdso: {e}")))?;
    let data = store.keep(bytes);
    ElfObject::parse(store, data, Path::new("[vdso]")).map_err(|e| OpenOutcome::Failed(e.to_string()))
}
