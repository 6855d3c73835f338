//! The notes of a Linux core file, decoded from their raw bytes (the
//! register sets' layouts are the architecture's: [`crate::arch::cpu`]).
//!
//! Each parser takes a note's descriptor and returns plain data or a
//! [`NoteError`]; none reads past the bytes it is given, so a truncated
//! or corrupt note is an error, never a panic. Layouts are the kernel's
//! (`struct elf_prstatus`, `struct elf_prpsinfo`,
//! the NT_FILE table) as `gdb` and the kernel write them.

use thiserror::Error;

use crate::arch::{self, GeneralRegs, VectorRegs};

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{note} note: {reason}")]
pub struct NoteError {
    pub note: &'static str,
    pub reason: String,
}

fn short(note: &'static str, need: usize, have: usize) -> NoteError {
    NoteError { note, reason: format!("{have} bytes where {need} are needed") }
}

/// Little-endian fields of a descriptor, each read checked.
struct Fields<'d> {
    note: &'static str,
    bytes: &'d [u8],
}

impl<'d> Fields<'d> {
    fn bytes(&self, at: usize, len: usize) -> Result<&'d [u8], NoteError> {
        at.checked_add(len)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| short(self.note, at + len, self.bytes.len()))
    }

    fn array<const N: usize>(&self, at: usize) -> Result<&'d [u8; N], NoteError> {
        self.bytes(at, N)?.try_into().map_err(|_| short(self.note, at + N, self.bytes.len()))
    }

    fn u64(&self, at: usize) -> Result<u64, NoteError> {
        Ok(u64::from_le_bytes(self.bytes(at, 8)?.try_into().unwrap_or_default()))
    }

    fn u32(&self, at: usize) -> Result<u32, NoteError> {
        Ok(u32::from_le_bytes(self.bytes(at, 4)?.try_into().unwrap_or_default()))
    }

    fn u16(&self, at: usize) -> Result<u16, NoteError> {
        Ok(u16::from_le_bytes(self.bytes(at, 2)?.try_into().unwrap_or_default()))
    }

    /// A fixed-size C string field, up to its first NUL.
    fn text(&self, at: usize, len: usize) -> Result<String, NoteError> {
        let raw = self.bytes(at, len)?;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        Ok(String::from_utf8_lossy(&raw[..end]).into_owned())
    }
}

/// One thread's NT_PRSTATUS.
#[derive(Clone, Debug)]
pub struct PrStatus {
    pub tid: i32,
    /// The signal the thread was stopped or killed by (0: none).
    pub cursig: u16,
    pub regs: GeneralRegs,
}

/// Offset of `pr_reg` in `struct elf_prstatus`.
const PR_REG: usize = 112;

pub fn prstatus(desc: &[u8]) -> Result<PrStatus, NoteError> {
    let f = Fields { note: "NT_PRSTATUS", bytes: desc };
    let mut words = [0u64; arch::cpu::GENERAL_WORDS];
    for (i, word) in words.iter_mut().enumerate() {
        *word = f.u64(PR_REG + i * 8)?;
    }
    let regs = arch::cpu::general_from_words(&words);
    Ok(PrStatus { tid: f.u32(32)? as i32, cursig: f.u16(12)?, regs })
}

/// NT_FPREGSET, or the first bytes of NT_X86_XSTATE (the same FXSAVE
/// layout): the x87 and SSE registers.
pub fn fpregs(desc: &[u8], note: &'static str) -> Result<VectorRegs, NoteError> {
    let f = Fields { note, bytes: desc };
    Ok(arch::cpu::vector_from_fxsave(f.array(0)?))
}

/// NT_SIGINFO: the raw `siginfo_t`.
pub fn siginfo(desc: &[u8]) -> Result<[u8; 128], NoteError> {
    let f = Fields { note: "NT_SIGINFO", bytes: desc };
    Ok(f.bytes(0, 128)?.try_into().unwrap_or([0; 128]))
}

/// One entry of NT_FILE: a file the process had mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedFile {
    pub start: u64,
    pub end: u64,
    /// Offset in the file, in bytes.
    pub offset: u64,
    /// Without the " (deleted)" the kernel appends to a deleted file's.
    pub path: String,
    /// The file was deleted when the core was written (a file at the path
    /// now is used only if its build-id is the mapped one's).
    pub deleted: bool,
}

/// NT_FILE: count, page size, (start, end, page offset) per entry, then
/// the entries' NUL-terminated paths.
pub fn files(desc: &[u8]) -> Result<Vec<MappedFile>, NoteError> {
    const NOTE: &str = "NT_FILE";
    let f = Fields { note: NOTE, bytes: desc };
    let count = f.u64(0)?;
    let page = f.u64(8)?;
    let table = usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(24))
        .filter(|&len| len <= desc.len())
        .ok_or_else(|| NoteError { note: NOTE, reason: format!("{count} entries do not fit") })?;
    let mut names = f.bytes(16 + table, desc.len().saturating_sub(16 + table))?.split(|&b| b == 0);
    let mut out = Vec::with_capacity(table / 24);
    for i in 0..table / 24 {
        let at = 16 + i * 24;
        let name = names.next().ok_or_else(|| NoteError { note: NOTE, reason: format!("entry {i} has no path") })?;
        let path = String::from_utf8_lossy(name);
        let (path, deleted) = match path.strip_suffix(" (deleted)") {
            Some(p) => (p.to_string(), true),
            None => (path.into_owned(), false),
        };
        out.push(MappedFile {
            start: f.u64(at)?,
            end: f.u64(at + 8)?,
            offset: f
                .u64(at + 16)?
                .checked_mul(page)
                .ok_or_else(|| NoteError { note: NOTE, reason: format!("entry {i}'s offset overflows") })?,
            path,
            deleted,
        });
    }
    Ok(out)
}

