//! What the viewer draws, read from ratatui's `TestBackend` buffer.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use super::*;
use crate::view::state::{Action, Pane, View};

use crate::view::state::tests::lazy;

fn snapshot() -> Snapshot {
    crate::view::state::tests::snapshot()
}

fn render(view: &mut View, theme: Theme, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|screen| draw(screen, view, theme)).unwrap();
    terminal.backend().buffer().clone()
}

fn lines(buffer: &Buffer) -> Vec<String> {
    let width = usize::from(buffer.area.width);
    buffer.content.chunks(width).map(|row| row.iter().map(|c| c.symbol()).collect()).collect()
}

fn line_with<'a>(lines: &'a [String], text: &str) -> &'a str {
    lines.iter().find(|l| l.contains(text)).unwrap_or_else(|| panic!("no line with {text:?}:\n{}", lines.join("\n")))
}

const COLOR: Theme = Theme { color: true };

#[test]
fn in_80_by_24_the_faulting_frame_is_selected_and_its_variables_shown() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(line_with(&screen, "#1   recurse").contains("> #1   recurse <- fault"), "{screen:#?}");
    assert!(line_with(&screen, "memcpy").contains("  #0   memcpy"));
    assert!(line_with(&screen, "5 crash").contains("> !5 crash"), "the faulted thread, marked and selected");
    assert!(line_with(&screen, "20 threads").contains("▸ 20 threads: pause <- i"));
    assert!(line_with(&screen, "variables of #1 recurse").starts_with('┌'));
    assert!(line_with(&screen, "info = ").contains("> ▸ info = 0x1000"));
    assert!(line_with(&screen, "gone").contains("gone = <optimized out>"));
    assert!(line_with(&screen, "errno").contains("tls errno = 0"));
    assert_eq!(
        screen.last().unwrap().trim_end(),
        "?: keys  Tab: pane  Enter: open  /: search  f: filter  g: group  q: quit"
    );
}

#[test]
fn open_variables_and_groups_draw_as_trees() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    view.apply(Action::NextPane);
    view.apply(Action::Toggle);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(line_with(&screen, "*info").contains("│    ▸ *info = {depth = 3, count = 7}"), "{screen:#?}");
    view.apply(Action::NextPane);
    view.apply(Action::Down);
    view.apply(Action::Toggle);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(line_with(&screen, "20 threads").contains("▾ 20 threads"));
    assert!(screen.iter().any(|l| l.contains("   100 worker  pause")), "{screen:#?}");
}

#[test]
fn the_selection_scrolls_into_view() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    view.apply(Action::ToggleGrouping);
    view.focus = Pane::Threads;
    view.apply(Action::End);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(line_with(&screen, "119 worker").contains("> "), "{screen:#?}");
    assert!(!screen.iter().any(|l| l.contains("!5 crash")), "scrolled past the first rows");
}

#[test]
fn search_prompt_help_and_messages_use_the_status_line() {
    let snap = lazy(&snapshot());
    let mut view = View::new(&snap);
    view.apply(Action::Prompt(Prompt::Search));
    view.apply(Action::Type('a'));
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert_eq!(screen.last().unwrap().trim_end(), "/a_");
    view.apply(Action::Type('r'));
    view.apply(Action::Commit);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(screen.last().unwrap().starts_with("match 1/1 for ar"));
    assert!(line_with(&screen, "arr = ").contains("> ▸ arr = {1, 2}"));
    view.apply(Action::ToggleHelp);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(line_with(&screen, "Tab, Shift-Tab").contains("next or previous pane"));
    for (keys, what) in super::HELP {
        let row = format!("{keys:<22}{what}");
        assert!(screen.iter().any(|l| l.contains(&row)), "{row} cut in 80 columns: {screen:#?}");
    }
}

