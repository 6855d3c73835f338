//! The match object (`pmodule.match()`).

use super::*;

pub struct MatchUd(pub RefCell<Match>);

impl FromLua for MatchType {
    fn from_lua(value: LuaValue, _: &Lua) -> mlua::Result<Self> {
        Ok(match value.as_integer() {
            Some(1) => MatchType::Substr,
            _ => MatchType::Exact,
        })
    }
}

impl UserData for MatchUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("reset", |_, this, ()| {
            this.0.borrow_mut().reset();
            Ok(())
        });
        methods.add_method("add_object", |_, this, (s, how): (String, MatchType)| {
            this.0.borrow_mut().add_object(s, how);
            Ok(())
        });
        methods.add_method("add_file", |_, this, (s, how): (String, MatchType)| {
            this.0.borrow_mut().add_file(s, how);
            Ok(())
        });
        methods.add_method("add_frame_symbol", |_, this, (s, how): (String, MatchType)| {
            this.0.borrow_mut().add_frame_symbol(s, how);
            Ok(())
        });
        for name in ["add_variable_base_type", "add_base_type"] {
            methods.add_method(name, |_, this, (s, how): (String, MatchType)| {
                this.0.borrow_mut().add_base_type(s, how);
                Ok(())
            });
        }
        methods.add_method("add_variable_name", |_, this, (s, how): (String, MatchType)| {
            this.0.borrow_mut().add_variable_name(s, how);
            Ok(())
        });
        methods.add_method("add_variable_ptrace_type", |_, this, kind: usize| {
            let (_, k) =
                KINDS.get(kind).ok_or_else(|| mlua::Error::runtime(format!("unknown variable type {kind}")))?;
            this.0.borrow_mut().add_kind(*k);
            Ok(())
        });
        methods.add_method("set_fault", |_, this, whole: Option<bool>| {
            this.0.borrow_mut().set_fault(whole.unwrap_or(false));
            Ok(())
        });
    }
}
