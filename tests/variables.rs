//! DWARF-typed variables: exact values of every kind of type and location
//! in tests/fixtures/vars.c at -O0 and -O2 (DWARF 4 and 5), globals, TLS
//! in every thread, pointer depth and cycles, limits; and gdb as the
//! oracle for every scalar leaf of every parameter and local in every
//! frame (fixture and C library frames).

mod common;

use common::*;
use serde_json::Value;

/// A frame's variable by name among its parameters and locals (the first,
/// innermost, when a name is shadowed).
fn var<'v>(frame: &'v Value, name: &str) -> &'v Value {
    let all = frame["parameters"].as_array().unwrap().iter().chain(frame["locals"].as_array().unwrap());
    all.clone().find(|v| v["name"] == name).unwrap_or_else(|| panic!("no variable {name} in {}", frame["function"]))
}

fn member<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["members"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("no member {name}"))
}

fn frame<'v>(thread: &'v Value, function: &str) -> &'v Value {
    thread["frames"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == function)
        .unwrap_or_else(|| panic!("no frame {function}"))
}

fn element_values(v: &Value) -> Vec<i64> {
    v["elements"].as_array().unwrap().iter().map(|e| e["value"].as_i64().unwrap()).collect()
}

fn main_thread(snap: &Value) -> &Value {
    thread(snap, snap["process"]["pid"].as_i64().unwrap())
}

/// Whether `v` has the expected value, or, in an optimized build, is
/// optimized out (gdb agrees on those: see the differential tests).
fn value_or_optimized_out(v: &Value, expected: i64, optimized: bool) -> bool {
    v["value"] == expected || (optimized && v["location"] == "optimized-out")
}

