#!/usr/bin/env python3
"""Writes src/marc8_tables.rs from the Library of Congress MARC-8 code tables.

Usage (from the repository root, or anywhere):

    python3 tools/marc8/generate.py

Reads tools/marc8/codetables.xml.gz (see PROVENANCE.md beside it) and writes one sorted table per
character set: (MARC-8 code, Unicode scalar value with a flag bit for combining marks). Each
`<code>` maps to its `<ucs>` value, or to its `<alt>` value where `<ucs>` is empty, as pymarc's
tables do. Only two codes have an empty `<ucs>`: the second halves of the double diacritics
(ANSEL EC, ligature, and FB, double tilde). LC maps their first halves (EB, FA) to the single marks
U+0361 and U+0360 that span both letters, and keeps the half marks U+FE20 and U+FE22 as their
`<alt>`: each set also lists its (second half, first half) pairs, and the decoder writes a first
half as its `<alt>`, as LC's own UTF-8 records do (see src/marc8.rs).

Each set also lists the codes that the decoder's pymarc dialect reads differently (see
`PYMARC_EACC` and `pymarc_overrides`): that dialect exists for scripts moved from pymarc, which
must get the text pymarc gave them.

Standard library only, so it runs wherever Python 3 does.
"""

import gzip
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "codetables.xml.gz"
TARGET = HERE.parent.parent / "src" / "marc8_tables.rs"

# The Rust constant name of each set, by its ISO code (the final byte of its escape sequences).
RUST_NAMES = {
    0x42: "BASIC_LATIN",
    0x45: "EXTENDED_LATIN",
    0x67: "GREEK_SYMBOLS",
    0x62: "SUBSCRIPTS",
    0x70: "SUPERSCRIPTS",
    0x32: "BASIC_HEBREW",
    0x4E: "BASIC_CYRILLIC",
    0x51: "EXTENDED_CYRILLIC",
    0x33: "BASIC_ARABIC",
    0x34: "EXTENDED_ARABIC",
    0x53: "BASIC_GREEK",
    0x31: "EACC",
}
MULTIBYTE = {0x31}

# Codes outside EACC that the Innovative Interfaces (III) ILS writes in MARC-8 records for typographic
# punctuation. LC does not define them; MARC::Charset (etc/additional-iii-characters.xml in the same
# Debian source package as LC's tables) and pymarc decode them, and so does this decoder, as a
# fallback after the EACC table.
III_EXTRAS = [
    (0x21203D, 0x2026, "HORIZONTAL ELLIPSIS"),
    (0x212040, 0x201C, "LEFT DOUBLE QUOTATION MARK"),
    (0x7F2014, 0x2014, "EM DASH"),
    (0x7F2019, 0x2019, "RIGHT SINGLE QUOTATION MARK"),
    (0x7F2020, 0x201D, "RIGHT DOUBLE QUOTATION MARK"),
    (0x7F2122, 0x2122, "TRADE MARK SIGN"),
]

# EACC codes whose character in pymarc 5.4's mapping differs from LC's in the text it gives. pymarc's
# tables were generated from an earlier edition of LC's: there, three ideographs that LC now maps to
# CJK Extension B had U+3013 GETA MARK (the tables' stand-in for a character Unicode lacked) and two
# Hangul letters had private-use characters. The pymarc dialect uses these values instead of LC's.
# (Eight more codes are CJK compatibility ideographs in pymarc's mapping where LC has the unified
# ideographs, e.g. 0x215061, U+FA1D where LC has U+7CBE: NFC, which pymarc applies too, turns each
# into LC's, so the text is the same and they need no entry.)
PYMARC_EACC = {
    0x217559: 0x3013,  # LC: U+212C4
    0x222A34: 0x3013,  # LC: U+2251B
    0x223339: 0x3013,  # LC: U+22C4D
    0x6F7625: 0xE8B1,  # LC: U+318D HANGUL LETTER ARAEA
    0x6F773C: 0xE8CB,  # LC: U+C717
}

COMBINING_BIT = 1 << 31
ENTRIES_PER_LINE = 6


def text(element, tag):
    return " ".join((element.findtext(tag) or "").split())


