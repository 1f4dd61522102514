//! Finding MARCXML records in a document, without parsing it: each `record` element of the MARC 21
//! slim namespace (or of none) is a record; everything around them (the `collection`, an OAI-PMH
//! response, comments) is skipped. Only markup is scanned (where each tag, comment or CDATA section
//! ends), so records are found at memchr speed and parsed later, in parallel.

use super::MarcXml;
use crate::error::{Damage, DamageKind};
use crate::form::{Cut, Framed, Framing, Guess, Stop};

/// What starts at a `<`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Markup {
    /// A start tag: its name's end, where the tag ends (past its `>`), and whether it is empty
    /// (`<x/>`).
    Start { name_end: usize, end: usize, empty: bool },
    /// An end tag, its name `name_start..name_end`, ending past its `>` at `end`.
    End { name_start: usize, name_end: usize, end: usize },
    /// A comment, CDATA section, processing instruction or declaration, ending at `end`.
    Other { end: usize },
    /// `<` followed by nothing a tag can be: text in error.
    Stray,
    /// The bytes end before the markup does.
    Incomplete,
}

/// The markup starting at `buf[at]` (a `<`).
pub(super) fn markup(buf: &[u8], at: usize) -> Markup {
    let rest = &buf[at + 1..];
    let after = |len: usize, closing: &[u8]| match memchr::memmem::find(&rest[len.min(rest.len())..], closing) {
        Some(found) => Markup::Other { end: at + 1 + len + found + closing.len() },
        None => Markup::Incomplete,
    };
    match rest.first() {
        None => Markup::Incomplete,
        Some(b'?') => after(1, b"?>"),
        Some(b'!') if rest.starts_with(b"!--") => after(3, b"-->"),
        Some(b'!') if rest.starts_with(b"![CDATA[") => after(8, b"]]>"),
        Some(b'!') if rest.len() < 8 && (b"![CDATA[".starts_with(rest) || b"!--".starts_with(rest)) => Markup::Incomplete,
        Some(b'!') => declaration(buf, at),
        Some(b'/') => {
            let name_end = at + 2 + name_len(&rest[1..]);
            match memchr::memchr(b'>', &buf[name_end..]) {
                Some(found) => Markup::End { name_start: at + 2, name_end, end: name_end + found + 1 },
                None => Markup::Incomplete,
            }
        }
        Some(&first) if is_name_start(first) => {
            let name_end = at + 1 + name_len(rest);
            match tag_end(buf, name_end) {
                Some(end) => Markup::Start { name_end, end, empty: buf[end - 2] == b'/' },
                None => Markup::Incomplete,
            }
        }
        Some(_) => Markup::Stray,
    }
}

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte == b':' || byte >= 0x80
}

fn name_len(bytes: &[u8]) -> usize {
    bytes.iter().position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/').unwrap_or(bytes.len())
}

/// Past the `>` of the tag whose attributes start at `from`: quoted values may hold `>`.
fn tag_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let found = at + memchr::memchr3(b'>', b'"', b'\'', &buf[at..])?;
        match buf[found] {
            b'>' => return Some(found + 1),
            quote => at = found + 1 + memchr::memchr(quote, &buf[found + 1..])? + 1,
        }
    }
}

/// A `<!DOCTYPE ...>` (or other declaration), whose internal subset in `[...]` may hold `>`.
fn declaration(buf: &[u8], at: usize) -> Markup {
    let Some(close) = memchr::memchr(b'>', &buf[at..]) else { return Markup::Incomplete };
    let head = &buf[at..at + close];
    if memchr::memchr(b'[', head).is_none() {
        return Markup::Other { end: at + close + 1 };
    }
    match memchr::memmem::find(&buf[at..], b"]>").or_else(|| memchr::memmem::find(&buf[at..], b"]\n>")) {
        Some(found) => Markup::Other { end: at + found + memchr::memchr(b'>', &buf[at + found..]).unwrap_or(0) + 1 },
        None => Markup::Incomplete,
    }
}

