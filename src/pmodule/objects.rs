//! The objects a module sees: backtrace, thread, frame, variable, siginfo
//! and match, as Lua userdata.
//!
//! They are handles ([`handles`](super::handles)) into the snapshot, which
//! the engine shares with every module through [`Shared`]: a module may
//! keep a handle in a global and use it in a later event, after it added
//! frames or variables before its object, and it always sees its object
//! as it is then. A handle that no longer points at anything reads as an
//! error, never as another object's data. A method locks the snapshot only
//! for its own Rust code, after it has read every Lua value it needs
//! (reading a table, `tostring` or iterating can run a module's
//! metamethods), so no Lua code ever runs while the lock is held. No
//! method writes target memory.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{AnyUserData, FromLua, Lua, MetaMethod, MultiValue, UserData, UserDataMethods, Value as LuaValue};

use super::handles::renew;
pub use super::handles::{FrameAt, ThreadAt, VarAt, VarList};
use super::matching::{FrameRef, Match, MatchType};
use super::sandbox::Budget;
use super::services::{BtVar, Current, GlobalQuery, VarFilter};
pub use super::shared::Shared;
use crate::memory::Memory;
use crate::snapshot::{Annotation, Frame, Kind, SignalInfo, Snapshot, Thread, Value, Variable};
use crate::target::procfs::Mapping;

/// How deep made variables nest below the one made without an owner: JSON
/// readers stop at 128 levels of nesting (`serde_json`, and so `ptsnap
/// show`), and a variable level is two (the object and its `members`).
pub const MAX_MADE_DEPTH: usize = 32;

/// The `unwind` of a frame made by a module (`pmodule.create_frame`).
pub const MADE_FRAME: &str = "synthesized";

/// What every object of one module shares: the snapshot, the module's id
/// (the `source` of its annotations), the target's memory and the
/// module's budget (what it makes ptsnap store counts against it).
#[derive(Clone)]
pub struct Ctx {
    pub snap: Shared,
    pub module: Rc<str>,
    pub memory: Rc<dyn Memory>,
    pub services: Current,
    pub budget: Rc<Budget>,
}

impl Ctx {
    /// Counts `bytes` the module makes ptsnap store against its memory
    /// limit; past it, the module is dead.
    fn store(&self, bytes: usize) -> mlua::Result<()> {
        self.budget.store(bytes)
    }
}

/// The pmodule variable types, in `pmodule.variable_type` order.
pub const KINDS: &[(&str, Kind)] = &[
    ("ll", Kind::Ll),
    ("ull", Kind::Ull),
    ("flt", Kind::Flt),
    ("dbl", Kind::Dbl),
    ("ldbl", Kind::Ldbl),
    ("cflt", Kind::Cflt),
    ("cdbl", Kind::Cdbl),
    ("cldbl", Kind::Cldbl),
    ("string", Kind::String),
    ("enum", Kind::Enum),
    ("tuple", Kind::Tuple),
    ("array", Kind::Array),
    ("bottom", Kind::Bottom),
    ("fn", Kind::Fn),
    ("reference", Kind::Reference),
];

/// `pmodule.annotation` levels, in order.
pub const ANNOTATION_LEVELS: &[&str] = &["comment", "warning", "critical", "json"];

/// `pmodule.process_state`, in order.
/// `core`: the snapshot is of a core dump (appended, so that the C
/// enumeration's values stay).
pub const PROCESS_STATES: &[&str] = &[
    "running", "sleeping", "disk", "stopped", "traced", "zombie", "dead", "idle", "blocked", "queued", "unknown",
    "core",
];

fn stale() -> mlua::Error {
    mlua::Error::runtime("this object is no longer part of the snapshot")
}

/// What a parsed JSON value may take in memory per byte of its text: the
/// shortest value (`0,` in an array) is two bytes.
const JSON_BYTES_PER_TEXT_BYTE: usize = size_of::<serde_json::Value>() / 2;

/// What one key-value takes besides its key and text.
const KV_ENTRY: usize = size_of::<String>() + size_of::<serde_json::Value>();

/// Roughly what `v` takes in ptsnap's memory: what made and copied
/// variables count against a module's memory limit.
fn variable_weight(v: &Variable) -> usize {
    let children = v.members.iter().chain(&v.elements).chain(v.target.as_deref());
    size_of::<Variable>()
        + v.name.len()
        + v.symbol.as_ref().map_or(0, String::len)
        + v.annotations.iter().map(annotation_weight).sum::<usize>()
        + children.map(variable_weight).sum::<usize>()
}

/// Roughly what `f` takes in ptsnap's memory (as [`variable_weight`]).
fn frame_weight(f: &Frame) -> usize {
    let texts = [&f.function, &f.file, &f.module].into_iter().flatten();
    size_of::<Frame>()
        + texts.map(String::len).sum::<usize>()
        + f.annotations.iter().map(annotation_weight).sum::<usize>()
        + f.parameters.iter().chain(&f.locals).map(variable_weight).sum::<usize>()
}

/// A made object's annotations are text (modules cannot annotate made
/// objects; JSON was counted when it was annotated).
fn annotation_weight(a: &Annotation) -> usize {
    size_of::<Annotation>() + a.text.as_ref().map_or(0, String::len)
}

