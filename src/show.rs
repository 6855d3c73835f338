//! `ptsnap show`: a snapshot as a person reads it, in the spirit of gdb's
//! `thread apply all bt`: a header (process, signal, fault thread), then
//! each thread (the faulting one first) with one line per frame, inline
//! frames marked, parameters in the frame line and locals under it, values
//! in C syntax like gdb's `bt full`, and a Rust program's in Rust's, as
//! rust-gdb writes them ([`rust`]). The output depends only on the
//! snapshot, so two renderings of one snapshot are identical and can be
//! diffed.
//!
//! Everything in a snapshot may come from the target (function, file and
//! thread names, strings, module annotations), so every line is written
//! through one escaping writer (`outln!`): control characters and text
//! direction overrides print as visible escapes (`\x1b`, `\n`,
//! `\u{202e}`), so a name can neither forge a line nor send the terminal
//! an escape sequence. The renderer itself writes only line breaks.

use std::fmt::{self, Write};
use std::path::Path;

use crate::snapshot::{
    AnnotationLevel, BASE_CLASS, Frame, FrameUnwind, Kind, Snapshot, Thread, UnwindStop, Value, ValueLocation, Variable,
};
use crate::stacks;

mod rust;
mod rust_std;

/// `writeln!` into `out` (a `&mut String`) with the line's text escaped.
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {
        write_line($out, format_args!($($arg)*))
    };
}

/// The whole snapshot, every thread in full.
pub fn render(s: &Snapshot) -> String {
    render_with(s, false)
}

/// The whole snapshot; with `group`, threads with identical stacks
/// ([`stacks::group`]) are printed once, with their count and thread ids
/// and without the values, which are each thread's own.
pub fn render_with(s: &Snapshot, group: bool) -> String {
    let mut text = String::new();
    let out = &mut text;
    render_answers(out, s);
    let p = &s.process;
    let exe = p.exe.as_deref().unwrap_or("?");
    outln!(out, "process {} ({}) {}", p.pid, s.application.as_deref().unwrap_or("?"), exe);
    if !p.cmdline.is_empty() {
        outln!(out, "command: {}", p.cmdline.join(" "));
    }
    outln!(out, "state: {}, {} thread{}, taken {}", p.state, s.threads.len(), plural(s.threads.len()), s.timestamp);
    match &s.fault {
        Some(f) => match &f.signal {
            Some(sig) => {
                let code = sig.code_name.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
                outln!(out, "fault: {}{code} in thread {}: {}", sig.name, f.tid, sig.reason);
            }
            None => {
                outln!(out, "fault: thread {} (no signal information)", f.tid);
            }
        },
        None => {
            outln!(out, "fault: none");
        }
    }
    if !s.kv.is_empty() {
        let kv: Vec<String> =
            s.kv.iter().map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_string))).collect();
        outln!(out, "kv: {}", kv.join(", "));
    }
    if group {
        for members in stacks::group(&s.threads) {
            out.push('\n');
            match &members[..] {
                [one] => render_thread(out, &s.threads[*one]),
                _ => render_group(out, &s.threads, &members),
            }
        }
    } else {
        let mut threads: Vec<&Thread> = s.threads.iter().collect();
        threads.sort_by_key(|t| (!t.faulted, t.tid));
        for t in threads {
            out.push('\n');
            render_thread(out, t);
        }
    }
    if !s.globals.is_empty() {
        out.push_str("\nglobals:\n");
        for v in &s.globals {
            outln!(out, "  {} = {}", v.name, c_value(v));
        }
    }
    if !s.errors.is_empty() {
        out.push_str("\nerrors:\n");
        for e in &s.errors {
            outln!(out, "  {}: {}", e.context, e.message);
        }
    }
    text
}

/// The answer before the details, a line each: the classifiers, then the
/// one-line answers modules gave as text annotations of the snapshot (the
/// bundled analysis modules: "deadlock: thread 12 waits for mutex lock_b
/// ...", a module's failure), each with its level (the classifiers'
/// is critical). `show` and the viewer both start with them.
pub fn answers<V>(s: &Snapshot<V>) -> Vec<(AnnotationLevel, String)> {
    let mut out = Vec::new();
    if !s.classifiers.is_empty() {
        out.push((AnnotationLevel::Critical, format!("classifiers: {}", s.classifiers.join(", "))));
    }
    out.extend(s.annotations.iter().filter_map(|a| Some((a.level, a.text.clone()?))));
    out
}

