//! Variant parts (`DW_TAG_variant_part`): a struct whose layout depends
//! on a discriminant, which is how rustc describes every Rust enum that
//! carries data (`Option<T>`, `Result<T, E>`, `enum Shape { Circle(f64),
//! .. }`), niche-encoded ones included (`Option<&T>`, whose discriminant
//! is the pointer itself).
//!
//! The discriminant is a member (`DW_AT_discr`) read like any other; each
//! `DW_TAG_variant` says which values select it (`DW_AT_discr_value`, or
//! a `DW_AT_discr_list` of values and ranges), and one without either is
//! the default, chosen when no other matches (rustc's niche-encoded
//! `Some`). rustc gives every variant one member, named by the variant
//! (`Some`), whose type holds the variant's fields (`__0`, or named).
//!
//! Parsing here only records what the DWARF says; corrupt DWARF (a
//! variant part without a discriminant, a discriminant that is no
//! member or lies outside the struct) is found when a value is read,
//! and said there.

use gimli::AttributeValue;
use thiserror::Error;

use super::types::{Member, TypeId, member, members};
use crate::unwind::cfi::Slice;

/// A struct's variant part.
#[derive(Clone)]
pub struct VariantPart<'d, 'a> {
    /// The member holding the discriminant; None when `DW_AT_discr` is
    /// missing or names no member.
    pub discriminant: Option<Member<'d, 'a>>,
    pub variants: Vec<Variant<'d, 'a>>,
}

/// One variant: the discriminant values that select it, and its members.
#[derive(Clone)]
pub struct Variant<'d, 'a> {
    pub selector: Selector<'a>,
    pub members: Vec<Member<'d, 'a>>,
}

/// The discriminant values that select a variant.
#[derive(Clone)]
pub enum Selector<'a> {
    /// `DW_AT_discr_value`: one value, as DWARF encodes it.
    Value(Constant),
    /// `DW_AT_discr_list`: labels and ranges, LEB128-encoded signed or
    /// unsigned as the discriminant's type is.
    List(Slice<'a>),
    /// Neither: chosen when no other variant is.
    Default,
    /// A value or list in a form that cannot be read (corrupt DWARF):
    /// selects nothing, rather than everything.
    Unreadable,
}

/// A constant whose signedness is its form's (`DW_FORM_sdata`) or, for
/// the sized forms, the discriminant type's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constant {
    Signed(i128),
    Bits(u128),
}

/// Why the active variant cannot be told.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum VariantError {
    #[error("the variant part has no discriminant member (corrupt DWARF)")]
    NoDiscriminant,
    #[error("the discriminant is not an integer of 1 to 16 bytes (corrupt DWARF)")]
    BadDiscriminantType,
    #[error("the discriminant lies outside the value (corrupt DWARF)")]
    DiscriminantOutside,
    #[error("the discriminant {0} matches no variant")]
    NoVariant(i128),
}

/// A discriminant as read: its value, sign-extended when its type is
/// signed, and its size in bytes.
#[derive(Clone, Copy, Debug)]
pub struct Discriminant {
    pub value: i128,
    pub size: u64,
    pub signed: bool,
}

impl<'d, 'a> VariantPart<'d, 'a> {
    /// The first variant part among a struct's children, if any.
    pub fn of(children: &[(gimli::DwTag, TypeId<'d, 'a>)]) -> Option<Self> {
        let (_, part) = children.iter().find(|(tag, _)| *tag == gimli::DW_TAG_variant_part)?;
        let discriminant = part.follow(gimli::DW_AT_discr).and_then(|d| member(&d));
        let variants = super::types::children(part)
            .into_iter()
            .filter(|(tag, _)| *tag == gimli::DW_TAG_variant)
            .map(|(_, v)| Variant { selector: selector(&v), members: members(&super::types::children(&v)) })
            .collect();
        Some(VariantPart { discriminant, variants })
    }

