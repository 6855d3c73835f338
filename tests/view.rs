//! `ptsnap view` in a real terminal: tmux runs it on snapshots of the
//! crash fixture (under `ptsnap run`) and of the hung fixture with idle
//! threads, keys are sent with `send-keys`, and the screen is read with
//! `capture-pane`, polled until what is awaited appears (or a deadline
//! passes). After `q`, the shell that ran the viewer prints its exit status
//! and `stty -a`, which shows whether the terminal left raw mode. The info
//! and source panes, the source found by `--source-path` in a snapshot
//! whose path to it is gone. `ptsnap view PID` on the live hung fixture.
//! Ctrl-Z and `fg` in an interactive bash.
//! And the errors: a missing file, a file that is not a snapshot, no
//! terminal, a live snapshot's option with a file, a frame whose
//! variables cannot be read (said in the pane).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// A tmux server of the test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `ptsnap view ARGS` in a 120x40 window; the pane stays after the
    /// viewer exits, showing its exit status and the terminal's modes.
    fn view(name: &str, args: &[&str]) -> Tmux {
        Tmux::session(name, &["sh", "-c", &view_command(args)])
    }

    /// Runs `program` in a 120x40 window that stays after it exits.
    fn session(name: &str, program: &[&str]) -> Tmux {
        let tmux = Tmux { socket: format!("ptsnap-view-{name}-{}", std::process::id()) };
        let status = Command::new("tmux")
            .args(["-L", &tmux.socket, "-f", "/dev/null", "new-session", "-d", "-s", "view", "-x", "120", "-y", "40"])
            .args(program)
            .args([";", "set-option", "-t", "view", "remain-on-exit", "on"])
            .status()
            .expect("cannot run tmux");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").args(["-L", &self.socket]).args(args).output().expect("cannot run tmux");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "view"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// The screen as text, and its history (`-S -`), where what the
    /// shell printed after the viewer left the alternate screen may be.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "view"])
    }

    /// The screen once it shows `text` and is drawn whole; fails after 20
    /// seconds. A capture can catch a redraw half done (rows are written
    /// top to bottom), so a screen counts once two captures in a row agree.
    fn wait_for(&self, text: &str) -> String {
        self.wait_until(text, |screen| screen.contains(text))
    }

    /// The screen once `found` (`what`) holds of it and it is drawn whole.
    fn wait_until(&self, what: &str, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut previous = String::new();
        loop {
            let screen = self.screen();
            if found(&screen) && screen == previous {
                return screen;
            }
            assert!(Instant::now() < deadline, "no {what} on the screen:\n{screen}");
            previous = screen;
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The viewer's pid (the child of the pane's shell), once it has
    /// drawn the crash snapshot's fault.
    fn viewer_pid(&self) -> i32 {
        self.wait_for("<- fault");
        let shell = self.tmux(&["display-message", "-p", "-t", "view", "#{pane_pid}"]);
        let viewer = Command::new("pgrep").args(["-P", shell.trim()]).output().expect("cannot run pgrep");
        String::from_utf8_lossy(&viewer.stdout).trim().parse().expect("the viewer is the shell's child")
    }

    /// Quits with `q`; asserts the viewer exited 0 and left raw mode.
    fn quit(&self) {
        self.keys(&["q"]);
        let status_line = |screen: &str| screen.lines().find(|l| l.starts_with("exit=")).map(str::to_string);
        let screen = self.wait_until("exit status", |screen| status_line(screen).is_some());
        let status = status_line(&screen).unwrap_or_default();
        assert!(status.starts_with("exit=0 modes: "), "{screen}");
        assert!(status.contains(" icanon ") && status.contains(" echo "), "raw mode was left on: {status}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).output();
    }
}

/// `ptsnap view ARGS`, then its exit status and the terminal's modes, as
/// a command line.
fn view_command(args: &[&str]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    format!("'{}' view {}; echo exit=$? modes: $(stty -a)", ptsnap_bin(), quoted.join(" "))
}

fn line_with<'a>(screen: &'a str, text: &str) -> &'a str {
    screen.lines().find(|l| l.contains(text)).unwrap_or_else(|| panic!("no line with {text:?}:\n{screen}"))
}

