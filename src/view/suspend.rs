//! Ctrl-Z in the viewer: the terminal given back, the viewer stopped as
//! a shell's job, the screen drawn again when it continues.
//!
//! In raw mode the terminal sends no SIGTSTP for Ctrl-Z: the viewer gets
//! the key and stops itself. A SIGTSTP from elsewhere (`kill -TSTP`) is
//! caught and does the same, where its default action would stop the
//! viewer with the terminal still raw and on the alternate screen. A
//! SIGCONT (after a SIGSTOP, which cannot be caught, or any stop) has the
//! terminal taken back and redrawn whole, whatever the shell did with it
//! meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use nix::unistd::Pid;

static STOP: AtomicBool = AtomicBool::new(false);
static CONTINUED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_tstp(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

extern "C" fn on_cont(_: libc::c_int) {
    CONTINUED.store(true, Ordering::SeqCst);
}

fn handle(signal: Signal, handler: SigHandler) {
    // No SA_RESTART: the viewer's wait for input returns (EINTR) and the
    // loop sees the flag at once.
    let action = SigAction::new(handler, SaFlags::empty(), SigSet::empty());
    // SAFETY: the handlers only store to an atomic (async-signal-safe),
    // and the viewer has no other handler for these signals.
    let _ = unsafe { sigaction(signal, &action) };
}

/// Catches SIGTSTP and SIGCONT for the viewer's loop.
pub fn install() {
    handle(Signal::SIGTSTP, SigHandler::Handler(on_tstp));
    handle(Signal::SIGCONT, SigHandler::Handler(on_cont));
}

/// Whether a SIGTSTP came since last asked.
pub fn stop_requested() -> bool {
    STOP.swap(false, Ordering::SeqCst)
}

/// Whether the viewer was continued since last asked.
pub fn continued() -> bool {
    CONTINUED.swap(false, Ordering::SeqCst)
}

/// Stops the viewer's process group as the terminal's Ctrl-Z does (a
/// pipeline's other processes too) with SIGTSTP's default action, and
/// returns once continued. In an orphaned process group (no shell with job
/// control to continue it) the kernel discards the stop and this returns
/// at once.
pub fn stop() {
    handle(Signal::SIGTSTP, SigHandler::SigDfl);
    let _ = kill(Pid::from_raw(0), Signal::SIGTSTP);
    handle(Signal::SIGTSTP, SigHandler::Handler(on_tstp));
}
