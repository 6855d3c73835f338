//! The memory of a dumped process: the bytes the core holds, and for
//! mapped files' ranges it does not hold (read-only file mappings that
//! `coredump_filter` or gcore left out, or a segment's tail past its
//! `p_filesz`) the bytes of the file itself, at the offset NT_FILE gives.
//!
//! A mapped file is used only if its build-id is the one in the ELF header
//! the core holds for that mapping: a rebuilt binary would otherwise give
//! another program's code and constants as this one's.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use object::Object;
use object::read::elf::ElfFile64;
use thiserror::Error;

use super::{Bytes, Core, Opener};
use crate::hex;
use crate::memory::{Memory, MemoryError, read_in_pieces};

/// Why a mapped file named by the core is not used.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum FileProblem {
    #[error("cannot open {path}: {reason}")]
    Open { path: String, reason: String },
    #[error(
        "{path} is not the file the process mapped: its build-id is {file}, the core's is {core} \
         (rebuilt or upgraded since?); it is not used"
    )]
    Mismatch { path: String, core: String, file: String },
}

pub struct CoreMemory {
    core: Arc<Core>,
    opener: Opener,
    files: RefCell<HashMap<String, Result<Bytes, FileProblem>>>,
}

impl CoreMemory {
    pub fn new(core: Arc<Core>, opener: Opener) -> Self {
        CoreMemory { core, opener, files: RefCell::default() }
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The mapped file at `path`, opened once and checked against the
    /// build-id the core holds for it.
    pub fn file(&self, path: &str) -> Result<Bytes, FileProblem> {
        if let Some(known) = self.files.borrow().get(path) {
            return known.clone();
        }
        let opened = (self.opener)(Path::new(path))
            .map_err(|e| FileProblem::Open { path: path.to_string(), reason: e.to_string() })
            .and_then(|(read, bytes)| self.check(path, &read, bytes));
        self.files.borrow_mut().insert(path.to_string(), opened.clone());
        opened
    }

    /// `bytes`, read from `read` for the file the core names `path`, if
    /// they have the build-id the core holds for it.
    fn check(&self, path: &str, read: &Path, bytes: Bytes) -> Result<Bytes, FileProblem> {
        let head = self.core.files.iter().filter(|f| f.path == path).min_by_key(|f| f.offset);
        let Some(expected) = head.filter(|f| f.offset == 0).and_then(|f| self.core.build_id_at(f.start)) else {
            // The core holds no ELF header for it: nothing to check against.
            return Ok(bytes);
        };
        let data: &[u8] = (*bytes).as_ref();
        let found = ElfFile64::<object::LittleEndian>::parse(data).ok().and_then(|f| f.build_id().ok().flatten());
        match found {
            Some(id) if id == expected.as_slice() => Ok(bytes),
            other => Err(FileProblem::Mismatch {
                path: read.display().to_string(),
                core: hex::bytes(&expected),
                file: other.map_or_else(|| "absent".to_string(), hex::bytes),
            }),
        }
    }

    /// Bytes of the file mapped at `addr` (when it is checked and long
    /// enough).
    fn read_file(&self, addr: u64, buf: &mut [u8]) -> bool {
        let Some(map) = self.core.file_at(addr) else { return false };
        if addr.saturating_add(buf.len() as u64) > map.end {
            return false;
        }
        let Ok(bytes) = self.file(&map.path) else { return false };
        let data: &[u8] = (*bytes).as_ref();
        let at = (addr - map.start).checked_add(map.offset).and_then(|a| usize::try_from(a).ok());
        match at.and_then(|a| data.get(a..a.checked_add(buf.len())?)) {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }

    /// The end of the piece of memory, from `addr`, that one source
    /// serves: a dumped part of a segment, an undumped part, or a gap.
    fn piece_end(&self, addr: u64) -> u64 {
        let core = &self.core;
        let seg_end = match core.segment_at(addr) {
            Some(s) if addr - s.vaddr < s.filesz => s.vaddr.saturating_add(s.filesz),
            Some(s) => s.end(),
            None => core.segments.iter().map(|s| s.vaddr).find(|&v| v > addr).unwrap_or(u64::MAX),
        };
        let file_end = match core.file_at(addr) {
            Some(f) => f.end,
            None => core.files.iter().map(|f| f.start).find(|&s| s > addr).unwrap_or(u64::MAX),
        };
        seg_end.min(file_end)
    }
}

impl Memory for CoreMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        read_in_pieces(
            addr,
            buf,
            |a| self.piece_end(a),
            |a, part| self.core.read_dumped(a, part) || self.read_file(a, part),
        )
    }
}
