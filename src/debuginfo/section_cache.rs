//! Inflated debug sections kept on disk from one run to the next.
//!
//! Distributions ship debug files with compressed sections: the C
//! library's 10 MB of DWARF come as 2.3 MB of zlib. Inflating the part a
//! snapshot reads costs more CPU than the rest of a frames-only snapshot,
//! and every run paid it again for the same file. A section inflated once
//! is kept here, in a file of its own, which later runs map instead of
//! inflating (their pages are shared with the page cache, too).
//!
//! - **Keyed by content:** an entry is named by the section, a hash of its
//!   compressed bytes and its inflated size, under a directory named by the
//!   file's build id. A rebuilt or modified file is a miss, never stale
//!   bytes; a hash collision would give wrong DWARF, which the readers take
//!   as they take any corrupt debug file.
//! - **Trusted only when ours:** ptsnap often runs as root, and what it
//!   reads from here is parsed as debug info. Every directory on the way
//!   and the entry itself are opened without following symbolic links and
//!   used only when they belong to the effective user and nobody else can
//!   write them; an entry of the wrong size is ignored.
//! - **Written safely, and after the target is released:** directories
//!   are created mode 0700, entries are [`TempFile`]s (mode 0600, named
//!   only once whole). Nothing is written while a process is stopped.
//! - **Bounded:** after writing, the least recently used build ids are
//!   removed until the cache holds at most [`SIZE_LIMIT`] bytes.
//!
//! No entry is synced to disk: one lost in a crash is inflated again.

use std::ffi::OsStr;
use std::fs::File;
use std::hash::Hasher;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, OFlag, openat};
use nix::sys::stat::{Mode, fstat, futimens, mkdirat};
use nix::sys::time::TimeSpec;

use crate::hex;
use crate::private_file::TempFile;

/// The most the cache holds, in bytes of entries.
pub const SIZE_LIMIT: u64 = 512 << 20;

/// Where inflated sections are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionCache {
    root: PathBuf,
}

/// One section of one file: a directory and a name in it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    dir: String,
    name: String,
    size: usize,
}

impl CacheKey {
    /// The key of a section called `section` whose compressed bytes are
    /// `compressed`, `inflated` bytes once inflated, in the file with
    /// `build_id`.
    pub fn new(build_id: Option<&[u8]>, section: &str, compressed: &[u8], inflated: usize) -> Self {
        let mut hash = rustc_hash::FxHasher::default();
        hash.write(compressed);
        let section = section.trim_start_matches('.');
        CacheKey {
            dir: build_id.map_or_else(|| "no-build-id".to_string(), hex::bytes),
            name: format!("{section}.{:016x}.{inflated}", hash.finish()),
            size: inflated,
        }
    }
}

const DIR_MODE: Mode = Mode::S_IRWXU;

impl SectionCache {
    pub fn at(root: PathBuf) -> Self {
        SectionCache { root }
    }

    /// `$XDG_CACHE_HOME/ptsnap`, else `$HOME/.cache/ptsnap`; None when
    /// neither names an absolute directory other than `/` (a core_pattern
    /// handler runs with almost no environment).
    pub fn default_root() -> Option<PathBuf> {
        let absolute =
            |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute() && p.parent().is_some());
        let base = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache")))?;
        Some(base.join("ptsnap"))
    }

    /// The inflated section, mapped; None when it is not here (or not
    /// trusted, or unreadable).
    pub fn open(&self, key: &CacheKey) -> Option<Mmap> {
        let root = open_dir(AT_FDCWD, &self.sections()).ok()?;
        let dir = open_dir(&root, Path::new(&key.dir)).ok()?;
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let file = File::from(openat(&dir, key.name.as_str(), flags, Mode::empty()).ok()?);
        let meta = file.metadata().ok()?;
        if !meta.is_file() || !is_ours(meta.uid(), meta.mode()) || meta.len() != key.size as u64 {
            return None;
        }
        // Recently used: kept longest when the cache is trimmed.
        let _ = futimens(&dir, &TimeSpec::UTIME_NOW, &TimeSpec::UTIME_NOW);
        // SAFETY: a private read-only mapping of a file only we can write;
        // entries are never rewritten in place (a new one replaces it by
        // rename, which leaves this inode intact).
        unsafe { Mmap::map(&file) }.ok()
    }

    /// Keeps `bytes`, the inflated section `key` names, then trims the
    /// cache to its limit.
    pub fn save(&self, key: &CacheKey, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() != key.size || key.size as u64 > SIZE_LIMIT {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not the section's inflated size"));
        }
        std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE.bits()).create(self.sections())?;
        let root = open_dir(AT_FDCWD, &self.sections())?;
        match mkdirat(&root, key.dir.as_str(), DIR_MODE) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e.into()),
        }
        let dir = open_dir(&root, Path::new(&key.dir))?;
        let mut temp = TempFile::create(&dir)?;
        temp.file.write_all(bytes)?;
        temp.persist(OsStr::new(&key.name))?;
        trim(&self.sections(), SIZE_LIMIT);
        Ok(())
    }

    fn sections(&self) -> PathBuf {
        self.root.join("sections")
    }
}

/// Owned by the effective user and writable by nobody else.
fn is_ours(uid: u32, mode: u32) -> bool {
    uid == nix::unistd::geteuid().as_raw() && mode & 0o022 == 0
}

/// Opens the directory `path` (relative to `at`) without following a
/// symbolic link, if it is ours.
fn open_dir<Fd: AsFd>(at: Fd, path: &Path) -> io::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let dir = openat(at, path, flags, Mode::empty())?;
    let stat = fstat(&dir)?;
    if !is_ours(stat.st_uid, stat.st_mode) {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "not owned by us, or writable by others"));
    }
    Ok(dir)
}

/// Removes the least recently used build ids' entries until those left
/// hold at most `limit` bytes.
fn trim(root: &Path, limit: u64) {
    let Ok(listing) = std::fs::read_dir(root) else { return };
    let mut dirs: Vec<(i64, u64, PathBuf)> = listing
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let size = std::fs::read_dir(e.path()).ok()?.flatten().filter_map(|f| f.metadata().ok()).map(|m| m.len());
            Some((meta.mtime(), size.sum(), e.path()))
        })
        .collect();
    let mut total: u64 = dirs.iter().map(|d| d.1).sum();
    dirs.sort();
    for (_, size, path) in dirs {
        if total <= limit {
            break;
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            total -= size;
        }
    }
}

#[cfg(test)]
#[path = "section_cache_tests.rs"]
mod tests;
