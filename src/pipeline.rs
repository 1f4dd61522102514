//! The reading pipeline: a reader thread cuts sources into chunks of whole records, a rayon pool
//! decodes each chunk into a DataFrame batch, and [`Batches`] hands the batches out in input order.
//!
//! A source that can be read at any offset (bytes, a regular file, a mapped one) and is read
//! without a limit on the records is not framed by the reader: it is cut into spans at guessed
//! record starts, and each decoding thread reads (a file: into memory the span owns) and frames its
//! span before decoding it (see [`Whole`]). [`Ordered`] checks each guess in input order against
//! where the span before ended, numbers the span's records from there (a span learns the number of
//! its first record only then), and frames and decodes again, on its own thread, a span whose guess
//! was wrong. The reader then takes hardly any time of the threads that decode (BENCHMARKS.md), and
//! copying a file's bytes is spread over them. [`Batches`] cuts the batches of spans to the batch
//! size.
//!
//! Memory stays bounded: the reader takes a permit from a bounded channel before each chunk and the
//! consumer gives it back as it takes each batch, so at most `threads + 1` chunks are read ahead
//! however large the input. Dropping [`Batches`] cancels the reader and the queued decodes and
//! joins the reader thread.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use polars::prelude::{DataFrame, IntoColumn, StringChunked};
use polars_buffer::Buffer;

use crate::columns::{BatchBuilder, Projection, ERROR_COLUMN};
use crate::error::{MarcError, OnError, ReadError};
use crate::report::{Junk, RepairNote, Report};
use crate::source::{Chunk, Chunker, Framing, Source, Whole};

/// Bytes of input per chunk: one chunk becomes one DataFrame batch (see BENCHMARKS.md).
pub const DEFAULT_CHUNK_SIZE: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub projection: Arc<Projection>,
    pub n_rows: Option<u64>,
    /// Decoding threads; 0 means [`max_threads`].
    pub threads: usize,
    pub chunk_size: usize,
    /// Records per batch at most.
    pub batch_size: usize,
    /// Map files into memory instead of reading them into memory the batches own: no copy, but
    /// the frame's strings point into the page cache, so what is made of a file then changes (or
    /// crashes the process, if it is truncated) when the file does.
    pub map_files: bool,
    pub framing: Framing,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            projection: Arc::new(Projection::lossless()),
            n_rows: None,
            threads: 0,
            chunk_size: DEFAULT_CHUNK_SIZE,
            batch_size: usize::MAX,
            map_files: false,
            framing: Framing::Resync,
        }
    }
}

static MAX_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets the decoding thread count for reads that do not ask for one (0 restores the default).
pub fn set_max_threads(threads: usize) {
    MAX_THREADS.store(threads, Ordering::Relaxed);
}

