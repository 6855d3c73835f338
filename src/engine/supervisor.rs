//! The supervisor: the thread that owns the ptrace stops. It stops the
//! process, lets the [`Worker`] extract, and releases the target at the
//! first of: the worker is done with the stopped process, `--max-pause`
//! after the stop, `--timeout` after the start, or a SIGINT/SIGTERM/SIGHUP
//! to ptsnap. Nothing the worker does can delay that: the supervisor waits
//! on a channel in short slices, and only it touches ptrace.
//!
//! After the release the worker finishes (the modules' `unload`) within
//! the time left to `--timeout`, or [`AFTER_RELEASE`] without one, or
//! [`WRAP_UP`] after a cut; past that it is abandoned and
//! the supervisor writes what the shared snapshot holds. Threads that were
//! stopped but not extracted are listed with their registers and the
//! reason, so a cut snapshot says exactly what it lacks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::debuginfo::ModuleSet;
use crate::debuginfo::debuginfod::{self, FetchError};
use crate::debuginfo::store::FileStore;
use crate::options::Options;
use crate::process::ProcessError;
use crate::process::procfs::{self, ProcessInfo};
use crate::process::run::CrashStop;
use crate::process::signals;
use crate::process::stopper::{LateThread, Mode, StoppedProcess};
use crate::snapshot::{self, ErrorEntry, Registers, Snapshot, Thread, UnwindStop, writer};

use super::extract::FaultHint;
use super::input::{Inferior, ThreadState};
use super::live::{LiveProcess, LiveSource};
use super::worker::{Assignment, FromWorker, ToWorker, Worker};
use super::{Cut, Error, Written};

/// How long the worker may take after the release when there is no
/// `--timeout` (modules' `postattach`, the module list).
pub const AFTER_RELEASE: Duration = Duration::from_secs(10);
/// How long ptsnap waits, after writing the snapshot, for the section
/// cache to be saved (inflating the rest of big sections can take that).
const CACHE_SAVE: Duration = Duration::from_secs(2);
/// How long a cut worker gets to wrap up before the snapshot is written
/// without it.
pub const WRAP_UP: Duration = Duration::from_millis(500);
/// How long debug files may be fetched from debuginfod servers before the
/// target is stopped (attach mode, and at most half of `--timeout`; in run
/// mode the pause bounds it).
pub const DEBUGINFOD_LIMIT: Duration = Duration::from_secs(30);
/// How old the threads' stats read while the modules load may be at the
/// stop; older (a slow `preattach`), they are read again.
const STATS_FRESH: Duration = Duration::from_millis(50);
/// How often the supervisor looks at ptsnap's signals while it waits.
const POLL: Duration = Duration::from_millis(5);
/// How long the supervisor waits for the snapshot's lock, held by the
/// worker only for a push or a module's API call.
const LOCK_WAIT: Duration = Duration::from_millis(200);

/// Snapshots a running process and leaves it running.
pub fn snapshot_process(opts: &Options, pid: i32) -> Result<Written, Error> {
    let started = Instant::now();
    // A thread's id is taken for its process's (read again only then).
    let first = ProcessInfo::read(pid).map_err(|_| ProcessError::NoSuchProcess(pid))?;
    let tgid = first.tgid;
    let info = match tgid == pid {
        true => first,
        false => ProcessInfo::read(tgid).map_err(|_| ProcessError::NoSuchProcess(tgid))?,
    };
    let clock = Clock::new(opts, started);
    let hint = match opts.fault_thread {
        Some(tid) => FaultHint::Thread(tid),
        None if opts.faulted => FaultHint::Search,
        None => FaultHint::None,
    };
    let via = procfs::live_task(tgid).unwrap_or(tgid);
    let was_zombie = info.state == 'Z';
    let source = Arc::new(LiveSource { via });
    let state = procfs::state_name(info.state);
    let task = Assignment { opts: opts.clone(), info, state, pid: tgid, source, hint, prefetch: true, modules: true };
    let mut notes = fetch_debug_files(opts, &LiveProcess::new(via), clock.debuginfod_deadline(started))?;
    // What each thread is doing, read before the pause (on a thousand
    // threads that is several ms the target need not spend stopped) while
    // the worker loads the modules; again if their `preattach` took long.
    let read_at = Instant::now();
    let read_stats = || procfs::read_thread_stats(tgid);
    let (worker, more, mut seen) = start_prepared(task.clone(), clock.pause_deadline(Instant::now()), read_stats)?;
    if read_at.elapsed() > STATS_FRESH {
        seen = procfs::read_thread_stats(tgid);
    }
    notes.extend(more);
    let paused_at = Instant::now();
    let stopped = match StoppedProcess::stop_all(tgid, Mode::Attach, &[], seen, Some(clock.pause_deadline(paused_at))) {
        // It was alive when ptsnap looked first (main thread apart).
        Err(ProcessError::Zombie(_)) if !was_zombie || via != tgid => Err(ProcessError::ProcessExited(tgid)),
        other => other,
    }?;
    if let Some(tid) = opts.fault_thread
        && stopped.thread(tid).is_none()
    {
        return Err(Error::NoSuchThread { tid, pid: tgid });
    }
    supervise(&task, worker, Held::live(stopped), notes, paused_at, &clock)
}

