//! Strings are stored losslessly: bytes that are not UTF-8 and bytes after
//! an array's NUL are kept exactly (`bytes`, hex), `show` prints them as
//! gdb does, and `--max-string` cuts are marked; gcc and clang at -O0 and
//! -O2, against gdb.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn member<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["members"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("no {name} in {v}"))
}

/// gdb's `output t.NAME` in main for each name, as `NAME=VALUE`.
fn gdb_members(pid: i32, names: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("gdb");
    cmd.args(["-nx", "-batch", "-p", &pid.to_string(), "-ex", "set print address off", "-ex", "frame function main"]);
    for n in names {
        cmd.args(["-ex", &format!("echo @@{n}="), "-ex", &format!("output t.{n}"), "-ex", "echo \\n"]);
    }
    let out = cmd.output().expect("gdb");
    let text = String::from_utf8_lossy(&out.stdout);
    let found: Vec<String> = text.lines().filter_map(|l| l.strip_prefix("@@")).map(str::to_string).collect();
    assert_eq!(found.len(), names.len(), "{text}");
    found
}

fn check(compiler: Compiler, flags: &[&str], name: &str) {
    let bin = build_with(compiler, "lossless.c", name, flags);
    let name = &format!("{name}-{}", compiler.name());
    let running = start(&bin, &[]);
    let snap = snapshot(running.pid(), name, &["--no-default-modules", "--max-string", "100"]);
    let main = thread(&snap, running.pid() as i64);
    let frame = main["frames"].as_array().unwrap().iter().find(|f| f["function"] == "wait_here").unwrap();
    let t = &frame["parameters"][0]["target"];
    let latin1 = member(t, "latin1");
    assert_eq!((latin1["symbol"].as_str(), latin1["bytes"].as_str()), (Some("caf\u{fffd}"), Some("636166e9")));
    let utf8 = member(t, "utf8");
    assert_eq!(utf8["symbol"], "café →");
    assert!(utf8.get("bytes").is_none(), "text that is UTF-8 needs no bytes: {utf8}");
    let inner = member(t, "inner_nul");
    assert_eq!((inner["symbol"].as_str(), inner["bytes"].as_str()), (Some("ab"), Some("6162006364000000")));
    let high = member(t, "high");
    assert_eq!((high["symbol"].as_str(), high["bytes"].as_str()), (Some("\u{fffd}\u{fffd}x"), Some("80ff7800")));
    let tail = member(t, "tail");
    assert_eq!(tail["symbol"], "ok");
    assert!(tail.get("bytes").is_none(), "NULs after the text need no bytes: {tail}");
    let long = member(t, "long_text");
    assert_eq!((long["symbol"].as_str().map(str::len), long["truncated"].as_bool()), (Some(100), Some(true)));
    assert!(long.get("bytes").is_none());

    // `show` prints them as gdb does.
    let out = work_dir().join(format!("{name}.json"));
    let shown = ptsnap(&["show", out.to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    if !tool_available("gdb") {
        return;
    }
    let names = ["latin1", "utf8", "inner_nul", "high", "tail"];
    for line in gdb_members(running.pid(), &names) {
        let (n, gdb_value) = line.split_once('=').unwrap();
        let expected = match n {
            // gdb writes a cut UTF-8 sequence at the end as `"ca",
            // <incomplete sequence \351>`; ptsnap writes every byte that
            // is not UTF-8 in octal.
            "latin1" => {
                assert_eq!(gdb_value, r#""ca", <incomplete sequence \351>"#);
                r#"latin1 = 0x"#.to_string()
            }
            // Pointers: gdb prints the string alone with `print address off`.
            "utf8" => format!(" {gdb_value}, "),
            // ptsnap leaves an array's trailing NULs out when they are all
            // that follows the text.
            "tail" => format!("tail = {}\"", gdb_value.trim_end_matches('"').trim_end_matches("\\000")),
            _ => format!("{n} = {gdb_value}"),
        };
        assert!(shown.contains(&expected), "gdb: {line}; {expected:?} not in show:\n{shown}");
    }
    assert!(shown.contains(r#"latin1 = 0x"#) && shown.contains(r#" "caf\351", utf8 = "#), "{shown}");
}

#[test]
fn lossless_strings_o0() {
    let _serial = serial();
    for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
        check(compiler, &["-g", "-O0"], "lossless-O0");
    }
}

#[test]
fn lossless_strings_o2() {
    let _serial = serial();
    for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
        check(compiler, &["-g", "-O2"], "lossless-O2");
    }
}
