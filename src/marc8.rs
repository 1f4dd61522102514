//! MARC-8 to Unicode.
//!
//! MARC-8 is the ISO 2022-style encoding of MARC 21 records whose leader/09 is blank. Two graphic
//! sets are in force at a time: G0 for the bytes 0x21-0x7E, Basic Latin by default, and G1 for
//! 0xA1-0xFE, ANSEL (Extended Latin) by default. Escape sequences designate other sets: Greek,
//! Cyrillic, Hebrew, Arabic, the MARC subscript, superscript and Greek symbol sets, and EACC, whose
//! CJK characters take three bytes each. Combining diacritics come before their base letter in
//! MARC-8 and after it in Unicode. The tables are LC's (`marc8_tables`, generated from its code
//! tables by `tools/marc8/generate.py`).
//!
//! [`decode`] gives the same text as pymarc 5.4's `marc8_to_unicode` on well-formed input, NFC
//! normalised as pymarc does, and follows pymarc on damaged input where MARC 21 leaves the choice
//! open (a space for a code no table has, a dangling escape kept as U+001B). Where pymarc departs from MARC 21 this follows MARC 21:
//! - a set may be designated as G0 or G1: its characters are found by their position in the set
//!   (LC's tables give each set's G0 and G1 codes), so `ESC ( Q` then 0x4A is Extended Cyrillic 0xCA;
//! - ANSEL's final byte is written `!E` (`ESC ) ! E`), and `ESC $ ) F` / `ESC $ - F` designate G1;
//! - while EACC is G0, a space and the bytes 0x80-0xFF between its three-byte characters are single
//!   characters (the space is in every set; high bytes are G1's), and an escape sequence interrupts a
//!   three-byte character instead of being swallowed by it;
//! - the byte after a two-byte escape such as `ESC b` is read like any other (pymarc skips the check
//!   for a following escape there);
//! - a double diacritic (ANSEL EB/EC ligature, FA/FB double tilde) is written as its two half
//!   marks, U+FE20 and U+FE21 or U+FE22 and U+FE23, one after each letter. LC's tables map the
//!   first halves to U+0361 and U+0360 (one mark spanning both letters) and keep the half marks as
//!   `<alt>` values, but LC's own UTF-8 records (the BooksAll file among them), pymarc and YAZ all
//!   write the half marks, and a reader must give the text the UTF-8 twin of a record has;
//! - the joiners 0x8D and 0x8E are U+200D and U+200C, and NSB/NSE (0x88, 0x89) U+0098 and U+009C,
//!   as LC maps them (pymarc drops them); other C1 codes are dropped, as pymarc drops them. C0
//!   controls other than ESC are kept as they are: a control field holding one (a stray 0x1F)
//!   reads as its UTF-8 twin does.
//!
//! [`Dialect::Pymarc`] reads MARC-8 as pymarc does instead, departures included: it exists for
//! scripts moved from pymarc to `marc_polars.pymarc`, which must get the text pymarc gave them.
//! [`decode_pymarc_text`] is pymarc's reading of text it is given instead of bytes.
//!
//! Every problem is reported with its offset; decoding never fails (in the pymarc dialect it stops
//! where pymarc raises, and says so).

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

/// Whose reading of MARC-8 to follow where MARC 21 and pymarc 5.4 part ways.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// MARC 21 as LC specifies it (see the module documentation).
    #[default]
    Marc21,
    /// pymarc 5.4's `marc8_to_unicode`, for scripts moved from pymarc, which must get the text
    /// pymarc gave them. Where it differs from [`Dialect::Marc21`]:
    /// - every code is looked up in the table of the set in force by the code itself, not by its
    ///   position in the set: a set LC lists at its G1 codes has no characters as G0 (`ESC ( Q`
    ///   then 0x4A is a space), one listed at its G0 codes none as G1, and no set but Basic Latin
    ///   has the space ([`ProblemKind::UnmappedCode`] `0x20`, though a space is written);
    /// - escape sequences are read as pymarc reads them: `ESC $ ) F` and `ESC $ - F` designate the
    ///   set `)` or `-` as G0 (F is then read as a character), `ESC ) ! E` designates `!` as G1, and
    ///   the byte after `ESC F` (such as `ESC b`) is read as a character even when it is an ESC;
    /// - while EACC is G0, every character takes three bytes, whatever they are (an ESC among them
    ///   included), and one cut short by the end of the input is read as the code 0x20 (reported
    ///   as [`ProblemKind::TruncatedMultibyte`], then as unmapped);
    /// - C0 and C1 controls are all dropped, the joiners included;
    /// - five EACC codes are what pymarc's older tables make of them (see `tools/marc8/generate.py`);
    /// - where pymarc raises on an escape sequence cut short by the end of the input, decoding stops
    ///   with [`ProblemKind::PymarcRaises`].
    Pymarc,
}

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
    /// Where it starts: a byte offset (a character's index for [`decode_pymarc_text`]). Only for an
    /// EACC character the pymarc dialect starts reading at the very end can it be the input's length.
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
    /// the bytes there were): a space was written. (In the pymarc dialect only the end cuts one
    /// short, and the space comes with an [`ProblemKind::UnmappedCode`] `0x20`, as pymarc reads it.)
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
    /// Pymarc dialect only: an escape sequence cut short by the end of the input where pymarc reads
    /// past the end and raises (`ord()` of nothing). Decoding stopped there.
    PymarcRaises,
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
            ProblemKind::PymarcRaises => "pymarc_raises",
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

