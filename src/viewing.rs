//! `ptsnap view`'s three targets: a snapshot file, a live process (a PID,
//! snapshotted first) and a program run traced (`run -- CMD`, its crash
//! viewed once it is gone). A snapshot taken for the viewer goes where
//! `-o`/`-O` say, or else into a new directory only the user can enter
//! (it holds the target's memory); it is kept, and its path is said once
//! the viewer is gone.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ptsnap::engine::{self, Cut};
use ptsnap::process::signals;
use ptsnap::snapshot::lazy::LazySnapshot;
use ptsnap::view;

use crate::cli::SnapshotArgs;
use crate::{cannot_read, check_format, check_pid, exit_status, partial, print_out, run_program};

/// What `ptsnap view` shows.
pub enum Target {
    File(PathBuf),
    Live(Live),
}

/// A snapshot the viewer takes first.
pub enum Live {
    Process(i32),
    /// A program run traced: its (last) crash.
    Run(Vec<OsString>),
}

impl Target {
    /// The target of `ptsnap view TARGET [-- CMD]`: `run` with a command, a
    /// number that names no file (a PID), or a file. `given` are the
    /// snapshot options given, which a file has no use for.
    pub fn of(target: PathBuf, command: Vec<OsString>, given: &[String]) -> Result<Target, String> {
        if !command.is_empty() {
            return match target == Path::new("run") {
                true => Ok(Target::Live(Live::Run(command))),
                false => {
                    Err(format!("a command after -- goes with `ptsnap view run -- CMD`, not {}", target.display()))
                }
            };
        }
        let pid = (!target.exists()).then(|| target.to_str()?.parse().ok()).flatten();
        match (pid, given.first()) {
            (Some(pid), _) => Ok(Target::Live(Live::Process(pid))),
            (None, Some(option)) => Err(format!("{option} is for a live snapshot: {} is not a PID", target.display())),
            (None, None) => Ok(Target::File(target)),
        }
    }
}

/// Views `target` until the user quits; the exit status: a signal's that
/// ended the viewer, else the program's that `run` ran.
pub fn dispatch(
    target: Target,
    args: SnapshotArgs,
    theme: view::Theme,
    source_path: Vec<PathBuf>,
) -> Result<ExitCode, String> {
    let view = |path: &Path| -> Result<Option<ExitCode>, String> {
        // Its variables are read as they are shown.
        let text = std::fs::read_to_string(path).map_err(|e| cannot_read(path, e))?;
        let snap = LazySnapshot::parse(&text).map_err(|e| cannot_read(path, e))?;
        check_format(&snap.snapshot.format, path)?;
        // Ended by a signal: the status a shell shows for it.
        let signal = view::run(&snap, theme, source_path).map_err(|e| e.to_string())?;
        Ok(signal.map(|sig| ExitCode::from((128 + sig).clamp(0, 255) as u8)))
    };
    let live = match target {
        Target::File(path) => return Ok(view(&path)?.unwrap_or(ExitCode::SUCCESS)),
        Target::Live(live) => live,
    };
    if let Live::Process(pid) = live {
        check_pid(pid)?;
    }
    let mut opts = args.into_options()?;
    // Not stopping a process, or running one, for a viewer that cannot open.
    view::check_terminal().map_err(|e| e.to_string())?;
    let private = (opts.output.is_none() && opts.output_dir.is_none()).then(private_dir).transpose()?;
    opts.output_dir = opts.output_dir.or(private.clone());
    // Nothing written: no empty directory left behind.
    let nothing_written = || {
        if let Some(dir) = &private {
            let _ = std::fs::remove_dir(dir);
        }
    };
    let (path, status, said) = match live {
        Live::Process(pid) => {
            signals::install_handlers();
            let written = engine::snapshot_process(&opts, pid).inspect_err(|_| nothing_written());
            let written = written.map_err(|e| e.to_string())?;
            if matches!(written.cut, Some(Cut::Signal(_))) {
                print_out(&format!("{}\n", written.path.display()));
                return Ok(exit_status(&opts, &written));
            }
            let said =
                format!("snapshot of process {pid} written to {}{}", written.path.display(), partial(&opts, &written));
            (written.path, ExitCode::SUCCESS, said)
        }
        Live::Run(command) => {
            let (status, written) = run_program(&opts, &command).inspect_err(|_| nothing_written())?;
            let Some(path) = written.into_iter().next_back() else {
                nothing_written();
                eprintln!("ptsnap: {} did not crash: nothing to view", command[0].to_string_lossy());
                return Ok(status);
            };
            let said = format!("snapshot written to {}", path.display());
            (path, status, said)
        }
    };
    let viewed = view(&path);
    eprintln!("ptsnap: {said}");
    Ok(viewed?.unwrap_or(status))
}

/// A new directory only the user can enter, for a snapshot the user gave
/// no destination.
fn private_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let dir = std::env::temp_dir().join(format!("ptsnap-view.{}.{nanos}", std::process::id()));
    // mkdir creates, or fails on anything already there (a planted link).
    std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}
