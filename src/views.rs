//! The string-view buffers of a batch, and the one place that builds Arrow views into them.
//!
//! A batch's strings are not copied: each is a view (`View`) into one of the batch's two text
//! buffers, the input bytes the records were read from (index 0) and the text decoded from them
//! (index 1: MARC-8 and Latin-1 records, repaired and salvaged ones, error messages), or, when short,
//! held in the view itself. [`TextBuffers`] owns both buffers and is the only maker of [`Text`], the
//! handle a value is pushed with, so that a view's buffer index always names the buffer its value
//! lies in; the columns are finished with the buffers it gives back ([`Buffers`]). That, and the
//! bounds checks of [`StrColumn::push_unmasked`], is what the one `unsafe` constructor relies on.

use polars::prelude::PlSmallStr;
use polars_arrow::array::{Array, BinaryViewArray, ListArray, Utf8ViewArray, View};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField};
use polars_arrow::offset::OffsetsBuffer;
use polars_buffer::Buffer;

/// The text buffers of a batch: the input it was read from, and the text decoded from it, which is
/// only ever appended to (or cut back to where it was before a record that failed, before any view
/// points into that part).
pub struct TextBuffers {
    input: Buffer<u8>,
    decoded: Vec<u8>,
    /// Whether a value was pushed as a slice of the input. Records of a form other than ISO 2709
    /// are decoded whole, and their batch then lets the input go ([`TextBuffers::finish`]).
    input_used: std::cell::Cell<bool>,
}

impl TextBuffers {
    pub fn new(input: Buffer<u8>) -> Self {
        assert!(input.len() <= u32::MAX as usize, "a batch buffer must be smaller than 4 GiB");
        TextBuffers { input, decoded: Vec::new(), input_used: std::cell::Cell::new(false) }
    }

    /// The input bytes.
    pub fn input_bytes(&self) -> &[u8] {
        &self.input
    }

    /// The input, to push values that are slices of it.
    pub fn input(&self) -> Text<'_> {
        self.input_used.set(true);
        Text { bytes: &self.input, index: 0 }
    }

    /// The decoded text so far.
    pub fn decoded_bytes(&self) -> &[u8] {
        &self.decoded
    }

    /// The decoded text, to push values that are slices of it.
    pub fn decoded(&self) -> Text<'_> {
        Text { bytes: &self.decoded, index: 1 }
    }

    /// The decoded text, to append to.
    pub fn decoded_mut(&mut self) -> &mut Vec<u8> {
        &mut self.decoded
    }

    /// The input bytes, and the decoded text to append to what is read of them.
    pub fn input_and_decoded(&mut self) -> (&[u8], &mut Vec<u8>) {
        (&self.input, &mut self.decoded)
    }

    /// Both buffers, to finish the columns with: for the views, the input an empty buffer if no
    /// value lies in it, so that the frame does not keep it.
    pub fn finish(mut self) -> Buffers {
        // Decoded text is reserved for a batch of MARC-8 records: a batch with few of them gives
        // back what it did not use, as the frame keeps the buffer.
        if self.decoded.capacity() > self.decoded.len() + self.decoded.len() / 8 + 4096 {
            self.decoded.shrink_to_fit();
        }
        let used = self.input_used.get();
        let for_views = if used { self.input.clone() } else { Buffer::new() };
        Buffers { views: vec![for_views, self.decoded.into()].into(), input: self.input, input_used: used }
    }
}

/// The finished text buffers of a batch, in the order the views' indices name them.
pub struct Buffers {
    views: Buffer<Buffer<u8>>,
    input: Buffer<u8>,
    input_used: bool,
}

impl Buffers {
    /// The input, which damaged records' `raw` bytes lie in.
    pub fn input(&self) -> &Buffer<u8> {
        &self.input
    }

    /// Whether a value's view points into the input: if not, `raw` bytes are best copied out, so
    /// that the input can go.
    pub fn input_used(&self) -> bool {
        self.input_used
    }
}

