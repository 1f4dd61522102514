//! MARC-8 to Unicode.
//!
//! MARC-8 is the ISO 2022-style encoding of MARC 21 records whose leader/09 is blank. Two graphic
//! sets are in force at a time: G0 for the bytes 0x21-0x7E (Basic Latin unless an escape sequence
//! says otherwise) and G1 for 0xA1-0xFE (ANSEL, the Extended Latin set, unless...). Escape sequences
//! designate other sets: Greek, Cyrillic, Hebrew, Arabic, the MARC subscript, superscript and Greek
//! symbol sets, and EACC, whose CJK characters take three bytes each. Combining diacritics come
//! before their base letter in MARC-8 and after it in Unicode. The tables are LC's
//! ([`crate::marc8_tables`], generated from its code tables).
//!
//! [`decode`] gives the same text as pymarc 5.4's `marc8_to_unicode` on well-formed input, NFC
//! normalised as pymarc does, and follows pymarc on damaged input where MARC 21 leaves the choice
//! open (a space for a code no table has, control characters dropped, a dangling escape kept as
//! U+001B). Where pymarc departs from MARC 21 this follows MARC 21:
//! - a set may be designated as G0 or G1: its characters are found by their position in the set
//!   (LC's tables give each set's G0 and G1 codes), so `ESC ( Q` then 0x4A is Extended Cyrillic 0xCA;
//! - ANSEL's final byte is written `!E` (`ESC ) ! E`), and `ESC $ ) F` / `ESC $ - F` designate G1;
//! - while EACC is G0, a space and the bytes 0x80-0xFF between its three-byte characters are single
//!   characters (the space is in every set; high bytes are G1's), and an escape sequence interrupts a
//!   three-byte character instead of being swallowed by it;
//! - the byte after a two-byte escape such as `ESC b` is read like any other (pymarc skips the check
//!   for a following escape there);
//! - LC's tables map the first half of a double diacritic (ANSEL EB ligature, FA double tilde) to
//!   one mark spanning both letters, U+0361 or U+0360, and give no `<ucs>` for the second half: a
//!   second half that closes a first adds nothing. (pymarc's older tables write both halves as
//!   U+FE20-U+FE23, which LC keeps as `<alt>` values "not recommended"; a second half with no first
//!   before it still gets its `<alt>`.)
//!
//! Every problem is reported with its byte offset; decoding never fails.

use std::fmt;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::marc8_tables::{character_set, CharacterSet, COMBINING, III_EXTRAS};

/// Final byte of Basic Latin (ASCII), G0 by default.
pub const BASIC_LATIN: u8 = 0x42;
/// Final byte of Extended Latin (ANSEL), G1 by default.
pub const EXTENDED_LATIN: u8 = 0x45;

const ESC: u8 = 0x1B;
const SPACE: char = ' ';
/// What a dangling escape sequence is written as (pymarc keeps it too: it helps find the damage).
const ESCAPE_CHAR: char = '\u{1b}';

/// The sets designated as G0 and G1, by the final bytes of their escape sequences (LC's ISO codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sets {
    pub g0: u8,
    pub g1: u8,
}

impl Default for Sets {
    /// MARC 21's defaults: Basic Latin as G0, ANSEL as G1.
    fn default() -> Self {
        Sets { g0: BASIC_LATIN, g1: EXTENDED_LATIN }
    }
}

/// The text of some MARC-8 bytes and what went wrong on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// NFC-normalised, as pymarc returns it.
    pub text: String,
    /// In input order.
    pub problems: Vec<Problem>,
    /// The sets in force after the last byte, to carry on from (as pymarc's `MARC8ToUnicode` does).
    pub sets: Sets,
}

/// Something in the input that is not well-formed MARC-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Byte offset in the input where it starts.
    pub offset: usize,
    pub kind: ProblemKind,
    /// The sets in force there.
    pub sets: Sets,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The set in force has no character at this code (one byte, or three for EACC), or is not a
    /// set LC defines: a space was written.
    UnmappedCode(u32),
    /// An EACC character cut short by the end of the input or by an escape sequence (the code holds
    /// the bytes there were): a space was written.
    TruncatedMultibyte(u32),
    /// An escape sequence cut short by the end of the input: the ESC was written as U+001B and the
    /// bytes after it read as characters.
    TruncatedEscape,
    /// ESC followed by a byte that starts no MARC-8 escape sequence: the ESC was dropped.
    UnknownEscape,
    /// `ESC F` for a set other than the subscript, superscript and Greek symbol sets, without the
    /// intermediate byte MARC 21 requires: designated as G0 all the same, as pymarc does.
    NonstandardEscape,
    /// An escape sequence designating a set LC does not define, by its final byte: every character
    /// read in it is an [`ProblemKind::UnmappedCode`].
    UnknownCharacterSet(u8),
    /// Combining marks at the end with no base character after them: dropped, as pymarc does.
    DanglingCombining,
}

