//! From a pc to source: the function, file, line and column of the code
//! at that address, expanded into one entry per inline level (innermost
//! first, the physical function last), with the symbol table as fallback
//! for code without DWARF. Names are demangled (C++ and Rust), and a Rust
//! function's crate is the first component of its path.

use std::rc::Rc;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::address::{LinkAddr, RunAddr};
use crate::debuginfo::Module;

/// Symbolizes pcs with a cache: the threads of a process mostly stand at a
/// handful of pcs (the same wait functions and callers), so each distinct
/// pc is looked up once per run.
#[derive(Default)]
pub struct Symbolizer {
    cache: HashMap<(RunAddr, RunAddr), Rc<[SourceFrame]>>,
}

impl Symbolizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// As [`symbolize`], cached by (`pc`, `lookup_pc`); shared, since the
    /// threads of a process stand at the same pcs.
    pub fn frames(&mut self, module: &Module<'_>, pc: RunAddr, lookup_pc: RunAddr) -> Rc<[SourceFrame]> {
        self.cache.entry((pc, lookup_pc)).or_insert_with(|| symbolize(module, pc, lookup_pc).into()).clone()
    }
}

/// One source-level frame at a pc.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceFrame {
    pub function: Option<Arc<str>>,
    pub file: Option<Arc<str>>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The line declaring the function.
    pub decl_line: Option<u32>,
    /// A Rust function's crate (`std`, `ripgrep`): what Rust calls the
    /// module; none for other languages.
    pub crate_name: Option<Arc<str>>,
    /// This level was inlined into the next one.
    pub inlined: bool,
    /// Distance from the start of the function symbol (physical level only).
    pub function_offset: Option<u64>,
    /// The DWARF scope (unit, subprogram or inlined subroutine DIE) whose
    /// variables this frame shows.
    pub scope: Option<(gimli::DebugInfoOffset, gimli::UnitOffset)>,
}

/// Symbolizes `lookup_pc` (already adjusted to pc-1 for return addresses)
/// in `module`; `pc` is the frame's real pc, for `function_offset`.
pub fn symbolize(module: &Module<'_>, pc: RunAddr, lookup_pc: RunAddr) -> Vec<SourceFrame> {
    let svma = module.svma(lookup_pc);
    let symbol = module.symbol_at(svma);
    let mut frames = dwarf_frames(module, svma);
    if frames.is_empty() {
        frames.push(SourceFrame::default());
    }
    let last = frames.len() - 1;
    for (i, f) in frames.iter_mut().enumerate() {
        f.inlined = i < last;
    }
    let physical = &mut frames[last];
    if let Some(sym) = symbol {
        physical.function_offset = Some(module.svma(pc) - sym.address);
        if physical.function.is_none() {
            let name = demangle(sym.name, None);
            physical.crate_name = is_rust_symbol(sym.name).then(|| rust_crate(&name)).flatten().map(Arc::from);
            physical.function = Some(name.into());
        }
    }
    frames
}

fn dwarf_frames(module: &Module<'_>, svma: LinkAddr) -> Vec<SourceFrame> {
    let Some(dwarf) = module.dwarf() else { return Vec::new() };
    dwarf
        .frames(svma)
        .into_iter()
        .map(|f| SourceFrame {
            function: f.name.as_deref().map(|n| demangle(n, f.language).into()),
            // rustc names a function in its namespaces, the crate first.
            crate_name: f
                .name
                .as_deref()
                .filter(|_| f.language == Some(gimli::DW_LANG_Rust))
                .and_then(|n| rust_crate(&demangle(n, f.language)))
                .map(Arc::from),
            decl_line: f
                .die
                .and_then(|die| dwarf.die(f.unit, die)?.inherited(gimli::DW_AT_decl_line)?.1.udata_value())
                .map(|l| l as u32),
            file: f.file.map(Arc::from),
            line: f.line,
            column: f.column,
            inlined: false,
            function_offset: None,
            scope: f.die.map(|die| (f.unit, die)),
        })
        .collect()
}

/// A code address as `function` or `function+offset`, from the symbol
/// table, for function pointers.
pub fn symbol_name(modules: &crate::debuginfo::ModuleSet<'_>, address: RunAddr) -> Option<String> {
    let module = modules.find(address)?;
    let svma = module.svma(address);
    let sym = module.symbol_at(svma)?;
    let name = demangle(sym.name, None);
    Some(if svma == sym.address { name } else { format!("{name}+{}", svma - sym.address) })
}