/// A text buffer of a batch, as [`TextBuffers`] gives it: its bytes and its index.
#[derive(Clone, Copy)]
pub struct Text<'a> {
    bytes: &'a [u8],
    index: u32,
}

pub fn arrow_str(name: &str) -> ArrowField {
    ArrowField::new(PlSmallStr::from_str(name), ArrowDataType::Utf8View, true)
}

pub fn arrow_list(inner: ArrowDataType) -> ArrowDataType {
    ArrowDataType::LargeList(Box::new(ArrowField::new(PlSmallStr::from_static("item"), inner, true)))
}

/// The view of the `len` bytes at `offset` in `text`, as `View::new_from_bytes` makes it, but
/// without its copy of a variable length into the view (a call to memmove for every short value,
/// most of them): the twelve bytes from `offset` are read at once and those past `len` cleared.
#[inline(always)]
fn view_in(text: Text<'_>, offset: usize, len: usize) -> View {
    let bytes = text.bytes;
    if len > View::MAX_INLINE_SIZE as usize {
        let prefix = u32::from_le_bytes(*bytes[offset..].first_chunk::<4>().expect("a long value"));
        return View { length: len as u32, prefix, buffer_idx: text.index, offset: offset as u32 };
    }
    let Some(window) = bytes[offset..].first_chunk::<12>() else {
        return View::new_inline(&bytes[offset..offset + len]);
    };
    // An inline view is the length, then the bytes over prefix, buffer_idx and offset, zero padded.
    let low = u64::from_le_bytes(*window.first_chunk::<8>().expect("12 bytes"));
    let high = u32::from_le_bytes(*window.last_chunk::<4>().expect("12 bytes"));
    let low = if len >= 8 { low } else { low & ((1 << (8 * len)) - 1) };
    let high = if len > 8 { high & (u32::MAX >> (8 * (12 - len))) } else { 0 };
    View { length: len as u32, prefix: low as u32, buffer_idx: (low >> 32) as u32, offset: high }
}

/// String views into the batch's buffers, with a null mask made at the first null.
#[derive(Default)]
pub struct StrColumn {
    views: Vec<View>,
    validity: Option<MutableBitmap>,
    /// Sum of the values' lengths, and whether any is too long to be inlined in its view.
    bytes_len: usize,
    in_buffer: bool,
}

impl StrColumn {
    /// Adds `value`, a slice of `text`, which is the batch buffer or the decoded text of its
    /// MARC-8 records: the view points into it, or holds it when it is short.
    #[inline(always)]
    pub fn push_slice(&mut self, value: &str, text: Text<'_>) {
        self.push_unmasked(value, text);
        if let Some(validity) = &mut self.validity {
            validity.push(true);
        }
    }

    /// `push_slice` for a column whose null mask the caller keeps, or that has no null: the
    /// columns of fields and subfields (see `finish_masked`).
    #[inline(always)]
    pub fn push_unmasked(&mut self, value: &str, text: Text<'_>) {
        let offset = (value.as_ptr() as usize).wrapping_sub(text.bytes.as_ptr() as usize);
        // What `finish` relies on: the value lies inside the buffer, at an offset a view's u32
        // holds. A batch's text is far smaller (chunks of a few MiB, damage cut at 16 MiB): a
        // failure here is a bug, caught as an error of the read, never a view of other bytes.
        assert!(offset <= text.bytes.len() && value.len() <= text.bytes.len() - offset, "value outside the batch buffer");
        assert!(offset + value.len() <= u32::MAX as usize, "value past the 4 GiB a view can address");
        self.views.push(view_in(text, offset, value.len()));
        self.bytes_len += value.len();
        self.in_buffer |= value.len() > View::MAX_INLINE_SIZE as usize;
    }

