//! The worker: the part of a snapshot that reads the target but never
//! stops or releases it, on a thread of its own.
//!
//! It loads the pmodules and runs `preattach`, waits for the supervisor's
//! stopped threads, walks, symbolizes and reads the variables of each one
//! into the [`Shared`] snapshot (a thread is added whole, under the lock
//! for no longer than a push), raises the modules' events up to
//! `postattach`, and after the release runs the modules' `unload`. It reads
//! memory with process_vm_readv, which needs no ptrace stop, so the
//! supervisor can release the target while the worker is still busy.
//!
//! When the supervisor cuts the pause it sets the `cut` flag: the worker
//! stops extracting at the next thread, gives the threads it has walked
//! their raw frames only, and module callbacks running then are
//! interrupted by the host. Anything that never returns (a C call inside
//! Lua, a parser bug) is abandoned with the thread when the supervisor's
//! time for the worker runs out (`--timeout`, else the bounds in
//! [`super::supervisor`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::debuginfo::ModuleSet;
use crate::debuginfo::prefetch::Prefetch;
use crate::debuginfo::store::{FileStore, InflatedSections};
use crate::options::Options;
use crate::pmodule::Host;
use crate::pmodule::Shared;
use crate::pmodule::services::Services;
use crate::process::ProcessError;
use crate::process::procfs::Mapping;
use crate::process::procfs::ProcessInfo;
use crate::process::signals;
use crate::snapshot::{Annotation, AnnotationLevel, ErrorEntry, Snapshot, Thread};
use crate::symbolize::Symbolizer;

use super::Error;
use super::extract::{FaultHint, Walked, find_fault, memory_mapping, module_info, render_thread, walk_thread};
use super::input::{Inferior, Source, ThreadState};
use super::variables::VariableReader;
use crate::variables::OriginNumbers;

/// The worker's stack: deep enough that recursion over hostile debug info
/// hits the parsers' own depth limits long before it (virtual memory only).
const STACK_SIZE: usize = 256 << 20;

/// What the worker is asked to do.
#[derive(Clone)]
pub struct Assignment {
    pub opts: Options,
    pub info: ProcessInfo,
    /// The process's state for the snapshot (a core's is `core`).
    pub state: &'static str,
    pub pid: i32,
    /// What the worker reads: the live process or a core.
    pub source: Arc<dyn Source>,
    pub hint: FaultHint,
    /// Inflate debug sections on the second core while the threads are
    /// being stopped (attach mode; in run mode they are stopped already).
    pub prefetch: bool,
    /// Load the pmodules (off when a module's `preattach` did not return).
    pub modules: bool,
}

/// The supervisor's messages.
pub enum ToWorker {
    /// The process is stopped; these threads are to be extracted.
    Stopped(Vec<ThreadState>),
    /// The process runs again (or, in run mode, is dying of its signal).
    Released,
}

/// The worker's reports, in this order.
pub enum FromWorker {
    /// Modules loaded, `preattach` done: the process may be stopped.
    Prepared,
    /// Everything that needs the stopped process is done.
    Extracted,
    /// The snapshot in `shared` is complete.
    Done,
    /// The snapshot cannot be taken (the process is gone, a module setup
    /// error); nothing follows.
    Failed(Error),
    /// The worker panicked: a bug in ptsnap, with its message.
    Panicked(String),
    /// After `Done`: the sections inflated for the snapshot are in the
    /// section cache.
    CacheSaved,
}

/// The supervisor's handle on a running worker.
pub struct Worker {
    to: Sender<ToWorker>,
    from: Receiver<FromWorker>,
    pub shared: Shared,
    /// Set by the supervisor when it cuts the pause; read by the worker
    /// between threads and by the module host between Lua instructions.
    pub cut: Arc<AtomicBool>,
}

impl Worker {
    /// Starts a worker on `snap`, with ptsnap's signals blocked in it so
    /// that they reach the supervisor.
    pub fn start(task: Assignment, snap: Snapshot) -> Result<Worker, Error> {
        let shared = Shared::new(snap);
        let cut = Arc::new(AtomicBool::new(false));
        let (to, inbox) = channel();
        let (outbox, from) = channel();
        let (s, c) = (shared.clone(), cut.clone());
        let spawned = signals::with_handled_blocked(|| {
            std::thread::Builder::new()
                .name("ptsnap-worker".into())
                .stack_size(STACK_SIZE)
                .spawn(move || run(task, &s, &c, &inbox, &outbox))
        });
        spawned.map_err(Error::Thread)?;
        Ok(Worker { to, from, shared, cut })
    }