/// A snapshot of the crash fixture under `ptsnap run`, made under a name
/// of the test's own (tests run in parallel).
fn crash_snapshot(name: &str) -> PathBuf {
    let bin = build("crash.c", name, &["-g", "-O0"]);
    let (snap, _, stderr) = run_crash(&bin, &["3", "main"], name, &[]);
    assert!(snap.is_some(), "no snapshot: {stderr}");
    work_dir().join(format!("{name}.json"))
}

/// The hung fixture with 20 idle threads (23 in all), built under `name`,
/// started and ready.
fn hung(name: &str) -> Running {
    start(&build("hang.c", name, &["-g", "-O0"]), &["20"])
}

#[test]
fn browses_a_crash_from_the_faulting_frame() {
    if !tool_available("tmux") {
        return;
    }
    let path = crash_snapshot("view-crash");
    let tmux = Tmux::view("crash", &[path.to_str().unwrap()]);
    let screen = tmux.wait_for("<- fault");
    assert!(screen.starts_with("process "), "{screen}");
    assert!(line_with(&screen, "SIGSEGV").contains("SIGSEGV (SEGV_MAPERR) in thread"), "{screen}");
    assert!(line_with(&screen, "<- fault").contains("> #0   recurse (crash.c:"), "faulting frame selected:\n{screen}");
    assert!(line_with(&screen, " running ").contains("> !"), "the faulted thread, marked:\n{screen}");
    assert!(line_with(&screen, "info = 0x").contains("> ▸ info = 0x"), "{screen}");
    // The faulting frame's line (with the bundled modules' annotations:
    // fault_summary's comment, fault_class's critical one) is cut at the
    // pane's edge: Shift-Right scrolls the frames sideways, no further
    // than the end of the widest line, Shift-Left back.
    tmux.keys(&["S-Right"; 40]);
    let screen = tmux.wait_for("a null pointer]");
    let end = line_with(&screen, "a null pointer]");
    assert!(end.contains("││>«") && end.trim_end().ends_with("a null pointer]│"), "at the end:\n{screen}");
    tmux.keys(&["S-Left"; 40]);
    tmux.wait_for("> #0   recurse (crash.c:");

    // Tab to the variables, Enter opens the pointer: its target's members.
    tmux.keys(&["Tab", "Enter"]);
    let screen = tmux.wait_for("*info = {depth = 3, name = 0x");
    assert!(line_with(&screen, "*info").contains("▸ *info"), "{screen}");
    tmux.keys(&["j", "Enter"]);
    // The member on its own row: no comma after it.
    let screen = tmux.wait_for("depth = 3  ");
    assert!(screen.contains("name = 0x") && screen.contains("\"crash\""), "{screen}");

    // Search: main's frame and its variables.
    tmux.keys(&["/", "m", "a", "i", "n", "Enter"]);
    let screen = tmux.wait_for("match 1/");
    assert!(line_with(&screen, "main (crash.c:").contains("> #4   main (crash.c:"), "{screen}");
    assert!(screen.contains("variables of #4 main"), "{screen}");
    // A member's name, below a pointer: the tree opened down to it.
    tmux.keys(&["/", "t", "a", "r", "g", "e", "t", "Enter"]);
    let screen = tmux.wait_for("variables of #0 recurse");
    assert!(line_with(&screen, "target = 0x0").starts_with("│>       target = 0x0"), "{screen}");
    assert!(line_with(&screen, "*info = struct crash_info").contains("▾ *info"), "{screen}");

    tmux.keys(&["?"]);
    tmux.wait_for("next or previous pane");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Tab: pane");
    tmux.quit();
}

