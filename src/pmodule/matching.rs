//! Match filters: the criteria a module gives with a callback or an
//! iteration, tested against threads, frames and variables of a snapshot.
//!
//! Criteria apply at their own level and upward: a variable matches when
//! its frame matches the frame criteria (object, file, frame symbol,
//! fault) and it matches the variable criteria (base type, name, ptrace
//! type); a frame matches when it matches the frame criteria and, if any
//! variable criteria are given, holds a matching variable; a thread
//! matches when one of its frames does.

use crate::snapshot::{Frame, Kind, Thread, Variable};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MatchType {
    #[default]
    Exact,
    Substr,
}

#[derive(Clone, Debug)]
struct Text {
    value: String,
    how: MatchType,
}

impl Text {
    fn matches(&self, candidate: &str) -> bool {
        match self.how {
            MatchType::Exact => candidate == self.value,
            MatchType::Substr => candidate.contains(&self.value),
        }
    }
}

/// Where the fault criterion stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    Any,
    /// Only the faulting frame (and its variables).
    Frame,
    /// Every frame and variable of the faulting thread.
    WholeThread,
}

#[derive(Clone, Debug, Default)]
pub struct Match {
    objects: Vec<Text>,
    files: Vec<Text>,
    symbols: Vec<Text>,
    base_types: Vec<Text>,
    names: Vec<Text>,
    kinds: Vec<Kind>,
    fault: Fault,
}

/// A frame as the matcher sees it: the frame and whether its thread faulted.
pub struct FrameRef<'s> {
    pub frame: &'s Frame,
    pub thread_faulted: bool,
}

impl Match {
    pub fn reset(&mut self) {
        *self = Match::default();
    }

    pub fn add_object(&mut self, value: String, how: MatchType) {
        self.objects.push(Text { value, how });
    }

    pub fn add_file(&mut self, value: String, how: MatchType) {
        self.files.push(Text { value, how });
    }

    pub fn add_frame_symbol(&mut self, value: String, how: MatchType) {
        self.symbols.push(Text { value, how });
    }

    pub fn add_base_type(&mut self, value: String, how: MatchType) {
        self.base_types.push(Text { value, how });
    }

    pub fn add_variable_name(&mut self, value: String, how: MatchType) {
        self.names.push(Text { value, how });
    }

    pub fn add_kind(&mut self, kind: Kind) {
        self.kinds.push(kind);
    }

    pub fn set_fault(&mut self, whole_thread: bool) {
        self.fault = if whole_thread { Fault::WholeThread } else { Fault::Frame };
    }

    /// Whether the filter can take a frame of a thread that did (or did
    /// not) fault: a fault filter takes no frame of a thread that did not.
    pub fn may_take_frames_of(&self, thread_faulted: bool) -> bool {
        thread_faulted || self.fault == Fault::Any
    }

    fn has_variable_criteria(&self) -> bool {
        !(self.base_types.is_empty() && self.names.is_empty() && self.kinds.is_empty())
    }

    pub fn thread(&self, thread: &Thread) -> bool {
        thread.frames.iter().any(|f| self.frame(&FrameRef { frame: f, thread_faulted: thread.faulted }))
    }

    pub fn frame(&self, f: &FrameRef<'_>) -> bool {
        self.frame_only(f)
            && (!self.has_variable_criteria()
                || f.frame.parameters.iter().chain(&f.frame.locals).any(|v| self.variable_only(v)))
    }

    /// A variable of frame `f` (None for a global or TLS variable, which
    /// match on their module and compilation unit).
    pub fn variable(&self, v: &Variable, f: Option<&FrameRef<'_>>) -> bool {
        let place = match f {
            Some(f) => self.frame_only(f),
            None => {
                self.fault == Fault::Any
                    && self.symbols.is_empty()
                    && any_or_empty(&self.objects, v.module.as_deref())
                    && self.files_match(v.cu.as_deref())
            }
        };
        place && self.variable_only(v)
    }

    /// Whether a variable callback with this filter also gets globals
    /// looked up for it: the filter can match a global (no frame symbol,
    /// no fault) and names the variables (by name) or a unit (by file).
    pub fn selects_globals(&self) -> bool {
        self.fault == Fault::Any && self.symbols.is_empty() && !(self.names.is_empty() && self.files.is_empty())
    }

    /// Whether the filter names the modules (else globals are looked up in
    /// the executable only).
    pub fn names_modules(&self) -> bool {
        !self.objects.is_empty()
    }

    pub fn module(&self, module: &str) -> bool {
        any_or_empty(&self.objects, Some(module))
    }

