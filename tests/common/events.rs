//! The events test both module languages pass: the Lua module of
//! tests/pmodules.rs and its C twin tests/cmodules/events.c make the same
//! snapshot of tests/fixtures/vars.c (every event, match filters,
//! iteration, module arguments, memory reads, kv, tags, classifiers).

use serde_json::Value;

use super::{annotations_text, thread};

/// The arguments after `--module-load MODULE`.
pub const ARGS: [&str; 10] = [
    "--global",
    "grid",
    "--global",
    "global_version",
    "--global",
    "global_ratio",
    "--module",
    "events:flavour=mint",
    "--module",
    "events:k1,v1,k2,v2",
];

/// What the events module made of `pid` (built as `object`).
pub fn check(snap: &Value, stderr: &str, pid: i32, object: &str) {
    let kv = &snap["kv"];
    assert_eq!(kv["preattach_pid"], pid);
    assert_eq!(snap["tags"], serde_json::json!(["attached"]));
    assert_eq!(kv["threads_seen"], 2);
    let total: usize = snap["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["tls"].as_array().unwrap().len()
                + t["frames"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["parameters"].as_array().unwrap().len() + f["locals"].as_array().unwrap().len())
                    .sum::<usize>()
        })
        .sum::<usize>()
        + snap["globals"].as_array().unwrap().len();
    assert_eq!(kv["variables_seen"], total as i64, "a variable event for every variable");
    assert_eq!((kv["option"].as_str(), kv["second"].as_str()), (Some("mint"), Some("v2")));
    let main = thread(snap, pid as i64);
    let walk = main["frames"].as_array().unwrap().iter().find(|f| f["function"] == "walk").unwrap();
    assert_eq!(annotations_text(walk), [format!("frame walk:{}", walk["line"])]);
    let corner = walk["locals"].as_array().unwrap().iter().find(|v| v["name"] == "corner").unwrap();
    assert_eq!(annotations_text(corner), ["struct struct point point"]);
    assert!(annotations_text(main).contains(&format!("thread {pid}")));
    let grid = snap["globals"].as_array().unwrap().iter().find(|g| g["name"] == "grid").unwrap();
    assert_eq!(annotations_text(grid), ["global grid"]);
    let ratio = snap["globals"].as_array().unwrap().iter().find(|g| g["name"] == "global_ratio").unwrap();
    assert!(annotations_text(ratio).is_empty(), "double does not match base type int");
    assert!(kv["walk_vars"].as_str().unwrap().starts_with("chain,list,depth,depth,corner"), "{}", kv["walk_vars"]);
    assert_eq!(kv["walk_line"], walk["line"]);
    assert_eq!(kv["walk_object"], object);
    assert_eq!((kv["depth_param"].as_i64(), kv["depth_offset"].as_i64()), (Some(3), Some(2)));
    assert_eq!(
        (kv["d"].as_str(), kv["buf"].as_str(), kv["color"].as_str()),
        (Some("-0.25"), Some("hello"), Some("GREEN"))
    );
    assert_eq!((kv["tls_counter"].as_i64(), kv["tls_object"].as_str()), (Some(42), Some(object)));
    assert_eq!(kv["version"], "ptsnap-fixture 1.0");
    assert!(kv["version_cu"].as_str().unwrap().ends_with("vars.c"));
    assert_eq!(kv["null_read"], "nil");
    assert_eq!(snap["classifiers"], serde_json::json!(["checked"]));
    // Invalid json annotations are dropped with an error; the module goes on.
    assert_eq!(kv["after_bad_json"], "still running");
    assert!(snap["annotations"].as_array().unwrap().iter().all(|a| a["level"] != "json"));
    assert_eq!(stderr.matches("[events] error: json annotation dropped").count(), 2, "{stderr}");
}
