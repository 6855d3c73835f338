//! [`Types`] over type DIEs built in memory: how each kind of type is
//! parsed, sized and spelled in C and C++, and that walks over cyclic
//! types end.

use gimli::write::{AttributeValue, UnitEntryId, UnitId};
use gimli::{DW_LANG_C_plus_plus, DW_LANG_C99};

use super::*;
use crate::testing::dwarf_builder::*;
use crate::testing::frames::no_modules;

/// Type DIEs of one unit.
struct TypeUnit {
    b: DwarfBuilder,
    u: UnitId,
}

impl TypeUnit {
    fn new(language: gimli::DwLang) -> Self {
        let mut b = DwarfBuilder::new();
        let u = b.unit(4, language, "types.c");
        TypeUnit { b, u }
    }

    fn base(&mut self, name: &str, size: u64, encoding: gimli::DwAte) -> UnitEntryId {
        self.b.base_type(self.u, name, size, encoding)
    }

    /// A type DIE at the top of the unit, of `target` if given.
    fn ty(
        &mut self,
        tag: gimli::DwTag,
        target: Option<UnitEntryId>,
        attrs: &[(gimli::DwAt, AttributeValue)],
    ) -> UnitEntryId {
        let root = self.b.root(self.u);
        let id = self.b.add(self.u, root, tag, attrs);
        if let Some(target) = target {
            self.b.set(self.u, id, gimli::DW_AT_type, unit_ref(target));
        }
        id
    }

    fn child(
        &mut self,
        parent: UnitEntryId,
        tag: gimli::DwTag,
        attrs: &[(gimli::DwAt, AttributeValue)],
    ) -> UnitEntryId {
        self.b.add(self.u, parent, tag, attrs)
    }

    /// A `struct name` with the byte size given and no members yet.
    fn record(&mut self, name: &str, size: u64) -> UnitEntryId {
        self.ty(
            gimli::DW_TAG_structure_type,
            None,
            &[(gimli::DW_AT_name, string(name)), (gimli::DW_AT_byte_size, uconst(size))],
        )
    }

    /// An array of `element` with a subrange of the attributes given per
    /// dimension.
    fn array(&mut self, element: UnitEntryId, dims: &[&[(gimli::DwAt, AttributeValue)]]) -> UnitEntryId {
        let array = self.ty(gimli::DW_TAG_array_type, Some(element), &[]);
        for dim in dims {
            self.child(array, gimli::DW_TAG_subrange_type, dim);
        }
        array
    }

    fn finish(self) -> Built {
        self.b.finish()
    }
}

/// Runs `check` with the types of the built unit and a lookup of its DIEs.
fn with_types(
    built: Built,
    check: impl FnOnce(&Types<'static, 'static>, &dyn Fn(UnitEntryId) -> Die<'static, 'static>),
) {
    let info: &'static DwarfInfo<'static> = Box::leak(Box::new(built.info()));
    let types = Types::new(no_modules());
    check(&types, &|entry| built.die(info, entry));
}

#[test]
fn base_types_have_their_size_name_and_kind() {
    let mut t = TypeUnit::new(DW_LANG_C99);
    let int = t.base("int", 4, gimli::DW_ATE_signed);
    let unsigned = t.base("unsigned long", 8, gimli::DW_ATE_unsigned);
    let double = t.base("double", 8, gimli::DW_ATE_float);
    let char = t.base("char", 1, gimli::DW_ATE_signed_char);
    let boolean = t.base("_Bool", 1, gimli::DW_ATE_boolean);
    let uint8 = t.base("uint8_t", 1, gimli::DW_ATE_unsigned);
    with_types(t.finish(), |types, die| {
        let summary = types.summary(Some(&die(int)));
        assert_eq!((&*summary.name, summary.size, summary.kind), ("int", Some(4), Kind::Ll));
        assert_eq!(types.summary(Some(&die(unsigned))).kind, Kind::Ull);
        assert_eq!(types.summary(Some(&die(double))).kind, Kind::Dbl);
        assert!(types.get(&die(char)).is_char());
        assert!(types.get(&die(uint8)).is_char(), "a one-byte integer is a character, as gdb has it");
        assert!(!types.get(&die(boolean)).is_char());
        assert_eq!(&*types.name(None), "void");
    });
}