impl ProblemKind {
    /// A short snake_case name, stable for bindings.
    pub fn name(&self) -> &'static str {
        match self {
            ProblemKind::UnmappedCode(_) => "unmapped_code",
            ProblemKind::TruncatedMultibyte(_) => "truncated_multibyte",
            ProblemKind::TruncatedEscape => "truncated_escape",
            ProblemKind::UnknownEscape => "unknown_escape",
            ProblemKind::NonstandardEscape => "nonstandard_escape",
            ProblemKind::UnknownCharacterSet(_) => "unknown_character_set",
            ProblemKind::DanglingCombining => "dangling_combining",
        }
    }

    /// The code or final byte the problem is about, if any.
    pub fn code(&self) -> Option<u32> {
        match *self {
            ProblemKind::UnmappedCode(code) | ProblemKind::TruncatedMultibyte(code) => Some(code),
            ProblemKind::UnknownCharacterSet(final_byte) => Some(u32::from(final_byte)),
            _ => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: ", self.offset)?;
        match self.kind {
            ProblemKind::UnmappedCode(code) => write!(f, "no character at code {code:#x}")?,
            ProblemKind::TruncatedMultibyte(code) => write!(f, "EACC character cut short ({code:#x})")?,
            ProblemKind::TruncatedEscape => write!(f, "escape sequence cut short")?,
            ProblemKind::UnknownEscape => write!(f, "unknown escape sequence")?,
            ProblemKind::NonstandardEscape => write!(f, "escape sequence without intermediate byte")?,
            ProblemKind::UnknownCharacterSet(final_byte) => write!(f, "unknown character set {final_byte:#04x}")?,
            ProblemKind::DanglingCombining => write!(f, "combining marks with no base character")?,
        }
        write!(f, " (G0 {:#04x}, G1 {:#04x})", self.sets.g0, self.sets.g1)
    }
}

/// Decodes MARC-8 bytes starting from MARC 21's default sets, as for one subfield.
pub fn decode(bytes: &[u8]) -> Decoded {
    decode_from(bytes, Sets::default())
}

/// Decodes MARC-8 bytes starting from the given sets.
pub fn decode_from(bytes: &[u8], sets: Sets) -> Decoded {
    // Most values are printable ASCII, which Basic Latin maps to itself.
    if sets.g0 == BASIC_LATIN && bytes.iter().all(|&b| is_printable_ascii(b)) {
        let text = std::str::from_utf8(bytes).map(str::to_owned).unwrap_or_default();
        return Decoded { text, problems: Vec::new(), sets };
    }
    let mut decoder = Decoder {
        bytes,
        pos: 0,
        sets,
        text: String::with_capacity(bytes.len()),
        pending_marks: String::new(),
        first_pending_mark: 0,
        open_first_half: None,
        problems: Vec::new(),
    };
    while decoder.pos < bytes.len() {
        decoder.step();
    }
    decoder.finish()
}

/// Which of the two graphic sets an escape sequence designates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Graphic {
    G0,
    G1,
}

/// An escape sequence, read from the bytes after its ESC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    /// `length` bytes after the ESC designate the set `final_byte`.
    Designation { graphic: Graphic, final_byte: u8, length: usize, standard: bool },
    /// The input ends inside it.
    Truncated,
    /// No MARC-8 escape sequence starts this way.
    Unknown,
}

/// Reads the escape sequence whose ESC comes just before `after_esc`.
fn read_escape(after_esc: &[u8]) -> Escape {
    let Some(&first) = after_esc.first() else { return Escape::Truncated };
    match first {
        b'(' | b',' => designation(after_esc, 1, Graphic::G0),
        b')' | b'-' => designation(after_esc, 1, Graphic::G1),
        b'$' => match after_esc.get(1) {
            None => Escape::Truncated,
            Some(b',' | b'(') => designation(after_esc, 2, Graphic::G0),
            Some(b')' | b'-') => designation(after_esc, 2, Graphic::G1),
            // `ESC $ F`: the short form for G0.
            Some(_) => designation(after_esc, 1, Graphic::G0),
        },
        // Technique 1: the MARC-only subscript, superscript and Greek symbol sets, and back to ASCII.
        b'b' | b'p' | b'g' => Escape::Designation { graphic: Graphic::G0, final_byte: first, length: 1, standard: true },
        b's' => Escape::Designation { graphic: Graphic::G0, final_byte: BASIC_LATIN, length: 1, standard: true },
        // Not MARC 21, but pymarc designates G0 this way, and such records exist.
        _ if character_set(first).is_some() => {
            Escape::Designation { graphic: Graphic::G0, final_byte: first, length: 1, standard: false }
        }
        _ => Escape::Unknown,
    }
}

