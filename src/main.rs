//! The `ptsnap` command: parses the command line, runs the pipeline, and
//! turns every error into one line on stderr and a non-zero exit.

mod cli;
mod viewing;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, Command};
use ptsnap::engine::{Cut, Written};
use ptsnap::options::Options;
use ptsnap::process::{run, signals};
use ptsnap::{engine, show, snapshot, view};

/// Exit status for errors of ptsnap itself (bad input, no permission...).
const EXIT_ERROR: u8 = 1;
/// Exit status for a bug in ptsnap (a panic).
const EXIT_INTERNAL: u8 = 70;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("ptsnap: internal error{at}: {msg} (the target was released; please report this)");
    }));
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let given = cli::view_snapshot_options(&matches);
    match std::panic::catch_unwind(|| dispatch(cli, &given)) {
        Ok(Ok(code)) => code,
        Ok(Err(msg)) => {
            eprintln!("ptsnap: error: {msg}");
            ExitCode::from(EXIT_ERROR)
        }
        Err(_) => ExitCode::from(EXIT_INTERNAL),
    }
}

/// Runs the command; `given` are the snapshot options given to `ptsnap
/// view`, which a snapshot file has no use for.
fn dispatch(cli: Cli, given: &[String]) -> Result<ExitCode, String> {
    match cli.command {
        Some(Command::Show { group, snapshot: path }) => {
            print_out(&show::render_with(&read_snapshot(&path)?, group));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::View { monochrome, source_path, snapshot: args, target, command }) => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let theme = view::Theme { color: !monochrome && !no_color };
            viewing::dispatch(viewing::Target::of(target, command, given)?, *args, theme, source_path)
        }
        Some(Command::Run { snapshot: args, command }) => {
            let (end, _) = run_program(&args.into_options()?, &command)?;
            Ok(end)
        }
        Some(Command::Core { snapshot: args, exe, sysroot, pid, core }) => {
            if let Some(dir) = sysroot.as_ref().filter(|d| !d.is_dir()) {
                return Err(format!("--sysroot {}: not a directory", dir.display()));
            }
            let opts = Options { sysroot, ..args.into_options()? };
            signals::install_handlers();
            let written = engine::snapshot_core(&opts, &core, exe.as_deref(), pid).map_err(|e| e.to_string())?;
            print_out(&format!("{}\n", written.path.display()));
            Ok(exit_status(&opts, &written))
        }
        None => {
            let pid = cli.pid.ok_or("a PID is required")?;
            check_pid(pid)?;
            let opts = cli.snapshot.into_options()?;
            signals::install_handlers();
            let written = engine::snapshot_process(&opts, pid).map_err(|e| e.to_string())?;
            print_out(&format!("{}\n", written.path.display()));
            Ok(exit_status(&opts, &written))
        }
    }
}

/// A PID ptsnap can snapshot.
fn check_pid(pid: i32) -> Result<(), String> {
    if pid <= 0 {
        return Err(format!("invalid PID {pid}"));
    }
    if pid as u32 == std::process::id() {
        return Err("ptsnap cannot snapshot itself".into());
    }
    Ok(())
}

/// Runs `command` traced, snapshotting it at each crash; the exit status
/// of its end (a shell's) and the snapshots written.
fn run_program(opts: &Options, command: &[OsString]) -> Result<(ExitCode, Vec<PathBuf>), String> {
    signals::install_handlers();
    let mut written_paths = Vec::new();
    let mut on_crash = |crash: run::CrashStop| {
        let (pid, tid, sig) = (crash.pid, crash.tid, crash.signal);
        match engine::snapshot_crash(opts, crash) {
            Ok(written) => {
                eprintln!(
                    "ptsnap: {} in thread {tid} of process {pid}; snapshot written to {}{}",
                    signals::name(sig),
                    written.path.display(),
                    partial(opts, &written)
                );
                written_paths.push(written.path);
            }
            Err(e) => eprintln!("ptsnap: error: snapshot of process {pid} failed: {e}"),
        }
    };
    let stop_within = opts.timeout.map_or(opts.max_pause, |t| t.min(opts.max_pause));
    let end = run::run(command, stop_within, &mut on_crash).map_err(|e| e.to_string())?;
    Ok((ExitCode::from(end.shell_status().clamp(0, 255) as u8), written_paths))
}

/// A snapshot file, of any version.
fn read_snapshot(path: &Path) -> Result<snapshot::Snapshot, String> {
    let snap = snapshot::writer::read(path).map_err(|e| cannot_read(path, e))?;
    check_format(&snap.format, path)?;
    Ok(snap)
}

/// The error of a snapshot file that cannot be read.
fn cannot_read(path: &Path, e: impl std::fmt::Display) -> String {
    format!("cannot read {}: {e}", path.display())
}

/// Whether what `path` holds, whose `format` was read, is a snapshot.
fn check_format(format: &str, path: &Path) -> Result<(), String> {
    match format == snapshot::FORMAT {
        true => Ok(()),
        false => Err(format!("{} is not a ptsnap snapshot", path.display())),
    }
}

/// ptsnap's exit status for a written snapshot: what cut it short.
fn exit_status(opts: &Options, written: &Written) -> ExitCode {
    match written.cut {
        Some(Cut::Signal(sig)) => {
            eprintln!("ptsnap: {}", partial(opts, written).trim_start_matches("; "));
            ExitCode::from((128 + sig).clamp(0, 255) as u8)
        }
        Some(Cut::Internal) => ExitCode::from(EXIT_INTERNAL),
        _ => ExitCode::SUCCESS,
    }
}

/// What a person needs to know of a partial snapshot ("" for a whole one).
fn partial(opts: &Options, written: &Written) -> String {
    match &written.cut {
        Some(cut) => format!(
            "; {}: the target was released and the snapshot has what was gathered",
            cut.describe(opts.max_pause.as_secs_f64())
        ),
        None => String::new(),
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error of
/// ptsnap's (`print!` would panic on the broken pipe).
fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
