//! How a snapshot's variables, frames and threads are written and read:
//! the compact encoding of format version 2, and the expanded form of
//! version 1, which is still read.
//!
//! A 1,001-thread snapshot written whole (version 1) was 36 MB, most of it
//! repetition: every variable spelled out its type, kind, base type and
//! size; the same `pthread_cond_t` a thousand threads wait on was written
//! a thousand times; and every null, false and empty field was there.
//! Version 2 writes:
//! - a variable's `type` as an index into the top-level `types` table,
//!   whose entries hold the four fields version 1 put in every variable;
//! - a pointee read once and shared by several pointers (the variable
//!   reader shares a target read again at the same address, type and
//!   depth: [`crate::variables`]) once, in the top-level `objects` table,
//!   with the pointers' `target` its index;
//! - threads, frames and variables without their null, false and empty
//!   fields.
//!
//! serde gives an implementation of `Serialize` no context, so the tables
//! live in a thread-local while [`Tables::scope`] runs the writer; outside
//! it everything is written in the expanded form (every field, types
//! inline), which is what a tool that wants one plain tree asks for.
//! Reading takes both forms: indices are kept aside while parsing and
//! [`resolve`] replaces them by what they refer to.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use rustc_hash::FxHashMap as HashMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::json_out::{self, Spliced};
use super::model::{Addr, Annotation, Frame, Kind, Language, Snapshot, Thread, Value, ValueLocation, Variable};
use super::place_cache::{self, CachedFrame};

/// An entry of the `types` table: what version 1 wrote in every variable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct TypeEntry {
    #[serde(rename = "type")]
    pub type_name: Arc<str>,
    pub kind: Kind,
    pub base_type: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

impl TypeEntry {
    fn of(v: &Variable) -> Self {
        TypeEntry {
            type_name: v.type_name.clone(),
            kind: v.kind,
            base_type: v.base_type.clone(),
            size: v.size,
            language: v.language,
        }
    }
}

/// A variable's type fields by the identity of their texts: the variable
/// reader gives all the variables of a type one shared text, so a
/// variable's entry is found without hashing text (the entries themselves
/// are told apart by content).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct TypeRef {
    /// Where each text is, and its length.
    type_name: (usize, usize),
    base_type: (usize, usize),
    kind: Kind,
    size: Option<u64>,
    language: Option<Language>,
}

impl TypeRef {
    fn of(v: &Variable) -> Self {
        let text = |t: &Arc<str>| (Arc::as_ptr(t).cast::<u8>() as usize, t.len());
        let (kind, size, language) = (v.kind, v.size, v.language);
        TypeRef { type_name: text(&v.type_name), base_type: text(&v.base_type), kind, size, language }
    }
}

/// What a variable read from version 2 refers to by index, until
/// [`resolve`] puts the referred values in its place: in every variable,
/// so eight bytes and no allocation. An index is below `u32::MAX` (no
/// snapshot file holds a table that long); `NONE` stands for none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct References {
    type_index: u32,
    object: u32,
}

const NONE: u32 = u32::MAX;

impl Default for References {
    fn default() -> Self {
        References { type_index: NONE, object: NONE }
    }
}

impl References {
    fn type_index(self) -> Option<usize> {
        (self.type_index != NONE).then_some(self.type_index as usize)
    }

    fn object(self) -> Option<usize> {
        (self.object != NONE).then_some(self.object as usize)
    }
}

/// An index into a table as read, or what is wrong with it: `NONE` and
/// above is in no table.
fn table_index<E: de::Error>(i: u64, outside: impl FnOnce(usize) -> BadReference) -> Result<u32, E> {
    u32::try_from(i).ok().filter(|&i| i != NONE).ok_or_else(|| E::custom(outside(i as usize)))
}

/// The tables of one snapshot being written.
pub struct Tables {
    types: HashMap<TypeRef, u32>,
    type_list: Vec<TypeEntry>,
    /// Shared targets by address in memory, and their index.
    objects: HashMap<usize, u32>,
    object_list: Vec<Arc<Variable>>,
}

