//! [`DwarfInfo`] over DWARF built in memory: which unit a pc is in, the
//! chain of scopes at a pc and the source position of each, and names
//! completed through `DW_AT_specification` and `DW_AT_abstract_origin`.

use gimli::write::{AttributeValue, UnitEntryId, UnitId};
use gimli::{DW_LANG_C_plus_plus, DW_LANG_C99};

use super::*;
use crate::testing::dwarf_builder::*;

fn names(frames: &[DwarfFrame]) -> Vec<Option<&str>> {
    frames.iter().map(|f| f.name.as_deref()).collect()
}

/// A named subprogram under `parent`, with code at `[begin, end)`.
fn function(b: &mut DwarfBuilder, unit: UnitId, parent: UnitEntryId, name: &str, begin: u64, end: u64) -> UnitEntryId {
    let f = b.add(unit, parent, gimli::DW_TAG_subprogram, &[(gimli::DW_AT_name, string(name))]);
    b.code(unit, f, begin, end);
    f
}

#[test]
fn a_pc_finds_its_unit_by_aranges_or_by_the_units_own_ranges() {
    let mut b = DwarfBuilder::new();
    // Unit `a` is in .debug_aranges (as gcc writes it); unit `b` only
    // says so in its root DIE (clang's default).
    let a = b.unit(4, DW_LANG_C99, "a.c");
    let root = b.root(a);
    b.code(a, root, 0x1000, 0x1100);
    b.arange(a, 0x1000, 0x1100);
    function(&mut b, a, root, "in_a", 0x1000, 0x1100);
    let u = b.unit(4, DW_LANG_C99, "b.c");
    let root_b = b.root(u);
    b.code(u, root_b, 0x2000, 0x2100);
    function(&mut b, u, root_b, "in_b", 0x2000, 0x2100);
    let built = b.finish();
    let info = built.info();

    let at_a = info.frames(LinkAddr::new(0x1010));
    assert_eq!(names(&at_a), [Some("in_a")]);
    assert_eq!(at_a[0].unit, built.offset_in(a, root).0);
    assert_eq!(at_a[0].language, Some(DW_LANG_C99));
    let at_b = info.frames(LinkAddr::new(0x20ff));
    assert_eq!(names(&at_b), [Some("in_b")]);
    assert_eq!(at_b[0].unit, built.offset_in(u, root_b).0);
    for outside in [0xfff, 0x1100, 0x1800, 0x2100, u64::MAX] {
        assert!(info.frames(LinkAddr::new(outside)).is_empty(), "{outside:#x} is in no unit");
    }
    assert_eq!(info.problem(), None);
}

#[test]
fn units_and_functions_in_several_ranges_hold_only_those() {
    // A function gcc split into a hot and a cold part, in a unit whose
    // code is in two places: DW_AT_ranges on both (`.debug_ranges` in
    // DWARF 4, `.debug_rnglists` in DWARF 5).
    for version in [4, 5] {
        let mut b = DwarfBuilder::new();
        let u = b.unit(version, DW_LANG_C99, "split.c");
        let root = b.root(u);
        b.set(u, root, gimli::DW_AT_low_pc, AttributeValue::Address(gimli::write::Address::Constant(0)));
        b.ranges(u, root, &[(0x1000, 0x1100), (0x5000, 0x5100)]);
        let f = b.add(u, root, gimli::DW_TAG_subprogram, &[(gimli::DW_AT_name, string("work"))]);
        b.ranges(u, f, &[(0x1000, 0x1080), (0x5000, 0x5040)]);
        function(&mut b, u, root, "other", 0x1080, 0x1100);
        let info = b.finish().info();

        assert_eq!(names(&info.frames(LinkAddr::new(0x1010))), [Some("work")], "DWARF {version}");
        assert_eq!(names(&info.frames(LinkAddr::new(0x5020))), [Some("work")], "DWARF {version}: the cold part");
        assert_eq!(names(&info.frames(LinkAddr::new(0x1090))), [Some("other")], "DWARF {version}");
        assert!(info.frames(LinkAddr::new(0x5040)).is_empty(), "DWARF {version}: in the unit, in no function, no line");
        assert!(info.frames(LinkAddr::new(0x3000)).is_empty(), "DWARF {version}: between the unit's ranges");
    }
}

