"""What can be read, and the one place that tells its kinds apart: paths, bytes, file objects."""

from __future__ import annotations

import errno
import glob as globbing
import io
import os
from collections.abc import Sequence
from typing import IO, TypeGuard, cast

from marc_polars import _native

#: What the readers take: a path (a glob pattern, where globs are expanded), bytes, or a binary file
#: object.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
#: A source as the native reader takes it (see `native_source`).
NativeSource = str | bytes | bytearray | IO[bytes]


def native_source(source: object) -> NativeSource:
    """What the native reader takes: a path `str`, `bytes`/`bytearray`, or a binary file object.

    Raises `TypeError` for anything else, a text-mode file included.
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return path if isinstance(path, str) else os.fsdecode(path)
    if isinstance(source, (bytes, bytearray)):
        return source
    if isinstance(source, memoryview):
        viewed = source.obj
        # A view of a whole bytes object is read in place; any other view is copied once.
        if isinstance(viewed, bytes) and source.c_contiguous and source.nbytes == len(viewed):
            return viewed
        return source.tobytes()
    if isinstance(source, io.TextIOBase):
        raise TypeError("expected a binary file object, got a text-mode file: open it with 'rb'")
    if callable(getattr(source, "read", None)):
        # Whatever its class, an object with .read() is read as a binary file object.
        return cast(IO[bytes], source)
    raise TypeError(
        f"expected str, os.PathLike, bytes or a binary file-like object with .read(), got {type(source).__name__}"
    )


#: URL schemes read from object stores and HTTP servers rather than as local paths.
REMOTE_SCHEMES = ("s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss", "http", "https")


def is_url(source: object) -> TypeGuard[str]:
    """Whether `source` is the URL of a remote object (or a pattern of them)."""
    return isinstance(source, str) and source.partition("://")[0].lower() in REMOTE_SCHEMES and "://" in source


def expand(
    source: Source | Sequence[Source], glob: bool, storage_options: dict[str, str] | None = None
) -> list[NativeSource]:
    """The sources one after another, glob patterns expanded (sorted) when `glob`: local ones on
    the file system, remote ones by listing their store with `storage_options`."""
    out: list[NativeSource] = []
    for item in source if isinstance(source, (list, tuple)) else [source]:
        native = native_source(item)
        if glob and is_url(native) and globbing.has_magic(native.partition("://")[2]):
            out.extend(_native.glob_remote(native, storage_options))
        elif glob and isinstance(native, str) and globbing.has_magic(native) and not os.path.exists(native):
            matches = sorted(globbing.glob(native, recursive=True))
            if not matches:
                raise FileNotFoundError(errno.ENOENT, "no file matches the pattern", native)
            out.extend(matches)
        else:
            out.append(native)
    return out


def is_stream(source: NativeSource) -> TypeGuard[IO[bytes]]:
    return not isinstance(source, (str, bytes, bytearray))


def seekable(stream: object) -> bool:
    seekable = getattr(stream, "seekable", None)
    return bool(seekable and seekable())


def source_name(source: NativeSource) -> str:
    """What errors call a source: its path, ``<bytes>``, or the file object's name."""
    if isinstance(source, str):
        return source
    if isinstance(source, (bytes, bytearray)):
        return "<bytes>"
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"
