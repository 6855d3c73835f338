//! Stopping every thread of a process, and always letting it go again.
//!
//! [`StoppedProcess::stop_all`] seizes (or, for a process ptsnap already
//! traces, interrupts) each thread in `/proc/PID/task`, waits for it to stop
//! and lists the tasks again until no new thread appears, so threads created
//! during the attach are caught. It records each thread's name and
//! scheduler state from before the stop, and the signal it may have been
//! about to receive so that the signal is delivered, not lost, on release.
//!
//! Releasing happens in `Drop` too, so ptsnap's own errors, panics and
//! interruptions (SIGINT, SIGTERM) never leave the target stopped.

use std::collections::{HashMap, HashSet};
use std::io;
use std::time::{Duration, Instant};

use nix::sys::ptrace::Options;

use super::ProcessError;
use super::procfs;
use super::ptrace::{self, WaitEvent};
use super::signals;
use crate::arch::CpuState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A process ptsnap attaches to: PTRACE_SEIZE each thread, detach after.
    Attach,
    /// A process ptsnap already traces (run mode): interrupt, continue after.
    Traced,
}

#[derive(Clone)]
pub struct StoppedThread {
    pub tid: i32,
    pub name: String,
    /// Scheduler state letter before ptsnap stopped the thread.
    pub state: char,
    /// Signal to deliver on release (from a signal-delivery-stop).
    pub pending_signal: i32,
    pub stop: WaitEvent,
    /// The signal's `siginfo_t` as bytes (plain data that can be sent to
    /// the worker thread), for a thread in signal-delivery-stop.
    pub siginfo: Option<[u8; 128]>,
    pub cpu: CpuState,
}

/// A thread that did not stop in time, with its stat as read when ptsnap
/// gave up on it (a thread in disk wait shows state 'D'), or a thread that
/// has exited and cannot be stopped at all (state 'Z': a main thread that
/// called `pthread_exit` while the others run on).
#[derive(Clone)]
pub struct LateThread {
    pub tid: i32,
    pub stat: Option<procfs::Stat>,
    /// Where in the kernel it is (empty unless ptsnap runs as root).
    pub kernel_stack: Vec<String>,
}

impl LateThread {
    pub fn is_zombie(&self) -> bool {
        self.stat.as_ref().is_some_and(|s| s.state == 'Z')
    }
}

/// How long one batch of threads may take to stop when no --timeout is
/// sooner.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// How often the alarm that bounds a batch's waits repeats once it has
/// fired.
const ALARM_REPEAT: Duration = Duration::from_millis(5);

pub struct StoppedProcess {
    pub pid: i32,
    pub threads: Vec<StoppedThread>,
    /// Threads that could not be stopped or read, with the reason.
    pub problems: Vec<(i32, String)>,
    /// Threads asked to stop that had not stopped when time ran out.
    pub late: Vec<LateThread>,
    mode: Mode,
    released: bool,
}