/// Snapshots a traced process stopped at a fatal signal (run mode); the
/// signal is delivered when this returns.
pub fn snapshot_crash(opts: &Options, crash: CrashStop) -> Result<Written, Error> {
    let started = Instant::now();
    let mut info = ProcessInfo::read(crash.pid).map_err(|_| ProcessError::ProcessExited(crash.pid))?;
    // /proc now says "traced"; the process was running when it faulted.
    info.state = 'R';
    let clock = Clock::new(opts, started);
    let hint = FaultHint::Thread(crash.tid);
    let via = procfs::live_task(crash.pid).unwrap_or(crash.tid);
    let source = Arc::new(LiveSource { via });
    let state = procfs::state_name(info.state);
    let task =
        Assignment { opts: opts.clone(), info, state, pid: crash.pid, source, hint, prefetch: false, modules: true };
    // The process is stopped already: fetching counts towards the pause.
    let mut notes = fetch_debug_files(opts, &LiveProcess::new(via), clock.pause_deadline(crash.seen))?;
    let (worker, more, ()) = start_prepared(task.clone(), clock.pause_deadline(crash.seen), || ())?;
    notes.extend(more);
    supervise(&task, worker, Held::live(crash.stopped), notes, crash.seen, &clock)
}

/// What the supervisor holds while the worker extracts: the threads, and
/// how to let them go (a live process's stop; nothing for a core).
pub(super) struct Held {
    pub pid: i32,
    pub threads: Vec<ThreadState>,
    /// Threads that did not stop, and problems with some that did.
    pub late: Vec<LateThread>,
    pub problems: Vec<(i32, String)>,
    /// None for a core: nothing is stopped.
    pub mode: Option<Mode>,
    /// Lets the process go; dropping it unused does too.
    pub release: Box<dyn FnOnce()>,
}

impl Held {
    fn live(stopped: StoppedProcess) -> Self {
        Held {
            pid: stopped.pid,
            threads: stopped.threads.iter().map(ThreadState::from).collect(),
            late: stopped.late.clone(),
            problems: stopped.problems.clone(),
            mode: Some(stopped.mode()),
            release: Box::new(move || stopped.release()),
        }
    }
}

/// The deadlines of one snapshot.
pub(super) struct Clock {
    started: Instant,
    max_pause: Duration,
    /// `--timeout` after the start (None: none, or too far to represent).
    end: Option<Instant>,
}

impl Clock {
    pub(super) fn new(opts: &Options, started: Instant) -> Self {
        Clock { started, max_pause: opts.max_pause, end: opts.timeout.and_then(|t| started.checked_add(t)) }
    }

    /// A clock with no pause limit, only `--timeout` (a core: nothing is
    /// stopped).
    pub(super) fn unpaused(opts: &Options, started: Instant) -> Self {
        Clock { max_pause: Duration::MAX, ..Clock::new(opts, started) }
    }

    /// When a pause that began at `paused_at` must end.
    pub(super) fn pause_deadline(&self, paused_at: Instant) -> Instant {
        let limit = paused_at.checked_add(self.max_pause).unwrap_or(paused_at + Duration::from_secs(86400));
        self.end.map_or(limit, |end| end.min(limit))
    }

    /// Until when debug files may be fetched before the stop: at most half
    /// of `--timeout`, so that the snapshot gets the other half.
    pub(super) fn debuginfod_deadline(&self, started: Instant) -> Instant {
        let limit = started + DEBUGINFOD_LIMIT;
        self.end.map_or(limit, |end| limit.min(started + (end - started) / 2))
    }