    /// Adds a value of at most 12 bytes that is not in the batch's text, stored in the view itself.
    pub fn push_short(&mut self, value: &str) {
        self.views.push(View::new_inline(value.as_bytes()));
        self.bytes_len += value.len();
        if let Some(validity) = &mut self.validity {
            validity.push(true);
        }
    }

    #[inline]
    pub fn push_null(&mut self) {
        let valid_so_far = self.views.len();
        let validity = self.validity.get_or_insert_with(|| {
            let mut validity = MutableBitmap::with_capacity(self.views.capacity());
            validity.extend_constant(valid_so_far, true);
            validity
        });
        validity.push(false);
        self.views.push(View::default());
    }

    /// Adds a null whose mask the caller keeps (see `finish_masked`).
    #[inline(always)]
    pub fn push_unmasked_null(&mut self) {
        self.views.push(View::default());
    }

    pub fn reserve(&mut self, additional: usize) {
        self.views.reserve(additional);
    }

    /// Values pushed so far.
    pub(crate) fn len(&self) -> usize {
        self.views.len()
    }

    /// Maps in the pages of the room reserved (see [`prefault`]).
    pub fn prefault(&mut self) {
        prefault(&mut self.views);
    }

    /// The column as an array with the null mask `validity`: for columns whose nulls were pushed
    /// with `push_unmasked_null`.
    pub fn finish_masked(self, buffers: &Buffers, validity: Option<Bitmap>) -> Box<dyn Array> {
        debug_assert!(self.validity.is_none(), "a column masked by its caller takes no masked push");
        self.finish_with(buffers, false, validity)
    }

    /// The column as an array whose views point into `buffers` (the batch buffer, the decoded
    /// text), or, when `compact`, into a buffer of its own holding only its values (so that the
    /// batch buffer can be freed).
    pub fn finish(mut self, buffers: &Buffers, compact: bool) -> Box<dyn Array> {
        let validity: Option<Bitmap> = self.validity.take().and_then(|v| v.into());
        self.finish_with(buffers, compact, validity)
    }

    fn finish_with(self, buffers: &Buffers, compact: bool, validity: Option<Bitmap>) -> Box<dyn Array> {
        // Only columns with values longer than 12 bytes need the data buffers.
        let buffers: Buffer<Buffer<u8>> = if self.in_buffer { buffers.views.clone() } else { Buffer::new() };
        let total_buffer_len = buffers.iter().map(Buffer::len).sum();
        if cfg!(debug_assertions) {
            // Debug builds (and so the unit tests) check every view the way the safe constructor does.
            Utf8ViewArray::try_new(ArrowDataType::Utf8View, self.views.clone().into(), buffers.clone(), validity.clone())
                .expect("views of validated UTF-8 inside the buffer");
            assert_eq!(self.bytes_len, self.views.iter().map(|v| v.length as usize).sum::<usize>());
        }
        // SAFETY: every view holds a `&str` (so valid UTF-8), inline (`push_short`, and `view_in`
        // for short values) or as a slice of the buffer its index names, at its checked offset
        // (`push_unmasked`: the batch buffer at index 0, the decoded text at index 1, both only ever
        // appended to; the prefix is the slice's first four bytes), and both buffers are
        // passed whenever any view is longer than the inline size; null views are the all-zero
        // inline view. The safe `try_new` validates all of this again, every string's UTF-8
        // included: measured at about a fifth of the decoding time of BooksAll (BENCHMARKS.md).
        let array = unsafe {
            Utf8ViewArray::new_unchecked(
                ArrowDataType::Utf8View,
                self.views.into(),
                buffers,
                validity,
                Some(self.bytes_len),
                total_buffer_len,
            )
        };
        if compact {
            array.gc().boxed()
        } else {
            array.boxed()
        }
    }
}

/// List offsets with a null mask.
pub struct ListColumn {
    offsets: Vec<i64>,
    validity: MutableBitmap,
}

impl Default for ListColumn {
    fn default() -> Self {
        ListColumn { offsets: vec![0], validity: MutableBitmap::new() }
    }
}