def read_sets(root):
    """{iso_code: (name, [(code, scalar, combining)], [(second half, first half)], {code: alt})}.

    In file order. The second halves are those of the double diacritics: their <marc_left_half>
    names the code of the first half, whose <ucs> is the one Unicode mark spanning both letters.
    The last item holds every code's <alt>, if it has one.
    """
    sets = {}
    for character_set in root.iter("characterSet"):
        iso = int(character_set.get("ISOcode"), 16)
        if iso in sets:
            sys.exit(f"character set {iso:#x} appears twice")
        entries = {}
        halves = []
        alts = {}
        for code in character_set.iter("code"):
            marc = int(text(code, "marc"), 16)
            value = text(code, "ucs") or text(code, "alt")
            if not value:
                sys.exit(f"set {iso:#x} code {marc:#x} has neither <ucs> nor <alt>")
            if marc in entries:
                sys.exit(f"set {iso:#x} code {marc:#x} appears twice")
            entries[marc] = (int(value, 16), text(code, "isCombining") == "true")
            if text(code, "marc_left_half"):
                halves.append((marc, int(text(code, "marc_left_half"), 16)))
            if text(code, "alt"):
                alts[marc] = int(text(code, "alt"), 16)
        rows = sorted((c, s, comb) for c, (s, comb) in entries.items())
        sets[iso] = (character_set.get("name"), rows, sorted(halves), alts)
    return sets


def pymarc_overrides(iso, entries, halves, alts):
    """[(code, scalar, combining)]: the codes the pymarc dialect reads differently, sorted.

    pymarc writes a double diacritic as two half marks, U+FE20 and U+FE21 (ligature) or U+FE22
    and U+FE23 (double tilde): the second halves are LC's too, the first halves LC's <alt>, which
    it keeps as "not recommended". And the EACC codes of `PYMARC_EACC`.
    """
    combining = {code: comb for code, _, comb in entries}
    overrides = [(first, alts[first], combining[first]) for _, first in halves]
    if iso == 0x31:
        overrides += [(code, scalar, combining[code]) for code, scalar in PYMARC_EACC.items()]
    return sorted(overrides)


def is_control(code):
    return code < 0x20 or 0x80 <= code < 0xA0


def listed_as_g1(iso, entries):
    """Whether LC lists the set's graphic characters at their G1 positions (0xA1-0xFE)."""
    if iso in MULTIBYTE:
        return False
    graphic = [code for code, _, _ in entries if not is_control(code)]
    high = [code >= 0x80 for code in graphic]
    if any(high) and not all(high):
        sys.exit(f"set {iso:#x} lists graphic characters in both halves")
    return all(high)


def check(sets):
    if set(sets) != set(RUST_NAMES):
        sys.exit(f"expected sets {sorted(map(hex, RUST_NAMES))}, found {sorted(map(hex, sets))}")
    # The decoder copies printable ASCII straight through while Basic Latin is G0: check that LC
    # maps it to itself.
    basic = {code: (scalar, comb) for code, scalar, comb in sets[0x42][1]}
    for byte in range(0x20, 0x7F):
        if basic.get(byte) != (byte, False):
            sys.exit(f"Basic Latin {byte:#x} does not map to itself")
    for iso, (_, entries, halves, alts) in sets.items():
        codes = {code for code, _, _ in entries}
        if any(second not in codes or first not in codes for second, first in halves):
            sys.exit(f"set {iso:#x}: a double diacritic half is missing")
        if any(first not in alts for _, first in halves):
            sys.exit(f"set {iso:#x}: a double diacritic's first half has no <alt>")
        width = 3 if iso in MULTIBYTE else 1
        for code, scalar, _ in entries:
            if code >= 1 << (8 * width) or not 0 <= scalar <= 0x10FFFF or 0xD800 <= scalar <= 0xDFFF:
                sys.exit(f"set {iso:#x}: bad entry {code:#x} -> {scalar:#x}")
    eacc = {code: scalar for code, scalar, _ in sets[0x31][1]}
    for code, scalar in PYMARC_EACC.items():
        if eacc.get(code, scalar) == scalar:
            sys.exit(f"EACC {code:#x}: not in LC's table, or LC maps it to pymarc's value already")


def rust_value(scalar, combining):
    return scalar | (COMBINING_BIT if combining else 0)


def rust_entries(entries):
    cells = [f"({code:#x}, {rust_value(scalar, comb):#x})" for code, scalar, comb in entries]
    lines = [", ".join(cells[i : i + ENTRIES_PER_LINE]) + "," for i in range(0, len(cells), ENTRIES_PER_LINE)]
    return "\n".join("    " + line for line in lines)