fn check_values(name: &str, flags: &[&str]) {
    let optimized = !flags.contains(&"-O0");
    let _serial = serial();
    let bin = build("vars.c", name, flags);
    let running = start(&bin, &[]);
    let snap = snapshot(
        running.pid(),
        name,
        &["--deref-depth", "4", "--global", "grid", "--global", "global_version", "--global", "global_op", "--globals"],
    );
    let main = main_thread(&snap);
    let walk = frame(main, "walk");
    let (pt, v) = (|v: &Value| v["type"].as_str().unwrap().to_string(), |v: &Value| v["value"].clone());

    // Parameters in declaration order, then locals innermost first: the
    // block's `depth` shadows the parameter, and both are listed.
    let params: Vec<&str> =
        walk["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["chain", "list", "depth"]);
    assert_eq!(var(walk, "depth")["value"], 3);
    assert_eq!(walk["locals"][0]["name"], "depth");
    assert_eq!(walk["locals"][0]["value"], 99);

    // A struct walked through three pointer levels.
    let chain = var(walk, "chain");
    assert_eq!(pt(chain), "struct level1 *");
    assert_eq!(chain["kind"], "reference");
    assert_eq!(chain["base_type"], "level1");
    let l1 = &chain["target"];
    assert_eq!(member(l1, "label")["symbol"], "first");
    let l3 = &member(&member(l1, "l2")["target"], "l3")["target"];
    assert_eq!(member(l3, "leaf")["value"], 33);
    assert_eq!(member(l3, "name")["symbol"], "third");

    // A linked list with a cycle: followed to the pointer depth, the
    // cycle marked, not followed again.
    let list = var(walk, "list");
    let mut node = &list["target"];
    let mut values = vec![member(node, "value")["value"].as_i64().unwrap()];
    while let Some(next) = member(node, "next").get("target") {
        node = next;
        values.push(member(node, "value")["value"].as_i64().unwrap());
    }
    assert_eq!(values, [1, 2, 3]);
    let last_next = member(node, "next");
    assert!(last_next["annotations"][0]["text"].as_str().unwrap().contains("cycle"), "{last_next}");

    assert_eq!(member(var(walk, "corner"), "y")["value"], 4);
    assert_eq!(pt(var(walk, "alias")), "point_t");
    assert_eq!(var(walk, "alias")["base_type"], "point_t");
    let num = var(walk, "num");
    assert_eq!((pt(num), num["kind"].as_str()), ("union number".into(), Some("tuple")));
    assert_eq!(member(num, "i")["value"], 0x40490fdb);
    assert!((member(num, "f")["value"].as_f64().unwrap() - std::f64::consts::PI).abs() < 1e-6);
    assert_eq!((v(var(walk, "color")), &var(walk, "color")["symbol"]), (Value::from(5), &Value::from("GREEN")));
    assert_eq!(var(walk, "color")["kind"], "enum");
    assert_eq!(var(walk, "mode")["symbol"], "F_READ | F_EXEC");
    let bits = var(walk, "bits");
    assert_eq!([v(member(bits, "a")), v(member(bits, "b")), v(member(bits, "c"))], [5, -3, 1].map(Value::from));
    assert_eq!(member(bits, "col")["symbol"], "BLUE");
    let buf = var(walk, "buf");
    assert_eq!(
        (pt(buf), buf["kind"].as_str(), buf["symbol"].as_str()),
        ("char [16]".into(), Some("string"), Some("hello"))
    );
    let matrix = var(walk, "matrix");
    assert_eq!(pt(matrix), "int [2][3]");
    assert_eq!(pt(&matrix["elements"][1]), "int [3]");
    assert_eq!(element_values(&matrix["elements"][1]), [4, 5, 6]);
    assert_eq!(v(var(walk, "ok")), true);
    assert_eq!((v(var(walk, "letter")), &var(walk, "letter")["symbol"]), (Value::from(81), &Value::from("'Q'")));
    assert_eq!(v(var(walk, "byte")), 200);
    assert_eq!(v(var(walk, "s")), -12345);
    assert_eq!(v(var(walk, "big")), u64::MAX);
    assert_eq!((v(var(walk, "neg")), var(walk, "neg")["kind"].as_str()), (Value::from(-9_000_000_000i64), Some("ll")));
    assert_eq!((v(var(walk, "f")), var(walk, "f")["kind"].as_str()), (Value::from(1.5), Some("flt")));
    assert_eq!((v(var(walk, "d")), var(walk, "d")["kind"].as_str()), (Value::from(-0.25), Some("dbl")));
    assert_eq!((v(var(walk, "ld")), var(walk, "ld")["kind"].as_str()), (Value::from(3.5), Some("ldbl")));
    assert_eq!((v(var(walk, "z")), var(walk, "z")["kind"].as_str()), (serde_json::json!([1.0, 2.0]), Some("cdbl")));
    let op = var(walk, "op");
    assert_eq!(
        (pt(op), op["kind"].as_str(), op["symbol"].as_str()),
        ("int (*)(int, int)".into(), Some("fn"), Some("add"))
    );
    assert_eq!((pt(var(walk, "nothing")), v(var(walk, "nothing"))), ("void *".into(), Value::from(0)));
    let vla = var(walk, "vla");
    assert_eq!(pt(vla), "int [5]");
    assert_eq!(element_values(vla), [0, 1, 4, 9, 16]);

    // The inline frame has its own parameters and locals.
    let scaled = frame(main, "scaled");
    assert_eq!(scaled["inlined"], true);
    assert!(value_or_optimized_out(var(scaled, "value"), 99, optimized), "{}", var(scaled, "value"));
    assert_eq!(v(var(scaled, "factor")), 2);
    assert_eq!(v(var(scaled, "product")), 198);
    assert!(walk["locals"].as_array().unwrap().iter().all(|l| l["name"] != "product"), "not in the caller");

    // Globals: a 2-D array, a string, a function pointer; --globals adds
    // every global of the executable, with module and compilation unit.
    let globals = snap["globals"].as_array().unwrap();
    let global = |name: &str| globals.iter().find(|g| g["name"] == name).unwrap_or_else(|| panic!("no global {name}"));
    assert_eq!(pt(global("grid")), "int [3][4]");
    assert_eq!(element_values(&global("grid")["elements"][2]), [20, 21, 22, 23]);
    assert_eq!(global("global_version")["symbol"], "ptsnap-fixture 1.0");
    assert_eq!(global("global_op")["symbol"], "add");
    assert_eq!(global("global_color")["symbol"], "BLUE");
    assert_eq!(member(global("global_origin"), "x")["value"], -1);
    assert_eq!(global("global_opaque")["type"], "struct opaque *");
    // DWARF 4 has no atomic qualifier (DW_TAG_atomic_type is DWARF 5).
    let atomic = if flags.contains(&"-gdwarf-4") { "int" } else { "_Atomic int" };
    assert_eq!(
        (global("global_atomic")["type"].as_str(), &global("global_atomic")["value"]),
        (Some(atomic), &Value::from(3))
    );
    assert_eq!(
        (global("global_cv")["type"].as_str(), &global("global_cv")["value"]),
        (Some("const volatile int"), &Value::from(4))
    );
    // A flexible array member: no bound, no elements.
    let flex = &global("global_flex")["target"];
    assert_eq!(member(flex, "n")["value"], 3);
    assert_eq!((member(flex, "data")["type"].as_str(), member(flex, "data").get("elements")), (Some("int []"), None));
    assert_eq!(global("grid")["cu"].as_str().map(|c| c.ends_with("vars.c")), Some(true));
    assert_eq!(global("grid")["module"], name);
    assert_eq!(globals.iter().filter(|g| g["name"] == "grid").count(), 1, "named and --globals: listed once");

    // TLS: each thread its own values; errno from the C library.
    for (t, counter, label) in [(main, 42, "main-thread"), (second_thread(&snap), 7, "second-thread")] {
        let tls = t["tls"].as_array().unwrap();
        let find = |n: &str| tls.iter().find(|v| v["name"] == n).unwrap_or_else(|| panic!("no TLS {n}: {tls:?}"));
        assert_eq!(find("tls_counter")["value"], counter);
        assert_eq!(find("tls_name")["symbol"], label);
        assert_eq!(find("errno")["value"], 0);
    }
}

fn second_thread(snap: &Value) -> &Value {
    let pid = snap["process"]["pid"].as_i64().unwrap();
    snap["threads"].as_array().unwrap().iter().find(|t| t["tid"] != pid).expect("a second thread")
}

#[test]
fn values_o0_dwarf5() {
    check_values("vars-O0", &["-g", "-O0"]);
}

#[test]
fn values_o2_dwarf5() {
    check_values("vars-O2", &["-g", "-O2"]);
}

#[test]
fn values_o2_dwarf4() {
    check_values("vars-O2-dwarf4", &["-gdwarf-4", "-O2"]);
}

#[test]
fn values_o0_dwarf4() {
    check_values("vars-O0-dwarf4", &["-gdwarf-4", "-O0"]);
}

/// Limits cut and mark; --no-variables reads none.
#[test]
fn limits_and_no_variables() {
    let _serial = serial();
    let bin = build("vars.c", "vars-limits", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let snap =
        snapshot(running.pid(), "vars-limits", &["--max-elements", "2", "--max-string", "3", "--deref-depth", "0"]);
    let walk = frame(main_thread(&snap), "walk");
    let vla = var(walk, "vla");
    assert_eq!(element_values(vla), [0, 1]);
    assert_eq!(vla["truncated"], true);
    assert_eq!(var(walk, "chain").get("target"), None, "depth 0: addresses only");
    // OBJECT:NAME picks the module; a name found nowhere is an error entry.
    let snap = snapshot(running.pid(), "vars-object", &["--global", "vars-limits:grid", "--global", "no_such_global"]);
    let globals = snap["globals"].as_array().unwrap();
    assert_eq!((globals.len(), globals[0]["name"].as_str()), (1, Some("grid")));
    let errors = snap["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["message"].as_str().unwrap().contains("no_such_global")), "{errors:?}");
    let o = ptsnap(&["--global", "libc.so.6:", &running.pid().to_string()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--global expects"));
    let snap = snapshot(running.pid(), "vars-none", &["--no-variables"]);
    for t in snap["threads"].as_array().unwrap() {
        assert!(t["tls"].as_array().unwrap().is_empty());
        for f in t["frames"].as_array().unwrap() {
            assert!(f["parameters"].as_array().unwrap().is_empty() && f["locals"].as_array().unwrap().is_empty());
        }
    }
}

/// gdb as the oracle for `source` built by `compiler` with `flags` (see
/// [`common::gdb::differential`]).
fn differential(compiler: Compiler, source: &str, name: &str, flags: &[&str], args: &[&str]) {
    let _serial = serial();
    let bin = build_with(compiler, source, name, flags);
    gdb::differential(&bin, &format!("{name}-{}", compiler.name()), args);
}

/// The differential test with every compiler installed (gcc and clang,
/// both required under CI).
fn gdb_agrees(source: &str, name: &str, flags: &[&str], args: &[&str]) {
    if tool_available("gdb") {
        for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
            differential(compiler, source, name, flags, args);
        }
    }
}

#[test]
fn gdb_agrees_vars_o0() {
    gdb_agrees("vars.c", "vars-diff-O0", &["-g", "-O0"], &[]);
}

#[test]
fn gdb_agrees_vars_o2() {
    gdb_agrees("vars.c", "vars-diff-O2", &["-g", "-O2"], &[]);
}

#[test]
fn gdb_agrees_vars_o2_dwarf4() {
    gdb_agrees("vars.c", "vars-diff-O2-d4", &["-gdwarf-4", "-O2"], &[]);
}

/// The deadlock fixture: libc frames (with libc6-dbg) at -O2, with
/// location lists and entry values; at -O0 for the fixture's own frames.
#[test]
fn gdb_agrees_hang_o2() {
    gdb_agrees("hang.c", "hang-diff-O2", &["-g", "-O2"], &[]);
}

#[test]
fn gdb_agrees_hang_o0() {
    gdb_agrees("hang.c", "hang-diff-O0", &["-g", "-O0"], &["2"]);
}

#[test]
fn gdb_agrees_classes_o0() {
    gdb_agrees("classes.cpp", "classes-diff-O0", &["-g", "-O0"], &[]);
}

#[test]
fn gdb_agrees_classes_o2() {
    gdb_agrees("classes.cpp", "classes-diff-O2", &["-g", "-O2"], &[]);
}

/// Inlined frames' parameters and locals, and a 50-frame recursion.
#[test]
fn gdb_agrees_small_fixtures() {
    for opt in ["-O0", "-O2"] {
        for (source, args) in [("inline.c", &[][..]), ("deep.c", &["50"])] {
            let name = format!("{}-diff{opt}", source.split('.').next().unwrap());
            gdb_agrees(source, &name, &["-g", opt], args);
        }
    }
}

/// Tail calls: the frames gdb synthesizes and their entry-value parameters.
#[test]
fn gdb_agrees_tailcall() {
    for opt in ["-O0", "-O2"] {
        gdb_agrees("tailcall.c", &format!("tailcall-diff{opt}"), &["-g", opt], &[]);
    }
}

/// Base classes print as gdb prints them, `<Base> = {...}`, and a class
/// without members as `{<No data fields>}` (it printed `?`).
#[test]
fn empty_base_classes_print_like_gdb() {
    let builds = Compiler::ALL.into_iter().filter(|c| c.available()).flat_map(|c| [(c, "-O0"), (c, "-O2")]);
    for (compiler, opt) in builds {
        let bin = build_with(compiler, "empty_base.cpp", &format!("empty-base{opt}"), &["-g", opt]);
        let name = format!("empty-base{opt}-{}", compiler.name());
        let _serial = serial();
        let running = start(&bin, &[]);
        snapshot(running.pid(), &name, &["--no-default-modules"]);
        let shown = shown(&name);
        let ours = shown.lines().map(str::trim).find(|l| l.starts_with("it = ")).unwrap().to_string();
        assert_eq!(ours, "it = {<Empty> = {<No data fields>}, <Tag> = {<No data fields>}, id = 7}", "{name}");
        if tool_available("gdb") {
            let text = gdb_says(running.pid(), &["frame function main", "info locals"]);
            assert!(text.lines().any(|l| l.trim() == ours), "{name}: gdb says:\n{text}");
        }
    }
}

/// A function-scope local the compiler dropped from an inlined copy
/// (`__PRETTY_FUNCTION__`) is listed as optimized out, once; at -O0 it has
/// its value. clang writes no DIE for `__PRETTY_FUNCTION__` at all (gdb
/// lists only `who` and `doubled` there too): with clang the other locals
/// are checked.
#[test]
fn locals_dropped_from_an_inlined_copy() {
    for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
        locals_dropped_with(compiler);
    }
}

fn locals_dropped_with(compiler: Compiler) {
    for (name, flags) in [("inlined-locals-O2", ["-g", "-O2"]), ("inlined-locals-O0", ["-g", "-O0"])] {
        let bin = build_with(compiler, "inlined_locals.cpp", name, &flags);
        let name = &format!("{name}-{}", compiler.name());
        let snap = {
            let _serial = serial();
            let running = start(&bin, &[]);
            snapshot(running.pid(), name, &["--no-default-modules"])
        };
        let frames = snap["threads"][0]["frames"].as_array().unwrap();
        let method = frames.iter().find(|f| f["function"] == "Box::wait_and_log").unwrap();
        let locals = method["locals"].as_array().unwrap();
        let names: Vec<&str> = locals.iter().map(|v| v["name"].as_str().unwrap()).collect();
        for local in ["who", "doubled"] {
            assert_eq!(names.iter().filter(|n| **n == local).count(), 1, "{name}: {names:?}");
        }
        if compiler == Compiler::Clang {
            assert!(!names.contains(&"__PRETTY_FUNCTION__"), "{name}: {names:?}");
            continue;
        }
        assert_eq!(names.iter().filter(|n| **n == "__PRETTY_FUNCTION__").count(), 1, "{name}: {names:?}");
        let pretty = locals.iter().find(|v| v["name"] == "__PRETTY_FUNCTION__").unwrap();
        if flags[1] == "-O2" {
            assert_eq!(method["inlined"], true, "{name}: the method is inlined");
            assert_eq!(pretty["location"], "optimized-out", "{pretty}");
        } else {
            assert!(pretty["symbol"].as_str().is_some_and(|s| s.contains("wait_and_log")), "{pretty}");
        }
    }
}

/// The compilers and optimization levels fixtures are built with (clang
/// only where installed; under CI it must be).
fn compilers(c_plus_plus: bool) -> Vec<(&'static str, &'static str)> {
    let (gcc, clang) = if c_plus_plus { ("g++", "clang++") } else { ("gcc", "clang") };
    let mut out = vec![(gcc, "-O0"), (gcc, "-O2")];
    if tool_available("clang") {
        out.extend([(clang, "-O0"), (clang, "-O2")]);
    }
    out
}

/// What gdb prints for `commands` (`-ex` each) attached to `pid`.
fn gdb_says(pid: i32, commands: &[&str]) -> String {
    let mut args = vec!["-batch".to_string(), "-nx".into(), "-p".into(), pid.to_string()];
    for c in commands {
        args.extend(["-ex".to_string(), c.to_string()]);
    }
    let o = std::process::Command::new("gdb").args(&args).output().expect("gdb runs");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `ptsnap show` of the snapshot written as `<name>.json`.
fn shown(name: &str) -> String {
    let out = work_dir().join(format!("{name}.json"));
    String::from_utf8(ptsnap(&["show", out.to_str().unwrap()]).stdout).unwrap()
}

/// A line of gdb's without the `<symbol>` it prints after an address
/// (`0x5555… <path> "/dev/null"`), which `ptsnap show` leaves out.
fn without_symbols(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(" <") {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let address = before.rsplit([' ', '=', '{']).next().is_some_and(|w| w.starts_with("0x"));
        match after.find('>') {
            Some(end) if address => rest = &after[end + 1..],
            _ => {
                out.push_str(" <");
                rest = &after[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A `char *` behind a typedef, and a pointer to any one-byte character
/// type (`unsigned char`, `signed char`, `uint8_t`, `int8_t`, through
/// typedefs), is a string whose `base_type` is the character type, printed
/// as gdb prints it (`0x… "/dev/null"`, `""`).
#[test]
fn strings_behind_typedefs() {
    for (compiler, opt) in compilers(false) {
        let name = format!("strings-{compiler}{opt}");
        let bin = build_units(compiler, &["strings.c"], &name, &["-g", opt]);
        let _serial = serial();
        let running = start(&bin, &[]);
        let snap = snapshot(running.pid(), &name, &["--no-default-modules"]);
        let shown = shown(&name);
        let main = frame(main_thread(&snap), "main");
        let h = var(main, "h");
        let base = |n: &str| (member(h, n)["base_type"].as_str().unwrap(), member(h, n)["symbol"].as_str().unwrap());
        assert_eq!(member(h, "path")["type"], "pointer", "{name}");
        assert_eq!(
            ["path", "empty", "raw", "chain", "uc", "sc", "u8", "i8"].map(base),
            [
                ("char", "/dev/null"),
                ("char", ""),
                ("unsigned char", "bytes"),
                ("unsigned char", "text"),
                ("unsigned char", "text"),
                ("signed char", "text"),
                ("unsigned char", "text"),
                ("signed char", "text"),
            ],
            "{name}"
        );
        let ours = shown.lines().map(str::trim).find(|l| l.starts_with("h = {")).unwrap().to_string();
        assert!(ours.contains(r#" "/dev/null", empty = 0x"#) && ours.contains(r#" "", raw = 0x"#), "{shown}");
        if opt == "-O0" {
            let alias = shown.lines().map(str::trim).find(|l| l.starts_with("alias = 0x")).unwrap();
            assert!(alias.ends_with(r#" "/dev/null""#), "{shown}");
        }
        if tool_available("gdb") {
            let text = gdb_says(running.pid(), &["frame function main", "info locals"]);
            let theirs = text.lines().map(str::trim).find(|l| l.starts_with("h = {")).map(without_symbols);
            assert_eq!(theirs.as_deref(), Some(ours.as_str()), "{name}: gdb says\n{text}");
        }
    }
}

/// Bounds written with one- and two-byte forms whose top bit is set are
/// unsigned: `char [256]` (data1 0xff), `int [200]`, `char [40000]`.
#[test]
fn array_bounds_are_unsigned() {
    let builds = Compiler::ALL.into_iter().filter(|c| c.available()).flat_map(|c| [(c, "-O0"), (c, "-O2")]);
    for (compiler, opt) in builds {
        let flags = ["-g", opt];
        let bin = build_with(compiler, "bounds.c", &format!("bounds{opt}"), &flags);
        let name = &format!("bounds{opt}-{}", compiler.name());
        let snap = {
            let _serial = serial();
            let running = start(&bin, &[]);
            snapshot(running.pid(), name, &["--no-default-modules", "--global", "big", "--global", "global_name"])
        };
        let main = snap["threads"][0]["frames"].as_array().unwrap().iter().find(|f| f["function"] == "main").unwrap();
        let local = |n: &str| main["locals"].as_array().unwrap().iter().find(|v| v["name"] == n).cloned();
        let global = |n: &str| snap["globals"].as_array().unwrap().iter().find(|v| v["name"] == n).unwrap().clone();
        assert_eq!(global("big")["type"], "char [40000]", "{name}");
        assert_eq!(global("big")["size"], 40000, "{name}");
        assert_eq!(
            (global("global_name")["type"].as_str(), global("global_name")["symbol"].as_str()),
            (Some("char [256]"), Some("global"))
        );
        // At -O2 the compiler may keep the locals in registers or drop them.
        if let Some(name_var) = local("name").filter(|v| v["location"] == "memory") {
            assert_eq!((name_var["type"].as_str(), name_var["symbol"].as_str()), (Some("char [256]"), Some("hello")));
        }
        if let Some(small) = local("small").filter(|v| v["location"] == "memory") {
            assert_eq!(small["type"], "int [200]");
            let elements = small["elements"].as_array().unwrap();
            assert_eq!((elements.len(), elements[99]["value"].as_i64()), (100, Some(99)), "cut at --max-elements");
            assert_eq!(small["truncated"], true);
        } else {
            assert_eq!(flags[1], "-O2", "at -O0 `small` is in memory");
        }
    }
}

/// A function split into hot and cold parts (DW_AT_ranges, no low_pc):
/// its entry values come from its first range's start, as gdb takes it.
/// gcc only: clang splits functions only with a profile
/// (`-fsplit-machine-functions` needs PGO data), so cannot make the case.
#[test]
fn entry_values_in_a_split_function() {
    for (name, flags) in [("hotcold-O2", ["-g", "-O2"]), ("hotcold-O0", ["-g", "-O0"])] {
        let bin = build("hotcold.c", name, &flags);
        let split = std::process::Command::new("nm").arg(&bin).output().unwrap();
        let split = String::from_utf8_lossy(&split.stdout).contains("wait_with.cold");
        assert_eq!(split, flags[1] == "-O2", "{name}: the fixture must (only at -O2) split the function");
        let snap = {
            let _serial = serial();
            let running = start(&bin, &[]);
            snapshot(running.pid(), name, &["--no-default-modules"])
        };
        let frame =
            snap["threads"][0]["frames"].as_array().unwrap().iter().find(|f| f["function"] == "wait_with").unwrap();
        let params: Vec<(&str, Option<i64>)> = frame["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["value"].as_i64()))
            .collect();
        // gdb prints tag=<optimized out> here: it does not follow main's
        // caller for main's own entry value; 41 is argc + 40.
        assert_eq!(params[1..], [("n", Some(5)), ("tag", Some(41))], "{name}: {}", frame["parameters"]);
    }
}

/// `ptsnap show` prints parameters in the frame line and locals under it,
/// in C syntax, like gdb's `bt full`.
#[test]
fn show_prints_values_like_gdb() {
    let _serial = serial();
    let bin = build("vars.c", "vars-show", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    let snap = snapshot(running.pid(), "vars-show", &["--global", "grid"]);
    drop(running);
    let out = ptsnap(&["show", work_dir().join("vars-show.json").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let walk = text.lines().find(|l| l.contains(" in walk (")).unwrap_or_else(|| panic!("{text}"));
    let chain = frame(main_thread(&snap), "walk")["parameters"][0]["value"].as_u64().unwrap();
    assert!(walk.contains(&format!("(chain={chain:#x}, list=0x")) && walk.contains(", depth=3) (vars.c:"), "{walk}");
    for expected in [
        "        corner = {x = 3, y = 4}",
        "        buf = \"hello\"",
        "        matrix = {{1, 2, 3}, {4, 5, 6}}",
        "        letter = 81 'Q'",
        "        mode = F_READ | F_EXEC",
        "        z = 1.0 + 2.0i",
        "    tls tls_counter = 42",
        "  grid = {{0, 1, 2, 3}, {10, 11, 12, 13}, {20, 21, 22, 23}}",
    ] {
        assert!(text.lines().any(|l| l == expected), "no line {expected:?} in\n{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("        op = 0x") && l.ends_with(" <add>")), "{text}");
    assert!(text.lines().any(|l| l.contains("in scaled (value=99, factor=2)") && l.ends_with("(inlined)")), "{text}");
}

/// C++: references (followed always), a base class as a member, a class
/// template, std::vector's spelling, a pointer to a base, thread_local.
#[test]
fn cpp_classes_and_references() {
    let _serial = serial();
    for (name, flags) in [("classes-O0", &["-g", "-O0"]), ("classes-O2", &["-g", "-O2"])] {
        let bin = build("classes.cpp", name, flags);
        let running = start(&bin, &[]);
        let snap = snapshot(running.pid(), name, &[]);
        let main = main_thread(&snap);
        let inspect = frame(main, "inspect");
        let r = var(inspect, "ref");
        assert_eq!(
            (r["type"].as_str(), r["kind"].as_str(), r["base_type"].as_str()),
            (Some("const shop::Derived &"), Some("reference"), Some("shop::Derived"))
        );
        let derived = &r["target"];
        assert_eq!(member(derived, "derived_value")["value"], 9);
        assert_eq!(member(derived, "label")["symbol"], "derived");
        let base = member(derived, "shop::Base");
        assert_eq!(base["annotations"][0]["text"], "base class");
        assert_eq!(member(base, "base_value")["value"], 7);
        let moved = var(inspect, "moved");
        assert_eq!(moved["type"], "shop::Item &&");
        assert_eq!(member(&moved["target"], "price")["value"], 1.25);
        let boxed = var(inspect, "box");
        assert_eq!((boxed["type"].as_str(), boxed["kind"].as_str()), (Some("shop::Box<int>"), Some("tuple")));
        assert_eq!(member(boxed, "value")["value"], 42);
        let items = var(inspect, "items");
        assert!(items["type"].as_str().unwrap().starts_with("const std::vector<shop::Item"), "{}", items["type"]);
        assert!(items["type"].as_str().unwrap().ends_with(" &"), "{}", items["type"]);
        let base_ptr = var(inspect, "base");
        assert_eq!(base_ptr["type"], "shop::Base *");
        assert_eq!(member(&base_ptr["target"], "base_value")["value"], 7);
        let tls = main["tls"].as_array().unwrap();
        assert_eq!(tls.iter().find(|v| v["name"] == "cpp_tls").expect("thread_local cpp_tls")["value"], 6);
    }
}

/// TLS of the executable, of a library linked at startup (static TLS
/// block) and of one opened with dlopen (the DTV), per thread.
#[test]
fn tls_in_shared_libraries() {
    let _serial = serial();
    let dir = work_dir();
    let linked = build("tls/tls_lib.c", "libtls_linked.so", &["-g", "-shared", "-fPIC", "-DLIB_NAME=\"linked\""]);
    let opened = build("tls/tls_lib.c", "libtls_opened.so", &["-g", "-shared", "-fPIC", "-DLIB_NAME=\"opened\""]);
    let rpath = format!("-Wl,-rpath,{}", dir.display());
    let bin = build(
        "tls/tls_main.c",
        "tls-main",
        &["-g", "-O0", "-Wl,--no-as-needed", linked.to_str().unwrap(), &rpath, "-ldl"],
    );
    let running = start(&bin, &[opened.to_str().unwrap()]);
    let default = snapshot(running.pid(), "tls-default", &[]);
    let snap = snapshot(running.pid(), "tls-all", &["--tls-all"]);
    let pid = snap["process"]["pid"].as_i64().unwrap();
    for (t, main_counter, linked_counter, opened_counter) in [(pid, 100, 21, 43), (-1, 200, 22, 44)] {
        let thread = if t == pid { main_thread(&snap) } else { second_thread(&snap) };
        let tls = thread["tls"].as_array().unwrap();
        let find = |name: &str, module: &str| {
            tls.iter()
                .find(|v| v["name"] == name && v["module"] == module)
                .unwrap_or_else(|| panic!("no TLS {name} of {module} in {tls:?}"))
        };
        assert_eq!(find("main_counter", "tls-main")["value"], main_counter);
        assert_eq!(find("lib_counter", "libtls_linked.so")["value"], linked_counter);
        assert_eq!(find("lib_name", "libtls_linked.so")["symbol"], "linked");
        assert_eq!(find("lib_counter", "libtls_opened.so")["value"], opened_counter);
        assert_eq!(find("lib_name", "libtls_opened.so")["symbol"], "opened");
        assert_eq!(
            find("lib_counter", "libtls_opened.so")["cu"].as_str().map(|c| c.ends_with("tls_lib.c")),
            Some(true)
        );
    }
    // Without --tls-all: the executable's TLS and errno only.
    let names: Vec<&str> =
        main_thread(&default)["tls"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["main_counter", "errno"]);
}

/// DW_OP_implicit_pointer: at -O2 the struct lives in registers and the
/// inlined function's pointer to it has no value, only a target. LLVM
/// never writes DW_OP_implicit_pointer: with clang `p` is optimized out,
/// as gdb shows it (`use (p=<optimized out>)`).
#[test]
fn implicit_pointer() {
    for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
        let _serial = serial();
        let bin = build_with(compiler, "implicit.c", "implicit-O2", &["-g", "-O2"]);
        let name = format!("implicit-O2-{}", compiler.name());
        let running = start(&bin, &[]);
        let snap = snapshot(running.pid(), &name, &[]);
        let used = frame(main_thread(&snap), "use");
        let p = var(used, "p");
        let out = ptsnap(&["show", work_dir().join(format!("{name}.json")).to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        if compiler == Compiler::Clang {
            assert_eq!(p["location"], "optimized-out", "{p}");
            assert!(text.lines().any(|l| l.contains("in use (p=<optimized out>)")), "{text}");
            continue;
        }
        assert_eq!(
            (p["type"].as_str(), p["location"].as_str(), &p["value"]),
            (Some("const struct pair *"), Some("implicit"), &Value::Null)
        );
        assert_eq!([&member(&p["target"], "a")["value"], &member(&p["target"], "b")["value"]], [7, 8]);
        assert!(text.lines().any(|l| l.contains("in use (p=<synthetic pointer>)")), "{text}");
    }
}

/// A parameter a caller frame holds at its call only in a caller-saved
/// register (clang at -O2: `n` in rdi, which the callee changes): it is
/// read where the location list puts it once the call returns, here its
/// entry value from main's call site. gdb shows the callee's rdi as `n`
/// there and the right value as `n@entry`, which is what is compared (at
/// -O0, `n` is on the stack).
#[test]
fn caller_saved_register_across_a_call() {
    for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
        for opt in ["-O0", "-O2"] {
            let name = format!("callerregs{opt}");
            let bin = build_with(compiler, "callerregs.c", &name, &["-g", opt]);
            let _serial = serial();
            let running = start(&bin, &[]);
            let snap = snapshot(running.pid(), &format!("{name}-{}", compiler.name()), &["--no-default-modules"]);
            let hold = frame(main_thread(&snap), "hold");
            assert_eq!(hold["line"].as_u64(), Some(line_of("callerregs.c", "hold_call")));
            assert_eq!(var(hold, "n")["value"], 7, "{name} {compiler:?}: {}", var(hold, "n"));
            if tool_available("gdb") {
                let o = std::process::Command::new("gdb")
                    .args(["-batch", "-nx", "-p", &running.pid().to_string()])
                    .args(["-ex", "frame function hold", "-ex", if opt == "-O0" { "print n" } else { "print n@entry" }])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&o.stdout);
                assert!(text.lines().any(|l| l.ends_with(" = 7")), "{name} {compiler:?}: gdb says\n{text}");
            }
        }
    }
}

/// Parameters without a name stay in the snapshot, in their place, with
/// name "" and their value (at -O0 both compilers keep them on the stack);
/// `ptsnap show` leaves them out of the frame line, as gdb does.
#[test]
fn unnamed_parameters() {
    for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
        for opt in ["-O0", "-O2"] {
            let name = format!("unnamed{opt}");
            let bin = build_with(compiler, "unnamed.cpp", &name, &["-g", opt]);
            let name = format!("{name}-{}", compiler.name());
            let _serial = serial();
            let running = start(&bin, &[]);
            let snap = snapshot(running.pid(), &name, &["--no-default-modules"]);
            let on_event = frame(main_thread(&snap), "on_event");
            let params: Vec<(&str, Option<i64>)> = on_event["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["name"].as_str().unwrap(), p["value"].as_i64()))
                .collect();
            let names: Vec<&str> = params.iter().map(|p| p.0).collect();
            assert_eq!(names, ["", "name", ""], "{name}");
            if opt == "-O0" {
                assert_eq!((params[0].1, params[2].1), (Some(3), Some(9)), "{name}");
            }
            let shown = ptsnap(&["show", work_dir().join(format!("{name}.json")).to_str().unwrap()]);
            let shown = String::from_utf8(shown.stdout).unwrap();
            let line = shown.lines().find(|l| l.contains(" in on_event ")).unwrap();
            let args = |l: &str| l.split(" in on_event ").nth(1).and_then(|r| r.split(')').next()).map(String::from);
            assert!(args(line).is_some_and(|a| a.starts_with("(name=0x") && a.ends_with(" \"tick\"")), "{line}");
            if tool_available("gdb") {
                let o = std::process::Command::new("gdb")
                    .args(["-batch", "-nx", "-p", &running.pid().to_string(), "-ex", "bt"])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&o.stdout);
                let theirs = text.lines().find(|l| l.contains(" in on_event ")).unwrap_or_else(|| panic!("{text}"));
                assert_eq!(args(line), args(theirs), "{name}: gdb says {theirs}");
            }
        }
    }
}

/// The variables named `name` in frames `wait_here` and `main` that have
/// a value: as listed, and what they point to.
fn values_named<'v>(snap: &'v Value, name: &str) -> Vec<&'v Value> {
    let frames = main_thread(snap)["frames"].as_array().unwrap();
    let in_fixture = frames.iter().filter(|f| f["function"] == "wait_here" || f["function"] == "main");
    let vars =
        in_fixture.flat_map(|f| f["parameters"].as_array().unwrap().iter().chain(f["locals"].as_array().unwrap()));
    let vars = vars.filter(|v| v["name"] == name);
    vars.flat_map(|v| [v, &v["target"]]).filter(|v| v["kind"] == "tuple" && v.get("members").is_some()).collect()
}

/// Compares a fixture made of several units with gdb, pointers followed
/// two deep: equal leaves, and none that gdb reads in the fixture's frames
/// and ptsnap lacks (a type left incomplete loses them all).
fn units_agree_with_gdb(bin: &std::path::Path, name: &str) -> gdb::Differential {
    let _serial = serial();
    let d = gdb::differential_of(bin, name, &[], 2);
    let missing: Vec<&String> =
        d.gdb_only.iter().filter(|l| l.starts_with("\"wait_here\"") || l.starts_with("\"main\"")).collect();
    assert!(missing.is_empty(), "{name}: gdb reads what ptsnap does not:\n{missing:#?}");
    d
}

/// A class gcc and clang describe only in the unit defining its key
/// function (`app::Logger`, a base class elsewhere) and a struct defined
/// in one unit and used through pointers in another (`app::Stats`) are
/// completed from that unit by name: the base class's vtable pointer and
/// members appear, as gdb shows them. Also with `-fdebug-types-section`
/// (DWARF 4 `.debug_types` and DWARF 5 type units, `DW_FORM_ref_sig8`),
/// where gcc's type unit of the derived class only declares the base; gdb
/// shows that base as `<No data fields>`, and ptsnap completes it.
#[test]
fn class_defined_in_another_unit() {
    let mut builds: Vec<(String, &str, Vec<&str>)> = Vec::new();
    for (compiler, opt) in compilers(true) {
        builds.push((format!("units-{compiler}{opt}"), compiler, vec!["-g", opt]));
    }
    let mut type_units = vec![("g++", "-gdwarf-4"), ("g++", "-gdwarf-5")];
    if tool_available("clang++") {
        type_units.extend([("clang++", "-gdwarf-4"), ("clang++", "-gdwarf-5")]);
    }
    for (compiler, dwarf) in type_units {
        for opt in ["-O0", "-O2"] {
            let name = format!("units-types-{compiler}{dwarf}{opt}");
            builds.push((name, compiler, vec![dwarf, "-fdebug-types-section", opt]));
        }
    }
    for (name, compiler, flags) in builds {
        let bin = build_units(compiler, &["units/logger.cpp", "units/logger_main.cpp"], &name, &flags);
        let d = units_agree_with_gdb(&bin, &name);
        eprintln!("{name}: {} of {} leaves equal", d.matched, d.compared);
        let snap = read_json(&work_dir().join(format!("{name}-diff.json")));
        let files = values_named(&snap, "file");
        assert!(!files.is_empty(), "{name}: no FileLogger read");
        for file in files {
            let base = member(file, "app::Logger");
            assert_eq!(base["size"], 24, "{name}: {base}");
            let names: Vec<&str> =
                base["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
            assert!(names[0].starts_with("_vptr"), "{name}: {names:?}");
            assert_eq!(names[1..], ["level", "prefix"], "{name}");
            assert_eq!(
                (member(base, "level")["value"].as_i64(), member(file, "fd")["value"].as_i64()),
                (Some(3), Some(7))
            );
            assert_ne!(member(base, names[0])["value"], 0, "{name}: the vtable pointer");
        }
        for stats in values_named(&snap, "stats") {
            assert_eq!(
                (stats["type"].as_str(), member(stats, "messages")["value"].as_i64()),
                (Some("app::Stats"), Some(30))
            );
        }
    }
}

/// A C struct only declared in one .c file (`struct opaque;`) and defined
/// in another is completed from there when a pointer to it is followed, as
/// gdb's `p *o` shows it.
#[test]
fn c_struct_defined_in_another_file() {
    for (compiler, opt) in compilers(false) {
        let name = format!("opaque-{compiler}{opt}");
        let bin = build_units(compiler, &["units/opaque.c", "units/opaque_main.c"], &name, &["-g", opt]);
        let d = units_agree_with_gdb(&bin, &name);
        eprintln!("{name}: {} of {} leaves equal", d.matched, d.compared);
        let snap = read_json(&work_dir().join(format!("{name}-diff.json")));
        let opaque = values_named(&snap, "o");
        assert!(!opaque.is_empty(), "{name}: no struct opaque read");
        for o in opaque {
            assert_eq!(
                (
                    o["type"].as_str(),
                    o["size"].as_u64(),
                    member(o, "id")["value"].as_i64(),
                    member(o, "name")["symbol"].as_str()
                ),
                (Some("struct opaque"), Some(24), Some(7), Some("seven")),
                "{name}"
            );
        }
    }
}

/// The executable's TLS variables in a snapshot: (name, value).
fn exe_tls(snap: &Value, exe: &str) -> Vec<(String, Value)> {
    let tls = main_thread(snap)["tls"].as_array().unwrap();
    tls.iter()
        .filter(|v| v["module"] == exe)
        .map(|v| (v["name"].as_str().unwrap().to_string(), v["value"].clone()))
        .collect()
}

/// How many DIEs of `binary` have a TLS location, as readelf decodes them.
fn readelf_tls_locations(binary: &std::path::Path) -> usize {
    let out = std::process::Command::new("readelf").arg("--debug-dump=info").arg(binary).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().filter(|l| l.contains("DW_AT_location") && l.contains("tls_address")).count()
}

/// Every file-scope TLS variable is found, whatever the compiler and DWARF
/// version write (the units are pre-filtered on the bytes of TLS
/// locations): the names and values the source gives, and as many as the
/// DWARF has TLS locations by readelf.
#[test]
fn tls_of_every_encoding() {
    assert!(tool_available("readelf"), "readelf needed");
    for compiler in Compiler::ALL.into_iter().filter(|c| c.available()) {
        for (dwarf, opt) in [("-gdwarf-4", "-O0"), ("-gdwarf-5", "-O0"), ("-gdwarf-4", "-O2"), ("-gdwarf-5", "-O2")] {
            let _serial = serial();
            let name = format!("tls-kinds{dwarf}{opt}");
            let bin = build_with(compiler, "tls/tls_kinds.c", &name, &[dwarf, opt]);
            let running = start(&bin, &[]);
            let exe = bin.file_name().unwrap().to_str().unwrap();
            let snap = snapshot(running.pid(), exe, &[]);
            let tls = exe_tls(&snap, exe);
            // In the DIEs' order, which is the compiler's.
            let mut names: Vec<&str> = tls.iter().map(|(n, _)| n.as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, ["tls_array", "tls_int", "tls_label", "tls_point"], "{exe}");
            assert_eq!(tls.iter().find(|(n, _)| n == "tls_int").unwrap().1, 50, "{exe}");
            assert_eq!(readelf_tls_locations(&bin), names.len(), "{exe}: the DWARF's TLS locations");
        }
    }
}

/// Rust's `thread_local!`: each key found (in its namespace), as many
/// variables as the DWARF has TLS locations.
#[test]
fn tls_of_rust_thread_locals() {
    assert!(tool_available("readelf"), "readelf needed");
    for opt in ["opt-level=0", "opt-level=2"] {
        let _serial = serial();
        let exe = format!("tls-keys-{}", &opt[10..]);
        let bin = build("tls/tls_keys.rs", &exe, &["-g", "-C", opt]);
        let running = start(&bin, &[]);
        let snap = snapshot(running.pid(), &exe, &[]);
        let tls = exe_tls(&snap, &exe);
        // Optimized, a key may go (COUNTER, its value never read).
        let keys: &[&str] = if opt.ends_with('0') { &["shop::COUNTER", "LABEL", "TOTAL"] } else { &["LABEL"] };
        for key in keys {
            assert!(
                tls.iter().any(|(n, _)| n.starts_with(&format!("tls_keys::{key}::"))),
                "{exe}: no {key} in {tls:?}"
            );
        }
        assert_eq!(tls.len(), readelf_tls_locations(&bin), "{exe}: {tls:?}");
    }
}

/// A target read again at the same address, type and depth is read once
/// and shared; one whose type is shaped by its frame (a variable-length
/// array's bound) is read in each frame: the two frames of `show` point
/// at the same `cells` as `int [2]` and `int [3]`, and at the same
/// `config`.
#[test]
fn shared_targets_follow_their_frame() {
    let builds = Compiler::ALL.into_iter().filter(|c| c.available()).flat_map(|c| [(c, "-O0"), (c, "-O2")]);
    for (compiler, opt) in builds {
        let bin = build_with(compiler, "shared_targets.c", &format!("shared_targets{opt}"), &["-g", opt]);
        let name = &format!("shared_targets{opt}-{}", compiler.name());
        let snap = {
            let _serial = serial();
            let running = start(&bin, &[]);
            snapshot(running.pid(), name, &["--no-default-modules"])
        };
        let frames: Vec<&Value> = snap["threads"][0]["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["function"] == "show" && !f["parameters"].as_array().unwrap().is_empty())
            .collect();
        assert_eq!(frames.len(), 2, "{name}: show stands twice");
        let param = |f: &Value, p: &str| f["parameters"].as_array().unwrap().iter().find(|v| v["name"] == p).cloned();
        for (frame, n) in frames.iter().zip([2, 3]) {
            assert_eq!(param(frame, "n").map(|v| v["value"].clone()), Some(n.into()), "{name}");
            // At -O2 a pointer the frame no longer needs may be gone.
            // clang types `row` as a pointer to an array without a bound.
            let row = param(frame, "row").and_then(|v| v.get("target").cloned());
            match row.as_ref().and_then(|t| t["elements"].as_array()) {
                Some(elements) => {
                    let values: Vec<i64> = elements.iter().map(|e| e["value"].as_i64().unwrap()).collect();
                    assert_eq!(values, [10, 20, 30][..n as usize], "{name}: *row in the frame with n = {n}");
                }
                None if compiler == Compiler::Clang => {}
                None => assert!(opt == "-O2", "{name}: *row has its elements at -O0: {row:?}"),
            }
            if let Some(s) = param(frame, "s").filter(|v| v.get("target").is_some()) {
                let members: Vec<i64> =
                    s["target"]["members"].as_array().unwrap().iter().map(|m| m["value"].as_i64().unwrap()).collect();
                assert_eq!(members, [7, 42], "{name}");
            }
        }
        if (compiler, opt) == (Compiler::Gcc, "-O0") {
            // Both frames' `s` point at `config`: written once, in `objects`.
            let raw = read_raw_json(&work_dir().join(format!("{name}.json")));
            let objects = raw["objects"].as_array().unwrap();
            assert!(objects.iter().any(|o| o["name"] == "*s"), "{name}: {objects:?}");
            assert!(!objects.iter().any(|o| o["name"] == "*row"), "{name}: a VLA target is its frame's own");
        }
    }
}
