"""`marc_polars.ray`: MARC files read by Ray tasks, split by split, on a local two-CPU cluster.

The blocks, sorted by byte offset, are the frame `read_marc` reads: for BooksAll in 8 MiB splits,
for every damaged, odd, MARCXML and MARC-in-JSON file of `tests/data` in 1 KiB splits, for the sound
ones in 16 KiB splits, and in splits of any size; the reports of the splits add up to
`read_marc`'s report; a damaged record under `on_error="raise"` fails the read with its `MarcError`,
at once and once; a worker killed in the middle of a read loses no record and counts none twice;
`select_columns` reaches the read tasks.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import polars as pl
import pytest
import ray
from hypothesis import HealthCheck, given, settings

import marc_polars as mp
import marc_polars.ray as mpr
from marc_polars import exceptions

from conftest import BROKEN, DATA, EDGE, MARC8, READABLE, TRUNCATED, local_s3, run_python

FORMS = sorted(p for p in (DATA / "forms").iterdir() if p.suffix in (".xml", ".json"))
#: Damaged records (`broken/`, the truncated download), odd but sound ones (`edge/`), and MARCXML and
#: MARC-in-JSON with damaged records among them (`forms/`).
DAMAGED = sorted({*BROKEN, *EDGE, TRUNCATED, *FORMS})
#: Sound files: UTF-8, ASCII and MARC-8.
SOUND = sorted({*READABLE, *MARC8})
#: Files small enough to be read in random splits many times over: a Ray Data read task costs some
#: 20 ms of scheduling.
SMALL = 64 << 10
PRIDE = DATA / "broken" / "marc4j__pride-and-prejudice-with-many-errors.mrc"

#: The key that orders records across reads.
KEY = ["path", "offset"]


def readable(path: Path) -> bool:
    """Whether `path` is MARC records at all (damaged or not): not a file of another kind."""
    try:
        mp.read_marc(path, columns="leader", on_error="collect")
    except (exceptions.UnknownFormatError, ValueError):
        return False
    return True


@pytest.fixture(scope="module", autouse=True)
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One local Ray cluster for the module, of two CPUs, started from a folder of its own: Ray puts
    the folder it is started from first on its workers' import path, and from the project's root
    they would import the source folder's `marc_polars`, which has no extension built in it, rather
    than the package installed."""
    # The read-task wrappers below are pickled by value: the workers cannot import this module.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    here = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("ray"))
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    finally:
        os.chdir(here)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def blocks(ds: Any) -> pl.DataFrame:
    """Every block of `ds`, fetched to the driver, as one frame in the blocks' order."""
    tables = ray.get(ds.to_arrow_refs())
    return pl.concat([pl.from_arrow(t) for t in tables]) if tables else pl.DataFrame()


def drop_record_numbers(error: str | None) -> str | None:
    """The error column's text without the record's number, which a split counts from its own
    first record."""
    return None if error is None else error.split(": record ")[0] + error.split(" at byte offset")[1]


def same(split: pl.DataFrame, whole: pl.DataFrame) -> None:
    """Whether the records read in splits are those read whole, as read whole (in either's order)."""
    split, whole = split.sort(KEY, maintain_order=True), whole.sort(KEY, maintain_order=True)
    if "error" in whole.columns:
        strip = pl.col("error").map_elements(drop_record_numbers, return_dtype=pl.String)
        split, whole = split.with_columns(strip), whole.with_columns(strip)
    assert split.columns == whole.columns
    assert split.height == whole.height
    assert split.equals(whole)


def read_whole(paths: list[Path], on_error: str, **options: Any) -> tuple[pl.DataFrame, mp.ReadReport]:
    report = mp.ReadReport()
    df = mp.read_marc(
        paths, on_error=on_error, include_file_paths="path", include_byte_offsets="offset", report=report, **options
    )
    return df, report


def read_by_ray(
    paths: list[Path], split_size: int, on_error: str, **options: Any
) -> tuple[pl.DataFrame, mp.ReadReport]:
    report = mp.ReadReport()
    ds = mpr.read_marc(
        paths,
        split_size=split_size,
        on_error=on_error,
        include_file_paths="path",
        include_byte_offsets="offset",
        report=report,
        **options,
    )
    return blocks(ds), report


def same_report(split: mp.ReadReport, whole: mp.ReadReport) -> None:
    assert (split.rows, split.collected, split.repaired) == (whole.rows, whole.collected, whole.repaired)
    # Each split counts its records from its own first one: the offsets name the records.
    assert [(e.source, e.byte_offset, type(e)) for e in split.skipped] == [
        (e.source, e.byte_offset, type(e)) for e in whole.skipped
    ]
    assert sorted(split.junk) == sorted(whole.junk)
    assert [(r.source, r.byte_offset, r.kind) for r in split.repairs] == [
        (r.source, r.byte_offset, r.kind) for r in whole.repairs
    ]


