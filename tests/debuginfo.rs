//! Where symbols and unwind information come from: separate debug files
//! found by build id and by debuglink, DWARF 4 and 5, compressed debug
//! sections (zlib, zstd), .debug_frame-only CFI, symbol tables without
//! DWARF, frame pointers without CFI, and corrupt debug files.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use object::{Object, ObjectSection};
use serde_json::Value;

/// The expected crash.c frames for `crash 3`, from recurse to main.
fn crash_frames() -> Vec<(String, String, u64)> {
    let call = ("recurse".to_string(), "crash.c".to_string(), line_of("crash.c", "recurse_call"));
    let mut v = vec![("recurse".to_string(), "crash.c".to_string(), line_of("crash.c", "crash_write"))];
    v.extend(vec![call; 3]);
    v.push(("main".into(), "crash.c".into(), line_of("crash.c", "main_call")));
    v
}

fn crash_snapshot(bin: &Path, name: &str, extra: &[&str]) -> Value {
    let (snap, code, stderr) = run_crash(bin, &["3"], name, extra);
    assert_eq!(code, 139, "{stderr}");
    snap.unwrap()
}

fn fault_thread(snap: &Value) -> &Value {
    thread(snap, snap["fault"]["tid"].as_i64().unwrap())
}

fn module<'a>(snap: &'a Value, name: &str) -> &'a Value {
    snap["modules"].as_array().unwrap().iter().find(|m| m["path"].as_str().unwrap().ends_with(name)).unwrap()
}

fn build_id(bin: &Path) -> String {
    build_id_of(&std::fs::read(bin).unwrap())
}

