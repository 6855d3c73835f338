//! `ptsnap run`: start a program traced, follow its threads and children,
//! pass every signal through unchanged, and hand the first stop of a fatal
//! signal to a callback (which takes the snapshot) before letting the
//! signal kill the process as it would have.
//!
//! The child blocks on a pipe after fork until ptsnap has seized it, so it
//! is traced (with PTRACE_SEIZE semantics, which its threads and children
//! inherit) from its first instruction after exec. PTRACE_O_EXITKILL is not
//! set: if ptsnap dies, the program goes on untraced.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{ForkResult, fork, pipe2};

use super::ProcessError;
use super::procfs::{self, SignalMasks};
use super::ptrace::{self, WaitEvent};
use super::signals;
use super::stopper::{Mode, StoppedProcess};

/// A process stopped because one of its threads is about to receive a
/// fatal signal. Dropping or releasing `stopped` delivers that signal.
pub struct CrashStop {
    /// The process (thread group) the thread belongs to.
    pub pid: i32,
    pub tid: i32,
    pub signal: i32,
    /// Every thread of the process, the faulting one included.
    pub stopped: StoppedProcess,
    /// When the fault was seen, before the other threads were stopped.
    pub seen: Instant,
}

/// How the program ended, as a shell would see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramEnd {
    Exited(i32),
    Killed(i32),
}

impl ProgramEnd {
    /// The exit status a shell reports: the code, or 128 + signal.
    pub fn shell_status(self) -> i32 {
        match self {
            ProgramEnd::Exited(code) => code,
            ProgramEnd::Killed(sig) => 128 + sig,
        }
    }
}

/// Runs `argv` to completion under ptrace, calling `on_crash` with the
/// whole process stopped at each fatal signal. `stop_within` bounds the
/// time spent stopping that process's threads. SIGINT, SIGTERM and SIGHUP
/// sent to ptsnap by a process are forwarded to the program.
pub fn run(
    argv: &[OsString],
    stop_within: Duration,
    on_crash: &mut dyn FnMut(CrashStop),
) -> Result<ProgramEnd, ProcessError> {
    let child = spawn_seized(argv)?;
    signals::forward_to(child);
    let mut end = None;
    loop {
        // A termination signal has been forwarded by the handler and has
        // cut the snapshot in progress, if any; later crashes are
        // snapshotted as usual.
        signals::take_termination();
        let (tid, event) = match ptrace::wait(-1) {
            Ok(r) => r,
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(_) => break,
        };
        match event {
            WaitEvent::Exited(code) if tid == child => end = Some(ProgramEnd::Exited(code)),
            WaitEvent::Killed(sig) if tid == child => end = Some(ProgramEnd::Killed(sig)),
            WaitEvent::Exited(_) | WaitEvent::Killed(_) => {}
            WaitEvent::Signal(sig) if is_fatal(tid, sig) => {
                let seen = Instant::now();
                let pid = procfs::ProcessInfo::read(tid).map_or(tid, |p| p.tgid);
                // If stopping fails, the faulting thread was released by
                // the failed stop (or is gone): the signal takes its course.
                if let Ok(stopped) = StoppedProcess::stop_all(
                    pid,
                    Mode::Traced,
                    &[(tid, event)],
                    Default::default(),
                    Some(seen + stop_within),
                ) {
                    on_crash(CrashStop { pid, tid, signal: sig, stopped, seen });
                }
            }
            WaitEvent::Signal(sig) => {
                let _ = ptrace::cont(tid, sig);
            }
            WaitEvent::GroupStop(_) => {
                // Keep job control working: stay stopped until SIGCONT.
                let _ = ptrace::listen(tid);
            }
            WaitEvent::Interrupt | WaitEvent::Event(_) => {
                let _ = ptrace::cont(tid, 0);
            }
        }
        if end.is_some() {
            break;
        }
    }
    end.ok_or_else(|| ProcessError::Io {
        context: "waiting for the program".into(),
        source: io::Error::other("lost track of the program"),
    })
}

/// A crash signal is fatal unless the program will run a handler for it,
/// or ignores it and it was sent by a process (a tracer sees even ignored
/// signals; the kernel's own fault signals are forced through SIG_IGN).
fn is_fatal(tid: i32, sig: i32) -> bool {
    if !signals::is_crash_signal(sig) {
        return false;
    }
    let tgid = procfs::ProcessInfo::read(tid).map_or(tid, |p| p.tgid);
    let masks = SignalMasks::read(tgid, tid);
    if masks.handled(sig) {
        return false;
    }
    let sent_by_process = ptrace::get_siginfo(tid).is_ok_and(|i| signals::sent_by_kill(i.si_code));
    !(masks.ignored(sig) && sent_by_process)
}

