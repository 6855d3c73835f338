//! The function table of `include/ptsnap/pmodule.h` (`struct ptsnap_api`)
//! and its `extern "C"` functions.
//!
//! Each function is a shim: it finds the module running now
//! ([`State::current`]), reads its C arguments (a NULL or non-UTF-8
//! string, an unknown handle: an error code), calls the `pmodule`
//! function or object method a Lua module would, and writes the result
//! through the module's out-pointers. Nothing Rust crosses the boundary:
//! handles are ids, strings are lent until the call into the module
//! returns, errors are status codes (the text in `last_error`). No panic
//! unwinds into C: every shim catches it ([`shim`]). While the engine
//! cuts the pause, or past a callback's wall-clock bound, every shim
//! fails with `PTSNAP_ERR_STOPPED`: native code cannot be interrupted,
//! but a module that calls the API hears of it.

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use mlua::{AnyUserData, FromLuaMulti, IntoLuaMulti, MultiValue, ObjectLike, Value};

use super::slots::Kind;
use super::{Call, NativeFn, State};
use crate::pmodule::objects::MatchUd;
use crate::pmodule::{Callback, EVENTS, Event, Handler};

pub const ABI_MAJOR: u32 = 1;
pub const ABI_MINOR: u32 = 2;

const OK: c_int = 0;
const NOT_FOUND: c_int = -1;
const ERR_HANDLE: c_int = -2;
const ERR_ARGUMENT: c_int = -3;
const ERR_FAILED: c_int = -4;
const ERR_STOPPED: c_int = -5;
const ERR_STATE: c_int = -6;
const ERR_INTERNAL: c_int = -7;

/// Longest read of `address_read_raw` (as in Lua).
const MAX_READ: usize = 1 << 20;
/// What a kept handle counts against the module's memory limit.
const KEPT_HANDLE_BYTES: usize = 64;

/// A handle (`ptsnap_thread` and the others): an id, 0 for none.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Handle {
    pub id: u64,
}

pub type LoadFn = unsafe extern "C" fn(*mut c_void) -> c_int;
pub type BacktraceCb = unsafe extern "C" fn(Handle, *mut c_void) -> c_int;
pub type ThreadCb = BacktraceCb;
pub type FrameCb = BacktraceCb;
pub type VariableCb = unsafe extern "C" fn(Handle, Handle, *mut c_void) -> c_int;

/// A string a module passes (`const char *`): NULL, or NUL-terminated and
/// alive until the call returns, as pmodule.h requires of modules. Only a
/// module makes one (the field is private and nothing here makes one), so
/// in an `extern "C"` signature it states that contract the way
/// `Option<&mut T>` does for an out-pointer, and reading it is safe here.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct CText<'a>(*const c_char, PhantomData<&'a CStr>);

impl<'a> CText<'a> {
    fn get(self) -> Option<&'a CStr> {
        if self.0.is_null() {
            return None;
        }
        // SAFETY: not null, so (see the type) a NUL-terminated string that
        // lives for 'a, the module's call.
        Some(unsafe { CStr::from_ptr(self.0) })
    }
}

/// `struct ptsnap_var_filter`.
#[repr(C)]
pub struct VarFilter<'a> {
    object: CText<'a>,
    cu: CText<'a>,
    name: CText<'a>,
}

/// Why a shim failed: its status and the text of `last_error`.
struct Fail(c_int, String);

type Res<T> = Result<T, Fail>;

fn fail(code: c_int, text: impl Into<String>) -> Fail {
    Fail(code, text.into())
}

/// An error of the Lua layer: the module is stopped if it is dead.
fn lua_fail(s: &State, e: mlua::Error) -> Fail {
    let text = match e {
        mlua::Error::RuntimeError(text) => text,
        mlua::Error::CallbackError { cause, .. } => return lua_fail(s, (*cause).clone()),
        e => e.to_string(),
    };
    match s.budget.death() {
        Some(why) => fail(ERR_STOPPED, why),
        None => fail(ERR_FAILED, text.lines().next().unwrap_or_default()),
    }
}

/// Runs one shim: the module's state, no unwinding into C, the error's
/// text kept for `last_error`.
fn shim(f: impl FnOnce(&Rc<State>) -> Res<c_int>) -> c_int {
    let Some(s) = State::current() else { return ERR_STATE };
    let result = catch_unwind(AssertUnwindSafe(|| {
        s.budget.tick(0).map_err(|e| lua_fail(&s, e))?;
        f(&s)
    }));
    match result {
        Ok(Ok(rc)) => rc,
        Ok(Err(Fail(code, text))) => {
            s.set_error(&text);
            code
        }
        Err(_) => {
            s.set_error("ptsnap internal error (please report it)");
            ERR_INTERNAL
        }
    }
}

/// A string the module gives; NULL is an error.
fn text(p: CText<'_>) -> Res<&str> {
    opt_text(p)?.ok_or_else(|| fail(ERR_ARGUMENT, "a NULL string where one is needed"))
}

/// A string the module gives, NULL for none.
fn opt_text(p: CText<'_>) -> Res<Option<&str>> {
    p.get().map(|c| c.to_str().map_err(|_| fail(ERR_ARGUMENT, "a string that is not UTF-8"))).transpose()
}

fn object(s: &State, h: Handle, kind: Kind) -> Res<AnyUserData> {
    s.get(h.id, kind).ok_or_else(|| fail(ERR_HANDLE, format!("{} is not a valid {kind:?} handle", h.id)))
}

/// An optional object: id 0 is none.
fn opt_object(s: &State, h: Handle, kind: Kind) -> Res<Option<AnyUserData>> {
    if h.id == 0 { Ok(None) } else { object(s, h, kind).map(Some) }
}

