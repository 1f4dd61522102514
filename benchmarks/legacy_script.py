"""A cataloguer's pymarc script, as old ones are written: run with pymarc or marc_polars.pymarc.

It reads records one at a time, notes the usual data elements of each (title, author, ISBN,
publisher, year, subjects, notes), edits the record (drops vendor fields and the control characters
of damaged control fields, adds a local note in tag order, adds a source to topical subjects, trims
the statement of responsibility, marks the record as corrected), writes it in all four forms pymarc
writes (ISO 2709, MARCXML, MARC-in-JSON, MARCMaker text), then reads every output back with
pymarc's readers of those forms. Everything it makes goes to files in one folder, so that two runs,
one per module, can be compared byte for byte.

    python benchmarks/legacy_script.py [pymarc|marc_polars.pymarc] SOURCE OUT_DIR [LIMIT]
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

#: Characters XML 1.0 cannot hold.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

#: The outputs a run writes in its folder.
OUTPUTS = ("records.mrc", "records.xml", "records.json", "records.txt", "elements.tsv", "read_back.tsv")


def _elements(record: Any) -> list[object]:
    """What a script reads of a record: its common data elements."""
    return [
        record.title,
        record.author,
        record.isbn,
        record.publisher,
        record.pubyear,
        len(record.subjects),
        "|".join(note.value() for note in record.notes),
    ]


def _edit(pm: ModuleType, record: Any, number: int) -> None:
    """What a script changes in a record before writing it out."""
    record.remove_fields("029", "938")
    # Control characters a damaged record holds in its control fields cannot be read back from MARCXML.
    for field in record.fields:
        if field.control_field and field.data and _NOT_IN_XML.search(field.data):
            field.data = _NOT_IN_XML.sub("", field.data)
    for subject in record.get_fields("650"):
        if subject.indicator2 == "7" and subject.get("2") is None:
            subject.add_subfield("2", "local")
    title = record.get("245")
    if title is not None and len(title.get_subfields("c")) == 1:
        title["c"] = title["c"].rstrip(" .")
    note = pm.Subfield("a", f"Local copy {number}.")
    record.add_ordered_field(pm.Field(tag="590", indicators=pm.Indicators(" ", " "), subfields=[note]))
    record.leader.record_status = "c"


def run(pm: ModuleType, source: str | Path, out: Path, limit: int | None = None) -> int:
    """Runs the script with module `pm` on the first `limit` records of `source`, writing its
    outputs in `out`; returns the number of records it wrote."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with (
        open(source, "rb") as handle,
        open(out / "elements.tsv", "w", encoding="utf-8") as elements,
    ):
        writers = [
            pm.MARCWriter(open(out / "records.mrc", "wb")),  # noqa: SIM115 - the writers close them
            pm.XMLWriter(open(out / "records.xml", "wb")),  # noqa: SIM115
            pm.JSONWriter(open(out / "records.json", "w", encoding="utf-8")),  # noqa: SIM115
            pm.TextWriter(open(out / "records.txt", "w", encoding="utf-8")),  # noqa: SIM115
        ]
        for number, record in enumerate(pm.MARCReader(handle)):
            if number == limit:
                break
            if record is None:  # a record pymarc cannot read
                continue
            elements.write("\t".join(map(str, _elements(record))) + "\n")
            _edit(pm, record, number)
            for writer in writers:
                writer.write(record)
            written += 1
        for writer in writers:
            writer.close()

    with open(out / "records.mrc", "rb") as marc:
        from_marc = list(pm.MARCReader(marc))
    from_xml = pm.parse_xml_to_array(str(out / "records.xml"))
    from_json = list(pm.JSONReader((out / "records.json").read_text(encoding="utf-8")))
    with open(out / "read_back.tsv", "w", encoding="utf-8") as read_back:
        for records in (from_marc, from_xml, from_json):
            for record in records:
                read_back.write(f"{len(record.fields)}\t{record.title}\t{record.leader}\n")
    return written


if __name__ == "__main__":
    module, source, out, *rest = sys.argv[1:]
    print(run(importlib.import_module(module), source, Path(out), int(rest[0]) if rest else None))
