"""MARC-8 to Unicode: pymarc 5.4's ``pymarc.marc8`` module, decoded by marc_polars's native code.

The text is pymarc's for well-formed MARC-8: the same NFC strings, the same spaces for codes no
table has, control characters dropped, warnings on stderr worded as pymarc words them. The tables
are the Library of Congress's current ones, and the decoder follows MARC 21 where pymarc does not:

- a double diacritic (ligature, double tilde) is LC's one spanning mark, U+0361 or U+0360, where
  pymarc writes two halves, U+FE20 and U+FE21 or U+FE22 and U+FE23 (LC's "not recommended"
  alternatives); a second half with no first half before it is still U+FE21 or U+FE23;
- a character set may be designated as G0 or G1 (``ESC ( Q`` then 0x4A is Extended Cyrillic њ,
  which pymarc turns into a space), ``ESC ) ! E`` designates ANSEL, and ``ESC $ ) 1`` and
  ``ESC $ - 1`` designate EACC as G1;
- between EACC characters a space and a byte 0x80-0xFF are one character each, and an escape
  sequence ends an EACC character cut short, so that the text after it is not lost;
- the byte after ``ESC b``, ``ESC p``, ``ESC g`` or ``ESC s`` may start another escape sequence;
- a few EACC codes decode to the characters LC now gives them (a CJK Extension B ideograph, a
  Hangul letter) where pymarc's older tables have U+3013 GETA MARK or a private-use character.

So pymarc's warnings about spaces between Cyrillic, Greek, Hebrew, Arabic or EACC characters
("Unable to parse character 0x20"), which MARC 21 allows in every set, are not printed, and an
escape sequence cut short at the very end of the input, which pymarc mostly fails on, is kept in
the text as U+001B plus what follows it, except where pymarc raises (then so does this).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from marc_polars._native import marc8_to_unicode as _decode

# pymarc fails on these escape sequences at the very end of the input: ord() of an empty slice.
_PYMARC_FAILURE = "ord() expected a character, but string of length 0 found"


def marc8_to_unicode(marc8: bytes, hide_utf8_warnings: bool = False) -> str:
    """The text of MARC-8 bytes, as pymarc's function of that name returns it.

    Raises ``UnicodeDecodeError`` where pymarc does: an escape sequence cut short by the end of
    the input (all but ``ESC (``, ``ESC ,`` and ``ESC $``, which stay in the text).
    """
    converter = MARC8ToUnicode(quiet=hide_utf8_warnings)
    try:
        return converter.translate(marc8)
    except (IndexError, TypeError) as err:
        if not isinstance(marc8, (bytes, bytearray, memoryview)):
            raise
        raise UnicodeDecodeError(
            "marc8_to_unicode", bytes(marc8), 0, len(marc8), "invalid multibyte character encoding"
        ) from err


class MARC8ToUnicode:
    """Converts MARC-8 to Unicode, as pymarc's class of that name.

    ``g0`` and ``g1`` hold the final bytes of the sets designated as G0 and G1. Like pymarc's,
    ``translate`` starts from them and leaves in them the sets in force at the end of its input,
    so a converter carries escape sequences over from one call to the next. ``quiet`` hides the
    "Unable to parse character" warnings (not the "Multi-byte position" ones, as in pymarc).
    """

    basic_latin = 0x42
    ansel = 0x45

    def __init__(self, G0: int = basic_latin, G1: int = ansel, quiet: bool = False) -> None:
        self.g0 = G0
        self.g0_set = {b"(", b",", b"$"}
        self.g1 = G1
        self.g1_set = {b")", b"-", b"$"}
        self.quiet = quiet

    def translate(self, marc8_string: bytes) -> str:
        """The text of ``marc8_string``; warnings about undecodable bytes go to stderr."""
        if not marc8_string:
            return ""
        data = _as_bytes(marc8_string)
        text, problems, g0, g1 = _decode(data, self.g0, self.g1)
        for offset, kind, code, problem_g0, problem_g1 in problems:
            if kind == "truncated_escape" and _pymarc_fails_on_escape(data, offset):
                self.g0, self.g1 = problem_g0, problem_g1
                raise TypeError(_PYMARC_FAILURE)
            self._warn(data, offset, kind, code, problem_g0, problem_g1)
        self.g0, self.g1 = g0, g1
        return text

    def _warn(self, data: bytes, offset: int, kind: str, code: int | None, g0: int, g1: int) -> None:
        """What pymarc writes to stderr for this problem, if anything."""
        if kind == "unmapped_code" and code is not None:
            self._cannot_parse(code, g0, g1)
        elif kind == "truncated_multibyte":
            if offset + 3 > len(data):
                # pymarc reads a space for the missing character, which EACC does not have.
                sys.stderr.write(f"Multi-byte position {offset + 3} exceeds length of marc8 string {len(data)}\n")
                self._cannot_parse(0x20, g0, g1)
            else:
                # Cut short by an escape sequence, whose first bytes pymarc reads as the rest of it.
                self._cannot_parse(int.from_bytes(data[offset : offset + 3], "big"), g0, g1)

    def _cannot_parse(self, code: int, g0: int, g1: int) -> None:
        if not self.quiet:
            sys.stderr.write(f"Unable to parse character 0x{code:x} in g0={g0} g1={g1}\n")


def _as_bytes(marc8: bytes | bytearray | memoryview | Sequence[int]) -> bytes:
    if isinstance(marc8, str):
        raise TypeError("MARC-8 data must be bytes, not str")
    return bytes(marc8)


def _pymarc_fails_on_escape(data: bytes, offset: int) -> bool:
    """Whether pymarc raises on the escape sequence cut short at ``offset``.

    It keeps ``ESC (``, ``ESC ,`` and ``ESC $`` as text but fails on a lone ESC, on ``ESC )`` and
    ``ESC -``, and on ``ESC $ ,``.
    """
    rest = data[offset + 1 :]
    return not rest or rest in (b")", b"-", b"$,")


__all__ = ["MARC8ToUnicode", "marc8_to_unicode"]
