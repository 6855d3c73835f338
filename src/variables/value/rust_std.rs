//! Rust's standard library values in the type walk, shown as rust-gdb
//! shows them, each next to the raw members rustc describes it with: a
//! [`View`] of the value is recognised by its type's name, and what it
//! adds is read. This module holds the strings and sequences: `&str`,
//! `Box<str>` and `alloc::string::String` as their text (kind `string`,
//! the text in `symbol`, as a `char *`'s), slices (`&[T]`, `&mut [T]`,
//! `Box<[T]>`) and `alloc::vec::Vec<T>` as their elements (`elements`, as
//! an array's); and the dangling `Weak` (`Weak::new()`, whose pointer is
//! `usize::MAX`), which is said so rather than followed.
//! [`super::rust_hash`] holds `HashMap` and `HashSet`. One whose pointer
//! or length cannot be read (optimized out) stays the raw struct.
//!
//! rustc describes them as plain structs: a slice or `&str` is a struct
//! named `&[T]` or `&str` of `data_ptr` and `length`; a `Vec<T>` holds
//! `len` and, in `buf`, a pointer wrapped in structs whose nesting changes
//! across rustc versions (`buf.inner.ptr.pointer.pointer` in 1.95, of type
//! `*const u8`, `buf.ptr.pointer.pointer` before); a `String` is its `vec:
//! Vec<u8>`. So a shape is recognised by the type's name, its members are
//! found by name, the pointer by going down the wrappers, and `Vec`'s
//! element type is its template parameter `T`. Whatever does not fit is
//! left as the raw struct it is.

use super::bytes::Source;
use super::decode::{integer, set_string};
use super::rust_hash::Table;
use super::walk::{Renderer, Walk};
use crate::snapshot::{Kind, Variable};
use crate::variables::types::{Member, Type, TypeId, TypeKind, first_child};

/// Wrapper structs gone down at most from a `Vec`'s `buf` to its pointer.
const MAX_WRAPPERS: usize = 8;

/// What a recognised Rust standard library value shows beyond its raw
/// members, and where in the value that is.
pub(super) enum View<'d, 'a> {
    /// A string's text, or a slice's or `Vec`'s elements.
    Sequence(Sequence<'d, 'a>),
    /// A `HashMap`'s or `HashSet`'s entries.
    Table(Table<'d, 'a>),
    /// An `rc::Weak` or `sync::Weak`: the offset of its pointer, which
    /// `Weak::new()` leaves dangling.
    Weak(u64),
}

impl View<'_, '_> {
    /// Whether the value's raw members are shown without views of their
    /// own: a `String`'s `vec`, whose text the `String` shows.
    pub(super) fn raw_members(&self) -> bool {
        matches!(self, View::Sequence(s) if s.text)
    }
}

/// Where a recognised string or sequence keeps its data, in its value.
pub(super) struct Sequence<'d, 'a> {
    /// Offset of the pointer to the data.
    data: u64,
    /// Offset and size of the element count.
    length: (u64, u64),
    /// The element type (None for text).
    element: Option<TypeId<'d, 'a>>,
    /// The data is UTF-8 text: `&str`, `String`.
    text: bool,
}

