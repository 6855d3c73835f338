//! C pmodules: shared objects that implement `include/ptsnap/pmodule.h`.
//!
//! A C module gets the same objects and operations as a Lua module, and
//! they are the same code: each C module has a Lua state of its own
//! (never running Lua code of the module's; it holds the `pmodule` table
//! and the objects), and every function of the C table ([`abi`]) calls
//! the `pmodule` function or the object method a Lua module would call.
//! A C handle is an id into the module's table of those objects
//! ([`slots`]), so a handle behaves as a Lua object does: it follows its
//! object in the snapshot, and an object that is gone is an error.
//!
//! What differs is what native code can do: it has no instruction budget
//! and cannot be interrupted. The engine's supervisor releases the target
//! at `--max-pause` whatever the worker does, so a module that loops only
//! holds ptsnap's worker; a module that crashes is contained by
//! [`guard`]: its thread is parked and the supervisor finishes without
//! it. Loading is [`loader`]'s: the module's declared ABI version is
//! checked before anything of the module is called.

pub(crate) mod abi;
pub(crate) mod guard;
pub(crate) mod loader;
mod slots;

use std::cell::{Cell, RefCell};
use std::ffi::{CString, c_int, c_void};
use std::rc::Rc;

use mlua::{AnyUserData, MultiValue, Value};

use super::Registry;
use super::budget::Budget;
use slots::{Kind, Slots};

/// A function of the module with the pointer it was registered with.
#[derive(Clone, Copy)]
pub struct NativeFn {
    pub call: Call,
    pub user: *mut c_void,
}

/// The C function types of `pmodule.h`, by what they receive.
#[derive(Clone, Copy)]
pub enum Call {
    Load(abi::LoadFn),
    Backtrace(abi::BacktraceCb),
    Thread(abi::ThreadCb),
    Frame(abi::FrameCb),
    Variable(abi::VariableCb),
}

/// What the functions of the C table reach while the module runs: its
/// `pmodule` table, its objects, and the strings lent to it.
pub struct State {
    pub(crate) lua: mlua::Lua,
    pub(crate) pm: mlua::Table,
    pub(super) registry: Rc<RefCell<Registry>>,
    pub(crate) budget: Rc<Budget>,
    slots: RefCell<Slots>,
    /// Strings lent to the module until its current call returns.
    lent: RefCell<Vec<CString>>,
    last_error: RefCell<CString>,
    /// Calls into the module under way (a callback may not call back in,
    /// but the count keeps the lending right if it ever does).
    depth: Cell<u32>,
    /// While the entry point and `load` run, every handle is kept.
    keep_all: Cell<bool>,
}

thread_local! {
    /// The module running now on this thread (the worker).
    static CURRENT: RefCell<Option<Rc<State>>> = const { RefCell::new(None) };
}

impl State {
    pub(super) fn new(lua: mlua::Lua, registry: Rc<RefCell<Registry>>, budget: Rc<Budget>) -> mlua::Result<Rc<State>> {
        let pm = lua.globals().raw_get("pmodule")?;
        Ok(Rc::new(State {
            lua,
            pm,
            registry,
            budget,
            slots: RefCell::default(),
            lent: RefCell::default(),
            last_error: RefCell::new(CString::default()),
            depth: Cell::new(0),
            keep_all: Cell::new(false),
        }))
    }

    /// Runs `f` as a call into the module: the C table reaches this state,
    /// and the strings and handles lent for it end when the outermost
    /// call returns.
    pub fn enter<R>(self: &Rc<State>, keep_all: bool, f: impl FnOnce() -> R) -> R {
        struct Leave(Option<Rc<State>>, Rc<State>);
        impl Drop for Leave {
            fn drop(&mut self) {
                let state = &self.1;
                state.depth.set(state.depth.get() - 1);
                if state.depth.get() == 0 {
                    state.lent.borrow_mut().clear();
                    state.slots.borrow_mut().end_call();
                    state.keep_all.set(false);
                }
                CURRENT.with(|c| *c.borrow_mut() = self.0.take());
            }
        }
        if self.depth.get() == 0 {
            self.set_error("");
        }
        self.depth.set(self.depth.get() + 1);
        if keep_all {
            self.keep_all.set(true);
        }
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        let _leave = Leave(previous, self.clone());
        f()
    }

    /// The state of the module running now on this thread.
    pub(crate) fn current() -> Option<Rc<State>> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Lends `s` to the module until its current call returns.
    pub(crate) fn lend(&self, s: &str) -> *const std::ffi::c_char {
        let c = CString::new(s.replace('\0', "\\0")).unwrap_or_default();
        let p = c.as_ptr();
        self.lent.borrow_mut().push(c);
        p
    }

    pub(crate) fn set_error(&self, text: &str) {
        *self.last_error.borrow_mut() = CString::new(text.replace('\0', "\\0")).unwrap_or_default();
    }

    pub(crate) fn last_error(&self) -> *const std::ffi::c_char {
        self.last_error.borrow().as_ptr()
    }

    /// A new handle for `ud`.
    pub(crate) fn put(&self, kind: Kind, ud: AnyUserData) -> u64 {
        self.slots.borrow_mut().put(kind, ud, self.keep_all.get())
    }

    /// The object of handle `id`, if it is one of `kind`.
    pub(crate) fn get(&self, id: u64, kind: Kind) -> Option<AnyUserData> {
        self.slots.borrow().get(id, kind)
    }

    /// The object of handle `id` whatever its kind.
    pub(crate) fn get_any(&self, id: u64) -> Option<(Kind, AnyUserData)> {
        self.slots.borrow().get_any(id)
    }

    /// Keeps handle `id` until the module is unloaded; false if it is not
    /// a handle.
    pub(crate) fn keep(&self, id: u64) -> bool {
        self.slots.borrow_mut().keep(id)
    }
}

/// Calls one of the module's functions with the event's arguments `args`
/// (the objects a Lua callback would get), as handles; its nonzero return
/// is the module's error.
pub fn invoke(state: &Rc<State>, f: NativeFn, args: MultiValue) -> mlua::Result<()> {
    let mut handles = args.into_iter().map(|v| match v {
        Value::UserData(ud) => Some(ud),
        _ => None,
    });
    let mut next = |kind: Kind| abi::Handle { id: handles.next().flatten().map_or(0, |ud| state.put(kind, ud)) };
    let keep = matches!(f.call, Call::Load(_));
    let rc: c_int = state.enter(keep, || {
        guard::run_native(|| {
            // SAFETY: a function the module registered, with the types
            // pmodule.h gives it; native code the user chose to load.
            unsafe {
                match f.call {
                    Call::Load(cb) => cb(f.user),
                    Call::Backtrace(cb) => cb(next(Kind::Backtrace), f.user),
                    Call::Thread(cb) => cb(next(Kind::Thread), f.user),
                    Call::Frame(cb) => cb(next(Kind::Frame), f.user),
                    Call::Variable(cb) => {
                        let var = next(Kind::Variable);
                        cb(var, next(Kind::BtVar), f.user)
                    }
                }
            }
        })
    });
    if rc == 0 {
        return Ok(());
    }
    let why = state.last_error.borrow().to_string_lossy().into_owned();
    let why = if why.is_empty() { String::new() } else { format!(" (last error: {why})") };
    Err(mlua::Error::external(format!("the C callback returned {rc}{why}")))
}
