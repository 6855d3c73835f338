//! Rust `HashMap`s and `HashSet`s built in memory as hashbrown lays them
//! out and read from bytes: the entries of the full buckets in bucket
//! order, a set's keys alone, the element limit, and tables whose numbers
//! cannot be (a bucket count that is no power of two, more items than
//! buckets, control bytes that cannot be read) said on the value, never a
//! panic.

use gimli::write::{UnitEntryId, UnitId};

use crate::memory::BufferMemory;
use crate::snapshot::{Value, Variable};
use crate::testing::dwarf_builder::*;
use crate::testing::frames::{KnownFunctions, no_modules};
use crate::variables::{Extractor, Limits};

/// Where the map is, and where its control bytes are: the buckets lie
/// below them.
const AT: u64 = 0x1000;
const CTRL: u64 = 0x2000;

/// A Rust unit with the types of a `HashMap<u32, u16>` and a
/// `HashSet<u64>`.
struct Unit {
    b: DwarfBuilder,
    u: UnitId,
    usize: UnitEntryId,
    /// hashbrown's `RawTableInner`.
    inner: UnitEntryId,
}

impl Unit {
    fn new() -> Self {
        let mut b = DwarfBuilder::new();
        let u = b.unit(4, gimli::DW_LANG_Rust, "maps.rs");
        let u8 = b.base_type(u, "u8", 1, gimli::DW_ATE_unsigned);
        let usize = b.base_type(u, "usize", 8, gimli::DW_ATE_unsigned);
        let ptr = b.pointer_to(u, u8);
        let non_null = b.structure(u, "core::ptr::non_null::NonNull<u8>", 8);
        b.member(u, non_null, "pointer", ptr, 0);
        let inner = b.structure(u, "hashbrown::raw::RawTableInner", 32);
        b.member(u, inner, "bucket_mask", usize, 0);
        b.member(u, inner, "ctrl", non_null, 8);
        b.member(u, inner, "growth_left", usize, 16);
        b.member(u, inner, "items", usize, 24);
        Unit { b, u, usize, inner }
    }

    /// The tuple type `name` of `size` bytes with `fields` (type, offset).
    fn tuple(&mut self, name: &str, size: u64, fields: &[(UnitEntryId, u64)]) -> UnitEntryId {
        let t = self.b.structure(self.u, name, size);
        for (i, (ty, offset)) in fields.iter().enumerate() {
            self.b.member(self.u, t, &format!("__{i}"), *ty, *offset);
        }
        t
    }

    /// `RawTable<T>` wrapped in `wrappers`, outermost first, each named
    /// and holding the next as the member named; the innermost holds it
    /// at offset 16, behind a 16-byte hash builder. So std's `HashMap`
    /// (`base`) and `HashSet` (`base`, `map`) wrap it.
    fn table(&mut self, wrappers: &[(&str, &str)], bucket: UnitEntryId) -> UnitEntryId {
        let (b, u) = (&mut self.b, self.u);
        let raw = b.structure(u, "hashbrown::raw::RawTable<T>", 32);
        b.template_type(u, raw, "T", bucket);
        b.member(u, raw, "table", self.inner, 0);
        let mut inner = raw;
        for (i, (name, member)) in wrappers.iter().enumerate().rev() {
            let wrapper = b.structure(u, name, 48);
            if i + 1 == wrappers.len() {
                b.member(u, wrapper, "hash_builder", self.usize, 0);
                b.member(u, wrapper, member, inner, 16);
            } else {
                b.member(u, wrapper, member, inner, 0);
            }
            inner = wrapper;
        }
        inner
    }

    /// `HashMap<u32, u16>`: buckets `(u32, u16)` of 8 bytes.
    fn map(&mut self) -> UnitEntryId {
        let u32 = self.b.base_type(self.u, "u32", 4, gimli::DW_ATE_unsigned);
        let u16 = self.b.base_type(self.u, "u16", 2, gimli::DW_ATE_unsigned);
        let bucket = self.tuple("(u32, u16)", 8, &[(u32, 0), (u16, 4)]);
        let wrappers =
            [("std::collections::hash::map::HashMap<u32, u16>", "base"), ("hashbrown::map::HashMap", "table")];
        self.table(&wrappers, bucket)
    }

    /// `HashSet<u64>`: buckets `(u64, ())` of 8 bytes.
    fn set(&mut self) -> UnitEntryId {
        let u64 = self.b.base_type(self.u, "u64", 8, gimli::DW_ATE_unsigned);
        let unit = self.b.base_type(self.u, "()", 0, gimli::DW_ATE_unsigned);
        let bucket = self.tuple("(u64, ())", 8, &[(u64, 0), (unit, 8)]);
        let wrappers = [
            ("std::collections::hash::set::HashSet<u64>", "base"),
            ("hashbrown::set::HashSet", "map"),
            ("hashbrown::map::HashMap", "table"),
        ];
        self.table(&wrappers, bucket)
    }

