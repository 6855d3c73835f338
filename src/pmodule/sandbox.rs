//! One Lua state per module: only the safe standard libraries, text chunks
//! only, a memory limit, and an instruction budget per callback.
//!
//! Each module gets a state of its own, so modules cannot see or break each
//! other's globals, and the memory limit is per module. The [`Budget`] is
//! enforced by a count hook: when a callback has run more instructions or
//! longer than allowed, or the engine has cut the pause short, the hook
//! raises an error that unwinds out of the module.
//!
//! The standard functions that catch errors are wrapped ([`PRELUDE`]) so
//! that they raise them again once the module is dead, and finalizers
//! (`__gc`) are refused: Lua runs them with hooks off, so a finalizer that
//! loops could never be stopped.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mlua::chunk::ChunkMode;
use mlua::{HookTriggers, Lua, LuaOptions, MultiValue, StdLib, VmState};

pub use super::budget::Budget;

/// Libraries a module may be granted with `--sandbox-whitelist`.
/// (`debug` is refused: `debug.sethook` removes the budget's hook.)
pub const GRANTABLE: &[&str] = &["io", "os", "package"];

/// Base functions withheld: they read files or code from outside the
/// module (`dofile`, `loadfile`, `load`, `require`) or reach into the
/// collector (`collectgarbage`).
const WITHHELD: &[&str] = &["dofile", "loadfile", "load", "require", "collectgarbage"];

/// How often the hook counts, in VM instructions: a few microseconds of
/// Lua, so a module sees the interrupt flag well within 10 ms.
const HOOK_EVERY: u32 = 1000;

/// Run in each new state with the budget's `settle` and the originals:
/// `pcall`, `xpcall`, `coroutine.resume` and `coroutine.close` catch
/// errors, so their results go through `settle`, which raises again when
/// the module is dead. (`coroutine.wrap` passes errors on: it needs no
/// wrapper.) `xpcall` calls its message handler after the error is caught,
/// not while it is raised: Lua runs a handler with hooks off when the
/// error came from a hook (the budget's own), so a handler that loops
/// could never be stopped. An error in the handler is raised, where Lua's
/// xpcall would return it. `setmetatable` refuses a metatable with `__gc`.
///
/// The source is `prelude.lua`; build.rs compiles it to bytecode, as it
/// does the bundled modules, so that no module's state parses it again.
const PRELUDE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/prelude.luac"));

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
    pub budget: Rc<Budget>,
}

impl Sandbox {
    /// A state for one module; while `interrupt` is set its callbacks fail.
    pub fn new(whitelist: &[String], limits: &Limits, interrupt: Arc<AtomicBool>) -> mlua::Result<Self> {
        let mut libs = StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8 | StdLib::COROUTINE;
        for lib in whitelist {
            libs |= match lib.as_str() {
                "io" => StdLib::IO,
                "os" => StdLib::OS,
                "package" => StdLib::PACKAGE,
                _ => StdLib::NONE,
            };
        }
        let lua = Lua::new_with(libs, LuaOptions::default())?;
        let globals = lua.globals();
        for name in WITHHELD {
            if !(*name == "require" && whitelist.iter().any(|w| w == "package")) {
                globals.raw_set(*name, mlua::Value::Nil)?;
            }
        }
        let budget = Rc::new(Budget::new(limits, interrupt));
        install_prelude(&lua, &budget)?;
        lua.set_memory_limit(limits.memory_bytes)?;
        let counter = budget.clone();
        lua.set_global_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |_, _| {
            counter.tick(u64::from(HOOK_EVERY)).map(|()| VmState::Continue)
        })?;
        Ok(Sandbox { lua, budget })
    }
}

