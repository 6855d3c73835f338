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

/// The object's keys equal the schema's properties, all of them required
/// (`optional` may be absent: they are skipped when empty).
fn check(def: &Value, object: &Value, what: &str, optional: &[&str]) {
    let props = keys(&def["properties"]);
    let required: BTreeSet<String> =
        def["required"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    let got = keys(object);
    let opt: BTreeSet<String> = optional.iter().map(|s| s.to_string()).collect();
    assert_eq!(&required | &opt, props, "{what}: required + optional = properties");
    assert!(got.is_superset(&required), "{what}: missing {:?}", required.difference(&got).collect::<Vec<_>>());
    assert!(got.is_subset(&props), "{what}: not in the schema {:?}", got.difference(&props).collect::<Vec<_>>());
}

fn enum_values(def: &Value) -> Vec<Value> {
    def["enum"].as_array().unwrap().clone()
}

#[test]
fn snapshot_matches_schema() {
    let _serial = serial();
    let schema = schema();
    let defs = &schema["$defs"];
    let bin = build("crash.c", "crash-O0", &["-g", "-O0"]);
    let (snap, _, _) = run_crash(&bin, &["3", "thread"], "format", &["--kv", "a:b"]);
    let snap = snap.unwrap();

    check(&schema, &snap, "snapshot", &[]);
    for field in ["generator", "process", "timings"] {
        check(&schema["properties"][field], &snap[field], field, &[]);
    }
    check(&schema["properties"]["fault"]["oneOf"][1], &snap["fault"], "fault", &[]);
    check(&defs["signal"], &snap["fault"]["signal"], "signal", &[]);
    let states = enum_values(&defs["state"]);
    let mut variables = 0;
    assert!(states.contains(&snap["process"]["state"]));
    for t in snap["threads"].as_array().unwrap() {
        check(&defs["thread"], t, "thread", &[]);
        assert!(states.contains(&t["state"]), "{}", t["state"]);
        for f in t["frames"].as_array().unwrap() {
            check(&defs["frame"], f, "frame", &["cfi_error"]);
            assert!(enum_values(&defs["frame"]["properties"]["unwind"]).contains(&f["unwind"]));
            for v in f["parameters"].as_array().unwrap().iter().chain(f["locals"].as_array().unwrap()) {
                check_variable(defs, v);
                variables += 1;
            }
        }
        for v in t["tls"].as_array().unwrap() {
            check_variable(defs, v);
        }
    }
    assert!(variables > 5, "the crash fixture's frames have variables");
    for m in snap["modules"].as_array().unwrap() {
        check(&defs["module"], m, "module", &[]);
    }
    let annotation = serde_json::to_value(ptsnap::snapshot::Annotation::default()).unwrap();
    check(&defs["annotation"], &annotation, "annotation", &[]);
    let pmodule = serde_json::to_value(ptsnap::snapshot::PModuleInfo::default()).unwrap();
    check(&schema["properties"]["pmodules"]["items"], &pmodule, "pmodule", &[]);
}

/// A variable and everything below it: the schema's properties, and
/// `kind` and `location` from their lists.
fn check_variable(defs: &Value, v: &Value) {
    let optional = ["bytes", "members", "elements", "target", "annotations", "truncated", "error", "module", "cu"];
    check(&defs["variable"], v, "variable", &optional);
    for field in ["kind", "location"] {
        assert!(enum_values(&defs["variable"]["properties"][field]).contains(&v[field]), "{field} {}", v[field]);
    }
    for child in v["members"].as_array().into_iter().chain(v["elements"].as_array()).flatten() {
        check_variable(defs, child);
    }
    if let Some(target) = v.get("target") {
        check_variable(defs, target);
    }
}
