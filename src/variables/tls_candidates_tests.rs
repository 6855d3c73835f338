use super::*;

/// `expr` inside a unit's bytes, preceded by its one-byte length and
/// surrounded by unrelated bytes.
fn exprloc(expr: &[u8]) -> Vec<u8> {
    let mut out = vec![0x05, 0x13, 0x01];
    out.push(expr.len() as u8);
    out.extend(expr);
    out.extend([0x07, 0x00]);
    out
}

const SEGMENT: Option<(u64, u64)> = Some((0x4000, 0xf0));

#[test]
fn what_gcc_clang_and_rustc_emit() {
    let const8u = [0x0e, 0x28, 0, 0, 0, 0, 0, 0, 0];
    for tls_op in [0xe0, 0x9b] {
        // gcc and clang (DWARF 4 and 5), rustc: DW_OP_const8u, then the TLS op.
        assert!(may_define_tls(&exprloc(&[&const8u[..], &[tls_op]].concat()), SEGMENT));
        // Split DWARF: DW_OP_GNU_const_index (gcc 4, clang), DW_OP_constx (gcc 5).
        for index_op in [0xfc, 0xa2, 0xfb, 0xa1] {
            assert!(may_define_tls(&exprloc(&[index_op, 0x03, tls_op]), SEGMENT));
            assert!(may_define_tls(&exprloc(&[index_op, 0x85, 0x02, tls_op]), SEGMENT), "{index_op:#x}, long index");
            assert!(
                may_define_tls(&exprloc(&[index_op, 0xfc, 0x01, tls_op]), SEGMENT),
                "{index_op:#x}, 0xfc in the index"
            );
        }
        // 32-bit targets: DW_OP_const4u; DW_OP_addr of either size.
        assert!(may_define_tls(&exprloc(&[0x0c, 0x08, 0, 0, 0, tls_op]), SEGMENT));
        assert!(may_define_tls(&exprloc(&[0x03, 0x08, 0, 0, 0, tls_op]), SEGMENT));
        assert!(may_define_tls(&exprloc(&[0x03, 0x08, 0, 0, 0, 0, 0, 0, 0, tls_op]), SEGMENT));
    }
}

#[test]
fn a_piece_or_an_offset_may_follow() {
    let expr = [0x0e, 0x28, 0, 0, 0, 0, 0, 0, 0, 0xe0];
    assert!(may_define_tls(&exprloc(&[&expr[..], &[0x93, 0x04]].concat()), SEGMENT));
    assert!(may_define_tls(&exprloc(&[&expr[..], &[0x23, 0x88, 0x01]].concat()), SEGMENT));
    // Two pieces: the first one is found.
    assert!(may_define_tls(&exprloc(&[&expr[..], &[0x93, 0x04], &expr[..], &[0x93, 0x04]].concat()), SEGMENT));
}

#[test]
fn block_lengths_of_dwarf_2_and_3() {
    let expr = [0x0e, 0x28, 0, 0, 0, 0, 0, 0, 0, 0xe0];
    for width in [2usize, 4] {
        let mut bytes = vec![0x05, expr.len() as u8];
        bytes.extend(std::iter::repeat_n(0, width - 1));
        bytes.extend(expr);
        assert!(may_define_tls(&bytes, SEGMENT), "block{width}");
    }
}

#[test]
fn offsets_and_addresses_in_the_tls_segment_only() {
    let at = |offset: u64| exprloc(&[&[0x0e][..], &offset.to_le_bytes(), &[0xe0]].concat());
    assert!(may_define_tls(&at(0xe8), SEGMENT));
    // gcc's link-time address (split DWARF).
    assert!(may_define_tls(&at(0x4010), SEGMENT));
    assert!(!may_define_tls(&at(0xf0), SEGMENT));
    assert!(!may_define_tls(&at(0x1234_5678_9abc), SEGMENT));
    // The segment unknown: any value.
    assert!(may_define_tls(&at(0x1234_5678_9abc), None));
    // A big-endian module's offset.
    assert!(may_define_tls(&exprloc(&[0x0c, 0, 0, 0, 0x08, 0x9b]), SEGMENT));
}

#[test]
fn bytes_of_other_shapes_are_no_candidates() {
    let expr = [0x0e, 0x28, 0, 0, 0, 0, 0, 0, 0, 0xe0];
    // A length that does not end the expression at the TLS op.
    let mut wrong_length = exprloc(&expr);
    wrong_length[3] += 1;
    assert!(!may_define_tls(&wrong_length, SEGMENT));
    // No push of an offset before it, or one that is no relocation.
    assert!(!may_define_tls(&exprloc(&[0x10, 0x08, 0xe0]), SEGMENT), "DW_OP_constu");
    assert!(!may_define_tls(&exprloc(&[0x08, 0x08, 0xe0]), SEGMENT), "DW_OP_const1u");
    assert!(!may_define_tls(&exprloc(&[0x91, 0x08, 0xe0]), SEGMENT), "DW_OP_fbreg");
    // An index whose operand does not end where the TLS op starts.
    assert!(!may_define_tls(&exprloc(&[0xfc, 0x83, 0xe0]), SEGMENT));
    // At the section's edges.
    assert!(!may_define_tls(&[0xe0], SEGMENT));
    assert!(!may_define_tls(&[0x9b, 0x9b, 0xe0], SEGMENT));
    assert!(!may_define_tls(&[], SEGMENT));
}
