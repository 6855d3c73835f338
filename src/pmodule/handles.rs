//! Handles to the threads, frames and variables of the snapshot, as the
//! module objects hold them: stable across the module's own changes.
//!
//! A module may keep a frame or a variable in a global and add frames and
//! variables before it (`thread:add_frame(f, true)`, `frame:add_variable`),
//! so an index would come to name another object. A handle holds instead
//! the [`Uid`] its object was given when the first handle to it was made,
//! plus the index where it was then: the index is checked first (the
//! common case, nothing moved), and only when it no longer holds the
//! object is the object's list searched. A handle whose object is gone
//! finds nothing, never another object. A variable's uid only has to be
//! unique in its list (the list is found through its frame's or thread's
//! handle); a copy inserted by a module gets a uid of its own.
//!
//! Nothing here knows the module language: the Lua objects and the C
//! module functions resolve handles the same way.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::snapshot::{Frame, Snapshot, Thread, Uid, Variable};

/// The next uid; 0 is "none given".
static NEXT_UID: AtomicU64 = AtomicU64::new(1);

/// Objects a handle can name.
pub trait HasUid {
    fn uid_mut(&mut self) -> &mut Uid;
    fn uid(&self) -> Uid;
}

macro_rules! has_uid {
    ($($t:ty),*) => {$(
        impl HasUid for $t {
            fn uid_mut(&mut self) -> &mut Uid {
                &mut self.uid
            }
            fn uid(&self) -> Uid {
                self.uid
            }
        }
    )*};
}
has_uid!(Thread, Frame, Variable);

/// Gives `object` a uid of its own (an object copied into the snapshot
/// must not be found through the handles of its original).
pub fn renew<T: HasUid>(object: &mut T) {
    *object.uid_mut() = Uid(NEXT_UID.fetch_add(1, Ordering::Relaxed));
}

/// One object of a list: its uid, and its index when the handle was made.
/// Two slots are the same object when their uids are equal, wherever the
/// object was when each was made.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    uid: Uid,
    hint: usize,
}

impl PartialEq for Slot {
    fn eq(&self, other: &Slot) -> bool {
        self.uid == other.uid
    }
}

impl Eq for Slot {}

impl Slot {
    /// The slot of `list[i]`, giving the object a uid when it has none.
    fn of<T: HasUid>(list: &mut [T], i: usize) -> Option<Slot> {
        let object = list.get_mut(i)?;
        if object.uid() == Uid::default() {
            renew(object);
        }
        Some(Slot { uid: object.uid(), hint: i })
    }

    /// Where the object is in `list` now.
    fn find<T: HasUid>(&self, list: &[T]) -> Option<usize> {
        match list.get(self.hint) {
            Some(o) if o.uid() == self.uid => Some(self.hint),
            _ => list.iter().position(|o| o.uid() == self.uid),
        }
    }
}

/// A thread of the snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadAt(Slot);

impl ThreadAt {
    pub fn of(snap: &mut Snapshot, t: usize) -> Option<ThreadAt> {
        Slot::of(&mut snap.threads, t).map(ThreadAt)
    }

    pub fn index(&self, snap: &Snapshot) -> Option<usize> {
        self.0.find(&snap.threads)
    }

    pub fn get<'s>(&self, snap: &'s Snapshot) -> Option<&'s Thread> {
        snap.threads.get(self.index(snap)?)
    }

    pub fn get_mut<'s>(&self, snap: &'s mut Snapshot) -> Option<&'s mut Thread> {
        let i = self.index(snap)?;
        snap.threads.get_mut(i)
    }

    /// Frame `f` of this thread.
    pub fn frame(&self, snap: &mut Snapshot, f: usize) -> Option<FrameAt> {
        let slot = Slot::of(&mut self.get_mut(snap)?.frames, f)?;
        Some(FrameAt { thread: *self, slot })
    }

    /// TLS variable `i` of this thread.
    pub fn tls(&self, snap: &mut Snapshot, i: usize) -> Option<VarAt> {
        let slot = Slot::of(&mut self.get_mut(snap)?.tls, i)?;
        Some(VarAt { list: VarList::Tls(*self), slot })
    }
}

/// A frame of a thread of the snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameAt {
    thread: ThreadAt,
    slot: Slot,
}

impl FrameAt {
    pub fn of(snap: &mut Snapshot, t: usize, f: usize) -> Option<FrameAt> {
        ThreadAt::of(snap, t)?.frame(snap, f)
    }

    pub fn thread(&self) -> ThreadAt {
        self.thread
    }

    /// (thread index, frame index) now.
    pub fn index(&self, snap: &Snapshot) -> Option<(usize, usize)> {
        let t = self.thread.index(snap)?;
        Some((t, self.slot.find(&snap.threads[t].frames)?))
    }

    /// The frame with the thread holding it.
    pub fn get<'s>(&self, snap: &'s Snapshot) -> Option<(&'s Thread, &'s Frame)> {
        let (t, f) = self.index(snap)?;
        let thread = &snap.threads[t];
        Some((thread, &thread.frames[f]))
    }

    pub fn get_mut<'s>(&self, snap: &'s mut Snapshot) -> Option<&'s mut Frame> {
        let (t, f) = self.index(snap)?;
        Some(&mut snap.threads[t].frames[f])
    }

    /// Parameter `i` of this frame.
    pub fn parameter(&self, snap: &mut Snapshot, i: usize) -> Option<VarAt> {
        let slot = Slot::of(&mut self.get_mut(snap)?.parameters, i)?;
        Some(VarAt { list: VarList::Parameters(*self), slot })
    }

    /// Local `i` of this frame.
    pub fn local(&self, snap: &mut Snapshot, i: usize) -> Option<VarAt> {
        let slot = Slot::of(&mut self.get_mut(snap)?.locals, i)?;
        Some(VarAt { list: VarList::Locals(*self), slot })
    }

    /// The frame's first variable: its first parameter, else its first
    /// local.
    pub fn first_variable(&self, snap: &mut Snapshot) -> Option<VarAt> {
        self.parameter(snap, 0).or_else(|| self.local(snap, 0))
    }
}

