//! `show`'s rendering units over small snapshot values, for what the
//! golden snapshots (tests/show_golden.rs) do not reach: every value form
//! in C syntax, string escapes, truncation, values that cannot be read,
//! the fault line and the lines that end a thread's stack.

use super::*;
use crate::snapshot::{Addr, Annotation, AnnotationLevel, Fault, Language, SignalInfo};

/// A readable value of `kind` in memory.
fn value(kind: Kind, value: Value) -> Variable {
    Variable { kind, value, location: ValueLocation::Memory, ..Variable::default() }
}

fn named(name: &str, v: Variable) -> Variable {
    Variable { name: name.into(), ..v }
}

fn int(n: i64) -> Variable {
    value(Kind::Ll, Value::Int(n))
}

/// A pointer to `base_type` at `address`, with what it points to named.
fn pointer(address: u64, base_type: &str, symbol: Option<&str>) -> Variable {
    let v = value(Kind::Reference, Value::UInt(address));
    Variable { base_type: base_type.into(), symbol: symbol.map(Into::into), ..v }
}

/// A member that is a base class, as the variable reader marks it.
fn base_class(name: &str, v: Variable) -> Variable {
    let mark = Annotation::text(AnnotationLevel::Comment, BASE_CLASS, "ptsnap");
    Variable { annotations: vec![mark], ..named(name, v) }
}

/// A string's exact bytes, as the snapshot keeps them (hex).
fn string(bytes: &[u8], truncated: bool) -> Variable {
    let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Variable { bytes: Some(hex), truncated, ..value(Kind::String, Value::Null) }
}

/// A thread whose unwinding stopped for `reason`.
fn stopped(reason: &str) -> Thread {
    Thread { tid: 1, frames: vec![Frame::default()], unwind_stop: Some(reason.to_string().into()), ..Thread::default() }
}

#[test]
fn scalars_pointers_and_enums_read_as_c() {
    assert_eq!(c_value(&int(-3)), "-3");
    let q = Variable { symbol: Some("'Q'".into()), ..int(81) };
    assert_eq!(c_value(&q), "81 'Q'");
    assert_eq!(c_value(&value(Kind::Dbl, Value::Float(2.5))), "2.5");
    assert_eq!(c_value(&pointer(0x1000, "char", Some("text"))), "0x1000 \"text\"");
    assert_eq!(c_value(&pointer(0x401000, "void", Some("main+4"))), "0x401000 <main+4>");
    assert_eq!(c_value(&pointer(0, "int", None)), "0x0");
    let function = Variable { symbol: Some("handler".into()), ..value(Kind::Fn, Value::UInt(0x401200)) };
    assert_eq!(c_value(&function), "0x401200 <handler>");
    let green = Variable { symbol: Some("GREEN".into()), ..value(Kind::Enum, Value::Int(1)) };
    assert_eq!(c_value(&green), "GREEN");
    assert_eq!(c_value(&value(Kind::Enum, Value::Int(7))), "7", "a value no enumerator names");
    let synthetic = Variable { target: Some(std::sync::Arc::new(int(5))), ..value(Kind::Reference, Value::Null) };
    assert_eq!(c_value(&synthetic), "<synthetic pointer>");
}

#[test]
fn aggregates_read_as_c_initializers() {
    let point = Variable { members: vec![named("x", int(3)), named("y", int(4))], ..value(Kind::Tuple, Value::Null) };
    assert_eq!(c_value(&point), "{x = 3, y = 4}");
    let base = Variable { members: vec![named("id", int(7))], ..value(Kind::Tuple, Value::Null) };
    let derived = Variable { members: vec![base_class("Base", base), named("extra", int(9))], ..point.clone() };
    assert_eq!(c_value(&derived), "{<Base> = {id = 7}, extra = 9}");
    let anonymous = Variable { members: vec![named("", point.clone())], ..value(Kind::Tuple, Value::Null) };
    assert_eq!(c_value(&anonymous), "{{x = 3, y = 4}}", "an anonymous union's members in braces");
    assert_eq!(c_value(&value(Kind::Tuple, Value::Null)), "{<No data fields>}");
    let array = Variable { elements: vec![int(1), int(2), int(3)], ..value(Kind::Array, Value::Null) };
    assert_eq!(c_value(&array), "{1, 2, 3}");
    let cut = Variable { truncated: true, ..array };
    assert_eq!(c_value(&cut), "{1, 2, 3...}", "a limit cut the elements");
    let cut_members = Variable { truncated: true, ..point };
    assert_eq!(c_value(&cut_members), "{x = 3, y = 4...}");
}