/// `string.format(fmt, ...)` in the module's own state.
fn format(lua: &Lua, args: MultiValue) -> mlua::Result<String> {
    let string: mlua::Table = lua.globals().raw_get("string")?;
    let format: mlua::Function = string.raw_get("format")?;
    format.call(args)
}

/// Builds an annotation from `(level, fmt, ...)`; a `json` annotation must
/// be an object `{"json": {...}}` and is stored as its inner object. An
/// invalid one is dropped with an error on stderr (the module goes on).
/// The text counts against the module's memory limit before it is parsed;
/// JSON counts as what its parsed values may take.
fn annotation(lua: &Lua, ctx: &Ctx, mut args: MultiValue) -> mlua::Result<Option<Annotation>> {
    let module = &*ctx.module;
    let level = args.pop_front().and_then(|v| v.as_integer()).unwrap_or(0);
    let level = ANNOTATION_LEVELS
        .get(usize::try_from(level).unwrap_or(usize::MAX))
        .ok_or_else(|| mlua::Error::runtime(format!("unknown annotation level {level}")))?;
    let text = format(lua, args)?;
    let per_byte = if *level == "json" { JSON_BYTES_PER_TEXT_BYTE } else { 1 };
    ctx.store(size_of::<Annotation>() + text.len().saturating_mul(per_byte))?;
    if *level == "json" {
        let inner = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(mut o)) => match o.remove("json") {
                Some(inner @ serde_json::Value::Object(_)) => Ok(inner),
                _ => Err(r#"it must have the form {"json": {...}}"#.to_string()),
            },
            Ok(_) => Err(r#"it must have the form {"json": {...}}"#.to_string()),
            Err(e) => Err(format!("it is not valid JSON: {e}")),
        };
        return Ok(match inner {
            Ok(inner) => Some(Annotation {
                level: level.to_string(),
                text: None,
                json: Some(inner),
                source: Some(module.to_string()),
            }),
            Err(why) => {
                eprintln!("[{module}] error: json annotation dropped: {why}");
                None
            }
        });
    }
    Ok(Some(Annotation::text(level, text, module)))
}

/// Adds `annotate(level, fmt, ...)` to an object whose annotations
/// `target` finds.
fn add_annotate<T: 'static>(
    methods: &mut impl UserDataMethods<T>,
    ctx: fn(&T) -> &Ctx,
    target: for<'s> fn(&T, &'s mut Snapshot) -> Option<&'s mut Vec<Annotation>>,
) {
    methods.add_method("annotate", move |lua, this, args: MultiValue| {
        let c = ctx(this);
        let Some(a) = annotation(lua, c, args)? else { return Ok(()) };
        let mut snap = c.snap.borrow_mut()?;
        target(this, &mut snap).ok_or_else(stale)?.push(a);
        Ok(())
    });
}

fn match_of(value: Option<AnyUserData>) -> mlua::Result<Option<Match>> {
    match value {
        Some(ud) => Ok(Some(ud.borrow::<MatchUd>()?.0.borrow().clone())),
        None => Ok(None),
    }
}

#[derive(Clone)]
pub struct BacktraceUd(pub Ctx);

#[derive(Clone)]
pub struct ThreadUd {
    pub ctx: Ctx,
    pub at: ThreadAt,
}

impl ThreadUd {
    fn read<R>(&self, f: impl FnOnce(&Thread) -> R) -> mlua::Result<R> {
        self.at.get(&*self.ctx.snap.borrow()?).map(f).ok_or_else(stale)
    }

    fn write<R>(&self, f: impl FnOnce(&mut Thread) -> R) -> mlua::Result<R> {
        self.at.get_mut(&mut *self.ctx.snap.borrow_mut()?).map(f).ok_or_else(stale)
    }
}

#[derive(Clone)]
pub struct FrameUd {
    pub ctx: Ctx,
    /// The frame in the snapshot; `None` for a frame made by
    /// `pmodule.create_frame` (held in `temp`, not in the snapshot).
    pub at: Option<FrameAt>,
    pub temp: Option<Rc<RefCell<Frame>>>,
}

impl FrameUd {
    pub fn new(ctx: &Ctx, at: FrameAt) -> Self {
        FrameUd { ctx: ctx.clone(), at: Some(at), temp: None }
    }

    pub fn temporary(ctx: &Ctx) -> mlua::Result<Self> {
        let frame = Frame { unwind: MADE_FRAME.into(), ..Frame::default() };
        ctx.store(frame_weight(&frame))?;
        Ok(FrameUd { ctx: ctx.clone(), at: None, temp: Some(Rc::new(RefCell::new(frame))) })
    }

    /// The frame in the snapshot (a made frame is in none).
    fn at(&self) -> mlua::Result<FrameAt> {
        self.at.ok_or_else(|| mlua::Error::runtime("this frame is not part of the snapshot (add it with add_frame)"))
    }
}

