//! The snapshot pipeline: from a running or crashed process to a written
//! snapshot, with the target's pause bounded whatever happens.
//!
//! Two threads share the work. The supervisor ([`supervisor`], the thread
//! that called in, which owns every ptrace stop) stops the process, hands
//! the stopped threads to the worker, waits for it with a deadline and
//! releases the target at that deadline, on ptsnap's SIGINT/SIGTERM, or
//! as soon as the worker is done, whichever is first. The worker
//! ([`worker`]) does everything that only reads the target (memory through
//! process_vm_readv, debug info, modules): a module or a parser stuck in
//! it can hold up neither the release nor, past `--timeout`, ptsnap's
//! exit. Every failure that concerns one thread, frame or module is
//! recorded in the snapshot's `errors` and the snapshot goes on.

mod dump;
mod extract;
pub(crate) mod input;
mod live;
mod prefault;
mod supervisor;
mod variables;
mod worker;

use std::path::PathBuf;

use thiserror::Error;

use crate::coredump::CoreError;
use crate::pmodule::PmoduleError;
use crate::process::ProcessError;
use crate::process::signals;

pub use dump::{CORE_STATE, snapshot_core};
pub use live::LiveProcess;
pub use supervisor::{snapshot_crash, snapshot_process};

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Target(#[from] ProcessError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("cannot write the snapshot to {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("thread {tid} given to --fault-thread is not a thread of process {pid}")]
    NoSuchThread { tid: i32, pid: i32 },
    #[error("no thread given to --thread ({}) is a thread of process {pid}", list(.tids))]
    NoSuchThreads { tids: Vec<i32>, pid: i32 },
    #[error(transparent)]
    Pmodule(#[from] PmoduleError),
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
}

fn list(tids: &[i32]) -> String {
    tids.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
}

/// A snapshot written to `path`; `cut` says why it may be partial.
#[derive(Debug)]
pub struct Written {
    pub path: PathBuf,
    pub cut: Option<Cut>,
}

/// Why the target was released before the snapshot was complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cut {
    /// `--max-pause` ran out.
    PauseLimit,
    /// `--timeout` ran out.
    Timeout,
    /// ptsnap received SIGINT, SIGTERM or SIGHUP.
    Signal(i32),
    /// ptsnap's worker panicked (a bug); the message is in `errors`.
    Internal,
    /// A C pmodule crashed; which and how is in `errors`.
    ModuleCrash,
}

impl Cut {
    /// What happened, for the snapshot's `errors` and for stderr.
    pub fn describe(&self, max_pause_secs: f64) -> String {
        match self {
            Cut::PauseLimit => format!("the pause limit (--max-pause {max_pause_secs} s) was reached"),
            Cut::Timeout => "--timeout reached".into(),
            Cut::Signal(sig) => format!("interrupted by {}", signals::name(*sig)),
            Cut::Internal => "ptsnap had an internal error".into(),
            Cut::ModuleCrash => "a C pmodule crashed".into(),
        }
    }
}