/// A Rust enum's value: of type `ty`, the variant `name` active with
/// `fields`.
fn rust_enum(ty: &str, name: &str, fields: Vec<Variable>) -> Variable {
    let variant = Variable { members: fields, ..named(name, value(Kind::Tuple, Value::Null)) };
    let v = value(Kind::Tuple, Value::Null);
    Variable { type_name: ty.into(), symbol: Some(name.into()), members: vec![variant], ..v }
}

#[test]
fn rust_enums_read_as_rust_gdb_prints_them() {
    let option = "core::option::Option<i32>";
    assert_eq!(c_value(&rust_enum(option, "Some", vec![named("__0", int(5))])), "core::option::Option<i32>::Some(5)");
    assert_eq!(c_value(&rust_enum(option, "None", vec![])), "core::option::Option<i32>::None");
    let rect = rust_enum("app::Shape", "Rect", vec![named("w", int(6)), named("h", int(7))]);
    assert_eq!(c_value(&rect), "app::Shape::Rect{w: 6, h: 7}");
    let nested = rust_enum("R", "Err", vec![named("__0", rect)]);
    assert_eq!(c_value(&nested), "R::Err(app::Shape::Rect{w: 6, h: 7})");
    let mut cut = rust_enum("app::Pair", "Pair", vec![named("__0", int(1))]);
    cut.members[0].truncated = true;
    assert_eq!(c_value(&cut), "app::Pair::Pair(1...)");
    // A struct that merely has a member named as its symbol is no enum:
    // the member must be a struct (the variant's).
    let odd =
        Variable { symbol: Some("x".into()), members: vec![named("x", int(1))], ..value(Kind::Tuple, Value::Null) };
    assert_eq!(c_value(&odd), "{x = 1}");
    // A discriminant that selects no variant: like any struct that could
    // not be read.
    let error = Some("the discriminant 7 matches no variant".into());
    let unmatched = Variable { error, type_name: "app::Shape".into(), ..value(Kind::Tuple, Value::Null) };
    assert_eq!(c_value(&unmatched), "?");
}

/// A struct of type `ty` with `members` and `elements`.
fn rust_struct(ty: &str, members: Vec<Variable>, elements: Vec<Variable>) -> Variable {
    Variable { type_name: ty.into(), members, elements, ..value(Kind::Tuple, Value::Null) }
}

#[test]
fn rust_sequences_and_shared_pointers_read_as_rust_gdb_prints_them() {
    let vec = "alloc::vec::Vec<i32, alloc::alloc::Global>";
    let three = rust_struct(vec, vec![named("len", int(3))], vec![int(1), int(2), int(3)]);
    assert_eq!(c_value(&three), "Vec(size=3) = {1, 2, 3}");
    assert_eq!(c_value(&rust_struct(vec, vec![named("len", int(0))], vec![])), "Vec(size=0)");
    let cut = Variable { truncated: true, ..rust_struct("&[u8]", vec![named("length", int(9))], vec![int(7)]) };
    assert_eq!(c_value(&cut), "&[u8](size=9) = {7...}");
    // Elements that could not be read: the raw struct.
    let unread = rust_struct("&mut [u8]", vec![named("length", int(2))], vec![]);
    assert_eq!(c_value(&unread), "{length = 2}");
    // An Rc: its RcInner is the target of `ptr.pointer`.
    let cell = |n| rust_struct("core::cell::Cell<usize>", vec![named("value", int(n))], vec![]);
    let inner =
        rust_struct("RcInner", vec![named("strong", cell(2)), named("weak", cell(2)), named("value", int(7))], vec![]);
    let pointer = Variable { target: Some(std::sync::Arc::new(inner)), ..pointer(0x10, "RcInner", None) };
    let non_null =
        rust_struct("core::ptr::non_null::NonNull<RcInner>", vec![named("pointer", pointer.clone())], vec![]);
    let rc = rust_struct("alloc::rc::Rc<i32, alloc::alloc::Global>", vec![named("ptr", non_null)], vec![]);
    assert_eq!(c_value(&rc), "Rc(strong=2, weak=1) = {value = 7, strong = 2, weak = 1}");
    // Not followed (--deref-depth 0): the raw struct.
    let unfollowed = Variable { target: None, ..pointer };
    let non_null = rust_struct("NonNull", vec![named("pointer", unfollowed)], vec![]);
    let rc = rust_struct("alloc::rc::Rc<i32, alloc::alloc::Global>", vec![named("ptr", non_null)], vec![]);
    assert_eq!(c_value(&rc), "{ptr = {pointer = 0x10}}");
}

