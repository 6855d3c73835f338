//! One parsed ELF file (a loaded binary or its separate debug file): its
//! identity (build id, debuglink), its load segments, and access to its
//! sections with transparent decompression (SHF_COMPRESSED zlib and zstd,
//! and GNU `.zdebug_*`).
//!
//! Everything in the file is untrusted: a compressed section's header
//! declares the inflated size, and that much is reserved before inflating,
//! so a declared size is checked against what the compressed bytes can
//! possibly inflate to before any allocation; segment offsets and sizes
//! are added with overflow checks.

use std::path::{Path, PathBuf};

use object::read::elf::ElfFile64;
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};

use thiserror::Error;

use super::DebugInfoError;
use super::inflate::SectionBytes;
use super::store::{CompressedSection, FileStore};
use crate::address::{Bias, LinkAddr, RunAddr};

/// Why a section's contents cannot be had.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SectionError {
    #[error("section {name} has a malformed compression header")]
    Header { name: String },
    #[error("section {name} claims {declared} inflated bytes from {compressed}, more than {limit} are possible")]
    ImplausibleSize { name: String, declared: u64, compressed: u64, limit: u64 },
    #[error("section {name} cannot be inflated")]
    Inflate { name: String },
}

/// The most a section may inflate to, whatever its header says: larger
/// than any real debug section, small enough to reserve.
const MAX_INFLATED: u64 = 4 << 30;

/// The most one compressed byte can inflate to: deflate's limit is 1032:1;
/// zstd's RLE blocks reach 128 KiB from 4 bytes.
fn max_inflation_ratio(format: object::CompressionFormat) -> u64 {
    match format {
        object::CompressionFormat::Zlib => 1032,
        _ => 32 * 1024,
    }
}

pub struct ElfObject<'a> {
    pub path: PathBuf,
    pub data: &'a [u8],
    pub file: ElfFile64<'a>,
    store: &'a FileStore,
}

impl<'a> ElfObject<'a> {
    /// Maps `open_path` and parses it; `path` is the name it is known by
    /// (they differ when a deleted file is read through /proc/PID/map_files).
    pub fn open(store: &'a FileStore, open_path: &Path, path: &Path) -> Result<Self, DebugInfoError> {
        let data =
            store.map_file(open_path).map_err(|e| DebugInfoError::Open { path: path.to_path_buf(), source: e })?;
        Self::parse(store, data, path)
    }

    pub fn parse(store: &'a FileStore, data: &'a [u8], path: &Path) -> Result<Self, DebugInfoError> {
        let file = ElfFile64::parse(data)
            .map_err(|e| DebugInfoError::Corrupt { path: path.to_path_buf(), reason: e.to_string() })?;
        Ok(ElfObject { path: path.to_path_buf(), data, file, store })
    }

