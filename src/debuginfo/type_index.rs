//! Type definitions by name, to complete a type a unit only declares.
//!
//! Compilers describe a type fully in one unit and declare it elsewhere:
//! gcc and clang emit a C++ class with a key function (its first
//! non-inline virtual function) only in the unit defining that function,
//! and a C `struct opaque` behind a pointer is defined in the one .c file
//! that needs its members. gdb completes such a declaration by looking the
//! type's qualified name up in every unit of every module; so does this,
//! walking only the units whose bytes may hold the definition
//! ([`super::type_candidates`]) the first time a name is looked up, and
//! keeping the definitions found there for later names (most snapshots
//! look none up; a big executable's every unit would take longer than the
//! rest of the snapshot).
//!
//! The definitions kept are those at file and namespace scope and those
//! nested in classes, by kind (struct or class, union, enum) and qualified
//! name (`app::Logger`, `opaque`), the first in unit order winning, as if
//! every unit had been walked: a name's candidate units are walked in
//! order up to the first that defines it. A walk goes through the children
//! of unit roots, namespaces and classes only, skipping function bodies
//! (by their sibling links), down to [`MAX_INDEX_DEPTH`] and through at
//! most [`MAX_INDEX_DIES`] DIEs over all lookups, so that hostile DWARF
//! cannot make it take unbounded time while the target is stopped.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use gimli::{AttributeValue, DwTag};

use super::dwarf::{Die, DwarfInfo, NamesPass, is_c};
use super::type_candidates::NameFilter;

/// Scopes (namespaces, classes) nested in each other that are searched
/// for definitions.
const MAX_INDEX_DEPTH: usize = 16;

/// DIEs looked at in one module's units at most: libc's top levels take
/// about a quarter of this.
const MAX_INDEX_DIES: usize = 1 << 22;

/// What a name is a name of: a struct and a class of one name are one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeTag {
    Record,
    Union,
    Enum,
}

impl TypeTag {
    pub fn of(tag: DwTag) -> Option<TypeTag> {
        match tag {
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type => Some(TypeTag::Record),
            gimli::DW_TAG_union_type => Some(TypeTag::Union),
            gimli::DW_TAG_enumeration_type => Some(TypeTag::Enum),
            _ => None,
        }
    }
}

/// A unit's place in the order definitions are found in: `.debug_info`'s
/// units in section order, then `.debug_types`'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Place {
    types: bool,
    index: usize,
}

/// One module's type definitions by kind and qualified name, from the
/// units walked so far.
pub struct TypeIndex<'d, 'a> {
    dwarf: &'d DwarfInfo<'a>,
    walked: HashSet<Place>,
    /// Each definition with the place of its unit.
    definitions: HashMap<(TypeTag, Box<str>), (Place, Die<'d, 'a>)>,
    /// DIEs left to look at.
    budget: usize,
}

impl<'d, 'a> TypeIndex<'d, 'a> {
    /// The index of `dwarf`'s units (type units included), none walked yet.
    pub fn new(dwarf: &'d DwarfInfo<'a>) -> Self {
        TypeIndex { dwarf, walked: HashSet::default(), definitions: HashMap::default(), budget: MAX_INDEX_DIES }
    }

