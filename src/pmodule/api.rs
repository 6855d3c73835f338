//! The `pmodule` table a module sees: `define`, `register`, `log`,
//! `config_option`, `match`, `backtrace`, memory reads, and the
//! enumerations; and `print`, which goes to stderr with the module's id.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table};

use super::objects::{
    ANNOTATION_LEVELS, BacktraceUd, BtVarUd, Ctx, FrameUd, KINDS, MatchUd, PMAP_PERMS, PROCESS_STATES, VariableUd,
};
use super::{Callback, EVENTS, Handler, LOG_LEVELS, LogLevel, Registry};
use crate::memory::{Memory, read_c_string};
use crate::snapshot::{Addr, Annotation, AnnotationLevel, ValueLocation, Variable};

/// Longest string `address_read_string` reads.
const MAX_STRING: usize = 1 << 20;

fn enumeration(lua: &Lua, names: &[&str]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (i, name) in names.iter().enumerate() {
        t.raw_set(*name, i)?;
    }
    Ok(t)
}

/// Writes a module's message to stderr when `level` passes the threshold.
fn log_line(id: &str, level: LogLevel, threshold: LogLevel, text: &str) {
    if level >= threshold {
        let name = LOG_LEVELS.iter().find(|(_, l)| *l == level).map_or("info", |(n, _)| n);
        eprintln!("[{id}] {name}: {text}");
    }
}

