"""What a read skipped or kept as damaged, for the caller who asks (``report=``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marc_polars.exceptions import MarcError


@dataclass
class ReadReport:
    """Filled in by ``read_marc``, ``iter_batches`` and ``scan_marc`` given ``report=``.

    >>> report = mp.ReadReport()
    >>> df = mp.read_marc("catalogue.mrc", on_error="skip", report=report)
    >>> report.skipped          # the error of each record left out, in input order

    Together the rows, the records skipped and the junk account for every byte of the input: under
    ``on_error="collect"``, the sound records, the ``raw`` bytes of the damaged ones and the junk.
    """

    #: Rows made: sound records, and damaged ones under ``on_error="collect"``.
    rows: int = 0
    #: Damaged records kept as rows (``on_error="collect"``).
    collected: int = 0
    #: The error of each damaged record left out (``on_error="skip"``), naming its source, record
    #: number and byte offset.
    skipped: list[MarcError] = field(default_factory=list)
    #: Padding skipped between records (line ends, 0x1A, NUL, spaces): (source, byte offset, length).
    junk: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def junk_bytes(self) -> int:
        return sum(length for _, _, length in self.junk)

    def _update(self, native: dict[str, Any]) -> None:
        """Takes the native reader's tally of the read so far."""
        self.rows = native["rows"]
        self.collected = native["collected"]
        self.skipped = list(native["skipped"])
        self.junk = [tuple(j) for j in native["junk"]]
