//! Rust values as rust-gdb (gdb with the Rust standard library's pretty
//! printers) prints them, for [`super::c_value`]: an enum's active variant
//! (`core::option::Option<i32>::Some(5)`) here, the standard library's
//! types in [`super::rust_std`].

use crate::snapshot::{Kind, Variable};

use super::{c_value, rust_std};

/// `v` as rust-gdb prints it, when it is a Rust value printed otherwise
/// than C's way.
pub(super) fn value(v: &Variable) -> Option<String> {
    if let Some(variant) = active_variant(v) {
        return Some(rust_variant(v, variant));
    }
    rust_std::value(v)
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