/// Writes `value` to the module's out-pointer.
fn put<T: Copy>(out: Option<&mut T>, value: T) -> Res<c_int> {
    *out.ok_or_else(|| fail(ERR_ARGUMENT, "a NULL out-pointer"))? = value;
    Ok(OK)
}

/// Writes an optional value: nil is `PTSNAP_ERR_NOT_FOUND`.
fn put_some<T: Copy>(out: Option<&mut T>, value: Option<T>) -> Res<c_int> {
    match value {
        Some(v) => put(out, v),
        None => Ok(NOT_FOUND),
    }
}

fn put_text(s: &State, out: Option<&mut *const c_char>, value: Option<String>) -> Res<c_int> {
    put_some(out, value.map(|v| s.lend(&v)))
}

/// Writes a handle to a new object (nil: not found).
fn put_object(s: &State, out: Option<&mut Handle>, kind: Kind, value: Option<AnyUserData>) -> Res<c_int> {
    put_some(out, value.map(|ud| Handle { id: s.put(kind, ud) }))
}

fn method<R: FromLuaMulti>(s: &State, ud: &AnyUserData, name: &str, args: impl IntoLuaMulti) -> Res<R> {
    ud.call_method(name, args).map_err(|e| lua_fail(s, e))
}

/// Calls method `name` of handle `h`.
fn call<R: FromLuaMulti>(s: &State, h: Handle, kind: Kind, name: &str, args: impl IntoLuaMulti) -> Res<R> {
    method(s, &object(s, h, kind)?, name, args)
}

/// Calls `pmodule.name(args)`.
fn pm<R: FromLuaMulti>(s: &State, name: &str, args: impl IntoLuaMulti) -> Res<R> {
    let f: mlua::Function = s.pm.raw_get(name).map_err(|e| lua_fail(s, e))?;
    f.call(args).map_err(|e| lua_fail(s, e))
}

fn flag(b: bool) -> c_int {
    c_int::from(b)
}

/// A string getter of an object.
macro_rules! text_getter {
    ($($name:ident: $kind:ident.$method:literal;)*) => {$(
        extern "C" fn $name(h: Handle, out: Option<&mut *const c_char>) -> c_int {
            shim(|s| {
                let v: Option<String> = call(s, h, Kind::$kind, $method, ())?;
                put_text(s, out, v)
            })
        }
    )*};
}

/// A number (or flag) getter of an object: `Lua type => C type`.
macro_rules! number_getter {
    ($($name:ident: $kind:ident.$method:literal, $lua:ty => $c:ty;)*) => {$(
        extern "C" fn $name(h: Handle, out: Option<&mut $c>) -> c_int {
            shim(|s| {
                let v: Option<$lua> = call(s, h, Kind::$kind, $method, ())?;
                put_some(out, v.map(|v| v as $c))
            })
        }
    )*};
}

macro_rules! flag_getter {
    ($($name:ident: $kind:ident.$method:literal;)*) => {$(
        extern "C" fn $name(h: Handle, out: Option<&mut c_int>) -> c_int {
            shim(|s| {
                let v: bool = call(s, h, Kind::$kind, $method, ())?;
                put(out, flag(v))
            })
        }
    )*};
}

/// A getter of an object that gives another object.
macro_rules! object_getter {
    ($($name:ident: $kind:ident.$method:literal -> $out:ident;)*) => {$(
        extern "C" fn $name(h: Handle, out: Option<&mut Handle>) -> c_int {
            shim(|s| {
                let v: Option<AnyUserData> = call(s, h, Kind::$kind, $method, ())?;
                put_object(s, out, Kind::$out, v)
            })
        }
    )*};
}

/// A setter taking a string.
macro_rules! text_setter {
    ($($name:ident: $kind:ident.$method:literal;)*) => {$(
        extern "C" fn $name(h: Handle, value: CText<'_>) -> c_int {
            shim(|s| {
                call::<()>(s, h, Kind::$kind, $method, text(value)?)?;
                Ok(OK)
            })
        }
    )*};
}

/// A setter taking a number (`C type => Lua type`), or nothing.
macro_rules! value_setter {
    ($($name:ident: $kind:ident.$method:literal($($arg:ident: $c:ty => $lua:ty),*);)*) => {$(
        extern "C" fn $name(h: Handle, $($arg: $c),*) -> c_int {
            shim(|s| {
                call::<()>(s, h, Kind::$kind, $method, ($($arg as $lua,)*))?;
                Ok(OK)
            })
        }
    )*};
}

/// A match criterion with a match type.
macro_rules! match_text {
    ($($name:ident: $method:literal;)*) => {$(
        extern "C" fn $name(m: Handle, name: CText<'_>, how: c_int) -> c_int {
            shim(|s| {
                call::<()>(s, m, Kind::Match, $method, (text(name)?, i64::from(how)))?;
                Ok(OK)
            })
        }
    )*};
}

text_getter! {
    bt_application_name: Backtrace."application_name";
    frame_symbol: Frame."symbol";
    frame_path: Frame."path";
    frame_object_file: Frame."object_file";
    thread_stack_key: Thread."stack_key";
    var_name: Variable."name";
    var_type_name: Variable."type_name";
    var_base_type: Variable."base_type";
    var_symbol: Variable."symbol";
    pmap_path: Pmap."path";
}

