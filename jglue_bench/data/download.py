"""Download a file into a cache and use it only when its content matches the pinned checksum.

The download goes to a temporary file beside the destination and is renamed into place only after the
checksum matched, so a corrupt or partial download is never used and never left where a later run would
find it.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from jglue_bench.errors import ChecksumError, UserError
from jglue_bench.support.atomic import atomic_path

CHUNK_BYTES = 1 << 20


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git_blob_sha1(path: str | Path) -> str:
    """The id git gives the file's content (`git hash-object`): the only pin GitHub shows for large files."""
    digest = hashlib.sha1(f"blob {os.path.getsize(path)}\0".encode())
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_problem(path: str | Path, sha256: str | None = None, git_blob: str | None = None) -> str | None:
    """None when the file matches every checksum given, else a sentence saying which one differs."""
    if sha256 is None and git_blob is None:
        raise ValueError(f"no checksum pinned for {path}")
    if sha256 is not None:
        actual = file_sha256(path)
        if actual != sha256:
            return f"sha256 is {actual}, expected {sha256}"
    if git_blob is not None:
        actual = git_blob_sha1(path)
        if actual != git_blob:
            return f"git blob id is {actual}, expected {git_blob}"
    return None


def matches_pin(
    path: str | Path, actual_sha256: str, sha256: str | None = None, git_blob: str | None = None
) -> bool | None:
    """Whether a file whose sha256 is already known matches its pin; None when nothing is pinned."""
    if sha256 is not None:
        return actual_sha256 == sha256
    if git_blob is not None:
        return git_blob_sha1(path) == git_blob
    return None


def fetch_verified(
    url: str, dest: str | Path, sha256: str | None = None, git_blob: str | None = None, timeout_s: float = 60.0
) -> Path:
    """Return `dest`, downloading `url` there first unless a verified copy is already present."""
    dest = Path(dest)
    if dest.exists() and checksum_problem(dest, sha256, git_blob) is None:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as temporary:  # a failed or tampered download never takes dest's name
        with open(temporary, "wb") as out:
            _stream(url, out, timeout_s)
        problem = checksum_problem(temporary, sha256, git_blob)
        if problem is not None:
            raise ChecksumError(
                f"Downloaded {url} does not match its pinned checksum ({problem}); "
                f"the file was discarded. Try again, or check that the URL serves the pinned release."
            )
    return dest


def _stream(url: str, out, timeout_s: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], leave=False) as bar:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise UserError(
            f"Could not download {url}: {error}. Check the network, or point data.dir at a local "
            f"copy of JGLUE's datasets/ folder."
        ) from error
