//! pmodules: Lua modules that receive events while a snapshot is taken and
//! annotate, classify and add key-values to it.
//!
//! The [`Host`] loads every module into a sandbox of its own
//! ([`sandbox`]), runs its `load` function (which registers callbacks with
//! optional match filters), and fires events as the engine reaches each
//! phase: `preattach` before the target is stopped, `attach` once it is,
//! `variable`, `frame` and `thread` as each thread is extracted,
//! `postattach` once the target runs again and the snapshot is complete.
//! Callbacks see the snapshot through handles ([`objects`]) into the
//! snapshot the engine shares with the host ([`Shared`]); the engine never
//! holds it while it calls the host.
//!
//! A module that fails (a Lua error, its memory limit, its instruction
//! budget, the engine's interrupt) is stopped: its error goes to
//! `pmodules[].errors` and to stderr, and the other modules and the
//! snapshot go on.

mod api;
mod budget;
pub(crate) mod discover;
pub(crate) mod handles;
pub(crate) mod matching;
pub(crate) mod native;
pub(crate) mod objects;
pub mod sandbox;
pub(crate) mod services;
mod shared;

use std::borrow::Cow;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mlua::chunk::ChunkMode;
use mlua::{Function, MultiValue};
use rustc_hash::FxHashMap;
use thiserror::Error;

use crate::memory::Memory;
use crate::snapshot::PModuleInfo;
use matching::{FrameRef, Match, Place};
use objects::{BacktraceUd, BtVarUd, Ctx, FrameAt, FrameUd, ThreadAt, ThreadUd, VarAt, VariableUd};
use services::{BtVar, Services};
pub use shared::Shared;

#[derive(Debug, Error)]
pub enum PmoduleError {
    #[error("two modules define the id `{id}`: {first} and {second}")]
    DuplicateId { id: String, first: PathBuf, second: PathBuf },
    #[error("--module {0}: expected ID:KEY=VAL or ID:K1,V1,K2,V2")]
    BadArgument(String),
    #[error("--sandbox-whitelist: unknown library `{0}` (known: io, os, package)")]
    UnknownLibrary(String),
    #[error(
        "--sandbox-whitelist: `debug` is refused: debug.sethook would let a module remove its instruction budget \
         and the interrupt that releases the target on time"
    )]
    DebugRefused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
}

pub const LOG_LEVELS: &[(&str, LogLevel)] =
    &[("debug", LogLevel::Debug), ("info", LogLevel::Info), ("warning", LogLevel::Warning), ("error", LogLevel::Error)];

/// How pmodules are found and run (the command line's view).
#[derive(Clone, Debug)]
pub struct Options {
    pub files: Vec<PathBuf>,
    pub paths: Vec<PathBuf>,
    pub default_paths: bool,
    /// `--no-module ID`: the ids of modules not to run.
    pub disabled: Vec<String>,
    /// `--module ID:KEY=VAL`: (id, key, value).
    pub args: Vec<(String, String, String)>,
    pub whitelist: Vec<String>,
    pub limits: sandbox::Limits,
    pub log_level: LogLevel,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            files: Vec::new(),
            paths: Vec::new(),
            default_paths: true,
            disabled: Vec::new(),
            args: Vec::new(),
            whitelist: Vec::new(),
            limits: sandbox::Limits::default(),
            log_level: LogLevel::Info,
        }
    }
}

/// Parses `--module ID:KEY=VAL` and `--module ID:K1,V1,K2,V2`.
pub fn parse_module_argument(text: &str) -> Result<Vec<(String, String, String)>, PmoduleError> {
    let bad = || PmoduleError::BadArgument(text.to_string());
    let (id, rest) = text.split_once(':').filter(|(id, _)| !id.is_empty()).ok_or_else(bad)?;
    if let Some((k, v)) = rest.split_once('=') {
        return if k.is_empty() { Err(bad()) } else { Ok(vec![(id.into(), k.into(), v.into())]) };
    }
    let parts: Vec<&str> = rest.split(',').collect();
    if !parts.len().is_multiple_of(2) || parts.iter().step_by(2).any(|k| k.is_empty()) {
        return Err(bad());
    }
    Ok(parts.chunks(2).map(|kv| (id.to_string(), kv[0].to_string(), kv[1].to_string())).collect())
}

