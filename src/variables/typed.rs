//! Typed views of target memory for modules (`bt_variable`): a type and an
//! address, stepped through members, pointers and casts, and read into a
//! [`crate::snapshot::Variable`] on request. Pointers on the way to a
//! member are followed through any number of levels, as the pmodule API
//! asks.

use super::types::{CompositeTag, Member, TypeId, TypeKind, Types};
use crate::memory::Memory;

/// Pointer levels followed on the way to one member.
const MAX_AUTO_DEREF: usize = 16;

fn read_pointer(memory: &dyn Memory, address: u64) -> Result<u64, String> {
    memory.read_u64(address).map_err(|e| e.to_string())
}

/// Member `field` of the struct at `address` (following pointers to it).
pub fn member<'d, 'a>(
    types: &Types<'d, 'a>,
    memory: &dyn Memory,
    ty: &TypeId<'d, 'a>,
    mut address: u64,
    field: &str,
) -> Result<(TypeId<'d, 'a>, u64), String> {
    let mut current = ty.clone();
    for _ in 0..MAX_AUTO_DEREF {
        let (_, t) = types.resolve(Some(&current)).ok_or("the type is unknown")?;
        match &t.kind {
            TypeKind::Pointer(Some(target)) | TypeKind::Reference { target: Some(target), .. } => {
                address = read_pointer(memory, address)?;
                if address == 0 {
                    return Err(format!("null pointer on the way to `{field}`"));
                }
                current = target.clone();
            }
            TypeKind::Composite { tag, members, .. } => {
                return find_member(types, *tag, members, address, field, 0)
                    .ok_or_else(|| format!("no member `{field}` in {}", types.name(Some(&current))));
            }
            _ => return Err(format!("{} has no members", types.name(Some(&current)))),
        }
    }
    Err("too many pointer levels".into())
}

/// A member by name, also inside anonymous members and base classes.
fn find_member<'d, 'a>(
    types: &Types<'d, 'a>,
    tag: CompositeTag,
    members: &[Member<'d, 'a>],
    address: u64,
    field: &str,
    depth: usize,
) -> Option<(TypeId<'d, 'a>, u64)> {
    // Offsets come from DWARF and the address from the target: they wrap.
    let at = |m: &Member<'d, 'a>| address.wrapping_add(if tag == CompositeTag::Union { 0 } else { m.offset });
    if let Some(m) = members.iter().find(|m| m.name.as_deref() == Some(field) && m.bits.is_none()) {
        return Some((m.ty.clone()?, at(m)));
    }
    if depth >= MAX_AUTO_DEREF {
        return None;
    }
    members.iter().filter(|m| m.name.is_none()).find_map(|m| {
        let (_, t) = types.resolve(m.ty.as_ref())?;
        match &t.kind {
            TypeKind::Composite { tag, members, .. } => find_member(types, *tag, members, at(m), field, depth + 1),
            _ => None,
        }
    })
}

/// What a pointer (or reference) points to, at `at` when given (a cast
/// of the pointed-to type onto another address); a non-pointer is cast
/// to `at` as it is.
pub fn deref<'d, 'a>(
    types: &Types<'d, 'a>,
    memory: &dyn Memory,
    ty: &TypeId<'d, 'a>,
    address: u64,
    at: Option<u64>,
) -> Result<(TypeId<'d, 'a>, u64), String> {
    let (_, t) = types.resolve(Some(ty)).ok_or("the type is unknown")?;
    match (&t.kind, at) {
        (TypeKind::Pointer(Some(target)) | TypeKind::Reference { target: Some(target), .. }, Some(at)) => {
            Ok((target.clone(), at))
        }
        (TypeKind::Pointer(Some(target)) | TypeKind::Reference { target: Some(target), .. }, None) => {
            Ok((target.clone(), read_pointer(memory, address)?))
        }
        (TypeKind::Pointer(None), _) => Err("cannot dereference a void pointer".into()),
        (_, Some(at)) => Ok((ty.clone(), at)),
        _ => Err(format!("{} is not a pointer", types.name(Some(ty)))),
    }
}
