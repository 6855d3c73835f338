//! Writing a snapshot safely and reading it back; the identity stamps
//! (uuid, timestamp) a snapshot carries.
//!
//! A snapshot holds the target's memory (variables, strings, registers), so
//! its file is a [`TempFile`]: mode 0600, and named only once it is whole
//! and synced, so that a reader never sees half a snapshot.
//!
//! Destinations that are not regular files:
//! - a character device, FIFO or socket (`/dev/null`, a pipe) is a stream
//!   to write into, not a file to replace;
//! - a symbolic link is followed only to such a stream (`/dev/stdout` on a
//!   pipe or terminal). A link to anything else is refused: writing through
//!   it would write a file elsewhere, and renaming over it would replace the
//!   link itself (`/dev/stdout`, when the output is redirected to a file);
//! - a directory or a block device is refused.
//!
//! Every write, flush and sync error is returned (`/dev/full` fails), and
//! SIGXFSZ is ignored while writing, so that exceeding `RLIMIT_FSIZE` is the
//! error EFBIG rather than a silent death.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::fcntl::{AT_FDCWD, OFlag, openat};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};

use crate::hex;
use crate::private_file::{TempFile, random_bytes};

use super::encoding::{self, Tables};
use super::json_out::JsonOut;
use super::model::Snapshot;

/// Why a destination is not written.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("it is a directory")]
    Directory,
    #[error("it is a block device")]
    BlockDevice,
    #[error("it is a symbolic link, followed only to a character device, FIFO or socket")]
    Symlink,
    #[error("it was replaced by something else while being opened")]
    Changed,
    #[error("it has no file name")]
    NoFileName,
}

impl From<Refused> for io::Error {
    fn from(r: Refused) -> Self {
        let kind = match r {
            Refused::Directory => io::ErrorKind::IsADirectory,
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, r)
    }
}

/// Writes `snapshot` to `path`: atomically replacing a regular file (or
/// creating one), or into a stream (see the module's documentation).
pub fn write_atomic(snapshot: &Snapshot, path: &Path) -> io::Result<()> {
    let _sigxfsz = SigxfszIgnored::new()?;
    match destination(path)? {
        Destination::File => replace(snapshot, path),
        Destination::Stream { follow } => write_stream(snapshot, path, follow),
    }
}

enum Destination {
    /// A regular file, or nothing yet.
    File,
    /// A character device, FIFO or socket; `follow`: reached through a symlink.
    Stream { follow: bool },
}

fn destination(path: &Path) -> io::Result<Destination> {
    let kind = match fs::symlink_metadata(path) {
        Ok(meta) => meta.file_type(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Destination::File),
        Err(e) => return Err(e),
    };
    if kind.is_symlink() {
        return match fs::metadata(path) {
            Ok(meta) if is_stream(meta.file_type()) => Ok(Destination::Stream { follow: true }),
            _ => Err(Refused::Symlink.into()),
        };
    }
    if kind.is_file() {
        Ok(Destination::File)
    } else if is_stream(kind) {
        Ok(Destination::Stream { follow: false })
    } else if kind.is_dir() {
        Err(Refused::Directory.into())
    } else {
        Err(Refused::BlockDevice.into())
    }
}

fn is_stream(kind: fs::FileType) -> bool {
    kind.is_char_device() || kind.is_fifo() || kind.is_socket()
}

/// Writes into an existing stream: no creation, no truncation, no sync (a
/// device cannot be synced), and no following of a symlink put there since
/// `destination` looked, unless it was one already.
fn write_stream(snapshot: &Snapshot, path: &Path, follow: bool) -> io::Result<()> {
    let mut flags = OFlag::O_WRONLY | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let file = File::from(openat(AT_FDCWD, path, flags, Mode::empty())?);
    if !is_stream(file.metadata()?.file_type()) {
        return Err(Refused::Changed.into());
    }
    write_json(snapshot, &file)
}

/// Writes the snapshot into a new 0600 file in the destination's directory
/// and, once it is synced, gives it the destination's name.
fn replace(snapshot: &Snapshot, path: &Path) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or(Refused::NoFileName)?;
    let dir = openat(AT_FDCWD, dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())?;
    let temp = TempFile::create(&dir)?;
    write_json(snapshot, temp.writing_back())?;
    temp.file.sync_all()?;
    temp.persist(name)
}

/// The snapshot as one line of JSON in the compact encoding of
/// [`encoding`], every error returned. A snapshot of many threads, or a
/// thread of many frames, is written on two CPUs ([`encoding::write_threads`]).
fn write_json(snapshot: &Snapshot, file: impl Write) -> io::Result<()> {
    let mut out = JsonOut::new(file);
    let tables = Arc::new(Tables::of(snapshot));
    tables.scope(|tables| encoding::splicing(|| encoded(snapshot, tables).serialize(&mut out)))?;
    let mut file = out.finish()?;
    file.write_all(b"\n")?;
    file.flush()
}

