//! The reading pipeline, whatever a chunk becomes: a reader thread cuts sources into chunks of
//! whole records, a rayon pool decodes each chunk with a [`Decoder`], and [`Ordered`] hands the
//! results out in input order.
//!
//! A source that can be read at any offset (bytes, a regular file, a mapped one) and is read
//! without a limit on the records is not framed by the reader: it is cut into spans at guessed
//! record starts, and each decoding thread reads (a file: into memory the span owns) and frames its
//! span before decoding it (see [`Whole`]). [`Ordered`] checks each guess in input order against
//! where the span before ended, numbers the span's records from there (a span learns the number of
//! its first record only then), and frames and decodes again, on its own thread, a span whose guess
//! was wrong. The reader then takes hardly any time of the threads that decode (BENCHMARKS.md), and
//! copying a file's bytes is spread over them.
//!
//! Memory stays bounded: the reader takes a permit from a bounded channel before each chunk and the
//! consumer gives it back as it takes each result, so at most `threads + 1` chunks are read ahead
//! however large the input. Dropping [`Ordered`] cancels the reader and the queued decodes and
//! joins the reader thread. A panic while framing or decoding becomes an error.

use std::collections::BTreeMap;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::compression::Compression;
use crate::detect::{opened, Format};
use crate::error::{MarcError, ReadError};
use crate::form::Framing;
use crate::source::{Chunk, Chunker, Source, Whole};
use crate::split;

pub const DEFAULT_CHUNK_SIZE: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The form of the records read: told from each source's first bytes, or this one.
    pub format: Format,
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
    /// Whether sources are decompressed, and how ([`crate::compression`]).
    pub compression: Compression,
    /// Read only the split of each source that covers these bytes ([`crate::split`]): a source
    /// that cannot be split is read whole by the split that starts at 0, and by no other.
    pub split: Option<Range<u64>>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: Format::Auto,
            n_rows: None,
            threads: 0,
            chunk_size: DEFAULT_CHUNK_SIZE,
            batch_size: usize::MAX,
            map_files: false,
            framing: Framing::Resync,
            compression: Compression::Infer,
            split: None,
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

/// Frames (for a span) and decodes a chunk of source `name`; a panic becomes an error, as it
/// must on a pool thread, where it would abort the process.
pub(crate) fn caught<T>(name: &str, work: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(panic) => Err(ReadError::Internal(format!("{name}: internal error while decoding: {}", panic_message(panic)))),
    }
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
            let (source, form) = match opened(source, self.options.compression, self.options.format) {
                Ok(opened) => opened,
                Err(error) => return self.send(seq, Err(error)),
            };
            let source = if spans {
                match Whole::of(form.clone(), source, self.options.map_files) {
                    Ok(Ok(whole)) => {
                        let range = match &self.options.split {
                            Some(range) => match split::bounds(&whole, range.clone(), split::ANCHOR_INTERVAL) {
                                Ok(bounds) => bounds,
                                Err(error) => return self.send(seq, Err(error)),
                            },
                            None => 0..whole.len(),
                        };
                        if !self.spans(&mut seq, index, Arc::new(whole), range) {
                            return;
                        }
                        continue;
                    }
                    // Read whole by the split that starts at 0.
                    Ok(Err(_)) if self.options.split.as_ref().is_some_and(|range| range.start > 0) => continue,
                    Ok(Err(stream)) => stream,
                    Err(error) => return self.send(seq, Err(error)),
                }
            } else {
                source
            };
            let name: Arc<str> = source.name().into();
            let chunks = match Chunker::new(
                form,
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

    /// Hands the bytes `range` of `whole`, which starts at a record start, to the pool in spans of
    /// about the chunk size; false once reading is to stop.
    fn spans(&self, seq: &mut u64, source: usize, whole: Arc<Whole>, range: Range<usize>) -> bool {
        let name: Arc<str> = whole.name.as_str().into();
        // How far past a span's nominal end its successor's start is looked for. Past it, the
        // successor is framed in input order by whoever takes it (see `Ordered::check`).
        let span = self.options.chunk_size.max(whole.least_read());
        let search = span.max(64 << 10);
        let (mut start, mut guessed) = (range.start, true);
        while start < range.end {
            if !self.permit() {
                return false;
            }
            let (target, found) = match whole.likely_record_start(start.saturating_add(span), search) {
                Ok(next) => next,
                Err(error) => {
                    self.send(*seq, Err(error));
                    return false;
                }
            };
            let target = target.min(range.end);
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

/// Starts reading `sources` one after another, each chunk decoded by `decoder`.
pub fn decode_in_order<D: Decoder>(
    sources: Vec<Source>,
    options: &ReadOptions,
    decoder: D,
) -> Result<Ordered<D::Batch>, ReadError> {
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
    pub fn stop(&mut self) {
        self.finished = true;
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Waits for the reader thread; its panic, if any, becomes an error.
    fn join_reader(&mut self) -> Result<(), ReadError> {
        match self.reader.take().map(JoinHandle::join) {
            Some(Err(panic)) => Err(ReadError::Internal(format!("internal error while reading: {}", panic_message(panic)))),
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
            // A source's first span starts where its reading starts, which is no guess.
            other => other.insert(Checked { source: span.source, offset: span.start, records: 0 }),
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