    /// Why a pause that began at `paused_at` was cut at its deadline.
    fn pause_cut(&self, paused_at: Instant) -> Cut {
        match self.end {
            Some(end) if end <= self.pause_deadline(paused_at) => Cut::Timeout,
            _ => Cut::PauseLimit,
        }
    }

    /// Until when the worker may go on saving the section cache once the
    /// snapshot is written.
    fn cache_deadline(&self) -> Instant {
        let limit = Instant::now() + CACHE_SAVE;
        self.end.map_or(limit, |end| end.min(limit))
    }

    /// Until when the worker may finish after a release at `released_at`.
    fn finish_deadline(&self, released_at: Instant, cut: bool) -> Instant {
        let floor = released_at + if cut { WRAP_UP } else { Duration::ZERO };
        match self.end {
            Some(end) => end.max(floor),
            None => released_at + if cut { WRAP_UP } else { AFTER_RELEASE },
        }
    }
}

/// Why a wait for the worker ended without the report it waited for.
enum Stall {
    Deadline,
    Signal(i32),
    Failed(Error),
    Panicked(String),
    /// A C module crashed in the worker (its thread is parked for good).
    ModuleCrash(String),
}

/// Waits for the worker's next report until `deadline`, looking at
/// ptsnap's signals every few milliseconds.
fn wait_for(worker: &Worker, deadline: Instant) -> Result<FromWorker, Stall> {
    loop {
        if let Some(sig) = signals::termination_requested() {
            return Err(Stall::Signal(sig));
        }
        if let Some(why) = crate::pmodule::native::guard::crashed() {
            return Err(Stall::ModuleCrash(why));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Stall::Deadline);
        }
        match worker.next(left.min(POLL)) {
            Ok(FromWorker::Failed(e)) => return Err(Stall::Failed(e)),
            Ok(FromWorker::Panicked(msg)) => return Err(Stall::Panicked(msg)),
            Ok(report) => return Ok(report),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Stall::Panicked("the worker ended without a report".into()));
            }
        }
    }
}

/// Starts a worker and waits until its modules are loaded and their
/// `preattach` has run, doing `meanwhile` on this thread in the meantime.
/// A `preattach` that does not return by `deadline` is abandoned with its
/// worker, and the snapshot is taken without modules by a new one
/// (recorded in `errors`).
pub(super) fn start_prepared<T>(
    task: Assignment,
    deadline: Instant,
    meanwhile: impl FnOnce() -> T,
) -> Result<(Worker, Vec<ErrorEntry>, T), Error> {
    let base = base_snapshot(&task);
    let worker = Worker::start(task.clone(), base.clone())?;
    let done = meanwhile();
    let why = match wait_for(&worker, deadline) {
        Ok(_) => return Ok((worker, Vec::new(), done)),
        Err(Stall::Signal(sig)) => return Err(ProcessError::Interrupted(sig).into()),
        Err(Stall::Failed(e)) => return Err(e),
        Err(Stall::Deadline) => "the pmodules' preattach did not return in time".to_string(),
        Err(Stall::Panicked(msg)) => format!("ptsnap's worker failed while loading the pmodules: {msg}"),
        Err(Stall::ModuleCrash(why)) => why,
    };
    worker.cut.store(true, Ordering::SeqCst);
    let plain = Worker::start(Assignment { modules: false, ..task }, base)?;
    match wait_for(&plain, Instant::now() + AFTER_RELEASE) {
        Ok(_) => {}
        Err(Stall::Signal(sig)) => return Err(ProcessError::Interrupted(sig).into()),
        Err(Stall::Failed(e)) => return Err(e),
        // (A crash now is the abandoned worker's, still in a module.)
        Err(Stall::Deadline | Stall::Panicked(_) | Stall::ModuleCrash(_)) => {
            return Err(ProcessError::Io {
                context: "starting the snapshot".into(),
                source: std::io::Error::other(why),
            }
            .into());
        }
    }
    let note =
        ErrorEntry { context: "pmodules".into(), message: format!("{why}; the snapshot was taken without modules") };
    Ok((plain, vec![note], done))
}

