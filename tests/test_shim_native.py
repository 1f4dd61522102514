"""The shim's native paths (parsing MARCXML and MARC-in-JSON, writing every form) stand aside
wherever a script changed what they stand for: a subclass, a method replaced, a field or pair of
its own making. The outputs are compared with pymarc's, which has no native path to stand aside.
"""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pymarc
import pytest

import marc_polars
import marc_polars.pymarc as shim
from marc_polars.pymarc import marcxml

from conftest import DATA


def sample_records(module, count: int = 20) -> list:
    with open(marc_polars.SAMPLE, "rb") as handle:
        return list(itertools.islice(module.MARCReader(handle), count))


def outputs(module, records) -> dict[str, object]:
    """Every form `module` writes the records in, by its writers and the record's own methods."""
    marc, xml, text, js = io.BytesIO(), io.BytesIO(), io.StringIO(), io.StringIO()
    writers = [module.MARCWriter(marc), module.XMLWriter(xml), module.TextWriter(text), module.JSONWriter(js)]
    for record in records:
        for writer in writers:
            writer.write(record)
    for writer in writers:
        writer.close(close_fh=False)
    return {
        "writers": (marc.getvalue(), xml.getvalue(), text.getvalue(), js.getvalue()),
        "as_marc": [record.as_marc() for record in records],
        "str": [str(record) for record in records],
        "xml": [module.record_to_xml(record, namespace=True) for record in records],
    }


def test_records_a_script_changed_with_its_own_pairs_are_written_as_pymarc_writes_them():
    def edit(module, records) -> None:
        for record in records:
            # A subfield of a class of the script's; no data in a control field; a field without subfields.
            class Marked(module.Subfield):
                pass

            record["245"].subfields.append(Marked("z", "added"))
            record["005"].data = None
            record.add_field(module.Field("500", indicators=module.Indicators(" ", " "), subfields=[]))

    ours, theirs = sample_records(shim), sample_records(pymarc)
    edit(shim, ours)
    edit(pymarc, theirs)
    assert outputs(shim, ours) == outputs(pymarc, theirs)


def test_a_subclass_of_record_keeps_its_own_as_dict_and_str():
    class Tagged(shim.Record):
        def as_dict(self):
            return {**super().as_dict(), "source": "local"}

        def __str__(self):
            return "tagged\n" + super().__str__()

    record = Tagged()
    for field in sample_records(shim, 1)[0].fields:
        record.add_field(field)
    js, text = io.StringIO(), io.StringIO()
    for writer in (shim.JSONWriter(js), shim.TextWriter(text)):
        writer.write(record)
        writer.close(close_fh=False)
    assert json.loads(js.getvalue())[0]["source"] == "local"
    assert text.getvalue().startswith("tagged\n=LDR")


def test_a_field_class_of_a_script_is_written_by_its_own_methods():
    class Shouting(shim.Field):
        def __str__(self):
            return super().__str__().upper()

        def as_marc(self, encoding):
            return super().as_marc(encoding).upper()

    record = sample_records(shim, 1)[0]
    title = record["245"]
    record.remove_field(title)
    record.add_ordered_field(Shouting(title.tag, title.indicators, list(title.subfields)))
    assert f"\n{str(title).upper()}\n" in str(record)
    assert title.as_marc("utf-8").upper() in record.as_marc()


def test_methods_a_script_replaces_are_called(monkeypatch):
    record = sample_records(shim, 1)[0]
    monkeypatch.setattr(shim.Field, "__str__", lambda field: f"<{field.tag}>")
    assert str(record).splitlines()[1:] == [f"<{field.tag}>" for field in record.fields]
    monkeypatch.setattr(shim.Field, "as_marc", lambda field, encoding: b"X\x1e")
    assert record.as_marc().endswith(b"X\x1e" * len(record.fields) + b"\x1d")


def xml_collection(module, records) -> bytes:
    out = io.BytesIO()
    writer = module.XMLWriter(out)
    for record in records:
        writer.write(record)
    writer.close(close_fh=False)
    return out.getvalue()


