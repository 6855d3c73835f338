//! ELF core dumps as data: the threads, their registers and signals, the
//! mapped files, the process facts and the memory a core holds, with no
//! policy of its own about where the core or the mapped files come from.
//!
//! [`Core::parse`] reads the program headers and the notes once and keeps
//! offsets; [`CoreMemory`] serves reads from the dumped segments and, for
//! the ranges the kernel (per `coredump_filter`) or gcore left out, from
//! the mapped files themselves, opened by a caller-given [`Opener`] so that
//! tests and other machines can say where the files are. Every malformed
//! or truncated part is a [`CoreError`] or a read that fails, never a
//! panic.

mod memory;
pub(crate) mod notes;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::Endianness;
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, ProgramHeader};
use thiserror::Error;

use crate::arch::{GeneralRegs, VectorRegs};

pub use memory::{CoreMemory, FileProblem};
use notes::{MappedFile, NoteError, PsInfo};

/// Bytes that live as long as whoever holds them: a mapped core or file,
/// or a buffer.
pub type Bytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Opens a file a core names (an NT_FILE path) for reading: its bytes and
/// the path they were read from (not the one named when the files are
/// elsewhere on this machine).
pub type Opener = Arc<dyn Fn(&Path) -> io::Result<(PathBuf, Bytes)> + Send + Sync>;

#[derive(Debug, Error)]
pub enum CoreError {
    #[error("cannot read the core {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("not an ELF file")]
    NotElf,
    #[error("not a core file (ELF type {0})")]
    NotCore(u16),
    #[error("a core of an unsupported machine (ELF machine {0}); ptsnap reads x86-64 cores")]
    Machine(u16),
    #[error("corrupt or truncated core: {0}")]
    Corrupt(String),
    #[error("corrupt or truncated core: {0}")]
    Note(#[from] NoteError),
    #[error("the core holds no thread (no NT_PRSTATUS note)")]
    NoThreads,
}

/// One thread of the core.
#[derive(Clone, Debug)]
pub struct CoreThread {
    pub tid: i32,
    /// The signal being delivered when the core was written (0: none).
    pub signal: u16,
    pub regs: GeneralRegs,
    /// The x87/SSE registers (NT_FPREGSET, else NT_X86_XSTATE's legacy area).
    pub fpregs: Option<VectorRegs>,
    /// The thread's `siginfo_t` (NT_SIGINFO; the kernel writes it for the
    /// dumping thread only, gcore for every thread).
    pub siginfo: Option<[u8; 128]>,
}

/// A PT_LOAD segment: memory at `vaddr..vaddr+memsz`, of which the first
/// `filesz` bytes are in the core at `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub readable: bool,
    pub writable: bool,
    pub executable: bool,
}

impl Segment {
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.memsz)
    }
}

/// An ELF core dump.
pub struct Core {
    data: Bytes,
    pub threads: Vec<CoreThread>,
    /// Sorted by address.
    pub segments: Vec<Segment>,
    /// NT_FILE, sorted by address (empty if the core has none).
    pub files: Vec<MappedFile>,
    pub process: Option<PsInfo>,
    pub auxv: Vec<(u64, u64)>,
}

/// `AT_ENTRY`: the executable's entry point.
const AT_ENTRY: u64 = 9;
/// `AT_SYSINFO_EHDR`: where the vdso is.
pub const AT_SYSINFO_EHDR: u64 = 33;

impl Core {
    /// Maps the core file at `path`.
    pub fn open(path: &Path) -> Result<Core, CoreError> {
        let err = |source| CoreError::Open { path: path.display().to_string(), source };
        Core::parse(map_file(path).map_err(err)?)
    }

    /// A core arriving on `input` (a pipe: `kernel.core_pattern`'s
    /// handler), spooled into an unnamed file in `dir` (see [`spool`]).
    pub fn read_from(input: &mut dyn io::Read, dir: &Path) -> Result<Core, CoreError> {
        let err = |source| CoreError::Open { path: "standard input".into(), source };
        Core::parse(spool(input, dir).map_err(err)?)
    }