#[derive(Clone)]
pub struct VariableUd {
    pub ctx: Ctx,
    /// The variable in the snapshot; `None` for a variable made or read
    /// for the module (`create_variable`, `variable_from_bt`), held in
    /// `temp`.
    pub at: Option<VarAt>,
    /// The value of a made variable: the variable it was made in (its
    /// root), and the member path from there.
    pub temp: Option<(Rc<RefCell<Variable>>, Vec<usize>)>,
}

impl VariableUd {
    pub fn new(ctx: &Ctx, at: VarAt) -> Self {
        VariableUd { ctx: ctx.clone(), at: Some(at), temp: None }
    }

    /// A variable the module made or read, held by its handle; it counts
    /// against the module's memory limit.
    pub fn temporary(ctx: &Ctx, v: Variable) -> mlua::Result<Self> {
        ctx.store(variable_weight(&v))?;
        Ok(VariableUd { ctx: ctx.clone(), at: None, temp: Some((Rc::new(RefCell::new(v)), Vec::new())) })
    }

    /// A copy to add to the snapshot (a variable made by the module), with
    /// a handle identity of its own.
    fn snapshot_copy(&self) -> mlua::Result<Variable> {
        let mut copy = self.read(Variable::clone)?;
        renew(&mut copy);
        Ok(copy)
    }
}

/// The children of a made variable: an array's elements, else members.
fn children_mut(v: &mut Variable) -> &mut Vec<Variable> {
    if v.kind == Kind::Array { &mut v.elements } else { &mut v.members }
}

fn member_at<'v>(v: &'v mut Variable, path: &[usize]) -> Option<&'v mut Variable> {
    match path.split_first() {
        None => Some(v),
        Some((i, rest)) => member_at(children_mut(v).get_mut(*i)?, rest),
    }
}

pub struct SiginfoUd(pub SignalInfo);

pub struct MatchUd(pub RefCell<Match>);

impl UserData for BacktraceUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("pid", |_, this, ()| Ok(this.0.snap.borrow()?.process.pid));
        methods.add_method("application_name", |_, this, ()| Ok(this.0.snap.borrow()?.application.clone()));
        methods.add_method("process_state", |_, this, ()| {
            let snap = this.0.snap.borrow()?;
            let state = snap.process.state.as_str();
            let index = |name: &str| PROCESS_STATES.iter().position(|s| *s == name);
            Ok(index(state).or_else(|| index("unknown")).unwrap_or_default())
        });
        methods.add_method("add_kv_int", |_, this, (k, v): (String, i64)| {
            this.0.store(KV_ENTRY + k.len())?;
            this.0.snap.borrow_mut()?.kv.insert(k, v.into());
            Ok(())
        });
        methods.add_method("add_kv_string", |_, this, (k, v): (String, String)| {
            this.0.store(KV_ENTRY + k.len() + v.len())?;
            this.0.snap.borrow_mut()?.kv.insert(k, v.into());
            Ok(())
        });
        methods.add_method("add_classifier", |_, this, name: String| {
            add_once(&this.0, name, |snap| &mut snap.classifiers)
        });
        methods.add_method("add_tag", |_, this, name: String| add_once(&this.0, name, |snap| &mut snap.tags));
        add_annotate(methods, |this| &this.0, |_, snap| Some(&mut snap.annotations));
        methods.add_method("pmap_entry", |_, this, address: i64| {
            this.0.services.with(|s| Ok(s.mapping(address as u64).map(PmapUd)))
        });
        methods.add_method("variables", |lua, this, ()| {
            let ctx = this.0.clone();
            lua.create_function(move |_, (filter, prev): (Option<mlua::Table>, Option<AnyUserData>)| {
                let filter = read_filter(filter.as_ref())?;
                if prev.is_none() && !filter.is_empty() {
                    look_up_filtered(&ctx, &filter)?;
                }
                next_filtered(&ctx, prev, VarList::Globals, &filter, |snap| VarAt::global(snap, 0))
            })
        });
        methods.add_meta_method(MetaMethod::Call, |_, this, (m, prev): (Option<AnyUserData>, Option<AnyUserData>)| {
            let m = match_of(m)?;
            let prev = prev.map(|ud| ud.borrow::<ThreadUd>().map(|t| t.at)).transpose()?;
            let mut snap = this.0.snap.borrow_mut()?;
            let start = match prev {
                Some(at) => at.index(&snap).ok_or_else(stale)? + 1,
                None => 0,
            };
            let found = (start..snap.threads.len()).find(|&t| m.as_ref().is_none_or(|m| m.thread(&snap.threads[t])));
            Ok(found.and_then(|t| ThreadAt::of(&mut snap, t)).map(|at| ThreadUd { ctx: this.0.clone(), at }))
        });
    }
}

/// Adds `name` to the list `list` finds unless it is there (classifiers,
/// tags).
fn add_once(ctx: &Ctx, name: String, list: fn(&mut Snapshot) -> &mut Vec<String>) -> mlua::Result<()> {
    let mut snap = ctx.snap.borrow_mut()?;
    let list = list(&mut snap);
    if !list.contains(&name) {
        ctx.store(size_of::<String>() + name.len())?;
        list.push(name);
    }
    Ok(())
}