/// Rust's one-byte integers are no characters: a `*const u8` or `[u8; N]`
/// is no string, as gdb's Rust printing has it.
#[test]
fn rust_bytes_are_integers() {
    let mut t = TypeUnit::new(gimli::DW_LANG_Rust);
    let u8 = t.base("u8", 1, gimli::DW_ATE_unsigned);
    let i8 = t.base("i8", 1, gimli::DW_ATE_signed);
    with_types(t.finish(), |types, die| {
        assert!(!types.get(&die(u8)).is_char());
        assert!(!types.get(&die(i8)).is_char());
        assert_eq!(types.summary(Some(&die(u8))).kind, Kind::Ull);
    });
}

#[test]
fn qualifiers_and_pointers_spell_as_declarators() {
    let mut t = TypeUnit::new(DW_LANG_C99);
    let char = t.base("char", 1, gimli::DW_ATE_signed_char);
    let const_char = t.ty(gimli::DW_TAG_const_type, Some(char), &[]);
    let pointer_to_const = t.ty(gimli::DW_TAG_pointer_type, Some(const_char), &[(gimli::DW_AT_byte_size, uconst(8))]);
    let pointer = t.ty(gimli::DW_TAG_pointer_type, Some(char), &[]);
    let const_pointer = t.ty(gimli::DW_TAG_const_type, Some(pointer), &[]);
    let void_pointer = t.ty(gimli::DW_TAG_pointer_type, None, &[]);
    // volatile (const (typedef u32 = unsigned int)): C's order, whatever
    // DWARF's nesting.
    let unsigned = t.base("unsigned int", 4, gimli::DW_ATE_unsigned);
    let u32 = t.ty(gimli::DW_TAG_typedef, Some(unsigned), &[(gimli::DW_AT_name, string("u32"))]);
    let const_u32 = t.ty(gimli::DW_TAG_const_type, Some(u32), &[]);
    let cv_u32 = t.ty(gimli::DW_TAG_volatile_type, Some(const_u32), &[]);
    let reg = t.ty(gimli::DW_TAG_typedef, Some(cv_u32), &[(gimli::DW_AT_name, string("reg_t"))]);
    let const_void = t.ty(gimli::DW_TAG_const_type, None, &[]);
    with_types(t.finish(), |types, die| {
        let name = |e| types.name(Some(&die(e))).to_string();
        assert_eq!(name(pointer_to_const), "const char *");
        assert_eq!(name(const_pointer), "char * const", "as gdb and docs/snapshot-format.md spell it");
        assert_eq!(name(void_pointer), "void *");
        assert_eq!(name(cv_u32), "const volatile u32");
        assert_eq!(name(reg), "reg_t");
        assert_eq!(name(const_void), "const void");
        let summary = types.summary(Some(&die(reg)));
        let (resolved, _) = summary.resolved.clone().unwrap();
        assert_eq!(resolved.key(), die(unsigned).key(), "typedefs and qualifiers peeled off");
        assert_eq!((summary.size, summary.kind, &*summary.base_name), (Some(4), Kind::Ull, "reg_t"));
        assert_eq!(types.size_of(Some(&die(const_pointer))), Some(8), "a pointer without a byte size");
        assert_eq!(&*types.base_name(Some(&die(pointer_to_const))), "char");
        assert!(types.resolve(Some(&die(const_void))).is_none(), "qualified void resolves to nothing");
    });
}

#[test]
fn array_bounds_are_unsigned_counts() {
    let mut t = TypeUnit::new(DW_LANG_C99);
    let int = t.base("int", 4, gimli::DW_ATE_signed);
    let char = t.base("char", 1, gimli::DW_ATE_signed_char);
    let upper = |n| [(gimli::DW_AT_upper_bound, uconst(n))];
    let matrix = t.array(int, &[&upper(2), &upper(3)]);
    // gcc writes `char name[256]`'s upper bound as data1 0xff.
    let name = t.array(char, &[&[(gimli::DW_AT_upper_bound, AttributeValue::Data1(0xff))]]);
    let counted = t.array(int, &[&[(gimli::DW_AT_count, uconst(5))]]);
    let flexible = t.array(int, &[&[(gimli::DW_AT_upper_bound, AttributeValue::Sdata(-1))]]);
    let unknown = t.array(int, &[]);
    let from_one = t.array(int, &[&[(gimli::DW_AT_lower_bound, uconst(1)), (gimli::DW_AT_upper_bound, uconst(4))]]);
    let to_matrix = t.ty(gimli::DW_TAG_pointer_type, Some(matrix), &[]);
    with_types(t.finish(), |types, die| {
        let spelled = |e| (types.name(Some(&die(e))).to_string(), types.size_of(Some(&die(e))));
        assert_eq!(spelled(matrix), ("int [3][4]".into(), Some(48)));
        assert_eq!(spelled(name), ("char [256]".into(), Some(256)));
        assert_eq!(spelled(counted), ("int [5]".into(), Some(20)));
        assert_eq!(spelled(flexible), ("int [0]".into(), Some(0)), "an upper bound of -1 is an empty array");
        assert_eq!(spelled(unknown), ("int []".into(), None));
        assert_eq!(spelled(from_one), ("int [4]".into(), Some(16)), "bounds 1..=4");
        assert_eq!(spelled(to_matrix), ("int (*)[3][4]".into(), Some(8)));
        assert_eq!(types.summary(Some(&die(matrix))).kind, Kind::Array);
    });
}