/// [`answers`], and a blank line after them.
fn render_answers(out: &mut String, s: &Snapshot) {
    let answers = answers(s);
    for (_, text) in &answers {
        outln!(out, "{text}");
    }
    if !answers.is_empty() {
        out.push('\n');
    }
}

/// Writes `args` and a line break, every character of `args` that could
/// break the line or drive the terminal escaped.
fn write_line(out: &mut String, args: fmt::Arguments) {
    let _ = Escaping(out).write_fmt(args);
    out.push('\n');
}

/// A writer that escapes what [`escape`] says must be.
struct Escaping<'a>(&'a mut String);

impl Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match escape(c) {
                Some(e) => self.0.push_str(&e),
                None => self.0.push(c),
            }
        }
        Ok(())
    }
}

/// `text` with every character [`escape`] names replaced by its visible
/// escape: for renderers (the viewer) that draw snapshot text themselves.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let _ = Escaping(&mut out).write_str(text);
    out
}

/// The visible escape for a character a terminal would act on rather than
/// show: C0 and C1 controls and DEL (`\n`, `\x1b`, `\x9b`), line and
/// paragraph separators and bidirectional overrides (`\u{202e}`), which
/// make text read other than it is.
fn escape(c: char) -> Option<String> {
    match c {
        '\n' => Some("\\n".into()),
        '\r' => Some("\\r".into()),
        '\t' => Some("\\t".into()),
        c if c.is_control() => Some(format!("\\x{:02x}", c as u32)),
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            Some(format!("\\u{{{:04x}}}", c as u32))
        }
        _ => None,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn render_thread(out: &mut String, t: &Thread) {
    let faulted = if t.faulted { " (faulted)" } else { "" };
    outln!(out, "thread {} \"{}\" {}{faulted}", t.tid, t.name, t.state);
    for (i, f) in t.frames.iter().enumerate() {
        outln!(out, "{}{}", frame_line(f), trampoline_marker(t, i));
        for v in f.locals.iter().filter(|v| !v.name.is_empty()) {
            outln!(out, "        {} = {}", v.name, c_value(v));
        }
    }
    for v in &t.tls {
        outln!(out, "    tls {} = {}", v.name, c_value(v));
    }
    render_stack_end(out, t);
}

/// Threads with one stack: their count and ids, then the stack of the
/// first, without values.
fn render_group(out: &mut String, threads: &[Thread], members: &[usize]) {
    let tids: Vec<i32> = members.iter().map(|&i| threads[i].tid).collect();
    outln!(out, "{} threads with this stack: {}", members.len(), stacks::tid_ranges(&tids));
    let t = &threads[members[0]];
    for (i, f) in t.frames.iter().enumerate() {
        outln!(out, "{}{}", frame_line_shared(f), trampoline_marker(t, i));
    }
    render_stack_end(out, t);
}

/// The frame whose caller was found in the kernel's signal frame is the
/// sigreturn trampoline: a signal handler ran above it.
pub fn trampoline_marker<V>(t: &Thread<V>, i: usize) -> &'static str {
    let trampoline = t.frames.get(i + 1).is_some_and(|next| next.unwind == FrameUnwind::SignalFrame);
    if trampoline { " <signal handler called>" } else { "" }
}

/// The kernel stack of a thread that did not stop, and why its frames end.
fn render_stack_end(out: &mut String, t: &Thread) {
    for k in &t.kernel_stack {
        outln!(out, "     [kernel] {k}");
    }
    match &t.unwind_stop {
        Some(UnwindStop::Outermost) | None => {}
        Some(UnwindStop::MaxFrames) => {
            outln!(out, "    (more frames not shown: --max-frames)");
        }
        Some(reason) => {
            outln!(out, "    (unwinding stopped: {reason})");
        }
    }
}

/// `#3  0x000055d0c8a01234 in recurse (info=0x7ffd5c4f1e40, n=0) (crash.c:38) [crash]`
pub fn frame_line(f: &Frame) -> String {
    let mut line = frame_head(f);
    if !f.parameters.is_empty() {
        // gdb makes no symbol for an unnamed parameter (`void f(int)` in
        // C++), so leaves it out; the snapshot keeps it, with name "".
        let named = f.parameters.iter().filter(|p| !p.name.is_empty());
        let params: Vec<String> = named.map(|p| format!("{}={}", p.name, c_value(p))).collect();
        let _ = write!(line, " ({})", params.join(", "));
    }
    line.push_str(&frame_tail(f));
    line
}

/// A frame line without its parameters, whose values belong to one
/// thread: what a group of threads with identical stacks shares.
fn frame_line_shared(f: &Frame) -> String {
    frame_head(f) + &frame_tail(f)
}

