//! The viewer's reading of a snapshot: everything but the variables is
//! read as every reader reads it, and each list of variables (the
//! globals, a thread's TLS, a frame's parameters and locals) is left as
//! its JSON text in the file's text, to be read when it is shown, by the
//! same code ([`super::writer::parse`]'s deserializer, version 2's indices
//! resolved by the same [`ReadTables`], made once).
//!
//! Why: the variables are most of a snapshot (6.2 of the 9.9 MB of bench.py's
//! 1,001 threads), and read whole they took 6.9 times the file's size in
//! memory (78,605 `Variable`s of 312 bytes, and their strings), while the
//! viewer shows one frame's at a time. Left as text they cost the bytes
//! of the file, which the reader holds anyway, and 16 bytes a list.
//!
//! The syntax of a list's JSON is checked when the snapshot is read
//! (serde_json skips a value without recursion, at any depth); what it
//! says, only when the list is read: a list that is not one of variables,
//! or an index outside the types or objects table, is an error of that
//! list alone, said where the list would be shown.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::encoding::ReadTables;
use super::model::{Snapshot, Variable};
use super::writer::{ReadError, from_checked_json, from_json};

/// A list of variables as its JSON text, in the text the snapshot was
/// read from; empty when the snapshot has none.
#[derive(Clone, Copy, Debug, Default)]
pub struct Deferred<'t>(Option<&'t RawValue>);

impl<'t> Deferred<'t> {
    /// The list's JSON ("" for none).
    pub fn text(&self) -> &'t str {
        self.0.map_or("", RawValue::get)
    }
}

impl<'de: 't, 't> Deserialize<'de> for Deferred<'t> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(d).map(|raw| Deferred(Some(raw)))
    }
}

/// A snapshot whose variables stay text until asked for.
pub struct LazySnapshot<'t> {
    pub snapshot: Snapshot<Deferred<'t>>,
    /// Version 2's tables, resolved once for every list.
    tables: ReadTables,
    text: &'t str,
}

/// Why a list of variables cannot be read: where it is in the file, and
/// what is wrong in it (a position the error gives is in the list).
#[derive(Debug, thiserror::Error)]
#[error("{error} (in the list at byte {at} of the file)")]
pub struct ListError {
    at: usize,
    error: ReadError,
}

impl<'t> LazySnapshot<'t> {
    /// Reads a snapshot of any version from `text`, its lists of variables
    /// left in it.
    pub fn parse(text: &'t str) -> Result<Self, ReadError> {
        let mut snapshot: Snapshot<Deferred<'t>> = from_json(text)?;
        let tables = ReadTables::take(&mut snapshot)?;
        Ok(LazySnapshot { snapshot, tables, text })
    }

    /// The variables of `list`, read from its text, their references to
    /// the tables resolved.
    pub fn variables(&self, list: &Deferred<'_>) -> Result<Vec<Variable>, ListError> {
        let Some(raw) = list.0 else { return Ok(Vec::new()) };
        let read = || -> Result<Vec<Variable>, ReadError> {
            let mut variables: Vec<Variable> = from_checked_json(raw.get())?;
            for v in &mut variables {
                self.tables.resolve(v)?;
            }
            Ok(variables)
        };
        read().map_err(|error| ListError { at: raw.get().as_ptr() as usize - self.text.as_ptr() as usize, error })
    }

    /// The shared objects (version 2's table) the lists' pointers may
    /// refer to, resolved.
    pub fn objects(&self) -> impl Iterator<Item = &Variable> {
        self.tables.objects()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pointer whose target is object 0, in a frame, and the same in
    /// the thread's TLS.
    const TEXT: &str = r#"{"format":"ptsnap-snapshot","version":2,
        "threads":[{"tid":1,"tls":[{"name":"t","type":0}],
            "frames":[{"function":"f","parameters":[{"name":"p","type":1,"target":0}]}]}],
        "types":[{"type":"int","kind":"ll","base_type":"int","size":4},
                 {"type":"int *","kind":"reference","base_type":"int","size":8}],
        "objects":[{"name":"*p","type":0,"value":7}]}"#;