/// A snapshot in the compact form, with its tables.
#[derive(Serialize)]
struct Encoded<'s, O: Serialize> {
    #[serde(flatten)]
    snapshot: &'s Snapshot,
    types: &'s [encoding::TypeEntry],
    objects: O,
}

fn encoded<'s>(snapshot: &'s Snapshot, tables: &'s Tables) -> Encoded<'s, impl Serialize + 's> {
    Encoded { snapshot, types: tables.types(), objects: tables.objects() }
}

/// The snapshot's JSON as its file holds it, for tests that read it back.
#[cfg(test)]
pub(crate) fn to_text(snapshot: &Snapshot) -> String {
    let mut text = Vec::new();
    write_json(snapshot, &mut text).expect("writing into memory");
    String::from_utf8(text).expect("JSON is UTF-8")
}

/// SIGXFSZ ignored while it lives (the previous action restored after), so
/// that a write past `RLIMIT_FSIZE` fails with EFBIG instead of killing
/// ptsnap without a word. Restoring keeps the disposition programs started
/// later inherit.
struct SigxfszIgnored(SigAction);

impl SigxfszIgnored {
    fn new() -> io::Result<Self> {
        let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: installs no handler function.
        let previous = unsafe { sigaction(Signal::SIGXFSZ, &ignore) }?;
        Ok(SigxfszIgnored(previous))
    }
}

impl Drop for SigxfszIgnored {
    fn drop(&mut self) {
        // SAFETY: the action that was installed before.
        let _ = unsafe { sigaction(Signal::SIGXFSZ, &self.0) };
    }
}

