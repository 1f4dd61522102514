//! Reading sources into one DataFrame: framing on the calling thread, decoding of chunks in
//! parallel on a rayon pool, results kept in input order.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

use polars::prelude::DataFrame;
use polars_buffer::Buffer;
use rayon::prelude::*;

use crate::columns::{BatchBuilder, Projection};
use crate::error::{MarcError, ReadError};
use crate::source::{Chunk, Chunker, Source};

/// Bytes of input per chunk: one chunk becomes one DataFrame batch.
pub const DEFAULT_CHUNK_SIZE: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub projection: Projection,
    pub n_rows: Option<u64>,
    /// Decoding threads; 0 means all cores (or `MARC_POLARS_MAX_THREADS`).
    pub threads: usize,
    pub chunk_size: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { projection: Projection::ALL, n_rows: None, threads: 0, chunk_size: DEFAULT_CHUNK_SIZE }
    }
}

/// The thread count used when a read does not ask for one: `MARC_POLARS_MAX_THREADS` if set to a
/// positive number, else every core.
pub fn default_threads() -> usize {
    std::env::var("MARC_POLARS_MAX_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// One pool per thread count, made on first use and kept: pools are costly to start.
fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>, ReadError> {
    static POOLS: OnceLock<Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>>> = OnceLock::new();
    let mut pools = POOLS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, pool)) = pools.iter().find(|(n, _)| *n == threads) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("marc-polars-{i}"))
        .build()
        .map_err(|e| ReadError::Internal(format!("cannot start {threads} decoding threads: {e}")))?;
    let pool = Arc::new(pool);
    pools.push((threads, pool.clone()));
    Ok(pool)
}

/// Decodes one chunk into a DataFrame batch; the first damaged record stops it.
pub fn decode_chunk(chunk: Chunk, projection: Projection, source_name: &str) -> Result<DataFrame, MarcError> {
    let mut builder = BatchBuilder::new(chunk.buffer, projection);
    builder.reserve_for(&chunk.bounds);
    for (i, bounds) in chunk.bounds.windows(2).enumerate() {
        builder.push_record(bounds[0], bounds[1]).map_err(|damage| {
            damage.locate(source_name, chunk.first_record + i as u64, chunk.offset + bounds[0] as u64)
        })?;
    }
    Ok(builder.finish())
}

/// An empty frame with the schema `projection` selects.
pub fn empty_frame(projection: Projection) -> DataFrame {
    BatchBuilder::new(Buffer::new(), projection).finish()
}

/// Reads every source, one after another, into one DataFrame (one chunk of it per input chunk).
pub fn read_frame(sources: &[Source], options: &ReadOptions) -> Result<DataFrame, ReadError> {
    catch_unwind(AssertUnwindSafe(|| read_frame_inner(sources, options))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(ReadError::Internal(format!("internal error while decoding: {message}")))
    })
}

fn read_frame_inner(sources: &[Source], options: &ReadOptions) -> Result<DataFrame, ReadError> {
    let threads = if options.threads == 0 { default_threads() } else { options.threads };
    let pool = if threads > 1 { Some(pool(threads)?) } else { None };
    let mut out = empty_frame(options.projection);
    let mut remaining = options.n_rows;
    for source in sources {
        if remaining == Some(0) {
            break;
        }
        let name = source.name();
        let mut chunks = Chunker::new(source, options.chunk_size, remaining)?;
        loop {
            // A window of chunks per round keeps every thread busy while bounding the bytes held.
            // A framing error ends the window after the chunks before it, so errors come out in
            // input order.
            let window: Vec<Result<Chunk, ReadError>> = chunks.by_ref().take(2 * threads).collect();
            if window.is_empty() {
                break;
            }
            let decode = |chunk: Result<Chunk, ReadError>| -> Result<DataFrame, ReadError> {
                Ok(decode_chunk(chunk?, options.projection, &name)?)
            };
            let frames: Vec<Result<DataFrame, ReadError>> = match &pool {
                Some(pool) => pool.install(|| window.into_par_iter().map(decode).collect()),
                None => window.into_iter().map(decode).collect(),
            };
            for frame in frames {
                let frame = frame?;
                if let Some(n) = remaining.as_mut() {
                    *n -= frame.height() as u64;
                }
                out.vstack_mut_owned(frame)?;
            }
        }
    }
    Ok(out)
}
