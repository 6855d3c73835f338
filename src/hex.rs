//! Bytes and numbers as lower-case hex: the one spelling ptsnap gives
//! build ids, debuginfod and `.build-id/` paths, undecodable string bytes,
//! cache keys and random names; and the digits of addresses, which a
//! snapshot writes by the hundred thousand.

use std::fmt::Write;

/// `bytes` as two lower-case hex digits each.
pub fn bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The sixteen hex digits of `n`, all at once: each nibble is spread to
/// a byte of its own, and the bytes turned to digits together (`0`-`9`
/// are `0x30` up, `a`-`f` 39 further).
pub fn digits(n: u64) -> [u8; 16] {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    // The eight nibbles of `half`, one a byte, the first in the top byte.
    let spread = |half: u64| {
        let half = (half | half << 16) & 0x0000_ffff_0000_ffff;
        let half = (half | half << 8) & 0x00ff_00ff_00ff_00ff;
        (half | half << 4) & 0x0f0f_0f0f_0f0f_0f0f
    };
    let digits = |nibbles: u64| {
        let letters = (nibbles + ONES * 6) >> 4 & ONES;
        (nibbles + ONES * 0x30 + letters * 39).to_be_bytes()
    };
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&digits(spread(n >> 32)));
    out[8..].copy_from_slice(&digits(spread(n & 0xffff_ffff)));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_lower_case_digits_a_byte() {
        assert_eq!(super::bytes(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(super::bytes(&[]), "");
    }

    #[test]
    fn sixteen_digits_as_format_writes_them() {
        for n in [0, 1, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0x9a9a_a9a9, u64::MAX] {
            assert_eq!(super::digits(n), format!("{n:016x}").as_bytes());
        }
    }
}