/// Forks; the child waits until the parent has seized it, then execs.
/// An exec failure is reported back through a close-on-exec pipe. The
/// pipes are `OwnedFd`s, so every way out closes them; a child whose
/// parent failed to seize it sees the go pipe closed unwritten and exits
/// without running the program untraced.
fn spawn_seized(argv: &[OsString]) -> Result<i32, ProcessError> {
    let command = argv.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
    let spawn_err = |source: io::Error| ProcessError::Spawn { command: command.clone(), source };
    let exec = Exec::new(argv).map_err(spawn_err)?;
    let (go_read, go_write) = pipe2(OFlag::O_CLOEXEC).map_err(|e| spawn_err(e.into()))?;
    let (status_read, status_write) = pipe2(OFlag::O_CLOEXEC).map_err(|e| spawn_err(e.into()))?;
    // SAFETY: ptsnap may have other threads, so the child may only make
    // async-signal-safe calls: it closes its copies of the parent's pipe
    // ends and runs `child`, which reads, execs, writes and _exits on
    // memory prepared before the fork, allocating nothing; it never
    // returns, so no destructor runs in it.
    let pid = match unsafe { fork() }.map_err(|e| spawn_err(e.into()))? {
        ForkResult::Child => {
            drop(go_write);
            drop(status_read);
            child(go_read, status_write, &exec)
        }
        ForkResult::Parent { child } => child.as_raw(),
    };
    drop(go_read);
    drop(status_write);
    let seized = ptrace::seize(pid, ptrace::OPT_TRACE_CHILDREN);
    if seized.is_ok() {
        let _ = nix::unistd::write(&go_write, b"g");
    }
    drop(go_write);
    let mut errno = [0u8; 4];
    let exec_failed = retry_eintr(|| nix::unistd::read(&status_read, &mut errno)) == Ok(errno.len());
    if exec_failed || seized.is_err() {
        // The child has exited (or will, without running the program).
        let _ = ptrace::wait(pid);
    }
    seized.map_err(spawn_err)?;
    if exec_failed {
        return Err(spawn_err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno))));
    }
    Ok(pid)
}

/// The child's side of [`spawn_seized`]: waits for the go byte, execs,
/// and reports exec's errno. Only async-signal-safe calls, no allocation.
fn child(go: OwnedFd, status: OwnedFd, exec: &Exec) -> ! {
    let mut byte = [0u8];
    if retry_eintr(|| nix::unistd::read(&go, &mut byte)) == Ok(1) {
        let errno = exec.exec();
        let _ = nix::unistd::write(&status, &errno.to_ne_bytes());
    }
    // SAFETY: _exit has no preconditions and is async-signal-safe. (Not
    // exit: atexit handlers and stdio buffers are copies of ptsnap's.)
    unsafe { libc::_exit(127) }
}

fn retry_eintr(mut f: impl FnMut() -> nix::Result<usize>) -> nix::Result<usize> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// A program and its arguments as `execv` wants them, made before fork:
/// the child of a process that may have other threads must not allocate
/// (another thread may have held the allocator's lock).
struct Exec {
    program: CString,
    /// Owns the strings `argv` points at.
    _args: Vec<CString>,
    /// Pointers to `_args`' strings, then a null pointer.
    argv: Vec<*const libc::c_char>,
}

impl Exec {
    fn new(argv: &[OsString]) -> io::Result<Self> {
        let invalid = || io::Error::from(io::ErrorKind::InvalidInput);
        let args: Vec<CString> =
            argv.iter().map(|a| CString::new(a.as_bytes())).collect::<Result<_, _>>().map_err(|_| invalid())?;
        let program = find_program(argv.first().ok_or_else(invalid)?)?;
        let program = CString::new(program.into_os_string().into_vec()).map_err(|_| invalid())?;
        let argv = args.iter().map(|a| a.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
        Ok(Exec { program, _args: args, argv })
    }

    /// Execs the program; returns only if that failed, with the errno.
    /// Allocation-free (nix's `execv` allocates its argv array).
    fn exec(&self) -> i32 {
        // SAFETY: `program` is NUL-terminated and `argv` is a null-terminated
        // array of pointers to the NUL-terminated strings of `_args`; all
        // live as long as `self`, and only `new` sets them.
        unsafe { libc::execv(self.program.as_ptr(), self.argv.as_ptr()) };
        Errno::last_raw()
    }
}

/// The file `execvp` would run, found on PATH when `program` has no slash.
/// ptsnap execs it with `execv`: unlike `execvp` it does not hand a file
/// the kernel refuses (ENOEXEC) to /bin/sh as a script.
fn find_program(program: &std::ffi::OsStr) -> io::Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if program.as_bytes().contains(&b'/') {
        return Ok(program.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
}