    #[test]
    fn lists_stay_text_until_read_and_read_as_parse_reads_them() {
        let lazy = LazySnapshot::parse(TEXT).unwrap();
        let thread = &lazy.snapshot.threads[0];
        let frame = &thread.frames[0];
        assert_eq!(frame.function.as_deref(), Some("f"));
        assert!(frame.parameters.text().starts_with(r#"[{"name":"p""#));
        assert_eq!(frame.locals.text(), "", "no locals: no text");
        let whole = super::super::writer::parse(TEXT).unwrap();
        let expected = serde_json::to_value(&whole.threads[0].frames[0].parameters).unwrap();
        let read = lazy.variables(&frame.parameters).unwrap();
        assert_eq!(serde_json::to_value(&read).unwrap(), expected);
        assert_eq!(read[0].target.as_ref().unwrap().value, crate::snapshot::Value::Int(7));
        assert_eq!(read[0].type_name.as_ref(), "int *");
        assert!(lazy.variables(&frame.locals).unwrap().is_empty());
        assert_eq!(lazy.variables(&thread.tls).unwrap()[0].type_name.as_ref(), "int");
        assert_eq!(lazy.objects().count(), 1);
    }

    #[test]
    fn a_bad_list_is_an_error_of_its_own_with_its_place() {
        let bad_index = TEXT.replace(r#""type":1,"target":0"#, r#""type":1,"target":5"#);
        let lazy = LazySnapshot::parse(&bad_index).unwrap();
        let error = lazy.variables(&lazy.snapshot.threads[0].frames[0].parameters).unwrap_err().to_string();
        let at = bad_index.find(r#"[{"name":"p""#).unwrap();
        let why = "object 5 is not in the objects table, or not after the object that refers to it";
        assert_eq!(error, format!("{why} (in the list at byte {at} of the file)"));
        // The TLS is read still.
        assert!(lazy.variables(&lazy.snapshot.threads[0].tls).is_ok());

        let not_a_list = TEXT.replace(r#""tls":[{"name":"t","type":0}]"#, r#""tls":{"name":"t"}"#);
        let lazy = LazySnapshot::parse(&not_a_list).unwrap();
        let error = lazy.variables(&lazy.snapshot.threads[0].tls).unwrap_err().to_string();
        assert!(error.starts_with("invalid type: map, expected a sequence"), "{error}");

        // An index outside the tables of a shared object is the whole
        // snapshot's error, as for every reader.
        let bad_object = TEXT.replace(r#""name":"*p","type":0"#, r#""name":"*p","type":9"#);
        assert!(LazySnapshot::parse(&bad_object).is_err());
        // And so is JSON that is not JSON, in a list too.
        assert!(LazySnapshot::parse(&TEXT.replace(r#""target":0}"#, r#""target":0,}"#)).is_err());
    }

    /// Far deeper than serde_json's recursion limit and a test thread's
    /// stack (within the readers' limit): skipped when the snapshot is
    /// read, and read when asked for.
    #[test]
    fn deep_lists_are_read() {
        const DEPTH: usize = 3000;
        let variable =
            format!("{}{{\"name\":\"bottom\"}}{}", r#"{"name":"p","target":"#.repeat(DEPTH), "}".repeat(DEPTH));
        let text = format!(r#"{{"format":"ptsnap-snapshot","threads":[{{"tls":[{variable}]}}]}}"#);
        let lazy = LazySnapshot::parse(&text).unwrap();
        let tls = lazy.variables(&lazy.snapshot.threads[0].tls).unwrap();
        let mut v = &tls[0];
        let mut depth = 0;
        while let Some(t) = &v.target {
            v = t;
            depth += 1;
        }
        assert_eq!((depth, v.name.as_str()), (DEPTH, "bottom"));
    }
}