/// `outer` (lines in main.c) inlines `mid` at main.c:20, which inlines
/// `leaf` at mid.h:30:5; `leaf`'s code is in leaf.h. A lexical block sits
/// between `outer` and `mid`.
fn inlined_chain() -> (Built, [UnitEntryId; 3]) {
    let mut b = DwarfBuilder::new();
    let u = b.unit(4, DW_LANG_C99, "main.c");
    let root = b.root(u);
    b.code(u, root, 0x1000, 0x1200);
    let main_c = b.file(u, "main.c");
    let mid_h = b.file(u, "mid.h");
    let leaf_h = b.file(u, "leaf.h");
    let inline = |name: &str| [(gimli::DW_AT_name, string(name)), (gimli::DW_AT_inline, uconst(1))];
    let mid = b.add(u, root, gimli::DW_TAG_subprogram, &inline("mid"));
    let leaf = b.add(u, root, gimli::DW_TAG_subprogram, &inline("leaf"));
    let outer = function(&mut b, u, root, "outer", 0x1000, 0x1200);
    let block = b.add(u, outer, gimli::DW_TAG_lexical_block, &[]);
    b.code(u, block, 0x1020, 0x1180);
    let call = |file, line: u64, column: u64| {
        [
            (gimli::DW_AT_call_file, AttributeValue::FileIndex(Some(file))),
            (gimli::DW_AT_call_line, uconst(line)),
            (gimli::DW_AT_call_column, uconst(column)),
        ]
    };
    let mid_attrs = [[(gimli::DW_AT_abstract_origin, unit_ref(mid))].as_slice(), &call(main_c, 20, 0)].concat();
    let mid_copy = b.add(u, block, gimli::DW_TAG_inlined_subroutine, &mid_attrs);
    b.code(u, mid_copy, 0x1040, 0x1100);
    let leaf_attrs = [[(gimli::DW_AT_abstract_origin, unit_ref(leaf))].as_slice(), &call(mid_h, 30, 5)].concat();
    let leaf_copy = b.add(u, mid_copy, gimli::DW_TAG_inlined_subroutine, &leaf_attrs);
    b.code(u, leaf_copy, 0x1060, 0x1080);
    b.lines(
        u,
        &[(0x1000, main_c, 10), (0x1040, mid_h, 29), (0x1060, leaf_h, 3), (0x1080, mid_h, 31), (0x1100, main_c, 12)],
        0x1200,
    );
    (b.finish(), [outer, mid_copy, leaf_copy])
}

#[test]
fn inlined_calls_are_frames_at_their_callers_call_site() {
    let (built, [outer, mid_copy, leaf_copy]) = inlined_chain();
    let info = built.info();
    let frames = info.frames(LinkAddr::new(0x1070));
    assert_eq!(names(&frames), [Some("leaf"), Some("mid"), Some("outer")]);
    let position = |f: &DwarfFrame| (f.file.clone(), f.line, f.column);
    let file = |name: &str| Some(format!("{SOURCE_DIR}/{name}"));
    // The innermost frame is at the pc's line; each one around it at the
    // call site of the inlined call inside it.
    assert_eq!(position(&frames[0]), (file("leaf.h"), Some(3), None));
    assert_eq!(position(&frames[1]), (file("mid.h"), Some(30), Some(5)));
    assert_eq!(position(&frames[2]), (file("main.c"), Some(20), None), "a call column 0 is no column");
    let dies: Vec<_> = frames.iter().map(|f| f.die).collect();
    let expected: Vec<_> = [leaf_copy, mid_copy, outer].iter().map(|&e| Some(built.offset(e).1)).collect();
    assert_eq!(dies, expected, "the lexical block is walked through, not a frame");

    // Past the inner call, only `mid` is inlined; outside both, `outer`.
    assert_eq!(names(&info.frames(LinkAddr::new(0x1080))), [Some("mid"), Some("outer")]);
    assert_eq!(info.frames(LinkAddr::new(0x1080))[0].line, Some(31));
    assert_eq!(names(&info.frames(LinkAddr::new(0x1190))), [Some("outer")]);
    assert_eq!(info.frames(LinkAddr::new(0x1190))[0].line, Some(12));
}

#[test]
fn a_line_starts_at_its_rows_address_and_ends_at_the_next() {
    let mut b = DwarfBuilder::new();
    let u = b.unit(4, DW_LANG_C99, "rows.c");
    let root = b.root(u);
    b.code(u, root, 0x1000, 0x1040);
    function(&mut b, u, root, "f", 0x1000, 0x1040);
    let file = b.file(u, "rows.c");
    b.lines(u, &[(0x1000, file, 10), (0x1010, file, 11)], 0x1020);
    let info = b.finish().info();
    let line = |pc| info.frames(LinkAddr::new(pc)).first().and_then(|f| f.line);
    assert_eq!(line(0x1000), Some(10));
    assert_eq!(line(0x100f), Some(10));
    assert_eq!(line(0x1010), Some(11), "a row's own address is its line");
    assert_eq!(line(0x101f), Some(11));
    assert_eq!(line(0x1020), None, "the end of the sequence has no line");
    assert_eq!(names(&info.frames(LinkAddr::new(0x1020))), [Some("f")], "the function is still known there");
}

