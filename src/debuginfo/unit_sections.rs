//! The sections a unit is parsed from (`.debug_info`, `.debug_abbrev`,
//! `.debug_line`), read only as far as the units parsed so far need.
//!
//! They are most of a debug file, and compressed in distributions' debug
//! packages; symbolizing a frame needs one unit of each. A unit is parsed
//! from prefixes of the three ([`super::inflate`]): its header from
//! `.debug_info` up to its end, its abbreviation table and its line
//! program from prefixes of the others long enough for them to parse.
//! Offsets come from the unit itself, so each prefix is grown until the
//! parse stops running off its end. Every reader gimli hands out for the
//! unit borrows those prefixes, which never change once inflated.
//!
//! What needs a whole section (the list of all units, for references
//! across units and for units `.debug_aranges` leaves out) asks for
//! [`UnitSections::whole`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use gimli::{Abbreviations, AttributeValue, DebugAbbrevOffset, DebugInfoOffset, RunTimeEndian, Unit};
use thiserror::Error;

use super::elf::SectionError;
use super::inflate::{STEP, SectionBytes};
use crate::unwind::cfi::Slice;

type R<'a> = Slice<'a>;

/// Why a unit could not be parsed.
#[derive(Debug, Error)]
pub enum UnitError {
    #[error(transparent)]
    Dwarf(#[from] gimli::Error),
    #[error(transparent)]
    Section(#[from] SectionError),
}

pub struct UnitSections<'a> {
    info: SectionBytes<'a>,
    abbrev: SectionBytes<'a>,
    line: SectionBytes<'a>,
    /// Abbreviation tables by offset (units of a dwz'd or Rust file share them).
    abbreviations: RefCell<HashMap<DebugAbbrevOffset, Arc<Abbreviations>>>,
}

impl<'a> UnitSections<'a> {
    pub fn new(info: SectionBytes<'a>, abbrev: SectionBytes<'a>, line: SectionBytes<'a>) -> Self {
        UnitSections { info, abbrev, line, abbreviations: RefCell::default() }
    }

    /// Where `.debug_info`'s bytes are (see [`SectionBytes::identity`]).
    pub fn identity(&self) -> usize {
        self.info.identity()
    }

    /// The sections of a `Dwarf` that holds them whole.
    pub fn of(dwarf: &gimli::Dwarf<R<'a>>) -> Self {
        let bytes = |section: &R<'a>| SectionBytes::Whole(section.slice());
        Self::new(
            bytes(gimli::Section::reader(&dwarf.debug_info)),
            bytes(gimli::Section::reader(&dwarf.debug_abbrev)),
            bytes(gimli::Section::reader(&dwarf.debug_line)),
        )
    }

    /// The unit at `offset`, parsed with `base`'s other sections.
    pub fn unit(&self, base: &gimli::Dwarf<R<'a>>, offset: DebugInfoOffset) -> Result<Unit<R<'a>>, UnitError> {
        let (header, info) = grown(self.info, offset.0, |r| gimli::DebugInfo::from(r).header_from_offset(offset))?;
        let (abbreviations, abbrev) = self.abbreviations(header.debug_abbrev_offset())?;
        let line = match line_offset(&header, &abbreviations)? {
            Some(at) => {
                let address_size = header.address_size();
                grown(self.line, at.0, |r| gimli::DebugLine::from(r).program(at, address_size, None, None))?.1
            }
            None => Slice::new(&[], RunTimeEndian::Little),
        };
        Ok(Unit::new_with_abbreviations(&with(base, info, abbrev, line), header, abbreviations)?)
    }

    /// `base` with the three sections whole; a section that cannot be had
    /// whole is empty, and the first such is returned too.
    pub fn whole(&self, base: &gimli::Dwarf<R<'a>>) -> (gimli::Dwarf<R<'a>>, Option<SectionError>) {
        let mut problem = None;
        let mut whole = |section: SectionBytes<'a>| {
            let bytes = section.whole().unwrap_or_else(|e| {
                problem.get_or_insert(e);
                &[]
            });
            Slice::new(bytes, RunTimeEndian::Little)
        };
        let dwarf = with(base, whole(self.info), whole(self.abbrev), whole(self.line));
        (dwarf, problem)
    }

    /// The abbreviation table at `offset`, with the prefix it was parsed
    /// from (which holds it; tables parsed earlier hold theirs).
    fn abbreviations(&self, offset: DebugAbbrevOffset) -> Result<(Arc<Abbreviations>, R<'a>), UnitError> {
        let cached = self.abbreviations.borrow().get(&offset).cloned();
        if let Some(table) = cached {
            return Ok((table, Slice::new(self.abbrev.prefix(0)?, RunTimeEndian::Little)));
        }
        let (table, prefix) = grown(self.abbrev, offset.0, |r| gimli::DebugAbbrev::from(r).abbreviations(offset))?;
        let table = Arc::new(table);
        self.abbreviations.borrow_mut().insert(offset, table.clone());
        Ok((table, prefix))
    }
}

/// `parse` run on ever longer prefixes of `section` (from at least
/// `start` plus a step) until it stops running off the prefix's end; its
/// result, with the prefix it came from.
fn grown<'a, T>(
    section: SectionBytes<'a>,
    start: usize,
    parse: impl Fn(R<'a>) -> gimli::Result<T>,
) -> Result<(T, R<'a>), UnitError> {
    let mut want = start.saturating_add(STEP);
    loop {
        let prefix = Slice::new(section.prefix(want)?, RunTimeEndian::Little);
        match parse(prefix) {
            Err(gimli::Error::UnexpectedEof(_)) if prefix.len() < section.len() => {
                want = prefix.len().saturating_add(STEP);
            }
            parsed => return Ok((parsed?, prefix)),
        }
    }
}

/// The unit's `DW_AT_stmt_list`, from its root DIE.
fn line_offset(
    header: &gimli::UnitHeader<R<'_>>,
    abbreviations: &Abbreviations,
) -> gimli::Result<Option<gimli::DebugLineOffset>> {
    let mut cursor = header.entries(abbreviations);
    cursor.next_dfs()?;
    let root = cursor.current().ok_or(gimli::Error::MissingUnitDie)?;
    Ok(match root.attr_value(gimli::DW_AT_stmt_list) {
        Some(AttributeValue::DebugLineRef(offset)) => Some(offset),
        _ => None,
    })
}

/// `base` with these `.debug_info`, `.debug_abbrev` and `.debug_line`.
fn with<'a>(base: &gimli::Dwarf<R<'a>>, info: R<'a>, abbrev: R<'a>, line: R<'a>) -> gimli::Dwarf<R<'a>> {
    gimli::Dwarf {
        debug_abbrev: abbrev.into(),
        debug_addr: base.debug_addr,
        debug_aranges: base.debug_aranges,
        debug_info: info.into(),
        debug_line: line.into(),
        debug_line_str: base.debug_line_str,
        debug_macinfo: base.debug_macinfo,
        debug_macro: base.debug_macro,
        debug_names: base.debug_names,
        debug_str: base.debug_str,
        debug_str_offsets: base.debug_str_offsets,
        debug_types: base.debug_types,
        locations: base.locations,
        ranges: base.ranges,
        file_type: base.file_type,
        sup: base.sup.clone(),
        abbreviations_cache: gimli::AbbreviationsCache::new(),
    }
}
