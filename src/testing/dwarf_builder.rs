//! DWARF made in memory for unit tests: units of DIEs, their line
//! programs, address ranges, location expressions and `.debug_aranges`,
//! written with gimli's `write` module and read back as the
//! [`DwarfInfo`] every DWARF reader of ptsnap takes. Tests then need no
//! compiler, no ELF file and no process.
//!
//! Tests name DIEs by the [`UnitEntryId`]s the builder gives out; once
//! written, [`Built::die`] finds a DIE of the read side by that id (gimli
//! writes a unit's DIEs depth-first in the order they were added, which
//! is the order a reader meets them). An id is only unique within its
//! unit in a release build (gimli checks which unit an id is of in debug
//! builds only), so DIEs of tests with several units are named with
//! their unit too ([`Built::die_in`], [`Built::offset_in`]).

use std::collections::HashMap;

use gimli::write::{
    Address, AttributeValue, DebugInfoRef, EndianVec, Expression, FileId, LineProgram, LineString, Range, RangeList,
    Sections, UnitEntryId, UnitId,
};
use gimli::{
    DebugInfoOffset, DwAt, DwLang, DwTag, Encoding, Format, LineEncoding, RunTimeEndian, SectionId, UnitOffset,
};

use crate::debuginfo::dwarf::{Die, DwarfInfo};
use crate::unwind::cfi::Slice;

/// Where every unit's code lives unless a test says otherwise.
pub const SOURCE_DIR: &str = "/src";

/// Units of DIEs being built.
pub struct DwarfBuilder {
    dwarf: gimli::write::Dwarf,
    /// `.debug_aranges` entries: unit, start, end.
    aranges: Vec<(UnitId, u64, u64)>,
}

impl DwarfBuilder {
    pub fn new() -> Self {
        DwarfBuilder { dwarf: gimli::write::Dwarf::new(), aranges: Vec::new() }
    }

    /// A compile unit of DWARF `version` for 64-bit x86 in `language`,
    /// named `file` in [`SOURCE_DIR`], whose line program knows `file`.
    pub fn unit(&mut self, version: u16, language: DwLang, file: &str) -> UnitId {
        let encoding = Encoding { format: Format::Dwarf32, version, address_size: 8 };
        let dir = LineString::String(SOURCE_DIR.into());
        let name = LineString::String(file.into());
        let program = LineProgram::new(encoding, LineEncoding::default(), dir, None, name, None);
        let id = self.dwarf.units.add(gimli::write::Unit::new(encoding, program));
        let root = self.root(id);
        self.set(id, root, gimli::DW_AT_name, string(file));
        self.set(id, root, gimli::DW_AT_comp_dir, string(SOURCE_DIR));
        self.set(id, root, gimli::DW_AT_language, AttributeValue::Language(language));
        if version < 5 {
            // DWARF 5 names the primary file 0 by itself; earlier versions
            // count files from 1 and name none implicitly.
            self.file(id, file);
        }
        id
    }

    pub fn root(&self, unit: UnitId) -> UnitEntryId {
        self.dwarf.units.get(unit).root()
    }

    /// A DIE under `parent` with the attributes given.
    pub fn add(
        &mut self,
        unit: UnitId,
        parent: UnitEntryId,
        tag: DwTag,
        attrs: &[(DwAt, AttributeValue)],
    ) -> UnitEntryId {
        let u = self.dwarf.units.get_mut(unit);
        let id = u.add(parent, tag);
        for (attr, value) in attrs {
            u.get_mut(id).set(*attr, value.clone());
        }
        id
    }

    pub fn set(&mut self, unit: UnitId, entry: UnitEntryId, attr: DwAt, value: AttributeValue) {
        self.dwarf.units.get_mut(unit).get_mut(entry).set(attr, value);
    }

    /// A string attribute in `.debug_str` (`DW_FORM_strp`).
    pub fn strp(&mut self, s: &str) -> AttributeValue {
        AttributeValue::StringRef(self.dwarf.strings.add(s))
    }