thread_local! {
    static TABLES: RefCell<Option<Arc<Tables>>> = const { RefCell::new(None) };
}

impl Tables {
    /// The tables of `snapshot`: every distinct type, and every target
    /// that more than one pointer refers to, in the order first met. The
    /// variables of a snapshot of many threads are counted on two CPUs,
    /// the later half of the threads by another thread.
    pub fn of(snapshot: &Snapshot) -> Self {
        let threads = &snapshot.threads;
        let census = if threads.len() >= THREADS_APART_FROM {
            let (first, later) = threads.split_at(threads.len() / 2);
            std::thread::scope(|scope| {
                let count_later = || Census::of(variables_of(later));
                let spawned = std::thread::Builder::new().name("ptsnap-census".into()).spawn_scoped(scope, count_later);
                let mut census = Census::of(snapshot.globals.iter().chain(variables_of(first)));
                match spawned.map(|h| h.join()) {
                    Ok(Ok(theirs)) => census.merge(theirs),
                    Ok(Err(panic)) => std::panic::resume_unwind(panic),
                    Err(_) => variables_of(later).for_each(|v| census.visit(v)),
                }
                census
            })
        } else {
            Census::of(snapshot.globals.iter().chain(variables_of(threads)))
        };
        let mut tables = Tables {
            types: census.type_refs,
            type_list: census.types,
            objects: HashMap::default(),
            object_list: Vec::new(),
        };
        for (target, uses) in census.targets {
            if uses > 1 {
                tables.objects.insert(Arc::as_ptr(&target) as usize, tables.object_list.len() as u32);
                tables.object_list.push(target);
            }
        }
        tables
    }

    /// Runs `write` with these tables in force: variables, frames and
    /// threads serialized meanwhile on this thread take the compact form.
    pub fn scope<R>(self: &Arc<Self>, write: impl FnOnce(&Tables) -> R) -> R {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                TABLES.with_borrow_mut(|t| *t = None);
            }
        }
        TABLES.with_borrow_mut(|t| *t = Some(self.clone()));
        let _reset = Reset;
        write(self)
    }

    pub fn types(&self) -> &[TypeEntry] {
        &self.type_list
    }

    /// The shared targets, each written whole once.
    pub fn objects(&self) -> impl Serialize + '_ {
        ObjectList(&self.object_list)
    }
}

struct ObjectList<'t>(&'t [Arc<Variable>]);

impl Serialize for ObjectList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|v| &**v))
    }
}

/// Counts what the tables need. A shared target is looked into once, at
/// its first use: what it contains is written once, with it.
#[derive(Default)]
struct Census {
    types: Vec<TypeEntry>,
    type_index: HashMap<TypeEntry, u32>,
    type_refs: HashMap<TypeRef, u32>,
    /// Targets shared in memory, with how many pointers refer to each.
    targets: Vec<(Arc<Variable>, usize)>,
    /// Index into `targets` by address in memory.
    target_index: HashMap<usize, usize>,
}

