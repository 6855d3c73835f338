//! DWARF, parsed only where frames are: from a pc to its compilation unit,
//! to the chain of scopes (the subprogram and the inlined subroutines)
//! holding the pc, and to source lines.
//!
//! Nothing is parsed up front. The unit for a pc comes from
//! `.debug_aranges`; only when a pc is not there (clang omits the section
//! by default) are the root DIEs of all units scanned, once per module. A
//! unit's abbreviations, DIE tree and line table are parsed the first time
//! a pc falls in it, and cached for the run. (addr2line's `Context`, which
//! this replaces, parses every unit's header, abbreviations and line
//! program header before the first lookup: 38 ms for the C library.)
//!
//! The scope chain is also where the variables of a frame live, so it keeps
//! DIE offsets for later readers, and [`Die`] lets them (the variable
//! reader) follow references between DIEs, units and the supplementary
//! file without knowing how units are cached.
//!
//! With split DWARF (`-gsplit-dwarf`) a unit is a skeleton: its ranges,
//! line table and `.debug_addr` stay here, its DIEs are in a `.dwo` file
//! or `.dwp` package ([`super::split`]), read by a `DwarfInfo` of their
//! own, opened the first time the unit is looked into. [`DwarfInfo::die`]
//! and the scope walk go there for a skeleton's DIEs, so that readers of
//! DIEs never see the skeleton.
//!
//! The DWARF is the target's, so it may be corrupt or hostile: the DIE
//! tree is walked to a fixed depth, chains of `DW_AT_abstract_origin` and
//! `DW_AT_specification` are followed a fixed number of steps and stop at
//! a DIE seen before, and the first thing that cannot be parsed (a unit
//! header, a DIE tree, a line table) is kept as the module's [`DwarfError`]
//! so that a snapshot says why frames lack lines and variables.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use gimli::{AttributeValue, DebugInfoOffset, DwLang, DwTag, Unit, UnitOffset};
use thiserror::Error;

use super::elf::SectionError;
use super::split::{SplitError, SplitFiles};
use super::unit_sections::{UnitError, UnitSections};
use crate::address::LinkAddr;
use crate::unwind::cfi::Slice;

type R<'a> = Slice<'a>;

/// Lets the memory pages of bytes of a mapped file go (see
/// [`DwarfInfo::with_page_release`]).
pub type PageRelease<'a> = Box<dyn Fn(&[u8]) + 'a>;

/// How deep the scope walk descends into the DIE tree. Real code nests
/// namespaces, classes, blocks and inlined calls a few dozen deep; the
/// walk recurses once per level, so corrupt DWARF (a child flag on every
/// DIE) must not set the depth.
const MAX_SCOPE_DEPTH: usize = 256;

/// How many `DW_AT_abstract_origin`/`DW_AT_specification` references are
/// followed from one DIE (a concrete inlined copy of a definition of a
/// declaration takes two).
const MAX_ORIGIN_CHAIN: usize = 8;

/// The name C++ gives a namespace without one, in scope names (`(anonymous
/// namespace)::Widget`), as gdb writes it.
pub(crate) const ANONYMOUS_NAMESPACE: &str = "(anonymous namespace)";

/// The first part of a module's DWARF that could not be read.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DwarfError {
    #[error("corrupt .debug_info: unit at {offset:#x}: {source}")]
    Unit { offset: usize, source: gimli::Error },
    #[error("corrupt .debug_info: unit header at {offset:#x}: {source}")]
    UnitHeader { offset: usize, source: gimli::Error },
    #[error("corrupt .debug_info: DIE tree of the unit at {offset:#x}: {source}")]
    Tree { offset: usize, source: gimli::Error },
    #[error("DIE tree of the unit at {offset:#x} nests deeper than {MAX_SCOPE_DEPTH} scopes")]
    TooDeep { offset: usize },
    #[error("corrupt .debug_aranges: {0}")]
    Aranges(gimli::Error),
    #[error("corrupt .debug_line: line table of the unit at {offset:#x}: {source}")]
    Lines { offset: usize, source: gimli::Error },
    /// A skeleton unit's split part is missing, stale or corrupt.
    #[error("{0}")]
    Split(SplitError),
    /// A problem inside a split DWARF file.
    #[error("{path}: {source}")]
    InSplit { path: PathBuf, source: Box<DwarfError> },
    #[error("corrupt .debug_types: unit header at {offset:#x}: {source}")]
    TypeUnitHeader { offset: usize, source: gimli::Error },
    /// A section a unit is parsed from cannot be had (corrupt compressed data).
    #[error("{0}")]
    Section(SectionError),
}

/// A range of link-time addresses belonging to one unit.
#[derive(Clone, Copy, Debug)]
struct UnitRange {
    begin: u64,
    end: u64,
    unit: DebugInfoOffset,
}

/// Unit ranges sorted by start, with the running maximum of their ends so
/// that a lookup in a gap stops at once instead of scanning backwards.
#[derive(Default)]
struct RangeIndex {
    ranges: Vec<UnitRange>,
    max_end: Vec<u64>,
}

impl RangeIndex {
    fn new(mut ranges: Vec<UnitRange>) -> Self {
        ranges.sort_by_key(|r| r.begin);
        let mut max = 0;
        let max_end = ranges
            .iter()
            .map(|r| {
                max = max.max(r.end);
                max
            })
            .collect();
        RangeIndex { ranges, max_end }
    }

    fn find(&self, pc: u64) -> Option<DebugInfoOffset> {
        let i = self.ranges.partition_point(|r| r.begin <= pc);
        (0..i)
            .rev()
            .take_while(|&j| self.max_end[j] > pc)
            .find(|&j| pc < self.ranges[j].end)
            .map(|j| self.ranges[j].unit)
    }
}

/// One source-level frame found in DWARF, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DwarfFrame {
    /// The name as DWARF has it (linkage name preferred; may be mangled).
    pub name: Option<String>,
    pub language: Option<DwLang>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The unit, and the DIE of the subprogram or inlined subroutine.
    pub unit: DebugInfoOffset,
    pub die: Option<UnitOffset>,
}

/// A parsed unit with its line table, built on first use.
pub struct UnitData<'a> {
    pub unit: Unit<R<'a>>,
    pub language: Option<DwLang>,
    lines: OnceCell<Option<Lines>>,
    /// Named scopes (namespaces, classes) for C++ qualified names.
    containers: OnceCell<Vec<Container>>,
}

/// A namespace, class, struct or union DIE spanning the DIE offsets
/// `start..end` of its unit, inside `parent` (an index into the same list).
struct Container {
    start: UnitOffset,
    end: UnitOffset,
    name: String,
    parent: Option<usize>,
}

/// A DIE of this module's DWARF, in its own file or the supplementary one.
#[derive(Clone)]
pub struct Die<'d, 'a> {
    pub dwarf: &'d DwarfInfo<'a>,
    pub unit: Rc<UnitData<'a>>,
    pub offset: UnitOffset,
}

