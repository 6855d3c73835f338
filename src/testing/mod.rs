//! Fixtures shared by the unit tests of the DWARF readers: DWARF built in
//! memory ([`dwarf_builder`]) and the frames, memory and module set the
//! variable reader takes ([`frames`]).

pub mod dwarf_builder;
pub mod frames;