/// What a global or TLS iteration yields: `(var, object, cu)`, or
/// nothing at the end.
type Triple = (Option<VariableUd>, Option<String>, Option<String>);

/// The variable after `prev` (a variable of `list`; the first one,
/// `first`, when there is none) that `filter` takes.
fn next_filtered(
    ctx: &Ctx,
    prev: Option<AnyUserData>,
    list: VarList,
    filter: &VarFilter,
    first: impl FnOnce(&mut Snapshot) -> Option<VarAt>,
) -> mlua::Result<Triple> {
    let prev = match prev {
        Some(ud) => match ud.borrow::<VariableUd>()?.at {
            Some(at) if at.list() == list => Some(at),
            _ => return Ok((None, None, None)),
        },
        None => None,
    };
    let mut snap = ctx.snap.borrow_mut()?;
    let mut at = match prev {
        Some(prev) => prev.next(&mut snap),
        None => first(&mut snap),
    };
    while let Some(here) = at {
        let v = here.get(&snap).ok_or_else(stale)?;
        if filter.holds(v) {
            return Ok((Some(VariableUd::new(ctx, here)), v.module.clone(), v.cu.clone()));
        }
        at = here.next(&mut snap);
    }
    Ok((None, None, None))
}

/// Reads the table filter of `variables()` into Rust before the snapshot
/// is locked: reading a Lua table can run its `__index`, which may call
/// back into ptsnap.
fn read_filter(table: Option<&mlua::Table>) -> mlua::Result<VarFilter> {
    let Some(t) = table else { return Ok(VarFilter::default()) };
    Ok(VarFilter { object: t.get("object")?, cu: t.get("cu")?, name: t.get("name")? })
}

/// Globals one filter reads at most (a `bt:variables()` table filter, a
/// variable callback's match): a module asking for every global of the C
/// library must not hold the target stopped for it.
pub const GLOBALS_PER_FILTER: usize = 256;

/// Adds to the snapshot's globals those `query` selects in the DWARF of
/// the target that the snapshot does not have yet and `keep` takes (the
/// caller's `query.known` is replaced by the snapshot's), read
/// from the memory the snapshot is taken from (when the engine's services
/// are there: not in `preattach`). What they take counts against the
/// module's memory limit; a query cut by its cap says so on stderr.
pub fn look_up_globals(
    ctx: &Ctx,
    what: &str,
    query: &GlobalQuery<'_>,
    keep: &dyn Fn(&Variable) -> bool,
) -> mlua::Result<()> {
    type Key = (Option<String>, Option<String>, String);
    let known: std::collections::HashSet<Key> =
        ctx.snap.borrow()?.globals.iter().map(|v| (v.module.clone(), v.cu.clone(), v.name.clone())).collect();
    let is_known = |module: &str, cu: Option<&str>, name: &str| {
        known.contains(&(Some(module.to_string()), cu.map(str::to_string), name.to_string()))
    };
    let query = GlobalQuery { known: &is_known, ..*query };
    let Ok(found) = ctx.services.with(|s| Ok(s.globals(&query))) else { return Ok(()) };
    if found.left > 0 {
        eprintln!(
            "[{}] warning: {what}: {} more globals match; at most {} are read per filter",
            ctx.module, found.left, query.cap
        );
    }
    let kept: Vec<Variable> = found.variables.into_iter().filter(|v| keep(v)).collect();
    ctx.store(kept.iter().map(variable_weight).sum())?;
    ctx.snap.borrow_mut()?.globals.extend(kept);
    Ok(())
}

/// `bt:variables()` with a table filter: the globals it names are looked
/// up, not only those extracted.
fn look_up_filtered(ctx: &Ctx, filter: &VarFilter) -> mlua::Result<()> {
    let module = |m: &str| filter.object.as_ref().is_none_or(|o| m.contains(o.as_str()));
    let query = GlobalQuery {
        module: &module,
        executable_only: false,
        global: &|m, cu, name| filter.takes(Some(m), cu, name),
        known: &|_, _, _| false,
        first_module_only: filter.name.is_some() && filter.object.is_none(),
        cap: GLOBALS_PER_FILTER,
    };
    look_up_globals(ctx, &format!("bt:variables(), {filter}"), &query, &|_| true)
}

impl FromLua for MatchType {
    fn from_lua(value: LuaValue, _: &Lua) -> mlua::Result<Self> {
        Ok(match value.as_integer() {
            Some(1) => MatchType::Substr,
            _ => MatchType::Exact,
        })
    }
}

