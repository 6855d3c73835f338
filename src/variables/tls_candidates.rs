//! Which units may define a thread-local variable, told from their raw
//! `.debug_info` bytes without parsing a DIE.
//!
//! Each thread's TLS variables are those of the module's file- and
//! namespace-scope variables whose location is an inline expression
//! (`DW_FORM_exprloc`, or a block in DWARF 2/3) with a TLS operation. On a
//! big executable (Rust, C++) parsing every unit to find them costs far
//! more than the rest of a snapshot, and few units hold one, so the units
//! are filtered first by the bytes such an expression must have:
//!
//! - its length (one byte for `exprloc`, `block1` and a short `block`,
//!   else the two or four of `block2`/`block4`),
//! - the push of the variable's offset in the module's TLS block: an
//!   offset only the linker knows, so compilers emit it through a
//!   relocation, in a fixed-size operand (`DW_OP_const8u`,
//!   `DW_OP_const4u`, `DW_OP_addr`), or in split DWARF as an index into
//!   `.debug_addr` (`DW_OP_GNU_const_index`, `DW_OP_constx`, and their
//!   address twins) with a ULEB128 operand,
//! - `DW_OP_form_tls_address` (0x9b) or `DW_OP_GNU_push_tls_address`
//!   (0xe0), ending the expression, or followed by one
//!   `DW_OP_plus_uconst` that does, or by a `DW_OP_piece` (the first part
//!   of a variable in pieces, as LLVM writes fragments; the expression
//!   may go on, up to 127 bytes).
//!
//! That is what gcc and clang (DWARF 4 and 5, split or not) and rustc
//! (`thread_local!`) emit. A fixed-size operand must also be an offset in
//! (or, as gcc writes it in split DWARF, an address in) the module's TLS
//! segment when the segment is known, which is what makes random bytes of
//! this shape rare. A unit without such bytes is not parsed; a unit with
//! them is scanned as before, so a false candidate costs time, never a
//! variable.

use memchr::memchr2_iter;

const FORM_TLS_ADDRESS: u8 = gimli::constants::DW_OP_form_tls_address.0;
const GNU_PUSH_TLS_ADDRESS: u8 = gimli::constants::DW_OP_GNU_push_tls_address.0;

/// Operations pushing a relocated constant, with their operand's size.
const FIXED: [(gimli::DwOp, usize); 4] = [
    (gimli::constants::DW_OP_const8u, 8),
    (gimli::constants::DW_OP_const4u, 4),
    (gimli::constants::DW_OP_addr, 8),
    (gimli::constants::DW_OP_addr, 4),
];

/// Operations pushing a `.debug_addr` entry named by a ULEB128 index.
const INDEXED: [gimli::DwOp; 4] = [
    gimli::constants::DW_OP_constx,
    gimli::constants::DW_OP_addrx,
    gimli::constants::DW_OP_GNU_const_index,
    gimli::constants::DW_OP_GNU_addr_index,
];

/// Operations that may follow the TLS operation, each with a ULEB128 operand.
const SUFFIXES: [gimli::DwOp; 2] = [gimli::constants::DW_OP_piece, gimli::constants::DW_OP_plus_uconst];

/// The longest ULEB128 of a 64-bit value.
const MAX_ULEB: usize = 10;

/// Whether `bytes` (a unit's DIEs) may hold the location expression of a
/// thread-local variable. `segment` is the module's TLS segment
/// (link-time address, size), if known.
pub fn may_define_tls(bytes: &[u8], segment: Option<(u64, u64)>) -> bool {
    memchr2_iter(FORM_TLS_ADDRESS, GNU_PUSH_TLS_ADDRESS, bytes).any(|at| {
        let ends = expression_ends(bytes, at + 1);
        ends.into_iter().flatten().any(|end| pushes_offset(bytes, at, end, segment))
    })
}

/// Where an expression may end: at `at`, or, when `more`, anywhere after
/// (a piece may be followed by other pieces).
#[derive(Clone, Copy)]
struct End {
    at: usize,
    more: bool,
}

/// Where the expression may end after a TLS operation ending at `after`:
/// right there, or after one suffix operation.
fn expression_ends(bytes: &[u8], after: usize) -> [Option<End>; 2] {
    let suffixed = bytes.get(after).filter(|b| SUFFIXES.iter().any(|op| op.0 == **b)).and_then(|&op| {
        let len = bytes.get(after + 1..)?.iter().take(MAX_ULEB).position(|b| b & 0x80 == 0)? + 1;
        Some(End { at: after + 1 + len, more: op == gimli::constants::DW_OP_piece.0 })
    });
    [Some(End { at: after, more: false }), suffixed]
}

/// Whether the TLS operation at `at` follows the push of an offset that
/// starts an expression ending at `end`.
fn pushes_offset(bytes: &[u8], at: usize, end: End, segment: Option<(u64, u64)>) -> bool {
    let fixed = FIXED.iter().any(|&(op, size)| {
        let Some(start) = at.checked_sub(size + 1) else { return false };
        let operand = &bytes[start + 1..at];
        // In either byte order: the module's, not known here, is one of them.
        let little = operand.iter().rev().fold(0u64, |v, &b| v << 8 | u64::from(b));
        let big = operand.iter().fold(0u64, |v, &b| v << 8 | u64::from(b));
        bytes[start] == op.0
            && (in_segment(little, segment) || in_segment(big, segment))
            && has_length(bytes, start, end)
    });
    fixed || indexed_push(bytes, at).any(|start| has_length(bytes, start, end))
}

/// The starts of index operations whose ULEB128 operand ends at `at`.
fn indexed_push(bytes: &[u8], at: usize) -> impl Iterator<Item = usize> + '_ {
    let last = at.checked_sub(1).filter(|&i| bytes[i] & 0x80 == 0);
    // The operand's other bytes all have the high bit set.
    let operand_starts = last.into_iter().flat_map(move |last| {
        let continued = bytes[..last].iter().rev().take(MAX_ULEB - 1).take_while(|b| *b & 0x80 != 0).count();
        (0..=continued).map(move |extra| last - extra)
    });
    operand_starts
        .filter_map(|operand| operand.checked_sub(1))
        .filter(|&start| INDEXED.iter().any(|op| op.0 == bytes[start]))
}

/// Whether a value pushed for `DW_OP_form_tls_address` can be a variable
/// of the module: an offset in its TLS block, or an address in its TLS
/// segment.
fn in_segment(value: u64, segment: Option<(u64, u64)>) -> bool {
    match segment {
        Some((start, size)) => value < size || value.wrapping_sub(start) < size,
        None => true,
    }
}

/// Whether the expression at `start` is preceded by a length that ends
/// it at `end`, as a one-byte length (`exprloc` and `block` with a short
/// ULEB128, `block1`), a `block2` or a `block4`.
fn has_length(bytes: &[u8], start: usize, end: End) -> bool {
    let Ok(len) = u8::try_from(end.at - start) else { return false };
    [1, 2, 4].iter().any(|&width| {
        let Some(prefix) = start.checked_sub(width).map(|from| &bytes[from..start]) else { return false };
        let fits = if end.more { prefix[0] >= len } else { prefix[0] == len };
        fits && prefix[1..].iter().all(|&b| b == 0)
    })
}

#[cfg(test)]
#[path = "tls_candidates_tests.rs"]
mod tests;
