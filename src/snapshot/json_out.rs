//! The snapshot's JSON text, written with the bytes serde_json's compact
//! serializer writes, in less time (the frames of a 10,000-frame thread
//! in three quarters of the time serde_json takes to write them into
//! memory), and with a way to put in JSON that another thread wrote.
//!
//! A snapshot is mostly short strings: every frame has a dozen keys and
//! half a dozen addresses and names, so a 10,000-frame thread is some
//! 200,000 of them. serde_json writes each through `io::Write` calls on
//! its writer (the opening quote, the text, the closing quote, one by
//! one); this writer appends to a buffer of its own and hands it to the
//! file 128 KiB at a time.
//!
//! [`crate::snapshot::encoding`] writes a long list on two CPUs: the other
//! thread writes the later items in parts, into buffers of its own
//! ([`write_items`]), and this one puts each part in after the first items
//! as it stands ([`Spliced`]). serde_json could only take it as a
//! `RawValue` per item, each its own allocation, checked as UTF-8 again.
//! A frame's fields that many frames share are put in the same way
//! ([`FIELDS`], from `snapshot::place_cache`).

use std::fmt::Display;
use std::io::{self, Write};
use std::mem::MaybeUninit;

use serde::ser::{self, Impossible, Serialize};

/// What the buffer holds at most, about, before it goes to the file: one
/// value may take it past this (it is handed over between values). Small
/// enough that the buffer stays in the CPU's cache for the copy into the
/// file and that the disk starts on each part soon; a megabyte made the
/// 10,000-frame snapshot's JSON 7% slower and its sync 12% longer.
const FLUSH_AT: usize = 128 << 10;

/// The error of a write: the file's, or one a value's `Serialize` made.
#[derive(Debug, thiserror::Error)]
pub enum OutError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("{0}")]
    Value(String),
}

impl ser::Error for OutError {
    fn custom<T: Display>(msg: T) -> Self {
        OutError::Value(msg.to_string())
    }
}

impl From<OutError> for io::Error {
    fn from(e: OutError) -> Self {
        match e {
            OutError::Io(e) => e,
            OutError::Value(why) => io::Error::new(io::ErrorKind::InvalidData, why),
        }
    }
}

type Result<T = ()> = std::result::Result<T, OutError>;

/// A compact JSON writer into `sink`.
pub struct JsonOut<W> {
    buf: Vec<u8>,
    sink: W,
    /// The buffer goes to the sink between values from this length on.
    flush_at: usize,
    /// The next `serialize_bytes` is JSON to put in as it is.
    splicing: bool,
}

impl<W: Write> JsonOut<W> {
    pub fn new(sink: W) -> Self {
        JsonOut { buf: Vec::with_capacity(FLUSH_AT + FLUSH_AT / 4), sink, flush_at: FLUSH_AT, splicing: false }
    }

    /// Hands what is buffered to the sink and returns it.
    pub fn finish(mut self) -> io::Result<W> {
        self.sink.write_all(&self.buf)?;
        Ok(self.sink)
    }

    /// Between values: hands the buffer over once it is full enough.
    fn between(&mut self) -> Result {
        if self.buf.len() >= self.flush_at {
            self.sink.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// `value`'s compact JSON, in memory.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> io::Result<Vec<u8>> {
    let mut out = JsonOut { buf: Vec::new(), sink: io::sink(), flush_at: usize::MAX, splicing: false };
    value.serialize(&mut out)?;
    Ok(out.buf)
}

/// Items of a list written into `buffer` (emptied first), comma-separated
/// without brackets, until it holds `limit` bytes or they end: the buffer
/// and how many were written. An item that fails is an error, whatever
/// was written before it.
pub fn write_items<T: Serialize>(
    buffer: Vec<u8>,
    items: &mut impl Iterator<Item = T>,
    limit: usize,
) -> io::Result<(Vec<u8>, usize)> {
    let mut out = JsonOut { buf: buffer, sink: io::sink(), flush_at: usize::MAX, splicing: false };
    out.buf.clear();
    let mut count = 0;
    while out.buf.len() < limit {
        let Some(item) = items.next() else { break };
        if count > 0 {
            out.buf.push(b',');
        }
        item.serialize(&mut out)?;
        count += 1;
    }
    Ok((out.buf, count))
}

/// The name by which [`Spliced`] makes itself known to [`JsonOut`].
const SPLICE: &str = "$ptsnap::json_out::Spliced";

/// Text that is JSON already (as [`to_vec`] wrote it), put into the
/// output as it is where a value goes. Only a [`JsonOut`] knows to: any
/// other serializer writes it as a newtype around bytes.
pub struct Spliced<'b>(pub &'b [u8]);

impl Serialize for Spliced<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        struct Bytes<'b>(&'b [u8]);
        impl Serialize for Bytes<'_> {
            fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        s.serialize_newtype_struct(SPLICE, &Bytes(self.0))
    }
}