/// Fetches from debuginfod servers (when `DEBUGINFOD_URLS` is set) the
/// debug files of mapped modules that have none locally, on a thread of
/// its own, until `deadline`; they land in the client cache, where the
/// worker's lookup finds them. Failures become `errors` entries; a module
/// the servers do not have is not an error.
pub(super) fn fetch_debug_files(
    opts: &Options,
    inferior: &dyn Inferior,
    deadline: Instant,
) -> Result<Vec<ErrorEntry>, Error> {
    if !debuginfod::configured() {
        return Ok(Vec::new());
    }
    let wanted = {
        let (store, dirs) = (FileStore::new(), opts.debug_search());
        let maps = inferior.maps().unwrap_or_default();
        let modules = ModuleSet::from_maps(&maps, inferior, &store, &dirs, inferior);
        debuginfod::wanted(&modules)
    };
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let (to, from) = std::sync::mpsc::channel();
    let spawned = signals::with_handled_blocked(|| {
        std::thread::Builder::new().name("ptsnap-debuginfod".into()).spawn(move || {
            let _ = to.send(debuginfod::fetch(wanted, deadline));
        })
    });
    spawned.map_err(Error::Thread)?;
    let note = |message: String| ErrorEntry { context: "debuginfod".into(), message };
    loop {
        if let Some(sig) = signals::termination_requested() {
            return Err(ProcessError::Interrupted(sig).into());
        }
        // The transfer is cancelled at the deadline; give the library a
        // moment to return before it is abandoned.
        if Instant::now() >= deadline + POLL * 20 {
            return Ok(vec![note("the debuginfod servers did not answer in time".into())]);
        }
        match from.recv_timeout(POLL) {
            Ok(Err(e)) => return Ok(vec![note(e)]),
            Ok(Ok(fetched)) => {
                return Ok(fetched
                    .into_iter()
                    .filter_map(|(w, result)| match result {
                        Err(FetchError::Failed(why)) => {
                            Some(note(format!("{} (build id {}): {why}", w.path, w.build_id)))
                        }
                        _ => None,
                    })
                    .collect());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(Vec::new()),
        }
    }
}

/// From the stopped process (or a core's threads) to the written snapshot.
pub(super) fn supervise(
    task: &Assignment,
    worker: Worker,
    held: Held,
    mut notes: Vec<ErrorEntry>,
    paused_at: Instant,
    clock: &Clock,
) -> Result<Written, Error> {
    let (opts, pid) = (&task.opts, held.pid);
    // (Nothing is stopped for a core.)
    let stop_us = if held.mode.is_some() { paused_at.elapsed().as_micros() as u64 } else { 0 };
    check_threads(opts, &held, &mut notes)?;
    worker.send(ToWorker::Stopped(held.threads.clone()));
    // On an error `held` releases the target as it is dropped.
    let mut cut = await_extraction(&worker, clock, paused_at, &mut notes)?;
    if cut.is_some() {
        worker.cut.store(true, Ordering::SeqCst);
    }
    let Held { threads, late, problems, mode, release, .. } = held;
    notes.extend(problems.iter().map(|(tid, p)| ErrorEntry { context: format!("thread {tid}"), message: p.clone() }));
    release();
    let released_at = Instant::now();
    worker.send(ToWorker::Released);

    let finished = await_finish(&worker, clock.finish_deadline(released_at, cut.is_some()), &mut cut, &mut notes)?;
    let mut snap = take_snapshot(&worker, task);
    if !finished {
        notes.push(ErrorEntry {
            context: "worker".into(),
            message: "ptsnap's worker (a module or the debug info it was reading) did not finish in time after \
                      the release; the snapshot has what was gathered"
                .into(),
        });
    }
    if let Some(c) = &cut {
        // The threads' states were taken at the stop: their registers are
        // those of the stopped threads, whenever they are formatted.
        let shown: Vec<Unextracted> =
            threads.iter().filter(|t| opts.wants_thread(t.tid)).map(Unextracted::of).collect();
        list_unextracted(&mut snap, c, shown, opts);
    }
    list_late(&mut snap, &late, opts);
    if mode == Some(Mode::Attach)
        && snap.threads.iter().all(|t| t.frames.is_empty())
        && procfs::live_task(pid).is_none()
    {
        return Err(ProcessError::ProcessExited(pid).into());
    }
    snap.errors.splice(0..0, notes);
    snap.timings.stop_us = stop_us;
    snap.timings.paused_us = if mode.is_some() { (released_at - paused_at).as_micros() as u64 } else { 0 };
    // In run mode the pause began at the fault, before ptsnap's start.
    snap.timings.total_us = clock.started.min(paused_at).elapsed().as_micros() as u64;
    let path = output_path(opts, &task.info, pid);
    let written = writer::write_atomic(&snap, &path);
    drop_in_background(snap);
    if finished && cut.is_none() {
        // The worker keeps what it inflated in the section cache while the
        // snapshot is written; exiting before it is done loses only that.
        let _ = wait_for(&worker, clock.cache_deadline());
    }
    written.map_err(|source| Error::Write { path: path.clone(), source })?;
    Ok(Written { path, cut })
}

/// Frees a written snapshot on a thread of its own: hundreds of thousands
/// of variables take tens of milliseconds to free, which the caller (and a
/// crash handler or shell waiting for ptsnap) need not wait for. A process
/// that exits meanwhile lets the kernel take the memory back at once.
/// (When no thread can be had, `spawn` frees it as it returns the error.)
fn drop_in_background(snap: Snapshot) {
    let _ = std::thread::Builder::new().name("ptsnap-free".into()).spawn(move || drop(snap));
}

/// Waits for the worker to be done with the stopped process, until the
/// pause's deadline: None, or why the pause was cut (a worker that
/// failed is an error, one that panicked or whose module crashed a note).
fn await_extraction(
    worker: &Worker,
    clock: &Clock,
    paused_at: Instant,
    notes: &mut Vec<ErrorEntry>,
) -> Result<Option<Cut>, Error> {
    Ok(match wait_for(worker, clock.pause_deadline(paused_at)) {
        Ok(_) => None,
        // The report may have come in as the time ran out.
        Err(Stall::Deadline) if matches!(worker.next(Duration::ZERO), Ok(FromWorker::Extracted)) => None,
        Err(Stall::Deadline) => Some(clock.pause_cut(paused_at)),
        Err(Stall::Signal(sig)) => Some(Cut::Signal(sig)),
        Err(Stall::Failed(e)) => return Err(e),
        Err(Stall::Panicked(msg)) => {
            notes.push(internal_error(&msg));
            Some(Cut::Internal)
        }
        Err(Stall::ModuleCrash(why)) => {
            notes.push(module_crash(why));
            Some(Cut::ModuleCrash)
        }
    })
}

/// Waits for the worker to finish after the release, until `deadline`:
/// whether it did. A signal or a panic now cuts a snapshot that was not
/// cut yet; a failure is an error only then.
fn await_finish(
    worker: &Worker,
    deadline: Instant,
    cut: &mut Option<Cut>,
    notes: &mut Vec<ErrorEntry>,
) -> Result<bool, Error> {
    Ok(match wait_for(worker, deadline) {
        Ok(_) => true,
        Err(Stall::Failed(e)) if cut.is_none() => return Err(e),
        Err(Stall::Signal(sig)) if cut.is_none() => {
            *cut = Some(Cut::Signal(sig));
            false
        }
        Err(Stall::Panicked(msg)) => {
            notes.push(internal_error(&msg));
            cut.get_or_insert(Cut::Internal);
            false
        }
        Err(Stall::ModuleCrash(why)) => {
            notes.push(module_crash(why));
            false
        }
        Err(_) => false,
    })
}

/// A stopped thread as the snapshot lists it when the worker did not
/// extract it: what the stop gave.
struct Unextracted {
    tid: i32,
    registers: Registers,
    name: String,
    state: String,
}

impl Unextracted {
    fn of(t: &ThreadState) -> Self {
        let registers = t.cpu.snapshot_registers();
        Unextracted { tid: t.tid, registers, name: t.name.clone(), state: t.state.to_string() }
    }
}

/// After a cut: the error saying how many threads were extracted, and the
/// threads that were not, with their registers and the reason.
fn list_unextracted(snap: &mut Snapshot, cut: &Cut, shown: Vec<Unextracted>, opts: &Options) {
    let done = snap.threads.len();
    let message = format!(
        "{}: {done} of {} threads extracted; the process was released",
        cut.describe(opts.max_pause.as_secs_f64()),
        shown.len()
    );
    snap.errors.push(ErrorEntry { context: "cut".into(), message });
    let reason = UnwindStop::NotExtracted(cut.describe(opts.max_pause.as_secs_f64()));
    let extracted: Vec<i32> = snap.threads.iter().map(|t| t.tid).collect();
    for t in shown.into_iter().filter(|t| !extracted.contains(&t.tid)) {
        snap.threads.push(Thread {
            tid: t.tid,
            name: t.name,
            state: t.state,
            registers: t.registers,
            unwind_stop: Some(reason.clone()),
            ..Thread::default()
        });
    }
}

/// Threads that never stopped (in disk wait, say, or exited) are listed
/// with their state and no frames; `errors` says why.
fn list_late(snap: &mut Snapshot, late: &[LateThread], opts: &Options) {
    for l in late.iter().filter(|l| opts.wants_thread(l.tid)) {
        snap.threads.push(Thread {
            tid: l.tid,
            name: l.stat.as_ref().map(|s| s.comm.clone()).unwrap_or_default(),
            state: procfs::state_name(l.stat.as_ref().map_or('?', |s| s.state)).into(),
            unwind_stop: Some(UnwindStop::NotStopped),
            kernel_stack: l.kernel_stack.clone(),
            ..Thread::default()
        });
    }
}

/// `--thread` names threads of the process: an error when none is, an
/// `errors` entry for each that is not.
fn check_threads(opts: &Options, held: &Held, notes: &mut Vec<ErrorEntry>) -> Result<(), Error> {
    let known = |tid: i32| held.threads.iter().any(|t| t.tid == tid) || held.late.iter().any(|l| l.tid == tid);
    let missing: Vec<i32> = opts.threads.iter().copied().filter(|&t| !known(t)).collect();
    if !missing.is_empty() && missing.len() == opts.threads.len() {
        return Err(Error::NoSuchThreads { tids: missing, pid: held.pid });
    }
    for tid in missing {
        notes.push(ErrorEntry {
            context: "--thread".into(),
            message: format!("thread {tid} is not a thread of process {}", held.pid),
        });
    }
    Ok(())
}

/// The snapshot the worker built, taken out of the shared cell; if the
/// worker holds the lock and does not let go (it is stuck inside a call),
/// a snapshot with the process facts only.
fn take_snapshot(worker: &Worker, task: &Assignment) -> Snapshot {
    match worker.shared.try_lock_for(LOCK_WAIT) {
        Some(mut guard) => std::mem::take(&mut *guard),
        None => base_snapshot(task),
    }
}

fn module_crash(message: String) -> ErrorEntry {
    ErrorEntry { context: "pmodules".into(), message }
}

fn internal_error(msg: &str) -> ErrorEntry {
    ErrorEntry { context: "internal".into(), message: format!("ptsnap internal error (please report it): {msg}") }
}

fn base_snapshot(task: &Assignment) -> Snapshot {
    let (opts, info, pid) = (&task.opts, &task.info, task.pid);
    let mut snap = Snapshot {
        format: snapshot::FORMAT.into(),
        version: snapshot::VERSION,
        uuid: writer::new_uuid(),
        timestamp: writer::rfc3339(writer::unix_now()),
        generator: snapshot::Generator { name: "ptsnap".into(), version: env!("CARGO_PKG_VERSION").into() },
        application: opts.application.clone().or_else(|| exe_name(info)),
        process: snapshot::Process {
            pid,
            exe: info.exe.as_ref().map(|p| p.display().to_string()),
            cmdline: info.cmdline.clone(),
            cwd: info.cwd.as_ref().map(|p| p.display().to_string()),
            state: task.state.into(),
            ppid: info.ppid,
            uid: info.uid,
        },
        classifiers: opts.classifiers.clone(),
        ..Snapshot::default()
    };
    for (k, v) in &opts.kv {
        snap.kv.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    snap
}

fn exe_name(info: &ProcessInfo) -> Option<String> {
    let exe = info.exe.as_ref()?;
    let name = exe.file_name()?.to_string_lossy();
    Some(name.strip_suffix(" (deleted)").unwrap_or(&name).to_string())
}

fn output_path(opts: &Options, info: &ProcessInfo, pid: i32) -> PathBuf {
    if let Some(p) = &opts.output {
        return p.clone();
    }
    let name = format!("{}.{pid}.{}.json", exe_name(info).unwrap_or_else(|| "process".into()), writer::unix_now());
    opts.output_dir.as_deref().unwrap_or(Path::new(".")).join(name)
}
