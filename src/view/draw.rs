//! Drawing the viewer's state: a header line (process and fault), the
//! threads and frames panes side by side, below them the variables, the
//! info or the source pane, and a status line (keys, search, messages). Drawing reads the state and
//! only keeps each pane's scroll offset, so that the selection stays in
//! view; only the rows on screen are built.
//!
//! Everything from the snapshot goes through [`show::escaped`], as in
//! `show`: a name cannot draw an escape sequence or a line of its own.
//! The selected row is marked `> ` as well as highlighted, so it reads the
//! same without colour (`-m`, `NO_COLOR`) and in a text capture.

use std::path::Path;

use ratatui::Frame as Screen;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::info::{self, InfoLine};
use super::keys::HELP;
use super::state::{Bottom, Mode, Pane, Prompt, Section, SourceLines, ThreadRow, View, notes};
use crate::show::{self, FRAME_FAULT, frame_marks, frame_place};
use crate::snapshot::{AnnotationLevel, Frame, Snapshot, Thread};

/// Colours, or none: every style the viewer uses.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }

    fn fault(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    fn mark(self) -> Style {
        self.fg(Color::Cyan)
    }

    fn function(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    fn level(self, level: AnnotationLevel) -> Style {
        match level {
            AnnotationLevel::Critical => self.fault(),
            AnnotationLevel::Warning => self.fg(Color::Yellow),
            AnnotationLevel::Comment | AnnotationLevel::Json => self.fg(Color::Cyan),
        }
    }
}

/// Draws the whole screen.
pub fn draw(screen: &mut Screen, view: &mut View, theme: Theme) {
    let answers = answer_lines(view, theme);
    let height = 1 + answers.len() as u16;
    let [header, body, status] =
        Layout::vertical([Constraint::Length(height), Constraint::Min(4), Constraint::Length(1)]).areas(screen.area());
    let [top, bottom] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    let [threads, frames] = Layout::horizontal([Constraint::Percentage(35), Constraint::Percentage(65)]).areas(top);
    view.page = usize::from(bottom.height.saturating_sub(2)).max(1);
    view.areas = [threads, frames, bottom];

    let header_lines: Vec<Line> = std::iter::once(header_line(view, theme)).chain(answers).collect();
    screen.render_widget(Paragraph::new(header_lines), header);
    draw_threads(screen, threads, view, theme);
    draw_frames(screen, frames, view, theme);
    match view.bottom {
        Bottom::Variables => draw_variables(screen, bottom, view, theme),
        Bottom::Info => draw_info(screen, bottom, view, theme),
        Bottom::Source => draw_source(screen, bottom, view, theme),
    }
    screen.render_widget(Paragraph::new(status_line(view, theme)), status);
    if view.mode == Mode::Help {
        draw_help(screen, theme);
    }
}

fn header_line(view: &View, theme: Theme) -> Line<'static> {
    let s = view.snap;
    let p = &s.process;
    let mut spans =
        vec![Span::raw(show::escaped(&format!("process {} ({}) ", p.pid, s.application.as_deref().unwrap_or("?"))))];
    match info::fault_text(s) {
        Some(what) => spans.push(Span::styled(show::escaped(&what), theme.fault())),
        None => spans.push(Span::raw(format!("{}, no fault", p.state))),
    }
    Line::from(spans)
}

/// Answers shown under the header at most: the rest are in the info pane.
const MAX_ANSWER_LINES: usize = 3;

/// The snapshot's answers ([`show::answers`]: classifiers, the analysis
/// modules' one-line findings), first on the screen as in `show`, in the
/// colour of their level.
fn answer_lines(view: &View, theme: Theme) -> Vec<Line<'static>> {
    let answers = show::answers(view.snap);
    let shown = if answers.len() > MAX_ANSWER_LINES { MAX_ANSWER_LINES - 1 } else { answers.len() };
    let mut lines: Vec<Line> = answers
        .iter()
        .take(shown)
        .map(|(level, text)| Line::styled(show::escaped(text), theme.level(*level)))
        .collect();
    if shown < answers.len() {
        lines.push(Line::styled(format!("({} more in the info pane: i)", answers.len() - shown), theme.dim()));
    }
    lines
}

fn status_line(view: &View, theme: Theme) -> Line<'static> {
    match (&view.mode, &view.message) {
        (Mode::Typing(Prompt::Search, text), _) => Line::from(format!("/{}_", show::escaped(text))),
        (Mode::Typing(Prompt::Filter, text), _) => {
            Line::from(format!("filter threads: {}_  (Enter: keep, Esc: all)", show::escaped(text)))
        }
        (_, Some(message)) => Line::from(show::escaped(message)),
        _ => Line::styled("?: keys  Tab: pane  Enter: open  /: search  f: filter  g: group  q: quit", theme.dim()),
    }
}