/// The key under which a struct's field is [`Spliced`] text of fields
/// (`,"a":1,"b":2`, each after its comma, or nothing), not a field: only
/// after a first field, and only for a [`JsonOut`].
pub const FIELDS: &str = "$ptsnap::json_out::Fields";

/// For each byte, what stands for it in a JSON string: 0 for itself,
/// `u` for `\u00XX`, else the letter after the backslash.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// `s` as a JSON string, escaped as serde_json escapes it. Inlined, so
/// that a key known when compiling is written as the constant it is.
#[inline]
fn push_str(buf: &mut Vec<u8>, s: &str) {
    // Keys and addresses: a short plain text is looked at and copied in
    // one go.
    if !push_short(buf, s.as_bytes()) {
        push_escaped(buf, s.as_bytes());
    }
}

/// `bytes` as a JSON string, escaped where it must be. Most text needs
/// no escape: it is looked at eight bytes at a time.
#[inline(never)]
fn push_escaped(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        buf.extend_from_slice(&bytes[start..i]);
        let b = bytes[i];
        match ESCAPE[b as usize] {
            b'u' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
            }
            letter => buf.extend_from_slice(&[b'\\', letter]),
        }
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

/// The index of the first byte from `from` on that a JSON string must
/// escape.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        if needs_escape(u64::from_ne_bytes(chunk.try_into().unwrap_or_default())) {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| ESCAPE[b as usize] != 0).map(|i| at + i)
}

/// Whether one of the eight bytes of `word` needs an escape in a JSON
/// string (a control character, `"` or `\\`).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = ONES * 0x80;
    // Whether some byte of `word` is below `n` (n <= 0x80), or is `b`.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0;
    let has = |word: u64, b: u8| below(word ^ (ONES * u64::from(b)), 1);
    below(word, 0x20) || has(word, b'"') || has(word, b'\\')
}

/// Appends `bytes` quoted when it is at most sixteen bytes long and
/// needs no escape; false, with nothing appended, when it is not. It is
/// read and copied as two words that overlap where it is shorter (or two
/// half words, under eight bytes), not byte by byte: a call of `memcpy`
/// for a dozen bytes costs more than the rest of a string's writing.
#[inline(always)]
fn push_short(buf: &mut Vec<u8>, bytes: &[u8]) -> bool {
    const ROOM: usize = 18;
    let len = bytes.len();
    let word = |at: usize| -> [u8; 8] { bytes[at..at + 8].try_into().unwrap_or_default() };
    let half = |at: usize| -> [u8; 4] { bytes[at..at + 4].try_into().unwrap_or_default() };
    let halves = |first: [u8; 4], last: [u8; 4]| {
        u64::from(u32::from_ne_bytes(first)) | u64::from(u32::from_ne_bytes(last)) << 32
    };
    let plain = match len {
        8..=16 => !needs_escape(u64::from_ne_bytes(word(0))) && !needs_escape(u64::from_ne_bytes(word(len - 8))),
        4..=7 => !needs_escape(halves(half(0), half(len - 4))),
        0..=3 => bytes.iter().all(|&b| ESCAPE[b as usize] == 0),
        _ => false,
    };
    if !plain {
        return false;
    }
    buf.reserve(ROOM);
    let at = buf.len();
    let spare = &mut buf.spare_capacity_mut()[..ROOM];
    fn put<const N: usize>(spare: &mut [MaybeUninit<u8>], at: usize, part: [u8; N]) {
        spare[at..at + N].copy_from_slice(&part.map(MaybeUninit::new));
    }
    match len {
        8..=16 => {
            put(spare, 1, word(0));
            put(spare, len - 7, word(len - 8));
        }
        4..=7 => {
            put(spare, 1, half(0));
            put(spare, len - 3, half(len - 4));
        }
        _ => {
            for (slot, &b) in spare[1..].iter_mut().zip(bytes) {
                slot.write(b);
            }
        }
    }
    spare[0].write(b'"');
    spare[len + 1].write(b'"');
    // SAFETY: the `len + 2` bytes past the length (at most 18) were
    // written just above: the quotes, and the text in its two parts.
    unsafe { buf.set_len(at + len + 2) };
    true
}

