//! DWARF types as the value reader needs them, and their C/C++ spelling.
//!
//! A type DIE is parsed once per run into a [`Type`] and cached by its
//! identity; references to other types stay [`TypeId`]s resolved on use, so
//! recursive types (`struct node { struct node *next; }`) cost nothing
//! until a value actually walks them. Names are spelled as a C or C++
//! programmer would write the declaration without its identifier, built
//! inside-out like a declarator: `int [3][4]`, `const char *`,
//! `int (*)(int, char)`, `struct node *`.

use rustc_hash::FxHashMap as HashMap;
use std::cell::{Cell, RefCell};
use std::ops::ControlFlow;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use gimli::{AttributeValue, DwAte};

use super::variants::VariantPart;
use crate::debuginfo::ModuleSet;
use crate::debuginfo::dwarf::{Die, DwarfInfo, is_c};
use crate::debuginfo::type_index::{TypeIndex, TypeTag};
use crate::snapshot::{Kind, Language, TypeOrigin};
use crate::unwind::cfi::Slice;

pub type TypeId<'d, 'a> = Die<'d, 'a>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier {
    Const,
    Volatile,
    Restrict,
    Atomic,
}

impl Qualifier {
    fn as_str(self) -> &'static str {
        match self {
            Qualifier::Const => "const",
            Qualifier::Volatile => "volatile",
            Qualifier::Restrict => "restrict",
            Qualifier::Atomic => "_Atomic",
        }
    }
}

