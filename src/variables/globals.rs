//! Variables outside frames: the globals and thread-locals a unit defines
//! at file or namespace scope, found by one pass over each unit's top
//! level (done once per module, and only for modules asked about).

use gimli::AttributeValue;

use super::types::children;
use crate::debuginfo::dwarf::{Die, DwarfInfo};

/// A variable defined at file or namespace scope.
#[derive(Clone)]
pub struct GlobalDie<'d, 'a> {
    pub die: Die<'d, 'a>,
    /// Its name with namespaces (`shop::inventory`).
    pub name: String,
    /// Thread-local: its location is an offset in the module's TLS block.
    pub tls: bool,
    /// The compilation unit's name (its primary source file).
    pub cu: Option<String>,
}

/// Namespace nesting followed at most.
const MAX_NAMESPACE_DEPTH: usize = 16;

/// Every variable definition at file or namespace scope of `dwarf`.
pub fn scan<'d, 'a>(dwarf: &'d DwarfInfo<'a>) -> Vec<GlobalDie<'d, 'a>> {
    let mut out = Vec::new();
    for root in dwarf.unit_roots() {
        let cu = root.unit.unit.name.map(|n| n.to_string_lossy().into_owned());
        collect(&root, cu.as_deref(), 0, &mut out);
    }
    out
}

fn collect<'d, 'a>(scope: &Die<'d, 'a>, cu: Option<&str>, depth: usize, out: &mut Vec<GlobalDie<'d, 'a>>) {
    for (tag, child) in children(scope) {
        match tag {
            gimli::DW_TAG_namespace if depth < MAX_NAMESPACE_DEPTH => collect(&child, cu, depth + 1, out),
            gimli::DW_TAG_variable => {
                let Some(location) = child.attr(gimli::DW_AT_location) else { continue };
                let Some(name) = child.name() else { continue };
                // A definition of a declaration elsewhere (a class's static
                // member, say) takes its scope from the declaration.
                let named = child.follow(gimli::DW_AT_specification).unwrap_or_else(|| child.clone());
                out.push(GlobalDie {
                    name: format!("{}{name}", named.scope_prefix()),
                    tls: is_tls(&location),
                    cu: cu.map(str::to_string),
                    die: child,
                });
            }
            _ => {}
        }
    }
}

/// Whether a location expression addresses thread-local storage.
fn is_tls(location: &AttributeValue<crate::unwind::cfi::Slice<'_>>) -> bool {
    let AttributeValue::Exprloc(expr) = location else { return false };
    let mut ops = (*expr).operations(super::location::ENCODING);
    while let Ok(Some(op)) = ops.next() {
        if matches!(op, gimli::Operation::TLS) {
            return true;
        }
    }
    false
}