impl UserData for ThreadUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("tid", |_, this, ()| this.read(|t| t.tid));
        methods.add_method("fault", |_, this, ()| this.read(|t| t.faulted));
        methods.add_method("n_frames", |_, this, ()| this.read(|t| t.frames.len()));
        methods.add_method("backtrace", |_, this, ()| Ok(BacktraceUd(this.ctx.clone())));
        methods.add_method("set_name", |_, this, name: String| {
            this.ctx.store(name.len())?;
            this.write(|t| t.name = name)
        });
        methods.add_method("add_frame", |_, this, (frame, first): (mlua::UserDataRef<FrameUd>, Option<bool>)| {
            let new = frame.read(Frame::clone)?;
            this.ctx.store(frame_weight(&new))?;
            this.write(|thread| {
                let at = if first.unwrap_or(false) { 0 } else { thread.frames.len() };
                insert_frame(thread, at, new);
            })
        });
        add_annotate(methods, |this| &this.ctx, |this, snap| Some(&mut this.at.get_mut(snap)?.annotations));
        methods.add_method("variables", |lua, this, ()| {
            let (ctx, thread) = (this.ctx.clone(), this.at);
            lua.create_function(move |_, (filter, prev): (Option<mlua::Table>, Option<AnyUserData>)| {
                let filter = read_filter(filter.as_ref())?;
                next_filtered(&ctx, prev, VarList::Tls(thread), &filter, |snap| thread.tls(snap, 0))
            })
        });
        methods.add_meta_method(MetaMethod::Call, |_, this, (m, prev): (Option<AnyUserData>, Option<AnyUserData>)| {
            let m = match_of(m)?;
            let prev = prev.map(|ud| ud.borrow::<FrameUd>().map(|f| f.at)).transpose()?;
            let mut snap = this.ctx.snap.borrow_mut()?;
            let start = match prev {
                Some(at) => at.and_then(|at| at.index(&snap)).ok_or_else(stale)?.1 + 1,
                None => 0,
            };
            let thread = this.at.get(&snap).ok_or_else(stale)?;
            let found = (start..thread.frames.len()).find(|&f| {
                m.as_ref()
                    .is_none_or(|m| m.frame(&FrameRef { frame: &thread.frames[f], thread_faulted: thread.faulted }))
            });
            Ok(found.and_then(|f| this.at.frame(&mut snap, f)).map(|at| FrameUd::new(&this.ctx, at)))
        });
    }
}

impl FrameUd {
    fn read<R>(&self, f: impl FnOnce(&Frame) -> R) -> mlua::Result<R> {
        if let Some(frame) = &self.temp {
            return Ok(f(&frame.borrow()));
        }
        let snap = self.ctx.snap.borrow()?;
        self.at()?.get(&snap).map(|(_, frame)| f(frame)).ok_or_else(stale)
    }

    fn write<R>(&self, f: impl FnOnce(&mut Frame) -> R) -> mlua::Result<R> {
        if let Some(frame) = &self.temp {
            return Ok(f(&mut frame.borrow_mut()));
        }
        self.at()?.get_mut(&mut *self.ctx.snap.borrow_mut()?).map(f).ok_or_else(stale)
    }
}

/// Inserts a copy of a module's frame at `at` (with a handle identity of
/// its own) and numbers the thread's frames again.
fn insert_frame(thread: &mut Thread, at: usize, mut frame: Frame) {
    renew(&mut frame);
    thread.frames.insert(at.min(thread.frames.len()), frame);
    for (i, f) in thread.frames.iter_mut().enumerate() {
        f.index = i;
    }
}

