//! Which module files to load: `--module-load FILE`s, every `*.lua` and
//! `*.so` (C module) under
//! each `--modules-path DIR` (recursively), then, unless
//! `--no-default-modules`, the modules bundled in the binary (the
//! repository's `pmodules/` directory) and the default paths (per-user,
//! system-wide, and beside an installed binary).

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// The bytecode build.rs made of a bundled module.
macro_rules! bundled {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, "c"))
    };
}

/// The modules of the repository's `pmodules/` directory, built into the
/// binary as Lua bytecode (by build.rs): (name, bytecode).
pub const BUNDLED: &[(&str, &[u8])] = &[
    ("fault_summary.lua", bundled!("fault_summary.lua")),
    ("fault_class.lua", bundled!("fault_class.lua")),
    ("deadlock.lua", bundled!("deadlock.lua")),
    ("abort_message.lua", bundled!("abort_message.lua")),
    ("hang_summary.lua", bundled!("hang_summary.lua")),
    ("rust_panic.lua", bundled!("rust_panic.lua")),
];

/// The default module directories, in the order they are searched.
pub fn default_paths() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(config) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(config).join("ptsnap/modules"));
    } else if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(home).join(".config/ptsnap/modules"));
    }
    out.push(PathBuf::from("/etc/ptsnap/modules"));
    // Installed beside the binary (`<prefix>/bin/ptsnap` ->
    // `<prefix>/share/ptsnap/pmodules`).
    if let Ok(exe) = std::env::current_exe()
        && let Some(prefix) = exe.parent().and_then(Path::parent)
    {
        out.push(prefix.join("share/ptsnap/pmodules"));
    }
    out
}

/// The module files to load, each once, in a stable order: explicit files
/// first, then each directory's files sorted by path.
pub fn module_files(files: &[PathBuf], dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut push = |p: PathBuf| {
        let canonical = p.canonicalize().unwrap_or_else(|_| p.clone());
        if !out.iter().any(|o| o.canonicalize().unwrap_or_else(|_| o.clone()) == canonical) {
            out.push(p);
        }
    };
    for f in files {
        push(f.clone());
    }
    for dir in dirs {
        // Every `*.lua` and `*.so` entry but directories, those that
        // cannot be read (a dangling link, a FIFO) too: each is a report
        // entry of its own.
        let mut found: Vec<PathBuf> = WalkDir::new(dir)
            .follow_links(true)
            .into_iter()
            .filter_map(|e| match e {
                Ok(e) => (!e.file_type().is_dir()).then(|| e.into_path()),
                Err(e) => e.path().map(Path::to_path_buf),
            })
            .filter(|p| p.extension().is_some_and(|x| x == "lua" || x == "so"))
            .collect();
        found.sort();
        for f in found {
            push(f);
        }
    }
    out
}

/// A module file's text, or why it cannot be loaded. It is read as bytes
/// (Lua does not need UTF-8; Lua itself reports what it cannot parse);
/// anything but a regular file is refused before it is opened, so a FIFO
/// cannot block the load.
pub fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    check_file(path)?;
    std::fs::read(path).map_err(unreadable)
}

/// Whether `path` is a regular file (a C module is opened by the dynamic
/// loader, which would block on a FIFO too).
pub fn check_file(path: &Path) -> Result<(), String> {
    if !std::fs::metadata(path).map_err(unreadable)?.is_file() {
        return Err("cannot read the module: not a regular file".into());
    }
    Ok(())
}

fn unreadable(e: std::io::Error) -> String {
    format!("cannot read the module: {e}")
}

#[cfg(test)]
mod tests {
    use super::module_files;

    #[test]
    fn finds_lua_files_recursively_once() {
        let dir = std::env::temp_dir().join(format!("ptsnap-discover-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["a.lua", "sub/b.lua", "sub/c.so", "notes.txt"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let files = module_files(&[dir.join("a.lua")], std::slice::from_ref(&dir));
        let names: Vec<String> = files.iter().map(|p| p.strip_prefix(&dir).unwrap().display().to_string()).collect();
        assert_eq!(names, ["a.lua", "sub/b.lua", "sub/c.so"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