    pub fn parse(data: Bytes) -> Result<Core, CoreError> {
        let bytes: &[u8] = (*data).as_ref();
        if !bytes.starts_with(b"\x7fELF") {
            return Err(CoreError::NotElf);
        }
        let header = FileHeader64::<Endianness>::parse(bytes).map_err(|e| CoreError::Corrupt(e.to_string()))?;
        let endian = header.endian().map_err(|e| CoreError::Corrupt(e.to_string()))?;
        if endian != Endianness::Little {
            return Err(CoreError::Corrupt("big-endian".into()));
        }
        let e_type = header.e_type(endian);
        if e_type != elf::ET_CORE {
            return Err(CoreError::NotCore(e_type.0));
        }
        let machine = header.e_machine(endian);
        if machine != elf::EM_X86_64 {
            return Err(CoreError::Machine(machine.0));
        }
        let phdrs = header.program_headers(endian, bytes).map_err(|e| CoreError::Corrupt(e.to_string()))?;
        let mut core = Core {
            data: data.clone(),
            threads: Vec::new(),
            segments: Vec::new(),
            files: Vec::new(),
            process: None,
            auxv: Vec::new(),
        };
        for ph in phdrs {
            if ph.p_type(endian) == elf::PT_LOAD {
                let flags = ph.p_flags(endian).0;
                core.segments.push(Segment {
                    vaddr: ph.p_vaddr(endian),
                    memsz: ph.p_memsz(endian),
                    offset: ph.p_offset(endian),
                    filesz: ph.p_filesz(endian),
                    readable: flags & elf::PF_R.0 != 0,
                    writable: flags & elf::PF_W.0 != 0,
                    executable: flags & elf::PF_X.0 != 0,
                });
            }
            let Some(mut notes) = ph.notes(endian, bytes).map_err(|e| CoreError::Corrupt(e.to_string()))? else {
                continue;
            };
            while let Some(note) = notes.next().map_err(|e| CoreError::Corrupt(e.to_string()))? {
                core.add_note(note.n_type(endian), note.desc())?;
            }
        }
        if core.threads.is_empty() {
            return Err(CoreError::NoThreads);
        }
        core.segments.sort_by_key(|s| s.vaddr);
        core.files.sort_by_key(|f| f.start);
        Ok(core)
    }

    fn add_note(&mut self, kind: elf::NoteType, desc: &[u8]) -> Result<(), CoreError> {
        // Per-thread notes follow their thread's NT_PRSTATUS.
        let thread = self.threads.last_mut();
        match kind {
            elf::NT_PRSTATUS => {
                let s = notes::prstatus(desc)?;
                self.threads.push(CoreThread {
                    tid: s.tid,
                    signal: s.cursig,
                    regs: s.regs,
                    fpregs: None,
                    siginfo: None,
                });
            }
            elf::NT_FPREGSET => {
                if let Some(t) = thread {
                    t.fpregs = Some(notes::fpregs(desc, "NT_FPREGSET")?);
                }
            }
            elf::NT_X86_XSTATE => {
                if let Some(t) = thread.filter(|t| t.fpregs.is_none()) {
                    t.fpregs = Some(notes::fpregs(desc, "NT_X86_XSTATE")?);
                }
            }
            elf::NT_SIGINFO => {
                if let Some(t) = thread {
                    t.siginfo = Some(notes::siginfo(desc)?);
                }
            }
            elf::NT_FILE => self.files = notes::files(desc)?,
            elf::NT_PRPSINFO => self.process = Some(notes::psinfo(desc)?),
            elf::NT_AUXV => self.auxv = notes::auxv(desc),
            _ => {}
        }
        Ok(())
    }

    pub fn auxv_value(&self, kind: u64) -> Option<u64> {
        self.auxv.iter().find(|(t, _)| *t == kind).map(|(_, v)| *v)
    }

    /// The executable's path: the mapped file that holds the entry point,
    /// else the first mapped file.
    pub fn executable(&self) -> Option<&str> {
        let entry = self.auxv_value(AT_ENTRY);
        let holding = entry.and_then(|e| self.files.iter().find(|f| f.start <= e && e < f.end));
        holding.or(self.files.first()).map(|f| f.path.as_str())
    }

