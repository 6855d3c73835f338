//! The search (`/`): the functions, and the variables with their members
//! at any depth, whose name contains the query (ignoring case) in the
//! threads shown; each hit is where the viewer goes to show it.
//!
//! The variables are the snapshot's text ([`crate::snapshot::lazy`]): a
//! list is read only when its text may hold a match ([`ListFilter`]), and
//! dropped once searched. A shared object is looked into once: one that
//! holds no match is not walked again below each pointer to it.
//!
//! A query in most names (`a`) still reads most lists: 55 to 100 ms on
//! the 1,001 threads of bench.py on one CPU. So the threads are searched
//! in two halves on two CPUs when there are many ([`SPLIT_FROM`]), and a
//! search is a [`Progress`] taken a step of threads at a time: the viewer
//! shows the first hit and goes on between keys, never holding a key up
//! for long.

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

use super::matching::{ListFilter, contains_ignoring_case};
use super::state::{Child, Hit, Section, child, frame_lists, read_lists};
use crate::snapshot::Variable;
use crate::snapshot::lazy::{Deferred, LazySnapshot};

/// A search under way: the threads still to search, and what it knows of
/// the shared objects (found once for every step).
#[derive(Debug)]
pub struct Progress {
    needle: String,
    /// The shared objects (indices) that hold a match.
    holding: FxHashSet<usize>,
    /// The shared objects that hold none, by address.
    barren: FxHashSet<usize>,
    pending: VecDeque<usize>,
}

impl Progress {
    /// A search for `needle` (lower case) through `threads`, in their order.
    pub fn new(lazy: &LazySnapshot, threads: Vec<usize>, needle: String) -> Self {
        let matches = |name: &str| contains_ignoring_case(name, &needle);
        let (mut holding, mut barren) = (FxHashSet::default(), FxHashSet::default());
        for (i, object) in lazy.objects().enumerate() {
            // The object's own name is that of a pointer's target: no match.
            let mut found = false;
            variable_hits(object, 0, &matches, &|_| false, &mut |path| found |= path.len() > 1);
            match found {
                true => holding.insert(i),
                false => barren.insert(address(object)),
            };
        }
        Progress { needle, holding, barren, pending: threads.into() }
    }

    /// Drops the threads still to search that `keep` refuses.
    pub fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        self.pending.retain(|&t| keep(t));
    }

    /// Whether every thread is searched.
    pub fn done(&self) -> bool {
        self.pending.is_empty()
    }

    /// Searches the next `n` threads: their hits, in order, and how many
    /// of their lists could not be read.
    pub fn step(&mut self, lazy: &LazySnapshot, n: usize) -> (Vec<Hit>, usize) {
        let threads: Vec<usize> = self.pending.drain(..n.min(self.pending.len())).collect();
        let query = Query {
            lazy,
            needle: &self.needle,
            filter: ListFilter::new(&self.needle, &self.holding),
            barren: &self.barren,
        };
        if threads.len() < SPLIT_FROM {
            return query.threads(&threads);
        }
        let (first, second) = threads.split_at(threads.len() / 2);
        std::thread::scope(|scope| {
            let other = std::thread::Builder::new().spawn_scoped(scope, || query.threads(second));
            let (mut hits, mut unread) = query.threads(first);
            // Without a second thread, the second half is searched here.
            let (more, more_unread) = match other.map(|t| t.join()) {
                Ok(Ok(found)) => found,
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(_) => query.threads(second),
            };
            hits.extend(more);
            unread += more_unread;
            (hits, unread)
        })
    }
}

/// Threads searched on one CPU at most: below, a second thread would
/// cost more than it saves.
const SPLIT_FROM: usize = 64;

/// One query over one snapshot.
struct Query<'a, 's> {
    lazy: &'a LazySnapshot<'s>,
    needle: &'a str,
    filter: ListFilter<'a>,
    /// The shared objects that hold no match, by address.
    barren: &'a FxHashSet<usize>,
}

impl Query<'_, '_> {
    /// The hits in `threads`, and how many lists could not be read.
    fn threads(&self, threads: &[usize]) -> (Vec<Hit>, usize) {
        let matches = |name: &str| contains_ignoring_case(name, self.needle);
        let may_match = |list: &Deferred| self.filter.may_match(list.text());
        let (mut hits, mut unread) = (Vec::new(), Vec::new());
        for &thread in threads {
            let t = &self.lazy.snapshot.threads[thread];
            for (fi, f) in t.frames.iter().enumerate() {
                if f.function.as_deref().is_some_and(matches) {
                    hits.push(Hit { thread, frame: Some(fi), variable: None });
                }
                let [parameters, locals] = frame_lists(f);
                let (in_parameters, in_locals) = (may_match(parameters.1), may_match(locals.1));
                if in_parameters || in_locals {
                    // The locals' positions follow the parameters'.
                    let mut uncounted = Vec::new();
                    let errors = if in_parameters { &mut unread } else { &mut uncounted };
                    let read = read_lists(self.lazy, [parameters], errors);
                    if in_parameters {
                        self.walk(&mut hits, (thread, Some(fi)), &read, 0);
                    }
                    if in_locals {
                        let locals = read_lists(self.lazy, [locals], &mut unread);
                        self.walk(&mut hits, (thread, Some(fi)), &locals, read.len());
                    }
                }
            }
            // The TLS, after the first frame's variables.
            if may_match(&t.tls) {
                let (frame, base) = match t.frames.first() {
                    Some(f) => (Some(0), read_lists(self.lazy, frame_lists(f), &mut Vec::new()).len()),
                    None => (None, 0),
                };
                let tls = read_lists(self.lazy, [(Section::Tls, &t.tls)], &mut unread);
                self.walk(&mut hits, (thread, frame), &tls, base);
            }
        }
        (hits, unread.len())
    }