/// `#3   0x000055d0c8a01234 in recurse`
fn frame_head(f: &Frame) -> String {
    format!("#{:<3} {:#018x} in {}", f.index, f.pc.0, f.function.as_deref().unwrap_or("??"))
}

/// What follows the parameters: ` (crash.c:38) [crash] (inlined) <- fault`,
/// ` (function.rs:250) [rg] (std) (inlined)` for Rust's standard library.
fn frame_tail(f: &Frame) -> String {
    let mut tail = frame_place(f);
    if let Some(m) = &f.module {
        let _ = write!(tail, " [{m}]");
    }
    if f.crate_name.as_deref().is_some_and(is_standard_library) {
        let _ = write!(tail, " {FRAME_STD}");
    }
    for mark in frame_marks(f) {
        tail.push(' ');
        tail.push_str(mark);
    }
    tail
}

/// Where in the source a frame is: ` (crash.c:38)`, ` (crash.c)`, or
/// `+0x21` after the function where there is no source file.
pub fn frame_place<V>(f: &Frame<V>) -> String {
    if let Some(file) = &f.file {
        let base = Path::new(&**file).file_name().map_or(file.to_string(), |b| b.to_string_lossy().into_owned());
        match f.line {
            Some(l) => format!(" ({base}:{l})"),
            None => format!(" ({base})"),
        }
    } else if let Some(off) = f.function_offset {
        format!("+{off:#x}")
    } else {
        String::new()
    }
}

/// The marks after a frame's module: `(inlined)`, `(tail call)` (no frame
/// of its own on the stack: found from the caller's call site) and
/// `<- fault`.
pub fn frame_marks<V>(f: &Frame<V>) -> impl Iterator<Item = &'static str> + use<V> {
    let marks =
        [(f.inlined, FRAME_INLINED), (f.unwind == FrameUnwind::TailCall, FRAME_TAIL_CALL), (f.faulted, FRAME_FAULT)];
    marks.into_iter().filter_map(|(on, mark)| on.then_some(mark))
}

/// The crates of Rust's standard library, whose frames are marked
/// [`FRAME_STD`]: what a program's frames run through, not its own.
fn is_standard_library(name: &str) -> bool {
    matches!(name, "std" | "core" | "alloc" | "panic_unwind" | "panic_abort" | "proc_macro" | "test")
}

/// A frame of Rust's standard library.
pub const FRAME_STD: &str = "(std)";
pub const FRAME_INLINED: &str = "(inlined)";
pub const FRAME_TAIL_CALL: &str = "(tail call)";
pub const FRAME_FAULT: &str = "<- fault";

/// A value as C (and gdb) writes it: `42`, `81 'Q'`, `0x7ffd... "text"`,
/// `{x = 3, y = 4}`, `{1, 2, 3...}`, `GREEN`, `<optimized out>`; a Rust
/// value as rust-gdb writes it (`app::Point {x: 3, y: 4}`, `[1, 2, 3]`,
/// `Vec(size=3) = {1, 2, 3}`).
pub fn c_value(v: &Variable) -> String {
    // Members and elements nest as deep as the snapshot does, which is any
    // depth `writer::read` accepts: the stack grows rather than overflows.
    const RED_ZONE: usize = 64 * 1024;
    const GROWTH: usize = 1024 * 1024;
    stacker::maybe_grow(RED_ZONE, GROWTH, || c_value_of(v))
}

fn c_value_of(v: &Variable) -> String {
    match v.location {
        ValueLocation::OptimizedOut => return "<optimized out>".into(),
        ValueLocation::Unavailable => return "<unavailable>".into(),
        _ => {}
    }
    if let Some(text) = rust::value(v) {
        return text;
    }
    let more = if v.truncated { "..." } else { "" };
    match v.kind {
        Kind::Tuple if !v.members.is_empty() => {
            let members: Vec<String> = v.members.iter().map(member).collect();
            format!("{{{}{more}}}", members.join(", "))
        }
        // A struct or class without members (an empty base class, say).
        Kind::Tuple if v.location == ValueLocation::Memory && v.error.is_none() && !v.truncated => {
            "{<No data fields>}".into()
        }
        Kind::Array => {
            let elements: Vec<String> = v.elements.iter().map(c_value).collect();
            format!("{{{}{more}}}", elements.join(", "))
        }
        Kind::String => format!("{}{more}", string_literal(v)),
        Kind::Enum => v.symbol.as_deref().map_or_else(|| v.value.to_string(), String::from),
        // A pointer to a value with no address (DW_OP_implicit_pointer).
        Kind::Reference if v.value == Value::Null && v.target.is_some() => "<synthetic pointer>".into(),
        Kind::Reference | Kind::Fn => {
            let address = v.value.as_u64().map_or("?".into(), |a| format!("{a:#x}"));
            match (&v.symbol, &*v.base_type) {
                (Some(_), "char" | "signed char" | "unsigned char" | "char8_t") => {
                    format!("{address} {}{more}", string_literal(v))
                }
                (Some(s), _) => format!("{address} <{s}>"),
                _ => address,
            }
        }
        _ => match (&v.value, &v.symbol) {
            (Value::Null, Some(s)) => s.to_string(),
            (Value::Null, None) => "?".into(),
            (value, Some(s)) if s.starts_with('\'') => format!("{value} {s}"),
            (value, _) => value.to_string(),
        },
    }
}

