//! What a snapshot run was asked to do, validated: the library-side view of
//! the command line.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, Default)]
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
    pub timeout: Option<Duration>,
    pub max_frames: usize,
}

impl Options {
    pub fn wants_thread(&self, tid: i32) -> bool {
        self.threads.is_empty() || self.threads.contains(&tid)
    }
}
