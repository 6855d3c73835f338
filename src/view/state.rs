//! What the viewer shows and where the cursor is, apart from drawing and
//! from the terminal: the rows of the threads pane (threads, or groups of
//! threads with identical stacks, those the thread filter lets through),
//! the selected thread and frame, the variables tree of that frame and
//! which of its nodes are open, the search, what the bottom pane shows
//! (the variables, the info pane or the frame's source) and how far each
//! pane is scrolled sideways. Every change goes through [`View::apply`],
//! so tests drive it with [`Action`]s and read the rows back.
//!
//! Work per key is bounded by what is on screen: the threads' rows are
//! rebuilt only when grouping or the filter changes, and the variables
//! tree only when the frame or an expansion changes. Only a search and a
//! change of the filter go through every thread shown: bench.py's
//! view-1000 times them on 1,001 threads. A search goes on between keys,
//! a step of threads at a time ([`search::Progress`]); a filter set
//! meanwhile keeps it, and its hits, to the threads then shown.
//!
//! The snapshot's variables stay JSON text ([`crate::snapshot::lazy`]):
//! the viewer holds the variables of the selected frame only, read when
//! the frame is selected and dropped when another is (a list that cannot
//! be read says why in the pane). A search reads the lists of the other
//! frames, only those whose text may hold a match, and drops each once
//! searched.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::layout::Rect;

use super::matching::contains_ignoring_case;
use super::search;
use super::source::{Source, Sources};
use crate::show::{c_value, member_name};
use crate::snapshot::lazy::{Deferred, LazySnapshot};
use crate::snapshot::{
    Annotation, AnnotationLevel, BASE_CLASS, Frame, Kind, Snapshot, Thread, Value, ValueLocation, Variable,
};
use crate::stacks;

/// More threads than this open grouped by identical stacks.
pub const GROUP_ABOVE: usize = 16;

/// The panes the cursor moves between, left to right. `Variables` is
/// the bottom pane, whatever [`Bottom`] it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Threads,
    Frames,
    Variables,
}

/// What the bottom pane shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bottom {
    Variables,
    /// Process, fault, registers, modules...: [`super::info`].
    Info,
    /// The lines around the selected frame's line.
    Source,
}

/// The source pane's content for the selected frame.
#[derive(Debug)]
pub enum SourceLines<'a> {
    /// The file's lines; `line` (1-based) is the frame's.
    Lines { path: &'a std::path::Path, lines: &'a [String], line: usize },
    /// Why there are no lines to show.
    Note(String),
}

const PANES: [Pane; 3] = [Pane::Threads, Pane::Frames, Pane::Variables];

/// What the user asked for; [`super::keys`] maps keys to these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    NextPane,
    PrevPane,
    /// Left: collapse, go to the parent, or to the pane on the left.
    Left,
    /// Right: expand, or go to the pane on the right.
    Right,
    /// Enter: open or close the selected group or variable.
    Toggle,
    ToggleGrouping,
    ToggleHelp,
    ToggleInfo,
    ToggleSource,
    /// Start typing a search or a thread filter.
    Prompt(Prompt),
    /// A character typed at the prompt.
    Type(char),
    /// Backspace at the prompt.
    Erase,
    /// Enter at the prompt: search, or keep the filter.
    Commit,
    /// Esc: leave the prompt; drop the filter.
    Cancel,
    NextHit,
    PrevHit,
    /// The mouse's wheel over a pane: its selection moves by that many
    /// rows, the focus stays where it is.
    Wheel(Pane, isize),
    /// Shift-Left/Right, `<` `>`: the focused pane's lines scroll sideways.
    ScrollLeft,
    ScrollRight,
    /// Ctrl-Z: the terminal's business ([`super::suspend`]), nothing of
    /// the state's.
    Suspend,
    Quit,
}

/// Columns a sideways scroll moves.
pub const SIDEWAYS: usize = 8;

/// What keys mean at the moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    /// Typing at a prompt: the text so far.
    Typing(Prompt, String),
}

/// What is typed at the status line's prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// `/`: function and variable names, in every thread shown.
    Search,
    /// `f`: the threads shown, by name or function, as it is typed.
    Filter,
}