fn push_int(buf: &mut Vec<u8>, n: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A float as serde_json writes one: the shortest text that reads back
/// the same, and null for what JSON has no number for.
fn push_float(buf: &mut Vec<u8>, f: impl zmij::Float, finite: bool) {
    match finite {
        true => buf.extend_from_slice(zmij::Buffer::new().format_finite(f).as_bytes()),
        false => buf.extend_from_slice(b"null"),
    }
}

/// An object or array being written; `first`: nothing is in it yet.
pub struct Compound<'o, W> {
    out: &'o mut JsonOut<W>,
    first: bool,
    /// Close with `}` twice: the value of a variant written as `{"name":…}`.
    variant: bool,
}

impl<'o, W: Write> Compound<'o, W> {
    fn open(out: &'o mut JsonOut<W>, bracket: u8, variant: Option<&str>) -> Self {
        if let Some(name) = variant {
            out.buf.push(b'{');
            push_str(&mut out.buf, name);
            out.buf.push(b':');
        }
        out.buf.push(bracket);
        Compound { out, first: true, variant: variant.is_some() }
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.buf.push(b',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.comma();
        value.serialize(&mut *self.out)?;
        self.out.between()
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result {
        if key == FIELDS {
            return value.serialize(&mut *self.out);
        }
        self.comma();
        push_str(&mut self.out.buf, key);
        self.out.buf.push(b':');
        value.serialize(&mut *self.out)?;
        self.out.between()
    }

    fn close(self, bracket: u8) -> Result {
        self.out.buf.push(bracket);
        if self.variant {
            self.out.buf.push(b'}');
        }
        Ok(())
    }
}

/// serde's ten integer methods of a serializer, each `$body` (a closure
/// of the serializer and the value) over its own type.
macro_rules! integers {
    (|$this:ident: Self, $v:ident| $body:expr) => {
        integers!(@each |$this, $v| $body; serialize_i8 i8, serialize_i16 i16, serialize_i32 i32,
            serialize_i64 i64, serialize_i128 i128, serialize_u8 u8, serialize_u16 u16,
            serialize_u32 u32, serialize_u64 u64, serialize_u128 u128);
    };
    (@each |$this:ident, $v:ident| $body:expr; $($method:ident $ty:ty),*) => {
        $(fn $method(self, $v: $ty) -> Result {
            let $this = self;
            $body
        })*
    };
}

/// serde's list-like traits (`Trait::method` of an element): all an
/// array here.
macro_rules! array_like {
    ($($name:ident::$method:ident),*) => {$(
        impl<W: Write> ser::$name for Compound<'_, W> {
            type Ok = ();
            type Error = OutError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                self.element(value)
            }
            fn end(self) -> Result {
                self.close(b']')
            }
        }
    )*};
}

/// serde's struct traits: an object here.
macro_rules! object_like {
    ($($name:ident),*) => {$(
        impl<W: Write> ser::$name for Compound<'_, W> {
            type Ok = ();
            type Error = OutError;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
                self.field(key, value)
            }
            fn end(self) -> Result {
                self.close(b'}')
            }
        }
    )*};
}

impl<'o, W: Write> ser::Serializer for &'o mut JsonOut<W> {
    type Ok = ();
    type Error = OutError;
    type SerializeSeq = Compound<'o, W>;
    type SerializeTuple = Compound<'o, W>;
    type SerializeTupleStruct = Compound<'o, W>;
    type SerializeTupleVariant = Compound<'o, W>;
    type SerializeMap = Compound<'o, W>;
    type SerializeStruct = Compound<'o, W>;
    type SerializeStructVariant = Compound<'o, W>;

