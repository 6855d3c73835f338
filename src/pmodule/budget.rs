//! What one module may spend, and the end of a module that spent it.
//!
//! A callback is bounded by its instruction budget, by a wall-clock bound
//! (instructions can be slow: a string operation is one instruction) and
//! by the engine's interrupt flag, all checked by the sandbox's count
//! hook. The module is bounded by its memory limit, which counts both what
//! its Lua state allocates (the Lua allocator) and what it makes ptsnap
//! store for it outside Lua: key-values, annotations, tags, classifiers,
//! names, made frames and variables ([`Budget::store`]).
//!
//! Exhausting any of them is final: the module is dead. Every later hook
//! check fails again, and the sandbox's error-catching functions re-raise
//! ([`Budget::settle`]), so a module cannot catch the error and go on.
//! A module whose callback raises an error of its own is only stopped by
//! the host; it is not dead, and could have caught that error.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mlua::{MultiValue, Value};

use super::sandbox::Limits;

/// Wall-clock time one callback may run, whatever its instruction budget.
pub const WALL_CLOCK: Duration = Duration::from_secs(2);

/// Why a callback was cut when the engine set the interrupt flag.
pub const INTERRUPTED: &str = "interrupted: the pause limit was reached";

pub struct Budget {
    limits: Limits,
    interrupt: Arc<AtomicBool>,
    /// Instructions run by the current callback.
    spent: Cell<u64>,
    /// When the current callback started.
    started: Cell<Instant>,
    /// Bytes the module made ptsnap store for it.
    stored: Cell<usize>,
    /// Why the module is dead, once it is.
    death: RefCell<Option<String>>,
}

impl Budget {
    pub fn new(limits: &Limits, interrupt: Arc<AtomicBool>) -> Budget {
        Budget {
            limits: limits.clone(),
            interrupt,
            spent: Cell::new(0),
            started: Cell::new(Instant::now()),
            stored: Cell::new(0),
            death: RefCell::new(None),
        }
    }

    /// A callback starts with a fresh instruction budget and clock; one
    /// started while the engine cuts the pause fails at once.
    pub fn start(&self) -> mlua::Result<()> {
        self.alive()?;
        self.spent.set(0);
        self.started.set(Instant::now());
        self.check_interrupt()
    }

    /// The count hook, every `instructions` instructions.
    pub fn tick(&self, instructions: u64) -> mlua::Result<()> {
        self.alive()?;
        self.check_interrupt()?;
        self.spent.set(self.spent.get() + instructions);
        let budget = self.limits.instructions;
        if self.spent.get() > budget {
            return Err(self.kill(format!("instruction budget of {budget} exceeded")));
        }
        if self.started.get().elapsed() > WALL_CLOCK {
            return Err(self.kill(format!("the callback ran longer than {} s", WALL_CLOCK.as_secs())));
        }
        Ok(())
    }

    /// Counts `bytes` that ptsnap stores for the module against its
    /// memory limit.
    pub fn store(&self, bytes: usize) -> mlua::Result<()> {
        self.alive()?;
        self.stored.set(self.stored.get().saturating_add(bytes));
        if self.stored.get() > self.limits.memory_bytes {
            return Err(self.kill(format!(
                "memory limit of {} MiB exceeded by what the module asked ptsnap to store",
                self.limits.memory_bytes >> 20
            )));
        }
        Ok(())
    }

    /// What a function that catches errors (pcall, xpcall,
    /// coroutine.resume, coroutine.close) returned, passed on unless the
    /// module is dead or the error caught is its memory limit: then the
    /// error is raised again.
    pub fn settle(&self, results: MultiValue) -> mlua::Result<MultiValue> {
        self.alive()?;
        let caught = match (results.front(), results.get(1)) {
            (Some(Value::Boolean(false)), Some(error)) => error,
            _ => return Ok(results),
        };
        let out_of_memory = match caught {
            Value::Error(e) => is_memory_error(e),
            Value::String(s) => s.as_bytes() == b"not enough memory",
            _ => false,
        };
        if out_of_memory {
            return Err(self.out_of_memory());
        }
        Ok(results)
    }

    /// Why the module is dead, if it is.
    pub fn death(&self) -> Option<String> {
        self.death.borrow().clone()
    }

    /// The Lua state ran out of its memory limit: the module is dead.
    pub fn out_of_memory(&self) -> mlua::Error {
        self.kill(format!("memory limit of {} MiB exceeded", self.limits.memory_bytes >> 20))
    }

    fn alive(&self) -> mlua::Result<()> {
        match &*self.death.borrow() {
            Some(why) => Err(mlua::Error::runtime(why)),
            None => Ok(()),
        }
    }

    fn check_interrupt(&self) -> mlua::Result<()> {
        if self.interrupt.load(Ordering::Relaxed) {
            return Err(self.kill(INTERRUPTED.to_string()));
        }
        Ok(())
    }

    /// Makes the module dead (the first reason stays) and gives its error.
    fn kill(&self, why: String) -> mlua::Error {
        mlua::Error::runtime(self.death.borrow_mut().get_or_insert(why).as_str())
    }
}

/// Whether `e` (or what it wraps) is the Lua state's memory limit.
pub fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory_error(cause),
        _ => false,
    }
}