/// A row of the threads pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadRow {
    /// A thread (`member`: shown under its open group).
    Thread { thread: usize, member: bool },
    /// Threads with identical stacks (an index into the groups).
    Group { group: usize, open: bool },
}

/// Which list a top-level variable of the pane comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Parameter,
    Local,
    Tls,
}

/// A row of the variables tree.
#[derive(Clone, Debug, PartialEq)]
pub struct VarRow {
    /// The top-level variable's position in the pane's list, then the
    /// child index at each level below.
    pub path: Vec<usize>,
    pub section: Section,
    pub name: String,
    /// The value in C syntax; for an open struct or array, its type.
    pub value: String,
    pub expandable: bool,
    pub open: bool,
    /// `<optimized out>` or `<unavailable>`: shown dimmed.
    pub missing: bool,
    pub notes: Vec<(AnnotationLevel, String)>,
}

/// A search hit: a function name or a variable name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub thread: usize,
    pub frame: Option<usize>,
    /// A variable of the pane: its [`VarRow::path`] (a member, element or
    /// pointer target is below a top-level variable).
    pub variable: Option<Vec<usize>>,
}

#[derive(Debug, Default)]
pub struct Search {
    pub query: String,
    pub hits: Vec<Hit>,
    pub current: usize,
    /// Lists of variables the search could not read (and so not search).
    pub unread: usize,
    /// The threads still to search: a search of many goes on between keys.
    progress: Option<search::Progress>,
}

/// Threads searched at a time, between which a search may stop for keys.
const SEARCH_STEP: usize = 128;

/// How long a search goes on at a time before the viewer looks for keys
/// and draws (the first hit shown, `n` and `N` through those found).
const SEARCH_SLICE: Duration = Duration::from_millis(20);

/// The variables of the selected frame: the only ones the viewer holds.
#[derive(Default)]
struct Shown {
    /// The thread and frame they are of; None until read.
    of: Option<(usize, Option<usize>)>,
    variables: Vec<(Section, Variable)>,
    /// Why a list of them could not be read, a line each.
    errors: Vec<String>,
}

/// The viewer's state over one snapshot.
pub struct View<'s> {
    /// The threads and frames; their variables are text, read by `lazy`.
    pub snap: &'s Snapshot<Deferred<'s>>,
    lazy: &'s LazySnapshot<'s>,
    shown: Shown,
    /// Threads with identical stacks, the faulted thread's first.
    all_groups: Vec<Vec<usize>>,
    /// The groups' threads the filter lets through (an empty group is not
    /// shown); the same indices as `all_groups`.
    pub groups: Vec<Vec<usize>>,
    /// Threads shown are those whose name or a function contains this.
    pub filter: String,
    pub grouped: bool,
    open_groups: HashSet<usize>,
    pub thread_rows: Vec<ThreadRow>,
    pub focus: Pane,
    pub mode: Mode,
    /// Selected row of each pane.
    pub thread_sel: usize,
    pub frame_sel: usize,
    pub var_sel: usize,
    /// Open variables: (thread, frame, path).
    open_vars: HashSet<(usize, Option<usize>, Vec<usize>)>,
    pub var_rows: Vec<VarRow>,
    pub bottom: Bottom,
    /// The first line shown of the info or source pane, once the user
    /// scrolled it (None: the top of the info, the source's line centred).
    pub scroll: Option<usize>,
    pub sources: Sources,
    pub search: Search,
    /// How long a search goes on at a time ([`SEARCH_SLICE`]).
    pub search_slice: Duration,
    /// A line for the status bar (search results, errors).
    pub message: Option<String>,
    /// Rows a page key moves: the height of the panes, set when drawn.
    pub page: usize,
    /// The first row shown of each pane (threads, frames, variables),
    /// kept by drawing so that the selection stays in view.
    pub offsets: [usize; 3],
    /// The first column shown of each pane's lines: drawing bounds it by
    /// the widest line on screen.
    pub columns: [usize; 3],
    /// Where each pane was drawn, for the mouse.
    pub areas: [Rect; 3],
    pub quit: bool,
}

