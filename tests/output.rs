//! Output files: a snapshot is created 0600 whatever the umask and
//! whatever it replaces, streams (devices, FIFOs) are written into and not
//! replaced, symlinks are not written through, write errors (a full
//! device, `ulimit -f`) are one-line errors, no temporary file is ever left
//! behind and the target is always released. And `ptsnap show` on crafted
//! snapshots: names cannot forge lines or terminal escapes, and any depth
//! of nesting is read and printed.

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use nix::sys::stat::{Mode, SFlag, makedev, mknod, umask};

/// A fresh, empty directory for one test.
fn test_dir(name: &str) -> PathBuf {
    let dir = work_dir().join(format!("output-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn hang() -> Running {
    let bin = build("hang.c", "hang-O0", &["-g", "-O0"]);
    start(&bin, &["1"])
}

/// Runs `ptsnap -o OUT PID`, with `setup` run in the child before exec
/// (a umask, a resource limit).
fn snapshot_to(out: &Path, pid: i32, setup: fn()) -> Output {
    let mut cmd = Command::new(ptsnap_bin());
    cmd.arg("-o").arg(out).arg(pid.to_string());
    // SAFETY: `setup` only makes async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(move || {
            setup();
            Ok(())
        })
    };
    cmd.output().expect("cannot run ptsnap")
}

fn no_setup() {}

/// `ulimit -f 4` (4 KiB; a snapshot of `hang` is some 60 KiB).
fn limit_file_size() {
    let limit = libc::rlimit { rlim_cur: 4096, rlim_max: 4096 };
    // SAFETY: setrlimit only reads the live `limit`. (nix's setrlimit
    // needs its "resource" feature, which ptsnap does not use.)
    unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &limit) };
}

fn snapshot_ok(out: &Path, pid: i32, setup: fn()) {
    let o = snapshot_to(out, pid, setup);
    assert!(o.status.success(), "ptsnap failed: {}", String::from_utf8_lossy(&o.stderr));
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The names in `dir`, sorted: what a test expects there and no
/// temporary file.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn files_are_0600_whatever_the_umask_and_the_file_replaced() {
    let _serial = serial();
    let proc_ = hang();
    let dir = test_dir("mode");
    let out = dir.join("x.json");
    snapshot_ok(&out, proc_.pid(), || {
        umask(Mode::from_bits_truncate(0o022));
    });
    assert_eq!(mode(&out), 0o600, "created under umask 022");
    // A umask that would take the owner's write bit away.
    fs::remove_file(&out).unwrap();
    snapshot_ok(&out, proc_.pid(), || {
        umask(Mode::from_bits_truncate(0o277));
    });
    assert_eq!(mode(&out), 0o600, "created under umask 277");
    // A world-readable file is replaced by a 0600 one.
    fs::write(&out, "old").unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o644)).unwrap();
    snapshot_ok(&out, proc_.pid(), no_setup);
    assert_eq!(mode(&out), 0o600, "replacing a 0644 file");
    assert_eq!(read_json(&out)["format"], "ptsnap-snapshot");
    assert_eq!(names(&dir), ["x.json"], "no temporary file left");
    assert_released(proc_.pid());
}

/// A device node stays the device it is, written into, not replaced: one
/// made for the test (the null device, 1:3) and the real `/dev/null`.
#[test]
fn devices_are_written_into_not_replaced() {
    let _serial = serial();
    let proc_ = hang();
    let dir = test_dir("device");
    let node = dir.join("null");
    let dev = makedev(1, 3);
    mknod(&node, SFlag::S_IFCHR, Mode::from_bits_truncate(0o666), dev).expect("mknod");
    snapshot_ok(&node, proc_.pid(), no_setup);
    let meta = fs::symlink_metadata(&node).unwrap();
    assert!(meta.file_type().is_char_device() && meta.rdev() == dev, "{meta:?}");
    assert_eq!(names(&dir), ["null"], "no temporary file left");

    let before = fs::symlink_metadata("/dev/null").unwrap();
    assert!(before.file_type().is_char_device());
    snapshot_ok(Path::new("/dev/null"), proc_.pid(), no_setup);
    let after = fs::symlink_metadata("/dev/null").unwrap();
    assert!(after.file_type().is_char_device() && after.rdev() == before.rdev(), "{after:?}");
    assert_released(proc_.pid());
}

#[test]
fn a_full_device_is_an_error() {
    let _serial = serial();
    let proc_ = hang();
    let err = one_line_error(&snapshot_to(Path::new("/dev/full"), proc_.pid(), no_setup));
    assert!(err.contains("cannot write the snapshot to /dev/full: No space left on device"), "{err}");
    assert!(fs::symlink_metadata("/dev/full").unwrap().file_type().is_char_device());
    assert_released(proc_.pid());
}

#[test]
fn a_fifo_gets_the_snapshot() {
    let _serial = serial();
    let proc_ = hang();
    let dir = test_dir("fifo");
    let fifo = dir.join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    snapshot_ok(&fifo, proc_.pid(), no_setup);
    let text = reader.join().unwrap();
    let snap: serde_json::Value = serde_json::from_str(&text).expect("the FIFO got the JSON");
    assert_eq!(snap["process"]["pid"], proc_.pid());
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(names(&dir), ["pipe"], "no temporary file left");
    assert_released(proc_.pid());
}

