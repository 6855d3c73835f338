//! A frame's place (its module, function, source position, fault and
//! unwind method: the fields from `module` to `unwind`) written once per
//! distinct place, its JSON kept and put in again for the frames at the
//! same place.
//!
//! Snapshots repeat places: a thousand idle workers wait at the same eight
//! pcs, a recursion ten thousand frames deep returns to one or two. Those
//! fields are two thirds of a frame's text and most of its writing time;
//! a frame at a known place costs a hash of its fields and a copy.
//!
//! This is the compact form as a [`JsonOut`](super::json_out::JsonOut)
//! writes it ([`caching`] runs its writer), and a frame written here is
//! the same text as the frame serialized field by field (the tests compare
//! both). Texts are keyed by their identity (a symbolized pc's texts are
//! shared by its frames): equal texts that are not shared only make
//! another entry. A cache lives while one snapshot is written, so the
//! texts it points to live longer. Places that do not repeat (a cache
//! that misses more than it hits) turn it off for the rest of the write.

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::rc::Rc;

use rustc_hash::FxHashMap;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use super::encoding::{omit_false, omit_none};
use super::json_out::{self, Spliced};
use super::model::{Addr, Frame, FrameUnwind, Variable, text_identity};

/// Places kept at most per writing thread (a few hundred bytes each).
const MAX_PLACES: usize = 4096;
/// Misses after which a cache that hit fewer times is turned off.
const MISSES_TO_JUDGE: usize = 512;

thread_local! {
    static CACHE: RefCell<Option<PlaceCache>> = const { RefCell::new(None) };
}

/// Runs `write`, a [`JsonOut`](super::json_out::JsonOut) writing the
/// compact form on this thread, with a cache of places that
/// [`CachedFrame`] fills and reads.
pub(super) fn caching<R>(write: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CACHE.with_borrow_mut(|c| *c = None);
        }
    }
    CACHE.with_borrow_mut(|c| *c = Some(PlaceCache::default()));
    let _reset = Reset;
    write()
}

#[derive(Default)]
struct PlaceCache {
    /// Each place's fields, each after its comma (`,"module":"…",…`).
    texts: FxHashMap<PlaceKey, Rc<[u8]>>,
    /// The place of the frame before, and its text: a recursion's frames
    /// are at one place, frame after frame, and need no hash.
    last: Option<(PlaceKey, Rc<[u8]>)>,
    hits: usize,
    misses: usize,
}

impl PlaceCache {
    fn off(&self) -> bool {
        self.misses >= MISSES_TO_JUDGE && self.hits < self.misses
    }

    /// The text of `f`'s place: the last one's, a known one, or new (kept
    /// while there is room).
    fn text_of<V>(&mut self, f: &Frame<V>) -> Rc<[u8]> {
        let key = PlaceKey::of(f);
        if let Some((last, text)) = &self.last
            && *last == key
        {
            self.hits += 1;
            return text.clone();
        }
        let full = self.texts.len() >= MAX_PLACES;
        let text = match self.texts.entry(key.clone()) {
            Entry::Occupied(known) => {
                self.hits += 1;
                known.get().clone()
            }
            Entry::Vacant(new) => {
                self.misses += 1;
                let text = Place::of(f).text();
                if !full {
                    new.insert(text.clone());
                }
                text
            }
        };
        self.last = Some((key, text.clone()));
        text
    }
}

/// The fields of a place, texts by identity (see the module's documentation).
#[derive(Clone, PartialEq, Eq, Hash)]
struct PlaceKey {
    texts: [usize; 4],
    module_offset: Option<u64>,
    function_offset: Option<u64>,
    position: [Option<u32>; 3],
    flags: (bool, bool),
    unwind: FrameUnwind,
}

impl PlaceKey {
    fn of<V>(f: &Frame<V>) -> Self {
        let identity = text_identity;
        PlaceKey {
            texts: [identity(&f.module), identity(&f.function), identity(&f.crate_name), identity(&f.file)],
            module_offset: f.module_offset.map(|a| a.0),
            function_offset: f.function_offset,
            position: [f.line, f.column, f.decl_line],
            flags: (f.inlined, f.faulted),
            unwind: f.unwind,
        }
    }
}

