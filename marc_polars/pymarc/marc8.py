"""MARC-8 to Unicode: pymarc 5.4's ``pymarc.marc8`` module, decoded by marc_polars's native code.

Scripts moved from pymarc must get the text pymarc gave them, so the native decoder runs in its
pymarc dialect here: it reads MARC-8 as pymarc does, including where pymarc departs from MARC 21
(the rest of marc_polars follows MARC 21). Among other things:

- every code is looked up in the table of the set in force by the code itself, not by its
  position in the set: Extended Cyrillic designated as G0 (``ESC ( Q`` then 0x4A) gives a space,
  and a space between Cyrillic letters a warning;
- escape sequences are read as pymarc reads them: ``ESC $ ) 1`` designates a set ``)`` as G0;
- while EACC is G0, every character takes three bytes, whatever they are;
- a double diacritic is two half marks, U+FE20 and U+FE21 or U+FE22 and U+FE23;
- a ``str`` is read too, each character's code point as if it were a byte (no escape sequence is
  recognised in one), as pymarc's ``map_marc8_record`` does to records already decoded;
- the warnings pymarc writes to stderr are written, worded alike, and where pymarc raises (on some
  escape sequences cut short by the end of the input) so does this, with the same exception.

The tables are the Library of Congress's, with pymarc's values where its older copy of them
differs: the first halves of double diacritics, and five EACC codes LC now maps to CJK Extension B
ideographs or Hangul letters.
"""

from __future__ import annotations

import sys

from marc_polars._native import marc8_to_unicode as _decode

# What pymarc raises where it reads past the end of an escape sequence: ord() of an empty slice.
_PYMARC_FAILURE = "ord() expected a character, but string of length 0 found"


def marc8_to_unicode(marc8: bytes | str, hide_utf8_warnings: bool = False) -> str:
    """The text of MARC-8 bytes, as pymarc's function of that name returns it.

    Raises ``UnicodeDecodeError`` where pymarc does: some escape sequences cut short by the end of
    the input (a lone ESC; ``ESC )``, ``ESC -`` and ``ESC $ ,``; ``ESC F`` for a set F but EACC).
    """
    converter = MARC8ToUnicode(quiet=hide_utf8_warnings)
    try:
        return converter.translate(marc8)
    except (IndexError, TypeError) as err:
        # As pymarc makes it, from whatever it was given (which fails for anything but bytes).
        raise UnicodeDecodeError(
            "marc8_to_unicode",
            marc8,  # type: ignore[arg-type]  # a str too, on purpose: the TypeError that follows is pymarc's
            0,
            len(marc8),
            "invalid multibyte character encoding",
        ) from err


class MARC8ToUnicode:
    """Converts MARC-8 to Unicode, as pymarc's class of that name.

    ``g0`` and ``g1`` hold the final bytes of the sets designated as G0 and G1. Like pymarc's,
    ``translate`` starts from them and leaves in them the sets in force at the end of its input (or
    where it raised), so a converter carries escape sequences over from one call to the next.
    ``quiet`` hides the "Unable to parse character" warnings (not the "Multi-byte position" ones,
    as in pymarc).
    """

    basic_latin = 0x42
    ansel = 0x45

    def __init__(self, G0: int = basic_latin, G1: int = ansel, quiet: bool = False) -> None:
        self.g0 = G0
        self.g0_set = {b"(", b",", b"$"}
        self.g1 = G1
        self.g1_set = {b")", b"-", b"$"}
        self.quiet = quiet

    def translate(self, marc8_string: bytes | str) -> str:
        """The text of ``marc8_string``; warnings about undecodable codes go to stderr."""
        if not marc8_string:
            return ""
        data = _as_input(marc8_string)
        text, problems, g0, g1 = _decode(data, self.g0, self.g1, dialect="pymarc")
        for offset, kind, code, problem_g0, problem_g1 in problems:
            if kind == "pymarc_raises":
                self.g0, self.g1 = problem_g0, problem_g1
                raise TypeError(_PYMARC_FAILURE)
            self._warn(len(data), offset, kind, code, problem_g0, problem_g1)
        self.g0, self.g1 = g0, g1
        return text

    def _warn(self, length: int, offset: int, kind: str, code: int | None, g0: int, g1: int) -> None:
        """What pymarc writes to stderr for this problem, if anything."""
        if kind == "unmapped_code" and not self.quiet:
            sys.stderr.write(f"Unable to parse character 0x{code:x} in g0={g0} g1={g1}\n")
        elif kind == "truncated_multibyte":
            sys.stderr.write(f"Multi-byte position {offset + 3} exceeds length of marc8 string {length}\n")


def _as_input(marc8: object) -> bytes | str:
    """What the native decoder takes: bytes, or a str as pymarc reads one."""
    if isinstance(marc8, (str, bytes)):
        return marc8
    if isinstance(marc8, bytearray):
        return bytes(marc8)
    # pymarc calls ord() on a one-item slice of anything else, and fails.
    raise TypeError(f"ord() expected string of length 1, but {type(marc8).__name__} found")


__all__ = ["MARC8ToUnicode", "marc8_to_unicode"]