impl UserData for FrameUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("symbol", |_, this, ()| this.read(|f| f.function.clone()));
        methods.add_method("path", |_, this, ()| this.read(|f| f.file.clone()));
        methods.add_method("line", |_, this, ()| this.read(|f| f.line));
        methods.add_method("line_resolved", |_, this, ()| this.read(|f| f.line.is_some()));
        methods.add_method("object_file", |_, this, ()| this.read(|f| f.module.clone()));
        methods.add_method("instruction", |_, this, ()| this.read(|f| f.pc.0 as i64));
        methods.add_method("thread", |_, this, ()| Ok(ThreadUd { ctx: this.ctx.clone(), at: this.at()?.thread() }));
        methods.add_method("backtrace", |_, this, ()| Ok(BacktraceUd(this.ctx.clone())));
        methods.add_method("siginfo", |_, this, ()| {
            let faulted = this.read(|f| f.faulted)?;
            let snap = this.ctx.snap.borrow()?;
            Ok(faulted.then(|| snap.fault.as_ref()?.signal.clone().map(SiginfoUd)).flatten())
        });
        methods.add_method("decl_line", |_, this, ()| this.read(|f| f.decl_line));
        methods.add_method("set_symbol", |_, this, s: String| {
            this.ctx.store(s.len())?;
            this.write(|f| f.function = Some(s))
        });
        methods.add_method("set_path", |_, this, s: String| {
            this.ctx.store(s.len())?;
            this.write(|f| f.file = Some(s))
        });
        methods.add_method("set_basename", |_, this, name: String| {
            this.ctx.store(name.len())?;
            this.write(|f| {
                let dir = f.file.as_deref().and_then(|p| p.rsplit_once('/')).map(|(d, _)| d.to_string());
                f.file = Some(match dir {
                    Some(d) => format!("{d}/{name}"),
                    None => name,
                });
            })
        });
        methods.add_method("set_directory", |_, this, dir: String| {
            this.ctx.store(dir.len())?;
            this.write(|f| {
                let base = f.file.as_deref().map(|p| p.rsplit('/').next().unwrap_or(p).to_string()).unwrap_or_default();
                f.file = Some(format!("{}/{base}", dir.trim_end_matches('/')));
            })
        });
        methods.add_method("set_line", |_, this, n: u32| this.write(|f| f.line = Some(n)));
        methods.add_method("set_decl_line", |_, this, n: u32| this.write(|f| f.decl_line = Some(n)));
        methods.add_method(
            "add_variable",
            |_, this, (var, after): (mlua::UserDataRef<VariableUd>, Option<mlua::UserDataRef<VariableUd>>)| {
                let v = var.snapshot_copy()?;
                this.ctx.store(variable_weight(&v))?;
                // After `after` when it is a local of this frame, else last.
                let after = match after.and_then(|a| a.at) {
                    Some(a) if this.at.is_some_and(|f| a.list() == VarList::Locals(f)) => {
                        a.index(&*this.ctx.snap.borrow()?)
                    }
                    _ => None,
                };
                this.write(|f| {
                    let at = after.map_or(f.locals.len(), |i| (i + 1).min(f.locals.len()));
                    f.locals.insert(at, v);
                })
            },
        );
        methods.add_method("add_frame", |_, this, frame: mlua::UserDataRef<FrameUd>| {
            let new = frame.read(Frame::clone)?;
            this.ctx.store(frame_weight(&new))?;
            let at = this.at()?;
            let mut snap = this.ctx.snap.borrow_mut()?;
            let (_, f) = at.index(&snap).ok_or_else(stale)?;
            insert_frame(at.thread().get_mut(&mut snap).ok_or_else(stale)?, f + 1, new);
            Ok(())
        });
        methods.add_method("fprm", |lua, this, ()| {
            let this = this.clone();
            lua.create_function(move |_, (_, prev): (LuaValue, Option<AnyUserData>)| {
                let frame = this.at()?;
                let prev = prev.map(|ud| ud.borrow::<VariableUd>().map(|v| v.at)).transpose()?;
                let mut snap = this.ctx.snap.borrow_mut()?;
                let i = match prev {
                    None => 0,
                    Some(Some(at)) if at.list() == VarList::Parameters(frame) => at.index(&snap).ok_or_else(stale)? + 1,
                    Some(_) => return Ok((None, None)),
                };
                Ok(match frame.parameter(&mut snap, i) {
                    Some(at) => (Some(VariableUd::new(&this.ctx, at)), Some(i)),
                    None => (None, None),
                })
            })
        });
        methods.add_method("fprm_at", |_, this, i: usize| {
            let at = this.at()?.parameter(&mut *this.ctx.snap.borrow_mut()?, i);
            Ok(at.map(|at| VariableUd::new(&this.ctx, at)))
        });
        add_annotate(methods, |this| &this.ctx, |this, snap| Some(&mut this.at?.get_mut(snap)?.annotations));
        methods.add_meta_method(MetaMethod::Call, |_, this, (m, prev): (Option<AnyUserData>, Option<AnyUserData>)| {
            let m = match_of(m)?;
            let frame = this.at()?;
            let prev = prev.map(|ud| ud.borrow::<VariableUd>().map(|v| v.at)).transpose()?;
            let mut snap = this.ctx.snap.borrow_mut()?;
            let mut at = match prev {
                Some(Some(at)) if at.frame() == Some(frame) => at.next(&mut snap),
                Some(_) => None,
                None => frame.first_variable(&mut snap),
            };
            while let Some(here) = at {
                let (thread, f) = frame.get(&snap).ok_or_else(stale)?;
                let v = here.get(&snap).ok_or_else(stale)?;
                if m.as_ref()
                    .is_none_or(|m| m.variable(v, Some(&FrameRef { frame: f, thread_faulted: thread.faulted })))
                {
                    return Ok(Some(VariableUd::new(&this.ctx, here)));
                }
                at = here.next(&mut snap);
            }
            Ok(None)
        });
    }
}

impl VariableUd {
    fn read<R>(&self, f: impl FnOnce(&Variable) -> R) -> mlua::Result<R> {
        if let Some((root, path)) = &self.temp {
            return member_at(&mut root.borrow_mut(), path).map(|v| f(v)).ok_or_else(stale);
        }
        let at = self.at.ok_or_else(stale)?;
        at.get(&*self.ctx.snap.borrow()?).map(f).ok_or_else(stale)
    }

    fn write<R>(&self, f: impl FnOnce(&mut Variable) -> R) -> mlua::Result<R> {
        if let Some((root, path)) = &self.temp {
            return member_at(&mut root.borrow_mut(), path).map(f).ok_or_else(stale);
        }
        let at = self.at.ok_or_else(stale)?;
        at.get_mut(&mut *self.ctx.snap.borrow_mut()?).map(f).ok_or_else(stale)
    }

    /// Gives the variable a value of a kind (the `set_*` methods).
    fn set(&self, kind: Kind, value: Value) -> mlua::Result<()> {
        self.write(|v| {
            v.kind = kind;
            v.value = value;
        })
    }

