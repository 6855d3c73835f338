//! `ptsnap show`: a snapshot as a person reads it, in the spirit of gdb's
//! `thread apply all bt`: a header (process, signal, fault thread), then
//! each thread (the faulting one first) with one line per frame, inline
//! frames marked, parameters in the frame line and locals under it, values
//! in C syntax like gdb's `bt full`. The output depends only on the
//! snapshot, so two renderings of one snapshot are identical and can be
//! diffed.

use std::fmt::Write;
use std::path::Path;

use crate::snapshot::{Frame, Kind, Snapshot, Thread, Value, ValueLocation, Variable};

pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let p = &s.process;
    let exe = p.exe.as_deref().unwrap_or("?");
    let _ = writeln!(out, "process {} ({}) {}", p.pid, s.application.as_deref().unwrap_or("?"), exe);
    if !p.cmdline.is_empty() {
        let _ = writeln!(out, "command: {}", p.cmdline.join(" "));
    }
    let _ = writeln!(
        out,
        "state: {}, {} thread{}, taken {}",
        p.state,
        s.threads.len(),
        plural(s.threads.len()),
        s.timestamp
    );
    match &s.fault {
        Some(f) => match &f.signal {
            Some(sig) => {
                let code = sig.code_name.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
                let _ = writeln!(out, "fault: {}{code} in thread {}: {}", sig.name, f.tid, sig.reason);
            }
            None => {
                let _ = writeln!(out, "fault: thread {} (no signal information)", f.tid);
            }
        },
        None => {
            let _ = writeln!(out, "fault: none");
        }
    }
    if !s.kv.is_empty() {
        let kv: Vec<String> =
            s.kv.iter().map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_string))).collect();
        let _ = writeln!(out, "kv: {}", kv.join(", "));
    }
    if !s.classifiers.is_empty() {
        let _ = writeln!(out, "classifiers: {}", s.classifiers.join(", "));
    }
    let mut threads: Vec<&Thread> = s.threads.iter().collect();
    threads.sort_by_key(|t| (!t.faulted, t.tid));
    for t in threads {
        out.push('\n');
        render_thread(&mut out, t);
    }
    if !s.globals.is_empty() {
        out.push_str("\nglobals:\n");
        for v in &s.globals {
            let _ = writeln!(out, "  {} = {}", v.name, c_value(v));
        }
    }
    if !s.errors.is_empty() {
        out.push_str("\nerrors:\n");
        for e in &s.errors {
            let _ = writeln!(out, "  {}: {}", e.context, e.message);
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn render_thread(out: &mut String, t: &Thread) {
    let faulted = if t.faulted { " (faulted)" } else { "" };
    let _ = writeln!(out, "thread {} \"{}\" {}{faulted}", t.tid, t.name, t.state);
    for (i, f) in t.frames.iter().enumerate() {
        // The frame whose caller was found in the kernel's signal frame is
        // the sigreturn trampoline: a signal handler ran above it.
        let trampoline = t.frames.get(i + 1).is_some_and(|next| next.unwind == "signal-frame");
        let marker = if trampoline { " <signal handler called>" } else { "" };
        let _ = writeln!(out, "{}{marker}", frame_line(f));
        for v in &f.locals {
            let _ = writeln!(out, "        {} = {}", v.name, c_value(v));
        }
    }
    for v in &t.tls {
        let _ = writeln!(out, "    tls {} = {}", v.name, c_value(v));
    }
    for k in &t.kernel_stack {
        let _ = writeln!(out, "     [kernel] {k}");
    }
    match t.unwind_stop.as_deref() {
        Some("outermost") | None => {}
        Some("max-frames") => {
            let _ = writeln!(out, "    (more frames not shown: --max-frames)");
        }
        Some(reason) => {
            let _ = writeln!(out, "    (unwinding stopped: {reason})");
        }
    }
}

/// `#3  0x000055d0c8a01234 in recurse (info=0x7ffd5c4f1e40, n=0) (crash.c:38) [crash]`
pub fn frame_line(f: &Frame) -> String {
    let mut line = format!("#{:<3} {:#018x} in {}", f.index, f.pc.0, f.function.as_deref().unwrap_or("??"));
    if !f.parameters.is_empty() {
        let params: Vec<String> = f.parameters.iter().map(|p| format!("{}={}", p.name, c_value(p))).collect();
        let _ = write!(line, " ({})", params.join(", "));
    }
    if let Some(file) = &f.file {
        let base = Path::new(file).file_name().map_or(file.clone(), |b| b.to_string_lossy().into_owned());
        match f.line {
            Some(l) => {
                let _ = write!(line, " ({base}:{l})");
            }
            None => {
                let _ = write!(line, " ({base})");
            }
        }
    } else if let Some(off) = f.function_offset {
        let _ = write!(line, "+{off:#x}");
    }
    if let Some(m) = &f.module {
        let _ = write!(line, " [{m}]");
    }
    if f.inlined {
        line.push_str(" (inlined)");
    }
    if f.faulted {
        line.push_str(" <- fault");
    }
    line
}

/// A value as C (and gdb) writes it: `42`, `81 'Q'`, `0x7ffd... "text"`,
/// `{x = 3, y = 4}`, `{1, 2, 3...}`, `GREEN`, `<optimized out>`.
pub fn c_value(v: &Variable) -> String {
    match v.location {
        ValueLocation::OptimizedOut => return "<optimized out>".into(),
        ValueLocation::Unavailable => return "<unavailable>".into(),
        _ => {}
    }
    let more = if v.truncated { "..." } else { "" };
    match v.kind {
        Kind::Tuple if !v.members.is_empty() => {
            let members: Vec<String> = v
                .members
                .iter()
                .map(|m| if m.name.is_empty() { c_value(m) } else { format!("{} = {}", m.name, c_value(m)) })
                .collect();
            format!("{{{}{more}}}", members.join(", "))
        }
        Kind::Array => {
            let elements: Vec<String> = v.elements.iter().map(c_value).collect();
            format!("{{{}{more}}}", elements.join(", "))
        }
        Kind::String => format!("{}{more}", c_string(v.symbol.as_deref().unwrap_or(""))),
        Kind::Enum => v.symbol.clone().unwrap_or_else(|| v.value.to_string()),
        // A pointer to a value with no address (DW_OP_implicit_pointer).
        Kind::Reference if v.value == Value::Null && v.target.is_some() => "<synthetic pointer>".into(),
        Kind::Reference | Kind::Fn => {
            let address = v.value.as_u64().map_or("?".into(), |a| format!("{a:#x}"));
            match (&v.symbol, &*v.base_type) {
                (Some(s), "char" | "signed char" | "unsigned char") => format!("{address} {}{more}", c_string(s)),
                (Some(s), _) => format!("{address} <{s}>"),
                _ => address,
            }
        }
        _ => match (&v.value, &v.symbol) {
            (Value::Null, Some(s)) => s.clone(),
            (Value::Null, None) => "?".into(),
            (value, Some(s)) if s.starts_with('\'') => format!("{value} {s}"),
            (value, _) => value.to_string(),
        },
    }
}

/// A string literal as C writes it: `"a\tb\n\001"`.
fn c_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
