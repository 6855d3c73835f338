//! Parsing of the `/proc/PID/...` files ptsnap reads: memory maps, the
//! thread list, thread names and scheduler states, and process facts.
//!
//! Parsers take text and return data, so they are tested without a process;
//! the small readers around them are the only functions here doing I/O.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::PathBuf;

/// One line of `/proc/PID/maps`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub readable: bool,
    pub writable: bool,
    pub executable: bool,
    /// Shared (`s`) rather than private (`p`).
    pub shared: bool,
    pub offset: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub inode: u64,
    /// The path column as the kernel prints it, without a " (deleted)" suffix.
    pub path: String,
    /// The kernel marked the file as deleted.
    pub deleted: bool,
}

impl Mapping {
    /// A mapping of a file (as opposed to anonymous memory, heap, stack, vdso).
    pub fn is_file(&self) -> bool {
        self.inode != 0 && self.path.starts_with('/')
    }
}

/// Parses the whole text of a maps file; malformed lines are skipped.
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines().filter_map(parse_maps_line).collect()
}

fn parse_maps_line(line: &str) -> Option<Mapping> {
    let mut rest = line;
    let mut field = || {
        let trimmed = rest.trim_start();
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let (f, r) = trimmed.split_at(end);
        rest = r;
        f
    };
    let range = field();
    let perms = field().as_bytes().to_vec();
    let offset = field();
    let dev = field();
    let inode = field();
    let path = rest.trim_start();
    let (start, end) = range.split_once('-')?;
    let (major, minor) = dev.split_once(':')?;
    if perms.len() < 3 {
        return None;
    }
    let (path, deleted) = match path.strip_suffix(" (deleted)") {
        Some(p) => (p, true),
        None => (path, false),
    };
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        readable: perms[0] == b'r',
        writable: perms[1] == b'w',
        executable: perms[2] == b'x',
        shared: perms.get(3) == Some(&b's'),
        offset: u64::from_str_radix(offset, 16).ok()?,
        dev_major: u32::from_str_radix(major, 16).ok()?,
        dev_minor: u32::from_str_radix(minor, 16).ok()?,
        inode: inode.parse().ok()?,
        path: path.to_string(),
        deleted,
    })
}

pub fn read_maps(pid: i32) -> io::Result<Vec<Mapping>> {
    Ok(parse_maps(&fs::read_to_string(format!("/proc/{pid}/maps"))?))
}

/// The thread ids in `/proc/PID/task`, sorted.
pub fn list_tasks(pid: i32) -> io::Result<Vec<i32>> {
    let mut tids: Vec<i32> =
        fs::read_dir(format!("/proc/{pid}/task"))?.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    tids.sort_unstable();
    Ok(tids)
}

/// The fields of `/proc/PID/task/TID/stat` that ptsnap records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    /// The kernel's task flags (PF_*).
    pub flags: u32,
}

/// PF_KTHREAD: the task is a kernel thread.
const PF_KTHREAD: u32 = 0x0020_0000;

impl Stat {
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parses a stat line; the command name may itself hold spaces and
/// parentheses, so it spans from the first '(' to the last ')'.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let mut rest = text.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    // pgrp, session, tty_nr, tpgid, then flags.
    let flags = rest.nth(4)?.parse().ok()?;
    Some(Stat { comm, state, ppid, flags })
}

/// Reads a thread's stat file into a stack buffer (this runs once per
/// thread while the process is being stopped).
pub fn read_thread_stat(pid: i32, tid: i32) -> Option<Stat> {
    use std::io::Read;
    let mut buf = [0u8; 1024];
    let mut file = fs::File::open(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    let n = file.read(&mut buf).ok()?;
    parse_stat(std::str::from_utf8(&buf[..n]).ok()?)
}

/// Every thread's stat, read in one pass over `/proc/PID/task` (each
/// file opened relative to that directory): what the threads were doing
/// before a stop, read before it so that the target is not kept stopped
/// while a thousand small files are read. A thread that exits meanwhile is
/// left out.
pub fn read_thread_stats(pid: i32) -> HashMap<i32, Stat> {
    use nix::fcntl::{OFlag, openat};
    use nix::sys::stat::Mode;
    use std::io::Read;
    use std::os::fd::AsFd;
    let Ok(dir) = fs::File::open(format!("/proc/{pid}/task")) else { return HashMap::new() };
    let Ok(tids) = list_tasks(pid) else { return HashMap::new() };
    let mut buf = [0u8; 1024];
    let mut stats = HashMap::with_capacity(tids.len());
    for tid in tids {
        let path = format!("{tid}/stat");
        let Ok(fd) = openat(dir.as_fd(), path.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) else {
            continue;
        };
        let Ok(n) = fs::File::from(fd).read(&mut buf) else { continue };
        if let Some(stat) = std::str::from_utf8(&buf[..n]).ok().and_then(parse_stat) {
            stats.insert(tid, stat);
        }
    }
    stats
}

/// The first thread of the process that has not exited: the main thread
/// unless it called `pthread_exit` while others run on.
pub fn live_task(pid: i32) -> Option<i32> {
    list_tasks(pid).ok()?.into_iter().find(|&tid| read_thread_stat(pid, tid).is_some_and(|s| s.state != 'Z'))
}

/// `/proc/PID/task/TID/stack` (readable by root only): where a thread that
/// cannot be stopped is stuck.
pub fn kernel_stack(pid: i32, tid: i32) -> Vec<String> {
    fs::read_to_string(format!("/proc/{pid}/task/{tid}/stack"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_once("] ").map_or(l, |(_, f)| f).to_string())
        .filter(|f| !f.is_empty())
        .collect()
}

/// A human name for a scheduler state letter.
pub fn state_name(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "disk",
        'T' => "stopped",
        't' => "traced",
        'Z' => "zombie",
        'X' | 'x' => "dead",
        'I' => "idle",
        'W' => "waking",
        'P' => "parked",
        _ => "unknown",
    }
}

/// One `Key:\tvalue` field of a status file.
pub fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

/// The signal masks of one thread, from its status file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalMasks {
    pub blocked: u64,
    pub caught: u64,
    pub ignored: u64,
}

