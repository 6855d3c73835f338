//! Signals: names, `si_code` names, the description of a fault, and
//! ptsnap's own handling of SIGINT/SIGTERM/SIGHUP/SIGALRM.
//!
//! ptsnap's handlers only record the signal (and, in `ptsnap run`, forward
//! one sent by a process to the program), and are installed without
//! SA_RESTART so that a blocking `waitpid` returns EINTR: the thread holding
//! the stopped target then notices, releases it at once and writes what was
//! gathered. Other threads block these signals so that they reach it.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, kill, sigaction};
use nix::unistd::Pid;

/// The signal's name: nix's for the standard signals, `SIGRTMIN+n` for the
/// real-time ones (which nix's `Signal` does not have).
pub fn name(sig: i32) -> String {
    match Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig) => {
            format!("SIGRTMIN+{}", sig - libc::SIGRTMIN())
        }
        Err(_) => format!("SIG{sig}"),
    }
}

/// Signals whose default action kills the process with a core dump because
/// the program did something wrong: the crashes `ptsnap run` snapshots.
pub fn is_crash_signal(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGABRT | libc::SIGSYS | libc::SIGTRAP
    )
}

/// Signals that stop a process (group-stop) by default.
pub fn is_stop_signal(sig: i32) -> bool {
    matches!(sig, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
}

/// The symbolic name of `si_code` for signal `sig`.
pub fn code_name(sig: i32, code: i32) -> Option<&'static str> {
    let generic = match code {
        0 => Some("SI_USER"),
        0x80 => Some("SI_KERNEL"),
        -1 => Some("SI_QUEUE"),
        -2 => Some("SI_TIMER"),
        -3 => Some("SI_MESGQ"),
        -4 => Some("SI_ASYNCIO"),
        -5 => Some("SI_SIGIO"),
        -6 => Some("SI_TKILL"),
        _ => None,
    };
    if code <= 0 || code == 0x80 {
        return generic;
    }
    let table: &[&str] = match sig {
        libc::SIGSEGV => &[
            "SEGV_MAPERR",
            "SEGV_ACCERR",
            "SEGV_BNDERR",
            "SEGV_PKUERR",
            "SEGV_ACCADI",
            "SEGV_ADIDERR",
            "SEGV_ADIPERR",
            "SEGV_MTEAERR",
            "SEGV_MTESERR",
            "SEGV_CPERR",
        ],
        libc::SIGBUS => &["BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"],
        libc::SIGFPE => &[
            "FPE_INTDIV",
            "FPE_INTOVF",
            "FPE_FLTDIV",
            "FPE_FLTOVF",
            "FPE_FLTUND",
            "FPE_FLTRES",
            "FPE_FLTINV",
            "FPE_FLTSUB",
        ],
        libc::SIGILL => &[
            "ILL_ILLOPC",
            "ILL_ILLOPN",
            "ILL_ILLADR",
            "ILL_ILLTRP",
            "ILL_PRVOPC",
            "ILL_PRVREG",
            "ILL_COPROC",
            "ILL_BADSTK",
        ],
        libc::SIGTRAP => &["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK"],
        libc::SIGCHLD => &["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"],
        libc::SIGSYS => &["SYS_SECCOMP"],
        _ => &[],
    };
    table.get((code - 1) as usize).copied()
}

/// Whether the signal carries a fault address in `si_addr`.
pub fn has_fault_address(sig: i32, code: i32) -> bool {
    code > 0
        && code != 0x80
        && matches!(sig, libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP)
}

/// Whether the signal was sent by a process (kill, tkill, sigqueue) rather
/// than raised by the kernel for a fault.
pub fn sent_by_kill(code: i32) -> bool {
    code <= 0
}

/// A sentence for a person: what the signal means.
pub fn reason(sig: i32, code: i32, address: Option<u64>) -> String {
    let at = address.map(|a| format!(" at {a:#x}")).unwrap_or_default();
    match (sig, code_name(sig, code)) {
        (libc::SIGSEGV, Some("SEGV_MAPERR")) => format!("invalid memory access: address not mapped{at}"),
        (libc::SIGSEGV, Some("SEGV_ACCERR")) => format!("invalid memory access: permission denied{at}"),
        (libc::SIGBUS, _) if code > 0 => format!("bus error{at}"),
        (libc::SIGFPE, Some("FPE_INTDIV")) => format!("integer division by zero{at}"),
        (libc::SIGFPE, _) if code > 0 => format!("arithmetic exception{at}"),
        (libc::SIGILL, _) if code > 0 => format!("illegal instruction{at}"),
        (libc::SIGABRT, _) => "aborted".to_string(),
        (_, _) if sent_by_kill(code) => format!("{} sent by a process", name(sig)),
        (_, _) => format!("{} raised by the kernel", name(sig)),
    }
}

