//! The two kinds of code and data address ptsnap handles, as types the
//! compiler keeps apart.
//!
//! A module (an ELF file) states its addresses at link time: symbol
//! values, `DW_AT_low_pc`, line rows, location-list ranges, CFI ranges
//! are all [`LinkAddr`]s. The loader maps the module at some other place,
//! so in the running (or dumped) process the same byte is at a
//! [`RunAddr`]: pcs, stack pointers, CFAs, pointer values, the memory
//! map. The two differ by the module's load [`Bias`] (zero for most
//! executables built without PIE, a random page multiple otherwise), and
//! both are plain 64-bit numbers, so a lookup given the wrong one finds
//! nothing or, worse, something else. Here the only way from one to the
//! other is through a [`Bias`] (a module's, see
//! `debuginfo::Module::svma`), and the raw number comes out only
//! explicitly (`get`, `u64::from`) where it leaves for gimli, the JSON
//! snapshot, the pmodule API or a memory read.
//!
//! Arithmetic is what means something for an address: an address plus or
//! minus a byte offset is an address of the same kind, and the distance
//! between two addresses of one kind is an offset. Like the machine's,
//! it wraps: registers, stack words and DWARF all come from the target and
//! are not trusted, and a garbage address at the top of the space must not
//! panic (see `unwind`).

use std::fmt;
use std::ops::{Add, Sub};

macro_rules! address {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u64);

        impl $name {
            pub const fn new(address: u64) -> Self {
                $name(address)
            }

            /// The raw number, for gimli, the snapshot, the pmodule API and
            /// memory reads.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// Address 0: no address (an outermost frame's return address,
            /// an undefined symbol).
            pub const fn is_null(self) -> bool {
                self.0 == 0
            }

            /// `self + offset`, None past the top of the address space.
            pub fn checked_add(self, offset: u64) -> Option<Self> {
                self.0.checked_add(offset).map($name)
            }

            /// `self + offset` for a signed offset (a CFA rule's, say).
            pub fn add_signed(self, offset: i64) -> Self {
                $name(self.0.wrapping_add_signed(offset))
            }
        }

        impl From<$name> for u64 {
            fn from(address: $name) -> u64 {
                address.0
            }
        }

        impl Add<u64> for $name {
            type Output = $name;
            fn add(self, offset: u64) -> $name {
                $name(self.0.wrapping_add(offset))
            }
        }

        impl Sub<u64> for $name {
            type Output = $name;
            fn sub(self, offset: u64) -> $name {
                $name(self.0.wrapping_sub(offset))
            }
        }

        /// The distance between two addresses of one kind.
        impl Sub for $name {
            type Output = u64;
            fn sub(self, other: $name) -> u64 {
                self.0.wrapping_sub(other.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:#x})", stringify!($name), self.0)
            }
        }

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
    };
}

address!(
    /// An address in the target's address space, as the process uses it.
    RunAddr
);

address!(
    /// An address as a module's ELF file and its DWARF state it, before
    /// the loader placed the module.
    LinkAddr
);

/// A module's load bias: its run-time addresses minus its link-time ones.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Bias(u64);

impl Bias {
    /// No relocation.
    pub const ZERO: Bias = Bias(0);

    /// The bias of a module whose link-time address `link` is mapped at `run`.
    pub fn between(run: RunAddr, link: LinkAddr) -> Self {
        Bias(run.0.wrapping_sub(link.0))
    }

    /// Where the byte at link-time address `address` is in the process.
    pub fn run_time(self, address: LinkAddr) -> RunAddr {
        RunAddr(address.0.wrapping_add(self.0))
    }

    /// The link-time address of the byte at run-time address `address`.
    pub fn link_time(self, address: RunAddr) -> LinkAddr {
        LinkAddr(address.0.wrapping_sub(self.0))
    }

    /// The raw number, for the snapshot.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for Bias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bias({:#x})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bias_converts_both_ways() {
        let bias = Bias::between(RunAddr::new(0x5555_0000_1000), LinkAddr::new(0x1000));
        assert_eq!(bias.get(), 0x5555_0000_0000);
        assert_eq!(bias.run_time(LinkAddr::new(0x1234)), RunAddr::new(0x5555_0000_1234));
        assert_eq!(bias.link_time(RunAddr::new(0x5555_0000_1234)), LinkAddr::new(0x1234));
    }

    #[test]
    fn a_bias_below_the_link_address_wraps_back() {
        // A module linked above where it is mapped (a prelinked library).
        let bias = Bias::between(RunAddr::new(0x1000), LinkAddr::new(0x40_1000));
        assert_eq!(bias.run_time(LinkAddr::new(0x40_1010)), RunAddr::new(0x1010));
        assert_eq!(bias.link_time(RunAddr::new(0x1010)), LinkAddr::new(0x40_1010));
    }

    #[test]
    fn arithmetic_wraps_like_the_machine() {
        let top = RunAddr::new(u64::MAX - 7);
        assert_eq!(top + 16, RunAddr::new(8));
        assert_eq!(top.checked_add(16), None);
        assert_eq!(RunAddr::new(0x10).add_signed(-0x20), RunAddr::new(u64::MAX - 0xf));
        assert_eq!(RunAddr::new(0x30) - RunAddr::new(0x10), 0x20);
        assert_eq!(LinkAddr::new(0x30) - 1, LinkAddr::new(0x2f));
    }

    #[test]
    fn debug_prints_hex() {
        assert_eq!(format!("{:?}", RunAddr::new(0x1f)), "RunAddr(0x1f)");
        assert_eq!(format!("{:?}", LinkAddr::new(0x1f)), "LinkAddr(0x1f)");
        assert_eq!(format!("{:#x}", LinkAddr::new(0x1f)), "0x1f");
    }
}
