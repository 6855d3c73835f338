//! A thread's registers as the snapshot records them: every general
//! register the kernel reports and the x87/SSE state, in a fixed order,
//! each written as a `"0x..."` string.
//!
//! Values stay numbers until serialization, which formats them into a
//! stack buffer: a thousand threads' registers cost no heap allocations.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registers(pub Vec<(Cow<'static, str>, u128)>);

impl Registers {
    pub fn from_thread(gp: Option<&libc::user_regs_struct>, fp: Option<&libc::user_fpregs_struct>) -> Self {
        let mut out = Vec::with_capacity(60);
        if let Some(r) = gp {
            let regs = [
                ("rax", r.rax),
                ("rbx", r.rbx),
                ("rcx", r.rcx),
                ("rdx", r.rdx),
                ("rsi", r.rsi),
                ("rdi", r.rdi),
                ("rbp", r.rbp),
                ("rsp", r.rsp),
                ("r8", r.r8),
                ("r9", r.r9),
                ("r10", r.r10),
                ("r11", r.r11),
                ("r12", r.r12),
                ("r13", r.r13),
                ("r14", r.r14),
                ("r15", r.r15),
                ("rip", r.rip),
                ("eflags", r.eflags),
                ("cs", r.cs),
                ("ss", r.ss),
                ("ds", r.ds),
                ("es", r.es),
                ("fs", r.fs),
                ("gs", r.gs),
                ("fs_base", r.fs_base),
                ("gs_base", r.gs_base),
                ("orig_rax", r.orig_rax),
            ];
            out.extend(regs.into_iter().map(|(n, v)| (Cow::Borrowed(n), u128::from(v))));
        }
        if let Some(f) = fp {
            out.push(("fcw".into(), f.cwd.into()));
            out.push(("fsw".into(), f.swd.into()));
            out.push(("ftw".into(), f.ftw.into()));
            out.push(("mxcsr".into(), f.mxcsr.into()));
            const ST: [&str; 8] = ["st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7"];
            const XMM: [&str; 16] = [
                "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
                "xmm12", "xmm13", "xmm14", "xmm15",
            ];
            for (i, name) in ST.iter().enumerate() {
                // 80-bit values in 16-byte slots: the upper word is padding.
                out.push((Cow::Borrowed(*name), wide(&f.st_space[i * 4..i * 4 + 4]) & ((1 << 80) - 1)));
            }
            for (i, name) in XMM.iter().enumerate() {
                out.push((Cow::Borrowed(*name), wide(&f.xmm_space[i * 4..i * 4 + 4])));
            }
        }
        Registers(out)
    }
}

/// Four little-endian 32-bit words as one number.
fn wide(words: &[u32]) -> u128 {
    words.iter().rev().fold(0u128, |acc, w| (acc << 32) | u128::from(*w))
}

/// A fixed buffer that `write!` formats into without allocating.
struct HexBuf {
    bytes: [u8; 40],
    len: usize,
}

impl std::fmt::Write for HexBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Serialize for Registers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            let mut buf = HexBuf { bytes: [0; 40], len: 0 };
            let _ = write!(buf, "{value:#x}");
            map.serialize_entry(name.as_ref(), std::str::from_utf8(&buf.bytes[..buf.len]).unwrap_or("0x0"))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Registers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Registers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of register names to hex strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Registers, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    let hex = v.strip_prefix("0x").unwrap_or(&v);
                    let value = u128::from_str_radix(hex, 16).map_err(serde::de::Error::custom)?;
                    out.push((Cow::Owned(k), value));
                }
                Ok(Registers(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = Registers(vec![("rip".into(), 0x401000), ("xmm0".into(), 1 << 100)]);
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"rip":"0x401000","xmm0":"0x10000000000000000000000000"}"#);
        assert_eq!(serde_json::from_str::<Registers>(&text).unwrap(), r);
        assert_eq!(wide(&[1, 0, 2, 0]), 0x2_0000_0000_0000_0001);
    }
}