impl<'d, 'a> Die<'d, 'a> {
    pub fn entry(&self) -> Option<gimli::DebuggingInformationEntry<R<'a>>> {
        self.unit.unit.entry(self.offset).ok()
    }

    /// Identifies the DIE across units and files (for caches): its
    /// section offset, with [`DEBUG_TYPES_BIT`] set in `.debug_types`.
    pub fn key(&self) -> (usize, usize) {
        let header = &self.unit.unit.header;
        let types = if header.section() == gimli::SectionId::DebugTypes { DEBUG_TYPES_BIT } else { 0 };
        (self.dwarf as *const DwarfInfo<'a> as usize, self.offset.to_unit_section_offset(header).0 | types)
    }

    pub fn attr(&self, attr: gimli::DwAt) -> Option<AttributeValue<R<'a>>> {
        self.entry()?.attr_value(attr)
    }

    /// The DIE a reference attribute value points at.
    pub fn reference(&self, value: AttributeValue<R<'a>>) -> Option<Die<'d, 'a>> {
        match value {
            AttributeValue::UnitRef(offset) => Some(Die { dwarf: self.dwarf, unit: self.unit.clone(), offset }),
            AttributeValue::DebugInfoRef(offset) => self.dwarf.die_at(offset),
            AttributeValue::DebugInfoRefSup(offset) => self.dwarf.sup.as_deref()?.die_at(offset),
            AttributeValue::DebugTypesRef(signature) => self.dwarf.signature_die(signature),
            _ => None,
        }
    }

    /// The DIE an attribute of this one refers to (`DW_AT_type`, ...).
    pub fn follow(&self, attr: gimli::DwAt) -> Option<Die<'d, 'a>> {
        self.reference(self.attr(attr)?)
    }

    /// An attribute of this DIE or, failing that, of the DIE it is a
    /// concrete instance (`DW_AT_abstract_origin`) or definition
    /// (`DW_AT_specification`) of; with the DIE that has it.
    pub fn inherited(&self, attr: gimli::DwAt) -> Option<(Die<'d, 'a>, AttributeValue<R<'a>>)> {
        self.inherited_any(&[attr])
    }

    /// The first of `attrs` (in order) that this DIE has or, failing all,
    /// the DIE it is an instance or definition of; at most
    /// [`MAX_ORIGIN_CHAIN`] references away, and never through a DIE twice
    /// (corrupt references can form a cycle, also across units).
    fn inherited_any(&self, attrs: &[gimli::DwAt]) -> Option<(Die<'d, 'a>, AttributeValue<R<'a>>)> {
        let mut die = self.clone();
        let mut seen = Vec::with_capacity(MAX_ORIGIN_CHAIN);
        loop {
            let entry = die.entry()?;
            if let Some(value) = attrs.iter().find_map(|&a| entry.attr_value(a)) {
                return Some((die, value));
            }
            if seen.len() == MAX_ORIGIN_CHAIN || seen.contains(&die.key()) {
                return None;
            }
            seen.push(die.key());
            let next = [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification]
                .into_iter()
                .find_map(|a| entry.attr_value(a))?;
            die = die.reference(next)?;
        }
    }

    pub fn string(&self, value: AttributeValue<R<'a>>) -> Option<String> {
        let s = self.dwarf.dwarf.attr_string(&self.unit.unit, value).ok()?;
        Some(s.to_string_lossy().into_owned())
    }

    /// `DW_AT_name`, through abstract origins and specifications.
    pub fn name(&self) -> Option<String> {
        let (die, value) = self.inherited(gimli::DW_AT_name)?;
        die.string(value)
    }

    /// The name a frame shows, with the language of the unit that names
    /// it, through abstract origins and specifications: the linkage name,
    /// demangled later into a qualified one; else (C++ functions with
    /// internal linkage, such as members of a class in an anonymous
    /// namespace, have none) `DW_AT_name` qualified by the namespaces and
    /// classes around the DIE that holds it, as gdb does. Rust functions
    /// are named that way always, as gdb names them: rustc's `DW_AT_name`
    /// has the generic arguments and the closures' and impls' numbers
    /// (`do_call<ptsnap::main::{closure_env#1}, i32>`, `{closure#1}`,
    /// `{impl#2}`), which the legacy mangled name loses (`{{closure}}`).
    fn frame_name(&self) -> Option<(String, Option<DwLang>)> {
        let linkage = [gimli::DW_AT_linkage_name, gimli::DW_AT_MIPS_linkage_name];
        if let Some((die, value)) = self.inherited_any(&linkage).filter(|(die, _)| !is_rust(die.unit.language)) {
            return Some((die.string(value)?, die.unit.language));
        }
        let (die, value) = self.inherited(gimli::DW_AT_name)?;
        Some((format!("{}{}", die.scope_prefix(), die.string(value)?), die.unit.language))
    }

    /// The `A::B::` prefix of the namespaces and classes around this DIE
    /// (empty for C, where there are none).
    pub fn scope_prefix(&self) -> String {
        self.scopes().iter().fold(String::new(), |mut acc, n| {
            acc.push_str(n);
            acc.push_str("::");
            acc
        })
    }

    /// The names of the namespaces and classes around this DIE, outermost
    /// first (none in C).
    pub fn scopes(&self) -> Vec<&str> {
        let containers = self.unit.containers.get_or_init(|| self.dwarf.containers(&self.unit.unit));
        let i = containers.partition_point(|c| c.start < self.offset);
        let mut at = i.checked_sub(1);
        while let Some(j) = at {
            if containers[j].end > self.offset {
                break;
            }
            at = containers[j].parent;
        }
        let mut names = Vec::new();
        while let Some(j) = at {
            names.push(containers[j].name.as_str());
            at = containers[j].parent;
        }
        names.reverse();
        names
    }
}

/// The address ranges of a DIE, from [`DwarfInfo::die_ranges`].
pub enum DieRanges<'a> {
    Single(Option<gimli::Range>),
    List(gimli::RngListIter<R<'a>>),
}

impl DieRanges<'_> {
    /// The next range, as gimli's `RangeIter::next` gives it.
    pub fn next_range(&mut self) -> gimli::Result<Option<gimli::Range>> {
        match self {
            DieRanges::Single(range) => Ok(range.take()),
            DieRanges::List(list) => list.next(),
        }
    }
}

/// A unit's line table as sorted rows, with resolved file names.
struct Lines {
    files: Vec<Option<String>>,
    /// (address, file index, line, column), sorted by address; an
    /// end-of-sequence row has line 0 and ends the range before it.
    rows: Vec<(u64, u64, u32, u32)>,
}

pub struct DwarfInfo<'a> {
    /// Every section but the three units are parsed from, which are in
    /// `sections` (and empty here when read from compressed sections).
    dwarf: gimli::Dwarf<R<'a>>,
    /// `.debug_info`, `.debug_abbrev` and `.debug_line`, read per unit.
    sections: UnitSections<'a>,
    /// `dwarf` with those three whole, built when something needs all units.
    whole: OnceCell<gimli::Dwarf<R<'a>>>,
    aranges: OnceCell<RangeIndex>,
    /// Ranges of the units `.debug_aranges` does not describe.
    scanned: OnceCell<RangeIndex>,
    /// Unit start offsets, for references into other units.
    unit_starts: OnceCell<Vec<DebugInfoOffset>>,
    /// Parsed units by offset; `None` for a unit that does not parse (it
    /// is not tried again).
    units: RefCell<HashMap<DebugInfoOffset, Option<Rc<UnitData<'a>>>>>,
    /// The supplementary file's DWARF (dwz), for DIEs referenced from it.
    sup: Option<Box<DwarfInfo<'a>>>,
    /// Location lists, which only the variable reader needs: loaded (and
    /// inflated) on its first request.
    locations: OnceCell<gimli::LocationLists<R<'a>>>,
    load_locations: Box<dyn Fn() -> gimli::LocationLists<R<'a>> + 'a>,
    /// The first part of this DWARF that could not be read.
    problem: RefCell<Option<DwarfError>>,
    /// Lets the pages of scanned bytes go (see [`Self::unit_roots_where`]).
    release_pages: Option<PageRelease<'a>>,
    /// Finds the split parts of skeleton units (`-gsplit-dwarf`).
    split_files: Option<SplitFiles<'a>>,
    /// The split part of each unit (by index in `unit_starts`), loaded
    /// when the unit is first looked into; `None` for a unit that is no
    /// skeleton or whose split part cannot be had.
    splits: OnceCell<Vec<OnceCell<Option<Split<'a>>>>>,
    /// In a split file's DWARF: the skeleton unit, whose relocated
    /// attributes (address base, ...) its split unit takes.
    skeleton: Option<Rc<UnitData<'a>>>,
    /// The module's TLS segment (link-time address, size), for
    /// [`Self::tls_offset`].
    tls_segment: Option<(u64, u64)>,
    /// Type units by signature, listed on the first reference to one.
    type_units: OnceCell<TypeUnits<'a>>,
}

