//! docs/snapshot.schema.json stays true to the code: every object ptsnap
//! writes has exactly the properties the schema lists, and enumerated
//! fields take only the listed values.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/snapshot.schema.json")).unwrap();
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// The object has every property the schema requires and none it does
/// not list; with `all`, every property it lists (the parts of a
/// snapshot that leave nothing out).
fn check(def: &Value, object: &Value, what: &str, all: bool) {
    let props = keys(&def["properties"]);
    let required: BTreeSet<String> =
        def["required"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    assert!(required.is_subset(&props), "{what}: required properties the schema does not list");
    if all {
        assert_eq!(required, props, "{what}: every property is required");
    }
    let got = keys(object);
    assert!(got.is_superset(&required), "{what}: missing {:?}", required.difference(&got).collect::<Vec<_>>());
    assert!(got.is_subset(&props), "{what}: not in the schema {:?}", got.difference(&props).collect::<Vec<_>>());
}

fn enum_values(def: &Value) -> Vec<Value> {
    def["enum"].as_array().unwrap().clone()
}

/// The keys a list of objects uses, together.
fn used_keys<'v>(objects: impl IntoIterator<Item = &'v Value>) -> BTreeSet<String> {
    objects.into_iter().flat_map(keys).collect()
}

#[test]
fn snapshot_matches_schema() {
    let _serial = serial();
    let schema = schema();
    let defs = &schema["$defs"];
    let bin = build("crash.c", "crash-O0", &["-g", "-O0"]);
    let (expanded, _, _) = run_crash(&bin, &["3", "thread"], "format", &["--kv", "a:b"]);
    assert!(expanded.is_some());
    let snap = read_raw_json(&work_dir().join("format.json"));

    check(&schema, &snap, "snapshot", false);
    // Every top-level property is required but the memory map, which
    // snapshots written before it was added lack; this one has it.
    let required: BTreeSet<String> =
        schema["required"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    assert_eq!(keys(&schema["properties"]).difference(&required).collect::<Vec<_>>(), ["mappings"]);
    check_mappings(defs, &snap);
    assert_eq!(snap["version"], 2);
    for field in ["generator", "process", "timings"] {
        check(&schema["properties"][field], &snap[field], field, true);
    }
    check(&schema["properties"]["fault"]["oneOf"][1], &snap["fault"], "fault", true);
    check(&defs["signal"], &snap["fault"]["signal"], "signal", true);
    let states = enum_values(&defs["state"]);
    let types = snap["types"].as_array().unwrap();
    for t in types {
        check(&defs["type"], t, "type", false);
        assert!(enum_values(&defs["type"]["properties"]["kind"]).contains(&t["kind"]), "{}", t["kind"]);
    }
    let objects = snap["objects"].as_array().unwrap();
    let mut variables = Vec::new();
    assert!(states.contains(&snap["process"]["state"]));
    let threads = snap["threads"].as_array().unwrap();
    for t in threads {
        check(&defs["thread"], t, "thread", false);
        assert!(states.contains(&t["state"]), "{}", t["state"]);
        for f in t["frames"].as_array().unwrap() {
            check(&defs["frame"], f, "frame", false);
            assert!(enum_values(&defs["frame"]["properties"]["unwind"]).contains(&f["unwind"]));
            for list in ["parameters", "locals"] {
                variables.extend(f.get(list).and_then(Value::as_array).into_iter().flatten());
            }
        }
        variables.extend(t.get("tls").and_then(Value::as_array).into_iter().flatten());
    }
    assert!(variables.len() > 5, "the crash fixture's frames have variables");
    for v in variables.iter().copied().chain(objects) {
        check_variable(defs, v, types.len(), objects.len());
    }
    // Left out when null, false or empty; written when set.
    let frames: Vec<&Value> = threads.iter().flat_map(|t| t["frames"].as_array().unwrap()).collect();
    let frame_keys = used_keys(frames.iter().copied());
    for key in ["cfa", "function", "file", "line", "faulted", "parameters", "locals"] {
        assert!(frame_keys.contains(key), "no frame has {key}");
    }
    let required = |def: &Value| {
        keys(&Value::Object(
            def["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| (k.as_str().unwrap().to_string(), Value::Null))
                .collect(),
        ))
    };
    let (frame_required, thread_required) = (required(&defs["frame"]), required(&defs["thread"]));
    let objects_of = frames.iter().map(|f| (*f, &frame_required)).chain(threads.iter().map(|t| (t, &thread_required)));
    for (object, required) in objects_of {
        for (key, value) in object.as_object().unwrap() {
            let default =
                value.is_null() || value == &Value::Bool(false) || value.as_array().is_some_and(Vec::is_empty);
            assert!(required.contains(key) || !default, "{key}: {value} is left out, not written");
        }
    }
    for m in snap["modules"].as_array().unwrap() {
        check(&defs["module"], m, "module", true);
    }
    let annotation = serde_json::to_value(ptsnap::snapshot::Annotation::default()).unwrap();
    check(&defs["annotation"], &annotation, "annotation", true);
    let pmodule = serde_json::to_value(ptsnap::snapshot::PModuleInfo::default()).unwrap();
    check(&schema["properties"]["pmodules"]["items"], &pmodule, "pmodule", true);
}

/// A variable and everything below it: the schema's properties, `location`
/// from its list, and indices that are in their tables.
/// The memory map: in address order, each entry as the schema says, the
/// executable's code and the main thread's stack among them.
fn check_mappings(defs: &Value, snap: &Value) {
    let maps = snap["mappings"].as_array().expect("a memory map");
    let address = |v: &Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let mut previous_end = 0;
    for m in maps {
        check(&defs["mapping"], m, "mapping", false);
        let (start, end) = (address(&m["start"]), address(&m["end"]));
        assert!(previous_end <= start && start < end, "{m}");
        previous_end = end;
        let perms = m["perms"].as_str().unwrap();
        assert!(perms.len() == 4 && perms.ends_with(['p', 's']), "{m}");
    }
    let exe = snap["process"]["exe"].as_str().unwrap();
    assert!(maps.iter().any(|m| m["path"] == exe && m["perms"] == "r-xp"), "the executable's code: {maps:?}");
    assert!(maps.iter().any(|m| m["path"] == "[stack]" && m["perms"] == "rw-p"), "the stack: {maps:?}");
}

fn check_variable(defs: &Value, v: &Value, types: usize, objects: usize) {
    check(&defs["variable"], v, "variable", false);
    assert!(enum_values(&defs["variable"]["properties"]["location"]).contains(&v["location"]), "{}", v["location"]);
    assert!(v["type"].as_u64().is_some_and(|t| (t as usize) < types), "type {}", v["type"]);
    for field in ["value", "symbol", "address"] {
        assert_ne!(v.get(field), Some(&Value::Null), "null {field} is left out");
    }
    for child in v["members"].as_array().into_iter().chain(v["elements"].as_array()).flatten() {
        check_variable(defs, child, types, objects);
    }
    match v.get("target") {
        Some(Value::Number(i)) => assert!((i.as_u64().unwrap() as usize) < objects, "object {i}"),
        Some(target) => check_variable(defs, target, types, objects),
        None => {}
    }
}

/// Threads waiting on one condition variable hold pointers to one object:
/// it is written once, in `objects`, and each pointer's `target` is its
/// index; read back, every thread's pointer has the whole target, the
/// same as the others'.
#[test]
fn shared_targets_are_written_once() {
    let _serial = serial();
    if !libc_debug_info_available() {
        return;
    }
    let bin = build("hang.c", "hang-O0", &["-g", "-O0", "-pthread"]);
    let target = start(&bin, &["4"]);
    let expanded = snapshot(target.pid(), "format-shared", &[]);
    let raw = read_raw_json(&work_dir().join("format-shared.json"));
    let objects = raw["objects"].as_array().unwrap();
    assert!(!objects.is_empty(), "the threads share their condition variable");
    let text = serde_json::to_string(&raw).unwrap();
    let written_once = text.matches("\"name\":\"*cond\"").count();
    // The expanded form has the condition variable under each waiting thread.
    let waiting: Vec<&Value> = expanded["threads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["frames"].as_array().unwrap())
        .filter(|f| f["function"].as_str().is_some_and(|n| n.contains("pthread_cond_wait")))
        .flat_map(|f| f["parameters"].as_array().unwrap())
        .filter(|v| v["name"] == "cond" && v.get("target").is_some())
        .collect();
    assert!(waiting.len() >= 4, "the idle threads wait in pthread_cond_wait: {}", waiting.len());
    assert!(written_once < waiting.len(), "{written_once} copies written for {} pointers", waiting.len());
    let first = &waiting[0]["target"];
    assert_eq!(first["name"], "*cond");
    assert!(first["members"].as_array().is_some_and(|m| !m.is_empty()), "{first}");
    for v in &waiting {
        assert_eq!(v["value"], waiting[0]["value"], "one condition variable");
        assert_eq!(&v["target"], first);
    }
}
