//! Compressed sources: gzip, zstd, bzip2 and xz, found by their magic bytes, not by a file's name,
//! and decompressed on a thread of their own that feeds the reader thread, so that inflating
//! overlaps framing and decoding.
//!
//! The crates: `flate2` on zlib-rs (gzip; a Rust port of zlib-ng's inflate, the fastest inflater
//! flate2 offers without a C toolchain for it), `zstd` (the reference C library), `bzip2` on
//! libbz2-rs-sys (pure Rust) and `liblzma` (the maintained binding to xz-utils' C library).
//! Each reads every member or frame of a concatenated file, as `gzip -dc` does. Written files are
//! compressed by the same crates ([`Compressor`]).

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread;

use crate::error::ReadError;
use crate::source::Source;

/// A compression a source may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

impl Codec {
    /// Every codec, in the order their names are listed to users.
    pub const ALL: [Codec; 4] = [Codec::Gzip, Codec::Zstd, Codec::Bzip2, Codec::Xz];

    /// The name pandas and Polars users pass as `compression=`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bz2",
            Codec::Xz => "xz",
        }
    }

    /// The codec of that name (pandas' names; `bzip2` too).
    pub fn named(name: &str) -> Option<Codec> {
        match name {
            "bzip2" => Some(Codec::Bzip2),
            _ => Codec::ALL.into_iter().find(|codec| codec.name() == name),
        }
    }

    /// The codec whose magic bytes `prefix` starts with.
    pub fn sniff(prefix: &[u8]) -> Option<Codec> {
        Codec::ALL.into_iter().find(|codec| prefix.starts_with(codec.magic()))
    }

    fn magic(self) -> &'static [u8] {
        match self {
            Codec::Gzip => &[0x1F, 0x8B],
            Codec::Zstd => &[0x28, 0xB5, 0x2F, 0xFD],
            Codec::Bzip2 => b"BZh",
            Codec::Xz => &[0xFD, b'7', b'z', b'X', b'Z', 0x00],
        }
    }

    fn decoder(self, input: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
        let buffered = io::BufReader::with_capacity(BLOCK, input);
        Ok(match self {
            Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
            Codec::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
            Codec::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(buffered)),
        })
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to do about compression: find it by the magic bytes, read the bytes as they are, or
/// decompress with one codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    Infer,
    Off,
    Codec(Codec),
}

/// Bytes a decompressed block holds, and the size of the compressed reads.
const BLOCK: usize = 1 << 20;

/// Decompressed blocks waiting for the reader thread: enough to ride out its pauses, few enough
/// that memory stays bounded as for a plain stream.
const BLOCKS_AHEAD: usize = 4;

/// A writer compressing what it is given with a codec, or none; [`Compressor::finish`] ends it.
pub enum Compressor<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Bzip2(bzip2::write::BzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
}

impl<W: Write> Compressor<W> {
    /// Compresses into `inner` at each codec's default level: as its command-line tool does.
    pub fn new(codec: Option<Codec>, inner: W) -> io::Result<Self> {
        Ok(match codec {
            None => Compressor::Plain(inner),
            Some(Codec::Gzip) => Compressor::Gzip(flate2::write::GzEncoder::new(inner, flate2::Compression::default())),
            Some(Codec::Zstd) => Compressor::Zstd(zstd::stream::write::Encoder::new(inner, 0)?),
            Some(Codec::Bzip2) => Compressor::Bzip2(bzip2::write::BzEncoder::new(inner, bzip2::Compression::default())),
            Some(Codec::Xz) => Compressor::Xz(liblzma::write::XzEncoder::new(inner, 6)),
        })
    }

    /// Writes what the codec holds back, and its trailer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Plain(inner) => Ok(inner),
            Compressor::Gzip(encoder) => encoder.finish(),
            Compressor::Zstd(encoder) => encoder.finish(),
            Compressor::Bzip2(encoder) => encoder.finish(),
            Compressor::Xz(encoder) => encoder.finish(),
        }
    }

    fn inner(&mut self) -> &mut dyn Write {
        match self {
            Compressor::Plain(inner) => inner,
            Compressor::Gzip(encoder) => encoder,
            Compressor::Zstd(encoder) => encoder,
            Compressor::Bzip2(encoder) => encoder,
            Compressor::Xz(encoder) => encoder,
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner().flush()
    }
}

