//! `ptsnap view`: a snapshot in a full-screen terminal interface, threads,
//! frames and variables in panes, the faulting frame selected on open.
//!
//! The state and its key handling ([`state`], [`keys`]) know nothing of the
//! terminal and [`draw`] only reads the state, so tests drive the viewer
//! with actions and read what ratatui's `TestBackend` drew. This module
//! owns the terminal: raw mode, the alternate screen and the mouse are
//! taken by a guard that gives them back when the viewer returns, fails or
//! unwinds, and a panic hook gives them back before the panic's message is
//! printed (it would be lost on the alternate screen otherwise); Ctrl-Z
//! gives them back while the viewer is stopped ([`suspend`]).

mod draw;
mod headless;
mod info;
mod keys;
mod matching;
mod search;
mod source;
mod state;
mod suspend;

use std::io::{self, IsTerminal, Stdout};
use std::path::PathBuf;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub use draw::Theme;
pub use headless::Headless;
use state::{Action, View};

use crate::process::signals;
use crate::snapshot::lazy::LazySnapshot;

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
pub fn run(snap: &LazySnapshot, theme: Theme, source_path: Vec<PathBuf>) -> Result<Option<i32>, ViewError> {
    check_terminal()?;
    signals::install_handlers();
    suspend::install();
    let mut view = View::new(snap);
    view.set_source_path(source_path);
    let _screen = FullScreen::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    event_loop(&mut terminal, &mut view, theme)
}

/// Whether the viewer can run: standard input and output are a terminal.
pub fn check_terminal() -> Result<(), ViewError> {
    match io::stdin().is_terminal() && io::stdout().is_terminal() {
        true => Ok(()),
        false => Err(ViewError::NotATerminal),
    }
}

/// How often a signal is looked for while no key comes.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    view: &mut View,
    theme: Theme,
) -> Result<Option<i32>, ViewError> {
    let mut size = crossterm::terminal::size()?;
    let mut redraw = true;
    while !view.quit {
        if let Some(signal) = signals::termination_requested() {
            return Ok(Some(signal));
        }
        // A terminal that hung up (its window closed, its tmux server
        // killed) reads as end of file for ever, on which crossterm's
        // event reader spins without returning: the viewer ends as for a
        // SIGHUP, which may not come to it (its shell, the session
        // leader, is gone). So the viewer waits for input itself, and
        // hands crossterm only input that is there on a live terminal.
        if terminal_hung_up() {
            return Ok(Some(libc::SIGHUP));
        }
        if redraw {
            terminal.draw(|screen| draw::draw(screen, view, theme))?;
        }
        // A signal interrupts the wait (EINTR): the loop looks for it. A
        // search under way goes on as soon as no key is waiting.
        wait_for_input(if view.searching() { Duration::ZERO } else { SIGNAL_CHECK })?;
        if terminal_hung_up() {
            return Ok(Some(libc::SIGHUP));
        }
        let now = crossterm::terminal::size()?;
        redraw = now != size;
        size = now;
        let mut stop = suspend::stop_requested();
        while !stop && event::poll(Duration::ZERO)? {
            redraw = true;
            match event::read()? {
                Event::Key(key) => stop = handle_key(view, key) == Some(Action::Suspend),
                Event::Mouse(mouse) => {
                    if let Some(action) = keys::mouse(view, mouse) {
                        view.apply(action);
                    }
                }
                _ => {}
            }
        }
        if !stop && view.searching() {
            view.search_on();
            redraw = true;
        }
        if stop {
            restore();
            suspend::stop();
        }
        // Back from a stop of ours (or from one the kernel discarded), or
        // continued after any other stop.
        if suspend::continued() || stop {
            // The shell may have changed the terminal's modes and screen.
            enter_screen()?;
            terminal.clear()?;
            redraw = true;
        }
    }
    Ok(None)
}

/// Applies what `key` does to the viewer; that action.
fn handle_key(view: &mut View, key: crossterm::event::KeyEvent) -> Option<Action> {
    let action = keys::action(&view.mode, key)?;
    view.apply(action.clone());
    Some(action)
}

/// Waits until standard input has something to read (or hangs up), a
/// signal comes, or `timeout` passes.
fn wait_for_input(timeout: Duration) -> io::Result<()> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let stdin = io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
    match poll(&mut fds, timeout) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Whether standard input's terminal is gone: once hung up, a terminal
/// answers no request (EIO).
fn terminal_hung_up() -> bool {
    nix::sys::termios::tcgetattr(io::stdin()).is_err()
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
        let guard = FullScreen;
        enter_screen()?;
        Ok(guard)
    }
}

/// Raw mode, the alternate screen and the mouse's wheel, on entering and
/// again after a stop.
fn enter_screen() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)
}

impl Drop for FullScreen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves the alternate screen and raw mode, once (until entered again).
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen, crossterm::cursor::Show);
        let _ = disable_raw_mode();
    }
}
