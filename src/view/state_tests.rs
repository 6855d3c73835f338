//! The viewer's state machine over a small snapshot: a crashed thread
//! whose faulting frame is not its first, and twenty idle threads with one
//! stack.

use std::sync::Arc;

use super::*;
use crate::snapshot::Addr;
use crate::snapshot::writer::to_text;
use crate::view::state::SourceLines;

fn int(name: &str, n: i64) -> Variable {
    Variable {
        name: name.into(),
        kind: Kind::Ll,
        value: Value::Int(n),
        location: ValueLocation::Memory,
        ..Variable::default()
    }
}

fn frame(index: usize, pc: u64, function: &str) -> Frame {
    Frame { index, pc: Addr(pc), function: Some(function.into()), ..Frame::default() }
}

pub(crate) fn snapshot() -> Snapshot {
    let info = Variable {
        kind: Kind::Tuple,
        type_name: "struct info".into(),
        members: vec![int("depth", 3), int("count", 7)],
        location: ValueLocation::Memory,
        ..Variable::default()
    };
    let pointer = Variable {
        name: "info".into(),
        kind: Kind::Reference,
        value: Value::UInt(0x1000),
        target: Some(Arc::new(info)),
        location: ValueLocation::Memory,
        ..Variable::default()
    };
    let array = Variable {
        name: "arr".into(),
        kind: Kind::Array,
        type_name: "int [2]".into(),
        elements: vec![int("", 1), int("", 2)],
        location: ValueLocation::Memory,
        ..Variable::default()
    };
    let gone = Variable { location: ValueLocation::OptimizedOut, ..int("gone", 0) };
    let faulting = Frame {
        faulted: true,
        parameters: vec![pointer, int("n", 0)],
        locals: vec![array, gone],
        ..frame(1, 0x110, "recurse")
    };
    let crashed = Thread {
        tid: 5,
        name: "crash".into(),
        faulted: true,
        frames: vec![frame(0, 0x100, "memcpy"), faulting, frame(2, 0x120, "main")],
        tls: vec![int("errno", 0)],
        ..Thread::default()
    };
    let idle = |tid| Thread {
        tid,
        name: "worker".into(),
        frames: vec![
            frame(0, 0x10, "pause"),
            Frame { locals: vec![int("slot", tid as i64)], ..frame(1, 0x20, "idle_worker") },
        ],
        ..Thread::default()
    };
    let mut threads: Vec<Thread> = (100..120).rev().map(idle).collect();
    threads.insert(7, crashed);
    Snapshot { threads, ..Snapshot::default() }
}

/// `snap` as the viewer reads it: written as a snapshot file is, and read
/// with its variables left as text, which lives as long as the test.
pub(crate) fn lazy(snap: &Snapshot) -> LazySnapshot<'static> {
    read(to_text(snap))
}

/// A snapshot's `text` read as the viewer reads it, the text kept as long
/// as the test runs.
pub(crate) fn read(text: String) -> LazySnapshot<'static> {
    LazySnapshot::parse(Box::leak(text.into_boxed_str())).unwrap()
}

/// The snapshot's text as written, with `change` made to its JSON.
pub(crate) fn changed(snap: &Snapshot, change: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json: serde_json::Value = serde_json::from_str(&to_text(snap)).unwrap();
    change(&mut json);
    json.to_string()
}

fn names(view: &View) -> Vec<String> {
    view.var_rows.iter().map(|r| format!("{}{}", "  ".repeat(r.path.len() - 1), r.name)).collect()
}

#[test]
fn opens_on_the_faulting_frame_of_the_faulted_thread() {
    let snap = lazy(&snapshot());
    let view = View::new(&snap);
    assert_eq!(view.thread().unwrap().tid, 5);
    assert_eq!(view.thread_sel, 0, "the faulted thread is first");
    assert_eq!(view.frame_sel, 1, "its faulting frame, not its first");
    assert_eq!(view.focus, Pane::Frames);
    assert_eq!(names(&view), ["info", "n", "arr", "gone", "errno"], "parameters, locals, then TLS");
    assert!(view.var_rows[3].missing && view.var_rows[3].value == "<optimized out>");
    assert_eq!(view.var_rows[4].section, Section::Tls);
}