/// The events, in `pmodule.event` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Preattach,
    Attach,
    Thread,
    Frame,
    Variable,
    Postattach,
}

pub const EVENTS: &[(&str, Event)] = &[
    ("preattach", Event::Preattach),
    ("attach", Event::Attach),
    ("thread", Event::Thread),
    ("frame", Event::Frame),
    ("variable", Event::Variable),
    ("postattach", Event::Postattach),
];

/// A module's function: Lua, or C (with what it was registered with).
#[derive(Clone)]
enum Handler {
    Lua(Function),
    Native(native::NativeFn),
}

struct Callback {
    event: Event,
    func: Handler,
    filter: Option<Match>,
}

/// What `pmodule.define` and `pmodule.register` record while a module loads.
#[derive(Default)]
struct Registry {
    id: Option<String>,
    /// A C module's name and version, as it defined them.
    about: Option<String>,
    load: Option<Handler>,
    unload: Option<Handler>,
    callbacks: Vec<Callback>,
}

struct Module {
    path: PathBuf,
    id: String,
    sandbox: sandbox::Sandbox,
    registry: Rc<RefCell<Registry>>,
    memory: Rc<dyn Memory>,
    services: services::Current,
    /// A C module's state (its functions reach the objects through it).
    native: Option<Rc<native::State>>,
    /// A C module's name in a crash report, made at its first callback.
    crash_name: Option<&'static std::ffi::CStr>,
    errors: Vec<String>,
    /// Stopped after an error.
    failed: bool,
}

impl Module {
    fn ctx(&self, shared: &Shared) -> Ctx {
        Ctx {
            snap: shared.clone(),
            module: Rc::from(self.id.as_str()),
            memory: self.memory.clone(),
            services: self.services.clone(),
            budget: self.sandbox.budget.clone(),
        }
    }

    /// Runs one of the module's functions within its budget; an error
    /// stops the module.
    fn call(&mut self, f: &Handler, args: MultiValue) {
        if matches!(f, Handler::Native(_)) && self.crash_name.is_none() {
            self.crash_name = Some(native::guard::module_name(&self.describe()));
        }
        let result = match (f, &self.native) {
            (Handler::Lua(f), _) => run_within(&self.sandbox, || f.call::<()>(args)),
            (Handler::Native(f), Some(state)) => {
                if let Some(name) = self.crash_name {
                    native::guard::set_module(name);
                }
                run_within(&self.sandbox, || native::invoke(state, *f, args))
            }
            (Handler::Native(_), None) => Err("a C function registered by a Lua module".to_string()),
        };
        if let Err(e) = result {
            self.fail(&e);
        }
    }

    /// The module for a person: id, what it says it is, its file.
    fn describe(&self) -> String {
        match &self.registry.borrow().about {
            Some(about) => format!("pmodule {} ({about}, {})", self.id, self.path.display()),
            None => format!("pmodule {} ({})", self.id, self.path.display()),
        }
    }

    /// Stops the module; errors are shown whatever the log level.
    fn fail(&mut self, error: &str) {
        self.failed = true;
        self.errors.push(error.to_string());
        eprintln!("ptsnap: pmodule {}: {error}; the module is stopped", self.id);
    }
}

/// A module's code: its source (or a C module's nothing, its loader
/// reads it), ptsnap's bytecode for a bundled one, or why it cannot be had.
type Code = Result<Cow<'static, [u8]>, String>;

pub struct Host {
    modules: Vec<Module>,
    /// Files that could not be loaded as modules, with why.
    unloadable: Vec<PModuleInfo>,
    shared: Shared,
    /// Set by the engine while it cuts the pause short.
    interrupt: Arc<AtomicBool>,
    /// The engine's services during the event running now.
    services: services::Current,
    log_level: LogLevel,
}

