//! The snapshot data model: the JSON contract of docs/snapshot-format.md
//! (and docs/snapshot.schema.json) as serde types. Field names here are relied on by tests, `ptsnap show` and
//! crash servers; fields may be added, never renamed.
//!
//! Deserialization is lenient (every field defaults) so that `show` reads
//! snapshots written by older or newer versions.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::encoding::{
    References, TypeEntry, VariableIn, omit_empty, omit_false, omit_none, write_frames, write_threads,
};
pub use super::registers::Registers;

pub const FORMAT: &str = "ptsnap-snapshot";
/// The version written: 2, the compact encoding ([`super::encoding`]);
/// version 1 is still read.
pub const VERSION: u32 = 2;

/// A run-time address, written as a `"0x..."` string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Addr(pub u64);

impl Serialize for Addr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::registers::Hex::new(self.0.into()).as_str())
    }
}

/// Read from the text as it stands, without a `String` of its own: nearly
/// every variable has an address.
impl<'de> Deserialize<'de> for Addr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AddrVisitor;
        impl serde::de::Visitor<'_> for AddrVisitor {
            type Value = Addr;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an address, \"0x\" and hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Addr, E> {
                let hex = s.strip_prefix("0x").ok_or_else(|| E::custom("address without 0x"))?;
                u64::from_str_radix(hex, 16).map(Addr).map_err(E::custom)
            }
        }
        d.deserialize_str(AddrVisitor)
    }
}