fn section_compression(bin: &Path, name: &str) -> object::CompressionFormat {
    let data = std::fs::read(bin).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.section_by_name(name).unwrap().compressed_file_range().unwrap().format
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = work_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn stripped_binary_with_debug_file_by_build_id() {
    let _serial = serial();
    let dir = fresh_dir("by-build-id");
    let bin = build("crash.c", "by-build-id/crash-stripped", &["-g", "-O0", "-Wl,--build-id"]);
    let debug = dir.join("crash.debug");
    tool("objcopy", &["--only-keep-debug", bin.to_str().unwrap(), debug.to_str().unwrap()]);
    tool("strip", &["--strip-all", bin.to_str().unwrap()]);
    let id = build_id(&bin);
    let debug_dir = dir.join("debug");
    let target = debug_dir.join(".build-id").join(&id[..2]).join(format!("{}.debug", &id[2..]));
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::rename(&debug, &target).unwrap();

    // Without the debug directory: no DWARF, no symbol table.
    let snap = crash_snapshot(&bin, "stripped-nodebug", &[]);
    let m = module(&snap, "crash-stripped");
    assert_eq!(m["symbols"], "dynsym", "only the dynamic symbols stay (imports)");
    assert_eq!(m["build_id"], id.as_str());
    assert!(fault_thread(&snap)["frames"][0]["function"].is_null());
    assert!(fault_thread(&snap)["frames"][0]["module_offset"].is_string(), "module and offset always");

    let snap = crash_snapshot(&bin, "stripped-buildid", &["--debug-dir", debug_dir.to_str().unwrap()]);
    let m = module(&snap, "crash-stripped");
    assert_eq!(m["debug_file"], target.to_str().unwrap());
    assert_eq!(m["debug_file_source"], "build-id");
    assert!(m["symbols"].as_str().unwrap().contains("dwarf"));
    assert_eq!(frames(fault_thread(&snap))[..5], crash_frames()[..]);
}

#[test]
fn stripped_binary_with_debug_file_by_debuglink() {
    let _serial = serial();
    let dir = fresh_dir("by-debuglink");
    let bin = build("crash.c", "by-debuglink/crash-linked", &["-g", "-O0", "-Wl,--build-id=none"]);
    let debug = dir.join("crash-linked.debug");
    tool("objcopy", &["--only-keep-debug", bin.to_str().unwrap(), debug.to_str().unwrap()]);
    tool("strip", &["--strip-all", bin.to_str().unwrap()]);
    // objcopy records the debug file's name and CRC; it must be run where
    // the debug file is.
    let status = std::process::Command::new("objcopy")
        .current_dir(&dir)
        .args(["--add-gnu-debuglink=crash-linked.debug", "crash-linked"])
        .status()
        .unwrap();
    assert!(status.success());

    let snap = crash_snapshot(&bin, "debuglink", &[]);
    let m = module(&snap, "crash-linked");
    assert!(m["build_id"].is_null());
    assert_eq!(m["debug_file"], debug.to_str().unwrap());
    assert_eq!(m["debug_file_source"], "debuglink");
    assert_eq!(frames(fault_thread(&snap))[..5], crash_frames()[..]);

    // In .debug/ beside the binary too.
    std::fs::create_dir_all(dir.join(".debug")).unwrap();
    std::fs::rename(&debug, dir.join(".debug/crash-linked.debug")).unwrap();
    let snap = crash_snapshot(&bin, "debuglink-dotdebug", &[]);
    assert_eq!(frames(fault_thread(&snap))[..5], crash_frames()[..]);

    // A debug file whose CRC does not match is not used.
    let mut bytes = std::fs::read(dir.join(".debug/crash-linked.debug")).unwrap();
    bytes.push(0);
    std::fs::write(dir.join(".debug/crash-linked.debug"), bytes).unwrap();
    let snap = crash_snapshot(&bin, "debuglink-badcrc", &[]);
    assert!(module(&snap, "crash-linked")["debug_file"].is_null());
    assert!(fault_thread(&snap)["frames"][0]["file"].is_null());
}

#[test]
fn dwarf_versions_4_and_5() {
    let _serial = serial();
    for (version, opt) in [("4", "-O0"), ("5", "-O0"), ("4", "-O2"), ("5", "-O2")] {
        let name = format!("crash-dwarf{version}{opt}");
        let bin = build("crash.c", &name, &[&format!("-gdwarf-{version}"), opt]);
        let snap = crash_snapshot(&bin, &name, &[]);
        assert_eq!(frames(fault_thread(&snap))[..5], crash_frames()[..], "DWARF {version} {opt}");
    }
}

#[test]
fn compressed_debug_sections() {
    let _serial = serial();
    let zlib = build("crash.c", "crash-zlib", &["-g", "-O0", "-gz=zlib"]);
    assert_eq!(section_compression(&zlib, ".debug_info"), object::CompressionFormat::Zlib);
    let snap = crash_snapshot(&zlib, "zlib", &[]);
    assert_eq!(frames(fault_thread(&snap))[..5], crash_frames()[..]);

    let plain = build("crash.c", "crash-zstd-src", &["-g", "-O0"]);
    let zstd = work_dir().join("crash-zstd");
    let ok = std::process::Command::new("objcopy")
        .args(["--compress-debug-sections=zstd", plain.to_str().unwrap(), zstd.to_str().unwrap()])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("objcopy cannot write zstd sections here; zstd case skipped");
        return;
    }
    assert_eq!(section_compression(&zstd, ".debug_info"), object::CompressionFormat::Zstandard);
    let snap = crash_snapshot(&zstd, "zstd", &[]);
    assert_eq!(frames(fault_thread(&snap))[..5], crash_frames()[..]);
}

