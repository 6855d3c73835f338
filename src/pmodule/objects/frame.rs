//! The frame object, and frames a module makes (`pmodule.create_frame`);
//! iterating a frame yields its parameters, then its locals.

use super::*;

#[derive(Clone)]
pub struct FrameUd {
    pub ctx: Ctx,
    /// The frame in the snapshot; `None` for a frame made by
    /// `pmodule.create_frame` (held in `temp`, not in the snapshot).
    pub at: Option<FrameAt>,
    pub temp: Option<Rc<RefCell<Frame>>>,
}

impl FrameUd {
    pub fn new(ctx: &Ctx, at: FrameAt) -> Self {
        FrameUd { ctx: ctx.clone(), at: Some(at), temp: None }
    }

    pub fn temporary(ctx: &Ctx) -> mlua::Result<Self> {
        let frame = Frame { unwind: FrameUnwind::Synthesized, ..Frame::default() };
        ctx.store(frame_weight(&frame))?;
        Ok(FrameUd { ctx: ctx.clone(), at: None, temp: Some(Rc::new(RefCell::new(frame))) })
    }

    /// The frame in the snapshot (a made frame is in none).
    pub(super) fn at(&self) -> mlua::Result<FrameAt> {
        self.at.ok_or_else(|| mlua::Error::runtime("this frame is not part of the snapshot (add it with add_frame)"))
    }
}

impl FrameUd {
    pub(super) fn read<R>(&self, f: impl FnOnce(&Frame) -> R) -> mlua::Result<R> {
        if let Some(frame) = &self.temp {
            return Ok(f(&frame.borrow()));
        }
        let snap = self.ctx.snap.borrow()?;
        self.at()?.get(&snap).map(|(_, frame)| f(frame)).ok_or_else(stale)
    }

    pub(super) fn write<R>(&self, f: impl FnOnce(&mut Frame) -> R) -> mlua::Result<R> {
        if let Some(frame) = &self.temp {
            return Ok(f(&mut frame.borrow_mut()));
        }
        self.at()?.get_mut(&mut *self.ctx.snap.borrow_mut()?).map(f).ok_or_else(stale)
    }
}

/// Inserts a copy of a module's frame at `at` (with a handle identity of
/// its own) and numbers the thread's frames again.
pub(super) fn insert_frame(thread: &mut Thread, at: usize, mut frame: Frame) {
    renew(&mut frame);
    thread.frames.insert(at.min(thread.frames.len()), frame);
    for (i, f) in thread.frames.iter_mut().enumerate() {
        f.index = i;
    }
}

