//! ELF symbol tables as an address-sorted index: the fallback names for
//! code without DWARF, and the start address behind `function_offset`.

use object::{Object, ObjectSymbol, SymbolKind};

use super::elf::ElfObject;
use crate::address::LinkAddr;

#[derive(Clone, Copy, Debug)]
pub struct Symbol<'a> {
    pub address: LinkAddr,
    pub size: u64,
    pub name: &'a str,
    /// Preference among aliases at one address, lower is better: binding,
    /// leading underscores, then the order the tables list them in.
    rank: (u8, u32, u32),
}

#[derive(Default)]
pub struct SymbolTable<'a> {
    symbols: Vec<Symbol<'a>>,
}

impl<'a> SymbolTable<'a> {
    /// Merges the tables of the given files (binary and debug file): full
    /// `.symtab`s first, since they name local functions `.dynsym` lacks.
    pub fn build(files: &[&ElfObject<'a>]) -> Self {
        let mut table = SymbolTable::default();
        for elf in files {
            table.add(elf.file.symbols());
            table.add(elf.file.dynamic_symbols());
        }
        // Sort by address, then prefer among aliases a sized symbol, then
        // global over weak over local binding, then the name with fewer
        // leading underscores (`clone3` over `__clone3`), as gdb does.
        // The rank ends in the listing order, so no two keys are equal and
        // the unstable sort (the faster: the C library's 10,000 symbols are
        // sorted while the target is stopped) keeps the first listed of
        // otherwise equal aliases, as a stable sort would.
        table.symbols.sort_unstable_by_key(|s| (s.address, std::cmp::Reverse(s.size), s.rank));
        table.symbols.dedup_by(|b, a| a.address == b.address);
        table
    }

    fn add<S: ObjectSymbol<'a>>(&mut self, symbols: impl Iterator<Item = S>) {
        for sym in symbols {
            if sym.is_undefined() || sym.address() == 0 || !matches!(sym.kind(), SymbolKind::Text) {
                continue;
            }
            if let Ok(name) = sym.name()
                && !name.is_empty()
            {
                let binding = if sym.is_weak() {
                    1
                } else if sym.is_global() {
                    0
                } else {
                    2
                };
                let underscores = (name.len() - name.trim_start_matches('_').len()) as u32;
                let listed = self.symbols.len() as u32;
                self.symbols.push(Symbol {
                    address: LinkAddr::new(sym.address()),
                    size: sym.size(),
                    name,
                    rank: (binding, underscores, listed),
                });
            }
        }
    }
    /// The function symbol containing `address` (link-time). A symbol without
    /// size covers addresses up to the next symbol.
    pub fn lookup(&self, address: LinkAddr) -> Option<Symbol<'a>> {
        let idx = self.symbols.partition_point(|s| s.address <= address).checked_sub(1)?;
        let sym = self.symbols[idx];
        // `address - sym.address` does not wrap (the symbol starts at or
        // below it); `sym.address + sym.size` could, for a corrupt size.
        let within = if sym.size > 0 {
            address - sym.address < sym.size
        } else {
            self.symbols.get(idx + 1).is_none_or(|next| address < next.address)
        };
        within.then_some(sym)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_reaching_past_the_address_space_does_not_overflow() {
        let sym = |address, size, name| Symbol { address: LinkAddr::new(address), size, name, rank: (0, 0, 0) };
        let table = SymbolTable { symbols: vec![sym(0x1000, 0x10, "small"), sym(u64::MAX - 4, u64::MAX, "huge")] };
        let lookup = |address| table.lookup(LinkAddr::new(address)).map(|s| s.name);
        assert_eq!(lookup(0x1008), Some("small"));
        assert_eq!(lookup(0x1010), None);
        assert_eq!(lookup(u64::MAX), Some("huge"));
    }
}