/// A designation whose final byte is at `final_at` after the ESC, unless it is ANSEL's two-byte `!E`.
fn designation(after_esc: &[u8], final_at: usize, graphic: Graphic) -> Escape {
    let final_at = if after_esc.get(final_at) == Some(&b'!') { final_at + 1 } else { final_at };
    match after_esc.get(final_at) {
        Some(&final_byte) => Escape::Designation { graphic, final_byte, length: final_at + 1, standard: true },
        None => Escape::Truncated,
    }
}

/// The code a byte has in `set`, whose table lists it at its G0 or its G1 code.
fn code_in_set(set: &CharacterSet, byte: u8) -> u32 {
    let position = byte & 0x7F;
    u32::from(if set.listed_as_g1 { position | 0x80 } else { position })
}

fn lookup(entries: &[(u32, u32)], code: u32) -> Option<u32> {
    entries.binary_search_by_key(&code, |&(c, _)| c).ok().and_then(|i| entries.get(i)).map(|&(_, value)| value)
}

fn is_printable_ascii(byte: u8) -> bool {
    (0x20..0x7F).contains(&byte)
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    sets: Sets,
    text: String,
    /// Combining marks read but not yet written: they follow their base character in Unicode.
    pending_marks: String,
    /// Where the oldest of them was, to report marks left without a base.
    first_pending_mark: usize,
    /// The first half of a double diacritic read last, by set and code, until its second half.
    open_first_half: Option<(&'static str, u32)>,
    problems: Vec<Problem>,
}

impl Decoder<'_> {
    /// Decodes what starts at `pos` (a character, an escape sequence or a control) and moves past it.
    fn step(&mut self) {
        let Some(&byte) = self.bytes.get(self.pos) else { return };
        match byte {
            ESC => self.escape(),
            _ if self.sets.g0 == BASIC_LATIN && is_printable_ascii(byte) => self.ascii_run(),
            // The space is in every set, EACC included.
            0x20 => {
                self.write_base(SPACE);
                self.pos += 1;
            }
            // Controls: field and subfield delimiters have been cut off by now; pymarc drops the
            // rest, NSB/NSE and the joiners (0x88-0x8E) included.
            0x00..=0x1F | 0x81..=0x9F => self.pos += 1,
            // pymarc looks 0x80 up in G0, where no set has it.
            0x80 => self.unmapped(u32::from(byte), 1),
            0x21..=0x7F => self.graphic(self.sets.g0, byte),
            0xA0..=0xFF => self.graphic(self.sets.g1, byte),
        }
    }

    /// Printable ASCII while G0 is Basic Latin, which LC maps to itself: copied as it is.
    fn ascii_run(&mut self) {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let end = rest.iter().position(|&b| !is_printable_ascii(b)).unwrap_or(rest.len());
        let run = rest.get(..end).unwrap_or_default();
        if let Some((&first, others)) = run.split_first() {
            self.write_base(char::from(first));
            self.text.push_str(std::str::from_utf8(others).unwrap_or_default());
        }
        // At least one byte, so that decoding always moves on.
        self.pos += run.len().max(1);
    }

    /// A character of the set `final_byte` starting with `byte`.
    fn graphic(&mut self, final_byte: u8, byte: u8) {
        let Some(set) = character_set(final_byte) else { return self.unmapped(u32::from(byte), 1) };
        if set.bytes_per_char == 3 {
            return self.multibyte(set, byte);
        }
        let code = code_in_set(set, byte);
        let Some(value) = lookup(set.entries, code) else { return self.unmapped(u32::from(byte), 1) };
        if !self.closes_double_diacritic(set, code) {
            self.write_value(value);
        }
        self.pos += 1;
    }

    /// Whether `code` is the second half of a double diacritic whose first half is open: LC maps
    /// the first half to one mark spanning both letters, so the second adds nothing. Opens one if
    /// `code` is a first half.
    fn closes_double_diacritic(&mut self, set: &CharacterSet, code: u32) -> bool {
        if let Some(&(_, first)) = set.second_halves.iter().find(|&&(second, _)| second == code) {
            let open = self.open_first_half == Some((set.name, first));
            if open {
                self.open_first_half = None;
            }
            return open;
        }
        if set.second_halves.iter().any(|&(_, first)| first == code) {
            self.open_first_half = Some((set.name, code));
        }
        false
    }

    /// An EACC character: three bytes (in G1, each taken at its G0 position). One cut short by the
    /// end of the input or by an ESC becomes a space, and decoding goes on from where it stopped.
    fn multibyte(&mut self, set: &CharacterSet, lead: u8) {
        let in_g1 = lead >= 0x80;
        let mut code = u32::from(lead & 0x7F);
        let mut length = 1;
        while length < 3 {
            match self.bytes.get(self.pos + length) {
                Some(&byte) if byte != ESC => code = code << 8 | u32::from(if in_g1 { byte & 0x7F } else { byte }),
                _ => break,
            }
            length += 1;
        }
        if length < 3 {
            self.problem(self.pos, ProblemKind::TruncatedMultibyte(code));
            self.write_base(SPACE);
        } else if let Some(value) = lookup(set.entries, code) {
            self.write_value(value);
        } else if let Some(c) = lookup(&III_EXTRAS, code).and_then(char::from_u32) {
            // As pymarc: not a base for pending combining marks.
            self.text.push(c);
        } else {
            return self.unmapped(code, length);
        }
        self.pos += length;
    }

    fn escape(&mut self) {
        let start = self.pos;
        let after_esc = self.bytes.get(start + 1..).unwrap_or_default();
        match read_escape(after_esc) {
            Escape::Designation { graphic, final_byte, length, standard } => {
                if !standard {
                    self.problem(start, ProblemKind::NonstandardEscape);
                }
                match graphic {
                    Graphic::G0 => self.sets.g0 = final_byte,
                    Graphic::G1 => self.sets.g1 = final_byte,
                }
                if character_set(final_byte).is_none() {
                    self.problem(start, ProblemKind::UnknownCharacterSet(final_byte));
                }
                self.pos += 1 + length;
            }
            Escape::Truncated => {
                self.problem(start, ProblemKind::TruncatedEscape);
                // Not a base character: pending marks still wait for one, as in pymarc.
                self.text.push(ESCAPE_CHAR);
                self.pos += 1;
            }
            Escape::Unknown => {
                self.problem(start, ProblemKind::UnknownEscape);
                self.pos += 1;
            }
        }
    }

    /// A space for a code the set in force lacks.
    fn unmapped(&mut self, code: u32, length: usize) {
        self.problem(self.pos, ProblemKind::UnmappedCode(code));
        self.write_base(SPACE);
        self.pos += length;
    }

    /// A table value: a combining mark waits for its base character, anything else is written.
    fn write_value(&mut self, value: u32) {
        let c = char::from_u32(value & !COMBINING).unwrap_or(char::REPLACEMENT_CHARACTER);
        if value & COMBINING == 0 {
            return self.write_base(c);
        }
        if self.pending_marks.is_empty() {
            self.first_pending_mark = self.pos;
        }
        self.pending_marks.push(c);
    }

    /// A base character, then the combining marks that came before it, in their order.
    fn write_base(&mut self, c: char) {
        self.text.push(c);
        if !self.pending_marks.is_empty() {
            self.text.push_str(&self.pending_marks);
            self.pending_marks.clear();
        }
    }

    fn problem(&mut self, offset: usize, kind: ProblemKind) {
        self.problems.push(Problem { offset, kind, sets: self.sets });
    }

    fn finish(mut self) -> Decoded {
        if !self.pending_marks.is_empty() {
            // Where the marks were, not where the input ended: problems stay in input order.
            let offset = self.first_pending_mark;
            let at = self.problems.partition_point(|p| p.offset <= offset);
            self.problems.insert(at, Problem { offset, kind: ProblemKind::DanglingCombining, sets: self.sets });
        }
        Decoded { text: nfc(self.text), problems: self.problems, sets: self.sets }
    }
}

