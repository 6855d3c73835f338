//! A thread's register sets as the kernel reports them (ptrace, and the
//! `NT_PRSTATUS`/`NT_FPREGSET` notes of a core, which have the same
//! layouts), and what the rest of ptsnap takes from them: the unwinder's
//! DWARF-numbered register file, the thread pointer, the vector registers'
//! bytes and the snapshot's named registers.

use super::dwarf;
use crate::address::RunAddr;
use crate::snapshot::registers::Registers;
use crate::unwind::regs::Regs;

/// The general registers (`struct user_regs_struct`).
pub type GeneralRegs = libc::user_regs_struct;
/// The x87 and SSE registers (`struct user_fpregs_struct`, the FXSAVE image).
pub type VectorRegs = libc::user_fpregs_struct;

/// Words in `struct user_regs_struct`, as `NT_PRSTATUS` holds them.
pub const GENERAL_WORDS: usize = 27;
/// Bytes of the FXSAVE image (`NT_FPREGSET`, and the legacy area that
/// begins `NT_X86_XSTATE`).
pub const FXSAVE_SIZE: usize = 512;

/// One thread's registers, each set where it could be read.
#[derive(Clone, Copy, Default)]
pub struct CpuState {
    pub general: Option<GeneralRegs>,
    pub vector: Option<VectorRegs>,
}

impl CpuState {
    /// The registers the unwinder starts from, all known.
    pub fn unwind_regs(&self) -> Option<Regs> {
        let r = self.general.as_ref()?;
        let all: [u64; dwarf::COUNT] = [
            r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
            r.r15, r.rip,
        ];
        let mut regs = Regs::default();
        for (reg, value) in (0..).zip(all) {
            regs.set(reg, Some(value));
        }
        Some(regs)
    }

    /// The thread pointer the TLS blocks are found from (`fs_base`).
    pub fn thread_pointer(&self) -> Option<RunAddr> {
        self.general.as_ref().map(|r| RunAddr::new(r.fs_base))
    }

    /// The vector registers' bytes in DWARF order, [`dwarf::VECTOR_SIZE`]
    /// each (xmm0-xmm15).
    pub fn vector_bytes(&self) -> Option<Vec<u8>> {
        self.vector.as_ref().map(|f| f.xmm_space.iter().flat_map(|w| w.to_le_bytes()).collect())
    }

    /// Every register the kernel reported, named, in a fixed order.
    pub fn snapshot_registers(&self) -> Registers {
        let mut values = Vec::with_capacity(REGISTER_NAMES.len());
        if let Some(r) = &self.general {
            let general = [
                r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
                r.r15, r.rip, r.eflags, r.cs, r.ss, r.ds, r.es, r.fs, r.gs, r.fs_base, r.gs_base, r.orig_rax,
            ];
            values.extend(general.map(u128::from));
        }
        if let Some(f) = &self.vector {
            values.extend([u128::from(f.cwd), f.swd.into(), f.ftw.into(), f.mxcsr.into()]);
            // 80-bit values in 16-byte slots: the upper word is padding.
            values.extend(f.st_space.chunks_exact(4).take(8).map(|w| wide(w) & ((1 << 80) - 1)));
            values.extend(f.xmm_space.chunks_exact(4).take(dwarf::VECTOR_COUNT).map(wide));
        }
        let names = match (&self.general, &self.vector) {
            (Some(_), Some(_)) => &REGISTER_NAMES[..],
            (Some(_), None) => &REGISTER_NAMES[..GENERAL_COUNT],
            (None, _) => &REGISTER_NAMES[GENERAL_COUNT..],
        };
        Registers::named(names, values)
    }
}

/// General registers named in [`REGISTER_NAMES`], first.
const GENERAL_COUNT: usize = 27;

/// The names of the snapshot's registers: the general ones, then the x87
/// and SSE state.
pub const REGISTER_NAMES: [&str; GENERAL_COUNT + 4 + 8 + dwarf::VECTOR_COUNT] = [
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base", "orig_rax", "fcw", "fsw", "ftw",
    "mxcsr", "st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
    "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
];