/// The place fields of a frame, as [`Frame`] declares and writes them.
#[derive(Serialize)]
struct Place<'f> {
    #[serde(skip_serializing_if = "omit_none")]
    module: Option<&'f str>,
    #[serde(skip_serializing_if = "omit_none")]
    module_offset: Option<Addr>,
    #[serde(skip_serializing_if = "omit_none")]
    function: Option<&'f str>,
    #[serde(rename = "crate", skip_serializing_if = "omit_none")]
    crate_name: Option<&'f str>,
    #[serde(skip_serializing_if = "omit_none")]
    function_offset: Option<u64>,
    #[serde(skip_serializing_if = "omit_none")]
    file: Option<&'f str>,
    #[serde(skip_serializing_if = "omit_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "omit_none")]
    column: Option<u32>,
    #[serde(skip_serializing_if = "omit_none")]
    decl_line: Option<u32>,
    #[serde(skip_serializing_if = "omit_false")]
    inlined: bool,
    #[serde(skip_serializing_if = "omit_false")]
    faulted: bool,
    unwind: FrameUnwind,
}

impl<'f> Place<'f> {
    fn of<V>(f: &'f Frame<V>) -> Self {
        Place {
            module: f.module.as_deref(),
            module_offset: f.module_offset,
            function: f.function.as_deref(),
            crate_name: f.crate_name.as_deref(),
            function_offset: f.function_offset,
            file: f.file.as_deref(),
            line: f.line,
            column: f.column,
            decl_line: f.decl_line,
            inlined: f.inlined,
            faulted: f.faulted,
            unwind: f.unwind,
        }
    }

    /// The fields as JSON, each after its comma: the object's text
    /// without its braces.
    fn text(&self) -> Rc<[u8]> {
        let mut object = json_out::to_vec(self).unwrap_or_default();
        if object.len() <= 2 {
            return Rc::default();
        }
        object[0] = b',';
        object.pop();
        object.into()
    }
}

/// A frame written with its place from the cache, when [`caching`] runs
/// the writer on this thread (else as [`Frame`] writes itself).
pub(super) struct CachedFrame<'f, V>(pub &'f Frame<V>);

