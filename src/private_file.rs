//! A new file of mode 0600 that gets its name only once it is whole.
//!
//! What ptsnap writes holds the target's memory (a snapshot) or is read
//! back as trusted input later (the inflated-section cache), so it is
//! created mode 0600, as the kernel creates core dumps, whatever the umask,
//! and a file it replaces never lends it a wider mode. It is written into
//! an unnamed file (`O_TMPFILE`) in the destination's directory and only
//! then given its name (`linkat`, and `rename` over an existing file). An
//! unnamed file has no name an attacker could plant a symlink at, and it
//! vanishes by itself when the write fails (full disk, `ulimit -f`) or
//! ptsnap is killed. A filesystem without `O_TMPFILE` gets a randomly named
//! file created with `O_EXCL|O_NOFOLLOW`, removed on every error.
//!
//! A file that is synced before it is named is written through
//! [`TempFile::writing_back`]: the disk write of each part starts as soon as
//! the part is written, so that the sync at the end waits for the last part
//! only, not for the whole file.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, openat, renameat};
use nix::sys::stat::{Mode, fchmod};
use nix::unistd::{UnlinkatFlags, linkat, unlinkat};

const FILE_MODE: Mode = Mode::S_IRUSR.union(Mode::S_IWUSR);

/// The snapshot's file before it has its name: unnamed (`O_TMPFILE`), or
/// named at random where the filesystem cannot do that; removed when
/// dropped unless it was persisted.
pub struct TempFile<'d> {
    dir: &'d OwnedFd,
    pub file: File,
    /// The random name it has in `dir`, if any.
    name: Option<String>,
}

impl<'d> TempFile<'d> {
    pub fn create(dir: &'d OwnedFd) -> io::Result<Self> {
        let unnamed = OFlag::O_TMPFILE | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
        match openat(dir, ".", unnamed, FILE_MODE) {
            Ok(fd) => Self::new(dir, fd, None),
            // EISDIR: a kernel that does not know O_TMPFILE (it includes O_DIRECTORY).
            Err(Errno::EOPNOTSUPP | Errno::EISDIR) => Self::create_named(dir),
            Err(e) => Err(e.into()),
        }
    }

    fn create_named(dir: &'d OwnedFd) -> io::Result<Self> {
        let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
        let (fd, name) = with_random_name(|name| openat(dir, name, flags, FILE_MODE))?;
        Self::new(dir, fd, Some(name))
    }

    fn new(dir: &'d OwnedFd, fd: OwnedFd, name: Option<String>) -> io::Result<Self> {
        let temp = TempFile { dir, file: fd.into(), name };
        // The umask may have taken bits from 0600; nothing else can add any.
        fchmod(&temp.file, FILE_MODE)?;
        Ok(temp)
    }

    /// Gives the file the name `name` in its directory, replacing what is
    /// there. An unnamed file is linked straight to a name that is free,
    /// else under a random name first, since `linkat` does not replace.
    pub fn persist(mut self, name: &OsStr) -> io::Result<()> {
        if self.name.is_none() {
            match self.link(name) {
                Ok(()) => return Ok(()),
                Err(Errno::EEXIST) => {}
                Err(e) => return Err(e.into()),
            }
            self.name = Some(with_random_name(|temp| self.link(OsStr::new(temp)))?.1);
        }
        if let Some(temp_name) = &self.name {
            renameat(self.dir, temp_name.as_str(), self.dir, name)?;
            self.name = None;
        }
        Ok(())
    }

