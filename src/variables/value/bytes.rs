//! Where a value's bytes come from ([`Source`]: target memory, bytes a
//! location expression computed, an implicit pointer, or nothing) and the
//! reading of them ([`Reader`]), kept apart from the type walk so that one
//! place decides how much may be read: every byte taken from the target
//! is charged to the snapshot's variable budget, and no single value reads
//! more than a block or a string.
//!
//! A struct or array in memory is read in one block ([`Reader::hold`]) and
//! its members are decoded from that copy, so a variable costs one read,
//! not one per leaf.

use std::cell::Cell;
use std::rc::Rc;

use super::super::errors::LocationError;
use super::super::location::{HeldByte, Place};
use crate::debuginfo::dwarf::Die;
use crate::memory::{Memory, read_c_string};
use crate::snapshot::{ValueLocation, Variable};

/// A struct or array larger than this is not copied in one block; its
/// members are read one by one (and most are cut by the limits anyway).
const MAX_BLOCK: u64 = 1 << 16;

/// Where a value's bytes come from.
#[derive(Clone)]
pub(super) enum Source<'d, 'a> {
    Memory(u64),
    Held { data: Rc<[u8]>, known: Rc<[HeldByte]>, start: usize, address: Option<u64>, kind: ValueLocation },
    ImplicitPointer(Die<'d, 'a>, i64),
    Missing { location: ValueLocation, error: Option<String> },
}

impl<'d, 'a> Source<'d, 'a> {
    pub(super) fn from_place(place: Place<'d, 'a>) -> Self {
        match place {
            Place::Memory(a) => Source::Memory(a),
            Place::Bytes { data, known, kind } => {
                Source::Held { data: data.into(), known: known.into(), start: 0, address: None, kind: kind.location() }
            }
            Place::ImplicitPointer { target, byte_offset } => Source::ImplicitPointer(target, byte_offset),
            Place::OptimizedOut => Source::Missing { location: ValueLocation::OptimizedOut, error: None },
            Place::Unavailable(e) => {
                Source::Missing { location: ValueLocation::Unavailable, error: Some(e.to_string()) }
            }
        }
    }

    /// The bytes `offset` further on. Addresses wrap like the machine's;
    /// an offset past the held bytes stays past them (and reads fail).
    pub(super) fn at(&self, offset: u64) -> Self {
        match self {
            Source::Memory(a) => Source::Memory(a.wrapping_add(offset)),
            Source::Held { data, known, start, address, kind } => Source::Held {
                data: data.clone(),
                known: known.clone(),
                start: usize::try_from(offset).map_or(usize::MAX, |o| start.saturating_add(o)),
                address: address.map(|a| a.wrapping_add(offset)),
                kind: *kind,
            },
            other => other.clone(),
        }
    }

    pub(super) fn address(&self) -> Option<u64> {
        match self {
            Source::Memory(a) => Some(*a),
            Source::Held { address, .. } => *address,
            _ => None,
        }
    }

    pub(super) fn location(&self) -> ValueLocation {
        match self {
            Source::Memory(_) | Source::Held { address: Some(_), .. } => ValueLocation::Memory,
            Source::Held { kind, .. } => *kind,
            Source::ImplicitPointer(..) => ValueLocation::Implicit,
            Source::Missing { location, .. } => *location,
        }
    }
}

/// Why a read gave no bytes.
pub(super) struct Unread {
    location: ValueLocation,
    error: Option<String>,
    truncated: bool,
}

/// Reads values' bytes from their [`Source`] within the snapshot's
/// variable budget.
pub(in crate::variables) struct Reader<'x> {
    memory: &'x dyn Memory,
    /// Bytes still allowed to be read for variables in this snapshot.
    budget: &'x Cell<u64>,
    /// Bytes of a string read at most (`--max-string`).
    max_string: usize,
}

impl<'x> Reader<'x> {
    pub(in crate::variables) fn new(memory: &'x dyn Memory, budget: &'x Cell<u64>, max_string: usize) -> Self {
        Reader { memory, budget, max_string }
    }

    /// Whether the snapshot's budget may have refused a read already: what
    /// is left is less than one value may read.
    pub(super) fn nearly_spent(&self) -> bool {
        self.budget.get() < MAX_BLOCK.max(self.max_string as u64)
    }

