//! Incremental inflation against object's whole inflation, on real
//! compressed debug sections: a fixture built with `gcc -gz=zlib` and, when
//! installed (under CI it must be), the C library's separate debug file.

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection};

use super::*;
use crate::debuginfo::elf::ElfObject;
use crate::debuginfo::store::FileStore;
use crate::debuginfo::unit_sections::UnitSections;

fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// tests/fixtures/hang.c built with zlib-compressed debug sections, once
/// per test run (the tests run in parallel).
fn zlib_fixture() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/ptsnap-unit");
            std::fs::create_dir_all(&dir).unwrap();
            let (out, building) = (dir.join("hang-gz"), dir.join(format!("hang-gz.{}", std::process::id())));
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hang.c");
            let status = Command::new("cc")
                .args(["-g", "-O2", "-gz=zlib", "-pthread", "-o"])
                .arg(&building)
                .arg(&source)
                .status()
                .expect("cc is needed to build the test fixtures");
            assert!(status.success(), "cc -gz=zlib failed");
            std::fs::rename(&building, &out).unwrap();
            out
        })
        .clone()
}

/// The C library's separate debug file, found by the build id of the one
/// this test process maps.
fn libc_debug_file() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let libc = maps.lines().filter_map(|l| l.split_whitespace().nth(5)).find(|p| p.contains("/libc.so"))?;
    let data = std::fs::read(libc).ok()?;
    let id = object::File::parse(&*data).ok()?.build_id().ok()??;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let path = PathBuf::from(format!("/usr/lib/debug/.build-id/{}/{}.debug", &hex[..2], &hex[2..]));
    let found = path.exists().then_some(path);
    assert!(found.is_some() || !under_ci(), "libc6-dbg is not installed; .ci/run installs it");
    found
}

/// Files with zlib-compressed `.debug_info`.
fn compressed_files() -> Vec<PathBuf> {
    let files: Vec<PathBuf> = std::iter::once(zlib_fixture()).chain(libc_debug_file()).collect();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let format = file.section_by_name(".debug_info").unwrap().compressed_data().unwrap().format;
        assert_eq!(format, object::CompressionFormat::Zlib, "{}", f.display());
    }
    files
}

/// Each compressed section of `path`: its compressed data and its whole
/// inflated contents as object inflates them.
fn sections(path: &Path) -> Vec<(String, object::CompressedData<'static>, Vec<u8>)> {
    let data: &'static [u8] = Box::leak(std::fs::read(path).unwrap().into_boxed_slice());
    let file = object::File::parse(data).unwrap();
    file.sections()
        .filter_map(|s| {
            let compressed = s.compressed_data().ok()?;
            (compressed.format != object::CompressionFormat::None).then(|| {
                let whole = compressed.decompress().unwrap().into_owned();
                (s.name().unwrap().to_string(), compressed, whole)
            })
        })
        .collect()
}

fn fresh(name: &str, c: &object::CompressedData<'_>) -> Inflation {
    Inflation::new(name, c.format, c.uncompressed_size as usize).unwrap()
}

#[test]
fn prefixes_are_the_whole_sections_prefixes() {
    for path in compressed_files() {
        for (name, compressed, whole) in sections(&path) {
            let inflation = fresh(&name, &compressed);
            assert_eq!(inflation.len(), whole.len());
            // Growing prefixes, a repeated one, and one inside what is done.
            for len in [1, 100, 5000, STEP, STEP + 1, 3 * STEP + 17, 100, whole.len() / 2, whole.len()] {
                let prefix = inflation.prefix(compressed.data, len).unwrap();
                assert!(prefix.len() >= len.min(whole.len()), "{name}: {} < {len}", prefix.len());
                assert_eq!(prefix, &whole[..prefix.len()], "{name} of {}", path.display());
            }
            assert_eq!(inflation.whole(compressed.data).unwrap(), &whole[..]);
        }
    }
}

#[test]
fn a_prefix_inflates_no_further_than_a_step_past_it() {
    let path = zlib_fixture();
    let (name, compressed, whole) = sections(&path).into_iter().max_by_key(|(_, _, whole)| whole.len()).unwrap();
    let inflation = fresh(&name, &compressed);
    inflation.prefix(compressed.data, 10).unwrap();
    assert!(inflation.done() <= (10 + STEP).min(whole.len()), "{}", inflation.done());
}