    pub fn send(&self, message: ToWorker) {
        // A worker that has ended has nothing left to do with it.
        let _ = self.to.send(message);
    }

    /// The worker's next report, waiting at most `wait`.
    pub fn next(&self, wait: Duration) -> Result<FromWorker, RecvTimeoutError> {
        self.from.recv_timeout(wait)
    }
}

fn run(
    task: Assignment,
    shared: &Shared,
    cut: &Arc<AtomicBool>,
    inbox: &Receiver<ToWorker>,
    outbox: &Sender<FromWorker>,
) {
    let inflated = Arc::new(InflatedSections::with_cache(task.opts.section_cache.clone()));
    let report = match catch_unwind(AssertUnwindSafe(|| pipeline(task, &inflated, shared, cut, inbox, outbox))) {
        Ok(Ok(Ended::Reported)) => return,
        Ok(Ok(Ended::GivenUp)) => FromWorker::Done,
        Ok(Err(e)) => FromWorker::Failed(e),
        Err(payload) => FromWorker::Panicked(
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default(),
        ),
    };
    match report {
        FromWorker::Done => report_done(&inflated, outbox),
        report => {
            let _ = outbox.send(report);
        }
    }
}

/// How the worker's job ended without an error.
enum Ended {
    /// Done to the end, and said so.
    Reported,
    /// The supervisor gave up on it.
    GivenUp,
}

/// Says the snapshot is complete; then, while the supervisor writes it,
/// keeps what was inflated in the section cache for the next run.
fn report_done(inflated: &InflatedSections, outbox: &Sender<FromWorker>) {
    let _ = outbox.send(FromWorker::Done);
    let _ = catch_unwind(AssertUnwindSafe(|| inflated.save_to_cache()));
    let _ = outbox.send(FromWorker::CacheSaved);
}

/// The worker's whole job; returns early when the supervisor has given
/// up on it. A job done to the end reports before it returns: the debug
/// info, the modules' Lua states and the caches are freed after the
/// supervisor has the snapshot, not before.
fn pipeline(
    task: Assignment,
    inflated: &Arc<InflatedSections>,
    shared: &Shared,
    cut: &Arc<AtomicBool>,
    inbox: &Receiver<ToWorker>,
    outbox: &Sender<FromWorker>,
) -> Result<Ended, Error> {
    let Assignment { opts, info, pid: task_pid, source, hint, prefetch, modules, .. } = task;
    let opts = &opts;
    // One page cache for the engine and the modules, emptied when the
    // process stops and when it runs again, so no page read before the
    // stop is served while it is stopped, and none read while it is
    // stopped after it runs on.
    let inferior = source.open();
    // First, so that it runs while the modules load too; it reads the
    // memory map itself, on its own thread.
    let prefetch = prefetch.then(|| {
        let source = source.clone();
        let maps = move || source.open().maps().unwrap_or_default();
        Prefetch::start(maps, inflated.clone(), opts.debug_search(), opts.variables)
    });
    let mut host = match modules {
        true => {
            Some(Host::load(&opts.pmodules, inferior.clone(), shared.clone(), cut.clone())?).filter(|h| !h.is_empty())
        }
        false => None,
    };
    if let Some(h) = host.as_mut() {
        h.preattach();
    }
    let _ = outbox.send(FromWorker::Prepared);
    let Ok(ToWorker::Stopped(threads)) = inbox.recv() else {
        return Ok(Ended::GivenUp);
    };
    inferior.forget();
    let memory = &*inferior;

    let store = FileStore::sharing(inflated.clone());
    let dirs = opts.debug_search();
    let maps = inferior.maps().map_err(|_| ProcessError::ProcessExited(task_pid))?;
    let modules = ModuleSet::from_maps(&maps, memory, &store, &dirs, memory);
    // Variables, and the typed memory and symbols modules use.
    let exe = info.exe.as_ref().map(|p| p.display().to_string());
    let reader =
        (opts.variables || host.is_some()).then(|| VariableReader::new(opts, &modules, &maps, memory, exe.as_deref()));
    let services = reader.as_ref().map(|r| r as &dyn Services);
    if let Some(h) = host.as_mut() {
        h.attach(services);
    }
    let apart = Apart { opts, cut, source: &source, inflated, maps: &maps, exe: exe.as_deref() };
    let stopped = Extraction {
        opts,
        shared,
        cut,
        memory,
        modules: &modules,
        reader: reader.as_ref(),
        services,
        apart,
        apart_problems: std::cell::RefCell::default(),
    };

    let (unwind_us, symbolize_start) = stopped.add_threads(&threads, &hint, host.as_mut(), prefetch.as_ref());
    stopped.add_globals(host.as_mut());
    // What the frames and globals need is read: inflating further ahead
    // would only take the core the snapshot is written on.
    drop(prefetch);
    stopped.add_facts(&hint, unwind_us, symbolize_start);
    // `postattach` sees the snapshot complete and reads the memory it was
    // taken from: the process is still stopped (in run mode, not yet
    // dead of its signal). A module that registers it lengthens the pause
    // by what it does there, within --max-pause like the rest.
    if let Some(h) = host.as_mut().filter(|_| !stopped.is_cut()) {
        h.postattach(services);
    }
    let _ = outbox.send(FromWorker::Extracted);
    let Ok(ToWorker::Released) = inbox.recv() else {
        return Ok(Ended::GivenUp);
    };
    memory.forget();
    // The pause is over: modules run normally again (their `unload`).
    cut.store(false, Ordering::SeqCst);
    if let Some(h) = host.as_mut() {
        finish_modules(h, shared);
    }
    report_done(inflated, outbox);
    // Freed once the supervisor is done with the worker: a ptsnap that
    // exits then leaves it to the kernel, and the snapshot's writing does
    // not share the CPUs with it.
    let _ = inbox.recv();
    Ok(Ended::Reported)
}

