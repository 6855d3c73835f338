//! Floating-point codecs: the target's float bytes decoded to the `f64`
//! the snapshot holds, and how a value JSON cannot hold (NaN, infinities)
//! is written. Kept apart from the type walk because the formats are
//! facts of the machine, not of DWARF: the x87 80-bit format in
//! particular is x86-specific.

use crate::snapshot::{Value, Variable};

/// A float of 4, 8, 10 (x87 extended, in 10 or 16 bytes) or 16 bytes
/// (IEEE binary128, named `_Float128`/`__float128`).
pub(super) fn float(bytes: &[u8], name: Option<&str>) -> f64 {
    match bytes.len() {
        4 => f32::from_le_bytes(bytes.try_into().unwrap_or_default()) as f64,
        8 => f64::from_le_bytes(bytes.try_into().unwrap_or_default()),
        16 if name.is_some_and(|n| n.contains("128")) => binary128(bytes),
        10 | 16 => x87_extended(bytes),
        _ => f64::NAN,
    }
}

/// The x87 80-bit extended format of x86's `long double` (stored in 10
/// bytes, padded to 16 on x86-64): an explicit integer bit, a 15-bit
/// exponent. x86-specific: another architecture's 16-byte `long double`
/// is IEEE binary128.
fn x87_extended(bytes: &[u8]) -> f64 {
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

fn binary128(bytes: &[u8]) -> f64 {
    let raw = u128::from_le_bytes(bytes.try_into().unwrap_or_default());
    let sign = if raw >> 127 != 0 { -1.0 } else { 1.0 };
    let exponent = ((raw >> 112) & 0x7fff) as i32;
    let fraction = raw & ((1u128 << 112) - 1);
    if exponent == 0x7fff {
        return if fraction == 0 { sign * f64::INFINITY } else { f64::NAN };
    }
    let (lead, exp) = if exponent == 0 { (0.0, 1) } else { (1.0, exponent) };
    sign * (lead + (fraction >> 60) as f64 / (1u64 << 52) as f64) * 2f64.powi(exp - 16383)
}

/// JSON has no NaN or infinities: those values are null, named in `symbol`.
pub(super) fn float_value(var: &mut Variable, v: f64) {
    var.value = Value::float(v);
    if !v.is_finite() {
        var.symbol = Some(if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        });
    }
}

pub(super) fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_x87_extended() {
        // 1.5L: mantissa 0xC000000000000000, exponent 16383.
        let mut b = 0xC000_0000_0000_0000u64.to_le_bytes().to_vec();
        b.extend_from_slice(&16383u16.to_le_bytes());
        assert_eq!(x87_extended(&b), 1.5);
        b[9] |= 0x80;
        assert_eq!(x87_extended(&b), -1.5);
    }
}
