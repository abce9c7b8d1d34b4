"""The one way jglue-bench replaces a file: write a temporary file in the same folder, fsync it, rename it over
the target. A reader (another process, a later run, a killed run's resume) sees the old file or the new one,
never half of one; on any error the temporary file is removed and the target is left as it was."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".part") -> Iterator[Path]:
    """A temporary path beside `path` to write inside the block; when the block ends without an error it is
    flushed to disk and renamed onto `path` (several of these in one ExitStack rename together, all or none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as written:  # the data on disk before the name points at it
            os.fsync(written.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes files private; records, caches and models are for sharing
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as temporary, open(temporary, "wb") as out:
        out.write(data)