/// An array dimension's element count, as DWARF gives it.
#[derive(Clone)]
pub enum Bound<'d, 'a> {
    Count(u64),
    /// A bound computed at run time (VLA): a DWARF expression, giving the
    /// upper bound (true) or the count (false).
    Expr(gimli::Expression<Slice<'a>>, bool),
    /// A bound held by a (usually artificial) variable (VLA); upper bound
    /// (true) or count (false).
    Variable(Die<'d, 'a>, bool),
    /// No count: a flexible or incomplete array.
    Unknown,
}

#[derive(Clone)]
pub struct Member<'d, 'a> {
    /// `None` for anonymous struct/union members.
    pub name: Option<String>,
    pub ty: Option<TypeId<'d, 'a>>,
    pub offset: u64,
    /// (bit offset from the start of `offset`, bit size) of a bit field.
    pub bits: Option<(u64, u64)>,
    /// A base class (`DW_TAG_inheritance`).
    pub base_class: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompositeTag {
    Struct,
    Class,
    Union,
}

#[derive(Clone)]
pub enum TypeKind<'d, 'a> {
    Base(DwAte),
    Pointer(Option<TypeId<'d, 'a>>),
    Reference {
        target: Option<TypeId<'d, 'a>>,
        rvalue: bool,
    },
    PointerToMember(Option<TypeId<'d, 'a>>),
    Qualified(Qualifier, Option<TypeId<'d, 'a>>),
    Typedef(Option<TypeId<'d, 'a>>),
    Composite {
        tag: CompositeTag,
        members: Vec<Member<'d, 'a>>,
        declaration: bool,
        /// A variant part (a Rust enum): members that depend on a
        /// discriminant.
        variants: Option<Rc<VariantPart<'d, 'a>>>,
    },
    Array {
        element: Option<TypeId<'d, 'a>>,
        dims: Vec<Bound<'d, 'a>>,
    },
    Enum {
        underlying: Option<TypeId<'d, 'a>>,
        enumerators: Vec<(String, i128)>,
        signed: bool,
    },
    Function {
        ret: Option<TypeId<'d, 'a>>,
        params: Vec<Option<TypeId<'d, 'a>>>,
        varargs: bool,
    },
    /// `void`-like types: `DW_TAG_unspecified_type` (`decltype(nullptr)`).
    Unspecified,
}

#[derive(Clone)]
pub struct Type<'d, 'a> {
    /// The name with its namespaces and classes (`shop::Item`).
    pub name: Option<String>,
    pub size: Option<u64>,
    pub kind: TypeKind<'d, 'a>,
    /// C spells `struct`, `union` and `enum` before a tag name; C++ does not.
    pub c_language: bool,
    /// Rust has no character type of one byte: its `u8` and `i8` are
    /// integers, and `[u8]` is no string (gdb's Rust printing agrees).
    pub rust_language: bool,
}

impl Type<'_, '_> {
    /// Whether values of this (resolved) type are characters, so that a
    /// pointer to them or an array of them is a string: every one-byte
    /// integer or character type, as gdb decides (`char`, `signed char`,
    /// `unsigned char`, `char8_t`; `uint8_t` and `int8_t` once their
    /// typedefs are resolved), but not `bool`, and none in Rust.
    pub fn is_char(&self) -> bool {
        if self.rust_language {
            return false;
        }
        let one_byte_integer = matches!(
            self.kind,
            TypeKind::Base(
                gimli::DW_ATE_signed_char
                    | gimli::DW_ATE_unsigned_char
                    | gimli::DW_ATE_signed
                    | gimli::DW_ATE_unsigned
                    | gimli::DW_ATE_UTF
            )
        );
        self.size == Some(1) && (one_byte_integer || is_char_name(self.name.as_deref()))
    }
}

/// The names of C's character types (a base type named so is one, whatever
/// its encoding says).
pub fn is_char_name(name: Option<&str>) -> bool {
    matches!(name, Some("char" | "signed char" | "unsigned char" | "char8_t"))
}

/// The definition of a declared type, parsed; none when no module has one.
type Definition<'d, 'a> = Option<Rc<Type<'d, 'a>>>;

/// Parsed types and their spellings for one run.
pub struct Types<'d, 'a> {
    /// The modules whose DWARF completes a type another declares.
    modules: &'d ModuleSet<'a>,
    /// Each DWARF's type definitions by name (by [`Die::key`]'s DWARF),
    /// found as declarations are completed.
    indexes: RefCell<HashMap<usize, TypeIndex<'d, 'a>>>,
    /// The definition found for each declaration, or none.
    definitions: RefCell<HashMap<(usize, usize), Definition<'d, 'a>>>,
    parsed: RefCell<HashMap<(usize, usize), Rc<Type<'d, 'a>>>>,
    names: RefCell<HashMap<(usize, usize), Arc<str>>>,
    base_names: RefCell<HashMap<(usize, usize), Arc<str>>>,
    summaries: RefCell<HashMap<(usize, usize), Rc<Summary<'d, 'a>>>>,
    /// The DWARFs types were read from, numbered for [`TypeOrigin`].
    dwarfs: OriginNumbers,
}

/// The numbers [`TypeOrigin`]s give DWARFs, by their identity
/// ([`crate::debuginfo::dwarf::DwarfInfo::identity`]): shared by the
/// extractors of one snapshot, each with a module set of its own, so that
/// an origin one of them made names the same type in the others.
#[derive(Clone, Default)]
pub struct OriginNumbers(Arc<Mutex<Vec<usize>>>);

/// What every variable of a type needs, looked up once per type: its
/// spelling, base name, size and the type under typedefs and qualifiers.
pub struct Summary<'d, 'a> {
    pub name: Arc<str>,
    pub base_name: Arc<str>,
    pub size: Option<u64>,
    pub resolved: Option<(TypeId<'d, 'a>, Rc<Type<'d, 'a>>)>,
    pub kind: Kind,
    /// The type is a Rust unit's, whose values read in Rust's syntax.
    pub language: Option<Language>,
    /// Why the type cannot be used for a value (corrupt DWARF).
    pub error: Option<TypeError>,
}

/// A type that corrupt or hostile DWARF makes unusable: every walk over
/// type references is bounded, and one that hits its bound says so
/// instead of looping or overflowing the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    #[error("the type's typedef and qualifier chain does not end (corrupt DWARF)")]
    EndlessChain,
    #[error("the type nests too deep to size (corrupt DWARF)")]
    TooDeep,
}

/// How deep typedef/qualifier/pointer chains and nested types are followed
/// before giving up (corrupt DWARF can make them cycle).
const MAX_CHAIN: usize = 32;

/// Type DIEs visited to spell one name at most: a function type's
/// parameters fan out, so depth alone would allow exponential work.
const MAX_SPELL_STEPS: usize = 512;

/// What a spelling cut by [`MAX_CHAIN`] or [`MAX_SPELL_STEPS`] shows.
const TOO_DEEP: &str = "<too deep>";

impl<'d, 'a> Types<'d, 'a> {
    pub fn new(modules: &'d ModuleSet<'a>) -> Self {
        Types {
            modules,
            indexes: RefCell::default(),
            definitions: RefCell::default(),
            parsed: RefCell::default(),
            names: RefCell::default(),
            base_names: RefCell::default(),
            summaries: RefCell::default(),
            dwarfs: OriginNumbers::default(),
        }
    }

    /// These types number their origins as `numbers` does.
    pub fn numbering_origins_as(self, numbers: OriginNumbers) -> Self {
        Types { dwarfs: numbers, ..self }
    }

    pub fn origin_numbers(&self) -> OriginNumbers {
        self.dwarfs.clone()
    }