/// A snapshot. `V` is what stands for each list of variables (the
/// globals, a thread's TLS, a frame's parameters and locals): the
/// variables, as `show`, the tests and the engine have them, or their JSON
/// text, parsed only when the viewer shows them ([`super::lazy`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(
    default,
    bound(serialize = "V: Serialize + AsRef<[Variable]> + Sync", deserialize = "V: Deserialize<'de> + Default")
)]
pub struct Snapshot<V = Vec<Variable>> {
    pub format: String,
    pub version: u32,
    pub uuid: String,
    pub timestamp: String,
    pub generator: Generator,
    pub application: Option<String>,
    pub process: Process,
    pub fault: Option<Fault>,
    #[serde(serialize_with = "write_threads")]
    pub threads: Vec<Thread<V>>,
    pub globals: V,
    pub modules: Vec<ModuleInfo>,
    /// The process's memory map when it was stopped (`/proc/PID/maps`; a
    /// core's mapped files and segments). Not in snapshots before it was
    /// added (read as empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mappings: Vec<MemoryMapping>,
    pub kv: serde_json::Map<String, serde_json::Value>,
    pub classifiers: Vec<String>,
    pub tags: Vec<String>,
    pub annotations: Vec<Annotation>,
    pub pmodules: Vec<PModuleInfo>,
    pub errors: Vec<ErrorEntry>,
    pub timings: Timings,
    /// Version 2's tables as read, emptied when their references are
    /// resolved; the writer makes them anew from the variables.
    #[serde(skip_serializing)]
    pub types: Vec<TypeEntry>,
    #[serde(skip_serializing)]
    pub objects: Vec<Variable>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Generator {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Process {
    pub pid: i32,
    pub exe: Option<String>,
    pub cmdline: Vec<String>,
    pub cwd: Option<String>,
    /// Scheduler state before ptsnap stopped it ("sleeping", ...).
    pub state: String,
    pub ppid: i32,
    pub uid: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Fault {
    pub tid: i32,
    pub signal: Option<SignalInfo>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignalInfo {
    pub num: i32,
    pub name: String,
    pub code: i32,
    pub code_name: Option<String>,
    pub address: Option<Addr>,
    pub address_populated: bool,
    pub reason: String,
    pub sent_by_kill: bool,
    /// PID of the sender, for signals sent by a process.
    pub sender_pid: Option<i32>,
    /// Where the siginfo came from: "signal-delivery-stop" or "signal-frame".
    pub source: String,
}

/// `V`: what stands for a list of variables, as in [`Snapshot`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(
    default,
    bound(serialize = "V: Serialize + AsRef<[Variable]> + Sync", deserialize = "V: Deserialize<'de> + Default")
)]
pub struct Thread<V = Vec<Variable>> {
    pub tid: i32,
    pub name: String,
    pub state: String,
    #[serde(skip_serializing_if = "omit_false")]
    pub faulted: bool,
    pub registers: Registers,
    #[serde(skip_serializing_if = "omit_empty")]
    pub tls: V,
    #[serde(skip_serializing_if = "omit_empty", serialize_with = "write_frames")]
    pub frames: Vec<Frame<V>>,
    /// Why the unwinder stopped ("outermost", "max-frames", ...).
    #[serde(skip_serializing_if = "omit_none")]
    pub unwind_stop: Option<UnwindStop>,
    /// The frame list was cut by --max-frames.
    #[serde(skip_serializing_if = "omit_false")]
    pub truncated: bool,
    /// Kernel functions, innermost first, for a thread that could not be
    /// stopped (it is stuck in the kernel); empty otherwise.
    #[serde(skip_serializing_if = "omit_empty")]
    pub kernel_stack: Vec<String>,
    #[serde(skip_serializing_if = "omit_empty")]
    pub annotations: Vec<Annotation>,
    /// During the run only: what a module's handle to the thread holds.
    #[serde(skip)]
    pub uid: Uid,
}

/// `V`: what stands for a list of variables, as in [`Snapshot`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(
    default,
    bound(serialize = "V: Serialize + AsRef<[Variable]> + Sync", deserialize = "V: Deserialize<'de> + Default")
)]
pub struct Frame<V = Vec<Variable>> {
    pub index: usize,
    pub pc: Addr,
    pub sp: Addr,
    #[serde(skip_serializing_if = "omit_none")]
    pub cfa: Option<Addr>,
    #[serde(skip_serializing_if = "omit_none")]
    pub module: Option<Arc<str>>,
    #[serde(skip_serializing_if = "omit_none")]
    pub module_offset: Option<Addr>,
    #[serde(skip_serializing_if = "omit_none")]
    pub function: Option<Arc<str>>,
    /// A Rust function's crate: the first component of its path.
    #[serde(rename = "crate", skip_serializing_if = "omit_none")]
    pub crate_name: Option<Arc<str>>,
    #[serde(skip_serializing_if = "omit_none")]
    pub function_offset: Option<u64>,
    #[serde(skip_serializing_if = "omit_none")]
    pub file: Option<Arc<str>>,
    #[serde(skip_serializing_if = "omit_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "omit_none")]
    pub column: Option<u32>,
    /// The line where the function is declared (`DW_AT_decl_line`).
    #[serde(skip_serializing_if = "omit_none")]
    pub decl_line: Option<u32>,
    #[serde(skip_serializing_if = "omit_false")]
    pub inlined: bool,
    #[serde(skip_serializing_if = "omit_false")]
    pub faulted: bool,
    pub unwind: FrameUnwind,
    /// Why the CFI covering the callee was not used to find this frame
    /// (it could not be read), when frame pointers found it instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cfi_error: Option<String>,
    #[serde(skip_serializing_if = "omit_empty")]
    pub parameters: V,
    #[serde(skip_serializing_if = "omit_empty")]
    pub locals: V,
    #[serde(skip_serializing_if = "omit_empty")]
    pub annotations: Vec<Annotation>,
    /// During the run only: what a module's handle to the frame holds.
    #[serde(skip)]
    pub uid: Uid,
}

/// A frame's text (module, function, file) by identity, 0 for none: the
/// frames of one symbolized pc share their texts, so frames whose texts
/// are the same by identity are at the same place (equal texts that are
/// not shared only look different).
pub fn text_identity(text: &Option<Arc<str>>) -> usize {
    text.as_ref().map_or(0, |t| t.as_ptr() as usize)
}