impl<'d, 'a> Renderer<'_, 'd, 'a> {
    /// The view of a value of type `t` (`id`) when it is one of the Rust
    /// standard library's that are shown beyond their raw members.
    pub(super) fn rust_view(&self, id: &TypeId<'d, 'a>, t: &Type<'d, 'a>) -> Option<View<'d, 'a>> {
        let name = t.name.as_deref()?;
        if name.starts_with("alloc::rc::Weak<") || name.starts_with("alloc::sync::Weak<") {
            return self.wrapped_pointer(find(composite_members(t)?, "ptr")?).map(View::Weak);
        }
        self.rust_sequence(id, t).map(View::Sequence).or_else(|| self.rust_table(t).map(View::Table))
    }

    /// Adds to `var`, the value at `src`, what `view` shows.
    pub(super) fn view(&self, var: &mut Variable, src: &Source<'d, 'a>, view: &View<'d, 'a>, walk: &mut Walk<'_>) {
        match view {
            View::Sequence(sequence) => self.sequence(var, src, sequence, walk),
            View::Table(table) => self.table_entries(var, src, table, walk),
            View::Weak(pointer) => {
                let held = self.bytes.read(&src.at(*pointer), 8).ok().map(|bytes| integer(&bytes, false) as u64);
                if held == Some(DANGLING) {
                    dangling(var);
                }
            }
        }
    }

    /// The shape of a value of type `t` (`id`) when it is a Rust string,
    /// slice (a `Box` of one too) or `Vec`.
    fn rust_sequence(&self, id: &TypeId<'d, 'a>, t: &Type<'d, 'a>) -> Option<Sequence<'d, 'a>> {
        let name = t.name.as_deref()?;
        let members = composite_members(t)?;
        let boxed_str = name.starts_with("alloc::boxed::Box<str,") || name == "alloc::boxed::Box<str>";
        if name == "&str" || name == "&mut str" || boxed_str {
            return self.slice(members).map(|s| Sequence { element: None, text: true, ..s });
        }
        let reference = (name.starts_with("&[") || name.starts_with("&mut [")) && name.ends_with(']');
        if reference || name.starts_with("alloc::boxed::Box<[") {
            return self.slice(members);
        }
        if name == "alloc::string::String" {
            let vec = find(members, "vec")?;
            let (vec_id, vec_type) = self.types.resolve(vec.ty.as_ref())?;
            let inner = self.vec(&vec_id, &vec_type)?;
            let data = vec.offset.checked_add(inner.data)?;
            let length = (vec.offset.checked_add(inner.length.0)?, inner.length.1);
            return Some(Sequence { data, length, element: None, text: true });
        }
        if name.starts_with("alloc::vec::Vec<") {
            return self.vec(id, t);
        }
        None
    }

    /// A slice: `data_ptr`, a pointer to the elements, and `length`.
    fn slice(&self, members: &[Member<'d, 'a>]) -> Option<Sequence<'d, 'a>> {
        let data = find(members, "data_ptr")?;
        let (_, pointer) = self.types.resolve(data.ty.as_ref())?;
        let TypeKind::Pointer(element) = &pointer.kind else { return None };
        let length = self.count(find(members, "length")?)?;
        Some(Sequence { data: data.offset, length, element: element.clone(), text: false })
    }

    /// A `Vec<T>`: `len`, and the pointer inside `buf`.
    fn vec(&self, id: &TypeId<'d, 'a>, t: &Type<'d, 'a>) -> Option<Sequence<'d, 'a>> {
        let members = composite_members(t)?;
        let length = self.count(find(members, "len")?)?;
        let data = self.wrapped_pointer(find(members, "buf")?)?;
        let element = template_parameter(id, "T")?;
        Some(Sequence { data, length, element: Some(element), text: false })
    }

    /// The offset of the pointer `member` holds, going down its wrapper
    /// structs (`inner`, `ptr`, `pointer`: `RawVec`, `Unique`, `NonNull`).
    pub(super) fn wrapped_pointer(&self, member: &Member<'d, 'a>) -> Option<u64> {
        let (mut offset, mut ty) = (member.offset, member.ty.clone());
        for _ in 0..MAX_WRAPPERS {
            let (_, wrapper) = self.types.resolve(ty.as_ref())?;
            if matches!(wrapper.kind, TypeKind::Pointer(_)) {
                return Some(offset);
            }
            let inside = ["inner", "ptr", "pointer"].iter().find_map(|n| find(composite_members(&wrapper)?, n))?;
            offset = offset.checked_add(inside.offset)?;
            ty = inside.ty.clone();
        }
        None
    }

    /// The offset and size of an element count: an unsigned integer.
    pub(super) fn count(&self, member: &Member<'d, 'a>) -> Option<(u64, u64)> {
        let (_, t) = self.types.resolve(member.ty.as_ref())?;
        let size = t.size.filter(|s| (1..=8).contains(s))?;
        (matches!(t.kind, TypeKind::Base(gimli::DW_ATE_unsigned)) && member.bits.is_none())
            .then_some((member.offset, size))
    }

    /// Adds to `var`, the value at `src`, the text or the elements
    /// `sequence` points to, within `--max-string` or `--max-elements`.
    fn sequence(&self, var: &mut Variable, src: &Source<'d, 'a>, sequence: &Sequence<'d, 'a>, walk: &mut Walk<'_>) {
        // What cannot be read here, the raw members say.
        let (Ok(data), Ok(length)) = (
            self.bytes.read(&src.at(sequence.data), 8),
            self.bytes.read(&src.at(sequence.length.0), sequence.length.1),
        ) else {
            return;
        };
        let (address, count) = (integer(&data, false) as u64, integer(&length, false) as u64);
        let data = Source::Memory(address);
        if sequence.text {
            let shown = count.min(self.limits.max_string as u64);
            match self.bytes.read(&data, shown) {
                Ok(bytes) => {
                    var.kind = Kind::String;
                    set_string(var, &bytes, bytes.len());
                    var.truncated |= count > shown;
                }
                Err(_) => var.error = Some(format!("the text at {address:#x} cannot be read").into()),
            }
            return;
        }
        let element = sequence.element.as_ref();
        let Some(stride) = self.types.size_of(element) else { return };
        let Some(shown) = self.elements_shown(var, count, stride, walk) else { return };
        let mut scratch = Variable::default();
        let held = self.bytes.hold(&mut scratch, data, Some(shown * stride));
        if matches!(held, Source::Missing { .. }) {
            var.error = Some(format!("the elements at {address:#x} cannot be read").into());
        }
        self.elements(var, held, element, (shown, stride), &[], walk);
    }
}