pub(super) fn install(
    lua: &Lua,
    registry: &Rc<RefCell<Registry>>,
    id: &Rc<RefCell<String>>,
    ctx: Ctx,
    args: &[(String, String, String)],
    threshold: LogLevel,
) -> mlua::Result<()> {
    let pm = lua.create_table()?;
    // The context objects get: with the module's id, known once its chunk
    // has called `define`.
    let module_ctx = {
        let (ctx, id) = (ctx.clone(), id.clone());
        move || Ctx { module: Rc::from(id.borrow().as_str()), ..ctx.clone() }
    };

    let reg = registry.clone();
    pm.raw_set(
        "define",
        lua.create_function(move |_, def: Table| {
            // Every field is read before the registry is borrowed: reading
            // the table can run its `__index`, which may call `define` or
            // `register` again.
            let module_id: String =
                def.get("id").map_err(|_| mlua::Error::runtime("pmodule.define: `id` (a string) is required"))?;
            let load: Function =
                def.get("load").map_err(|_| mlua::Error::runtime("pmodule.define: `load` (a function) is required"))?;
            let unload: Option<Function> = def.get("unload")?;
            // `reset` prepares a module for another snapshot; ptsnap takes
            // one snapshot per run, so it is checked but never called.
            let _reset: Option<Function> = def.get("reset")?;
            let mut r = reg.borrow_mut();
            if r.id.is_some() {
                return Err(mlua::Error::runtime("pmodule.define called twice"));
            }
            r.id = Some(module_id);
            r.load = Some(Handler::Lua(load));
            r.unload = unload.map(Handler::Lua);
            Ok(())
        })?,
    )?;

    let reg = registry.clone();
    let register =
        lua.create_function(move |_, (event, func, filter): (usize, Function, Option<mlua::AnyUserData>)| {
            let (_, event) = EVENTS
                .get(event)
                .ok_or_else(|| mlua::Error::runtime(format!("pmodule.register: unknown event {event}")))?;
            // The filter is copied: a module may reset and reuse its match.
            let filter = match filter {
                Some(ud) => Some(ud.borrow::<MatchUd>()?.0.borrow().clone()),
                None => None,
            };
            reg.borrow_mut().callbacks.push(Callback { event: *event, func: Handler::Lua(func), filter });
            Ok(())
        })?;
    pm.raw_set("register", register.clone())?;
    pm.raw_set("event_register", register)?;

    let who = id.clone();
    pm.raw_set(
        "log",
        lua.create_function(move |lua, mut args: MultiValue| {
            let level = args.pop_front().and_then(|v| v.as_integer()).unwrap_or(1);
            let level = LOG_LEVELS.get(usize::try_from(level).unwrap_or(1)).map_or(LogLevel::Info, |(_, l)| *l);
            let string: Table = lua.globals().raw_get("string")?;
            let text: String = string.raw_get::<Function>("format")?.call(args)?;
            log_line(&who.borrow(), level, threshold, &text);
            Ok(())
        })?,
    )?;

    let who = id.clone();
    lua.globals().raw_set(
        "print",
        lua.create_function(move |lua, args: MultiValue| {
            let tostring: Function = lua.globals().raw_get("tostring")?;
            let parts: Vec<String> = args.into_iter().map(|v| tostring.call(v)).collect::<mlua::Result<_>>()?;
            log_line(&who.borrow(), LogLevel::Info, threshold, &parts.join("\t"));
            Ok(())
        })?,
    )?;

    let who = id.clone();
    let options: Vec<(String, String, String)> = args.to_vec();
    pm.raw_set(
        "config_option",
        lua.create_function(move |_, key: String| {
            let id = who.borrow();
            Ok(options.iter().rev().find(|(i, k, _)| *i == *id && *k == key).map(|(_, _, v)| v.clone()))
        })?,
    )?;

    pm.raw_set("match", lua.create_function(|_, ()| Ok(MatchUd(RefCell::default())))?)?;

    // Synthesized variables and frames (pretty printers): made here, given
    // values with the setters, added with frame:add_variable and
    // thread:add_frame.
    let c = module_ctx.clone();
    pm.raw_set(
        "create_variable",
        lua.create_function(
            move |_,
                  (kind, name, address, offset, owner): (
                usize,
                String,
                Option<i64>,
                Option<i64>,
                Option<mlua::UserDataRef<VariableUd>>,
            )| {
                let (_, kind) =
                    KINDS.get(kind).ok_or_else(|| mlua::Error::runtime(format!("unknown variable type {kind}")))?;
                let address = address.filter(|&a| a != 0).map(|a| a.wrapping_add(offset.unwrap_or(0)) as u64);
                let ctx = c();
                let var = Variable {
                    name,
                    kind: *kind,
                    address: address.map(Addr),
                    location: if address.is_some() { ValueLocation::Memory } else { ValueLocation::Implicit },
                    annotations: vec![Annotation::text(
                        AnnotationLevel::Comment,
                        format!("made by pmodule {}", ctx.module),
                        &ctx.module,
                    )],
                    made: true,
                    ..Variable::default()
                };
                match owner {
                    Some(owner) => owner.adopt(var),
                    None => VariableUd::temporary(&ctx, var),
                }
            },
        )?,
    )?;
    let c = module_ctx.clone();
    pm.raw_set("create_frame", lua.create_function(move |_, ()| FrameUd::temporary(&c()))?)?;
    let c = module_ctx.clone();
    pm.raw_set("backtrace", lua.create_function(move |_, ()| Ok(BacktraceUd(c())))?)?;

    let memory = ctx.memory.clone();
    pm.raw_set(
        "address_read_raw",
        lua.create_function(move |lua, (address, size): (i64, usize)| read_raw(lua, &*memory, address as u64, size))?,
    )?;
    let memory = ctx.memory.clone();
    pm.raw_set(
        "address_read_string",
        lua.create_function(move |lua, (address, max): (i64, usize)| read_string(lua, &*memory, address as u64, max))?,
    )?;

    install_typed(lua, &pm, module_ctx)?;

    let events = enumeration(lua, &EVENTS.iter().map(|(n, _)| *n).collect::<Vec<_>>())?;
    pm.raw_set("event", events.clone())?;
    pm.raw_set("event_type", events)?;
    pm.raw_set("log_level", enumeration(lua, &LOG_LEVELS.iter().map(|(n, _)| *n).collect::<Vec<_>>())?)?;
    pm.raw_set("variable_type", enumeration(lua, &KINDS.iter().map(|(n, _)| *n).collect::<Vec<_>>())?)?;
    pm.raw_set("match_type", enumeration(lua, &["exact", "substr"])?)?;
    pm.raw_set("annotation", enumeration(lua, &ANNOTATION_LEVELS.map(|(n, _)| n))?)?;
    pm.raw_set("process_state", enumeration(lua, PROCESS_STATES)?)?;
    pm.raw_set("pmap_perms", enumeration(lua, PMAP_PERMS)?)?;

    lua.globals().raw_set("pmodule", pm)
}

