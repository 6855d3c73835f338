//! Floating-point codecs: the target's float bytes decoded to the `f64`
//! the snapshot holds, and how a value JSON cannot hold (NaN, infinities)
//! is written. Kept apart from the type walk because the formats are
//! facts of the machine, not of DWARF; `long double`'s is the
//! architecture's ([`crate::arch::float`]).

use crate::arch;
use crate::snapshot::{Value, Variable};

/// A float of 4, 8, 10 (`long double`, in 10 or 16 bytes) or 16 bytes
/// (IEEE binary128, named `_Float128`/`__float128`).
pub(super) fn float(bytes: &[u8], name: Option<&str>) -> f64 {
    match bytes.len() {
        4 => f32::from_le_bytes(bytes.try_into().unwrap_or_default()) as f64,
        8 => f64::from_le_bytes(bytes.try_into().unwrap_or_default()),
        16 if name.is_some_and(|n| n.contains("128")) => binary128(bytes),
        10 | 16 => arch::float::long_double(bytes),
        _ => f64::NAN,
    }
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