number_getter! {
    bt_pid: Backtrace."pid", i64 => i64;
    bt_process_state: Backtrace."process_state", i64 => c_int;
    thread_tid: Thread."tid", i64 => i64;
    thread_n_frames: Thread."n_frames", i64 => i64;
    frame_line: Frame."line", i64 => i64;
    frame_decl_line: Frame."decl_line", i64 => i64;
    frame_instruction: Frame."instruction", i64 => u64;
    frame_stack_pointer: Frame."stack_pointer", i64 => u64;
    var_type: Variable."type", i64 => c_int;
    var_address: Variable."address", i64 => u64;
    var_fprm_offset: Variable."fprm_offset", i64 => i64;
    siginfo_num: Siginfo."num", i64 => i64;
    siginfo_code: Siginfo."code", i64 => i64;
    siginfo_address: Siginfo."address", i64 => u64;
    pmap_start: Pmap."start", i64 => u64;
    pmap_end: Pmap."end_address", i64 => u64;
}

flag_getter! {
    thread_fault: Thread."fault";
    var_is_string: Variable."is_string";
    var_resolved: Variable."resolved";
    siginfo_address_populated: Siginfo."address_populated";
    pmap_guard: Pmap."guard";
}

object_getter! {
    frame_thread: Frame."thread" -> Thread;
    frame_siginfo: Frame."siginfo" -> Siginfo;
    var_owner: Variable."owner" -> Variable;
    var_frame: Variable."frame" -> Frame;
    var_thread: Variable."thread" -> Thread;
}

text_setter! {
    thread_set_name: Thread."set_name";
    frame_set_symbol: Frame."set_symbol";
    frame_set_path: Frame."set_path";
    frame_set_basename: Frame."set_basename";
    frame_set_directory: Frame."set_directory";
    var_set_string: Variable."set_string";
}

value_setter! {
    frame_set_line: Frame."set_line"(line: i64 => i64);
    frame_set_decl_line: Frame."set_decl_line"(line: i64 => i64);
    var_set_ll: Variable."set_ll"(value: i64 => i64);
    var_set_ull: Variable."set_ull"(value: u64 => i64);
    var_set_dbl: Variable."set_dbl"(value: f64 => f64);
    var_set_cdbl: Variable."set_cdbl"(re: f64 => f64, im: f64 => f64);
    var_set_ref: Variable."set_ref"(address: u64 => i64);
    var_set_struct: Variable."set_struct"();
    var_set_array: Variable."set_array"();
}

match_text! {
    match_add_object: "add_object";
    match_add_file: "add_file";
    match_add_frame_symbol: "add_frame_symbol";
    match_add_variable_base_type: "add_variable_base_type";
    match_add_variable_name: "add_variable_name";
}

extern "C" fn define(
    id: CText<'_>,
    name: CText<'_>,
    version: CText<'_>,
    load: Option<LoadFn>,
    unload: Option<LoadFn>,
    user: *mut c_void,
) -> c_int {
    shim(|s| {
        let id = text(id)?;
        let about = [opt_text(name)?, opt_text(version)?].into_iter().flatten().collect::<Vec<_>>().join(" ");
        let load = load.ok_or_else(|| fail(ERR_ARGUMENT, "define: `load` is required"))?;
        let mut r = s.registry.borrow_mut();
        if r.id.is_some() {
            return Err(fail(ERR_FAILED, "define called twice"));
        }
        r.id = Some(id.to_string());
        r.about = (!about.is_empty()).then_some(about);
        r.load = Some(Handler::Native(NativeFn { call: Call::Load(load), user }));
        r.unload = unload.map(|f| Handler::Native(NativeFn { call: Call::Load(f), user }));
        Ok(OK)
    })
}

/// Registers `call` for `event` with the match `m` (copied).
fn register(s: &State, event: Event, call: Call, m: Handle, user: *mut c_void) -> Res<c_int> {
    let filter = match opt_object(s, m, Kind::Match)? {
        Some(ud) => Some(ud.borrow::<MatchUd>().map_err(|e| lua_fail(s, e))?.0.borrow().clone()),
        None => None,
    };
    let func = Handler::Native(NativeFn { call, user });
    s.registry.borrow_mut().callbacks.push(Callback { event, func, filter });
    Ok(OK)
}

fn required<T>(cb: Option<T>) -> Res<T> {
    cb.ok_or_else(|| fail(ERR_ARGUMENT, "register: a NULL callback"))
}

extern "C" fn register_backtrace(event: c_int, cb: Option<BacktraceCb>, m: Handle, user: *mut c_void) -> c_int {
    shim(|s| {
        let event = match usize::try_from(event).ok().and_then(|e| EVENTS.get(e)) {
            Some((_, e @ (Event::Preattach | Event::Attach | Event::Postattach))) => *e,
            _ => return Err(fail(ERR_ARGUMENT, format!("register_backtrace: {event} is not a backtrace event"))),
        };
        register(s, event, Call::Backtrace(required(cb)?), m, user)
    })
}

extern "C" fn register_thread(cb: Option<ThreadCb>, m: Handle, user: *mut c_void) -> c_int {
    shim(|s| register(s, Event::Thread, Call::Thread(required(cb)?), m, user))
}

extern "C" fn register_frame(cb: Option<FrameCb>, m: Handle, user: *mut c_void) -> c_int {
    shim(|s| register(s, Event::Frame, Call::Frame(required(cb)?), m, user))
}

extern "C" fn register_variable(cb: Option<VariableCb>, m: Handle, user: *mut c_void) -> c_int {
    shim(|s| register(s, Event::Variable, Call::Variable(required(cb)?), m, user))
}

extern "C" fn log(level: c_int, message: CText<'_>) -> c_int {
    shim(|s| {
        pm::<()>(s, "log", (i64::from(level), "%s", text(message)?))?;
        Ok(OK)
    })
}