/// What the extraction from the stopped process works with: each step
/// reads the target through `memory` and adds what it found to `shared`.
struct Extraction<'x, 'd, 'a> {
    opts: &'x Options,
    shared: &'x Shared,
    /// Set by the supervisor when it cuts the pause.
    cut: &'x AtomicBool,
    memory: &'x dyn Inferior,
    modules: &'d ModuleSet<'a>,
    reader: Option<&'x VariableReader<'d, 'a>>,
    /// What the modules' callbacks are lent (the variable reader).
    services: Option<&'x dyn Services>,
    /// What extracting threads on other threads of ptsnap takes.
    apart: Apart<'x>,
    /// (module path, problem) that the other extraction threads' debug
    /// info found: their modules are their own.
    apart_problems: std::cell::RefCell<Vec<(String, String)>>,
}

/// A process with fewer threads than this is extracted by the worker alone:
/// another thread reads its debug info anew, which costs more than it
/// saves on a few.
const MIN_THREADS_APART: usize = 32;

/// What an extraction thread besides the worker needs: it opens the input
/// and reads the debug info again, on its own (the worker's caches are
/// its alone), sharing the inflated sections and mapped files.
#[derive(Clone, Copy)]
struct Apart<'x> {
    opts: &'x Options,
    cut: &'x AtomicBool,
    source: &'x Arc<dyn Source>,
    inflated: &'x Arc<InflatedSections>,
    maps: &'x [Mapping],
    exe: Option<&'x str>,
}

/// The walked threads not yet claimed by an extraction thread: each takes
/// the next one when it is done with its last, so that the worker, which
/// also raises the modules' events of every thread, extracts fewer.
#[derive(Default)]
struct Unclaimed {
    next: AtomicUsize,
}

impl Unclaimed {
    /// The index of the next of `len` threads, if any is left.
    fn claim(&self, len: usize) -> Option<usize> {
        Some(self.next.fetch_add(1, Ordering::Relaxed)).filter(|&i| i < len)
    }
}

/// What the worker gives the other extraction threads once every thread
/// is walked: the walked threads, and the faulted frame of each.
type Walks<'t> = (Vec<Walked<'t>>, Vec<Option<usize>>);

