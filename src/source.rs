//! Sources of MARC bytes, cut into chunks of whole records.
//!
//! A chunk owns (or shares, for in-memory input) its bytes as one Arrow buffer, so the column
//! builders can point string views into it without copying. A [`Chunker`] frames a stream here,
//! sequentially, so every record gets its number and byte offset in the source before decoding
//! fans out; a [`Whole`] source is framed in parts by the threads that decode them.
//!
//! Files are read into memory the chunks own, never mapped unless asked: a frame made of a
//! mapping would change, or crash the process, when the file is rewritten or truncated.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use polars_buffer::Buffer;

use crate::error::ReadError;
use crate::form::{Cut, Form, Framed, Framing, Guess, Stop};
use crate::remote::{Remote, RemoteReader};

/// Where records come from.
pub enum Source {
    /// A file, read with Rust file I/O.
    Path(PathBuf),
    /// An open file read as a path would be, from `start`, leaving the file's own offset alone: a
    /// Python file object whose descriptor is that of a regular file.
    File { name: String, file: File, start: u64 },
    /// Bytes already in memory: chunks are slices of them, never copies.
    Memory { name: String, data: Buffer<u8> },
    /// Any byte stream, read in blocks of the chunk size (a file object, a pipe, a socket).
    Stream { name: String, reader: Box<dyn Read + Send> },
    /// An object in an object store or on an HTTP server, read by range requests as a file is.
    Remote(Arc<Remote>),
}

impl Source {
    /// The name errors use for this source.
    pub fn name(&self) -> String {
        match self {
            Source::Path(path) => path.display().to_string(),
            Source::Remote(remote) => remote.url.clone(),
            Source::File { name, .. } | Source::Memory { name, .. } | Source::Stream { name, .. } => name.clone(),
        }
    }

    /// The first `n` bytes of the source (fewer if it is shorter), and the source to read whole,
    /// from its start, afterwards: a stream, or a file that is not a regular one (a pipe), keeps
    /// what was read ahead of the rest.
    pub fn peek(self, n: usize) -> Result<(Vec<u8>, Source), ReadError> {
        let name = self.name();
        let io_error = |error| ReadError::Io { source_name: name.clone(), error };
        let mut prefix = vec![0; n];
        let (read, source) = match self {
            Source::Memory { ref data, .. } => (n.min(data.len()), self),
            Source::Path(ref path) => {
                let file = File::open(path).map_err(io_error)?;
                if !file.metadata().map_err(io_error)?.is_file() {
                    return Source::Stream { name: name.clone(), reader: Box::new(file) }.peek(n);
                }
                (read_at(&file, &mut prefix, 0).map_err(io_error)?, Source::File { name: name.clone(), file, start: 0 })
            }
            Source::File { ref file, start, .. } => (read_at(file, &mut prefix, start).map_err(io_error)?, self),
            Source::Remote(ref remote) => (remote.read_at(&mut prefix, 0).map_err(io_error)?, self),
            Source::Stream { name, mut reader } => {
                let mut read = Vec::with_capacity(n);
                reader.by_ref().take(n as u64).read_to_end(&mut read).map_err(io_error)?;
                let reader = Box::new(io::Cursor::new(read.clone()).chain(reader));
                return Ok((read, Source::Stream { name, reader }));
            }
        };
        if let Source::Memory { data, .. } = &source {
            prefix[..read].copy_from_slice(&data[..read]);
        }
        prefix.truncate(read);
        Ok((prefix, source))
    }

    /// The source as one byte stream from its start.
    pub fn into_reader(self) -> Result<Box<dyn Read + Send>, ReadError> {
        Ok(match self {
            Source::Path(path) => {
                Box::new(File::open(&path).map_err(|error| ReadError::Io { source_name: path.display().to_string(), error })?)
            }
            Source::File { file, start, .. } => Box::new(FileFrom { file, position: start }),
            Source::Memory { data, .. } => Box::new(io::Cursor::new(data)),
            Source::Stream { reader, .. } => reader,
            Source::Remote(remote) => Box::new(io::BufReader::with_capacity(REMOTE_BLOCK, RemoteReader::new(remote))),
        })
    }

    fn into_input(self, map_files: bool) -> Result<Input, ReadError> {
        Ok(match self {
            Source::Path(path) => {
                let file = File::open(&path).map_err(|error| ReadError::Io { source_name: path.display().to_string(), error })?;
                // The file is this reader's own: read it from its offset.
                Input::of_file(file, 0, map_files, |file| Box::new(file))
            }
            Source::File { file, start, .. } => {
                Input::of_file(file, start, map_files, |file| Box::new(FileFrom { file, position: start }))
            }
            Source::Memory { data, .. } => Input { data, reader: None, map: None },
            Source::Stream { reader, .. } => Input::of_stream(reader),
            remote @ Source::Remote(_) => Input::of_stream(remote.into_reader()?),
        })
    }
}

/// Bytes per range request of a remote object read as a stream (a compressed one), and the least a
/// span of one read whole holds: few enough requests that their round trips are lost in the
/// transfer.
const REMOTE_BLOCK: usize = 8 << 20;