impl Problem {
    /// What the problem is, without where: the kind, and the sets in force.
    pub fn what(&self) -> String {
        let kind = match self.kind {
            ProblemKind::UnmappedCode(code) => format!("no character at code {code:#x}"),
            ProblemKind::TruncatedMultibyte(code) => format!("EACC character cut short ({code:#x})"),
            ProblemKind::TruncatedEscape => "escape sequence cut short".to_string(),
            ProblemKind::UnknownEscape => "unknown escape sequence".to_string(),
            ProblemKind::NonstandardEscape => "escape sequence without intermediate byte".to_string(),
            ProblemKind::UnknownCharacterSet(final_byte) => format!("unknown character set {final_byte:#04x}"),
            ProblemKind::DanglingCombining => "combining marks with no base character".to_string(),
            ProblemKind::PymarcRaises => "escape sequence cut short where pymarc fails".to_string(),
        };
        format!("{kind} (G0 {:#04x}, G1 {:#04x})", self.sets.g0, self.sets.g1)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.what())
    }
}

/// Decodes MARC-8 bytes starting from MARC 21's default sets, as for one subfield.
pub fn decode(bytes: &[u8]) -> Decoded {
    decode_with(bytes, Sets::default(), Dialect::Marc21)
}

/// Decodes MARC-8 bytes starting from the given sets.
pub fn decode_from(bytes: &[u8], sets: Sets) -> Decoded {
    decode_with(bytes, sets, Dialect::Marc21)
}

/// Decodes MARC-8 bytes starting from MARC 21's default sets, NFC normalised or not: without, each
/// base letter is followed by its combining marks in their MARC-8 order, composed by nothing.
pub fn decode_normalized(bytes: &[u8], nfc: bool) -> Decoded {
    decode_as(bytes, Sets::default(), Dialect::Marc21, nfc)
}

/// Decodes MARC-8 bytes as [`decode_normalized`] does, but with U+FFFD REPLACEMENT CHARACTER
/// rather than a space for each code no set has (or an EACC character cut short): for reading
/// damaged records, where a space would pass for text.
pub fn decode_replacing(bytes: &[u8], nfc: bool) -> Decoded {
    decode_full(bytes, Sets::default(), Dialect::Marc21, nfc, char::REPLACEMENT_CHARACTER)
}

/// Decodes MARC-8 bytes starting from the given sets, in the given dialect.
pub fn decode_with(bytes: &[u8], sets: Sets, dialect: Dialect) -> Decoded {
    decode_as(bytes, sets, dialect, true)
}

fn decode_as(bytes: &[u8], sets: Sets, dialect: Dialect, normalize: bool) -> Decoded {
    decode_full(bytes, sets, dialect, normalize, SPACE)
}

fn decode_full(bytes: &[u8], sets: Sets, dialect: Dialect, normalize: bool, unreadable: char) -> Decoded {
    // Most values are printable ASCII, which Basic Latin maps to itself (in both dialects).
    if sets.g0 == BASIC_LATIN && bytes.iter().all(|&b| is_printable_ascii(b)) {
        let text = std::str::from_utf8(bytes).map(str::to_owned).unwrap_or_default();
        return Decoded { text, problems: Vec::new(), sets };
    }
    let mut decoder = Decoder::new(bytes, sets);
    decoder.unreadable = unreadable;
    while decoder.pos < bytes.len() {
        match dialect {
            Dialect::Marc21 => decoder.step(),
            Dialect::Pymarc => decoder.pymarc_step(),
        }
    }
    decoder.finish(normalize)
}

/// pymarc's reading of text it is given instead of MARC-8 bytes (its `map_marc8_record` does that
/// to records already decoded), in the pymarc dialect: each character's code point is looked up as
/// if it were a byte. pymarc compares each character with the bytes `b"\x1b"`, which no text
/// equals, so no escape sequence is ever recognised and the sets stay as given.
///
/// Takes code points, not `&str`: a Python string may hold lone surrogates. Problem offsets are
/// indices into `code_points`.
pub fn decode_pymarc_text(code_points: &[u32], sets: Sets) -> Decoded {
    if sets.g0 == BASIC_LATIN && code_points.iter().all(|&c| u8::try_from(c).is_ok_and(is_printable_ascii)) {
        let text = code_points.iter().filter_map(|&c| char::from_u32(c)).collect();
        return Decoded { text, problems: Vec::new(), sets };
    }
    let mut decoder = Decoder::new(code_points, sets);
    while decoder.pos < code_points.len() {
        decoder.pymarc_character();
    }
    decoder.finish(true)
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

/// An escape sequence as pymarc 5.4 reads it, from the bytes after its ESC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PymarcEscape {
    /// `(`, `,` or `$` then the final byte designate G0, `)` or `-` then the final byte G1, and
    /// `$ ,` then the final byte G0. Whatever the final byte is: `ESC $ ) 1` designates `)` as G0,
    /// `ESC ) ! E` designates `!` as G1. `length` bytes after the ESC.
    Designation { graphic: Graphic, final_byte: u8, length: usize },
    /// `ESC F` for a set LC defines, or `ESC s` for Basic Latin (the byte here is F or `s`):
    /// designated as G0, and the byte after it is read as a character, whatever it is.
    ShortForm(u8),
    /// ESC then `(`, `,` or `$` and the end: the ESC is kept as text (U+001B), the byte after it
    /// read as a character.
    KeptAsText,
    /// ESC then a byte that starts no escape sequence: the ESC is read as a character (a control,
    /// dropped, or the first byte of an EACC character).
    NotAnEscape,
    /// pymarc reads a final byte past the end of the input and raises.
    Raises,
}

