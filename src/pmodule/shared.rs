//! The snapshot the engine shares with the modules, behind a mutex.
//!
//! A module's callback may get stuck (a pattern match that never ends is
//! one C call the instruction hook cannot interrupt), so the snapshot
//! cannot be lent to the host and taken back per event: a supervisor must
//! be able to take the partial snapshot while the thread running Lua is
//! stuck. Hence three ways in:
//!
//! - the engine [`Shared::lock`]s it between calls into the host, never
//!   across one;
//! - the supervisor waits a bounded time ([`Shared::try_lock_for`]);
//! - the Lua objects never wait ([`Shared::borrow`]): they hold the lock
//!   only for the Rust code of one method, after every Lua value they need
//!   was read, so no Lua code runs while it is held. Finding it held means
//!   that a module re-entered ptsnap from inside a ptsnap call (or that
//!   the supervisor is taking the snapshot): an error for that module,
//!   never a deadlock or a panic.
//!
//! A panic while the lock is held poisons it; the snapshot is still the
//! best there is, so every way in takes it anyway.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use crate::snapshot::Snapshot;

/// How often [`Shared::try_lock_for`] tries again.
const POLL: Duration = Duration::from_millis(1);

#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<Snapshot>>);

impl Shared {
    pub fn new(snap: Snapshot) -> Shared {
        Shared(Arc::new(Mutex::new(snap)))
    }

    /// Waits for the snapshot (the engine, between calls into the host).
    pub fn lock(&self) -> MutexGuard<'_, Snapshot> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The snapshot if it is free within `d` (the supervisor: a thread
    /// stuck holding it must not stop the release of the target).
    pub fn try_lock_for(&self, d: Duration) -> Option<MutexGuard<'_, Snapshot>> {
        let deadline = Instant::now() + d;
        loop {
            match self.0.try_lock() {
                Ok(guard) => return Some(guard),
                Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
                Err(TryLockError::WouldBlock) if Instant::now() >= deadline => return None,
                Err(TryLockError::WouldBlock) => std::thread::sleep(POLL),
            }
        }
    }

    /// The snapshot for a Lua object's method to read.
    pub(crate) fn borrow(&self) -> mlua::Result<MutexGuard<'_, Snapshot>> {
        match self.0.try_lock() {
            Ok(guard) => Ok(guard),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => {
                Err(mlua::Error::runtime("a module re-entered ptsnap from inside a ptsnap call"))
            }
        }
    }

    /// The snapshot for a Lua object's method to change (the same lock as
    /// [`Shared::borrow`]; the name says what the caller does with it).
    pub(crate) fn borrow_mut(&self) -> mlua::Result<MutexGuard<'_, Snapshot>> {
        self.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_snapshot_is_an_error_for_modules_and_a_timeout_for_the_supervisor() {
        let shared = Shared::new(Snapshot::default());
        let held = shared.lock();
        let err = shared.borrow_mut().map(|_| ()).expect_err("the lock is held").to_string();
        assert!(err.contains("re-entered ptsnap"), "{err}");
        let started = Instant::now();
        assert!(shared.try_lock_for(Duration::from_millis(20)).is_none());
        assert!(started.elapsed() >= Duration::from_millis(20));
        drop(held);
        assert!(shared.borrow().is_ok() && shared.try_lock_for(Duration::ZERO).is_some());
    }
}