/// `source` decompressed with `codec`, as a stream fed by a thread of its own.
pub fn decompressed(source: Source, codec: Codec) -> Result<Source, ReadError> {
    let name = source.name();
    let reader = source.into_reader()?;
    let io_error = |error| ReadError::Io { source_name: name.clone(), error };
    let inflating = Inflating::spawn(codec.decoder(reader).map_err(io_error)?, codec).map_err(io_error)?;
    Ok(Source::Stream { name, reader: Box::new(inflating) })
}

/// The reading end of a decompressing thread: blocks arrive in order, then the end or an error.
struct Inflating {
    blocks: Receiver<io::Result<Vec<u8>>>,
    block: Vec<u8>,
    position: usize,
}

impl Inflating {
    /// Starts the thread. It stops at the end of the input, at an error, or as soon as this end
    /// is dropped (a read stopped early, or cancelled).
    fn spawn(mut decoder: Box<dyn Read + Send>, codec: Codec) -> io::Result<Inflating> {
        let (sender, blocks) = sync_channel(BLOCKS_AHEAD);
        thread::Builder::new().name(format!("marc-{codec}")).spawn(move || {
            let mut produced: u64 = 0;
            loop {
                let mut block = Vec::with_capacity(BLOCK);
                let read = decoder.by_ref().take(BLOCK as u64).read_to_end(&mut block).map_err(|error| {
                    let message = format!("{codec} data cannot be decompressed past byte {produced} of its content: {error}");
                    io::Error::new(error.kind(), message)
                });
                let end = matches!(read, Ok(n) if n < BLOCK) || read.is_err();
                produced += block.len() as u64;
                let item = read.map(|_| block);
                if sender.send(item).is_err() || end {
                    return;
                }
            }
        })?;
        Ok(Inflating { blocks, block: Vec::new(), position: 0 })
    }
}

impl Read for Inflating {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.block.len() {
            match self.blocks.recv() {
                Ok(block) => {
                    self.block = block?;
                    self.position = 0;
                }
                // The thread ended after the last block.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.block.len() - self.position);
        buf[..n].copy_from_slice(&self.block[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn compress(codec: Codec, data: &[u8]) -> Vec<u8> {
        match codec {
            Codec::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
            Codec::Zstd => zstd::encode_all(data, 1).unwrap(),
            Codec::Bzip2 => {
                let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
            Codec::Xz => {
                let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 1);
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
        }
    }

    pub(crate) fn read_all(source: Source) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        source.into_reader().unwrap().read_to_end(&mut out)?;
        Ok(out)
    }

    pub(crate) fn memory(data: Vec<u8>) -> Source {
        Source::Memory { name: "test".into(), data: data.into() }
    }

    #[test]
    fn every_codec_is_found_by_its_magic_and_read_whole_across_members() {
        // More than one block, and two members (frames, streams) one after the other.
        let data: Vec<u8> = (0..3 * BLOCK as u32).map(|i| (i % 251) as u8).collect();
        for codec in Codec::ALL {
            let mut packed = compress(codec, &data[..BLOCK]);
            packed.extend(compress(codec, &data[BLOCK..]));
            assert_eq!(Codec::sniff(&packed), Some(codec));
            assert_eq!(read_all(decompressed(memory(packed), codec).unwrap()).unwrap(), data, "{codec}");
        }
    }

    #[test]
    fn a_truncated_file_is_an_error_saying_where_decompression_stopped() {
        let data: Vec<u8> = (0..BLOCK as u32 * 2).map(|i| (i % 7) as u8).collect();
        for codec in Codec::ALL {
            let packed = compress(codec, &data);
            let cut = packed[..packed.len() * 2 / 3].to_vec();
            let error = read_all(decompressed(memory(cut), codec).unwrap()).unwrap_err();
            let message = error.to_string();
            assert!(message.starts_with(&format!("{codec} data cannot be decompressed past byte ")), "{message}");
        }
    }

    #[test]
    fn a_codec_asked_for_reads_a_file_that_is_not_in_it_as_an_error() {
        let error = read_all(decompressed(memory(b"plain text".to_vec()), Codec::Gzip).unwrap());
        assert!(error.unwrap_err().to_string().starts_with("gzip data cannot be decompressed past byte 0 "));
    }
}
