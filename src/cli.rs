//! The command line: clap definitions and their validation into
//! [`Options`]. Option names follow the crash-handler integrations that
//! already call a tracer with `--kv`, `--fault-thread`, `--thread`,
//! `--faulted` and a PID.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser, Subcommand};

use ptsnap::debuginfo::section_cache::SectionCache;
use ptsnap::options::Options;
use ptsnap::pmodule;
use ptsnap::variables::Limits;

#[derive(Debug, Parser)]
#[command(
    name = "ptsnap",
    version,
    about = "Snapshot a crashed or hung Linux process: threads, frames, symbols, as JSON",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Process to snapshot (it keeps running afterwards).
    #[arg(required = true)]
    pub pid: Option<i32>,
    #[command(flatten)]
    pub snapshot: SnapshotArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a program traced and snapshot it when a fatal signal arrives.
    Run {
        #[command(flatten)]
        snapshot: Box<SnapshotArgs>,
        /// The program and its arguments (after `--`).
        #[arg(required = true, last = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
    /// Snapshot an ELF core dump: the same snapshot as of the live process.
    Core {
        #[command(flatten)]
        snapshot: Box<SnapshotArgs>,
        /// The executable to read instead of the one the core names (it
        /// must have the build-id the core records).
        #[arg(long, value_name = "PATH")]
        exe: Option<PathBuf>,
        /// Look for the files the core names (executable, libraries, and
        /// the debug files found from them) under DIR first, as gdb's `set
        /// sysroot`: for a core examined on another machine.
        #[arg(long, value_name = "DIR")]
        sysroot: Option<PathBuf>,
        /// The crashed process's pid, while /proc still has it (a
        /// `kernel.core_pattern` handler's `%P`): its exact command line
        /// and working directory.
        #[arg(long, value_name = "PID")]
        pid: Option<i32>,
        /// The core file, or `-` to read it from standard input (as a
        /// `kernel.core_pattern` pipe handler).
        core: PathBuf,
    },
    /// Print a snapshot for a person to read.
    Show {
        /// Print threads with identical stacks once, with their count.
        #[arg(long)]
        group: bool,
        /// The snapshot file.
        snapshot: PathBuf,
    },
    /// Browse a snapshot in the terminal: threads, frames, variables; given
    /// a PID, snapshot that process first, given `run -- CMD`, the program's
    /// crash (the snapshot options apply).
    View {
        /// No colours (also when NO_COLOR is set).
        #[arg(short = 'm', long)]
        monochrome: bool,
        /// Where to look for a source file not found where the snapshot
        /// says (by its path below DIR, then by its name); repeatable.
        #[arg(long, value_name = "DIR")]
        source_path: Vec<PathBuf>,
        #[command(flatten)]
        snapshot: Box<SnapshotArgs>,
        /// The snapshot file, the PID of a process to snapshot (a number
        /// that names no file), or `run` and a program after `--` to run
        /// traced and view when it crashes.
        #[arg(value_name = "SNAPSHOT|PID|run")]
        target: PathBuf,
        /// After `run`: the program and its arguments (after `--`).
        #[arg(last = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
}

/// The snapshot options (`--kv`, `-o`...) given on the command line of
/// `ptsnap view`, as `--name`: they apply to a live snapshot only.
pub fn view_snapshot_options(matches: &ArgMatches) -> Vec<String> {
    let Some(("view", view)) = matches.subcommand() else { return Vec::new() };
    let options = SnapshotArgs::augment_args(clap::Command::new("options"));
    options
        .get_arguments()
        .filter(|a| view.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .map(|a| format!("--{}", a.get_long().unwrap_or(a.get_id().as_str())))
        .collect()
}

#[derive(Debug, Args, Clone, Default)]
pub struct SnapshotArgs {
    /// Write the snapshot to FILE.
    #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "output_dir")]
    pub output: Option<PathBuf>,
    /// Write the snapshot into DIR, named <exe>.<pid>.<unixtime>.json.
    #[arg(short = 'O', long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Key-value attributes to record, KEY:VAL[,KEY:VAL...] (repeatable).
    #[arg(long, value_name = "KEY:VAL[,KEY:VAL]")]
    pub kv: Vec<String>,
    /// A classifier to record (repeatable).
    #[arg(long, value_name = "NAME")]
    pub classifier: Vec<String>,
    /// The application name to record.
    #[arg(long, value_name = "NAME")]
    pub application: Option<String>,
    /// The thread that faulted (e.g. the thread running a crash handler).
    #[arg(long, value_name = "TID")]
    pub fault_thread: Option<i32>,
    /// The process crashed: find the faulting thread from signal state.
    #[arg(long)]
    pub faulted: bool,
    /// Only extract these threads (repeatable).
    #[arg(long = "thread", value_name = "TID")]
    pub threads: Vec<i32>,
    /// Also look for separate debug files under DIR (repeatable).
    #[arg(long, value_name = "DIR")]
    pub debug_dir: Vec<PathBuf>,
    /// Keep the debug sections inflated from compressed debug files in DIR
    /// for later runs (default: $XDG_CACHE_HOME/ptsnap, else ~/.cache/ptsnap).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache of inflated debug sections.
    #[arg(long)]
    pub no_cache: bool,
    /// Release the target, write what was gathered and exit after SECS
    /// seconds; the snapshot records what was done.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// The longest the target stays stopped: at SECS the target is released
    /// whatever is still running, and the snapshot records what was done.
    #[arg(long, value_name = "SECS", default_value_t = ptsnap::options::DEFAULT_MAX_PAUSE.as_secs_f64())]
    pub max_pause: f64,
    /// Frames per thread at most.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_frames: usize,
    /// Threads that read the stopped process's stacks and variables, each
    /// a share of its threads (default: 2, or 1 on a one-CPU machine).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Do not read parameters, locals or TLS variables.
    #[arg(long)]
    pub no_variables: bool,
    /// Record this global variable; OBJECT:NAME picks the module (repeatable).
    #[arg(long = "global", value_name = "[OBJECT:]NAME")]
    pub global: Vec<String>,
    /// Record every global variable of the main executable.
    #[arg(long)]
    pub globals: bool,
    /// Record the TLS variables of every module, not only the executable's.
    #[arg(long)]
    pub tls_all: bool,
    /// Pointers followed from a variable (0: addresses only).
    #[arg(long, value_name = "N", default_value_t = Limits::default().deref_depth)]
    pub deref_depth: usize,
    /// Array elements shown per array.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_elements)]
    pub max_elements: usize,
    /// Bytes of a string shown.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_string)]
    pub max_string: usize,
    /// Members shown per struct, class or union.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_members)]
    pub max_members: usize,
    /// Nesting of members, elements and pointer targets below a variable.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Bytes of target memory read for variables in the whole snapshot.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_total_bytes)]
    pub max_variable_bytes: u64,
    /// Load this pmodule (repeatable).
    #[arg(long, value_name = "FILE")]
    pub module_load: Vec<PathBuf>,
    /// Load every *.lua under DIR, recursively (repeatable).
    #[arg(long, value_name = "DIR")]
    pub modules_path: Vec<PathBuf>,
    /// Do not load the modules of the default paths.
    #[arg(long)]
    pub no_default_modules: bool,
    /// Do not run the module ID, bundled or found (repeatable).
    #[arg(long = "no-module", value_name = "ID")]
    pub no_module: Vec<String>,
    /// An argument for a module: ID:KEY=VAL or ID:K1,V1,K2,V2 (repeatable).
    #[arg(long = "module", value_name = "ID:KEY=VAL")]
    pub module_args: Vec<String>,
    /// Lua libraries modules may use besides the safe ones: io, os, package (debug is refused: it would let a module lift its own limits).
    #[arg(long, value_name = "LIB[,LIB]", value_delimiter = ',')]
    pub sandbox_whitelist: Vec<String>,
    /// Memory a module may allocate, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = pmodule::sandbox::Limits::default().memory_bytes >> 20)]
    pub module_memory: usize,
    /// Lua instructions a module callback may run.
    #[arg(long, value_name = "N", default_value_t = pmodule::sandbox::Limits::default().instructions)]
    pub module_instructions: u64,
    /// Messages of modules shown on stderr from this level: debug, info, warning, error.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
    /// Show modules' debug messages (same as --log-level debug).
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

impl SnapshotArgs {
    pub fn into_options(self) -> Result<Options, String> {
        let mut kv = Vec::new();
        for item in self.kv.iter().flat_map(|s| s.split(',')) {
            let (k, v) = item.split_once(':').ok_or_else(|| format!("--kv expects KEY:VALUE, got `{item}`"))?;
            if k.is_empty() {
                return Err(format!("--kv has an empty key in `{item}`"));
            }
            kv.push((k.to_string(), v.to_string()));
        }
        let timeout = self.timeout.map(|t| seconds("--timeout", t)).transpose()?;
        let max_pause = seconds("--max-pause", self.max_pause)?;
        if self.max_frames == 0 {
            return Err("--max-frames must be at least 1".into());
        }
        if self.jobs == Some(0) {
            return Err("--jobs must be at least 1".into());
        }
        let mut globals = Vec::new();
        for g in &self.global {
            let (object, name) = match g.split_once(':') {
                // `ns::name` is a C++ name, not OBJECT:NAME.
                Some((o, n)) if !n.starts_with(':') => (Some(o.to_string()), n.to_string()),
                _ => (None, g.clone()),
            };
            if name.is_empty() || object.as_deref() == Some("") {
                return Err(format!("--global expects NAME or OBJECT:NAME, got `{g}`"));
            }
            globals.push((object, name));
        }
        let mut module_args = Vec::new();
        for a in &self.module_args {
            module_args.extend(pmodule::parse_module_argument(a).map_err(|e| e.to_string())?);
        }
        let log_level =
            if self.verbose {
                pmodule::LogLevel::Debug
            } else {
                pmodule::LOG_LEVELS.iter().find(|(n, _)| *n == self.log_level).map(|(_, l)| *l).ok_or_else(|| {
                    format!("--log-level must be debug, info, warning or error, got `{}`", self.log_level)
                })?
            };
        let pmodules = pmodule::Options {
            files: self.module_load,
            paths: self.modules_path,
            default_paths: !self.no_default_modules,
            disabled: self.no_module,
            args: module_args,
            whitelist: self.sandbox_whitelist,
            limits: pmodule::sandbox::Limits {
                memory_bytes: self
                    .module_memory
                    .checked_mul(1 << 20)
                    .filter(|&b| b > 0)
                    .ok_or_else(|| format!("--module-memory must be from 1 to {} MiB", usize::MAX >> 20))?,
                instructions: Some(self.module_instructions)
                    .filter(|&n| n > 0)
                    .ok_or("--module-instructions must be at least 1")?,
            },
            log_level,
        };
        Ok(Options {
            output: self.output,
            output_dir: self.output_dir,
            kv,
            classifiers: self.classifier,
            application: self.application,
            fault_thread: self.fault_thread,
            faulted: self.faulted,
            threads: self.threads,
            debug_dirs: self.debug_dir,
            section_cache: match self.no_cache {
                true => None,
                false => self.cache_dir.or_else(SectionCache::default_root).map(SectionCache::at),
            },
            sysroot: None,
            timeout,
            max_pause,
            max_frames: self.max_frames,
            jobs: self.jobs,
            variables: !self.no_variables,
            limits: Limits {
                deref_depth: self.deref_depth,
                max_elements: self.max_elements,
                max_string: self.max_string,
                max_members: self.max_members,
                max_depth: self.max_depth,
                max_total_bytes: self.max_variable_bytes,
            },
            globals,
            all_globals: self.globals,
            tls_all: self.tls_all,
            pmodules,
        })
    }
}

/// A number of seconds from the command line: positive, finite and small
/// enough for a deadline (`Duration` holds up to 2^64 s).
fn seconds(option: &str, secs: f64) -> Result<Duration, String> {
    Some(secs)
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{option} must be a positive number of seconds, got {secs}"))
}