extern "C" fn last_error() -> *const c_char {
    match State::current() {
        Some(s) => s.last_error(),
        None => c"the pmodule API was called outside a call into the module".as_ptr(),
    }
}

extern "C" fn keep(id: u64) -> c_int {
    shim(|s| {
        if !s.keep(id) {
            return Err(fail(ERR_HANDLE, format!("{id} is not a valid handle")));
        }
        s.budget.store(KEPT_HANDLE_BYTES).map_err(|e| lua_fail(s, e))?;
        Ok(OK)
    })
}

extern "C" fn config_option(key: CText<'_>, out: Option<&mut *const c_char>) -> c_int {
    shim(|s| {
        let v: Option<String> = pm(s, "config_option", text(key)?)?;
        put_text(s, out, v)
    })
}

extern "C" fn match_new(out: Option<&mut Handle>) -> c_int {
    shim(|s| {
        let m: AnyUserData = pm(s, "match", ())?;
        put_object(s, out, Kind::Match, Some(m))
    })
}

extern "C" fn match_reset(m: Handle) -> c_int {
    shim(|s| call::<()>(s, m, Kind::Match, "reset", ()).map(|()| OK))
}

extern "C" fn match_add_variable_ptrace_type(m: Handle, kind: c_int) -> c_int {
    shim(|s| call::<()>(s, m, Kind::Match, "add_variable_ptrace_type", i64::from(kind)).map(|()| OK))
}

extern "C" fn match_set_fault(m: Handle, whole_thread: c_int) -> c_int {
    shim(|s| call::<()>(s, m, Kind::Match, "set_fault", whole_thread != 0).map(|()| OK))
}

extern "C" fn annotate(id: u64, level: c_int, message: CText<'_>) -> c_int {
    shim(|s| {
        let message = text(message)?;
        match s.get_any(id) {
            Some((Kind::Backtrace | Kind::Thread | Kind::Frame | Kind::Variable, ud)) => {
                method::<()>(s, &ud, "annotate", (i64::from(level), "%s", message))?;
                Ok(OK)
            }
            Some((kind, _)) => Err(fail(ERR_HANDLE, format!("a {kind:?} cannot be annotated"))),
            None => Err(fail(ERR_HANDLE, format!("{id} is not a valid handle"))),
        }
    })
}

extern "C" fn backtrace(out: Option<&mut Handle>) -> c_int {
    shim(|s| {
        let bt: AnyUserData = pm(s, "backtrace", ())?;
        put_object(s, out, Kind::Backtrace, Some(bt))
    })
}

extern "C" fn bt_add_kv_int(bt: Handle, key: CText<'_>, value: i64) -> c_int {
    shim(|s| call::<()>(s, bt, Kind::Backtrace, "add_kv_int", (text(key)?, value)).map(|()| OK))
}

extern "C" fn bt_add_kv_string(bt: Handle, key: CText<'_>, value: CText<'_>) -> c_int {
    shim(|s| call::<()>(s, bt, Kind::Backtrace, "add_kv_string", (text(key)?, text(value)?)).map(|()| OK))
}

extern "C" fn bt_add_classifier(bt: Handle, name: CText<'_>) -> c_int {
    shim(|s| call::<()>(s, bt, Kind::Backtrace, "add_classifier", text(name)?).map(|()| OK))
}

extern "C" fn bt_add_tag(bt: Handle, name: CText<'_>) -> c_int {
    shim(|s| call::<()>(s, bt, Kind::Backtrace, "add_tag", text(name)?).map(|()| OK))
}

extern "C" fn bt_add_fault_reason(bt: Handle, text: CText<'_>) -> c_int {
    shim(|s| {
        let added: bool = call(s, bt, Kind::Backtrace, "add_fault_reason", self::text(text)?)?;
        Ok(if added { OK } else { NOT_FOUND })
    })
}

extern "C" fn bt_pmap_entry(bt: Handle, address: u64, out: Option<&mut Handle>) -> c_int {
    shim(|s| {
        let v: Option<AnyUserData> = call(s, bt, Kind::Backtrace, "pmap_entry", address as i64)?;
        put_object(s, out, Kind::Pmap, v)
    })
}

/// One step of `for x in object, match do`: the item after `prev`.
fn next_item(
    s: &State,
    h: Handle,
    kind: Kind,
    m: Handle,
    prev: Handle,
    item: Kind,
    out: Option<&mut Handle>,
) -> Res<c_int> {
    let m = opt_object(s, m, Kind::Match)?;
    let prev = opt_object(s, prev, item)?;
    let next: Option<AnyUserData> = object(s, h, kind)?.call((m, prev)).map_err(|e| lua_fail(s, e))?;
    Ok(match next {
        Some(ud) => put(out, Handle { id: s.put(item, ud) }).map(|_| 1)?,
        None => 0,
    })
}

extern "C" fn bt_next_thread(bt: Handle, m: Handle, prev: Handle, out: Option<&mut Handle>) -> c_int {
    shim(|s| next_item(s, bt, Kind::Backtrace, m, prev, Kind::Thread, out))
}

extern "C" fn thread_next_frame(t: Handle, m: Handle, prev: Handle, out: Option<&mut Handle>) -> c_int {
    shim(|s| next_item(s, t, Kind::Thread, m, prev, Kind::Frame, out))
}

extern "C" fn frame_next_variable(f: Handle, m: Handle, prev: Handle, out: Option<&mut Handle>) -> c_int {
    shim(|s| next_item(s, f, Kind::Frame, m, prev, Kind::Variable, out))
}