/// The split part of a skeleton unit.
struct Split<'a> {
    info: DwarfInfo<'a>,
    /// Its compilation unit, in `info`.
    unit: DebugInfoOffset,
    path: PathBuf,
}

/// Scope tags whose PC ranges are searched for the pc.
/// A pass over `.debug_info` from its start (reading every unit's
/// header, or every unit) that lets go of the memory pages behind it, a
/// [`RELEASE_STEP`] at a time and the rest when it ends: the pages of a
/// mapped file read once stay in ptsnap's resident memory otherwise, and
/// a big Rust or C++ executable has tens of MB of DIEs. A page needed
/// again is read again from the page cache.
struct Pass<'s, 'a> {
    dwarf: &'s DwarfInfo<'a>,
    released: usize,
    reached: usize,
}

/// Bytes of `.debug_info` a [`Pass`] lets go of at once.
const RELEASE_STEP: usize = 4 << 20;

impl<'s, 'a> Pass<'s, 'a> {
    fn new(dwarf: &'s DwarfInfo<'a>) -> Self {
        Pass { dwarf, released: 0, reached: 0 }
    }

    /// The pass is at `offset`: what lies before it is behind.
    fn reached(&mut self, offset: usize) {
        self.reached = self.reached.max(offset);
        if self.reached - self.released >= RELEASE_STEP {
            self.release();
        }
    }

    fn release(&mut self) {
        if let Some(release) = &self.dwarf.release_pages
            && let Some(bytes) = self.dwarf.info_bytes().get(self.released..self.reached)
        {
            release(bytes);
        }
        self.released = self.reached;
    }
}

impl Drop for Pass<'_, '_> {
    fn drop(&mut self) {
        self.reached = self.dwarf.info_bytes().len();
        self.release();
    }
}

/// A pass over every unit that reads names and keeps copies of those it
/// wants (an index, a list of variables): it lets go of the string
/// sections' pages every [`RELEASE_STEP`] bytes of units passed, and when
/// it ends, since the names of a big executable's namespaces, types and
/// variables fill tens of MB.
pub struct NamesPass<'s, 'a> {
    dwarf: &'s DwarfInfo<'a>,
    since: u64,
}

impl<'s, 'a> NamesPass<'s, 'a> {
    pub fn new(dwarf: &'s DwarfInfo<'a>) -> Self {
        NamesPass { dwarf, since: 0 }
    }

    /// The pass is done with `unit`.
    pub fn passed(&mut self, unit: &Unit<R<'a>>) {
        self.since += unit.header.length_including_self() as u64;
        if self.since >= RELEASE_STEP as u64 {
            self.dwarf.release_strings();
            self.since = 0;
        }
    }
}

impl Drop for NamesPass<'_, '_> {
    fn drop(&mut self) {
        self.dwarf.release_strings();
    }
}

fn is_code_scope(tag: DwTag) -> bool {
    matches!(tag, gimli::DW_TAG_subprogram | gimli::DW_TAG_inlined_subroutine | gimli::DW_TAG_lexical_block)
}

/// Tags without code of their own that may hold subprograms (C++).
fn is_container(tag: DwTag) -> bool {
    matches!(
        tag,
        gimli::DW_TAG_namespace
            | gimli::DW_TAG_module
            | gimli::DW_TAG_class_type
            | gimli::DW_TAG_structure_type
            | gimli::DW_TAG_union_type
    )
}

impl<'a> DwarfInfo<'a> {
    /// `dwarf` should carry its supplementary sections (`set_sup`) when
    /// `sup` is given, so that strings moved there resolve.
    /// `load_locations` reads `.debug_loc` and `.debug_loclists` when
    /// a variable first needs them.
    pub fn new(
        dwarf: gimli::Dwarf<R<'a>>,
        sup: Option<DwarfInfo<'a>>,
        load_locations: Box<dyn Fn() -> gimli::LocationLists<R<'a>> + 'a>,
    ) -> Self {
        DwarfInfo {
            sections: UnitSections::of(&dwarf),
            dwarf,
            whole: OnceCell::new(),
            aranges: OnceCell::new(),
            scanned: OnceCell::new(),
            unit_starts: OnceCell::new(),
            units: RefCell::default(),
            sup: sup.map(Box::new),
            locations: OnceCell::new(),
            load_locations,
            problem: RefCell::default(),
            release_pages: None,
            split_files: None,
            splits: OnceCell::new(),
            skeleton: None,
            tls_segment: None,
            type_units: OnceCell::new(),
        }
    }

    /// Reads units from `sections` (compressed ones are then inflated only
    /// as far as the units parsed need) instead of `dwarf`'s own.
    pub fn with_unit_sections(mut self, sections: UnitSections<'a>) -> Self {
        self.sections = sections;
        self
    }

