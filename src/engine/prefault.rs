//! A long list whose memory another CPU faults in while it is filled.
//!
//! The first write to each page of a fresh allocation is a page fault:
//! the kernel allocates, zeroes and charges the page, about 2 µs a page
//! on a VM. A thread 10,000 frames deep is a 2.7 MB frame list: 660
//! faults, 0.9 of the 3.1 ms the worker took to render its frames. Its
//! length is known before it is filled (a walked stack's frames), so a
//! helper thread populates the list's spare room ahead of the filling
//! thread (`MADV_POPULATE_WRITE`), and the faults run on the other CPU.
//!
//! Populating maps pages in and changes no byte of memory, so it cannot
//! race with the filling thread's writes. The helper is joined before the
//! buffer can move or be freed: at the first push past the capacity, at
//! [`Prefaulted::into_inner`], and when the list is dropped. Where the
//! kernel lacks the advice (before Linux 5.14) the call fails and the
//! pages fault as before.

use std::thread::JoinHandle;

use nix::sched::{CpuSet, sched_getaffinity};
use nix::unistd::Pid;

/// Below this the helper's start costs about what its faults would.
const MIN_BYTES: usize = 512 << 10;

const PAGE: usize = 4096;

pub struct Prefaulted<T> {
    list: Vec<T>,
    helper: Option<JoinHandle<()>>,
}

impl<T> Prefaulted<T> {
    /// An empty list with room for `capacity` items, faulted in on another
    /// thread when it is long, `allowed` (`--jobs 1` does not allow it) and
    /// ptsnap may run on more than one CPU.
    pub fn with_capacity(capacity: usize, allowed: bool) -> Self {
        let mut list = Vec::with_capacity(capacity);
        let bytes = list.capacity() * std::mem::size_of::<T>();
        let helper = (bytes >= MIN_BYTES && allowed && several_cpus())
            .then(|| {
                let start = list.as_mut_ptr() as usize;
                std::thread::Builder::new().name("ptsnap-prefault".into()).spawn(move || populate(start, bytes)).ok()
            })
            .flatten();
        Prefaulted { list, helper }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn push(&mut self, item: T) {
        if self.list.len() == self.list.capacity() {
            self.join();
        }
        self.list.push(item);
    }

    /// The list, once the helper is done with its memory.
    pub fn into_inner(mut self) -> Vec<T> {
        self.join();
        std::mem::take(&mut self.list)
    }

    fn join(&mut self) {
        if let Some(helper) = self.helper.take() {
            let _ = helper.join();
        }
    }
}

impl<T> Drop for Prefaulted<T> {
    fn drop(&mut self) {
        self.join();
    }
}

/// Whether this thread may run on more than one CPU: one system call
/// (`--jobs`'s default reads the cgroup's CPU quota too, several files).
fn several_cpus() -> bool {
    sched_getaffinity(Pid::from_raw(0))
        .is_ok_and(|set| (0..CpuSet::count()).filter(|&cpu| set.is_set(cpu).unwrap_or(false)).nth(1).is_some())
}

/// Pages populated by one call: the call holds the process's memory map
/// lock for reading, which would keep the filling thread from mapping
/// memory (a large allocation, a thread's stack) for the whole list.
const PAGES_PER_CALL: usize = 64;

/// Faults in the whole pages of `bytes` bytes from `start`, writable, in
/// the order the list is filled.
fn populate(start: usize, bytes: usize) {
    let end = (start + bytes) / PAGE * PAGE;
    let mut at = start.next_multiple_of(PAGE);
    while at < end {
        let len = (end - at).min(PAGES_PER_CALL * PAGE);
        // SAFETY: the range lies within an allocation the list owns until
        // this thread is joined; MADV_POPULATE_WRITE only faults its pages
        // in, leaving every byte as it is (an error leaves them to fault
        // when written).
        if unsafe { libc::madvise(at as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) } != 0 {
            return;
        }
        at += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_is_filled_and_grown_as_a_vec() {
        let items = (MIN_BYTES / 8) + 100;
        let mut list = Prefaulted::with_capacity(items - 100, true);
        assert_eq!(list.helper.is_some(), several_cpus(), "a list this long has a helper where there are CPUs for it");
        for i in 0..items {
            list.push(i as u64);
        }
        assert_eq!(list.len(), items);
        let list = list.into_inner();
        assert!(list.iter().enumerate().all(|(i, &v)| v == i as u64));
    }

    #[test]
    fn a_short_list_or_jobs_1_has_no_helper() {
        let short: Prefaulted<u64> = Prefaulted::with_capacity(16, true);
        assert!(short.helper.is_none());
        let one_job: Prefaulted<u64> = Prefaulted::with_capacity(MIN_BYTES, false);
        assert!(one_job.helper.is_none());
    }
}