impl<'s> View<'s> {
    /// The viewer on open: the faulted thread (or the first) and its
    /// faulting frame selected, threads grouped when there are many.
    pub fn new(lazy: &'s LazySnapshot<'s>) -> Self {
        let snap = &lazy.snapshot;
        let mut view = View {
            snap,
            lazy,
            shown: Shown::default(),
            all_groups: stacks::group(&snap.threads),
            groups: Vec::new(),
            filter: String::new(),
            grouped: snap.threads.len() > GROUP_ABOVE,
            open_groups: HashSet::new(),
            thread_rows: Vec::new(),
            focus: Pane::Frames,
            mode: Mode::Normal,
            thread_sel: 0,
            frame_sel: 0,
            var_sel: 0,
            open_vars: HashSet::new(),
            var_rows: Vec::new(),
            bottom: Bottom::Variables,
            scroll: None,
            sources: Sources::new(snap.process.cwd.as_ref().map(PathBuf::from), Vec::new()),
            search: Search::default(),
            search_slice: SEARCH_SLICE,
            message: None,
            page: 10,
            offsets: [0; 3],
            columns: [0; 3],
            areas: [Rect::default(); 3],
            quit: false,
        };
        view.set_filter(String::new());
        view
    }

    /// The thread the threads pane's selection stands for (a group's
    /// first thread).
    pub fn thread_index(&self) -> Option<usize> {
        match *self.thread_rows.get(self.thread_sel)? {
            ThreadRow::Thread { thread, .. } => Some(thread),
            ThreadRow::Group { group, .. } => Some(self.groups[group][0]),
        }
    }

    pub fn thread(&self) -> Option<&'s Thread<Deferred<'s>>> {
        self.thread_index().map(|i| &self.snap.threads[i])
    }

    pub fn frame(&self) -> Option<&'s Frame<Deferred<'s>>> {
        self.thread()?.frames.get(self.frame_sel)
    }

    /// Why lists of the selected frame's variables could not be read.
    pub fn variable_errors(&self) -> &[String] {
        &self.shown.errors
    }

    /// Reads the variables of the selected frame and thread, unless they
    /// are the ones held; those of another frame are dropped.
    fn read_shown(&mut self) {
        let of = self.thread_index().map(|t| (t, self.frame_key()));
        if self.shown.of == of {
            return;
        }
        self.shown = Shown::default();
        let mut errors = Vec::new();
        let variables = match self.thread() {
            Some(t) => {
                let lists = self.frame().map(frame_lists).into_iter().flatten().chain([(Section::Tls, &t.tls)]);
                read_lists(self.lazy, lists, &mut errors)
            }
            None => Vec::new(),
        };
        self.shown = Shown { of, variables, errors };
    }

    /// Where source files not found as recorded are looked for.
    pub fn set_source_path(&mut self, roots: Vec<PathBuf>) {
        self.sources = Sources::new(self.snap.process.cwd.as_ref().map(PathBuf::from), roots);
    }

