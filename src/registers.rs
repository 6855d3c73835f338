//! A thread's registers as the snapshot records them: every general
//! register the kernel reports, and the x87/SSE state, as `"0x..."` strings
//! in a fixed order.

use serde_json::{Map, Value};

pub fn to_json(gp: Option<&libc::user_regs_struct>, fp: Option<&libc::user_fpregs_struct>) -> Map<String, Value> {
    let mut map = Map::new();
    let mut put = |name: &str, text: String| {
        map.insert(name.to_string(), Value::String(text));
    };
    if let Some(r) = gp {
        let regs = [
            ("rax", r.rax), ("rbx", r.rbx), ("rcx", r.rcx), ("rdx", r.rdx), ("rsi", r.rsi), ("rdi", r.rdi),
            ("rbp", r.rbp), ("rsp", r.rsp), ("r8", r.r8), ("r9", r.r9), ("r10", r.r10), ("r11", r.r11),
            ("r12", r.r12), ("r13", r.r13), ("r14", r.r14), ("r15", r.r15), ("rip", r.rip),
            ("eflags", r.eflags), ("cs", r.cs), ("ss", r.ss), ("ds", r.ds), ("es", r.es), ("fs", r.fs),
            ("gs", r.gs), ("fs_base", r.fs_base), ("gs_base", r.gs_base), ("orig_rax", r.orig_rax),
        ];
        for (name, v) in regs {
            put(name, format!("{v:#x}"));
        }
    }
    if let Some(f) = fp {
        put("fcw", format!("{:#x}", f.cwd));
        put("fsw", format!("{:#x}", f.swd));
        put("ftw", format!("{:#x}", f.ftw));
        put("mxcsr", format!("{:#x}", f.mxcsr));
        for i in 0..8 {
            put(&format!("st{i}"), wide_hex(&f.st_space[i * 4..i * 4 + 3]));
        }
        for i in 0..16 {
            put(&format!("xmm{i}"), wide_hex(&f.xmm_space[i * 4..i * 4 + 4]));
        }
    }
    map
}

/// A little-endian multi-word register as one hex number.
fn wide_hex(words: &[u32]) -> String {
    let digits: String = words.iter().rev().map(|w| format!("{w:08x}")).collect();
    let trimmed = digits.trim_start_matches('0');
    format!("0x{}", if trimmed.is_empty() { "0" } else { trimmed })
}

#[cfg(test)]
mod tests {
    #[test]
    fn wide_hex() {
        assert_eq!(super::wide_hex(&[0x1, 0x0, 0x2, 0x0]), "0x20000000000000001");
        assert_eq!(super::wide_hex(&[0, 0, 0, 0]), "0x0");
    }
}
