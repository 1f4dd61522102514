//! Reading into DataFrame batches: what the pipeline ([`crate::executor`]) makes of each chunk,
//! the columns a [`Projection`] selects, and [`Batches`], which hands them out in input order, cut
//! or merged to the batch size, with the tally of what was left out.

use std::sync::{Arc, Mutex};

use polars::prelude::{DataFrame, IntoColumn, StringChunked};
use polars_buffer::Buffer;

use crate::columns::{BatchBuilder, Projection, ERROR_COLUMN};
use crate::error::{MarcError, OnError, ReadError};
use crate::executor::{decode_in_order, Decoder, Ordered, ReadOptions};
use crate::report::{Junk, RepairNote, Report};
use crate::source::{Chunk, Source};

/// Chunks of records of a form to DataFrame batches of the projection's columns.
struct FrameDecoder {
    projection: Arc<Projection>,
}

impl Decoder for FrameDecoder {
    type Batch = (DataFrame, Report);

    fn decode(&self, chunk: Chunk, source_name: &str) -> Result<Self::Batch, MarcError> {
        decode_chunk(chunk, &self.projection, source_name)
    }

    /// Only damaged records' errors name them: those of the report, and the `error` column's text.
    fn renumber(&self, (frame, report): &mut Self::Batch, first_record: u64) -> Result<(), ReadError> {
        if first_record == 0 {
            return Ok(());
        }
        for error in report.skipped.iter_mut().chain(&mut report.collected) {
            error.record += first_record;
        }
        for note in &mut report.repairs {
            note.record += first_record;
        }
        if let Some(error) = &mut report.stopped_by {
            error.record += first_record;
        }
        if report.collected.is_empty() {
            return Ok(());
        }
        let mut collected = report.collected.iter();
        let texts = frame.column(ERROR_COLUMN)?.str()?;
        let texts: StringChunked =
            texts.iter().map(|text| text.and_then(|_| collected.next()).map(MarcError::column_text)).collect();
        frame.replace(ERROR_COLUMN, texts.with_name(ERROR_COLUMN.into()).into_column())?;
        Ok(())
    }
}

/// Decodes one chunk into a DataFrame batch, and the report of what it left out. A damaged record
/// stops it, or is left out, or is kept, as the projection's `on_error` says.
pub fn decode_chunk(chunk: Chunk, projection: &Arc<Projection>, source_name: &str) -> Result<(DataFrame, Report), MarcError> {
    let mut report = Report { bytes: chunk.buffer.len() as u64, ..Report::default() };
    if !chunk.padding.is_empty() {
        let source: Arc<str> = source_name.into();
        report.junk = (chunk.padding.iter())
            .map(|range| Junk { source: source.clone(), offset: chunk.offset + range.start as u64, len: range.len() as u64 })
            .collect();
    }
    let mapped = chunk.mapped;
    let mut builder = BatchBuilder::new(chunk.form, chunk.buffer, chunk.offset, projection.clone());
    builder.reserve_for(&chunk.records);
    let source: Arc<str> = source_name.into();
    for (i, record) in chunk.records.into_iter().enumerate() {
        let result = match record.damage {
            Some(damage) => Err(damage),
            None => builder.push_record(record.start, record.end),
        };
        let Err(damage) = result else { continue };
        let (number, record_offset) = (chunk.first_record + i as u64, chunk.offset + record.start as u64);
        if projection.on_error == OnError::Repair {
            if let Ok(repairs) = builder.push_repaired(record.start, record.end) {
                report.repaired += 1;
                report.repairs.extend(repairs.0.into_iter().map(|repair| RepairNote {
                    source: source.clone(),
                    record: number,
                    record_offset,
                    repair,
                }));
                continue;
            }
        }
        let error = damage.locate(source_name, number, record_offset);
        match projection.on_error {
            OnError::Raise => {
                // The rows before it are handed out, then its error.
                report.stopped_by = Some(error);
                break;
            }
            OnError::Skip => report.skipped.push(error),
            OnError::Collect | OnError::Repair => {
                builder.push_damaged(record.start, record.end, &error);
                report.collected.push(error);
            }
        }
    }
    report.rows = builder.rows() as u64;
    let frame = builder.finish(source_name);
    // Without `fields` and damaged records' `raw` bytes, the batch copied out its text.
    if let Some(pages) = mapped.filter(|_| !projection.fields && report.collected.is_empty()) {
        pages.release();
    }
    Ok((frame, report))
}

/// An empty frame with the schema `projection` selects.
pub fn empty_frame(projection: &Arc<Projection>) -> DataFrame {
    BatchBuilder::new(crate::iso2709::form(), Buffer::new(), 0, projection.clone()).finish("")
}

