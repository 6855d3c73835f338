//! The source pane's files: a frame's `file` found on this machine and
//! read once. A file is looked for as recorded (an absolute path, or
//! relative to the process's working directory), then below each
//! `--source-path` directory by its path, then there by its base name.
//!
//! The file names come from the snapshot, so from the target: only
//! regular files are opened (a FIFO or a device named there would block
//! or never end), at most [`MAX_BYTES`] of one, and a file that cannot be
//! read is a note for the pane, never an error of the viewer.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// The largest source file read.
pub const MAX_BYTES: u64 = 4 << 20;

/// Columns between tab stops when a tab is expanded.
const TAB: usize = 8;

/// A source file read, or why it could not be.
#[derive(Debug)]
pub enum Source {
    Read { path: PathBuf, lines: Vec<String> },
    Unreadable(String),
}

/// Where source files are looked for, and those already read.
#[derive(Debug, Default)]
pub struct Sources {
    cwd: Option<PathBuf>,
    roots: Vec<PathBuf>,
    read: HashMap<String, Source>,
}

impl Sources {
    /// `cwd`: the process's working directory; `roots`: `--source-path`.
    pub fn new(cwd: Option<PathBuf>, roots: Vec<PathBuf>) -> Self {
        Sources { cwd, roots, read: HashMap::new() }
    }

    /// The file a frame names, read on first use.
    pub fn get(&mut self, file: &str) -> &Source {
        if !self.read.contains_key(file) {
            let source = self.load(file);
            self.read.insert(file.to_string(), source);
        }
        &self.read[file]
    }

    fn load(&self, file: &str) -> Source {
        let recorded = Path::new(file);
        let as_recorded = match (recorded.is_absolute(), &self.cwd) {
            (true, _) => Some(recorded.to_path_buf()),
            (false, Some(cwd)) => Some(cwd.join(recorded)),
            (false, None) => None,
        };
        // The recorded path below a root: without its root, `..` or `.`.
        let below: PathBuf = recorded.components().filter(|c| matches!(c, Component::Normal(_))).collect();
        let candidates = as_recorded.into_iter().chain(self.roots.iter().flat_map(|root| {
            let by_name = recorded.file_name().map(|name| root.join(name));
            std::iter::once(root.join(&below)).chain(by_name)
        }));
        let mut first_error = None;
        for path in candidates {
            match read_lines(&path) {
                Ok(lines) => return Source::Read { path, lines },
                Err(e) => {
                    first_error.get_or_insert(format!("{}: {e}", path.display()));
                }
            }
        }
        let why = first_error.unwrap_or_else(|| "a relative path, and the process's directory is unknown".into());
        Source::Unreadable(format!("{file} cannot be read ({why}); --source-path DIR looks in DIR"))
    }
}

/// A regular file's lines, tabs expanded; other files and files larger
/// than [`MAX_BYTES`] are refused.
fn read_lines(path: &Path) -> Result<Vec<String>, String> {
    // Opening a FIFO waits for a writer unless O_NONBLOCK; what was opened
    // is then checked, not the path, which may have changed meanwhile.
    let file = File::options().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_BYTES {
        return Err(format!("larger than {} MiB", MAX_BYTES >> 20));
    }
    let mut bytes = Vec::new();
    // Bounded again: the file may have grown since.
    file.take(MAX_BYTES).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).lines().map(expand_tabs).collect())
}

fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if c == '\t' {
            let pad = TAB - out.chars().count() % TAB;
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    #[test]
    fn a_file_is_found_as_recorded_below_a_root_or_by_name() {
        let crash = fixtures().join("crash.c");
        let mut sources = Sources::new(None, Vec::new());
        assert!(matches!(sources.get(crash.to_str().unwrap()), Source::Read { .. }));
        let mut sources = Sources::new(Some(fixtures()), Vec::new());
        assert!(matches!(sources.get("crash.c"), Source::Read { .. }));

        let root = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
        let mut sources = Sources::new(None, vec![root]);
        let Source::Read { path, lines } = sources.get("/tests/fixtures/crash.c") else {
            panic!("not found below the root")
        };
        assert_eq!(path, &fixtures().join("crash.c"));
        assert!(!lines.is_empty());
        let mut sources = Sources::new(None, vec![fixtures()]);
        assert!(matches!(sources.get("/build/x/crash.c"), Source::Read { .. }), "by its base name");
    }

    #[test]
    fn a_missing_file_or_a_device_is_a_note() {
        let mut sources = Sources::new(None, vec![fixtures()]);
        let Source::Unreadable(note) = sources.get("/nowhere/no-such-file.c") else { panic!("found") };
        assert!(
            note.starts_with("/nowhere/no-such-file.c cannot be read (/nowhere/no-such-file.c: No such file"),
            "{note}"
        );
        let Source::Unreadable(note) = sources.get("/dev/zero") else { panic!("read a device") };
        assert!(note.contains("not a regular file"), "{note}");
        // A FIFO without a writer: refused, not waited on.
        let fifo = std::env::temp_dir().join(format!("ptsnap-source-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let refused =
            matches!(sources.get(fifo.to_str().unwrap()), Source::Unreadable(n) if n.contains("not a regular file"));
        std::fs::remove_file(&fifo).unwrap();
        assert!(refused);
    }

    #[test]
    fn tabs_expand_to_stops_of_eight() {
        assert_eq!(expand_tabs("\tx\ty"), "        x       y");
    }
}
