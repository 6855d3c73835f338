//! ELF symbol tables as an address-sorted index: the fallback names for
//! code without DWARF, and the start address behind `function_offset`.

use object::read::elf::ElfSymbol64;
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
        for (listed, sym) in candidates(files).enumerate() {
            if let Some(symbol) = accepted(&sym, listed as u32) {
                table.symbols.push(symbol);
            }
        }
        // Sort by address, then prefer among aliases a sized symbol, then
        // global over weak over local binding, then the name with fewer
        // leading underscores (`clone3` over `__clone3`), as gdb does.
        // The rank ends in the listing order, so no two keys are equal and
        // the unstable sort (the faster: the C library's 10,000 symbols are
        // sorted while the target is stopped) keeps the first listed of
        // otherwise equal aliases, as a stable sort would.
        table.symbols.sort_unstable_by_key(order);
        table.symbols.dedup_by(|b, a| a.address == b.address);
        table
    }

    /// What [`lookup`](Self::lookup) finds in the table [`build`](Self::build)
    /// makes of `files`, at `address` and at the addresses around it that
    /// have the same answer, found by reading their symbols once without
    /// keeping them: a snapshot's frames stand at a few distinct pcs of a
    /// library, and a few reads cost less than sorting its ten thousand
    /// symbols. Only symbols from the best start so far up to `address`,
    /// and those that start nearer above it than the nearest so far, have
    /// their name read.
    pub fn scan(files: &[&ElfObject<'a>], address: LinkAddr) -> Scanned<'a> {
        let mut best: Option<Symbol<'a>> = None;
        let mut next: Option<LinkAddr> = None;
        for (listed, sym) in candidates(files).enumerate() {
            let start = LinkAddr::new(sym.address());
            if start > address {
                if next.is_none_or(|n| start < n) && accepted(&sym, listed as u32).is_some() {
                    next = Some(start);
                }
                continue;
            }
            if best.is_some_and(|b| start < b.address) {
                continue;
            }
            if let Some(symbol) = accepted(&sym, listed as u32)
                && best.is_none_or(|b| order(&symbol) < order(&b) || symbol.address > b.address)
            {
                best = Some(symbol);
            }
        }
        Scanned { best, next }
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

/// What a [`SymbolTable::scan`] found: the best symbol starting at or
/// below the address (its size not yet checked), and the start of the
/// next symbol above. Every address from the one's start up to the
/// other's has the same best symbol: none starts between.
#[derive(Clone, Copy, Debug)]
pub struct Scanned<'a> {
    best: Option<Symbol<'a>>,
    next: Option<LinkAddr>,
}

impl<'a> Scanned<'a> {
    /// Whether the scan answers for `address` too.
    pub fn covers(&self, address: LinkAddr) -> bool {
        self.best.is_none_or(|b| b.address <= address) && self.next.is_none_or(|n| address < n)
    }

    /// The function symbol containing `address`, one it [covers](Self::covers):
    /// a sized symbol covers its size; one without, up to the next symbol.
    pub fn symbol_at(&self, address: LinkAddr) -> Option<Symbol<'a>> {
        self.best.filter(|b| b.size == 0 || address - b.address < b.size)
    }
}

/// Every symbol of `files`, in the order the table lists them: each file's
/// `.symtab`, then its `.dynsym`.
fn candidates<'f, 'a: 'f>(files: &'f [&ElfObject<'a>]) -> impl Iterator<Item = ElfSymbol64<'a, 'f>> + 'f {
    files.iter().flat_map(|elf| elf.file.symbols().chain(elf.file.dynamic_symbols()))
}

/// `sym` as the table holds it, `listed`-th in the listing order: a
/// defined, named function at a non-zero address.
fn accepted<'a>(sym: &ElfSymbol64<'a, '_>, listed: u32) -> Option<Symbol<'a>> {
    if sym.is_undefined() || sym.address() == 0 || !matches!(sym.kind(), SymbolKind::Text) {
        return None;
    }
    let name = sym.name().ok().filter(|n| !n.is_empty())?;
    let binding = if sym.is_weak() {
        1
    } else if sym.is_global() {
        0
    } else {
        2
    };
    let underscores = (name.len() - name.trim_start_matches('_').len()) as u32;
    Some(Symbol { address: LinkAddr::new(sym.address()), size: sym.size(), name, rank: (binding, underscores, listed) })
}

/// The table's order: by address, then the preferred alias first.
fn order(s: &Symbol<'_>) -> (LinkAddr, std::cmp::Reverse<u64>, (u8, u32, u32)) {
    (s.address, std::cmp::Reverse(s.size), s.rank)
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

    /// A scan finds what the sorted table finds, at symbol starts, inside
    /// symbols, at their ends and between them, in files with many
    /// aliases: this test program and, where it is installed, the C
    /// library (weak, global and local names at one address).
    #[test]
    fn a_scan_finds_what_the_table_finds() {
        let store = crate::debuginfo::store::FileStore::new();
        let exe = std::env::current_exe().unwrap();
        let libc = std::path::Path::new("/usr/lib/x86_64-linux-gnu/libc.so.6");
        for path in [exe.as_path(), libc].into_iter().filter(|p| p.exists()) {
            let elf = ElfObject::open(&store, path, path).unwrap();
            let files = [&elf];
            let table = SymbolTable::build(&files);
            assert!(table.symbols.len() > 1000, "{}: {} symbols", path.display(), table.symbols.len());
            let step = table.symbols.len() / 150;
            let mut compared = 0;
            for sym in table.symbols.iter().step_by(step) {
                let start = sym.address.get();
                for address in [start - 1, start, start + 1, start + sym.size.max(1) - 1, start + sym.size] {
                    let address = LinkAddr::new(address);
                    let scanned = SymbolTable::scan(&files, address);
                    let named = |s: Option<Symbol<'_>>| s.map(|s| (s.address, s.size, s.name.to_string()));
                    assert!(scanned.covers(address));
                    // The scan answers for the addresses it covers as the table does.
                    let around = [-0x40_i64, -8, -1, 0, 1, 8, 0x40].map(|d| address.get().wrapping_add_signed(d));
                    for other in around.map(LinkAddr::new).into_iter().filter(|&a| scanned.covers(a)) {
                        let found = table.lookup(other);
                        assert_eq!(named(scanned.symbol_at(other)), named(found), "{} at {other:?}", path.display());
                    }
                    compared += 1;
                }
            }
            assert!(compared >= 500, "{compared}");
        }
    }
}
