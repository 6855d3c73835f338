//! Writing a snapshot safely, and the identity stamps (uuid, timestamp) a
//! snapshot carries.
//!
//! A snapshot holds the target's memory (keys, passwords), and ptsnap runs
//! as root, often from `core_pattern`. So the file is created 0600 (as the
//! kernel creates core dumps), whatever the umask and whatever mode a file
//! it replaces had; it is written as an unnamed file (`O_TMPFILE`) in the
//! destination's directory, given a fresh random name with `linkat` (which
//! creates a link and never follows one planted there) and renamed over the
//! destination, so a reader never sees half a snapshot and a crash
//! mid-write leaves no temporary file behind. Where the filesystem has no
//! `O_TMPFILE`, the temporary file is created with `O_EXCL|O_NOFOLLOW`.
//! A destination that is a symbolic link is replaced, never written
//! through; one that is a device, FIFO or socket (`-o /dev/null`, a pipe)
//! is written into, never replaced by a regular file. Write errors
//! (`/dev/full`, a full disk, `ulimit -f`, which would otherwise kill
//! ptsnap with SIGXFSZ) are returned, and no temporary file is left.

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, openat, renameat};
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::sys::stat::{Mode, fchmod};
use nix::unistd::{UnlinkatFlags, linkat, unlinkat};

use super::model::Snapshot;

/// The mode of every snapshot file ptsnap creates.
const FILE_MODE: u32 = 0o600;

pub fn write_atomic(snapshot: &Snapshot, path: &Path) -> io::Result<()> {
    // Past RLIMIT_FSIZE a write fails with EFBIG instead of killing ptsnap.
    // SAFETY: ignoring a signal installs no handler code.
    unsafe { signal(Signal::SIGXFSZ, SigHandler::SigIgn) }.map_err(io::Error::from)?;
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => Err(io::Error::new(io::ErrorKind::IsADirectory, "it is a directory")),
        Ok(md) if is_special(&md.file_type()) => write_into(snapshot, path),
        Ok(_) => write_replacing(snapshot, path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => write_replacing(snapshot, path),
        Err(e) => Err(e),
    }
}

/// A device, FIFO or socket: written into, as a shell's `>` would.
fn is_special(t: &fs::FileType) -> bool {
    t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket()
}

fn write_into(snapshot: &Snapshot, path: &Path) -> io::Result<()> {
    let file = fs::OpenOptions::new().write(true).custom_flags(libc::O_NOCTTY).open(path)?;
    serialize(snapshot, &file)
}

fn serialize(snapshot: &Snapshot, mut file: &fs::File) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 20, &mut file);
    serde_json::to_writer(&mut out, snapshot)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes an unnamed file in `path`'s directory and renames it over `path`.
fn write_replacing(snapshot: &Snapshot, path: &Path) -> io::Result<()> {
    let dir_path = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| io::Error::other("the output path has no file name"))?;
    let dir = openat(AT_FDCWD, dir_path, OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())?;
    let mode = Mode::from_bits_truncate(FILE_MODE);
    let (file, named) = match openat(&dir, ".", OFlag::O_TMPFILE | OFlag::O_WRONLY | OFlag::O_CLOEXEC, mode) {
        Ok(fd) => (fd, None),
        // No O_TMPFILE on this filesystem: a named file only ptsnap made.
        Err(Errno::EOPNOTSUPP | Errno::EISDIR | Errno::EINVAL) => {
            let (fd, temp) = create_exclusive(&dir, name)?;
            (fd, Some(temp))
        }
        Err(e) => return Err(e.into()),
    };
    let result = fill(snapshot, file).and_then(|file| {
        let temp = match &named {
            Some(temp) => temp.clone(),
            None => link_unnamed(&file, &dir, name)?,
        };
        renameat(&dir, &temp, &dir, name).map_err(|e| {
            let _ = unlinkat(&dir, &temp, UnlinkatFlags::NoRemoveDir);
            io::Error::from(e)
        })
    });
    match (&result, &named) {
        (Err(_), Some(temp)) => {
            let _ = unlinkat(&dir, temp, UnlinkatFlags::NoRemoveDir);
        }
        // The new name is durable once the directory is.
        (Ok(()), _) => {
            let _ = nix::unistd::fsync(&dir);
        }
        _ => {}
    }
    result
}

/// Writes the snapshot into `file`, 0600 whatever the umask, and syncs it.
fn fill(snapshot: &Snapshot, file: OwnedFd) -> io::Result<OwnedFd> {
    fchmod(&file, Mode::from_bits_truncate(FILE_MODE))?;
    let file = fs::File::from(file);
    serialize(snapshot, &file)?;
    file.sync_all()?;
    Ok(OwnedFd::from(file))
}

/// Gives the unnamed file a fresh name beside the destination; `linkat`
/// creates the name, so a link planted there makes it fail (and another
/// name is tried) rather than be followed.
fn link_unnamed(file: &OwnedFd, dir: &OwnedFd, name: &std::ffi::OsStr) -> io::Result<PathBuf> {
    let proc_path = format!("/proc/self/fd/{}", file.as_fd().as_raw_fd());
    for _ in 0..16 {
        let temp = temp_name(name);
        match linkat(AT_FDCWD, proc_path.as_str(), dir, &temp, AtFlags::AT_SYMLINK_FOLLOW) {
            Ok(()) => return Ok(temp),
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::other("no free temporary name beside the output file"))
}

/// Creates a fresh temporary file beside the destination, exclusively and
/// without following a link.
fn create_exclusive(dir: &OwnedFd, name: &std::ffi::OsStr) -> io::Result<(OwnedFd, PathBuf)> {
    let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
    for _ in 0..16 {
        let temp = temp_name(name);
        match openat(dir, &temp, flags, Mode::from_bits_truncate(FILE_MODE)) {
            Ok(fd) => return Ok((fd, temp)),
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::other("no free temporary name beside the output file"))
}

/// `.<name>.<random>.tmp`: hidden, and not guessable in advance.
fn temp_name(name: &std::ffi::OsStr) -> PathBuf {
    let mut random = [0u8; 8];
    let _ = fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut random));
    let tag: String = random.iter().map(|b| format!("{b:02x}")).collect();
    PathBuf::from(format!(".{}.{tag}.tmp", name.to_string_lossy()))
}

pub fn read(path: &Path) -> io::Result<Snapshot> {
    let text = fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A random (version 4) UUID.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    if fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_err() {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        b = (t ^ (std::process::id() as u128) << 64).to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
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