    /// Adds `child` as the last member (element, for an array) of this
    /// made variable; returns the handle of the child. A handle holds the
    /// path from its root, so the depth is bounded ([`MAX_MADE_DEPTH`]):
    /// a chain of owners costs each variable at most that much.
    pub fn adopt(&self, child: Variable) -> mlua::Result<VariableUd> {
        let (root, path) =
            self.temp.as_ref().ok_or_else(|| mlua::Error::runtime("only a created variable can own another"))?;
        if path.len() >= MAX_MADE_DEPTH {
            return Err(mlua::Error::runtime(format!(
                "create_variable: made variables nest at most {MAX_MADE_DEPTH} levels below the first"
            )));
        }
        self.ctx.store(variable_weight(&child))?;
        let index = self.write(|v| {
            let children = children_mut(v);
            children.push(child);
            children.len() - 1
        })?;
        let mut child_path = path.clone();
        child_path.push(index);
        Ok(VariableUd { ctx: self.ctx.clone(), at: None, temp: Some((root.clone(), child_path)) })
    }
}

/// `var:value()`: an integer for integers, enums and pointers, a number
/// for floats, `re, im` for complex numbers, nil for the rest. An integer
/// kind whose value could not be read gives 0, as the API promises an
/// integer; `var:resolved()` tells whether the value is real.
fn lua_value(v: &Variable) -> MultiValue {
    let one = |x: LuaValue| MultiValue::from_vec(vec![x]);
    match (&v.kind, &v.value) {
        (Kind::String | Kind::Tuple | Kind::Array | Kind::Bottom | Kind::Fn, _) => one(LuaValue::Nil),
        (Kind::Ll | Kind::Ull | Kind::Enum | Kind::Reference, Value::Null) => one(LuaValue::Integer(0)),
        (_, Value::Int(i)) => one(LuaValue::Integer(*i)),
        (_, Value::UInt(u)) => one(LuaValue::Integer(*u as i64)),
        (_, Value::Bool(b)) => one(LuaValue::Integer(*b as i64)),
        (_, Value::Float(x)) => one(LuaValue::Number(*x)),
        (_, Value::Complex([re, im])) => MultiValue::from_vec(vec![
            re.map_or(LuaValue::Nil, LuaValue::Number),
            im.map_or(LuaValue::Nil, LuaValue::Number),
        ]),
        _ => one(LuaValue::Nil),
    }
}

impl UserData for VariableUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("name", |_, this, ()| this.read(|v| v.name.clone()));
        methods.add_method("type", |_, this, ()| {
            this.read(|v| KINDS.iter().position(|(_, k)| *k == v.kind).unwrap_or(12))
        });
        methods.add_method("type_name", |_, this, ()| this.read(|v| v.type_name.to_string()));
        methods.add_method("base_type", |_, this, ()| this.read(|v| v.base_type.to_string()));
        methods.add_method("address", |_, this, ()| this.read(|v| v.address.map(|a| a.0 as i64)));
        methods.add_method("value", |_, this, ()| this.read(lua_value));
        methods.add_method("symbol", |_, this, ()| this.read(|v| v.symbol.clone()));
        methods.add_method("is_string", |_, this, ()| {
            this.read(|v| v.kind == Kind::String || (v.kind == Kind::Reference && &*v.base_type == "char"))
        });
        methods.add_method("resolved", |_, this, ()| {
            this.read(|v| {
                !matches!(
                    v.location,
                    crate::snapshot::ValueLocation::OptimizedOut | crate::snapshot::ValueLocation::Unavailable
                )
            })
        });
        methods.add_method("fprm_offset", |_, this, ()| match this.at {
            Some(at) if matches!(at.list(), VarList::Parameters(_)) => Ok(at.index(&*this.ctx.snap.borrow()?)),
            _ => Ok(None),
        });
        // The made variable this one was made in (`create_variable`'s
        // owner); variables of the snapshot are top-level and have none.
        methods.add_method("owner", |_, this, ()| {
            Ok(this.temp.as_ref().and_then(|(root, path)| {
                let (_, parent) = path.split_last()?;
                Some(VariableUd { ctx: this.ctx.clone(), at: None, temp: Some((root.clone(), parent.to_vec())) })
            }))
        });
        methods
            .add_method("frame", |_, this, ()| Ok(this.at.and_then(|a| a.frame()).map(|f| FrameUd::new(&this.ctx, f))));
        methods.add_method("thread", |_, this, ()| {
            Ok(this.at.and_then(|a| a.thread()).map(|at| ThreadUd { ctx: this.ctx.clone(), at }))
        });
        methods.add_method("backtrace", |_, this, ()| Ok(BacktraceUd(this.ctx.clone())));
        methods.add_method("set_ll", |_, this, n: i64| this.set(Kind::Ll, Value::Int(n)));
        methods.add_method("set_ull", |_, this, n: i64| this.set(Kind::Ull, Value::UInt(n as u64)));
        methods.add_method("set_dbl", |_, this, x: f64| this.set(Kind::Dbl, Value::float(x)));
        methods.add_method("set_string", |_, this, s: String| {
            this.ctx.store(s.len())?;
            this.write(|v| {
                v.kind = Kind::String;
                v.symbol = Some(s);
            })
        });
        methods.add_method("set_cdbl", |_, this, (re, im): (f64, f64)| {
            this.set(
                Kind::Cdbl,
                Value::Complex([Some(re).filter(|x| x.is_finite()), Some(im).filter(|x| x.is_finite())]),
            )
        });
        methods.add_method("set_ref", |_, this, address: i64| this.set(Kind::Reference, Value::UInt(address as u64)));
        methods.add_method("set_struct", |_, this, ()| this.write(|v| v.kind = Kind::Tuple));
        methods.add_method("set_array", |_, this, ()| this.write(|v| v.kind = Kind::Array));
        methods.add_method("set_function", |_, this, name: Option<String>| {
            this.ctx.store(name.as_ref().map_or(0, String::len))?;
            this.write(|v| {
                v.kind = Kind::Fn;
                if name.is_some() {
                    v.symbol = name;
                }
            })
        });
        // A temporary variable is not in the snapshot: annotating it is
        // an error, like reading a stale handle.
        add_annotate(methods, |this| &this.ctx, |this, snap| Some(&mut this.at?.get_mut(snap)?.annotations));
    }
}

