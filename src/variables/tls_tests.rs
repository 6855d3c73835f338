//! Thread-local variables' addresses: a module's TLS block in a thread
//! (x86-64 TLS variant II, static blocks below the thread pointer, dynamic
//! ones through the thread's DTV) and a variable's offset in it
//! (`DW_OP_form_tls_address`, `DW_OP_GNU_push_tls_address`).

use super::super::errors::LocationError;
use super::super::location::FrameContext;
use super::*;
use crate::address::RunAddr;
use crate::debuginfo::dwarf::DwarfInfo;
use crate::memory::BufferMemory;
use crate::testing::dwarf_builder::*;
use crate::testing::frames::{KnownFunctions, empty_elf, evaluate_location, frame, modules};

/// The thread pointer (`fs_base`) of the thread.
const TP: RunAddr = RunAddr::new(0x7fff_f000);
/// Where the module is mapped.
const MODULE: RunAddr = RunAddr::new(0x7f00_0000);

/// glibc's descriptors: the DTV pointer at 8 in the thread descriptor, a
/// DTV entry's block pointer at its start; `module` has TLS module id 2.
fn layout(static_offset: Option<u64>) -> TlsLayout {
    TlsLayout {
        modules: vec![ModuleTls { start: MODULE, modid: 2, static_offset }],
        dtv: Field { offset: 8, size: 8 },
        dtv_pointer: Field { offset: 0, size: 8 },
    }
}

/// A thread whose DTV is at 0x5000 with `block` in module 2's entry.
fn thread_memory(block: u64) -> BufferMemory {
    let mut memory = BufferMemory::new();
    memory.add((TP + 8).get(), 0x5000u64.to_le_bytes().to_vec());
    memory.add(0x5000 + 2 * DTV_ENTRY_SIZE, block.to_le_bytes().to_vec());
    memory
}

#[test]
fn a_modules_block_is_below_the_thread_pointer_or_in_the_dtv() {
    let set = modules(vec![
        ("/lib/libtls.so", MODULE.get(), MODULE.get() + 0x1000, empty_elf()),
        ("/lib/other.so", 0x7e00_0000, 0x7e00_1000, empty_elf()),
    ]);
    let module = set.find(MODULE).unwrap();
    let other = set.find(RunAddr::new(0x7e00_0000)).unwrap();
    let none = BufferMemory::new();
    assert_eq!(layout(Some(0x40)).block(module, TP, &none), Some(TP - 0x40), "static: variant II");
    assert_eq!(
        layout(None).block(module, TP, &thread_memory(0x6000_0000)),
        Some(RunAddr::new(0x6000_0000)),
        "dlopened: in the DTV"
    );
    assert_eq!(
        layout(None).block(module, TP, &thread_memory(TLS_DTV_UNALLOCATED)),
        None,
        "not allocated in this thread"
    );
    assert_eq!(layout(None).block(module, TP, &thread_memory(0)), None);
    assert_eq!(layout(None).block(module, TP, &none), None, "an unreadable DTV");
    assert_eq!(layout(Some(0x40)).block(other, TP, &none), None, "a module without TLS");
}

#[test]
fn a_tls_variables_address_is_its_blocks_plus_its_offset() {
    let mut b = DwarfBuilder::new();
    let u = b.unit(4, gimli::DW_LANG_C99, "tls.c");
    let root = b.root(u);
    let offset = 0x10u64.to_le_bytes();
    let variable = |op: gimli::DwOp| exprloc(&[&[gimli::DW_OP_const8u.0][..], &offset, &[op.0]].concat());
    let standard =
        b.add(u, root, gimli::DW_TAG_variable, &[(gimli::DW_AT_location, variable(gimli::DW_OP_form_tls_address))]);
    let gnu =
        b.add(u, root, gimli::DW_TAG_variable, &[(gimli::DW_AT_location, variable(gimli::DW_OP_GNU_push_tls_address))]);
    let built = b.finish();
    let info: &'static DwarfInfo<'static> = Box::leak(Box::new(built.info()));
    let set = modules(vec![("/lib/libtls.so", MODULE.get(), MODULE.get() + 0x1000, empty_elf())]);
    let block = layout(Some(0x40)).block(set.find(MODULE).unwrap(), TP, &BufferMemory::new());
    let address = |tls_block: Option<RunAddr>, entry| {
        let frames = [FrameContext { tls_block, ..frame(None, 0, &[]) }];
        evaluate_location(&built.die(info, entry), &frames, 0, &KnownFunctions(Vec::new()))
    };
    assert_eq!(address(block, standard), Ok((TP - 0x40 + 0x10).get()));
    assert_eq!(address(block, gnu), Ok((TP - 0x40 + 0x10).get()));
    assert_eq!(address(None, standard), Err(LocationError::NoTlsBlock));
}
