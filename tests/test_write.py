"""write_marc: the lossless frame back to ISO 2709, byte for byte, and invalid frames refused."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import marc_polars as mp

from conftest import DATA, READABLE


def utf8_and_sound(path: Path) -> bool:
    """Files whose records all say UTF-8 (leader/09 'a'), which writing reproduces byte for byte."""
    df = mp.read_marc(path)
    return df.height > 0 and (df["leader"].str.slice(9, 1) == "a").all()


UTF8_FILES = [p for p in [Path(mp.SAMPLE), *READABLE] if utf8_and_sound(p)]


@pytest.mark.parametrize("path", UTF8_FILES, ids=lambda p: p.name)
def test_writing_what_was_read_gives_the_file_back(path: Path, tmp_path: Path):
    out = tmp_path / "out.mrc"
    assert mp.write_marc(mp.read_marc(path), out) == mp.read_marc(path).height
    assert out.read_bytes() == path.read_bytes()


def test_every_destination_and_frame_kind(tmp_path: Path):
    df = mp.read_marc(mp.SAMPLE)
    expected = Path(mp.SAMPLE).read_bytes()
    buffer = io.BytesIO()
    mp.write_marc(df, buffer)
    assert buffer.getvalue() == expected
    mp.write_marc(mp.scan_marc(mp.SAMPLE), tmp_path / "lazy.mrc")
    assert (tmp_path / "lazy.mrc").read_bytes() == expected
    # Extra columns, of any type, are ignored; a filtered frame writes its rows.
    extra = df.with_row_index().with_columns(kind=pl.lit("book").cast(pl.Categorical))
    mp.write_marc(extra.filter(pl.col("index") < 10), str(tmp_path / "ten.mrc"))
    assert mp.read_marc(tmp_path / "ten.mrc").equals(df.head(10))


def test_a_marc8_record_is_written_as_utf8(tmp_path: Path):
    marc8 = mp.read_marc(DATA / "marc8" / "marc4j__brkrtest.mrc")
    mp.write_marc(marc8, tmp_path / "out.mrc")
    back = mp.read_marc(tmp_path / "out.mrc")
    assert (back["leader"].str.slice(9, 1) == "a").all()
    assert back["fields"].equals(marc8["fields"])
    assert (
        back["leader"]
        .str.slice(5)
        .equals(marc8["leader"].str.slice(5).str.slice(0, 4) + "a" + marc8["leader"].str.slice(10))
    )


SUBFIELDS = pl.List(pl.Struct({"code": pl.String, "value": pl.String}))


def edit_fields(name: str, where: pl.Expr, value: pl.Expr) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """An edit of every frame's fields: `name` becomes `value` in the fields `where` holds for."""
    edited = pl.when(where).then(value).otherwise(pl.field(name)).alias(name)
    return lambda df: df.with_columns(pl.col("fields").list.eval(pl.element().struct.with_fields(edited)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.drop("fields"), "no 'fields' column"),
        (lambda df: df.with_columns(pl.col("leader").cast(pl.Categorical)), "column 'leader' is Categorical"),
        (
            lambda df: df.with_columns(
                pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("short")).otherwise("leader").alias("leader")
            ),
            "row 3: leader",
        ),
        (
            lambda df: df.with_columns(
                pl.col("fields").list.eval(pl.element().struct.with_fields(pl.field("tag").str.slice(0, 2)))
            ),
            "row 0: field 0: tag",
        ),
        (edit_fields("ind1", pl.field("ind1").is_not_null(), pl.lit("ab")), 'ind1 "ab" is not one character'),
        (edit_fields("subfields", pl.field("tag") == "245", pl.lit(None, SUBFIELDS)), "subfields is null"),
        (edit_fields("data", pl.field("tag") == "001", pl.field("data").str.pad_end(10_000, "x")), "allows 9999"),
        (lambda df: df.with_columns(pl.concat_list([pl.col("fields")] * 150)), "ISO 2709 allows 99999"),
    ],
)
def test_invalid_frames_are_refused_before_anything_is_written(change, message, tmp_path: Path):
    df = change(mp.read_marc(mp.SAMPLE, n_rows=20))
    out = tmp_path / "out.mrc"
    with pytest.raises(ValueError, match=message):
        mp.write_marc(df, out)
    assert not out.exists()


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x1d\x1e\x1f"), max_size=40)
control_field = st.fixed_dictionaries(
    {
        "tag": st.sampled_from(["001", "003", "005", "008"]),
        "ind1": st.none(),
        "ind2": st.none(),
        "data": text,
        "subfields": st.none(),
    }
)
data_field = st.fixed_dictionaries(
    {
        "tag": st.from_regex(r"\A[1-9][0-9]{2}\Z"),
        "ind1": st.text(alphabet=" 0123456789", min_size=1, max_size=1),
        "ind2": st.text(alphabet=" 0123456789", min_size=1, max_size=1),
        "data": st.none(),
        # A subfield is a code and a value, or empty (two delimiters in a row): {code: "", value: ""}.
        "subfields": st.lists(
            st.one_of(
                st.fixed_dictionaries({"code": st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), "value": text}),
                st.just({"code": "", "value": ""}),
            ),
            max_size=5,
        ),
    }
)
leaders = st.from_regex(r"\A[0-9]{5}[acdnp][a-z][a-z ][a-z ]a22[0-9]{5}[ 1-8][ aciu][ a-z]4500\Z")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(leaders, st.lists(st.one_of(control_field, data_field), max_size=12)), min_size=1, max_size=5)
)
def test_generated_records_round_trip(records):
    """Any frame of valid values writes to records that read back as the same frame (the leader's
    length and base address recomputed), and writing that frame again gives the same bytes."""
    schema = mp.read_marc(mp.SAMPLE, n_rows=0).schema
    df = pl.DataFrame({"leader": [r[0] for r in records], "fields": [r[1] for r in records]}, schema=schema)
    first = io.BytesIO()
    mp.write_marc(df, first)
    back = mp.read_marc(first.getvalue())
    assert back["fields"].equals(df["fields"])
    assert back["leader"].str.slice(5, 4).equals(df["leader"].str.slice(5, 4))
    assert back["leader"].str.slice(17).equals(df["leader"].str.slice(17))
    again = io.BytesIO()
    mp.write_marc(back, again)
    assert again.getvalue() == first.getvalue()


@pytest.mark.slow
def test_booksall_round_trips_byte_for_byte(booksall: Path, tmp_path: Path):
    out = tmp_path / "booksall.mrc"
    assert mp.write_marc(mp.read_marc(booksall), out) == 250_000
    assert out.read_bytes() == booksall.read_bytes()
