//! Variables outside frames: the globals and thread-locals a unit defines
//! at file or namespace scope, found by one pass over each unit's top
//! level and namespaces (done once per module, and only for modules
//! asked about).

use gimli::AttributeValue;

use crate::debuginfo::dwarf::{Die, DwarfInfo, NamesPass};
use crate::unwind::cfi::Slice;

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
    scan_units(dwarf, dwarf.unit_roots())
}

/// The thread-local variables among them, found parsing only the units
/// whose bytes may hold a TLS location ([`super::tls_candidates`]): the
/// same variables, in the same order, as [`scan`] marks `tls`.
pub fn scan_tls<'d, 'a>(dwarf: &'d DwarfInfo<'a>) -> Vec<GlobalDie<'d, 'a>> {
    let segment = dwarf.tls_segment();
    let units = dwarf.unit_roots_where(move |bytes| super::tls_candidates::may_define_tls(bytes, segment));
    let mut out = scan_units(dwarf, units);
    out.retain(|g| g.tls);
    out
}

/// The variables at file or namespace scope of the units of `roots` (of
/// `dwarf`). Their names are copies: the strings read on the way (every
/// namespace's) are let go as it goes ([`NamesPass`]).
fn scan_units<'d, 'a>(dwarf: &'d DwarfInfo<'a>, roots: impl Iterator<Item = Die<'d, 'a>>) -> Vec<GlobalDie<'d, 'a>> {
    let mut out = Vec::new();
    let mut names = NamesPass::new(dwarf);
    for root in roots {
        names.passed(&root.unit.unit);
        let cu = root.unit.unit.name.map(|n| n.to_string_lossy().into_owned());
        let Ok(mut tree) = root.unit.unit.entries_tree(Some(root.offset)) else { continue };
        let Ok(node) = tree.root() else { continue };
        let mut scan = UnitScan { root: &root, cu: cu.as_deref(), prefix: String::new(), out: &mut out };
        scan.collect(node, 0);
    }
    out
}

/// One pass over a unit's tree, entering namespaces only. The tree is
/// walked with one cursor, so every DIE is read once however deep the
/// namespaces nest (Rust and C++ units nest them deeply, and a unit's
/// functions, skipped, hold most of its DIEs).
struct UnitScan<'s, 'd, 'a> {
    root: &'s Die<'d, 'a>,
    cu: Option<&'s str>,
    /// The `a::b::` of the namespaces around the DIEs being read.
    prefix: String,
    out: &'s mut Vec<GlobalDie<'d, 'a>>,
}

impl<'d, 'a> UnitScan<'_, 'd, 'a> {
    fn collect(&mut self, node: gimli::EntriesTreeNode<'_, '_, Slice<'a>>, depth: usize) {
        let mut children = node.children();
        while let Ok(Some(child)) = children.next() {
            let die = Die { dwarf: self.root.dwarf, unit: self.root.unit.clone(), offset: child.entry().offset() };
            match child.entry().tag() {
                gimli::DW_TAG_namespace if depth < MAX_NAMESPACE_DEPTH => {
                    let before = self.prefix.len();
                    let name = die.name();
                    self.prefix.push_str(name.as_deref().unwrap_or(crate::debuginfo::dwarf::ANONYMOUS_NAMESPACE));
                    self.prefix.push_str("::");
                    self.collect(child, depth + 1);
                    self.prefix.truncate(before);
                }
                gimli::DW_TAG_variable => self.variable(die),
                _ => {}
            }
        }
    }

    fn variable(&mut self, die: Die<'d, 'a>) {
        let Some(location) = die.attr(gimli::DW_AT_location) else { return };
        let Some(name) = die.name() else { return };
        // A definition of a declaration elsewhere (a class's static member,
        // say) takes its scope from the declaration.
        let prefix = match die.follow(gimli::DW_AT_specification) {
            Some(declaration) => declaration.scope_prefix(),
            None => self.prefix.clone(),
        };
        self.out.push(GlobalDie {
            name: format!("{prefix}{name}"),
            tls: is_tls(&location),
            cu: self.cu.map(str::to_string),
            die,
        });
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

#[cfg(test)]
#[path = "globals_tests.rs"]
mod tests;