    /// The type a DIE describes; a declaration that names its type unit
    /// (`DW_AT_signature`) describes the type there.
    pub fn get(&self, id: &TypeId<'d, 'a>) -> Rc<Type<'d, 'a>> {
        let key = id.key();
        if let Some(t) = self.parsed.borrow().get(&key) {
            return t.clone();
        }
        let t = Rc::new(parse(&id.follow(gimli::DW_AT_signature).unwrap_or_else(|| id.clone())));
        self.parsed.borrow_mut().insert(key, t.clone());
        t
    }

    /// The definition of a struct, class, union or enum that `id` (whose
    /// type is `t`) only declares, looked up by its qualified name in its
    /// own module's DWARF, then in every other module's, as gdb does.
    pub fn definition(&self, id: &TypeId<'d, 'a>, t: &Type<'d, 'a>) -> Option<Rc<Type<'d, 'a>>> {
        let declared = match &t.kind {
            TypeKind::Composite { declaration, .. } => *declaration,
            TypeKind::Enum { enumerators, .. } => {
                enumerators.is_empty() && matches!(id.attr(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true)))
            }
            _ => false,
        };
        if !declared {
            return None;
        }
        if let Some(found) = self.definitions.borrow().get(&id.key()) {
            return found.clone();
        }
        let found = self.find_definition(id).map(|def| self.get(&def));
        self.definitions.borrow_mut().insert(id.key(), found.clone());
        found
    }

