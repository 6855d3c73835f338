//! The Rust standard library's values as rust-gdb's pretty printers print
//! them, for [`super::c_value`]: slices and `Vec`s with their length and
//! elements, `HashMap`s and `HashSet`s with their size and entries, `Rc`
//! and `Arc` with their counts, `Cell`, `RefCell` and its `Ref` with the
//! borrow state; a `Box<[T]>` as gdb prints a slice it knows, and a `Weak`
//! (which rust-gdb prints raw) as an `Rc`. What the snapshot holds of them
//! is in docs/snapshot-format.md. A value whose shape is not the one
//! expected (`--deref-depth 0` left out an `Rc`'s target, elements could
//! not be read) prints as the struct it is.

use crate::snapshot::{Kind, Value, Variable};

use super::c_value;

/// `v` as rust-gdb prints it, when it is a standard library value that
/// it prints otherwise than C's way.
pub(super) fn value(v: &Variable) -> Option<String> {
    let ty = &*v.type_name;
    let printer: fn(&Variable) -> Option<String> = if ty.starts_with("alloc::vec::Vec<")
        || ((ty.starts_with("&[") || ty.starts_with("&mut [")) && ty.ends_with(']'))
    {
        sequence
    } else if ty.starts_with("alloc::boxed::Box<[") {
        boxed_slice
    } else if ty.starts_with("std::collections::hash::map::HashMap<")
        || ty.starts_with("std::collections::hash::set::HashSet<")
    {
        table
    } else if ty.starts_with("alloc::rc::Rc<") || ty.starts_with("alloc::sync::Arc<") {
        shared
    } else if ty.starts_with("alloc::rc::Weak<") || ty.starts_with("alloc::sync::Weak<") {
        weak
    } else if ty.starts_with("core::cell::Cell<") {
        cell
    } else if ty.starts_with("core::cell::RefCell<") {
        ref_cell
    } else if ty.starts_with("core::cell::Ref<") || ty.starts_with("core::cell::RefMut<") {
        cell_ref
    } else {
        return None;
    };
    if v.kind != Kind::Tuple {
        return None;
    }
    printer(v)
}

/// A slice or `Vec` as rust-gdb prints it: its type (`Vec` for a `Vec`),
/// its length, then its elements (`&[i32](size=3) = {-20, 30, 40}`,
/// `Vec(size=0)`). None for one whose elements could not be read.
fn sequence(v: &Variable) -> Option<String> {
    let ty = &*v.type_name;
    let (label, length) = if ty.starts_with("alloc::vec::Vec<") { ("Vec", "len") } else { (ty, "length") };
    let size = read_length(v, length)?;
    if size == 0 {
        return Some(format!("{label}(size=0)"));
    }
    Some(format!("{label}(size={size}) = {{{}}}", listed(v, v.elements.iter().map(c_value))))
}

/// A `Box<[T]>` as gdb prints a slice it knows by its members
/// (`data_ptr`, `length`): its type, then its elements (`alloc::boxed::Box<[i32],
/// alloc::alloc::Global> [1, 2, 3]`, `... []`).
fn boxed_slice(v: &Variable) -> Option<String> {
    read_length(v, "length")?;
    Some(format!("{} [{}]", v.type_name, listed(v, v.elements.iter().map(c_value))))
}

/// The length in the member `name` of a sequence whose elements were read
/// (all of them, or those the limits let be read).
fn read_length(v: &Variable, name: &str) -> Option<u64> {
    let size = named(v, name)?.value.as_u64()?;
    (size == 0 || !v.elements.is_empty()).then_some(size)
}

/// `items` joined by `, `, with `...` after them when the value was cut.
fn listed(v: &Variable, items: impl Iterator<Item = String>) -> String {
    let more = if v.truncated { "..." } else { "" };
    format!("{}{more}", items.collect::<Vec<_>>().join(", "))
}

/// A `HashMap` or `HashSet` as rust-gdb prints it: its size, then its
/// entries in the order of their buckets (`HashMap(size=2) = {["a"] = 1,
/// ["b"] = 2}`, `HashSet(size=2) = {7, 5}`, `HashMap(size=0)`). None for
/// one whose entries could not be read.
fn table(v: &Variable) -> Option<String> {
    let (label, path): (_, &[&str]) = if v.type_name.starts_with("std::collections::hash::map::HashMap<") {
        ("HashMap", &["base", "table", "table", "items"])
    } else {
        ("HashSet", &["base", "map", "table", "table", "items"])
    };
    let size = path.iter().try_fold(v, |v, name| named(v, name))?.value.as_u64()?;
    if v.elements.is_empty() && size > 0 {
        return None;
    }
    if size == 0 {
        return Some(format!("{label}(size=0)"));
    }
    let entry = |e: &Variable| match (label, &e.members[..]) {
        ("HashMap", [key, value, ..]) => format!("[{}] = {}", c_value(key), c_value(value)),
        _ => c_value(e),
    };
    Some(format!("{label}(size={size}) = {{{}}}", listed(v, v.elements.iter().map(entry))))
}

