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
//!
//! One file per object; this one holds what they share: the module's
//! context, annotations, and what made objects weigh against the module's
//! memory limit.

mod backtrace;
mod btvar;
mod frame;
mod globals;
mod matcher;
mod pmap;
mod siginfo;
mod thread;
mod variable;

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
use crate::process::procfs::Mapping;
use crate::snapshot::{
    Annotation, AnnotationLevel, Frame, FrameUnwind, Kind, SignalInfo, Snapshot, Thread, Value, Variable,
};

pub use backtrace::BacktraceUd;
pub use btvar::BtVarUd;
pub use frame::FrameUd;
use frame::insert_frame;
pub use globals::{GLOBALS_PER_FILTER, look_up_globals};
use globals::{look_up_filtered, next_filtered, read_filter};
pub use matcher::MatchUd;
pub use pmap::{PMAP_PERMS, PmapUd};
pub use siginfo::SiginfoUd;
pub use thread::ThreadUd;
pub use variable::VariableUd;

/// How deep made variables nest below the one made without an owner: JSON
/// readers stop at 128 levels of nesting (`serde_json`, and so `ptsnap
/// show`), and a variable level is two (the object and its `members`).
pub const MAX_MADE_DEPTH: usize = 32;

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
pub const ANNOTATION_LEVELS: [(&str, AnnotationLevel); 4] = [
    ("comment", AnnotationLevel::Comment),
    ("warning", AnnotationLevel::Warning),
    ("critical", AnnotationLevel::Critical),
    ("json", AnnotationLevel::Json),
];

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
        + v.symbol.as_deref().map_or(0, str::len)
        + v.annotations.iter().map(annotation_weight).sum::<usize>()
        + children.map(variable_weight).sum::<usize>()
}

/// Roughly what `f` takes in ptsnap's memory (as [`variable_weight`]).
fn frame_weight(f: &Frame) -> usize {
    let texts = [&f.function, &f.file, &f.module].into_iter().flatten();
    size_of::<Frame>()
        + texts.map(|t| t.len()).sum::<usize>()
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
    let (_, level) = *ANNOTATION_LEVELS
        .get(usize::try_from(level).unwrap_or(usize::MAX))
        .ok_or_else(|| mlua::Error::runtime(format!("unknown annotation level {level}")))?;
    let text = format(lua, args)?;
    let json = level == AnnotationLevel::Json;
    let per_byte = if json { JSON_BYTES_PER_TEXT_BYTE } else { 1 };
    ctx.store(size_of::<Annotation>() + text.len().saturating_mul(per_byte))?;
    if json {
        let inner = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(mut o)) => match o.remove("json") {
                Some(inner @ serde_json::Value::Object(_)) => Ok(inner),
                _ => Err(r#"it must have the form {"json": {...}}"#.to_string()),
            },
            Ok(_) => Err(r#"it must have the form {"json": {...}}"#.to_string()),
            Err(e) => Err(format!("it is not valid JSON: {e}")),
        };
        return Ok(match inner {
            Ok(inner) => Some(Annotation { level, text: None, json: Some(inner), source: Some(module.to_string()) }),
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