impl Host {
    /// Loads every module; a module that fails to load is recorded and
    /// skipped, an ambiguous module id ends the run before the target is
    /// touched. Modules read and change the snapshot through `shared`;
    /// while `interrupt` is set, running callbacks fail at their next hook
    /// check and new ones at once (the module is stopped).
    pub fn load(
        opts: &Options,
        memory: Rc<dyn Memory>,
        shared: Shared,
        interrupt: Arc<AtomicBool>,
    ) -> Result<Host, PmoduleError> {
        for lib in &opts.whitelist {
            if lib == "debug" {
                return Err(PmoduleError::DebugRefused);
            }
            if !sandbox::GRANTABLE.contains(&lib.as_str()) {
                return Err(PmoduleError::UnknownLibrary(lib.clone()));
            }
        }
        let mut dirs = opts.paths.clone();
        if opts.default_paths {
            dirs.extend(discover::default_paths().into_iter().filter(|d| d.is_dir()));
        }
        let mut host = Host {
            modules: Vec::new(),
            unloadable: Vec::new(),
            shared,
            interrupt,
            services: Default::default(),
            log_level: opts.log_level,
        };
        // (path, how its code is read, the code)
        let mut sources: Vec<(PathBuf, ChunkMode, Code)> = Vec::new();
        for path in discover::module_files(&opts.files, &dirs) {
            // A C module is opened by its loader; a Lua module is read.
            let source = if native::loader::is_native(&path) {
                discover::check_file(&path).map(|()| Cow::Borrowed(&[][..]))
            } else {
                discover::read_module(&path).map(Cow::Owned)
            };
            sources.push((path, ChunkMode::Text, source));
        }
        if opts.default_paths {
            for (name, bytecode) in discover::BUNDLED {
                let path = PathBuf::from(format!("<bundled>/pmodules/{name}"));
                sources.push((path, ChunkMode::Binary, Ok(Cow::Borrowed(*bytecode))));
            }
        }
        for (path, mode, source) in sources {
            let mut module = match source.and_then(|s| host.start_module(opts, &path, (mode, &s), &memory)) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("ptsnap: pmodule {}: {e}; the module is not loaded", path.display());
                    let path = path.display().to_string();
                    host.unloadable.push(PModuleInfo { id: String::new(), path, errors: vec![e] });
                    continue;
                }
            };
            // Switched off: defined (its id is known only then), never
            // loaded nor reported.
            if opts.disabled.contains(&module.id) {
                continue;
            }
            if let Some(other) = host.modules.iter().find(|m| m.id == module.id && !m.id.is_empty()) {
                return Err(PmoduleError::DuplicateId {
                    id: module.id.clone(),
                    first: other.path.clone(),
                    second: module.path.clone(),
                });
            }
            let load = module.registry.borrow().load.clone();
            if let Some(load) = load {
                module.call(&load, MultiValue::new());
            }
            host.modules.push(module);
        }
        Ok(host)
    }

    fn start_module(
        &self,
        opts: &Options,
        path: &Path,
        (mode, code): (ChunkMode, &[u8]),
        memory: &Rc<dyn Memory>,
    ) -> Result<Module, String> {
        let sandbox =
            sandbox::Sandbox::new(&opts.whitelist, &opts.limits, self.interrupt.clone()).map_err(|e| e.to_string())?;
        let registry = Rc::new(RefCell::new(Registry::default()));
        let id_cell: Rc<RefCell<String>> = Rc::default();
        let ctx = Ctx {
            snap: self.shared.clone(),
            module: Rc::from(""),
            memory: memory.clone(),
            services: self.services.clone(),
            budget: sandbox.budget.clone(),
        };
        api::install(&sandbox.lua, &registry, &id_cell, ctx, &opts.args, self.log_level).map_err(|e| e.to_string())?;
        let native = if native::loader::is_native(path) {
            let state = native::State::new(sandbox.lua.clone(), registry.clone(), sandbox.budget.clone())
                .map_err(|e| e.to_string())?;
            start_native(&sandbox, &state, path)?;
            Some(state)
        } else {
            run_within(&sandbox, || {
                sandbox.lua.load(code).set_name(format!("@{}", path.display())).set_mode(mode).exec()
            })?;
            None
        };
        let missing = if native.is_some() {
            "the module's entry point does not call api->define"
        } else {
            "the module does not call pmodule.define"
        };
        let id = registry.borrow().id.clone().ok_or(missing)?;
        *id_cell.borrow_mut() = id.clone();
        Ok(Module {
            path: path.to_path_buf(),
            id,
            sandbox,
            registry,
            memory: memory.clone(),
            services: self.services.clone(),
            native,
            crash_name: None,
            errors: Vec::new(),
            failed: false,
        })
    }

    /// Lends the engine's services to the modules for one event.
    fn with_services<R>(&mut self, services: Option<&dyn Services>, f: impl FnOnce(&mut Self) -> R) -> R {
        let current = self.services.clone();
        current.provide(services, || f(self))
    }

    fn has(&self, event: Event) -> bool {
        self.modules.iter().any(|m| !m.failed && m.registry.borrow().callbacks.iter().any(|c| c.event == event))
    }

    /// Runs the callbacks of `event` whose filter `accept` takes, with the
    /// arguments `args` builds for each module.
    fn fire(
        &mut self,
        event: Event,
        accept: &dyn Fn(Option<&Match>) -> bool,
        args: &dyn Fn(&mlua::Lua, &Ctx) -> mlua::Result<MultiValue>,
    ) {
        for module in self.modules.iter_mut().filter(|m| !m.failed) {
            let calls: Vec<Handler> = module
                .registry
                .borrow()
                .callbacks
                .iter()
                .filter(|c| c.event == event && accept(c.filter.as_ref()))
                .map(|c| c.func.clone())
                .collect();
            // Most events concern no callback of most modules: no context.
            if calls.is_empty() {
                continue;
            }
            let ctx = module.ctx(&self.shared);
            for f in calls {
                if module.failed {
                    break;
                }
                match args(&module.sandbox.lua, &ctx) {
                    Ok(a) => module.call(&f, a),
                    Err(e) => module.fail(&one_line(&e)),
                }
            }
        }
    }

    fn backtrace_event(&mut self, event: Event, services: Option<&dyn Services>) {
        if !self.has(event) {
            return;
        }
        self.with_services(services, |host| {
            host.fire(event, &|_| true, &|lua, ctx| one_value(lua, BacktraceUd(ctx.clone())));
        });
    }

    /// Before the target is stopped: only process facts are known.
    pub fn preattach(&mut self) {
        self.backtrace_event(Event::Preattach, None);
    }

    /// The target is stopped; nothing is extracted yet.
    pub fn attach(&mut self, services: Option<&dyn Services>) {
        self.backtrace_event(Event::Attach, services);
    }

    /// Thread `t` of the snapshot is fully extracted: its variables'
    /// events, then each frame's, then the thread's.
    pub fn thread_extracted(&mut self, t: usize, services: Option<&dyn Services>) {
        if !(self.has(Event::Variable) || self.has(Event::Frame) || self.has(Event::Thread)) {
            return;
        }
        self.with_services(services, |host| {
            let variables = host.filters_of(Event::Variable);
            let frame_filters = host.filters_of(Event::Frame);
            // Events go to the extracted frames and variables, not to those
            // callbacks add meanwhile; handles stay valid across additions.
            for FrameEvents { frame, variables, frame_event, faulted } in
                host.frame_events(t, &variables, &frame_filters)
            {
                for at in variables {
                    host.variable_event(at);
                }
                if !frame_event {
                    continue;
                }
                let shared = host.shared.clone();
                host.fire(
                    Event::Frame,
                    &|m| {
                        if m.is_some_and(|m| !m.may_take_frames_of(faulted)) {
                            return false;
                        }
                        let s = shared.lock();
                        let Some((th, f)) = frame.get(&s) else { return false };
                        m.is_none_or(|m| m.frame(&FrameRef { frame: f, thread_faulted: th.faulted }))
                    },
                    &|lua, ctx| one_value(lua, FrameUd::new(ctx, frame)),
                );
            }
            let (thread, tls) = {
                let mut s = host.shared.lock();
                let Some(thread) = ThreadAt::of(&mut s, t) else { return };
                let wanted: Vec<usize> = s.threads[t]
                    .tls
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| taken_by_any(&variables, v, None))
                    .map(|(i, _)| i)
                    .collect();
                (thread, wanted.into_iter().filter_map(|i| thread.tls(&mut s, i)).collect::<Vec<_>>())
            };
            for at in tls {
                host.variable_event(at);
            }
            let shared = host.shared.clone();
            host.fire(
                Event::Thread,
                &|m| m.is_none_or(|m| thread.get(&shared.lock()).is_some_and(|th| m.thread(th))),
                &|lua, ctx| one_value(lua, ThreadUd { ctx: ctx.clone(), at: thread }),
            );
        });
    }

    /// The filters of the `event` callbacks of the modules still running
    /// (None for a callback without one).
    fn filters_of(&self, event: Event) -> Vec<Option<Match>> {
        let live = self.modules.iter().filter(|m| !m.failed);
        live.flat_map(|m| {
            let registry = m.registry.borrow();
            registry.callbacks.iter().filter(|c| c.event == event).map(|c| c.filter.clone()).collect::<Vec<_>>()
        })
        .collect()
    }

    /// The events thread `t`'s extracted frames (not those made by a
    /// module) may raise: the parameters and locals one of `variables`
    /// takes, and whether one of `frames` may take the frame; frames with
    /// neither are left out. Filters read what callbacks cannot change
    /// (names, types, the frame's place and fault), so they are tested
    /// here, in one pass under one lock: a thousand threads hold tens of
    /// thousands of variables and a deep recursion ten thousand frames,
    /// and filters such as deadlock's (`MutexGuard<` variables, frames in
    /// functions named `lock`) take none of most. Each callback's own
    /// filter is tested again when its event is raised.
    fn frame_events(&self, t: usize, variables: &[Option<Match>], frames: &[Option<Match>]) -> Vec<FrameEvents> {
        let mut s = self.shared.lock();
        let Some(thread) = s.threads.get(t) else { return Vec::new() };
        let faulted = thread.faulted;
        let takes = |place: &FrameRef<'_>| {
            frames.iter().any(|m| m.as_ref().is_none_or(|m| m.may_take_frames_of(faulted) && m.frame(place)))
        };
        // A deep recursion is thousands of frames at a few places, most
        // of them at the place of the frame before.
        let mut taken_at: FxHashMap<Place, bool> = FxHashMap::default();
        let mut last: Option<(Place, bool)> = None;
        let wanted: Vec<(usize, Vec<usize>, Vec<usize>, bool)> = thread
            .frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.unwind != crate::snapshot::FrameUnwind::Synthesized)
            .filter_map(|(i, f)| {
                let place = FrameRef { frame: f, thread_faulted: faulted };
                let taken = |list: &[crate::snapshot::Variable]| -> Vec<usize> {
                    let wanted = |v: &crate::snapshot::Variable| !v.made && taken_by_any(variables, v, Some(&place));
                    list.iter().enumerate().filter(|(_, v)| wanted(v)).map(|(i, _)| i).collect()
                };
                let (parameters, locals) = (taken(&f.parameters), taken(&f.locals));
                let frame_event = match Place::of(&place) {
                    Some(at) => match last {
                        Some((before, taken)) if before == at => taken,
                        _ => {
                            let taken = *taken_at.entry(at).or_insert_with(|| takes(&place));
                            last = Some((at, taken));
                            taken
                        }
                    },
                    None => takes(&place),
                };
                let any = frame_event || !parameters.is_empty() || !locals.is_empty();
                any.then_some((i, parameters, locals, frame_event))
            })
            .collect();
        wanted
            .into_iter()
            .filter_map(|(i, parameters, locals, frame_event)| {
                let frame = FrameAt::of(&mut s, t, i)?;
                let parameters: Vec<VarAt> =
                    parameters.into_iter().filter_map(|j| frame.parameter(&mut s, j)).collect();
                let locals = locals.into_iter().filter_map(|j| frame.local(&mut s, j));
                let variables = parameters.into_iter().chain(locals).collect();
                Some(FrameEvents { frame, variables, frame_event, faulted })
            })
            .collect()
    }

    /// The globals asked for are read.
    pub fn globals_extracted(&mut self, services: Option<&dyn Services>) {
        if !self.has(Event::Variable) {
            return;
        }
        self.with_services(services, |host| {
            host.look_up_matched_globals();
            let globals: Vec<VarAt> = {
                let mut s = host.shared.lock();
                (0..s.globals.len()).filter_map(|i| VarAt::global(&mut s, i)).collect()
            };
            for at in globals {
                host.variable_event(at);
            }
        });
    }

    /// Adds the globals that variable callbacks' filters name
    /// ([`Match::selects_globals`]) to the snapshot, so that their events
    /// fire without `--global`.
    fn look_up_matched_globals(&mut self) {
        for module in self.modules.iter_mut().filter(|m| !m.failed) {
            let filters: Vec<Match> = module
                .registry
                .borrow()
                .callbacks
                .iter()
                .filter(|c| c.event == Event::Variable)
                .filter_map(|c| c.filter.clone().filter(Match::selects_globals))
                .collect();
            let ctx = module.ctx(&self.shared);
            for m in filters {
                let query = services::GlobalQuery {
                    module: &|name| m.module(name),
                    executable_only: !m.names_modules(),
                    global: &|module, cu, name| m.global(module, cu, name),
                    first_module_only: false,
                    cap: objects::GLOBALS_PER_FILTER,
                };
                let keep = |v: &crate::snapshot::Variable| m.variable(v, None);
                if let Err(e) = objects::look_up_globals(&ctx, "variable callback filter", &query, &keep) {
                    module.fail(&one_line(&e));
                    break;
                }
            }
        }
    }

    fn variable_event(&mut self, at: VarAt) {
        let shared = self.shared.clone();
        self.fire(
            Event::Variable,
            &|m| {
                let Some(m) = m else { return true };
                let s = shared.lock();
                let Some(v) = at.get(&s) else { return false };
                match at.frame().and_then(|f| f.get(&s)) {
                    Some((th, f)) => m.variable(v, Some(&FrameRef { frame: f, thread_faulted: th.faulted })),
                    None => m.variable(v, None),
                }
            },
            // With the variable, its raw bt_variable: its type at its
            // address (nil for a value that is not in memory).
            &|lua, ctx| {
                let bt = at.get(&ctx.snap.lock()).and_then(|v| {
                    let ty = v.origin?;
                    Some(BtVarUd { ctx: ctx.clone(), var: BtVar { ty, address: v.address?.0, name: v.name.clone() } })
                });
                Ok(MultiValue::from_vec(vec![
                    mlua::Value::UserData(lua.create_userdata(VariableUd::new(ctx, at))?),
                    match bt {
                        Some(bt) => mlua::Value::UserData(lua.create_userdata(bt)?),
                        None => mlua::Value::Nil,
                    },
                ]))
            },
        );
    }

    /// The target runs again and the snapshot is complete.
    pub fn postattach(&mut self, services: Option<&dyn Services>) {
        self.backtrace_event(Event::Postattach, services);
    }

    /// Runs `unload` and reports each module and its errors.
    pub fn finish(&mut self) -> Vec<PModuleInfo> {
        for module in self.modules.iter_mut().filter(|m| !m.failed) {
            let unload = module.registry.borrow().unload.clone();
            if let Some(f) = unload {
                module.call(&f, MultiValue::new());
            }
        }
        self.report()
    }

    /// The modules loaded, then the files that could not be.
    pub fn report(&self) -> Vec<PModuleInfo> {
        let loaded = self.modules.iter().map(|m| PModuleInfo {
            id: m.id.clone(),
            path: m.path.display().to_string(),
            errors: m.errors.clone(),
        });
        loaded.chain(self.unloadable.iter().cloned()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.modules.is_empty() && self.unloadable.is_empty()
    }
}