/// `struct user_regs_struct` from its words in the kernel's order (as
/// `NT_PRSTATUS`'s `pr_reg` holds them).
pub fn general_from_words(w: &[u64; GENERAL_WORDS]) -> GeneralRegs {
    libc::user_regs_struct {
        r15: w[0],
        r14: w[1],
        r13: w[2],
        r12: w[3],
        rbp: w[4],
        rbx: w[5],
        r11: w[6],
        r10: w[7],
        r9: w[8],
        r8: w[9],
        rax: w[10],
        rcx: w[11],
        rdx: w[12],
        rsi: w[13],
        rdi: w[14],
        orig_rax: w[15],
        rip: w[16],
        cs: w[17],
        eflags: w[18],
        rsp: w[19],
        ss: w[20],
        fs_base: w[21],
        gs_base: w[22],
        ds: w[23],
        es: w[24],
        fs: w[25],
        gs: w[26],
    }
}

/// The x87 and SSE registers from an FXSAVE image.
pub fn vector_from_fxsave(image: &[u8; FXSAVE_SIZE]) -> VectorRegs {
    let u16_at = |at: usize| u16::from_le_bytes([image[at], image[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes([image[at], image[at + 1], image[at + 2], image[at + 3]]);
    let u64_at = |at: usize| u64::from(u32_at(at)) | u64::from(u32_at(at + 4)) << 32;
    // SAFETY: user_fpregs_struct is plain integers and integer arrays (one
    // of them private padding), for which all-zero bytes are a valid value.
    let mut out: VectorRegs = unsafe { std::mem::zeroed() };
    out.cwd = u16_at(0);
    out.swd = u16_at(2);
    out.ftw = u16_at(4);
    out.fop = u16_at(6);
    out.rip = u64_at(8);
    out.rdp = u64_at(16);
    out.mxcsr = u32_at(24);
    out.mxcr_mask = u32_at(28);
    for (i, w) in out.st_space.iter_mut().enumerate() {
        *w = u32_at(32 + i * 4);
    }
    for (i, w) in out.xmm_space.iter_mut().enumerate() {
        *w = u32_at(160 + i * 4);
    }
    out
}

/// Four little-endian 32-bit words as one number.
fn wide(words: &[u32]) -> u128 {
    words.iter().rev().fold(0u128, |acc, w| (acc << 32) | u128::from(*w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_words_are_little_endian() {
        assert_eq!(wide(&[1, 0, 2, 0]), 0x2_0000_0000_0000_0001);
    }

    #[test]
    fn fxsave_fields_land_in_their_registers() {
        let mut image = [0u8; FXSAVE_SIZE];
        image[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        image[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        image[160..176].copy_from_slice(&(1u128 << 100).to_le_bytes());
        let cpu = CpuState { general: None, vector: Some(vector_from_fxsave(&image)) };
        let regs = cpu.snapshot_registers();
        let get = |name: &str| regs.get(name);
        assert_eq!((get("fcw"), get("mxcsr"), get("xmm0")), (Some(0x037f), Some(0x1f80), Some(1 << 100)));
        assert_eq!(cpu.vector_bytes().map(|b| b.len()), Some(dwarf::VECTOR_COUNT * dwarf::VECTOR_SIZE));
        assert!(cpu.unwind_regs().is_none() && cpu.thread_pointer().is_none());
    }

    #[test]
    fn general_registers_keep_the_kernels_order() {
        let mut words = [0u64; GENERAL_WORDS];
        words[16] = 0x401000;
        words[19] = 0x7ff0;
        words[21] = 0x7f00_0000_0640;
        let cpu = CpuState { general: Some(general_from_words(&words)), vector: None };
        let regs = cpu.unwind_regs().expect("general registers");
        assert_eq!((regs.get(dwarf::PC), regs.get(dwarf::SP)), (Some(0x401000), Some(0x7ff0)));
        assert_eq!(cpu.thread_pointer(), Some(RunAddr::new(0x7f00_0000_0640)));
    }
}
