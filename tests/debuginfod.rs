//! Debug files fetched by build id from a real debuginfod server (elfutils'
//! `debuginfod`, started here on 127.0.0.1 over a directory of debug
//! files), into the client cache gdb and elfutils share; a server that is
//! down or silent gives an `errors` entry within the time limit.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A `debuginfod` server over `dir`, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server and waits until it serves `build_id`'s debug file.
    fn start(dir: &Path, build_id: &str) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let db = dir.with_extension("sqlite");
        let _ = std::fs::remove_file(&db);
        let child = Command::new("debuginfod")
            .args(["-F", dir.to_str().unwrap(), "-p", &port.to_string(), "-d", db.to_str().unwrap(), "-t", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start debuginfod");
        let server = Server { child, url: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        while http_status(port, &format!("/buildid/{build_id}/debuginfo")) != Some(200) {
            assert!(started.elapsed() < Duration::from_secs(30), "debuginfod did not index {}", dir.display());
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

/// The status code of a GET on 127.0.0.1:`port`.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// The deep fixture built with debug info, then stripped of it (no
/// debuglink either), and its debug file in a directory of its own.
fn stripped_with_debug_file(name: &str) -> (PathBuf, PathBuf, String) {
    let bin = build("deep.c", name, &["-g", "-O0"]);
    let dir = work_dir().join(format!("{name}-srv"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let debug = dir.join(format!("{name}.debug"));
    tool("objcopy", &["--only-keep-debug", bin.to_str().unwrap(), debug.to_str().unwrap()]);
    tool("strip", &["--strip-debug", bin.to_str().unwrap()]);
    let out = Command::new("readelf").args(["-n", bin.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = text.lines().find_map(|l| l.trim().strip_prefix("Build ID: ")).expect("a build id").to_string();
    (bin, dir, id)
}

/// Snapshots `pid` with the given debuginfod environment.
fn snapshot_with_urls(pid: i32, name: &str, urls: &str, cache: &Path, extra: &[&str]) -> (Value, Duration) {
    let out = work_dir().join(format!("{name}.json"));
    let _ = std::fs::remove_file(&out);
    let started = Instant::now();
    let o = Command::new(ptsnap_bin())
        .args(["-o", out.to_str().unwrap(), "--no-default-modules"])
        .args(extra)
        .arg(pid.to_string())
        .env("DEBUGINFOD_URLS", urls)
        .env("DEBUGINFOD_CACHE_PATH", cache)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (read_json(&out), started.elapsed())
}

#[test]
fn debug_file_fetched_from_a_debuginfod_server() {
    if !tool_available("debuginfod") {
        return;
    }
    let _serial = serial();
    let (bin, dir, id) = stripped_with_debug_file("deep-debuginfod");
    let server = Server::start(&dir, &id);
    let target = start(&bin, &["5"]);
    let cache = work_dir().join("debuginfod-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let (snap, _) = snapshot_with_urls(target.pid(), "debuginfod", &server.url, &cache, &[]);
    let main = &snap["threads"][0];
    let deep: Vec<_> = frames(main).into_iter().filter(|f| f.0 == "descend").collect();
    assert_eq!(deep.len(), 6, "{:?}", frames(main));
    assert!(deep.iter().all(|f| f.1 == "deep.c" && f.2 > 0), "lines from the fetched file: {deep:?}");
    let module = snap["modules"].as_array().unwrap().iter().find(|m| m["path"] == bin.to_str().unwrap()).unwrap();
    let cached = cache.join(&id).join("debuginfo");
    assert_eq!(module["debug_file"], cached.to_str().unwrap());
    assert_eq!(module["debug_file_source"], "debuginfod");
    assert!(snap["errors"].as_array().unwrap().iter().all(|e| e["context"] != "debuginfod"), "{}", snap["errors"]);

    // The server gone, the cache still serves the file (as it does gdb).
    drop(server);
    let (again, _) = snapshot_with_urls(target.pid(), "debuginfod-cached", "http://127.0.0.1:1", &cache, &[]);
    let module = again["modules"].as_array().unwrap().iter().find(|m| m["path"] == bin.to_str().unwrap()).unwrap();
    assert_eq!(module["debug_file_source"], "debuginfod");
}

#[test]
fn a_server_that_is_down_or_silent_is_an_error_entry() {
    if !tool_available("debuginfod") {
        return;
    }
    let _serial = serial();
    let (bin, _, _) = stripped_with_debug_file("deep-nodebuginfod");
    let target = start(&bin, &["5"]);
    let cache = work_dir().join("debuginfod-cache-down");
    let _ = std::fs::remove_dir_all(&cache);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (snap, _) =
        snapshot_with_urls(target.pid(), "debuginfod-down", &format!("http://127.0.0.1:{port}"), &cache, &[]);
    let notes: Vec<&str> = snap["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["context"] == "debuginfod")
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(notes.iter().any(|m| m.contains(bin.to_str().unwrap())), "{notes:?}");
    assert_eq!(frames(&snap["threads"][0]).iter().filter(|f| f.0 == "descend").count(), 6, "symbols still name frames");

    // A server that accepts and never answers: the fetch is given up at
    // half of --timeout, and the snapshot is taken.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || silent.accept().map(|(conn, _)| conn));
    let (snap, took) = snapshot_with_urls(target.pid(), "debuginfod-silent", &url, &cache, &["--timeout", "3"]);
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(snap["errors"].as_array().unwrap().iter().any(|e| e["context"] == "debuginfod"), "{}", snap["errors"]);
    assert!(snap["errors"].as_array().unwrap().iter().all(|e| e["context"] != "cut"), "{}", snap["errors"]);
    drop(held);
}