#[test]
fn debug_frame_only() {
    let _serial = serial();
    let bin =
        build("crash.c", "crash-debugframe", &["-g", "-O2", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"]);
    // recurse is described only in .debug_frame.
    let data = std::fs::read(&bin).unwrap();
    let file = object::File::parse(&*data).unwrap();
    assert!(file.section_by_name(".debug_frame").is_some());
    let snap = crash_snapshot(&bin, "debugframe", &[]);
    let t = fault_thread(&snap);
    assert_eq!(frames(t)[..5], crash_frames()[..]);
    assert!(t["frames"].as_array().unwrap()[1..5].iter().all(|f| f["unwind"] == "cfi"));
}

#[test]
fn symbol_table_without_dwarf() {
    let _serial = serial();
    let bin = build("crash.c", "crash-nodwarf", &["-O0"]);
    let snap = crash_snapshot(&bin, "nodwarf", &[]);
    assert_eq!(module(&snap, "crash-nodwarf")["symbols"], "symtab,dynsym");
    let t = fault_thread(&snap);
    let f = t["frames"].as_array().unwrap();
    let names: Vec<&str> = f[..5].iter().map(|f| f["function"].as_str().unwrap()).collect();
    assert_eq!(names, ["recurse", "recurse", "recurse", "recurse", "main"]);
    assert!(f[0]["file"].is_null() && f[0]["line"].is_null());
    assert!(f[0]["function_offset"].as_u64().unwrap() > 0);
}

#[test]
fn frame_pointers_without_cfi() {
    let _serial = serial();
    let bin = build(
        "crash.c",
        "crash-fp",
        &["-O0", "-fno-omit-frame-pointer", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"],
    );
    let snap = crash_snapshot(&bin, "fp", &[]);
    let f = fault_thread(&snap)["frames"].as_array().unwrap().clone();
    let names: Vec<&str> = f[..5].iter().map(|f| f["function"].as_str().unwrap()).collect();
    assert_eq!(names, ["recurse", "recurse", "recurse", "recurse", "main"]);
    assert!(f[1..5].iter().all(|f| f["unwind"] == "frame-pointer"), "{f:?}");
}

#[test]
fn corrupt_debug_file_is_ignored() {
    let _serial = serial();
    let dir = fresh_dir("corrupt");
    let bin = build("crash.c", "corrupt/crash-corrupt", &["-g", "-O0", "-Wl,--build-id"]);
    tool("strip", &["--strip-debug", bin.to_str().unwrap()]);
    let id = build_id(&bin);
    let target = dir.join("debug/.build-id").join(&id[..2]).join(format!("{}.debug", &id[2..]));
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, b"\x7fELF this is not really an ELF file").unwrap();
    let snap = crash_snapshot(&bin, "corrupt", &["--debug-dir", dir.join("debug").to_str().unwrap()]);
    let f = &fault_thread(&snap)["frames"][0];
    assert_eq!(f["function"], "recurse", "symbols still come from the binary's table");
    assert!(f["file"].is_null());
}

/// Garbage inside DWARF sections of a valid ELF file: no panic, the
/// snapshot is written, frames keep at least their symbol names.
#[test]
fn corrupt_dwarf_never_panics() {
    let _serial = serial();
    let bin = build("crash.c", "crash-dwarf-src", &["-g", "-O0"]);
    let data = std::fs::read(&bin).unwrap();
    let ranges: Vec<(usize, usize)> = {
        let file = object::File::parse(&*data).unwrap();
        [".debug_info", ".debug_abbrev", ".debug_line", ".debug_aranges", ".debug_str", ".debug_rnglists"]
            .iter()
            .filter_map(|n| file.section_by_name(n)?.file_range())
            .map(|(o, s)| (o as usize, s as usize))
            .collect()
    };
    assert!(ranges.len() >= 4);
    for seed in 1..=12u64 {
        let mut bytes = data.clone();
        // A small deterministic generator: every section gets a few runs of
        // overwritten bytes, or (odd seeds) is wholly scrambled.
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for &(off, size) in &ranges {
            if seed % 2 == 1 {
                for b in &mut bytes[off..off + size] {
                    *b = next() as u8;
                }
            } else {
                for _ in 0..8 {
                    let at = off + (next() as usize % size);
                    bytes[at] = next() as u8;
                }
            }
        }
        let path = work_dir().join(format!("crash-corrupt-dwarf-{seed}"));
        std::fs::write(&path, &bytes).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (snap, code, stderr) = run_crash(&path, &["3"], &format!("corrupt-dwarf-{seed}"), &[]);
        assert_eq!(code, 139, "seed {seed}: {stderr}");
        assert!(!stderr.contains("internal error") && !stderr.contains("panicked"), "seed {seed}: {stderr}");
        let snap = snap.unwrap_or_else(|| panic!("seed {seed}: no snapshot; {stderr}"));
        let f = &fault_thread(&snap)["frames"][0];
        assert!(f["module"].is_string(), "seed {seed}: {f}");
        assert!(f["function"].is_string(), "seed {seed}: the symbol table still names the frame: {f}");
    }
}

/// dwz moves DIEs and strings shared by several files into a common file
/// named by `.gnu_debugaltlink`: names of inline functions come from it.
#[test]
fn dwz_supplementary_file() {
    if !tool_available("dwz") {
        eprintln!("dwz not installed; skipping");
        return;
    }
    let _serial = serial();
    let dir = fresh_dir("dwz");
    let first = build("dwz/first.c", "dwz/first", &["-g", "-O2"]);
    let second = build("dwz/second.c", "dwz/second", &["-g", "-O2"]);
    let common = dir.join("common.debug");
    tool(
        "dwz",
        &[
            "-m",
            common.to_str().unwrap(),
            "-M",
            common.to_str().unwrap(),
            first.to_str().unwrap(),
            second.to_str().unwrap(),
        ],
    );
    let data = std::fs::read(&first).unwrap();
    assert!(object::File::parse(&*data).unwrap().gnu_debugaltlink().unwrap().is_some(), "dwz linked the file");
    let expected = [
        ("shared_store".to_string(), "shared.h".to_string(), line_of("dwz/shared.h", "shared_store")),
        ("use_first".into(), "first.c".into(), line_of("dwz/first.c", "first_call")),
        ("main".into(), "first.c".into(), line_of("dwz/first.c", "first_main")),
    ];
    let (snap, code, _) = run_crash(&first, &[], "dwz", &[]);
    assert_eq!(code, 139);
    let snap = snap.unwrap();
    assert_eq!(frames(fault_thread(&snap))[..3], expected[..]);
    assert_eq!(fault_thread(&snap)["frames"][0]["inlined"], true);

    // Moved away from the recorded path: found by build id in a debug dir.
    let id = build_id(&common);
    let by_id = dir.join("debug/.build-id").join(&id[..2]).join(format!("{}.debug", &id[2..]));
    std::fs::create_dir_all(by_id.parent().unwrap()).unwrap();
    std::fs::rename(&common, &by_id).unwrap();
    let (snap, _, _) = run_crash(&first, &[], "dwz-by-id", &["--debug-dir", dir.join("debug").to_str().unwrap()]);
    assert_eq!(frames(fault_thread(&snap.unwrap()))[..3], expected[..]);
}

fn build_id_of(data: &[u8]) -> String {
    let file = object::File::parse(data).unwrap();
    file.build_id().unwrap().unwrap().iter().map(|b| format!("{b:02x}")).collect()
}

/// Without .debug_aranges (clang's default), units are found from their
/// root DIEs.
#[test]
fn without_debug_aranges() {
    let _serial = serial();
    for opt in ["-O0", "-O2"] {
        let bin = build("crash.c", &format!("crash-noaranges{opt}"), &["-g", opt]);
        tool("objcopy", &["--remove-section", ".debug_aranges", bin.to_str().unwrap()]);
        let data = std::fs::read(&bin).unwrap();
        assert!(object::File::parse(&*data).unwrap().section_by_name(".debug_aranges").is_none());
        let snap = crash_snapshot(&bin, &format!("noaranges{opt}"), &[]);
        assert_eq!(frames(fault_thread(&snap))[..5], crash_frames()[..], "{opt}");
    }
}

/// A snapshot taken with `XDG_CACHE_HOME` at `home` and `extra` options.
fn snapshot_with_cache_home(pid: i32, name: &str, home: &Path, extra: &[&str]) -> Value {
    let out = work_dir().join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let o = std::process::Command::new(ptsnap_bin())
        .env("XDG_CACHE_HOME", home)
        .arg("-o")
        .arg(&out)
        .args(extra)
        .arg(pid.to_string())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read_json(&out)
}

/// A thread's frames, and their variables as `name=value`.
type FramesAndValues = (Vec<(String, String, u64)>, Vec<String>);

/// Each thread's frames and variables.
fn frames_and_values(snap: &Value) -> Vec<FramesAndValues> {
    let threads = snap["threads"].as_array().unwrap();
    let values = |t: &Value| -> Vec<String> {
        let frames = t["frames"].as_array().unwrap();
        let vars = frames
            .iter()
            .flat_map(|f| f["parameters"].as_array().unwrap().iter().chain(f["locals"].as_array().unwrap()));
        vars.map(|v| format!("{}={}", v["name"], v["value"])).collect()
    };
    threads.iter().map(|t| (frames(t), values(t))).collect()
}

/// The entries of the section cache under `home` for `bin`'s build id:
/// (section, mode, inode) by entry.
fn cache_entries(home: &Path, bin: &Path) -> Vec<(String, u32, u64)> {
    use std::os::unix::fs::MetadataExt;
    let dir = home.join("ptsnap/sections").join(build_id(bin));
    let Ok(listing) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut entries: Vec<(String, u32, u64)> = listing
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            let name = e.file_name().into_string().unwrap();
            (format!(".{}", name.split('.').next().unwrap()), meta.mode() & 0o7777, meta.ino())
        })
        .collect();
    entries.sort();
    entries
}