    fn find_definition(&self, id: &TypeId<'d, 'a>) -> Option<TypeId<'d, 'a>> {
        let entry = id.entry()?;
        let tag = TypeTag::of(entry.tag())?;
        let name = id.string(entry.attr_value(gimli::DW_AT_name)?)?;
        let scopes = id.scopes();
        let own = id.dwarf;
        let others = self.modules.iter().filter_map(|m| m.dwarf()).filter(|d| !std::ptr::eq(*d, own));
        let mut dwarfs = std::iter::once(own).chain(own.sup()).chain(others);
        let found = dwarfs.find_map(|dwarf| {
            let mut indexes = self.indexes.borrow_mut();
            let index = indexes.entry(dwarf as *const DwarfInfo<'a> as usize).or_insert_with(|| TypeIndex::new(dwarf));
            index.find(tag, &scopes, &name)
        })?;
        // A definition is no declaration, unless the DWARF is corrupt.
        (found.key() != id.key()).then_some(found)
    }

    /// A compact name for a type DIE, valid for this run.
    pub fn origin(&self, id: &TypeId<'d, 'a>) -> Option<TypeOrigin> {
        let (dwarf, offset) = (id.dwarf.identity(), id.key().1);
        let offset = std::num::NonZeroU32::new(u32::try_from(offset).ok()?)?;
        let mut dwarfs = self.dwarfs.0.lock().unwrap_or_else(|e| e.into_inner());
        let index = match dwarfs.iter().position(|&d| d == dwarf) {
            Some(i) => i,
            None => {
                dwarfs.push(dwarf);
                dwarfs.len() - 1
            }
        };
        Some(TypeOrigin { dwarf: u32::try_from(index).ok()?, offset })
    }

    /// The DWARF (its identity) and `.debug_info` offset an origin names.
    pub fn origin_key(&self, origin: TypeOrigin) -> Option<(usize, usize)> {
        let dwarf = *self.dwarfs.0.lock().unwrap_or_else(|e| e.into_inner()).get(origin.dwarf as usize)?;
        Some((dwarf, origin.offset.get() as usize))
    }

    /// The summary of a type (`void` for none), cached.
    pub fn summary(&self, id: Option<&TypeId<'d, 'a>>) -> Rc<Summary<'d, 'a>> {
        let key = id.map_or((0, 0), |i| i.key());
        if let Some(s) = self.summaries.borrow().get(&key) {
            return s.clone();
        }
        let ((resolved, size), error) = match (self.resolve_chain(id), self.size_within(id, 0)) {
            (Ok(resolved), Ok(size)) => ((resolved, size), None),
            (Err(e), _) | (_, Err(e)) => ((None, None), Some(e)),
        };
        let summary = Rc::new(Summary {
            name: self.name(id),
            base_name: self.base_name(id),
            size,
            kind: resolved.as_ref().map_or(Kind::Bottom, |(_, t)| kind_of(self, t)),
            language: resolved.as_ref().and_then(|(_, t)| t.rust_language.then_some(Language::Rust)),
            resolved,
            error,
        });
        self.summaries.borrow_mut().insert(key, summary.clone());
        summary
    }

    /// The type with typedefs and qualifiers peeled off, and its id.
    pub fn resolve(&self, id: Option<&TypeId<'d, 'a>>) -> Option<(TypeId<'d, 'a>, Rc<Type<'d, 'a>>)> {
        self.resolve_chain(id).ok().flatten()
    }

    /// [`Self::resolve`], telling a chain that does not end (a cycle of
    /// qualifiers, say) from one that ends in `void`.
    fn resolve_chain(
        &self,
        id: Option<&TypeId<'d, 'a>>,
    ) -> Result<Option<(TypeId<'d, 'a>, Rc<Type<'d, 'a>>)>, TypeError> {
        let Some(mut id) = id.cloned() else { return Ok(None) };
        for _ in 0..MAX_CHAIN {
            let t = self.get(&id);
            match &t.kind {
                TypeKind::Typedef(Some(next)) | TypeKind::Qualified(_, Some(next)) => id = next.clone(),
                TypeKind::Typedef(None) | TypeKind::Qualified(_, None) => return Ok(None),
                _ => return Ok(Some((id, t))),
            }
        }
        Err(TypeError::EndlessChain)
    }

    /// The size in bytes of a type, through typedefs and qualifiers, and
    /// for arrays with constant bounds.
    pub fn size_of(&self, id: Option<&TypeId<'d, 'a>>) -> Option<u64> {
        self.size_within(id, 0).ok().flatten()
    }

    /// [`Self::size_of`] for a type `depth` array levels down: an array
    /// whose element is itself must end in an error, not a stack overflow.
    fn size_within(&self, id: Option<&TypeId<'d, 'a>>, depth: usize) -> Result<Option<u64>, TypeError> {
        if depth > MAX_CHAIN {
            return Err(TypeError::TooDeep);
        }
        let Some((_, t)) = self.resolve_chain(id)? else { return Ok(None) };
        if let Some(size) = t.size {
            return Ok(Some(size));
        }
        Ok(match &t.kind {
            TypeKind::Pointer(_) | TypeKind::Reference { .. } => Some(8),
            TypeKind::Array { element, dims } => {
                let element = self.size_within(element.as_ref(), depth + 1)?;
                element.and_then(|size| constant_count(dims).and_then(|n| size.checked_mul(n)))
            }
            _ => None,
        })
    }

    /// The C/C++ spelling of a type (`void` for none).
    pub fn name(&self, id: Option<&TypeId<'d, 'a>>) -> Arc<str> {
        let Some(id) = id else { return "void".into() };
        let key = id.key();
        if let Some(n) = self.names.borrow().get(&key) {
            return n.clone();
        }
        let name: Arc<str> = self.spell(Some(id), String::new(), 0, &Cell::new(MAX_SPELL_STEPS)).into();
        self.names.borrow_mut().insert(key, name.clone());
        name
    }

    /// `base_type`: the name without qualifiers, pointers, references and
    /// array dimensions, and without the `struct` keyword (`crash_info`).
    pub fn base_name(&self, id: Option<&TypeId<'d, 'a>>) -> Arc<str> {
        let Some(id) = id else { return "void".into() };
        let key = id.key();
        if let Some(n) = self.base_names.borrow().get(&key) {
            return n.clone();
        }
        let name: Arc<str> = self.strip_to_base(id).into();
        self.base_names.borrow_mut().insert(key, name.clone());
        name
    }

    fn strip_to_base(&self, id: &TypeId<'d, 'a>) -> String {
        let mut id = Some(id.clone());
        for _ in 0..MAX_CHAIN {
            let Some(current) = id.clone() else { return "void".into() };
            let t = self.get(&current);
            id = match &t.kind {
                TypeKind::Qualified(_, next) | TypeKind::Pointer(next) => next.clone(),
                TypeKind::Reference { target, .. } => target.clone(),
                TypeKind::Array { element, .. } => element.clone(),
                // A typedef of a pointer, reference or array (`typedef
                // char *pointer`) has the base type of what it points to,
                // like the declarator it stands for; others keep their name.
                TypeKind::Typedef(next) if self.names_a_declarator(next.as_ref()) => next.clone(),
                // A typedef of a character type (`uint8_t`, `typedef
                // unsigned char byte`) has the character type's name:
                // what makes a pointer to it a string is that type.
                TypeKind::Typedef(next) if self.resolve(next.as_ref()).is_some_and(|(_, base)| base.is_char()) => {
                    next.clone()
                }
                _ => return t.name.clone().unwrap_or_else(|| self.name(Some(&current)).to_string()),
            };
        }
        TOO_DEEP.into()
    }

    /// Whether a type is, under typedefs and qualifiers, a pointer, a
    /// reference or an array.
    fn names_a_declarator(&self, id: Option<&TypeId<'d, 'a>>) -> bool {
        self.resolve(id).is_some_and(|(_, t)| {
            matches!(t.kind, TypeKind::Pointer(_) | TypeKind::Reference { .. } | TypeKind::Array { .. })
        })
    }

    /// Spells `id` around the declarator text `inner` (what has been
    /// wrapped so far: `*`, `[3]`, `(*)(int)`), `depth` types down, with
    /// `steps` type DIEs left to visit for the whole name.
    fn spell(&self, id: Option<&TypeId<'d, 'a>>, inner: String, depth: usize, steps: &Cell<usize>) -> String {
        let Some(id) = id else { return join("void", &inner) };
        if depth > MAX_CHAIN || steps.get() == 0 {
            return join(TOO_DEEP, &inner);
        }
        steps.set(steps.get() - 1);
        let t = self.get(id);
        let next =
            |target: &Option<TypeId<'d, 'a>>, inner: String| self.spell(target.as_ref(), inner, depth + 1, steps);
        match &t.kind {
            TypeKind::Pointer(target) => next(target, wrap_if_suffixed(self, target, format!("*{inner}"))),
            TypeKind::Reference { target, rvalue } => {
                let sigil = if *rvalue { "&&" } else { "&" };
                next(target, wrap_if_suffixed(self, target, format!("{sigil}{inner}")))
            }
            TypeKind::PointerToMember(target) => next(target, format!("::*{inner}")),
            TypeKind::Qualified(q, target) => {
                let pointer_like = target
                    .as_ref()
                    .is_some_and(|t| matches!(self.get(t).kind, TypeKind::Pointer(_) | TypeKind::Reference { .. }));
                if pointer_like {
                    // `char * const`: the qualifier binds to the pointer.
                    next(target, format!(" {}{}{inner}", q.as_str(), if inner.is_empty() { "" } else { " " }))
                } else {
                    // Qualifiers of one type in C's usual order, whatever
                    // order DWARF nests them in: `const volatile int`.
                    let (mut quals, base) = self.qualifiers(*q, target.clone());
                    quals.sort_by_key(|q| *q as u8);
                    quals.dedup();
                    let words: Vec<&str> = quals.iter().map(|q| q.as_str()).collect();
                    let base_text = match base {
                        Some(base) => next(&base, inner),
                        None => join(TOO_DEEP, &inner),
                    };
                    format!("{} {base_text}", words.join(" "))
                }
            }
            TypeKind::Array { element, dims } => {
                let mut text = inner;
                for d in dims {
                    match d {
                        Bound::Count(n) => text.push_str(&format!("[{n}]")),
                        _ => text.push_str("[]"),
                    }
                }
                next(element, text)
            }
            TypeKind::Function { ret, params, varargs } => {
                let mut list: Vec<String> = params.iter().map(|p| next(p, String::new())).collect();
                if *varargs {
                    list.push("...".into());
                }
                if list.is_empty() && t.c_language {
                    list.push("void".into());
                }
                next(ret, format!("{inner}({})", list.join(", ")))
            }
            TypeKind::Base(_) | TypeKind::Typedef(_) | TypeKind::Unspecified => {
                join(t.name.as_deref().unwrap_or("?"), &inner)
            }
            TypeKind::Composite { tag, .. } => {
                let keyword = match tag {
                    CompositeTag::Union => "union",
                    CompositeTag::Struct | CompositeTag::Class => "struct",
                };
                join(&tagged(t.c_language, keyword, t.name.as_deref()), &inner)
            }
            TypeKind::Enum { .. } => join(&tagged(t.c_language, "enum", t.name.as_deref()), &inner),
        }
    }

    /// The qualifiers nested directly under `first` (`const` over
    /// `volatile` over a type) and the type under them: None for that type
    /// when the nesting does not end (a `const`/`volatile` cycle).
    fn qualifiers(
        &self,
        first: Qualifier,
        mut base: Option<TypeId<'d, 'a>>,
    ) -> (Vec<Qualifier>, Option<Option<TypeId<'d, 'a>>>) {
        let mut quals = vec![first];
        for _ in 0..MAX_CHAIN {
            match base.as_ref().map(|b| self.get(b).kind.clone()) {
                Some(TypeKind::Qualified(q, next)) => {
                    quals.push(q);
                    base = next;
                }
                _ => return (quals, Some(base)),
            }
        }
        (quals, None)
    }
}

/// The element count of an array with constant bounds (the product of
/// its dimensions), None for a run-time bound or an overflow.
fn constant_count(dims: &[Bound<'_, '_>]) -> Option<u64> {
    dims.iter().try_fold(1u64, |n, d| match d {
        Bound::Count(c) => n.checked_mul(*c),
        _ => None,
    })
}

/// The pmodule variable type of a resolved type.
fn kind_of<'d, 'a>(types: &Types<'d, 'a>, t: &Type<'d, 'a>) -> Kind {
    match &t.kind {
        TypeKind::Base(e) => match *e {
            gimli::DW_ATE_signed | gimli::DW_ATE_signed_char | gimli::DW_ATE_signed_fixed => Kind::Ll,
            gimli::DW_ATE_float => match t.size {
                Some(4) => Kind::Flt,
                Some(8) => Kind::Dbl,
                _ => Kind::Ldbl,
            },
            gimli::DW_ATE_complex_float => match t.size {
                Some(8) => Kind::Cflt,
                Some(16) => Kind::Cdbl,
                _ => Kind::Cldbl,
            },
            _ => Kind::Ull,
        },
        TypeKind::Pointer(target) => {
            let to_function =
                types.resolve(target.as_ref()).is_some_and(|(_, t)| matches!(t.kind, TypeKind::Function { .. }));
            if to_function { Kind::Fn } else { Kind::Reference }
        }
        TypeKind::Reference { .. } => Kind::Reference,
        TypeKind::PointerToMember(_) => Kind::Ll,
        TypeKind::Composite { .. } => Kind::Tuple,
        TypeKind::Array { .. } => Kind::Array,
        TypeKind::Enum { .. } => Kind::Enum,
        TypeKind::Function { .. } => Kind::Fn,
        TypeKind::Qualified(..) | TypeKind::Typedef(_) | TypeKind::Unspecified => Kind::Bottom,
    }
}

/// A pointer to an array or function needs parentheses: `int (*)[4]`.
fn wrap_if_suffixed<'d, 'a>(types: &Types<'d, 'a>, target: &Option<TypeId<'d, 'a>>, text: String) -> String {
    let suffixed = target
        .as_ref()
        .is_some_and(|t| matches!(types.get(t).kind, TypeKind::Array { .. } | TypeKind::Function { .. }));
    if suffixed { format!("({text})") } else { text }
}

fn tagged(c_language: bool, keyword: &str, name: Option<&str>) -> String {
    match name {
        Some(n) if c_language => format!("{keyword} {n}"),
        Some(n) => n.to_string(),
        None => format!("{keyword} {{...}}"),
    }
}

fn join(base: &str, inner: &str) -> String {
    if inner.is_empty() {
        base.to_string()
    } else if inner.starts_with(' ') {
        format!("{base}{inner}")
    } else {
        format!("{base} {inner}")
    }
}

fn udata(value: Option<AttributeValue<Slice<'_>>>) -> Option<u64> {
    value?.udata_value()
}

fn parse<'d, 'a>(id: &TypeId<'d, 'a>) -> Type<'d, 'a> {
    let unknown = Type { name: None, size: None, kind: TypeKind::Unspecified, c_language: true, rust_language: false };
    let Some(entry) = id.entry() else { return unknown };
    let c_language = is_c(id.unit.language);
    let rust_language = id.unit.language == Some(gimli::DW_LANG_Rust);
    let target = || id.follow(gimli::DW_AT_type);
    let raw_name = entry.attr_value(gimli::DW_AT_name).and_then(|v| id.string(v));
    // A definition outside the scope of its declaration (gcc's type units
    // define a class at their top) takes the declaration's scope.
    let scoped = || id.follow(gimli::DW_AT_specification).unwrap_or_else(|| id.clone());
    let qualified = || raw_name.as_ref().map(|n| format!("{}{n}", scoped().scope_prefix()));
    let size = udata(entry.attr_value(gimli::DW_AT_byte_size));
    let kind = match entry.tag() {
        gimli::DW_TAG_base_type => match entry.attr_value(gimli::DW_AT_encoding) {
            Some(AttributeValue::Encoding(e)) => TypeKind::Base(e),
            _ => TypeKind::Base(gimli::DW_ATE_signed),
        },
        gimli::DW_TAG_pointer_type => TypeKind::Pointer(target()),
        gimli::DW_TAG_reference_type => TypeKind::Reference { target: target(), rvalue: false },
        gimli::DW_TAG_rvalue_reference_type => TypeKind::Reference { target: target(), rvalue: true },
        gimli::DW_TAG_ptr_to_member_type => TypeKind::PointerToMember(target()),
        gimli::DW_TAG_const_type => TypeKind::Qualified(Qualifier::Const, target()),
        gimli::DW_TAG_volatile_type => TypeKind::Qualified(Qualifier::Volatile, target()),
        gimli::DW_TAG_restrict_type => TypeKind::Qualified(Qualifier::Restrict, target()),
        gimli::DW_TAG_atomic_type => TypeKind::Qualified(Qualifier::Atomic, target()),
        gimli::DW_TAG_typedef => TypeKind::Typedef(target()),
        gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type => {
            let tag = match entry.tag() {
                gimli::DW_TAG_union_type => CompositeTag::Union,
                gimli::DW_TAG_class_type => CompositeTag::Class,
                _ => CompositeTag::Struct,
            };
            let declaration = matches!(entry.attr_value(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true)));
            let children = children(id);
            let variants = VariantPart::of(&children).map(Rc::new);
            TypeKind::Composite { tag, members: members(&children), declaration, variants }
        }
        gimli::DW_TAG_array_type => TypeKind::Array { element: target(), dims: dims(id) },
        gimli::DW_TAG_enumeration_type => {
            let underlying = target();
            let (mut enumerators, signed) = enumerators(id);
            // A scoped enum's enumerators (C++ `enum class`, every Rust
            // enum) are named in its scope, as gdb names them:
            // `app::Mode::Search`.
            let scoped = matches!(entry.attr_value(gimli::DW_AT_enum_class), Some(AttributeValue::Flag(true)));
            if let Some(scope) = qualified().filter(|_| scoped) {
                enumerators.iter_mut().for_each(|(name, _)| *name = format!("{scope}::{name}"));
            }
            TypeKind::Enum { underlying, enumerators, signed }
        }
        gimli::DW_TAG_subroutine_type => {
            let (params, varargs) = parameters(id);
            TypeKind::Function { ret: target(), params, varargs }
        }
        _ => TypeKind::Unspecified,
    };
    let name = match &kind {
        // Base and typedef names are not qualified by a scope in C, and
        // base names never are.
        TypeKind::Base(_) => raw_name.clone(),
        TypeKind::Unspecified if raw_name.is_none() => Some("void".into()),
        _ => qualified(),
    };
    Type { name, size, kind, c_language, rust_language }
}