/// Opens the C module at `path` (its ABI checked first) and runs its
/// entry point, which defines it; a nonzero return is a failed load.
fn start_native(sandbox: &sandbox::Sandbox, state: &Rc<native::State>, path: &Path) -> Result<(), String> {
    let init = native::loader::open(path)?;
    native::guard::set_module(native::guard::module_name(&format!("the C pmodule {}", path.display())));
    run_within(sandbox, || {
        // SAFETY: the entry point of a module whose ABI major version is
        // ours, given the table of that ABI (which lives forever).
        let rc = state.enter(true, || native::guard::run_native(|| unsafe { init(&native::abi::API) }));
        match rc {
            0 => Ok(()),
            rc => Err(mlua::Error::external(format!("its entry point returned {rc}"))),
        }
    })
}

/// Runs `f` as one callback of the module of `sandbox`: its error as one
/// line, the reason the module is dead when it is (what the module's own
/// error handling may have made of that error does not matter).
fn run_within(sandbox: &sandbox::Sandbox, f: impl FnOnce() -> mlua::Result<()>) -> Result<(), String> {
    let budget = &sandbox.budget;
    let e = match budget.start().and_then(|()| f()) {
        Ok(()) => return Ok(()),
        Err(e) if budget::is_memory_error(&e) => budget.out_of_memory(),
        Err(e) => e,
    };
    Err(budget.death().unwrap_or_else(|| one_line(&e)))
}

