//! Rust slices, `&str` and `Vec`s built in memory and read from bytes:
//! the text and the elements within the limits, a `Vec`'s pointer through
//! the wrappers of each rustc version, and shapes that do not fit (a
//! `data_ptr` that is no pointer, wrappers without one, a length past what
//! memory holds) left as the raw struct or said on the value, never a
//! panic.

use gimli::write::{UnitEntryId, UnitId};

use crate::memory::BufferMemory;
use crate::snapshot::{Kind, Value, Variable};
use crate::testing::dwarf_builder::*;
use crate::testing::frames::{KnownFunctions, no_modules};
use crate::variables::{Extractor, Limits};

/// Where the slice is, and where its data is.
const AT: u64 = 0x1000;
const DATA: u64 = 0x2000;

/// A Rust unit with `u8`, `u32` and `usize`.
struct Unit {
    b: DwarfBuilder,
    u: UnitId,
    u8: UnitEntryId,
    u32: UnitEntryId,
    usize: UnitEntryId,
}

impl Unit {
    fn new() -> Self {
        let mut b = DwarfBuilder::new();
        let u = b.unit(4, gimli::DW_LANG_Rust, "slices.rs");
        let u8 = b.base_type(u, "u8", 1, gimli::DW_ATE_unsigned);
        let u32 = b.base_type(u, "u32", 4, gimli::DW_ATE_unsigned);
        let usize = b.base_type(u, "usize", 8, gimli::DW_ATE_unsigned);
        Unit { b, u, u8, u32, usize }
    }

    /// A struct `name` as rustc writes a slice: `data_ptr` of type
    /// `pointer` (a pointer to `element`, or `element` itself) and `length`.
    fn slice(&mut self, name: &str, element: UnitEntryId, pointer: bool) -> UnitEntryId {
        let (b, u) = (&mut self.b, self.u);
        let data_type = if pointer { b.pointer_to(u, element) } else { element };
        let s = b.structure(u, name, 16);
        b.member(u, s, "data_ptr", data_type, 0);
        b.member(u, s, "length", self.usize, 8);
        s
    }

    /// `Vec<u32>` of 24 bytes as rustc writes it: the template parameter
    /// `T`, `buf` at 0 and `len` at 16; `buf` wraps the data pointer
    /// (`*const u8`) in structs of 16 bytes, each holding the next as the
    /// member named at the offset `wrappers` give, outermost first.
    fn vec(&mut self, wrappers: &[(&str, u64)]) -> UnitEntryId {
        let (b, u) = (&mut self.b, self.u);
        let root = b.root(u);
        let mut inner = b.pointer_to(u, self.u8);
        for (name, offset) in wrappers.iter().rev() {
            let wrapper = b.add(u, root, gimli::DW_TAG_structure_type, &[(gimli::DW_AT_byte_size, uconst(16))]);
            b.member(u, wrapper, name, inner, *offset);
            inner = wrapper;
        }
        let v = b.structure(u, "alloc::vec::Vec<u32>", 24);
        b.template_type(u, v, "T", self.u32);
        b.member(u, v, "buf", inner, 0);
        b.member(u, v, "len", self.usize, 16);
        v
    }

    /// The value of `ty` at [`AT`], a slice pointing at [`DATA`] with
    /// `length`, the data being `data`.
    fn read(self, ty: UnitEntryId, length: u64, data: &[u8]) -> Variable {
        self.read_bytes(ty, [DATA.to_le_bytes(), length.to_le_bytes()].concat(), data)
    }

    /// The value of `ty` over `value` at [`AT`], `data` at [`DATA`].
    fn read_bytes(self, ty: UnitEntryId, value: Vec<u8>, data: &[u8]) -> Variable {
        let built = self.b.finish();
        let info = built.info();
        let die = built.die(&info, ty);
        let mut memory = BufferMemory::new();
        memory.add(AT, value);
        memory.add(DATA, data.to_vec());
        let extractor = Extractor::new(Limits::default(), no_modules());
        extractor.read_typed(&memory, "s", &die, AT, &KnownFunctions(Vec::new()))
    }
}

fn values(v: &Variable) -> Vec<Value> {
    v.elements.iter().map(|e| e.value.clone()).collect()
}

#[test]
fn a_str_is_its_text_cut_at_the_string_limit() {
    let mut t = Unit::new();
    let s = t.slice("&str", t.u8, true);
    let v = t.read(s, 5, b"hello, world");
    assert_eq!((v.kind, v.symbol.as_deref(), v.truncated, v.members.len()), (Kind::String, Some("hello"), false, 2));
    let mut t = Unit::new();
    let s = t.slice("&str", t.u8, true);
    let v = t.read(s, 300, &[b'x'; 300]);
    assert_eq!((v.kind, v.symbol.as_deref().map(str::len), v.truncated), (Kind::String, Some(256), true));
    // Bytes that are not UTF-8 are kept exactly, as a `char *`'s.
    let mut t = Unit::new();
    let s = t.slice("&str", t.u8, true);
    let v = t.read(s, 2, &[0x61, 0xff]);
    assert_eq!((v.symbol.as_deref(), v.bytes.as_deref()), (Some("a\u{fffd}"), Some("61ff")));
}

