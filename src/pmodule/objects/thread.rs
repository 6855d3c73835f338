//! The thread object; iterating it yields frames, `variables()` its TLS.

use super::*;

#[derive(Clone)]
pub struct ThreadUd {
    pub ctx: Ctx,
    pub at: ThreadAt,
}

impl ThreadUd {
    pub(super) fn read<R>(&self, f: impl FnOnce(&Thread) -> R) -> mlua::Result<R> {
        self.at.get(&*self.ctx.snap.borrow()?).map(f).ok_or_else(stale)
    }

    pub(super) fn write<R>(&self, f: impl FnOnce(&mut Thread) -> R) -> mlua::Result<R> {
        self.at.get_mut(&mut *self.ctx.snap.borrow_mut()?).map(f).ok_or_else(stale)
    }
}

impl UserData for ThreadUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("tid", |_, this, ()| this.read(|t| t.tid));
        methods.add_method("fault", |_, this, ()| this.read(|t| t.faulted));
        methods.add_method("n_frames", |_, this, ()| this.read(|t| t.frames.len()));
        methods.add_method("stack_key", |_, this, ()| this.read(crate::stacks::key));
        methods.add_method("backtrace", |_, this, ()| Ok(BacktraceUd(this.ctx.clone())));
        methods.add_method("set_name", |_, this, name: String| {
            this.ctx.store(name.len())?;
            this.write(|t| t.name = name)
        });
        methods.add_method("add_frame", |_, this, (frame, first): (mlua::UserDataRef<FrameUd>, Option<bool>)| {
            let new = frame.read(Frame::clone)?;
            this.ctx.store(frame_weight(&new))?;
            this.write(|thread| {
                let at = if first.unwrap_or(false) { 0 } else { thread.frames.len() };
                insert_frame(thread, at, new);
            })
        });
        add_annotate(methods, |this| &this.ctx, |this, snap| Some(&mut this.at.get_mut(snap)?.annotations));
        methods.add_method("variables", |lua, this, ()| {
            let (ctx, thread) = (this.ctx.clone(), this.at);
            lua.create_function(move |_, (filter, prev): (Option<mlua::Table>, Option<AnyUserData>)| {
                let filter = read_filter(filter.as_ref())?;
                next_filtered(&ctx, prev, VarList::Tls(thread), &filter, |snap| thread.tls(snap, 0))
            })
        });
        methods.add_meta_method(MetaMethod::Call, |_, this, (m, prev): (Option<AnyUserData>, Option<AnyUserData>)| {
            let m = match_of(m)?;
            let prev = prev.map(|ud| ud.borrow::<FrameUd>().map(|f| f.at)).transpose()?;
            let mut snap = this.ctx.snap.borrow_mut()?;
            let start = match prev {
                Some(at) => at.and_then(|at| at.index(&snap)).ok_or_else(stale)?.1 + 1,
                None => 0,
            };
            let thread = this.at.get(&snap).ok_or_else(stale)?;
            let found = (start..thread.frames.len()).find(|&f| {
                m.as_ref()
                    .is_none_or(|m| m.frame(&FrameRef { frame: &thread.frames[f], thread_faulted: thread.faulted }))
            });
            Ok(found.and_then(|f| this.at.frame(&mut snap, f)).map(|at| FrameUd::new(&this.ctx, at)))
        });
    }
}