    /// The selected frame's source file and line, read on first use.
    pub fn source(&mut self) -> SourceLines<'_> {
        let Some(f) = self.frame() else { return SourceLines::Note("no frame selected".into()) };
        let (Some(file), Some(line)) = (f.file.as_deref(), f.line) else {
            return SourceLines::Note("this frame has no source file and line".into());
        };
        match self.sources.get(file) {
            Source::Read { lines, .. } if line as usize > lines.len() => SourceLines::Note(format!(
                "{file} has {} lines, not line {line}: not the file that was built?",
                lines.len()
            )),
            Source::Read { path, lines } => SourceLines::Lines { path, lines, line: line as usize },
            Source::Unreadable(note) => SourceLines::Note(note.clone()),
        }
    }

    pub fn apply(&mut self, action: Action) {
        match (&mut self.mode, action) {
            (_, Action::Quit) => self.quit = true,
            (Mode::Help, _) => self.mode = Mode::Normal,
            (Mode::Typing(prompt, text), action) => {
                let prompt = *prompt;
                match action {
                    Action::Type(c) => text.push(c),
                    Action::Erase => {
                        text.pop();
                    }
                    Action::Commit if prompt == Prompt::Search => {
                        let query = std::mem::take(text);
                        self.mode = Mode::Normal;
                        self.search_for(query);
                        return;
                    }
                    Action::Cancel if prompt == Prompt::Filter => text.clear(),
                    _ => {}
                }
                let Mode::Typing(_, text) = &self.mode else { return };
                if prompt == Prompt::Filter && *text != self.filter {
                    self.set_filter(text.clone());
                }
                if matches!(action, Action::Commit | Action::Cancel) {
                    self.mode = Mode::Normal;
                }
            }
            (Mode::Normal, action) => self.apply_normal(action),
        }
    }

    fn apply_normal(&mut self, action: Action) {
        self.message = None;
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.page.max(1) as isize)),
            Action::PageDown => self.move_by(self.page.max(1) as isize),
            Action::Home => self.move_by(isize::MIN / 2),
            Action::End => self.move_by(isize::MAX / 2),
            Action::NextPane => self.focus = PANES[(self.pane_index() + 1) % PANES.len()],
            Action::PrevPane => self.focus = PANES[(self.pane_index() + PANES.len() - 1) % PANES.len()],
            Action::Left => self.left(),
            Action::Right => self.right(),
            Action::Toggle => self.toggle(),
            Action::ToggleGrouping => self.toggle_grouping(),
            Action::ToggleHelp => self.mode = Mode::Help,
            Action::ToggleInfo => {
                self.show_bottom(Bottom::Info);
                if self.bottom == Bottom::Info {
                    self.focus = Pane::Variables;
                }
            }
            Action::ToggleSource => self.show_bottom(Bottom::Source),
            Action::Prompt(Prompt::Search) => self.mode = Mode::Typing(Prompt::Search, String::new()),
            // The filter is edited where it is.
            Action::Prompt(Prompt::Filter) => self.mode = Mode::Typing(Prompt::Filter, self.filter.clone()),
            Action::Cancel => self.set_filter(String::new()),
            Action::NextHit => self.step_hit(1),
            Action::PrevHit => self.step_hit(-1),
            Action::Wheel(pane, rows) => {
                let focus = std::mem::replace(&mut self.focus, pane);
                self.move_by(rows);
                self.focus = focus;
            }
            Action::ScrollLeft => {
                let column = &mut self.columns[self.pane_index()];
                *column = column.saturating_sub(SIDEWAYS);
            }
            Action::ScrollRight => self.columns[self.pane_index()] += SIDEWAYS,
            Action::Type(_) | Action::Erase | Action::Commit | Action::Suspend | Action::Quit => {}
        }
    }

    /// Shows `what` in the bottom pane, or the variables if it shows it.
    fn show_bottom(&mut self, what: Bottom) {
        self.bottom = if self.bottom == what { Bottom::Variables } else { what };
        self.scroll = None;
    }

    fn pane_index(&self) -> usize {
        PANES.iter().position(|&p| p == self.focus).unwrap_or(0)
    }

    /// Moves the focused pane's selection by `delta` rows, within bounds.
    fn move_by(&mut self, delta: isize) {
        let clamp = |sel: usize, len: usize| sel.saturating_add_signed(delta).min(len.saturating_sub(1));
        match self.focus {
            Pane::Threads => self.select_thread_row(clamp(self.thread_sel, self.thread_rows.len())),
            Pane::Frames => {
                let len = self.thread().map_or(0, |t| t.frames.len());
                self.select_frame(clamp(self.frame_sel, len));
            }
            Pane::Variables if self.bottom == Bottom::Variables => {
                self.var_sel = clamp(self.var_sel, self.var_rows.len())
            }
            // Drawing keeps the line shown first in the offset, and bounds it.
            Pane::Variables => self.scroll = Some(self.scroll.unwrap_or(self.offsets[2]).saturating_add_signed(delta)),
        }
    }

    fn left(&mut self) {
        match self.focus {
            Pane::Variables if self.bottom != Bottom::Variables => self.focus = Pane::Frames,
            Pane::Variables => match self.var_rows.get(self.var_sel) {
                Some(row) if row.open => self.toggle(),
                Some(row) if row.path.len() > 1 => {
                    let parent = &row.path[..row.path.len() - 1];
                    self.var_sel = self.var_rows.iter().position(|r| r.path == parent).unwrap_or(self.var_sel);
                }
                _ => self.focus = Pane::Frames,
            },
            Pane::Threads => match self.thread_rows.get(self.thread_sel).copied() {
                Some(ThreadRow::Group { open: true, .. }) => self.toggle(),
                // A thread of an open group: close the group, on its row.
                Some(ThreadRow::Thread { thread, member: true }) => {
                    if let Some(group) = self.groups.iter().position(|g| g.contains(&thread)) {
                        self.open_groups.remove(&group);
                        self.rebuild_thread_rows();
                        let row = self.row_of_thread(thread, false).unwrap_or(0);
                        self.select_thread_row(row);
                    }
                }
                _ => {}
            },
            Pane::Frames => self.focus = Pane::Threads,
        }
    }

    fn right(&mut self) {
        match self.focus {
            Pane::Variables => {
                if self.var_rows.get(self.var_sel).is_some_and(|r| r.expandable && !r.open) {
                    self.toggle();
                }
            }
            Pane::Threads => match self.thread_rows.get(self.thread_sel) {
                Some(ThreadRow::Group { open: false, .. }) => self.toggle(),
                _ => self.focus = Pane::Frames,
            },
            Pane::Frames => self.focus = Pane::Variables,
        }
    }

    fn toggle(&mut self) {
        match self.focus {
            Pane::Threads => {
                if let Some(&ThreadRow::Group { group, open }) = self.thread_rows.get(self.thread_sel) {
                    if open {
                        self.open_groups.remove(&group);
                    } else {
                        self.open_groups.insert(group);
                    }
                    self.rebuild_thread_rows();
                }
            }
            Pane::Frames => self.focus = Pane::Variables,
            Pane::Variables if self.bottom != Bottom::Variables => {}
            Pane::Variables => {
                let Some(row) = self.var_rows.get(self.var_sel).filter(|r| r.expandable) else { return };
                let key = (self.thread_index().unwrap_or(0), self.frame_key(), row.path.clone());
                if !self.open_vars.remove(&key) {
                    self.open_vars.insert(key);
                }
                self.rebuild_var_rows();
            }
        }
    }

    fn toggle_grouping(&mut self) {
        let thread = self.thread_index();
        self.grouped = !self.grouped;
        self.rebuild_thread_rows();
        if let Some(t) = thread {
            self.thread_sel = self.row_of_thread(t, false).unwrap_or(0);
        }
    }

    /// The key of the selected frame for open variables: TLS has no frame.
    fn frame_key(&self) -> Option<usize> {
        self.frame().map(|_| self.frame_sel)
    }

    fn rebuild_thread_rows(&mut self) {
        let mut rows = Vec::new();
        for (g, members) in self.groups.iter().enumerate() {
            match (self.grouped, &members[..]) {
                (_, []) => {}
                (true, [_, _, ..]) => {
                    let open = self.open_groups.contains(&g);
                    rows.push(ThreadRow::Group { group: g, open });
                    if open {
                        rows.extend(members.iter().map(|&thread| ThreadRow::Thread { thread, member: true }));
                    }
                }
                _ => rows.extend(members.iter().map(|&thread| ThreadRow::Thread { thread, member: false })),
            }
        }
        if !self.grouped {
            // By thread id, the faulted thread first (the groups list it first).
            let tid = |r: &ThreadRow| match *r {
                ThreadRow::Thread { thread, .. } => {
                    let t = &self.snap.threads[thread];
                    (!t.faulted, t.tid)
                }
                ThreadRow::Group { .. } => (true, i32::MAX),
            };
            rows.sort_by_key(tid);
        }
        self.thread_rows = rows;
        self.thread_sel = self.thread_sel.min(self.thread_rows.len().saturating_sub(1));
    }

    /// Shows the threads whose name or a function contains `filter`
    /// (ignoring case; all of them for ""), the selected thread kept
    /// selected if it is shown.
    fn set_filter(&mut self, filter: String) {
        let selected = self.thread_index();
        let needle = filter.to_lowercase();
        let threads = &self.snap.threads;
        let shown = |&t: &usize| needle.is_empty() || thread_matches(&threads[t], &needle);
        self.groups = self.all_groups.iter().map(|g| g.iter().copied().filter(shown).collect()).collect();
        self.filter = filter;
        self.search.keep_to(&self.groups.iter().flatten().copied().collect());
        if !self.search.query.is_empty() {
            self.search.message_on(&mut self.message);
        }
        self.rebuild_thread_rows();
        let row = selected.and_then(|t| self.row_of_thread(t, false));
        self.thread_sel = row.unwrap_or(0);
        if row.is_none() || self.thread_index() != selected {
            self.open_thread();
        }
    }

    /// The row showing thread `t`, opening its group if `open` asks.
    fn row_of_thread(&mut self, t: usize, open: bool) -> Option<usize> {
        if let Some(i) = self
            .thread_rows
            .iter()
            .position(|r| *r == ThreadRow::Thread { thread: t, member: true })
            .or_else(|| self.thread_rows.iter().position(|r| *r == ThreadRow::Thread { thread: t, member: false }))
        {
            return Some(i);
        }
        let group = self.groups.iter().position(|g| g.contains(&t))?;
        if open {
            self.open_groups.insert(group);
            self.rebuild_thread_rows();
            return self.row_of_thread(t, false);
        }
        self.thread_rows.iter().position(|r| matches!(*r, ThreadRow::Group { group: g, .. } if g == group))
    }

    /// Selects a row of the threads pane, and that thread's faulting frame
    /// (or its first).
    fn select_thread_row(&mut self, row: usize) {
        let previous = self.thread_index();
        self.thread_sel = row;
        if self.thread_index() != previous || self.var_rows.is_empty() {
            self.open_thread();
        }
    }

    /// Selects the selected thread's faulting frame (or its first).
    fn open_thread(&mut self) {
        let faulted = self.thread().and_then(|t| t.frames.iter().position(|f| f.faulted));
        self.var_sel = 0;
        self.select_frame(faulted.unwrap_or(0));
    }

    fn select_frame(&mut self, frame: usize) {
        if frame != self.frame_sel {
            self.var_sel = 0;
        }
        // The source of another frame opens on its line.
        if self.bottom == Bottom::Source {
            self.scroll = None;
        }
        self.frame_sel = frame;
        self.rebuild_var_rows();
        self.var_sel = self.var_sel.min(self.var_rows.len().saturating_sub(1));
    }

    /// The variables tree of the selected frame: each top-level variable,
    /// and below each open one its children.
    fn rebuild_var_rows(&mut self) {
        self.read_shown();
        let thread = self.thread_index().unwrap_or(0);
        let frame = self.frame_key();
        let mut rows = Vec::new();
        for (i, (section, v)) in self.shown.variables.iter().enumerate() {
            let mut path = vec![i];
            self.push_var_rows(&mut rows, (thread, frame), *section, &mut path, v.name.clone(), v);
        }
        self.var_rows = rows;
    }

    fn push_var_rows(
        &self,
        rows: &mut Vec<VarRow>,
        at: (usize, Option<usize>),
        section: Section,
        path: &mut Vec<usize>,
        name: String,
        v: &Variable,
    ) {
        let kids = children(v, &name);
        let open = !kids.is_empty() && self.open_vars.contains(&(at.0, at.1, path.clone()));
        let aggregate = matches!(v.kind, Kind::Tuple | Kind::Array);
        let value = if open && aggregate { v.type_name.to_string() } else { c_value(v) };
        let missing = matches!(v.location, ValueLocation::OptimizedOut | ValueLocation::Unavailable);
        let notes = notes(&v.annotations);
        rows.push(VarRow {
            path: path.clone(),
            section,
            name,
            value,
            expandable: !kids.is_empty(),
            open,
            missing,
            notes,
        });
        if open {
            for (k, (child_name, child)) in kids.into_iter().enumerate() {
                path.push(k);
                self.push_var_rows(rows, at, section, path, child_name, child);
                path.pop();
            }
        }
    }

    /// Finds the functions and variables (and their members, at any
    /// depth) whose name contains the query (ignoring case) in every
    /// thread shown ([`search`]), and selects the first hit.
    fn search_for(&mut self, query: String) {
        self.search = Search { query: query.clone(), ..Search::default() };
        if query.is_empty() {
            return;
        }
        let threads: Vec<usize> = self.groups.iter().flatten().copied().collect();
        self.search.progress = Some(search::Progress::new(self.lazy, threads, query.to_lowercase()));
        self.search_on();
    }

    /// Whether a search is under way.
    pub fn searching(&self) -> bool {
        self.search.progress.is_some()
    }

    /// Goes on with the search under way for the search slice at most (a
    /// step at least), showing its first hit as soon as there is one.
    pub fn search_on(&mut self) {
        let budget = self.search_slice;
        let start = Instant::now();
        while let Some(progress) = self.search.progress.as_mut() {
            let (hits, unread) = progress.step(self.lazy, SEARCH_STEP);
            if progress.done() {
                self.search.progress = None;
            }
            let first = self.search.hits.is_empty() && !hits.is_empty();
            self.search.hits.extend(hits);
            self.search.unread += unread;
            if first {
                self.show_hit();
            }
            if start.elapsed() >= budget {
                break;
            }
        }
        self.search.message_on(&mut self.message);
    }

    fn step_hit(&mut self, delta: isize) {
        let n = self.search.hits.len();
        if n == 0 {
            match self.search.query.as_str() {
                "" => self.message = Some("no search: / searches function and variable names".into()),
                _ => self.search.message_on(&mut self.message),
            }
            return;
        }
        self.search.current = (self.search.current as isize + delta).rem_euclid(n as isize) as usize;
        self.show_hit();
    }

    /// Selects the current hit's thread, frame and variable.
    fn show_hit(&mut self) {
        let Some(hit) = self.search.hits.get(self.search.current).cloned() else {
            self.search.message_on(&mut self.message);
            return;
        };
        if let Some(row) = self.row_of_thread(hit.thread, true) {
            self.select_thread_row(row);
        }
        self.select_frame(hit.frame.unwrap_or(0));
        self.focus = Pane::Frames;
        if let Some(path) = hit.variable {
            // Open what holds the variable, so that its row is there.
            let (thread, frame) = (self.thread_index().unwrap_or(0), self.frame_key());
            for depth in 1..path.len() {
                self.open_vars.insert((thread, frame, path[..depth].to_vec()));
            }
            self.rebuild_var_rows();
            self.bottom = Bottom::Variables;
            self.var_sel = self.var_rows.iter().position(|r| r.path == path).unwrap_or(0);
            self.focus = Pane::Variables;
        }
        self.search.message_on(&mut self.message);
    }
}