/// The local part of a qualified name.
pub(super) fn local_name(name: &[u8]) -> &[u8] {
    memchr::memchr(b':', name).map_or(name, |colon| &name[colon + 1..])
}

/// How a record element ends.
enum RecordEnd {
    /// Past its end tag (or at the end of an empty element).
    Closed(usize),
    /// It is not closed before the next record starts, at this offset.
    Unclosed(usize),
    Incomplete,
}

impl MarcXml {
    /// Whether the start tag at `buf[at..end]`, named `buf[at + 1..name_end]`, starts a MARC record.
    pub(super) fn is_record_tag(&self, buf: &[u8], at: usize, name_end: usize, end: usize) -> bool {
        let name = &buf[at + 1..name_end];
        local_name(name) == b"record" && self.in_marc_namespace(name, &buf[name_end..end])
    }

    /// Where the record whose start tag is `buf[at..tag_end]` ends: at its end tag, found by
    /// searching for it (the markup between is the parser's to check), or where a record of the
    /// same name starts before it.
    fn record_end(&self, buf: &[u8], at: usize, name_end: usize, tag_end: usize) -> RecordEnd {
        let name = &buf[at + 1..name_end];
        let (mut closing, mut opening) = ([0; 66], [0; 65]);
        if name.len() + 2 > closing.len() {
            return self.record_end_by_markup(buf, at, name_end, tag_end);
        }
        closing[..2].copy_from_slice(b"</");
        closing[2..2 + name.len()].copy_from_slice(name);
        let closing = &closing[..2 + name.len()];
        opening[0] = b'<';
        opening[1..1 + name.len()].copy_from_slice(name);
        let opening = &opening[..1 + name.len()];
        let mut from = tag_end;
        let close = loop {
            let Some(found) = memchr::memmem::find(&buf[from..], closing) else { break None };
            let lt = from + found;
            match markup(buf, lt) {
                Markup::End { name_start, name_end, end } if &buf[name_start..name_end] == name => break Some((lt, end)),
                Markup::Incomplete => break None,
                _ => from = lt + 2,
            }
        };
        // A record of the same name that starts first: this one is not closed.
        let until = close.map_or(buf.len(), |(lt, _)| lt);
        let mut search = tag_end;
        while let Some(found) = memchr::memmem::find(&buf[search..until], opening) {
            let lt = search + found;
            match markup(buf, lt) {
                Markup::Start { name_end, end, .. } if self.is_record_tag(buf, lt, name_end, end) => {
                    return RecordEnd::Unclosed(lt)
                }
                Markup::Incomplete => return RecordEnd::Incomplete,
                _ => search = lt + 1,
            }
        }
        match close {
            Some((_, end)) => RecordEnd::Closed(end),
            None => RecordEnd::Incomplete,
        }
    }

    /// [`Self::record_end`] by walking every tag, for names too long to search for.
    fn record_end_by_markup(&self, buf: &[u8], at: usize, name_end: usize, tag_end: usize) -> RecordEnd {
        let name = &buf[at + 1..name_end];
        let mut pos = tag_end;
        while let Some(found) = memchr::memchr(b'<', &buf[pos..]) {
            let lt = pos + found;
            match markup(buf, lt) {
                Markup::End { name_start, name_end, end } if &buf[name_start..name_end] == name => {
                    return RecordEnd::Closed(end);
                }
                Markup::Start { name_end, end, .. } if self.is_record_tag(buf, lt, name_end, end) => {
                    return RecordEnd::Unclosed(lt);
                }
                Markup::Start { end, .. } | Markup::End { end, .. } | Markup::Other { end } => pos = end,
                Markup::Stray => pos = lt + 1,
                Markup::Incomplete => return RecordEnd::Incomplete,
            }
        }
        RecordEnd::Incomplete
    }

