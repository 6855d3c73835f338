//! The variable object: a variable of the snapshot, or one a module made
//! or read (`create_variable`, `variable_from_bt`), held by its handle.

use super::*;

#[derive(Clone)]
pub struct VariableUd {
    pub ctx: Ctx,
    /// The variable in the snapshot; `None` for a variable made or read
    /// for the module (`create_variable`, `variable_from_bt`), held in
    /// `temp`.
    pub at: Option<VarAt>,
    /// The value of a made variable: the variable it was made in (its
    /// root), and the member path from there.
    pub temp: Option<(Rc<RefCell<Variable>>, Vec<usize>)>,
}

impl VariableUd {
    pub fn new(ctx: &Ctx, at: VarAt) -> Self {
        VariableUd { ctx: ctx.clone(), at: Some(at), temp: None }
    }

    /// A variable the module made or read, held by its handle; it counts
    /// against the module's memory limit.
    pub fn temporary(ctx: &Ctx, v: Variable) -> mlua::Result<Self> {
        ctx.store(variable_weight(&v))?;
        Ok(VariableUd { ctx: ctx.clone(), at: None, temp: Some((Rc::new(RefCell::new(v)), Vec::new())) })
    }

    /// A copy to add to the snapshot (a variable made by the module), with
    /// a handle identity of its own.
    pub(super) fn snapshot_copy(&self) -> mlua::Result<Variable> {
        let mut copy = self.read(Variable::clone)?;
        renew(&mut copy);
        Ok(copy)
    }
}

/// The children of a made variable: an array's elements, else members.
pub(super) fn children_mut(v: &mut Variable) -> &mut Vec<Variable> {
    if v.kind == Kind::Array { &mut v.elements } else { &mut v.members }
}

pub(super) fn member_at<'v>(v: &'v mut Variable, path: &[usize]) -> Option<&'v mut Variable> {
    match path.split_first() {
        None => Some(v),
        Some((i, rest)) => member_at(children_mut(v).get_mut(*i)?, rest),
    }
}

impl VariableUd {
    pub(super) fn read<R>(&self, f: impl FnOnce(&Variable) -> R) -> mlua::Result<R> {
        if let Some((root, path)) = &self.temp {
            return member_at(&mut root.borrow_mut(), path).map(|v| f(v)).ok_or_else(stale);
        }
        let at = self.at.ok_or_else(stale)?;
        at.get(&*self.ctx.snap.borrow()?).map(f).ok_or_else(stale)
    }

    pub(super) fn write<R>(&self, f: impl FnOnce(&mut Variable) -> R) -> mlua::Result<R> {
        if let Some((root, path)) = &self.temp {
            return member_at(&mut root.borrow_mut(), path).map(f).ok_or_else(stale);
        }
        let at = self.at.ok_or_else(stale)?;
        at.get_mut(&mut *self.ctx.snap.borrow_mut()?).map(f).ok_or_else(stale)
    }

    /// Gives the variable a value of a kind (the `set_*` methods).
    pub(super) fn set(&self, kind: Kind, value: Value) -> mlua::Result<()> {
        self.write(|v| {
            v.kind = kind;
            v.value = value;
        })
    }

    /// Adds `child` as the last member (element, for an array) of this
    /// made variable; returns the handle of the child. A handle holds the
    /// path from its root, so the depth is bounded ([`MAX_MADE_DEPTH`]):
    /// a chain of owners costs each variable at most that much.
    pub fn adopt(&self, child: Variable) -> mlua::Result<VariableUd> {
        let (root, path) =
            self.temp.as_ref().ok_or_else(|| mlua::Error::runtime("only a created variable can own another"))?;
        if path.len() >= MAX_MADE_DEPTH {
            return Err(mlua::Error::runtime(format!(
                "create_variable: made variables nest at most {MAX_MADE_DEPTH} levels below the first"
            )));
        }
        self.ctx.store(variable_weight(&child))?;
        let index = self.write(|v| {
            let children = children_mut(v);
            children.push(child);
            children.len() - 1
        })?;
        let mut child_path = path.clone();
        child_path.push(index);
        Ok(VariableUd { ctx: self.ctx.clone(), at: None, temp: Some((root.clone(), child_path)) })
    }
}