/// The pointer `Weak::new()` holds: no allocation, for any `T`.
const DANGLING: u64 = u64::MAX;

/// Marks `var`, a `Weak` whose pointer is [`DANGLING`], so (`symbol`
/// `dangling`), and takes away the target its pointer member was
/// followed to, which is none.
fn dangling(var: &mut Variable) {
    var.symbol = Some("dangling".into());
    // Down the wrappers (`ptr`, `pointer`) to the pointer.
    let mut member = var.members.iter_mut().find(|m| m.name == "ptr");
    for _ in 0..MAX_WRAPPERS {
        let Some(m) = member else { return };
        if m.kind == Kind::Reference {
            m.target = None;
            return;
        }
        member = m.members.iter_mut().find(|m| ["inner", "ptr", "pointer"].contains(&m.name.as_str()));
    }
}

/// The members of a struct type.
pub(super) fn composite_members<'t, 'd, 'a>(t: &'t Type<'d, 'a>) -> Option<&'t [Member<'d, 'a>]> {
    match &t.kind {
        TypeKind::Composite { members, declaration: false, .. } => Some(members),
        _ => None,
    }
}

pub(super) fn find<'m, 'd, 'a>(members: &'m [Member<'d, 'a>], name: &str) -> Option<&'m Member<'d, 'a>> {
    members.iter().find(|m| m.name.as_deref() == Some(name) && m.bits.is_none())
}

/// The type of the template type parameter `name` of the type `id`
/// (rustc writes them first, before the members and methods).
pub(super) fn template_parameter<'d, 'a>(id: &TypeId<'d, 'a>, name: &str) -> Option<TypeId<'d, 'a>> {
    first_child(id, |tag, die| tag == gimli::DW_TAG_template_type_parameter && die.name().as_deref() == Some(name))?
        .follow(gimli::DW_AT_type)
}

#[cfg(test)]
#[path = "rust_std_tests.rs"]
mod tests;