/// A data address as `variable` or `variable+offset`, from the symbol
/// tables of the module holding it (a global, a static), for modules
/// naming what a pointer points to.
pub fn object_name(modules: &crate::debuginfo::ModuleSet<'_>, address: RunAddr) -> Option<String> {
    let module = modules.find(address)?;
    let svma = module.svma(address).get();
    let mut files = module.elf.iter().chain(module.debug_file().map(|(d, _)| d));
    let (name, offset) = files.find_map(|f| f.object_at(svma))?;
    let name = demangle(name, None);
    Some(if offset == 0 { name } else { format!("{name}+{offset}") })
}

/// The longest name demangled. Names come from the target's symbol table
/// and DWARF strings, and a demangler's work and output grow with the
/// name's back-references; real mangled names stay well below this.
const MAX_DEMANGLED_INPUT: usize = 16 * 1024;

/// Demangles C++ (Itanium) and Rust names; others (and names longer than
/// [`MAX_DEMANGLED_INPUT`]) are returned as they are. C++ names drop their
/// parameter list and return type, as a debugger's backtrace shows them
/// (`ns::Class<int>::method`).
pub fn demangle(name: &str, language: Option<gimli::DwLang>) -> String {
    if name.len() > MAX_DEMANGLED_INPUT {
        return name.to_string();
    }
    let rust = language == Some(gimli::DW_LANG_Rust) || is_rust_symbol(name);
    if rust && let Ok(d) = rustc_demangle::try_demangle(name) {
        return format!("{d:#}");
    }
    if name.starts_with("_Z")
        && let Ok(sym) = cpp_demangle::Symbol::new(name)
    {
        let options = cpp_demangle::DemangleOptions::new().no_params().no_return_type();
        if let Ok(text) = sym.demangle_with_options(&options) {
            return text;
        }
    }
    name.to_string()
}

/// The crate of a Rust function named by its path (`std` of
/// `std::rt::lang_start<()>`); none for a name that is not a path (`main`,
/// `<T as Trait>::f`).
pub fn rust_crate(name: &str) -> Option<String> {
    let (first, _) = name.split_once("::")?;
    let identifier = !first.is_empty() && first.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    identifier.then(|| first.to_string())
}

/// Whether a symbol is a mangled Rust name (v0, or legacy with its hash).
fn is_rust_symbol(name: &str) -> bool {
    name.starts_with("_R") || has_legacy_rust_hash(name)
}

/// Legacy Rust mangling shares `_ZN` with C++; only Rust names end in the
/// hash component `17h<16 hex digits>E`.
fn has_legacy_rust_hash(name: &str) -> bool {
    name.starts_with("_ZN")
        && name.len() > 20
        && name.get(name.len() - 20..).is_some_and(|t| {
            t.starts_with("17h") && t.ends_with('E') && t[3..19].bytes().all(|b| b.is_ascii_hexdigit())
        })
}

#[cfg(test)]
mod tests {
    use super::{demangle, rust_crate};

    #[test]
    fn demangles_cpp_without_params() {
        assert_eq!(demangle("_ZN4shop4CartIiE5totalEv", None), "shop::Cart<int>::total");
        assert_eq!(demangle("_ZN4shop3addIiEET_S1_S1_", None), "shop::add<int>");
        assert_eq!(demangle("main", None), "main");
    }

    #[test]
    fn overlong_names_stay_mangled() {
        let name = format!("_ZN{}E", "3abc".repeat(5000));
        assert_eq!(demangle(&name, None), name);
    }

    #[test]
    fn demangles_rust() {
        assert_eq!(demangle("_ZN4core9panicking5panic17h1234567890abcdefE", None), "core::panicking::panic");
    }

    #[test]
    fn a_rust_function_s_crate_is_its_first_path_component() {
        assert_eq!(rust_crate("std::rt::lang_start::{closure#0}<()>").as_deref(), Some("std"));
        assert_eq!(
            rust_crate("grep_searcher::searcher::Searcher::search_reader<std::fs::File>").as_deref(),
            Some("grep_searcher")
        );
        assert_eq!(rust_crate("main"), None);
        assert_eq!(rust_crate("<u8 as core::fmt::Debug>::fmt"), None);
        assert_eq!(rust_crate("::f"), None);
    }
}