/// The annotations of a thread, frame or variable as the viewer shows them
/// (a JSON annotation as its JSON text), less ptsnap's base-class mark,
/// which the member's name already shows (`<Base>`).
pub fn notes(annotations: &[Annotation]) -> Vec<(AnnotationLevel, String)> {
    annotations
        .iter()
        .filter(|a| !(a.source.as_deref() == Some("ptsnap") && a.text.as_deref() == Some(BASE_CLASS)))
        .map(|a| {
            let text = match (&a.text, &a.json) {
                (Some(t), _) => t.clone(),
                (None, Some(j)) => j.to_string(),
                (None, None) => String::new(),
            };
            (a.level, text)
        })
        .collect()
}

impl Search {
    /// Keeps the search (its hits, and the threads it has still to go
    /// through) to the threads `shown`: a filter set while it goes on, or
    /// after, leaves no hit in a thread the threads pane does not show.
    fn keep_to(&mut self, shown: &HashSet<usize>) {
        let current = self.hits.get(self.current).map(|h| h.thread);
        self.hits.retain(|h| shown.contains(&h.thread));
        self.current = current.and_then(|t| self.hits.iter().position(|h| h.thread == t)).unwrap_or(0);
        if let Some(progress) = self.progress.as_mut() {
            progress.retain(|t| shown.contains(&t));
        }
    }