impl UserData for SiginfoUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("num", |_, this, ()| Ok(this.0.num));
        methods.add_method("code", |_, this, ()| Ok(this.0.code));
        methods.add_method("address", |_, this, ()| Ok(this.0.address.map_or(0, |a| a.0 as i64)));
        methods.add_method("address_populated", |_, this, ()| Ok(this.0.address_populated));
        methods.add_method("reason", |_, this, ()| Ok((this.0.reason.clone(), this.0.sent_by_kill)));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let code = this.0.code_name.as_deref().unwrap_or("?");
            Ok(format!("{} ({code}): {}", this.0.name, this.0.reason))
        });
    }
}

impl UserData for MatchUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("reset", |_, this, ()| {
            this.0.borrow_mut().reset();
            Ok(())
        });
        methods.add_method("add_object", |_, this, (s, how): (String, MatchType)| {
            this.0.borrow_mut().add_object(s, how);
            Ok(())
        });
        methods.add_method("add_file", |_, this, (s, how): (String, MatchType)| {
            this.0.borrow_mut().add_file(s, how);
            Ok(())
        });
        methods.add_method("add_frame_symbol", |_, this, (s, how): (String, MatchType)| {
            this.0.borrow_mut().add_frame_symbol(s, how);
            Ok(())
        });
        for name in ["add_variable_base_type", "add_base_type"] {
            methods.add_method(name, |_, this, (s, how): (String, MatchType)| {
                this.0.borrow_mut().add_base_type(s, how);
                Ok(())
            });
        }
        methods.add_method("add_variable_name", |_, this, (s, how): (String, MatchType)| {
            this.0.borrow_mut().add_variable_name(s, how);
            Ok(())
        });
        methods.add_method("add_variable_ptrace_type", |_, this, kind: usize| {
            let (_, k) =
                KINDS.get(kind).ok_or_else(|| mlua::Error::runtime(format!("unknown variable type {kind}")))?;
            this.0.borrow_mut().add_kind(*k);
            Ok(())
        });
        methods.add_method("set_fault", |_, this, whole: Option<bool>| {
            this.0.borrow_mut().set_fault(whole.unwrap_or(false));
            Ok(())
        });
    }
}

/// `bt_variable`: a typed view of target memory; `btvar.field` is the
/// member (through pointers), read with `pmodule.variable_from_bt`.
#[derive(Clone)]
pub struct BtVarUd {
    pub ctx: Ctx,
    pub var: BtVar,
}

impl UserData for BtVarUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::Index, |_, this, field: String| {
            let var = this.ctx.services.with(|s| s.member(&this.var, &field).map_err(mlua::Error::runtime))?;
            Ok(BtVarUd { ctx: this.ctx.clone(), var })
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!("bt_variable {} at {:#x}", this.var.name, this.var.address))
        });
    }
}

/// `pmap`: a mapping of the target's address space.
pub struct PmapUd(pub Mapping);

/// `pmodule.pmap_perms`, in order.
pub const PMAP_PERMS: &[&str] = &["ex", "rd", "wr", "pr", "sh", "all"];

impl UserData for PmapUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("start", |_, this, ()| Ok(this.0.start as i64));
        methods.add_method("end_address", |_, this, ()| Ok(this.0.end as i64));
        methods.add_method("path", |_, this, ()| Ok(this.0.path.clone()));
        // A guard page: mapped without any access (between thread stacks,
        // below a stack).
        methods.add_method("guard", |_, this, ()| Ok(!(this.0.readable || this.0.writable || this.0.executable)));
        methods.add_method("permissions", |_, this, flags: mlua::Variadic<usize>| {
            let e = &this.0;
            let has = |flag: usize| match PMAP_PERMS.get(flag) {
                Some(&"ex") => Ok(e.executable),
                Some(&"rd") => Ok(e.readable),
                Some(&"wr") => Ok(e.writable),
                Some(&"pr") => Ok(!e.shared),
                Some(&"sh") => Ok(e.shared),
                Some(&"all") => Ok(e.readable && e.writable && e.executable),
                _ => Err(mlua::Error::runtime(format!("unknown pmap permission {flag}"))),
            };
            flags.iter().try_fold(true, |all, f| Ok(all && has(*f)?))
        });
    }
}