#[test]
fn many_threads_open_grouped_and_g_ungroups() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    assert!(view.grouped, "21 threads are more than {GROUP_ABOVE}");
    let t = |i: usize| ThreadRow::Thread { thread: i, member: false };
    assert_eq!(view.thread_rows, [t(7), ThreadRow::Group { group: 1, open: false }]);
    assert_eq!(view.groups[1].len(), 20);
    // Down onto the group: its first thread, the lowest tid.
    view.focus = Pane::Threads;
    view.apply(Action::Down);
    assert_eq!(view.thread().unwrap().tid, 100);
    assert_eq!(view.frame_sel, 0);
    // Enter opens the group: its twenty threads below it.
    view.apply(Action::Toggle);
    assert_eq!(view.thread_rows.len(), 22);
    view.apply(Action::End);
    assert_eq!(view.thread().unwrap().tid, 119);
    // Left on one of its threads closes the group.
    view.apply(Action::Left);
    assert_eq!(view.thread_rows.len(), 2);
    assert_eq!(view.thread_sel, 1);
    view.apply(Action::Right);
    view.apply(Action::End);
    // Ungrouped: every thread by tid, the faulted one first, the selected
    // thread still selected.
    view.apply(Action::ToggleGrouping);
    let tids: Vec<i32> = (0..view.thread_rows.len())
        .map(|i| match view.thread_rows[i] {
            ThreadRow::Thread { thread, .. } => snap.snapshot.threads[thread].tid,
            ThreadRow::Group { .. } => panic!("a group when ungrouped"),
        })
        .collect();
    assert_eq!(tids[0], 5);
    assert!(tids[1..].is_sorted() && tids.len() == 21, "{tids:?}");
    assert_eq!(view.thread().unwrap().tid, 119);
}

#[test]
fn few_threads_open_ungrouped() {
    let mut snap = snapshot();
    snap.threads.truncate(GROUP_ABOVE);
    assert!(!View::new(&lazy(&snap)).grouped);
}

#[test]
fn enter_expands_pointers_and_structs_and_left_goes_back_up() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    view.apply(Action::NextPane);
    assert_eq!(view.focus, Pane::Variables);
    assert!(view.var_rows[0].expandable && !view.var_rows[0].open);
    view.apply(Action::Toggle);
    assert_eq!(names(&view), ["info", "  *info", "n", "arr", "gone", "errno"]);
    assert_eq!(view.var_rows[1].value, "{depth = 3, count = 7}", "a closed struct shows its value in C");
    view.apply(Action::Down);
    view.apply(Action::Right);
    assert_eq!(names(&view), ["info", "  *info", "    depth", "    count", "n", "arr", "gone", "errno"]);
    assert_eq!(view.var_rows[1].value, "struct info", "an open struct shows its type");
    view.apply(Action::Down);
    view.apply(Action::Left);
    assert_eq!(view.var_sel, 1, "left on a leaf goes to its parent");
    view.apply(Action::Left);
    assert_eq!(names(&view), ["info", "  *info", "n", "arr", "gone", "errno"], "left on an open node closes it");
    // Array elements by index.
    view.apply(Action::Down);
    view.apply(Action::Down);
    view.apply(Action::Toggle);
    assert_eq!(names(&view)[3..6], ["arr", "  [0]", "  [1]"]);
    // What is open is kept per frame: another frame and back.
    view.focus = Pane::Frames;
    view.apply(Action::Up);
    assert_eq!(names(&view), ["errno"]);
    view.apply(Action::Down);
    assert_eq!(names(&view).len(), 8);
}

