//! [`variables_at`] over functions built in memory: which parameters and
//! locals a pc sees, in which order, through lexical blocks and concrete
//! instances of inline functions.

use gimli::write::{AttributeValue, UnitEntryId, UnitId};

use super::*;
use crate::address::LinkAddr;
use crate::testing::dwarf_builder::*;

fn names(dies: &[Die<'_, '_>]) -> Vec<String> {
    dies.iter().map(|d| d.name().unwrap_or_default()).collect()
}

fn keys(dies: &[Die<'_, '_>]) -> Vec<(usize, usize)> {
    dies.iter().map(Die::key).collect()
}

/// A DIE of `tag` named `name` (unnamed for "") under `parent`.
fn named(b: &mut DwarfBuilder, u: UnitId, parent: UnitEntryId, tag: gimli::DwTag, name: &str) -> UnitEntryId {
    let attrs: Vec<_> = (!name.is_empty()).then(|| (gimli::DW_AT_name, string(name))).into_iter().collect();
    b.add(u, parent, tag, &attrs)
}

fn block(b: &mut DwarfBuilder, u: UnitId, parent: UnitEntryId, begin: u64, end: u64) -> UnitEntryId {
    let block = b.add(u, parent, gimli::DW_TAG_lexical_block, &[]);
    b.code(u, block, begin, end);
    block
}

#[test]
fn a_pc_sees_the_locals_of_the_blocks_holding_it_innermost_first() {
    let mut b = DwarfBuilder::new();
    let u = b.unit(4, gimli::DW_LANG_C_plus_plus, "blocks.cpp");
    let root = b.root(u);
    let f = named(&mut b, u, root, gimli::DW_TAG_subprogram, "f");
    b.code(u, f, 0x1000, 0x1100);
    // `this` (artificial) and an unnamed parameter stay listed: the
    // renderer decides what to show.
    let this = named(&mut b, u, f, gimli::DW_TAG_formal_parameter, "this");
    b.set(u, this, gimli::DW_AT_artificial, flag());
    named(&mut b, u, f, gimli::DW_TAG_formal_parameter, "a");
    named(&mut b, u, f, gimli::DW_TAG_formal_parameter, "");
    named(&mut b, u, f, gimli::DW_TAG_variable, "x");
    let outer = block(&mut b, u, f, 0x1010, 0x1020);
    named(&mut b, u, outer, gimli::DW_TAG_variable, "y");
    let inner = block(&mut b, u, outer, 0x1014, 0x1018);
    named(&mut b, u, inner, gimli::DW_TAG_variable, "x");
    let other = block(&mut b, u, f, 0x1020, 0x1030);
    named(&mut b, u, other, gimli::DW_TAG_variable, "z");
    // Split in two: holds 0x1040.. and 0x1080.., not the gap.
    let split = b.add(u, f, gimli::DW_TAG_lexical_block, &[]);
    b.ranges(u, split, &[(0x1040, 0x1050), (0x1080, 0x1090)]);
    named(&mut b, u, split, gimli::DW_TAG_variable, "s");
    // Not variables of this frame: an `extern int e;` declaration, and
    // what an inlined call or a nested block's parameter declares.
    let declared = named(&mut b, u, f, gimli::DW_TAG_variable, "e");
    b.set(u, declared, gimli::DW_AT_declaration, flag());
    let call = b.add(u, f, gimli::DW_TAG_inlined_subroutine, &[]);
    b.code(u, call, 0x1010, 0x1020);
    named(&mut b, u, call, gimli::DW_TAG_formal_parameter, "q");
    named(&mut b, u, call, gimli::DW_TAG_variable, "inlined_local");
    named(&mut b, u, outer, gimli::DW_TAG_formal_parameter, "stray");
    let built = b.finish();
    let info = built.info();
    let scope = built.die(&info, f);
    let locals = |pc| names(&variables_at(&scope, LinkAddr::new(pc)).locals);

    assert_eq!(names(&variables_at(&scope, LinkAddr::new(0x1015)).parameters), ["this", "a", ""]);
    assert_eq!(locals(0x1000), ["x"]);
    assert_eq!(locals(0x1015), ["x", "y", "x"], "innermost first; the shadowed x stays");
    assert_eq!(locals(0x1018), ["y", "x"], "a block ends before its end address");
    assert_eq!(locals(0x1020), ["z", "x"]);
    assert_eq!(locals(0x1045), ["s", "x"]);
    assert_eq!(locals(0x1060), ["x"], "between the split block's ranges");
    assert_eq!(locals(0x1085), ["s", "x"]);
}