/// A pane: its border (bold when focused) and title; the inner area.
fn pane(screen: &mut Screen, area: Rect, title: String, focused: bool) -> Rect {
    let style = if focused { Style::new().add_modifier(Modifier::BOLD) } else { Style::new() };
    let block =
        Block::new().borders(Borders::ALL).border_style(style).title(Span::styled(show::escaped(&title), style));
    let inner = block.inner(area);
    screen.render_widget(block, area);
    inner
}

/// Draws the rows `offset..` of a list of `len` rows that fit in `area`,
/// moving the offset so that `selected` is on screen; `row(i)` builds
/// row `i`. The selected row is marked `> ` in a column of its own, which
/// stays when the rows scroll sideways from `column` (then marked `«`).
fn draw_rows<'a>(
    screen: &mut Screen,
    area: Rect,
    (len, selected, focused): (usize, usize, bool),
    (offset, column): (&mut usize, &mut usize),
    row: impl Fn(usize) -> Line<'a>,
) {
    let height = usize::from(area.height);
    if height == 0 {
        return;
    }
    *offset = (*offset).min(selected).max((selected + 1).saturating_sub(height)).min(len.saturating_sub(1));
    let highlight = Style::new().add_modifier(if focused { Modifier::REVERSED } else { Modifier::BOLD });
    let [marks, rows] = Layout::horizontal([Constraint::Length(2), Constraint::Min(0)]).areas(area);
    let shown = *offset..len.min(*offset + height);
    let mut lines: Vec<Line> = shown.clone().map(row).collect();
    bound_column(&lines, rows, column);
    let cut = if *column > 0 { "«" } else { " " };
    let mut mark_lines = Vec::new();
    for (i, line) in shown.zip(&mut lines) {
        let mut mark = Line::raw(format!("{}{cut}", if i == selected { ">" } else { " " }));
        if i == selected {
            mark = mark.patch_style(highlight);
            *line = std::mem::take(line).patch_style(highlight);
        }
        mark_lines.push(mark);
    }
    screen.render_widget(Paragraph::new(mark_lines), marks);
    render_from(screen, rows, lines, *column);
}

/// Bounds `column`, the first column shown of `lines` in `area`, so that
/// the widest line's end is in view.
fn bound_column(lines: &[Line], area: Rect, column: &mut usize) {
    let widest = lines.iter().map(Line::width).max().unwrap_or(0);
    *column = (*column).min(widest.saturating_sub(usize::from(area.width)));
}

/// Draws `lines` in `area` from their column `column`.
fn render_from(screen: &mut Screen, area: Rect, lines: Vec<Line>, column: usize) {
    let x = u16::try_from(column).unwrap_or(u16::MAX);
    screen.render_widget(Paragraph::new(lines).scroll((0, x)), area);
}

fn draw_threads(screen: &mut Screen, area: Rect, view: &mut View, theme: Theme) {
    let snap = view.snap;
    let stacks = view.groups.iter().filter(|g| !g.is_empty()).count();
    // Filtered: `threads "idle" (20/23, 1 stack)`, the filter in view.
    let (filter, count) = match view.filter.as_str() {
        "" => (String::new(), snap.threads.len().to_string()),
        filter => (
            format!(" \"{filter}\""),
            format!("{}/{}", view.groups.iter().map(Vec::len).sum::<usize>(), snap.threads.len()),
        ),
    };
    let title = match view.grouped {
        true => format!("threads{filter} ({count}, {stacks} stack{})", if stacks == 1 { "" } else { "s" }),
        false => format!("threads{filter} ({count})"),
    };
    let inner = pane(screen, area, title, view.focus == Pane::Threads);
    let rows = &view.thread_rows;
    let groups = &view.groups;
    let sel = (rows.len(), view.thread_sel, view.focus == Pane::Threads);
    let at = (&mut view.offsets[0], &mut view.columns[0]);
    draw_rows(screen, inner, sel, at, |i| match rows[i] {
        ThreadRow::Thread { thread, member } => thread_line(&snap.threads[thread], member, theme),
        ThreadRow::Group { group, open } => {
            let members = &groups[group];
            let first = &snap.threads[members[0]];
            let stack: Vec<&str> = summary(snap, first).map(|f| f.function.as_deref().unwrap_or("??")).collect();
            Line::from(vec![
                Span::styled(if open { "▾ " } else { "▸ " }, theme.mark()),
                Span::styled(format!("{} threads: ", members.len()), Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(show::escaped(&stack.join(" <- "))),
            ])
        }
    });
}

/// The frames that tell a stack from others: from the first frame of the
/// executable on (`idle_worker <- start_thread <- clone3`, not the C
/// library's futex wait above it), or all of them.
fn summary<'t, V>(snap: &Snapshot<V>, t: &'t Thread<V>) -> impl Iterator<Item = &'t Frame<V>> + use<'t, V> {
    let exe = snap.process.exe.as_deref().and_then(|e| Path::new(e).file_name()).and_then(|n| n.to_str());
    let first = t.frames.iter().position(|f| f.module.is_some() && f.module.as_deref() == exe).unwrap_or(0);
    t.frames[first..].iter()
}