    /// This DWARF with whole `.debug_info`, `.debug_abbrev` and `.debug_line`.
    fn whole(&self) -> &gimli::Dwarf<R<'a>> {
        self.whole.get_or_init(|| {
            let (whole, problem) = self.sections.whole(&self.dwarf);
            if let Some(e) = problem {
                self.record(DwarfError::Section(e));
            }
            whole
        })
    }

    /// Gives `release`, which lets the memory of bytes of a mapped file go
    /// ([`super::store::FileStore::release`]), the units a scan passes over.
    pub fn with_page_release(mut self, release: PageRelease<'a>) -> Self {
        self.release_pages = Some(release);
        self
    }

    /// The module's TLS segment (`PT_TLS`: link-time address, size).
    pub fn with_tls_segment(mut self, segment: Option<(u64, u64)>) -> Self {
        self.tls_segment = segment;
        self
    }

    /// The offset in its module's TLS block of a thread-local variable
    /// whose location expression gave `value` for `DW_OP_form_tls_address`.
    /// In split DWARF, gcc (12 at least) puts the variable's link-time
    /// address in `.debug_addr` for `DW_OP_constx` (an absolute relocation
    /// where a TLS-relative one belongs): a value inside the TLS segment,
    /// which no offset in it can be, is taken back to its offset.
    pub fn tls_offset(&self, value: u64) -> u64 {
        match self.tls_segment {
            Some((start, size)) if self.dwarf.file_type == gimli::DwarfFileType::Dwo && value >= size => {
                let offset = value.wrapping_sub(start);
                if offset < size { offset } else { value }
            }
            _ => value,
        }
    }

    /// The module's TLS segment (link-time address, size), if known.
    pub fn tls_segment(&self) -> Option<(u64, u64)> {
        self.tls_segment
    }

    /// Reads the split parts of skeleton units through `files`.
    pub fn with_split_files(mut self, files: SplitFiles<'a>) -> Self {
        self.split_files = Some(files);
        self
    }

    /// The first part of this DWARF (or the supplementary file's) found
    /// unreadable so far: lookups in that part found nothing.
    pub fn problem(&self) -> Option<DwarfError> {
        let in_split = || {
            self.splits.get()?.iter().find_map(|s| {
                let split = s.get()?.as_ref()?;
                let source = Box::new(split.info.problem()?);
                Some(DwarfError::InSplit { path: split.path.clone(), source })
            })
        };
        self.problem.borrow().clone().or_else(|| self.sup()?.problem()).or_else(in_split)
    }

    /// Keeps the first problem: later ones are usually its consequences.
    fn record(&self, problem: DwarfError) {
        self.problem.borrow_mut().get_or_insert(problem);
    }

    /// The supplementary file's DWARF (dwz), if any.
    pub fn sup(&self) -> Option<&DwarfInfo<'a>> {
        self.sup.as_deref()
    }

    pub fn gimli(&self) -> &gimli::Dwarf<R<'a>> {
        &self.dwarf
    }

    pub fn locations(&self) -> &gimli::LocationLists<R<'a>> {
        self.locations.get_or_init(|| (self.load_locations)())
    }

    /// The entries of the location list at `offset`, for a unit of this
    /// DWARF (a split file's lists have their own format in DWARF 4).
    pub fn location_list(
        &self,
        unit: &Unit<R<'a>>,
        offset: gimli::LocationListsOffset,
    ) -> gimli::Result<gimli::LocListIter<R<'a>>> {
        let lists = self.locations();
        let (encoding, addr) = (unit.encoding(), &self.dwarf.debug_addr);
        match self.dwarf.file_type {
            gimli::DwarfFileType::Main => lists.locations(offset, encoding, unit.low_pc, addr, unit.addr_base),
            gimli::DwarfFileType::Dwo => lists.locations_dwo(offset, encoding, unit.low_pc, addr, unit.addr_base),
        }
    }

    /// This DWARF, the supplementary file's and the split files' loaded so
    /// far: where a [`Die::key`] of this module may point.
    /// What identifies this DWARF in every module set of a run, where
    /// its address does not: where its `.debug_info` bytes are.
    pub fn identity(&self) -> usize {
        self.sections.identity()
    }

    pub fn parts(&self) -> Vec<&DwarfInfo<'a>> {
        let mut out = vec![self];
        out.extend(self.sup());
        let splits = self.splits.get().into_iter().flatten();
        out.extend(splits.filter_map(|s| Some(&s.get()?.as_ref()?.info)));
        out
    }

    /// A DIE by unit and offset in that unit; for a skeleton unit, the
    /// offset is in its split unit, where its DIEs are.
    pub fn die(&self, unit: DebugInfoOffset, offset: UnitOffset) -> Option<Die<'_, 'a>> {
        let (dwarf, unit) = self.dies_of(unit)?;
        Some(Die { dwarf, unit, offset })
    }

    /// The DWARF and unit holding the DIEs of unit `offset`: its split
    /// unit for a skeleton whose split part was found, else itself.
    fn dies_of(&self, offset: DebugInfoOffset) -> Option<(&DwarfInfo<'a>, Rc<UnitData<'a>>)> {
        let data = self.unit(offset)?;
        let Some(split) = self.split(offset, &data) else { return Some((self, data)) };
        Some((&split.info, split.info.unit(split.unit)?))
    }

    /// The split part of skeleton unit `offset`, loaded on first use; a
    /// part that cannot be had is the module's problem, once.
    fn split(&self, offset: DebugInfoOffset, data: &Rc<UnitData<'a>>) -> Option<&Split<'a>> {
        let files = self.split_files.as_ref()?;
        data.unit.dwo_id?;
        let starts = self.starts();
        let i = starts.binary_search(&offset).ok()?;
        let cells = self.splits.get_or_init(|| starts.iter().map(|_| OnceCell::new()).collect());
        cells
            .get(i)?
            .get_or_init(|| match files.load(&self.dwarf, &data.unit) {
                Ok(found) => found.map(|s| {
                    let lists = s.dwarf.locations;
                    let mut info = DwarfInfo::new(s.dwarf, None, Box::new(move || lists));
                    info.skeleton = Some(data.clone());
                    info.tls_segment = self.tls_segment;
                    Split { info, unit: s.unit, path: s.path }
                }),
                Err(e) => {
                    self.record(DwarfError::Split(e));
                    None
                }
            })
            .as_ref()
    }

    /// The DIE at a `.debug_info` offset, in whichever unit holds it.
    pub fn die_at(&self, offset: DebugInfoOffset) -> Option<Die<'_, 'a>> {
        let unit = self.unit(self.unit_containing(offset)?)?;
        let local = offset.to_unit_offset(&unit.unit.header)?;
        Some(Die { dwarf: self, unit, offset: local })
    }

    /// The root DIE of every unit, in section order (a skeleton unit's
    /// split unit in its place).
    ///
    /// Like every pass over all units, it lets go of the pages of the
    /// units it has passed (see [`Pass`]).
    pub fn unit_roots(&self) -> impl Iterator<Item = Die<'_, 'a>> + '_ {
        let mut pass = Pass::new(self);
        self.starts().iter().filter_map(move |&start| {
            pass.reached(start.0);
            let (dwarf, unit) = self.dies_of(start)?;
            let offset = unit.unit.root_offset();
            Some(Die { dwarf, unit, offset })
        })
    }

    /// Lets go of the memory pages of the string sections (see
    /// [`Self::with_page_release`]).
    fn release_strings(&self) {
        if let Some(release) = &self.release_pages {
            release(gimli::Section::reader(&self.dwarf.debug_str).slice());
            release(gimli::Section::reader(&self.dwarf.debug_line_str).slice());
        }
    }

    /// The root DIE of each unit whose DIEs' bytes `keep` accepts, in
    /// section order, a skeleton unit's split unit in its place (judged by
    /// the split unit's bytes): a pre-filter sparing the parse of the
    /// units it rejects (only a possible skeleton's root is read, to find
    /// its split unit).
    pub fn unit_roots_where<'s>(&'s self, keep: impl Fn(&[u8]) -> bool + 's) -> impl Iterator<Item = Die<'s, 'a>> + 's {
        self.numbered_unit_roots_where(|_| true, move |_, bytes| keep(bytes)).map(|(_, root)| root)
    }

    /// [`Self::unit_roots_where`], each root with its unit's number (its
    /// place in section order), of the units whose number `wanted` takes
    /// (others are passed over without a look at their bytes), `keep` told
    /// the DWARF the bytes are of (a split file's for a split unit).
    pub fn numbered_unit_roots_where<'s: 'k, 'k>(
        &'s self,
        wanted: impl Fn(usize) -> bool + 'k,
        keep: impl Fn(&DwarfInfo<'a>, &[u8]) -> bool + 'k,
    ) -> impl Iterator<Item = (usize, Die<'s, 'a>)> + 'k {
        let section = self.info_bytes();
        let starts = self.starts();
        let mut pass = Pass::new(self);
        starts.iter().enumerate().filter_map(move |(i, &start)| {
            pass.reached(start.0);
            if !wanted(i) {
                return None;
            }
            let end = starts.get(i + 1).map_or(section.len(), |next| next.0);
            let (dwarf, unit) = if section.get(start.0..end).is_some_and(|bytes| keep(self, bytes)) {
                self.dies_of(start)?
            } else {
                let split = self.split(start, &self.possible_skeleton(start)?)?;
                let unit = split.info.unit(split.unit)?;
                keep(&split.info, split.info.unit_bytes(&unit.unit)?).then_some((&split.info, unit))?
            };
            let offset = unit.unit.root_offset();
            Some((i, Die { dwarf, unit, offset }))
        })
    }

    /// The whole `.debug_abbrev` section.
    pub fn abbrev_bytes(&self) -> &'a [u8] {
        gimli::Section::reader(&self.whole().debug_abbrev).slice()
    }

    /// Unit `start` parsed if it may be a skeleton: a DWARF 5 header says
    /// so; in DWARF 4 (GNU's split units) its root's abbreviation has a
    /// `DW_AT_GNU_dwo_id`, looked up without parsing the unit (its whole
    /// abbreviation table and line program header cost more than the rest
    /// of a TLS scan).
    fn possible_skeleton(&self, start: DebugInfoOffset) -> Option<Rc<UnitData<'a>>> {
        self.split_files.as_ref()?;
        let whole = self.whole();
        let header = whole.debug_info.header_from_offset(start).ok()?;
        let possible = match header.type_() {
            gimli::UnitType::Skeleton(_) => true,
            _ if header.version() >= 5 => false,
            _ => root_abbreviation_has(whole, &header, gimli::DW_AT_GNU_dwo_id).unwrap_or(true),
        };
        if possible { self.unit(start) } else { None }
    }

    /// The bytes of a unit of this DWARF's `.debug_info`, header included.
    fn unit_bytes(&self, unit: &Unit<R<'a>>) -> Option<&'a [u8]> {
        let start = unit.header.offset().0;
        let end = start.checked_add(unit.header.length_including_self())?;
        self.info_bytes().get(start..end)
    }

    fn info_bytes(&self) -> &'a [u8] {
        gimli::Section::reader(&self.whole().debug_info).slice()
    }

    /// The named scopes of a unit, sorted by start, each with the index of
    /// the scope around it: one pass over the unit's DIEs, for C++ units only.
    fn containers(&self, unit: &Unit<R<'a>>) -> Vec<Container> {
        let mut out: Vec<Container> = Vec::new();
        if is_c(unit_language(unit)) {
            return out;
        }
        // Open containers as (depth, index into out).
        let mut open: Vec<(isize, usize)> = Vec::new();
        let mut entries = unit.entries();
        while let Ok(Some(entry)) = entries.next_dfs() {
            let depth = entry.depth();
            while open.last().is_some_and(|&(d, _)| d >= depth) {
                let (_, i) = open.pop().unwrap_or_default();
                out[i].end = entry.offset();
            }
            if is_container(entry.tag()) {
                let name = match entry.attr_value(gimli::DW_AT_name) {
                    Some(v) => self.dwarf.attr_string(unit, v).map(|s| s.to_string_lossy().into_owned()).ok(),
                    None if entry.tag() == gimli::DW_TAG_namespace => Some(ANONYMOUS_NAMESPACE.into()),
                    None => None,
                };
                if let Some(name) = name {
                    out.push(Container {
                        start: entry.offset(),
                        end: UnitOffset(usize::MAX),
                        name,
                        parent: open.last().map(|&(_, i)| i),
                    });
                    open.push((depth, out.len() - 1));
                }
            }
        }
        out
    }

    /// The source frames at link-time address `pc`, innermost first; empty
    /// when no unit covers it.
    pub fn frames(&self, pc: LinkAddr) -> Vec<DwarfFrame> {
        // Units, scopes and line rows are all link-time: gimli's numbers.
        let pc = pc.get();
        let Some(offset) = self.unit_for(pc) else { return Vec::new() };
        let Some(data) = self.unit(offset) else { return Vec::new() };
        // Scopes are in the split unit of a skeleton; lines stay in `data`.
        let Some((dwarf, dies)) = self.dies_of(offset) else { return Vec::new() };
        let chain = dwarf.scope_chain(&dies, pc);
        let mut frames = Vec::new();
        // Innermost scope's location is the pc's line; each inlined
        // subroutine's call site is the location in the scope around it.
        let mut location = self.line_at(&data, pc);
        for die in chain.iter().rev() {
            let Ok(entry) = dies.unit.entry(*die) else { continue };
            let named = Die { dwarf, unit: dies.clone(), offset: *die }.frame_name();
            let (name, language) = named.map_or((None, None), |(n, l)| (Some(n), l));
            let (file, line, column) = location.clone().unwrap_or_default();
            frames.push(DwarfFrame {
                name,
                language: language.or(dies.language),
                file,
                line,
                column,
                unit: offset,
                die: Some(*die),
            });
            location = if entry.tag() == gimli::DW_TAG_inlined_subroutine {
                Some(self.call_site(&data, &entry))
            } else {
                None
            };
        }
        if frames.is_empty() {
            // A pc with line info but no subprogram (e.g. assembly).
            if let Some((file, line, column)) = location {
                frames.push(DwarfFrame {
                    name: None,
                    language: dies.language,
                    file,
                    line,
                    column,
                    unit: offset,
                    die: None,
                });
            }
        }
        frames
    }

    fn unit_for(&self, pc: u64) -> Option<DebugInfoOffset> {
        let aranges = self.aranges.get_or_init(|| self.read_aranges());
        aranges.find(pc).or_else(|| self.scanned.get_or_init(|| self.scan_units(aranges)).find(pc))
    }

    fn read_aranges(&self) -> RangeIndex {
        let mut out = Vec::new();
        if let Err(e) = self.collect_aranges(&mut out) {
            self.record(DwarfError::Aranges(e));
        }
        RangeIndex::new(out)
    }

    /// The ranges of `.debug_aranges` up to the first error.
    fn collect_aranges(&self, out: &mut Vec<UnitRange>) -> gimli::Result<()> {
        let mut headers = self.dwarf.debug_aranges.headers();
        while let Some(header) = headers.next()? {
            let unit = header.debug_info_offset();
            let mut entries = header.entries();
            while let Some(entry) = entries.next()? {
                let range = entry.range();
                if range.end > range.begin {
                    out.push(UnitRange { begin: range.begin, end: range.end, unit });
                }
            }
        }
        Ok(())
    }

    /// Ranges, from their root DIEs, of the units `.debug_aranges` leaves
    /// out (all of them when the section is missing, as clang does by
    /// default). Unit headers are cheap to list; only the missing units
    /// are parsed.
    fn scan_units(&self, aranges: &RangeIndex) -> RangeIndex {
        let described: std::collections::HashSet<DebugInfoOffset> = aranges.ranges.iter().map(|r| r.unit).collect();
        let mut out = Vec::new();
        let mut pass = Pass::new(self);
        for &offset in self.starts() {
            pass.reached(offset.0);
            if described.contains(&offset) {
                continue;
            }
            let Some(data) = self.unit(offset) else { continue };
            let root = data.unit.entry(data.unit.root_offset());
            if let Ok(mut ranges) = root.and_then(|root| self.die_ranges(&data.unit, &root)) {
                while let Ok(Some(r)) = ranges.next_range() {
                    if r.end > r.begin {
                        out.push(UnitRange { begin: r.begin, end: r.end, unit: offset });
                    }
                }
            }
        }
        RangeIndex::new(out)
    }

    fn unit(&self, offset: DebugInfoOffset) -> Option<Rc<UnitData<'a>>> {
        if let Some(u) = self.units.borrow().get(&offset) {
            return u.clone();
        }
        let data = self.parse_unit(offset).map(Rc::new);
        self.units.borrow_mut().insert(offset, data.clone());
        data
    }

    fn parse_unit(&self, offset: DebugInfoOffset) -> Option<UnitData<'a>> {
        let mut unit = match self.sections.unit(&self.dwarf, offset) {
            Ok(unit) => unit,
            Err(UnitError::Dwarf(source)) => {
                self.record(DwarfError::Unit { offset: offset.0, source });
                return None;
            }
            Err(UnitError::Section(e)) => {
                self.record(DwarfError::Section(e));
                return None;
            }
        };
        if let Some(skeleton) = self.skeleton.as_ref().filter(|s| s.unit.dwo_id == unit.dwo_id) {
            unit.copy_relocated_attributes(&skeleton.unit);
        }
        let language =
            unit.entry(unit.root_offset()).ok().and_then(|root| match root.attr_value(gimli::DW_AT_language) {
                Some(AttributeValue::Language(l)) => Some(l),
                _ => None,
            });
        Some(UnitData { unit, language, lines: OnceCell::new(), containers: OnceCell::new() })
    }

    /// The DIE offsets of the scopes holding `pc`, outermost first: the
    /// subprogram, then inlined subroutines (lexical blocks are walked
    /// through but not returned).
    fn scope_chain(&self, data: &UnitData<'a>, pc: u64) -> Vec<UnitOffset> {
        let mut chain = Vec::new();
        let walked = data.unit.entries_tree(None).and_then(|mut tree| self.walk(data, tree.root()?, pc, &mut chain, 0));
        if let Err(source) = walked {
            self.record(DwarfError::Tree { offset: unit_offset(&data.unit), source });
        }
        chain
    }

    /// Searches the children of `node` for the scope holding `pc`. Only
    /// scopes whose ranges hold the pc, and containers without code of
    /// their own (namespaces, classes, blocks without ranges), are entered,
    /// down to [`MAX_SCOPE_DEPTH`] (`depth` is `node`'s).
    fn walk(
        &self,
        data: &UnitData<'a>,
        node: gimli::EntriesTreeNode<'_, '_, R<'a>>,
        pc: u64,
        chain: &mut Vec<UnitOffset>,
        depth: usize,
    ) -> gimli::Result<bool> {
        if depth >= MAX_SCOPE_DEPTH {
            self.record(DwarfError::TooDeep { offset: unit_offset(&data.unit) });
            return Ok(false);
        }
        let mut children = node.children();
        while let Some(child) = children.next()? {
            let entry = child.entry();
            let tag = entry.tag();
            let ranged = entry.attr(gimli::DW_AT_low_pc).is_some() || entry.attr(gimli::DW_AT_ranges).is_some();
            if is_code_scope(tag) && ranged {
                if !self.contains(data, entry, pc) {
                    continue;
                }
                if tag != gimli::DW_TAG_lexical_block {
                    chain.push(entry.offset());
                }
                self.walk(data, child, pc, chain, depth + 1)?;
                return Ok(true);
            }
            if is_container(tag) || tag == gimli::DW_TAG_lexical_block {
                let before = chain.len();
                if self.walk(data, child, pc, chain, depth + 1)? {
                    return Ok(true);
                }
                chain.truncate(before);
            }
        }
        Ok(false)
    }

    /// A DIE's address ranges (`DW_AT_low_pc` with `DW_AT_high_pc`, or
    /// `DW_AT_ranges`) as gimli's `Dwarf::die_ranges` reads them, except
    /// that a `DW_AT_high_pc` length is added to `DW_AT_low_pc` wrapping,
    /// like an address: gimli adds it unchecked, which panics in debug
    /// builds on a corrupt length.
    pub fn die_ranges(
        &self,
        unit: &Unit<R<'a>>,
        entry: &gimli::DebuggingInformationEntry<R<'a>>,
    ) -> gimli::Result<DieRanges<'a>> {
        let (mut low, mut high, mut length) = (None, None, None);
        for attr in entry.attrs() {
            match (attr.name(), attr.value()) {
                (gimli::DW_AT_low_pc, value) => low = self.dwarf.attr_address(unit, value)?,
                (gimli::DW_AT_high_pc, AttributeValue::Udata(n)) => length = Some(n),
                (gimli::DW_AT_high_pc, value) => high = self.dwarf.attr_address(unit, value)?,
                (gimli::DW_AT_ranges, value) => {
                    if let Some(list) = self.dwarf.attr_ranges(unit, value)? {
                        return Ok(DieRanges::List(list));
                    }
                }
                _ => {}
            }
        }
        let range = low.and_then(|begin| {
            let end = length.map(|n| begin.wrapping_add(n)).or(high)?;
            Some(gimli::Range { begin, end })
        });
        Ok(DieRanges::Single(range))
    }

    fn contains(&self, data: &UnitData<'a>, entry: &gimli::DebuggingInformationEntry<R<'a>>, pc: u64) -> bool {
        let Ok(mut ranges) = self.die_ranges(&data.unit, entry) else { return false };
        while let Ok(Some(r)) = ranges.next_range() {
            if r.begin <= pc && pc < r.end {
                return true;
            }
        }
        false
    }

    fn unit_containing(&self, offset: DebugInfoOffset) -> Option<DebugInfoOffset> {
        let starts = self.starts();
        let i = starts.partition_point(|s| s.0 <= offset.0).checked_sub(1)?;
        Some(starts[i])
    }

    fn starts(&self) -> &[DebugInfoOffset] {
        self.unit_starts.get_or_init(|| {
            let mut starts = Vec::new();
            let mut headers = self.whole().units();
            let mut next = 0;
            let mut pass = Pass::new(self);
            loop {
                match headers.next() {
                    Ok(Some(h)) => {
                        let start = h.debug_info_offset();
                        next = start.map_or(next, |s| s.0.saturating_add(h.length_including_self()));
                        pass.reached(next);
                        starts.extend(start);
                    }
                    Ok(None) => break,
                    Err(source) => {
                        self.record(DwarfError::UnitHeader { offset: next, source });
                        break;
                    }
                }
            }
            starts
        })
    }

    /// The file name of entry `index` of the unit's line table.
    pub fn file_name(&self, data: &UnitData<'a>, index: u64) -> Option<String> {
        self.lines(data)?.files.get(index as usize)?.clone()
    }

    fn call_site(
        &self,
        data: &UnitData<'a>,
        entry: &gimli::DebuggingInformationEntry<R<'a>>,
    ) -> (Option<String>, Option<u32>, Option<u32>) {
        let num = |attr| entry.attr_value(attr).and_then(|v| v.udata_value()).map(|v| v as u32).filter(|&v| v > 0);
        let file = entry
            .attr_value(gimli::DW_AT_call_file)
            .and_then(|v| match v {
                AttributeValue::FileIndex(i) => Some(i),
                other => other.udata_value(),
            })
            .and_then(|index| self.lines(data)?.files.get(index as usize)?.clone());
        (file, num(gimli::DW_AT_call_line), num(gimli::DW_AT_call_column))
    }

    fn line_at(&self, data: &UnitData<'a>, pc: u64) -> Option<(Option<String>, Option<u32>, Option<u32>)> {
        let lines = self.lines(data)?;
        let i = lines.rows.partition_point(|r| r.0 <= pc).checked_sub(1)?;
        let (_, file, line, column) = lines.rows[i];
        if line == 0 {
            return None;
        }
        let file = lines.files.get(file as usize).cloned().flatten();
        Some((file, Some(line), (column > 0).then_some(column)))
    }

    fn lines<'d>(&self, data: &'d UnitData<'a>) -> Option<&'d Lines> {
        // A unit without a line table (no DW_AT_stmt_list) is no error.
        let parse = || {
            let program = data.unit.line_program.clone()?;
            self.parse_lines(&data.unit, program)
                .map_err(|source| self.record(DwarfError::Lines { offset: unit_offset(&data.unit), source }))
                .ok()
        };
        data.lines.get_or_init(parse).as_ref()
    }

    fn parse_lines(&self, unit: &Unit<R<'a>>, program: gimli::IncompleteLineProgram<R<'a>>) -> gimli::Result<Lines> {
        let header = program.header().clone();
        let comp_dir = unit.comp_dir.map(|d| d.to_string_lossy().into_owned());
        // File numbering: DWARF 5 counts from 0, earlier versions from 1.
        let first = if header.version() >= 5 { 0 } else { 1 };
        let mut files = vec![None; first as usize];
        for file in header.file_names() {
            files.push(self.render_file(unit, &header, file, comp_dir.as_deref()).ok());
        }
        let mut rows = Vec::new();
        let mut program_rows = program.rows();
        while let Some((_, row)) = program_rows.next_row()? {
            if row.end_sequence() {
                rows.push((row.address(), 0, 0, 0));
                continue;
            }
            let line = row.line().map_or(0, |l| l.get() as u32);
            let column = match row.column() {
                gimli::ColumnType::LeftEdge => 0,
                gimli::ColumnType::Column(c) => c.get() as u32,
            };
            rows.push((row.address(), row.file_index(), line, column));
        }
        // Sequences may come in any order. At one address, an end of
        // sequence sorts before the rows starting the next sequence, and
        // rows keep their program order (the last one applies).
        rows.sort_by_key(|r| (r.0, r.2 != 0));
        Ok(Lines { files, rows })
    }

    fn render_file(
        &self,
        unit: &Unit<R<'a>>,
        header: &gimli::LineProgramHeader<R<'a>>,
        file: &gimli::FileEntry<R<'a>>,
        comp_dir: Option<&str>,
    ) -> gimli::Result<String> {
        let mut path = comp_dir.unwrap_or("").to_string();
        // Directory 0 is the compilation directory itself.
        if file.directory_index() != 0
            && let Some(dir) = file.directory(header)
        {
            path_push(&mut path, &self.dwarf.attr_string(unit, dir)?.to_string_lossy());
        }
        path_push(&mut path, &self.dwarf.attr_string(unit, file.path_name())?.to_string_lossy());
        Ok(path)
    }
}