#[test]
fn code_with_lines_and_no_function_is_a_nameless_frame() {
    // Assembly: the unit has a line table but no subprogram DIE.
    let mut b = DwarfBuilder::new();
    let u = b.unit(4, DW_LANG_C99, "start.S");
    let root = b.root(u);
    b.code(u, root, 0x1000, 0x1010);
    let file = b.file(u, "start.S");
    b.lines(u, &[(0x1000, file, 7)], 0x1010);
    let info = b.finish().info();
    let frames = info.frames(LinkAddr::new(0x1004));
    assert_eq!(names(&frames), [None]);
    assert_eq!((frames[0].line, frames[0].die), (Some(7), None));
}

#[test]
fn definitions_take_their_declarations_scope_and_origins_linkage_name() {
    let mut b = DwarfBuilder::new();
    let u = b.unit(4, DW_LANG_C_plus_plus, "widget.cpp");
    let root = b.root(u);
    b.code(u, root, 0x1000, 0x1100);
    // namespace ns { class Widget { void draw(); }; } declared, and
    // defined out of the class (no linkage name: internal linkage).
    let ns = b.add(u, root, gimli::DW_TAG_namespace, &[(gimli::DW_AT_name, string("ns"))]);
    let class = b.add(u, ns, gimli::DW_TAG_class_type, &[(gimli::DW_AT_name, string("Widget"))]);
    let declared = [(gimli::DW_AT_name, string("draw")), (gimli::DW_AT_declaration, flag())];
    let draw = b.add(u, class, gimli::DW_TAG_subprogram, &declared);
    let definition = b.add(u, root, gimli::DW_TAG_subprogram, &[(gimli::DW_AT_specification, unit_ref(draw))]);
    b.code(u, definition, 0x1000, 0x1040);
    // An inline function with a linkage name, and an out-of-line copy of
    // it that has only its abstract origin.
    let abstract_attrs = [
        (gimli::DW_AT_name, string("helper")),
        (gimli::DW_AT_linkage_name, string("_ZN2ns6helperEv")),
        (gimli::DW_AT_inline, uconst(1)),
    ];
    let helper = b.add(u, ns, gimli::DW_TAG_subprogram, &abstract_attrs);
    let copy = b.add(u, root, gimli::DW_TAG_subprogram, &[(gimli::DW_AT_abstract_origin, unit_ref(helper))]);
    b.code(u, copy, 0x1040, 0x1080);
    let built = b.finish();
    let info = built.info();

    let frames = info.frames(LinkAddr::new(0x1010));
    assert_eq!(names(&frames), [Some("ns::Widget::draw")]);
    assert_eq!(frames[0].language, Some(DW_LANG_C_plus_plus));
    assert_eq!(
        names(&info.frames(LinkAddr::new(0x1050))),
        [Some("_ZN2ns6helperEv")],
        "the linkage name, demangled later"
    );
    let die = built.die(&info, definition);
    assert_eq!(die.name().as_deref(), Some("draw"), "DW_AT_name through the specification");
    let (owner, _) = die.inherited(gimli::DW_AT_declaration).unwrap();
    assert_eq!(owner.offset, built.offset(draw).1);
    assert_eq!(built.die(&info, helper).scope_prefix(), "ns::");
}

#[test]
fn references_reach_dies_of_other_units() {
    // A definition in one unit of a function declared in another
    // (DW_FORM_ref_addr, as LTO and dwz write).
    let mut b = DwarfBuilder::new();
    let decls = b.unit(4, DW_LANG_C99, "decls.c");
    let decl_root = b.root(decls);
    let declared = [(gimli::DW_AT_name, string("shared")), (gimli::DW_AT_declaration, flag())];
    let shared = b.add(decls, decl_root, gimli::DW_TAG_subprogram, &declared);
    let code = b.unit(4, DW_LANG_C99, "code.c");
    let root = b.root(code);
    b.code(code, root, 0x1000, 0x1100);
    let spec = [(gimli::DW_AT_specification, info_ref(decls, shared))];
    let definition = b.add(code, root, gimli::DW_TAG_subprogram, &spec);
    b.code(code, definition, 0x1000, 0x1100);
    let built = b.finish();
    let info = built.info();
    assert_eq!(names(&info.frames(LinkAddr::new(0x1000))), [Some("shared")]);
    let target = built.die_in(&info, code, definition).follow(gimli::DW_AT_specification).unwrap();
    assert_eq!(target.key(), built.die_in(&info, decls, shared).key());
}
