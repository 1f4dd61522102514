//! What a form of records (ISO 2709 today: [`crate::iso2709`]) gives the rest of the reader, so that
//! the sources, the pipeline and the column builders know no form: how a chunk of bytes is cut into
//! records ([`Form::cut`], and [`Form::likely_record_start`] for parts read in parallel), and how
//! one record is read into a record's text as the builders take it ([`Form::read`], and for damaged
//! records [`Form::repair`] and [`Form::salvage`]). A new form is one new module implementing this.

use std::fmt::Debug;
use std::ops::Range;

use crate::encoding::{decode_utf8, Reading, TextCodec};
use crate::error::{Damage, DamageKind};
use crate::record::{FieldSpan, RecordText};
use crate::report::Repairs;
use crate::views::{Text, TextBuffers};

/// One record of a chunk: where it lies in the chunk's buffer, and the damage framing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    pub start: usize,
    pub end: usize,
    /// Why these bytes could not be framed as a record (see [`Framing::Resync`]).
    pub damage: Option<Damage>,
}

/// How framing treats bytes that do not frame as a record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Framing {
    /// Framing stops at the first damage, and nothing is skipped: pymarc's framing.
    Strict,
    /// Padding between records is skipped and reported; after damage, framing finds the next
    /// record and the bytes before it become one damaged record, so no byte is lost.
    #[default]
    Resync,
}

/// Why framing stopped before the end of the bytes it was given.
#[derive(Debug)]
pub enum Stop {
    Damaged(Damage),
    /// More bytes are wanted: `needed` in all from where the cut stopped, if known.
    Incomplete {
        needed: Option<usize>,
    },
}

/// What [`Form::cut`] framed.
#[derive(Debug)]
pub struct Cut {
    pub records: Vec<Framed>,
    /// Padding skipped between records: ranges of the bytes cut.
    pub padding: Vec<Range<usize>>,
    /// Bytes taken: the end of the last record or padding.
    pub taken: usize,
    pub stop: Option<Stop>,
}

/// Where [`Form::likely_record_start`] guesses a record starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guess {
    /// Here, or at the end of input.
    Start(usize),
    /// No record seems to start in the bytes searched.
    NotFound,
    /// The bytes end before this can be decided: more are wanted.
    NeedMore,
}

/// Room for a record's fields, reused from record to record: where they lie in its bytes, and in
/// the text it is read into, when that is another.
#[derive(Debug, Default)]
pub struct Scratch {
    pub fields: Vec<FieldSpan>,
    pub text_fields: Vec<FieldSpan>,
}

/// Hands a record's text, and the buffer it lies in, to the column builders.
pub type Push<'p> = dyn FnMut(&RecordText<'_>, Text<'_>) + 'p;

/// Where a form reads a record to: the batch's text buffers, how text is decoded, room for the
/// record's fields, and the builders that take its text.
pub struct Target<'a, 'p> {
    pub text: &'a mut TextBuffers,
    pub reading: Reading,
    pub scratch: &'a mut Scratch,
    pub push: &'a mut Push<'p>,
}

impl Target<'_, '_> {
    /// Hands on the record read into the decoded text from `at` on, its fields at
    /// `scratch.text_fields`. That text is UTF-8 by construction; it is checked all the same, as a
    /// bug must not become invalid strings: where it is not, it is taken back and the record is
    /// damaged.
    pub fn push_decoded(&mut self, at: usize, leader_len: usize) -> Result<(), Damage> {
        let record = match decode_utf8(&self.text.decoded_bytes()[at..]) {
            Ok(record) => record,
            Err(offset) => {
                self.text.decoded_mut().truncate(at);
                return Err(Damage::new(DamageKind::InvalidUtf8, offset, "read into invalid UTF-8".to_string()));
            }
        };
        (self.push)(&RecordText { text: record, leader_len, spans: &self.scratch.text_fields }, self.text.decoded());
        Ok(())
    }
}

/// A form of records.
pub trait Form: Debug + Send + Sync {
    /// Frames records from the start of `buf` until `max_bytes` are taken, `max_records` are
    /// framed, or framing stops. `at_end`: nothing follows `buf` in its source; `source_start`:
    /// `buf[0]` is the first byte of its source. The same bytes are framed the same way whatever
    /// blocks they come in: where that cannot be decided yet, the cut stops for more.
    fn cut(&self, buf: &[u8], max_bytes: usize, max_records: u64, framing: Framing, at_end: bool, source_start: bool) -> Cut;

    /// Where a record seems to start at or after `from`, looking no further than `limit` bytes on
    /// (a guess, which framing from the start confirms or not). `at_end`: `buf` holds the rest of
    /// the input.
    fn likely_record_start(&self, buf: &[u8], from: usize, limit: usize, at_end: bool) -> Guess;

    /// Whether a source that starts with `prefix` may be read in byte ranges, each framed from a
    /// record start guessed in it ([`crate::split`]).
    fn splits(&self, _prefix: &[u8]) -> bool {
        true
    }

    /// About how many fields and subfields `records` of `input` hold, to reserve room for.
    fn capacity(&self, input: &[u8], records: &[Framed]) -> (usize, usize);

    /// Reads the sound record at `range` of the input into a record's text (the input itself where
    /// it can be, else decoded text appended to the buffers) and hands it on; the codec it was read
    /// with. A damaged record is an error, and leaves the buffers as they were.
    fn read(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> Result<TextCodec, Damage>;

    /// Reads a damaged record (any unit framing found) as a careful cataloguer would, into decoded
    /// text handed on: the codec it was read with, and the repairs made. An error, leaving the
    /// buffers as they were, where no repair reads it.
    fn repair(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> Result<(TextCodec, Repairs), Damage>;

    /// Whatever can be read of a damaged record, never failing, into decoded text handed on; the
    /// codec it was read with.
    fn salvage(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> TextCodec;
}