/// Set in [`Die::key`] for a DIE of a `.debug_types` unit, whose offsets
/// count from another section than `.debug_info`'s.
const DEBUG_TYPES_BIT: usize = 1 << (usize::BITS - 1);

/// The type units of a DWARF: where each signature's type is, and the
/// `.debug_types` units (DWARF 4), parsed on first use (DWARF 5 type units
/// are in `.debug_info` with the other units).
struct TypeUnits<'a> {
    signatures: HashMap<u64, TypeAt>,
    headers: Vec<gimli::UnitHeader<R<'a>>>,
    parsed: Vec<OnceCell<Option<Rc<UnitData<'a>>>>>,
}

/// A type unit's type: the unit (in `.debug_info`, or the index of a
/// `.debug_types` unit) and the type's DIE in it.
#[derive(Clone, Copy)]
enum TypeAt {
    Info(DebugInfoOffset, UnitOffset),
    Types(usize, UnitOffset),
}

impl<'a> DwarfInfo<'a> {
    /// The type DIE a `DW_FORM_ref_sig8` signature names (`-fdebug-types-section`).
    fn signature_die(&self, signature: gimli::DebugTypeSignature) -> Option<Die<'_, 'a>> {
        match *self.type_units().signatures.get(&signature.0)? {
            TypeAt::Info(unit, offset) => self.die(unit, offset),
            TypeAt::Types(index, offset) => Some(Die { dwarf: self, unit: self.types_unit(index)?, offset }),
        }
    }

