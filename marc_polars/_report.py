"""What a read skipped or kept as damaged, for the caller who asks (``report=``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from marc_polars import _native
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

    def _start(self) -> None:
        """Starts afresh, for a new read."""
        self.rows, self.collected, self.skipped, self.junk = 0, 0, [], []

    def _update(self, native: _native.BatchIterator) -> None:
        """Takes the native reader's tally of the read so far: the new items of its lists."""
        tally = native.report(len(self.skipped), len(self.junk))
        self.rows = tally["rows"]
        self.collected = tally["collected"]
        self.skipped.extend(tally["skipped"])
        self.junk.extend(tuple(j) for j in tally["junk"])
