//! Compressed sections inflated incrementally, as far as readers need.
//!
//! Symbolizing a few frames of the C library reads one unit's DIEs,
//! abbreviations and line table, at some offset into sections of several
//! MB that take tens of ms to inflate whole. A zlib stream inflates from its
//! start only, but it can stop anywhere: an [`Inflation`] inflates a section
//! into a buffer of its whole inflated size (allocated zeroed, so pages not
//! reached are never touched) up to the byte a reader needs, and hands out
//! the inflated prefix.
//!
//! Soundness rests on one rule: bytes below `done` are final and are only
//! ever read (every slice handed out lies below `done`); bytes at and above
//! `done` are written only by the thread holding the decoder's lock, which
//! then raises `done` with release ordering. Readers load `done` with
//! acquire ordering, so they see the bytes written before it was raised.
//!
//! Each byte is inflated once, by whichever thread gets there first: the
//! worker wanting a prefix, or the prefetch thread inflating ahead in
//! [`STEP`]-sized steps ([`Inflation::try_step`], which never waits for the
//! lock). A corrupt stream fails the section from the point of corruption:
//! a prefix below it stays readable, a longer one is an error.
//!
//! zstd sections (`-gz=zstd`) are inflated whole on first need: ruzstd's
//! decoder keeps the whole frame in its window (for a single-segment frame,
//! the whole section) before it releases any of it.

use std::cell::UnsafeCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use object::CompressionFormat;

use super::elf::SectionError;

/// How much the prefetch thread inflates per step (one step holds the
/// decoder, so a reader that needs the section waits at most one step).
pub const STEP: usize = 128 * 1024;

enum Decoder {
    Zlib(Box<flate2::Decompress>),
    Zstd,
    /// Every byte is inflated.
    Finished,
    /// The stream is corrupt past `done`.
    Failed,
}

/// What one [`Inflation::try_step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Inflated,
    /// Another thread is inflating the section.
    Busy,
    /// The section is inflated whole, or corrupt.
    Over,
}

/// One compressed section, inflated as far as asked so far.
pub struct Inflation {
    name: String,
    /// The whole inflated size; bytes below `done` are final.
    buffer: Box<[UnsafeCell<u8>]>,
    done: AtomicUsize,
    decoder: Mutex<Decoder>,
}

// SAFETY: the buffer is shared between threads under the rule in the module
// docs: below `done` only read, at and above `done` written only under the
// `decoder` lock, and `done` published with release/acquire ordering.
unsafe impl Sync for Inflation {}

impl Inflation {
    /// A section of `size` inflated bytes in `format`; None when the
    /// buffer cannot be allocated or the format is not zlib or zstd.
    pub fn new(name: &str, format: CompressionFormat, size: usize) -> Option<Self> {
        let decoder = match format {
            _ if size == 0 => Decoder::Finished,
            CompressionFormat::Zlib => Decoder::Zlib(Box::new(flate2::Decompress::new(true))),
            CompressionFormat::Zstandard => Decoder::Zstd,
            _ => return None,
        };
        Some(Inflation {
            name: name.to_string(),
            buffer: zeroed(size)?,
            done: AtomicUsize::new(0),
            decoder: Mutex::new(decoder),
        })
    }

    /// The whole inflated size.
    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    /// How many bytes are inflated so far.
    pub fn done(&self) -> usize {
        self.done.load(Ordering::Acquire)
    }

    /// At least the first `len` bytes (the whole section when it is
    /// shorter), inflating from `compressed` (this section's compressed
    /// stream) as far as needed; may return more than asked.
    pub fn prefix(&self, compressed: &[u8], len: usize) -> Result<&[u8], SectionError> {
        let want = len.min(self.len());
        if self.done() < want {
            let mut decoder = self.decoder.lock().unwrap_or_else(|e| e.into_inner());
            // Round up: a reader asking again just past this point should
            // not have to come back for every few bytes.
            self.inflate(&mut decoder, compressed, want.saturating_add(STEP / 2).min(self.len()))?;
        }
        let done = self.done();
        if done < want {
            return Err(SectionError::Inflate { name: self.name.clone() });
        }
        Ok(self.inflated(done))
    }

    /// The whole section.
    pub fn whole(&self, compressed: &[u8]) -> Result<&[u8], SectionError> {
        self.prefix(compressed, self.len())
    }

    /// Inflates one more [`STEP`] unless another thread holds the decoder.
    pub fn try_step(&self, compressed: &[u8]) -> Step {
        let Ok(mut decoder) = self.decoder.try_lock() else { return Step::Busy };
        let target = self.done().saturating_add(STEP).min(self.len());
        match self.inflate(&mut decoder, compressed, target) {
            Ok(()) if !matches!(*decoder, Decoder::Finished) => Step::Inflated,
            _ => Step::Over,
        }
    }

    /// Inflates up to `target` bytes (not beyond the section), under the
    /// decoder's lock; on a corrupt stream the decoder fails for good.
    fn inflate(&self, decoder: &mut Decoder, compressed: &[u8], target: usize) -> Result<(), SectionError> {
        let failed = || SectionError::Inflate { name: self.name.clone() };
        let result = match decoder {
            Decoder::Finished => return Ok(()),
            Decoder::Failed => return Err(failed()),
            Decoder::Zlib(zlib) => self.inflate_zlib(zlib, compressed, target),
            Decoder::Zstd => self.inflate_whole(CompressionFormat::Zstandard, compressed),
        };
        *decoder = match result {
            Err(()) => Decoder::Failed,
            Ok(()) if self.done() == self.len() => Decoder::Finished,
            Ok(()) => return Ok(()),
        };
        if matches!(decoder, Decoder::Failed) { Err(failed()) } else { Ok(()) }
    }