/// `var:value()`: an integer for integers, enums and pointers, a number
/// for floats, `re, im` for complex numbers, nil for the rest. An integer
/// kind whose value could not be read gives 0, as the API promises an
/// integer; `var:resolved()` tells whether the value is real.
pub(super) fn lua_value(v: &Variable) -> MultiValue {
    let one = |x: LuaValue| MultiValue::from_vec(vec![x]);
    match (&v.kind, &v.value) {
        (Kind::String | Kind::Tuple | Kind::Array | Kind::Bottom | Kind::Fn, _) => one(LuaValue::Nil),
        (Kind::Ll | Kind::Ull | Kind::Enum | Kind::Reference, Value::Null) => one(LuaValue::Integer(0)),
        (_, Value::Int(i)) => one(LuaValue::Integer(*i)),
        (_, Value::UInt(u)) => one(LuaValue::Integer(*u as i64)),
        (_, Value::Bool(b)) => one(LuaValue::Integer(*b as i64)),
        (_, Value::Float(x)) => one(LuaValue::Number(*x)),
        (_, Value::Complex([re, im])) => MultiValue::from_vec(vec![
            re.map_or(LuaValue::Nil, LuaValue::Number),
            im.map_or(LuaValue::Nil, LuaValue::Number),
        ]),
        _ => one(LuaValue::Nil),
    }
}

impl UserData for VariableUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("name", |_, this, ()| this.read(|v| v.name.clone()));
        methods.add_method("type", |_, this, ()| {
            this.read(|v| KINDS.iter().position(|(_, k)| *k == v.kind).unwrap_or(12))
        });
        methods.add_method("type_name", |_, this, ()| this.read(|v| v.type_name.to_string()));
        methods.add_method("base_type", |_, this, ()| this.read(|v| v.base_type.to_string()));
        methods.add_method("address", |_, this, ()| this.read(|v| v.address.map(|a| a.0 as i64)));
        methods.add_method("value", |_, this, ()| this.read(lua_value));
        methods.add_method("symbol", |_, this, ()| this.read(|v| v.symbol.clone()));
        methods.add_method("is_string", |_, this, ()| {
            this.read(|v| v.kind == Kind::String || (v.kind == Kind::Reference && &*v.base_type == "char"))
        });
        methods.add_method("resolved", |_, this, ()| {
            this.read(|v| {
                !matches!(
                    v.location,
                    crate::snapshot::ValueLocation::OptimizedOut | crate::snapshot::ValueLocation::Unavailable
                )
            })
        });
        methods.add_method("fprm_offset", |_, this, ()| match this.at {
            Some(at) if matches!(at.list(), VarList::Parameters(_)) => Ok(at.index(&*this.ctx.snap.borrow()?)),
            _ => Ok(None),
        });
        // The made variable this one was made in (`create_variable`'s
        // owner); variables of the snapshot are top-level and have none.
        methods.add_method("owner", |_, this, ()| {
            Ok(this.temp.as_ref().and_then(|(root, path)| {
                let (_, parent) = path.split_last()?;
                Some(VariableUd { ctx: this.ctx.clone(), at: None, temp: Some((root.clone(), parent.to_vec())) })
            }))
        });
        methods
            .add_method("frame", |_, this, ()| Ok(this.at.and_then(|a| a.frame()).map(|f| FrameUd::new(&this.ctx, f))));
        methods.add_method("thread", |_, this, ()| {
            Ok(this.at.and_then(|a| a.thread()).map(|at| ThreadUd { ctx: this.ctx.clone(), at }))
        });
        methods.add_method("backtrace", |_, this, ()| Ok(BacktraceUd(this.ctx.clone())));
        methods.add_method("set_ll", |_, this, n: i64| this.set(Kind::Ll, Value::Int(n)));
        methods.add_method("set_ull", |_, this, n: i64| this.set(Kind::Ull, Value::UInt(n as u64)));
        methods.add_method("set_dbl", |_, this, x: f64| this.set(Kind::Dbl, Value::float(x)));
        methods.add_method("set_string", |_, this, s: String| {
            this.ctx.store(s.len())?;
            this.write(|v| {
                v.kind = Kind::String;
                v.symbol = Some(s.into());
            })
        });
        methods.add_method("set_cdbl", |_, this, (re, im): (f64, f64)| {
            this.set(
                Kind::Cdbl,
                Value::Complex([Some(re).filter(|x| x.is_finite()), Some(im).filter(|x| x.is_finite())]),
            )
        });
        methods.add_method("set_ref", |_, this, address: i64| this.set(Kind::Reference, Value::UInt(address as u64)));
        methods.add_method("set_struct", |_, this, ()| this.write(|v| v.kind = Kind::Tuple));
        methods.add_method("set_array", |_, this, ()| this.write(|v| v.kind = Kind::Array));
        methods.add_method("set_function", |_, this, name: Option<String>| {
            this.ctx.store(name.as_ref().map_or(0, String::len))?;
            this.write(|v| {
                v.kind = Kind::Fn;
                if name.is_some() {
                    v.symbol = name.map(Into::into);
                }
            })
        });
        // A temporary variable is not in the snapshot: annotating it is
        // an error, like reading a stale handle.
        add_annotate(methods, |this| &this.ctx, |this, snap| Some(&mut this.at?.get_mut(snap)?.annotations));
    }
}
