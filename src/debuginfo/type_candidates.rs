//! Which units may define a type of a given qualified name, told from
//! their raw `.debug_info` bytes without parsing a DIE.
//!
//! Completing a declared type looks its qualified name up among the
//! module's type definitions ([`super::type_index`]). Walking every unit's
//! namespaces and classes for that costs more than the rest of a snapshot
//! on a big Rust or C++ executable, and only a few units can hold the
//! definition: the definition of `a::b::Walk` is a DIE named `Walk` (or
//! one whose `DW_AT_specification` is) inside namespaces or classes named
//! `a` and `b`, so its unit's bytes mention each of those names, as:
//!
//! - an offset into `.debug_str` (`DW_FORM_strp`), `.debug_line_str`
//!   (`DW_FORM_line_strp`) or the supplementary file's `.debug_str`
//!   (`DW_FORM_GNU_strp_alt`, `DW_FORM_strp_sup`), 4 or 8 bytes by the
//!   unit's format: every place the name ends a string there counts
//!   (linkers merge a string into the tail of a longer one);
//! - the string itself, NUL-ended (`DW_FORM_string`);
//! - an index into `.debug_str_offsets` (`DW_FORM_strx*`,
//!   `DW_FORM_GNU_str_index`): a unit whose abbreviations use those forms
//!   for names is kept when its part of the section (from its root's
//!   `DW_AT_str_offsets_base`; the whole section when it has none, as in
//!   a split file) lists one of the name's offsets.
//!
//! A unit whose abbreviations give a name a form this cannot follow
//! (`DW_FORM_indirect`, ...) or a type a `DW_AT_specification` into
//! another unit (where the name is) is kept, as is one whose header or
//! abbreviations do not read, and a name found in too many places to
//! search for does not filter: a false candidate costs time, never a
//! definition. Anonymous namespaces have no name to look for, and only
//! the scopes nearest the type are looked for ([`MAX_COMPONENTS`]).

use std::cell::RefCell;

use gimli::{Reader, RunTimeEndian};
use memchr::memmem;
use rustc_hash::FxHashMap as HashMap;

use super::dwarf::{ANONYMOUS_NAMESPACE, DwarfInfo};
use super::type_index::TypeTag;
use crate::unwind::cfi::Slice;

/// Places a name may be in a string section past which it does not filter.
const MAX_PLACES: usize = 64;

/// Names filtered by at most: the type's and those of the scopes nearest
/// it (each is searched for in every string section, and hostile DWARF
/// can nest scopes without end).
const MAX_COMPONENTS: usize = 8;

/// The units that may define a type named by some scopes and a name.
pub struct NameFilter<'n> {
    components: Vec<&'n str>,
    /// Per DWARF (by identity): where the names are in its sections.
    places: RefCell<HashMap<usize, Vec<Places>>>,
    /// Per DWARF and abbreviation table: how its DIEs name types.
    forms: RefCell<HashMap<(usize, usize), Forms>>,
}

/// Where one name is in a DWARF's string sections.
#[derive(Debug, Default, PartialEq, Eq)]
struct Places {
    /// `name\0`, as `DW_FORM_string` has it.
    inline: Vec<u8>,
    /// Offsets of the name in `.debug_str`, `.debug_line_str` and the
    /// supplementary `.debug_str`.
    strp: Vec<u64>,
    line_strp: Vec<u64>,
    sup: Vec<u64>,
    /// `.debug_str_offsets` lists one of `strp`.
    indexed: bool,
}

/// The `.debug_str_offsets` entries a unit's indexed names may use.
#[derive(Clone, Copy, Debug)]
enum Listed<'s> {
    /// The unit names nothing by index.
    Nothing,
    /// Any of the section's.
    Section,
    /// Its part of the section.
    Entries(&'s [u8]),
}

/// How a unit's abbreviations name things.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Forms {
    /// Some name is an index into `.debug_str_offsets`.
    indexed: bool,
    /// Some name or type specification cannot be filtered.
    unfiltered: bool,
}

