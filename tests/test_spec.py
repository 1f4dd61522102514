"""MARCspec columns: computed while decoding, on a loaded frame (`.marc`), and by an independent
Python evaluator over pymarc records, which must all agree."""

from __future__ import annotations

import pathlib

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import example, given, settings

import marc_polars as mp
from marc_polars import _native

from conftest import READABLE
from marcspec_reference import Spec
from reference import pymarc_records

SPECS = [
    "LDR",
    "LDR/06",
    "LDR/06-07",
    "LDR/#",
    "LDR/20-30",
    "001",
    "003",
    "005/0-7",
    "008/35-37",
    "008/07-10",
    "008/#",
    "008/39-50",
    "008/60",
    "007",
    "007[0-#]",
    "007[1]",
    "006[#]",
    "00./0-1",
    "245$a",
    "245[0]$a[0]",
    "245$a$b$c",
    "245$c$a",
    "245$a-c",
    "245$a/0-2",
    "245$a/#",
    "245$b/3-#",
    "020$a",
    "020$a[#]",
    "020[1]$a",
    "650$a",
    "650[#]$a",
    "650$a[0]",
    "650$a[1-2]",
    "650[0-1]$x[0]",
    "6..$a",
    "6..$a-z",
    "65.$2",
    "1..$a",
    "100[0]$a[0]",
    "100[#]$a[#]",
    "880$6",
    "880$a$6",
    "0..$a",
    "...$a",
    "...$0-9",
    "...^1",
    "245^1",
    "245^2",
    "245[0]^1",
    "650^2",
    "999$z",
    "245$a$a[0]",
]

SAMPLE_BYTES = pathlib.Path(mp.SAMPLE).read_bytes()


def expected(data: bytes, specs: list[str]) -> dict[str, list]:
    records = pymarc_records(data)
    columns = {}
    for text in specs:
        spec = Spec(text)
        values = [spec.values(record) for record in records]
        columns[text] = values if spec.is_list() else [v[0] if v else None for v in values]
    return columns


def check_against_pymarc(source: pathlib.Path | bytes, data: bytes, specs: list[str] = SPECS) -> None:
    df = mp.read_marc(source, columns=specs)
    want = expected(data, specs)
    assert df.columns == specs
    for text in specs:
        assert df[text].dtype == (pl.List(pl.String) if Spec(text).is_list() else pl.String), text
        assert df[text].to_list() == want[text], text


def test_sample_specs_match_pymarc():
    check_against_pymarc(SAMPLE_BYTES, SAMPLE_BYTES)


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_corpus_specs_match_pymarc(path: pathlib.Path):
    check_against_pymarc(path, path.read_bytes())


@pytest.mark.slow
def test_booksall_specs_match_pymarc(booksall: pathlib.Path):
    # Every other spec (each form is there twice or more): the Python side takes minutes.
    check_against_pymarc(booksall, booksall.read_bytes(), SPECS[::2])


@pytest.mark.parametrize("path", [pathlib.Path(mp.SAMPLE), *READABLE], ids=lambda p: p.name)
def test_namespace_matches_decoding(path: pathlib.Path):
    decoded = mp.read_marc(path, columns=SPECS)
    loaded = mp.read_marc(path).lazy()
    extracted = loaded.select(
        pl.col("leader" if text.startswith("LDR") else "fields").marc.extract(text).alias(text) for text in SPECS
    )
    for engine in ("in-memory", "streaming"):
        assert extracted.collect(engine=engine).equals(decoded), engine


def test_namespace_rejects_what_does_not_fit():
    df = mp.read_marc(mp.SAMPLE, n_rows=2)
    with pytest.raises(ValueError, match=r'"245\$a\[" at position 6'):
        pl.col("fields").marc.extract("245$a[")
    with pytest.raises(ValueError, match=r'"245\$a\[" at position 6'):
        pl.col("fields").marc.has("245$a[")
    # A column of the wrong kind is found when the query runs, as Polars' own expressions find it.
    with pytest.raises(pl.exceptions.ComputeError, match="needs a leader column"):
        df.select(pl.col("fields").marc.extract("LDR/06"))
    with pytest.raises(pl.exceptions.ComputeError, match="needs a lossless fields column"):
        df.select(pl.col("leader").marc.has("245$a"))