/// The functions that reach through the engine's services: typed views of
/// memory (`bt_query`, `deref`, `sizeof`, `variable_from_bt`) and symbols.
fn install_typed(lua: &Lua, pm: &Table, module_ctx: impl Fn() -> Ctx + Clone + 'static) -> mlua::Result<()> {
    let c = module_ctx.clone();
    pm.raw_set(
        "bt_query",
        lua.create_function(move |_, (symbol, object, cu): (String, Option<String>, Option<String>)| {
            let ctx = c();
            let found = ctx.services.with(|s| Ok(s.global(&symbol, object.as_deref(), cu.as_deref())))?;
            Ok(found.map(|var| BtVarUd { ctx, var }))
        })?,
    )?;
    let c = module_ctx.clone();
    pm.raw_set(
        "variable_from_bt",
        lua.create_function(move |_, bt: mlua::UserDataRef<BtVarUd>| {
            let ctx = c();
            let var = ctx.services.with(|s| s.read(&bt.var).map_err(mlua::Error::runtime))?;
            VariableUd::temporary(&ctx, var)
        })?,
    )?;
    let c = module_ctx.clone();
    pm.raw_set(
        "deref",
        lua.create_function(move |_, (bt, at): (mlua::UserDataRef<BtVarUd>, Option<i64>)| {
            let ctx = c();
            let var = ctx.services.with(|s| s.deref(&bt.var, at.map(|a| a as u64)).map_err(mlua::Error::runtime))?;
            Ok(BtVarUd { ctx, var })
        })?,
    )?;
    let c = module_ctx.clone();
    pm.raw_set(
        "sizeof",
        lua.create_function(move |_, bt: mlua::UserDataRef<BtVarUd>| c().services.with(|s| Ok(s.size_of(&bt.var))))?,
    )?;
    let c = module_ctx.clone();
    pm.raw_set(
        "symbol_address",
        lua.create_function(move |_, (symbol, object): (String, Option<String>)| {
            c().services.with(|s| Ok(s.symbol_address(&symbol, object.as_deref()).map(|a| a as i64)))
        })?,
    )?;
    let c = module_ctx.clone();
    pm.raw_set(
        "address_symbol",
        lua.create_function(move |_, address: i64| c().services.with(|s| Ok(s.address_symbol(address as u64))))?,
    )?;
    // `symbol_read_raw(symbol, object, size)` and
    // `symbol_read_string(symbol, object, maxlen)`: a read at a symbol.
    type Reader = fn(&Lua, &dyn Memory, u64, usize) -> mlua::Result<Option<mlua::LuaString>>;
    for (name, reader) in [("symbol_read_raw", read_raw as Reader), ("symbol_read_string", read_string as Reader)] {
        let c = module_ctx.clone();
        pm.raw_set(
            name,
            lua.create_function(move |lua, (symbol, object, n): (String, Option<String>, usize)| {
                let ctx = c();
                match ctx.services.with(|s| Ok(s.symbol_address(&symbol, object.as_deref())))? {
                    Some(address) => reader(lua, &*ctx.memory, address, n),
                    None => Ok(None),
                }
            })?,
        )?;
    }
    Ok(())
}

/// A NUL-terminated string of at most `max` bytes at `address`; nil when
/// nothing there is readable.
fn read_string(lua: &Lua, memory: &dyn Memory, address: u64, max: usize) -> mlua::Result<Option<mlua::LuaString>> {
    let (bytes, _) = read_c_string(address, max.min(MAX_STRING), |at, buf| memory.read(at, buf).is_ok());
    bytes.map(|b| lua.create_string(&b)).transpose()
}

/// `size` bytes at `address`; nil when they are not all readable.
fn read_raw(lua: &Lua, memory: &dyn Memory, address: u64, size: usize) -> mlua::Result<Option<mlua::LuaString>> {
    let mut buf = vec![0u8; size.min(MAX_STRING)];
    match memory.read(address, &mut buf) {
        Ok(()) => lua.create_string(&buf).map(Some),
        Err(_) => Ok(None),
    }
}
