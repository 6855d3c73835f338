//! Threads with identical stacks. A hung server of a thousand threads is a
//! handful of distinct stacks (998 idle workers, two deadlocked threads):
//! `ptsnap show --group` and `ptsnap view` list each stack once with its
//! threads, as the first thing a person wants to see is what is different.
//!
//! Two threads have the same stack when their frames have the same program
//! counters, inline and tail-call frames included (the same pcs symbolize
//! the same way). The faulted thread is always a group of its own, first.

use rustc_hash::FxHashMap;

use crate::snapshot::Thread;

/// Threads (indices into `threads`) grouped by identical stacks: the
/// faulted thread first, alone; then each stack's threads by thread id,
/// the groups in the order of their lowest thread id.
pub fn group<V>(threads: &[Thread<V>]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..threads.len()).collect();
    order.sort_by_key(|&i| (!threads[i].faulted, threads[i].tid));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_stack: FxHashMap<String, usize> = FxHashMap::default();
    for i in order {
        let t = &threads[i];
        if t.faulted || t.frames.is_empty() {
            groups.push(vec![i]);
            continue;
        }
        let key = key(t);
        match by_stack.get(&key) {
            Some(&g) => groups[g].push(i),
            None => {
                by_stack.insert(key, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups
}

/// What two threads with the same stack have in common: each frame's
/// program counter in hex, `i` after an inline frame's, `*N` after the
/// first of a run of N equal frames (a recursion), `,` after each
/// (`7f1c2a04e16i,7f1c2a04e16*500,`): equal for equal stacks and, read
/// back, only for them. Modules group threads by it (`thread:stack_key()`)
/// without reading their frames one by one; a 10,000-frame recursion is a
/// few dozen bytes, not 140 KB to copy into Lua and hash there.
pub fn key<V>(t: &Thread<V>) -> String {
    let mut key = Vec::new();
    let mut frames = t.frames.iter().peekable();
    while let Some(f) = frames.next() {
        let mut run = 1;
        while frames.next_if(|next| (next.pc, next.inlined) == (f.pc, f.inlined)).is_some() {
            run += 1;
        }
        // As `{:x}` writes it: from the first digit that is not 0.
        let first = (f.pc.0.leading_zeros() / 4).min(15) as usize;
        key.extend_from_slice(&crate::hex::digits(f.pc.0)[first..]);
        if f.inlined {
            key.push(b'i');
        }
        if run > 1 {
            key.push(b'*');
            key.extend_from_slice(itoa::Buffer::new().format(run).as_bytes());
        }
        key.push(b',');
    }
    String::from_utf8(key).unwrap_or_default()
}

/// `1002-1005, 1010, 1012-1013`: sorted thread ids as runs.
pub fn tid_ranges(tids: &[i32]) -> String {
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tids.len() {
        let mut j = i;
        while j + 1 < tids.len() && tids[j + 1] == tids[j] + 1 {
            j += 1;
        }
        runs.push(if i == j { tids[i].to_string() } else { format!("{}-{}", tids[i], tids[j]) });
        i = j + 1;
    }
    runs.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Addr, Frame};

    fn thread(tid: i32, pcs: &[u64], faulted: bool) -> Thread {
        let frames = pcs.iter().map(|&pc| Frame { pc: Addr(pc), ..Frame::default() }).collect();
        Thread { tid, frames, faulted, ..Thread::default() }
    }

    #[test]
    fn identical_stacks_group_and_the_fault_comes_first() {
        let threads = [
            thread(12, &[1, 2, 3], false),
            thread(10, &[1, 2, 3], false),
            thread(11, &[4, 3], false),
            thread(13, &[1, 2, 3], true),
            thread(14, &[], false),
            thread(15, &[], false),
        ];
        let tids = |g: &Vec<usize>| g.iter().map(|&i| threads[i].tid).collect::<Vec<_>>();
        let groups: Vec<Vec<i32>> = group(&threads).iter().map(tids).collect();
        assert_eq!(groups, [vec![13], vec![10, 12], vec![11], vec![14], vec![15]]);
    }

    #[test]
    fn keys_spell_each_pc_as_hex_inline_frames_marked() {
        let pcs = [0, 0xf, 0x10, 0x07f1_c2a0_4e16, u64::MAX];
        let mut t = thread(1, &pcs, false);
        t.frames[1].inlined = true;
        let expected: String =
            pcs.iter().enumerate().map(|(i, pc)| format!("{pc:x}{},", if i == 1 { "i" } else { "" })).collect();
        assert_eq!(key(&t), expected);
        assert_eq!(key(&t), "0,fi,10,7f1c2a04e16,ffffffffffffffff,");
    }

    /// A run of equal frames is written once with its length: keys stay
    /// equal exactly when stacks are.
    #[test]
    fn keys_write_a_run_of_equal_frames_once() {
        let recursion = thread(1, &[0x10, 0x20, 0x20, 0x20, 0x30], false);
        assert_eq!(key(&recursion), "10,20*3,30,");
        let mut inline_between = thread(2, &[0x20, 0x20, 0x20], false);
        inline_between.frames[1].inlined = true;
        assert_eq!(key(&inline_between), "20,20i,20,");
        let deeper = thread(3, &[0x10, 0x20, 0x20, 0x20, 0x20, 0x30], false);
        assert_ne!(key(&recursion), key(&deeper));
        assert_eq!(key(&recursion), key(&thread(4, &[0x10, 0x20, 0x20, 0x20, 0x30], false)));
    }

    #[test]
    fn thread_ids_print_as_runs() {
        assert_eq!(tid_ranges(&[1002, 1003, 1004, 1005, 1010, 1012, 1013]), "1002-1005, 1010, 1012-1013");
        assert_eq!(tid_ranges(&[7]), "7");
        assert_eq!(tid_ranges(&[]), "");
    }
}
