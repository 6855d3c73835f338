//! Containment of a C module that crashes.
//!
//! A SIGSEGV (or SIGBUS, SIGILL, SIGFPE, abort) in a module's code would
//! kill ptsnap with the target possibly stopped and the snapshot lost.
//! While the worker runs native module code ([`run_native`]) a handler
//! for those signals, seeing the fault on that thread, records it and
//! parks the thread for good (it sleeps in the handler; nothing of it runs
//! again). The supervisor sees the record ([`crashed`]) as it waits for
//! the worker, releases the target, and writes the snapshot from what the
//! shared snapshot holds, with the crash in its errors; ptsnap exits
//! normally, the parked thread with it.
//!
//! A fault on any other thread, or outside module code, goes to the
//! handler that was there before (Rust's stack-overflow report) or to the
//! default action, as if this one did not exist.

use std::ffi::{CStr, CString, c_int, c_void};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction};
use nix::unistd::{gettid, pause};

/// The signals a crash in module code raises.
const SIGNALS: [c_int; 5] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGABRT];

/// The thread running module code now (0: none).
static NATIVE_TID: AtomicI32 = AtomicI32::new(0);
/// The signal that crashed module code (0: none yet).
static CRASH_SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The module running on [`NATIVE_TID`] (a [`module_name`]).
static CRASH_MODULE: AtomicPtr<std::ffi::c_char> = AtomicPtr::new(std::ptr::null_mut());
/// The crash was reported to the supervisor (it is reported once).
static REPORTED: AtomicBool = AtomicBool::new(false);

static INSTALL: Once = Once::new();
/// The actions that were there before, in [`SIGNALS`] order; written once
/// before the handler is installed, only read after.
static mut PREVIOUS: [Option<libc::sigaction>; 5] = [None; 5];

/// Installs the handler (once per process).
pub fn install() {
    INSTALL.call_once(|| {
        for (i, &sig) in SIGNALS.iter().enumerate() {
            // Raw libc: nix's sigaction cannot read the current action
            // without installing one, and the handler must find the action
            // it replaced from the moment it is installed.
            // SAFETY: a zeroed sigaction is valid and is filled in before
            // use; `on_fault` only makes async-signal-safe calls; PREVIOUS
            // is written here, inside call_once, before the handler that
            // reads it is installed for that signal.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_fault as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut previous) != 0 {
                    continue;
                }
                (*std::ptr::addr_of_mut!(PREVIOUS))[i] = Some(previous);
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
    });
}

/// A module's name for the crash report, made once per module (it lives
/// as long as ptsnap: a parked thread may still be in that module).
pub fn module_name(description: &str) -> &'static CStr {
    Box::leak(CString::new(description.replace('\0', "?")).unwrap_or_default().into_boxed_c_str())
}

/// Names the module whose code runs next (for the crash report).
pub fn set_module(name: &'static CStr) {
    CRASH_MODULE.store(name.as_ptr().cast_mut(), Ordering::SeqCst);
}

/// Runs `f` (a call into module code) with crashes contained.
pub fn run_native<R>(f: impl FnOnce() -> R) -> R {
    struct Clear(c_int);
    impl Drop for Clear {
        fn drop(&mut self) {
            NATIVE_TID.store(self.0, Ordering::SeqCst);
        }
    }
    install();
    let tid = gettid().as_raw();
    let outer = NATIVE_TID.swap(tid, Ordering::SeqCst);
    let _clear = Clear(outer);
    f()
}

/// The crash of a module's code, if one crashed and it was not reported
/// yet: which module and how.
pub fn crashed() -> Option<String> {
    let sig = CRASH_SIGNAL.load(Ordering::SeqCst);
    if sig == 0 || REPORTED.swap(true, Ordering::SeqCst) {
        return None;
    }
    let module = CRASH_MODULE.load(Ordering::SeqCst);
    let name = if module.is_null() {
        "a C pmodule".to_string()
    } else {
        // SAFETY: a string of module_name, which is never freed.
        unsafe { CStr::from_ptr(module) }.to_string_lossy().into_owned()
    };
    Some(format!(
        "{name} crashed ({}); its thread was stopped and the target released",
        crate::process::signals::name(sig)
    ))
}

extern "C" fn on_fault(sig: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // Only async-signal-safe calls below: gettid, pause, sigaction, raise.
    if NATIVE_TID.load(Ordering::SeqCst) == gettid().as_raw() {
        CRASH_SIGNAL.store(sig, Ordering::SeqCst);
        loop {
            pause();
        }
    }
    // SAFETY: PREVIOUS is written only by `install`, for each signal
    // before this handler is installed for it, and only read after.
    let previous = SIGNALS.iter().position(|&s| s == sig).and_then(|i| unsafe { (*std::ptr::addr_of!(PREVIOUS))[i] });
    match previous {
        Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
            if p.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: with SA_SIGINFO the kernel calls sa_sigaction as
                // this three-argument handler, so it is one.
                let handler = unsafe {
                    std::mem::transmute::<usize, extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void)>(
                        p.sa_sigaction,
                    )
                };
                handler(sig, info, context);
            } else {
                // SAFETY: without SA_SIGINFO it is a one-argument handler.
                let handler = unsafe { std::mem::transmute::<usize, extern "C" fn(c_int)>(p.sa_sigaction) };
                handler(sig);
            }
        }
        _ => {
            // The default action: once this handler returns, the
            // signal (a fault recurs; a sent one is raised again) kills.
            let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
            if let Ok(signal) = Signal::try_from(sig) {
                // SAFETY: installs no handler function.
                let _ = unsafe { sigaction(signal, &default) };
                let _ = raise(signal);
            }
        }
    }
}