    /// The definition of the type of `tag` named `name` inside `scopes`
    /// (outermost first), walking the units that may hold it.
    ///
    /// The index keeps copies of the names: the strings' pages are let go
    /// as it goes ([`NamesPass`]).
    pub fn find(&mut self, tag: TypeTag, scopes: &[&str], name: &str) -> Option<Die<'d, 'a>> {
        let qualified: String = scopes.iter().flat_map(|s| [*s, "::"]).chain([name]).collect();
        let key = (tag, qualified.into_boxed_str());
        let filter = NameFilter::new(scopes, name);
        // The units walked before this lookup are passed over; those it
        // walks go into a set of their own, merged at its end.
        let (dwarf, walked) = (self.dwarf, std::mem::take(&mut self.walked));
        let unwalked = |place| !walked.contains(&place);
        let units = dwarf
            .numbered_unit_roots_where(
                |index| unwalked(Place { types: false, index }),
                |dwarf, bytes| filter.may_define(dwarf, bytes),
            )
            .map(|(index, root)| (Place { types: false, index }, root));
        let type_units = dwarf.type_unit_roots().enumerate().map(|(index, root)| (Place { types: true, index }, root));
        let mut names = NamesPass::new(dwarf);
        for (place, root) in units.chain(type_units.filter(|(place, _)| unwalked(*place))) {
            // The units before this one that may define it are walked.
            if self.budget == 0 || self.definitions.get(&key).is_some_and(|(found, _)| *found < place) {
                break;
            }
            self.walked.insert(place);
            let c = is_c(root.unit.language);
            self.collect(place, &root, &mut String::new(), c, 0);
            names.passed(&root.unit.unit);
        }
        self.walked.extend(walked);
        self.definitions.get(&key).map(|(_, die)| die.clone())
    }

    /// Adds the definitions among the children of `scope`, whose names
    /// take `prefix` (`A::B::`; always empty in C).
    fn collect(&mut self, place: Place, scope: &Die<'d, 'a>, prefix: &mut String, c: bool, depth: usize) {
        if depth >= MAX_INDEX_DEPTH {
            return;
        }
        let Ok(mut tree) = scope.unit.unit.entries_tree(Some(scope.offset)) else { return };
        let Ok(root) = tree.root() else { return };
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
            let entry = child.entry();
            // Most DIEs here are functions and variables: their names are
            // not read.
            let tag = TypeTag::of(entry.tag());
            if tag.is_none() && entry.tag() != gimli::DW_TAG_namespace {
                continue;
            }
            let die = Die { dwarf: scope.dwarf, unit: scope.unit.clone(), offset: entry.offset() };
            let name = entry.attr_value(gimli::DW_AT_name).and_then(|v| die.string(v));
            let Some(tag) = tag else {
                let name = name.unwrap_or_else(|| super::dwarf::ANONYMOUS_NAMESPACE.into());
                self.nested(place, &die, prefix, &name, c, depth);
                continue;
            };
            let flag = |attr| matches!(entry.attr_value(attr), Some(AttributeValue::Flag(true)));
            let declaration = flag(gimli::DW_AT_declaration) || entry.attr(gimli::DW_AT_signature).is_some();
            let qualified = match (entry.attr_value(gimli::DW_AT_specification), &name) {
                // A class defined outside the class or namespace it is
                // declared in (as gcc's type units do) is named there.
                (Some(v), _) => die.reference(v).and_then(|d| Some(format!("{}{}", d.scope_prefix(), d.name()?))),
                (None, Some(name)) => Some(format!("{prefix}{name}")),
                (None, None) => None,
            };
            if let Some(qualified) = qualified.filter(|_| !declaration) {
                // A unit walked later may come first.
                let found = self.definitions.entry((tag, qualified.into())).or_insert((place, die.clone()));
                if place < found.0 {
                    *found = (place, die.clone());
                }
            }
            // C has no nested scopes: gcc and clang put every C struct at
            // the top.
            if let (Some(name), TypeTag::Record | TypeTag::Union, false) = (name, tag, c) {
                self.nested(place, &die, prefix, &name, c, depth);
            }
        }
    }

    /// [`Self::collect`] in a namespace or class named `name`.
    fn nested(&mut self, place: Place, scope: &Die<'d, 'a>, prefix: &mut String, name: &str, c: bool, depth: usize) {
        let before = prefix.len();
        prefix.push_str(name);
        prefix.push_str("::");
        self.collect(place, scope, prefix, c, depth + 1);
        prefix.truncate(before);
    }
}

#[cfg(test)]
#[path = "type_index_tests.rs"]
mod tests;