/// The children of a DIE, in order, as DIEs.
pub fn children<'d, 'a>(die: &Die<'d, 'a>) -> Vec<(gimli::DwTag, Die<'d, 'a>)> {
    let mut out = Vec::new();
    each_child(die, |tag, child| {
        out.push((tag, child));
        ControlFlow::Continue(())
    });
    out
}

/// The first child of a DIE that `wanted` accepts; the children after it
/// are not read.
pub fn first_child<'d, 'a>(
    die: &Die<'d, 'a>,
    wanted: impl Fn(gimli::DwTag, &Die<'d, 'a>) -> bool,
) -> Option<Die<'d, 'a>> {
    let mut found = None;
    each_child(die, |tag, child| {
        if wanted(tag, &child) {
            found = Some(child);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

/// Gives `step` the children of a DIE in order, until it breaks.
fn each_child<'d, 'a>(die: &Die<'d, 'a>, mut step: impl FnMut(gimli::DwTag, Die<'d, 'a>) -> ControlFlow<()>) {
    let Ok(mut tree) = die.unit.unit.entries_tree(Some(die.offset)) else { return };
    let Ok(root) = tree.root() else { return };
    let mut iter = root.children();
    while let Ok(Some(child)) = iter.next() {
        let entry = child.entry();
        let child = Die { dwarf: die.dwarf, unit: die.unit.clone(), offset: entry.offset() };
        if step(entry.tag(), child).is_break() {
            return;
        }
    }
}

/// The members and base classes among a struct's (or a variant's)
/// children, in order.
pub(super) fn members<'d, 'a>(children: &[(gimli::DwTag, Die<'d, 'a>)]) -> Vec<Member<'d, 'a>> {
    children.iter().filter_map(|(_, child)| member(child)).collect()
}

/// A `DW_TAG_member` or `DW_TAG_inheritance` with a place in the object;
/// None for anything else and for static members.
pub(super) fn member<'d, 'a>(child: &Die<'d, 'a>) -> Option<Member<'d, 'a>> {
    let entry = child.entry()?;
    let tag = entry.tag();
    if tag != gimli::DW_TAG_member && tag != gimli::DW_TAG_inheritance {
        return None;
    }
    // Static members are declarations without a place in the object.
    let is_static = matches!(entry.attr_value(gimli::DW_AT_external), Some(AttributeValue::Flag(true)))
        || matches!(entry.attr_value(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true)));
    if is_static {
        return None;
    }
    let location = entry.attr_value(gimli::DW_AT_data_member_location);
    let mut offset = match location {
        Some(AttributeValue::Exprloc(expr)) => constant_offset(expr).unwrap_or(0),
        other => udata(other).unwrap_or(0),
    };
    let bit_size = udata(entry.attr_value(gimli::DW_AT_bit_size));
    let bits = bit_size.map(|size| {
        if let Some(data_bit) = udata(entry.attr_value(gimli::DW_AT_data_bit_offset)) {
            offset = data_bit / 8;
            (data_bit % 8, size)
        } else {
            // DWARF 2/3 big-endian-style numbering from the storage unit's top.
            let storage = udata(entry.attr_value(gimli::DW_AT_byte_size)).unwrap_or(4);
            let from_top = udata(entry.attr_value(gimli::DW_AT_bit_offset)).unwrap_or(0);
            (storage.saturating_mul(8).saturating_sub(from_top.saturating_add(size)), size)
        }
    });
    let base_class = tag == gimli::DW_TAG_inheritance;
    let ty = child.follow(gimli::DW_AT_type);
    let name = if base_class { None } else { entry.attr_value(gimli::DW_AT_name).and_then(|v| child.string(v)) };
    Some(Member { name, ty, offset, bits, base_class })
}

/// `DW_OP_plus_uconst N` (old-style member locations) as N.
fn constant_offset(expr: gimli::Expression<Slice<'_>>) -> Option<u64> {
    let mut bytes = expr.0;
    let op = gimli::Reader::read_u8(&mut bytes).ok()?;
    (op == gimli::DW_OP_plus_uconst.0).then(|| gimli::Reader::read_uleb128(&mut bytes).ok()).flatten()
}

fn dims<'d, 'a>(id: &TypeId<'d, 'a>) -> Vec<Bound<'d, 'a>> {
    let mut out = Vec::new();
    for (tag, child) in children(id) {
        if tag != gimli::DW_TAG_subrange_type {
            continue;
        }
        let Some(entry) = child.entry() else { continue };
        let lower = udata(entry.attr_value(gimli::DW_AT_lower_bound)).unwrap_or(0);
        let bound = |attr| match entry.attr_value(attr) {
            Some(AttributeValue::Exprloc(e)) => Some(Bound::Expr(e, attr == gimli::DW_AT_upper_bound)),
            Some(v @ (AttributeValue::UnitRef(_) | AttributeValue::DebugInfoRef(_))) => {
                child.reference(v).map(|d| Bound::Variable(d, attr == gimli::DW_AT_upper_bound))
            }
            // A bound or count is unsigned unless its form says otherwise:
            // gcc writes `char name[256]`'s upper bound as data1 0xff.
            Some(AttributeValue::Sdata(n)) => Some(Bound::Count(n as u64)),
            Some(v) => v.udata_value().map(Bound::Count),
            None => None,
        };
        let dim = match (bound(gimli::DW_AT_count), bound(gimli::DW_AT_upper_bound)) {
            (Some(count), _) => count,
            // An upper bound of -1 (all ones) marks an empty or flexible array.
            (None, Some(Bound::Count(upper))) if upper as i64 == -1 => Bound::Count(0),
            (None, Some(Bound::Count(upper))) => Bound::Count((upper + 1).saturating_sub(lower)),
            (None, Some(dynamic)) => dynamic,
            (None, None) => Bound::Unknown,
        };
        out.push(dim);
    }
    if out.is_empty() {
        out.push(Bound::Unknown);
    }
    out
}

fn enumerators(id: &TypeId<'_, '_>) -> (Vec<(String, i128)>, bool) {
    let mut out = Vec::new();
    let mut signed = false;
    for (tag, child) in children(id) {
        if tag != gimli::DW_TAG_enumerator {
            continue;
        }
        let Some(entry) = child.entry() else { continue };
        let name = entry.attr_value(gimli::DW_AT_name).and_then(|v| child.string(v)).unwrap_or_default();
        let value = match entry.attr_value(gimli::DW_AT_const_value) {
            Some(AttributeValue::Sdata(v)) => {
                signed |= v < 0;
                v as i128
            }
            Some(v) => v.udata_value().map_or(0, |u| u as i128),
            None => 0,
        };
        out.push((name, value));
    }
    (out, signed)
}

fn parameters<'d, 'a>(id: &TypeId<'d, 'a>) -> (Vec<Option<TypeId<'d, 'a>>>, bool) {
    let mut params = Vec::new();
    let mut varargs = false;
    for (tag, child) in children(id) {
        match tag {
            gimli::DW_TAG_formal_parameter => params.push(child.follow(gimli::DW_AT_type)),
            gimli::DW_TAG_unspecified_parameters => varargs = true,
            _ => {}
        }
    }
    (params, varargs)
}

#[cfg(test)]
#[path = "types_tests.rs"]
mod tests;