#[test]
fn a_slice_is_its_elements_cut_at_the_element_limit() {
    let mut t = Unit::new();
    let s = t.slice("&[u32]", t.u32, true);
    let v = t.read(s, 2, &[7, 0, 0, 0, 9, 0, 0, 0]);
    assert_eq!((v.kind, values(&v), v.truncated), (Kind::Tuple, vec![Value::Int(7), Value::Int(9)], false));
    // A length of 2^60 shows --max-elements (100) of them.
    let mut t = Unit::new();
    let s = t.slice("&mut [u32]", t.u32, true);
    let v = t.read(s, 1 << 60, &[1; 400]);
    assert_eq!((v.elements.len(), v.truncated, v.error.as_deref()), (100, true, None));
}

#[test]
fn shapes_that_do_not_fit_stay_raw_structs() {
    // A `data_ptr` that is no pointer.
    let mut t = Unit::new();
    let s = t.slice("&str", t.usize, false);
    let v = t.read(s, 5, b"hello");
    assert_eq!((v.kind, v.symbol.as_deref(), v.elements.len(), v.members.len()), (Kind::Tuple, None, 0, 2));
    // Text past what memory holds: the struct, and why.
    let mut t = Unit::new();
    let s = t.slice("&str", t.u8, true);
    let v = t.read(s, 64, b"short");
    assert_eq!((v.kind, v.symbol.as_deref()), (Kind::Tuple, None));
    assert_eq!(v.error.as_deref(), Some("the text at 0x2000 cannot be read"));
    // Elements past it.
    let mut t = Unit::new();
    let s = t.slice("&[u32]", t.u32, true);
    let v = t.read(s, 8, &[0; 4]);
    assert_eq!((v.elements.len(), v.error.as_deref()), (0, Some("the elements at 0x2000 cannot be read")));
}

#[test]
fn a_vec_is_found_through_the_wrappers_of_each_rustc_version() {
    // rustc 1.95: buf.inner.ptr.pointer.pointer, `ptr` after `cap`;
    // older: buf.ptr.pointer.
    let layouts: [&[(&str, u64)]; 2] =
        [&[("inner", 0), ("ptr", 8), ("pointer", 0), ("pointer", 0)], &[("ptr", 0), ("pointer", 0)]];
    for wrappers in layouts {
        let at: u64 = wrappers.iter().map(|(_, offset)| offset).sum();
        let mut value = vec![0u8; 24];
        value[at as usize..at as usize + 8].copy_from_slice(&DATA.to_le_bytes());
        value[16..].copy_from_slice(&2u64.to_le_bytes());
        let mut t = Unit::new();
        let v = t.vec(wrappers);
        let v = t.read_bytes(v, value, &[5, 0, 0, 0, 6, 0, 0, 0]);
        assert_eq!((values(&v), v.truncated), (vec![Value::Int(5), Value::Int(6)], false), "{wrappers:?}");
    }
    // Wrappers that never reach a pointer: the raw struct.
    let mut t = Unit::new();
    let v = t.vec(&[("inner", 0), ("other", 0)]);
    let v = t.read_bytes(v, vec![0; 24], &[]);
    assert_eq!((v.elements.len(), v.members.len(), v.error.as_deref()), (0, 2, None));
}

#[test]
fn boxed_slices_and_strs_are_as_references_to_them() {
    let mut t = Unit::new();
    let s = t.slice("alloc::boxed::Box<[u32], alloc::alloc::Global>", t.u32, true);
    let v = t.read(s, 2, &[7, 0, 0, 0, 9, 0, 0, 0]);
    assert_eq!((v.kind, values(&v)), (Kind::Tuple, vec![Value::Int(7), Value::Int(9)]));
    let mut t = Unit::new();
    let s = t.slice("alloc::boxed::Box<str, alloc::alloc::Global>", t.u8, true);
    let v = t.read(s, 5, b"boxed");
    assert_eq!((v.kind, v.symbol.as_deref()), (Kind::String, Some("boxed")));
}

/// `Weak<u32>` as rustc writes it: `ptr`, a `NonNull` of the pointer to
/// the `RcInner` (`strong`, `weak`, `value`), read over `pointer`.
fn weak(pointer: u64) -> Variable {
    let mut t = Unit::new();
    let (b, u) = (&mut t.b, t.u);
    let inner = b.structure(u, "alloc::rc::RcInner<u32>", 24);
    b.member(u, inner, "strong", t.usize, 0);
    b.member(u, inner, "weak", t.usize, 8);
    b.member(u, inner, "value", t.u32, 16);
    let to_inner = b.pointer_to(u, inner);
    let non_null = b.structure(u, "core::ptr::non_null::NonNull<alloc::rc::RcInner<u32>>", 8);
    b.member(u, non_null, "pointer", to_inner, 0);
    let w = b.structure(u, "alloc::rc::Weak<u32, alloc::alloc::Global>", 8);
    b.member(u, w, "ptr", non_null, 0);
    let rc_inner = [1u64.to_le_bytes(), 2u64.to_le_bytes(), 7u64.to_le_bytes()].concat();
    t.read_bytes(w, pointer.to_le_bytes().to_vec(), &rc_inner)
}

#[test]
fn a_dangling_weak_is_said_so_and_not_followed() {
    let pointer = |v: &Variable| v.members[0].members[0].clone();
    let dangling = weak(u64::MAX);
    assert_eq!(dangling.symbol.as_deref(), Some("dangling"));
    assert_eq!((pointer(&dangling).value, pointer(&dangling).target.is_none()), (Value::UInt(u64::MAX), true));
    // A live one: its RcInner is its pointer's target, as an Rc's.
    let live = weak(DATA);
    assert_eq!(live.symbol, None);
    let inner = pointer(&live).target.expect("the RcInner");
    assert_eq!(inner.members.iter().map(|m| m.value.clone()).collect::<Vec<_>>(), [1, 2, 7].map(Value::Int));
}
