//! `bt_variable`: a typed view of target memory.

use super::*;

/// `bt_variable`: a typed view of target memory; `btvar.field` is the
/// member (through pointers), read with `pmodule.variable_from_bt`.
#[derive(Clone)]
pub struct BtVarUd {
    pub ctx: Ctx,
    pub var: BtVar,
}

impl UserData for BtVarUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::Index, |_, this, field: String| {
            let var = this.ctx.services.with(|s| s.member(&this.var, &field).map_err(mlua::Error::runtime))?;
            Ok(BtVarUd { ctx: this.ctx.clone(), var })
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!("bt_variable {} at {:#x}", this.var.name, this.var.address))
        });
    }
}