#[test]
fn search_finds_functions_and_variables_in_every_thread() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    search(&mut view, "IDLE");
    assert_eq!(view.search.hits.len(), 20, "idle_worker in each idle thread, ignoring case");
    assert_eq!(view.thread().unwrap().tid, 100);
    assert_eq!(view.frame_sel, 1);
    assert!(matches!(view.thread_rows[view.thread_sel], ThreadRow::Thread { member: true, .. }), "group opened");
    view.apply(Action::NextHit);
    assert_eq!(view.thread().unwrap().tid, 101);
    view.apply(Action::PrevHit);
    view.apply(Action::PrevHit);
    assert_eq!(view.thread().unwrap().tid, 119, "N wraps around");

    search(&mut view, "arr");
    assert_eq!(view.search.hits.len(), 1);
    assert_eq!((view.thread().unwrap().tid, view.frame_sel, view.focus), (5, 1, Pane::Variables));
    assert_eq!(view.var_rows[view.var_sel].name, "arr");

    search(&mut view, "errno");
    assert_eq!(view.var_rows[view.var_sel].name, "errno", "a TLS variable");

    search(&mut view, "nothing");
    assert!(view.search.hits.is_empty());
    assert_eq!(view.message.as_deref(), Some("no match for nothing"));
}

/// A search of many threads goes on a step at a time (here, a step per
/// slice): the first hit is shown at once, `n` goes through the hits found
/// so far, and the status line says the search goes on until it is done.
#[test]
fn a_search_of_many_threads_goes_on_between_keys() {
    let snap = slot_workers();
    let mut view = View::new(&snap);
    view.search_slice = Duration::ZERO;
    search(&mut view, "slot");
    assert!(view.searching());
    assert_eq!(view.search.hits.len(), SEARCH_STEP, "one step");
    assert_eq!(view.message.as_deref(), Some("match 1/128 for slot (n: next, N: previous), searching..."));
    assert_eq!((view.thread().unwrap().tid, view.var_rows[view.var_sel].name.as_str()), (1000, "slot"));
    view.apply(Action::NextHit);
    assert_eq!(view.thread().unwrap().tid, 1001);
    let mut steps = 1;
    while view.searching() {
        view.search_on();
        steps += 1;
    }
    assert_eq!((steps, view.search.hits.len()), (3, 300));
    assert_eq!(view.message.as_deref(), Some("match 2/300 for slot (n: next, N: previous)"));
    view.apply(Action::PrevHit);
    view.apply(Action::PrevHit);
    assert_eq!(view.thread().unwrap().tid, 1299, "N wraps around the whole search");

    search(&mut view, "nothing");
    assert_eq!(view.message.as_deref(), Some("searching for nothing..."));
    while view.searching() {
        view.search_on();
    }
    assert_eq!(view.message.as_deref(), Some("no match for nothing"));
}

/// Threads 1000 to 1299, named `w` and their id, each in `idle_worker`
/// with a local `slot`: a search for it goes a step at a time.
fn slot_workers() -> LazySnapshot<'static> {
    let thread = |tid| Thread {
        tid,
        name: format!("w{tid}"),
        frames: vec![Frame { locals: vec![int("slot", tid as i64)], ..frame(0, 0x20, "idle_worker") }],
        ..Thread::default()
    };
    lazy(&Snapshot { threads: (1000..1300).map(thread).collect(), ..Snapshot::default() })
}

/// A filter set while a search goes on keeps it to the threads shown: the
/// hits found in the others are dropped, the threads left to search are
/// those shown, and `n` stays among them.
#[test]
fn a_filter_keeps_a_search_going_on_to_the_threads_shown() {
    let snap = slot_workers();
    let mut view = View::new(&snap);
    view.search_slice = Duration::ZERO;
    search(&mut view, "slot");
    assert_eq!(view.search.hits.len(), SEARCH_STEP, "threads 1000 to 1127");
    type_at(&mut view, Prompt::Filter, "w11");
    view.apply(Action::Commit);
    assert_eq!(view.search.hits.len(), 28, "1100 to 1127 kept");
    assert_eq!(view.message.as_deref(), Some("match 1/28 for slot (n: next, N: previous), searching..."));
    while view.searching() {
        view.search_on();
    }
    let hit_tids: Vec<i32> = view.search.hits.iter().map(|h| view.snap.threads[h.thread].tid).collect();
    assert_eq!(hit_tids, (1100..1200).collect::<Vec<_>>());
    view.apply(Action::NextHit);
    assert_eq!(view.thread().unwrap().tid, 1101);
}

