//! Variant parts built in memory and read from bytes: the variant each
//! kind of discriminant selects (a value, a signed value in a sized form,
//! a list of values and ranges, the default, none), and corrupt DWARF (no
//! discriminant, one outside the value or of no integer type) said on the
//! value, never a panic.

use gimli::write::{AttributeValue, UnitEntryId, UnitId};

use crate::memory::BufferMemory;
use crate::snapshot::{Value, Variable};
use crate::testing::dwarf_builder::*;
use crate::testing::frames::{KnownFunctions, no_modules};
use crate::variables::{Extractor, Limits};

/// Where the tests' values are.
const AT: u64 = 0x1000;

/// A Rust unit with `u8`, `i8` and `u32`, in which enums are built.
struct Unit {
    b: DwarfBuilder,
    u: UnitId,
    u8: UnitEntryId,
    i8: UnitEntryId,
    u32: UnitEntryId,
}

/// How the variant part names its discriminant.
enum Discr {
    /// A member of the variant part of this type at this offset.
    Member(UnitEntryId, u64),
    /// `DW_AT_discr` referring to this DIE.
    Ref(UnitEntryId),
    /// No `DW_AT_discr`.
    None,
}

impl Unit {
    fn new() -> Self {
        let mut b = DwarfBuilder::new();
        let u = b.unit(4, gimli::DW_LANG_Rust, "enums.rs");
        let u8 = b.base_type(u, "u8", 1, gimli::DW_ATE_unsigned);
        let i8 = b.base_type(u, "i8", 1, gimli::DW_ATE_signed);
        let u32 = b.base_type(u, "u32", 4, gimli::DW_ATE_unsigned);
        Unit { b, u, u8, i8, u32 }
    }

    /// `enum E` of 8 bytes: each variant named, selected by the attribute
    /// given (none: the default), with one field `__0: u32` at offset 4.
    fn enumeration(&mut self, discr: Discr, variants: &[(&str, Option<(gimli::DwAt, AttributeValue)>)]) -> UnitEntryId {
        let (b, u) = (&mut self.b, self.u);
        let root = b.root(u);
        let attrs = [(gimli::DW_AT_name, string("E")), (gimli::DW_AT_byte_size, uconst(8))];
        let e = b.add(u, root, gimli::DW_TAG_structure_type, &attrs);
        let part = b.add(u, e, gimli::DW_TAG_variant_part, &[]);
        let discr = match discr {
            Discr::Member(ty, offset) => {
                let attrs = [(gimli::DW_AT_data_member_location, uconst(offset)), (gimli::DW_AT_artificial, flag())];
                let member = b.add(u, part, gimli::DW_TAG_member, &attrs);
                b.set(u, member, gimli::DW_AT_type, unit_ref(ty));
                Some(member)
            }
            Discr::Ref(die) => Some(die),
            Discr::None => None,
        };
        if let Some(discr) = discr {
            b.set(u, part, gimli::DW_AT_discr, unit_ref(discr));
        }
        for (name, selector) in variants {
            let attrs: Vec<_> = selector.iter().cloned().collect();
            let variant = b.add(u, part, gimli::DW_TAG_variant, &attrs);
            let attrs = [(gimli::DW_AT_name, string(name)), (gimli::DW_AT_byte_size, uconst(8))];
            let ty = b.add(u, e, gimli::DW_TAG_structure_type, &attrs);
            let field = b.add(u, ty, gimli::DW_TAG_member, &[(gimli::DW_AT_name, string("__0"))]);
            b.set(u, field, gimli::DW_AT_type, unit_ref(self.u32));
            b.set(u, field, gimli::DW_AT_data_member_location, uconst(4));
            let member = b.add(u, variant, gimli::DW_TAG_member, &[(gimli::DW_AT_name, string(name))]);
            b.set(u, member, gimli::DW_AT_type, unit_ref(ty));
            b.set(u, member, gimli::DW_AT_data_member_location, uconst(0));
        }
        e
    }