impl StoppedProcess {
    /// Stops every thread of `pid`. `already` lists threads that are in a
    /// ptrace-stop ptsnap has already waited for (run mode's fault thread);
    /// `seen`, the threads' stats read just before the stop
    /// ([`procfs::read_thread_stats`]), taken as their name and state
    /// before it (a thread not in it is read as it is met).
    pub fn stop_all(
        pid: i32,
        mode: Mode,
        already: &[(i32, WaitEvent)],
        mut seen: HashMap<i32, procfs::Stat>,
        deadline: Option<Instant>,
    ) -> Result<Self, ProcessError> {
        let mut stopped =
            StoppedProcess { pid, threads: Vec::new(), problems: Vec::new(), late: Vec::new(), mode, released: false };
        let mut known: HashSet<i32> = HashSet::new();
        for &(tid, stop) in already {
            known.insert(tid);
            // It was running until the event that stopped it (a fault).
            let stat = procfs::read_thread_stat(pid, tid).map(|s| procfs::Stat { state: 'R', ..s });
            stopped.push_thread(tid, stop, stat);
        }
        loop {
            let tids = procfs::list_tasks(pid).map_err(|_| ProcessError::gone(pid, stopped.threads.is_empty()))?;
            let new: Vec<i32> = tids.into_iter().filter(|t| known.insert(*t)).collect();
            if new.is_empty() {
                break;
            }
            let mut pending = Vec::new();
            for tid in new {
                let before = seen.remove(&tid).or_else(|| procfs::read_thread_stat(pid, tid));
                if before.as_ref().is_some_and(|s| s.state == 'Z') {
                    stopped.problems.push((tid, "the thread has exited (zombie)".into()));
                    stopped.late.push(LateThread { tid, stat: before, kernel_stack: Vec::new() });
                    continue;
                }
                match stopped.request_stop(tid) {
                    Ok(()) => pending.push((tid, before)),
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => continue,
                    Err(e) if stopped.threads.is_empty() && pending.is_empty() => {
                        return Err(ProcessError::attach(pid, e));
                    }
                    Err(e) => stopped.problems.push((tid, format!("cannot stop thread: {e}"))),
                }
            }
            // A thread in uninterruptible sleep (state D) stops only when it
            // leaves it; the snapshot does not wait for it longer than this.
            let grace = Instant::now() + STOP_GRACE;
            let batch_deadline = deadline.map_or(grace, |d| d.min(grace));
            // One alarm for the whole batch (two system calls per thread
            // add up over a thousand threads), repeating so that a wait
            // begun just after it fired is woken too.
            let left = batch_deadline.saturating_duration_since(Instant::now());
            signals::arm_alarm(left.as_secs_f64(), ALARM_REPEAT.as_secs_f64());
            let waited = stopped.collect_batch(pid, pending, deadline, batch_deadline);
            signals::arm_alarm(0.0, 0.0);
            waited?;
        }
        if stopped.threads.is_empty() {
            let zombie = !stopped.late.is_empty() && stopped.late.iter().all(LateThread::is_zombie);
            if zombie || stopped.late.is_empty() {
                return Err(if zombie { ProcessError::Zombie(pid) } else { ProcessError::ProcessExited(pid) });
            }
        }
        stopped.threads.sort_by_key(|t| (t.tid != pid, t.tid));
        stopped.read_registers();
        Ok(stopped)
    }

    /// Waits for the threads asked to stop, until `batch_deadline`, with
    /// the alarm armed.
    fn collect_batch(
        &mut self,
        pid: i32,
        pending: Vec<(i32, Option<procfs::Stat>)>,
        deadline: Option<Instant>,
        batch_deadline: Instant,
    ) -> Result<(), ProcessError> {
        for (tid, before) in pending {
            match wait_for_stop(tid, batch_deadline)? {
                WaitOutcome::Stopped(stop) => self.push_thread(tid, stop, before),
                WaitOutcome::Gone => {}
                WaitOutcome::TimedOut => {
                    let now = procfs::read_thread_stat(pid, tid).or(before);
                    let state = now.as_ref().map_or("unknown", |s| procfs::state_name(s.state));
                    let why = if deadline.is_some_and(|d| Instant::now() >= d) {
                        "before the timeout".to_string()
                    } else {
                        format!("within {} s", STOP_GRACE.as_secs())
                    };
                    self.problems.push((tid, format!("did not stop {why} (state: {state})")));
                    let kernel_stack = procfs::kernel_stack(pid, tid);
                    self.late.push(LateThread { tid, stat: now, kernel_stack });
                }
            }
        }
        Ok(())
    }

    fn request_stop(&self, tid: i32) -> io::Result<()> {
        if self.mode == Mode::Attach {
            ptrace::seize(tid, Options::empty())?;
        }
        ptrace::interrupt(tid)
    }

