//! `ptsnap run`: start a program traced, follow its threads and children,
//! pass every signal through unchanged, and hand the first stop of a fatal
//! signal to a callback (which takes the snapshot) before letting the
//! signal kill the process as it would have.
//!
//! The child blocks on a pipe after fork until ptsnap has seized it, so it
//! is traced (with PTRACE_SEIZE semantics, which its threads and children
//! inherit) from its first instruction after exec. PTRACE_O_EXITKILL is not
//! set: if ptsnap dies, the program goes on untraced.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use std::time::{Duration, Instant};

use super::TargetError;
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
    argv: &[std::ffi::OsString],
    stop_within: Duration,
    on_crash: &mut dyn FnMut(CrashStop),
) -> Result<ProgramEnd, TargetError> {
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
                if let Ok(stopped) =
                    StoppedProcess::stop_all(pid, Mode::Traced, &[(tid, event)], Some(seen + stop_within))
                {
                    on_crash(CrashStop { pid, tid, signal: sig, stopped, seen });
                }
            }
            WaitEvent::Signal(sig) => {
                let _ = ptrace::cont(tid, sig);
            }
            WaitEvent::GroupStop(_) => {
                // Keep job control working: stay stopped until SIGCONT.
                let _ = listen(tid);
            }
            WaitEvent::Interrupt | WaitEvent::Event(_) => {
                let _ = ptrace::cont(tid, 0);
            }
        }
        if end.is_some() {
            break;
        }
    }
    end.ok_or_else(|| TargetError::Io {
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

fn listen(tid: i32) -> io::Result<()> {
    // SAFETY: plain ptrace request without pointers.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_LISTEN,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    if r == -1 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Forks; the child waits until the parent has seized it, then execs.
/// An exec failure is reported back through a close-on-exec pipe.
fn spawn_seized(argv: &[std::ffi::OsString]) -> Result<i32, TargetError> {
    let command = argv.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
    let spawn_err = |source: io::Error| TargetError::Spawn { command: command.clone(), source };
    let args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| spawn_err(io::Error::from(io::ErrorKind::InvalidInput)))?;
    let program = argv.first().ok_or_else(|| spawn_err(io::Error::from(io::ErrorKind::InvalidInput)))?;
    let program = CString::new(find_program(program).map_err(spawn_err)?.into_os_string().into_vec())
        .map_err(|_| spawn_err(io::Error::from(io::ErrorKind::InvalidInput)))?;
    let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let go = pipe().map_err(spawn_err)?;
    let status = pipe().map_err(spawn_err)?;
    // SAFETY: after fork the child only calls async-signal-safe functions
    // (read, write, close, execv, _exit) on memory prepared before fork.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(spawn_err(io::Error::last_os_error()));
    }
    if pid == 0 {
        unsafe {
            libc::close(go[1]);
            libc::close(status[0]);
            let mut byte = 0u8;
            libc::read(go[0], &mut byte as *mut u8 as *mut libc::c_void, 1);
            libc::close(go[0]);
            libc::execv(program.as_ptr(), ptrs.as_ptr());
            let errno = *libc::__errno_location();
            libc::write(status[1], &errno as *const i32 as *const libc::c_void, 4);
            libc::_exit(127);
        }
    }
    // SAFETY: closing our copies of the child's pipe ends.
    unsafe {
        libc::close(go[0]);
        libc::close(status[1]);
    }
    let seized = ptrace::seize(pid, ptrace::OPT_TRACE_CHILDREN);
    // SAFETY: writing one byte from a live buffer, then closing our end.
    unsafe {
        libc::write(go[1], b"g".as_ptr() as *const libc::c_void, 1);
        libc::close(go[1]);
    }
    let mut errno = 0i32;
    // SAFETY: reading at most 4 bytes into a live i32.
    let n = unsafe { libc::read(status[0], &mut errno as *mut i32 as *mut libc::c_void, 4) };
    unsafe { libc::close(status[0]) };
    if n == 4 {
        let mut st = 0;
        unsafe { libc::waitpid(pid, &mut st, libc::__WALL) };
        return Err(spawn_err(io::Error::from_raw_os_error(errno)));
    }
    seized.map_err(spawn_err)?;
    Ok(pid)
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

fn pipe() -> io::Result<[i32; 2]> {
    let mut fds = [0i32; 2];
    // SAFETY: valid out-array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(fds)
}
