//! `ptsnap view`: a snapshot in a full-screen terminal interface, threads,
//! frames and variables in panes, the faulting frame selected on open.
//!
//! The state and its key handling ([`state`], [`keys`]) know nothing of the
//! terminal and [`draw`] only reads the state, so tests drive the viewer
//! with actions and read what ratatui's `TestBackend` drew. This module
//! owns the terminal: raw mode and the alternate screen are entered by a
//! guard that leaves them when the viewer returns, fails or unwinds, and a
//! panic hook leaves them before the panic's message is printed (it would
//! be lost on the alternate screen otherwise).

mod draw;
mod info;
mod keys;
mod source;
mod state;

use std::io::{self, IsTerminal, Stdout};
use std::path::PathBuf;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{self, Event};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub use draw::Theme;
use state::View;

use crate::process::signals;
use crate::snapshot::Snapshot;

/// Why the viewer cannot run or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("ptsnap view needs a terminal: standard input and output must be one (ptsnap show prints text)")]
    NotATerminal,
    #[error("terminal: {0}")]
    Terminal(#[from] io::Error),
}

/// Shows `snap` until the user quits (None) or a SIGINT, SIGTERM or
/// SIGHUP ends the viewer (that signal): the terminal is restored either
/// way, where the signal's default action would leave it in raw mode.
/// Source files not found as recorded are looked for in `source_path`.
pub fn run(snap: &Snapshot, theme: Theme, source_path: Vec<PathBuf>) -> Result<Option<i32>, ViewError> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(ViewError::NotATerminal);
    }
    signals::install_handlers();
    let mut view = View::new(snap);
    view.set_source_path(source_path);
    let _screen = FullScreen::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    event_loop(&mut terminal, &mut view, theme)
}

/// How often a signal is looked for while no key comes.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    view: &mut View,
    theme: Theme,
) -> Result<Option<i32>, ViewError> {
    let mut redraw = true;
    while !view.quit {
        if let Some(signal) = signals::termination_requested() {
            return Ok(Some(signal));
        }
        if redraw {
            terminal.draw(|screen| draw::draw(screen, view, theme))?;
        }
        // A signal interrupts the wait (EINTR): the loop looks for it.
        redraw = match event::poll(SIGNAL_CHECK) {
            Ok(true) => true,
            Ok(false) => false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
            Err(e) => return Err(e.into()),
        };
        if !redraw {
            continue;
        }
        // A resize needs nothing but the redraw at the top of the loop.
        if let Event::Key(key) = event::read()?
            && let Some(action) = keys::action(&view.mode, key)
        {
            view.apply(action);
        }
    }
    Ok(None)
}

/// Whether the terminal is in raw mode on the alternate screen, for the
/// panic hook.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Raw mode and the alternate screen, left when dropped.
struct FullScreen;

impl FullScreen {
    fn enter() -> io::Result<Self> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let guard = FullScreen;
        execute!(io::stdout(), EnterAlternateScreen)?;
        Ok(guard)
    }
}

impl Drop for FullScreen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves the alternate screen and raw mode, once.
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = execute!(io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
        let _ = disable_raw_mode();
    }
}