impl<'n> NameFilter<'n> {
    /// A filter for the type named `name` inside `scopes` (outermost first).
    pub fn new(scopes: &[&'n str], name: &'n str) -> Self {
        let named = scopes.iter().copied().filter(|s| *s != ANONYMOUS_NAMESPACE).chain([name]);
        let mut components: Vec<&str> = named.rev().take(MAX_COMPONENTS).collect();
        components.reverse();
        NameFilter { components, places: RefCell::default(), forms: RefCell::default() }
    }

    /// Whether the unit whose bytes (header included) are `bytes`, of
    /// `dwarf`, may hold the definition.
    pub fn may_define(&self, dwarf: &DwarfInfo<'_>, bytes: &[u8]) -> bool {
        let endian = gimli::Section::reader(&dwarf.gimli().debug_str).endian();
        let Ok(Some(header)) = gimli::DebugInfo::new(bytes, endian).units().next() else { return true };
        let key = (dwarf.identity(), header.debug_abbrev_offset().0);
        let forms = *self.forms.borrow_mut().entry(key).or_insert_with(|| {
            let table = dwarf.abbrev_bytes().get(key.1..).unwrap_or_default();
            forms(Slice::new(table, endian)).unwrap_or(Forms { indexed: false, unfiltered: true })
        });
        if forms.unfiltered {
            return true;
        }
        let listed = match forms.indexed {
            false => Listed::Nothing,
            true => listed_offsets(dwarf, &header, endian).map_or(Listed::Section, Listed::Entries),
        };
        let mut places = self.places.borrow_mut();
        let places = places.entry(dwarf.identity()).or_insert_with(|| self.places(dwarf));
        let width = header.format().word_size();
        places.iter().all(|p| p.in_unit(bytes, width, endian, listed))
    }

    /// Where each name is in `dwarf`'s sections, the names in too many
    /// places left out, the rarest first.
    fn places(&self, dwarf: &DwarfInfo<'_>) -> Vec<Places> {
        let endian = gimli::Section::reader(&dwarf.gimli().debug_str).endian();
        let sup = dwarf.sup().map_or(&[][..], |sup| section(sup, gimli::SectionId::DebugStr));
        let mut out: Vec<Places> = self
            .components
            .iter()
            .filter_map(|name| {
                let mut inline = name.as_bytes().to_vec();
                inline.push(0);
                let strp = occurrences(section(dwarf, gimli::SectionId::DebugStr), &inline)?;
                let line_strp = occurrences(section(dwarf, gimli::SectionId::DebugLineStr), &inline)?;
                let sup = occurrences(sup, &inline)?;
                let offsets = section(dwarf, gimli::SectionId::DebugStrOffsets);
                // In either format: the units' are not known here.
                let encodings = strp.iter().flat_map(|&o| [4, 8].map(|width| encoded(o, width, endian)));
                let indexed = encodings.flatten().any(|e| contains(offsets, &e));
                Some(Places { inline, strp, line_strp, sup, indexed })
            })
            .collect();
        out.sort_by_key(|p| p.strp.len() + p.line_strp.len() + p.sup.len());
        out
    }
}

impl Places {
    /// Whether a unit's bytes may name this name.
    fn in_unit(&self, bytes: &[u8], width: u8, endian: RunTimeEndian, listed: Listed<'_>) -> bool {
        let offsets = self.strp.iter().chain(&self.line_strp).chain(&self.sup);
        let indexed = match listed {
            Listed::Nothing => false,
            Listed::Section => self.indexed,
            Listed::Entries(entries) => {
                let entries: Vec<&[u8]> = entries.chunks_exact(usize::from(width)).collect();
                let mut strp = self.strp.iter().filter_map(|&o| encoded(o, width, endian));
                strp.any(|e| entries.contains(&e.as_slice()))
            }
        };
        indexed
            || contains(bytes, &self.inline)
            || offsets.filter_map(|&o| encoded(o, width, endian)).any(|e| contains(bytes, &e))
    }
}

/// The bytes of `dwarf`'s `.debug_str` (or `.debug_line_str`, `.debug_str_offsets`).
fn section<'a>(dwarf: &DwarfInfo<'a>, id: gimli::SectionId) -> &'a [u8] {
    match id {
        gimli::SectionId::DebugLineStr => gimli::Section::reader(&dwarf.gimli().debug_line_str).slice(),
        gimli::SectionId::DebugStrOffsets => gimli::Section::reader(&dwarf.gimli().debug_str_offsets).slice(),
        _ => gimli::Section::reader(&dwarf.gimli().debug_str).slice(),
    }
}

/// Where `needle` (a NUL-ended name) ends a string in `section`; none
/// when it is in too many places to filter by.
fn occurrences(section: &[u8], needle: &[u8]) -> Option<Vec<u64>> {
    let mut found = memmem::find_iter(section, needle).map(|at| at as u64);
    let places: Vec<u64> = found.by_ref().take(MAX_PLACES + 1).collect();
    (places.len() <= MAX_PLACES).then_some(places)
}