impl<V: Serialize + AsRef<[Variable]> + Sync> Serialize for CachedFrame<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let in_use = |cache: &mut Option<PlaceCache>| cache.as_mut().filter(|c| !c.off()).map(|c| c.text_of(f));
        let Some(text) = CACHE.with_borrow_mut(in_use) else { return f.serialize(s) };
        let mut m = s.serialize_struct("Frame", 0)?;
        m.serialize_field("index", &f.index)?;
        m.serialize_field("pc", &f.pc)?;
        m.serialize_field("sp", &f.sp)?;
        if let Some(cfa) = &f.cfa {
            m.serialize_field("cfa", cfa)?;
        }
        m.serialize_field(json_out::FIELDS, &Spliced(&text))?;
        if let Some(why) = &f.cfi_error {
            m.serialize_field("cfi_error", why)?;
        }
        if !f.parameters.as_ref().is_empty() {
            m.serialize_field("parameters", &f.parameters)?;
        }
        if !f.locals.as_ref().is_empty() {
            m.serialize_field("locals", &f.locals)?;
        }
        if !f.annotations.is_empty() {
            m.serialize_field("annotations", &f.annotations)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::snapshot::encoding::Tables;
    use crate::snapshot::{Annotation, AnnotationLevel, Kind, Snapshot, Thread, Value};

    /// Frames of every shape: nothing known, everything known, at shared
    /// and at equal but unshared texts, faulted, inlined, with variables,
    /// annotations and a CFI error.
    fn frames() -> Vec<Frame> {
        let (module, function, file): (Arc<str>, Arc<str>, Arc<str>) =
            ("libc.so.6".into(), "poll".into(), "a.c".into());
        let at = |index: usize, line: u32| Frame {
            index,
            pc: Addr(0x7f00_0000_1000 + index as u64),
            sp: Addr(0x7ffc_0000_0000 - 16 * index as u64),
            cfa: (index > 0).then_some(Addr(0x7ffc_0000_0010)),
            module: Some(module.clone()),
            module_offset: Some(Addr(0x1000)),
            function: Some(function.clone()),
            function_offset: Some(16),
            file: Some(file.clone()),
            line: Some(line),
            column: Some(3),
            decl_line: Some(1),
            unwind: FrameUnwind::Cfi,
            ..Frame::default()
        };
        let variable = Variable {
            name: "n".into(),
            type_name: "int".into(),
            kind: Kind::Ll,
            value: Value::Int(1),
            ..Variable::default()
        };
        let mut all = vec![Frame::default(), at(1, 10), at(2, 10), at(3, 11)];
        all.push(Frame { module: Some("libc.so.6".into()), function: Some("poll".into()), ..at(4, 10) });
        all.push(Frame { crate_name: Some("std".into()), inlined: true, unwind: FrameUnwind::TailCall, ..at(5, 10) });
        all.push(Frame { faulted: true, cfi_error: Some("bad CFA rule".into()), ..at(6, 10) });
        all.push(Frame { parameters: vec![variable.clone()], locals: vec![variable], ..at(7, 10) });
        let note = Annotation::text(AnnotationLevel::Comment, "here", "test");
        all.push(Frame { annotations: vec![note], unwind: FrameUnwind::FramePointer, ..at(8, 12) });
        all
    }

    /// Runs `write` in the compact form, with the tables of a snapshot of `frames`.
    fn compact<R>(frames: &[Frame], write: impl FnOnce() -> R) -> R {
        let snapshot =
            Snapshot { threads: vec![Thread { frames: frames.to_vec(), ..Thread::default() }], ..Snapshot::default() };
        Arc::new(Tables::of(&snapshot)).scope(|_| write())
    }

    fn cache_state() -> (usize, usize, usize) {
        CACHE.with_borrow(|c| c.as_ref().map_or((0, 0, 0), |c| (c.texts.len(), c.hits, c.misses)))
    }

    #[test]
    fn a_frame_from_the_cache_is_the_frame_written_field_by_field() {
        let frames = frames();
        compact(&frames, || {
            let fields: Vec<Vec<u8>> = frames.iter().map(|f| json_out::to_vec(f).unwrap()).collect();
            caching(|| {
                for round in 0..2 {
                    for (f, expected) in frames.iter().zip(&fields) {
                        let cached = json_out::to_vec(&CachedFrame(f)).unwrap();
                        assert_eq!(
                            String::from_utf8(cached).unwrap(),
                            String::from_utf8_lossy(expected),
                            "round {round}"
                        );
                    }
                }
                // Frames 1, 2 and 7 (its variables are not its place) are
                // at one place; 4 has the same texts, not shared.
                let places = frames.len() - 2;
                assert_eq!(cache_state(), (places, 2 + frames.len(), places));
            });
        });
    }

    #[test]
    fn outside_the_writer_a_frame_writes_itself() {
        let frames = frames();
        let frame = &frames[1];
        assert_eq!(serde_json::to_string(&CachedFrame(frame)).unwrap(), serde_json::to_string(frame).unwrap());
        let text = compact(&frames, || json_out::to_vec(&CachedFrame(frame)).unwrap());
        assert_eq!(text, compact(&frames, || json_out::to_vec(frame).unwrap()));
        assert_eq!(cache_state(), (0, 0, 0), "no cache outside `caching`");
    }

    /// Places that never repeat turn the cache off, and the frames are
    /// still written as they are.
    #[test]
    fn places_that_do_not_repeat_turn_the_cache_off() {
        let distinct: Vec<Frame> =
            (0..MISSES_TO_JUDGE + 10).map(|i| Frame { line: Some(i as u32), ..frames()[1].clone() }).collect();
        compact(&distinct, || {
            caching(|| {
                for f in &distinct {
                    assert_eq!(json_out::to_vec(&CachedFrame(f)).unwrap(), json_out::to_vec(f).unwrap());
                }
                let (places, hits, misses) = cache_state();
                assert_eq!((places, hits, misses), (MISSES_TO_JUDGE, 0, MISSES_TO_JUDGE));
            });
        });
    }
}
