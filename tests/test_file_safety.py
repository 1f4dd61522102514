"""A frame never depends on its file once the call returns, and writing a file never loses it.

Run in a child process: a frame whose strings pointed into a mapping of its file would crash the
process (SIGBUS) when the file is truncated, which must fail the test rather than the test run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

import marc_polars as mp

CHILD = textwrap.dedent(
    """
    import io, os, shutil, sys
    import polars as pl
    import marc_polars as mp

    original, path = sys.argv[1], sys.argv[2]
    options = eval(sys.argv[3])

    def snapshot(frame):
        # A copy that shares no buffer with the frame: its Arrow IPC bytes.
        out = io.BytesIO()
        frame.write_ipc(out)
        return out.getvalue()

    def read():
        return {
            "read_marc": mp.read_marc(path, **options),
            "read_marc columns": mp.read_marc(
                path, columns={"id": "001", "title": "245$a"}, on_error="collect", **options
            ),
            "iter_batches": pl.concat(mp.iter_batches(path, batch_size=300, **options)),
            "scan head": mp.scan_marc(path, **options).head(1000).collect(),
            "scan filter": mp.scan_marc(path, on_error="repair", **options)
            .filter(pl.col("leader").str.slice(6, 1) == "a")
            .collect(),
        }

    def rewrite(frames):
        mp.write_marc(frames["read_marc"].filter(pl.col("leader").str.slice(6, 1) == "a").head(10), path)

    def overwrite(frames):
        with open(path, "r+b") as file:
            file.write(os.urandom(os.path.getsize(path)))

    steps = {
        "write_marc of a filtered frame to its own file": rewrite,
        "write_parquet over it": lambda frames: frames["read_marc"].write_parquet(path),
        "truncated": lambda frames: os.truncate(path, 100),
        "other bytes of the same length": overwrite,
        "deleted": lambda frames: os.remove(path),
    }
    for step, change in steps.items():
        # Each change is made to the file as it was read, not to one an earlier step replaced.
        shutil.copy(original, path)
        frames = read()
        before = {name: snapshot(frame) for name, frame in frames.items()}
        change(frames)
        for name, frame in frames.items():
            # Writing a frame out reads every byte it points at.
            assert snapshot(frame) == before[name], (step, name)
        print(step, "ok", flush=True)
    """
)

STEPS = [
    "write_marc of a filtered frame to its own file",
    "write_parquet over it",
    "truncated",
    "other bytes of the same length",
    "deleted",
]


def run_child(tmp_path: Path, options: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "catalogue.mrc"
    return subprocess.run(
        [sys.executable, "-c", CHILD, mp.SAMPLE, str(path), options],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )


def test_frames_outlive_their_file_being_rewritten_truncated_and_deleted(tmp_path: Path):
    child = run_child(tmp_path, "{}")
    assert child.returncode == 0, (child.returncode, child.stdout, child.stderr)
    assert child.stdout.split("\n")[:-1] == [f"{step} ok" for step in STEPS]


def test_a_mapped_frame_is_what_memory_map_warns_of(tmp_path: Path):
    """The risk memory_map=True documents, shown: the same steps break a mapped frame."""
    child = run_child(tmp_path, "{'memory_map': True}")
    assert child.returncode != 0 and "other bytes of the same length ok" not in child.stdout
    # write_marc replaces the file by renaming another over it: the mapped frame reads the old one.
    assert child.stdout.startswith("write_marc of a filtered frame to its own file ok\n")


def test_a_write_refused_for_a_bad_frame_leaves_the_file_as_it_was(tmp_path: Path):
    path = tmp_path / "catalogue.mrc"
    shutil.copy(mp.SAMPLE, path)
    original = path.read_bytes()
    df = mp.read_marc(path)
    broken = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 500).then(pl.lit("short")).otherwise("leader").alias("leader")
    )
    with pytest.raises(ValueError, match="row 500"):
        mp.write_marc(broken, path)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalogue.mrc"], "no temporary file is left"


def test_a_failed_write_leaves_what_was_there_and_no_temporary_file(tmp_path: Path):
    """The write itself fails (the destination is a folder, which no file replaces): what was
    there is untouched and the temporary file is gone."""
    target = tmp_path / "catalogue.mrc"
    target.mkdir()
    (target / "kept").write_text("kept")
    with pytest.raises(OSError):
        mp.write_marc(mp.read_marc(mp.SAMPLE), target)
    assert (target / "kept").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalogue.mrc"]


def test_write_marc_keeps_the_permissions_of_the_file_it_replaces(tmp_path: Path):
    path = tmp_path / "catalogue.mrc"
    shutil.copy(mp.SAMPLE, path)
    path.chmod(0o640)
    mp.write_marc(mp.read_marc(path).head(3), path)
    assert path.stat().st_mode & 0o777 == 0o640 and mp.read_marc(path).height == 3


def test_a_symbolic_link_is_followed_and_its_target_replaced(tmp_path: Path):
    target = tmp_path / "catalogue.mrc"
    shutil.copy(mp.SAMPLE, target)
    link = tmp_path / "link.mrc"
    link.symlink_to(target)
    mp.write_marc(mp.read_marc(link).head(2), link)
    assert link.is_symlink() and mp.read_marc(target).height == 2