    /// The value of `ty` over `bytes`, as the snapshot shows it.
    fn read(self, ty: UnitEntryId, bytes: &[u8]) -> Variable {
        let built = self.b.finish();
        let info = built.info();
        let die = built.die(&info, ty);
        let mut memory = BufferMemory::new();
        memory.add(AT, bytes.to_vec());
        Extractor::new(Limits::default(), no_modules()).read_typed(&memory, "e", &die, AT, &KnownFunctions(Vec::new()))
    }
}

fn value(n: u8) -> Option<(gimli::DwAt, AttributeValue)> {
    Some((gimli::DW_AT_discr_value, AttributeValue::Data1(n)))
}

/// The active variant's name and its field, or the error.
fn shown(v: &Variable) -> Result<(String, Value), String> {
    if let Some(e) = &v.error {
        assert!(v.members.is_empty(), "no variant with an error: {v:?}");
        return Err(e.to_string());
    }
    assert_eq!(v.members.len(), 1, "{v:?}");
    let variant = &v.members[0];
    assert_eq!(Some(variant.name.as_str()), v.symbol.as_deref());
    Ok((variant.name.clone(), variant.members[0].value.clone()))
}

fn bytes(discr: u8) -> [u8; 8] {
    [discr, 0, 0, 0, 7, 0, 0, 0]
}

#[test]
fn a_discriminant_value_selects_its_variant_or_none() {
    for (discr, expected) in [
        (0, Ok(("A".into(), Value::Int(7)))),
        (1, Ok(("B".into(), Value::Int(7)))),
        (9, Err("the discriminant 9 matches no variant".to_string())),
    ] {
        let mut t = Unit::new();
        let e = t.enumeration(Discr::Member(t.u8, 0), &[("A", value(0)), ("B", value(1))]);
        assert_eq!(shown(&t.read(e, &bytes(discr))), expected, "discriminant {discr}");
    }
}

#[test]
fn the_default_variant_is_chosen_when_no_other_is() {
    // A niche: `None` is 0, `Some` anything else.
    for (discr, expected) in [(0, "None"), (1, "Some"), (0xff, "Some")] {
        let mut t = Unit::new();
        let e = t.enumeration(Discr::Member(t.u8, 0), &[("None", value(0)), ("Some", None)]);
        assert_eq!(shown(&t.read(e, &bytes(discr))).unwrap().0, expected, "discriminant {discr}");
    }
}

#[test]
fn a_signed_discriminant_matches_its_sized_form() {
    // rustc writes `#[repr(i8)]`'s -5 as DW_FORM_data1 0xfb.
    let mut t = Unit::new();
    let e = t.enumeration(Discr::Member(t.i8, 0), &[("Warm", value(3)), ("Cold", value(0xfb))]);
    assert_eq!(shown(&t.read(e, &bytes(0xfb))).unwrap().0, "Cold");
    let mut t = Unit::new();
    let sdata = Some((gimli::DW_AT_discr_value, AttributeValue::Sdata(-5)));
    let e = t.enumeration(Discr::Member(t.i8, 0), &[("Warm", value(3)), ("Cold", sdata)]);
    assert_eq!(shown(&t.read(e, &bytes(0xfb))).unwrap().0, "Cold");
}