/// The list of the snapshot a variable is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarList {
    Parameters(FrameAt),
    Locals(FrameAt),
    Tls(ThreadAt),
    Globals,
}

/// A variable of the snapshot (top-level: a parameter, local, TLS
/// variable or global).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarAt {
    list: VarList,
    slot: Slot,
}

impl VarAt {
    pub fn global(snap: &mut Snapshot, i: usize) -> Option<VarAt> {
        Some(VarAt { list: VarList::Globals, slot: Slot::of(&mut snap.globals, i)? })
    }

    pub fn list(&self) -> VarList {
        self.list
    }

    fn variables<'s>(&self, snap: &'s Snapshot) -> Option<&'s [Variable]> {
        Some(match self.list {
            VarList::Parameters(f) => &f.get(snap)?.1.parameters,
            VarList::Locals(f) => &f.get(snap)?.1.locals,
            VarList::Tls(t) => &t.get(snap)?.tls,
            VarList::Globals => &snap.globals,
        })
    }

    fn variables_mut<'s>(&self, snap: &'s mut Snapshot) -> Option<&'s mut Vec<Variable>> {
        Some(match self.list {
            VarList::Parameters(f) => &mut f.get_mut(snap)?.parameters,
            VarList::Locals(f) => &mut f.get_mut(snap)?.locals,
            VarList::Tls(t) => &mut t.get_mut(snap)?.tls,
            VarList::Globals => &mut snap.globals,
        })
    }

    /// The variable's index in its list now.
    pub fn index(&self, snap: &Snapshot) -> Option<usize> {
        self.slot.find(self.variables(snap)?)
    }

    pub fn get<'s>(&self, snap: &'s Snapshot) -> Option<&'s Variable> {
        let list = self.variables(snap)?;
        list.get(self.slot.find(list)?)
    }

    pub fn get_mut<'s>(&self, snap: &'s mut Snapshot) -> Option<&'s mut Variable> {
        let list = self.variables_mut(snap)?;
        let i = self.slot.find(list)?;
        list.get_mut(i)
    }

    /// The frame holding a parameter or local.
    pub fn frame(&self) -> Option<FrameAt> {
        match self.list {
            VarList::Parameters(f) | VarList::Locals(f) => Some(f),
            _ => None,
        }
    }

    /// The thread holding a parameter, local or TLS variable.
    pub fn thread(&self) -> Option<ThreadAt> {
        match self.list {
            VarList::Parameters(f) | VarList::Locals(f) => Some(f.thread),
            VarList::Tls(t) => Some(t),
            VarList::Globals => None,
        }
    }

    /// The next variable of the same list; for a parameter, past the last
    /// one, the frame's first local.
    pub fn next(&self, snap: &mut Snapshot) -> Option<VarAt> {
        let i = self.index(snap)?;
        let next = Slot::of(self.variables_mut(snap)?, i + 1).map(|slot| VarAt { list: self.list, slot });
        match (next, self.list) {
            (None, VarList::Parameters(f)) => f.local(snap, 0),
            (next, _) => next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str) -> Variable {
        Variable { name: name.into(), ..Variable::default() }
    }

    fn snapshot() -> Snapshot {
        let frame = |f: &str| Frame { function: Some(f.into()), parameters: vec![var("p")], ..Frame::default() };
        let thread = Thread { frames: vec![frame("inner"), frame("outer")], ..Thread::default() };
        Snapshot { threads: vec![thread], ..Snapshot::default() }
    }

    #[test]
    fn handles_follow_their_object_across_inserts() {
        let mut snap = snapshot();
        let outer = FrameAt::of(&mut snap, 0, 1).unwrap();
        let p = outer.parameter(&mut snap, 0).unwrap();
        snap.threads[0].frames.insert(0, Frame { function: Some("made".into()), ..Frame::default() });
        snap.threads[0].frames[2].parameters.insert(0, var("q"));
        assert_eq!(outer.get(&snap).unwrap().1.function.as_deref(), Some("outer"));
        assert_eq!(outer.index(&snap), Some((0, 2)));
        assert_eq!(p.get(&snap).unwrap().name, "p");
        assert_eq!(p.index(&snap), Some(1));
        assert_eq!(p.next(&mut snap), None);
    }

    #[test]
    fn a_removed_object_is_not_found_and_copies_are_distinct() {
        let mut snap = snapshot();
        let inner = FrameAt::of(&mut snap, 0, 0).unwrap();
        let p = inner.parameter(&mut snap, 0).unwrap();
        let mut copy = snap.threads[0].frames[0].parameters[0].clone();
        renew(&mut copy);
        snap.threads[0].frames[0].parameters.insert(0, copy);
        assert_eq!(p.index(&snap), Some(1));
        snap.threads[0].frames.remove(0);
        assert!(inner.get(&snap).is_none() && p.get(&snap).is_none());
    }
}
