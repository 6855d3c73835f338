//! Bytes as lower-case hex, the one spelling ptsnap gives build ids,
//! debuginfod and `.build-id/` paths, undecodable string bytes, cache
//! keys and random names.

use std::fmt::Write;

/// `bytes` as two lower-case hex digits each.
pub fn bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_lower_case_digits_a_byte() {
        assert_eq!(super::bytes(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(super::bytes(&[]), "");
    }
}