impl Census {
    fn of<'v>(variables: impl Iterator<Item = &'v Variable>) -> Self {
        let mut census = Census::default();
        variables.for_each(|v| census.visit(v));
        census
    }

    /// Takes in the census of the variables that come after this one's,
    /// as if this one had gone on to them: their new types and targets
    /// follow, the uses of a target both met add up. (A shared target met
    /// first in each is looked into by each: what it contains may count
    /// a use more, which makes no difference to a target that is shared
    /// anyway.)
    fn merge(&mut self, later: Census) {
        let renumbered: Vec<u32> = later.types.into_iter().map(|entry| self.type_index_of(entry)).collect();
        for (type_ref, index) in later.type_refs {
            self.type_refs.entry(type_ref).or_insert(renumbered[index as usize]);
        }
        for (target, uses) in later.targets {
            match self.target_index.get(&(Arc::as_ptr(&target) as usize)) {
                Some(&i) => self.targets[i].1 += uses,
                None => {
                    self.target_index.insert(Arc::as_ptr(&target) as usize, self.targets.len());
                    self.targets.push((target, uses));
                }
            }
        }
    }

    /// The index of the type entry, added if it is new.
    fn type_index_of(&mut self, entry: TypeEntry) -> u32 {
        let next = self.types.len() as u32;
        let index = *self.type_index.entry(entry.clone()).or_insert(next);
        if index == next {
            self.types.push(entry);
        }
        index
    }

    fn visit(&mut self, root: &Variable) {
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            let type_ref = TypeRef::of(v);
            if !self.type_refs.contains_key(&type_ref) {
                let index = self.type_index_of(TypeEntry::of(v));
                self.type_refs.insert(type_ref, index);
            }
            if let Some(target) = v.target.as_ref().filter(|t| self.first_use(t)) {
                stack.push(target);
            }
            stack.extend(v.members.iter().rev().chain(v.elements.iter().rev()));
        }
    }

    /// Counts a use of `target`; true unless it is shared and was met
    /// before.
    fn first_use(&mut self, target: &Arc<Variable>) -> bool {
        if Arc::strong_count(target) == 1 {
            return true;
        }
        match self.target_index.get(&(Arc::as_ptr(target) as usize)) {
            Some(&i) => {
                self.targets[i].1 += 1;
                false
            }
            None => {
                self.target_index.insert(Arc::as_ptr(target) as usize, self.targets.len());
                self.targets.push((target.clone(), 1));
                true
            }
        }
    }
}

/// Every top-level variable of `threads`: each thread's TLS, each frame's
/// parameters and locals.
fn variables_of(threads: &[Thread]) -> impl Iterator<Item = &Variable> {
    threads.iter().flat_map(|t| {
        let frames = t.frames.iter().flat_map(|f| f.parameters.iter().chain(&f.locals));
        t.tls.iter().chain(frames)
    })
}

/// Threads written on one CPU at most: below, a second CPU costs more
/// than it saves.
pub(crate) const THREADS_APART_FROM: usize = 64;
/// Frames of one thread written on one CPU at most.
pub(crate) const FRAMES_APART_FROM: usize = 1024;

/// `serialize_with` of the snapshot's `threads`: see [`write_in_two`].
pub fn write_threads<T: Serialize + Sync, S: Serializer>(threads: &[T], s: S) -> Result<S::Ok, S::Error> {
    write_in_two(threads, THREADS_APART_FROM, |t| t, s)
}

/// `serialize_with` of a thread's `frames`: see [`write_in_two`], and
/// [`place_cache`] for what a [`JsonOut`](json_out::JsonOut) writes
/// them with.
pub fn write_frames<V, S>(frames: &[Frame<V>], s: S) -> Result<S::Ok, S::Error>
where
    V: Serialize + AsRef<[Variable]> + Sync,
    S: Serializer,
{
    write_in_two(frames, FRAMES_APART_FROM, CachedFrame, s)
}

