//! Rust values as rust-gdb (gdb with the Rust standard library's pretty
//! printers) prints them, for [`super::c_value`]: an enum's active variant
//! (`core::option::Option<i32>::Some(5)`) and, for a value whose type is a
//! Rust unit's (`language` `rust`), Rust's syntax for structs, tuples and
//! arrays here; the standard library's types in [`super::rust_std`].

use crate::snapshot::{Kind, Language, ValueLocation, Variable};

use super::{c_value, rust_std};

/// `v` as rust-gdb prints it, when it is a Rust value printed otherwise
/// than C's way.
pub(super) fn value(v: &Variable) -> Option<String> {
    if let Some(variant) = active_variant(v) {
        return Some(rust_variant(v, variant));
    }
    rust_std::value(v).or_else(|| (v.language == Some(Language::Rust)).then(|| syntax(v)).flatten())
}

/// A Rust struct, tuple or array as gdb's Rust support prints it: a
/// struct with its type and named fields (`containers::Point {x: 5, y:
/// 6}`), a tuple struct with its type and positional fields
/// (`containers::Pair (1, -2)`), a tuple (`(1, 2.5, true)`), a struct
/// without fields as its type (`alloc::alloc::Global`), the unit value
/// `()`, an array `[1, 2, 3]`. None for other values, and for a struct
/// that could not be read (it prints as C's).
fn syntax(v: &Variable) -> Option<String> {
    if &*v.type_name == "()" && v.location == ValueLocation::Memory {
        // The unit type: rustc makes it a base type of no bytes.
        return Some("()".into());
    }
    let more = if v.truncated { "..." } else { "" };
    let tuple = v.type_name.starts_with('(');
    match v.kind {
        Kind::Array => {
            let elements: Vec<String> = v.elements.iter().map(c_value).collect();
            Some(format!("[{}{more}]", elements.join(", ")))
        }
        Kind::Tuple if !v.members.is_empty() => {
            let positional = v.members.iter().enumerate().all(|(i, m)| m.name == format!("__{i}"));
            let fields: Vec<String> = if positional {
                v.members.iter().map(c_value).collect()
            } else {
                v.members.iter().map(|m| format!("{}: {}", m.name, c_value(m))).collect()
            };
            let fields = fields.join(", ");
            Some(match (tuple, positional) {
                (true, _) => format!("({fields}{more})"),
                (false, true) => format!("{} ({fields}{more})", v.type_name),
                (false, false) => format!("{} {{{fields}{more}}}", v.type_name),
            })
        }
        Kind::Tuple if v.location == ValueLocation::Memory && v.error.is_none() && !v.truncated => {
            Some(if tuple { "()".into() } else { v.type_name.to_string() })
        }
        _ => None,
    }
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