    /// Reads `len` bytes of the value, or marks why they cannot be had.
    pub(super) fn load(&self, var: &mut Variable, src: &Source<'_, '_>, len: u64) -> Option<Vec<u8>> {
        match self.read(src, len) {
            Ok(bytes) => Some(bytes),
            Err(unread) => {
                var.location = unread.location;
                var.error = unread.error.map(Into::into);
                var.truncated |= unread.truncated;
                None
            }
        }
    }

    pub(super) fn read(&self, src: &Source<'_, '_>, len: u64) -> Result<Vec<u8>, Unread> {
        match src {
            Source::Memory(address) => {
                // No value reads more than a block or a string at once;
                // a larger size comes from corrupt DWARF.
                if len > MAX_BLOCK.max(self.max_string as u64) {
                    return Err(Unread {
                        location: ValueLocation::Unavailable,
                        error: Some(format!("{len} bytes are too many to read for one value")),
                        truncated: true,
                    });
                }
                let remaining = self.budget.get();
                if len > remaining {
                    return Err(Unread {
                        location: ValueLocation::Unavailable,
                        error: Some("the snapshot's variable byte limit is reached".into()),
                        truncated: true,
                    });
                }
                self.budget.set(remaining - len);
                let mut buf = vec![0u8; len as usize];
                self.memory.read(*address, &mut buf).map_err(|e| Unread {
                    location: ValueLocation::Unavailable,
                    error: Some(e.to_string()),
                    truncated: false,
                })?;
                Ok(buf)
            }
            Source::Held { data, known, start, .. } => {
                let end = usize::try_from(len).ok().and_then(|len| start.checked_add(len)).unwrap_or(usize::MAX);
                let range = *start..end;
                match (data.get(range.clone()), known.get(range)) {
                    (Some(bytes), Some(k)) if k.iter().all(|&k| k == HeldByte::Known) => Ok(bytes.to_vec()),
                    // A byte in a register not recovered here: the value
                    // exists, but cannot be read in this frame.
                    (Some(_), Some(k)) => match HeldByte::unsaved_among(k) {
                        Some(register) => Err(Unread {
                            location: ValueLocation::Unavailable,
                            error: Some(LocationError::Unsaved(register).to_string()),
                            truncated: false,
                        }),
                        None => Err(Unread { location: ValueLocation::OptimizedOut, error: None, truncated: false }),
                    },
                    _ => Err(Unread {
                        location: ValueLocation::Unavailable,
                        error: Some(format!("the location holds fewer than {len} bytes")),
                        truncated: false,
                    }),
                }
            }
            Source::ImplicitPointer(..) => Err(Unread {
                location: ValueLocation::Implicit,
                error: Some("an implicit pointer has no value".into()),
                truncated: false,
            }),
            Source::Missing { location, error } => {
                Err(Unread { location: *location, error: error.clone(), truncated: false })
            }
        }
    }

    /// Copies a struct or array in memory into one block, so that its
    /// members are decoded without further reads.
    pub(super) fn hold<'d, 'a>(&self, var: &mut Variable, src: Source<'d, 'a>, size: Option<u64>) -> Source<'d, 'a> {
        let (Source::Memory(address), Some(size)) = (&src, size) else { return src };
        if size == 0 || size > MAX_BLOCK {
            return src;
        }
        match self.read(&src, size) {
            Ok(bytes) => {
                let known: Rc<[HeldByte]> = vec![HeldByte::Known; bytes.len()].into();
                Source::Held {
                    data: bytes.into(),
                    known,
                    start: 0,
                    address: Some(*address),
                    kind: ValueLocation::Memory,
                }
            }
            Err(unread) => {
                var.location = unread.location;
                var.error = unread.error.clone().map(Into::into);
                var.truncated |= unread.truncated;
                Source::Missing { location: unread.location, error: unread.error }
            }
        }
    }

    /// A NUL-terminated string at `address` (without the NUL), up to the
    /// string limit; whether the limit cut it.
    pub(super) fn string_at(&self, address: u64) -> (Option<Vec<u8>>, bool) {
        read_c_string(address, self.max_string, |at, buf| {
            let read = self.read(&Source::Memory(at), buf.len() as u64);
            read.map(|bytes| buf.copy_from_slice(&bytes)).is_ok()
        })
    }
}
