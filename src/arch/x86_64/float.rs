//! The floating-point formats that are the architecture's own.

/// `long double`: the x87 80-bit extended format (stored in 10 bytes,
/// padded to 16 on x86-64), with an explicit integer bit and a 15-bit
/// exponent. (Another architecture's 16-byte `long double` is IEEE
/// binary128.)
pub fn long_double(bytes: &[u8]) -> f64 {
    let mantissa = u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default());
    let se = u16::from_le_bytes([bytes[8], bytes[9]]);
    let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = (se & 0x7fff) as i32;
    if exponent == 0x7fff {
        return if mantissa << 1 == 0 { sign * f64::INFINITY } else { f64::NAN };
    }
    if exponent == 0 && mantissa == 0 {
        return sign * 0.0;
    }
    sign * mantissa as f64 * 2f64.powi(exponent.max(1) - 16383 - 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_x87_extended() {
        // 1.5L: mantissa 0xC000000000000000, exponent 16383.
        let mut b = 0xC000_0000_0000_0000u64.to_le_bytes().to_vec();
        b.extend_from_slice(&16383u16.to_le_bytes());
        assert_eq!(long_double(&b), 1.5);
        b[9] |= 0x80;
        assert_eq!(long_double(&b), -1.5);
    }
}