/// An `Rc` or `Arc` as rust-gdb prints it: its counts, then the value and
/// the counts again (`Rc(strong=2, weak=0) = {value = 7, strong = 2, weak
/// = 0}`), the weak count without the one weak reference all strong ones
/// hold together, as rust-gdb counts. None when the snapshot lacks the
/// `RcInner` or `ArcInner` (`--deref-depth 0`) or its shape is another.
fn shared(v: &Variable) -> Option<String> {
    let label = if v.type_name.starts_with("alloc::rc::") { "Rc" } else { "Arc" };
    let (value, strong, weak) = shared_inner(v)?;
    let weak = weak.checked_sub(1)?;
    Some(format!(
        "{label}(strong={strong}, weak={weak}) = {{value = {}, strong = {strong}, weak = {weak}}}",
        c_value(value)
    ))
}

/// A `Weak` (`rc::Weak`, `sync::Weak`), which rust-gdb prints as its raw
/// struct, as an `Rc`: `Weak(strong=1, weak=1) = {value = 7, strong = 1,
/// weak = 1}`, the weak count being the `Weak`s there are. Once no strong
/// reference is left, the value is gone: `Weak(strong=0, weak=1)`; one
/// that `Weak::new()` made points nowhere: `Weak(dangling)`.
fn weak(v: &Variable) -> Option<String> {
    if v.symbol.as_deref() == Some("dangling") {
        return Some("Weak(dangling)".into());
    }
    let (value, strong, weak) = shared_inner(v)?;
    if strong == 0 {
        return Some(format!("Weak(strong=0, weak={weak})"));
    }
    let weak = weak.checked_sub(1)?;
    Some(format!(
        "Weak(strong={strong}, weak={weak}) = {{value = {}, strong = {strong}, weak = {weak}}}",
        c_value(value)
    ))
}

/// The value and the strong and weak counts (as the `RcInner` or
/// `ArcInner` holds them) of an `Rc`, `Arc` or `Weak`.
fn shared_inner(v: &Variable) -> Option<(&Variable, u64, u64)> {
    let inner = pointee(v, "ptr")?;
    let count = |name| u64::try_from(number(named(inner, name)?)?).ok();
    let value = named(inner, "value").or_else(|| named(inner, "data"))?;
    Some((value, count("strong")?, count("weak")?))
}

/// A `Cell` as rust-gdb prints it: `Cell = {value = 42}`.
fn cell(v: &Variable) -> Option<String> {
    Some(format!("Cell = {{value = {}}}", c_value(named(named(v, "value")?, "value")?)))
}

/// A `RefCell` as rust-gdb prints it: its borrow state, then the value
/// and the borrow count (`RefCell(borrow=1) = {value = 5, borrow = 1}`,
/// `RefCell(borrow_mut=1) = {value = 5, borrow = -1}`).
fn ref_cell(v: &Variable) -> Option<String> {
    let borrow = number(named(v, "borrow")?)?;
    let value = c_value(named(named(v, "value")?, "value")?);
    Some(format!("RefCell({}) = {{value = {value}, borrow = {borrow}}}", borrow_state(borrow)))
}

/// A `Ref` or `RefMut` (a borrow of a `RefCell`) as rust-gdb's printer
/// means to print it (that of Rust 1.95 fails on its `NonNull`): the
/// borrow state, then the value borrowed and the borrow count
/// (`Ref(borrow=1) = {*value = 5, borrow = 1}`). None when the snapshot
/// lacks what its pointers point to (`--deref-depth 0`).
fn cell_ref(v: &Variable) -> Option<String> {
    let value = c_value(pointee(v, "value")?);
    let borrow = number(pointee(named(v, "borrow")?, "borrow")?)?;
    Some(format!("Ref({}) = {{*value = {value}, borrow = {borrow}}}", borrow_state(borrow)))
}

/// A `RefCell`'s borrow count as rust-gdb says it: shared borrows count
/// up, a mutable one is -1.
fn borrow_state(borrow: i64) -> String {
    if borrow >= 0 { format!("borrow={borrow}") } else { format!("borrow_mut={}", -borrow) }
}

/// Wrapper structs (`NonNull`, `Unique`, `Cell`, `UnsafeCell`, atomics)
/// are gone down at most.
const MAX_WRAPPERS: usize = 8;

/// The member `name` of `v`.
fn named<'v>(v: &'v Variable, name: &str) -> Option<&'v Variable> {
    v.members.iter().find(|m| m.name == name)
}

/// What the pointer in the member `name` of `v` points to, down the
/// pointer's wrappers (`NonNull`, `Unique`: their `pointer`).
fn pointee<'v>(v: &'v Variable, name: &str) -> Option<&'v Variable> {
    let mut ptr = named(v, name)?;
    for _ in 0..MAX_WRAPPERS {
        if let Some(target) = &ptr.target {
            return Some(target);
        }
        ptr = named(ptr, "pointer")?;
    }
    None
}

/// The one integer inside `v`'s wrappers (a `Cell`, an atomic).
fn number(mut v: &Variable) -> Option<i64> {
    for _ in 0..MAX_WRAPPERS {
        match (&v.value, &v.members[..]) {
            (Value::Int(n), []) => return Some(*n),
            (Value::UInt(n), []) => return i64::try_from(*n).ok(),
            (Value::Null, [only]) => v = only,
            _ => return None,
        }
    }
    None
}