/// Reads an escape sequence as pymarc 5.4 does (its checks, in its order), from the bytes after
/// the ESC.
fn read_pymarc_escape(after_esc: &[u8]) -> PymarcEscape {
    match *after_esc {
        [] => PymarcEscape::Raises,
        [b'(' | b',' | b'$'] => PymarcEscape::KeptAsText,
        [b'$', b',', ref rest @ ..] => match rest.first() {
            Some(&final_byte) => PymarcEscape::Designation { graphic: Graphic::G0, final_byte, length: 3 },
            None => PymarcEscape::Raises,
        },
        [b'(' | b',' | b'$', final_byte, ..] => PymarcEscape::Designation { graphic: Graphic::G0, final_byte, length: 2 },
        [b')' | b'-'] => PymarcEscape::Raises,
        [b')' | b'-', final_byte, ..] => PymarcEscape::Designation { graphic: Graphic::G1, final_byte, length: 2 },
        [first, ..] if first == b's' || character_set(first).is_some() => PymarcEscape::ShortForm(first),
        _ => PymarcEscape::NotAnEscape,
    }
}

/// Whether MARC 21 defines `ESC F` (technique 1): the subscript, superscript and Greek symbol
/// sets, and `ESC s` back to Basic Latin.
fn is_technique_1(byte_after_esc: u8) -> bool {
    matches!(byte_after_esc, b'b' | b'p' | b'g' | b's')
}

/// The code a byte has in `set`, whose table lists it at its G0 or its G1 code.
fn code_in_set(set: &CharacterSet, byte: u8) -> u32 {
    let position = byte & 0x7F;
    u32::from(if set.listed_as_g1 { position | 0x80 } else { position })
}

fn lookup(entries: &[(u32, u32)], code: u32) -> Option<u32> {
    entries.binary_search_by_key(&code, |&(c, _)| c).ok().and_then(|i| entries.get(i)).map(|&(_, value)| value)
}

/// What pymarc's tables give for `code` in `set`.
fn pymarc_lookup(set: &CharacterSet, code: u32) -> Option<u32> {
    lookup(set.pymarc_overrides, code).or_else(|| lookup(set.entries, code))
}

/// pymarc's code for an EACC character: the first unit times 65536, plus the second times 256,
/// plus the third. From bytes that is the three bytes in order; code points from text may make it
/// too large for any table, and it is then reported as `u32::MAX`.
fn pymarc_multibyte_code(units: [u32; 3]) -> u32 {
    let [first, second, third] = units.map(u64::from);
    u32::try_from(first * 65536 + second * 256 + third).unwrap_or(u32::MAX)
}

/// The half mark a double diacritic's first half is written as (its `<alt>`, which the pymarc
/// overrides hold); `None` for any other code. Second halves are half marks in LC's tables already.
fn half_mark(set: &CharacterSet, code: u32) -> Option<u32> {
    set.second_halves.iter().any(|&(_, first)| first == code).then(|| lookup(set.pymarc_overrides, code)).flatten()
}

fn is_printable_ascii(byte: u8) -> bool {
    (0x20..0x7F).contains(&byte)
}

fn is_multibyte(final_byte: u8) -> bool {
    character_set(final_byte).is_some_and(|set| set.bytes_per_char == 3)
}

/// Decodes a sequence of units: bytes, or for [`decode_pymarc_text`] code points.
struct Decoder<'a, U> {
    input: &'a [U],
    /// Where the next character or escape sequence starts. In the pymarc dialect it may pass the
    /// end after an EACC character cut short.
    pos: usize,
    sets: Sets,
    text: String,
    /// Combining marks read but not yet written: they follow their base character in Unicode.
    pending_marks: String,
    /// What to report if no base character comes for them: where the oldest was.
    dangling: Option<Problem>,
    problems: Vec<Problem>,
    /// What is written for a code no set has: a space, as pymarc writes, or U+FFFD.
    unreadable: char,
}

impl<'a, U: Copy + Into<u32>> Decoder<'a, U> {
    fn new(input: &'a [U], sets: Sets) -> Self {
        Decoder {
            input,
            pos: 0,
            sets,
            text: String::with_capacity(input.len()),
            pending_marks: String::new(),
            dangling: None,
            problems: Vec::new(),
            unreadable: SPACE,
        }
    }

    /// Pymarc dialect: the character at `pos`, one unit or, while EACC is G0, three, read without
    /// looking for an escape sequence.
    fn pymarc_character(&mut self) {
        let multibyte = is_multibyte(self.sets.g0);
        let code = if multibyte { self.pymarc_multibyte_code() } else { self.input.get(self.pos).map_or(0, |&unit| unit.into()) };
        self.pymarc_code(code, multibyte);
        self.pos += if multibyte { 3 } else { 1 };
    }

    /// The three units of an EACC character at `pos`; pymarc reads one cut short by the end as a
    /// space, 0x20, which EACC does not have.
    fn pymarc_multibyte_code(&mut self) -> u32 {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        if let [first, second, third, ..] = *rest {
            return pymarc_multibyte_code([first.into(), second.into(), third.into()]);
        }
        let cut_short = rest.iter().fold(0, |code: u32, &unit| code.saturating_mul(256).saturating_add(unit.into()));
        self.problem(self.pos, ProblemKind::TruncatedMultibyte(cut_short));
        u32::from(b' ')
    }