#[test]
fn search_reaches_members_below_pointers_and_opens_the_tree_to_them() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    search(&mut view, "COUNT");
    // info -> *info -> count: the pointer and its target opened.
    let hit = Hit { thread: 7, frame: Some(1), variable: Some(vec![0, 0, 1]) };
    assert_eq!(view.search.hits, [hit]);
    assert_eq!(names(&view), ["info", "  *info", "    depth", "    count", "n", "arr", "gone", "errno"]);
    assert_eq!((view.focus, view.var_rows[view.var_sel].name.as_str()), (Pane::Variables, "count"));
    assert_eq!(view.var_rows[view.var_sel].value, "7");
    // A pointer's target is not a match of its own: `*info` is `info`'s.
    search(&mut view, "info");
    assert_eq!(view.search.hits.len(), 1);
    assert_eq!(view.var_rows[view.var_sel].path, [0]);
    // Members and top-level names together, across threads: "o" is in
    // info, count, gone, errno (thread 5) and slot (each worker).
    search(&mut view, "o");
    let variables: Vec<&[usize]> = view.search.hits.iter().filter_map(|h| h.variable.as_deref()).collect();
    assert_eq!(variables.len(), 4 + 20, "{variables:?}");
    view.apply(Action::PrevHit);
    assert_eq!((view.thread().unwrap().tid, view.var_rows[view.var_sel].name.as_str()), (119, "slot"));
}

#[test]
fn typing_a_search_keeps_command_keys_as_text_and_escape_cancels() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    view.apply(Action::Prompt(Prompt::Search));
    view.apply(Action::Type('q'));
    view.apply(Action::Erase);
    view.apply(Action::Type('g'));
    assert_eq!(view.mode, Mode::Typing(Prompt::Search, "g".into()));
    assert!(!view.quit);
    view.apply(Action::Cancel);
    assert_eq!(view.mode, Mode::Normal);
    assert!(view.search.hits.is_empty());
    view.apply(Action::ToggleHelp);
    view.apply(Action::Down);
    assert_eq!(view.mode, Mode::Normal, "any key closes the help");
    view.apply(Action::Quit);
    assert!(view.quit);
}

/// Searches for `text`, as `/`, the text and Enter do.
fn search(view: &mut View, text: &str) {
    type_at(view, Prompt::Search, text);
    view.apply(Action::Commit);
}

fn type_at(view: &mut View, prompt: Prompt, text: &str) {
    view.apply(Action::Prompt(prompt));
    for c in text.chars() {
        view.apply(Action::Type(c));
    }
}

fn tids(view: &View) -> Vec<i32> {
    let rows = view.thread_rows.iter();
    rows.map(|r| match *r {
        ThreadRow::Thread { thread, .. } => view.snap.threads[thread].tid,
        ThreadRow::Group { group, .. } => -(view.groups[group].len() as i32),
    })
    .collect()
}