/// Written and read by [`super::encoding`] (`Serialize` is there).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "VariableIn")]
pub struct Variable {
    pub name: String,
    /// Type names are shared between the many variables of one type.
    pub type_name: Arc<str>,
    pub kind: Kind,
    pub base_type: Arc<str>,
    /// The language of the type's unit where its values read otherwise
    /// than C's (Rust's structs, tuples and arrays); None for C and C++.
    pub language: Option<Language>,
    pub address: Option<Addr>,
    pub size: Option<u64>,
    pub location: ValueLocation,
    pub value: Value,
    pub symbol: Option<Box<str>>,
    /// A string `symbol` does not hold exactly (bytes that are not UTF-8;
    /// in a `char` array, bytes after the first NUL that are not all NUL):
    /// every byte read, as lower-case hex.
    pub bytes: Option<Box<str>>,
    pub members: Vec<Variable>,
    pub elements: Vec<Variable>,
    /// Shared: the variable reader reads a target once for all the
    /// pointers to it that stand where it would be read the same way.
    pub target: Option<Arc<Variable>>,
    pub annotations: Vec<Annotation>,
    /// A limit cut this value (elements, members, string bytes, depth).
    pub truncated: bool,
    /// Why the value could not be read (with `location` "unavailable").
    pub error: Option<Box<str>>,
    /// For globals and TLS: the module and compilation unit defining it.
    pub module: Option<Box<str>>,
    pub cu: Option<Box<str>>,
    /// During the run only (never written): the variable's type, for
    /// modules that read the target through it (`bt_variable`).
    pub origin: Option<TypeOrigin>,
    /// Made by a module (`pmodule.create_variable`), not extracted; during
    /// the run only (the JSON shows it by the module's annotation).
    pub made: bool,
    /// During the run only: what a module's handle to the variable holds.
    pub uid: Uid,
    /// While reading version 2 only: the table entries it refers to.
    pub references: References,
}

/// What a module's handle holds of a thread, frame or variable, so that
/// it finds its object wherever the object moves (a module's `add_frame`
/// or `add_variable` inserts before it). Given out on first use
/// (`pmodule::handles`); the default, 0, is "none yet". Never written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Uid(pub u64);

/// Identifies a type DIE for the duration of a run: the DWARF it is in
/// (a number the variable reader gives each DWARF it reads types from)
/// and its `.debug_info` offset. Eight bytes, no allocation: every
/// top-level variable carries one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeOrigin {
    pub dwarf: u32,
    pub offset: std::num::NonZeroU32,
}

/// A source language whose values `ptsnap show` writes in its own syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
}

/// The pmodule variable type of a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Signed integers and `char`.
    Ll,
    /// Unsigned integers and `bool`.
    Ull,
    Flt,
    Dbl,
    Ldbl,
    Cflt,
    Cdbl,
    Cldbl,
    /// A character array.
    String,
    Enum,
    /// Struct, class or union.
    Tuple,
    Array,
    /// A function pointer.
    Fn,
    /// A pointer or C++ reference.
    Reference,
    /// No value: `void`, unknown types; also what a newer version wrote
    /// that this one does not know.
    #[default]
    #[serde(other)]
    Bottom,
}

/// Why a thread's frames end (`unwind_stop` in the JSON): a word, or a
/// word and a detail after `": "` (`error: ...`, `not extracted: ...`).
/// Written as that one string, so the JSON stays free text for readers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum UnwindStop {
    /// The outermost frame: the normal end (`outermost`).
    Outermost,
    /// `--max-frames` cut the walk (`max-frames`).
    MaxFrames,
    /// The stack pointer did not move up: a loop or garbage
    /// (`no-progress`).
    NoProgress,
    /// No CFI and no usable frame pointer for the pc (`no-unwind-info`).
    NoUnwindInfo,
    /// The thread could not be stopped, so it has no frames
    /// (`error: the thread did not stop`).
    NotStopped,
    /// The walk failed: why (`error: ...`).
    Error(String),
    /// The pause was cut before this thread was reached: what was cut
    /// (`not extracted: ...`).
    NotExtracted(String),
    /// What a newer version wrote that this one does not know, as written.
    Other(String),
}

const NOT_STOPPED: &str = "the thread did not stop";

impl std::fmt::Display for UnwindStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnwindStop::Outermost => f.write_str("outermost"),
            UnwindStop::MaxFrames => f.write_str("max-frames"),
            UnwindStop::NoProgress => f.write_str("no-progress"),
            UnwindStop::NoUnwindInfo => f.write_str("no-unwind-info"),
            UnwindStop::NotStopped => write!(f, "error: {NOT_STOPPED}"),
            UnwindStop::Error(why) => write!(f, "error: {why}"),
            UnwindStop::NotExtracted(what) => write!(f, "not extracted: {what}"),
            UnwindStop::Other(text) => f.write_str(text),
        }
    }
}

impl From<UnwindStop> for String {
    fn from(stop: UnwindStop) -> String {
        stop.to_string()
    }
}