fn one_value(lua: &mlua::Lua, ud: impl mlua::UserData + 'static) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![mlua::Value::UserData(lua.create_userdata(ud)?)]))
}

/// A Lua error as one line (tracebacks dropped).
fn one_line(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::CallbackError { cause, .. } => return one_line(cause),
        other => other.to_string(),
    };
    text.lines().next().unwrap_or_default().to_string()
}

/// What one extracted frame raises ([`Host::frame_events`]).
struct FrameEvents {
    frame: FrameAt,
    /// Its parameters and locals some variable callback may take.
    variables: Vec<VarAt>,
    /// Some frame callback may take it.
    frame_event: bool,
    /// Its thread faulted.
    faulted: bool,
}

/// Whether one of `filters` (None: a callback without one) takes `v`, a
/// variable of the frame `place` (None for TLS variables and globals).
fn taken_by_any(filters: &[Option<Match>], v: &crate::snapshot::Variable, place: Option<&FrameRef<'_>>) -> bool {
    filters.iter().any(|m| m.as_ref().is_none_or(|m| m.variable(v, place)))
}

#[cfg(test)]
mod tests {
    use super::parse_module_argument;

    #[test]
    fn module_arguments_in_both_forms() {
        let kv = |v: &[(&str, &str, &str)]| {
            v.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect::<Vec<_>>()
        };
        assert_eq!(parse_module_argument("m:k=v=w").unwrap(), kv(&[("m", "k", "v=w")]));
        assert_eq!(parse_module_argument("m:a,1,b,2").unwrap(), kv(&[("m", "a", "1"), ("m", "b", "2")]));
        for bad in ["m", ":k=v", "m:=v", "m:a,1,b", "m:,1"] {
            assert!(parse_module_argument(bad).is_err(), "{bad}");
        }
    }
}