/// `! 10061 crash running recurse`: the faulted thread marked.
fn thread_line<V>(t: &Thread<V>, member: bool, theme: Theme) -> Line<'static> {
    let indent = if member { "  " } else { "" };
    let (mark, mark_style) = if t.faulted { ("!", theme.fault()) } else { (" ", Style::new()) };
    let top = match t.frames.first() {
        Some(f) => f.function.as_deref().unwrap_or("??").to_string(),
        None => t.unwind_stop.as_ref().map_or("(no frames)".into(), |s| format!("({s})")),
    };
    Line::from(vec![
        Span::raw(indent),
        Span::styled(mark, mark_style),
        Span::raw(show::escaped(&format!("{} {} {} ", t.tid, t.name, t.state))),
        Span::styled(show::escaped(&top), theme.function()),
    ])
}

fn draw_frames(screen: &mut Screen, area: Rect, view: &mut View, theme: Theme) {
    let thread = view.thread();
    let title = match thread {
        Some(t) => format!("frames of thread {} \"{}\"", t.tid, t.name),
        None => "frames".into(),
    };
    let inner = pane(screen, area, title, view.focus == Pane::Frames);
    let Some(t) = thread else { return };
    let sel = (t.frames.len(), view.frame_sel, view.focus == Pane::Frames);
    draw_rows(screen, inner, sel, (&mut view.offsets[1], &mut view.columns[1]), |i| frame_line(t, i, theme));
}

/// `#0   recurse (crash.c:22) [crash] <- fault`, as `show` prints a frame
/// without its pc and parameters (the variables pane has those), then
/// the frame's annotations.
fn frame_line<V>(t: &Thread<V>, i: usize, theme: Theme) -> Line<'static> {
    let f = &t.frames[i];
    let mut spans = vec![
        Span::styled(format!("#{:<3} ", f.index), theme.dim()),
        Span::styled(show::escaped(f.function.as_deref().unwrap_or("??")), theme.function()),
        Span::raw(show::escaped(&frame_place(f))),
    ];
    if let Some(m) = &f.module {
        spans.push(Span::styled(show::escaped(&format!(" [{m}]")), theme.dim()));
    }
    for mark in frame_marks(f) {
        let style = if mark == FRAME_FAULT { theme.fault() } else { theme.mark() };
        spans.push(Span::styled(format!(" {mark}"), style));
    }
    spans.push(Span::styled(show::trampoline_marker(t, i), theme.mark()));
    push_notes(&mut spans, &notes(&f.annotations), theme);
    Line::from(spans)
}

fn push_notes(spans: &mut Vec<Span<'static>>, notes: &[(AnnotationLevel, String)], theme: Theme) {
    for (level, text) in notes {
        let label = match level {
            AnnotationLevel::Critical => "critical",
            AnnotationLevel::Warning => "warning",
            AnnotationLevel::Comment => "comment",
            AnnotationLevel::Json => "json",
        };
        spans.push(Span::styled(show::escaped(&format!("  [{label}: {text}]")), theme.level(*level)));
    }
}

fn draw_variables(screen: &mut Screen, area: Rect, view: &mut View, theme: Theme) {
    let title = match view.frame() {
        Some(f) => format!("variables of #{} {}", f.index, f.function.as_deref().unwrap_or("??")),
        None => "variables".into(),
    };
    let mut inner = pane(screen, area, title, view.focus == Pane::Variables);
    // What could not be read, above what could, cut into lines as wide
    // as the pane.
    let width = usize::from(inner.width).max(1);
    let errors: Vec<Line> = view
        .variable_errors()
        .iter()
        .flat_map(|e| {
            let chars: Vec<char> = show::escaped(e).chars().collect();
            let lines: Vec<String> = chars.chunks(width).map(|part| part.iter().collect()).collect();
            lines.into_iter().map(|part| Line::styled(part, theme.fault()))
        })
        .collect();
    if !errors.is_empty() {
        let height = u16::try_from(errors.len()).unwrap_or(u16::MAX);
        let [said, rest] = Layout::vertical([Constraint::Length(height), Constraint::Min(0)]).areas(inner);
        screen.render_widget(Paragraph::new(errors), said);
        inner = rest;
    }
    let rows = &view.var_rows;
    let sel = (rows.len(), view.var_sel, view.focus == Pane::Variables);
    draw_rows(screen, inner, sel, (&mut view.offsets[2], &mut view.columns[2]), |i| {
        let r = &rows[i];
        let tree = match (r.expandable, r.open) {
            (true, true) => "▾ ",
            (true, false) => "▸ ",
            _ => "  ",
        };
        let section = if r.path.len() == 1 && r.section == Section::Tls { "tls " } else { "" };
        let value_style = if r.missing { theme.dim() } else { Style::new() };
        let mut spans = vec![
            Span::raw("  ".repeat(r.path.len() - 1)),
            Span::styled(tree, theme.mark()),
            Span::styled(section, theme.dim()),
            Span::raw(show::escaped(&format!("{} = ", r.name))),
            Span::styled(show::escaped(&r.value), value_style),
        ];
        push_notes(&mut spans, &r.notes, theme);
        Line::from(spans)
    });
}

