//! What a snapshot run was asked to do, validated: the library-side view of
//! the command line.

use std::path::PathBuf;
use std::time::Duration;

use crate::debuginfo::locate::DebugDirs;
use crate::debuginfo::section_cache::SectionCache;
use crate::variables::Limits;

/// How long the target may stay stopped when `--max-pause` is not given.
pub const DEFAULT_MAX_PAUSE: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Options {
    pub output: Option<PathBuf>,
    pub output_dir: Option<PathBuf>,
    pub kv: Vec<(String, String)>,
    pub classifiers: Vec<String>,
    pub application: Option<String>,
    pub fault_thread: Option<i32>,
    pub faulted: bool,
    /// Only these threads are extracted (all are stopped); empty means all.
    pub threads: Vec<i32>,
    pub debug_dirs: Vec<PathBuf>,
    /// Where inflated debug sections are kept between runs; None: nowhere.
    pub section_cache: Option<SectionCache>,
    /// `ptsnap core --sysroot DIR`: the files a core names, and the debug
    /// files found from them, are looked for under DIR first.
    pub sysroot: Option<PathBuf>,
    /// Stop working, release the target and write what was gathered this
    /// long after ptsnap started.
    pub timeout: Option<Duration>,
    /// The longest the target stays stopped, whatever runs meanwhile.
    pub max_pause: Duration,
    pub max_frames: usize,
    /// Threads that extract the stopped process's threads (`--jobs`): on
    /// two, each reads its own half of them, with debug info of its own.
    /// None: [`default_jobs`], found when it is needed (a snapshot of
    /// many threads with variables): the CPUs a process may use are read
    /// from its cgroup's files, a tenth of a millisecond.
    pub jobs: Option<usize>,
    /// Read parameters, locals and TLS variables (`--no-variables` clears it).
    pub variables: bool,
    pub limits: Limits,
    /// `--global NAME` or `--global OBJECT:NAME`: (object, name).
    pub globals: Vec<(Option<String>, String)>,
    /// `--globals`: every global of the main executable.
    pub all_globals: bool,
    /// `--tls-all`: the TLS variables of every module, not just the executable's.
    pub tls_all: bool,
    pub pmodules: crate::pmodule::Options,
}

impl Options {
    /// The extraction threads: `--jobs`, else [`default_jobs`].
    pub fn jobs(&self) -> usize {
        self.jobs.unwrap_or_else(default_jobs)
    }

    pub fn wants_thread(&self, tid: i32) -> bool {
        self.threads.is_empty() || self.threads.contains(&tid)
    }

    /// Where separate debug files are looked for: `--debug-dir`s, the
    /// system's directory, under the sysroot first.
    pub fn debug_search(&self) -> DebugDirs {
        DebugDirs::new(&self.debug_dirs).with_sysroot(self.sysroot.as_deref())
    }
}

/// Two extraction threads, or one on a machine with one CPU.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

impl Default for Options {
    fn default() -> Self {
        Options {
            output: None,
            output_dir: None,
            kv: Vec::new(),
            classifiers: Vec::new(),
            application: None,
            fault_thread: None,
            faulted: false,
            threads: Vec::new(),
            debug_dirs: Vec::new(),
            section_cache: None,
            sysroot: None,
            timeout: None,
            max_pause: DEFAULT_MAX_PAUSE,
            max_frames: 1024,
            jobs: None,
            variables: true,
            limits: Limits::default(),
            globals: Vec::new(),
            all_globals: false,
            tls_all: false,
            pmodules: crate::pmodule::Options::default(),
        }
    }
}