    fn serialize_bool(self, v: bool) -> Result {
        self.buf.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integers!(|out: Self, v| {
        push_int(&mut out.buf, v);
        Ok(())
    });
    fn serialize_f32(self, v: f32) -> Result {
        push_float(&mut self.buf, v, v.is_finite());
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result {
        push_float(&mut self.buf, v, v.is_finite());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result {
        push_str(&mut self.buf, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result {
        push_str(&mut self.buf, v);
        Ok(())
    }
    /// Bytes are an array of numbers, as serde_json writes them; spliced
    /// text goes in as it is.
    fn serialize_bytes(self, v: &[u8]) -> Result {
        if std::mem::take(&mut self.splicing) {
            // Another thread's megabytes go to the file as they are.
            if v.len() >= self.flush_at {
                self.sink.write_all(&self.buf)?;
                self.buf.clear();
                self.sink.write_all(v)?;
            } else {
                self.buf.extend_from_slice(v);
            }
            return Ok(());
        }
        let mut seq = Compound::open(self, b'[', None);
        for b in v {
            seq.element(b)?;
        }
        seq.close(b']')
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.buf.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result {
        self.splicing = name == SPLICE;
        let written = value.serialize(&mut *self);
        self.splicing = false;
        written
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.buf.push(b'{');
        push_str(&mut self.buf, variant);
        self.buf.push(b':');
        value.serialize(&mut *self)?;
        self.buf.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'o, W>> {
        Ok(Compound::open(self, b'[', None))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'o, W>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'o, W>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'o, W>> {
        Ok(Compound::open(self, b'[', Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'o, W>> {
        Ok(Compound::open(self, b'{', None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'o, W>> {
        Ok(Compound::open(self, b'{', None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'o, W>> {
        Ok(Compound::open(self, b'{', Some(variant)))
    }
}

array_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<W: Write> ser::SerializeMap for Compound<'_, W> {
    type Ok = ();
    type Error = OutError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.comma();
        key.serialize(MapKey(&mut self.out.buf))?;
        self.out.buf.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut *self.out)?;
        self.out.between()
    }
    fn end(self) -> Result {
        self.close(b'}')
    }
}

object_like!(SerializeStruct, SerializeStructVariant);

/// A map's key: JSON has string keys only, so numbers and booleans are
/// quoted, as serde_json does; other values are an error.
struct MapKey<'b>(&'b mut Vec<u8>);

impl MapKey<'_> {
    fn quoted(self, text: &str) -> Result {
        self.0.push(b'"');
        self.0.extend_from_slice(text.as_bytes());
        self.0.push(b'"');
        Ok(())
    }
}

fn not_a_key() -> OutError {
    OutError::Value("key must be a string".into())
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = OutError;
    type SerializeSeq = Impossible<(), OutError>;
    type SerializeTuple = Impossible<(), OutError>;
    type SerializeTupleStruct = Impossible<(), OutError>;
    type SerializeTupleVariant = Impossible<(), OutError>;
    type SerializeMap = Impossible<(), OutError>;
    type SerializeStruct = Impossible<(), OutError>;
    type SerializeStructVariant = Impossible<(), OutError>;

    fn serialize_str(self, v: &str) -> Result {
        push_str(self.0, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result {
        self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result {
        self.quoted(if v { "true" } else { "false" })
    }
    integers!(|key: Self, v| key.quoted(itoa::Buffer::new().format(v)));
    fn serialize_f32(self, v: f32) -> Result {
        match v.is_finite() {
            true => self.quoted(zmij::Buffer::new().format_finite(v)),
            false => Err(OutError::Value("float key must be finite".into())),
        }
    }
    fn serialize_f64(self, v: f64) -> Result {
        match v.is_finite() {
            true => self.quoted(zmij::Buffer::new().format_finite(v)),
            false => Err(OutError::Value("float key must be finite".into())),
        }
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result {
        Err(not_a_key())
    }
    fn serialize_none(self) -> Result {
        Err(not_a_key())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        Err(not_a_key())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        Err(not_a_key())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        Err(not_a_key())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Impossible<(), OutError>> {
        Err(not_a_key())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Impossible<(), OutError>> {
        Err(not_a_key())
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Impossible<(), OutError>> {
        Err(not_a_key())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), OutError>> {
        Err(not_a_key())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Impossible<(), OutError>> {
        Err(not_a_key())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Impossible<(), OutError>> {
        Err(not_a_key())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), OutError>> {
        Err(not_a_key())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(i32),
        Tuple(u8, String),
        Struct { x: f64, y: Option<f32> },
    }

    #[derive(Serialize)]
    struct Everything {
        flag: bool,
        small: i8,
        big: u128,
        negative: i128,
        floats: Vec<f64>,
        single: f32,
        letter: char,
        text: String,
        bytes: Vec<u8>,
        none: Option<u8>,
        unit: (),
        pair: (u16, &'static str),
        shapes: Vec<Shape>,
        by_number: BTreeMap<i64, &'static str>,
        by_flag: BTreeMap<bool, u8>,
        by_char: BTreeMap<char, u8>,
        json: serde_json::Value,
        #[serde(flatten)]
        rest: BTreeMap<String, u32>,
    }

    fn everything() -> Everything {
        let text: String = (0u8..0x80).map(char::from).chain("é\u{2028}𝄞\"\\/".chars()).collect();
        Everything {
            flag: true,
            small: -128,
            big: u128::MAX,
            negative: i128::MIN,
            floats: vec![0.0, -0.0, 1.0, 1.5e300, 1e-7, 0.1, f64::NAN, f64::INFINITY, f64::MIN_POSITIVE],
            single: 3.4e38,
            letter: '\n',
            text: text.clone(),
            bytes: vec![0, 255, 7],
            none: None,
            unit: (),
            pair: (65535, "two"),
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(-1),
                Shape::Tuple(9, "t".into()),
                Shape::Struct { x: 2.5, y: Some(f32::NAN) },
                Shape::Struct { x: -0.0, y: None },
            ],
            by_number: [(-5, "minus"), (7, "seven")].into(),
            by_flag: [(false, 0), (true, 1)].into(),
            by_char: [('"', 1), ('\u{1}', 2)].into(),
            json: serde_json::json!({"nested": [1, 2.5, null, {"k": text}], "empty": {}, "list": []}),
            rest: [("flattened".to_string(), 1), ("key\twith tab".to_string(), 2)].into(),
        }
    }

    /// Every kind of value serde has comes out as serde_json writes it.
    #[test]
    fn writes_what_serde_json_writes() {
        let value = everything();
        let ours = String::from_utf8(to_vec(&value).unwrap()).unwrap();
        assert_eq!(ours, serde_json::to_string(&value).unwrap());
    }

    /// Escapes are found wherever they stand in a string, in the
    /// eight-byte steps and in the bytes after them.
    #[test]
    fn escapes_at_every_position() {
        assert_eq!(to_vec("").unwrap(), b"\"\"");
        for len in 1..40 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1f}', '\0', '\u{7f}', 'é', ' ', '!', '#', '[', ']'] {
                    let mut text = "a".repeat(len);
                    text.replace_range(at..at + 1, special.encode_utf8(&mut [0; 4]));
                    text.push_str(&"\\".repeat(at % 3));
                    assert_eq!(to_vec(&text).unwrap(), serde_json::to_vec(&text).unwrap(), "{text:?}");
                }
            }
        }
    }

    /// A buffer that fills past its flush point reaches the sink whole,
    /// in order.
    #[test]
    fn flushes_in_parts_and_in_order() {
        let items: Vec<String> = (0..200_000).map(|i| format!("item {i}")).collect();
        let mut out = JsonOut::new(Vec::new());
        items.serialize(&mut out).unwrap();
        let written = out.finish().unwrap();
        assert!(written.len() > 2 * FLUSH_AT);
        assert_eq!(written, serde_json::to_vec(&items).unwrap());
    }

    /// Spliced text goes in as it is, where a value goes; any other
    /// serializer sees bytes.
    #[test]
    fn spliced_text_goes_in_as_it_is() {
        let inner = to_vec(&vec![1, 2, 3]).unwrap();
        let list = (Spliced(&inner[1..inner.len() - 1]), "after");
        assert_eq!(to_vec(&list).unwrap(), b"[1,2,3,\"after\"]");
        assert_eq!(to_vec(&Spliced(b"{}")).unwrap(), b"{}");
        assert_eq!(serde_json::to_string(&Spliced(b"{}")).unwrap(), "[123,125]");
        assert_eq!(to_vec(&vec![Vec::<u8>::new(), vec![123]]).unwrap(), b"[[],[123]]", "plain bytes are not spliced");
    }

    #[test]
    fn keys_that_are_no_strings_are_an_error() {
        let map: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(to_vec(&map).is_err());
        let map: BTreeMap<Option<u8>, u8> = [(None, 1)].into();
        assert!(to_vec(&map).is_err());
    }
}
