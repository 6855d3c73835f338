//! Global and TLS iteration with a table filter, and the globals looked
//! up on demand for a filter (`bt:variables()`, variable callbacks).

use super::*;

/// What a global or TLS iteration yields: `(var, object, cu)`, or
/// nothing at the end.
pub(super) type Triple = (Option<VariableUd>, Option<String>, Option<String>);

/// The variable after `prev` (a variable of `list`; the first one,
/// `first`, when there is none) that `filter` takes.
pub(super) fn next_filtered(
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
            return Ok((
                Some(VariableUd::new(ctx, here)),
                v.module.as_deref().map(String::from),
                v.cu.as_deref().map(String::from),
            ));
        }
        at = here.next(&mut snap);
    }
    Ok((None, None, None))
}

/// Reads the table filter of `variables()` into Rust before the snapshot
/// is locked: reading a Lua table can run its `__index`, which may call
/// back into ptsnap.
pub(super) fn read_filter(table: Option<&mlua::Table>) -> mlua::Result<VarFilter> {
    let Some(t) = table else { return Ok(VarFilter::default()) };
    Ok(VarFilter { object: t.get("object")?, cu: t.get("cu")?, name: t.get("name")? })
}

/// Globals one filter reads at most (a `bt:variables()` table filter, a
/// variable callback's match): a module asking for every global of the C
/// library must not hold the target stopped for it.
pub const GLOBALS_PER_FILTER: usize = 256;

/// Adds to the snapshot's globals those `query` selects in the DWARF of
/// the target that the snapshot does not have yet and `keep` takes (the
/// globals it has count against the query's cap), read
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
    let known: std::collections::HashSet<Key> = ctx
        .snap
        .borrow()?
        .globals
        .iter()
        .map(|v| (v.module.as_deref().map(String::from), v.cu.as_deref().map(String::from), v.name.clone()))
        .collect();
    let is_known = |module: &str, cu: Option<&str>, name: &str| {
        known.contains(&(Some(module.to_string()), cu.map(str::to_string), name.to_string()))
    };
    let Ok(found) = ctx.services.with(|s| Ok(s.globals(query, &is_known))) else { return Ok(()) };
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
pub(super) fn look_up_filtered(ctx: &Ctx, filter: &VarFilter) -> mlua::Result<()> {
    let module = |m: &str| filter.object.as_ref().is_none_or(|o| m.contains(o.as_str()));
    let query = GlobalQuery {
        module: &module,
        executable_only: false,
        global: &|m, cu, name| filter.takes(Some(m), cu, name),
        first_module_only: filter.name.is_some() && filter.object.is_none(),
        cap: GLOBALS_PER_FILTER,
    };
    look_up_globals(ctx, &format!("bt:variables(), {filter}"), &query, &|_| true)
}