def rust_slice_field(name, cells):
    """A struct field holding a slice literal, laid out as rustfmt would."""
    line = f"    {name}: &[{', '.join(cells)}],"
    if len(line) <= 100:
        return line
    return "\n".join([f"    {name}: &["] + [f"        {cell}," for cell in cells] + ["    ],"])


def render(sets):
    out = [
        "// @generated by tools/marc8/generate.py from tools/marc8/codetables.xml.gz, the Library of",
        "// Congress MARC-8 code tables (see tools/marc8/PROVENANCE.md). Do not edit by hand: change the",
        "// generator and run `python3 tools/marc8/generate.py`.",
        "",
        "//! The MARC-8 character sets, one sorted table per set.",
        "",
        "/// Flag bit in a table value: the character is a combining mark.",
        f"pub(crate) const COMBINING: u32 = {COMBINING_BIT:#x};",
        "",
        "/// A MARC-8 graphic character set as LC's code tables give it.",
        "pub(crate) struct CharacterSet {",
        "    /// 3 for EACC, else 1.",
        "    pub bytes_per_char: usize,",
        "    /// LC lists the graphic characters at their G1 codes (0xA1-0xFE), not their G0 codes (0x21-0x7E).",
        "    pub listed_as_g1: bool,",
        "    /// `(code, scalar value | COMBINING if a combining mark)`, sorted by code.",
        "    pub entries: &'static [(u32, u32)],",
        "    /// `(second half, first half)` of each double diacritic (a mark spanning two letters, written",
        "    /// in MARC-8 as two halves, one before each letter), sorted.",
        "    pub second_halves: &'static [(u32, u32)],",
        "    /// `(code, value)`, values as in `entries`, where the decoder's pymarc dialect reads a code",
        "    /// as pymarc's own tables do, not as LC's (see `tools/marc8/generate.py`). Sorted by code.",
        "    pub pymarc_overrides: &'static [(u32, u32)],",
        "}",
        "",
        "/// The set that escape sequences ending in `final_byte` designate, if LC's tables have it.",
        "pub(crate) fn character_set(final_byte: u8) -> Option<&'static CharacterSet> {",
        "    match final_byte {",
    ]
    for iso in sets:
        out.append(f"        {iso:#04x} => Some(&{RUST_NAMES[iso]}),")
    out += ["        _ => None,", "    }", "}", ""]
    for iso, (name, entries, halves, alts) in sets.items():
        const = RUST_NAMES[iso]
        second_halves = ", ".join(f"({second:#x}, {first:#x})" for second, first in halves)
        overrides = [
            f"({code:#x}, {rust_value(scalar, comb):#x})"
            for code, scalar, comb in pymarc_overrides(iso, entries, halves, alts)
        ]
        out += [
            f"/// {name}: {len(entries)} codes.",
            f"pub(crate) static {const}: CharacterSet = CharacterSet {{",
            f"    bytes_per_char: {3 if iso in MULTIBYTE else 1},",
            f"    listed_as_g1: {'true' if listed_as_g1(iso, entries) else 'false'},",
            f"    entries: &{const}_ENTRIES,",
            f"    second_halves: &[{second_halves}],",
            rust_slice_field("pymarc_overrides", overrides),
            "};",
            "",
            "#[rustfmt::skip]",
            f"static {const}_ENTRIES: [(u32, u32); {len(entries)}] = [",
            rust_entries(entries),
            "];",
            "",
        ]
    extras = sorted(III_EXTRAS)
    out += [
        "/// Codes outside EACC that the Innovative Interfaces (III) ILS writes for typographic punctuation;",
        "/// LC does not define them. Looked up after the EACC table. Sorted by code.",
        "#[rustfmt::skip]",
        f"pub(crate) static III_EXTRAS: [(u32, u32); {len(extras)}] = [",
    ]
    out += [f"    ({code:#x}, {scalar:#x}), // {name}" for code, scalar, name in extras]
    out += ["];", ""]
    return "\n".join(out)


def main():
    with gzip.open(SOURCE) as xml:
        sets = read_sets(ET.parse(xml).getroot())
    check(sets)
    TARGET.write_text(render(sets))
    # Laid out as `cargo fmt --check` wants it, by the repository's rustfmt.toml.
    subprocess.run(["rustfmt", "--edition", "2021", str(TARGET)], check=True)
    for iso, (name, entries, _, _) in sets.items():
        print(f"{iso:#04x} {name}: {len(entries)} codes")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