impl SignalMasks {
    pub fn parse(status: &str) -> Self {
        let mask = |k| status_field(status, k).and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0);
        SignalMasks { blocked: mask("SigBlk"), caught: mask("SigCgt"), ignored: mask("SigIgn") }
    }

    pub fn read(pid: i32, tid: i32) -> Self {
        Self::parse(&fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap_or_default())
    }

    fn has(mask: u64, sig: i32) -> bool {
        (1..=64).contains(&sig) && mask & (1u64 << (sig - 1)) != 0
    }

    /// Whether delivering `sig` to this thread runs a handler of the program
    /// (so the signal is not fatal by itself).
    pub fn handled(&self, sig: i32) -> bool {
        Self::has(self.caught, sig) && !Self::has(self.blocked, sig)
    }

    /// Whether the process ignores `sig` (SIG_IGN).
    pub fn ignored(&self, sig: i32) -> bool {
        Self::has(self.ignored, sig)
    }
}

/// Facts about the process as a whole, read before it is stopped.
#[derive(Clone, Debug, Default)]
pub struct ProcessInfo {
    pub exe: Option<PathBuf>,
    pub cmdline: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub state: char,
    pub ppid: i32,
    pub uid: u32,
    /// Thread-group id: the pid of the process a given thread id belongs to.
    pub tgid: i32,
}

impl ProcessInfo {
    pub fn read(pid: i32) -> io::Result<Self> {
        let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| parse_stat(&s));
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        Ok(ProcessInfo {
            exe: fs::read_link(format!("/proc/{pid}/exe")).ok(),
            cmdline: cmdline
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
            cwd: fs::read_link(format!("/proc/{pid}/cwd")).ok(),
            state: stat.as_ref().map_or('?', |s| s.state),
            ppid: stat.as_ref().map_or(0, |s| s.ppid),
            uid: status_field(&status, "Uid").and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0),
            tgid: status_field(&status, "Tgid").and_then(|v| v.parse().ok()).unwrap_or(pid),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_lines() {
        let text = "\
55d0c8a00000-55d0c8a01000 r--p 00000000 fe:01 1835049                    /usr/bin/cat\n\
7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 \n\
7ffd5b3f3000-7ffd5b414000 rw-p 00000000 00:00 0                          [stack]\n\
7f00aa000000-7f00aa001000 r-xp 00002000 08:10 42 /tmp/my prog (deleted)\n";
        let maps = parse_maps(text);
        assert_eq!(maps.len(), 4);
        assert_eq!(maps[0].start, 0x55d0c8a00000);
        assert_eq!(maps[0].end, 0x55d0c8a01000);
        assert_eq!((maps[0].dev_major, maps[0].dev_minor, maps[0].inode), (0xfe, 1, 1835049));
        assert!(maps[0].is_file() && maps[0].readable && !maps[0].executable);
        assert_eq!(maps[1].path, "");
        assert!(!maps[1].is_file());
        assert_eq!(maps[2].path, "[stack]");
        assert_eq!(maps[3].path, "/tmp/my prog");
        assert!(maps[3].deleted && maps[3].executable);
        assert_eq!(maps[3].offset, 0x2000);
    }

    #[test]
    fn parses_stat_with_odd_names() {
        let s = parse_stat("1234 (a (b) c) S 1 1234 1234 0 -1 4194560 90 0").unwrap();
        assert_eq!(s, Stat { comm: "a (b) c".into(), state: 'S', ppid: 1, flags: 4194560 });
        assert!(!s.is_kernel_thread());
        assert!(parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0").unwrap().is_kernel_thread());
    }

    #[test]
    fn signal_masks() {
        let status = "Name:\tx\nSigBlk:\t0000000000000400\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000600\n";
        let m = SignalMasks::parse(status);
        assert!(!m.handled(11), "SIGSEGV caught but blocked runs no handler");
        assert!(m.handled(10), "SIGUSR1 caught and not blocked");
        assert!(!m.handled(6));
        let ign = SignalMasks::parse("SigIgn:\t0000000000000400\n");
        assert!(ign.ignored(11) && !ign.ignored(10));
    }
}