#[test]
fn monochrome_has_no_colour_and_colour_marks_the_fault() {
    let snap = lazy(&snapshot());
    let colours =
        |buffer: &Buffer| buffer.content.iter().filter(|c| c.fg != Color::Reset || c.bg != Color::Reset).count();
    let mono = render(&mut View::new(&snap), Theme { color: false }, 80, 24);
    assert_eq!(colours(&mono), 0);
    let colour = render(&mut View::new(&snap), COLOR, 80, 24);
    assert!(colours(&colour) > 0);
    let screen = lines(&colour);
    let y = screen.iter().position(|l| l.contains("<- fault")).unwrap();
    let cells: Vec<char> = screen[y].chars().collect();
    let x = cells.windows(8).position(|w| w.iter().collect::<String>() == "<- fault").unwrap();
    assert_eq!(colour[(x as u16, y as u16)].fg, Color::Red);
    assert_eq!(lines(&mono), screen, "the same text either way");
}

#[test]
fn names_from_the_snapshot_are_escaped() {
    let mut snap = snapshot();
    snap.threads[7].frames[1].function = Some("evil\x1b[2J\nline".into());
    let screen = lines(&render(&mut View::new(&lazy(&snap)), COLOR, 100, 24));
    assert!(screen.iter().any(|l| l.contains(r"evil\x1b[2J\nline")), "{screen:#?}");
}

#[test]
fn long_lines_scroll_sideways_as_far_as_their_end() {
    let mut snap = snapshot();
    let long = format!("{}_end", "n".repeat(100));
    snap.threads[7].frames[1].function = Some(long.as_str().into());
    let snap = lazy(&snap);
    let mut view = View::new(&snap);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(line_with(&screen, "#1   nnn").contains("│> #1   nnnn"), "{screen:#?}");
    assert!(!screen.iter().any(|l| l.contains("_end")));
    for _ in 0..40 {
        view.apply(Action::ScrollRight);
    }
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    // The line's end at the pane's edge, the mark kept, `«` for the cut.
    let row = line_with(&screen, "_end <- fault");
    assert!(row.contains("│>«nnnn") && row.ends_with("_end <- fault│"), "{screen:#?}");
    assert!(line_with(&screen, "memcpy").contains("│ «"), "{screen:#?}");
    view.apply(Action::ScrollLeft);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(!screen.iter().any(|l| l.contains("<- fault")), "8 columns back: {screen:#?}");
    // Another pane keeps its own column.
    view.apply(Action::NextPane);
    view.apply(Action::ScrollLeft);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(line_with(&screen, "info = ").contains("│> ▸ info = 0x1000"), "{screen:#?}");
}

#[test]
fn tiny_terminals_do_not_panic() {
    let snap = lazy(&snapshot());
    for (w, h) in [(1, 1), (10, 3), (20, 6), (80, 5)] {
        let mut view = View::new(&snap);
        view.apply(Action::ToggleHelp);
        render(&mut view, COLOR, w, h);
    }
}

fn described(file: &str) -> Snapshot {
    crate::view::state::tests::described(file)
}

#[test]
fn the_info_pane_lists_the_fault_kv_and_registers_and_scrolls() {
    let snap = lazy(&described("/nowhere/crash.c"));
    let mut view = View::new(&snap);
    view.apply(Action::ToggleInfo);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(line_with(&screen, "info (i: back").starts_with('┌'), "{screen:#?}");
    assert!(line_with(&screen, "  SIGSEGV").contains("SIGSEGV (SEGV_MAPERR) in thread 5: invalid memory access"));
    for _ in 0..6 {
        view.apply(Action::Down);
    }
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(line_with(&screen, "fault.function").contains("│  fault.function = recurse"), "{screen:#?}");
    assert!(line_with(&screen, "registers of thread 5").contains("│registers of thread 5 (frame #0)"));
    assert!(line_with(&screen, "rip").contains("rip 0x0000000000000100       rsp 0x000000007ffe0000"));
    // End shows the last line at the bottom, not past it.
    view.apply(Action::End);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(screen[screen.len() - 3].contains("total 0 us"), "{screen:#?}");
}