impl Apart<'_> {
    /// An extraction thread besides the worker: it walks the threads of
    /// `wanted` it claims from `to_walk`, sending each with its index,
    /// then, once `go` says the worker has put every walk in `walks`,
    /// extracts those it claims from `to_extract` as the worker would,
    /// with `budget` bytes of variable memory, sending each with its
    /// index. Type origins are numbered as `origins` (the worker's
    /// reader) does. Returns the (module path, problem) of its modules.
    #[allow(clippy::too_many_arguments)]
    fn walk_then_extract<'t>(
        self,
        wanted: &[&'t ThreadState],
        to_walk: &Unclaimed,
        walked: Sender<(usize, Walked<'t>)>,
        go: &Receiver<()>,
        walks: &OnceLock<Walks<'t>>,
        to_extract: &Unclaimed,
        (budget, origins): (u64, OriginNumbers),
        extracted: &Sender<(usize, Thread)>,
    ) -> Vec<(String, String)> {
        let inferior = self.source.open();
        let memory = &*inferior;
        let store = FileStore::sharing(self.inflated.clone());
        let dirs = self.opts.debug_search();
        let modules = ModuleSet::from_maps(self.maps, memory, &store, &dirs, memory);
        let problems =
            |modules: &ModuleSet<'_>| modules.iter().filter_map(|m| Some((m.path.clone(), m.problem()?))).collect();
        while let Some(i) = to_walk.claim(wanted.len()).filter(|_| !self.cut.load(Ordering::SeqCst)) {
            let walk = walk_thread(wanted[i], memory, &modules, self.opts.max_frames, self.opts.variables);
            memory.forget();
            if walked.send((i, walk)).is_err() {
                break;
            }
        }
        drop(walked);
        let Some((walked, faulted)) = go.recv().ok().and_then(|()| walks.get()) else { return problems(&modules) };
        let mut opts = self.opts.clone();
        opts.limits.max_total_bytes = budget;
        let reader = opts
            .variables
            .then(|| VariableReader::new(&opts, &modules, self.maps, memory, self.exe).numbering_origins_as(origins));
        let mut symbolizer = Symbolizer::new();
        while let Some(i) = to_extract.claim(walked.len()) {
            let thread =
                extract_one(&walked[i], &modules, &mut symbolizer, reader.as_ref(), &opts, self.cut, faulted[i]);
            memory.forget();
            if extracted.send((i, thread)).is_err() {
                break;
            }
        }
        problems(&modules)
    }
}

/// Walked or extracted threads put back in their order, for the fault,
/// the snapshot and the modules' events.
struct InOrder<T> {
    waiting: Vec<Option<T>>,
    next: usize,
}

impl<T> InOrder<T> {
    fn new(len: usize) -> Self {
        InOrder { waiting: std::iter::repeat_with(|| None).take(len).collect(), next: 0 }
    }

    fn put(&mut self, index: usize, thread: T) {
        self.waiting[index] = Some(thread);
    }

    /// The threads that come next in order and are done.
    fn ready(&mut self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(|| {
            let thread = self.waiting.get_mut(self.next)?.take()?;
            self.next += 1;
            Some(thread)
        })
    }
}

/// One walked thread symbolized, with its variables unless the pause was
/// cut: after a cut the threads keep their raw frames (module and offset),
/// which cost no debug info.
fn extract_one<'d, 'a>(
    w: &Walked<'_>,
    modules: &'d ModuleSet<'a>,
    symbolizer: &mut Symbolizer,
    reader: Option<&VariableReader<'d, 'a>>,
    opts: &Options,
    cut: &AtomicBool,
    faulted_frame: Option<usize>,
) -> Thread {
    let full = !cut.load(Ordering::SeqCst);
    let reader = reader.filter(|_| full && opts.variables);
    render_thread(w, modules, full.then_some(symbolizer), reader, faulted_frame, opts.jobs != Some(1))
}