/// The termination signal received and not yet taken (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Whether that signal was sent by a process (kill, sigqueue) rather than
/// by the kernel for the terminal (Ctrl-C) or a hang-up.
static FROM_PROCESS: AtomicBool = AtomicBool::new(false);
/// `ptsnap run`'s program, to which termination signals sent by a process
/// are forwarded (0: none).
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(sig: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    if sig == libc::SIGALRM {
        // Only there to interrupt a blocking wait; it must not overwrite
        // a termination request that has not been taken yet.
        return;
    }
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t (or
    // null, which is checked); reading one field is async-signal-safe.
    let code = unsafe { info.as_ref() }.map_or(0, |i| i.si_code);
    let from_process = sent_by_kill(code);
    let child = FORWARD_TO.load(Ordering::SeqCst);
    // Forwarding here, not in the wait loop, leaves no window in which the
    // signal is not acted on. kill(2) is async-signal-safe, and nix's
    // wrapper neither allocates nor locks.
    if from_process
        && child > 0
        && let Ok(sig) = Signal::try_from(sig)
    {
        let _ = kill(Pid::from_raw(child), sig);
    }
    FROM_PROCESS.store(from_process, Ordering::SeqCst);
    RECEIVED.store(sig, Ordering::SeqCst);
}

/// From now on, SIGINT, SIGTERM and SIGHUP sent to ptsnap by a process are
/// forwarded to `pid` (as `timeout` and `tini` do); the terminal's own
/// signals reach the program directly, so they are not sent twice.
pub fn forward_to(pid: i32) {
    FORWARD_TO.store(pid, Ordering::SeqCst);
}

/// Blocks ptsnap's handled signals in the calling thread while `f` runs
/// (typically `std::thread::spawn`), so threads started there inherit the
/// block and the signals reach the thread that holds the target: a
/// process-directed signal goes to any thread that does not block it, and
/// only the holder's blocking waits must be interrupted by it.
pub fn with_handled_blocked<T>(f: impl FnOnce() -> T) -> T {
    let mut set = SigSet::empty();
    for sig in HANDLED {
        set.add(sig);
    }
    let old = set.thread_swap_mask(SigmaskHow::SIG_BLOCK).ok();
    let result = f();
    if let Some(old) = old {
        let _ = old.thread_set_mask();
    }
    result
}

const HANDLED: [Signal; 4] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGALRM];

/// Installs ptsnap's handlers for SIGINT, SIGTERM, SIGHUP and SIGALRM.
pub fn install_handlers() {
    let action = SigAction::new(SigHandler::SigAction(record), SaFlags::SA_SIGINFO, SigSet::empty());
    for sig in HANDLED {
        // SAFETY: `record` is async-signal-safe (it reads one field of the
        // siginfo, calls kill(2) and stores to atomics), and these signals
        // have no other handler in ptsnap that this one would displace.
        // No SA_RESTART, so that blocking calls see EINTR.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// The terminating signal (SIGINT, SIGTERM, SIGHUP) ptsnap received and
/// has not taken yet, if any.
pub fn termination_requested() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// A termination signal ptsnap received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termination {
    pub signal: i32,
    /// Sent by a process (`kill`), not by the terminal: `ptsnap run`
    /// forwards it to the program, which did not get it itself.
    pub from_process: bool,
}

/// Takes the pending termination signal, so that it is acted on once
/// (`ptsnap run` forwards it and goes on).
pub fn take_termination() -> Option<Termination> {
    let from_process = FROM_PROCESS.load(Ordering::SeqCst);
    match RECEIVED.swap(0, Ordering::SeqCst) {
        0 => None,
        signal => Some(Termination { signal, from_process }),
    }
}

/// Arms a SIGALRM after `secs` (at least 1 ms), so a blocking wait wakes
/// up to check its deadline, and every `every` seconds after that (0:
/// once); `secs <= 0` disarms it. A repeating alarm serves a series of
/// waits with one deadline: one that starts just after the first alarm
/// is woken by the next.
pub fn arm_alarm(secs: f64, every: f64) {
    let usec = if secs <= 0.0 { 0 } else { (secs * 1e6).max(1000.0) as i64 };
    let interval = if usec == 0 || every <= 0.0 { 0 } else { (every * 1e6).max(1000.0) as i64 };
    let timer = libc::itimerval {
        it_interval: libc::timeval { tv_sec: interval / 1_000_000, tv_usec: interval % 1_000_000 },
        it_value: libc::timeval { tv_sec: usec / 1_000_000, tv_usec: usec % 1_000_000 },
    };
    // SAFETY: setitimer reads the live `timer` and, with a null old value,
    // writes nothing of ours. (nix has no setitimer.)
    unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names() {
        assert_eq!(code_name(libc::SIGSEGV, 1), Some("SEGV_MAPERR"));
        assert_eq!(code_name(libc::SIGSEGV, 2), Some("SEGV_ACCERR"));
        assert_eq!(code_name(libc::SIGABRT, -6), Some("SI_TKILL"));
        assert_eq!(code_name(libc::SIGFPE, 1), Some("FPE_INTDIV"));
        assert!(has_fault_address(libc::SIGSEGV, 1));
        assert!(!has_fault_address(libc::SIGABRT, -6));
        assert_eq!(name(libc::SIGSEGV), "SIGSEGV");
        assert_eq!(name(libc::SIGSTKFLT), "SIGSTKFLT");
        assert_eq!(name(libc::SIGIO), "SIGIO");
        assert_eq!(name(libc::SIGPWR), "SIGPWR");
        assert_eq!(name(libc::SIGRTMIN()), "SIGRTMIN+0");
        assert_eq!(name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
        assert_eq!(name(0), "SIG0");
    }
}
