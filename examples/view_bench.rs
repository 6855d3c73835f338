//! Times `ptsnap view` on a snapshot: opening it (reading the file, the
//! viewer's state, the first screen), then each key of a script that goes
//! through every pane (threads, a group opened, ungrouping, frames,
//! variables expanded, a search with n and N (each search going on
//! between keys timed a slice at a time), a thread filter, the info
//! and source panes), each key handled and the screen drawn at 120x40 as
//! in a terminal (ratatui's TestBackend: no terminal output). Prints each
//! figure, and last a JSON line for bench/bench.py: open time, the
//! slowest key, peak RSS against the file's size.
//!
//! Usage: cargo run --release --example view_bench -- SNAPSHOT

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ptsnap::snapshot::lazy::LazySnapshot;
use ptsnap::view::{Headless, Theme};

/// The keys, each with what it does.
fn script() -> Vec<(&'static str, KeyCode)> {
    let mut keys = vec![
        ("Shift-Tab: to the threads", KeyCode::BackTab),
        ("j: onto the next row", KeyCode::Char('j')),
        ("Enter: open the group", KeyCode::Enter),
        ("j: a thread of the group", KeyCode::Char('j')),
        ("End: the last thread", KeyCode::End),
        ("g: ungroup", KeyCode::Char('g')),
        ("PgUp: a page up", KeyCode::PageUp),
        ("g: group", KeyCode::Char('g')),
        ("Tab: to the frames", KeyCode::Tab),
        ("j: the next frame", KeyCode::Char('j')),
        ("k: back", KeyCode::Char('k')),
        ("Tab: to the variables", KeyCode::Tab),
        ("Enter: expand", KeyCode::Enter),
        ("j: down", KeyCode::Char('j')),
        ("Enter: expand", KeyCode::Enter),
        ("/: search", KeyCode::Char('/')),
    ];
    let typed = |text: &'static str| text.chars().map(|c| ("type", KeyCode::Char(c)));
    keys.extend(typed("mutex"));
    keys.extend([
        ("Enter: search every thread", KeyCode::Enter),
        ("n: next match", KeyCode::Char('n')),
        ("N: previous match", KeyCode::Char('N')),
        ("N: previous match (wraps)", KeyCode::Char('N')),
        // The broadest search: a name of one letter found in most lists.
        ("/: search again", KeyCode::Char('/')),
    ]);
    keys.extend(typed("a"));
    keys.extend([("Enter: search every thread for a", KeyCode::Enter), ("f: filter threads", KeyCode::Char('f'))]);
    keys.extend(typed("idle"));
    keys.extend([
        ("Enter: keep the filter", KeyCode::Enter),
        ("Esc: every thread", KeyCode::Esc),
        ("i: the info pane", KeyCode::Char('i')),
        ("PgDn: scroll it", KeyCode::PageDown),
        ("s: the source pane", KeyCode::Char('s')),
        ("g: ungroup", KeyCode::Char('g')),
    ]);
    keys
}

/// The process's peak resident set, in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// A figure in KiB of /proc/self/status (`VmHWM:`, `VmRSS:`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<(), String> {
    let path = std::env::args().nth(1).ok_or("usage: view_bench SNAPSHOT")?;
    let file_bytes = std::fs::metadata(&path).map_err(|e| format!("{path}: {e}"))?.len();
    let start = Instant::now();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let snap = LazySnapshot::parse(&text).map_err(|e| format!("{path}: {e}"))?;
    let read = start.elapsed();
    let read_rss = peak_rss_kib();
    let mut viewer = Headless::new(&snap, Theme { color: true }, 120, 40);
    let open = start.elapsed();
    println!("{path}: {:.1} MB, {} threads", file_bytes as f64 / 1e6, snap.snapshot.threads.len());
    println!("open: {:.1} ms (reading {:.1} ms, state and first screen {:.1} ms)", ms(open), ms(read), ms(open - read));

    let mut worst = (0.0, "");
    for (what, code) in script() {
        let key = KeyEvent::new(code, KeyModifiers::NONE);
        let t = Instant::now();
        viewer.key(key);
        let took = ms(t.elapsed());
        if what != "type" {
            println!("  {took:>8.2} ms  {what}");
        }
        if took > worst.0 {
            worst = (took, what);
        }
        if what.starts_with("Enter: search") {
            let screen = viewer.screen();
            println!("            {}", screen.last().map_or("", |l| l.trim_end()));
        }
        // A search of many threads goes on between keys, a slice at a
        // time: a key pressed meanwhile waits for the slice, which counts
        // as a key.
        let (mut slices, mut longest, all) = (0, 0.0f64, Instant::now());
        while viewer.searching() {
            let t = Instant::now();
            viewer.search_on();
            let took = ms(t.elapsed());
            (slices, longest) = (slices + 1, longest.max(took));
            if took > worst.0 {
                worst = (took, "(a search going on)");
            }
        }
        if slices > 0 {
            println!(
                "  {:>8.2} ms  the search going on: {slices} more slices, the longest {longest:.2} ms",
                ms(all.elapsed())
            );
            println!("            {}", viewer.screen().last().map_or("", |l| l.trim_end()));
        }
    }
    let rss = peak_rss_kib();
    println!("slowest key: {:.2} ms ({})", worst.0, worst.1);
    // What the allocator kept of what the keys read and dropped.
    let end_rss = status_kib("VmRSS:");
    println!(
        "peak RSS: {:.1} MiB, {:.2}x the file ({:.1} MiB once the snapshot was read, {:.1} MiB at the end)",
        rss as f64 / 1024.0,
        rss as f64 * 1024.0 / file_bytes as f64,
        read_rss as f64 / 1024.0,
        end_rss as f64 / 1024.0
    );
    println!(
        "{{\"file_bytes\": {file_bytes}, \"open_ms\": {:.3}, \"worst_key_ms\": {:.3}, \"worst_key\": {:?}, \"peak_rss_kib\": {rss}}}",
        ms(open),
        worst.0,
        worst.1
    );
    Ok(())
}
