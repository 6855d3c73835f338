//! Rust's `HashMap` and `HashSet` in the type walk, shown as rust-gdb
//! shows them: their entries in `elements`, in the order of their buckets,
//! next to the raw members rustc describes them with. A map's entry is
//! its bucket, the `(K, V)` tuple; a set's is the key.
//!
//! `std::collections::HashMap<K, V, S>` is hashbrown's table:
//! `base.table`, a `hashbrown::raw::RawTable<T>` whose `T` is `(K, V)`
//! (`(K, ())` for a set, found at `base.map.table`), holding a
//! `RawTableInner` of `bucket_mask` (the bucket count less one, a power of
//! two less one), `ctrl` (a `NonNull<u8>` to the control bytes), and
//! `items`. One control byte per bucket says whether it is full (top bit
//! clear: the hash's seven bits) or empty or deleted (top bit set); the
//! buckets lie below the control bytes, bucket `i` at `ctrl - (i + 1) *
//! size_of::<T>()`. So the entries are found by reading the control
//! bytes, as rust-gdb's printer does, and each full bucket is read as a
//! value of its type: any key and value type, at any size and alignment,
//! with the limits of an array's elements (`--max-elements`).

use std::rc::Rc;

use super::bytes::Source;
use super::decode::integer;
use super::rust_std::{composite_members, find, template_parameter};
use super::walk::{Renderer, Walk};
use crate::snapshot::Variable;
use crate::variables::types::{Type, TypeId};

/// Control bytes read at once while looking for full buckets.
const CONTROL_CHUNK: u64 = 4096;

/// Control bytes read at most for one table: a table that grew large and
/// was emptied keeps its buckets, and a few entries in it must not spend
/// the snapshot's byte budget. The entries after are marked as cut.
const MAX_CONTROL_BYTES: u64 = 1 << 20;

/// Where a recognised `HashMap` or `HashSet` keeps its table, in its value.
pub(super) struct Table<'d, 'a> {
    /// Offset and size of `bucket_mask`.
    mask: (u64, u64),
    /// Offset of the pointer to the control bytes.
    ctrl: u64,
    /// Offset and size of `items`.
    items: (u64, u64),
    /// Bytes of a bucket: the size of the table's `T`.
    stride: u64,
    /// What an entry shows, at its offset in the bucket: a map's bucket,
    /// a set's key.
    entry: (u64, Option<TypeId<'d, 'a>>),
}

impl<'d, 'a> Renderer<'_, 'd, 'a> {
    /// The table of a value of type `t` when it is a Rust `HashMap` or
    /// `HashSet` whose members have hashbrown's shape.
    pub(super) fn rust_table(&self, t: &Type<'d, 'a>) -> Option<Table<'d, 'a>> {
        let name = t.name.as_deref()?;
        let (path, set): (&[&str], bool) = if name.starts_with("std::collections::hash::map::HashMap<") {
            (&["base", "table"], false)
        } else if name.starts_with("std::collections::hash::set::HashSet<") {
            (&["base", "map", "table"], true)
        } else {
            return None;
        };
        // Down to the RawTable.
        let mut offset = 0u64;
        let mut raw_table: Option<(TypeId<'d, 'a>, Rc<Type<'d, 'a>>)> = None;
        for step in path {
            let members = composite_members(raw_table.as_ref().map_or(t, |(_, ty)| ty))?;
            let member = find(members, step)?;
            offset = offset.checked_add(member.offset)?;
            raw_table = Some(self.types.resolve(member.ty.as_ref())?);
        }
        let (raw_id, raw_type) = raw_table?;
        let bucket = template_parameter(&raw_id, "T")?;
        let inner = find(composite_members(&raw_type)?, "table")?;
        let at = offset.checked_add(inner.offset)?;
        let (_, inner_type) = self.types.resolve(inner.ty.as_ref())?;
        let fields = composite_members(&inner_type)?;
        let within = |(offset, size): (u64, u64)| Some((at.checked_add(offset)?, size));
        let mask = within(self.count(find(fields, "bucket_mask")?)?)?;
        let items = within(self.count(find(fields, "items")?)?)?;
        let ctrl = at.checked_add(self.wrapped_pointer(find(fields, "ctrl")?)?)?;
        let stride = self.types.size_of(Some(&bucket))?;
        let entry = if set {
            let (_, tuple) = self.types.resolve(Some(&bucket))?;
            let key = find(composite_members(&tuple)?, "__0")?;
            (key.offset, key.ty.clone())
        } else {
            (0, Some(bucket))
        };
        Some(Table { mask, ctrl, items, stride, entry })
    }

    /// Adds to `var`, the map or set at `src`, the entries of its full
    /// buckets, within `--max-elements`. What cannot be read here leaves
    /// the raw members alone, or says why on `var`.
    pub(super) fn table_entries(
        &self,
        var: &mut Variable,
        src: &Source<'d, 'a>,
        table: &Table<'d, 'a>,
        walk: &mut Walk<'_>,
    ) {
        let number = |(offset, size): (u64, u64)| {
            self.bytes.read(&src.at(offset), size).ok().map(|bytes| integer(&bytes, false) as u64)
        };
        let (Some(mask), Some(ctrl), Some(items)) = (number(table.mask), number((table.ctrl, 8)), number(table.items))
        else {
            return;
        };
        let Some(buckets) = mask.checked_add(1).filter(|b| b.is_power_of_two() && items <= *b) else {
            var.error = Some(format!("bucket_mask {mask:#x} and items {items} cannot be a table's (corrupt?)").into());
            return;
        };
        let Some(shown) = self.elements_shown(var, items, table.stride, walk) else { return };
        let full = match self.full_buckets(ctrl, buckets, shown) {
            Ok(full) => full,
            Err(e) => {
                var.error = Some(e.into());
                return;
            }
        };
        if (full.len() as u64) < shown {
            // The scan was cut, or fewer buckets are full than `items` says.
            var.truncated = true;
        }
        var.elements.reserve_exact(full.len());
        for (i, bucket) in full.into_iter().enumerate() {
            if !walk.spend_node() {
                var.truncated = true;
                break;
            }
            let below = (bucket + 1).wrapping_mul(table.stride);
            let at = Source::Memory(ctrl.wrapping_sub(below).wrapping_add(table.entry.0));
            var.elements.push(self.render(format!("[{i}]"), table.entry.1.as_ref(), at, &mut walk.deeper()));
        }
    }

    /// The indexes of the first `wanted` full buckets of the `buckets` whose
    /// control bytes are at `ctrl`, looking at [`MAX_CONTROL_BYTES`] at most.
    fn full_buckets(&self, ctrl: u64, buckets: u64, wanted: u64) -> Result<Vec<u64>, String> {
        let mut full = Vec::new();
        let end = buckets.min(MAX_CONTROL_BYTES);
        let mut at = 0;
        while at < end && (full.len() as u64) < wanted {
            let n = (end - at).min(CONTROL_CHUNK);
            let address = ctrl.wrapping_add(at);
            let bytes = self
                .bytes
                .read(&Source::Memory(address), n)
                .map_err(|_| format!("the control bytes at {address:#x} cannot be read"))?;
            full.extend(bytes.iter().enumerate().filter(|(_, c)| *c & 0x80 == 0).map(|(i, _)| at + i as u64));
            at += n;
        }
        full.truncate(wanted as usize);
        Ok(full)
    }
}

#[cfg(test)]
#[path = "rust_hash_tests.rs"]
mod tests;