    /// `[begin, end)` as `DW_AT_low_pc` and a `DW_AT_high_pc` length.
    pub fn code(&mut self, unit: UnitId, entry: UnitEntryId, begin: u64, end: u64) {
        self.set(unit, entry, gimli::DW_AT_low_pc, AttributeValue::Address(Address::Constant(begin)));
        self.set(unit, entry, gimli::DW_AT_high_pc, AttributeValue::Udata(end - begin));
    }

    /// `DW_AT_ranges` listing `[begin, end)` ranges.
    pub fn ranges(&mut self, unit: UnitId, entry: UnitEntryId, ranges: &[(u64, u64)]) {
        let list = ranges
            .iter()
            .map(|&(begin, end)| Range::StartEnd { begin: Address::Constant(begin), end: Address::Constant(end) })
            .collect();
        let id = self.dwarf.units.get_mut(unit).ranges.add(RangeList(list));
        self.set(unit, entry, gimli::DW_AT_ranges, AttributeValue::RangeListRef(id));
    }

    /// A `.debug_aranges` entry saying `[begin, end)` is `unit`'s.
    pub fn arange(&mut self, unit: UnitId, begin: u64, end: u64) {
        self.aranges.push((unit, begin, end));
    }

    /// A file of the unit's line program (for rows and `DW_AT_call_file`).
    pub fn file(&mut self, unit: UnitId, name: &str) -> FileId {
        let program = &mut self.dwarf.units.get_mut(unit).line_program;
        let dir = program.default_directory();
        program.add_file(LineString::String(name.into()), dir, None)
    }

    /// One sequence of line rows `(address, file, line)`, ending at `end`.
    pub fn lines(&mut self, unit: UnitId, rows: &[(u64, FileId, u64)], end: u64) {
        let program = &mut self.dwarf.units.get_mut(unit).line_program;
        let start = rows.first().map_or(end, |r| r.0);
        program.begin_sequence(Some(Address::Constant(start)));
        for &(address, file, line) in rows {
            let row = program.row();
            row.address_offset = address - start;
            row.file = file;
            row.line = line;
            program.generate_row();
        }
        program.end_sequence(end - start);
    }

    /// A base type (`DW_TAG_base_type`) under the unit's root.
    pub fn base_type(&mut self, unit: UnitId, name: &str, size: u64, encoding: gimli::DwAte) -> UnitEntryId {
        let root = self.root(unit);
        let attrs = [
            (gimli::DW_AT_name, string(name)),
            (gimli::DW_AT_byte_size, AttributeValue::Udata(size)),
            (gimli::DW_AT_encoding, AttributeValue::Encoding(encoding)),
        ];
        self.add(unit, root, gimli::DW_TAG_base_type, &attrs)
    }

    /// A struct type (`DW_TAG_structure_type`) named `name` of `size`
    /// bytes under the unit's root.
    pub fn structure(&mut self, unit: UnitId, name: &str, size: u64) -> UnitEntryId {
        let root = self.root(unit);
        let attrs = [(gimli::DW_AT_name, string(name)), (gimli::DW_AT_byte_size, uconst(size))];
        self.add(unit, root, gimli::DW_TAG_structure_type, &attrs)
    }

    /// A pointer type (`DW_TAG_pointer_type`) to `target`.
    pub fn pointer_to(&mut self, unit: UnitId, target: UnitEntryId) -> UnitEntryId {
        let root = self.root(unit);
        let p = self.add(unit, root, gimli::DW_TAG_pointer_type, &[(gimli::DW_AT_byte_size, uconst(8))]);
        self.set(unit, p, gimli::DW_AT_type, unit_ref(target));
        p
    }

