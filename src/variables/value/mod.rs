//! Typed values read from the stopped process and shaped as the snapshot's
//! [`Variable`](crate::snapshot::Variable): scalars decoded, strings read,
//! structs and arrays walked, pointers followed up to the pointer depth,
//! all within the limits.
//!
//! What cannot be read is marked on the variable (`unavailable` with the
//! error) and the rest goes on; what a limit cuts is marked `truncated`.
//!
//! One job per module: [`bytes`] says where a value's bytes come from and
//! reads them within the snapshot's byte budget; [`walk`] follows the
//! type down with a cursor of how deep it stands, with [`pointers`],
//! [`arrays`] and [`variants`] (Rust enums) for those kinds, and
//! [`rust_std`] for Rust's strings, slices and `Vec`s and [`rust_hash`]
//! for its `HashMap`s and `HashSet`s; [`decode`]
//! and [`floats`] turn bytes into the snapshot's values. This module
//! holds what the callers see: the [`Limits`] and the [`PlannedVariable`]
//! a [`Renderer`] renders.

mod arrays;
mod bytes;
mod decode;
mod floats;
mod pointers;
mod rust_hash;
mod rust_std;
mod variants;
mod walk;

use super::location::LocationPlan;
use super::types::{TypeId, Types};
use crate::address::LinkAddr;
use crate::debuginfo::dwarf::Die;
pub(super) use bytes::Reader;
pub use walk::{Renderer, SharedTargets};

/// Rendering limits (the command line sets them).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Pointers followed from a variable (1: `p` and `*p`).
    pub deref_depth: usize,
    pub max_elements: usize,
    pub max_string: usize,
    pub max_members: usize,
    /// Nesting of members, elements and targets below a variable.
    pub max_depth: usize,
    /// Bytes of target memory read for variables in the whole snapshot.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deref_depth: 1,
            max_elements: 100,
            max_string: 256,
            max_members: 100,
            max_depth: 8,
            max_total_bytes: 16 << 20,
        }
    }
}

/// What a variable DIE needs at one pc, whatever the thread: its name,
/// type and the location expression that applies.
pub struct PlannedVariable<'d, 'a> {
    pub name: String,
    ty: Option<TypeId<'d, 'a>>,
    size: Option<u64>,
    location: LocationPlan<'d, 'a>,
}

impl<'d, 'a> PlannedVariable<'d, 'a> {
    /// `pc` is the link-time pc for location lists (None for globals).
    pub fn new(types: &Types<'d, 'a>, die: &Die<'d, 'a>, pc: Option<LinkAddr>) -> Self {
        let ty = die.inherited(gimli::DW_AT_type).and_then(|(owner, v)| owner.reference(v));
        PlannedVariable {
            name: die.name().unwrap_or_default(),
            size: types.size_of(ty.as_ref()),
            ty,
            location: LocationPlan::new(die, pc),
        }
    }
}

impl<'d, 'a> PlannedVariable<'d, 'a> {
    /// A value of type `ty` at a known address.
    pub fn at_address(types: &Types<'d, 'a>, name: &str, ty: &Die<'d, 'a>, address: u64) -> Self {
        PlannedVariable {
            name: name.to_string(),
            size: types.size_of(Some(ty)),
            ty: Some(ty.clone()),
            location: LocationPlan::Memory(address),
        }
    }
}
