//! Finding the separate debug file of a stripped binary, the way gdb and
//! elfutils do: first by build id under `<dir>/.build-id/xx/rest.debug`,
//! then by the `.gnu_debuglink` name next to the binary, in its `.debug/`
//! directory and under each debug directory, accepting a debuglink
//! candidate only when its CRC-32 matches; last, in the debuginfod client
//! cache.
//!
//! With a sysroot (`ptsnap core --sysroot DIR`, for a core examined on
//! another machine) every path derived from a mapped file's path (the
//! debuglink next to it, the dwz file it names, the system debug
//! directory) is tried under the sysroot first, as gdb's `set sysroot`
//! does; the build-id and CRC checks apply as everywhere.

use std::path::{Path, PathBuf};

use super::debuginfod;
use super::elf::ElfObject;
use super::store::FileStore;

/// How a separate debug file was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugSource {
    BuildId,
    DebugLink,
    /// Fetched from a debuginfod server (or found in its client cache).
    Debuginfod,
}

/// The directories searched for separate debug files, in order.
#[derive(Clone, Debug)]
pub struct DebugDirs {
    dirs: Vec<PathBuf>,
    sysroot: Option<PathBuf>,
}

/// The system's directory of separate debug files.
const SYSTEM_DEBUG_DIR: &str = "/usr/lib/debug";

/// `path` (absolute, as a process saw it) inside the tree at `root`.
pub fn under_root(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

impl DebugDirs {
    /// User-given directories first, then the system's `/usr/lib/debug`.
    pub fn new(user_dirs: &[PathBuf]) -> Self {
        let mut dirs = user_dirs.to_vec();
        dirs.push(PathBuf::from(SYSTEM_DEBUG_DIR));
        DebugDirs { dirs, sysroot: None }
    }

    /// Also looks under `sysroot` (when given) first: the system debug
    /// directory there before this machine's, and the files next to a
    /// binary there before those at its path.
    pub fn with_sysroot(mut self, sysroot: Option<&Path>) -> Self {
        if let Some(root) = sysroot {
            let system = self.dirs.len() - 1;
            self.dirs.insert(system, under_root(root, Path::new(SYSTEM_DEBUG_DIR)));
            self.sysroot = Some(root.to_path_buf());
        }
        self
    }

    /// Where a file at `path` is looked for: under the sysroot, then at
    /// `path`.
    fn rooted(&self, path: &Path) -> Vec<PathBuf> {
        let under = self.sysroot.as_deref().filter(|_| path.is_absolute()).map(|root| under_root(root, path));
        under.into_iter().chain([path.to_path_buf()]).collect()
    }

    /// The directories, in the order they are searched.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    pub fn find<'a>(&self, store: &'a FileStore, binary: &ElfObject<'a>) -> Option<(ElfObject<'a>, DebugSource)> {
        if let Some(id) = binary.build_id()
            && let Some(found) = self.by_build_id(store, id)
        {
            return Some((found, DebugSource::BuildId));
        }
        let local = binary.debuglink().and_then(|(name, crc)| {
            let name = std::str::from_utf8(name).ok()?;
            self.by_debuglink(store, &binary.path, name, crc)
        });
        local
            .map(|f| (f, DebugSource::DebugLink))
            .or_else(|| Some((self.in_debuginfod_cache(store, binary)?, DebugSource::Debuginfod)))
    }

    /// The file a debuginfod client (ptsnap's, gdb's) has cached for the
    /// binary's build id.
    fn in_debuginfod_cache<'a>(&self, store: &'a FileStore, binary: &ElfObject<'a>) -> Option<ElfObject<'a>> {
        let id = binary.build_id()?;
        let path = debuginfod::cached(&crate::hex::bytes(id))?;
        ElfObject::open(store, &path, &path).ok().filter(|elf| elf.build_id() == Some(id))
    }

    /// The supplementary DWARF file (dwz's common file) that `file` names in
    /// `.gnu_debugaltlink`: at the recorded path (relative paths are taken
    /// from the file's directory), else by its build id; it must carry the
    /// build id the link records.
    pub fn find_alt<'a>(&self, store: &'a FileStore, file: &ElfObject<'a>) -> Option<ElfObject<'a>> {
        use object::Object;
        let (name, id) = file.file.gnu_debugaltlink().ok()??;
        let name = Path::new(std::str::from_utf8(name).ok()?);
        let path = if name.is_absolute() { name.to_path_buf() } else { file.path.parent()?.join(name) };
        self.rooted(&path)
            .iter()
            .find_map(|path| ElfObject::open(store, path, path).ok().filter(|alt| alt.build_id() == Some(id)))
            .or_else(|| self.by_build_id(store, id))
    }

    fn by_build_id<'a>(&self, store: &'a FileStore, id: &[u8]) -> Option<ElfObject<'a>> {
        let hex = crate::hex::bytes(id);
        if hex.len() < 3 {
            return None;
        }
        self.dirs.iter().find_map(|dir| {
            let path = dir.join(".build-id").join(&hex[..2]).join(format!("{}.debug", &hex[2..]));
            let elf = ElfObject::open(store, &path, &path).ok()?;
            (elf.build_id() == Some(id)).then_some(elf)
        })
    }

    fn by_debuglink<'a>(&self, store: &'a FileStore, binary: &Path, name: &str, crc: u32) -> Option<ElfObject<'a>> {
        let dir = binary.parent().unwrap_or(Path::new("/"));
        let mut candidates: Vec<PathBuf> =
            self.rooted(dir).iter().flat_map(|d| [d.join(name), d.join(".debug").join(name)]).collect();
        candidates.extend(self.dirs.iter().map(|d| under_root(d, dir).join(name)));
        let binaries = self.rooted(binary);
        candidates.into_iter().find_map(|path| {
            if binaries.contains(&path) {
                return None;
            }
            let elf = ElfObject::open(store, &path, &path).ok()?;
            (crc32fast::hash(elf.data) == crc).then_some(elf)
        })
    }
}
