//! What a snapshot is taken of, as the worker reads it: a live process
//! stopped by the supervisor, or a core dump. The worker extracts from
//! these and does not know which it has; stopping and releasing a live
//! process stays with the supervisor.
//!
//! A [`Source`] crosses to the worker's thread and opens there the
//! [`Inferior`] it reads (memory, the memory map, the mapped files), whose
//! caches belong to that thread. The threads' states come with the
//! supervisor's `Stopped` message as [`ThreadState`]s, and the process
//! facts with the worker's assignment, for both kinds of input.

use std::io;
use std::rc::Rc;

use crate::arch::CpuState;
use crate::debuginfo::MappedFiles;
use crate::memory::Memory;
use crate::process::procfs::{self, Mapping};
use crate::process::ptrace::WaitEvent;
use crate::process::stopper::StoppedThread;

/// Opens the input on the worker's thread.
pub trait Source: Send + Sync {
    fn open(&self) -> Rc<dyn Inferior>;
}

/// The input's memory, memory map and mapped files.
pub trait Inferior: Memory + MappedFiles {
    /// Forgets cached memory: a live process's pages may change whenever
    /// it runs, and one thread's stack pages are not needed for the next.
    fn forget(&self);
    /// The memory map, in address order.
    fn maps(&self) -> io::Result<Vec<Mapping>>;
}

/// A signal a thread was stopped at (its frame 0 was interrupted by it).
#[derive(Clone, Debug)]
pub struct StopSignal {
    /// The raw `siginfo_t`.
    pub info: [u8; 128],
    /// Where it was seen, for the snapshot's `fault.signal.source`.
    pub source: &'static str,
}

/// One thread's state at the snapshot.
#[derive(Clone)]
pub struct ThreadState {
    pub tid: i32,
    pub name: String,
    /// The snapshot's state name (`sleeping`, `core`, ...).
    pub state: &'static str,
    pub cpu: CpuState,
    pub signal: Option<StopSignal>,
}

impl From<&StoppedThread> for ThreadState {
    fn from(t: &StoppedThread) -> Self {
        let signal = match (t.stop, t.siginfo) {
            (WaitEvent::Signal(_), Some(info)) => Some(StopSignal { info, source: "signal-delivery-stop" }),
            _ => None,
        };
        ThreadState { tid: t.tid, name: t.name.clone(), state: procfs::state_name(t.state), cpu: t.cpu, signal }
    }
}
