//! Typed views of target memory for modules (`bt_variable`): a type and an
//! address, stepped through members, pointers and casts, and read into a
//! [`crate::snapshot::Variable`] on request. Pointers on the way to a
//! member are followed through any number of levels, as the pmodule API
//! asks.

use thiserror::Error;

use super::types::{CompositeTag, Member, TypeId, TypeKind, Types};
use crate::memory::{Memory, MemoryError};

/// Pointer levels followed on the way to one member.
const MAX_AUTO_DEREF: usize = 16;

/// Why a typed view could not be made or read (a module sees the text).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TypedError {
    #[error("the type is unknown")]
    UnknownType,
    /// The type's debug information is no longer loaded.
    #[error("the type is gone")]
    TypeGone,
    #[error("the type cannot be named")]
    Unnamed,
    #[error(transparent)]
    Memory(#[from] MemoryError),
    #[error("null pointer on the way to `{0}`")]
    NullPointer(String),
    #[error("no member `{field}` in {ty}")]
    NoMember { field: String, ty: String },
    #[error("{0} has no members")]
    NoMembers(String),
    #[error("too many pointer levels")]
    TooManyPointers,
    #[error("cannot dereference a void pointer")]
    VoidPointer,
    #[error("{0} is not a pointer")]
    NotAPointer(String),
}

/// Member `field` of the struct at `address` (following pointers to it).
pub fn member<'d, 'a>(
    types: &Types<'d, 'a>,
    memory: &dyn Memory,
    ty: &TypeId<'d, 'a>,
    mut address: u64,
    field: &str,
) -> Result<(TypeId<'d, 'a>, u64), TypedError> {
    let mut current = ty.clone();
    for _ in 0..MAX_AUTO_DEREF {
        let (_, t) = types.resolve(Some(&current)).ok_or(TypedError::UnknownType)?;
        match &t.kind {
            TypeKind::Pointer(Some(target)) | TypeKind::Reference { target: Some(target), .. } => {
                address = memory.read_u64(address)?;
                if address == 0 {
                    return Err(TypedError::NullPointer(field.to_string()));
                }
                current = target.clone();
            }
            TypeKind::Composite { tag, members, .. } => {
                return find_member(types, *tag, members, address, field, 0).ok_or_else(|| TypedError::NoMember {
                    field: field.to_string(),
                    ty: types.name(Some(&current)).to_string(),
                });
            }
            _ => return Err(TypedError::NoMembers(types.name(Some(&current)).to_string())),
        }
    }
    Err(TypedError::TooManyPointers)
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
) -> Result<(TypeId<'d, 'a>, u64), TypedError> {
    let (_, t) = types.resolve(Some(ty)).ok_or(TypedError::UnknownType)?;
    match (&t.kind, at) {
        (TypeKind::Pointer(Some(target)) | TypeKind::Reference { target: Some(target), .. }, Some(at)) => {
            Ok((target.clone(), at))
        }
        (TypeKind::Pointer(Some(target)) | TypeKind::Reference { target: Some(target), .. }, None) => {
            Ok((target.clone(), memory.read_u64(address)?))
        }
        (TypeKind::Pointer(None), _) => Err(TypedError::VoidPointer),
        (_, Some(at)) => Ok((ty.clone(), at)),
        _ => Err(TypedError::NotAPointer(types.name(Some(ty)).to_string())),
    }
}