    /// The status line's text for the search: the hit shown of how many,
    /// and whether it goes on.
    fn message_on(&self, message: &mut Option<String>) {
        let going_on = if self.progress.is_some() { ", searching..." } else { "" };
        *message = Some(match self.hits.len() {
            0 if self.progress.is_some() => format!("searching for {}...", self.query),
            0 => format!("no match for {}{}", self.query, self.unread_note()),
            n => format!(
                "match {}/{n} for {} (n: next, N: previous){}{going_on}",
                self.current + 1,
                self.query,
                self.unread_note()
            ),
        });
    }

    /// What the search could not look into, for the status line.
    fn unread_note(&self) -> String {
        match self.unread {
            0 => String::new(),
            n => format!("; {n} list{} of variables could not be read", if n == 1 { "" } else { "s" }),
        }
    }
}

/// A frame's lists of variables, in the order the pane shows them.
pub(super) fn frame_lists<'f, 's>(f: &'f Frame<Deferred<'s>>) -> [(Section, &'f Deferred<'s>); 2] {
    [(Section::Parameter, &f.parameters), (Section::Local, &f.locals)]
}

/// The top-level variables of `lists` as the pane lists them (parameters
/// and locals without a name left out), each list read from the
/// snapshot's text; why a list could not be read goes into `errors`.
pub(super) fn read_lists<'f, 's: 'f>(
    lazy: &LazySnapshot<'s>,
    lists: impl IntoIterator<Item = (Section, &'f Deferred<'s>)>,
    errors: &mut Vec<String>,
) -> Vec<(Section, Variable)> {
    let mut variables = Vec::new();
    for (section, list) in lists {
        match lazy.variables(list) {
            Ok(read) => variables.extend(
                read.into_iter().filter(|v| section == Section::Tls || !v.name.is_empty()).map(|v| (section, v)),
            ),
            Err(e) => errors.push(format!("{} cannot be read: {e}", section.lists())),
        }
    }
    variables
}