/// Bytes that can be read at any offset: a regular file, or a remote object.
pub trait ReadAt: Send + Sync {
    /// Reads from `offset` into `buf`: as many bytes as there are up to its length, 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// The fewest bytes worth one read: each read of a remote object is a request, whose round
    /// trip a small read does not repay.
    fn least_read(&self) -> usize {
        0
    }
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        read_at(self, buf, offset)
    }
}

impl ReadAt for Remote {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        Remote::read_at(self, buf, offset)
    }

    fn least_read(&self) -> usize {
        REMOTE_BLOCK
    }
}

/// An open file read from a position of its own rather than from the file's offset, which it
/// shares with the Python file object its descriptor was duplicated from.
struct FileFrom {
    file: File,
    position: u64,
}

impl Read for FileFrom {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = read_at(&self.file, buf, self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

/// Maps a regular, non-empty file into memory, read-only; `None` where that cannot be done (a pipe,
/// a device), and the file is then read as a stream.
fn map(file: &File) -> Option<memmap2::Mmap> {
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() || metadata.len() == 0 {
        return None;
    }
    // SAFETY: the map is read-only and owned by the buffer that every chunk of it shares, so it
    // outlives every slice of it. What no reader of a mapped file can rule out is another process
    // changing or truncating the file meanwhile; that is the contract of every memory-mapped reader
    // (polars maps the files it scans too), and `read_marc` documents it.
    unsafe { memmap2::Mmap::map(file) }.ok()
}

/// A mapped file as the owner of a buffer, shared with the chunks that may give its pages back.
struct SharedMap(Arc<memmap2::Mmap>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The part of a mapped file one chunk covers.
pub struct MappedPages {
    map: Arc<memmap2::Mmap>,
    range: Range<usize>,
}

impl MappedPages {
    /// Gives back the pages that lie wholly inside the chunk: they leave this process's resident
    /// memory (they stay in the page cache). Call it once nothing made of the chunk points into
    /// it: a batch that copied out its text. A scan of a few MARCspecs over a 241 MB file then
    /// keeps a few chunks' pages resident rather than the whole file (BENCHMARKS.md).
    pub fn release(self) {
        // Larger than any page size, so that the range never reaches into a neighbouring chunk.
        const ALIGN: usize = 64 << 10;
        let start = self.range.start.next_multiple_of(ALIGN);
        let end = self.range.end / ALIGN * ALIGN;
        #[cfg(unix)]
        if start < end {
            // SAFETY: `MADV_DONTNEED` on a read-only file mapping only drops page-table entries:
            // the next access to those pages faults them in again from the file, with the same
            // bytes (the map is never written, so there are no private copies to lose). Any slice
            // of the map that is still read, on any thread, reads the same bytes as before; the
            // one contract is that of every mapped read, that no one changes the file meanwhile.
            // The range lies inside the map (`Chunker` made it from the chunk's place in it).
            let _ = unsafe { self.map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
        }
    }
}

/// Bytes not yet cut into chunks, and for a stream the reader that brings more.
struct Input {
    /// Chunks are zero-copy slices of it: of the whole source in memory, or of the last block
    /// read from a stream (which starts with what the block before left of a cut-off record).
    data: Buffer<u8>,
    /// `None` for a source already in memory, or once the stream has ended.
    reader: Option<Box<dyn Read + Send>>,
    /// The file `data` maps, if it does, and where in the map `data` starts.
    map: Option<(Arc<memmap2::Mmap>, usize)>,
}

impl Input {
    fn of_stream(reader: Box<dyn Read + Send>) -> Self {
        Input { data: Buffer::new(), reader: Some(reader), map: None }
    }

    /// A file from `start` on: mapped if `map_files` and it can be, else read by `reader`.
    fn of_file(file: File, start: u64, map_files: bool, reader: impl FnOnce(File) -> Box<dyn Read + Send>) -> Self {
        match map_files.then(|| map(&file)).flatten() {
            Some(map) => {
                let map = Arc::new(map);
                let start = usize::try_from(start).unwrap_or(usize::MAX).min(map.len());
                let data = Buffer::from_owner(SharedMap(map.clone())).sliced(start..map.len());
                Input { data, reader: None, map: Some((map, start)) }
            }
            None => Input::of_stream(reader(file)),
        }
    }
}

/// Whole records in one buffer, located in their source.
pub struct Chunk {
    /// The form its records were framed in, and are read in.
    pub form: Arc<dyn Form>,
    pub buffer: Buffer<u8>,
    /// The records, in order; padding between them is not part of any.
    pub records: Vec<Framed>,
    /// Padding skipped between records: ranges of `buffer`.
    pub padding: Vec<Range<usize>>,
    /// Number of the first record in its source (0-based).
    pub first_record: u64,
    /// Byte offset of `buffer[0]` in its source.
    pub offset: u64,
    /// Where `buffer` lies in the file it maps, if it does.
    pub mapped: Option<MappedPages>,
}

impl Chunk {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// The bytes of a source from some offset on, which framing may ask to see further into.
trait Window {
    fn bytes(&self) -> &[u8];
    /// Whether [`bytes`](Window::bytes) reaches the end of the source.
    fn at_end(&self) -> bool;
    /// Shows at least `more` more bytes, fewer only at the end of the source.
    fn extend(&mut self, more: usize) -> io::Result<()>;
}

/// Bytes in memory: all there is to see.
struct InMemory<'a>(&'a [u8]);

impl Window for InMemory<'_> {
    fn bytes(&self) -> &[u8] {
        self.0
    }

    fn at_end(&self) -> bool {
        true
    }

    fn extend(&mut self, _: usize) -> io::Result<()> {
        Ok(())
    }
}

/// Part of a regular file, read at explicit offsets into memory of its own: never a mapping,
/// so what is made of it does not change or fail when the file does.
struct FromFile<'a> {
    file: &'a dyn ReadAt,
    /// The offset of `bytes[0]` in the file, and where the source ends there.
    offset: u64,
    end: u64,
    bytes: Vec<u8>,
    /// The file ended early: it was truncated since it was opened.
    cut_short: bool,
}

impl<'a> FromFile<'a> {
    fn read(file: &'a dyn ReadAt, offset: u64, end: u64, len: usize) -> io::Result<Self> {
        let mut window = FromFile { file, offset, end, bytes: Vec::new(), cut_short: false };
        window.extend(len)?;
        Ok(window)
    }
}

impl Window for FromFile<'_> {
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn at_end(&self) -> bool {
        self.cut_short || self.offset + self.bytes.len() as u64 >= self.end
    }

    fn extend(&mut self, more: usize) -> io::Result<()> {
        let from = self.offset + self.bytes.len() as u64;
        let more = more.min(usize::try_from(self.end.saturating_sub(from)).unwrap_or(usize::MAX));
        let have = self.bytes.len();
        self.bytes.reserve_exact(more);
        crate::views::prefault(&mut self.bytes);
        self.bytes.resize(have + more, 0);
        let mut filled = 0;
        while filled < more {
            match self.file.read_at(&mut self.bytes[have + filled..], from + filled as u64) {
                Ok(0) => {
                    self.cut_short = true;
                    break;
                }
                Ok(read) => filled += read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        self.bytes.truncate(have + filled);
        Ok(())
    }
}

fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_at(file, buf, offset);
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, buf, offset);
}

/// Records and padding framed from the start of a window.
struct Units {
    records: Vec<Framed>,
    padding: Vec<Range<usize>>,
    /// Bytes framed.
    len: usize,
}

/// Frames the units (records and padding) of `window` from its start, the start of one, up to the
/// first that starts at or after `target`, exactly as [`Framing::Resync`] frames them from the
/// start of the source, seeing further into the window wherever a unit runs on past it.
fn frame_units(form: &dyn Form, window: &mut impl Window, target: usize, source_start: bool) -> io::Result<Units> {
    let mut units = Units { records: Vec::new(), padding: Vec::new(), len: 0 };
    let mut pos = 0;
    while pos < target {
        let (bytes, at_end) = (window.bytes(), window.at_end());
        if pos == bytes.len() && at_end {
            break;
        }
        // A damaged record ends a cut (it starts a chunk of its own there): cut on.
        let cut = form.cut(&bytes[pos..], target - pos, u64::MAX, Framing::Resync, at_end, source_start && pos == 0);
        units.records.extend(cut.records.into_iter().map(|r| Framed { start: r.start + pos, end: r.end + pos, ..r }));
        units.padding.extend(cut.padding.into_iter().map(|r| r.start + pos..r.end + pos));
        pos += cut.taken;
        if matches!(cut.stop, Some(Stop::Incomplete { .. })) || pos == bytes.len() {
            // Read on past the target, at least to the end of the record wanted, doubling what is
            // read past it so that a long run of damage is read in linear time.
            let needed = match cut.stop {
                Some(Stop::Incomplete { needed: Some(needed) }) => (pos + needed).saturating_sub(bytes.len()),
                _ => 0,
            };
            let had = bytes.len();
            window.extend(needed.max(had.saturating_sub(target)).max(PROBE_LEN))?;
            if window.bytes().len() == had && !window.at_end() {
                break; // nothing more can be read
            }
        } else if cut.taken == 0 {
            break;
        }
    }
    units.len = pos;
    Ok(units)
}

/// How the bytes of a [`Whole`] are held.
enum WholeData {
    /// In memory: bytes, or a mapped file (`map`: the map and where in it `data` starts).
    Memory { data: Buffer<u8>, map: Option<(Arc<memmap2::Mmap>, usize)> },
    /// A regular file (or a remote object) from `start` on, read part by part into memory each
    /// part owns.
    File { file: Arc<dyn ReadAt>, start: u64, len: u64 },
}

/// A source all of whose bytes can be read at any offset (bytes, a mapped file, a regular file),
/// framed in parts that start at guessed record starts, each part by the thread that decodes it:
/// the framing, whose loads of each leader miss the cache, then overlaps with decoding instead of
/// taking a thread of its own, and so does the copy of a file's bytes. Whoever takes the parts in
/// input order checks each guess against where the part before it ended ([`crate::executor`]).
pub struct Whole {
    form: Arc<dyn Form>,
    pub name: String,
    data: WholeData,
}

/// Bytes read around a guessed record start at first: a record start is almost always found in
/// them (records are a few KB), and more are read when not.
const PROBE_LEN: usize = 16 << 10;

/// Bytes read past the end of a part: padding that ends there is seen to end.
const LOOK_PAST: usize = 32;

/// Bytes read before the offset a record start is guessed after: the terminator and padding that
/// may end there.
const PROBE_BEFORE: usize = 256;

impl Whole {
    /// The source as a whole: bytes, or a regular file (mapped if `map_files`); any other source
    /// is given back.
    pub fn of(form: Arc<dyn Form>, source: Source, map_files: bool) -> Result<Result<Whole, Source>, ReadError> {
        let name = source.name();
        let io_error = |error| ReadError::Io { source_name: name.clone(), error };
        let (file, start) = match source {
            Source::Memory { name, data } => return Ok(Ok(Whole { form, name, data: WholeData::Memory { data, map: None } })),
            Source::Path(ref path) => (File::open(path).map_err(io_error)?, 0),
            Source::File { ref file, start, .. } => (file.try_clone().map_err(io_error)?, start),
            Source::Stream { .. } => return Ok(Err(source)),
            Source::Remote(remote) => {
                let len = remote.len().map_err(io_error)?;
                return Ok(Ok(Whole { form, name: remote.url.clone(), data: WholeData::File { file: remote, start: 0, len } }));
            }
        };
        let metadata = file.metadata().map_err(io_error)?;
        if !metadata.is_file() {
            return Ok(Err(source));
        }
        let len = metadata.len().saturating_sub(start);
        let data = match map_files.then(|| map(&file)).flatten() {
            Some(map) => {
                let map = Arc::new(map);
                let start = usize::try_from(start).unwrap_or(usize::MAX).min(map.len());
                let data = Buffer::from_owner(SharedMap(map.clone())).sliced(start..map.len());
                WholeData::Memory { data, map: Some((map, start)) }
            }
            None => WholeData::File { file: Arc::new(file), start, len },
        };
        Ok(Ok(Whole { form, name, data }))
    }