/// Reads back exactly what [`Display`](std::fmt::Display) wrote.
impl From<String> for UnwindStop {
    fn from(text: String) -> UnwindStop {
        match text.as_str() {
            "outermost" => return UnwindStop::Outermost,
            "max-frames" => return UnwindStop::MaxFrames,
            "no-progress" => return UnwindStop::NoProgress,
            "no-unwind-info" => return UnwindStop::NoUnwindInfo,
            _ => {}
        }
        if let Some(why) = text.strip_prefix("error: ") {
            return if why == NOT_STOPPED { UnwindStop::NotStopped } else { UnwindStop::Error(why.to_string()) };
        }
        match text.strip_prefix("not extracted: ") {
            Some(what) => UnwindStop::NotExtracted(what.to_string()),
            None => UnwindStop::Other(text),
        }
    }
}

/// How a frame was found (`unwind` in the JSON).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrameUnwind {
    /// The thread's own registers (frame 0).
    Context,
    /// The callee's CFI (`.eh_frame`, `.debug_frame`).
    Cfi,
    /// The kernel's signal frame below a signal handler.
    SignalFrame,
    /// The saved frame-pointer chain, where no CFI covers the callee.
    FramePointer,
    /// The callee's pc was not code: the return address on top of its
    /// stack.
    StackTop,
    /// A frame a pmodule made (`pmodule.create_frame`).
    Synthesized,
    /// A function that tail-called the frame above it (from call sites).
    #[serde(rename = "tailcall")]
    TailCall,
    /// What a newer version wrote that this one does not know.
    #[default]
    #[serde(other)]
    Unknown,
}

/// Where a value was found, or why it was not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueLocation {
    Memory,
    Register,
    Implicit,
    OptimizedOut,
    /// Also what a newer version wrote that this one does not know.
    #[default]
    #[serde(other)]
    Unavailable,
}

/// A variable's value as JSON: null, a boolean, a number, a decimal string
/// (integers beyond 64 bits) or `[re, im]` (complex). An enum rather than
/// `serde_json::Value` (72 bytes) because a snapshot holds hundreds of
/// thousands of them. Read by a visitor of its own: serde's untagged
/// enums buffer each value and try the variants in turn, building an error
/// for each miss, which cost a snapshot's reader a tenth of its time.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(Box<str>),
    Complex([Option<f64>; 2]),
}

impl Value {
    /// A float, or null for NaN and infinities (JSON has neither).
    pub fn float(v: f64) -> Self {
        if v.is_finite() { Value::Float(v) } else { Value::Null }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::UInt(u) => Some(u),
            Value::Int(i) => u64::try_from(i).ok(),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("null, a boolean, a number, a string or [re, im]")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    /// A number that fits `i64` is an `Int`, as the untagged order made it.
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::UInt(u), Value::Int))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Text(s.into()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        use serde::de::Error;
        let mut part = || seq.next_element::<Option<f64>>()?.ok_or_else(|| A::Error::invalid_length(0, &self));
        let (re, im) = (part()?, part()?);
        match seq.next_element::<serde::de::IgnoredAny>()? {
            None => Ok(Value::Complex([re, im])),
            Some(_) => Err(A::Error::invalid_length(3, &"[re, im]")),
        }
    }
}

impl std::fmt::Display for Value {
    /// As in JSON, without quotes around text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Text(t) => f.write_str(t),
            Value::Complex([re, im]) => {
                let part = |p: &Option<f64>| p.map_or("nan".to_string(), |x| format!("{x:?}"));
                write!(f, "{} + {}i", part(re), part(im))
            }
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::UInt(v)
    }
}

/// The text of the comment annotation ptsnap puts on a member that is a
/// base class (C++), which `show` prints `<Base> = {...}` as gdb does.
pub const BASE_CLASS: &str = "base class";

/// What kind of note an annotation is (`level` in the JSON).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationLevel {
    Critical,
    Warning,
    /// A structured value in `json` instead of `text`.
    Json,
    /// Also what a newer version wrote that this one does not know (last:
    /// serde's fallback must be).
    #[default]
    #[serde(other)]
    Comment,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Annotation {
    pub level: AnnotationLevel,
    pub text: Option<String>,
    pub json: Option<serde_json::Value>,
    pub source: Option<String>,
}