#[test]
fn the_filter_shows_threads_by_name_or_function_as_it_is_typed() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    // By a function of the idle threads' stack (not their top one): the
    // group of twenty, the faulted thread gone; its first thread selected.
    type_at(&mut view, Prompt::Filter, "IDLE_w");
    assert_eq!(tids(&view), [-20]);
    assert_eq!(view.thread().unwrap().tid, 100);
    assert_eq!(view.frame_sel, 0);
    // Backspace widens it as it is typed; "cra" is the crashed thread's name.
    for _ in 0..6 {
        view.apply(Action::Erase);
    }
    assert_eq!(tids(&view), [5, -20]);
    "cra".chars().for_each(|c| view.apply(Action::Type(c)));
    assert_eq!(tids(&view), [5]);
    assert_eq!(view.frame_sel, 1, "the crashed thread on its faulting frame");
    // Enter keeps the filter; f edits it where it is.
    view.apply(Action::Commit);
    assert_eq!((&view.mode, view.filter.as_str()), (&Mode::Normal, "cra"));
    view.apply(Action::Prompt(Prompt::Filter));
    assert_eq!(view.mode, Mode::Typing(Prompt::Filter, "cra".into()));
    view.apply(Action::Commit);
    // A filter that lets nothing through: no thread, no frame, no variable.
    type_at(&mut view, Prompt::Filter, "x");
    assert!(view.thread_rows.is_empty() && view.thread().is_none() && view.var_rows.is_empty());
    for action in [Action::Down, Action::Toggle, Action::End, Action::NextPane, Action::Toggle] {
        view.apply(action);
    }
    // Esc at the prompt drops the filter, and so does Esc after it.
    view.apply(Action::Cancel);
    assert_eq!((tids(&view), view.filter.as_str()), (vec![5, -20], ""));
    type_at(&mut view, Prompt::Filter, "worker");
    view.apply(Action::Commit);
    view.apply(Action::ToggleGrouping);
    assert_eq!(tids(&view), (100..120).collect::<Vec<_>>(), "ungrouped, only the workers");
    view.apply(Action::Cancel);
    assert_eq!(tids(&view).len(), 21);
}

#[test]
fn a_filter_keeps_the_selected_thread_and_frame_when_it_shows_them() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    view.apply(Action::Down);
    assert_eq!(view.frame_sel, 2);
    type_at(&mut view, Prompt::Filter, "main");
    assert_eq!(tids(&view), [5]);
    assert_eq!(view.frame_sel, 2, "the same thread: the same frame");
}

#[test]
fn an_empty_snapshot_has_nothing_to_select() {
    let snap = lazy(&Snapshot::default());
    let mut view = View::new(&snap);
    for action in [Action::Down, Action::Toggle, Action::NextPane, Action::Right, Action::Toggle, Action::End] {
        view.apply(action);
    }
    assert!(view.thread().is_none() && view.var_rows.is_empty());
}

/// The snapshot with a fault, kv, registers and a module, and the
/// faulting frame at line 22 of `file`.
pub(crate) fn described(file: &str) -> Snapshot {
    use crate::snapshot::{Addr, ErrorEntry, Fault, MemoryMapping, ModuleInfo, Registers, SignalInfo};
    let mut snap = snapshot();
    snap.fault = Some(Fault {
        tid: 5,
        signal: Some(SignalInfo {
            name: "SIGSEGV".into(),
            code_name: Some("SEGV_MAPERR".into()),
            reason: "invalid memory access: address not mapped at 0x0".into(),
            ..SignalInfo::default()
        }),
    });
    snap.kv.insert("fault.function".into(), "recurse".into());
    snap.kv.insert("fault.line".into(), 22.into());
    snap.modules.push(ModuleInfo {
        path: "/usr/lib/libc.so.6".into(),
        build_id: Some("93ac61".into()),
        symbols: "symtab".into(),
        error: Some("no debug info".into()),
        ..ModuleInfo::default()
    });
    snap.errors.push(ErrorEntry { context: "thread 101".into(), message: "cannot read its stack".into() });
    snap.mappings.push(MemoryMapping {
        start: Addr(0x7f00_0000_0000),
        end: Addr(0x7f00_0002_8000),
        perms: "r-xp".into(),
        offset: Addr(0x28000),
        path: "/usr/lib/libc.so.6".into(),
        deleted: true,
    });
    let crashed = &mut snap.threads[7];
    crashed.registers = Registers::named(&["rip", "rsp"], vec![0x100, 0x7ffe_0000]);
    crashed.kernel_stack = vec!["do_nanosleep+0x7c".into()];
    let faulting = &mut crashed.frames[1];
    faulting.file = Some(file.into());
    faulting.line = Some(22);
    snap
}