    pub fn build_id(&self) -> Option<&'a [u8]> {
        self.file.build_id().ok().flatten().filter(|id| !id.is_empty())
    }

    pub fn debuglink(&self) -> Option<(&'a [u8], u32)> {
        self.file.gnu_debuglink().ok().flatten()
    }

    /// The section's contents, inflated if compressed. `None` when the
    /// section is absent, has no bytes in this file (NOBITS, as in debug
    /// files' copies of `.eh_frame`), or cannot be decompressed.
    pub fn section(&self, name: &str) -> Option<&'a [u8]> {
        self.try_section(name).ok().flatten()
    }

    /// As [`Self::section`], saying why a present section has no contents.
    pub fn try_section(&self, name: &str) -> Result<Option<&'a [u8]>, SectionError> {
        self.section_bytes(name)?.map(SectionBytes::whole).transpose()
    }

    /// As [`Self::try_section`], but a compressed section is not inflated
    /// yet: readers take the prefix they need (see [`super::inflate`]).
    pub fn section_bytes(&self, name: &str) -> Result<Option<SectionBytes<'a>>, SectionError> {
        let Some(section) = self.file.section_by_name(name) else { return Ok(None) };
        if section.kind() == object::SectionKind::UninitializedData {
            return Ok(None);
        }
        let compressed = section.compressed_data().map_err(|_| SectionError::Header { name: name.into() })?;
        let bytes = if compressed.format == object::CompressionFormat::None {
            SectionBytes::Whole(compressed.data)
        } else {
            check_inflated_size(name, &compressed)?;
            let size = usize::try_from(compressed.uncompressed_size).unwrap_or(usize::MAX);
            let section = CompressedSection {
                name,
                format: compressed.format,
                data: compressed.data,
                size,
                build_id: self.build_id(),
            };
            self.store.compressed(&self.path, &section).ok_or_else(|| SectionError::Inflate { name: name.into() })?
        };
        Ok((bytes.len() > 0).then_some(bytes))
    }

    /// A copy that reads sections later (it re-parses the headers, which
    /// costs microseconds), for loaders that outlive a borrow of `self`.
    pub fn reopened(&self) -> Option<ElfObject<'a>> {
        ElfObject::parse(self.store, self.data, &self.path).ok()
    }

    /// A symbol by exact name (versions like `@@GLIBC_PRIVATE` are not part
    /// of the name): its link-time address (an offset in the TLS block for
    /// TLS symbols) and size. Looks in `.dynsym`, then `.symtab`.
    pub fn symbol(&self, name: &str) -> Option<(u64, u64)> {
        self.file
            .dynamic_symbols()
            .chain(self.file.symbols())
            .find(|s| !s.is_undefined() && s.name() == Ok(name))
            .map(|s| (s.address(), s.size()))
    }

    /// The data object (a variable's symbol, with a size) holding the
    /// link-time `address`: its name and the offset into it. Looks in
    /// `.dynsym`, then `.symtab`, one symbol after another: for the rare
    /// question "which global is this", not for every frame.
    pub fn object_at(&self, address: u64) -> Option<(&'a str, u64)> {
        self.file
            .dynamic_symbols()
            .chain(self.file.symbols())
            .filter(|s| !s.is_undefined() && s.kind() == object::SymbolKind::Data && s.size() > 0)
            .find(|s| address.wrapping_sub(s.address()) < s.size())
            .and_then(|s| Some((s.name().ok()?, address - s.address())))
    }

    /// The section's link-time address, for sections addressed at run time
    /// (`.eh_frame`, `.eh_frame_hdr`, `.text`, `.got`).
    pub fn section_address(&self, name: &str) -> Option<LinkAddr> {
        self.file.section_by_name(name).map(|s| LinkAddr::new(s.address()))
    }

    /// Whether the section is present with contents, without inflating it.
    pub fn has_section(&self, name: &str) -> bool {
        self.file
            .section_by_name(name)
            .is_some_and(|s| s.kind() != object::SectionKind::UninitializedData && s.size() > 0)
    }

    /// The link-time address and size in memory of the TLS segment
    /// (`PT_TLS`, the initialization image of thread-local variables).
    pub fn tls_segment(&self) -> Option<(u64, u64)> {
        use object::read::elf::ProgramHeader;
        let endian = self.file.endian();
        let header = self.file.elf_program_headers().iter().find(|p| p.p_type(endian) == object::elf::PT_TLS)?;
        Some((header.p_vaddr(endian), header.p_memsz(endian)))
    }

    /// The difference between run-time and link-time addresses, given that
    /// the file's bytes at `file_offset` are mapped at `map_start`.
    pub fn load_bias(&self, map_start: RunAddr, file_offset: u64) -> Option<Bias> {
        self.file.segments().find_map(|seg| {
            let (seg_off, seg_size) = seg.file_range();
            let page_off = seg_off & !0xfff;
            let seg_end = seg_off.checked_add(seg_size.max(1))?;
            (file_offset >= page_off && file_offset < seg_end).then(|| {
                let vaddr_at_offset = LinkAddr::new(seg.address()) + file_offset - seg_off;
                Bias::between(map_start, vaddr_at_offset)
            })
        })
    }
}

/// Refuses a declared inflated size that the compressed bytes cannot
/// produce (a corrupt header claiming terabytes would otherwise be
/// reserved up front).
fn check_inflated_size(name: &str, compressed: &object::CompressedData<'_>) -> Result<(), SectionError> {
    let len = compressed.data.len() as u64;
    let limit = len.saturating_mul(max_inflation_ratio(compressed.format)).min(MAX_INFLATED);
    if compressed.uncompressed_size > limit {
        return Err(SectionError::ImplausibleSize {
            name: name.into(),
            declared: compressed.uncompressed_size,
            compressed: len,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zlib(data: &[u8], uncompressed_size: u64) -> object::CompressedData<'_> {
        object::CompressedData { format: object::CompressionFormat::Zlib, data, uncompressed_size }
    }

    #[test]
    fn implausible_inflated_sizes_are_refused() {
        let bytes: &[u8] = &[0x78, 0x9c, 0x03, 0x00, 0, 0, 0, 1];
        assert_eq!(check_inflated_size(".debug_info", &zlib(bytes, 8 * 1032)), Ok(()));
        let err = check_inflated_size(".debug_info", &zlib(bytes, 1 << 40)).unwrap_err();
        assert!(matches!(err, SectionError::ImplausibleSize { limit: 8256, .. }), "{err}");
        let huge = vec![0u8; 8 << 20];
        let err = check_inflated_size(".debug_info", &zlib(&huge, 1 << 40)).unwrap_err();
        assert!(matches!(err, SectionError::ImplausibleSize { limit: MAX_INFLATED, .. }), "{err}");
    }
}
