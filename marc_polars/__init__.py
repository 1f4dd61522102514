"""Read MARC 21 bibliographic records (ISO 2709) into Polars DataFrames.

>>> import marc_polars as mp
>>> import polars as pl
>>> df = mp.read_marc(mp.SAMPLE)           # one row per record: leader, fields
>>> lf = mp.scan_marc(mp.SAMPLE, columns=mp.BIBLIOGRAPHIC)
>>> english = lf.filter(pl.col("language") == "eng").collect()

Scripts written for pymarc keep working with ``import marc_polars.pymarc as pymarc``.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from marc_polars import exceptions
from marc_polars._namespace import MarcExpr
from marc_polars._read import BIBLIOGRAPHIC, SAMPLE, BatchReader, iter_batches, read_marc, scan_marc
from marc_polars._report import ReadReport, Repair
from marc_polars._splits import Split, plan_splits, read_split
from marc_polars._threads import max_threads, set_max_threads
from marc_polars._write import write_marc
from marc_polars.exceptions import MarcError


def __getattr__(name: str) -> object:
    # The pymarc-compatible reader, imported on first use: most users never need it.
    if name == "MARCReader":
        from marc_polars.pymarc import MARCReader  # noqa: PLC0415

        return MARCReader
    raise AttributeError(f"module 'marc_polars' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "MARCReader"})


try:
    __version__ = _version("marc_polars")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "BIBLIOGRAPHIC",
    "SAMPLE",
    "BatchReader",
    "MARCReader",
    "MarcError",
    "MarcExpr",
    "ReadReport",
    "Repair",
    "Split",
    "__version__",
    "exceptions",
    "iter_batches",
    "max_threads",
    "plan_splits",
    "read_marc",
    "read_split",
    "scan_marc",
    "set_max_threads",
    "write_marc",
]