    /// Whether a global of `module`, unit `cu`, named `name` may match
    /// (its type is checked once it is read, by [`Match::variable`]).
    pub fn global(&self, module: &str, cu: Option<&str>, name: &str) -> bool {
        self.module(module) && self.files_match(cu) && self.names.iter().all(|t| t.matches(name))
    }

    /// Reads the frame's fault flag, module, file and function, and its
    /// thread's fault: what [`Place`] holds.
    fn frame_only(&self, f: &FrameRef<'_>) -> bool {
        let fault = match self.fault {
            Fault::Any => true,
            Fault::Frame => f.frame.faulted,
            Fault::WholeThread => f.thread_faulted,
        };
        fault
            && any_or_empty(&self.objects, f.frame.module.as_deref())
            && (self.files.is_empty()
                || f.frame.file.as_deref().is_some_and(|p| self.files.iter().any(|t| file_matches(t, p))))
            && any_or_empty(&self.symbols, f.frame.function.as_deref())
    }

    fn files_match(&self, path: Option<&str>) -> bool {
        self.files.iter().all(|t| path.is_some_and(|p| file_matches(t, p)))
    }

    fn variable_only(&self, v: &Variable) -> bool {
        self.base_types.iter().all(|t| t.matches(&v.base_type))
            && self.names.iter().all(|t| t.matches(&v.name))
            && (self.kinds.is_empty() || self.kinds.contains(&v.kind))
    }
}

/// What [`Match::frame`] reads of a frame without variables, by identity:
/// frames with equal places (the same texts, shared from one symbolized
/// pc, as a deep recursion's frames are) match the same filters. Texts
/// that are equal but not shared make places that differ, which costs a
/// test, never a wrong answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Place {
    texts: [usize; 3],
    faulted: bool,
    thread_faulted: bool,
}

impl Place {
    /// The place of `f`, if it has no variables (a filter on variables
    /// reads them too).
    pub fn of(f: &FrameRef<'_>) -> Option<Place> {
        let frame = f.frame;
        let identity = crate::snapshot::text_identity;
        (frame.parameters.is_empty() && frame.locals.is_empty()).then(|| Place {
            texts: [identity(&frame.module), identity(&frame.file), identity(&frame.function)],
            faulted: frame.faulted,
            thread_faulted: f.thread_faulted,
        })
    }
}

/// Every criterion of a kind must hold; none given holds for all.
fn any_or_empty(criteria: &[Text], candidate: Option<&str>) -> bool {
    criteria.iter().all(|t| candidate.is_some_and(|c| t.matches(c)))
}

/// A file criterion names a compilation unit or source file: exactly the
/// path or its file name, or a part of the path.
fn file_matches(t: &Text, path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    t.matches(path) || t.matches(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, file: &str, faulted: bool) -> Frame {
        Frame {
            function: Some(function.into()),
            file: Some(file.into()),
            module: Some("crash".into()),
            faulted,
            ..Frame::default()
        }
    }

    #[test]
    fn criteria_all_hold() {
        let mut m = Match::default();
        m.add_object("crash".into(), MatchType::Exact);
        m.add_file("crash.c".into(), MatchType::Exact);
        m.add_frame_symbol("recur".into(), MatchType::Substr);
        let f = frame("recurse", "/src/crash.c", false);
        assert!(m.frame(&FrameRef { frame: &f, thread_faulted: false }));
        let g = frame("main", "/src/crash.c", false);
        assert!(!m.frame(&FrameRef { frame: &g, thread_faulted: false }));
        m.reset();
        m.set_fault(false);
        assert!(!m.frame(&FrameRef { frame: &f, thread_faulted: true }));
        m.set_fault(true);
        assert!(m.frame(&FrameRef { frame: &f, thread_faulted: true }));
    }

    #[test]
    fn variable_criteria() {
        let mut m = Match::default();
        m.add_base_type("crash_".into(), MatchType::Substr);
        m.add_kind(Kind::Tuple);
        let v =
            Variable { name: "info".into(), base_type: "crash_info".into(), kind: Kind::Tuple, ..Variable::default() };
        let f = Frame { locals: vec![v.clone()], ..frame("recurse", "crash.c", false) };
        assert!(m.variable(&v, Some(&FrameRef { frame: &f, thread_faulted: false })));
        assert!(m.frame(&FrameRef { frame: &f, thread_faulted: false }));
        let other = Variable { kind: Kind::Reference, ..v };
        assert!(!m.variable(&other, None));
    }
}