    fn inflate_zlib(&self, zlib: &mut flate2::Decompress, compressed: &[u8], target: usize) -> Result<(), ()> {
        let mut done = self.done();
        while done < target {
            let consumed = usize::try_from(zlib.total_in()).map_err(|_| ())?;
            let input = compressed.get(consumed..).ok_or(())?;
            let before = zlib.total_out();
            // SAFETY: `done..target` is at or above `done`, and we hold the
            // decoder's lock (the caller's `&mut Decoder` comes from it).
            let out = unsafe { self.unpublished(done, target) };
            let status = zlib.decompress(input, out, flate2::FlushDecompress::None).map_err(|_| ())?;
            let written = usize::try_from(zlib.total_out() - before).map_err(|_| ())?;
            done += written;
            self.done.store(done, Ordering::Release);
            // A stream that ends short of the declared size, or stops
            // making progress (truncated input), is corrupt.
            if written == 0 || (status == flate2::Status::StreamEnd && done < self.len()) {
                return Err(());
            }
        }
        Ok(())
    }

    /// Inflates the whole section in one go.
    fn inflate_whole(&self, format: CompressionFormat, compressed: &[u8]) -> Result<(), ()> {
        let size = self.len() as u64;
        let whole = object::CompressedData { format, data: compressed, uncompressed_size: size };
        let bytes = whole.decompress().map_err(|_| ())?;
        // SAFETY: nothing was inflated before (this runs once, from 0) and
        // we hold the decoder's lock.
        let out = unsafe { self.unpublished(0, self.len()) };
        out.copy_from_slice(bytes.get(..out.len()).ok_or(())?);
        self.done.store(out.len(), Ordering::Release);
        Ok(())
    }

    /// The bytes below `done`, which are final.
    fn inflated(&self, done: usize) -> &[u8] {
        let bytes = &self.buffer[..done];
        // SAFETY: `UnsafeCell<u8>` has the layout of `u8`, and bytes below
        // `done` are never written again.
        unsafe { std::slice::from_raw_parts(UnsafeCell::raw_get(bytes.as_ptr()).cast_const(), done) }
    }

    /// The not yet inflated bytes `start..end`, to inflate into.
    ///
    /// # Safety
    /// `start` must be at least `done`, and the caller must hold the
    /// decoder's lock for as long as it uses the slice.
    #[allow(clippy::mut_from_ref)]
    unsafe fn unpublished(&self, start: usize, end: usize) -> &mut [u8] {
        let cells = &self.buffer[start..end];
        // SAFETY: the cells are interior-mutable, nobody reads them (they
        // are above `done`) and only the lock holder writes them.
        unsafe { std::slice::from_raw_parts_mut(UnsafeCell::raw_get(cells.as_ptr()), cells.len()) }
    }
}

/// `size` zero bytes, without writing them (fresh pages are zero), or None
/// when they cannot be allocated.
fn zeroed(size: usize) -> Option<Box<[UnsafeCell<u8>]>> {
    if size == 0 {
        return Some(Box::default());
    }
    let layout = std::alloc::Layout::array::<UnsafeCell<u8>>(size).ok()?;
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<UnsafeCell<u8>>();
    if ptr.is_null() {
        return None;
    }
    // SAFETY: allocated by the global allocator with the layout of
    // `[UnsafeCell<u8>; size]` and initialised (zeroed) bytes.
    Some(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, size)) })
}

/// A section's contents: whole, or being inflated (a prefix is had without
/// inflating the rest).
#[derive(Clone, Copy)]
pub enum SectionBytes<'a> {
    Whole(&'a [u8]),
    Inflating { inflation: &'a Inflation, compressed: &'a [u8] },
}

impl<'a> SectionBytes<'a> {
    pub const EMPTY: SectionBytes<'static> = SectionBytes::Whole(&[]);

    /// At least the first `len` bytes (the whole section when shorter).
    pub fn prefix(self, len: usize) -> Result<&'a [u8], SectionError> {
        match self {
            SectionBytes::Whole(bytes) => Ok(bytes),
            SectionBytes::Inflating { inflation, compressed } => inflation.prefix(compressed, len),
        }
    }

    pub fn whole(self) -> Result<&'a [u8], SectionError> {
        self.prefix(usize::MAX)
    }

    /// Where the section's bytes are, the same in every store of a run
    /// (stores share their mapped files and inflated sections): what tells
    /// one DWARF from another across the extraction threads' module sets.
    pub fn identity(self) -> usize {
        match self {
            SectionBytes::Whole(bytes) => bytes.as_ptr() as usize,
            SectionBytes::Inflating { inflation, .. } => std::ptr::from_ref(inflation) as usize,
        }
    }

    /// The whole section's size.
    pub fn len(self) -> usize {
        match self {
            SectionBytes::Whole(bytes) => bytes.len(),
            SectionBytes::Inflating { inflation, .. } => inflation.len(),
        }
    }
}

#[cfg(test)]
#[path = "inflate_tests.rs"]
mod tests;