/// Sections inflated from a compressed debug file are kept in the cache
/// (mode 0600, their exact inflated bytes), read by the next run instead
/// of inflated again, and give the same snapshot; an entry somebody else
/// could have written is not read but replaced.
#[test]
fn inflated_sections_are_kept_between_runs() {
    use std::os::unix::fs::PermissionsExt;
    let _serial = serial();
    let bin = build("hang.c", "hang-zlib", &["-g", "-O2", "-gz=zlib", "-pthread"]);
    assert_eq!(section_compression(&bin, ".debug_info"), object::CompressionFormat::Zlib);
    let target = start(&bin, &["2"]);
    let home = fresh_dir("section-cache");

    let uncached = snapshot_with_cache_home(target.pid(), "cache-off", &home, &["--no-cache"]);
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0, "--no-cache writes nothing");
    assert!(frames_and_values(&uncached)[0].0.iter().any(|f| f.1 == "hang.c"), "{:?}", frames_and_values(&uncached));

    let cold = snapshot_with_cache_home(target.pid(), "cache-cold", &home, &[]);
    assert_eq!(frames_and_values(&cold), frames_and_values(&uncached));
    let saved = cache_entries(&home, &bin);
    let names: Vec<&str> = saved.iter().map(|e| e.0.as_str()).collect();
    for section in [".debug_abbrev", ".debug_info", ".debug_line"] {
        assert!(names.contains(&section), "{section} not kept: {names:?}");
    }
    let data = std::fs::read(&bin).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let dir = home.join("ptsnap/sections").join(build_id(&bin));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let section = format!(".{}", path.file_name().unwrap().to_str().unwrap().split('.').next().unwrap());
        let inflated = file.section_by_name(&section).unwrap().uncompressed_data().unwrap();
        assert!(std::fs::read(&path).unwrap() == *inflated, "{section}: not its inflated bytes");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o600);
    }
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777, 0o700);

    // A warm run reads the entries (it marks their directory used) and
    // leaves them as they are.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::open(&dir).unwrap().set_modified(past).unwrap();
    let warm = snapshot_with_cache_home(target.pid(), "cache-warm", &home, &[]);
    assert_eq!(frames_and_values(&warm), frames_and_values(&uncached));
    assert_eq!(cache_entries(&home, &bin), saved, "entries rewritten by a run that found them");
    assert!(std::fs::metadata(&dir).unwrap().modified().unwrap() > past, "the entries were not read");

    // Entries others can write are ignored, even full of garbage, and
    // replaced by fresh ones.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        std::fs::write(&path, vec![0xffu8; len]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let distrusted = snapshot_with_cache_home(target.pid(), "cache-distrusted", &home, &[]);
    assert_eq!(frames_and_values(&distrusted), frames_and_values(&uncached));
    let replaced = cache_entries(&home, &bin);
    assert_eq!(
        replaced.iter().map(|e| (&e.0, e.1)).collect::<Vec<_>>(),
        saved.iter().map(|e| (&e.0, 0o600)).collect::<Vec<_>>()
    );
}