/// NFC, as pymarc applies to its result; skipped for text already known to be in NFC.
///
/// Only the non-ASCII stretches, each with the character before it (a base for its marks), go
/// through the normaliser: an ASCII character neither decomposes nor is ever the second of two
/// characters that compose, so normalisation never reaches across one, and the pieces between
/// ASCII characters normalise on their own.
fn nfc(text: String) -> String {
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return text;
    }
    let mut normalized = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(first_non_ascii) = rest.bytes().position(|b| !b.is_ascii()) {
        // Back to the ASCII character before it, if any: marks may compose with it.
        let start = first_non_ascii.saturating_sub(1);
        let end = rest.bytes().skip(first_non_ascii).position(|b| b.is_ascii()).map_or(rest.len(), |n| first_non_ascii + n);
        let (ascii, stretch, after) = (rest.get(..start), rest.get(start..end), rest.get(end..));
        let (Some(ascii), Some(stretch), Some(after)) = (ascii, stretch, after) else { break };
        normalized.push_str(ascii);
        normalized.extend(stretch.nfc());
        rest = after;
    }
    normalized.push_str(rest);
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        decode(bytes).text
    }

    fn kinds(bytes: &[u8]) -> Vec<(usize, ProblemKind)> {
        decode(bytes).problems.iter().map(|p| (p.offset, p.kind)).collect()
    }

    /// pymarc's test/test_marc8.txt and test/test_utf8.txt: line n of one decodes to line n of the other.
    #[test]
    fn decodes_every_line_of_pymarcs_test_file_as_pymarc_does() {
        let marc8 = include_bytes!("../tests/data/pymarc__test_marc8.txt");
        let utf8 = include_str!("../tests/data/pymarc__test_utf8.txt");
        let pairs: Vec<_> =
            marc8.split(|&b| b == b'\n').zip(utf8.split('\n')).take_while(|(m, u)| !m.is_empty() && !u.is_empty()).collect();
        assert_eq!(pairs.len(), 1515);
        for (line, (marc8, expected)) in pairs.into_iter().enumerate() {
            let decoded = decode(marc8);
            assert_eq!(decoded.text, expected, "line {}", line + 1);
            assert_eq!(decoded.problems, [], "line {}", line + 1);
        }
    }

    // pymarc's test/test_marc8.py, the cases that call marc8_to_unicode directly.

    #[test]
    fn subscript_2() {
        assert_eq!(text(b"CO\x1bb2\x1bs is a gas"), "CO\u{2082} is a gas");
        assert_eq!(text(b"CO\x1bb2\x1bs"), "CO\u{2082}");
    }

    #[test]
    fn eszett_euro() {
        assert_eq!(text(b"ESZETT SYMBOL: \xc7 is U+00DF"), "ESZETT SYMBOL: \u{00df} is U+00DF");
        assert_eq!(text(b"EURO SIGN: \xc8 is U+20AC"), "EURO SIGN: \u{20ac} is U+20AC");
    }

    #[test]
    fn alif() {
        assert_eq!(text(b"ALIF: \xae is U+02BC"), "ALIF: \u{02bc} is U+02BC");
    }

    #[test]
    fn combining_marks_follow_their_base_in_their_order_then_nfc() {
        // Acute on e composes; cedilla + acute on c: both after the c, then NFC gives U+1E09.
        assert_eq!(text(b"caf\xe2e"), "caf\u{e9}");
        assert_eq!(text(b"\xf0\xe2c"), "\u{1e09}");
        // Dot below + macron on a: no single precomposed character for it in that order; NFC
        // reorders marks by combining class (below before above) and composes what it can.
        assert_eq!(text(b"\xe5\xf2a"), "\u{1ea1}\u{304}");
        // A mark before a space goes after the space (and stays a separate character).
        assert_eq!(text(b"\xe2 x"), " \u{301}x");
    }

    #[test]
    fn decodes_the_other_sets() {
        assert_eq!(text(b"\x1b(NMIR\x1b(B"), "\u{43c}\u{438}\u{440}"); // Basic Cyrillic as G0
        assert_eq!(text(b"\x1b(S\x61\x1b(B"), "\u{3b1}"); // Basic Greek
        assert_eq!(text(b"\x1b(2\x60\x1b(B"), "\u{5d0}"); // Hebrew alef
        assert_eq!(text(b"x\x1bp2\x1bs"), "x\u{b2}"); // superscript
        assert_eq!(text(b"\x1bga\x1bs"), "\u{3b1}"); // Greek symbol alpha
        assert_eq!(text(b"\x1b$1\x21\x30\x64\x1b(B"), "\u{4eba}"); // EACC
        assert_eq!(text(b"\x1b$1\x21\x2b\x33\x1b(B"), "\u{3002}"); // EACC ideographic full stop
    }

    #[test]
    fn a_set_may_be_g0_or_g1_its_characters_found_by_position() {
        // Extended Cyrillic, listed at G1 codes (0xC0-0xF3), designated as G0: 0x4A is 0xCA.
        let as_g0 = decode(b"\x1b(QJ\x1b(B");
        let as_g1 = decode(b"\x1b)Q\xca");
        assert_eq!(as_g0.text, "\u{45a}");
        assert_eq!(as_g1.text, "\u{45a}");
        assert_eq!((as_g0.problems, as_g1.problems), (vec![], vec![]));
        // Basic Cyrillic, listed at G0 codes, designated as G1.
        assert_eq!(text(b"\x1b)N\xcd\xc9\xd2"), "\u{43c}\u{438}\u{440}");
        // ANSEL as G0 (grave on a).
        assert_eq!(text(b"\x1b(Ea\x1b(Ba"), "\u{e0}");
    }

    #[test]
    fn reads_every_form_of_designation() {
        for escape in [&b"\x1b(N"[..], b"\x1b,N", b"\x1b)N", b"\x1b-N"] {
            let graphic = if escape[1] == b'(' || escape[1] == b',' { 0x40 } else { 0xC0 };
            let decoded = decode(&[escape, &[graphic]].concat());
            assert_eq!(decoded.text, "\u{44e}", "{escape:?}");
        }
        for escape in [&b"\x1b$1"[..], b"\x1b$,1", b"\x1b$(1"] {
            assert_eq!(text(&[escape, b"\x21\x30\x64"].concat()), "\u{4eba}", "{escape:?}");
        }
        // EACC as G1: high bytes, each at its G1 position.
        assert_eq!(text(b"\x1b$)1\xa1\xb0\xe4"), "\u{4eba}");
        assert_eq!(text(b"\x1b$-1\xa1\xb0\xe4"), "\u{4eba}");
        // ANSEL's final byte is written "!E".
        assert_eq!(decode(b"\x1b)N\x1b)!E\xe2e").text, "\u{e9}");
        assert_eq!(decode(b"\x1b(!E\x62e").sets, Sets { g0: EXTENDED_LATIN, g1: EXTENDED_LATIN });
    }

    #[test]
    fn the_space_and_g1_are_there_between_eacc_characters() {
        // A space between two EACC characters, and an ANSEL mark on the second.
        assert_eq!(text(b"\x1b$1\x21\x30\x64 \x21\x30\x64"), "\u{4eba} \u{4eba}");
        // Unmapped in ANSEL, but it does not throw the three-byte characters after it out of step.
        let decoded = decode(b"\x1b$1\xfd\x21\x30\x64");
        assert_eq!(decoded.text, " \u{4eba}");
        assert_eq!(kinds(b"\x1b$1\xfd\x21\x30\x64"), [(3, ProblemKind::UnmappedCode(0xfd))]);
    }

    #[test]
    fn an_escape_interrupts_a_cut_short_eacc_character() {
        let decoded = decode(b"\x1b$1\x21\x30\x1b(Babc");
        assert_eq!(decoded.text, " abc");
        assert_eq!(kinds(b"\x1b$1\x21\x30\x1b(Babc"), [(3, ProblemKind::TruncatedMultibyte(0x2130))]);
        assert_eq!(kinds(b"\x1b$1\x21\x30"), [(3, ProblemKind::TruncatedMultibyte(0x2130))]);
        assert_eq!(text(b"\x1b$1\x21\x30"), " ");
    }

    #[test]
    fn iii_punctuation_decodes_without_taking_pending_marks() {
        assert_eq!(text(b"\x1b$1\x7f\x20\x14\x1b(B"), "\u{2014}");
        // The acute waits for the next base character, as in pymarc.
        assert_eq!(text(b"\x1b$1\x7f\x20\x14\x1b(B\xe2e"), "\u{2014}\u{e9}");
    }

    #[test]
    fn unmapped_codes_become_spaces() {
        assert_eq!(text(b"a\xfdb"), "a b");
        assert_eq!(kinds(b"a\xfdb"), [(1, ProblemKind::UnmappedCode(0xfd))]);
        assert_eq!(text(b"a\x7fb\x80c\xa0d\xffe"), "a b c d e");
        assert_eq!(text(b"\x1b$1\x21\x21\x21"), " ");
        assert_eq!(kinds(b"\x1b$1\x21\x21\x21"), [(3, ProblemKind::UnmappedCode(0x212121))]);
        // Marks before an unmapped code go on the space written for it.
        assert_eq!(text(b"\xe2\xfd"), " \u{301}");
    }

    #[test]
    fn unknown_sets_give_spaces_for_their_characters() {
        let decoded = decode(b"\x1b(Zab\x1b(Bc");
        assert_eq!(decoded.text, "  c");
        let unknown = Sets { g0: b'Z', g1: EXTENDED_LATIN };
        assert_eq!(
            decoded.problems,
            [
                Problem { offset: 0, kind: ProblemKind::UnknownCharacterSet(b'Z'), sets: unknown },
                Problem { offset: 3, kind: ProblemKind::UnmappedCode(u32::from(b'a')), sets: unknown },
                Problem { offset: 4, kind: ProblemKind::UnmappedCode(u32::from(b'b')), sets: unknown },
            ]
        );
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(text(b"a\x00b\x1fc\x88d\x89e\x8df\x8eg\x9fh"), "abcdefgh");
        assert_eq!(kinds(b"a\x00b\x1fc\x88d"), []);
        // Marks wait across them.
        assert_eq!(text(b"\xe2\x1fe"), "\u{e9}");
    }

    #[test]
    fn bad_escapes_as_pymarc() {
        // pymarc's test_marc8_reader_to_unicode_bad_escape: an escape cut short at the end is kept.
        assert_eq!(text(b"La Soci\xe2et\x1b,"), "La Soci\u{e9}t\x1b,");
        assert_eq!(kinds(b"La Soci\xe2et\x1b,"), [(10, ProblemKind::TruncatedEscape)]);
        for cut in [&b"\x1b"[..], b"\x1b(", b"\x1b)", b"\x1b$", b"\x1b$,", b"\x1b$)", b"\x1b(!"] {
            assert_eq!(kinds(cut), [(0, ProblemKind::TruncatedEscape)], "{cut:?}");
            assert!(text(cut).starts_with('\x1b'), "{cut:?}");
        }
        // ESC then a byte that starts no escape sequence: the ESC is dropped.
        assert_eq!(text(b"a\x1bzb"), "azb");
        assert_eq!(kinds(b"a\x1bzb"), [(1, ProblemKind::UnknownEscape)]);
        // ESC F with a set's final byte: designated as G0 all the same.
        assert_eq!(text(b"\x1bNMIR\x1bs"), "\u{43c}\u{438}\u{440}");
        assert_eq!(kinds(b"\x1bNMIR\x1bs"), [(0, ProblemKind::NonstandardEscape)]);
    }

    #[test]
    fn technique_1_escapes_may_follow_each_other() {
        // pymarc reads the byte after `ESC b` as a character even when it is an ESC.
        assert_eq!(text(b"H\x1bb2\x1bsO"), "H\u{2082}O");
        assert_eq!(text(b"x\x1bb\x1bp2\x1bs"), "x\u{b2}");
        assert_eq!(kinds(b"x\x1bb\x1bp2\x1bs"), []);
    }

    #[test]
    fn dangling_combining_marks_are_dropped_and_reported() {
        assert_eq!(text(b"abc\xe2\xe3"), "abc");
        assert_eq!(kinds(b"abc\xe2\xe3"), [(3, ProblemKind::DanglingCombining)]);
    }

    #[test]
    fn double_diacritics_are_one_mark_between_their_letters() {
        // Ligature: the first half is LC's U+0361, spanning both letters; the second adds nothing.
        // (pymarc writes the two halves U+FE20 and U+FE21, LC's alternatives, "not recommended".)
        assert_eq!(text(b"Sol\xebi\xecano\xe6i"), "Soli\u{361}ano\u{12d}");
        assert_eq!(text(b"\xebt\xecs \xebt\xecs"), "t\u{361}s t\u{361}s");
        // Double tilde: U+0360.
        assert_eq!(text(b"\xfan\xfbg"), "n\u{360}g");
        // A second half with no first half before it keeps its <alt>, U+FE21 or U+FE23.
        assert_eq!(text(b"t\xecs"), "ts\u{fe21}");
        assert_eq!(text(b"\xecs\xebt\xfbs"), "s\u{fe21}t\u{361}s\u{fe23}");
        assert_eq!(kinds(b"t\xecs"), []);
    }

    // The kinds of difference from pymarc that decoding real records showed (the other kinds have
    // their tests above), each in a made-up string of the same shape.

    #[test]
    fn extended_cyrillic_as_g0_between_basic_cyrillic() {
        // Serbian written with ESC ( Q for the letters Basic Cyrillic lacks: pymarc gives "реше а".
        assert_eq!(text(b"\x1b(NRE[E\x1b(QJ\x1b(NA\x1b(B."), "\u{440}\u{435}\u{448}\u{435}\u{45a}\u{430}.");
        assert_eq!(text(b"\x1b(Qh\x1b(NUGOSLAWI\x1b(QH\x1b(NE\x1b(B"), "\u{408}\u{443}\u{433}\u{43e}\u{441}\u{43b}\u{430}\u{432}\u{438}\u{458}\u{435}");
    }

    #[test]
    fn eacc_runs_whose_return_to_ascii_was_lost() {
        // ASCII left in EACC mode: ", " before an escape is a cut EACC character (a space), the
        // escape is honoured, a space between characters is a space, and ":" at the end is cut too.
        let decoded = decode(b"\x1b$1\x21\x30\x64, \x1b$1\x21\x30\x64 :");
        assert_eq!(decoded.text, "\u{4eba} \u{4eba}  ");
        let found: Vec<_> = decoded.problems.iter().map(|p| (p.offset, p.kind)).collect();
        assert_eq!(found, [(6, ProblemKind::TruncatedMultibyte(0x2c20)), (15, ProblemKind::TruncatedMultibyte(0x3a))]);
    }

    #[test]
    fn eacc_codes_lc_maps_anew() {
        // pymarc's older tables: U+3013 GETA MARK, a private-use character, a compatibility
        // ideograph (which NFC makes the same unified ideograph).
        assert_eq!(text(b"\x1b$1\x22\x33\x39\x1b(B"), "\u{22c4d}");
        assert_eq!(text(b"\x1b$1\x6f\x76\x25\x1b(B"), "\u{318d}");
        assert_eq!(text(b"\x1b$1\x21\x50\x61\x1b(B"), "\u{7cbe}");
        // Where LC's <ucs> is private-use and its <alt> U+3013, the <ucs> is kept, as in pymarc.
        assert_eq!(text(b"\x1b$1\x21\x2a\x21\x1b(B"), "\u{e8d0}");
    }

    #[test]
    fn carries_on_from_the_given_sets() {
        let decoded = decode_from(b"MIR", Sets { g0: 0x4E, g1: EXTENDED_LATIN });
        assert_eq!(decoded.text, "\u{43c}\u{438}\u{440}");
        assert_eq!(decode(b"\x1b(N\x1b)Q").sets, Sets { g0: 0x4E, g1: 0x51 });
        assert_eq!(decode(b"").sets, Sets::default());
    }

    #[test]
    fn basic_latin_maps_printable_ascii_to_itself() {
        // The ASCII fast path relies on it (generate.py checks it too).
        let basic = character_set(BASIC_LATIN).expect("Basic Latin");
        for byte in 0x20u32..0x7F {
            assert_eq!(lookup(basic.entries, byte), Some(byte));
        }
    }

    #[test]
    fn tables_are_sorted_and_hold_unicode_scalar_values() {
        for final_byte in 0..=u8::MAX {
            let Some(set) = character_set(final_byte) else { continue };
            assert!(set.entries.windows(2).all(|w| w[0].0 < w[1].0), "{}", set.name);
            assert!(set.entries.iter().all(|&(_, v)| char::from_u32(v & !COMBINING).is_some()), "{}", set.name);
        }
        assert!(III_EXTRAS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    /// Cheap deterministic pseudo-random bytes (xorshift64), enough to shake the decoder.
    fn random_bytes(seed: u64, length: usize, alphabet: &[u8]) -> Vec<u8> {
        let mut state = seed.max(1);
        (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if alphabet.is_empty() { state as u8 } else { alphabet[(state % alphabet.len() as u64) as usize] }
            })
            .collect()
    }

    fn check_invariants(bytes: &[u8]) {
        let decoded = decode(bytes);
        assert!(decoded.problems.iter().all(|p| p.offset < bytes.len()), "{bytes:?}");
        assert!(decoded.problems.windows(2).all(|w| w[0].offset <= w[1].offset), "{bytes:?}");
        assert!(decoded.text.chars().count() <= bytes.len() * 2, "{bytes:?}");
    }

    #[test]
    fn never_panics_on_any_truncation_or_random_bytes() {
        let tricky: [&[u8]; 8] = [
            b"\x1b$1\x21\x30\x64\x1b(B, \x1b$1\x21\x30\x64\x1b(B",
            b"\x1b$)1\xa1\xb0\xe4\x1b)!E\xe2e",
            b"\xe2\xf0\x1b(Nab\x1b)Q\xca\x1bb2\x1bs\x1bp\x1bg\x1b",
            b"\x1b(Zab\x1b$,\x1b$-1\x1bN\x1bz\x7f\x80\xa0\xff",
            b"\x1b$1\x7f\x20\x14\xfd \x21\x21\x21\x1b\x1b(",
            b"La Soci\xe2et\x1b,",
            b"\x1b(3\x41\x1b)4\xa1\x1b(2\x60\x1b(S\x61",
            b"\xeb\xec\xfa\xfb\xe1\xe2\xe3\xe4",
        ];
        for input in tricky {
            for end in 0..=input.len() {
                for start in 0..=end {
                    check_invariants(&input[start..end]);
                }
            }
        }
        let alphabet: Vec<u8> = b"\x1b()$,-!1ENQ2345Sbgps \x21\x30\x64\x7f\x20\x14".iter().chain(&[0xa1, 0xe2, 0xfd, 0x88, 0x1f]).copied().collect();
        for seed in 1..2000 {
            check_invariants(&random_bytes(seed, (seed % 97) as usize, &[]));
            check_invariants(&random_bytes(seed, (seed % 61) as usize, &alphabet));
        }
    }
}