/// Reads a snapshot nesting up to [`MAX_NESTING`] levels: serde_json's
/// recursion limit (128) is lifted, and the stack grows on the heap as
/// deep values need.
pub fn read(path: &Path) -> io::Result<Snapshot> {
    let text = fs::read_to_string(path)?;
    parse(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Parses a snapshot of any version and resolves version 2's references.
pub fn parse(text: &str) -> Result<Snapshot, ReadError> {
    let mut snapshot: Snapshot = from_json(text)?;
    encoding::resolve(&mut snapshot)?;
    Ok(snapshot)
}

/// How deep objects and arrays may nest in a snapshot's text. ptsnap
/// writes a few dozen levels (its value walks stop at 32 levels, and so
/// do the variables modules make); far deeper text (a made-up file) would
/// be read, but the tree it makes takes a stack frame a level to free:
/// a hundred thousand levels overflow the main thread's stack, and a few
/// thousand a thread's 2 MiB in a debug build.
pub const MAX_NESTING: usize = 4_000;

/// Deserializes the whole of `text` as every reader of snapshots does: up
/// to [`MAX_NESTING`] levels deep (deeper is an error, found before
/// anything is built), the stack growing on the heap as deep values need.
pub(super) fn from_json<'t, T: Deserialize<'t>>(text: &'t str) -> serde_json::Result<T> {
    if nests_deeper(text, MAX_NESTING) {
        let why =
            format!("it nests objects and arrays more than {MAX_NESTING} levels deep, far past what ptsnap writes");
        return Err(serde::de::Error::custom(why));
    }
    from_checked_json(text)
}

/// As [`from_json`], for a part of a text `from_json` has read already
/// (a list the viewer left as text): its nesting is known to be within
/// the limit.
pub(super) fn from_checked_json<'t, T: Deserialize<'t>>(text: &'t str) -> serde_json::Result<T> {
    let mut json = serde_json::Deserializer::from_str(text);
    json.disable_recursion_limit();
    let value = T::deserialize(serde_stacker::Deserializer::new(&mut json))?;
    json.end()?;
    Ok(value)
}

/// Whether objects and arrays in the JSON `text` nest more than `limit`
/// levels deep; brackets inside strings do not count, and strings (most
/// of a snapshot) are skipped to their end at once. (Malformed text is
/// left to the parser.)
fn nests_deeper(text: &str, limit: usize) -> bool {
    let bytes = text.as_bytes();
    let (mut depth, mut at) = (0usize, 0);
    while let Some(&b) = bytes.get(at) {
        at += 1;
        match b {
            b'"' => loop {
                // To the closing quote, past escaped characters.
                let rest = bytes.get(at..).unwrap_or_default();
                let Some(next) = memchr::memchr2(b'"', b'\\', rest) else { return false };
                at += next + 1;
                if bytes[at - 1] == b'"' {
                    break;
                }
                at += 1;
            },
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Why a snapshot's text cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Reference(#[from] encoding::BadReference),
}

/// A random (version 4) UUID.
pub fn new_uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::bytes(&b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Seconds since the epoch as an RFC 3339 UTC timestamp.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory for one test.
    fn test_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ptsnap-writer-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        dir
    }

    /// How many pointer targets down from `v` the chain ends, and the name
    /// of the variable there.
    fn chain_end(mut v: &crate::snapshot::Variable) -> (usize, &str) {
        let mut depth = 0;
        while let Some(t) = &v.target {
            v = t;
            depth += 1;
        }
        (depth, v.name.as_str())
    }

    /// Far deeper than serde_json's limit of 128 and than a test thread's
    /// 2 MiB stack holds without growing it.
    #[test]
    fn reads_any_depth() {
        const DEPTH: usize = 3000;
        let variable =
            format!("{}{{\"name\":\"bottom\"}}{}", r#"{"name":"p","target":"#.repeat(DEPTH), "}".repeat(DEPTH));
        let text = format!(r#"{{"format":"ptsnap-snapshot","globals":[{variable}]}}"#);
        let snap = parse(&text).unwrap();
        assert_eq!(chain_end(&snap.globals[0]), (DEPTH, "bottom"));
        assert!(parse(&(text + "x")).is_err(), "trailing characters");
    }

    /// Text nesting past MAX_NESTING is refused before it is parsed (a
    /// file of a million levels would otherwise overflow the stack as its
    /// tree is freed); brackets in strings do not count.
    #[test]
    fn text_nesting_too_deep_is_an_error() {
        let chain = |depth: usize| {
            let variable =
                format!("{}{{\"name\":\"[[[{{\"}}{}", r#"{"name":"p","target":"#.repeat(depth), "}".repeat(depth));
            format!(r#"{{"format":"ptsnap-snapshot","globals":[{variable}]}}"#)
        };
        let error = parse(&chain(1_000_000)).unwrap_err().to_string();
        assert!(error.contains("more than 4000 levels deep"), "{error}");
        // Two levels are the snapshot's object and the globals' array.
        assert_eq!(chain_end(&parse(&chain(MAX_NESTING - 3)).unwrap().globals[0]), (MAX_NESTING - 3, "[[[{"));
        assert!(parse(&chain(MAX_NESTING - 2)).is_err());
        // Cut text (a string ending in a backslash) is the parser's to refuse.
        assert!(!nests_deeper(r#"{"a":"[\"#, 1) && !nests_deeper(r#"{"a":"\"[""#, 1));
        assert!(nests_deeper(r#"{"a":"\\",[1]}"#, 1), "an escaped backslash ends no string");
    }

    /// A chain of pointer targets as deep as the one read above is
    /// written too, from a thread whose stack would hold a tenth of it:
    /// the stack grows as the writer goes down.
    #[test]
    fn writes_any_depth() {
        use crate::snapshot::Variable;
        const DEPTH: usize = 3000;
        let mut variable = Variable { name: "bottom".into(), ..Variable::default() };
        for _ in 0..DEPTH {
            variable = Variable { name: "p".into(), target: Some(Arc::new(variable)), ..Variable::default() };
        }
        let snap = Snapshot { globals: vec![variable], ..Snapshot::default() };
        let small_stack = std::thread::Builder::new().stack_size(256 << 10);
        let text = std::thread::scope(|s| small_stack.spawn_scoped(s, || to_text(&snap)).unwrap().join().unwrap());
        let back = parse(&text).unwrap();
        assert_eq!(chain_end(&back.globals[0]), (DEPTH, "bottom"));
    }

    /// A snapshot of enough threads, and a thread of enough frames, to be
    /// written on two CPUs reads back as written, threads and frames in
    /// order, their shared target shared; the other CPU's part of the
    /// long thread comes in several parts.
    #[test]
    fn long_lists_are_written_in_order() {
        use crate::snapshot::encoding::{FRAMES_APART_FROM, PART_BYTES, THREADS_APART_FROM};
        use crate::snapshot::{Frame, Kind, Thread, Value, Variable};
        let shared = std::sync::Arc::new(Variable {
            name: "*p".into(),
            type_name: "int".into(),
            kind: Kind::Ll,
            value: Value::Int(7),
            ..Variable::default()
        });
        let frame = |index: usize| {
            let p = Variable {
                name: "p".into(),
                type_name: "int *".into(),
                kind: Kind::Reference,
                target: Some(shared.clone()),
                ..Variable::default()
            };
            Frame { index, parameters: vec![p], ..Frame::default() }
        };
        let mut threads: Vec<Thread> = (0..(THREADS_APART_FROM as i32 * 2 + 1))
            .map(|tid| Thread { tid, frames: vec![frame(0)], ..Thread::default() })
            .collect();
        threads[1].frames = (0..FRAMES_APART_FROM * 16 + 1).map(frame).collect();
        let snap = Snapshot { threads, ..Snapshot::default() };
        let dir = test_dir("long-lists");
        let path = dir.join("s.json");
        write_atomic(&snap, &path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("\"*p\"").count(), 1, "the shared target is written once");
        assert!(text.len() > 4 * PART_BYTES, "the long thread's later 60% is parts: {} bytes", text.len());
        // The text the other CPU wrote went in where serde_json, writing
        // it all on one, would have put it.
        let tables = Arc::new(Tables::of(&snap));
        let one_cpu = tables.scope(|tables| serde_json::to_string(&encoded(&snap, tables)).unwrap());
        assert!(text == one_cpu + "\n", "the file differs from serde_json's text");
        let back = read(&path).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&snap).unwrap());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn uuid_shape() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