/// A list of `apart_from` items or more, in the compact form, on two
/// CPUs when a [`JsonOut`](json_out::JsonOut) writes it (within [`splicing`]): another thread
/// writes the JSON of the later items (60%) while this one writes the
/// first into the output, in parts of whole items ([`write_parts`]) that
/// this one puts in as they stand once its own are written, and sends
/// back to be written into again. If no thread can be had, or it stops
/// (its part failed, or it panicked), this one writes the items it did
/// not send (and meets their error itself). Each item is written as
/// `write` makes it.
fn write_in_two<'i, T, W, S>(items: &'i [T], apart_from: usize, write: fn(&'i T) -> W, s: S) -> Result<S::Ok, S::Error>
where
    T: Sync,
    W: Serialize,
    S: Serializer,
{
    let apart = items.len() >= apart_from && SPLICING.get();
    let Some(tables) = TABLES.with_borrow(Option::clone).filter(|_| apart) else {
        return s.collect_seq(items.iter().map(write));
    };
    // This thread also writes the file, its own items and then the other
    // thread's parts: its fair share is less than half (55% made the
    // 10,000 frames' JSON 10% slower, a third the 1,001 threads with
    // variables a little).
    let (first, later) = items.split_at(items.len() * 2 / 5);
    std::thread::scope(|scope| {
        let (parts, written) = channel();
        let (spares, spare) = channel();
        let write_later = move || tables.scope(|_| place_cache::caching(|| write_parts(later, write, &parts, &spare)));
        let spawned = std::thread::Builder::new().name("ptsnap-write".into()).spawn_scoped(scope, write_later);
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in first {
            seq.serialize_element(&write(item))?;
        }
        let mut done = 0;
        if spawned.is_ok() {
            // Each part after a comma that goes with it.
            for (text, count) in written.iter() {
                seq.serialize_element(&Spliced(&text))?;
                done += count;
                let _ = spares.send(text);
            }
        }
        if let Ok(Err(panic)) = spawned.map(|h| h.join()) {
            std::panic::resume_unwind(panic);
        }
        for item in &later[done..] {
            seq.serialize_element(&write(item))?;
        }
        seq.end()
    })
}

/// The bytes of a part [`write_parts`] sends, about: big enough that the
/// writer hands it to the file as it is (`json_out`'s flush size).
pub(crate) const PART_BYTES: usize = 128 << 10;

/// Writes `items` as `write` makes them, in parts of whole items of
/// about [`PART_BYTES`] (comma-separated, without brackets), each sent
/// with the number of its items into `parts`; buffers that come back in
/// `spare` are written into again, so that a few are ever made (each new
/// page costs a fault). Stops at an item that fails, unsent, or when
/// nobody takes the parts.
fn write_parts<'i, T, W: Serialize>(
    items: &'i [T],
    write: fn(&'i T) -> W,
    parts: &Sender<(Vec<u8>, usize)>,
    spare: &Receiver<Vec<u8>>,
) {
    let mut items = items.iter().map(write);
    loop {
        let buffer = spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(PART_BYTES + PART_BYTES / 4));
        match json_out::write_items(buffer, &mut items, PART_BYTES) {
            Ok((_, 0)) | Err(_) => return,
            Ok(part) => {
                if parts.send(part).is_err() {
                    return;
                }
            }
        }
    }
}

thread_local! {
    /// A [`JsonOut`](json_out::JsonOut) writes on this thread: see [`splicing`].
    static SPLICING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `write`, which writes with a [`JsonOut`](json_out::JsonOut): long lists written
/// meanwhile on this thread take in another thread's part as text
/// ([`Spliced`], which no other serializer would know to put in).
pub(super) fn splicing<R>(write: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SPLICING.set(false);
        }
    }
    SPLICING.set(true);
    let _reset = Reset;
    place_cache::caching(write)
}

/// Whether the compact form is being written.
fn compact() -> bool {
    TABLES.with_borrow(Option::is_some)
}

/// `skip_serializing_if` of an optional field: null is left out of the
/// compact form.
pub fn omit_none<T>(field: &Option<T>) -> bool {
    field.is_none() && compact()
}

/// `skip_serializing_if` of a list: an empty one is left out of the
/// compact form.
pub fn omit_empty<T>(field: &impl AsRef<[T]>) -> bool {
    field.as_ref().is_empty() && compact()
}

/// `skip_serializing_if` of a flag: false is left out of the compact form.
pub fn omit_false(field: &bool) -> bool {
    !*field && compact()
}

/// Stack left below which writing a variable moves to a new segment.
const RED_ZONE: usize = 64 * 1024;
/// The size of each such segment.
const STACK_GROWTH: usize = 1024 * 1024;

impl Serialize for Variable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The one unbounded recursion of a snapshot (a list read through
        // its `next` pointers): the stack grows on the heap as it needs.
        stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || {
            TABLES.with_borrow(|tables| write_variable(self, tables.as_deref(), s))
        })
    }
}