/// One step of `for var, object, cu in x:variables(), filter do`.
fn next_variable(
    s: &State,
    (h, kind): (Handle, Kind),
    filter: Option<&VarFilter<'_>>,
    prev: Handle,
    out: Option<&mut Handle>,
    (object_out, cu_out): (Option<&mut *const c_char>, Option<&mut *const c_char>),
) -> Res<c_int> {
    let table = if let Some(f) = filter {
        let t = s.lua.create_table().map_err(|e| lua_fail(s, e))?;
        for (key, p) in [("object", f.object), ("cu", f.cu), ("name", f.name)] {
            t.raw_set(key, opt_text(p)?).map_err(|e| lua_fail(s, e))?;
        }
        Value::Table(t)
    } else {
        Value::Nil
    };
    let prev = opt_object(s, prev, Kind::Variable)?;
    let iterator: mlua::Function = call(s, h, kind, "variables", ())?;
    let (var, object, cu): (Option<AnyUserData>, Option<String>, Option<String>) =
        iterator.call((table, prev)).map_err(|e| lua_fail(s, e))?;
    let Some(var) = var else { return Ok(0) };
    put(out, Handle { id: s.put(Kind::Variable, var) })?;
    for (p, v) in [(object_out, object), (cu_out, cu)] {
        if let Some(p) = p {
            *p = v.map_or(std::ptr::null(), |v| s.lend(&v));
        }
    }
    Ok(1)
}

extern "C" fn bt_next_global(
    bt: Handle,
    filter: Option<&VarFilter<'_>>,
    prev: Handle,
    out: Option<&mut Handle>,
    object: Option<&mut *const c_char>,
    cu: Option<&mut *const c_char>,
) -> c_int {
    shim(|s| next_variable(s, (bt, Kind::Backtrace), filter, prev, out, (object, cu)))
}

extern "C" fn thread_next_tls(
    t: Handle,
    filter: Option<&VarFilter<'_>>,
    prev: Handle,
    out: Option<&mut Handle>,
    object: Option<&mut *const c_char>,
    cu: Option<&mut *const c_char>,
) -> c_int {
    shim(|s| next_variable(s, (t, Kind::Thread), filter, prev, out, (object, cu)))
}

extern "C" fn thread_add_frame(t: Handle, made: Handle, first: c_int) -> c_int {
    shim(|s| {
        let made = object(s, made, Kind::Frame)?;
        call::<()>(s, t, Kind::Thread, "add_frame", (made, first != 0)).map(|()| OK)
    })
}

extern "C" fn frame_fprm_at(f: Handle, i: i64, out: Option<&mut Handle>) -> c_int {
    shim(|s| {
        if i < 0 {
            return Ok(NOT_FOUND);
        }
        let v: Option<AnyUserData> = call(s, f, Kind::Frame, "fprm_at", i)?;
        put_object(s, out, Kind::Variable, v)
    })
}

extern "C" fn frame_add_variable(f: Handle, made: Handle, after: Handle) -> c_int {
    shim(|s| {
        let (made, after) = (object(s, made, Kind::Variable)?, opt_object(s, after, Kind::Variable)?);
        call::<()>(s, f, Kind::Frame, "add_variable", (made, after)).map(|()| OK)
    })
}

extern "C" fn frame_add_frame(f: Handle, made: Handle) -> c_int {
    shim(|s| {
        let made = object(s, made, Kind::Frame)?;
        call::<()>(s, f, Kind::Frame, "add_frame", made).map(|()| OK)
    })
}

/// `var:value()`: one value, or (re, im) for a complex number.
fn value(s: &State, v: Handle) -> Res<MultiValue> {
    call(s, v, Kind::Variable, "value", ())
}

extern "C" fn var_value_int(v: Handle, out: Option<&mut i64>) -> c_int {
    shim(|s| match value(s, v)?.front() {
        Some(Value::Integer(i)) => put(out, *i),
        _ => Ok(NOT_FOUND),
    })
}

extern "C" fn var_value_double(v: Handle, out: Option<&mut f64>) -> c_int {
    shim(|s| {
        let values = value(s, v)?;
        match (values.front(), values.len()) {
            (Some(Value::Number(x)), 1) => put(out, *x),
            (Some(Value::Integer(i)), 1) => put(out, *i as f64),
            _ => Ok(NOT_FOUND),
        }
    })
}

extern "C" fn var_value_complex(v: Handle, re: Option<&mut f64>, im: Option<&mut f64>) -> c_int {
    shim(|s| {
        let values = value(s, v)?;
        if values.len() != 2 {
            return Ok(NOT_FOUND);
        }
        let part = |x: &Value| x.as_number().unwrap_or(f64::NAN);
        put(re, part(&values[0]))?;
        put(im, part(&values[1]))
    })
}

extern "C" fn var_set_function(v: Handle, name: CText<'_>) -> c_int {
    shim(|s| call::<()>(s, v, Kind::Variable, "set_function", opt_text(name)?).map(|()| OK))
}

extern "C" fn siginfo_reason(h: Handle, out: Option<&mut *const c_char>, sent_by_kill: Option<&mut c_int>) -> c_int {
    shim(|s| {
        let (reason, sent): (String, bool) = call(s, h, Kind::Siginfo, "reason", ())?;
        if let Some(p) = sent_by_kill {
            *p = flag(sent);
        }
        put_text(s, out, Some(reason))
    })
}

extern "C" fn siginfo_string(h: Handle, out: Option<&mut *const c_char>) -> c_int {
    shim(|s| {
        let ud = object(s, h, Kind::Siginfo)?;
        let text = ud.to_string().map_err(|e| lua_fail(s, e))?;
        put_text(s, out, Some(text))
    })
}