/// A `HashMap` or `HashSet` of type `ty` holding `items` (at the raw path
/// rustc gives them) and `entries`.
fn rust_table(ty: &str, set: bool, items: i64, entries: Vec<Variable>) -> Variable {
    let mut count = named("items", int(items));
    for wrapper in ["table", "table"].into_iter().chain(set.then_some("map")).chain(["base"]) {
        count = named(wrapper, rust_struct("", vec![count], vec![]));
    }
    rust_struct(ty, vec![count], entries)
}

#[test]
fn rust_maps_and_sets_read_as_rust_gdb_prints_them() {
    let map = "std::collections::hash::map::HashMap<i32, i64, std::hash::random::RandomState>";
    let entry = |k, v| rust_struct("(i32, i64)", vec![named("__0", int(k)), named("__1", int(v))], vec![]);
    let two = rust_table(map, false, 2, vec![entry(1, -10), entry(2, -20)]);
    assert_eq!(c_value(&two), "HashMap(size=2) = {[1] = -10, [2] = -20}");
    assert_eq!(c_value(&rust_table(map, false, 0, vec![])), "HashMap(size=0)");
    let cut = Variable { truncated: true, ..rust_table(map, false, 5, vec![entry(1, -10)]) };
    assert_eq!(c_value(&cut), "HashMap(size=5) = {[1] = -10...}");
    // Entries that could not be read: the raw struct.
    assert_eq!(c_value(&rust_table(map, false, 1, vec![])), "{base = {table = {table = {items = 1}}}}");
    let set = "std::collections::hash::set::HashSet<i32, std::hash::random::RandomState>";
    assert_eq!(c_value(&rust_table(set, true, 2, vec![int(7), int(5)])), "HashSet(size=2) = {7, 5}");
}

/// A member holding `inner` in wrapper structs: named by the last of
/// `names`, the wrappers holding it as the others, innermost first
/// (`&["value", "cell"]`: `cell = {value = inner}`).
fn wrapped(inner: Variable, names: &[&str]) -> Variable {
    let (outer, within) = names.split_last().unwrap();
    named(outer, within.iter().fold(inner, |v, name| rust_struct("", vec![named(name, v)], vec![])))
}

#[test]
fn rust_cells_read_as_rust_gdb_prints_them() {
    let cell = rust_struct("core::cell::Cell<i32>", vec![wrapped(int(42), &["value", "value"])], vec![]);
    assert_eq!(c_value(&cell), "Cell = {value = 42}");
    let ref_cell = |borrow| {
        let members = vec![wrapped(int(borrow), &["value", "value", "borrow"]), wrapped(int(5), &["value", "value"])];
        rust_struct("core::cell::RefCell<i32>", members, vec![])
    };
    assert_eq!(c_value(&ref_cell(0)), "RefCell(borrow=0) = {value = 5, borrow = 0}");
    assert_eq!(c_value(&ref_cell(2)), "RefCell(borrow=2) = {value = 5, borrow = 2}");
    assert_eq!(c_value(&ref_cell(-1)), "RefCell(borrow_mut=1) = {value = 5, borrow = -1}");
    // A Ref: what its `value` (a NonNull) and its `borrow.borrow` (a
    // reference to the RefCell's count) point to.
    let to = |target: Variable| Variable { target: Some(std::sync::Arc::new(target)), ..pointer(0x10, "", None) };
    let count = wrapped(int(-1), &["value"]);
    let members = vec![wrapped(to(int(5)), &["pointer", "value"]), wrapped(to(count), &["borrow", "borrow"])];
    let borrowed = rust_struct("core::cell::RefMut<i32>", members, vec![]);
    assert_eq!(c_value(&borrowed), "Ref(borrow_mut=1) = {*value = 5, borrow = -1}");
    // Its pointers not followed (--deref-depth 0): the raw struct.
    let members = vec![wrapped(pointer(0x10, "", None), &["pointer", "value"])];
    assert_eq!(c_value(&rust_struct("core::cell::Ref<i32>", members, vec![])), "{value = {pointer = 0x10}}");
}