/// A stepping thread (the prefetch) and a reader asking for prefixes (the
/// worker) on one section: both get the whole section's bytes.
#[test]
fn two_threads_share_one_inflation() {
    for path in compressed_files() {
        for (name, compressed, whole) in sections(&path) {
            let inflation = fresh(&name, &compressed);
            std::thread::scope(|scope| {
                scope.spawn(|| while inflation.try_step(compressed.data) != Step::Over {});
                for len in (0..=whole.len()).step_by(whole.len() / 7 + 1).chain([whole.len()]) {
                    let prefix = inflation.prefix(compressed.data, len).unwrap();
                    assert_eq!(prefix, &whole[..prefix.len()], "{name}");
                }
            });
            assert_eq!(inflation.done(), whole.len());
            assert_eq!(inflation.whole(compressed.data).unwrap(), &whole[..]);
        }
    }
}

#[test]
fn corrupt_and_truncated_streams_are_errors() {
    let path = zlib_fixture();
    let (name, compressed, whole) = sections(&path).into_iter().max_by_key(|(_, _, whole)| whole.len()).unwrap();
    let truncated = &compressed.data[..compressed.data.len() / 2];
    let inflation = fresh(&name, &compressed);
    assert_eq!(inflation.whole(truncated), Err(SectionError::Inflate { name: name.clone() }));
    // What was inflated before the end is still right, and stays readable.
    let done = inflation.done();
    assert!(done > 0 && done < whole.len());
    assert_eq!(inflation.prefix(truncated, done).unwrap(), &whole[..done]);
    assert!(inflation.try_step(compressed.data) == Step::Over);

    let mut garbage = compressed.data.to_vec();
    garbage[2..].iter_mut().for_each(|b| *b = 0xff);
    let inflation = fresh(&name, &compressed);
    assert!(inflation.whole(&garbage).is_err());
    // Longer than declared: the declared size is inflated, as object does.
    let short = object::CompressedData { uncompressed_size: 10, ..compressed };
    assert_eq!(fresh(&name, &short).whole(compressed.data).unwrap(), &whole[..10]);
}

/// Units parsed from prefixes of the compressed sections are the units
/// gimli parses from the whole sections, and the sections are inflated no
/// further than the units need.
#[test]
fn units_parse_from_prefixes() {
    for path in compressed_files() {
        let store = FileStore::new();
        let elf = ElfObject::open(&store, &path, &path).unwrap();
        let bytes = |name| elf.section_bytes(name).unwrap().unwrap_or(SectionBytes::EMPTY);
        let endian = gimli::RunTimeEndian::Little;
        let section = |name| crate::unwind::cfi::Slice::new(elf.section(name).unwrap_or(&[]), endian);
        let base = gimli::Dwarf::load(|id| -> Result<_, ()> {
            let units = [gimli::SectionId::DebugInfo, gimli::SectionId::DebugAbbrev, gimli::SectionId::DebugLine];
            Ok(if units.contains(&id) { crate::unwind::cfi::Slice::new(&[], endian) } else { section(id.name()) })
        })
        .unwrap();
        let sections = UnitSections::new(bytes(".debug_info"), bytes(".debug_abbrev"), bytes(".debug_line"));
        // The whole sections, inflated apart from `sections`.
        let apart = FileStore::new();
        let whole = ElfObject::open(&apart, &path, &path).unwrap();
        let reference = gimli::Dwarf::load(|id| -> Result<_, ()> {
            Ok(crate::unwind::cfi::Slice::new(whole.section(id.name()).unwrap_or(&[]), endian))
        })
        .unwrap();
        let headers: Vec<_> = {
            let mut iter = reference.units();
            std::iter::from_fn(|| iter.next().unwrap()).collect()
        };
        let SectionBytes::Inflating { inflation: info, .. } = bytes(".debug_info") else { panic!("compressed") };
        // The first unit, then a few spread over the section, in order.
        for header in headers.iter().step_by(headers.len() / 5 + 1) {
            let offset = header.debug_info_offset().unwrap();
            let unit = sections.unit(&base, offset).unwrap();
            let expected = reference.unit(*header).unwrap();
            let end = offset.0 + header.length_including_self();
            assert!(info.done() >= end && info.done() <= (end + 2 * STEP).max(STEP * 2), "{}", info.done());
            assert_eq!(unit.name.map(|n| n.slice()), expected.name.map(|n| n.slice()));
            assert_eq!(unit.abbreviations.get(1).map(|a| a.tag()), expected.abbreviations.get(1).map(|a| a.tag()));
            let rows = |u: &gimli::Unit<_>| {
                let mut rows = u.line_program.clone().map(|p| p.rows());
                std::iter::from_fn(|| rows.as_mut()?.next_row().unwrap().map(|(_, r)| r.address())).collect::<Vec<_>>()
            };
            assert_eq!(rows(&unit), rows(&expected), "unit at {:#x} of {}", offset.0, path.display());
        }
    }
}