fn write_variable<S: Serializer>(v: &Variable, tables: Option<&Tables>, s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(None)?;
    m.serialize_entry("name", &v.name)?;
    match tables {
        Some(t) => m.serialize_entry("type", &t.types[&TypeRef::of(v)])?,
        None => {
            m.serialize_entry("type", &*v.type_name)?;
            m.serialize_entry("kind", &v.kind)?;
            m.serialize_entry("base_type", &*v.base_type)?;
            if let Some(language) = &v.language {
                m.serialize_entry("language", language)?;
            }
        }
    }
    let compact = tables.is_some();
    if !(compact && v.address.is_none()) {
        m.serialize_entry("address", &v.address)?;
    }
    if !compact {
        m.serialize_entry("size", &v.size)?;
    }
    m.serialize_entry("location", &v.location)?;
    if !(compact && v.value == Value::Null) {
        m.serialize_entry("value", &v.value)?;
    }
    if !(compact && v.symbol.is_none()) {
        m.serialize_entry("symbol", &v.symbol)?;
    }
    if let Some(bytes) = &v.bytes {
        m.serialize_entry("bytes", bytes)?;
    }
    if !v.members.is_empty() {
        m.serialize_entry("members", &v.members)?;
    }
    if !v.elements.is_empty() {
        m.serialize_entry("elements", &v.elements)?;
    }
    if let Some(target) = &v.target {
        match tables.and_then(|t| t.objects.get(&(Arc::as_ptr(target) as usize))) {
            Some(index) => m.serialize_entry("target", index)?,
            None => m.serialize_entry("target", &**target)?,
        }
    }
    if !v.annotations.is_empty() {
        m.serialize_entry("annotations", &v.annotations)?;
    }
    if v.truncated {
        m.serialize_entry("truncated", &true)?;
    }
    for (key, field) in [("error", &v.error), ("module", &v.module), ("cu", &v.cu)] {
        if let Some(text) = field {
            m.serialize_entry(key, text)?;
        }
    }
    m.end()
}

/// A variable as either version writes it.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct VariableIn {
    name: String,
    #[serde(rename = "type")]
    type_field: TypeField,
    kind: Kind,
    base_type: Arc<str>,
    language: Option<Language>,
    address: Option<Addr>,
    size: Option<u64>,
    location: ValueLocation,
    value: Value,
    symbol: Option<Box<str>>,
    bytes: Option<Box<str>>,
    members: Vec<Variable>,
    elements: Vec<Variable>,
    target: Option<TargetField>,
    annotations: Vec<Annotation>,
    truncated: bool,
    error: Option<Box<str>>,
    module: Option<Box<str>>,
    cu: Option<Box<str>>,
}

impl From<VariableIn> for Variable {
    fn from(v: VariableIn) -> Variable {
        let mut references = References::default();
        let type_name = match v.type_field {
            TypeField::Text(text) => text,
            TypeField::Index(i) => {
                references.type_index = i;
                Arc::default()
            }
        };
        let target = match v.target {
            Some(TargetField::Inline(t)) => Some(Arc::new(*t)),
            Some(TargetField::Object(i)) => {
                references.object = i;
                None
            }
            None => None,
        };
        Variable {
            name: v.name,
            type_name,
            kind: v.kind,
            base_type: v.base_type,
            language: v.language,
            address: v.address,
            size: v.size,
            location: v.location,
            value: v.value,
            symbol: v.symbol,
            bytes: v.bytes,
            members: v.members,
            elements: v.elements,
            target,
            annotations: v.annotations,
            truncated: v.truncated,
            error: v.error,
            module: v.module,
            cu: v.cu,
            references,
            ..Variable::default()
        }
    }
}

/// `type`: the type's text (version 1) or an index into `types`.
enum TypeField {
    Text(Arc<str>),
    Index(u32),
}

/// The empty text shares one allocation (`Arc::from("")` would make one
/// for every variable read).
impl Default for TypeField {
    fn default() -> Self {
        TypeField::Text(Arc::default())
    }
}

