//! What modules reach beyond the snapshot: typed views of target memory
//! (`bt_variable`), globals by name or by unit, symbols. The engine provides them
//! ([`Services`]) for the duration of each event; outside events (and in
//! `preattach`, before debug information is loaded) the functions that
//! need them raise an error.

use std::cell::Cell;
use std::rc::Rc;

use crate::process::procfs::Mapping;
use crate::snapshot::{TypeOrigin, Variable};
pub use crate::variables::member_access::TypedError;

/// A typed view of target memory: `bt_variable`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtVar {
    pub ty: TypeOrigin,
    pub address: u64,
    pub name: String,
}

/// The table filter of `variables()`: `object` (the module's file name)
/// and `cu` (the compilation unit's name) by substring, `name` exactly.
#[derive(Clone, Debug, Default)]
pub struct VarFilter {
    pub object: Option<String>,
    pub cu: Option<String>,
    pub name: Option<String>,
}

impl VarFilter {
    pub fn is_empty(&self) -> bool {
        self.object.is_none() && self.cu.is_none() && self.name.is_none()
    }

    /// Whether a global of module `module`, unit `cu`, named `name`
    /// passes.
    pub fn takes(&self, module: Option<&str>, cu: Option<&str>, name: &str) -> bool {
        let contains = |want: &Option<String>, have: Option<&str>| {
            want.as_ref().is_none_or(|w| have.is_some_and(|h| h.contains(w.as_str())))
        };
        contains(&self.object, module) && contains(&self.cu, cu) && self.name.as_ref().is_none_or(|n| n == name)
    }

    pub fn holds(&self, v: &Variable) -> bool {
        self.takes(v.module.as_deref(), v.cu.as_deref(), &v.name)
    }
}

/// Which globals to read on demand, for a module's filter.
pub struct GlobalQuery<'q> {
    /// The modules to look in, by file name.
    pub module: &'q dyn Fn(&str) -> bool,
    /// Only the executable (when the filter names no module).
    pub executable_only: bool,
    /// The globals it takes, by (module, unit, name).
    pub global: &'q dyn Fn(&str, Option<&str>, &str) -> bool,
    /// Stop after the first module that has one (a name without a module
    /// is looked for as gdb's `print NAME` does: the executable first,
    /// and only the first module defining it counts).
    pub first_module_only: bool,
    pub cap: usize,
}

/// As a module writes it: `{object = "crash", name = "version"}`.
impl std::fmt::Display for VarFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields = [("object", &self.object), ("cu", &self.cu), ("name", &self.name)];
        let given: Vec<String> =
            fields.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} = {v:?}"))).collect();
        write!(f, "{{{}}}", given.join(", "))
    }
}

/// The globals a query read (not those known already), and how many more
/// it matched past its cap.
#[derive(Default)]
pub struct FoundGlobals {
    pub variables: Vec<Variable>,
    pub left: usize,
}

pub trait Services {
    /// A global variable by name (`object` and `cu` narrow by substring).
    fn global(&self, name: &str, object: Option<&str>, cu: Option<&str>) -> Option<BtVar>;
    /// Every global (not thread-local) variable `query` selects, read as
    /// the snapshot's globals are, except those `known` says the snapshot
    /// has (by module, unit, name): not read again, but counted against
    /// the cap, so that the same query takes the same globals.
    fn globals(&self, query: &GlobalQuery<'_>, known: &dyn Fn(&str, Option<&str>, &str) -> bool) -> FoundGlobals;
    /// A member, following pointers to the struct.
    fn member(&self, v: &BtVar, field: &str) -> Result<BtVar, TypedError>;
    /// What a pointer points to, at `at` when given.
    fn deref(&self, v: &BtVar, at: Option<u64>) -> Result<BtVar, TypedError>;
    fn size_of(&self, v: &BtVar) -> Option<u64>;
    /// The value, as a variable of the snapshot is read.
    fn read(&self, v: &BtVar) -> Result<Variable, TypedError>;
    fn symbol_address(&self, symbol: &str, object: Option<&str>) -> Option<u64>;
    fn address_symbol(&self, address: u64) -> Option<String>;
    /// The memory mapping holding `address` (`pmap`).
    fn mapping(&self, address: u64) -> Option<Mapping>;
}

/// The services of the event running now, shared with the Lua functions.
///
/// Invariant: the slot holds a pointer only while the `provide` call that
/// set it runs, so `with` never sees services that are gone; a nested
/// `provide` gives the outer call its services back when it returns.
#[derive(Clone, Default)]
pub struct Current(Rc<Cell<Option<*const (dyn Services + 'static)>>>);

impl Current {
    /// Runs `f` with `services` available to the modules.
    pub fn provide<R>(&self, services: Option<&dyn Services>, f: impl FnOnce() -> R) -> R {
        struct Restore<'c> {
            slot: &'c Current,
            outer: Option<*const (dyn Services + 'static)>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.slot.0.set(self.outer);
            }
        }
        // SAFETY: the pointer is only dereferenced by `with` while `f`
        // runs, and `services` outlives `f`; `Restore` puts the outer
        // call's pointer (still alive: its `provide` is running) back when
        // `f` returns or unwinds.
        let erased = services.map(|s| unsafe {
            std::mem::transmute::<*const (dyn Services + '_), *const (dyn Services + 'static)>(s as *const _)
        });
        let _restore = Restore { slot: self, outer: self.0.replace(erased) };
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str);

    impl Services for Named {
        fn global(&self, _: &str, _: Option<&str>, _: Option<&str>) -> Option<BtVar> {
            None
        }
        fn globals(&self, _: &GlobalQuery<'_>, _: &dyn Fn(&str, Option<&str>, &str) -> bool) -> FoundGlobals {
            FoundGlobals::default()
        }
        fn member(&self, _: &BtVar, _: &str) -> Result<BtVar, TypedError> {
            Err(TypedError::TypeGone)
        }
        fn deref(&self, _: &BtVar, _: Option<u64>) -> Result<BtVar, TypedError> {
            Err(TypedError::TypeGone)
        }
        fn size_of(&self, _: &BtVar) -> Option<u64> {
            None
        }
        fn read(&self, _: &BtVar) -> Result<Variable, TypedError> {
            Err(TypedError::TypeGone)
        }
        fn symbol_address(&self, _: &str, _: Option<&str>) -> Option<u64> {
            None
        }
        fn address_symbol(&self, _: u64) -> Option<String> {
            Some(self.0.into())
        }
        fn mapping(&self, _: u64) -> Option<Mapping> {
            None
        }
    }

    fn current_name(c: &Current) -> Option<String> {
        c.with(|s| Ok(s.address_symbol(0))).ok().flatten()
    }

    #[test]
    fn a_nested_provide_gives_the_outer_services_back() {
        let current = Current::default();
        let (outer, inner) = (Named("outer"), Named("inner"));
        current.provide(Some(&outer), || {
            current.provide(Some(&inner), || assert_eq!(current_name(&current).as_deref(), Some("inner")));
            assert_eq!(current_name(&current).as_deref(), Some("outer"));
            current.provide(None, || assert!(current.with(|_| Ok(())).is_err()));
            assert_eq!(current_name(&current).as_deref(), Some("outer"));
        });
        assert!(current.with(|_| Ok(())).is_err(), "nothing outside provide");
    }
}
