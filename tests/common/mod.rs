//! Shared test support: fixtures compiled at test time with the system C
//! compiler, started and synchronised by their "ready" line, always killed
//! by a guard; running ptsnap and reading its snapshot.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod events;
pub mod gdb;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

/// Tests that ptrace run one at a time within a test binary.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn work_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ptsnap-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles `tests/fixtures/<source>` into `<out_name>` with `flags`
/// (C++ sources with the C++ compiler, Rust with rustc) and returns the
/// binary's path.
pub fn build(source: &str, out_name: &str, flags: &[&str]) -> PathBuf {
    if source.ends_with(".rs") {
        let out = work_dir().join(out_name);
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let src = fixtures_dir().join(source);
        let status = Command::new(&rustc).args(flags).arg("-o").arg(&out).arg(&src).status().unwrap();
        assert!(status.success(), "compiling {source} with {flags:?} failed");
        return out;
    }
    build_program(&[source], out_name, flags)
}

/// Compiles and links the C or C++ `tests/fixtures/<sources>` with the
/// system compiler (`CC`/`CXX`, else `cc`/`c++`) into one program
/// `<out_name>`.
pub fn build_program(sources: &[&str], out_name: &str, flags: &[&str]) -> PathBuf {
    let compiler = if sources.iter().any(|s| s.ends_with(".cpp")) {
        std::env::var("CXX").unwrap_or_else(|_| "c++".into())
    } else {
        std::env::var("CC").unwrap_or_else(|_| "cc".into())
    };
    build_units(&compiler, sources, out_name, flags)
}

fn compile(compiler: &str, sources: &[PathBuf], out: &Path, flags: &[&str]) {
    let status = Command::new(compiler)
        .args(flags)
        .arg("-o")
        .arg(out)
        .args(sources)
        .arg("-pthread")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(status.success(), "compiling {sources:?} with {compiler} {flags:?} failed");
}

/// A compiler family fixtures are built with: gcc and clang write different
/// DWARF (location lists, entry values, call sites, unnamed parameters), and
/// gdb must agree with ptsnap on both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compiler {
    Gcc,
    Clang,
}

impl Compiler {
    pub const ALL: [Compiler; 2] = [Compiler::Gcc, Compiler::Clang];

    pub fn name(self) -> &'static str {
        match self {
            Compiler::Gcc => "gcc",
            Compiler::Clang => "clang",
        }
    }

    fn program(self, cpp: bool) -> &'static str {
        match (self, cpp) {
            (Compiler::Gcc, false) => "gcc",
            (Compiler::Gcc, true) => "g++",
            (Compiler::Clang, false) => "clang",
            (Compiler::Clang, true) => "clang++",
        }
    }

    /// Whether its C and C++ compilers are installed; under CI they must be.
    pub fn available(self) -> bool {
        tool_available(self.program(false)) && tool_available(self.program(true))
    }
}

/// Compiles a C or C++ fixture with `compiler` into `<out_name>-<compiler>`
/// and returns the binary's path.
pub fn build_with(compiler: Compiler, source: &str, out_name: &str, flags: &[&str]) -> PathBuf {
    let out = work_dir().join(format!("{out_name}-{}", compiler.name()));
    compile(compiler.program(source.ends_with(".cpp")), &[fixtures_dir().join(source)], &out, flags);
    out
}

/// Compiles and links several `tests/fixtures/` sources (translation
/// units) with `compiler` (`cc`, `c++`, `clang`, `clang++`) and `flags`
/// into `<out_name>`; returns the binary's path.
pub fn build_units(compiler: &str, sources: &[&str], out_name: &str, flags: &[&str]) -> PathBuf {
    let out = work_dir().join(out_name);
    compile(compiler, &sources.iter().map(|s| fixtures_dir().join(s)).collect::<Vec<_>>(), &out, flags);
    out
}

/// Runs a tool (objcopy, strip) that must succeed.
pub fn tool(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}