impl UserData for FrameUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("symbol", |_, this, ()| this.read(|f| f.function.as_deref().map(str::to_string)));
        methods.add_method("path", |_, this, ()| this.read(|f| f.file.as_deref().map(str::to_string)));
        methods.add_method("line", |_, this, ()| this.read(|f| f.line));
        methods.add_method("line_resolved", |_, this, ()| this.read(|f| f.line.is_some()));
        methods.add_method("object_file", |_, this, ()| this.read(|f| f.module.as_deref().map(str::to_string)));
        methods.add_method("instruction", |_, this, ()| this.read(|f| f.pc.0 as i64));
        methods.add_method("stack_pointer", |_, this, ()| this.read(|f| f.sp.0 as i64));
        methods.add_method("thread", |_, this, ()| Ok(ThreadUd { ctx: this.ctx.clone(), at: this.at()?.thread() }));
        methods.add_method("backtrace", |_, this, ()| Ok(BacktraceUd(this.ctx.clone())));
        methods.add_method("siginfo", |_, this, ()| {
            let faulted = this.read(|f| f.faulted)?;
            let snap = this.ctx.snap.borrow()?;
            Ok(faulted.then(|| snap.fault.as_ref()?.signal.clone().map(SiginfoUd)).flatten())
        });
        methods.add_method("decl_line", |_, this, ()| this.read(|f| f.decl_line));
        methods.add_method("set_symbol", |_, this, s: String| {
            this.ctx.store(s.len())?;
            this.write(|f| f.function = Some(s.into()))
        });
        methods.add_method("set_path", |_, this, s: String| {
            this.ctx.store(s.len())?;
            this.write(|f| f.file = Some(s.into()))
        });
        methods.add_method("set_basename", |_, this, name: String| {
            this.ctx.store(name.len())?;
            this.write(|f| {
                let dir = f.file.as_deref().and_then(|p| p.rsplit_once('/')).map(|(d, _)| d.to_string());
                f.file = Some(match dir {
                    Some(d) => format!("{d}/{name}").into(),
                    None => name.into(),
                });
            })
        });
        methods.add_method("set_directory", |_, this, dir: String| {
            this.ctx.store(dir.len())?;
            this.write(|f| {
                let base = f.file.as_deref().map(|p| p.rsplit('/').next().unwrap_or(p).to_string()).unwrap_or_default();
                f.file = Some(format!("{}/{base}", dir.trim_end_matches('/')).into());
            })
        });
        methods.add_method("set_line", |_, this, n: u32| this.write(|f| f.line = Some(n)));
        methods.add_method("set_decl_line", |_, this, n: u32| this.write(|f| f.decl_line = Some(n)));
        methods.add_method(
            "add_variable",
            |_, this, (var, after): (mlua::UserDataRef<VariableUd>, Option<mlua::UserDataRef<VariableUd>>)| {
                let v = var.snapshot_copy()?;
                this.ctx.store(variable_weight(&v))?;
                // After `after` when it is a local of this frame, else last.
                let after = match after.and_then(|a| a.at) {
                    Some(a) if this.at.is_some_and(|f| a.list() == VarList::Locals(f)) => {
                        a.index(&*this.ctx.snap.borrow()?)
                    }
                    _ => None,
                };
                this.write(|f| {
                    let at = after.map_or(f.locals.len(), |i| (i + 1).min(f.locals.len()));
                    f.locals.insert(at, v);
                })
            },
        );
        methods.add_method("add_frame", |_, this, frame: mlua::UserDataRef<FrameUd>| {
            let new = frame.read(Frame::clone)?;
            this.ctx.store(frame_weight(&new))?;
            let at = this.at()?;
            let mut snap = this.ctx.snap.borrow_mut()?;
            let (_, f) = at.index(&snap).ok_or_else(stale)?;
            insert_frame(at.thread().get_mut(&mut snap).ok_or_else(stale)?, f + 1, new);
            Ok(())
        });
        methods.add_method("fprm", |lua, this, ()| {
            let this = this.clone();
            lua.create_function(move |_, (_, prev): (LuaValue, Option<AnyUserData>)| {
                let frame = this.at()?;
                let prev = prev.map(|ud| ud.borrow::<VariableUd>().map(|v| v.at)).transpose()?;
                let mut snap = this.ctx.snap.borrow_mut()?;
                let i = match prev {
                    None => 0,
                    Some(Some(at)) if at.list() == VarList::Parameters(frame) => at.index(&snap).ok_or_else(stale)? + 1,
                    Some(_) => return Ok((None, None)),
                };
                Ok(match frame.parameter(&mut snap, i) {
                    Some(at) => (Some(VariableUd::new(&this.ctx, at)), Some(i)),
                    None => (None, None),
                })
            })
        });
        methods.add_method("fprm_at", |_, this, i: usize| {
            let at = this.at()?.parameter(&mut *this.ctx.snap.borrow_mut()?, i);
            Ok(at.map(|at| VariableUd::new(&this.ctx, at)))
        });
        add_annotate(methods, |this| &this.ctx, |this, snap| Some(&mut this.at?.get_mut(snap)?.annotations));
        methods.add_meta_method(MetaMethod::Call, |_, this, (m, prev): (Option<AnyUserData>, Option<AnyUserData>)| {
            let m = match_of(m)?;
            let frame = this.at()?;
            let prev = prev.map(|ud| ud.borrow::<VariableUd>().map(|v| v.at)).transpose()?;
            let mut snap = this.ctx.snap.borrow_mut()?;
            let mut at = match prev {
                Some(Some(at)) if at.frame() == Some(frame) => at.next(&mut snap),
                Some(_) => None,
                None => frame.first_variable(&mut snap),
            };
            while let Some(here) = at {
                let (thread, f) = frame.get(&snap).ok_or_else(stale)?;
                let v = here.get(&snap).ok_or_else(stale)?;
                if m.as_ref()
                    .is_none_or(|m| m.variable(v, Some(&FrameRef { frame: f, thread_faulted: thread.faulted })))
                {
                    return Ok(Some(VariableUd::new(&this.ctx, here)));
                }
                at = here.next(&mut snap);
            }
            Ok(None)
        });
    }
}
