//! Thin, typed wrappers over the ptrace and wait calls ptsnap makes, and
//! the decoding of wait statuses of PTRACE_SEIZE'd tracees.

use std::io;

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret == -1 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

fn request(req: libc::c_uint, tid: i32, addr: usize, data: usize) -> io::Result<libc::c_long> {
    // SAFETY: every caller passes either integers or a pointer to a live,
    // correctly sized buffer for the request.
    check(unsafe { libc::ptrace(req, tid, addr as *mut libc::c_void, data as *mut libc::c_void) })
}

pub const OPT_TRACE_CHILDREN: libc::c_int =
    libc::PTRACE_O_TRACECLONE | libc::PTRACE_O_TRACEFORK | libc::PTRACE_O_TRACEVFORK | libc::PTRACE_O_TRACEEXEC;

pub fn seize(tid: i32, options: libc::c_int) -> io::Result<()> {
    request(libc::PTRACE_SEIZE, tid, 0, options as usize).map(drop)
}

pub fn interrupt(tid: i32) -> io::Result<()> {
    request(libc::PTRACE_INTERRUPT, tid, 0, 0).map(drop)
}

pub fn detach(tid: i32, sig: i32) -> io::Result<()> {
    request(libc::PTRACE_DETACH, tid, 0, sig as usize).map(drop)
}

pub fn cont(tid: i32, sig: i32) -> io::Result<()> {
    request(libc::PTRACE_CONT, tid, 0, sig as usize).map(drop)
}

pub fn set_options(tid: i32, options: libc::c_int) -> io::Result<()> {
    request(libc::PTRACE_SETOPTIONS, tid, 0, options as usize).map(drop)
}

pub fn get_regs(tid: i32) -> io::Result<libc::user_regs_struct> {
    // SAFETY: an all-zero user_regs_struct is valid plain data.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    request(libc::PTRACE_GETREGS, tid, 0, &mut regs as *mut _ as usize)?;
    Ok(regs)
}

pub fn get_fpregs(tid: i32) -> io::Result<libc::user_fpregs_struct> {
    // SAFETY: as above.
    let mut regs: libc::user_fpregs_struct = unsafe { std::mem::zeroed() };
    request(libc::PTRACE_GETFPREGS, tid, 0, &mut regs as *mut _ as usize)?;
    Ok(regs)
}

pub fn get_siginfo(tid: i32) -> io::Result<libc::siginfo_t> {
    // SAFETY: as above.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    request(libc::PTRACE_GETSIGINFO, tid, 0, &mut info as *mut _ as usize)?;
    Ok(info)
}

/// The siginfo as the kernel's 128 bytes.
pub fn get_siginfo_bytes(tid: i32) -> io::Result<[u8; 128]> {
    const _: () = assert!(std::mem::size_of::<libc::siginfo_t>() == 128);
    let mut bytes = [0u8; 128];
    request(libc::PTRACE_GETSIGINFO, tid, 0, bytes.as_mut_ptr() as usize)?;
    Ok(bytes)
}

pub fn event_message(tid: i32) -> io::Result<u64> {
    let mut msg: libc::c_ulong = 0;
    request(libc::PTRACE_GETEVENTMSG, tid, 0, &mut msg as *mut _ as usize)?;
    Ok(msg)
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
    // SAFETY: plain system call with a valid out-pointer.
    let tid = unsafe { libc::waitpid(pid, &mut status, libc::__WALL | flags) };
    match tid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        tid => Ok(Some((tid, decode(status)))),
    }
}

pub fn decode(status: i32) -> WaitEvent {
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
