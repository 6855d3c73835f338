//! Keys to viewer actions: arrows and vi keys move, Tab changes pane,
//! Enter opens, `/` searches, `f` filters the threads, `g` groups, `i`
//! and `s` show the info and source panes, `<` `>` scroll sideways, `?`
//! helps, `q` quits. While a search or filter is typed, printable keys
//! are its text. The mouse's wheel scrolls the pane under it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::state::{Action, Mode, Pane, Prompt, View};

/// The action of `key` in `mode`, if it has one.
pub fn action(mode: &Mode, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    match key.code {
        KeyCode::Char('c') if ctrl => return Some(Action::Quit),
        KeyCode::Char('z') if ctrl => return Some(Action::Suspend),
        _ => {}
    }
    if let Mode::Typing(..) = mode {
        return match key.code {
            KeyCode::Enter => Some(Action::Commit),
            KeyCode::Esc => Some(Action::Cancel),
            KeyCode::Backspace => Some(Action::Erase),
            KeyCode::Char(c) if !ctrl => Some(Action::Type(c)),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('q') | KeyCode::Char('Q') => Action::Quit,
        KeyCode::Left if shift => Action::ScrollLeft,
        KeyCode::Right if shift => Action::ScrollRight,
        KeyCode::Char('<') => Action::ScrollLeft,
        KeyCode::Char('>') => Action::ScrollRight,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Left | KeyCode::Char('h') => Action::Left,
        KeyCode::Right | KeyCode::Char('l') => Action::Right,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown | KeyCode::Char(' ') => Action::PageDown,
        KeyCode::Home => Action::Home,
        KeyCode::End | KeyCode::Char('G') => Action::End,
        KeyCode::Tab => Action::NextPane,
        KeyCode::BackTab => Action::PrevPane,
        KeyCode::Enter => Action::Toggle,
        KeyCode::Char('g') => Action::ToggleGrouping,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('i') => Action::ToggleInfo,
        KeyCode::Char('s') => Action::ToggleSource,
        KeyCode::Char('/') => Action::Prompt(Prompt::Search),
        KeyCode::Char('f') => Action::Prompt(Prompt::Filter),
        KeyCode::Esc if *mode == Mode::Normal => Action::Cancel,
        KeyCode::Char('n') => Action::NextHit,
        KeyCode::Char('N') => Action::PrevHit,
        // Any key closes the help.
        _ if *mode == Mode::Help => Action::ToggleHelp,
        _ => return None,
    })
}

/// Rows the mouse's wheel moves.
const WHEEL: isize = 3;

/// The action of the mouse's wheel: in the pane under the pointer.
pub fn mouse(view: &View, event: MouseEvent) -> Option<Action> {
    let rows = match event.kind {
        MouseEventKind::ScrollUp => -WHEEL,
        MouseEventKind::ScrollDown => WHEEL,
        _ => return None,
    };
    if view.mode != Mode::Normal {
        return None;
    }
    let under = |a: &Rect| a.contains(Position::new(event.column, event.row));
    let pane = view.areas.iter().position(under)?;
    Some(Action::Wheel([Pane::Threads, Pane::Frames, Pane::Variables][pane], rows))
}

/// The keys as the help lists them.
pub const HELP: &[(&str, &str)] = &[
    ("Up/Down, k/j", "move in the pane"),
    ("PgUp/PgDn, Home/End", "move by a page, to the start or end"),
    ("Tab, Shift-Tab", "next or previous pane"),
    ("Left/Right, h/l", "collapse/expand, or the pane beside"),
    ("Shift-Left/Right, < >", "scroll long lines sideways"),
    ("Enter", "open or close a group of threads or a variable"),
    ("g", "group threads with identical stacks, or not"),
    ("/", "search function and variable names in every thread"),
    ("n, N", "next or previous match"),
    ("f, Esc", "filter threads by name or function; Esc: all"),
    ("i", "info: process, fault, registers, modules..."),
    ("s", "the selected frame's source"),
    ("?", "this help (any key closes it)"),
    ("Ctrl-Z", "stop (the shell's fg continues)"),
    ("q, Ctrl-C", "quit"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn vi_keys_and_arrows_move_alike() {
        for (arrow, vi) in [(KeyCode::Up, 'k'), (KeyCode::Down, 'j'), (KeyCode::Left, 'h'), (KeyCode::Right, 'l')] {
            assert_eq!(action(&Mode::Normal, key(arrow)), action(&Mode::Normal, key(KeyCode::Char(vi))));
        }
    }

    #[test]
    fn a_search_takes_the_keys_that_are_commands_otherwise() {
        let typing = Mode::Typing(Prompt::Search, "re".into());
        assert_eq!(action(&typing, key(KeyCode::Char('q'))), Some(Action::Type('q')));
        assert_eq!(action(&typing, key(KeyCode::Char('n'))), Some(Action::Type('n')));
        assert_eq!(action(&typing, key(KeyCode::Enter)), Some(Action::Commit));
        assert_eq!(action(&Mode::Normal, key(KeyCode::Char('q'))), Some(Action::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(&typing, ctrl_c), Some(Action::Quit));
    }

    #[test]
    fn shifted_arrows_scroll_sideways_and_ctrl_z_suspends() {
        let shifted = |code| KeyEvent::new(code, KeyModifiers::SHIFT);
        assert_eq!(action(&Mode::Normal, shifted(KeyCode::Left)), Some(Action::ScrollLeft));
        assert_eq!(action(&Mode::Normal, shifted(KeyCode::Right)), Some(Action::ScrollRight));
        assert_eq!(action(&Mode::Normal, key(KeyCode::Char('<'))), Some(Action::ScrollLeft));
        assert_eq!(action(&Mode::Normal, key(KeyCode::Char('>'))), Some(Action::ScrollRight));
        assert_eq!(action(&Mode::Normal, key(KeyCode::Left)), Some(Action::Left));
        let ctrl_z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(action(&Mode::Typing(Prompt::Filter, String::new()), ctrl_z), Some(Action::Suspend));
    }

    #[test]
    fn the_wheel_scrolls_the_pane_under_the_pointer() {
        let snap = crate::view::state::tests::lazy(&crate::view::state::tests::snapshot());
        let mut view = View::new(&snap);
        view.areas = [Rect::new(0, 1, 28, 11), Rect::new(28, 1, 52, 11), Rect::new(0, 12, 80, 11)];
        let wheel = |kind, column, row| MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE };
        let down = wheel(MouseEventKind::ScrollDown, 30, 5);
        assert_eq!(mouse(&view, down), Some(Action::Wheel(Pane::Frames, WHEEL)));
        let up = wheel(MouseEventKind::ScrollUp, 3, 20);
        assert_eq!(mouse(&view, up), Some(Action::Wheel(Pane::Variables, -WHEEL)));
        assert_eq!(mouse(&view, wheel(MouseEventKind::ScrollDown, 3, 0)), None, "the header");
        let click = wheel(MouseEventKind::Down(crossterm::event::MouseButton::Left), 3, 5);
        assert_eq!(mouse(&view, click), None);
        view.apply(Action::Wheel(Pane::Variables, WHEEL));
        assert_eq!((view.var_sel, view.focus), (3, Pane::Frames), "the selection moves, not the focus");
        view.apply(Action::ToggleHelp);
        assert_eq!(mouse(&view, down), None, "not under the help");
    }
}
