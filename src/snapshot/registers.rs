//! A thread's registers as the snapshot records them: every register the
//! kernel reports, named and in a fixed order ([`crate::arch::CpuState`]
//! makes them), each written as a `"0x..."` string.
//!
//! Values stay numbers until serialization, which formats them into a
//! stack buffer: a thousand threads' registers cost no heap allocations.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Names and values apart: the names ptsnap writes are one static list
/// for every thread, so a thousand threads' registers cost a thousand
/// value lists only.
#[derive(Clone, Debug, Default)]
pub struct Registers {
    names: Names,
    values: Vec<u128>,
}

#[derive(Clone, Debug)]
enum Names {
    Static(&'static [&'static str]),
    /// Read from a snapshot (a newer version may name others).
    Read(Vec<String>),
}

impl Default for Names {
    fn default() -> Self {
        Names::Static(&[])
    }
}

impl Registers {
    /// `values[i]` is the register `names[i]`; extra values of either are
    /// dropped.
    pub fn named(names: &'static [&'static str], mut values: Vec<u128>) -> Self {
        values.truncate(names.len());
        Registers { names: Names::Static(&names[..values.len()]), values }
    }

    /// (name, value) in the order the kernel's register sets give them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u128)> {
        let names: Box<dyn Iterator<Item = &str>> = match &self.names {
            Names::Static(names) => Box::new(names.iter().copied()),
            Names::Read(names) => Box::new(names.iter().map(String::as_str)),
        };
        names.zip(self.values.iter().copied())
    }

    pub fn get(&self, name: &str) -> Option<u128> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

impl PartialEq for Registers {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Registers {}

/// A number as `0x...` in lower-case hex, formatted on the stack: a
/// snapshot writes hundreds of thousands of addresses.
pub(super) struct Hex {
    bytes: [u8; 34],
    start: usize,
}

impl Hex {
    pub(super) fn new(value: u128) -> Self {
        let mut bytes = [0u8; 34];
        let mut start = bytes.len();
        let mut rest = value;
        loop {
            start -= 1;
            bytes[start] = b"0123456789abcdef"[(rest & 0xf) as usize];
            rest >>= 4;
            if rest == 0 {
                break;
            }
        }
        bytes[start - 2..start].copy_from_slice(b"0x");
        Hex { bytes, start: start - 2 }
    }

    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[self.start..]).unwrap_or("0x0")
    }
}

impl Serialize for Registers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.values.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, Hex::new(value).as_str())?;
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
                let (mut names, mut values) = (Vec::new(), Vec::new());
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    let hex = v.strip_prefix("0x").unwrap_or(&v);
                    values.push(u128::from_str_radix(hex, 16).map_err(serde::de::Error::custom)?);
                    names.push(k);
                }
                Ok(Registers { names: Names::Read(names), values })
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
        let r = Registers::named(&["rip", "xmm0"], vec![0x401000, 1 << 100]);
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"rip":"0x401000","xmm0":"0x10000000000000000000000000"}"#);
        assert_eq!(serde_json::from_str::<Registers>(&text).unwrap(), r);
    }

    #[test]
    fn hex_as_format_writes_it() {
        for v in [0, 1, 0xf, 0x10, 0xdead_beef, u64::MAX as u128, u128::MAX] {
            assert_eq!(Hex::new(v).as_str(), format!("{v:#x}"));
        }
    }
}
