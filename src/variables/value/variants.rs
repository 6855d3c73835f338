//! A value whose type has a variant part (a Rust enum): the discriminant
//! read, the active variant chosen ([`crate::variables::variants`]), and
//! its members shown after the struct's own, its name as the value's
//! `symbol`: `Option<i32>` holding 5 is `{symbol: "Some", members: [{name:
//! "Some", members: [{name: "__0", value: 5}]}]}`, as gdb's Python API
//! sees it. A discriminant that selects nothing is the value's `error`.

use super::bytes::Source;
use super::decode::integer;
use super::walk::{Renderer, Walk};
use crate::snapshot::Variable;
use crate::variables::types::{CompositeTag, Member, TypeKind};
use crate::variables::variants::{Discriminant, VariantError, VariantPart};

impl<'d, 'a> Renderer<'_, 'd, 'a> {
    /// Adds the variant `part`'s discriminant selects to `var`, the value
    /// at `src` of `size` bytes.
    pub(super) fn active_variant(
        &self,
        var: &mut Variable,
        src: &Source<'d, 'a>,
        size: Option<u64>,
        part: &VariantPart<'d, 'a>,
        walk: &mut Walk<'_>,
    ) {
        if matches!(src, Source::Missing { .. }) {
            return;
        }
        let active = match &part.discriminant {
            None => part.sole(),
            Some(member) => match self.discriminant(var, src, size, member) {
                Ok(Some(d)) => part.active(d),
                // Unreadable: `var` says why.
                Ok(None) => return,
                Err(e) => Err(e),
            },
        };
        match active {
            Ok(variant) => {
                var.symbol = variant.name().map(Into::into);
                self.members(var, src, CompositeTag::Struct, &variant.members, walk);
            }
            Err(e) => var.error = Some(e.to_string().into()),
        }
    }

    /// The discriminant `member` of the value at `src`; None when its
    /// bytes cannot be read (marked on `var`).
    fn discriminant(
        &self,
        var: &mut Variable,
        src: &Source<'d, 'a>,
        size: Option<u64>,
        member: &Member<'d, 'a>,
    ) -> Result<Option<Discriminant>, VariantError> {
        let resolved = self.types.resolve(member.ty.as_ref());
        let (bytes, signed) = match resolved.as_ref().map(|(_, t)| (t.size, &t.kind)) {
            Some((Some(n @ 1..=16), TypeKind::Base(e))) if member.bits.is_none() => {
                (n, matches!(*e, gimli::DW_ATE_signed | gimli::DW_ATE_signed_char))
            }
            Some((Some(n @ 1..=16), TypeKind::Enum { signed, .. })) if member.bits.is_none() => (n, *signed),
            _ => return Err(VariantError::BadDiscriminantType),
        };
        if size.is_some_and(|size| member.offset.checked_add(bytes).is_none_or(|end| end > size)) {
            return Err(VariantError::DiscriminantOutside);
        }
        let Some(read) = self.bytes.load(var, &src.at(member.offset), bytes) else { return Ok(None) };
        Ok(Some(Discriminant { value: integer(&read, signed), size: bytes, signed }))
    }
}