    /// The root DIE of every `.debug_types` unit (DWARF 4 type units), in
    /// section order; [`Self::unit_roots`] has the others.
    pub fn type_unit_roots(&self) -> impl Iterator<Item = Die<'_, 'a>> + '_ {
        (0..self.type_units().headers.len()).filter_map(|index| {
            let unit = self.types_unit(index)?;
            let offset = unit.unit.root_offset();
            Some(Die { dwarf: self, unit, offset })
        })
    }

    /// The unit headers (cheap: the units are not parsed) of both
    /// sections, for their signatures; up to the first corrupt header.
    fn type_units(&self) -> &TypeUnits<'a> {
        self.type_units.get_or_init(|| {
            let mut signatures = HashMap::new();
            let mut type_at = |header: &gimli::UnitHeader<R<'a>>, at: &dyn Fn(UnitOffset) -> TypeAt| {
                if let gimli::UnitType::Type { type_signature, type_offset } = header.type_() {
                    signatures.entry(type_signature.0).or_insert(at(type_offset));
                }
            };
            let mut info = self.whole().units();
            while let Ok(Some(header)) = info.next() {
                let Some(unit) = header.debug_info_offset() else { continue };
                type_at(&header, &|offset| TypeAt::Info(unit, offset));
            }
            let mut headers = Vec::new();
            let mut types = self.whole().type_units();
            loop {
                match types.next() {
                    Ok(Some(header)) => {
                        let index = headers.len();
                        type_at(&header, &|offset| TypeAt::Types(index, offset));
                        headers.push(header);
                    }
                    Ok(None) => break,
                    Err(source) => {
                        let offset =
                            headers.last().map_or(0, |h| h.offset().0.saturating_add(h.length_including_self()));
                        self.record(DwarfError::TypeUnitHeader { offset, source });
                        break;
                    }
                }
            }
            let parsed = headers.iter().map(|_| OnceCell::new()).collect();
            TypeUnits { signatures, headers, parsed }
        })
    }

    /// The `.debug_types` unit `index`, parsed once.
    fn types_unit(&self, index: usize) -> Option<Rc<UnitData<'a>>> {
        let units = self.type_units();
        let header = *units.headers.get(index)?;
        let parse = || match self.whole().unit(header) {
            Ok(unit) => {
                let language = unit_language(&unit);
                Some(Rc::new(UnitData { unit, language, lines: OnceCell::new(), containers: OnceCell::new() }))
            }
            Err(source) => {
                self.record(DwarfError::Unit { offset: header.offset().0, source });
                None
            }
        };
        units.parsed[index].get_or_init(parse).clone()
    }
}