fn crash_c() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/crash.c").into()
}

#[test]
fn i_shows_the_info_and_focuses_it_and_i_again_the_variables() {
    let snap = lazy(&described(&crash_c()));
    let mut view = View::new(&snap);
    view.apply(Action::ToggleInfo);
    assert_eq!((view.bottom, view.focus), (Bottom::Info, Pane::Variables));
    let lines = super::super::info::lines(view.snap, view.thread());
    let text = |t: &str| lines.contains(&super::super::info::InfoLine::Text(t.into()));
    assert!(text("SIGSEGV (SEGV_MAPERR) in thread 5: invalid memory access: address not mapped at 0x0"), "{lines:#?}");
    assert!(text("fault.function = recurse") && text("fault.line = 22"), "{lines:#?}");
    assert!(text("     rip 0x0000000000000100       rsp 0x000000007ffe0000"), "{lines:#?}");
    assert!(text("do_nanosleep+0x7c") && text("    error: no debug info") && text("thread 101: cannot read its stack"));
    assert!(text("7f0000000000-7f0000028000 r-xp 00028000 /usr/lib/libc.so.6 (deleted)"), "{lines:#?}");
    // Up and Down scroll, Enter opens nothing, Left goes to the frames.
    view.apply(Action::Down);
    assert_eq!(view.scroll, Some(1));
    view.apply(Action::Toggle);
    assert!(view.var_rows.iter().all(|r| !r.open));
    view.apply(Action::Left);
    assert_eq!(view.focus, Pane::Frames);
    view.apply(Action::ToggleInfo);
    assert_eq!((view.bottom, view.scroll), (Bottom::Variables, None));
}

#[test]
fn s_shows_the_selected_frames_line_or_why_not() {
    let snap = lazy(&described(&crash_c()));
    let mut view = View::new(&snap);
    view.apply(Action::ToggleSource);
    assert_eq!((view.bottom, view.focus), (Bottom::Source, Pane::Frames), "the frames keep the keys");
    match view.source() {
        SourceLines::Lines { lines, line, .. } => {
            assert_eq!(line, 22);
            assert!(lines[21].contains("*info->target = info->depth;"), "{lines:?}");
        }
        other => panic!("{other:?}"),
    }
    view.apply(Action::Down);
    let SourceLines::Note(note) = view.source() else { panic!("main has no file") };
    assert_eq!(note, "this frame has no source file and line");

    let snap = lazy(&described("/nowhere/crash.c"));
    let mut view = View::new(&snap);
    view.apply(Action::ToggleSource);
    let SourceLines::Note(note) = view.source() else { panic!("read a missing file") };
    assert!(note.starts_with("/nowhere/crash.c cannot be read ("), "{note}");
    view.set_source_path(vec![concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures").into()]);
    assert!(matches!(view.source(), SourceLines::Lines { line: 22, .. }), "found by its name in --source-path");
}

#[test]
fn only_the_selected_frames_variables_are_read_and_held() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    let held = |view: &View| view.shown.variables.iter().map(|(_, v)| v.name.clone()).collect::<Vec<_>>();
    assert_eq!(view.shown.of, Some((7, Some(1))));
    assert_eq!(held(&view), ["info", "n", "arr", "gone", "errno"]);
    // Keys that change nothing of the frame read nothing again, though the
    // tree is drawn again: a mark put on a variable held stays (a list
    // read again would not have it).
    view.shown.variables[1].1.name = "marked".into();
    view.focus = Pane::Variables;
    view.apply(Action::Toggle);
    view.apply(Action::ToggleInfo);
    view.apply(Action::ToggleInfo);
    assert_eq!(held(&view), ["info", "marked", "arr", "gone", "errno"]);
    view.focus = Pane::Frames;
    // Another frame: its variables read, the others dropped.
    view.apply(Action::Down);
    assert_eq!((view.shown.of, held(&view)), (Some((7, Some(2))), vec!["errno".to_string()]));
    // Another thread: its frame's.
    view.focus = Pane::Threads;
    view.apply(Action::Down);
    assert_eq!(view.shown.of, Some((20, Some(0))));
    view.focus = Pane::Frames;
    view.apply(Action::Down);
    assert_eq!((view.shown.of, held(&view)), (Some((20, Some(1))), vec!["slot".to_string()]));
    assert_eq!(view.var_rows[0].value, "100");
}

/// The crash's faulting frame with a parameter of a type the types table
/// does not have, and the crashed thread's TLS not a list.
pub(crate) fn corrupt() -> LazySnapshot<'static> {
    read(changed(&snapshot(), |json| {
        let crashed = &mut json["threads"][7];
        crashed["frames"][1]["parameters"][1]["type"] = 999.into();
        crashed["tls"] = 5.into();
    }))
}