impl Extraction<'_, '_, '_> {
    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// Walks the stacks of the threads asked for (until a cut), finds the
    /// fault, then adds each walked thread to the snapshot, symbolized and
    /// with its variables, and raises the modules' event, thread after
    /// thread in order. Returns the time the walks took, and when
    /// symbolization began.
    ///
    /// With variables, `--jobs` above 1 and many threads, other extraction
    /// threads walk and extract threads too. Each takes the next thread
    /// nobody has taken when it is done with its last: walks first, then,
    /// once the worker has every walk and the fault, extractions. The
    /// worker, which also raises every thread's events, extracts fewer
    /// when modules cost time; it puts the threads back in order.
    fn add_threads(
        &self,
        threads: &[ThreadState],
        hint: &FaultHint,
        mut host: Option<&mut Host>,
        prefetch: Option<&Prefetch>,
    ) -> (u64, Instant) {
        let unwind_start = Instant::now();
        let wanted: Vec<&ThreadState> = threads.iter().filter(|t| self.opts.wants_thread(t.tid)).collect();
        // Frames alone are cheap to extract: another thread's own debug info
        // would cost what it saves.
        let apart = self.opts.variables && wanted.len() >= MIN_THREADS_APART;
        let jobs = if apart { self.opts.jobs().max(1) } else { 1 };
        let (to_walk, to_extract) = (Unclaimed::default(), Unclaimed::default());
        let walks: OnceLock<Walks<'_>> = OnceLock::new();
        std::thread::scope(|scope| {
            let (walked_sender, walked) = channel();
            let (extracted_sender, extracted) = channel();
            let others: Vec<_> = (1..jobs)
                .filter_map(|job| {
                    // An equal part for each job, the worker's included.
                    let budget = self.reader.map_or(0, |r| r.split_budget((jobs - job + 1) as u64));
                    let origins = self.reader.map(VariableReader::origin_numbers).unwrap_or_default();
                    let (go, wait) = channel();
                    let (apart, wanted, walks) = (self.apart, &wanted[..], &walks);
                    let (to_walk, to_extract) = (&to_walk, &to_extract);
                    let (walked, extracted) = (walked_sender.clone(), extracted_sender.clone());
                    let spawned = std::thread::Builder::new()
                        .name("ptsnap-extract".into())
                        .stack_size(STACK_SIZE)
                        .spawn_scoped(scope, move || {
                            let budget = (budget, origins);
                            apart.walk_then_extract(
                                wanted, to_walk, walked, &wait, walks, to_extract, budget, &extracted,
                            )
                        });
                    // Without a thread, the worker does its share.
                    spawned.ok().map(|handle| (handle, go))
                })
                .collect();
            drop((walked_sender, extracted_sender));
            let walked = self.walk(&wanted, &to_walk, &walked);
            let unwind_us = unwind_start.elapsed().as_micros() as u64;
            if let Some(p) = prefetch {
                // A recursion is thousands of frames at one pc.
                let mut last = None;
                let pcs = walked.iter().flat_map(|w| &w.frames).filter(|f| last.replace(f.pc) != Some(f.pc));
                let paths = pcs.filter_map(|f| self.modules.find(f.pc));
                p.narrow(paths.map(|m| m.path.as_str()));
            }
            let symbolize_start = Instant::now();
            let fault = find_fault(hint, &walked, self.memory);
            self.shared.lock().fault = fault.as_ref().map(|f| f.fault.clone());
            let faulted: Vec<Option<usize>> =
                walked.iter().map(|w| fault.as_ref().filter(|f| f.tid == w.thread.tid).map(|f| f.frame)).collect();
            let (walked, faulted) = walks.get_or_init(|| (walked, faulted));
            for (_, go) in &others {
                let _ = go.send(());
            }
            self.extract(walked, faulted, &to_extract, &extracted, &mut host);
            for (handle, _) in others {
                match handle.join() {
                    Ok(problems) => self.apart_problems.borrow_mut().extend(problems),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            (unwind_us, symbolize_start)
        })
    }

    /// Walks the threads of `wanted` the worker claims from `to_walk`
    /// (until a cut), takes in the other extraction threads' walks as they
    /// end, and returns the walks in order: after a cut, up to the first
    /// thread that was not walked.
    fn walk<'t>(
        &self,
        wanted: &[&'t ThreadState],
        to_walk: &Unclaimed,
        theirs: &Receiver<(usize, Walked<'t>)>,
    ) -> Vec<Walked<'t>> {
        let mut in_order = InOrder::new(wanted.len());
        while let Some(i) = to_walk.claim(wanted.len()).filter(|_| !self.is_cut()) {
            let keep_regs = self.opts.variables;
            in_order.put(i, walk_thread(wanted[i], self.memory, self.modules, self.opts.max_frames, keep_regs));
            self.memory.forget();
        }
        for (i, walk) in theirs.iter() {
            in_order.put(i, walk);
        }
        in_order.ready().collect()
    }

    /// Extracts the threads of `walked` the worker claims from
    /// `to_extract`, takes in the other extraction threads' as they come,
    /// and adds each to the snapshot, raising its events, once those before
    /// it are in.
    fn extract(
        &self,
        walked: &[Walked<'_>],
        faulted: &[Option<usize>],
        to_extract: &Unclaimed,
        theirs: &Receiver<(usize, Thread)>,
        host: &mut Option<&mut Host>,
    ) {
        let mut in_order = InOrder::new(walked.len());
        let mut symbolizer = Symbolizer::new();
        while let Some(i) = to_extract.claim(walked.len()) {
            let w = &walked[i];
            in_order
                .put(i, extract_one(w, self.modules, &mut symbolizer, self.reader, self.opts, self.cut, faulted[i]));
            self.memory.forget();
            for (j, thread) in theirs.try_iter() {
                in_order.put(j, thread);
            }
            for thread in in_order.ready() {
                self.publish(thread, host);
            }
        }
        for (j, thread) in theirs.iter() {
            in_order.put(j, thread);
            for thread in in_order.ready() {
                self.publish(thread, host);
            }
        }
    }

    /// Adds an extracted thread to the snapshot and raises the modules'
    /// event (not after a cut).
    fn publish(&self, thread: Thread, host: &mut Option<&mut Host>) {
        let index = {
            let mut snap = self.shared.lock();
            snap.threads.push(thread);
            snap.threads.len() - 1
        };
        if let Some(h) = host.as_deref_mut().filter(|_| !self.is_cut()) {
            h.thread_extracted(index, self.services);
        }
    }

    /// The globals asked for (unless cut), and the modules' event.
    fn add_globals(&self, host: Option<&mut Host>) {
        let Some(reader) = self.reader.filter(|_| self.opts.variables && !self.is_cut()) else { return };
        let mut errors = Vec::new();
        let globals = reader.globals(self.opts, &mut errors);
        {
            let mut snap = self.shared.lock();
            snap.globals = globals;
            snap.errors.extend(errors);
        }
        if let Some(h) = host {
            h.globals_extracted(self.services);
        }
    }

    /// The timings, the modules with their problems, and a fault that
    /// `--faulted` looked for and did not find.
    fn add_facts(&self, hint: &FaultHint, unwind_us: u64, symbolize_start: Instant) {
        let mut snap = self.shared.lock();
        snap.timings.unwind_us = unwind_us;
        snap.timings.symbolize_us = symbolize_start.elapsed().as_micros() as u64;
        snap.modules = self.modules.iter().map(module_info).collect();
        snap.mappings = self.apart.maps.iter().map(memory_mapping).collect();
        // A problem only another extraction thread met is the module's too.
        for (path, problem) in self.apart_problems.take() {
            if let Some(info) = snap.modules.iter_mut().find(|m| m.path == path && m.error.is_none()) {
                info.error = Some(problem);
            }
        }
        let problems: Vec<ErrorEntry> = snap
            .modules
            .iter()
            .filter_map(|m| Some(ErrorEntry { context: format!("module {}", m.path), message: m.error.clone()? }))
            .collect();
        snap.errors.extend(problems);
        if matches!(hint, FaultHint::Search) && snap.fault.is_none() {
            snap.errors.push(ErrorEntry {
                context: "fault".into(),
                message: "--faulted given, but no thread is at a crash signal or in a signal handler".into(),
            });
        }
    }
}

/// After the release: the modules' `unload`, and their report; a module
/// that was stopped is also a warning on the snapshot.
fn finish_modules(host: &mut Host, shared: &Shared) {
    let report = host.finish();
    let mut snap = shared.lock();
    for m in &report {
        for e in &m.errors {
            let text = format!("pmodule {} ({}) was stopped: {e}", m.id, m.path);
            snap.annotations.push(Annotation::text(AnnotationLevel::Warning, text, "ptsnap"));
        }
    }
    snap.pmodules = report;
}
