//! Type definitions by name, to complete a type a unit only declares.
//!
//! Compilers describe a type fully in one unit and declare it elsewhere:
//! gcc and clang emit a C++ class with a key function (its first
//! non-inline virtual function) only in the unit defining that function,
//! and a C `struct opaque` behind a pointer is defined in the one .c file
//! that needs its members. gdb completes such a declaration by looking the
//! type's qualified name up in every unit of every module; so does this,
//! with an index of a module's type definitions built the first time a
//! declaration of that module needs completing (most snapshots never
//! build one).
//!
//! The index holds the definitions at file and namespace scope and those
//! nested in classes, by kind (struct or class, union, enum) and qualified
//! name (`app::Logger`, `opaque`), the first definition found for a name
//! winning. Building it walks the children of unit roots, namespaces and
//! classes only, skipping function bodies (by their sibling links), down to
//! [`MAX_INDEX_DEPTH`] and through at most [`MAX_INDEX_DIES`] DIEs, so that
//! hostile DWARF cannot make it take unbounded time while the target is
//! stopped.

use rustc_hash::FxHashMap as HashMap;

use gimli::{AttributeValue, DwTag};

use super::dwarf::{Die, DwarfInfo, NamesPass, is_c};

/// Scopes (namespaces, classes) nested in each other that are searched
/// for definitions.
const MAX_INDEX_DEPTH: usize = 16;

/// DIEs looked at to build one module's index at most: libc's top levels
/// take about a quarter of this.
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

/// One module's type definitions by kind and qualified name.
pub struct TypeIndex<'d, 'a> {
    definitions: HashMap<(TypeTag, Box<str>), Die<'d, 'a>>,
}

impl<'d, 'a> TypeIndex<'d, 'a> {
    /// Indexes every unit (type units included) of `dwarf`.
    ///
    /// The index keeps copies of the names: the strings' pages are let go
    /// as it goes ([`NamesPass`]).
    pub fn build(dwarf: &'d DwarfInfo<'a>) -> Self {
        let mut index = TypeIndex { definitions: HashMap::default() };
        let mut budget = MAX_INDEX_DIES;
        let mut names = NamesPass::new(dwarf);
        for root in dwarf.unit_roots().chain(dwarf.type_unit_roots()) {
            let c = is_c(root.unit.language);
            index.collect(&root, &mut String::new(), c, 0, &mut budget);
            names.passed(&root.unit.unit);
            if budget == 0 {
                break;
            }
        }
        index
    }

    /// The definition of the type of `tag` named `name` (with its scopes).
    pub fn find(&self, tag: TypeTag, name: &str) -> Option<&Die<'d, 'a>> {
        self.definitions.get(&(tag, name.into()))
    }

    /// Adds the definitions among the children of `scope`, whose names
    /// take `prefix` (`A::B::`; always empty in C).
    fn collect(&mut self, scope: &Die<'d, 'a>, prefix: &mut String, c: bool, depth: usize, budget: &mut usize) {
        if depth >= MAX_INDEX_DEPTH {
            return;
        }
        let Ok(mut tree) = scope.unit.unit.entries_tree(Some(scope.offset)) else { return };
        let Ok(root) = tree.root() else { return };
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            if *budget == 0 {
                return;
            }
            *budget -= 1;
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
                let name = name.unwrap_or_else(|| "(anonymous namespace)".into());
                self.nested(&die, prefix, &name, c, depth, budget);
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
                self.definitions.entry((tag, qualified.into())).or_insert(die.clone());
            }
            // C has no nested scopes: gcc and clang put every C struct at
            // the top.
            if let (Some(name), TypeTag::Record | TypeTag::Union, false) = (name, tag, c) {
                self.nested(&die, prefix, &name, c, depth, budget);
            }
        }
    }

    /// [`Self::collect`] in a namespace or class named `name`.
    fn nested(
        &mut self,
        scope: &Die<'d, 'a>,
        prefix: &mut String,
        name: &str,
        c: bool,
        depth: usize,
        budget: &mut usize,
    ) {
        let before = prefix.len();
        prefix.push_str(name);
        prefix.push_str("::");
        self.collect(scope, prefix, c, depth + 1, budget);
        prefix.truncate(before);
    }
}
