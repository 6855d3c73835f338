//! The TLS-only scan finds what the full scan marks `tls`, in the same
//! order, whatever units and encodings hold them.

use super::*;
use crate::testing::dwarf_builder::*;

/// `DW_OP_const8u offset`, then `op`.
fn tls_location(op: gimli::DwOp, offset: u64) -> gimli::write::AttributeValue {
    exprloc(&[&[gimli::DW_OP_const8u.0][..], &offset.to_le_bytes(), &[op.0]].concat())
}

fn names(scan: &[GlobalDie<'_, '_>]) -> Vec<String> {
    scan.iter().map(|g| g.name.clone()).collect()
}

#[test]
fn the_tls_scan_finds_what_the_full_scan_marks() {
    let mut b = DwarfBuilder::new();
    let variable = |b: &mut DwarfBuilder, u, parent, name: &str, location| {
        b.add(
            u,
            parent,
            gimli::DW_TAG_variable,
            &[(gimli::DW_AT_name, string(name)), (gimli::DW_AT_location, location)],
        )
    };
    // A C unit: a global and a TLS variable.
    let c = b.unit(4, gimli::DW_LANG_C99, "a.c");
    let root = b.root(c);
    variable(&mut b, c, root, "plain", exprloc(&[gimli::DW_OP_addr.0, 0, 0x20, 0, 0, 0, 0, 0, 0]));
    variable(&mut b, c, root, "counter", tls_location(gimli::DW_OP_GNU_push_tls_address, 0x10));
    // A unit whose only TLS variable is a function's static: parsed (its
    // bytes are a candidate), yet nothing listed, as by the full scan.
    let none = b.unit(4, gimli::DW_LANG_C99, "b.c");
    let root = b.root(none);
    variable(&mut b, none, root, "other", exprloc(&[gimli::DW_OP_addr.0, 8, 0x20, 0, 0, 0, 0, 0, 0]));
    let function = b.add(none, root, gimli::DW_TAG_subprogram, &[(gimli::DW_AT_name, string("f"))]);
    variable(&mut b, none, function, "local_tls", tls_location(gimli::DW_OP_form_tls_address, 0x18));
    // A C++ unit (DWARF 5): in a namespace, and a variable in pieces.
    let cpp = b.unit(5, gimli::DW_LANG_C_plus_plus, "c.cpp");
    let root = b.root(cpp);
    let ns = b.add(cpp, root, gimli::DW_TAG_namespace, &[(gimli::DW_AT_name, string("shop"))]);
    variable(&mut b, cpp, ns, "stock", tls_location(gimli::DW_OP_form_tls_address, 0x20));
    let pieces = [
        &tls_location_bytes(0x28)[..],
        &[gimli::DW_OP_piece.0, 4],
        &tls_location_bytes(0x30),
        &[gimli::DW_OP_piece.0, 4],
    ]
    .concat();
    variable(&mut b, cpp, root, "halves", exprloc(&pieces));
    // DWARF 3: the location is a block.
    let old = b.unit(3, gimli::DW_LANG_C89, "d.c");
    let root = b.root(old);
    variable(&mut b, old, root, "old", tls_location(gimli::DW_OP_GNU_push_tls_address, 0x38));
    let built = b.finish();

    for segment in [None, Some((0x1000, 0x40))] {
        let info = built.info().with_tls_segment(segment);
        let full: Vec<GlobalDie<'_, '_>> = scan(&info).into_iter().filter(|g| g.tls).collect();
        let tls = scan_tls(&info);
        assert_eq!(names(&tls), ["counter", "shop::stock", "halves", "old"], "segment {segment:?}");
        assert_eq!(names(&tls), names(&full));
        let keys = |s: &[GlobalDie<'_, '_>]| s.iter().map(|g| g.die.key()).collect::<Vec<_>>();
        assert_eq!(keys(&tls), keys(&full));
    }
}

/// `DW_OP_const8u offset, DW_OP_GNU_push_tls_address`.
fn tls_location_bytes(offset: u64) -> Vec<u8> {
    [&[gimli::DW_OP_const8u.0][..], &offset.to_le_bytes(), &[gimli::DW_OP_GNU_push_tls_address.0]].concat()
}

#[test]
fn offsets_outside_the_segment_are_no_tls_candidates() {
    let mut b = DwarfBuilder::new();
    let u = b.unit(4, gimli::DW_LANG_C99, "a.c");
    let root = b.root(u);
    let location = tls_location(gimli::DW_OP_GNU_push_tls_address, 0x80);
    b.add(u, root, gimli::DW_TAG_variable, &[(gimli::DW_AT_name, string("far")), (gimli::DW_AT_location, location)]);
    let built = b.finish();
    // Beyond the module's TLS segment: no variable of it, the unit is not parsed.
    assert!(scan_tls(&built.info().with_tls_segment(Some((0x1000, 0x40)))).is_empty());
    assert_eq!(names(&scan_tls(&built.info().with_tls_segment(Some((0x1000, 0x100))))), ["far"]);
}
