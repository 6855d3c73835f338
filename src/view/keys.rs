//! Keys to viewer actions: arrows and vi keys move, Tab changes pane,
//! Enter opens, `/` searches, `f` filters the threads, `g` groups, `i`
//! and `s` show the info and source panes, `?` helps, `q` quits. While a
//! search or filter is typed, printable keys are its text.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{Action, Mode, Prompt};

/// The action of `key` in `mode`, if it has one.
pub fn action(mode: &Mode, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
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

/// The keys as the help lists them.
pub const HELP: &[(&str, &str)] = &[
    ("Up/Down, k/j", "move in the pane"),
    ("PgUp/PgDn, Home/End", "move by a page, to the start or end"),
    ("Tab, Shift-Tab", "next or previous pane"),
    ("Left/Right, h/l", "collapse/expand, or the pane beside"),
    ("Enter", "open or close a group of threads or a variable"),
    ("g", "group threads with identical stacks, or not"),
    ("/", "search function and variable names in every thread"),
    ("n, N", "next or previous match"),
    ("f, Esc", "filter threads by name or function; Esc: all"),
    ("i", "info: process, fault, registers, modules..."),
    ("s", "the selected frame's source"),
    ("?", "this help (any key closes it)"),
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
}