/// Lines `scroll..` of `len` in `area` (from `default` until the user
/// scrolls), `scroll` bounded so that the last line ends the pane, and
/// the first line shown kept in `offset` for the next scroll; from
/// `column` on.
fn scrolled<'a>(
    screen: &mut Screen,
    area: Rect,
    (len, default): (usize, usize),
    (scroll, offset, column): (&mut Option<usize>, &mut usize, &mut usize),
    line: impl Fn(usize) -> Line<'a>,
) {
    let height = usize::from(area.height);
    *offset = scroll.unwrap_or(default).min(len.saturating_sub(height));
    if scroll.is_some() {
        *scroll = Some(*offset);
    }
    let lines: Vec<Line> = (*offset..len.min(*offset + height)).map(line).collect();
    bound_column(&lines, area, column);
    render_from(screen, area, lines, *column);
}

fn draw_info(screen: &mut Screen, area: Rect, view: &mut View, theme: Theme) {
    let inner = pane(screen, area, "info (i: back to the variables)".into(), view.focus == Pane::Variables);
    let lines = info::lines(view.snap, view.thread());
    let at = (&mut view.scroll, &mut view.offsets[2], &mut view.columns[2]);
    scrolled(screen, inner, (lines.len(), 0), at, |i| match &lines[i] {
        InfoLine::Heading(h) => Line::styled(show::escaped(h), theme.mark().add_modifier(Modifier::BOLD)),
        InfoLine::Text(t) => Line::raw(format!("  {}", show::escaped(t))),
    });
}

/// The lines around the frame's, numbered, the frame's marked `> ` and
/// highlighted; or a note saying why there are none.
fn draw_source(screen: &mut Screen, area: Rect, view: &mut View, theme: Theme) {
    let focused = view.focus == Pane::Variables;
    let (mut scroll, mut offset, mut column) = (view.scroll, view.offsets[2], view.columns[2]);
    let frame = view.frame().map(|f| format!("#{} {}", f.index, f.function.as_deref().unwrap_or("??")));
    match view.source() {
        SourceLines::Lines { path, lines, line } => {
            let title = format!("source of {}: {}", frame.unwrap_or_default(), path.display());
            let inner = pane(screen, area, title, focused);
            let centred = line.saturating_sub(usize::from(inner.height).div_ceil(2));
            let width = lines.len().to_string().len();
            scrolled(screen, inner, (lines.len(), centred), (&mut scroll, &mut offset, &mut column), |i| {
                let number = format!("{:>width$} ", i + 1);
                let text = show::escaped(&lines[i]);
                let here = i + 1 == line;
                let row = Line::from(vec![
                    Span::raw(if here { "> " } else { "  " }),
                    Span::styled(number, theme.dim()),
                    Span::raw(text),
                ]);
                if here { row.patch_style(theme.fg(Color::Yellow).add_modifier(Modifier::REVERSED)) } else { row }
            });
        }
        SourceLines::Note(note) => {
            let title = format!("source of {}", frame.unwrap_or_else(|| "?".into()));
            let inner = pane(screen, area, title, focused);
            screen.render_widget(Paragraph::new(Line::styled(show::escaped(&note), theme.dim())), inner);
        }
    }
    view.offsets[2] = offset;
    view.columns[2] = column;
    view.scroll = scroll;
}

fn draw_help(screen: &mut Screen, theme: Theme) {
    let area = screen.area();
    // The longest line whole in 80 columns.
    let width = 76.min(area.width);
    let height = (HELP.len() as u16 + 2).min(area.height);
    let popup = Rect::new((area.width - width) / 2, (area.height - height) / 2, width, height);
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(keys, what)| Line::from(vec![Span::styled(format!("{keys:<22}"), theme.mark()), Span::raw(*what)]))
        .collect();
    screen.render_widget(Clear, popup);
    screen.render_widget(Paragraph::new(lines).block(Block::new().borders(Borders::ALL).title("keys")), popup);
}

#[cfg(test)]
#[path = "draw_tests.rs"]
mod tests;
