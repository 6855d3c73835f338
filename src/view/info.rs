//! The info pane's text: what a snapshot says beside its threads' stacks
//! (process, fault, kv, classifiers, tags, modules, memory map, pmodule reports,
//! errors, timings) and the registers and kernel stack of the selected
//! thread. Built as plain lines from the snapshot so that tests read them
//! without drawing; drawing escapes them as it does every snapshot text.

use crate::snapshot::{Snapshot, Thread};

/// A line of the info pane: a section heading, or a line of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InfoLine {
    Heading(String),
    Text(String),
}

/// The fault as the header and the info pane write it:
/// `SIGSEGV (SEGV_MAPERR) in thread 7559: invalid memory access`.
pub fn fault_text<V>(snap: &Snapshot<V>) -> Option<String> {
    let f = snap.fault.as_ref()?;
    Some(match &f.signal {
        Some(sig) => {
            let code = sig.code_name.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
            format!("{}{code} in thread {}: {}", sig.name, f.tid, sig.reason)
        }
        None => format!("fault in thread {}", f.tid),
    })
}

/// Every line of the info pane, `thread` being the selected frame's.
pub fn lines<V>(snap: &Snapshot<V>, thread: Option<&Thread<V>>) -> Vec<InfoLine> {
    let mut out = Vec::new();
    let heading = |out: &mut Vec<InfoLine>, h: &str| out.push(InfoLine::Heading(h.to_string()));
    let text = |out: &mut Vec<InfoLine>, t: String| out.push(InfoLine::Text(t));

    let p = &snap.process;
    heading(&mut out, "process");
    text(&mut out, format!("pid {} (parent {}, uid {}), {}", p.pid, p.ppid, p.uid, p.state));
    text(&mut out, format!("exe: {}", p.exe.as_deref().unwrap_or("?")));
    text(&mut out, format!("command: {}", p.cmdline.join(" ")));
    if let Some(cwd) = &p.cwd {
        text(&mut out, format!("cwd: {cwd}"));
    }
    text(&mut out, format!("taken {} by {} {}", snap.timestamp, snap.generator.name, snap.generator.version));

    heading(&mut out, "fault");
    match (fault_text(snap), snap.fault.as_ref().and_then(|f| f.signal.as_ref())) {
        (Some(fault), Some(sig)) => {
            text(&mut out, fault);
            if let Some(a) = sig.address {
                text(&mut out, format!("address: 0x{:x}", a.0));
            }
            let sender = sig.sender_pid.map(|pid| format!(" by process {pid}")).unwrap_or_default();
            if sig.sent_by_kill {
                text(&mut out, format!("sent with kill{sender}"));
            }
        }
        (Some(fault), None) => text(&mut out, fault),
        (None, _) => text(&mut out, "none".into()),
    }

    if !snap.kv.is_empty() {
        heading(&mut out, "kv");
        for (k, v) in &snap.kv {
            text(&mut out, format!("{k} = {}", v.as_str().map_or(v.to_string(), str::to_string)));
        }
    }
    if !snap.classifiers.is_empty() {
        heading(&mut out, "classifiers");
        text(&mut out, snap.classifiers.join(", "));
    }
    let findings: Vec<&str> = snap.annotations.iter().filter_map(|a| a.text.as_deref()).collect();
    if !findings.is_empty() {
        heading(&mut out, "findings");
        for finding in findings {
            text(&mut out, finding.to_string());
        }
    }
    if !snap.tags.is_empty() {
        heading(&mut out, "tags");
        text(&mut out, snap.tags.join(", "));
    }

    if let Some(t) = thread {
        heading(&mut out, &format!("registers of thread {} (frame #0)", t.tid));
        // Two to a line: they fit in 80 columns.
        let regs: Vec<String> = t.registers.iter().map(|(n, v)| format!("{n:>8} 0x{v:016x}")).collect();
        for chunk in regs.chunks(2) {
            text(&mut out, chunk.join("  "));
        }
        if !t.kernel_stack.is_empty() {
            heading(&mut out, &format!("kernel stack of thread {}", t.tid));
            for k in &t.kernel_stack {
                text(&mut out, k.clone());
            }
        }
    }

    heading(&mut out, &format!("modules ({})", snap.modules.len()));
    for m in &snap.modules {
        text(&mut out, format!("{} [{}]", m.path, m.symbols));
        if let Some(id) = &m.build_id {
            text(&mut out, format!("    build id {id}"));
        }
        if let Some(d) = &m.debug_file {
            let by = m.debug_file_source.as_deref().map(|s| format!(" (by {s})")).unwrap_or_default();
            text(&mut out, format!("    debug file {d}{by}"));
        }
        if let Some(e) = &m.error {
            text(&mut out, format!("    error: {e}"));
        }
    }

    if !snap.mappings.is_empty() {
        heading(&mut out, &format!("memory map ({})", snap.mappings.len()));
        for m in &snap.mappings {
            let deleted = if m.deleted { " (deleted)" } else { "" };
            text(&mut out, format!("{:x}-{:x} {} {:08x} {}{deleted}", m.start.0, m.end.0, m.perms, m.offset.0, m.path));
        }
    }

    if !snap.pmodules.is_empty() {
        heading(&mut out, "pmodules");
        for m in &snap.pmodules {
            text(&mut out, format!("{} ({})", m.id, m.path));
            for e in &m.errors {
                text(&mut out, format!("    error: {e}"));
            }
        }
    }

    heading(&mut out, "errors");
    if snap.errors.is_empty() {
        text(&mut out, "none".into());
    }
    for e in &snap.errors {
        text(&mut out, format!("{}: {}", e.context, e.message));
    }

    let t = &snap.timings;
    heading(&mut out, "timings");
    text(
        &mut out,
        format!(
            "total {} us, paused {} us (stop {}, unwind {}, symbolize {})",
            t.total_us, t.paused_us, t.stop_us, t.unwind_us, t.symbolize_us
        ),
    );
    out
}