    /// Adds to `owner` the member `name` of type `ty` at `offset`.
    pub fn member(&mut self, unit: UnitId, owner: UnitEntryId, name: &str, ty: UnitEntryId, offset: u64) {
        let m = self.add(unit, owner, gimli::DW_TAG_member, &[(gimli::DW_AT_name, string(name))]);
        self.set(unit, m, gimli::DW_AT_type, unit_ref(ty));
        self.set(unit, m, gimli::DW_AT_data_member_location, uconst(offset));
    }

    /// Adds to `owner` the template type parameter `name`, `ty`, as rustc
    /// writes them before the members.
    pub fn template_type(&mut self, unit: UnitId, owner: UnitEntryId, name: &str, ty: UnitEntryId) {
        let t = self.add(unit, owner, gimli::DW_TAG_template_type_parameter, &[(gimli::DW_AT_name, string(name))]);
        self.set(unit, t, gimli::DW_AT_type, unit_ref(ty));
    }

    /// Writes every section and reads them back.
    pub fn finish(mut self) -> Built {
        let mut sections = Sections::new(EndianVec::new(RunTimeEndian::Little));
        self.dwarf.write(&mut sections).expect("the test's DWARF is writable");
        let mut data: HashMap<SectionId, &'static [u8]> = HashMap::new();
        sections
            .for_each(|id, section| -> Result<(), ()> {
                data.insert(id, section.slice().to_vec().leak());
                Ok(())
            })
            .unwrap();
        let mut built = Built { sections: data, entries: HashMap::new() };
        built.entries = built.entry_offsets(&self.dwarf);
        let aranges = self.write_aranges(&built.entries);
        built.sections.insert(SectionId::DebugAranges, aranges.leak());
        built
    }

    fn units_in_order(&self) -> Vec<UnitId> {
        (0..self.dwarf.units.count()).map(|i| self.dwarf.units.id(i)).collect()
    }

    fn write_aranges(&self, entries: &HashMap<Entry, (DebugInfoOffset, UnitOffset)>) -> Vec<u8> {
        let mut out = Vec::new();
        for unit in self.units_in_order() {
            let ranges: Vec<(u64, u64)> =
                self.aranges.iter().filter(|(u, ..)| *u == unit).map(|&(_, b, e)| (b, e - b)).collect();
            if ranges.is_empty() {
                continue;
            }
            let (offset, _) = entries[&(unit, self.root(unit))];
            // Version 2, the unit's offset, 8-byte addresses, no segments,
            // padding to a multiple of twice the address size.
            let mut body = 2u16.to_le_bytes().to_vec();
            body.extend((offset.0 as u32).to_le_bytes());
            body.extend([8, 0, 0, 0, 0, 0]);
            for (begin, length) in ranges.into_iter().chain([(0, 0)]) {
                body.extend(begin.to_le_bytes());
                body.extend(length.to_le_bytes());
            }
            out.extend((body.len() as u32).to_le_bytes());
            out.extend(body);
        }
        out
    }
}

impl Default for DwarfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// A DIE the builder made: its unit, and its id there.
type Entry = (UnitId, UnitEntryId);

/// Written DWARF: its sections, and where each DIE the builder made is.
pub struct Built {
    sections: HashMap<SectionId, &'static [u8]>,
    entries: HashMap<Entry, (DebugInfoOffset, UnitOffset)>,
}

