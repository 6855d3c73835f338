//! The objects a C module holds handles to: an id for each, never reused,
//! so an expired or forged id finds nothing rather than another object.
//!
//! Handles made during a callback end when it returns (the module keeps
//! one with `keep`); handles made while the entry point and `load` run
//! are kept. A kept handle counts against the module's memory limit (the
//! caller's job: [`Slots::keep`] says whether it kept a new one).

use std::collections::HashMap;

use mlua::AnyUserData;

/// The kinds of object a handle names (its C type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Backtrace,
    Thread,
    Frame,
    Variable,
    BtVar,
    Siginfo,
    Pmap,
    Match,
}

struct Slot {
    kind: Kind,
    object: AnyUserData,
    kept: bool,
}

#[derive(Default)]
pub struct Slots {
    slots: HashMap<u64, Slot>,
    /// The ids of the handles that end with the current call.
    local: Vec<u64>,
    last: u64,
}

impl Slots {
    pub fn put(&mut self, kind: Kind, object: AnyUserData, kept: bool) -> u64 {
        self.last += 1;
        let id = self.last;
        self.slots.insert(id, Slot { kind, object, kept });
        if !kept {
            self.local.push(id);
        }
        id
    }

    pub fn get(&self, id: u64, kind: Kind) -> Option<AnyUserData> {
        self.slots.get(&id).filter(|s| s.kind == kind).map(|s| s.object.clone())
    }

    pub fn get_any(&self, id: u64) -> Option<(Kind, AnyUserData)> {
        self.slots.get(&id).map(|s| (s.kind, s.object.clone()))
    }

    /// Keeps handle `id`; false when there is no such handle.
    pub fn keep(&mut self, id: u64) -> bool {
        match self.slots.get_mut(&id) {
            Some(slot) => {
                slot.kept = true;
                true
            }
            None => false,
        }
    }

    /// The call that made the local handles returned: they end.
    pub fn end_call(&mut self) {
        for id in self.local.drain(..) {
            if self.slots.get(&id).is_some_and(|s| !s.kept) {
                self.slots.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_handles_end_with_the_call_kept_ones_stay_and_ids_are_never_reused() {
        let lua = mlua::Lua::new();
        let ud = || lua.create_any_userdata(()).unwrap();
        let mut slots = Slots::default();
        let kept = slots.put(Kind::Match, ud(), true);
        let local = slots.put(Kind::Frame, ud(), false);
        let saved = slots.put(Kind::Thread, ud(), false);
        assert!(slots.keep(saved) && !slots.keep(999));
        assert!(slots.get(local, Kind::Frame).is_some());
        assert!(slots.get(local, Kind::Thread).is_none(), "a handle of another kind");
        slots.end_call();
        assert!(slots.get(local, Kind::Frame).is_none());
        assert!(slots.get(kept, Kind::Match).is_some() && slots.get(saved, Kind::Thread).is_some());
        assert!(slots.put(Kind::Frame, ud(), false) > saved);
        assert!(slots.get(0, Kind::Frame).is_none());
    }
}