#[test]
fn the_source_pane_highlights_the_frames_line_or_says_why_not() {
    let snap = lazy(&described(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/crash.c")));
    let mut view = View::new(&snap);
    view.apply(Action::ToggleSource);
    let buffer = render(&mut view, COLOR, 80, 24);
    let screen = lines(&buffer);
    assert!(line_with(&screen, "source of #1 recurse: /").contains("crash.c"), "{screen:#?}");
    let y = screen.iter().position(|l| l.contains("*info->target = info->depth;")).unwrap();
    assert!(screen[y].starts_with("│> 22         *info->target"), "{screen:#?}");
    assert!(buffer[(10, y as u16)].modifier.contains(ratatui::style::Modifier::REVERSED));
    assert!(line_with(&screen, "recurse(info, n - 1);").starts_with("│  25 "));

    let snap = lazy(&described("/nowhere/crash.c"));
    let mut view = View::new(&snap);
    view.apply(Action::ToggleSource);
    let screen = lines(&render(&mut view, COLOR, 100, 24));
    assert!(line_with(&screen, "source of #1 recurse").starts_with('┌'));
    assert!(
        line_with(&screen, "cannot be read").contains("/nowhere/crash.c cannot be read (/nowhere/crash.c: No such")
    );
}

/// The snapshot's answers come first, under the header, in their level's
/// colour; past three lines the rest are left to the info pane.
#[test]
fn answers_come_first_under_the_header() {
    use crate::snapshot::{Annotation, AnnotationLevel};
    let mut snap = snapshot();
    snap.classifiers = vec!["deadlock".into()];
    snap.annotations = vec![Annotation::text(AnnotationLevel::Critical, "deadlock: threads 5 and 100", "deadlock")];
    let read = lazy(&snap);
    let mut view = View::new(&read);
    let buffer = render(&mut view, COLOR, 80, 24);
    let screen = lines(&buffer);
    assert!(screen[1].starts_with("classifiers: deadlock"), "{screen:#?}");
    assert!(screen[2].starts_with("deadlock: threads 5 and 100"), "{screen:#?}");
    assert_eq!(buffer[(0, 2)].fg, Color::Red, "critical");
    assert!(line_with(&screen, "variables of #1 recurse").starts_with('┌'), "the panes still fit");

    snap.annotations.extend((0..3).map(|i| Annotation::text(AnnotationLevel::Warning, format!("finding {i}"), "m")));
    let read = lazy(&snap);
    let mut view = View::new(&read);
    let screen = lines(&render(&mut view, COLOR, 80, 24));
    assert!(screen[3].starts_with("(3 more in the info pane: i)"), "{screen:#?}");
    view.apply(Action::ToggleInfo);
    let screen = lines(&render(&mut view, COLOR, 80, 40));
    assert!(line_with(&screen, "finding 2").starts_with('│'), "in the info pane");
}

#[test]
fn variables_that_cannot_be_read_say_why_above_the_others() {
    let snap = crate::view::state::tests::corrupt();
    let mut view = View::new(&snap);
    let buffer = render(&mut view, COLOR, 80, 24);
    let screen = lines(&buffer);
    let y = screen.iter().position(|l| l.contains("the parameters cannot be read")).expect("said");
    assert!(screen[y].starts_with("│the parameters cannot be read: type 999 is not in the types table (in the list│"));
    assert!(screen[y + 1].starts_with("│ at byte "), "cut at the pane's width: {screen:#?}");
    assert_eq!(buffer[(1, y as u16)].fg, Color::Red);
    assert!(line_with(&screen, "TLS variables cannot be read").starts_with('│'), "{screen:#?}");
    let rows = screen.iter().position(|l| l.contains("> ▸ arr = {1, 2}")).expect("the locals, selected");
    assert!(rows > y + 2, "below what could not be read: {screen:#?}");
    assert!(line_with(&screen, "gone = ").contains("gone = <optimized out>"));
}