    /// The variant a discriminant selects: the first whose values hold
    /// it, else the default one.
    pub fn active(&self, d: Discriminant) -> Result<&Variant<'d, 'a>, VariantError> {
        let chosen = self.variants.iter().find(|v| v.selector.selects(d));
        let default = || self.variants.iter().find(|v| matches!(v.selector, Selector::Default));
        chosen.or_else(default).ok_or(VariantError::NoVariant(d.value))
    }

    /// The only variant of a part without a discriminant (rustc's enum of
    /// one variant); more than one cannot be told apart.
    pub fn sole(&self) -> Result<&Variant<'d, 'a>, VariantError> {
        match &self.variants[..] {
            [only] => Ok(only),
            _ => Err(VariantError::NoDiscriminant),
        }
    }
}

impl Variant<'_, '_> {
    /// The variant's name: rustc's variants have one member, named so.
    pub fn name(&self) -> Option<&str> {
        match &self.members[..] {
            [only] => only.name.as_deref(),
            _ => None,
        }
    }
}

impl Selector<'_> {
    fn selects(&self, d: Discriminant) -> bool {
        match self {
            Selector::Value(c) => c.bits(d.size) == Constant::Signed(d.value).bits(d.size),
            Selector::List(list) => list_selects(*list, d),
            Selector::Default | Selector::Unreadable => false,
        }
    }
}

impl Constant {
    /// The constant's low `size` bytes, as the discriminant's bits are
    /// compared: a `DW_FORM_data1` 0xff selects an `i8` discriminant -1.
    fn bits(self, size: u64) -> u128 {
        let raw = match self {
            Constant::Signed(v) => v as u128,
            Constant::Bits(v) => v,
        };
        let mask = 1u128.checked_shl(size.saturating_mul(8) as u32).map_or(!0, |m| m - 1);
        raw & mask
    }
}

/// `DW_DSC_label` and `DW_DSC_range` entries, read until one holds `d` or
/// the block ends (or is cut short: corrupt DWARF selects nothing more).
fn list_selects(mut list: Slice<'_>, d: Discriminant) -> bool {
    use gimli::Reader;
    let value = |list: &mut Slice<'_>| -> Option<i128> {
        if d.signed { list.read_sleb128().ok().map(i128::from) } else { list.read_uleb128().ok().map(i128::from) }
    };
    while let Ok(kind) = list.read_u8() {
        let holds = match gimli::DwDsc(kind) {
            gimli::DW_DSC_label => value(&mut list).map(|v| v == d.value),
            gimli::DW_DSC_range => value(&mut list).zip(value(&mut list)).map(|(lo, hi)| (lo..=hi).contains(&d.value)),
            _ => None,
        };
        match holds {
            Some(true) => return true,
            Some(false) => {}
            None => return false,
        }
    }
    false
}

fn selector<'a>(variant: &TypeId<'_, 'a>) -> Selector<'a> {
    let Some(entry) = variant.entry() else { return Selector::Default };
    if let Some(value) = entry.attr_value(gimli::DW_AT_discr_value) {
        return match value {
            AttributeValue::Sdata(v) => Selector::Value(Constant::Signed(v.into())),
            // DW_FORM_data16 (a 128-bit discriminant).
            AttributeValue::Block(b) => match <[u8; 16]>::try_from(b.slice()) {
                Ok(bytes) => Selector::Value(Constant::Bits(u128::from_le_bytes(bytes))),
                Err(_) => Selector::Unreadable,
            },
            v => v.udata_value().map_or(Selector::Unreadable, |u| Selector::Value(Constant::Bits(u.into()))),
        };
    }
    match entry.attr_value(gimli::DW_AT_discr_list) {
        Some(AttributeValue::Block(list)) => Selector::List(list),
        Some(_) => Selector::Unreadable,
        None => Selector::Default,
    }
}

#[cfg(test)]
#[path = "variants_tests.rs"]
mod tests;