#[test]
fn a_discriminant_list_selects_by_labels_and_ranges() {
    let list = [gimli::DW_DSC_label.0, 5, gimli::DW_DSC_range.0, 10, 20];
    for (discr, expected) in [(5, "Listed"), (10, "Listed"), (20, "Listed"), (21, "Other"), (7, "Other")] {
        let mut t = Unit::new();
        let listed = Some((gimli::DW_AT_discr_list, AttributeValue::Block(list.to_vec())));
        let e = t.enumeration(Discr::Member(t.u8, 0), &[("Listed", listed), ("Other", None)]);
        assert_eq!(shown(&t.read(e, &bytes(discr))).unwrap().0, expected, "discriminant {discr}");
    }
    // Signed: -3 ..= -1 (SLEB128 0x7d, 0x7f); a list cut short selects nothing.
    for (list, discr, expected) in
        [(vec![gimli::DW_DSC_range.0, 0x7d, 0x7f], 0xfe, "Listed"), (vec![1, 0x7d], 0xfe, "Other")]
    {
        let mut t = Unit::new();
        let listed = Some((gimli::DW_AT_discr_list, AttributeValue::Block(list)));
        let e = t.enumeration(Discr::Member(t.i8, 0), &[("Listed", listed), ("Other", None)]);
        assert_eq!(shown(&t.read(e, &bytes(discr))).unwrap().0, expected);
    }
}

#[test]
fn a_part_without_a_discriminant_has_one_variant_or_an_error() {
    let mut t = Unit::new();
    let e = t.enumeration(Discr::None, &[("Only", None)]);
    assert_eq!(shown(&t.read(e, &bytes(3))), Ok(("Only".into(), Value::Int(7))));
    let mut t = Unit::new();
    let e = t.enumeration(Discr::None, &[("A", value(0)), ("B", value(1))]);
    assert_eq!(shown(&t.read(e, &bytes(0))), Err("the variant part has no discriminant member (corrupt DWARF)".into()));
}

#[test]
fn corrupt_discriminants_are_errors_on_the_value() {
    let outside = "the discriminant lies outside the value (corrupt DWARF)";
    let not_integer = "the discriminant is not an integer of 1 to 16 bytes (corrupt DWARF)";
    // At offset 100 of an 8-byte value, and at one that wraps.
    for offset in [100, 7 + (1 << 20), u64::MAX] {
        let mut t = Unit::new();
        let e = t.enumeration(Discr::Member(t.u32, offset), &[("A", value(0))]);
        assert_eq!(shown(&t.read(e, &bytes(0))), Err(outside.into()), "offset {offset}");
    }
    // Of a struct type (the enum itself), and of no type.
    let mut t = Unit::new();
    let root = t.b.root(t.u);
    let e = t.enumeration(Discr::None, &[("A", value(0))]);
    let untyped = t.b.add(t.u, root, gimli::DW_TAG_member, &[(gimli::DW_AT_data_member_location, uconst(0))]);
    let self_typed = t.enumeration(Discr::Member(e, 0), &[("A", value(0))]);
    let no_type = t.enumeration(Discr::Ref(untyped), &[("A", value(0))]);
    let not_a_member = t.enumeration(Discr::Ref(t.u8), &[("A", value(0)), ("B", value(1))]);
    let built = t.b.finish();
    let info = built.info();
    let mut memory = BufferMemory::new();
    memory.add(AT, bytes(0).to_vec());
    let extractor = Extractor::new(Limits::default(), no_modules());
    let read = |ty| extractor.read_typed(&memory, "e", &built.die(&info, ty), AT, &KnownFunctions(Vec::new()));
    assert_eq!(shown(&read(self_typed)), Err(not_integer.into()));
    assert_eq!(shown(&read(no_type)), Err(not_integer.into()));
    assert_eq!(shown(&read(not_a_member)), Err("the variant part has no discriminant member (corrupt DWARF)".into()));
}

#[test]
fn an_unreadable_discriminant_leaves_the_value_unavailable() {
    let mut t = Unit::new();
    let e = t.enumeration(Discr::Member(t.u8, 0), &[("A", value(0))]);
    // Only 4 of the 8 bytes are mapped: the value cannot be held or read.
    let v = t.read(e, &[0, 0, 0, 0]);
    assert_eq!(v.location, crate::snapshot::ValueLocation::Unavailable, "{v:?}");
    assert!(v.members.is_empty() && v.symbol.is_none(), "{v:?}");
}
