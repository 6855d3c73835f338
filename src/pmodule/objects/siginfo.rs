//! The siginfo object of the faulting frame.

use super::*;

pub struct SiginfoUd(pub SignalInfo);

impl UserData for SiginfoUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("num", |_, this, ()| Ok(this.0.num));
        methods.add_method("code", |_, this, ()| Ok(this.0.code));
        methods.add_method("address", |_, this, ()| Ok(this.0.address.map_or(0, |a| a.0 as i64)));
        methods.add_method("address_populated", |_, this, ()| Ok(this.0.address_populated));
        methods.add_method("reason", |_, this, ()| Ok((this.0.reason.clone(), this.0.sent_by_kill)));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let code = this.0.code_name.as_deref().unwrap_or("?");
            Ok(format!("{} ({code}): {}", this.0.name, this.0.reason))
        });
    }
}