/// The line number of the line holding `LINE:<marker>` (in a comment) in a fixture.
pub fn line_of(source: &str, marker: &str) -> u64 {
    let text = std::fs::read_to_string(fixtures_dir().join(source)).unwrap();
    let tag = format!("LINE:{marker}");
    text.lines()
        .position(|l| l.split_whitespace().any(|w| w == tag))
        .map(|i| i as u64 + 1)
        .unwrap_or_else(|| panic!("no marker {marker} in {source}"))
}

/// A started fixture, killed when dropped.
pub struct Running {
    pub child: Child,
    pub stdout: BufReader<ChildStdout>,
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` and waits for its "ready" line.
pub fn start(binary: &Path, args: &[&str]) -> Running {
    start_with_env(binary, args, &[])
}

/// Starts `binary` with the environment variables `env` added and waits
/// for its "ready" line.
pub fn start_with_env(binary: &Path, args: &[&str], env: &[(&str, &Path)]) -> Running {
    let mut child = Command::new(binary)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let stdout = child.stdout.take().expect("stdout was piped");
    let mut running = Running { stdout: BufReader::new(stdout), child };
    let mut line = String::new();
    loop {
        line.clear();
        let n = running.stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "{} exited before printing ready", binary.display());
        if line.trim() == "ready" {
            return running;
        }
    }
}

pub fn ptsnap_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ptsnap")
}

pub fn ptsnap(args: &[&str]) -> Output {
    Command::new(ptsnap_bin()).args(args).output().expect("cannot run ptsnap")
}

/// Reads a snapshot a test made, checks it against the schema of its
/// version (docs/snapshot.schema.json, or docs/snapshot-v1.schema.json),
/// and returns it expanded as ptsnap reads it: every field of every
/// thread, frame and variable present, a variable's type inline and each
/// `target` the variable itself. Every snapshot the tests write is
/// validated, and read by the same reader `ptsnap show` uses.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let raw: Value = serde_json::from_str(&text).expect("snapshot is JSON");
    assert_schema_valid(&raw, &path.display().to_string());
    let snap = ptsnap::snapshot::writer::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::to_value(&snap).expect("a snapshot read serializes")
}

/// Asserts that `snap` is valid under the schema of its version.
pub fn assert_schema_valid(snap: &Value, what: &str) {
    type Validators = [std::sync::OnceLock<jsonschema::Validator>; 2];
    static VALIDATORS: Validators = [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    let (slot, text) = match snap["version"].as_u64() {
        Some(1) => (&VALIDATORS[0], include_str!("../../docs/snapshot-v1.schema.json")),
        _ => (&VALIDATORS[1], include_str!("../../docs/snapshot.schema.json")),
    };
    let validator = slot.get_or_init(|| {
        let schema = serde_json::from_str(text).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
    });
    let errors: Vec<String> =
        validator.iter_errors(snap).take(5).map(|e| format!("{e} (at {})", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not match its version's schema:\n{}", errors.join("\n"));
}

/// The snapshot as written, not expanded (for tests of the encoding).
pub fn read_raw_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("snapshot is JSON")
}

/// Snapshots a live process with extra options; returns the snapshot.
pub fn snapshot(pid: i32, name: &str, extra: &[&str]) -> Value {
    let out = work_dir().join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let pid_s = pid.to_string();
    let mut args: Vec<&str> = vec!["-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(&pid_s);
    let o = ptsnap(&args);
    assert!(o.status.success(), "ptsnap failed: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), out.to_str().unwrap());
    read_json(&out)
}

/// Runs a program under `ptsnap run`; returns the snapshot (if written),
/// ptsnap's exit code and its stderr.
pub fn run_crash(binary: &Path, args: &[&str], name: &str, extra: &[&str]) -> (Option<Value>, i32, String) {
    let out = work_dir().join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new(ptsnap_bin());
    cmd.arg("run").arg("-o").arg(&out).args(extra).arg("--").arg(binary).args(args);
    let o = cmd.output().expect("cannot run ptsnap");
    let snap = out.exists().then(|| read_json(&out));
    (snap, o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// The thread with this tid.
pub fn thread(snap: &Value, tid: i64) -> &Value {
    snap["threads"].as_array().unwrap().iter().find(|t| t["tid"] == tid).unwrap_or_else(|| panic!("no thread {tid}"))
}

/// A frame as (function, file basename, line) for exact comparisons.
pub fn frame_key(f: &Value) -> (String, String, u64) {
    let file = f["file"].as_str().map(|p| Path::new(p).file_name().unwrap().to_string_lossy().into_owned());
    (f["function"].as_str().unwrap_or("??").to_string(), file.unwrap_or_default(), f["line"].as_u64().unwrap_or(0))
}

pub fn frames(thread: &Value) -> Vec<(String, String, u64)> {
    thread["frames"].as_array().unwrap().iter().map(frame_key).collect()
}

pub fn functions(thread: &Value) -> Vec<String> {
    frames(thread).into_iter().map(|f| f.0).collect()
}

/// The frames from `first` (a function name) on: the part of a stack that
/// belongs to the fixture, below the C library's.
pub fn frames_from(thread: &Value, first: &str) -> Vec<(String, String, u64)> {
    let all = frames(thread);
    let i = all.iter().position(|f| f.0 == first).unwrap_or_else(|| panic!("no frame {first} in {all:?}"));
    all[i..].to_vec()
}

/// Whether the C library's debug info is installed (frames inside libc
/// then have files and lines).
pub fn libc_has_debug_info() -> bool {
    let Ok(out) = Command::new("sh")
        .arg("-c")
        .arg("readelf -n $(ldd /bin/true | awk '/libc.so/{print $3}') | awk '/Build ID/{print $3}'")
        .output()
    else {
        return false;
    };
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    id.len() > 2 && Path::new(&format!("/usr/lib/debug/.build-id/{}/{}.debug", &id[..2], &id[2..])).exists()
}

/// Whether a tool a test needs is installed. Under CI (`CI=true`), where
/// `.ci/run` installs every one, a missing tool fails the test instead of
/// letting it pass without checking anything.
pub fn tool_available(name: &str) -> bool {
    let have = has_program(name);
    assert!(have || std::env::var("CI").as_deref() != Ok("true"), "{name} is not installed; .ci/run installs it");
    have
}

/// Whether the C library's debug info is installed; under CI it must be.
pub fn libc_debug_info_available() -> bool {
    let have = libc_has_debug_info();
    assert!(have || std::env::var("CI").as_deref() != Ok("true"), "libc6-dbg is not installed; .ci/run installs it");
    have
}

pub fn has_program(name: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().is_ok_and(|o| o.status.success())
}

/// The process is running again and nobody traces it.
pub fn assert_released(pid: i32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field =
        |k: &str| status.lines().find(|l| l.starts_with(k)).unwrap().split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(field("TracerPid:"), "0", "still traced");
    for tid in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let stat = std::fs::read_to_string(tid.unwrap().path().join("stat")).unwrap();
        let state = stat.rsplit(')').next().unwrap().split_whitespace().next().unwrap().to_string();
        assert!(state != "t" && state != "T", "a thread was left stopped: {stat}");
    }
}

/// ptsnap failed with exit status 1 and one line `ptsnap: error: ...`,
/// which is returned.
pub fn one_line_error(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "exit status; stderr: {}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("ptsnap: error: "), "{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    err
}

/// The texts of a snapshot object's annotations.
pub fn annotations_text(v: &Value) -> Vec<String> {
    v["annotations"]
        .as_array()
        .map_or(Vec::new(), |a| a.iter().filter_map(|x| x["text"].as_str().map(String::from)).collect())
}

/// Empties every `rseq_area` (in glibc's `struct pthread`): the kernel
/// writes there the CPU a thread last ran on each time it is scheduled,
/// so it changes between two snapshots of a hung process.
pub fn forget_rseq(v: &mut Value) {
    match v {
        Value::Object(o) if o.get("name").is_some_and(|n| n == "rseq_area") => o.clear(),
        Value::Object(o) => o.values_mut().for_each(forget_rseq),
        Value::Array(a) => a.iter_mut().for_each(forget_rseq),
        _ => {}
    }
}