    pub fn len(&self) -> usize {
        match &self.data {
            WholeData::Memory { data, .. } => data.len(),
            WholeData::File { len, .. } => usize::try_from(*len).unwrap_or(usize::MAX),
        }
    }

    /// The fewest bytes worth reading at once (see [`ReadAt::least_read`]): the least a span holds.
    pub fn least_read(&self) -> usize {
        match &self.data {
            WholeData::Memory { .. } => 0,
            WholeData::File { file, .. } => file.least_read(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn io_error(&self, error: io::Error) -> ReadError {
        ReadError::Io { source_name: self.name.clone(), error }
    }

    /// Where a record seems to start at or after `from`, looking no further than `limit` bytes on
    /// (see [`Form::likely_record_start`]): the end of input, or `from + limit` and `false` if none
    /// does.
    pub fn likely_record_start(&self, from: usize, limit: usize) -> Result<(usize, bool), ReadError> {
        let from = from.min(self.len());
        let not_found = || Ok(((from.saturating_add(limit)).min(self.len()), false));
        match &self.data {
            WholeData::Memory { data, .. } => match self.form.likely_record_start(data, from, limit, true) {
                Guess::Start(start) => Ok((start, true)),
                _ => not_found(),
            },
            WholeData::File { file, start, len } => {
                let before = from.min(PROBE_BEFORE);
                let offset = start + (from - before) as u64;
                let mut window =
                    FromFile::read(&**file, offset, start + len, before + PROBE_LEN).map_err(|e| self.io_error(e))?;
                loop {
                    match self.form.likely_record_start(window.bytes(), before, limit, window.at_end()) {
                        Guess::Start(at) => return Ok((from - before + at, true)),
                        Guess::NotFound => return not_found(),
                        Guess::NeedMore => {
                            let had = window.bytes().len();
                            window.extend(had).map_err(|e| self.io_error(e))?;
                            if window.bytes().len() == had {
                                return not_found();
                            }
                        }
                    }
                }
            }
        }
    }

    /// Frames the units (records and padding) from `start`, the start of one, up to the first that
    /// starts at or after `target`, exactly as [`Framing::Resync`] frames them from the start of
    /// the source, the first numbered `first_record`.
    pub fn frame(&self, start: usize, target: usize, first_record: u64) -> Result<Chunk, ReadError> {
        let (buffer, units, mapped) = match &self.data {
            WholeData::Memory { data, map } => {
                let units = frame_units(&*self.form, &mut InMemory(&data[start.min(data.len())..]), target - start, start == 0)
                    .map_err(|e| self.io_error(e))?;
                let range = start..start + units.len;
                let mapped =
                    map.as_ref().map(|(map, base)| MappedPages { map: map.clone(), range: base + range.start..base + range.end });
                (data.clone().sliced(range), units, mapped)
            }
            WholeData::File { file, start: file_start, len } => {
                let offset = file_start + start as u64;
                // A few bytes past the target show where padding before it ends.
                let mut window = FromFile::read(&**file, offset, file_start + len, target - start + LOOK_PAST)
                    .map_err(|e| self.io_error(e))?;
                let units = frame_units(&*self.form, &mut window, target - start, start == 0).map_err(|e| self.io_error(e))?;
                (Buffer::from(window.bytes).sliced(0..units.len), units, None)
            }
        };
        Ok(Chunk {
            form: self.form.clone(),
            buffer,
            records: units.records,
            padding: units.padding,
            first_record,
            offset: start as u64,
            mapped,
        })
    }
}

/// Cuts one source into chunks of about `chunk_size` bytes and at most `chunk_records` records,
/// stopping after `limit` records.
pub struct Chunker {
    form: Arc<dyn Form>,
    name: String,
    input: Input,
    chunk_size: usize,
    chunk_records: u64,
    limit: u64,
    next_record: u64,
    offset: u64,
    framing: Framing,
    /// What ends the chunks, once those before it are handed out.
    pending: Option<ReadError>,
    done: bool,
}

impl Chunker {
    /// `map_files`: map a file into memory rather than read it (see `map`).
    pub fn new(
        form: Arc<dyn Form>,
        source: Source,
        chunk_size: usize,
        chunk_records: usize,
        limit: Option<u64>,
        map_files: bool,
        framing: Framing,
    ) -> Result<Self, ReadError> {
        Ok(Chunker {
            form,
            name: source.name(),
            input: source.into_input(map_files)?,
            chunk_size: chunk_size.max(1),
            chunk_records: chunk_records.max(1) as u64,
            limit: limit.unwrap_or(u64::MAX),
            next_record: 0,
            offset: 0,
            framing,
            pending: None,
            done: false,
        })
    }

    /// Reads the next block of a stream after the bytes left unframed: up to `want` more bytes,
    /// fewer only where the stream ends (the reader is then dropped). Reads ask for the whole rest
    /// of the block at once, so a Python file object sees a few large `.read` calls.
    fn refill(&mut self, want: usize) -> Result<(), ReadError> {
        let Some(reader) = self.input.reader.as_mut() else { return Ok(()) };
        let mut block = Vec::with_capacity(self.input.data.len() + want);
        block.extend_from_slice(&self.input.data);
        let kept = block.len();
        // `read_to_end` reads into the spare capacity without zeroing it first where the reader
        // allows (files do): the zeroing was 5% of a scan's time.
        let read = reader.by_ref().take(want as u64).read_to_end(&mut block);
        read.map_err(|error| ReadError::Io { source_name: self.name.clone(), error })?;
        let ended = block.len() - kept < want;
        self.input.data = Buffer::from(block);
        if ended {
            self.input.reader = None;
        }
        Ok(())
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>, ReadError> {
        if let Some(error) = self.pending.take() {
            self.done = true;
            return Err(error);
        }
        if self.done || self.next_record >= self.limit {
            return Ok(None);
        }
        let max_records = (self.limit - self.next_record).min(self.chunk_records);
        let cut = loop {
            let more_to_read = self.input.reader.is_some();
            if self.input.data.is_empty() {
                if !more_to_read {
                    return Ok(None);
                }
                self.refill(self.chunk_size)?;
                continue;
            }
            let cut =
                self.form.cut(&self.input.data, self.chunk_size, max_records, self.framing, !more_to_read, self.offset == 0);
            match cut.stop {
                // Not one whole unit in what is left, and the stream goes on: read more, at least
                // the rest of the record (which may be longer than a chunk), and at least as much
                // as is held, so that a long run of damage is read in linear time.
                Some(Stop::Incomplete { needed }) if cut.taken == 0 && more_to_read => {
                    let missing = needed.unwrap_or(0).saturating_sub(self.input.data.len());
                    self.refill(missing.max(self.chunk_size).max(self.input.data.len()))?;
                }
                // A record cut off by the end of a block continues in the next one.
                Some(Stop::Incomplete { .. }) if more_to_read => break Cut { stop: None, ..cut },
                _ => break cut,
            }
        };
        let taken = cut.taken;
        let buffer = self.input.data.clone().sliced(0..taken);
        self.input.data.slice_in_place(taken..);
        let records = cut.records.len() as u64;
        let mapped = (self.input.map.as_ref()).map(|(map, start)| {
            let start = start + self.offset as usize;
            MappedPages { map: map.clone(), range: start..start + taken }
        });
        let chunk = Chunk {
            form: self.form.clone(),
            buffer,
            records: cut.records,
            padding: cut.padding,
            first_record: self.next_record,
            offset: self.offset,
            mapped,
        };
        self.next_record += records;
        self.offset += taken as u64;
        match cut.stop {
            Some(Stop::Damaged(damage)) => self.pending = Some(damage.locate(&self.name, self.next_record, self.offset).into()),
            // At the end of input a form frames every byte as something, or stops with damage.
            Some(Stop::Incomplete { .. }) => {
                let message = format!("{}: framing stopped at the end of input at byte {}", self.name, self.offset);
                self.pending = Some(ReadError::Internal(message));
            }
            None => {}
        }
        if chunk.is_empty() && chunk.padding.is_empty() {
            return self.next_chunk();
        }
        Ok(Some(chunk))
    }
}

impl Iterator for Chunker {
    type Item = Result<Chunk, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_chunk().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DamageKind;
    use crate::iso2709::tests::sample;

    fn records(n: usize) -> Vec<u8> {
        (0..n).flat_map(|_| sample()).collect()
    }

    fn count(source: Source, chunk_size: usize, limit: Option<u64>) -> Result<(usize, usize), ReadError> {
        let mut chunks = 0;
        let mut total = 0;
        for chunk in Chunker::new(crate::iso2709::form(), source, chunk_size, usize::MAX, limit, false, Framing::Strict)? {
            let chunk = chunk?;
            assert_eq!(chunk.first_record as usize, total);
            chunks += 1;
            total += chunk.len();
        }
        Ok((chunks, total))
    }

    /// A file of its own holding `bytes`: tests run in parallel, and two of them may write
    /// different bytes of the same length.
    fn stream(bytes: Vec<u8>) -> Source {
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("marc_polars_source_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.mrc", FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
        std::fs::write(&path, bytes).unwrap();
        Source::Path(path)
    }

    fn read_back(source: Source) -> Vec<u8> {
        let chunks = Chunker::new(crate::iso2709::form(), source, 1 << 20, usize::MAX, None, false, Framing::Resync).unwrap();
        chunks.flat_map(|chunk| chunk.unwrap().buffer.to_vec()).collect()
    }

    #[test]
    fn test_files_of_the_same_length_do_not_overwrite_each_other() {
        let (first, second) = (records(2), records(2).iter().map(|&b| if b == b'1' { b'2' } else { b }).collect::<Vec<u8>>());
        let (a, b) = (stream(first.clone()), stream(second.clone()));
        assert!(read_back(a) == first && read_back(b) == second);
    }

    /// Bytes in which no record starts, made of what framing looks at most closely: terminators,
    /// digits (that make record lengths of records that are not there) and delimiters.
    fn garbage(len: usize) -> Vec<u8> {
        let mut seed = 1u64;
        let alphabet = [0x1D, b'1', b'2', b'0', 0x1E, b'x', b'\n'];
        (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                alphabet[(seed >> 33) as usize % alphabet.len()]
            })
            .collect()
    }

    /// The candidate record starts framing examines to read all of `bytes` in every way: by a
    /// chunker from memory and from a stream, and whole from memory and from a file.
    fn framing_work(bytes: &[u8], chunk_size: usize) -> u64 {
        use crate::iso2709::frame::CANDIDATES_EXAMINED;
        CANDIDATES_EXAMINED.with(|count| count.set(0));
        for source in [Source::Memory { name: "mem".into(), data: bytes.to_vec().into() }, stream(bytes.to_vec())] {
            let framed: usize =
                Chunker::new(crate::iso2709::form(), source, chunk_size, usize::MAX, None, false, Framing::Resync)
                    .unwrap()
                    .map(|chunk| chunk.unwrap().buffer.len())
                    .sum();
            assert_eq!(framed, bytes.len());
        }
        for source in [Source::Memory { name: "mem".into(), data: bytes.to_vec().into() }, stream(bytes.to_vec())] {
            let whole = Whole::of(crate::iso2709::form(), source, false).unwrap().ok().unwrap();
            let mut start = 0;
            while start < whole.len() {
                let (target, _) = whole.likely_record_start(start + chunk_size, chunk_size.max(1 << 16)).unwrap();
                start += whole.frame(start, target.max(start + 1), 0).unwrap().buffer.len();
            }
        }
        CANDIDATES_EXAMINED.with(|count| count.get())
    }

    #[test]
    fn finding_records_in_garbage_takes_linear_work() {
        for chunk_size in [1, 7, 4096, 256 << 10] {
            let (once, twice) = (framing_work(&garbage(2 << 20), chunk_size), framing_work(&garbage(4 << 20), chunk_size));
            assert!(once > 1000, "garbage with candidates in it");
            assert!(twice as f64 <= 2.2 * once as f64, "chunk size {chunk_size}: {once} then {twice} candidates");
        }
    }

    #[test]
    fn every_chunk_size_gives_every_record_once() {
        let bytes = records(7);
        let record_len = sample().len();
        for chunk_size in [1, 10, record_len - 1, record_len, record_len + 1, 3 * record_len, 1 << 20] {
            let memory = Source::Memory { name: "mem".into(), data: bytes.clone().into() };
            assert_eq!(count(memory, chunk_size, None).unwrap().1, 7, "memory, chunk {chunk_size}");
            assert_eq!(count(stream(bytes.clone()), chunk_size, None).unwrap().1, 7, "stream, chunk {chunk_size}");
            let mapped =
                Chunker::new(crate::iso2709::form(), stream(bytes.clone()), chunk_size, usize::MAX, None, true, Framing::Resync)
                    .unwrap();
            assert_eq!(mapped.map(|c| c.unwrap().len()).sum::<usize>(), 7, "mapped, chunk {chunk_size}");
        }
    }

    #[test]
    fn an_open_file_is_read_from_its_start_position_without_moving_its_offset() {
        let bytes = records(7);
        let record_len = sample().len();
        let Source::Path(path) = stream(bytes.clone()) else { unreachable!() };
        for map_files in [true, false] {
            let file = File::open(&path).unwrap();
            let source = Source::File { name: "file".into(), file: file.try_clone().unwrap(), start: 2 * record_len as u64 };
            let chunks: Vec<Chunk> =
                Chunker::new(crate::iso2709::form(), source, record_len + 1, usize::MAX, None, map_files, Framing::Strict)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
            let read: Vec<u8> = chunks.iter().flat_map(|c| c.buffer.iter().copied()).collect();
            assert_eq!(read, bytes[2 * record_len..], "map_files {map_files}");
            // Offsets count from where reading began, as for any stream.
            assert_eq!(chunks[0].offset, 0);
            assert!(chunks.windows(2).all(|w| w[1].offset == w[0].offset + w[0].buffer.len() as u64));
            assert_eq!(std::io::Seek::stream_position(&mut &file).unwrap(), 0, "the shared offset stays where it was");
        }
    }

    #[test]
    fn small_chunks_of_a_stream_share_its_block() {
        // Cutting a block into many small chunks must not copy the rest of the block each time.
        let chunks: Vec<Chunk> =
            Chunker::new(crate::iso2709::form(), stream(records(7)), 1 << 20, 2, None, false, Framing::Resync)
                .unwrap()
                .map(Result::unwrap)
                .collect();
        assert_eq!(chunks.iter().map(Chunk::len).collect::<Vec<_>>(), [2, 2, 2, 1]);
        assert!(chunks.windows(2).all(|w| w[0].buffer.storage_ptr() == w[1].buffer.storage_ptr()));
    }

    #[test]
    fn stops_at_the_record_limit() {
        let memory = || Source::Memory { name: "mem".into(), data: records(7).into() };
        assert_eq!(count(memory(), 1, Some(3)).unwrap(), (3, 3));
        assert_eq!(count(memory(), 1 << 20, Some(0)).unwrap(), (0, 0));
        let chunks: Vec<usize> = Chunker::new(crate::iso2709::form(), memory(), 1 << 20, 3, None, false, Framing::Resync)
            .unwrap()
            .map(|chunk| chunk.unwrap().len())
            .collect();
        assert_eq!(chunks, [3, 3, 1]);
    }

    #[test]
    fn strictly_framed_a_truncated_last_record_is_an_error_with_its_number_and_offset() {
        let mut bytes = records(3);
        let record_len = sample().len();
        bytes.truncate(bytes.len() - 10);
        for source in [Source::Memory { name: "mem".into(), data: bytes.clone().into() }, stream(bytes.clone())] {
            let Err(ReadError::Marc(error)) = count(source, 16, None) else { panic!("expected an error") };
            assert_eq!(error.kind, DamageKind::Truncated);
            assert_eq!((error.record, error.record_offset), (2, 2 * record_len as u64));
        }
    }

    #[test]
    fn strictly_framed_a_damaged_length_stops_after_the_good_records() {
        let mut bytes = records(3);
        let record_len = sample().len();
        bytes[record_len + 1] = b'x';
        let memory = Source::Memory { name: "mem".into(), data: bytes.into() };
        let mut chunker =
            Chunker::new(crate::iso2709::form(), memory, 1 << 20, usize::MAX, None, false, Framing::Strict).unwrap();
        assert_eq!(chunker.next().unwrap().unwrap().len(), 1);
        let Some(Err(ReadError::Marc(error))) = chunker.next() else { panic!("expected an error") };
        assert_eq!((error.kind, error.record, error.record_offset), (DamageKind::BadRecordLength, 1, record_len as u64));
        assert!(chunker.next().is_none());
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let Err(ReadError::Io { source_name, .. }) =
            Chunker::new(crate::iso2709::form(), Source::Path("/nonexistent/x.mrc".into()), 1, 1, None, true, Framing::Resync)
        else {
            panic!("expected an I/O error")
        };
        assert_eq!(source_name, "/nonexistent/x.mrc");
    }

    /// Where a record lies in its source, and the damage framing found in it.
    type Unit = (u64, u64, Option<DamageKind>);

    /// Every unit of a resynchronising read of `bytes`, in chunks of `chunk_size`, from memory and
    /// from a stream: (start, end, damage kind) of each record and the padding ranges, in source
    /// offsets. Both sources must agree.
    fn units(bytes: &[u8], chunk_size: usize) -> (Vec<Unit>, Vec<(u64, u64)>) {
        let mut results = Vec::new();
        for source in [Source::Memory { name: "mem".into(), data: bytes.to_vec().into() }, stream(bytes.to_vec())] {
            let (mut records, mut padding) = (Vec::new(), Vec::new());
            let mut next_record = 0;
            for chunk in
                Chunker::new(crate::iso2709::form(), source, chunk_size, usize::MAX, None, false, Framing::Resync).unwrap()
            {
                let chunk = chunk.unwrap();
                assert_eq!(chunk.first_record, next_record);
                next_record += chunk.len() as u64;
                let at = |i: usize| chunk.offset + i as u64;
                records.extend(chunk.records.iter().map(|r| (at(r.start), at(r.end), r.damage.as_ref().map(|d| d.kind))));
                padding.extend(chunk.padding.iter().map(|p| (at(p.start), at(p.end))));
            }
            results.push((records, padding));
        }
        let from_stream = results.pop().unwrap();
        let from_memory = results.pop().unwrap();
        // Streams are read in blocks: a run of padding may come in two pieces.
        assert_eq!(from_memory.0, from_stream.0, "chunk size {chunk_size}");
        from_memory
    }

    /// Checks that the units cover `len` bytes, each byte once, in order.
    fn assert_covers(records: &[Unit], padding: &[(u64, u64)], len: usize) {
        let mut all: Vec<(u64, u64)> = records.iter().map(|r| (r.0, r.1)).chain(padding.iter().copied()).collect();
        all.sort();
        let mut at = 0;
        for (start, end) in all {
            assert_eq!(start, at, "gap or overlap at {at}");
            at = end;
        }
        assert_eq!(at, len as u64);
    }

    #[test]
    fn padding_between_records_is_skipped_and_reported() {
        let one = sample();
        let len = one.len() as u64;
        let mut bytes = one.clone();
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&one);
        bytes.extend_from_slice(&[0x1A, 0, 0, b' ']);
        for chunk_size in [1, 7, one.len(), 1 << 20] {
            let (records, padding) = units(&bytes, chunk_size);
            assert_eq!(records, [(0, len, None), (len + 2, 2 * len + 2, None)]);
            assert_covers(&records, &padding, bytes.len());
        }
    }

    #[test]
    fn a_wrong_length_is_read_by_the_terminator_and_the_next_record_is_found() {
        let one = sample();
        let len = one.len();
        for wrong in [len - 5, len - 1, len + 2, len + 30, 99_998] {
            let mut damaged = one.clone();
            damaged[..5].copy_from_slice(format!("{wrong:05}").as_bytes());
            let bytes: Vec<u8> = [one.clone(), damaged, one.clone()].concat();
            for chunk_size in [1, len, 1 << 20] {
                let (records, padding) = units(&bytes, chunk_size);
                let (len, damaged) = (len as u64, Some(DamageKind::MissingRecordTerminator));
                assert_eq!(records, [(0, len, None), (len, 2 * len, damaged), (2 * len, 3 * len, None)], "length {wrong}");
                assert_covers(&records, &padding, bytes.len());
            }
        }
    }

    #[test]
    fn records_whose_lengths_are_all_wrong_are_cut_at_each_terminator() {
        let one = sample();
        let mut damaged = one.clone();
        damaged[..5].copy_from_slice(format!("{:05}", one.len() + 2).as_bytes());
        let bytes = damaged.repeat(3);
        let (records, _) = units(&bytes, 1 << 20);
        let len = one.len() as u64;
        assert_eq!(records.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), [(0, len), (len, 2 * len), (2 * len, 3 * len)]);
        assert!(records.iter().all(|r| r.2.is_some()));
    }

    #[test]
    fn junk_before_a_record_is_one_damaged_record_and_a_truncated_end_another() {
        let one = sample();
        let mut bytes = b"not a record".to_vec();
        bytes.extend_from_slice(&one);
        bytes.extend_from_slice(&one[..40]);
        let (records, padding) = units(&bytes, 1 << 20);
        let (junk, len) = (12, one.len() as u64);
        assert_eq!(
            records,
            [
                (0, junk, Some(DamageKind::BadRecordLength)),
                (junk, junk + len, None),
                (junk + len, junk + len + 40, Some(DamageKind::Truncated)),
            ]
        );
        assert_covers(&records, &padding, bytes.len());
    }

    #[test]
    fn a_record_longer_than_its_length_field_can_say_is_read_by_its_terminator() {
        // Eleven fields of 9,500 bytes: every directory entry can say where its field is, but the
        // record's length cannot be said in five digits.
        let note = vec![b'x'; 9_500];
        let fields: Vec<(&str, &[u8])> = (0..11).map(|_| ("500", note.as_slice())).collect();
        let big = crate::iso2709::tests::build(b"00000nam a2200000 a 4500", &fields);
        assert!(big.len() > 99_999 && &big[..5] == b"99999");
        let one = sample();
        let bytes = [one.clone(), big.clone(), one.clone()].concat();
        for chunk_size in [1000, 1 << 20] {
            let (records, _) = units(&bytes, chunk_size);
            let (a, b) = (one.len() as u64, (one.len() + big.len()) as u64);
            assert_eq!(records, [(0, a, None), (a, b, None), (b, b + a, None)]);
        }
    }

    #[test]
    fn resynchronising_never_loses_a_byte_of_any_damage() {
        let one = sample();
        let bytes: Vec<u8> = one.repeat(3);
        for at in 0..bytes.len() {
            for value in [b'0', b'9', b'x', 0x1D, 0x1E, b'\n', 0] {
                let mut damaged = bytes.clone();
                damaged[at] = value;
                let (records, padding) = units(&damaged, 50);
                assert_covers(&records, &padding, damaged.len());
            }
        }
    }

    #[test]
    fn a_mapped_chunk_reads_the_same_after_giving_back_its_pages() {
        let bytes = records(20_000); // chunks spanning several 64 KiB-aligned runs of pages
        let path = std::env::temp_dir().join(format!("marc_polars_release_{}.mrc", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let chunks: Vec<Chunk> =
            Chunker::new(crate::iso2709::form(), Source::Path(path.clone()), 300_000, usize::MAX, None, true, Framing::Strict)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(chunks.len() > 2 && chunks.iter().all(|c| c.mapped.is_some()));
        let mut read = Vec::new();
        for mut chunk in chunks {
            chunk.mapped.take().unwrap().release();
            read.extend_from_slice(&chunk.buffer);
        }
        assert!(read == bytes, "the map reads the file's bytes again after its pages are given back");
    }
}