def test_a_handler_that_only_changes_process_record_gets_pymarc_records(tmp_path):
    path = tmp_path / "sample.xml"
    path.write_bytes(xml_collection(pymarc, sample_records(pymarc, 50)))

    def titles(module) -> list:
        got: list = []

        class Titles(module.XmlHandler):
            def process_record(self, record):
                got.append((record.title, record.as_dict()))

        module.parse_xml(str(path), Titles())
        return got

    assert titles(shim) == titles(pymarc) and len(titles(shim)) == 50
    mapped: list = []
    shim.map_xml(lambda record: mapped.append(record.as_dict()), str(path))
    assert mapped == [entry[1] for entry in titles(pymarc)]


def test_a_handler_that_changes_what_it_does_with_events_gets_them_all(tmp_path):
    path = tmp_path / "sample.xml"
    path.write_bytes(xml_collection(pymarc, sample_records(pymarc, 5)))

    def texts(module) -> str:
        class Texts(module.XmlHandler):
            seen = ""

            def characters(self, content):
                Texts.seen += content
                super().characters(content)

        handler = Texts()
        module.parse_xml(str(path), handler)
        assert len(handler.records) == 5
        return Texts.seen

    assert texts(shim) == texts(pymarc) != ""


def test_parsing_a_file_object_closes_it_as_sax_does(tmp_path):
    path = tmp_path / "sample.xml"
    path.write_bytes(xml_collection(pymarc, sample_records(pymarc, 3)))
    for module in (shim, pymarc):
        with open(path, "rb") as handle:
            assert len(module.parse_xml_to_array(handle)) == 3
            assert handle.closed


#: MARC-in-JSON a script may be given, each object unlike the plain form in one way.
LEADER = "00000nam a2200000 a 4500"
ODD_JSON = [
    {"leader": LEADER, "fields": [{"001": 123}]},
    {"leader": LEADER, "fields": [{"245": "not subfields"}]},
    {"leader": LEADER, "fields": [{"001": {"ind1": " ", "ind2": " ", "subfields": []}}]},
    {"leader": LEADER, "fields": [{"24": {"ind1": "1", "ind2": "0", "subfields": [{"a": "x"}]}}]},
    {"leader": LEADER, "fields": [{"245": {"ind1": 1, "ind2": "0", "subfields": [{"a": "x"}]}}]},
    {"leader": LEADER, "fields": [{"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "x", "b": "y"}]}}]},
    {"leader": LEADER, "fields": [{"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": None}]}}]},
    {"leader": LEADER, "fields": [{"245": {"ind2": "0", "subfields": []}}]},
    {"leader": "short", "fields": []},
    {"fields": []},
]


@pytest.mark.parametrize("obj", ODD_JSON, ids=range(len(ODD_JSON)))
def test_odd_marc_in_json_is_read_as_pymarc_reads_it(obj):
    def read(module):
        try:
            return [(str(record.leader), record.as_dict()) for record in module.JSONReader(json.dumps([obj]))]
        except Exception as error:  # the exception is the answer compared
            return type(error).__name__

    assert read(shim) == read(pymarc)


@pytest.mark.parametrize("path", sorted((DATA / "forms").glob("*.json")), ids=lambda p: p.name)
def test_real_marc_in_json_reads_as_pymarc_reads_it(path: Path):
    def read(module):
        try:
            return [record.as_dict() for record in module.JSONReader(path.read_text(encoding="utf-8"))]
        except Exception as error:  # the exception is the answer compared
            return type(error).__name__

    assert read(shim) == read(pymarc)


def test_documents_the_native_reader_leaves_to_sax_are_parsed_alike(tmp_path):
    """A document type, an encoding but UTF-8, and records pymarc makes oddly: SAX reads them."""
    record = b'<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="245">x</controlfield></record>'
    documents = {
        "doctype": b'<!DOCTYPE r [<!ENTITY e "entity">]><record><leader>&e;</leader></record>',
        "latin1": '<?xml version="1.0" encoding="ISO-8859-1"?><record><leader>é</leader></record>'.encode("latin-1"),
        "odd": record,
        "malformed": b"<collection><record><leader>x</leader></record>",
    }
    for name, data in documents.items():
        assert marcxml._records_of(data, marcxml.XmlHandler()) is None, name

        def parsed(module, data=data):
            try:
                return [record.as_dict() for record in module.parse_xml_to_array(io.BytesIO(data))]
            except Exception as error:  # the exception is the answer compared
                return type(error).__name__

        assert parsed(shim) == parsed(pymarc), name
