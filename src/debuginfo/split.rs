//! Split DWARF (`-gsplit-dwarf`): the DIEs of a unit live outside the
//! executable, which keeps only a skeleton unit (its ranges, line table and
//! `.debug_addr`), and name the file with the rest.
//!
//! The rest of a skeleton unit is looked for the way gdb does: first in a
//! package (`dwp`, `llvm-dwp`) named `<file>.dwp` next to the executable
//! or its debug file; else in the `.dwo` file the skeleton names
//! (`DW_AT_dwo_name`, or `DW_AT_GNU_dwo_name` for GNU's DWARF 4
//! extension): as given when absolute, else in the compilation directory,
//! then under the debug directories and next to the executable (by the
//! name and by its last component). A file is taken only if its unit
//! carries the skeleton's DWO id, so a stale `.dwo` from another build is
//! refused, not read as this one.
//!
//! The result is a [`gimli::Dwarf`] over the split file's sections with
//! the executable's `.debug_addr` and `.debug_ranges` (`make_dwo`), whose
//! unit is found here; its relocated attributes (`DW_AT_addr_base`,
//! `DW_AT_low_pc`, GNU's ranges base) come from the skeleton when the
//! unit is parsed (see `DwarfInfo`).

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use gimli::{DebugInfoOffset, DwoId, RunTimeEndian, SectionId, Unit, UnitType};
use thiserror::Error;

use super::elf::ElfObject;
use super::locate::DebugDirs;
use super::store::FileStore;
use crate::unwind::cfi::Slice;

type R<'a> = Slice<'a>;

/// Why the split part of a unit could not be had.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SplitError {
    #[error("split DWARF {name} (DWO id {id:#018x}) not found; looked for {tried}")]
    Missing { name: String, id: u64, tried: String },
    #[error("split DWARF {path}: its DWO id is not the executable's {id:#018x} (a file from another build)")]
    Mismatch { path: PathBuf, id: u64 },
    #[error("split DWARF {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

/// The split part of one skeleton unit.
pub struct SplitUnit<'a> {
    pub dwarf: gimli::Dwarf<R<'a>>,
    /// Its compilation unit, in `dwarf`.
    pub unit: DebugInfoOffset,
    /// The `.dwo` or `.dwp` file it came from, for messages.
    pub path: PathBuf,
}

/// A `.dwp` package, opened once per module.
struct Package<'a> {
    path: PathBuf,
    dwp: gimli::DwarfPackage<R<'a>>,
}

/// Finds and opens the split files of one module's skeleton units.
pub struct SplitFiles<'a> {
    store: &'a FileStore,
    dirs: &'a DebugDirs,
    /// The module's file, then its separate debug file if any: packages
    /// are named after them, `.dwo` files are looked for next to them.
    owners: Vec<PathBuf>,
    package: OnceCell<Option<Result<Package<'a>, SplitError>>>,
}

impl<'a> SplitFiles<'a> {
    pub fn new(store: &'a FileStore, dirs: &'a DebugDirs, owners: Vec<PathBuf>) -> Self {
        SplitFiles { store, dirs, owners, package: OnceCell::new() }
    }