/// The decoding thread count: what [`set_max_threads`] set, else `MARC_POLARS_MAX_THREADS` if it is
/// a positive number, else every core.
pub fn max_threads() -> usize {
    match MAX_THREADS.load(Ordering::Relaxed) {
        0 => std::env::var("MARC_POLARS_MAX_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        n => n,
    }
}

/// The pool of the thread count asked for last, made on first use and kept while that count is
/// asked for: pools are costly to start, and one kept for every count ever asked for would keep
/// all of their threads. A pool replaced here ends its threads once the reads using it are done.
fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>, ReadError> {
    static POOL: Mutex<Option<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let mut kept = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((count, pool)) = kept.as_ref() {
        if *count == threads {
            return Ok(pool.clone());
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("marc-polars-{i}"))
        .build()
        .map_err(|e| ReadError::Internal(format!("cannot start {threads} decoding threads: {e}")))?;
    let pool = Arc::new(pool);
    *kept = Some((threads, pool.clone()));
    Ok(pool)
}

/// What each chunk becomes, on a decoding thread.
pub trait Decoder: Send + Sync + 'static {
    type Batch: Send + 'static;

    fn decode(&self, chunk: Chunk, source_name: &str) -> Result<Self::Batch, MarcError>;

    /// Numbers the records `batch` names from `first_record` rather than from 0: a span is decoded
    /// before the number of its first record is known (see [`Whole`]).
    fn renumber(&self, batch: &mut Self::Batch, first_record: u64) -> Result<(), ReadError>;
}

/// Chunks to DataFrame batches of the projection's columns.
struct FrameDecoder(Arc<Projection>);

impl Decoder for FrameDecoder {
    type Batch = (DataFrame, Report);

    fn decode(&self, chunk: Chunk, source_name: &str) -> Result<Self::Batch, MarcError> {
        decode_chunk(chunk, &self.0, source_name)
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
        let texts: StringChunked = texts.iter().map(|text| text.and_then(|_| collected.next()).map(MarcError::column_text)).collect();
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
    let mut builder = BatchBuilder::new(chunk.buffer, projection.clone());
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

/// Frames (for a span) and decodes a chunk of source `name`; a panic becomes an error, as it
/// must on a pool thread, where it would abort the process.
fn caught<T>(name: &str, work: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(panic) => Err(ReadError::Internal(format!("{name}: internal error while decoding: {}", panic_message(panic)))),
    }
}

/// An empty frame with the schema `projection` selects.
pub fn empty_frame(projection: &Arc<Projection>) -> DataFrame {
    BatchBuilder::new(Buffer::new(), projection.clone()).finish("")
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// A part of a source read whole: from `start`, a record start guessed by the reader (the
/// source's start for its first span), to the first unit framing finds at or after `target`, the
/// start guessed for the next span (or the end).
struct Span {
    whole: Arc<Whole>,
    /// Which source of the read, counted from 0.
    source: usize,
    start: usize,
    target: usize,
    /// Whether `start` looked like a record start; if not, the span is framed in input order only.
    guessed: bool,
}

/// What a decoding task is given.
enum Work {
    /// Records the reader framed.
    Framed(Chunk),
    /// Bytes to frame first, numbered from 0 until [`Ordered`] knows better.
    Span(Span),
}

/// Where a span's framing ended, from its guessed start (`None` if it was not framed), and how
/// many records it framed.
struct Placement {
    span: Span,
    end: Option<usize>,
    records: u64,
}

/// A decoded chunk in input order, and for a span where its framing ended.
type Numbered<T> = (u64, Option<Placement>, Result<T, ReadError>);

/// The reader thread: frames every source in turn and hands each chunk to the pool.
struct Reader<D: Decoder> {
    options: ReadOptions,
    decoder: Arc<D>,
    pool: Option<Arc<rayon::ThreadPool>>,
    results: Sender<Numbered<D::Batch>>,
    permits: SyncSender<()>,
    cancel: Arc<AtomicBool>,
}

impl<D: Decoder> Reader<D> {
    fn run(self, sources: Vec<Source>) {
        let mut seq = 0;
        let mut remaining = self.options.n_rows;
        // Spans frame as `Framing::Resync` does, and hold as many records as they find (`Batches`
        // cuts them to the batch size); a limit needs the records counted as they are framed.
        let spans = self.options.framing == Framing::Resync && remaining.is_none();
        for (index, source) in sources.into_iter().enumerate() {
            if remaining == Some(0) {
                return;
            }
            let source = if spans {
                match Whole::of(source, self.options.map_files) {
                    Ok(Ok(whole)) => {
                        if !self.spans(&mut seq, index, Arc::new(whole)) {
                            return;
                        }
                        continue;
                    }
                    Ok(Err(stream)) => stream,
                    Err(error) => return self.send(seq, Err(error)),
                }
            } else {
                source
            };
            let name: Arc<str> = source.name().into();
            let chunks = match Chunker::new(
                source,
                self.options.chunk_size,
                self.options.batch_size,
                remaining,
                self.options.map_files,
                self.options.framing,
            ) {
                Ok(chunks) => chunks,
                Err(error) => return self.send(seq, Err(error)),
            };
            for chunk in chunks {
                if !self.permit() {
                    return;
                }
                match chunk {
                    Ok(chunk) => {
                        if let Some(n) = remaining.as_mut() {
                            *n -= chunk.len() as u64;
                        }
                        self.decode(seq, Work::Framed(chunk), name.clone());
                    }
                    Err(error) => return self.send(seq, Err(error)),
                }
                seq += 1;
            }
        }
    }

    /// Hands `whole` to the pool in spans of about the chunk size; false once reading is to stop.
    fn spans(&self, seq: &mut u64, source: usize, whole: Arc<Whole>) -> bool {
        let name: Arc<str> = whole.name.as_str().into();
        // How far past a span's nominal end its successor's start is looked for. Past it, the
        // successor is framed in input order by whoever takes it (see `Ordered::check`).
        let search = self.options.chunk_size.max(64 << 10);
        let (mut start, mut guessed) = (0, true);
        while start < whole.len() {
            if !self.permit() {
                return false;
            }
            let (target, found) = match whole.likely_record_start(start.saturating_add(self.options.chunk_size), search) {
                Ok(next) => next,
                Err(error) => {
                    self.send(*seq, Err(error));
                    return false;
                }
            };
            self.decode(*seq, Work::Span(Span { whole: whole.clone(), source, start, target, guessed }), name.clone());
            *seq += 1;
            (start, guessed) = (target, found);
        }
        true
    }

    /// Waits for room to read ahead; false once the consumer is gone or reading is cancelled.
    fn permit(&self) -> bool {
        !self.cancel.load(Ordering::Relaxed) && self.permits.send(()).is_ok()
    }

    fn send(&self, seq: u64, result: Result<D::Batch, ReadError>) {
        // A closed channel means the consumer is gone: nothing is waiting for this result.
        let _ = self.results.send((seq, None, result));
    }

    fn decode(&self, seq: u64, work: Work, name: Arc<str>) {
        let (results, cancel, decoder) = (self.results.clone(), self.cancel.clone(), self.decoder.clone());
        let task = move || {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            let mut placement = None;
            let result = caught(&name, || {
                let chunk = match work {
                    Work::Framed(chunk) => chunk,
                    Work::Span(span) if !span.guessed => {
                        placement = Some(Placement { span, end: None, records: 0 });
                        return Err(ReadError::Internal("a span without a record start is framed in input order".into()));
                    }
                    Work::Span(span) => {
                        let chunk = span.whole.frame(span.start, span.target, 0)?;
                        let (end, records) = (span.start + chunk.buffer.len(), chunk.len() as u64);
                        placement = Some(Placement { span, end: Some(end), records });
                        chunk
                    }
                };
                Ok(decoder.decode(chunk, &name)?)
            });
            let _ = results.send((seq, placement, result));
        };
        match &self.pool {
            Some(pool) => pool.spawn(task),
            None => task(),
        }
    }
}

/// How far the spans of a source have been checked, in input order.
struct Checked {
    source: usize,
    offset: usize,
    records: u64,
}

/// What a [`Decoder`] made of the sources' chunks, in input order.
pub struct Ordered<T: Send + 'static> {
    results: Receiver<Numbered<T>>,
    permits: Option<Receiver<()>>,
    waiting: BTreeMap<u64, (Option<Placement>, Result<T, ReadError>)>,
    next: u64,
    /// Decodes again a span whose guessed start was wrong, or whose record numbers were.
    decoder: Arc<dyn Decoder<Batch = T>>,
    checked: Option<Checked>,
    cancel: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    finished: bool,
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
pub fn batches(sources: Vec<Source>, options: &ReadOptions) -> Result<Batches, ReadError> {
    Ok(Batches {
        ordered: decode_in_order(sources, options, FrameDecoder(options.projection.clone()))?,
        // Batches without `fields` are small (their text is copied out of the input): merged up to
        // `batch_size`, they cost fewer round trips to Python. Lossless batches hold their input,
        // so they stay one chunk each and memory stays bounded.
        merge_rows: if options.projection.fields { 0 } else { options.batch_size },
        max_rows: options.batch_size.max(1),
        held: None,
        rest: None,
        stopped: None,
        report: Arc::default(),
    })
}

/// Starts reading `sources` one after another, each chunk decoded by `decoder`.
pub fn decode_in_order<D: Decoder>(sources: Vec<Source>, options: &ReadOptions, decoder: D) -> Result<Ordered<D::Batch>, ReadError> {
    let threads = if options.threads == 0 { max_threads() } else { options.threads };
    let pool = if threads > 1 { Some(pool(threads)?) } else { None };
    let (results_tx, results) = channel();
    // Read ahead of the consumer by one chunk per decoding thread and one being read: every thread
    // stays busy. Two per thread read no faster and held more memory (BENCHMARKS.md).
    let (permits_tx, permits) = sync_channel(threads + 1);
    let cancel = Arc::new(AtomicBool::new(false));
    let decoder = Arc::new(decoder);
    let reader = Reader {
        options: options.clone(),
        decoder: decoder.clone(),
        pool,
        results: results_tx,
        permits: permits_tx,
        cancel: cancel.clone(),
    };
    let reader = std::thread::Builder::new()
        .name("marc-polars-reader".into())
        .spawn(move || reader.run(sources))
        .map_err(|e| ReadError::Internal(format!("cannot start the reader thread: {e}")))?;
    Ok(Ordered {
        results,
        permits: Some(permits),
        waiting: BTreeMap::new(),
        next: 0,
        decoder,
        checked: None,
        cancel,
        reader: Some(reader),
        finished: false,
    })
}

impl<T: Send + 'static> Ordered<T> {
    /// Ends the results here: the reader and the decodes queued stop.
    fn stop(&mut self) {
        self.finished = true;
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Waits for the reader thread; its panic, if any, becomes an error.
    fn join_reader(&mut self) -> Result<(), ReadError> {
        match self.reader.take().map(JoinHandle::join) {
            Some(Err(panic)) => {
                Err(ReadError::Internal(format!("internal error while reading: {}", panic_message(panic))))
            }
            _ => Ok(()),
        }
    }

    /// A span's result as framing from the start of its source gives it: as decoded, its records
    /// numbered from where the span before it ended, if its guessed start is there; else framed and
    /// decoded again from there (to nothing, if the spans before it framed all of it).
    fn check(&mut self, placement: Placement, result: Result<T, ReadError>) -> Result<T, ReadError> {
        let Placement { span, end, records } = placement;
        let checked = match &mut self.checked {
            Some(checked) if checked.source == span.source => checked,
            // A source's first span starts at its start, which is no guess.
            other => other.insert(Checked { source: span.source, offset: 0, records: 0 }),
        };
        if let (Some(end), true) = (end, span.start == checked.offset) {
            let first_record = checked.records;
            checked.offset = end;
            checked.records += records;
            return match result {
                Ok(mut batch) => self.decoder.renumber(&mut batch, first_record).map(|()| batch),
                Err(ReadError::Marc(mut error)) => {
                    error.record += first_record;
                    Err(error.into())
                }
                Err(other) => Err(other),
            };
        }
        // A wrong guess, or none: framed and decoded again from where the span before it ended.
        let decoder = &self.decoder;
        caught(&span.whole.name, || {
            let chunk = span.whole.frame(checked.offset, span.target.max(checked.offset), checked.records)?;
            checked.offset += chunk.buffer.len();
            checked.records += chunk.len() as u64;
            Ok(decoder.decode(chunk, &span.whole.name)?)
        })
    }
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

impl<T: Send + 'static> Iterator for Ordered<T> {
    type Item = Result<T, ReadError>;

    /// The next batch as decoded, in input order.
    fn next(&mut self) -> Option<Result<T, ReadError>> {
        if self.finished {
            return None;
        }
        loop {
            if let Some((placement, result)) = self.waiting.remove(&self.next) {
                self.next += 1;
                if let Some(permits) = &self.permits {
                    // Every numbered result was preceded by a permit: give it back.
                    let _ = permits.try_recv();
                }
                let result = match placement {
                    Some(placement) => self.check(placement, result),
                    None => result,
                };
                if result.is_err() {
                    // Nothing after an error is wanted: stop the reader and the decodes queued.
                    self.finished = true;
                    self.cancel.store(true, Ordering::Relaxed);
                }
                return Some(result);
            }
            match self.results.recv() {
                Ok((seq, placement, result)) => {
                    self.waiting.insert(seq, (placement, result));
                }
                Err(_) => {
                    // Every sender is gone: the reader and all decodes are done.
                    self.finished = true;
                    return self.join_reader().err().map(Err);
                }
            }
        }
    }
}

impl<T: Send + 'static> Drop for Ordered<T> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        // Closing the permits wakes a reader blocked on reading ahead.
        self.permits.take();
        let _ = self.join_reader();
    }
}

/// Reads every source, one after another, into one DataFrame (one chunk of it per batch).
pub fn read_frame(sources: Vec<Source>, options: &ReadOptions) -> Result<DataFrame, ReadError> {
    collect(&mut batches(sources, options)?, &options.projection)
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

    fn memory(records: usize) -> Source {
        Source::Memory { name: "mem".into(), data: (0..records).flat_map(|_| sample()).collect::<Vec<_>>().into() }
    }

    #[test]
    fn batches_come_out_in_order_whatever_the_threads() {
        let record_len = sample().len();
        for threads in [1, 2, 4] {
            let options = ReadOptions { threads, chunk_size: record_len * 3, batch_size: 2, ..Default::default() };
            let heights: Vec<usize> = batches(vec![memory(9), memory(2)], &options)
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
            let options = ReadOptions { projection: projection.clone(), threads: 2, chunk_size: record_len * 3, batch_size, ..Default::default() };
            let heights: Vec<usize> =
                batches(vec![memory(9), memory(2)], &options).unwrap().map(|batch| batch.unwrap().height()).collect();
            assert_eq!(heights, expected, "batch size {batch_size}");
        }
    }

    #[test]
    fn n_rows_spans_sources() {
        let options = ReadOptions { n_rows: Some(5), ..Default::default() };
        assert_eq!(read_frame(vec![memory(3), memory(3), memory(3)], &options).unwrap().height(), 5);
    }

    #[test]
    fn an_error_ends_the_batches() {
        let mut bytes: Vec<u8> = (0..4).flat_map(|_| sample()).collect();
        let record_len = sample().len();
        bytes[2 * record_len] = b'x';
        let source = Source::Memory { name: "bad".into(), data: bytes.into() };
        let options = ReadOptions { batch_size: 1, threads: 2, ..Default::default() };
        let mut batches = batches(vec![source], &options).unwrap();
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
        let mut batches = batches(vec![memory(10_000)], &options).unwrap();
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
                let options = ReadOptions { projection: projection.clone(), chunk_size, batch_size, threads: 2, ..Default::default() };
                let mut batches = batches(vec![Source::Memory { name: "mixed".into(), data: bytes.clone().into() }], &options).unwrap();
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
                let decoder = PanicsAt(at, FrameDecoder(options.projection.clone()));
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
            let options = ReadOptions { projection: projection.clone(), batch_size: 1, threads: 2, ..Default::default() };
            let (source, bad) = damaged_source();
            let mut batches = batches(vec![source], &options).unwrap();
            let frame = collect(&mut batches, &projection).unwrap();
            let report = batches.report().lock().unwrap().clone();
            assert_eq!((frame.height(), report.rows), (rows, rows as u64));
            assert_eq!(report.junk.iter().map(|j| j.len).sum::<u64>(), 4);
            let record_len = sample().len() as u64;
            assert_eq!(report.junk[0].offset, record_len);
            match on_error {
                OnError::Skip => {
                    let error = &report.skipped[0];
                    assert_eq!((error.kind, error.record, error.record_offset), (DamageKind::BadDirectory, 2, 2 * (record_len + 1)));
                }
                _ => {
                    assert_eq!(report.collected.len(), 1);
                    let raw = frame.column("raw").unwrap().binary().unwrap();
                    assert_eq!(raw.null_count(), 3);
                    assert_eq!(raw.get(2), Some(bad.as_slice()));
                    let error = frame.column("error").unwrap().str().unwrap().get(2).unwrap().to_string();
                    assert!(error.starts_with("RecordDirectoryInvalid: damaged: record 2 at byte offset"), "{error}");
                }
            }
        }
    }
}