    /// Frames records (see [`crate::form::Form::cut`]): the markup between them is taken, and is
    /// neither records nor padding.
    pub(super) fn cut(&self, buf: &[u8], max_bytes: usize, max_records: u64, framing: Framing, at_end: bool) -> Cut {
        let mut out = Cut { records: Vec::new(), padding: Vec::new(), taken: 0, stop: None };
        let mut pos = 0;
        let stop = |mut out: Cut, stop: Stop| {
            out.stop = Some(stop);
            out
        };
        while (out.records.len() as u64) < max_records {
            let Some(found) = memchr::memchr(b'<', &buf[pos..]) else {
                // Text between elements outside records: taken, whatever comes next.
                out.taken = buf.len();
                return out;
            };
            let lt = pos + found;
            out.taken = lt;
            let (name_end, tag_end, empty) = match markup(buf, lt) {
                Markup::Start { name_end, end, empty } if self.is_record_tag(buf, lt, name_end, end) => (name_end, end, empty),
                Markup::Start { end, .. } | Markup::End { end, .. } | Markup::Other { end } => {
                    pos = end;
                    out.taken = end;
                    continue;
                }
                Markup::Stray => {
                    pos = lt + 1;
                    out.taken = pos;
                    continue;
                }
                // Markup cut off by the end of the document is no record, and holds none.
                Markup::Incomplete if at_end => {
                    out.taken = buf.len();
                    return out;
                }
                Markup::Incomplete => return stop(out, Stop::Incomplete { needed: None }),
            };
            if lt >= max_bytes {
                return out;
            }
            let ends = if empty { RecordEnd::Closed(tag_end) } else { self.record_end(buf, lt, name_end, tag_end) };
            let (end, damage) = match ends {
                RecordEnd::Closed(end) => (end, None),
                RecordEnd::Unclosed(next) => (next, Some(unclosed(&buf[lt + 1..name_end]))),
                RecordEnd::Incomplete if !at_end => return stop(out, Stop::Incomplete { needed: None }),
                RecordEnd::Incomplete => {
                    let what = format!("the input ends inside this record, {} bytes after it starts", buf.len() - lt);
                    (buf.len(), Some(Damage::new(DamageKind::Truncated, buf.len() - lt, what)))
                }
            };
            if let (Some(damage), Framing::Strict) = (&damage, framing) {
                return stop(out, Stop::Damaged(damage.clone()));
            }
            out.records.push(Framed { start: lt, end, damage });
            pos = end;
            out.taken = end;
        }
        out
    }

    /// The first record start tag at or after `from` (see [`crate::form::Form::likely_record_start`]).
    pub(super) fn likely_record_start(&self, buf: &[u8], from: usize, limit: usize, at_end: bool) -> Guess {
        let from = from.min(buf.len());
        let end = from.saturating_add(limit).min(buf.len());
        let mut pos = from;
        while let Some(found) = memchr::memchr(b'<', &buf[pos..end]) {
            let lt = pos + found;
            let name = &buf[lt + 1..];
            let name = &name[..name_len(name)];
            if local_name(name) == b"record" || lt + 1 + name.len() == buf.len() {
                match markup(buf, lt) {
                    Markup::Start { name_end, end, .. } if self.is_record_tag(buf, lt, name_end, end) => return Guess::Start(lt),
                    Markup::Incomplete if !at_end => return Guess::NeedMore,
                    _ => {}
                }
            }
            pos = lt + 1;
        }
        match end == buf.len() {
            true if at_end => Guess::Start(end),
            true if end < from.saturating_add(limit) => Guess::NeedMore,
            _ => Guess::NotFound,
        }
    }
}

fn unclosed(name: &[u8]) -> Damage {
    let name = String::from_utf8_lossy(name);
    Damage::new(DamageKind::MalformedXml, 0, format!("<{name}> is not closed before the next record starts"))
}