    /// The split part of `skeleton`, a unit of `parent`; `None` when the
    /// unit is not a skeleton (it has no DWO id).
    pub fn load(
        &self,
        parent: &gimli::Dwarf<R<'a>>,
        skeleton: &Unit<R<'a>>,
    ) -> Result<Option<SplitUnit<'a>>, SplitError> {
        let Some(id) = skeleton.dwo_id else { return Ok(None) };
        let name = skeleton
            .dwo_name()
            .ok()
            .flatten()
            .and_then(|v| parent.attr_string(skeleton, v).ok())
            .map(|s| s.to_string_lossy().into_owned());
        let mut tried = Vec::new();
        let mut refused = None;
        match self.package() {
            Some(Ok(package)) => match package.dwp.find_cu(id, parent) {
                Ok(Some(dwarf)) => return split_unit(dwarf, id, &package.path).map(Some),
                Ok(None) => tried.push(package.path.clone()),
                Err(e) => refused = Some(corrupt(&package.path, e)),
            },
            Some(Err(e)) => refused = Some(e.clone()),
            None => {}
        }
        let comp_dir = skeleton.comp_dir.map(|d| PathBuf::from(d.to_string_lossy().into_owned()));
        for path in name.as_deref().map(|n| self.dwo_candidates(n, comp_dir.as_deref())).unwrap_or_default() {
            if !path.is_file() {
                tried.push(path);
                continue;
            }
            match self.open_dwo(&path, parent, id) {
                Ok(found) => return Ok(Some(found)),
                // A stale or broken file: another candidate may be the one.
                Err(e) => {
                    refused.get_or_insert(e);
                }
            }
        }
        Err(refused.unwrap_or_else(|| SplitError::Missing {
            name: name.unwrap_or_else(|| "(unnamed)".into()),
            id: id.0,
            tried: tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        }))
    }

    /// Where a `.dwo` file named `name` may be, in the order gdb tries them.
    fn dwo_candidates(&self, name: &str, comp_dir: Option<&Path>) -> Vec<PathBuf> {
        let name = Path::new(name);
        let mut out = Vec::new();
        if name.is_absolute() {
            out.push(name.to_path_buf());
        } else if let Some(dir) = comp_dir {
            out.push(dir.join(name));
        }
        let base = name.file_name().map(Path::new);
        let dirs = self.dirs.dirs().iter().map(PathBuf::as_path);
        let next_to = self.owners.iter().filter_map(|o| o.parent());
        for dir in dirs.chain(next_to) {
            out.extend(name.is_relative().then(|| dir.join(name)));
            out.extend(base.map(|b| dir.join(b)));
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|p| seen.insert(p.clone()));
        out
    }

    fn open_dwo(&self, path: &Path, parent: &gimli::Dwarf<R<'a>>, id: DwoId) -> Result<SplitUnit<'a>, SplitError> {
        let file = ElfObject::open(self.store, path, path).map_err(|e| corrupt(path, e))?;
        let mut dwarf = gimli::Dwarf::load(|section| sections(&file, section)).map_err(|e| corrupt(path, e))?;
        dwarf.make_dwo(parent);
        split_unit(dwarf, id, path)
    }

    /// The package next to the module's file or its debug file, opened on
    /// first use; `None` when there is none.
    fn package(&self) -> Option<&Result<Package<'a>, SplitError>> {
        self.package
            .get_or_init(|| {
                let path = self.owners.iter().map(|o| with_suffix(o, ".dwp")).find(|p| p.is_file())?;
                let open = || {
                    let file = ElfObject::open(self.store, &path, &path).map_err(|e| corrupt(&path, e))?;
                    let empty = Slice::new(&[], RunTimeEndian::Little);
                    let dwp = gimli::DwarfPackage::load(|section| sections(&file, section), empty)
                        .map_err(|e| corrupt(&path, e))?;
                    Ok(Package { path: path.clone(), dwp })
                };
                Some(open())
            })
            .as_ref()
    }
}

/// A section of a split file, by its `.dwo` name; empty when absent.
fn sections<'a>(file: &ElfObject<'a>, section: SectionId) -> Result<R<'a>, gimli::Error> {
    let data = section.dwo_name().and_then(|name| file.section(name));
    Ok(Slice::new(data.unwrap_or(&[]), RunTimeEndian::Little))
}

/// The unit of `dwarf` (a `.dwo` file or a package's contribution) whose
/// DWO id is `id`: in the header (DWARF 5) or as `DW_AT_GNU_dwo_id`.
fn split_unit<'a>(dwarf: gimli::Dwarf<R<'a>>, id: DwoId, path: &Path) -> Result<SplitUnit<'a>, SplitError> {
    let mut headers = dwarf.units();
    while let Some(header) = headers.next().map_err(|e| corrupt(path, e))? {
        let Some(offset) = header.debug_info_offset() else { continue };
        let found = match header.type_() {
            UnitType::SplitCompilation(found) => found,
            UnitType::Compilation => match dwarf.unit(header).map_err(|e| corrupt(path, e))?.dwo_id {
                Some(found) => found,
                None => continue,
            },
            _ => continue,
        };
        if found != id {
            continue;
        }
        return Ok(SplitUnit { dwarf, unit: offset, path: path.to_path_buf() });
    }
    Err(SplitError::Mismatch { path: path.to_path_buf(), id: id.0 })
}

fn corrupt(path: &Path, reason: impl ToString) -> SplitError {
    SplitError::Corrupt { path: path.to_path_buf(), reason: reason.to_string() }
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dwo_files_are_looked_for_as_gdb_does() {
        let store = FileStore::new();
        let dirs = DebugDirs::new(&[PathBuf::from("/dbg")]);
        let files = SplitFiles::new(&store, &dirs, vec![PathBuf::from("/opt/app/bin/app")]);
        let found = files.dwo_candidates("obj/a.dwo", Some(Path::new("/build")));
        let expected = [
            "/build/obj/a.dwo",
            "/dbg/obj/a.dwo",
            "/dbg/a.dwo",
            "/usr/lib/debug/obj/a.dwo",
            "/usr/lib/debug/a.dwo",
            "/opt/app/bin/obj/a.dwo",
            "/opt/app/bin/a.dwo",
        ];
        assert_eq!(found, expected.map(PathBuf::from));
        let absolute = files.dwo_candidates("/build/a.dwo", Some(Path::new("/elsewhere")));
        assert_eq!(absolute[0], PathBuf::from("/build/a.dwo"));
        assert!(absolute.contains(&PathBuf::from("/opt/app/bin/a.dwo")));
        assert_eq!(with_suffix(Path::new("/opt/app/bin/app"), ".dwp"), PathBuf::from("/opt/app/bin/app.dwp"));
    }
}