#[test]
fn rust_weak_reads_as_an_rc() {
    let weak = |strong, weak| {
        let counts =
            vec![named("strong", wrapped(int(strong), &["value"])), named("weak", wrapped(int(weak), &["value"]))];
        let inner = rust_struct("RcInner", [counts, vec![named("value", int(7))]].concat(), vec![]);
        let pointer = Variable { target: Some(std::sync::Arc::new(inner)), ..pointer(0x10, "RcInner", None) };
        rust_struct("alloc::rc::Weak<i32, alloc::alloc::Global>", vec![wrapped(pointer, &["pointer", "ptr"])], vec![])
    };
    assert_eq!(c_value(&weak(2, 2)), "Weak(strong=2, weak=1) = {value = 7, strong = 2, weak = 1}");
    assert_eq!(c_value(&weak(0, 1)), "Weak(strong=0, weak=1)", "the value is gone");
    let dangling = Variable { symbol: Some("dangling".into()), ..rust_struct("alloc::sync::Weak<u8>", vec![], vec![]) };
    assert_eq!(c_value(&dangling), "Weak(dangling)");
}

#[test]
fn rust_boxed_slices_read_as_gdb_prints_them() {
    let ty = "alloc::boxed::Box<[i32], alloc::alloc::Global>";
    let three = rust_struct(ty, vec![named("length", int(3))], vec![int(1), int(2), int(3)]);
    assert_eq!(c_value(&three), format!("{ty} [1, 2, 3]"));
    assert_eq!(c_value(&rust_struct(ty, vec![named("length", int(0))], vec![])), format!("{ty} []"));
}

/// `v` as a Rust unit's type makes it.
fn rust(v: Variable) -> Variable {
    Variable { language: Some(Language::Rust), ..v }
}

#[test]
fn rust_structs_tuples_and_arrays_read_as_rust_gdb_prints_them() {
    let point = rust(rust_struct("app::Point", vec![named("x", int(5)), named("y", int(-6))], vec![]));
    assert_eq!(c_value(&point), "app::Point {x: 5, y: -6}");
    let pair = rust(rust_struct("app::Pair", vec![named("__0", int(1)), named("__1", point.clone())], vec![]));
    assert_eq!(c_value(&pair), "app::Pair (1, app::Point {x: 5, y: -6})");
    let tuple = rust(rust_struct("(i32, bool)", vec![named("__0", int(1)), named("__1", int(0))], vec![]));
    assert_eq!(c_value(&tuple), "(1, 0)");
    assert_eq!(c_value(&rust(rust_struct("app::Marker", vec![], vec![]))), "app::Marker");
    let unit = Variable { type_name: "()".into(), ..rust(value(Kind::Ull, Value::Int(0))) };
    assert_eq!(c_value(&unit), "()");
    let array = Variable { elements: vec![int(1), int(2)], ..rust(value(Kind::Array, Value::Null)) };
    assert_eq!(c_value(&array), "[1, 2]");
    let cut = Variable { truncated: true, ..point.clone() };
    assert_eq!(c_value(&cut), "app::Point {x: 5, y: -6...}");
    // One that could not be read prints as C's.
    let unread = Variable { error: Some("no".into()), ..rust(rust_struct("app::Marker", vec![], vec![])) };
    assert_eq!(c_value(&unread), "?");
    // The same values of C types print as C.
    let c = |v: Variable| c_value(&Variable { language: None, ..v });
    assert_eq!(
        (c(point), c(tuple), c(array)),
        ("{x = 5, y = -6}".into(), "{__0 = 1, __1 = 0}".into(), "{1, 2}".into())
    );
}

