//! How the C library's allocator grows ptsnap's heap.
//!
//! glibc gives every thread that allocates its own arena, and grows an
//! arena other than the main one a page at a time, each page its own
//! `mprotect`: a snapshot of a thousand threads with their variables made
//! 9,300 `mprotect` calls on its two extraction threads, about a tenth of
//! its CPU time. The main arena grows by `brk` with a padding instead. So
//! all threads share the main arena (each still has its own cache of small
//! blocks, and only two threads allocate much), and it grows 8 MiB at a
//! time: 15 calls instead, and a peak RSS a little lower.

/// Sets the allocator up; call it first in `main`, before any thread starts.
pub fn tune() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes the allocator's parameters, and no other
    // thread is allocating yet. A refused parameter (returned 0) leaves the
    // default, which is only slower.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_TOP_PAD, 8 << 20);
    }
}
