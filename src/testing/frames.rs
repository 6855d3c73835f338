//! What the variable reader takes besides DWARF, made up for unit tests:
//! a module set of in-memory files, frames with chosen registers, and
//! the [`Functions`] lookup over a list of subprogram DIEs.

use crate::address::{Bias, LinkAddr, RunAddr};
use crate::debuginfo::dwarf::Die;
use crate::debuginfo::locate::DebugDirs;
use crate::debuginfo::store::FileStore;
use crate::debuginfo::{MappedFiles, ModuleSet};
use crate::memory::BufferMemory;
use crate::process::procfs::Mapping;
use crate::unwind::regs::Regs;
use crate::variables::errors::LocationError;
use crate::variables::location::{CallSiteCache, Locator};
use crate::variables::{FrameContext, Functions};

/// Files by the mapping that maps them.
struct InMemoryFiles(Vec<(Mapping, Vec<u8>)>);

impl MappedFiles for InMemoryFiles {
    fn open_mapped<'a>(&self, map: &Mapping, store: &'a FileStore) -> Option<Result<&'a [u8], String>> {
        let (_, bytes) = self.0.iter().find(|(m, _)| m.path == map.path)?;
        Some(Ok(store.keep(bytes.clone())))
    }
}

/// The modules of `files` (ELF images, each with the path and range it is
/// mapped at), kept for the whole test run like a snapshot's.
pub fn modules(files: Vec<(&str, u64, u64, Vec<u8>)>) -> &'static ModuleSet<'static> {
    let store: &'static FileStore = Box::leak(Box::default());
    let dirs: &'static DebugDirs = Box::leak(Box::new(DebugDirs::new(&[])));
    let maps: Vec<(Mapping, Vec<u8>)> = files
        .into_iter()
        .map(|(path, start, end, bytes)| {
            let map = Mapping { start, end, readable: true, path: path.into(), ..Mapping::default() };
            (map, bytes)
        })
        .collect();
    let mappings: Vec<Mapping> = maps.iter().map(|(m, _)| m.clone()).collect();
    let set = ModuleSet::from_maps(&mappings, &InMemoryFiles(maps), store, dirs, &BufferMemory::new());
    Box::leak(Box::new(set))
}

/// No modules: types are completed from the DWARF at hand only.
pub fn no_modules() -> &'static ModuleSet<'static> {
    modules(Vec::new())
}

/// A frame of `function` stopped at link-time `pc` (its own pc, not a
/// return address) with the registers `regs` (DWARF numbers) known.
pub fn frame<'d>(function: Option<Die<'d, 'static>>, pc: u64, regs: &[(u16, u64)]) -> FrameContext<'d, 'static> {
    let mut known = Regs::default();
    for &(reg, value) in regs {
        known.set(reg, Some(value));
    }
    FrameContext {
        regs: known,
        vector_regs: None,
        cfa: None,
        bias: Bias::ZERO,
        pc: Some(LinkAddr::new(pc)),
        return_address: Some(LinkAddr::new(pc)),
        function,
        tls_block: None,
        frame_base: Default::default(),
    }
}

/// A caller's frame: looked up inside its call (`return_address - 1`).
pub fn caller_frame<'d>(
    function: Option<Die<'d, 'static>>,
    return_address: u64,
    regs: &[(u16, u64)],
) -> FrameContext<'d, 'static> {
    FrameContext { return_address: Some(LinkAddr::new(return_address)), ..frame(function, return_address - 1, regs) }
}

/// What `die`'s `DW_AT_location` expression computes (a value, or an
/// address) in `frames[frame]`, with no memory to read.
pub fn evaluate_location<'d>(
    die: &Die<'d, 'static>,
    frames: &[FrameContext<'d, 'static>],
    frame: usize,
    functions: &dyn Functions<'d, 'static>,
) -> Result<u64, LocationError> {
    let Some(gimli::AttributeValue::Exprloc(location)) = die.attr(gimli::DW_AT_location) else {
        panic!("the test's DIE has a location expression")
    };
    let (memory, cache) = (BufferMemory::new(), CallSiteCache::default());
    let locator = Locator { memory: &memory, frames, functions, cache: &cache };
    locator.value_of(die, location, Some(frame))
}

/// The functions of one module with no bias: entered at their `DW_AT_low_pc`.
pub struct KnownFunctions<'d>(pub Vec<Die<'d, 'static>>);

impl<'d> Functions<'d, 'static> for KnownFunctions<'d> {
    fn address_of(&self, name: &str) -> Option<RunAddr> {
        self.0.iter().find(|f| f.name().as_deref() == Some(name)).and_then(low_pc).map(RunAddr::new)
    }

    fn function_at(&self, address: RunAddr) -> Option<(Die<'d, 'static>, Bias)> {
        self.0.iter().find(|f| low_pc(f) == Some(address.get())).map(|f| (f.clone(), Bias::ZERO))
    }

    fn name_at(&self, address: u64) -> Option<String> {
        self.function_at(RunAddr::new(address))?.0.name()
    }
}

fn low_pc(function: &Die<'_, '_>) -> Option<u64> {
    match function.attr(gimli::DW_AT_low_pc)? {
        gimli::AttributeValue::Addr(a) => Some(a),
        _ => None,
    }
}

/// The smallest ELF file a module can be made of: an x86-64 shared
/// object's header, with no sections and no segments.
pub fn empty_elf() -> Vec<u8> {
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(16, 0);
    elf.extend(3u16.to_le_bytes()); // ET_DYN
    elf.extend(0x3eu16.to_le_bytes()); // EM_X86_64
    elf.extend(1u32.to_le_bytes());
    elf.extend([0u8; 24]); // entry, program and section header offsets
    elf.extend(0u32.to_le_bytes()); // flags
    for half in [64u16, 56, 0, 64, 0, 0] {
        // header size, program header size and count, section header
        // size and count, section name index
        elf.extend(half.to_le_bytes());
    }
    elf
}
