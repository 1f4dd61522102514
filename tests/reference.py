"""The same information, read by pymarc 5.4.0, the reference implementation, for comparison."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import pymarc
from pymarc.record import normalize_subfield_code

Row = tuple[str, list[tuple[Any, ...]]]


def record_row(record: pymarc.Record) -> Row:
    """A record as (leader, [(tag, ind1, ind2, data, [(code, value), ...]), ...])."""
    fields = []
    for field in record.fields:
        if field.is_control_field():
            fields.append((field.tag, None, None, field.data, None))
        else:
            subfields = [(s.code, s.value) for s in field.subfields]
            fields.append((field.tag, field.indicator1, field.indicator2, None, subfields))
    return str(record.leader), fields


def pymarc_records(data: bytes) -> list[pymarc.Record]:
    """Every record pymarc reads from `data`; raises if pymarc meets a bad record."""
    records = []
    reader = pymarc.MARCReader(io.BytesIO(data), to_unicode=True, force_utf8=True)
    for record in reader:
        if record is None:
            raise reader.current_exception  # type: ignore[misc]
        records.append(record)
    return records


def pymarc_rows(data: bytes) -> list[Row]:
    return [record_row(record) for record in pymarc_records(data)]


def pymarc_code(code: str, value: str) -> str:
    """The subfield code pymarc reports: it strips a non-ASCII code to an ASCII letter (lossily)."""
    if code.isascii():
        return code
    return normalize_subfield_code((code + value).encode())[0]


def frame_rows(df: pl.DataFrame) -> list[Row]:
    """The rows of a lossless frame in pymarc's shape: empty subfields left out and non-ASCII
    subfield codes normalised, as pymarc does."""
    rows = []
    for leader, fields in df.select("leader", "fields").iter_rows():
        out = []
        for f in fields:
            subfields = None
            if f["subfields"] is not None:
                subfields = [
                    (pymarc_code(s["code"], s["value"]), s["value"]) for s in f["subfields"] if s["code"] != ""
                ]
            out.append((f["tag"], f["ind1"], f["ind2"], f["data"], subfields))
        rows.append((leader, out))
    return rows