/// A symlink at the destination is not written through to the file it
/// names elsewhere, nor replaced; one to a device is followed.
#[test]
fn symlinks_are_not_written_through() {
    let _serial = serial();
    let proc_ = hang();
    let dir = test_dir("symlink");
    let outside = test_dir("symlink-outside").join("precious");
    fs::write(&outside, "precious").unwrap();
    let link = dir.join("x.json");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let err = one_line_error(&snapshot_to(&link, proc_.pid(), no_setup));
    assert!(err.contains("it is a symbolic link, followed only to a character device, FIFO or socket"), "{err}");
    assert_eq!(fs::read_to_string(&outside).unwrap(), "precious");
    assert_eq!(fs::read_link(&link).unwrap(), outside, "the link is left as it was");

    let dangling = dir.join("dangling.json");
    std::os::unix::fs::symlink(dir.join("nothing"), &dangling).unwrap();
    one_line_error(&snapshot_to(&dangling, proc_.pid(), no_setup));
    assert!(!dir.join("nothing").exists(), "a dangling link is not followed to create a file");

    let to_null = dir.join("null.json");
    std::os::unix::fs::symlink("/dev/null", &to_null).unwrap();
    snapshot_ok(&to_null, proc_.pid(), no_setup);
    assert!(fs::symlink_metadata(&to_null).unwrap().file_type().is_symlink());
    assert_eq!(names(&dir), ["dangling.json", "null.json", "x.json"], "no temporary file left");
    assert_released(proc_.pid());
}

#[test]
fn a_directory_is_an_error() {
    let _serial = serial();
    let proc_ = hang();
    let dir = test_dir("directory");
    let err = one_line_error(&snapshot_to(&dir, proc_.pid(), no_setup));
    assert!(err.contains("it is a directory"), "{err}");
    assert!(names(&dir).is_empty(), "nothing written into it");
    assert_released(proc_.pid());
}

/// `ulimit -f`: the write fails with EFBIG (ptsnap is not killed by
/// SIGXFSZ), and neither the destination nor a temporary file is left.
#[test]
fn a_file_size_limit_is_an_error() {
    let _serial = serial();
    let proc_ = hang();
    let dir = test_dir("fsize");
    let out = dir.join("x.json");
    let err = one_line_error(&snapshot_to(&out, proc_.pid(), limit_file_size));
    assert!(err.contains("File too large"), "{err}");
    assert!(names(&dir).is_empty(), "no file left: {:?}", names(&dir));
    // An existing snapshot stays as it was.
    fs::write(&out, "old").unwrap();
    one_line_error(&snapshot_to(&out, proc_.pid(), limit_file_size));
    assert_eq!(fs::read_to_string(&out).unwrap(), "old");
    assert_eq!(names(&dir), ["x.json"]);
    assert_released(proc_.pid());
}

/// A real snapshot of `hang`, edited by `edit`, written to `name` in a
/// test directory; `ptsnap show` on it.
fn show_edited(name: &str, edit: impl FnOnce(&mut serde_json::Value) -> String) -> Output {
    let _serial = serial();
    let proc_ = hang();
    let mut snap = snapshot(proc_.pid(), &format!("output-{name}"), &[]);
    let text = edit(&mut snap);
    let path = test_dir(name).join("edited.json");
    fs::write(&path, text).unwrap();
    ptsnap(&["show", path.to_str().unwrap()])
}

/// Function and thread names with a terminal escape and a newline print
/// as visible escapes: no forged frame line, no escape reaches the terminal.
#[test]
fn show_escapes_names_from_the_snapshot() {
    let o = show_edited("show-escapes", |snap| {
        let thread = &mut snap["threads"][0];
        thread["name"] = "evil\x1b[31m\nthread 1 \"fake\" sleeping".into();
        thread["frames"][0]["function"] = "f\x1b]0;title\x07\n#1   0x0000000000000000 in fake ()".into();
        snap.to_string()
    });
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains(r#""evil\x1b[31m\nthread 1 "fake" sleeping" "#), "{text}");
    assert!(text.contains(r"in f\x1b]0;title\x07\n#1   0x0000000000000000 in fake ()"), "{text}");
    assert!(!text.contains(['\x1b', '\x07']), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("#1   0x0000000000000000") || l.starts_with("thread 1 ")), "{text}");
}

/// A global nested 1,000 levels deep, both through pointer targets (as
/// `--deref-depth` on a long list writes them) and through members (which
/// `show` prints), is read and shown: serde_json alone stops at 128.
#[test]
fn show_reads_and_prints_deep_nesting() {
    const DEPTH: usize = 1000;
    let o = show_edited("show-deep", |snap| {
        assert_eq!(snap["globals"], serde_json::json!([]));
        let targets = format!(
            "{}{{\"name\":\"bottom\"}}{}",
            r#"{"name":"p","kind":"reference","location":"memory","value":16,"target":"#.repeat(DEPTH),
            "}".repeat(DEPTH)
        );
        let members = format!(
            "{}{{\"name\":\"x\",\"kind\":\"ll\",\"location\":\"memory\",\"value\":7}}{}",
            r#"{"name":"s","kind":"tuple","location":"memory","members":["#.repeat(DEPTH),
            "]}".repeat(DEPTH)
        );
        let text = snap.to_string();
        text.replacen(r#""globals":[]"#, &format!(r#""globals":[{targets},{members}]"#), 1)
    });
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("\n  p = 0x10\n"), "{text}");
    let nested = format!("\n  s = {}x = 7{}\n", "{s = ".repeat(DEPTH - 1) + "{", "}".repeat(DEPTH));
    assert!(text.contains(&nested), "members printed to the bottom");
}
