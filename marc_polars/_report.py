"""What a read skipped or kept as damaged, for the caller who asks (``report=``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from marc_polars import _native
from marc_polars.exceptions import MarcError


@dataclass(frozen=True)
class Repair:
    """A repair ``on_error="repair"`` made to a record: which, where, and what it changed."""

    #: The source, the record's 0-based number, and the byte offset where the record starts.
    source: str
    record: int
    byte_offset: int
    #: Where in the record the repair was first needed.
    offset_in_record: int
    #: The repair's stable snake_case code, as the ``include_repairs`` column lists it.
    kind: str
    #: How many times the record needed it.
    count: int
    #: What was changed, where it was first needed.
    detail: str

    def __str__(self) -> str:
        times = f" ({self.count} times)" if self.count > 1 else ""
        return (
            f"{self.source}: record {self.record} at byte offset {self.byte_offset}: {self.kind}: {self.detail}{times}"
        )


@dataclass
class ReadReport:
    """Filled in by ``read_marc``, ``iter_batches`` and ``scan_marc`` given ``report=``.

    >>> report = mp.ReadReport()
    >>> df = mp.read_marc("catalogue.mrc", on_error="skip", report=report)
    >>> report.skipped          # the error of each record left out, in input order

    Together the rows, the records skipped and the junk account for every byte of the input: under
    ``on_error="collect"``, the sound records, the ``raw`` bytes of the damaged ones and the junk.
    """

    #: Rows made: sound records, and damaged ones under ``on_error="collect"`` and ``"repair"``.
    rows: int = 0
    #: Damaged records kept as rows (``on_error="collect"``, or ``"repair"`` where no repair reads
    #: them).
    collected: int = 0
    #: Records read by repairing them (``on_error="repair"``).
    repaired: int = 0
    #: The error of each damaged record left out (``on_error="skip"``), naming its source, record
    #: number and byte offset.
    skipped: list[MarcError] = field(default_factory=list)
    #: Padding skipped between records (line ends, 0x1A, NUL, spaces, a byte order mark at the
    #: start): (source, byte offset, length).
    junk: list[tuple[str, int, int]] = field(default_factory=list)
    #: Every repair made (``on_error="repair"``), each kind once per record, in input order.
    repairs: list[Repair] = field(default_factory=list)

    @property
    def junk_bytes(self) -> int:
        return sum(length for _, _, length in self.junk)

    def _start(self) -> None:
        """Starts afresh, for a new read."""
        self.rows, self.collected, self.repaired, self.skipped, self.junk, self.repairs = 0, 0, 0, [], [], []

    def _update(self, native: _native.BatchIterator) -> None:
        """Takes the native reader's tally of the read so far: the new items of its lists."""
        tally = native.report(len(self.skipped), len(self.junk), len(self.repairs))
        self.rows = tally["rows"]
        self.collected = tally["collected"]
        self.repaired = tally["repaired"]
        self.skipped.extend(tally["skipped"])
        self.junk.extend((source, offset, length) for source, offset, length in tally["junk"])
        self.repairs.extend(Repair(*r) for r in tally["repairs"])