/// DataFrame batches of the sources' records, in input order.
pub struct Batches {
    ordered: Ordered<(DataFrame, Report)>,
    /// What the batches handed out so far left out.
    report: Arc<Mutex<Report>>,
    /// Batches are merged up to this many rows (see [`batches`]).
    merge_rows: usize,
    /// Batches are cut to at most this many rows.
    max_rows: usize,
    /// A batch (or the error) read ahead while merging, which did not fit.
    held: Option<Result<(DataFrame, Report), ReadError>>,
    /// The rows of a batch past `max_rows`, handed out next.
    rest: Option<DataFrame>,
    /// The error of the damaged record that stopped the read, handed out after the rows before it.
    stopped: Option<ReadError>,
}

impl Batches {
    /// The report of the batches handed out so far, kept up to date as they are.
    pub fn report(&self) -> Arc<Mutex<Report>> {
        self.report.clone()
    }

    /// The next batch as decoded, or the error, or the end.
    fn fetch(&mut self) -> Option<Result<(DataFrame, Report), ReadError>> {
        self.held.take().or_else(|| self.ordered.next())
    }

    /// Takes a batch: its report is tallied, and if a damaged record stopped it, the read stops
    /// there, its error handed out next.
    fn accept(&mut self, batch: DataFrame, mut report: Report) -> DataFrame {
        if let Some(error) = report.stopped_by.take() {
            self.stopped = Some(error.into());
            self.ordered.stop();
        }
        self.report.lock().unwrap_or_else(|e| e.into_inner()).absorb(report);
        batch
    }

    /// `batch` cut to `max_rows`, the rest kept for the next call.
    fn cut(&mut self, batch: DataFrame) -> DataFrame {
        if batch.height() <= self.max_rows {
            return batch;
        }
        let (head, rest) = batch.split_at(self.max_rows as i64);
        self.rest = Some(rest);
        head
    }
}

/// Starts reading `sources` one after another into DataFrame batches.
pub fn batches(sources: Vec<Source>, options: &ReadOptions, projection: &Arc<Projection>) -> Result<Batches, ReadError> {
    let decoder = FrameDecoder { projection: projection.clone() };
    Ok(Batches {
        ordered: decode_in_order(sources, options, decoder)?,
        // Batches without `fields` are small (their text is copied out of the input): merged up to
        // `batch_size`, they cost fewer round trips to Python. Lossless batches hold their input,
        // so they stay one chunk each and memory stays bounded.
        merge_rows: if projection.fields { 0 } else { options.batch_size },
        max_rows: options.batch_size.max(1),
        held: None,
        rest: None,
        stopped: None,
        report: Arc::default(),
    })
}

impl Iterator for Batches {
    type Item = Result<DataFrame, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(rest) = self.rest.take() {
            return Some(Ok(self.cut(rest)));
        }
        if let Some(error) = self.stopped.take() {
            return Some(Err(error));
        }
        let mut merged = match self.fetch()? {
            Ok((batch, report)) => self.accept(batch, report),
            Err(error) => return Some(Err(error)),
        };
        while merged.height() < self.merge_rows && self.stopped.is_none() {
            match self.fetch() {
                Some(Ok((batch, report))) if merged.height() + batch.height() <= self.merge_rows => {
                    let batch = self.accept(batch, report);
                    if let Err(error) = merged.vstack_mut_owned(batch) {
                        return Some(Err(error.into()));
                    }
                }
                Some(other) => {
                    self.held = Some(other);
                    break;
                }
                None => break,
            }
        }
        if merged.height() == 0 && self.stopped.is_some() {
            return self.stopped.take().map(Err);
        }
        Some(Ok(self.cut(merged)))
    }
}

/// Reads every source, one after another, into one DataFrame (one chunk of it per batch).
pub fn read_frame(sources: Vec<Source>, options: &ReadOptions, projection: &Arc<Projection>) -> Result<DataFrame, ReadError> {
    collect(&mut batches(sources, options, projection)?, projection)
}

