//! What modules reach beyond the snapshot: typed views of target memory
//! (`bt_variable`), globals by name, symbols. The engine provides them
//! ([`Services`]) for the duration of each event; outside events (and in
//! `preattach`, before debug information is loaded) the functions that
//! need them raise an error.

use std::cell::Cell;
use std::rc::Rc;

use crate::snapshot::{TypeOrigin, Variable};
use crate::target::procfs::Mapping;

/// A typed view of target memory: `bt_variable`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtVar {
    pub ty: TypeOrigin,
    pub address: u64,
    pub name: String,
}

pub trait Services {
    /// A global variable by name (`object` and `cu` narrow by substring).
    fn global(&self, name: &str, object: Option<&str>, cu: Option<&str>) -> Option<BtVar>;
    /// A member, following pointers to the struct.
    fn member(&self, v: &BtVar, field: &str) -> Result<BtVar, String>;
    /// What a pointer points to, at `at` when given.
    fn deref(&self, v: &BtVar, at: Option<u64>) -> Result<BtVar, String>;
    fn size_of(&self, v: &BtVar) -> Option<u64>;
    /// The value, as a variable of the snapshot is read.
    fn read(&self, v: &BtVar) -> Result<Variable, String>;
    fn symbol_address(&self, symbol: &str, object: Option<&str>) -> Option<u64>;
    fn address_symbol(&self, address: u64) -> Option<String>;
    /// The memory mapping holding `address` (`pmap`).
    fn mapping(&self, address: u64) -> Option<Mapping>;
}

/// The services of the event running now, shared with the Lua functions.
#[derive(Clone, Default)]
pub struct Current(Rc<Cell<Option<*const (dyn Services + 'static)>>>);

impl Current {
    /// Runs `f` with `services` available to the modules.
    pub fn provide<R>(&self, services: Option<&dyn Services>, f: impl FnOnce() -> R) -> R {
        struct Clear<'c>(&'c Current);
        impl Drop for Clear<'_> {
            fn drop(&mut self) {
                self.0.0.set(None);
            }
        }
        // SAFETY: the pointer is only dereferenced by `with` while `f`
        // runs, and `services` outlives `f`; `Clear` removes it when `f`
        // returns or unwinds.
        let erased = services.map(|s| unsafe {
            std::mem::transmute::<*const (dyn Services + '_), *const (dyn Services + 'static)>(s as *const _)
        });
        self.0.set(erased);
        let _clear = Clear(self);
        f()
    }

    pub fn with<R>(&self, f: impl FnOnce(&dyn Services) -> mlua::Result<R>) -> mlua::Result<R> {
        match self.0.get() {
            // SAFETY: set by `provide`, whose caller keeps the services
            // alive while the pointer is set.
            Some(p) => f(unsafe { &*p }),
            None => Err(mlua::Error::runtime("target memory and debug information are not available in this event")),
        }
    }
}