#[test]
fn concrete_instances_list_what_their_abstract_origin_declares() {
    let mut b = DwarfBuilder::new();
    let u = b.unit(4, gimli::DW_LANG_C99, "inline.c");
    let root = b.root(u);
    // static inline int add(int a, int b) { int sum; const char *where; ... }
    let add = named(&mut b, u, root, gimli::DW_TAG_subprogram, "add");
    b.set(u, add, gimli::DW_AT_inline, uconst(1));
    let a = named(&mut b, u, add, gimli::DW_TAG_formal_parameter, "a");
    let b_param = named(&mut b, u, add, gimli::DW_TAG_formal_parameter, "b");
    let sum = named(&mut b, u, add, gimli::DW_TAG_variable, "sum");
    let where_ = named(&mut b, u, add, gimli::DW_TAG_variable, "where");
    // An inlined copy that kept only `b` and `sum` (in a block), listing
    // `b` before an extra parameter of its own.
    let caller = named(&mut b, u, root, gimli::DW_TAG_subprogram, "caller");
    b.code(u, caller, 0x1000, 0x1100);
    let copy = b.add(u, caller, gimli::DW_TAG_inlined_subroutine, &[(gimli::DW_AT_abstract_origin, unit_ref(add))]);
    b.code(u, copy, 0x1010, 0x1040);
    let of = |origin| [(gimli::DW_AT_abstract_origin, unit_ref(origin))];
    let extra = named(&mut b, u, copy, gimli::DW_TAG_formal_parameter, "extra");
    let b_copy = b.add(u, copy, gimli::DW_TAG_formal_parameter, &of(b_param));
    let inner = block(&mut b, u, copy, 0x1010, 0x1020);
    let sum_copy = b.add(u, inner, gimli::DW_TAG_variable, &of(sum));
    let built = b.finish();
    let info = built.info();
    let die = |e| built.die(&info, e);

    let vars = variables_at(&die(copy), LinkAddr::new(0x1018));
    // Declaration order from the origin; `a`, dropped from the copy, is
    // the origin's own DIE (no location: optimized out); the copy's extra
    // parameter comes last.
    assert_eq!(names(&vars.parameters), ["a", "b", "extra"]);
    assert_eq!(keys(&vars.parameters), keys(&[die(a), die(b_copy), die(extra)]));
    // `where`, dropped from the copy, is listed with the function's own
    // locals; `sum` is the copy's, not listed twice.
    assert_eq!(keys(&vars.locals), keys(&[die(sum_copy), die(where_)]));
    // Outside the block, `sum` has no DIE in scope: the copy lists it from
    // the origin.
    let outside = variables_at(&die(copy), LinkAddr::new(0x1030));
    assert_eq!(keys(&outside.locals), keys(&[die(sum), die(where_)]));
}

#[test]
fn a_block_without_ranges_holds_every_pc() {
    // As in an abstract instance, whose blocks have no code.
    let mut b = DwarfBuilder::new();
    let u = b.unit(4, gimli::DW_LANG_C99, "abstract.c");
    let root = b.root(u);
    let f = named(&mut b, u, root, gimli::DW_TAG_subprogram, "f");
    let unranged = b.add(u, f, gimli::DW_TAG_lexical_block, &[]);
    named(&mut b, u, unranged, gimli::DW_TAG_variable, "kept");
    let empty = b.add(
        u,
        f,
        gimli::DW_TAG_lexical_block,
        &[(gimli::DW_AT_low_pc, AttributeValue::Address(gimli::write::Address::Constant(0x2000)))],
    );
    named(&mut b, u, empty, gimli::DW_TAG_variable, "no_high_pc");
    let built = b.finish();
    let info = built.info();
    assert_eq!(names(&variables_at(&built.die(&info, f), LinkAddr::new(0x1234)).locals), ["kept"]);
}