#[test]
fn strings_escape_what_is_not_printable_text() {
    assert_eq!(c_value(&string(b"a\tb\"c\\\0", false)), r#""a\tb\"c\\""#, "the array's last NUL left out");
    assert_eq!(c_value(&string(b"ab\0cd\0\0", false)), r#""ab\000cd\000""#, "NULs inside in octal");
    assert_eq!(c_value(&string(b"caf\xe9 \x1b[0m", false)), r#""caf\351 \033[0m""#, "not UTF-8, and ESC");
    assert_eq!(c_value(&string("café →".as_bytes(), false)), "\"café →\"", "UTF-8 is text");
    assert_eq!(c_value(&string(b"zzz", true)), "\"zzz\"...", "a limit cut the string");
    let text_only = Variable { symbol: Some("line\nbreak".into()), ..value(Kind::String, Value::Null) };
    assert_eq!(c_value(&text_only), r#""line\nbreak""#, "without exact bytes, the text");
    let pointed = Variable { bytes: Some("ff00".into()), ..pointer(0x2000, "unsigned char", Some("\u{fffd}")) };
    assert_eq!(c_value(&pointed), r#"0x2000 "\377""#, "a pointer's exact bytes, not its text");
}

#[test]
fn values_that_cannot_be_read_say_why_not() {
    let gone = Variable { location: ValueLocation::OptimizedOut, ..int(1) };
    assert_eq!(c_value(&gone), "<optimized out>");
    let unreadable =
        Variable { location: ValueLocation::Unavailable, error: Some("rdi is not saved".into()), ..int(0) };
    assert_eq!(c_value(&unreadable), "<unavailable>");
    // A struct that could not be read has no members, but is no empty
    // struct either.
    let failed = Variable { error: Some("cannot read".into()), ..value(Kind::Tuple, Value::Null) };
    assert_eq!(c_value(&failed), "?");
    assert_eq!(c_value(&value(Kind::Ll, Value::Null)), "?");
}

#[test]
fn frame_lines_name_what_is_known() {
    let frame = Frame {
        index: 2,
        pc: Addr(0x401234),
        function: Some("recurse".into()),
        parameters: vec![named("n", int(3)), named("", int(4)), named("info", pointer(0x7ffd0000, "crash_info", None))],
        file: Some("/src/crash.c".into()),
        line: Some(38),
        module: Some("crash".into()),
        ..Frame::default()
    };
    assert_eq!(frame_line(&frame), "#2   0x0000000000401234 in recurse (n=3, info=0x7ffd0000) (crash.c:38) [crash]");
    let bare =
        Frame { pc: Addr(0x1000), function_offset: Some(0x21), inlined: true, faulted: true, ..Frame::default() };
    assert_eq!(frame_line(&bare), "#0   0x0000000000001000 in ??+0x21 (inlined) <- fault");
    let tail = Frame { file: Some("t.c".into()), unwind: FrameUnwind::TailCall, ..bare };
    assert_eq!(frame_line(&tail), "#0   0x0000000000001000 in ?? (t.c) (inlined) (tail call) <- fault");
}

#[test]
fn classifiers_and_answers_come_first() {
    let answer = |text: &str| Annotation::text(AnnotationLevel::Critical, text, "deadlock");
    let json = Annotation { level: AnnotationLevel::Json, json: Some(serde_json::json!({"a": 1})), ..answer("") };
    let s = Snapshot {
        classifiers: vec!["deadlock".into(), "lock-contention".into()],
        annotations: vec![answer("deadlock: thread 2 waits\nfor thread 3"), Annotation { text: None, ..json }],
        ..Snapshot::default()
    };
    let text = render(&s);
    let lines: Vec<&str> = text.lines().take(4).collect();
    assert_eq!(lines[..3], ["classifiers: deadlock, lock-contention", "deadlock: thread 2 waits\\nfor thread 3", ""]);
    assert!(lines[3].starts_with("process "), "{text}");
    assert_eq!(text.matches("classifiers:").count(), 1, "{text}");
    assert!(render(&Snapshot::default()).starts_with("process "), "nothing above the header without answers");
}

#[test]
fn the_header_says_which_signal_hit_which_thread() {
    let signal = SignalInfo {
        name: "SIGSEGV".into(),
        code_name: Some("SEGV_MAPERR".into()),
        reason: "invalid memory access".into(),
        ..SignalInfo::default()
    };
    let snapshot = |fault| Snapshot { fault, ..Snapshot::default() };
    let fault_line = |s: &Snapshot| render(s).lines().find(|l| l.starts_with("fault:")).unwrap().to_string();
    let with_signal = snapshot(Some(Fault { tid: 42, signal: Some(signal.clone()) }));
    assert_eq!(fault_line(&with_signal), "fault: SIGSEGV (SEGV_MAPERR) in thread 42: invalid memory access");
    let no_code = snapshot(Some(Fault { tid: 42, signal: Some(SignalInfo { code_name: None, ..signal }) }));
    assert_eq!(fault_line(&no_code), "fault: SIGSEGV in thread 42: invalid memory access");
    let no_info = snapshot(Some(Fault { tid: 42, signal: None }));
    assert_eq!(fault_line(&no_info), "fault: thread 42 (no signal information)");
    assert_eq!(fault_line(&snapshot(None)), "fault: none");
}

#[test]
fn threads_show_signal_handlers_and_why_their_stack_ends() {
    let frames = vec![
        Frame { index: 0, function: Some("handler".into()), ..Frame::default() },
        Frame { index: 1, function: Some("__restore_rt".into()), ..Frame::default() },
        Frame { index: 2, function: Some("work".into()), unwind: FrameUnwind::SignalFrame, ..Frame::default() },
    ];
    let thread = Thread { tid: 1, frames, ..Thread::default() };
    let snapshot = Snapshot { threads: vec![thread], ..Snapshot::default() };
    let text = render(&snapshot);
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("<signal handler called>")).collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains("__restore_rt"), "the trampoline is marked: {text}");

    let last_line = |t: Thread| {
        let text = render(&Snapshot { threads: vec![t], ..Snapshot::default() });
        text.lines().last().unwrap().to_string()
    };
    assert_eq!(last_line(stopped("max-frames")), "    (more frames not shown: --max-frames)");
    assert_eq!(
        last_line(stopped("no CFI and no frame pointer")),
        "    (unwinding stopped: no CFI and no frame pointer)"
    );
    assert!(last_line(stopped("outermost")).starts_with("#0"), "a complete stack says nothing");
}

#[test]
fn locals_tls_and_globals_are_listed_under_their_owner() {
    let frame = Frame { locals: vec![named("count", int(2)), named("", int(9))], ..Frame::default() };
    let thread = Thread { tid: 1, frames: vec![frame], tls: vec![named("errno", int(0))], ..Thread::default() };
    let global = Variable { location: ValueLocation::OptimizedOut, ..named("table", int(0)) };
    let text = render(&Snapshot { threads: vec![thread], globals: vec![global], ..Snapshot::default() });
    assert!(text.contains("\n        count = 2\n    tls errno = 0\n"), "{text}");
    assert!(!text.contains(" = 9"), "an unnamed local is not listed: {text}");
    assert!(text.ends_with("\nglobals:\n  table = <optimized out>\n"), "{text}");
}

#[test]
fn grouped_threads_print_one_stack_with_its_count() {
    let frames = |param: i64| {
        let f = |i: usize, pc: u64, name: &str| Frame {
            index: i,
            pc: Addr(pc),
            function: Some(name.into()),
            parameters: vec![named("n", int(param))],
            ..Frame::default()
        };
        vec![f(0, 0x10, "pause"), f(1, 0x20, "idle_worker")]
    };
    let idle = |tid| Thread { tid, name: "w".into(), frames: frames(tid as i64), ..Thread::default() };
    let crashed = Thread { tid: 5, faulted: true, frames: frames(0), ..Thread::default() };
    let snap = Snapshot { threads: vec![idle(9), idle(7), crashed, idle(8)], ..Snapshot::default() };
    let text = render_with(&snap, true);
    let body = &text[text.find("\nthread").unwrap()..];
    assert!(body.starts_with("\nthread 5 \"\"  (faulted)\n#0   0x0000000000000010 in pause (n=0)"), "{text}");
    assert!(
        body.contains(
            "\n3 threads with this stack: 7-9\n#0   0x0000000000000010 in pause\n#1   0x0000000000000020 in idle_worker\n"
        ),
        "{text}"
    );
    assert_eq!(render_with(&snap, false), render(&snap));
    assert_eq!(render(&snap).matches("in idle_worker").count(), 4);
}