    /// Pymarc dialect: the character with this code, looked up by the code itself.
    fn pymarc_code(&mut self, code: u32, multibyte: bool) {
        // pymarc drops control characters, C0 and C1 (it looks 0x80 up in G0, where no set has it).
        if code < 0x20 || (0x81..0xA0).contains(&code) {
            return;
        }
        // High codes are G1's, except in EACC, whose three-byte codes are all G0's.
        let final_byte = if code > 0x80 && !multibyte { self.sets.g1 } else { self.sets.g0 };
        if let Some(value) = character_set(final_byte).and_then(|set| pymarc_lookup(set, code)) {
            return self.write_value(value);
        }
        if let Some(c) = lookup(&III_EXTRAS, code).and_then(char::from_u32) {
            // As in pymarc: not a base for pending combining marks.
            return self.text.push(c);
        }
        self.problem(self.pos, ProblemKind::UnmappedCode(code));
        self.write_base(self.unreadable);
    }

    /// A table value: a combining mark waits for its base character, anything else is written.
    fn write_value(&mut self, value: u32) {
        let c = char::from_u32(value & !COMBINING).unwrap_or(char::REPLACEMENT_CHARACTER);
        if value & COMBINING == 0 {
            return self.write_base(c);
        }
        if self.pending_marks.is_empty() {
            self.dangling = Some(Problem { offset: self.pos, kind: ProblemKind::DanglingCombining, sets: self.sets });
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

    fn designate(&mut self, start: usize, graphic: Graphic, final_byte: u8) {
        match graphic {
            Graphic::G0 => self.sets.g0 = final_byte,
            Graphic::G1 => self.sets.g1 = final_byte,
        }
        if character_set(final_byte).is_none() {
            self.problem(start, ProblemKind::UnknownCharacterSet(final_byte));
        }
    }

    fn problem(&mut self, offset: usize, kind: ProblemKind) {
        self.problems.push(Problem { offset, kind, sets: self.sets });
    }

    fn finish(mut self, normalize: bool) -> Decoded {
        if let Some(dangling) = self.dangling.filter(|_| !self.pending_marks.is_empty()) {
            // Reported where the marks were, not where the input ended: problems stay in input order.
            let at = self.problems.partition_point(|p| p.offset <= dangling.offset);
            self.problems.insert(at, dangling);
        }
        let text = if normalize { nfc(self.text) } else { self.text };
        Decoded { text, problems: self.problems, sets: self.sets }
    }
}

/// The MARC 21 dialect, and the pymarc dialect's escape sequences, which only bytes have.
impl Decoder<'_, u8> {
    /// Decodes what starts at `pos` (a character, an escape sequence or a control) and moves past it.
    fn step(&mut self) {
        let Some(&byte) = self.input.get(self.pos) else { return };
        match byte {
            ESC => self.escape(),
            _ if self.sets.g0 == BASIC_LATIN && is_printable_ascii(byte) => self.ascii_run(),
            // The space is in every set, EACC included.
            0x20 => {
                self.write_base(SPACE);
                self.pos += 1;
            }
            // C0 controls are kept as they are (see the module documentation).
            0x00..=0x1F => {
                self.text.push(char::from(byte));
                self.pos += 1;
            }
            // The C1 codes LC's tables have (the joiners, NSB and NSE); the others are dropped.
            0x81..=0x9F => {
                if let Some(value) = character_set(self.sets.g1).and_then(|set| lookup(set.entries, u32::from(byte))) {
                    self.text.push(char::from_u32(value & !COMBINING).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                self.pos += 1;
            }
            // pymarc looks 0x80 up in G0, where no set has it.
            0x80 => self.unmapped(u32::from(byte), 1),
            0x21..=0x7F => self.graphic(self.sets.g0, byte),
            0xA0..=0xFF => self.graphic(self.sets.g1, byte),
        }
    }

    /// Printable ASCII while G0 is Basic Latin, which LC maps to itself: copied as it is.
    fn ascii_run(&mut self) {
        let rest = self.input.get(self.pos..).unwrap_or_default();
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
        let Some(value) = half_mark(set, code).or_else(|| lookup(set.entries, code)) else {
            return self.unmapped(u32::from(byte), 1);
        };
        self.write_value(value);
        self.pos += 1;
    }

    /// An EACC character: three bytes (in G1, each taken at its G0 position). One cut short by the
    /// end of the input or by an ESC becomes a space, and decoding goes on from where it stopped.
    fn multibyte(&mut self, set: &CharacterSet, lead: u8) {
        let in_g1 = lead >= 0x80;
        let mut code = u32::from(lead & 0x7F);
        let mut length = 1;
        while length < 3 {
            match self.input.get(self.pos + length) {
                Some(&byte) if byte != ESC => code = code << 8 | u32::from(if in_g1 { byte & 0x7F } else { byte }),
                _ => break,
            }
            length += 1;
        }
        if length < 3 {
            self.problem(self.pos, ProblemKind::TruncatedMultibyte(code));
            self.write_base(self.unreadable);
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
        let after_esc = self.input.get(start + 1..).unwrap_or_default();
        match read_escape(after_esc) {
            Escape::Designation { graphic, final_byte, length, standard } => {
                if !standard {
                    self.problem(start, ProblemKind::NonstandardEscape);
                }
                self.designate(start, graphic, final_byte);
                self.pos += 1 + length;
            }
            Escape::Truncated => self.keep_escape_as_text(),
            Escape::Unknown => {
                self.problem(start, ProblemKind::UnknownEscape);
                self.pos += 1;
            }
        }
    }

    /// An escape sequence cut short by the end: the ESC is written, the bytes after it are read as
    /// characters.
    fn keep_escape_as_text(&mut self) {
        self.problem(self.pos, ProblemKind::TruncatedEscape);
        // Not a base character: pending marks still wait for one, as in pymarc.
        self.text.push(ESCAPE_CHAR);
        self.pos += 1;
    }

    /// A space for a code the set in force lacks.
    fn unmapped(&mut self, code: u32, length: usize) {
        self.problem(self.pos, ProblemKind::UnmappedCode(code));
        self.write_base(self.unreadable);
        self.pos += length;
    }

    /// Pymarc dialect: an escape sequence or a character, whichever pymarc sees at `pos`.
    fn pymarc_step(&mut self) {
        if self.input.get(self.pos) == Some(&ESC) {
            self.pymarc_escape();
        } else {
            self.pymarc_character();
        }
    }

    fn pymarc_escape(&mut self) {
        let start = self.pos;
        let after_esc = self.input.get(start + 1..).unwrap_or_default();
        match read_pymarc_escape(after_esc) {
            PymarcEscape::Designation { graphic, final_byte, length } => {
                self.designate(start, graphic, final_byte);
                self.pos += 1 + length;
            }
            PymarcEscape::ShortForm(byte_after_esc) => {
                if !is_technique_1(byte_after_esc) {
                    self.problem(start, ProblemKind::NonstandardEscape);
                }
                let final_byte = if byte_after_esc == b's' { BASIC_LATIN } else { byte_after_esc };
                self.designate(start, Graphic::G0, final_byte);
                self.pos += 2;
                self.character_after_short_form(start, byte_after_esc);
            }
            PymarcEscape::KeptAsText => self.keep_escape_as_text(),
            PymarcEscape::NotAnEscape => {
                self.problem(start, ProblemKind::UnknownEscape);
                self.pymarc_character();
            }
            PymarcEscape::Raises => self.pymarc_raises(start),
        }
    }

    /// pymarc reads the character after `ESC F` without looking for an escape sequence. At the
    /// end it stops after `ESC s`, and finds nothing to read after any other (but `ESC 1`: the
    /// EACC character cut short there it reads as a space).
    fn character_after_short_form(&mut self, start: usize, byte_after_esc: u8) {
        if self.pos < self.input.len() || is_multibyte(self.sets.g0) {
            self.pymarc_character();
        } else if byte_after_esc != b's' {
            self.pymarc_raises(start);
        }
    }

    fn pymarc_raises(&mut self, start: usize) {
        self.problem(start, ProblemKind::PymarcRaises);
        self.pos = self.input.len();
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

    fn pymarc(bytes: &[u8]) -> Decoded {
        decode_with(bytes, Sets::default(), Dialect::Pymarc)
    }

    fn pymarc_text(bytes: &[u8]) -> String {
        pymarc(bytes).text
    }

    fn pymarc_kinds(bytes: &[u8]) -> Vec<(usize, ProblemKind)> {
        offsets_and_kinds(&pymarc(bytes))
    }

    fn offsets_and_kinds(decoded: &Decoded) -> Vec<(usize, ProblemKind)> {
        decoded.problems.iter().map(|p| (p.offset, p.kind)).collect()
    }

    fn code_points(text: &str) -> Vec<u32> {
        text.chars().map(u32::from).collect()
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
            assert_eq!(pymarc_text(marc8), expected, "line {}", line + 1);
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
    fn controls_are_kept_as_lc_maps_them() {
        assert_eq!(text(b"a\x00b\x1fc\x88d\x89e\x8df\x8eg\x9fh"), "a\x00b\x1fc\u{98}d\u{9c}e\u{200d}f\u{200c}gh");
        assert_eq!(kinds(b"a\x00b\x1fc\x88d"), []);
        // Marks wait across them for their base.
        assert_eq!(text(b"\xe2\x1fe"), "\x1f\u{e9}");
        // pymarc drops them all.
        assert_eq!(pymarc_text(b"a\x00b\x1fc\x88d\x89e\x8df\x8eg\x9fh"), "abcdefgh");
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
    fn double_diacritics_are_two_half_marks() {
        // Ligature: U+FE20 after the first letter, U+FE21 after the second, as LC's UTF-8 records have it.
        assert_eq!(text(b"Sol\xebi\xecano\xe6i"), "Soli\u{fe20}a\u{fe21}no\u{12d}");
        // Double tilde: U+FE22, U+FE23.
        assert_eq!(text(b"\xfan\xfbg"), "n\u{fe22}g\u{fe23}");
        // A second half with no first half before it is its half mark all the same.
        assert_eq!(text(b"t\xecs"), "ts\u{fe21}");
        assert_eq!(kinds(b"t\xecs"), []);
    }

    // The kinds of difference from pymarc that decoding real records showed (the other kinds have
    // their tests above), each in a made-up string of the same shape.

    #[test]
    fn extended_cyrillic_as_g0_between_basic_cyrillic() {
        // Serbian written with ESC ( Q for the letters Basic Cyrillic lacks: pymarc gives "реше а".
        assert_eq!(text(b"\x1b(NRE[E\x1b(QJ\x1b(NA\x1b(B."), "\u{440}\u{435}\u{448}\u{435}\u{45a}\u{430}.");
        assert_eq!(
            text(b"\x1b(Qh\x1b(NUGOSLAWI\x1b(QH\x1b(NE\x1b(B"),
            "\u{408}\u{443}\u{433}\u{43e}\u{441}\u{43b}\u{430}\u{432}\u{438}\u{458}\u{435}"
        );
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
            assert!(set.entries.windows(2).all(|w| w[0].0 < w[1].0), "set {final_byte:#04x}");
            assert!(set.entries.iter().all(|&(_, v)| char::from_u32(v & !COMBINING).is_some()), "set {final_byte:#04x}");
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
                if alphabet.is_empty() {
                    state as u8
                } else {
                    alphabet[(state % alphabet.len() as u64) as usize]
                }
            })
            .collect()
    }

    #[test]
    fn normalising_between_ascii_characters_is_normalising_the_whole() {
        // Marks in and out of canonical order, Hangul jamo that compose starter with starter, a
        // compatibility ideograph, precomposed letters, Greek and Hebrew marks.
        let pool: Vec<char> = "aeoAIu .-\u{301}\u{300}\u{323}\u{308}\u{327}\u{361}\u{fe20}\u{1100}\u{1161}\u{11a8}\u{fa1d}\u{e9}\u{3b1}\u{342}\u{5b4}\u{5d1}\u{4eba}"
            .chars()
            .collect();
        for seed in 1..3000 {
            let picks = random_bytes(seed, (seed % 23) as usize, &[]);
            let s: String = picks.iter().map(|&b| pool[usize::from(b) % pool.len()]).collect();
            assert_eq!(nfc(s.clone()), s.nfc().collect::<String>(), "{s:?}");
        }
    }

    fn check_invariants(bytes: &[u8]) {
        let decoded = decode(bytes);
        assert!(decoded.problems.iter().all(|p| p.offset < bytes.len()), "{bytes:?}");
        assert!(decoded.problems.windows(2).all(|w| w[0].offset <= w[1].offset), "{bytes:?}");
        assert!(decoded.text.chars().count() <= bytes.len() * 2, "{bytes:?}");
        // The pymarc dialect may report an EACC character it starts reading at the very end.
        let decoded = pymarc(bytes);
        assert!(decoded.problems.iter().all(|p| p.offset <= bytes.len()), "{bytes:?}");
        assert!(decoded.problems.windows(2).all(|w| w[0].offset <= w[1].offset), "{bytes:?}");
        assert!(decoded.text.chars().count() <= bytes.len() * 2, "{bytes:?}");
        let raised = decoded.problems.iter().position(|p| p.kind == ProblemKind::PymarcRaises);
        assert!(raised.is_none_or(|at| at + 1 == decoded.problems.len()), "{bytes:?}");
        // And read as text, each byte a code point, from EACC too.
        let units: Vec<u32> = bytes.iter().map(|&b| u32::from(b)).collect();
        for g0 in [BASIC_LATIN, 0x31] {
            let decoded = decode_pymarc_text(&units, Sets { g0, g1: EXTENDED_LATIN });
            assert!(decoded.problems.iter().all(|p| p.offset <= units.len()), "{bytes:?}");
            assert_eq!(decoded.sets, Sets { g0, g1: EXTENDED_LATIN });
        }
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
        let alphabet: Vec<u8> =
            b"\x1b()$,-!1ENQ2345Sbgps \x21\x30\x64\x7f\x20\x14".iter().chain(&[0xa1, 0xe2, 0xfd, 0x88, 0x1f]).copied().collect();
        for seed in 1..2000 {
            check_invariants(&random_bytes(seed, (seed % 97) as usize, &[]));
            check_invariants(&random_bytes(seed, (seed % 61) as usize, &alphabet));
        }
        // Code points of every size, EACC ones whose pymarc code overflows included.
        for seed in 1..500 {
            let units: Vec<u32> = random_bytes(seed, (seed % 40) as usize, &[])
                .chunks(2)
                .map(|pair| pair.iter().fold(0u32, |code, &b| code << 9 | u32::from(b)) % 0x11_0000)
                .collect();
            for g0 in [BASIC_LATIN, 0x31, b'N'] {
                let decoded = decode_pymarc_text(&units, Sets { g0, g1: EXTENDED_LATIN });
                assert!(decoded.problems.iter().all(|p| p.offset <= units.len()), "{units:?}");
            }
        }
    }

    // The pymarc dialect, each divergence from MARC 21 beside what MARC 21 gives.

    #[test]
    fn dialects_double_diacritics() {
        // Both write the half marks.
        assert_eq!(text(b"\xfan\xfbg"), pymarc_text(b"\xfan\xfbg"));
        assert_eq!(pymarc_text(b"Sol\xebi\xecano\xe6i"), "Soli\u{fe20}a\u{fe21}no\u{12d}");
        assert_eq!(pymarc_kinds(b"Sol\xebi\xecano\xe6i"), []);
    }

    #[test]
    fn dialects_sets_designated_at_the_other_half() {
        // Extended Cyrillic, listed at G1 codes, designated as G0: pymarc finds nothing at 0x4A.
        assert_eq!(text(b"\x1b(QJ\x1b(B"), "\u{45a}");
        assert_eq!(pymarc_text(b"\x1b(QJ\x1b(B"), " ");
        assert_eq!(pymarc_kinds(b"\x1b(QJ\x1b(B"), [(3, ProblemKind::UnmappedCode(0x4a))]);
        assert_eq!(pymarc(b"\x1b(QJ\x1b(B").problems[0].sets, Sets { g0: b'Q', g1: EXTENDED_LATIN });
        // Basic Cyrillic, listed at G0 codes, designated as G1.
        assert_eq!(text(b"\x1b)N\xcd\xc9\xd2"), "\u{43c}\u{438}\u{440}");
        assert_eq!(pymarc_text(b"\x1b)N\xcd\xc9\xd2"), "   ");
        // Serbian, ESC ( Q for the letter Basic Cyrillic lacks: "решења." in MARC 21, "реше а." in pymarc.
        let serbian = b"\x1b(NRE[E\x1b(QJ\x1b(NA\x1b(B.";
        assert_eq!(text(serbian), "\u{440}\u{435}\u{448}\u{435}\u{45a}\u{430}.");
        assert_eq!(pymarc_text(serbian), "\u{440}\u{435}\u{448}\u{435} \u{430}.");
        // `ESC ) ! E` designates ANSEL in MARC 21; pymarc designates a set "!" and reads the E.
        assert_eq!(text(b"\x1b)!E\xe2e"), "\u{e9}");
        assert_eq!(pymarc_text(b"\x1b)!E\xe2e"), "E e");
        assert_eq!(pymarc(b"\x1b)!E").sets, Sets { g0: BASIC_LATIN, g1: b'!' });
        // `ESC $ ) 1` designates EACC as G1 in MARC 21; pymarc designates a set ")" as G0.
        assert_eq!(text(b"\x1b$)1\xa1\xb0\xe4"), "\u{4eba}");
        let decoded = pymarc(b"\x1b$)1\xa1");
        assert_eq!(decoded.text, " \u{141}");
        assert_eq!(decoded.sets, Sets { g0: b')', g1: EXTENDED_LATIN });
        assert_eq!(
            pymarc_kinds(b"\x1b$)1\xa1"),
            [(0, ProblemKind::UnknownCharacterSet(b')')), (3, ProblemKind::UnmappedCode(u32::from(b'1')))]
        );
    }

    #[test]
    fn dialects_spaces_and_high_bytes_between_eacc_characters() {
        // MARC 21: one character each. pymarc: three bytes whatever they are.
        let spaced = b"\x1b$1\x21\x30\x64 \x21\x30\x64";
        assert_eq!(text(spaced), "\u{4eba} \u{4eba}");
        assert_eq!(pymarc_text(spaced), "\u{4eba}  ");
        assert_eq!(
            pymarc_kinds(spaced),
            [
                (6, ProblemKind::UnmappedCode(0x202130)),
                (9, ProblemKind::TruncatedMultibyte(0x64)),
                (9, ProblemKind::UnmappedCode(0x20)),
            ]
        );
        let high = b"\x1b$1\xfd\x21\x30\x64";
        assert_eq!(text(high), " \u{4eba}");
        assert_eq!(
            pymarc_kinds(high),
            [
                (3, ProblemKind::UnmappedCode(0xfd2130)),
                (6, ProblemKind::TruncatedMultibyte(0x64)),
                (6, ProblemKind::UnmappedCode(0x20)),
            ]
        );
    }

    #[test]
    fn dialects_an_escape_inside_an_eacc_character() {
        // MARC 21: the escape ends the character cut short. pymarc: it is read as part of it.
        let cut = b"\x1b$1\x21\x30\x1b(Babc";
        assert_eq!(text(cut), " abc");
        assert_eq!(pymarc_text(cut), "   ");
        assert_eq!(
            pymarc_kinds(cut),
            [
                (3, ProblemKind::UnmappedCode(0x21301b)),
                (6, ProblemKind::UnmappedCode(0x284261)),
                (9, ProblemKind::TruncatedMultibyte(0x6263)),
                (9, ProblemKind::UnmappedCode(0x20)),
            ]
        );
        assert_eq!(pymarc(cut).sets.g0, 0x31);
        // An escape where a character starts is read in both.
        assert_eq!(pymarc_text(b"\x1b$1\x21\x30\x64\x1b(Babc"), "\u{4eba}abc");
    }

    #[test]
    fn dialects_escape_sequences_cut_short_at_the_end() {
        // `ESC $ )` and `ESC $ -`: kept as text in MARC 21; pymarc designates ")" or "-" as G0.
        for (cut, set) in [(&b"a\x1b$)"[..], b')'), (b"a\x1b$-", b'-')] {
            assert_eq!(text(cut), format!("a\x1b${}", char::from(set)));
            assert_eq!(pymarc_text(cut), "a");
            assert_eq!(pymarc(cut).sets.g0, set);
        }
        // Where pymarc raises, decoding stops there, with the sets pymarc was left with.
        let raising: [(&[u8], &str); 7] = [
            (b"a\x1b$,", "a\x1b$,"),
            (b"a\x1b", "a\x1b"),
            (b"a\x1b)", "a\x1b)"),
            (b"a\x1b-", "a\x1b-"),
            (b"a\x1bg", "a"),
            (b"a\x1bN", "a"),
            (b"a\x1bb", "a"),
        ];
        for (cut, marc21) in raising {
            assert_eq!(text(cut), marc21, "{cut:?}");
            assert!(kinds(cut).iter().all(|k| k.1 != ProblemKind::PymarcRaises), "{cut:?}");
            assert_eq!(pymarc_kinds(cut).last(), Some(&(1, ProblemKind::PymarcRaises)), "{cut:?}");
        }
        assert_eq!(pymarc(b"a\x1bg").problems.last().map(|p| p.sets.g0), Some(b'g'));
        // `ESC B` designates Basic Latin as `ESC s` does, but pymarc stops quietly only after `ESC s`.
        assert_eq!(pymarc_kinds(b"a\x1bs"), []);
        assert_eq!(pymarc_kinds(b"a\x1bB"), [(1, ProblemKind::NonstandardEscape), (1, ProblemKind::PymarcRaises)]);
        // Kept as text in both: `ESC (`, `ESC ,`, `ESC $`; pymarc then reads the byte as a character.
        for cut in [&b"\x1b("[..], b"\x1b,", b"\x1b$"] {
            assert_eq!(text(cut), pymarc_text(cut), "{cut:?}");
            assert_eq!(pymarc_kinds(cut), [(0, ProblemKind::TruncatedEscape)], "{cut:?}");
        }
        // `ESC 1` at the end starts an EACC character pymarc cuts short.
        assert_eq!(pymarc_text(b"a\x1b1"), "a ");
        assert_eq!(
            pymarc_kinds(b"a\x1b1"),
            [(1, ProblemKind::NonstandardEscape), (3, ProblemKind::TruncatedMultibyte(0)), (3, ProblemKind::UnmappedCode(0x20)),]
        );
    }

    #[test]
    fn dialects_spaces_in_other_sets() {
        // MARC 21 has the space in every set; pymarc's tables only in Basic Latin (it writes a space
        // all the same, and a warning).
        let cyrillic = b"\x1b(NMIR MIR\x1b(B";
        assert_eq!(text(cyrillic), "\u{43c}\u{438}\u{440} \u{43c}\u{438}\u{440}");
        assert_eq!(pymarc_text(cyrillic), text(cyrillic));
        assert_eq!(kinds(cyrillic), []);
        assert_eq!(pymarc_kinds(cyrillic), [(6, ProblemKind::UnmappedCode(0x20))]);
    }

    #[test]
    fn dialects_the_byte_after_a_short_escape() {
        // MARC 21 reads the ESC after `ESC b` as an escape; pymarc reads it as a character (a
        // control, dropped), then "p" as a subscript, which there is none of.
        assert_eq!(text(b"x\x1bb\x1bp2\x1bs"), "x\u{b2}");
        assert_eq!(pymarc_text(b"x\x1bb\x1bp2\x1bs"), "x \u{2082}");
        // An unknown escape: MARC 21 drops the ESC; pymarc reads it as a character, here the first
        // byte of an EACC one.
        let unknown = b"\x1b$1\x1bz\x21\x30\x64";
        assert_eq!(kinds(unknown)[..2], [(3, ProblemKind::UnknownEscape), (4, ProblemKind::UnmappedCode(0x7a2130))]);
        let in_pymarc = pymarc_kinds(unknown);
        assert_eq!(in_pymarc[..2], [(3, ProblemKind::UnknownEscape), (3, ProblemKind::UnmappedCode(0x1b7a21))]);
    }

    #[test]
    fn dialects_eacc_codes_pymarcs_tables_map_otherwise() {
        assert_eq!(text(b"\x1b$1\x22\x33\x39"), "\u{22c4d}");
        assert_eq!(pymarc_text(b"\x1b$1\x22\x33\x39"), "\u{3013}");
        assert_eq!(text(b"\x1b$1\x6f\x76\x25"), "\u{318d}");
        assert_eq!(pymarc_text(b"\x1b$1\x6f\x76\x25"), "\u{e8b1}");
        // A compatibility ideograph in pymarc's tables: NFC makes it LC's unified one.
        assert_eq!(pymarc_text(b"\x1b$1\x21\x50\x61"), "\u{7cbe}");
        // III punctuation: not a base for pending marks, in both.
        assert_eq!(pymarc_text(b"\x1b$1\x7f\x20\x14\x1b(B\xe2e"), "\u{2014}\u{e9}");
    }

    #[test]
    fn pymarc_reads_text_each_code_point_as_a_byte() {
        let basic = Sets::default();
        // No escape sequence is recognised; the ESC and other controls are dropped.
        let decoded = decode_pymarc_text(&code_points("a\u{1b}(Nb\u{85}c"), basic);
        assert_eq!(decoded.text, "a(Nbc");
        assert_eq!(decoded.sets, basic);
        // A character above 0x80 is looked up in G1: é (0xE9) is ANSEL's caron.
        assert_eq!(decode_pymarc_text(&code_points("\u{e9}a"), basic).text, "\u{1ce}");
        // Beyond the tables: a space and the code.
        let decoded = decode_pymarc_text(&code_points("\u{436}x"), basic);
        assert_eq!(decoded.text, " x");
        assert_eq!(offsets_and_kinds(&decoded), [(0, ProblemKind::UnmappedCode(0x436))]);
        // Lone surrogates are code points too.
        assert_eq!(decode_pymarc_text(&[0xdc80], basic).problems[0].kind, ProblemKind::UnmappedCode(0xdc80));
        // With EACC as G0: three code points to a character, 65536 and 256 times the first two.
        let eacc = Sets { g0: 0x31, g1: EXTENDED_LATIN };
        assert_eq!(decode_pymarc_text(&[0x21, 0x30, 0x64], eacc).text, "\u{4eba}");
        assert_eq!(decode_pymarc_text(&[0x21, 0x2f, 0x164], eacc).text, "\u{4eba}");
        let huge = decode_pymarc_text(&[0x10_ffff, 0, 0], eacc);
        assert_eq!((huge.text.as_str(), huge.problems[0].kind), (" ", ProblemKind::UnmappedCode(u32::MAX)));
        let cut = decode_pymarc_text(&[0x21, 0x30], eacc);
        let expected = [(0, ProblemKind::TruncatedMultibyte(0x2130)), (0, ProblemKind::UnmappedCode(0x20))];
        assert_eq!(offsets_and_kinds(&cut), expected);
    }
}
