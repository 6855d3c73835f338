//! Where each module's thread-local storage is, per thread.
//!
//! Modules loaded at startup have their blocks at a fixed offset from the
//! thread pointer (below it on x86-64, TLS variant II: [`arch::static_tls_block`]), and modules loaded later (dlopen) are reached
//! through the thread's dynamic thread vector (DTV). The offsets and module
//! ids live in the dynamic loader's private `struct link_map`, whose layout
//! changes between glibc versions; glibc publishes the field positions for
//! libthread_db as `_thread_db_*` descriptors in libc's dynamic symbol
//! table, which is what gdb reads too, and which needs no debug info.

use crate::address::{LinkAddr, RunAddr};
use crate::arch;
use crate::debuginfo::{Module, ModuleSet};
use crate::memory::Memory;

/// A `_thread_db_*` field descriptor: size in bits, element count, offset.
#[derive(Clone, Copy, Debug)]
struct Field {
    offset: u64,
    size: u64,
}

/// A module's TLS block as the loader assigned it.
#[derive(Clone, Copy, Debug)]
struct ModuleTls {
    /// Where the module is mapped (identifies it in the ModuleSet).
    start: RunAddr,
    modid: u64,
    /// Offset of the static block below the thread pointer, if it has one.
    static_offset: Option<u64>,
}

pub struct TlsLayout {
    modules: Vec<ModuleTls>,
    /// Offset of the DTV pointer in the thread descriptor.
    dtv: Field,
    /// Offset of the block pointer in a DTV entry.
    dtv_pointer: Field,
}

/// `sizeof(dtv_t)` in glibc: a union of a counter and {val, to_free}.
const DTV_ENTRY_SIZE: u64 = 16;
/// glibc's markers for "no static block" in `l_tls_offset`.
const NO_TLS_OFFSET: u64 = 0;
const FORCED_DYNAMIC_TLS_OFFSET: u64 = u64::MAX;
/// A DTV slot not allocated in this thread yet.
const TLS_DTV_UNALLOCATED: u64 = u64::MAX;
/// Link maps followed at most (the list is in the target's memory).
const MAX_LINK_MAPS: usize = 4096;
const DT_DEBUG: u64 = 21;

impl TlsLayout {
    /// Reads the loader's TLS assignments from the stopped process; None
    /// without glibc or a loader list (a static binary).
    pub fn read(modules: &ModuleSet<'_>, memory: &dyn Memory) -> Option<TlsLayout> {
        let libc = modules.iter().find(|m| m.name().starts_with("libc.so"))?;
        let field = |name: &str| read_field(libc, memory, name);
        let modid = field("_thread_db_link_map_l_tls_modid")?;
        let offset = field("_thread_db_link_map_l_tls_offset")?;
        let dtv = field("_thread_db_pthread_dtvp")?;
        let dtv_pointer = field("_thread_db_dtv_t_pointer_val")?;
        let mut out = Vec::new();
        let mut map = first_link_map(modules, memory)?;
        for _ in 0..MAX_LINK_MAPS {
            if map.is_null() {
                break;
            }
            // Addresses read from the target wrap like the machine's.
            let l_ld = read_pointer(memory, map + 16)?;
            if let Some(m) = modules.find(l_ld) {
                let id = read_sized(memory, map + modid.offset, modid.size)?;
                let off = read_sized(memory, map + offset.offset, offset.size)?;
                if id != 0 {
                    let static_offset = (off != NO_TLS_OFFSET && off != FORCED_DYNAMIC_TLS_OFFSET).then_some(off);
                    out.push(ModuleTls { start: m.start, modid: id, static_offset });
                }
            }
            map = read_pointer(memory, map + 24)?;
        }
        Some(TlsLayout { modules: out, dtv, dtv_pointer })
    }

    /// The start of `module`'s TLS block in the thread whose thread
    /// pointer is `tp`; None if the module has no TLS or the thread has
    /// not allocated it.
    pub fn block(&self, module: &Module<'_>, tp: RunAddr, memory: &dyn Memory) -> Option<RunAddr> {
        let tls = self.modules.iter().find(|t| t.start == module.start)?;
        if let Some(offset) = tls.static_offset {
            return Some(arch::static_tls_block(tp, offset));
        }
        let dtv = RunAddr::new(read_sized(memory, tp + self.dtv.offset, self.dtv.size)?);
        let entry = dtv + tls.modid.wrapping_mul(DTV_ENTRY_SIZE);
        let block = read_sized(memory, entry + self.dtv_pointer.offset, self.dtv_pointer.size)?;
        (block != TLS_DTV_UNALLOCATED && block != 0).then_some(RunAddr::new(block))
    }
}

fn read_field(libc: &Module<'_>, memory: &dyn Memory, name: &str) -> Option<Field> {
    let (address, _) = libc.elf.as_ref()?.symbol(name)?;
    let mut raw = [0u8; 12];
    memory.read(libc.avma(LinkAddr::new(address)).get(), &mut raw).ok()?;
    let word = |i: usize| u32::from_le_bytes(raw[i * 4..i * 4 + 4].try_into().unwrap_or_default()) as u64;
    Some(Field { size: word(0) / 8, offset: word(2) })
}

fn read_sized(memory: &dyn Memory, address: RunAddr, size: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    let n = (size as usize).clamp(1, 8);
    memory.read(address.get(), &mut buf[..n]).ok()?;
    Some(u64::from_le_bytes(buf))
}

/// The pointer stored at `address`.
fn read_pointer(memory: &dyn Memory, address: RunAddr) -> Option<RunAddr> {
    memory.read_u64(address.get()).ok().map(RunAddr::new)
}

/// The head of the loader's `link_map` list: `r_debug.r_map`, with
/// `r_debug` found through the executable's `DT_DEBUG` or ld.so's
/// `_r_debug` symbol.
fn first_link_map(modules: &ModuleSet<'_>, memory: &dyn Memory) -> Option<RunAddr> {
    let r_debug = modules.iter().find_map(|m| dt_debug(m, memory)).or_else(|| {
        let ld = modules.iter().find(|m| m.name().starts_with("ld-linux"))?;
        Some(ld.avma(LinkAddr::new(ld.elf.as_ref()?.symbol("_r_debug")?.0)))
    })?;
    read_pointer(memory, r_debug + 8)
}

/// The run-time `DT_DEBUG` value of a module's dynamic section (set by the
/// loader in the executable's only).
fn dt_debug(module: &Module<'_>, memory: &dyn Memory) -> Option<RunAddr> {
    let dynamic = module.avma(module.elf.as_ref()?.section_address(".dynamic")?);
    for i in 0..512u64 {
        let entry = dynamic + i * 16;
        let tag = memory.read_u64(entry.get()).ok()?;
        match tag {
            0 => return None,
            DT_DEBUG => return Some(read_pointer(memory, entry + 8)?).filter(|v| !v.is_null()),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