def test_bibliographic_preset():
    df = mp.read_marc(mp.SAMPLE, columns=mp.BIBLIOGRAPHIC)
    assert df.columns == list(mp.BIBLIOGRAPHIC)
    first = pymarc_records(SAMPLE_BYTES)[0]
    row = df.row(0, named=True)
    assert row["control_number"] == first["001"].data
    assert row["title"] == first["245"]["a"]
    assert row["author"] == first["100"]["a"]
    assert row["language"] == first["008"].data[35:38]
    assert row["publication_year"] == first["008"].data[7:11]
    assert row["subjects"] == [f["a"] for f in first.subjects if f["a"] is not None]
    assert row["isbns"] == [f["a"] for f in first.get_fields("020")]


def test_invalid_spec_names_spec_and_position():
    for spec, position in [("245$", 4), ("245$a{$b}", 5), ("24", 2), ("008/3-", 6), ("LDR$a", 3)]:
        with pytest.raises(ValueError, match=rf"invalid MARCspec .* at position {position}:"):
            mp.read_marc(SAMPLE_BYTES, columns={"x": spec})
        with pytest.raises(ValueError, match=rf"at position {position}:"):
            mp.scan_marc(SAMPLE_BYTES, columns=[spec])


# Property tests: the Rust parser against the independent grammar of `marcspec_reference`.

positions = st.one_of(st.integers(0, 60).map(str), st.just("#"))
ranges = st.tuples(positions, st.one_of(st.none(), positions)).map(lambda p: p[0] if p[1] is None else f"{p[0]}-{p[1]}")
tags = st.one_of(
    st.just("LDR"),
    st.text("0123456789.", min_size=3, max_size=3),
    st.text("0123456789abcxyz.", min_size=3, max_size=3),
    st.text("0123456789ABCXYZ.", min_size=3, max_size=3),
)
codes = st.one_of(st.sampled_from("abcz0189"), st.sampled_from(["a-c", "a-z", "0-9", "c-a", "a-9"]))
subfield_specs = st.lists(
    st.tuples(
        codes,
        st.one_of(st.just(""), ranges.map(lambda r: f"[{r}]")),
        st.one_of(st.just(""), ranges.map(lambda r: f"/{r}")),
    ).map(lambda parts: "$" + "".join(parts)),
    min_size=1,
    max_size=3,
).map("".join)
specs = st.tuples(
    tags,
    st.one_of(st.just(""), ranges.map(lambda r: f"[{r}]")),
    st.one_of(st.just(""), ranges.map(lambda r: f"/{r}"), st.sampled_from(["^1", "^2", "^3"]), subfield_specs),
).map("".join)


def reference_verdict(text: str) -> bool | None:
    """The reference's answer: whether the spec gives a list, or None when it is invalid."""
    try:
        return Spec(text).is_list()
    except ValueError:
        return None


def native_verdict(text: str) -> bool | None:
    try:
        return _native.parse_spec(text)
    except ValueError as error:
        position = int(str(error).split(" at position ")[1].split(":")[0])
        assert 0 <= position <= len(text), error
        return None


@settings(max_examples=2000, deadline=None)
@given(specs)
@example("245$a")
@example("LDR/#-#")
@example("008/#-3")
@example("001[0-#]/0")
@example("6..$a-c[0]/1")
def test_parser_agrees_with_the_reference_on_spec_shaped_text(text: str):
    assert native_verdict(text) == reference_verdict(text)


@settings(max_examples=2000, deadline=None)
@given(st.text("0124589aAbLDR.$^/[]-#{}é ", max_size=14))
def test_parser_agrees_with_the_reference_on_any_text(text: str):
    assert native_verdict(text) == reference_verdict(text)


SAMPLE_RECORDS = pymarc_records(SAMPLE_BYTES)[:50]


@settings(max_examples=300, deadline=None)
@given(specs)
def test_valid_specs_agree_with_pymarc_on_the_sample(text: str):
    if reference_verdict(text) is None:
        return
    got = mp.read_marc(SAMPLE_BYTES, n_rows=len(SAMPLE_RECORDS), columns={"v": text})["v"].to_list()
    spec = Spec(text)
    want = [spec.values(record) for record in SAMPLE_RECORDS]
    assert got == (want if spec.is_list() else [v[0] if v else None for v in want])