#[test]
fn a_list_that_cannot_be_read_says_why_and_the_others_are_shown() {
    let snap = corrupt();
    let mut view = View::new(&snap);
    assert_eq!(names(&view), ["arr", "gone"], "the locals, read");
    let errors = view.variable_errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("the parameters cannot be read: type 999 is not in the types table (in the list at"));
    assert!(errors[1].starts_with("the thread's TLS variables cannot be read: invalid type: integer `5`, expected a"));
    // The next frame: its own variables, no error of its own (the TLS's).
    view.apply(Action::Up);
    assert_eq!((names(&view), view.variable_errors().len()), (vec![], 1));
    // A search does not look into what cannot be read, and says so.
    search(&mut view, "slot");
    assert_eq!(view.search.hits.len(), 20);
    let message = view.message.as_deref().unwrap();
    assert!(message.ends_with("(n: next, N: previous)"), "the lists without the query were not read: {message}");
    search(&mut view, "info");
    assert_eq!(view.message.as_deref(), Some("no match for info; 1 list of variables could not be read"));
}

/// The idle threads' frames point at one shared object (version 2's
/// `objects` table), whose member's name is nowhere in the frames' text;
/// one thread's `slot` is spelled with an escape.
#[test]
fn a_search_finds_names_the_text_of_the_frames_does_not_show() {
    let mut snapshot = snapshot();
    let shared = Arc::new(Variable {
        name: "*state".into(),
        kind: Kind::Tuple,
        type_name: "struct state".into(),
        members: vec![int("waiters", 2)],
        location: ValueLocation::Memory,
        ..Variable::default()
    });
    for t in snapshot.threads.iter_mut().filter(|t| t.tid >= 100) {
        t.frames[0].parameters = vec![Variable {
            name: "state".into(),
            kind: Kind::Reference,
            value: Value::UInt(0x2000),
            target: Some(shared.clone()),
            ..Variable::default()
        }];
    }
    let text = changed(&snapshot, |json| {
        assert_eq!(json["objects"].as_array().map(Vec::len), Some(1), "the target is shared");
        assert!(!json["threads"].to_string().contains("waiters"), "{json}");
    });
    let escaped = text.replacen(r#""name":"slot""#, r#""name":"sl\u006ft""#, 1);
    assert_ne!(escaped, text);
    let snap = read(escaped);
    let mut view = View::new(&snap);
    search(&mut view, "WAIT");
    assert_eq!(view.search.hits.len(), 20, "through the shared object: {:?}", view.search.hits);
    assert_eq!(names(&view), ["state", "  *state", "    waiters"]);
    assert_eq!(view.var_rows[view.var_sel].value, "2");
    search(&mut view, "slot");
    assert_eq!(view.search.hits.len(), 20, "the escaped name too");
    // The object's own name is a pointer's target's: no match.
    search(&mut view, "*state");
    assert!(view.search.hits.is_empty());
}