@pytest.mark.slow
def test_booksall_in_8_mib_splits_is_booksall_read_whole(booksall: Path) -> None:
    ds = mpr.read_marc(booksall, split_size=8 << 20, include_file_paths="path", include_byte_offsets="offset")
    ds = ds.materialize()
    assert ds.num_blocks() == len(mp.plan_splits(booksall, 8 << 20)) > 25  # a block a split
    whole = mp.read_marc(booksall, include_file_paths="path", include_byte_offsets="offset")
    same(blocks(ds), whole)


def test_the_damaged_files_are_of_every_kind() -> None:
    paths = [p for p in DAMAGED if readable(p)]
    assert len(paths) > 50 and set(BROKEN) <= set(paths)
    assert {".mrc", ".xml", ".json"} <= {p.suffix for p in paths if p.stat().st_size <= SMALL}


def test_every_damaged_file_in_1_kib_splits_is_the_file_read_whole() -> None:
    paths = [p for p in DAMAGED if readable(p)]
    (split, split_report), (whole, whole_report) = (
        read_by_ray(paths, 1 << 10, "collect"),
        read_whole(paths, "collect"),
    )
    same(split, whole)
    same_report(split_report, whole_report)
    assert whole_report.collected > 10


def test_every_sound_file_in_16_kib_splits_is_the_file_read_whole() -> None:
    paths = [p for p in SOUND if readable(p)]
    (split, split_report), (whole, whole_report) = read_by_ray(paths, 16 << 10, "skip"), read_whole(paths, "skip")
    same(split, whole)
    same_report(split_report, whole_report)


def test_objects_in_s3_in_splits_are_the_local_files_read_whole() -> None:
    """Each read task fetches its split's bytes from the store by range requests of its own."""
    paths = [Path(mp.SAMPLE), PRIDE, DATA / "forms" / "pulibrary__three_records_one_bad_utf8.xml"]
    with local_s3("dumps", {f"marc/{p.name}": p.read_bytes() for p in paths}) as options:
        report = mp.ReadReport()
        ds = mpr.read_marc(
            "s3://dumps/marc/*",
            split_size=64 << 10,
            on_error="collect",
            include_file_paths="path",
            include_byte_offsets="offset",
            storage_options=options,
            report=report,
        )
        assert ds.num_blocks() > len(paths)  # the sample alone is several splits
        split = blocks(ds)
    whole, whole_report = read_whole(sorted(paths, key=lambda p: p.name), "collect")
    # The sources by their file names: a URL in one, a local path in the other.
    names = [pl.col("path").str.replace("^.*/", ""), pl.col("error").str.replace(r"^(\w+: )\S*/", "$1")]
    same(split.with_columns(names), whole.with_columns(names))
    assert (report.rows, report.collected) == (whole_report.rows, whole_report.collected) and report.collected > 0


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paths=st.lists(
        st.sampled_from([p for p in DAMAGED if p.stat().st_size <= SMALL]), min_size=1, max_size=3, unique=True
    ),
    split_size=st.integers(500, 100_000),
    on_error=st.sampled_from(["skip", "collect", "repair"]),
)
def test_files_in_splits_of_any_size_are_the_files_read_whole(
    paths: list[Path], split_size: int, on_error: str
) -> None:
    paths = [p for p in paths if readable(p)]
    if not paths:
        return
    (split, split_report), (whole, whole_report) = read_by_ray(paths, split_size, on_error), read_whole(paths, on_error)
    same(split, whole)
    same_report(split_report, whole_report)


def attempts_logged(read_fn: Callable[[], Any], log: str) -> Any:
    """A read task's function that first notes, in the file `log`, that it ran."""
    with open(log, "a") as out:
        out.write("ran\n")
    return read_fn()


def dies_once(read_fn: Callable[[], Any], marker: str) -> Any:
    """A read task's function that reads its split (sending its report), then, the first time only,
    kills its worker before handing the block over."""
    blocks = list(read_fn())
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return blocks


class Wrapped(mpr.MarcDatasource):  # type: ignore[misc]
    """A MarcDatasource whose read tasks run through `wrap(read_fn, argument_of(task_index))`."""

    def __init__(self, paths: Any, wrap: Callable[..., Any], argument_of: Callable[[int], str], **options: Any) -> None:
        super().__init__(paths, **options)
        self._wrap, self._argument_of = wrap, argument_of

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None) -> Any:
        tasks = super().get_read_tasks(parallelism, per_task_row_limit, data_context)
        return [
            ray.data.ReadTask(functools.partial(self._wrap, t.read_fn, self._argument_of(i)), t.metadata, t.schema)
            for i, t in enumerate(tasks)
        ]