impl ListColumn {
    #[inline]
    pub fn push(&mut self, end: usize, valid: bool) {
        self.offsets.push(end as i64);
        self.validity.push(valid);
    }

    /// Adds a list whose mask the caller keeps (see `finish_masked`).
    #[inline(always)]
    pub fn push_unmasked(&mut self, end: usize) {
        self.offsets.push(end as i64);
    }

    pub fn reserve(&mut self, additional: usize) {
        self.offsets.reserve(additional);
        self.validity.reserve(additional);
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Maps in the pages of the room reserved (see [`prefault`]).
    pub fn prefault(&mut self) {
        prefault(&mut self.offsets);
    }

    pub fn finish(mut self, inner: ArrowDataType, values: Box<dyn Array>) -> Box<dyn Array> {
        let validity = std::mem::take(&mut self.validity).into();
        self.finish_masked(inner, values, validity)
    }

    pub fn finish_masked(self, inner: ArrowDataType, values: Box<dyn Array>, validity: Option<Bitmap>) -> Box<dyn Array> {
        // Offsets are pushed from the running length of `values`: monotone by construction.
        let offsets = OffsetsBuffer::try_from(self.offsets).expect("monotone offsets");
        ListArray::<i64>::new(arrow_list(inner), offsets, values, validity).boxed()
    }
}

/// Binary views into the batch buffer, null for every record but the damaged ones.
#[derive(Default)]
pub struct RawColumn {
    views: Vec<View>,
    validity: MutableBitmap,
}

impl RawColumn {
    pub fn push(&mut self, bytes: &[u8], start: usize) {
        self.views.push(View::new_from_bytes(bytes, 0, start as u32));
        self.validity.push(true);
    }

    pub fn push_null(&mut self) {
        self.views.push(View::default());
        self.validity.push(false);
    }

    /// The column, pointing into the batch buffer, or when `compact` into a copy of the damaged
    /// records' bytes alone (so that the batch buffer can be freed).
    pub fn finish(self, buffer: &Buffer<u8>, compact: bool) -> Box<dyn Array> {
        let buffers: Buffer<Buffer<u8>> = vec![buffer.clone()].into();
        // Few rows are damaged: the safe constructor's checks cost nothing worth avoiding.
        let array = BinaryViewArray::try_new(ArrowDataType::BinaryView, self.views.into(), buffers, self.validity.into())
            .expect("views of damaged records inside the batch buffer");
        if compact {
            array.gc().boxed()
        } else {
            array.boxed()
        }
    }
}

/// Maps in the spare capacity of `vec` in one call, as writing it would a page at a time: a
/// batch's columns are hundreds of fresh pages, and one call for all of them takes less kernel time
/// than a page fault for each (BENCHMARKS.md). Only a hint: nothing changes if it fails.
pub fn prefault<T>(vec: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let spare = vec.spare_capacity_mut();
        let start = (spare.as_mut_ptr() as usize).next_multiple_of(PAGE);
        let end = (spare.as_mut_ptr() as usize + std::mem::size_of_val(spare)) & !(PAGE - 1);
        if end > start {
            // SAFETY: the range lies inside memory `vec` owns and nothing refers to (its spare
            // capacity), and MADV_POPULATE_WRITE only maps pages in: it changes no byte of them,
            // and fails harmlessly (EINVAL) where the kernel predates it.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_POPULATE_WRITE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = vec;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "value past the 4 GiB a view can address")]
    fn a_value_past_4_gib_of_text_is_refused_not_wrapped() {
        // Zeroed pages that are never touched: address space, not memory.
        let text = vec![0u8; (1 << 32) + 64];
        let mut column = StrColumn::default();
        column
            .push_unmasked(std::str::from_utf8(&text[(1 << 32) + 10..(1 << 32) + 40]).unwrap(), Text { bytes: &text, index: 1 });
    }
}