    /// The bytes at `addr` that the core itself holds (no mapped file).
    pub fn read_dumped(&self, addr: u64, buf: &mut [u8]) -> bool {
        let bytes: &[u8] = (*self.data).as_ref();
        let Some(seg) = self.segment_at(addr) else { return false };
        let off = addr - seg.vaddr;
        let Some(end) = off.checked_add(buf.len() as u64).filter(|&e| e <= seg.filesz) else { return false };
        let from = seg.offset.checked_add(off).and_then(|o| usize::try_from(o).ok());
        let to = seg.offset.checked_add(end).and_then(|o| usize::try_from(o).ok());
        match from.zip(to).and_then(|(f, t)| bytes.get(f..t)) {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }

    pub fn segment_at(&self, addr: u64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.vaddr <= addr).checked_sub(1)?;
        let s = &self.segments[i];
        (addr < s.end()).then_some(s)
    }

    pub fn file_at(&self, addr: u64) -> Option<&MappedFile> {
        let i = self.files.partition_point(|f| f.start <= addr).checked_sub(1)?;
        let f = &self.files[i];
        (addr < f.end).then_some(f)
    }

    /// The build-id of the ELF file mapped at `start`, from the ELF header
    /// and notes the core holds there (the kernel and gcore dump the first
    /// page of a mapped ELF file for this); None when they are not dumped.
    pub fn build_id_at(&self, start: u64) -> Option<Vec<u8>> {
        let mut ehdr = [0u8; 64];
        if !self.read_dumped(start, &mut ehdr) || !ehdr.starts_with(b"\x7fELF") {
            return None;
        }
        let word = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default());
        let half = |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap_or_default());
        let (phoff, phentsize, phnum) = (word(&ehdr, 32), half(&ehdr, 54), half(&ehdr, 56));
        if phentsize != 56 {
            return None;
        }
        (0..u64::from(phnum)).find_map(|i| {
            let mut ph = [0u8; 56];
            if !self.read_dumped(start.checked_add(phoff)?.checked_add(i * 56)?, &mut ph) {
                return None;
            }
            if u32::from_le_bytes(ph[..4].try_into().ok()?) != elf::PT_NOTE.0 {
                return None;
            }
            let (offset, size) = (word(&ph, 8), word(&ph, 32));
            let mut notes = vec![0u8; usize::try_from(size).ok().filter(|&s| s <= 1 << 16)?];
            self.read_dumped(start.checked_add(offset)?, &mut notes).then(|| notes::build_id(&notes)).flatten()
        })
    }
}

/// Maps a whole file read-only.
pub fn map_file(path: &Path) -> io::Result<Bytes> {
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    // SAFETY: a private read-only mapping; a file truncated underneath it
    // could fault, as for every mapped debug file (see debuginfo::store).
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(Arc::new(map))
}

/// Copies `input` into an unnamed file in `dir` and maps it. A core is read
/// at random offsets and a pipe only once, front to back; the copy has no
/// name (`O_TMPFILE`), so nothing is left behind whatever happens, and it
/// lives on disk, not in memory (a core is as large as the process). A
/// filesystem without `O_TMPFILE` gets a memory file instead.
pub fn spool(input: &mut dyn io::Read, dir: &Path) -> io::Result<Bytes> {
    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;
    let unnamed = OFlag::O_TMPFILE | OFlag::O_RDWR | OFlag::O_CLOEXEC;
    let fd = match open(dir, unnamed, Mode::S_IRUSR | Mode::S_IWUSR) {
        Ok(fd) => fd,
        // EISDIR: a kernel without O_TMPFILE; EOPNOTSUPP: a filesystem.
        Err(nix::errno::Errno::EOPNOTSUPP | nix::errno::Errno::EISDIR) => {
            nix::sys::memfd::memfd_create("ptsnap-core", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)?
        }
        Err(e) => return Err(io::Error::other(format!("cannot make a file in {} for the core: {e}", dir.display()))),
    };
    let mut file = std::fs::File::from(fd);
    io::copy(input, &mut file)?;
    // SAFETY: a private read-only mapping of a file that has no name: no
    // other process can open it to change or truncate it.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(Arc::new(map))
}

/// The opener of files on this machine, at the paths the core names.
pub fn local_files() -> Opener {
    Arc::new(|path: &Path| Ok((path.to_path_buf(), map_file(path)?)))
}