def test_a_damaged_record_fails_the_read_with_its_error_at_once(tmp_path: Path) -> None:
    whole = mp.ReadReport()
    with pytest.raises(exceptions.MarcError) as expected:
        mp.read_marc(PRIDE, report=whole)
    # Given a report, the read is done here, and raises the MarcError itself.
    report = mp.ReadReport()
    with pytest.raises(type(expected.value)) as raised:
        mpr.read_marc(PRIDE, report=report)
    assert type(raised.value) is type(expected.value)
    assert (raised.value.source, raised.value.byte_offset, str(raised.value)) == (
        expected.value.source,
        expected.value.byte_offset,
        str(expected.value),
    )
    # What was read before the error, as read_marc reports it.
    assert (report.rows, report.skipped) == (whole.rows, whole.skipped)
    # A lazy dataset raises Ray's error when consumed, an instance of the MarcError's class too, whose
    # message is followed by Ray's; the task that raised ran once, not retried.
    log = str(tmp_path / "attempts")
    source = Wrapped(PRIDE, attempts_logged, lambda _: log)
    with pytest.raises(type(expected.value)) as lazy:
        ray.data.read_datasource(source).materialize()
    assert isinstance(lazy.value, ray.exceptions.RayTaskError)
    cause = lazy.value.cause
    assert (cause.source, cause.byte_offset) == (expected.value.source, expected.value.byte_offset)
    assert str(cause).startswith(str(expected.value))
    assert Path(log).read_text() == "ran\n"


def test_a_worker_killed_in_a_read_loses_no_record_and_counts_none_twice(tmp_path: Path) -> None:
    options: dict[str, Any] = {
        "split_size": 64 << 10,
        "on_error": "collect",
        "include_file_paths": "path",
        "include_byte_offsets": "offset",
    }
    # Every split's worker dies once, after sending the split's report: the retried task sends it again.
    source = Wrapped(PRIDE, dies_once, lambda i: str(tmp_path / f"died-{i}"), gather_reports=True, **options)
    assert len(source.splits) > 3
    ds = ray.data.read_datasource(source, override_num_blocks=len(source.splits)).materialize()
    assert len(list(tmp_path.iterdir())) == len(source.splits)
    report = mp.ReadReport()
    source.fill_report(report)
    whole, whole_report = read_whole([PRIDE], "collect")
    same(blocks(ds), whole)
    same_report(report, whole_report)


class Recording(mpr.MarcDatasource):  # type: ignore[misc]
    """A MarcDatasource that notes, in the driver, the columns its read tasks are planned to read."""

    planned: list[list[str]] = []  # noqa: RUF012 (noted by every copy Ray makes)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None) -> Any:
        tasks = super().get_read_tasks(parallelism, per_task_row_limit, data_context)
        Recording.planned.append(tasks[0].schema.names)
        return tasks


def test_a_projected_read_is_the_projected_scan() -> None:
    specs = {"title": "245[0]$a[0]", "isbns": "020$a", "language": "008/35-37"}
    ds = mpr.read_marc(mp.SAMPLE, columns=specs, split_size=100_000).materialize()
    assert ds.num_blocks() == 8
    expected = mp.scan_marc(mp.SAMPLE, columns=specs).collect()
    assert blocks(ds).equals(expected)
    # `select_columns` is pushed down into the read tasks, which build only what it selects, in its order.
    source = Recording(mp.SAMPLE, columns=specs, split_size=100_000, include_byte_offsets="offset")
    selected = ray.data.read_datasource(source).select_columns(["language", "title"])
    assert blocks(selected).equals(expected.select("language", "title"))
    assert Recording.planned[-1] == ["language", "title"]
    # A fresh dataset: `selected` has been executed, and would count its blocks without reading again.
    assert ray.data.read_datasource(source).select_columns(["title"]).count() == expected.height
    assert Recording.planned[-1] == ["byte_offset"]  # the cheapest column: Ray counts a block's rows by its columns


def test_marc_polars_does_not_import_ray_and_says_how_to_install_it(tmp_path: Path) -> None:
    code = """
import sys
import marc_polars
assert "ray" not in sys.modules, "imported ray"
sys.modules["ray"] = None  # as if the extra were not installed
try:
    import marc_polars.ray
except ImportError as error:
    print(error)
"""
    child = run_python(code, cwd=tmp_path)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == 'marc_polars.ray needs Ray Data: pip install "marc_polars[ray]"'
