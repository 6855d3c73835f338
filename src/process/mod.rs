//! Everything that touches ptrace and /proc: stopping and releasing a
//! process, reading its registers and memory, and running a program under
//! ptsnap until it crashes. Nothing outside this module calls ptrace.

pub mod procfs;
pub(crate) mod ptrace;
pub(crate) mod remote_memory;
pub mod run;
pub mod signals;
pub(crate) mod stopper;

use std::io;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProcessError {
    #[error("no process with PID {0}")]
    NoSuchProcess(i32),
    #[error(
        "permission denied attaching to PID {0}: run ptsnap as root or with CAP_SYS_PTRACE, \
         or allow tracing with `sysctl kernel.yama.ptrace_scope=0`"
    )]
    Permission(i32),
    #[error("PID {0} is a kernel thread; only user processes can be snapshotted")]
    KernelThread(i32),
    #[error("PID {0} is a zombie: it has exited and its parent has not reaped it; there is nothing to snapshot")]
    Zombie(i32),
    #[error("PID {pid} is already traced by PID {tracer} (a debugger?); detach it first")]
    AlreadyTraced { pid: i32, tracer: i32 },
    #[error("process {0} exited during the snapshot")]
    ProcessExited(i32),
    #[error("interrupted by {}", signals::name(*.0))]
    Interrupted(i32),
    #[error("cannot attach to PID {pid}: {source}")]
    Attach { pid: i32, source: io::Error },
    #[error("cannot run {command}: {source}")]
    Spawn { command: String, source: io::Error },
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

impl ProcessError {
    /// The error for a failed first PTRACE_SEIZE, with the likely cause.
    pub fn attach(pid: i32, e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc::ESRCH) => ProcessError::NoSuchProcess(pid),
            Some(libc::EPERM) => {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
                let stat = stat.as_deref().and_then(procfs::parse_stat);
                match (stat, stopper::tracer_of(pid)) {
                    (Some(s), _) if s.is_kernel_thread() => ProcessError::KernelThread(pid),
                    (Some(s), _) if s.state == 'Z' => ProcessError::Zombie(pid),
                    (_, Some(tracer)) => ProcessError::AlreadyTraced { pid, tracer },
                    _ => ProcessError::Permission(pid),
                }
            }
            _ => ProcessError::Attach { pid, source: e },
        }
    }

    /// The error when /proc/PID/task cannot be read.
    pub fn gone(pid: i32, before_attach: bool) -> Self {
        if before_attach { ProcessError::NoSuchProcess(pid) } else { ProcessError::ProcessExited(pid) }
    }
}