impl<'de> Deserialize<'de> for TypeField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TypeField;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a type name or an index into types")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TypeField, E> {
                Ok(TypeField::Text(Arc::from(s)))
            }
            fn visit_u64<E: de::Error>(self, i: u64) -> Result<TypeField, E> {
                table_index(i, BadReference::Type).map(TypeField::Index)
            }
        }
        d.deserialize_any(V)
    }
}

/// `target`: the pointee itself, or an index into `objects`.
enum TargetField {
    Inline(Box<Variable>),
    Object(u32),
}

impl<'de> Deserialize<'de> for TargetField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TargetField;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a variable or an index into objects")
            }
            fn visit_u64<E: de::Error>(self, i: u64) -> Result<TargetField, E> {
                table_index(i, BadReference::Object).map(TargetField::Object)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TargetField, A::Error> {
                let v = Variable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(TargetField::Inline(Box::new(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Why a snapshot's references do not resolve.
#[derive(Debug, thiserror::Error)]
pub enum BadReference {
    #[error("type {0} is not in the types table")]
    Type(usize),
    #[error("object {0} is not in the objects table, or not after the object that refers to it")]
    Object(usize),
}

/// Puts in place of every index what it refers to (a version 2 snapshot;
/// one of version 1 has none), and empties the tables.
pub fn resolve(snapshot: &mut Snapshot) -> Result<(), BadReference> {
    let tables = ReadTables::take(snapshot)?;
    let threads = snapshot.threads.iter_mut().flat_map(|t| {
        let frames = t.frames.iter_mut().flat_map(|f| f.parameters.iter_mut().chain(&mut f.locals));
        t.tls.iter_mut().chain(frames)
    });
    for v in snapshot.globals.iter_mut().chain(threads) {
        tables.resolve(v)?;
    }
    Ok(())
}

/// Version 2's tables as read, their objects resolved: what the indices
/// of the snapshot's variables refer to.
#[derive(Debug, Default)]
pub struct ReadTables {
    types: Vec<TypeEntry>,
    /// Every one `Some` once made.
    objects: Vec<Option<Arc<Variable>>>,
}

impl ReadTables {
    /// Takes the tables out of `snapshot` (of any kind of variable list)
    /// and resolves the objects' references. An object may refer only to
    /// objects after it, as the writer orders them: no cycle can be read.
    pub fn take<V>(snapshot: &mut Snapshot<V>) -> Result<Self, BadReference> {
        let types = std::mem::take(&mut snapshot.types);
        let raw = std::mem::take(&mut snapshot.objects);
        let mut objects: Vec<Option<Arc<Variable>>> = vec![None; raw.len()];
        for (i, mut object) in raw.into_iter().enumerate().rev() {
            resolve_tree(&mut object, &types, &objects, i + 1)?;
            objects[i] = Some(Arc::new(object));
        }
        Ok(ReadTables { types, objects })
    }

    /// Puts in place of every index in `v` and below what it refers to.
    pub fn resolve(&self, v: &mut Variable) -> Result<(), BadReference> {
        resolve_tree(v, &self.types, &self.objects, 0)
    }

    /// The shared objects, resolved.
    pub fn objects(&self) -> impl Iterator<Item = &Variable> {
        self.objects.iter().flatten().map(|o| &**o)
    }
}

/// Resolves the references of `root` and of everything it holds, where
/// only the objects from index `first` on may be referred to (and are
/// resolved already).
fn resolve_tree(
    root: &mut Variable,
    types: &[TypeEntry],
    objects: &[Option<Arc<Variable>>],
    first: usize,
) -> Result<(), BadReference> {
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        let references = std::mem::take(&mut v.references);
        if let Some(i) = references.type_index() {
            let entry = types.get(i).ok_or(BadReference::Type(i))?;
            v.type_name = entry.type_name.clone();
            v.kind = entry.kind;
            v.base_type = entry.base_type.clone();
            v.size = entry.size;
            v.language = entry.language;
        }
        if let Some(i) = references.object() {
            let object = objects.get(i).filter(|_| i >= first).cloned().flatten();
            v.target = Some(object.ok_or(BadReference::Object(i))?);
        }
        // An inline target is owned here alone; an object was resolved before.
        if let Some(target) = v.target.as_mut().and_then(Arc::get_mut) {
            stack.push(target);
        }
        stack.extend(v.members.iter_mut().chain(&mut v.elements));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Frame, Thread};

    fn var(name: &str, ty: &str, value: u64) -> Variable {
        Variable {
            name: name.into(),
            type_name: ty.into(),
            base_type: ty.into(),
            kind: Kind::Ull,
            size: Some(4),
            value: Value::UInt(value),
            location: ValueLocation::Memory,
            address: Some(Addr(0x1000 + value)),
            ..Variable::default()
        }
    }

    /// Two threads whose pointer shares one target, which holds a target
    /// of its own.
    fn shared_snapshot() -> Snapshot {
        let inner = Arc::new(var("*q", "unsigned int", 7));
        let shared = Arc::new(Variable {
            members: vec![
                var("a", "unsigned int", 1),
                Variable { target: Some(inner), ..var("q", "unsigned int *", 2) },
            ],
            ..var("*p", "struct s", 0)
        });
        let pointer = Variable { target: Some(shared), ..var("p", "struct s *", 3) };
        let frame = Frame { parameters: vec![pointer], ..Frame::default() };
        let thread = Thread { frames: vec![frame], ..Thread::default() };
        Snapshot { threads: vec![thread.clone(), thread], version: 2, ..Snapshot::default() }
    }

    fn compact(snapshot: &Snapshot) -> serde_json::Value {
        Arc::new(Tables::of(snapshot)).scope(|tables| {
            let mut json = serde_json::to_value(snapshot).unwrap();
            json["types"] = serde_json::to_value(tables.types()).unwrap();
            json["objects"] = serde_json::to_value(tables.objects()).unwrap();
            json
        })
    }

    fn read(json: &serde_json::Value) -> Result<Snapshot, BadReference> {
        let mut snapshot: Snapshot = serde_json::from_value(json.clone()).unwrap();
        resolve(&mut snapshot).map(|()| snapshot)
    }

    fn expanded(snapshot: &Snapshot) -> serde_json::Value {
        serde_json::to_value(snapshot).unwrap()
    }

    #[test]
    fn shared_targets_and_types_are_written_once_and_read_back() {
        let snapshot = shared_snapshot();
        let json = compact(&snapshot);
        assert_eq!(json["objects"].as_array().unwrap().len(), 1, "{json}");
        assert_eq!(json["types"].as_array().unwrap().len(), 4, "{json}");
        let p = &json["threads"][1]["frames"][0]["parameters"][0];
        assert_eq!(p["target"], 0);
        assert!(p.get("kind").is_none() && p["type"].is_u64(), "{p}");
        // The object's own target is written inside it (one pointer to it).
        assert_eq!(json["objects"][0]["members"][1]["target"]["value"], 7);
        // Nothing null, false or empty in a frame.
        assert!(json["threads"][0]["frames"][0].get("inlined").is_none());
        let back = read(&json).unwrap();
        assert_eq!(expanded(&back), expanded(&snapshot));
        // Read back, the threads share the target again.
        let target = |t: usize| back.threads[t].frames[0].parameters[0].target.clone().unwrap();
        assert!(Arc::ptr_eq(&target(0), &target(1)));
    }

    /// A snapshot of enough threads to be counted on two CPUs has the
    /// tables one count of it in order gives: a target shared by threads of
    /// both halves, one held by a shared target, types first met in either
    /// half.
    #[test]
    fn tables_counted_in_two_are_those_counted_in_one() {
        let one = shared_snapshot().threads.remove(0);
        let mut threads = vec![one; THREADS_APART_FROM * 2];
        let late_type = var("late", "long", 5);
        threads[THREADS_APART_FROM + 3].frames[0].locals.push(late_type);
        let alone = Arc::new(var("*r", "char", 8));
        let pointer = Variable { target: Some(alone), ..var("r", "char *", 9) };
        threads[THREADS_APART_FROM + 5].tls.push(pointer);
        let snapshot = Snapshot { threads, globals: vec![var("g", "short", 1)], ..Snapshot::default() };
        let in_two = Tables::of(&snapshot);
        let in_one = Census::of(snapshot.globals.iter().chain(variables_of(&snapshot.threads)));
        assert_eq!(in_two.type_list, in_one.types);
        assert_eq!(
            in_two.type_list.len(),
            8,
            "short; the struct, its pointer, its members' two; long; char, its pointer"
        );
        let shared: Vec<*const Variable> =
            in_one.targets.iter().filter(|(_, uses)| *uses > 1).map(|(t, _)| Arc::as_ptr(t)).collect();
        assert_eq!(in_two.object_list.iter().map(Arc::as_ptr).collect::<Vec<_>>(), shared);
        assert_eq!(shared.len(), 1, "the target of every thread's pointer; not the one held by one pointer");
        for (type_ref, index) in &in_one.type_refs {
            assert_eq!(in_two.types[type_ref], *index);
        }
    }

    #[test]
    fn a_rust_type_keeps_its_language() {
        let mut snapshot = shared_snapshot();
        let rust = Variable { language: Some(Language::Rust), ..var("r", "unsigned int", 9) };
        let c = var("c", "unsigned int", 9);
        snapshot.threads[0].frames[0].parameters.extend([rust, c]);
        let json = compact(&snapshot);
        let types = json["types"].as_array().unwrap();
        let rust_types: Vec<_> = types.iter().filter(|t| t.get("language").is_some()).collect();
        assert_eq!(
            rust_types,
            [
                &serde_json::json!({"type": "unsigned int", "kind": "ull", "base_type": "unsigned int", "size": 4, "language": "rust"})
            ]
        );
        let back = read(&json).unwrap();
        let languages: Vec<_> = back.threads[0].frames[0].parameters.iter().map(|p| p.language).collect();
        assert_eq!(languages, [None, Some(Language::Rust), None]);
        assert_eq!(expanded(&back), expanded(&snapshot));
        assert_eq!(expanded(&snapshot)["threads"][0]["frames"][0]["parameters"][1]["language"], "rust");
    }

    #[test]
    fn version_1_is_read_as_written() {
        let snapshot = shared_snapshot();
        let v1 = expanded(&snapshot);
        assert_eq!(v1["threads"][0]["frames"][0]["parameters"][0]["target"]["name"], "*p");
        assert_eq!(v1["threads"][0]["frames"][0]["inlined"], false);
        assert_eq!(expanded(&read(&v1).unwrap()), v1);
    }

    #[test]
    fn references_outside_their_tables_are_errors() {
        let json = compact(&shared_snapshot());
        let mut bad_type = json.clone();
        bad_type["threads"][0]["frames"][0]["parameters"][0]["type"] = 99.into();
        assert!(matches!(read(&bad_type), Err(BadReference::Type(99))));
        let mut bad_object = json.clone();
        bad_object["threads"][0]["frames"][0]["parameters"][0]["target"] = 1.into();
        assert!(matches!(read(&bad_object), Err(BadReference::Object(1))));
        // An index no table can reach is an error as it is read.
        let mut huge = json.clone();
        huge["threads"][0]["frames"][0]["parameters"][0]["type"] = u64::from(u32::MAX).into();
        let error = serde_json::from_value::<Snapshot>(huge).unwrap_err().to_string();
        assert!(error.starts_with("type 4294967295 is not in the types table"), "{error}");
        let mut huge = json.clone();
        huge["threads"][0]["frames"][0]["parameters"][0]["target"] = u64::MAX.into();
        let error = serde_json::from_value::<Snapshot>(huge).unwrap_err().to_string();
        assert!(error.starts_with("object 18446744073709551615 is not in the objects table"), "{error}");
        // An object referring to itself (or to one before it): no cycle is read.
        let mut cycle = json;
        cycle["objects"][0]["members"][1]["target"] = 0.into();
        assert!(matches!(read(&cycle), Err(BadReference::Object(0))));
    }
}
