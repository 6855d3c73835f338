//! The backtrace object: the process, its kv, classifiers, tags and
//! annotations; iterating it yields threads, `variables()` globals.

use super::*;

#[derive(Clone)]
pub struct BacktraceUd(pub Ctx);

impl UserData for BacktraceUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("pid", |_, this, ()| Ok(this.0.snap.borrow()?.process.pid));
        methods.add_method("application_name", |_, this, ()| Ok(this.0.snap.borrow()?.application.clone()));
        methods.add_method("process_state", |_, this, ()| {
            let snap = this.0.snap.borrow()?;
            let state = snap.process.state.as_str();
            let index = |name: &str| PROCESS_STATES.iter().position(|s| *s == name);
            Ok(index(state).or_else(|| index("unknown")).unwrap_or_default())
        });
        methods.add_method("add_kv_int", |_, this, (k, v): (String, i64)| {
            this.0.store(KV_ENTRY + k.len())?;
            this.0.snap.borrow_mut()?.kv.insert(k, v.into());
            Ok(())
        });
        methods.add_method("add_kv_string", |_, this, (k, v): (String, String)| {
            this.0.store(KV_ENTRY + k.len() + v.len())?;
            this.0.snap.borrow_mut()?.kv.insert(k, v.into());
            Ok(())
        });
        methods.add_method("add_classifier", |_, this, name: String| {
            add_once(&this.0, name, |snap| &mut snap.classifiers)
        });
        methods.add_method("add_tag", |_, this, name: String| add_once(&this.0, name, |snap| &mut snap.tags));
        methods.add_method("add_fault_reason", |_, this, text: String| {
            this.0.store(text.len() + 2)?;
            let mut snap = this.0.snap.borrow_mut()?;
            let signal = snap.fault.as_mut().and_then(|f| f.signal.as_mut());
            Ok(signal.map(|s| s.reason = format!("{}: {text}", s.reason)).is_some())
        });
        add_annotate(methods, |this| &this.0, |_, snap| Some(&mut snap.annotations));
        methods.add_method("pmap_entry", |_, this, address: i64| {
            this.0.services.with(|s| Ok(s.mapping(address as u64).map(PmapUd)))
        });
        methods.add_method("variables", |lua, this, ()| {
            let ctx = this.0.clone();
            lua.create_function(move |_, (filter, prev): (Option<mlua::Table>, Option<AnyUserData>)| {
                let filter = read_filter(filter.as_ref())?;
                if prev.is_none() && !filter.is_empty() {
                    look_up_filtered(&ctx, &filter)?;
                }
                next_filtered(&ctx, prev, VarList::Globals, &filter, |snap| VarAt::global(snap, 0))
            })
        });
        methods.add_meta_method(MetaMethod::Call, |_, this, (m, prev): (Option<AnyUserData>, Option<AnyUserData>)| {
            let m = match_of(m)?;
            let prev = prev.map(|ud| ud.borrow::<ThreadUd>().map(|t| t.at)).transpose()?;
            let mut snap = this.0.snap.borrow_mut()?;
            let start = match prev {
                Some(at) => at.index(&snap).ok_or_else(stale)? + 1,
                None => 0,
            };
            let found = (start..snap.threads.len()).find(|&t| m.as_ref().is_none_or(|m| m.thread(&snap.threads[t])));
            Ok(found.and_then(|t| ThreadAt::of(&mut snap, t)).map(|at| ThreadUd { ctx: this.0.clone(), at }))
        });
    }
}

/// Adds `name` to the list `list` finds unless it is there (classifiers,
/// tags).
pub(super) fn add_once(ctx: &Ctx, name: String, list: fn(&mut Snapshot) -> &mut Vec<String>) -> mlua::Result<()> {
    let mut snap = ctx.snap.borrow_mut()?;
    let list = list(&mut snap);
    if !list.contains(&name) {
        ctx.store(size_of::<String>() + name.len())?;
        list.push(name);
    }
    Ok(())
}