    /// A writer into the file that starts writing each part to the disk
    /// once it is written (`sync_file_range`, which does not wait): the
    /// disk works while the rest is produced.
    pub fn writing_back(&self) -> WriteBack<'_> {
        WriteBack { file: &self.file, written: 0 }
    }

    /// Links the unnamed file as `name` in its directory.
    fn link(&self, name: &OsStr) -> nix::Result<()> {
        let proc_path = format!("/proc/self/fd/{}", self.file.as_raw_fd());
        linkat(AT_FDCWD, proc_path.as_str(), self.dir, name, AtFlags::AT_SYMLINK_FOLLOW)
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if let Some(name) = &self.name {
            let _ = unlinkat(self.dir, name.as_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}

/// See [`TempFile::writing_back`].
pub struct WriteBack<'f> {
    file: &'f File,
    /// Bytes written so far: where the next part starts.
    written: u64,
}

impl Write for WriteBack<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&*self.file).write(buf)?;
        let (Ok(start), Ok(len)) = (i64::try_from(self.written), i64::try_from(n)) else { return Ok(n) };
        // SAFETY: a plain system call on a descriptor this borrows; it only
        // schedules the write of dirty pages. Its error is not ours to
        // report: the sync that follows reports every write error.
        unsafe { libc::sync_file_range(self.file.as_raw_fd(), start, len, libc::SYNC_FILE_RANGE_WRITE) };
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Calls `f` with random hidden file names until one is not taken.
fn with_random_name<T>(mut f: impl FnMut(&str) -> nix::Result<T>) -> io::Result<(T, String)> {
    const ATTEMPTS: usize = 16;
    for _ in 0..ATTEMPTS {
        let name = format!(".ptsnap-{}.tmp", crate::hex::bytes(&random_bytes::<8>()));
        match f(&name) {
            Ok(value) => return Ok((value, name)),
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary file name"))
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_err() {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        let seed = (t ^ (std::process::id() as u128) << 64).to_le_bytes();
        for (i, x) in b.iter_mut().enumerate() {
            *x = seed[i % seed.len()];
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use super::*;

    /// A fresh directory for one test, and the directory opened.
    fn test_dir(name: &str) -> (PathBuf, OwnedFd) {
        let dir = std::env::temp_dir().join(format!("ptsnap-private-file-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        let fd = openat(AT_FDCWD, &dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        (dir, fd)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// Both kinds of temporary file replace a wider-moded file with a 0600
    /// one and leave no other name behind.
    #[test]
    fn temporary_files_replace_with_mode_0600() {
        for named in [false, true] {
            let (dir, fd) = test_dir(&format!("replace-{named}"));
            let dest = dir.join("x.json");
            fs::write(&dest, "old").unwrap();
            fs::set_permissions(&dest, fs::Permissions::from_mode(0o644)).unwrap();
            let mut temp = if named { TempFile::create_named(&fd).unwrap() } else { TempFile::create(&fd).unwrap() };
            assert_eq!(temp.name.is_some(), named);
            temp.file.write_all(b"new").unwrap();
            temp.persist(OsStr::new("x.json")).unwrap();
            assert_eq!(fs::read_to_string(&dest).unwrap(), "new");
            assert_eq!(mode(&dest), 0o600, "named: {named}");
            assert_eq!(names(&dir), ["x.json"]);
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// What is written in parts through the write-back writer is the
    /// file, each part where the one before ended.
    #[test]
    fn written_back_parts_follow_each_other() {
        let (dir, fd) = test_dir("write-back");
        let temp = TempFile::create(&fd).unwrap();
        let mut out = temp.writing_back();
        let parts: [&[u8]; 3] = [b"first ", &[b'x'; 70_000], b" last"];
        for part in parts {
            out.write_all(part).unwrap();
        }
        assert_eq!(out.written, parts.iter().map(|p| p.len() as u64).sum::<u64>());
        temp.file.sync_all().unwrap();
        temp.persist(OsStr::new("out")).unwrap();
        assert_eq!(fs::read(dir.join("out")).unwrap(), parts.concat());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A named temporary file that is not persisted (an error on the way)
    /// is removed.
    #[test]
    fn unpersisted_named_file_is_removed() {
        let (dir, fd) = test_dir("dropped");
        let temp = TempFile::create_named(&fd).unwrap();
        assert_eq!(names(&dir).len(), 1);
        drop(temp);
        assert!(names(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