/// NT_PRPSINFO: what the kernel says of the process as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PsInfo {
    /// The state letter (`R`, `S`, `D`, ...) at the dump.
    pub state: char,
    pub uid: u32,
    pub pid: i32,
    pub ppid: i32,
    /// The command name (comm, at most 15 bytes).
    pub fname: String,
    /// The first 80 bytes of the command line, arguments joined by spaces.
    pub psargs: String,
}

pub fn psinfo(desc: &[u8]) -> Result<PsInfo, NoteError> {
    let f = Fields { note: "NT_PRPSINFO", bytes: desc };
    Ok(PsInfo {
        state: char::from(f.bytes(1, 1)?[0]),
        uid: f.u32(16)?,
        pid: f.u32(24)? as i32,
        ppid: f.u32(28)? as i32,
        fname: f.text(40, 16)?,
        psargs: f.text(56, 80)?.trim_end().to_string(),
    })
}

/// NT_AUXV: the auxiliary vector's (type, value) pairs, up to AT_NULL.
pub fn auxv(desc: &[u8]) -> Vec<(u64, u64)> {
    desc.chunks_exact(16)
        .map(|c| {
            (
                u64::from_le_bytes(c[..8].try_into().unwrap_or_default()),
                u64::from_le_bytes(c[8..].try_into().unwrap_or_default()),
            )
        })
        .take_while(|&(t, _)| t != 0)
        .collect()
}

/// The GNU build-id in a block of ELF notes (a PT_NOTE segment's bytes).
pub fn build_id(mut notes: &[u8]) -> Option<Vec<u8>> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let pad = |n: usize| n.checked_add(3).map(|n| n & !3);
    while notes.len() >= 12 {
        let word = |at: usize| u32::from_le_bytes(notes[at..at + 4].try_into().unwrap_or_default()) as usize;
        let (namesz, descsz, kind) = (word(0), word(4), word(8) as u32);
        let desc_at = pad(namesz)?.checked_add(12)?;
        let next = desc_at.checked_add(pad(descsz)?)?;
        let name = notes.get(12..12 + namesz)?;
        let desc = notes.get(desc_at..desc_at.checked_add(descsz)?)?;
        if kind == NT_GNU_BUILD_ID && name == b"GNU\0" {
            return Some(desc.to_vec());
        }
        notes = notes.get(next..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_notes_are_errors() {
        assert!(prstatus(&[0; 100]).is_err());
        assert!(fpregs(&[0; 511], "NT_FPREGSET").is_err());
        assert!(siginfo(&[0; 12]).is_err());
        assert!(psinfo(&[0; 40]).is_err());
        // A count that does not fit the note.
        let mut file = vec![0u8; 16];
        file[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(files(&file).is_err());
        assert_eq!(build_id(&[0xff; 16]), None);
    }

    #[test]
    fn decodes_a_file_table() {
        let mut d = Vec::new();
        for w in [2u64, 4096, 0x1000, 0x2000, 0, 0x3000, 0x5000, 2] {
            d.extend_from_slice(&w.to_le_bytes());
        }
        d.extend_from_slice(b"/bin/a\0/lib/b.so (deleted)\0");
        let f = files(&d).unwrap();
        let b = MappedFile { start: 0x3000, end: 0x5000, offset: 0x2000, path: "/lib/b.so".into(), deleted: true };
        assert_eq!(f[1], b);
        assert_eq!((f[0].path.as_str(), f[0].deleted), ("/bin/a", false));
    }

    #[test]
    fn decodes_registers_in_kernel_order() {
        let mut d = vec![0u8; 336];
        d[12..14].copy_from_slice(&11u16.to_le_bytes());
        d[32..36].copy_from_slice(&77u32.to_le_bytes());
        // rip is word 16, rsp word 19.
        d[PR_REG + 16 * 8..PR_REG + 17 * 8].copy_from_slice(&0x401000u64.to_le_bytes());
        d[PR_REG + 19 * 8..PR_REG + 20 * 8].copy_from_slice(&0x7ff0u64.to_le_bytes());
        let p = prstatus(&d).unwrap();
        assert_eq!((p.tid, p.cursig, p.regs.rip, p.regs.rsp), (77, 11, 0x401000, 0x7ff0));
    }

    #[test]
    fn finds_the_gnu_build_id() {
        let mut n = Vec::new();
        for w in [4u32, 2, 1] {
            n.extend_from_slice(&w.to_le_bytes());
        }
        n.extend_from_slice(b"XYZ\0\x01\x02\0\0");
        for w in [4u32, 3, 3] {
            n.extend_from_slice(&w.to_le_bytes());
        }
        n.extend_from_slice(b"GNU\0\xaa\xbb\xcc\0");
        assert_eq!(build_id(&n), Some(vec![0xaa, 0xbb, 0xcc]));
    }
}
