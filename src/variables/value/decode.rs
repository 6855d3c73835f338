//! Integers, enumerators, characters and strings decoded from the bytes
//! read, as the snapshot writes them: pure functions of bytes, apart from
//! the walk that finds the bytes (floats are in [`super::floats`]).

use crate::snapshot::{Value, Variable};

/// Little-endian integer of up to 16 bytes, sign-extended when `signed`.
pub(super) fn integer(bytes: &[u8], signed: bool) -> i128 {
    let n = bytes.len().min(16);
    let mut buf = [0u8; 16];
    buf[..n].copy_from_slice(&bytes[..n]);
    let raw = u128::from_le_bytes(buf);
    if signed && n > 0 && n < 16 && bytes[n - 1] & 0x80 != 0 {
        (raw | (!0u128 << (n * 8))) as i128
    } else {
        raw as i128
    }
}

/// Integers that fit JSON's safe range of a u64/i64 are numbers; 128-bit
/// values beyond are decimal strings.
pub(super) fn json_integer(v: i128) -> Value {
    if let Ok(i) = i64::try_from(v) {
        Value::Int(i)
    } else if let Ok(u) = u64::try_from(v) {
        Value::UInt(u)
    } else {
        Value::Text(v.to_string().into())
    }
}

pub(super) fn enum_label(enumerators: &[(String, i128)], v: i128) -> Option<String> {
    if let Some((name, _)) = enumerators.iter().find(|(_, e)| *e == v) {
        return Some(name.clone());
    }
    // Flag enums: a combination of single-bit enumerators, as gdb shows.
    let mut rest = v;
    let mut parts = Vec::new();
    for (name, e) in enumerators {
        if *e > 0 && (e & (e - 1)) == 0 && rest & e == *e {
            parts.push(name.as_str());
            rest &= !e;
        }
    }
    (!parts.is_empty() && rest == 0).then(|| parts.join(" | "))
}

/// A character as C writes it: `'A'`, `'\n'`, `'\377'`.
pub(super) fn char_literal(b: u8) -> String {
    match b {
        b'\n' => "'\\n'".into(),
        b'\t' => "'\\t'".into(),
        b'\r' => "'\\r'".into(),
        0 => "'\\000'".into(),
        b'\'' => "'\\''".into(),
        b'\\' => "'\\\\'".into(),
        0x20..=0x7e => format!("'{}'", b as char),
        _ => format!("'\\{b:03o}'"),
    }
}

/// A string's value from the bytes read (`text_end` is where the text
/// stops: its NUL, or the end): `symbol` is the text, and when that is not
/// exactly what was read (bytes that are not UTF-8, bytes after the NUL
/// that are not all NUL), `bytes` holds every byte in hex.
pub(super) fn set_string(var: &mut Variable, read: &[u8], text_end: usize) {
    let text = &read[..text_end];
    let exact = std::str::from_utf8(text).is_ok() && read[text_end..].iter().all(|&b| b == 0);
    var.symbol = Some(String::from_utf8_lossy(text).into());
    if !exact {
        var.bytes = Some(crate::hex::bytes(read).into());
    }
}

/// A Rust `char`'s literal as rust-gdb prints it: `'a'`, `'\n'`, `'\0'`,
/// `'\xe9'` up to 255, `'\u{004e2d}'` above.
pub(super) fn rust_char_literal(c: u32) -> String {
    let inner = match c {
        0x5c => "\\\\".to_string(),
        0x27 => "\\'".to_string(),
        0x0a => "\\n".to_string(),
        0x0d => "\\r".to_string(),
        0x09 => "\\t".to_string(),
        0 => "\\0".to_string(),
        0x20..=0x7e => char::from(c as u8).to_string(),
        0x01..=0x1f | 0x7f..=0xff => format!("\\x{c:02x}"),
        _ => format!("\\u{{{c:06x}}}"),
    };
    format!("'{inner}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_chars_are_written_as_rust_gdb_writes_them() {
        let written: Vec<String> = [0x61, 0x0a, 0, 0x27, 0x5c, 0x1b, 0xe9, 0x4e2d].map(rust_char_literal).into();
        assert_eq!(written, ["'a'", "'\\n'", "'\\0'", "'\\''", "'\\\\'", "'\\x1b'", "'\\xe9'", "'\\u{004e2d}'"]);
    }

    #[test]
    fn sign_extends_and_labels() {
        assert_eq!(integer(&[0xff, 0xff], true), -1);
        assert_eq!(integer(&[0xff, 0xff], false), 65535);
        let e = vec![("A".to_string(), 1), ("B".to_string(), 2), ("C".to_string(), 4)];
        assert_eq!(enum_label(&e, 2).as_deref(), Some("B"));
        assert_eq!(enum_label(&e, 5).as_deref(), Some("A | C"));
        assert_eq!(enum_label(&e, 8), None);
        assert_eq!(char_literal(b'A'), "'A'");
        assert_eq!(char_literal(0xff), "'\\377'");
    }
}
