//! One Lua state per module: only the safe standard libraries, text chunks
//! only, a memory limit, and an instruction budget per callback.
//!
//! Each module gets a state of its own, so modules cannot see or break each
//! other's globals, and the memory limit is per module. The budget is
//! enforced by a count hook: when a callback has run more instructions than
//! allowed, or the engine has cut the pause short (`interrupt`), the hook
//! raises an error that unwinds out of the module.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlua::{HookTriggers, Lua, LuaOptions, StdLib, VmState};

/// Libraries a module may be granted with `--sandbox-whitelist`.
pub const GRANTABLE: &[&str] = &["io", "os", "debug", "package"];

/// Base functions withheld: they read files or code from outside the
/// module (`dofile`, `loadfile`, `load`, `require`) or reach into the
/// collector (`collectgarbage`).
const WITHHELD: &[&str] = &["dofile", "loadfile", "load", "require", "collectgarbage"];

/// How often the hook counts, in VM instructions: a few microseconds of
/// Lua, so a module sees the interrupt flag well within 10 ms.
const HOOK_EVERY: u32 = 1000;

/// Why a callback was cut when the engine set the interrupt flag.
pub const INTERRUPTED: &str = "interrupted: the pause limit was reached";

#[derive(Clone, Debug)]
pub struct Limits {
    pub memory_bytes: usize,
    pub instructions: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_bytes: 64 << 20, instructions: 100_000_000 }
    }
}

pub struct Sandbox {
    pub lua: Lua,
    /// Instructions run by the current callback.
    spent: Rc<Cell<u64>>,
    /// Set by the engine when it cuts the pause: callbacks fail.
    interrupt: Arc<AtomicBool>,
}

impl Sandbox {
    pub fn new(whitelist: &[String], limits: &Limits, interrupt: Arc<AtomicBool>) -> mlua::Result<Self> {
        let mut libs = StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8 | StdLib::COROUTINE;
        for lib in whitelist {
            libs |= match lib.as_str() {
                "io" => StdLib::IO,
                "os" => StdLib::OS,
                "debug" => StdLib::DEBUG,
                "package" => StdLib::PACKAGE,
                _ => StdLib::NONE,
            };
        }
        let lua = if libs.contains(StdLib::DEBUG) {
            // SAFETY: the debug library was granted explicitly by the user.
            unsafe { Lua::unsafe_new_with(libs, LuaOptions::default()) }
        } else {
            Lua::new_with(libs, LuaOptions::default())?
        };
        let globals = lua.globals();
        for name in WITHHELD {
            if !(*name == "require" && whitelist.iter().any(|w| w == "package")) {
                globals.raw_set(*name, mlua::Value::Nil)?;
            }
        }
        lua.set_memory_limit(limits.memory_bytes)?;
        let spent = Rc::new(Cell::new(0u64));
        let counter = spent.clone();
        let budget = limits.instructions;
        let flag = interrupt.clone();
        lua.set_global_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |_, _| {
            counter.set(counter.get() + u64::from(HOOK_EVERY));
            if flag.load(Ordering::Relaxed) {
                return Err(mlua::Error::runtime(INTERRUPTED));
            }
            if counter.get() > budget {
                return Err(mlua::Error::runtime(format!("instruction budget of {budget} exceeded")));
            }
            Ok(VmState::Continue)
        })?;
        Ok(Sandbox { lua, spent, interrupt })
    }

    /// Starts a callback with a fresh instruction budget; one started while
    /// the engine cuts the pause fails at once.
    pub fn start_callback(&self) -> mlua::Result<()> {
        self.spent.set(0);
        if self.interrupt.load(Ordering::Relaxed) {
            return Err(mlua::Error::runtime(INTERRUPTED));
        }
        Ok(())
    }
}