/// docs/pmodules.md is checked against the code: every method it lists
/// for an object and every `pmodule.` function it names exists, and the
/// functions it says are not provided are not.
#[cfg(test)]
mod api_reference {
    use std::cell::RefCell;
    use std::rc::Rc;

    use mlua::{AnyUserData, Lua, ObjectLike, Value};

    use super::objects::{
        BacktraceUd, Ctx, FrameAt, FrameUd, PmapUd, Shared, SiginfoUd, ThreadAt, ThreadUd, VarAt, VariableUd,
    };
    use super::{Registry, api, sandbox};
    use crate::memory::BufferMemory;
    use crate::process::procfs::Mapping;
    use crate::snapshot::{Frame, SignalInfo, Snapshot, Thread, Variable};

    const DOC: &str = include_str!("../../docs/pmodules.md");

    /// Names written as `` `name(`` in the doc's bullet for `object`.
    fn listed(object: &str) -> Vec<String> {
        let start = DOC.find(&format!("\n- {object}")).unwrap_or_else(|| panic!("no bullet for {object}"));
        let rest = &DOC[start + 3..];
        let end = rest.find("\n- ").into_iter().chain(rest.find("\n\n")).min().unwrap_or(rest.len());
        method_names(&rest[..end], "`")
    }

    fn method_names(text: &str, prefix: &str) -> Vec<String> {
        text.match_indices(prefix)
            .filter_map(|(i, _)| {
                let name: String =
                    text[i + prefix.len()..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                (!name.is_empty() && text[i + prefix.len() + name.len()..].starts_with('(')).then_some(name)
            })
            .filter(|n| n != "pmodule" && n != "tostring")
            .collect()
    }

    fn has(ud: &AnyUserData, name: &str) -> bool {
        matches!(ud.get::<Value>(name), Ok(Value::Function(_)))
    }

    #[test]
    fn documented_methods_exist_and_unprovided_ones_do_not() {
        let box_ = sandbox::Sandbox::new(&[], &sandbox::Limits::default(), Default::default()).unwrap();
        let lua: &Lua = &box_.lua;
        let mut snap = Snapshot {
            threads: vec![Thread { frames: vec![Frame::default()], ..Thread::default() }],
            globals: vec![Variable::default()],
            ..Snapshot::default()
        };
        let (thread, frame, global) = (
            ThreadAt::of(&mut snap, 0).unwrap(),
            FrameAt::of(&mut snap, 0, 0).unwrap(),
            VarAt::global(&mut snap, 0).unwrap(),
        );
        let ctx = Ctx {
            snap: Shared::new(snap),
            module: Rc::from("doc"),
            memory: Rc::new(BufferMemory::new()),
            services: Default::default(),
            budget: box_.budget.clone(),
        };
        let registry = Rc::new(RefCell::new(Registry::default()));
        api::install(lua, &registry, &Rc::default(), ctx.clone(), &[], super::LogLevel::Error).unwrap();
        let objects: Vec<(&str, AnyUserData)> = vec![
            ("backtrace", lua.create_userdata(BacktraceUd(ctx.clone())).unwrap()),
            ("thread:", lua.create_userdata(ThreadUd { ctx: ctx.clone(), at: thread }).unwrap()),
            ("frame:", lua.create_userdata(FrameUd::new(&ctx, frame)).unwrap()),
            ("variable:", lua.create_userdata(VariableUd::new(&ctx, global)).unwrap()),
            ("siginfo:", lua.create_userdata(SiginfoUd(SignalInfo::default())).unwrap()),
            ("pmap (", lua.create_userdata(PmapUd(Mapping::default())).unwrap()),
        ];
        let mut checked = 0;
        for (object, ud) in &objects {
            for name in listed(object) {
                assert!(has(ud, &name), "docs/pmodules.md lists {object} {name}() but it does not exist");
                checked += 1;
            }
        }
        let pm: mlua::Table = lua.globals().get("pmodule").unwrap();
        // The API marks these *later*; the doc says they are not provided.
        const NOT_PROVIDED: [&str; 2] = ["pmap_enabled", "pmap_cached"];
        for name in method_names(DOC, "pmodule.").into_iter().filter(|n| !NOT_PROVIDED.contains(&n.as_str())) {
            assert!(matches!(pm.get::<Value>(name.as_str()), Ok(Value::Function(_))), "pmodule.{name} is documented");
            checked += 1;
        }
        assert!(checked > 60, "{checked} names checked");
        // What the doc says is not provided is not.
        for name in ["pmap_enabled", "pmap_cached"] {
            assert!(
                DOC.contains(&format!("`pmodule.{name}()` "))
                    || DOC.contains(&format!("`pmodule.{name}()`"))
                    || DOC.contains(name)
            );
            assert!(pm.get::<Value>(name).is_ok_and(|v| v.is_nil()), "{name} exists; the doc says it does not");
        }
    }
}