impl Section {
    /// The list a section's variables come from, in a sentence.
    fn lists(self) -> &'static str {
        match self {
            Section::Parameter => "the parameters",
            Section::Local => "the locals",
            Section::Tls => "the thread's TLS variables",
        }
    }
}

/// A variable's children in the tree, named: a struct's members, an
/// array's elements (`[i]`), a pointer's target (`*name`).
fn children<'v>(v: &'v Variable, name: &str) -> Vec<(String, &'v Variable)> {
    (0..)
        .map_while(|k| child(v, k))
        .enumerate()
        .map(|(k, (kind, c))| match kind {
            Child::Member => (member_name(c), c),
            Child::Element => (format!("[{k}]"), c),
            Child::Target => (format!("*{name}"), c),
        })
        .collect()
}

/// What a child of a variable is to it.
pub(super) enum Child {
    Member,
    Element,
    Target,
}

/// The `k`th child of `v` in the tree, if it has one.
pub(super) fn child(v: &Variable, k: usize) -> Option<(Child, &Variable)> {
    match v.kind {
        Kind::Tuple => v.members.get(k).map(|m| (Child::Member, m)),
        Kind::Array => v.elements.get(k).map(|e| (Child::Element, e)),
        // A string's target is the string the value already shows.
        Kind::Reference if v.value != Value::Null && is_string_pointer(v) => None,
        Kind::Reference | Kind::Fn if k == 0 => v.target.as_deref().map(|t| (Child::Target, t)),
        _ => None,
    }
}

/// Whether thread `t`'s name or one of its functions contains `needle`
/// (lower case), ignoring case.
fn thread_matches<V>(t: &Thread<V>, needle: &str) -> bool {
    let has = |s: &str| contains_ignoring_case(s, needle);
    has(&t.name) || t.frames.iter().any(|f| f.function.as_deref().is_some_and(has))
}

/// A `char *` whose text the value shows already.
fn is_string_pointer(v: &Variable) -> bool {
    v.symbol.is_some() && matches!(&*v.base_type, "char" | "signed char" | "unsigned char" | "char8_t")
}

#[cfg(test)]
#[path = "state_tests.rs"]
pub(super) mod tests;