fn install_prelude(lua: &Lua, budget: &Rc<Budget>) -> mlua::Result<()> {
    let b = budget.clone();
    let settle = lua.create_function(move |_, results: MultiValue| b.settle(results))?;
    let globals = lua.globals();
    let coroutine: mlua::Table = globals.raw_get("coroutine")?;
    let original = |t: &mlua::Table, name: &str| t.raw_get::<mlua::Function>(name);
    lua.load(PRELUDE).set_mode(ChunkMode::Binary).call::<()>((
        settle,
        original(&globals, "pcall")?,
        original(&coroutine, "resume")?,
        original(&coroutine, "close")?,
        original(&globals, "setmetatable")?,
        original(&globals, "rawget")?,
        original(&globals, "type")?,
        original(&globals, "error")?,
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use super::*;

    fn sandbox(instructions: u64, memory_mib: usize) -> (Sandbox, Arc<AtomicBool>) {
        let interrupt = Arc::new(AtomicBool::new(false));
        let limits = Limits { memory_bytes: memory_mib << 20, instructions };
        (Sandbox::new(&[], &limits, interrupt.clone()).unwrap(), interrupt)
    }

    /// Runs `code` as one callback; the module's death, or the error.
    fn run(s: &Sandbox, code: &str) -> String {
        let result = s.budget.start().and_then(|()| s.lua.load(code).exec());
        let error = result.expect_err("the callback must fail").to_string();
        s.budget.death().unwrap_or(error)
    }

    #[test]
    fn the_functions_that_catch_errors_raise_them_again_once_the_module_is_dead() {
        let escapes = [
            "while true do pcall(function() while true do end end) end",
            "while true do xpcall(function() while true do end end, function(e) while true do end end) end",
            "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
            "while true do pcall(coroutine.wrap(function() while true do end end)) end",
            "while true do
                local co = coroutine.create(function()
                    local x <close> = setmetatable({}, { __close = function() while true do end end })
                    coroutine.yield()
                end)
                coroutine.resume(co)
                coroutine.close(co)
            end",
        ];
        for code in escapes {
            let (s, _) = sandbox(1_000_000, 16);
            assert_eq!(run(&s, code), "instruction budget of 1000000 exceeded", "{code}");
            // Dead for good: the next callback fails at once.
            assert!(s.budget.start().is_err());
        }
    }

    #[test]
    fn a_memory_error_caught_by_pcall_ends_the_module() {
        let (s, _) = sandbox(u64::MAX, 4);
        let code = "while true do pcall(function() local t = {} while true do t[#t + 1] = {} end end) end";
        assert_eq!(run(&s, code), "memory limit of 4 MiB exceeded");
    }

    #[test]
    fn the_interrupt_stops_a_running_loop_within_milliseconds_and_new_callbacks_at_once() {
        let (s, interrupt) = sandbox(u64::MAX, 16);
        let flag = interrupt.clone();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            flag.store(true, Ordering::Relaxed);
            Instant::now()
        });
        let error = run(&s, "while true do pcall(function() while true do end end) end");
        let late = setter.join().unwrap().elapsed();
        assert_eq!(error, "interrupted: the pause limit was reached");
        // The hook fires every few microseconds; the margin is for a
        // machine busy with other tests (alone it is well under 10 ms).
        assert!(late < Duration::from_millis(50), "seen {late:?} after the flag was set");
        let (fresh, interrupt) = sandbox(u64::MAX, 16);
        interrupt.store(true, Ordering::Relaxed);
        assert!(fresh.budget.start().is_err() && fresh.budget.death().is_some());
    }

    #[test]
    fn a_callback_is_bounded_in_wall_clock_time() {
        let (s, _) = sandbox(u64::MAX, 16);
        let started = Instant::now();
        assert_eq!(run(&s, "while true do end"), "the callback ran longer than 2 s");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn finalizers_are_refused() {
        let (s, _) = sandbox(1_000_000, 16);
        let error = run(&s, "setmetatable({}, { __gc = function() while true do end end })");
        assert!(error.contains("__gc is not allowed"), "{error}");
        assert!(s.budget.death().is_none(), "a module error, not the end of the module");
    }
}