impl Annotation {
    /// A text annotation (`comment`, `warning` or `critical`) by `source`
    /// (a pmodule's id, or `ptsnap`).
    pub fn text(level: AnnotationLevel, text: impl Into<String>, source: &str) -> Self {
        Annotation { level, text: Some(text.into()), json: None, source: Some(source.to_string()) }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ModuleInfo {
    pub path: String,
    pub start: Addr,
    pub end: Addr,
    pub load_bias: Addr,
    pub build_id: Option<String>,
    pub debug_file: Option<String>,
    /// How the debug file was found: "build-id" or "debuglink".
    pub debug_file_source: Option<String>,
    /// Symbol sources: "dwarf", "symtab", "dynsym" (comma-separated) or "none".
    pub symbols: String,
    pub error: Option<String>,
}

/// One mapping of the process's memory, as `/proc/PID/maps` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryMapping {
    pub start: Addr,
    pub end: Addr,
    /// `r`, `w`, `x` or `-` each, then `p` (private) or `s` (shared).
    pub perms: String,
    /// Where in the file the mapping begins.
    pub offset: Addr,
    /// The file, or the kernel's name (`[stack]`, `[heap]`, `[vdso]`), or
    /// empty for anonymous memory.
    pub path: String,
    /// The file was deleted after it was mapped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PModuleInfo {
    pub id: String,
    pub path: String,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorEntry {
    pub context: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Timings {
    /// Time the target was stopped.
    pub paused_us: u64,
    /// Time from start to the snapshot being complete.
    pub total_us: u64,
    /// Time spent stopping all threads.
    pub stop_us: u64,
    /// Time spent reading the memory map and walking the stacks.
    pub unwind_us: u64,
    /// Time spent symbolizing frames (loading debug info on first use).
    pub symbolize_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every JSON form of a value reads as the variant the untagged enum
    /// read it as, and writes back the same; other arrays are errors.
    #[test]
    fn values_read_as_written() {
        let cases = [
            ("null", Value::Null),
            ("true", Value::Bool(true)),
            ("-5", Value::Int(-5)),
            ("5", Value::Int(5)),
            ("18446744073709551615", Value::UInt(u64::MAX)),
            ("1.5", Value::Float(1.5)),
            (
                "\"340282366920938463463374607431768211455\"",
                Value::Text("340282366920938463463374607431768211455".into()),
            ),
            ("[1.0,null]", Value::Complex([Some(1.0), None])),
        ];
        for (json, value) in cases {
            assert_eq!(serde_json::from_str::<Value>(json).unwrap(), value, "{json}");
            assert_eq!(serde_json::from_str::<Value>(&serde_json::to_string(&value).unwrap()).unwrap(), value);
        }
        for bad in ["[1.0]", "[1.0,2.0,3.0]", "{}", "[\"a\",1.0]"] {
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
        }
    }

    /// `unwind_stop` and annotation `level` are written as the strings
    /// they always were, and read back as the same values.
    #[test]
    fn closed_sets_keep_their_json_strings() {
        let stops = [
            (UnwindStop::Outermost, "outermost"),
            (UnwindStop::MaxFrames, "max-frames"),
            (UnwindStop::NoProgress, "no-progress"),
            (UnwindStop::NoUnwindInfo, "no-unwind-info"),
            (UnwindStop::NotStopped, "error: the thread did not stop"),
            (UnwindStop::Error("CFI: bad row".into()), "error: CFI: bad row"),
            (UnwindStop::NotExtracted("the pause was cut".into()), "not extracted: the pause was cut"),
            (UnwindStop::Other("newer: reason".into()), "newer: reason"),
        ];
        for (stop, text) in stops {
            let json = serde_json::to_value(&stop).unwrap();
            assert_eq!(json, text);
            assert_eq!(serde_json::from_value::<UnwindStop>(json).unwrap(), stop);
        }
        let levels = [
            (AnnotationLevel::Comment, "comment"),
            (AnnotationLevel::Warning, "warning"),
            (AnnotationLevel::Critical, "critical"),
            (AnnotationLevel::Json, "json"),
        ];
        for (level, text) in levels {
            let json = serde_json::to_value(level).unwrap();
            assert_eq!(json, text);
            assert_eq!(serde_json::from_value::<AnnotationLevel>(json).unwrap(), level);
        }
        // What a newer version wrote is read, not refused.
        assert_eq!(serde_json::from_value::<AnnotationLevel>("note".into()).unwrap(), AnnotationLevel::Comment);
    }
}