#[test]
fn struct_members_and_bit_fields_are_placed() {
    let mut t = TypeUnit::new(DW_LANG_C99);
    let unsigned = t.base("unsigned int", 4, gimli::DW_ATE_unsigned);
    let flags = t.record("flags", 16);
    let member = |name: &str| [(gimli::DW_AT_name, string(name)), (gimli::DW_AT_type, unit_ref(unsigned))];
    // DWARF 4+ bit fields: a bit offset from the start of the struct.
    let bits = |offset, size| [(gimli::DW_AT_data_bit_offset, uconst(offset)), (gimli::DW_AT_bit_size, uconst(size))];
    t.child(flags, gimli::DW_TAG_member, &[member("low").as_slice(), &bits(0, 3)].concat());
    t.child(flags, gimli::DW_TAG_member, &[member("high").as_slice(), &bits(11, 5)].concat());
    // DWARF 2/3 bit fields: counted from the top of a storage unit.
    let old_style = [
        (gimli::DW_AT_data_member_location, uconst(4)),
        (gimli::DW_AT_byte_size, uconst(4)),
        (gimli::DW_AT_bit_offset, uconst(29)),
        (gimli::DW_AT_bit_size, uconst(3)),
    ];
    t.child(flags, gimli::DW_TAG_member, &[member("old").as_slice(), &old_style].concat());
    // An old-style member location: DW_OP_plus_uconst 8.
    let location = (gimli::DW_AT_data_member_location, exprloc(&[gimli::DW_OP_plus_uconst.0, 8]));
    t.child(flags, gimli::DW_TAG_member, &[member("word").as_slice(), &[location]].concat());
    // A static member has no place in the object.
    t.child(flags, gimli::DW_TAG_member, &[member("count").as_slice(), &[(gimli::DW_AT_declaration, flag())]].concat());
    with_types(t.finish(), |types, die| {
        let parsed = types.get(&die(flags));
        let TypeKind::Composite { tag, members, declaration, .. } = &parsed.kind else { panic!("a struct") };
        assert_eq!((*tag, *declaration), (CompositeTag::Struct, false));
        let placed: Vec<_> = members.iter().map(|m| (m.name.as_deref().unwrap(), m.offset, m.bits)).collect();
        assert_eq!(
            placed,
            [("low", 0, Some((0, 3))), ("high", 1, Some((3, 5))), ("old", 4, Some((0, 3))), ("word", 8, None)]
        );
        let summary = types.summary(Some(&die(flags)));
        assert_eq!((&*summary.name, &*summary.base_name, summary.kind), ("struct flags", "flags", Kind::Tuple));
    });
}