/// `name = value` of a member; a base class is `<Base> = {...}`, as gdb
/// writes it.
fn member(m: &Variable) -> String {
    match &*m.name {
        "" => c_value(m),
        _ => format!("{} = {}", member_name(m), c_value(m)),
    }
}

/// A member's name as gdb writes it: `<Base>` for a base class.
pub fn member_name(m: &Variable) -> String {
    let base =
        m.annotations.iter().any(|a| a.source.as_deref() == Some("ptsnap") && a.text.as_deref() == Some(BASE_CLASS));
    if base { format!("<{}>", m.name) } else { m.name.clone() }
}

/// A string literal as gdb writes it: UTF-8 as text with C escapes,
/// other bytes (and NULs inside an array) in octal: `"a\tb\377\000c"`.
fn c_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
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
        for b in chunk.invalid() {
            let _ = write!(out, "\\{b:03o}");
        }
    }
    out.push('"');
    out
}

/// A string variable's literal: its exact bytes when the snapshot has
/// them (an array's last NUL left out, as gdb does), else its text.
fn string_literal(v: &Variable) -> String {
    let byte = |hex: &str, i: usize| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok();
    let exact: Option<Vec<u8>> = v.bytes.as_deref().and_then(|hex| (0..hex.len() / 2).map(|i| byte(hex, i)).collect());
    match exact {
        Some(bytes) => match bytes.split_last() {
            Some((0, text)) if !v.truncated => c_bytes(text),
            _ => c_bytes(&bytes),
        },
        None => c_bytes(v.symbol.as_deref().unwrap_or("").as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_acts_on() {
        assert_eq!(escape('\n').as_deref(), Some("\\n"));
        assert_eq!(escape('\x1b').as_deref(), Some("\\x1b"));
        assert_eq!(escape('\x7f').as_deref(), Some("\\x7f"));
        assert_eq!(escape('\u{9b}').as_deref(), Some("\\x9b"), "the C1 control sequence introducer");
        assert_eq!(escape('\u{202e}').as_deref(), Some("\\u{202e}"));
        for plain in ['a', ' ', '"', '\\', 'é', '→'] {
            assert_eq!(escape(plain), None, "{plain}");
        }
    }

    #[test]
    fn names_from_the_snapshot_cannot_forge_lines_or_escapes() {
        let frame = Frame { function: Some("f\x1b[31m\n#1   0x0 in fake frame".into()), ..Frame::default() };
        let thread = Thread { tid: 7, name: "t\r\u{202e}x".into(), frames: vec![frame], ..Thread::default() };
        let snap = Snapshot { threads: vec![thread], ..Snapshot::default() };
        let text = render(&snap);
        assert!(text.contains(r"in f\x1b[31m\n#1   0x0 in fake frame"), "{text}");
        assert!(text.contains(r#"thread 7 "t\r\u{202e}x" "#), "{text}");
        assert!(!text.contains(['\x1b', '\r', '\u{202e}']), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with('#')).count(), 1, "{text}");
    }

    /// Deeper than a test thread's 2 MiB stack holds without growing it.
    #[test]
    fn deeply_nested_members() {
        let mut v =
            Variable { kind: Kind::Ll, value: Value::Int(1), location: ValueLocation::Memory, ..Variable::default() };
        for _ in 0..3000 {
            v = Variable {
                kind: Kind::Tuple,
                members: vec![v],
                location: ValueLocation::Memory,
                ..Variable::default()
            };
        }
        assert_eq!(c_value(&v), format!("{}1{}", "{".repeat(3000), "}".repeat(3000)));
    }
}

#[cfg(test)]
#[path = "show_tests.rs"]
mod rendering_tests;