/// The `pmodule.pmap_perms` indices of the bits of `perms`.
fn perm_indices(perms: c_uint) -> Vec<i64> {
    (0..6).filter(|bit| perms & (1 << bit) != 0).collect()
}

extern "C" fn pmap_permissions(p: Handle, perms: c_uint, out: Option<&mut c_int>) -> c_int {
    shim(|s| {
        if perms >> 6 != 0 {
            return Err(fail(ERR_ARGUMENT, format!("unknown pmap permission bits {perms:#x}")));
        }
        let args = mlua::Variadic::from_iter(perm_indices(perms));
        let has: bool = call(s, p, Kind::Pmap, "permissions", args)?;
        put(out, flag(has))
    })
}

/// # Safety
///
/// `buf` is NULL or holds `size` writable bytes (pmodule.h), which no
/// type can say.
unsafe extern "C" fn address_read_raw(address: u64, buf: *mut c_void, size: usize) -> c_int {
    shim(|s| {
        if size > MAX_READ {
            return Err(fail(ERR_ARGUMENT, format!("address_read_raw reads at most {MAX_READ} bytes")));
        }
        if buf.is_null() && size > 0 {
            return Err(fail(ERR_ARGUMENT, "a NULL buffer"));
        }
        let bytes: Option<mlua::LuaString> = pm(s, "address_read_raw", (address as i64, size))?;
        let Some(bytes) = bytes else { return Ok(NOT_FOUND) };
        let bytes = bytes.as_bytes();
        // SAFETY: `buf` is not null, so it holds `size` bytes (this
        // function's contract); at most that many are copied.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len().min(size)) };
        Ok(OK)
    })
}

/// # Safety
///
/// `buf` is NULL or holds `bufsize` writable bytes (pmodule.h).
unsafe extern "C" fn address_read_string(
    address: u64,
    buf: *mut c_char,
    bufsize: usize,
    len: Option<&mut usize>,
) -> c_int {
    shim(|s| {
        if buf.is_null() || bufsize == 0 {
            return Err(fail(ERR_ARGUMENT, "a NULL or empty buffer"));
        }
        let text: Option<mlua::LuaString> = pm(s, "address_read_string", (address as i64, bufsize - 1))?;
        let Some(text) = text else { return Ok(NOT_FOUND) };
        let bytes = text.as_bytes();
        let n = bytes.len().min(bufsize - 1);
        // SAFETY: `buf` is not null, so it holds `bufsize` bytes (this
        // function's contract); n + 1 <= bufsize are written.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
            buf.add(n).write(0);
        }
        if let Some(len) = len {
            *len = n;
        }
        Ok(OK)
    })
}

extern "C" fn symbol_address(symbol: CText<'_>, object: CText<'_>, out: Option<&mut u64>) -> c_int {
    shim(|s| {
        let v: Option<i64> = pm(s, "symbol_address", (text(symbol)?, opt_text(object)?))?;
        put_some(out, v.map(|a| a as u64))
    })
}

extern "C" fn address_symbol(address: u64, out: Option<&mut *const c_char>) -> c_int {
    shim(|s| {
        let v: Option<String> = pm(s, "address_symbol", address as i64)?;
        put_text(s, out, v)
    })
}

extern "C" fn bt_query(symbol: CText<'_>, object: CText<'_>, cu: CText<'_>, out: Option<&mut Handle>) -> c_int {
    shim(|s| {
        let v: Option<AnyUserData> = pm(s, "bt_query", (text(symbol)?, opt_text(object)?, opt_text(cu)?))?;
        put_object(s, out, Kind::BtVar, v)
    })
}

extern "C" fn btvar_field(b: Handle, field: CText<'_>, out: Option<&mut Handle>) -> c_int {
    shim(|s| {
        let member: AnyUserData = object(s, b, Kind::BtVar)?.get(text(field)?).map_err(|e| lua_fail(s, e))?;
        put_object(s, out, Kind::BtVar, Some(member))
    })
}

extern "C" fn deref(b: Handle, address: u64, out: Option<&mut Handle>) -> c_int {
    shim(|s| {
        let at = (address != 0).then_some(address as i64);
        let v: AnyUserData = pm(s, "deref", (object(s, b, Kind::BtVar)?, at))?;
        put_object(s, out, Kind::BtVar, Some(v))
    })
}

extern "C" fn btvar_sizeof(b: Handle, out: Option<&mut u64>) -> c_int {
    shim(|s| {
        let v: Option<i64> = pm(s, "sizeof", object(s, b, Kind::BtVar)?)?;
        put_some(out, v.map(|n| n as u64))
    })
}

extern "C" fn variable_from_bt(b: Handle, out: Option<&mut Handle>) -> c_int {
    shim(|s| {
        let v: AnyUserData = pm(s, "variable_from_bt", object(s, b, Kind::BtVar)?)?;
        put_object(s, out, Kind::Variable, Some(v))
    })
}

extern "C" fn create_variable(
    kind: c_int,
    name: CText<'_>,
    address: u64,
    offset: i64,
    owner: Handle,
    out: Option<&mut Handle>,
) -> c_int {
    shim(|s| {
        let address = (address != 0).then_some(address as i64);
        let owner = opt_object(s, owner, Kind::Variable)?;
        let v: AnyUserData = pm(s, "create_variable", (i64::from(kind), text(name)?, address, offset, owner))?;
        put_object(s, out, Kind::Variable, Some(v))
    })
}

extern "C" fn create_frame(out: Option<&mut Handle>) -> c_int {
    shim(|s| {
        let f: AnyUserData = pm(s, "create_frame", ())?;
        put_object(s, out, Kind::Frame, Some(f))
    })
}

