//! A thread's registers as the snapshot records them: every register the
//! kernel reports, named and in a fixed order ([`crate::arch::CpuState`]
//! makes them), each written as a `"0x..."` string.
//!
//! Values stay numbers until serialization, which formats them into a
//! stack buffer: a thousand threads' registers cost no heap allocations.
//! Read back, names that are ptsnap's, in its order, are its list again:
//! read as strings, a thousand threads' names took 3.2 MiB (a sixth of
//! what the viewer holds of bench.py's 1,001 threads).

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
        // Addresses fit in 64 bits: their upper digits are not looked at.
        let high = (value >> 64) as u64;
        if high != 0 {
            bytes[2..18].copy_from_slice(&crate::hex::digits(high));
        }
        bytes[18..].copy_from_slice(&crate::hex::digits(value as u64));
        let digits = (128 - value.leading_zeros() as usize).div_ceil(4).max(1);
        let start = bytes.len() - digits;
        bytes[start - 2..start].copy_from_slice(b"0x");
        Hex { bytes, start: start - 2 }
    }

    pub(super) fn as_str(&self) -> &str {
        // SAFETY: `new` wrote `0x` and hex digits from `start` on: ASCII.
        // (A checked conversion costs as much as the digits, for each of
        // the hundreds of thousands.)
        unsafe { std::str::from_utf8_unchecked(&self.bytes[self.start..]) }
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
                let known: &'static [&'static str] = &crate::arch::REGISTER_NAMES;
                // Where the names so far begin in `known`, while they are a
                // run of it; the names read, once they are not.
                let (mut run, mut read) = (None, Vec::new());
                let mut values = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    let hex = v.strip_prefix("0x").unwrap_or(&v);
                    let i = values.len();
                    values.push(u128::from_str_radix(hex, 16).map_err(serde::de::Error::custom)?);
                    if i == 0 {
                        run = known.iter().position(|n| *n == k);
                    }
                    // Not the next name of the run: the names become text.
                    if run.is_none_or(|start| known.get(start + i) != Some(&k.as_str())) {
                        if let Some(start) = run.take() {
                            read = known[start..start + i].iter().map(ToString::to_string).collect();
                        }
                        read.push(k);
                    }
                }
                let names = match run {
                    Some(start) => Names::Static(&known[start..start + values.len()]),
                    None => Names::Read(read),
                };
                Ok(Registers { names, values })
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

    /// Names of ptsnap's list, in its order, are read as that list; any
    /// others as they are, wherever they come.
    #[test]
    fn names_read_are_the_list_again_when_they_are_a_run_of_it() {
        let read = |json: &str| serde_json::from_str::<Registers>(json).unwrap();
        let general = read(r#"{"rax":"0x1","rbx":"0x2","rcx":"0x3"}"#);
        assert!(matches!(general.names, Names::Static(names) if names == ["rax", "rbx", "rcx"]));
        let vector = read(r#"{"fcw":"0x37f","fsw":"0x0"}"#);
        assert!(matches!(vector.names, Names::Static(names) if names == ["fcw", "fsw"]));
        for (json, names) in [
            (r#"{"rax":"0x1","rcx":"0x2","rbx":"0x3"}"#, ["rax", "rcx", "rbx"]),
            (r#"{"rax":"0x1","rbx":"0x2","new":"0x3"}"#, ["rax", "rbx", "new"]),
            (r#"{"new":"0x1","rax":"0x2","rbx":"0x3"}"#, ["new", "rax", "rbx"]),
        ] {
            let r = read(json);
            assert!(matches!(&r.names, Names::Read(_)), "{json}");
            assert_eq!(r.iter().map(|(n, _)| n).collect::<Vec<_>>(), names);
            assert_eq!(r.iter().map(|(_, v)| v).collect::<Vec<_>>(), [1, 2, 3]);
        }
        assert_eq!(read("{}"), Registers::default());
    }

    #[test]
    fn hex_as_format_writes_it() {
        let around_64_bits = [u64::MAX as u128, 1 << 64, (1 << 64) | 0xf, (0xab << 60) | 1];
        let every_digit = [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0x9a9a_a9a9];
        let values =
            [0, 1, 0xf, 0x10, 0xdead_beef, 0x7f00_1234_5678].into_iter().chain(every_digit).chain(around_64_bits);
        for v in values.chain([u128::MAX]) {
            assert_eq!(Hex::new(v).as_str(), format!("{v:#x}"));
        }
    }
}