#[test]
fn groups_idle_threads_of_a_hung_process() {
    if !tool_available("tmux") {
        return;
    }
    let _serial = serial();
    let hung = hung("view-hang");
    snapshot(hung.pid(), "view-hang", &[]);
    drop(hung);
    let path = work_dir().join("view-hang.json");
    let tmux = Tmux::view("hang", &["-m", path.to_str().unwrap()]);
    let screen = tmux.wait_for("20 threads: idle_forever <- idle_w");
    assert!(screen.contains("threads (23, 4 stacks)"), "{screen}");
    // f filters the threads as the text is typed, Esc shows them all.
    tmux.keys(&["f", "i", "d", "l", "e", "_", "f"]);
    let screen = tmux.wait_for("filter threads: idle_f_");
    assert!(screen.contains("threads \"idle_f\" (20/23, 1 stack)"), "{screen}");
    assert!(screen.contains("> ▸ 20 threads: idle_forever"), "{screen}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("f: filter");
    tmux.keys(&["Escape"]);
    tmux.wait_for("threads (23, 4 stacks)");
    // g ungroups: every thread on its own row.
    tmux.keys(&["g"]);
    let screen = tmux.wait_for("threads (23)");
    assert!(screen.lines().filter(|l| l.contains(" sleeping ")).count() >= 15, "a row per thread:\n{screen}");
    tmux.quit();
}

/// `ptsnap view PID` snapshots the process into a private file, lets it
/// run again, shows the snapshot, and says where the file is once the
/// viewer is gone.
#[test]
fn snapshots_a_live_process_first() {
    if !tool_available("tmux") {
        return;
    }
    let _serial = serial();
    let hung = hung("view-live");
    let pid = hung.pid().to_string();
    let tmux = Tmux::view("live", &["-m", &pid]);
    let screen = tmux.wait_for("20 threads: idle_forever <- idle_w");
    assert!(screen.starts_with(&format!("process {pid} (view-live) ")), "{screen}");
    assert_released(hung.pid());
    tmux.quit();
    let screen = tmux.screen();
    let said = line_with(&screen, "ptsnap: snapshot of process ");
    let path = Path::new(said.split_once(" written to ").expect("the path is said").1.trim());
    let mode = |p: &Path| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions());
    assert_eq!(mode(path) & 0o777, 0o600, "{said}");
    let dir = path.parent().unwrap();
    assert_eq!(mode(dir) & 0o777, 0o700, "{said}");
    assert_eq!(read_json(path)["process"]["pid"], hung.pid());
    std::fs::remove_dir_all(dir).unwrap();
}

/// `ptsnap view run -- CMD` runs the program traced and views its crash
/// once it is gone; the exit status is the program's.
#[test]
fn runs_a_program_and_views_its_crash() {
    if !tool_available("tmux") {
        return;
    }
    let bin = build("crash.c", "view-run", &["-g", "-O0"]);
    let out = work_dir().join("view-run-out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let tmux = Tmux::view("run", &["-O", out.to_str().unwrap(), "run", "--", bin.to_str().unwrap(), "3", "main"]);
    let screen = tmux.wait_for("<- fault");
    assert!(line_with(&screen, "<- fault").contains("> #0   recurse (crash.c:"), "{screen}");
    tmux.keys(&["q"]);
    let screen = tmux.wait_until("exit status", |s| s.lines().any(|l| l.starts_with("exit=")));
    assert!(screen.contains("\nexit=139 "), "the program's status (SIGSEGV):\n{screen}");
    let said = line_with(&screen, "ptsnap: snapshot written to ");
    let path = Path::new(said.trim_start_matches("ptsnap: snapshot written to ").trim());
    assert_eq!(path.parent(), Some(out.as_path()), "{said}");
    assert_eq!(read_json(path)["fault"]["signal"]["name"], "SIGSEGV");
}

/// A PID that names no process: one error line, and the private
/// directory made for its snapshot is not left behind.
#[test]
fn a_live_snapshot_that_fails_leaves_no_directory() {
    if !tool_available("tmux") {
        return;
    }
    let tmp = work_dir().join("view-live-fails");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let command = format!("TMPDIR='{}' {}", tmp.display(), view_command(&["2147483647"]));
    let tmux = Tmux::session("live-fails", &["sh", "-c", &command]);
    let screen = tmux.wait_until("exit status", |s| s.lines().any(|l| l.starts_with("exit=")));
    assert!(line_with(&screen, "ptsnap: error: ").contains("2147483647"), "{screen}");
    assert!(screen.contains("\nexit=1 "), "{screen}");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "left in {}", tmp.display());
}

#[test]
fn monochrome_draws_no_colour() {
    if !tool_available("tmux") {
        return;
    }
    let path = crash_snapshot("view-mono");
    let tmux = Tmux::view("mono", &["-m", path.to_str().unwrap()]);
    tmux.wait_for("<- fault");
    let escapes = tmux.tmux(&["capture-pane", "-p", "-e", "-t", "view"]);
    // SGR parameters that set a colour (39 and 49 reset to the default).
    let colour = |p: u32| matches!(p, 30..=38 | 40..=48 | 90..=97 | 100..=107);
    let sgr = escapes.split("\x1b[").skip(1).filter_map(|s| s.split_once('m')).map(|(params, _)| params);
    let coloured: Vec<&str> = sgr.filter(|p| p.split(';').any(|n| n.parse().is_ok_and(colour))).collect();
    assert!(coloured.is_empty(), "colour with -m: {coloured:?}");
    tmux.quit();
}

