//! Rust values as rust-gdb (gdb with the Rust standard library's pretty
//! printers) prints them, for [`super::c_value`]: an enum's active variant
//! (`core::option::Option<i32>::Some(5)`), slices and `Vec`s with their
//! length and elements, `HashMap`s and `HashSet`s with their size and
//! entries, `Rc` and `Arc` with their counts. A value whose
//! shape is not the one expected (`--deref-depth 0` left out an `Rc`'s
//! target, elements could not be read) prints as the struct it is.

use crate::snapshot::{Kind, Variable};

use super::c_value;

/// `v` as rust-gdb prints it, when it is a Rust value printed otherwise
/// than C's way.
pub(super) fn value(v: &Variable) -> Option<String> {
    if let Some(variant) = active_variant(v) {
        return Some(rust_variant(v, variant));
    }
    rust_sequence(v).or_else(|| rust_shared(v)).or_else(|| rust_table(v))
}

/// The active variant of a Rust enum (a struct with a variant part): its
/// one member, named by the value's `symbol`.
fn active_variant(v: &Variable) -> Option<&Variable> {
    let symbol = v.symbol.as_deref()?;
    match &v.members[..] {
        [only] if v.kind == Kind::Tuple && only.kind == Kind::Tuple && only.name == symbol => Some(only),
        _ => None,
    }
}

/// A Rust enum's value as rust-gdb prints it: the enum's type and the
/// variant, then its fields, positional (`core::option::Option<i32>::Some(5)`)
/// or named (`enums::Shape::Rect{w: 6, h: 7}`), or none (`enums::Shape::Empty`).
fn rust_variant(v: &Variable, variant: &Variable) -> String {
    let name = format!("{}::{}", v.type_name, variant.name);
    let more = if v.truncated || variant.truncated { "..." } else { "" };
    let fields = &variant.members;
    if fields.is_empty() && more.is_empty() {
        return name;
    }
    let positional = fields.iter().enumerate().all(|(i, f)| f.name == format!("__{i}"));
    if positional {
        let values: Vec<String> = fields.iter().map(c_value).collect();
        format!("{name}({}{more})", values.join(", "))
    } else {
        let values: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.name, c_value(f))).collect();
        format!("{name}{{{}{more}}}", values.join(", "))
    }
}

/// A Rust slice or `Vec` as rust-gdb prints it: its type (`Vec` for a
/// `Vec`), its length, then its elements (`&[i32](size=3) = {-20, 30,
/// 40}`, `Vec(size=0)`). None for other values, and for one whose
/// elements could not be read, which prints as the struct it is.
fn rust_sequence(v: &Variable) -> Option<String> {
    let ty = &*v.type_name;
    let (label, length) = if ty.starts_with("alloc::vec::Vec<") {
        ("Vec", "len")
    } else if (ty.starts_with("&[") || ty.starts_with("&mut [")) && ty.ends_with(']') {
        (ty, "length")
    } else {
        return None;
    };
    let size = named(v, length)?.value.as_u64()?;
    if v.kind != Kind::Tuple || (v.elements.is_empty() && size > 0) {
        return None;
    }
    if size == 0 {
        return Some(format!("{label}(size=0)"));
    }
    let elements: Vec<String> = v.elements.iter().map(c_value).collect();
    let more = if v.truncated { "..." } else { "" };
    Some(format!("{label}(size={size}) = {{{}{more}}}", elements.join(", ")))
}

/// A Rust `Rc` or `Arc` as rust-gdb prints it: its counts, then the
/// value and the counts again (`Rc(strong=2, weak=0) = {value = 7, strong
/// = 2, weak = 0}`), the weak count without the one weak reference all
/// strong ones hold together, as rust-gdb counts. None when the snapshot
/// lacks the `RcInner` or `ArcInner` (`--deref-depth 0`) or its shape is
/// another: the `Rc` prints as the struct it is.
fn rust_shared(v: &Variable) -> Option<String> {
    let ty = &*v.type_name;
    let (label, value) = if ty.starts_with("alloc::rc::Rc<") {
        ("Rc", "value")
    } else if ty.starts_with("alloc::sync::Arc<") {
        ("Arc", "data")
    } else {
        return None;
    };
    // Down `ptr`'s wrappers (NonNull, Unique) to the pointer and its target.
    let mut ptr = named(v, "ptr")?;
    for _ in 0..MAX_WRAPPERS {
        if ptr.target.is_some() {
            break;
        }
        ptr = named(ptr, "pointer")?;
    }
    let inner: &Variable = ptr.target.as_ref()?;
    // A count is the one number inside its Cell or atomic.
    let count = |name: &str| {
        let mut cell = named(inner, name)?;
        for _ in 0..MAX_WRAPPERS {
            match (cell.value.as_u64(), &cell.members[..]) {
                (Some(n), _) => return Some(n),
                (None, [only]) => cell = only,
                _ => return None,
            }
        }
        None
    };
    let (strong, weak) = (count("strong")?, count("weak")?.checked_sub(1)?);
    let value = c_value(named(inner, value)?);
    Some(format!("{label}(strong={strong}, weak={weak}) = {{value = {value}, strong = {strong}, weak = {weak}}}"))
}

/// A Rust `HashMap` or `HashSet` as rust-gdb prints it: its size, then
/// its entries in the order of their buckets (`HashMap(size=2) = {["a"] =
/// 1, ["b"] = 2}`, `HashSet(size=2) = {7, 5}`, `HashMap(size=0)`). None
/// for other values, and for one whose entries could not be read, which
/// prints as the struct it is.
fn rust_table(v: &Variable) -> Option<String> {
    let ty = &*v.type_name;
    let (label, path): (_, &[&str]) = if ty.starts_with("std::collections::hash::map::HashMap<") {
        ("HashMap", &["base", "table", "table", "items"])
    } else if ty.starts_with("std::collections::hash::set::HashSet<") {
        ("HashSet", &["base", "map", "table", "table", "items"])
    } else {
        return None;
    };
    let size = path.iter().try_fold(v, |v, name| named(v, name))?.value.as_u64()?;
    if v.kind != Kind::Tuple || (v.elements.is_empty() && size > 0) {
        return None;
    }
    if size == 0 {
        return Some(format!("{label}(size=0)"));
    }
    let entry = |e: &Variable| match (label, &e.members[..]) {
        ("HashMap", [key, value, ..]) => format!("[{}] = {}", c_value(key), c_value(value)),
        _ => c_value(e),
    };
    let entries: Vec<String> = v.elements.iter().map(entry).collect();
    let more = if v.truncated { "..." } else { "" };
    Some(format!("{label}(size={size}) = {{{}{more}}}", entries.join(", ")))
}

/// Wrapper structs `ptr`, and a count's cell, are gone down at most.
const MAX_WRAPPERS: usize = 8;

/// The member `name` of `v`.
fn named<'v>(v: &'v Variable, name: &str) -> Option<&'v Variable> {
    v.members.iter().find(|m| m.name == name)
}