/// The language a unit's root DIE names.
fn unit_language(unit: &Unit<R<'_>>) -> Option<DwLang> {
    match unit.entry(unit.root_offset()).ok()?.attr_value(gimli::DW_AT_language) {
        Some(AttributeValue::Language(l)) => Some(l),
        _ => None,
    }
}

/// Whether a unit's language is C, where names have no scopes and `struct`
/// tags their own namespace.
fn is_rust(language: Option<DwLang>) -> bool {
    language == Some(gimli::DW_LANG_Rust)
}

pub fn is_c(language: Option<DwLang>) -> bool {
    matches!(
        language,
        Some(gimli::DW_LANG_C89 | gimli::DW_LANG_C99 | gimli::DW_LANG_C11 | gimli::DW_LANG_C17 | gimli::DW_LANG_C)
    )
}

/// Whether the abbreviation of the root DIE of unit `header` lists
/// `attr`: its code read from the unit, its declaration found by reading
/// the unit's abbreviation table only up to it. `None` if either cannot be
/// read.
fn root_abbreviation_has(
    dwarf: &gimli::Dwarf<R<'_>>,
    header: &gimli::UnitHeader<R<'_>>,
    attr: gimli::DwAt,
) -> Option<bool> {
    use gimli::Reader;
    let code = header.range_from(header.root_offset()..).ok()?.read_uleb128().ok()?;
    let mut table = *gimli::Section::reader(&dwarf.debug_abbrev);
    table.skip(header.debug_abbrev_offset().0).ok()?;
    loop {
        let this = table.read_uleb128().ok()?;
        if this == 0 {
            return None;
        }
        table.read_uleb128().ok()?; // tag
        table.read_u8().ok()?; // children
        let mut found = false;
        loop {
            let (name, form) = (table.read_uleb128().ok()?, table.read_uleb128().ok()?);
            if (name, form) == (0, 0) {
                break;
            }
            if form == u64::from(gimli::DW_FORM_implicit_const.0) {
                table.read_sleb128().ok()?;
            }
            found |= name == u64::from(attr.0);
        }
        if this == code {
            return Some(found);
        }
    }
}