/// Defines `struct ptsnap_api` (in pmodule.h's order), the names of its
/// function fields (checked against the header by a test) and the table
/// ptsnap gives modules.
macro_rules! api_table {
    ($($field:ident: $ty:ty,)*) => {
        #[repr(C)]
        pub struct Api {
            pub abi_major: u32,
            pub abi_minor: u32,
            pub size: u32,
            pub reserved: u32,
            $(pub $field: $ty,)*
        }

        /// The function fields, in order (the header test compares them).
        #[cfg(test)]
        pub const FIELDS: &[&str] = &[$(stringify!($field)),*];

        /// The table given to every C module.
        pub static API: Api = Api {
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
            size: size_of::<Api>() as u32,
            reserved: 0,
            $($field,)*
        };
    };
}

type Text<'a> = CText<'a>;
type Out<'a, T> = Option<&'a mut T>;

api_table! {
    define: extern "C" fn(Text<'_>, Text<'_>, Text<'_>, Option<LoadFn>, Option<LoadFn>, *mut c_void) -> c_int,
    register_backtrace: extern "C" fn(c_int, Option<BacktraceCb>, Handle, *mut c_void) -> c_int,
    register_thread: extern "C" fn(Option<ThreadCb>, Handle, *mut c_void) -> c_int,
    register_frame: extern "C" fn(Option<FrameCb>, Handle, *mut c_void) -> c_int,
    register_variable: extern "C" fn(Option<VariableCb>, Handle, *mut c_void) -> c_int,
    log: extern "C" fn(c_int, Text<'_>) -> c_int,
    last_error: extern "C" fn() -> *const c_char,
    keep: extern "C" fn(u64) -> c_int,
    config_option: extern "C" fn(Text<'_>, Out<'_, *const c_char>) -> c_int,
    match_new: extern "C" fn(Out<'_, Handle>) -> c_int,
    match_reset: extern "C" fn(Handle) -> c_int,
    match_add_object: extern "C" fn(Handle, Text<'_>, c_int) -> c_int,
    match_add_file: extern "C" fn(Handle, Text<'_>, c_int) -> c_int,
    match_add_frame_symbol: extern "C" fn(Handle, Text<'_>, c_int) -> c_int,
    match_add_variable_base_type: extern "C" fn(Handle, Text<'_>, c_int) -> c_int,
    match_add_variable_name: extern "C" fn(Handle, Text<'_>, c_int) -> c_int,
    match_add_variable_ptrace_type: extern "C" fn(Handle, c_int) -> c_int,
    match_set_fault: extern "C" fn(Handle, c_int) -> c_int,
    annotate: extern "C" fn(u64, c_int, Text<'_>) -> c_int,
    backtrace: extern "C" fn(Out<'_, Handle>) -> c_int,
    bt_pid: extern "C" fn(Handle, Out<'_, i64>) -> c_int,
    bt_application_name: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    bt_process_state: extern "C" fn(Handle, Out<'_, c_int>) -> c_int,
    bt_add_kv_int: extern "C" fn(Handle, Text<'_>, i64) -> c_int,
    bt_add_kv_string: extern "C" fn(Handle, Text<'_>, Text<'_>) -> c_int,
    bt_add_classifier: extern "C" fn(Handle, Text<'_>) -> c_int,
    bt_add_tag: extern "C" fn(Handle, Text<'_>) -> c_int,
    bt_pmap_entry: extern "C" fn(Handle, u64, Out<'_, Handle>) -> c_int,
    bt_next_thread: extern "C" fn(Handle, Handle, Handle, Out<'_, Handle>) -> c_int,
    bt_next_global: extern "C" fn(Handle, Option<&VarFilter<'_>>, Handle, Out<'_, Handle>, Out<'_, *const c_char>, Out<'_, *const c_char>) -> c_int,
    thread_tid: extern "C" fn(Handle, Out<'_, i64>) -> c_int,
    thread_fault: extern "C" fn(Handle, Out<'_, c_int>) -> c_int,
    thread_n_frames: extern "C" fn(Handle, Out<'_, i64>) -> c_int,
    thread_set_name: extern "C" fn(Handle, Text<'_>) -> c_int,
    thread_add_frame: extern "C" fn(Handle, Handle, c_int) -> c_int,
    thread_next_frame: extern "C" fn(Handle, Handle, Handle, Out<'_, Handle>) -> c_int,
    thread_next_tls: extern "C" fn(Handle, Option<&VarFilter<'_>>, Handle, Out<'_, Handle>, Out<'_, *const c_char>, Out<'_, *const c_char>) -> c_int,
    frame_symbol: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    frame_path: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    frame_line: extern "C" fn(Handle, Out<'_, i64>) -> c_int,
    frame_decl_line: extern "C" fn(Handle, Out<'_, i64>) -> c_int,
    frame_object_file: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    frame_instruction: extern "C" fn(Handle, Out<'_, u64>) -> c_int,
    frame_thread: extern "C" fn(Handle, Out<'_, Handle>) -> c_int,
    frame_siginfo: extern "C" fn(Handle, Out<'_, Handle>) -> c_int,
    frame_fprm_at: extern "C" fn(Handle, i64, Out<'_, Handle>) -> c_int,
    frame_next_variable: extern "C" fn(Handle, Handle, Handle, Out<'_, Handle>) -> c_int,
    frame_set_symbol: extern "C" fn(Handle, Text<'_>) -> c_int,
    frame_set_path: extern "C" fn(Handle, Text<'_>) -> c_int,
    frame_set_basename: extern "C" fn(Handle, Text<'_>) -> c_int,
    frame_set_directory: extern "C" fn(Handle, Text<'_>) -> c_int,
    frame_set_line: extern "C" fn(Handle, i64) -> c_int,
    frame_set_decl_line: extern "C" fn(Handle, i64) -> c_int,
    frame_add_variable: extern "C" fn(Handle, Handle, Handle) -> c_int,
    frame_add_frame: extern "C" fn(Handle, Handle) -> c_int,
    var_name: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    var_type: extern "C" fn(Handle, Out<'_, c_int>) -> c_int,
    var_type_name: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    var_base_type: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    var_address: extern "C" fn(Handle, Out<'_, u64>) -> c_int,
    var_value_int: extern "C" fn(Handle, Out<'_, i64>) -> c_int,
    var_value_double: extern "C" fn(Handle, Out<'_, f64>) -> c_int,
    var_value_complex: extern "C" fn(Handle, Out<'_, f64>, Out<'_, f64>) -> c_int,
    var_symbol: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    var_is_string: extern "C" fn(Handle, Out<'_, c_int>) -> c_int,
    var_resolved: extern "C" fn(Handle, Out<'_, c_int>) -> c_int,
    var_fprm_offset: extern "C" fn(Handle, Out<'_, i64>) -> c_int,
    var_owner: extern "C" fn(Handle, Out<'_, Handle>) -> c_int,
    var_frame: extern "C" fn(Handle, Out<'_, Handle>) -> c_int,
    var_thread: extern "C" fn(Handle, Out<'_, Handle>) -> c_int,
    var_set_ll: extern "C" fn(Handle, i64) -> c_int,
    var_set_ull: extern "C" fn(Handle, u64) -> c_int,
    var_set_dbl: extern "C" fn(Handle, f64) -> c_int,
    var_set_cdbl: extern "C" fn(Handle, f64, f64) -> c_int,
    var_set_string: extern "C" fn(Handle, Text<'_>) -> c_int,
    var_set_ref: extern "C" fn(Handle, u64) -> c_int,
    var_set_struct: extern "C" fn(Handle) -> c_int,
    var_set_array: extern "C" fn(Handle) -> c_int,
    var_set_function: extern "C" fn(Handle, Text<'_>) -> c_int,
    siginfo_num: extern "C" fn(Handle, Out<'_, i64>) -> c_int,
    siginfo_code: extern "C" fn(Handle, Out<'_, i64>) -> c_int,
    siginfo_address: extern "C" fn(Handle, Out<'_, u64>) -> c_int,
    siginfo_address_populated: extern "C" fn(Handle, Out<'_, c_int>) -> c_int,
    siginfo_reason: extern "C" fn(Handle, Out<'_, *const c_char>, Out<'_, c_int>) -> c_int,
    siginfo_string: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    pmap_start: extern "C" fn(Handle, Out<'_, u64>) -> c_int,
    pmap_end: extern "C" fn(Handle, Out<'_, u64>) -> c_int,
    pmap_path: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    pmap_guard: extern "C" fn(Handle, Out<'_, c_int>) -> c_int,
    pmap_permissions: extern "C" fn(Handle, c_uint, Out<'_, c_int>) -> c_int,
    address_read_raw: unsafe extern "C" fn(u64, *mut c_void, usize) -> c_int,
    address_read_string: unsafe extern "C" fn(u64, *mut c_char, usize, Out<'_, usize>) -> c_int,
    symbol_address: extern "C" fn(Text<'_>, Text<'_>, Out<'_, u64>) -> c_int,
    address_symbol: extern "C" fn(u64, Out<'_, *const c_char>) -> c_int,
    bt_query: extern "C" fn(Text<'_>, Text<'_>, Text<'_>, Out<'_, Handle>) -> c_int,
    btvar_field: extern "C" fn(Handle, Text<'_>, Out<'_, Handle>) -> c_int,
    deref: extern "C" fn(Handle, u64, Out<'_, Handle>) -> c_int,
    btvar_sizeof: extern "C" fn(Handle, Out<'_, u64>) -> c_int,
    variable_from_bt: extern "C" fn(Handle, Out<'_, Handle>) -> c_int,
    create_variable: extern "C" fn(c_int, Text<'_>, u64, i64, Handle, Out<'_, Handle>) -> c_int,
    create_frame: extern "C" fn(Out<'_, Handle>) -> c_int,
    frame_stack_pointer: extern "C" fn(Handle, Out<'_, u64>) -> c_int,
    thread_stack_key: extern "C" fn(Handle, Out<'_, *const c_char>) -> c_int,
    bt_add_fault_reason: extern "C" fn(Handle, Text<'_>) -> c_int,
}

#[cfg(test)]
mod tests {
    use super::FIELDS;

    const HEADER: &str = include_str!("../../../include/ptsnap/pmodule.h");

    /// The function fields of `struct ptsnap_api` as pmodule.h declares
    /// them: `(*name)(`.
    fn header_fields() -> Vec<&'static str> {
        let start = HEADER.find("struct ptsnap_api {").expect("struct ptsnap_api in pmodule.h");
        let body = &HEADER[start..start + HEADER[start..].find("\n};").unwrap()];
        body.split("(*").skip(1).map(|rest| &rest[..rest.find(')').unwrap()]).collect()
    }

    #[test]
    fn the_table_has_the_fields_of_the_header_in_its_order() {
        assert_eq!(header_fields(), FIELDS);
        let header = HEADER.replace(' ', "");
        for (name, value) in [("MAJOR", super::ABI_MAJOR), ("MINOR", super::ABI_MINOR)] {
            assert!(header.contains(&format!("#definePTSNAP_PMODULE_ABI_{name}{value}\n")), "ABI {name}");
        }
    }
}
