//! Typed wrappers over the ptrace and wait calls ptsnap makes, and the
//! decoding of wait statuses of PTRACE_SEIZE'd tracees.
//!
//! nix makes the requests that pass no signal. Three stay raw libc calls,
//! each in one place below, because nix's `Signal` has no real-time
//! signals (SIGRTMIN..SIGRTMAX, which glibc itself uses for thread
//! cancellation and set*id, and programs for timers and queues):
//! - resuming with a signal (PTRACE_CONT, PTRACE_DETACH): nix's `cont` and
//!   `detach` take an `Option<Signal>`, so a real-time signal a thread was
//!   about to receive could not be passed on and would be lost;
//! - `waitpid`: nix's decodes the status into `Signal`s and fails with
//!   EINVAL on a real-time one after the kernel has handed the event over,
//!   so a tracee stopped by such a signal would never be seen again;
//! - PTRACE_LISTEN, for which nix has no function.

use std::io;

use nix::sys::ptrace::{self as nix_ptrace, Options, regset};
use nix::unistd::Pid;

use crate::arch::{GeneralRegs, VectorRegs};

/// Follow the program's threads, children and execs (`ptsnap run`).
pub const OPT_TRACE_CHILDREN: Options = Options::PTRACE_O_TRACECLONE
    .union(Options::PTRACE_O_TRACEFORK)
    .union(Options::PTRACE_O_TRACEVFORK)
    .union(Options::PTRACE_O_TRACEEXEC);

pub fn seize(tid: i32, options: Options) -> io::Result<()> {
    Ok(nix_ptrace::seize(Pid::from_raw(tid), options)?)
}

pub fn interrupt(tid: i32) -> io::Result<()> {
    Ok(nix_ptrace::interrupt(Pid::from_raw(tid))?)
}

pub fn get_regs(tid: i32) -> io::Result<GeneralRegs> {
    Ok(nix_ptrace::getregs(Pid::from_raw(tid))?)
}

pub fn get_fpregs(tid: i32) -> io::Result<VectorRegs> {
    Ok(nix_ptrace::getregset::<regset::NT_PRFPREG>(Pid::from_raw(tid))?)
}

pub fn get_siginfo(tid: i32) -> io::Result<libc::siginfo_t> {
    Ok(nix_ptrace::getsiginfo(Pid::from_raw(tid))?)
}

/// The siginfo as the kernel's 128 bytes (plain data for other threads
/// and for the snapshot's fault decoding).
pub fn get_siginfo_bytes(tid: i32) -> io::Result<[u8; 128]> {
    let info = get_siginfo(tid)?;
    // SAFETY: transmute checks at compile time that siginfo_t is 128
    // bytes; it is made of c_ints only (no padding, no pointers), and the
    // kernel wrote all 128 of them, so every byte is initialised.
    Ok(unsafe { std::mem::transmute::<libc::siginfo_t, [u8; 128]>(info) })
}

/// The requests that resume a stopped tracee, made raw (see the module
/// documentation): their only argument is a signal number.
#[derive(Clone, Copy)]
enum Resume {
    Cont,
    Detach,
    Listen,
}

fn resume(request: Resume, tid: i32, sig: i32) -> io::Result<()> {
    let request = match request {
        Resume::Cont => libc::PTRACE_CONT,
        Resume::Detach => libc::PTRACE_DETACH,
        Resume::Listen => libc::PTRACE_LISTEN,
    };
    // SAFETY: these requests take no address and read `data` as a signal
    // number, not as a pointer: the kernel touches no memory of ours, and
    // an invalid signal or tid is an error (EIO, ESRCH), not undefined
    // behaviour.
    let ret = unsafe { libc::ptrace(request, tid, std::ptr::null_mut::<libc::c_void>(), sig as usize) };
    if ret == -1 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Detaches, delivering `sig` (0: none), which may be a real-time signal.
pub fn detach(tid: i32, sig: i32) -> io::Result<()> {
    resume(Resume::Detach, tid, sig)
}

/// Continues, delivering `sig` (0: none), which may be a real-time signal.
pub fn cont(tid: i32, sig: i32) -> io::Result<()> {
    resume(Resume::Cont, tid, sig)
}

/// Lets a thread in group-stop wait for SIGCONT while still traced.
pub fn listen(tid: i32) -> io::Result<()> {
    resume(Resume::Listen, tid, 0)
}

/// What `waitpid` reported about one tracee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitEvent {
    Exited(i32),
    Killed(i32),
    /// Signal-delivery-stop: the signal is about to be delivered.
    Signal(i32),
    /// Group-stop (the process was stopped by a stop signal).
    GroupStop(i32),
    /// PTRACE_INTERRUPT stop, or the first stop of a new auto-attached thread.
    Interrupt,
    /// A PTRACE_EVENT_* stop (clone, fork, vfork, exec, exit).
    Event(i32),
}

/// Waits for a state change of `pid` (a tid, or -1 for any tracee).
/// EINTR is returned as an error so that callers can check deadlines.
pub fn wait(pid: i32) -> io::Result<(i32, WaitEvent)> {
    wait_flags(pid, 0).map(|r| r.expect("a blocking wait reports a change"))
}

/// Collects a state change of `pid` if one is pending, without blocking.
pub fn wait_nohang(pid: i32) -> io::Result<Option<(i32, WaitEvent)>> {
    wait_flags(pid, libc::WNOHANG)
}

fn wait_flags(pid: i32, flags: libc::c_int) -> io::Result<Option<(i32, WaitEvent)>> {
    let mut status = 0;
    // SAFETY: `status` is a live c_int for the kernel to write; waitpid
    // reads nothing else of ours.
    let tid = unsafe { libc::waitpid(pid, &mut status, libc::__WALL | flags) };
    match tid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        tid => Ok(Some((tid, decode(status)))),
    }
}

fn decode(status: i32) -> WaitEvent {
    if libc::WIFEXITED(status) {
        return WaitEvent::Exited(libc::WEXITSTATUS(status));
    }
    if libc::WIFSIGNALED(status) {
        return WaitEvent::Killed(libc::WTERMSIG(status));
    }
    let sig = libc::WSTOPSIG(status);
    match status >> 16 {
        0 => WaitEvent::Signal(sig),
        libc::PTRACE_EVENT_STOP if super::signals::is_stop_signal(sig) => WaitEvent::GroupStop(sig),
        libc::PTRACE_EVENT_STOP => WaitEvent::Interrupt,
        event => WaitEvent::Event(event),
    }
}