/// SIGTERM or SIGHUP (a closed terminal, a `kill`) ends the viewer as `q`
/// does: the terminal leaves raw mode, and the exit status is the
/// signal's (128 + 15).
#[test]
fn a_termination_signal_restores_the_terminal() {
    if !tool_available("tmux") {
        return;
    }
    let tmux = Tmux::view("term", &[crash_snapshot("view-term").to_str().unwrap()]);
    let viewer = tmux.viewer_pid().to_string();
    let killed = Command::new("kill").args(["-TERM", &viewer]).status().expect("cannot run kill");
    assert!(killed.success());
    let screen = tmux.wait_for("exit=");
    let status = line_with(&screen, "exit=");
    assert!(status.starts_with("exit=143 modes: "), "{screen}");
    assert!(status.contains(" icanon ") && status.contains(" echo "), "raw mode was left on: {status}");
}

/// Ctrl-Z in an interactive shell: the viewer gives the terminal back
/// (the shell's prompt on the normal screen, cooked mode) and stops as a
/// job; `fg` continues it, and it draws its whole screen again.
#[test]
fn ctrl_z_stops_the_viewer_as_a_job_and_fg_redraws_it() {
    if !tool_available("tmux") || !has_program("bash") {
        return;
    }
    let path = crash_snapshot("view-stop");
    let tmux = Tmux::session("stop", &["env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i"]);
    tmux.wait_for("$ ");
    // A subshell: the viewer stops its whole job, as the terminal's Ctrl-Z
    // would, and the exit status is printed once it quits.
    tmux.keys(&["-l", &format!("({})", view_command(&[path.to_str().unwrap()]))]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("<- fault");
    tmux.keys(&["C-z"]);
    let screen = tmux.wait_for("Stopped");
    assert!(!screen.contains("<- fault"), "the alternate screen was left:\n{screen}");
    tmux.keys(&["-l", "stty -a | grep -o ' -*icanon'; fg"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("<- fault");
    tmux.keys(&["j"]);
    let screen = tmux.wait_for("variables of #1 recurse");
    assert!(line_with(&screen, "#1   recurse").contains("> #1"), "{screen}");
    tmux.quit();
    let screen = tmux.screen();
    assert!(screen.contains(" icanon"), "the shell had cooked mode while the viewer was stopped:\n{screen}");
}

/// A terminal that goes away (the tmux server killed, as a closed
/// window) ends the viewer: it neither stays behind nor spins on the
/// dead terminal.
#[test]
fn a_terminal_that_hangs_up_ends_the_viewer() {
    if !tool_available("tmux") {
        return;
    }
    let tmux = Tmux::view("hangup", &[crash_snapshot("view-hangup").to_str().unwrap()]);
    let viewer = tmux.viewer_pid();
    drop(tmux);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{viewer}/stat")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{viewer}/stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            break;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill").args(["-9", &viewer.to_string()]).status();
            panic!("the viewer outlived its terminal: {stat}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_input_is_one_error_line() {
    let missing = work_dir().join("view-no-such-file.json");
    let err = one_line_error(&ptsnap(&["view", missing.to_str().unwrap()]));
    assert!(err.contains("cannot read") && err.contains("No such file"), "{err}");

    let other = work_dir().join("view-not-a-snapshot.json");
    std::fs::write(&other, "{\"format\": \"something else\"}").unwrap();
    let err = one_line_error(&ptsnap(&["view", other.to_str().unwrap()]));
    assert!(err.contains("is not a ptsnap snapshot"), "{err}");

    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/crash.json");
    let err = one_line_error(&ptsnap(&["view", golden.to_str().unwrap()]));
    assert!(err.contains("needs a terminal"), "{err}");
    // A live snapshot's options, with a file.
    let err = one_line_error(&ptsnap(&["view", "--kv", "a:b", golden.to_str().unwrap()]));
    assert!(err.contains("--kv is for a live snapshot"), "{err}");
    let err = one_line_error(&ptsnap(&["view", golden.to_str().unwrap(), "--", "true"]));
    assert!(err.contains("goes with `ptsnap view run -- CMD`"), "{err}");
    // run, without a terminal: refused before the program runs.
    let err = one_line_error(&ptsnap(&["view", "run", "--", "sh", "-c", "echo ran"]));
    assert!(err.contains("needs a terminal"), "{err}");
    // A PID, without a terminal: refused before the process is stopped.
    let err = one_line_error(&ptsnap(&["view", &std::process::id().to_string()]));
    assert!(err.contains("needs a terminal"), "{err}");
}

/// `i` shows the fault, kv and registers; `s` the faulting line, found by
/// `--source-path` when the snapshot's path to it no longer exists.
#[test]
fn info_and_source_panes() {
    if !tool_available("tmux") {
        return;
    }
    let path = crash_snapshot("view-panes");
    let fixtures = fixtures_dir();
    let fixtures = fixtures.to_str().unwrap();
    let json = std::fs::read_to_string(&path).unwrap();
    assert!(json.contains(&format!("\"file\":\"{fixtures}/crash.c\"")), "the fixture's path is recorded");
    let moved = work_dir().join("view-panes-moved.json");
    std::fs::write(&moved, json.replace(&format!("\"{fixtures}/crash.c\""), "\"/moved/away/crash.c\"")).unwrap();

    let tmux = Tmux::view("panes", &["--source-path", fixtures, moved.to_str().unwrap()]);
    tmux.wait_for("<- fault");
    tmux.keys(&["i"]);
    let screen = tmux.wait_for("fault.function = recurse");
    assert!(screen.contains("info (i: back to the variables)"), "{screen}");
    assert!(line_with(&screen, "  SIGSEGV").contains("SIGSEGV (SEGV_MAPERR) in thread"), "{screen}");
    tmux.keys(&["PageDown"]);
    let screen = tmux.wait_for(" rip 0x");
    assert!(line_with(&screen, " rip 0x").contains("eflags 0x"), "{screen}");

    // Back to the variables, then the source: the faulting line marked.
    tmux.keys(&["i"]);
    tmux.wait_for("variables of #0 recurse");
    tmux.keys(&["s"]);
    let screen = tmux.wait_for("source of #0 recurse: ");
    assert!(line_with(&screen, "source of #0").contains(&format!("{fixtures}/crash.c")), "{screen}");
    assert!(line_with(&screen, "*info->target = info->depth").contains("> 22 "), "{screen}");
    // Left to the frames (the info had the focus), down to main's frame:
    // its own line.
    tmux.keys(&["h", "j", "j", "j", "j"]);
    let screen = tmux.wait_for("source of #4 main");
    assert!(line_with(&screen, "LINE:main_call").starts_with("│> 51 "), "{screen}");
    tmux.quit();
}

/// The viewer reads a frame's variables when it shows the frame: one
/// whose parameters refer to a type the snapshot's table does not have
/// says so in the variables pane, where `show`, which reads every
/// variable, refuses the file.
#[test]
fn a_frame_whose_variables_cannot_be_read_says_why() {
    if !tool_available("tmux") {
        return;
    }
    let path = crash_snapshot("view-corrupt");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let faulted = json["threads"].as_array_mut().unwrap().iter_mut().find(|t| t["faulted"] == true).unwrap();
    faulted["frames"][0]["parameters"][0]["type"] = 99999.into();
    let corrupt = work_dir().join("view-corrupt-type.json");
    std::fs::write(&corrupt, json.to_string()).unwrap();
    let err = one_line_error(&ptsnap(&["show", corrupt.to_str().unwrap()]));
    assert!(err.contains("type 99999 is not in the types table"), "{err}");

    let tmux = Tmux::view("corrupt", &[corrupt.to_str().unwrap()]);
    let screen = tmux.wait_for("variables of #0 recurse");
    let said = line_with(&screen, "the parameters cannot be read");
    assert!(said.starts_with("│the parameters cannot be read: type 99999 is not in the types table"), "{screen}");
    assert!(line_with(&screen, "tls errno").starts_with("│> "), "the TLS, read and selected:\n{screen}");
    // The caller's frame: its own parameters.
    tmux.keys(&["j"]);
    let screen = tmux.wait_for("variables of #1 recurse");
    assert!(!screen.contains("cannot be read"), "{screen}");
    assert!(line_with(&screen, "info = 0x").contains("> ▸ info = 0x"), "{screen}");
    tmux.quit();
}