    /// Adds the hits among `variables`, the pane's from position `base` on,
    /// of a thread and frame.
    fn walk(&self, hits: &mut Vec<Hit>, at: (usize, Option<usize>), variables: &[(Section, Variable)], base: usize) {
        let matches = |name: &str| contains_ignoring_case(name, self.needle);
        let barren = |target: &Variable| self.barren.contains(&address(target));
        for (vi, (_, v)) in variables.iter().enumerate() {
            variable_hits(v, base + vi, &matches, &barren, &mut |path| {
                hits.push(Hit { thread: at.0, frame: at.1, variable: Some(path.to_vec()) })
            });
        }
    }
}

/// Where a variable is in memory: a shared object is the same one below
/// every pointer to it.
fn address(v: &Variable) -> usize {
    std::ptr::from_ref(v) as usize
}

/// Calls `hit` with the tree path of `v` (at `top` in the pane's list) and
/// of each member below it whose name `matches`, at any depth (elements
/// and pointer targets are gone through: their names are their parent's;
/// a target `barren` says holds no match is not). The tree is walked
/// without recursion: a snapshot's nesting has no bound the stack would
/// be sure to hold.
fn variable_hits(
    v: &Variable,
    top: usize,
    matches: &impl Fn(&str) -> bool,
    barren: &impl Fn(&Variable) -> bool,
    hit: &mut impl FnMut(&[usize]),
) {
    if matches(&v.name) {
        hit(&[top]);
    }
    let mut path = vec![top];
    // The nodes from `v` down to the current one, each with its next child.
    let mut stack = vec![(v, 0)];
    while let Some((node, next)) = stack.last_mut() {
        let Some((kind, c)) = child(node, *next) else {
            stack.pop();
            path.pop();
            continue;
        };
        *next += 1;
        if matches!(kind, Child::Target) && barren(c) {
            continue;
        }
        path.push(*next - 1);
        if matches!(kind, Child::Member) && matches(&c.name) {
            hit(&path);
        }
        stack.push((c, 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Frame, Kind, Snapshot, Thread, Value, ValueLocation};
    use crate::view::state::tests::lazy;

    /// Enough threads to be searched in two halves: the hits are those of
    /// a search a thread at a time, in the same order.
    #[test]
    fn halves_find_what_one_search_finds_in_order() {
        let int = |name: &str, n: i64| Variable {
            name: name.into(),
            kind: Kind::Ll,
            value: Value::Int(n),
            location: ValueLocation::Memory,
            ..Variable::default()
        };
        let thread = |tid: i32| Thread {
            tid,
            frames: vec![Frame {
                function: Some(if tid % 3 == 0 { "wait_a_bit" } else { "work" }.into()),
                locals: vec![int("slot", tid.into()), int(if tid % 5 == 0 { "all_done" } else { "x" }, 1)],
                ..Frame::default()
            }],
            ..Thread::default()
        };
        let snap = lazy(&Snapshot { threads: (0..SPLIT_FROM as i32 * 2).map(thread).collect(), ..Snapshot::default() });
        let threads: Vec<usize> = (0..snap.snapshot.threads.len()).collect();
        let (split, unread) = Progress::new(&snap, threads.clone(), "a".into()).step(&snap, threads.len());
        assert_eq!(unread, 0);
        // A thread at a time: on one CPU, each step a search of its own.
        let mut progress = Progress::new(&snap, threads.clone(), "a".into());
        let mut stepped = Vec::new();
        while !progress.done() {
            stepped.extend(progress.step(&snap, 1).0);
        }
        assert_eq!(split, stepped);
        let in_thread = |hits: &[Hit], t: usize| hits.iter().filter(|h| h.thread == t).count();
        assert_eq!(in_thread(&split, 0), 2, "wait_a_bit and all_done");
        assert_eq!(in_thread(&split, threads.len() - 1), 0);
        assert_eq!(
            split.len(),
            threads.iter().filter(|&&t| t % 3 == 0).count() + threads.iter().filter(|&&t| t % 5 == 0).count()
        );
    }
}