    /// The value of `ty` at [`AT`]: its table's mask, items and control
    /// bytes at [`CTRL`], with `buckets` (bucket 0 last) below them.
    fn read(
        self,
        ty: UnitEntryId,
        (mask, items): (u64, u64),
        control: &[u8],
        buckets: &[u8],
        limits: Limits,
    ) -> Variable {
        let mut value = vec![0u8; 48];
        value[16..24].copy_from_slice(&mask.to_le_bytes());
        value[24..32].copy_from_slice(&CTRL.to_le_bytes());
        value[40..48].copy_from_slice(&items.to_le_bytes());
        let built = self.b.finish();
        let info = built.info();
        let die = built.die(&info, ty);
        let mut memory = BufferMemory::new();
        memory.add(AT, value);
        memory.add(CTRL - buckets.len() as u64, [buckets, control].concat());
        let extractor = Extractor::new(limits, no_modules());
        extractor.read_typed(&memory, "m", &die, AT, &KnownFunctions(Vec::new()))
    }
}

/// Eight buckets, bucket 0 last (lowest address first): `(key, value)`
/// in buckets 1, 4 and 7 (the others hold garbage), control bytes saying
/// so (`0xff` empty, `0x80` deleted).
fn eight_buckets() -> (Vec<u8>, Vec<u8>) {
    let mut buckets = vec![0xeeu8; 64];
    for (bucket, key, value) in [(1u64, 10u32, 100u16), (4, 40, 400), (7, 70, 700)] {
        let at = 64 - (bucket as usize + 1) * 8;
        buckets[at..at + 4].copy_from_slice(&key.to_le_bytes());
        buckets[at + 4..at + 6].copy_from_slice(&value.to_le_bytes());
    }
    (vec![0xff, 0x12, 0xff, 0x80, 0x33, 0xff, 0xff, 0x01], buckets)
}

fn entries(v: &Variable) -> Vec<(Value, Value)> {
    v.elements.iter().map(|e| (e.members[0].value.clone(), e.members[1].value.clone())).collect()
}

fn pair(k: i64, v: i64) -> (Value, Value) {
    (Value::Int(k), Value::Int(v))
}

#[test]
fn a_map_is_its_full_buckets_in_bucket_order() {
    let (control, buckets) = eight_buckets();
    let mut t = Unit::new();
    let map = t.map();
    let v = t.read(map, (7, 3), &control, &buckets, Limits::default());
    assert_eq!(entries(&v), [pair(10, 100), pair(40, 400), pair(70, 700)]);
    assert_eq!((v.truncated, v.error.as_deref(), v.members.len()), (false, None, 1), "raw members kept");
    assert_eq!(v.elements[1].name, "[1]");
    assert_eq!(&*v.elements[1].type_name, "(u32, u16)");
    // Cut at --max-elements.
    let mut t = Unit::new();
    let map = t.map();
    let v = t.read(map, (7, 3), &control, &buckets, Limits { max_elements: 2, ..Limits::default() });
    assert_eq!((entries(&v), v.truncated), (vec![pair(10, 100), pair(40, 400)], true));
    // An empty map reads no control bytes at all (its `ctrl` points at a
    // static group).
    let mut t = Unit::new();
    let map = t.map();
    let v = t.read(map, (0, 0), &[], &[], Limits::default());
    assert_eq!((v.elements.len(), v.truncated, v.error.as_deref()), (0, false, None));
}

#[test]
fn a_set_is_its_keys() {
    let (control, mut buckets) = eight_buckets();
    for (bucket, key) in [(1usize, 11u64), (4, 44), (7, 77)] {
        let at = 64 - (bucket + 1) * 8;
        buckets[at..at + 8].copy_from_slice(&key.to_le_bytes());
    }
    let mut t = Unit::new();
    let set = t.set();
    let v = t.read(set, (7, 3), &control, &buckets, Limits::default());
    let keys: Vec<Value> = v.elements.iter().map(|e| e.value.clone()).collect();
    assert_eq!(keys, [Value::Int(11), Value::Int(44), Value::Int(77)]);
    assert_eq!(&*v.elements[0].type_name, "u64");
}

#[test]
fn tables_that_cannot_be_are_said_so() {
    let (control, buckets) = eight_buckets();
    // A bucket count that is no power of two, and more items than buckets.
    for numbers in [(6, 3), (7, 9)] {
        let mut t = Unit::new();
        let map = t.map();
        let v = t.read(map, numbers, &control, &buckets, Limits::default());
        assert_eq!(v.elements.len(), 0, "{numbers:?}");
        assert!(v.error.as_deref().is_some_and(|e| e.contains("cannot be")), "{:?}", v.error);
        assert_eq!(v.members.len(), 1, "raw members kept");
    }
    // Control bytes past what memory holds.
    let mut t = Unit::new();
    let map = t.map();
    let v = t.read(map, (15, 3), &control, &buckets, Limits::default());
    assert_eq!(v.error.as_deref(), Some("the control bytes at 0x2000 cannot be read"));
    // Fewer full buckets than `items` says: those there are, marked cut.
    let mut t = Unit::new();
    let map = t.map();
    let v = t.read(map, (7, 5), &control, &buckets, Limits::default());
    assert_eq!((entries(&v).len(), v.truncated), (3, true));
}

#[test]
fn a_large_emptied_table_is_looked_at_up_to_the_control_byte_limit() {
    // 2^21 buckets, one item somewhere past the first MiB of control
    // bytes: the scan stops there, and says the entries were cut.
    let control = vec![0xffu8; 1 << 20];
    let mut t = Unit::new();
    let map = t.map();
    let v = t.read(map, ((1 << 21) - 1, 1), &control, &[], Limits::default());
    assert_eq!((v.elements.len(), v.truncated, v.error.as_deref()), (0, true, None));
}