#[test]
fn enumerators_keep_their_values_and_sign() {
    let mut t = TypeUnit::new(DW_LANG_C99);
    let color = t.ty(
        gimli::DW_TAG_enumeration_type,
        None,
        &[(gimli::DW_AT_name, string("color")), (gimli::DW_AT_byte_size, uconst(4))],
    );
    let level = t.ty(gimli::DW_TAG_enumeration_type, None, &[(gimli::DW_AT_name, string("level"))]);
    let enumerator = |name: &str, value| [(gimli::DW_AT_name, string(name)), (gimli::DW_AT_const_value, value)];
    t.child(color, gimli::DW_TAG_enumerator, &enumerator("RED", uconst(0)));
    t.child(color, gimli::DW_TAG_enumerator, &enumerator("BIG", AttributeValue::Data4(0xffff_fff0)));
    t.child(level, gimli::DW_TAG_enumerator, &enumerator("LOW", AttributeValue::Sdata(-1)));
    t.child(level, gimli::DW_TAG_enumerator, &enumerator("HIGH", AttributeValue::Sdata(1)));
    with_types(t.finish(), |types, die| {
        let enumerated = |e| match types.get(&die(e)).kind.clone() {
            TypeKind::Enum { enumerators, signed, .. } => (enumerators, signed),
            _ => panic!("an enum"),
        };
        assert_eq!(enumerated(color), (vec![("RED".into(), 0), ("BIG".into(), 0xffff_fff0)], false));
        assert_eq!(enumerated(level), (vec![("LOW".into(), -1), ("HIGH".into(), 1)], true));
        assert_eq!(&*types.name(Some(&die(color))), "enum color");
        assert_eq!(types.summary(Some(&die(color))).kind, Kind::Enum);
    });
}

#[test]
fn scoped_enumerators_are_named_in_their_enum() {
    let mut t = TypeUnit::new(DW_LANG_C_plus_plus);
    let ns = t.ty(gimli::DW_TAG_namespace, None, &[(gimli::DW_AT_name, string("app"))]);
    let named = |name: &str| (gimli::DW_AT_name, string(name));
    let scoped = t.child(ns, gimli::DW_TAG_enumeration_type, &[named("Mode"), (gimli::DW_AT_enum_class, flag())]);
    let plain = t.child(ns, gimli::DW_TAG_enumeration_type, &[named("Plain")]);
    t.child(scoped, gimli::DW_TAG_enumerator, &[named("Search"), (gimli::DW_AT_const_value, uconst(0))]);
    t.child(plain, gimli::DW_TAG_enumerator, &[named("A"), (gimli::DW_AT_const_value, uconst(0))]);
    with_types(t.finish(), |types, die| {
        let first = |e| match types.get(&die(e)).kind.clone() {
            TypeKind::Enum { enumerators, .. } => enumerators[0].0.clone(),
            _ => panic!("an enum"),
        };
        assert_eq!(first(scoped), "app::Mode::Search", "as gdb names it (C++ `enum class`, Rust)");
        assert_eq!(first(plain), "A");
    });
}

#[test]
fn cpp_references_and_records_spell_without_keywords() {
    let mut t = TypeUnit::new(DW_LANG_C_plus_plus);
    let int = t.base("int", 4, gimli::DW_ATE_signed);
    let reference = t.ty(gimli::DW_TAG_reference_type, Some(int), &[]);
    let rvalue = t.ty(gimli::DW_TAG_rvalue_reference_type, Some(int), &[]);
    let ns = t.ty(gimli::DW_TAG_namespace, None, &[(gimli::DW_AT_name, string("shop"))]);
    let item = t.child(
        ns,
        gimli::DW_TAG_class_type,
        &[(gimli::DW_AT_name, string("Item")), (gimli::DW_AT_byte_size, uconst(4))],
    );
    let const_item = t.ty(gimli::DW_TAG_const_type, Some(item), &[]);
    let item_ref = t.ty(gimli::DW_TAG_reference_type, Some(const_item), &[]);
    let array = t.array(int, &[&[(gimli::DW_AT_count, uconst(4))]]);
    let array_ref = t.ty(gimli::DW_TAG_reference_type, Some(array), &[]);
    with_types(t.finish(), |types, die| {
        let name = |e| types.name(Some(&die(e))).to_string();
        assert_eq!(name(reference), "int &");
        assert_eq!(name(rvalue), "int &&");
        assert_eq!(name(item_ref), "const shop::Item &");
        assert_eq!(name(array_ref), "int (&)[4]");
        let summary = types.summary(Some(&die(reference)));
        assert_eq!((summary.size, summary.kind), (Some(8), Kind::Reference));
        assert_eq!(&*types.base_name(Some(&die(item_ref))), "shop::Item");
    });
}