/// The entries of a unit's part of `.debug_str_offsets`, from its root's
/// `DW_AT_str_offsets_base` (the end of the part's header) to the end the
/// header gives; none when the root has no base or the header does not
/// read.
fn listed_offsets<'a>(
    dwarf: &DwarfInfo<'a>,
    header: &gimli::UnitHeader<gimli::EndianSlice<'_, RunTimeEndian>>,
    endian: RunTimeEndian,
) -> Option<&'a [u8]> {
    let abbrevs = header.abbreviations(&gimli::DebugAbbrev::new(dwarf.abbrev_bytes(), endian)).ok()?;
    let mut entries = header.entries(&abbrevs);
    let root = entries.next_dfs().ok()??;
    let Some(gimli::AttributeValue::DebugStrOffsetsBase(base)) = root.attr_value(gimli::DW_AT_str_offsets_base) else {
        return None;
    };
    part(section(dwarf, gimli::SectionId::DebugStrOffsets), base.0, header.format(), endian)
}

/// The entries of the `.debug_str_offsets` part whose entries start at
/// `base` (after its length, version and padding).
fn part(section: &[u8], base: usize, format: gimli::Format, endian: RunTimeEndian) -> Option<&[u8]> {
    // The length, after 0xffffffff in 64-bit DWARF, counts from its end.
    let (length_at, length_size) = match format {
        gimli::Format::Dwarf32 => (base.checked_sub(8)?, 4),
        gimli::Format::Dwarf64 => (base.checked_sub(12)?, 8),
    };
    let mut length = Slice::new(section.get(length_at..base)?, endian);
    let length = length.read_word(format).ok()?;
    let end = (length_at + length_size).checked_add(length)?;
    section.get(base..end)
}

/// `offset` as a `width`-byte field (4 in 32-bit DWARF, 8 in 64-bit).
fn encoded(offset: u64, width: u8, endian: RunTimeEndian) -> Option<Vec<u8>> {
    let bytes = match endian {
        RunTimeEndian::Little => offset.to_le_bytes(),
        RunTimeEndian::Big => offset.to_be_bytes(),
    };
    match (width, endian) {
        (8, _) => Some(bytes.to_vec()),
        (_, RunTimeEndian::Little) => u32::try_from(offset).ok().map(|_| bytes[..4].to_vec()),
        (_, RunTimeEndian::Big) => u32::try_from(offset).ok().map(|_| bytes[4..].to_vec()),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memmem::find(haystack, needle).is_some()
}

/// How the abbreviation table at the start of `table` names things; an
/// error when it does not read.
fn forms(mut table: Slice<'_>) -> gimli::Result<Forms> {
    let mut out = Forms::default();
    loop {
        if table.read_uleb128()? == 0 {
            return Ok(out);
        }
        let tag = gimli::DwTag(u16::try_from(table.read_uleb128()?).unwrap_or(0));
        let is_type = TypeTag::of(tag).is_some();
        table.read_u8()?; // children
        loop {
            let (attr, form) = (table.read_uleb128()?, table.read_uleb128()?);
            if (attr, form) == (0, 0) {
                break;
            }
            let form = gimli::DwForm(u16::try_from(form).unwrap_or(0));
            if form == gimli::DW_FORM_implicit_const {
                table.read_sleb128()?;
            }
            if attr == u64::from(gimli::DW_AT_name.0) {
                match form {
                    gimli::DW_FORM_strp
                    | gimli::DW_FORM_line_strp
                    | gimli::DW_FORM_string
                    | gimli::DW_FORM_GNU_strp_alt
                    | gimli::DW_FORM_strp_sup => {}
                    gimli::DW_FORM_strx
                    | gimli::DW_FORM_strx1
                    | gimli::DW_FORM_strx2
                    | gimli::DW_FORM_strx3
                    | gimli::DW_FORM_strx4
                    | gimli::DW_FORM_GNU_str_index => out.indexed = true,
                    _ => out.unfiltered = true,
                }
            }
            // A definition named by a declaration in another unit.
            if is_type && attr == u64::from(gimli::DW_AT_specification.0) {
                let local = matches!(
                    form,
                    gimli::DW_FORM_ref1
                        | gimli::DW_FORM_ref2
                        | gimli::DW_FORM_ref4
                        | gimli::DW_FORM_ref8
                        | gimli::DW_FORM_ref_udata
                );
                out.unfiltered |= !local;
            }
        }
    }
}

#[cfg(test)]
#[path = "type_candidates_tests.rs"]
mod tests;
