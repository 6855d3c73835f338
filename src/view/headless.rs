//! The viewer without a terminal: the same state, keys and drawing as
//! [`super::run`], drawn into ratatui's `TestBackend`. The benchmark
//! (`examples/view_bench.rs`) times opening a snapshot and each key
//! through it, so what it measures is what a user waits for, less the
//! terminal's own output.

use crossterm::event::KeyEvent;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::draw::{self, Theme};
use super::state::View;
use crate::snapshot::lazy::LazySnapshot;

/// A viewer of `snap` on a screen of its own.
pub struct Headless<'s> {
    view: View<'s>,
    terminal: Terminal<TestBackend>,
    theme: Theme,
}

impl<'s> Headless<'s> {
    /// The viewer as it opens on `snap`, drawn in `width` x `height`.
    pub fn new(snap: &'s LazySnapshot<'s>, theme: Theme, width: u16, height: u16) -> Self {
        let terminal = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|never| match never {});
        let mut headless = Headless { view: View::new(snap), terminal, theme };
        headless.draw();
        headless
    }

    /// Handles `key` as the viewer in a terminal does, and draws.
    pub fn key(&mut self, key: KeyEvent) {
        super::handle_key(&mut self.view, key);
        self.draw();
    }

    /// Whether a search is under way.
    pub fn searching(&self) -> bool {
        self.view.searching()
    }

    /// Goes on with a search under way as the viewer in a terminal does
    /// while no key comes (a slice at a time), and draws.
    pub fn search_on(&mut self) {
        self.view.search_on();
        self.draw();
    }

    fn draw(&mut self) {
        let (view, theme) = (&mut self.view, self.theme);
        self.terminal.draw(|screen| draw::draw(screen, view, theme)).unwrap_or_else(|never| match never {});
    }

    /// The screen's rows as text.
    pub fn screen(&self) -> Vec<String> {
        let buffer = self.terminal.backend().buffer();
        let width = usize::from(buffer.area.width).max(1);
        buffer.content.chunks(width).map(|row| row.iter().map(|c| c.symbol()).collect()).collect()
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    #[test]
    fn keys_drive_the_viewer_and_the_screen_follows() {
        let snap = crate::view::state::tests::lazy(&crate::view::state::tests::snapshot());
        let mut viewer = Headless::new(&snap, Theme { color: false }, 80, 24);
        assert!(viewer.screen().iter().any(|l| l.contains("> #1   recurse <- fault")));
        for c in "/slot".chars() {
            viewer.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        viewer.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        let screen = viewer.screen();
        assert!(screen.last().unwrap().starts_with("match 1/20 for slot"), "{screen:#?}");
        assert!(screen.iter().any(|l| l.contains(">   slot = 100")), "{screen:#?}");
    }
}