#[test]
fn function_pointers_spell_their_parameters() {
    for (language, no_params) in [(DW_LANG_C99, "void (*)(void)"), (DW_LANG_C_plus_plus, "void (*)()")] {
        let mut t = TypeUnit::new(language);
        let int = t.base("int", 4, gimli::DW_ATE_signed);
        let char = t.base("char", 1, gimli::DW_ATE_signed_char);
        let binary = t.ty(gimli::DW_TAG_subroutine_type, Some(int), &[]);
        t.child(binary, gimli::DW_TAG_formal_parameter, &[(gimli::DW_AT_type, unit_ref(int))]);
        t.child(binary, gimli::DW_TAG_formal_parameter, &[(gimli::DW_AT_type, unit_ref(char))]);
        let to_binary = t.ty(gimli::DW_TAG_pointer_type, Some(binary), &[]);
        let nothing = t.ty(gimli::DW_TAG_subroutine_type, None, &[]);
        let to_nothing = t.ty(gimli::DW_TAG_pointer_type, Some(nothing), &[]);
        let printf = t.ty(gimli::DW_TAG_subroutine_type, Some(int), &[]);
        t.child(printf, gimli::DW_TAG_formal_parameter, &[(gimli::DW_AT_type, unit_ref(to_nothing))]);
        t.child(printf, gimli::DW_TAG_unspecified_parameters, &[]);
        let to_printf = t.ty(gimli::DW_TAG_pointer_type, Some(printf), &[]);
        // A function returning a function pointer: int (*(*)(void))(int, char).
        let factory = t.ty(gimli::DW_TAG_subroutine_type, Some(to_binary), &[]);
        let to_factory = t.ty(gimli::DW_TAG_pointer_type, Some(factory), &[]);
        with_types(t.finish(), |types, die| {
            let name = |e| types.name(Some(&die(e))).to_string();
            assert_eq!(name(to_binary), "int (*)(int, char)");
            assert_eq!(name(to_nothing), no_params);
            assert_eq!(name(to_printf), format!("int (*)({no_params}, ...)"));
            let factory_spelling =
                format!("int (*(*)({}))(int, char)", if language == DW_LANG_C99 { "void" } else { "" });
            assert_eq!(name(to_factory), factory_spelling);
            assert_eq!(types.summary(Some(&die(to_binary))).kind, Kind::Fn);
        });
    }
}

#[test]
fn self_referencing_and_cyclic_types_end() {
    let mut t = TypeUnit::new(DW_LANG_C99);
    // struct node { struct node *next; }: legitimate recursion.
    let node = t.record("node", 8);
    let next = t.ty(gimli::DW_TAG_pointer_type, Some(node), &[(gimli::DW_AT_byte_size, uconst(8))]);
    t.child(node, gimli::DW_TAG_member, &[(gimli::DW_AT_name, string("next")), (gimli::DW_AT_type, unit_ref(next))]);
    // Corrupt DWARF: a typedef whose target is a const of itself, and an
    // array whose element is itself.
    let looping = t.ty(gimli::DW_TAG_typedef, None, &[(gimli::DW_AT_name, string("loop_t"))]);
    let const_loop = t.ty(gimli::DW_TAG_const_type, Some(looping), &[]);
    t.b.set(t.u, looping, gimli::DW_AT_type, unit_ref(const_loop));
    let nested = t.ty(gimli::DW_TAG_array_type, None, &[]);
    t.b.set(t.u, nested, gimli::DW_AT_type, unit_ref(nested));
    t.child(nested, gimli::DW_TAG_subrange_type, &[(gimli::DW_AT_count, uconst(2))]);
    let const_cycle = t.ty(gimli::DW_TAG_const_type, None, &[]);
    let volatile_cycle = t.ty(gimli::DW_TAG_volatile_type, Some(const_cycle), &[]);
    t.b.set(t.u, const_cycle, gimli::DW_AT_type, unit_ref(volatile_cycle));
    with_types(t.finish(), |types, die| {
        assert_eq!(&*types.name(Some(&die(next))), "struct node *");
        let TypeKind::Composite { members, .. } = &types.get(&die(node)).kind else { panic!("a struct") };
        let member_type = members[0].ty.clone().unwrap();
        assert_eq!(member_type.key(), die(next).key());
        assert_eq!(types.summary(Some(&die(node))).error, None);

        assert_eq!(types.summary(Some(&die(const_loop))).error, Some(TypeError::EndlessChain));
        assert_eq!(types.summary(Some(&die(nested))).error, Some(TypeError::TooDeep));
        assert!(types.name(Some(&die(nested))).contains(TOO_DEEP), "{}", types.name(Some(&die(nested))));
        assert!(types.name(Some(&die(const_cycle))).contains(TOO_DEEP));
        assert_eq!(&*types.base_name(Some(&die(const_cycle))), TOO_DEEP);
    });
}
