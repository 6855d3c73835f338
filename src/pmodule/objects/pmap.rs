//! The pmap object: a mapping of the target's address space.

use super::*;

/// `pmap`: a mapping of the target's address space.
pub struct PmapUd(pub Mapping);

/// `pmodule.pmap_perms`, in order.
pub const PMAP_PERMS: &[&str] = &["ex", "rd", "wr", "pr", "sh", "all"];

impl UserData for PmapUd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("start", |_, this, ()| Ok(this.0.start as i64));
        methods.add_method("end_address", |_, this, ()| Ok(this.0.end as i64));
        methods.add_method("path", |_, this, ()| Ok(this.0.path.clone()));
        // A guard page: mapped without any access (between thread stacks,
        // below a stack).
        methods.add_method("guard", |_, this, ()| Ok(!(this.0.readable || this.0.writable || this.0.executable)));
        methods.add_method("permissions", |_, this, flags: mlua::Variadic<usize>| {
            let e = &this.0;
            let has = |flag: usize| match PMAP_PERMS.get(flag) {
                Some(&"ex") => Ok(e.executable),
                Some(&"rd") => Ok(e.readable),
                Some(&"wr") => Ok(e.writable),
                Some(&"pr") => Ok(!e.shared),
                Some(&"sh") => Ok(e.shared),
                Some(&"all") => Ok(e.readable && e.writable && e.executable),
                _ => Err(mlua::Error::runtime(format!("unknown pmap permission {flag}"))),
            };
            flags.iter().try_fold(true, |all, f| Ok(all && has(*f)?))
        });
    }
}