/// All the batches as one DataFrame (one chunk of it per batch), with `projection`'s schema even
/// when there is no batch.
pub fn collect(batches: &mut Batches, projection: &Arc<Projection>) -> Result<DataFrame, ReadError> {
    // Built on the first batch rather than on an empty frame: making an empty frame's null masks
    // fills polars' shared buffer of zeroes (8 MiB), on the thread that is waiting for the batches.
    let Some(first) = batches.next() else { return Ok(empty_frame(projection)) };
    let mut out = first?;
    for batch in batches {
        out.vstack_mut_owned(batch?)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso2709::tests::sample;

    fn lossless() -> Arc<Projection> {
        Arc::new(Projection::lossless())
    }

    fn memory(records: usize) -> Source {
        Source::Memory { name: "mem".into(), data: (0..records).flat_map(|_| sample()).collect::<Vec<_>>().into() }
    }

    #[test]
    fn batches_come_out_in_order_whatever_the_threads() {
        let record_len = sample().len();
        for threads in [1, 2, 4] {
            let options = ReadOptions { threads, chunk_size: record_len * 3, batch_size: 2, ..Default::default() };
            let heights: Vec<usize> = batches(vec![memory(9), memory(2)], &options, &lossless())
                .unwrap()
                .map(|batch| batch.unwrap().height())
                .collect();
            // Parts of three records, each cut to the batch size.
            assert_eq!(heights, [2, 1, 2, 1, 2, 1, 2], "threads {threads}");
        }
    }

    #[test]
    fn batches_without_fields_are_merged_up_to_the_batch_size() {
        let record_len = sample().len();
        let projection = Arc::new(Projection { leader: true, ..Default::default() });
        for (batch_size, expected) in [(6, vec![6, 5]), (5, vec![3, 3, 5]), (100, vec![11])] {
            let options = ReadOptions { threads: 2, chunk_size: record_len * 3, batch_size, ..Default::default() };
            let heights: Vec<usize> = batches(vec![memory(9), memory(2)], &options, &projection)
                .unwrap()
                .map(|batch| batch.unwrap().height())
                .collect();
            assert_eq!(heights, expected, "batch size {batch_size}");
        }
    }

    #[test]
    fn n_rows_spans_sources() {
        let options = ReadOptions { n_rows: Some(5), ..Default::default() };
        assert_eq!(read_frame(vec![memory(3), memory(3), memory(3)], &options, &lossless()).unwrap().height(), 5);
    }

    #[test]
    fn an_error_ends_the_batches() {
        let mut bytes: Vec<u8> = (0..4).flat_map(|_| sample()).collect();
        let record_len = sample().len();
        bytes[2 * record_len] = b'x';
        let source = Source::Memory { name: "bad".into(), data: bytes.into() };
        let options = ReadOptions { batch_size: 1, threads: 2, ..Default::default() };
        let mut batches = batches(vec![source], &options, &lossless()).unwrap();
        assert!(batches.next().unwrap().is_ok());
        assert!(batches.next().unwrap().is_ok());
        let Some(Err(ReadError::Marc(error))) = batches.next() else { panic!("expected the damage") };
        assert_eq!(error.record, 2);
        assert!(batches.next().is_none());
        assert!(batches.next().is_none());
    }

    #[test]
    fn dropping_part_way_stops_the_reader() {
        let options = ReadOptions { batch_size: 1, threads: 2, ..Default::default() };
        let mut batches = batches(vec![memory(10_000)], &options, &lossless()).unwrap();
        assert_eq!(batches.next().unwrap().unwrap().height(), 1);
        drop(batches); // joins the reader thread: would hang if it were not stopped
    }

    /// Four records, the third with a bad directory, and a newline after each.
    fn damaged_source() -> (Source, Vec<u8>) {
        let one = sample();
        let mut bad = one.clone();
        bad[crate::iso2709::LEADER_LEN + 4] = b'?';
        let bytes: Vec<u8> = [&one, &one, &bad, &one].iter().flat_map(|r| [r.as_slice(), b"\n"].concat()).collect();
        (Source::Memory { name: "damaged".into(), data: bytes.clone().into() }, bad)
    }

    /// A record whose last field ends with a whole record after a record terminator (the two
    /// records end on the same terminators): bytes that frame as a record inside a record. The
    /// field before it is longer than the inner record, so that some chunk sizes guess the inner
    /// start and then a start past the outer end.
    fn record_in_a_record() -> Vec<u8> {
        let inner = sample();
        let mut content = b"  \x1fa".to_vec();
        content.push(crate::iso2709::RECORD_TERMINATOR);
        content.extend(&inner[..inner.len() - 2]);
        let note = [b"  \x1fa".as_slice(), &[b'x'; 150]].concat();
        crate::iso2709::tests::build(b"00000nam a2200000 a 4500", &[("001", b"1"), ("500", &note), ("500", &content)])
    }

    #[test]
    fn spans_read_as_the_reader_frames_whatever_their_guessed_starts() {
        use crate::error::OnError;
        let (damaged, _) = damaged_source();
        let Source::Memory { data: damaged, .. } = damaged else { unreachable!() };
        let bytes = [record_in_a_record(), sample(), damaged.to_vec(), record_in_a_record(), b"\n".to_vec()].concat();
        for on_error in [OnError::Raise, OnError::Skip, OnError::Collect] {
            let projection = Arc::new(Projection { on_error, ..Projection::lossless() });
            // A batch size turns spans off: the reader frames every chunk.
            let read = |chunk_size, batch_size| {
                let options = ReadOptions { chunk_size, batch_size, threads: 2, ..Default::default() };
                let mut batches =
                    batches(vec![Source::Memory { name: "mixed".into(), data: bytes.clone().into() }], &options, &projection)
                        .unwrap();
                let frame = collect(&mut batches, &projection).map_err(|e| e.to_string());
                let report = batches.report().lock().unwrap().clone();
                (frame, report.rows, report.collected, report.skipped, report.junk)
            };
            let framed = read(bytes.len(), usize::MAX - 1);
            assert_eq!(framed.0.is_ok(), on_error != OnError::Raise);
            // Every size puts a guessed start at every record terminator, the false ones included.
            for chunk_size in 1..=bytes.len() + 1 {
                let spans = read(chunk_size, usize::MAX);
                match (&spans.0, &framed.0) {
                    (Ok(spans_frame), Ok(framed_frame)) => {
                        assert!(spans_frame.equals_missing(framed_frame), "{on_error:?} {chunk_size}");
                        assert_eq!((spans.1, &spans.2, &spans.3, &spans.4), (framed.1, &framed.2, &framed.3, &framed.4));
                    }
                    // What was tallied before the error depends on where chunks end.
                    (spans, framed) => assert_eq!(spans.as_ref().err(), framed.as_ref().err(), "{on_error:?} {chunk_size}"),
                }
            }
        }
    }

    /// Decodes as [`FrameDecoder`] does, but panics on the chunk that holds byte `at`.
    struct PanicsAt(u64, FrameDecoder);

    impl Decoder for PanicsAt {
        type Batch = (DataFrame, Report);

        fn decode(&self, chunk: Chunk, source_name: &str) -> Result<Self::Batch, MarcError> {
            if (chunk.offset..chunk.offset + chunk.buffer.len() as u64).contains(&self.0) {
                panic!("injected panic at byte offset {}", self.0);
            }
            self.1.decode(chunk, source_name)
        }

        fn renumber(&self, batch: &mut Self::Batch, first_record: u64) -> Result<(), ReadError> {
            self.1.renumber(batch, first_record)
        }
    }

    #[test]
    fn a_panic_while_decoding_is_an_error_and_the_threads_stop() {
        let at = 50 * sample().len() as u64 + 10;
        // Spans framed by the decoding threads, and chunks the reader framed.
        for batch_size in [usize::MAX, 7] {
            for threads in [1, 2] {
                let options = ReadOptions { threads, batch_size, chunk_size: 2000, ..Default::default() };
                let decoder = PanicsAt(at, FrameDecoder { projection: lossless() });
                let mut batches = decode_in_order(vec![memory(200)], &options, decoder).unwrap();
                let results: Vec<_> = batches.by_ref().collect();
                let Some(Err(ReadError::Internal(message))) = results.last() else { panic!("expected the panic's error") };
                assert!(message.contains(&format!("injected panic at byte offset {at}")), "{message}");
                assert!(results[..results.len() - 1].iter().all(Result::is_ok), "every batch before it");
                assert!(batches.next().is_none());
                drop(batches); // joins the reader: would hang if a panic left it waiting
            }
        }
    }

    #[test]
    fn damaged_records_are_skipped_or_collected_and_reported() {
        use crate::error::{DamageKind, OnError};
        for (on_error, rows) in [(OnError::Skip, 3), (OnError::Collect, 4)] {
            let projection = Arc::new(Projection { on_error, ..Projection::lossless() });
            let options = ReadOptions { batch_size: 1, threads: 2, ..Default::default() };
            let (source, bad) = damaged_source();
            let mut batches = batches(vec![source], &options, &projection).unwrap();
            let frame = collect(&mut batches, &projection).unwrap();
            let report = batches.report().lock().unwrap().clone();
            assert_eq!((frame.height(), report.rows), (rows, rows as u64));
            assert_eq!(report.junk.iter().map(|j| j.len).sum::<u64>(), 4);
            let record_len = sample().len() as u64;
            assert_eq!(report.junk[0].offset, record_len);
            match on_error {
                OnError::Skip => {
                    let error = &report.skipped[0];
                    assert_eq!(
                        (error.kind, error.record, error.record_offset),
                        (DamageKind::BadDirectory, 2, 2 * (record_len + 1))
                    );
                }
                _ => {
                    assert_eq!(report.collected.len(), 1);
                    let raw = frame.column("raw").unwrap().binary().unwrap();
                    assert_eq!(raw.null_count(), 3);
                    assert_eq!(raw.get(2), Some(bad.as_slice()));
                    let error = frame.column("error").unwrap().str().unwrap().get(2).unwrap().to_string();
                    assert!(error.starts_with("bad_directory: damaged: record 2 at byte offset"), "{error}");
                }
            }
        }
    }
}