    /// Records a stopped thread; `stat` was read before it was stopped.
    fn push_thread(&mut self, tid: i32, stop: WaitEvent, stat: Option<procfs::Stat>) {
        let pending_signal = match stop {
            WaitEvent::Signal(sig) => sig,
            _ => 0,
        };
        self.threads.push(StoppedThread {
            tid,
            name: stat.as_ref().map(|s| s.comm.clone()).unwrap_or_default(),
            state: stat.map_or('?', |s| s.state),
            pending_signal,
            stop,
            siginfo: (pending_signal != 0).then(|| ptrace::get_siginfo_bytes(tid).ok()).flatten(),
            cpu: CpuState::default(),
        });
    }

    fn read_registers(&mut self) {
        for t in &mut self.threads {
            match ptrace::get_regs(t.tid) {
                Ok(r) => t.cpu.general = Some(r),
                Err(e) => self.problems.push((t.tid, format!("cannot read registers: {e}"))),
            }
            t.cpu.vector = ptrace::get_fpregs(t.tid).ok();
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn thread(&self, tid: i32) -> Option<&StoppedThread> {
        self.threads.iter().find(|t| t.tid == tid)
    }

    /// Lets every thread run again. In attach mode threads are detached,
    /// with any signal they were about to receive; in traced mode they are
    /// continued with it (so a fatal signal now kills the process).
    pub fn release(mut self) {
        self.release_threads();
    }

    fn release_threads(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        for t in &self.threads {
            self.resume(t.tid, t.pending_signal);
        }
        // A late thread that has stopped by now is released like the rest;
        // one still running is released by the kernel when ptsnap exits.
        for tid in self.late.iter().map(|l| l.tid) {
            match ptrace::wait_nohang(tid) {
                Ok(Some((_, WaitEvent::Signal(sig)))) => self.resume(tid, sig),
                Ok(Some((_, WaitEvent::Exited(_) | WaitEvent::Killed(_)))) => {}
                Ok(Some(_)) => self.resume(tid, 0),
                _ => {}
            }
        }
    }

    fn resume(&self, tid: i32, sig: i32) {
        let _ = match self.mode {
            Mode::Attach => ptrace::detach(tid, sig),
            Mode::Traced => ptrace::cont(tid, sig),
        };
    }
}

impl Drop for StoppedProcess {
    fn drop(&mut self) {
        self.release_threads();
    }
}

enum WaitOutcome {
    Stopped(WaitEvent),
    /// The thread exited.
    Gone,
    TimedOut,
}

/// Waits until `tid` is in a ptrace-stop, at most until `deadline`, which
/// the caller's alarm bounds (it interrupts the blocking wait). A thread
/// that has stopped by then is collected even if the deadline has passed
/// (an earlier thread may have used up the time).
fn wait_for_stop(tid: i32, deadline: Instant) -> Result<WaitOutcome, ProcessError> {
    let outcome = |result: std::io::Result<(i32, WaitEvent)>| match result {
        Ok((_, WaitEvent::Exited(_) | WaitEvent::Killed(_))) => Some(WaitOutcome::Gone),
        Ok((_, stop)) => Some(WaitOutcome::Stopped(stop)),
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => None,
        Err(_) => Some(WaitOutcome::Gone),
    };
    loop {
        if let Some(sig) = signals::termination_requested() {
            return Err(ProcessError::Interrupted(sig));
        }
        if Instant::now() >= deadline {
            return Ok(match ptrace::wait_nohang(tid) {
                Ok(None) => WaitOutcome::TimedOut,
                Ok(Some(r)) => outcome(Ok(r)).unwrap_or(WaitOutcome::TimedOut),
                Err(e) => outcome(Err(e)).unwrap_or(WaitOutcome::TimedOut),
            });
        }
        let result = ptrace::wait(tid);
        if let Some(done) = outcome(result) {
            return Ok(done);
        }
    }
}

/// Facts for the attach error message: who traces the process already.
pub fn tracer_of(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    procfs::status_field(&status, "TracerPid")?.parse().ok().filter(|&t| t != 0)
}