/// A unit's offset in `.debug_info`, for messages.
fn unit_offset(unit: &Unit<R<'_>>) -> usize {
    unit.header.offset().0
}

fn path_push(path: &mut String, part: &str) {
    if part.starts_with('/') {
        *path = part.to_string();
    } else {
        if !path.is_empty() && !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(part);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gimli::{EndianSlice, RunTimeEndian};

    /// Abbreviation codes of the hand-made units below.
    /// A unit with children, low_pc and high_pc (length).
    const CU: u8 = 1;
    /// A subprogram with children, a name, low_pc and high_pc (length).
    const FUNCTION: u8 = 2;
    /// A lexical block with children and no ranges.
    const BLOCK: u8 = 3;
    /// A subprogram without children or name, with low_pc, high_pc and
    /// an abstract origin (ref4).
    const INSTANCE: u8 = 4;
    /// A subprogram without children with only an abstract origin.
    const ORIGIN: u8 = 5;

    fn abbrev() -> Vec<u8> {
        use gimli::constants::*;
        let (addr, data8, ref4, string) = (DW_FORM_addr.0 as u8, DW_FORM_data8.0 as u8, DW_FORM_ref4.0 as u8, 0x08);
        let (name, low, high, origin) =
            (DW_AT_name.0 as u8, DW_AT_low_pc.0 as u8, DW_AT_high_pc.0 as u8, DW_AT_abstract_origin.0 as u8);
        let mut out = vec![CU, DW_TAG_compile_unit.0 as u8, 1, low, addr, high, data8, 0, 0];
        out.extend([FUNCTION, DW_TAG_subprogram.0 as u8, 1, name, string, low, addr, high, data8, 0, 0]);
        out.extend([BLOCK, DW_TAG_lexical_block.0 as u8, 1, 0, 0]);
        out.extend([INSTANCE, DW_TAG_subprogram.0 as u8, 0, low, addr, high, data8, origin, ref4, 0, 0]);
        out.extend([ORIGIN, DW_TAG_subprogram.0 as u8, 0, origin, ref4, 0, 0]);
        out.push(0);
        out
    }

    /// A DWARF 4 unit for 0x1000..0x1100 around `dies`, which start at
    /// unit offset 28 (an 11-byte header, the unit's DIE).
    fn unit(dies: &[u8]) -> Vec<u8> {
        let mut body = vec![4, 0, 0, 0, 0, 0, 8]; // version 4, abbrev offset 0, address size 8
        body.push(CU);
        body.extend(0x1000u64.to_le_bytes());
        body.extend(0x100u64.to_le_bytes());
        body.extend(dies);
        body.push(0); // end of the unit DIE's children
        let mut out = (body.len() as u32).to_le_bytes().to_vec();
        out.extend(body);
        out
    }

    /// A FUNCTION DIE; its children, and the 0 ending them, follow.
    fn function(name: &str, low: u64, len: u64) -> Vec<u8> {
        let mut out = vec![FUNCTION];
        out.extend(name.as_bytes());
        out.push(0);
        out.extend(low.to_le_bytes());
        out.extend(len.to_le_bytes());
        out
    }

    fn dwarf_info(info: Vec<u8>) -> DwarfInfo<'static> {
        let (info, abbrev): (&'static [u8], &'static [u8]) = (info.leak(), abbrev().leak());
        let dwarf = gimli::Dwarf::load(|id| -> Result<_, ()> {
            let data: &[u8] = match id {
                gimli::SectionId::DebugInfo => info,
                gimli::SectionId::DebugAbbrev => abbrev,
                _ => &[],
            };
            Ok(EndianSlice::new(data, RunTimeEndian::Little))
        })
        .unwrap();
        let no_locations = Box::new(|| {
            let empty = EndianSlice::new(&[][..], RunTimeEndian::Little);
            gimli::LocationLists::new(empty.into(), empty.into())
        });
        DwarfInfo::new(dwarf, None, no_locations)
    }

    #[test]
    fn deep_nesting_is_cut_at_the_depth_limit() {
        // A million nested blocks inside `f`: one byte each, and one level
        // of recursion each without the limit.
        let nesting = 1_000_000;
        let mut dies = function("f", 0x1000, 0x100);
        dies.extend(std::iter::repeat_n(BLOCK, nesting));
        dies.extend(std::iter::repeat_n(0, nesting + 1));
        let dwarf = dwarf_info(unit(&dies));
        let frames = dwarf.frames(LinkAddr::new(0x1010));
        assert_eq!(frames.iter().map(|f| f.name.as_deref()).collect::<Vec<_>>(), [Some("f")]);
        assert_eq!(dwarf.problem(), Some(DwarfError::TooDeep { offset: 0 }));
    }

    #[test]
    fn a_cycle_of_abstract_origins_ends() {
        // INSTANCE, at unit offset 28, takes 21 bytes: ORIGIN is at 49 and
        // points back.
        let mut dies = vec![INSTANCE];
        dies.extend(0x1000u64.to_le_bytes());
        dies.extend(0x100u64.to_le_bytes());
        dies.extend(49u32.to_le_bytes());
        dies.push(ORIGIN);
        dies.extend(28u32.to_le_bytes());
        let dwarf = dwarf_info(unit(&dies));
        let frames = dwarf.frames(LinkAddr::new(0x1010));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].name, None, "no DIE in the cycle has a name");
        let die = dwarf.die(DebugInfoOffset(0), UnitOffset(28)).unwrap();
        assert!(die.inherited(gimli::DW_AT_decl_line).is_none());
    }

    #[test]
    fn a_length_past_the_address_space_wraps() {
        // DW_AT_high_pc as a length: low_pc + length overflows.
        let dwarf = dwarf_info(unit(&[function("f", u64::MAX - 0x10, 0x100), vec![0]].concat()));
        assert!(dwarf.frames(LinkAddr::new(0x1010)).is_empty(), "the range wraps to nothing");
    }

    #[test]
    fn tls_addresses_of_split_units_become_offsets() {
        let mut info = dwarf_info(unit(&[])).with_tls_segment(Some((0x3dc0, 0x10)));
        assert_eq!(info.tls_offset(0x3dc8), 0x3dc8, "a main file's offsets are left alone");
        info.dwarf.file_type = gimli::DwarfFileType::Dwo;
        assert_eq!(info.tls_offset(0x3dc8), 8);
        assert_eq!(info.tls_offset(8), 8);
        assert_eq!(info.tls_offset(0x5000), 0x5000);
    }

    #[test]
    fn a_corrupt_unit_header_is_the_problem() {
        let mut info = unit(&[function("f", 0x1000, 0x100), vec![0]].concat());
        info[4] = 0x77; // version 0x0077
        let dwarf = dwarf_info(info);
        assert!(dwarf.frames(LinkAddr::new(0x1010)).is_empty());
        let problem = dwarf.problem().expect("the corrupt header is recorded");
        assert!(problem.to_string().starts_with("corrupt .debug_info: unit header at 0x0"), "{problem}");
    }
}

#[cfg(test)]
#[path = "dwarf_tests.rs"]
mod built_tests;