impl Built {
    fn section(&self, id: SectionId) -> Slice<'static> {
        Slice::new(self.sections.get(&id).copied().unwrap_or(&[]), RunTimeEndian::Little)
    }

    fn gimli(&self) -> gimli::Dwarf<Slice<'static>> {
        gimli::Dwarf::load(|id| -> Result<_, ()> { Ok(self.section(id)) }).unwrap()
    }

    /// The DWARF as a module's reader sees it (no split files, no
    /// supplementary file).
    pub fn info(&self) -> DwarfInfo<'static> {
        let (loc, loclists) = (self.section(SectionId::DebugLoc), self.section(SectionId::DebugLocLists));
        DwarfInfo::new(self.gimli(), None, Box::new(move || gimli::LocationLists::new(loc.into(), loclists.into())))
    }

    /// The DIE the builder gave `entry` for, in DWARF of one unit.
    pub fn die<'d>(&self, info: &'d DwarfInfo<'static>, entry: UnitEntryId) -> Die<'d, 'static> {
        let (unit, offset) = self.offset(entry);
        info.die(unit, offset).expect("a DIE of the test's DWARF")
    }

    /// The DIE the builder gave `entry` for in `unit`.
    pub fn die_in<'d>(&self, info: &'d DwarfInfo<'static>, unit: UnitId, entry: UnitEntryId) -> Die<'d, 'static> {
        let (unit, offset) = self.offset_in(unit, entry);
        info.die(unit, offset).expect("a DIE of the test's DWARF")
    }

    /// The unit and unit offset of a DIE the builder made, in DWARF of
    /// one unit (with several, an id may be any unit's: see the module
    /// doc).
    pub fn offset(&self, entry: UnitEntryId) -> (DebugInfoOffset, UnitOffset) {
        let mut of_entry = self.entries.iter().filter(|((_, e), _)| *e == entry).map(|(_, &at)| at);
        let at = of_entry.next().expect("a DIE the builder made");
        assert!(
            of_entry.next().is_none(),
            "the test's DWARF has several units: name its DIEs with offset_in or die_in"
        );
        at
    }

    /// The unit and unit offset of the DIE `entry` of `unit`.
    pub fn offset_in(&self, unit: UnitId, entry: UnitEntryId) -> (DebugInfoOffset, UnitOffset) {
        self.entries[&(unit, entry)]
    }

    /// The read side's offsets of every DIE written, found by walking each
    /// unit's tree in the order gimli writes it.
    fn entry_offsets(&self, written: &gimli::write::Dwarf) -> HashMap<Entry, (DebugInfoOffset, UnitOffset)> {
        let dwarf = self.gimli();
        let mut headers = dwarf.units();
        let mut out = HashMap::new();
        for index in 0..written.units.count() {
            let id = written.units.id(index);
            let unit = written.units.get(id);
            let header = headers.next().unwrap().expect("every written unit reads back");
            let start = header.debug_info_offset().unwrap();
            let read = dwarf.unit(header).unwrap();
            let mut entries = read.entries();
            let mut order = vec![unit.root()];
            let mut next = 0;
            while next < order.len() {
                // Depth-first: an entry's children come right after it.
                let children: Vec<UnitEntryId> = unit.get(order[next]).children().copied().collect();
                order.splice(next + 1..next + 1, children);
                let read_entry = entries.next_dfs().unwrap().expect("as many DIEs read as written");
                assert_eq!(read_entry.tag(), unit.get(order[next]).tag());
                out.insert((id, order[next]), (start, read_entry.offset()));
                next += 1;
            }
        }
        out
    }
}

/// A string attribute (`DW_FORM_string`).
pub fn string(s: &str) -> AttributeValue {
    AttributeValue::String(s.as_bytes().to_vec())
}

/// A reference to a DIE of the same unit.
pub fn unit_ref(entry: UnitEntryId) -> AttributeValue {
    AttributeValue::UnitRef(entry)
}

/// A reference to a DIE of any unit written together.
pub fn info_ref(unit: UnitId, entry: UnitEntryId) -> AttributeValue {
    AttributeValue::DebugInfoRef(DebugInfoRef::Entry(unit, entry))
}

/// An unsigned constant (`DW_FORM_udata`): sizes, bounds, lines.
pub fn uconst(n: u64) -> AttributeValue {
    AttributeValue::Udata(n)
}

pub fn flag() -> AttributeValue {
    AttributeValue::FlagPresent
}

/// A location expression from raw bytecode (`DW_OP_*` bytes).
pub fn exprloc(bytecode: &[u8]) -> AttributeValue {
    AttributeValue::Exprloc(Expression::raw(bytecode.to_vec()))
}
