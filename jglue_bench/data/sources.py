"""Find the file of one split, as a task YAML names it, and say where it came from.

A task names a file per split. An absolute path is used as it is. A relative path is relative to the task's
`source.dir` when the task has a `source` (a pinned release: JGLUE's datasets/ folder, JCoLA's folder), else to
the task YAML's own folder. A `source` may also name a `url` to download the pinned files from (each checked
against its sha256 or git blob id before use) and offer the bundled sample when no folder is set.

`data.source` picks among them: auto (the folder if set, else the bundled sample, else a download), local (the
folder or the sample, never the network) or download (always the pinned copy, fetched into data.cache_dir).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jglue_bench.data import releases
from jglue_bench.data.download import fetch_verified, file_sha256, matches_pin
from jglue_bench.data.readers import format_of
from jglue_bench.errors import UserError

SOURCE_MODES = ("auto", "local", "download")
SAMPLE_VERSION = "1.3"


@dataclass(frozen=True)
class FileEntry:
    """What a task YAML says of one split's file."""

    split: str
    path: str
    format: str | None = None
    sha256: str | None = None
    git_blob: str | None = None


@dataclass(frozen=True)
class Source:
    """Where a task's relative paths live: `dir` (a folder), the bundled `sample`, or a pinned `url`; `pins`
    names a pin table (jglue) for files whose entry gives no checksum; `base_dir` is the task YAML's folder."""

    dir: str | None = None
    url: str | None = None
    pins: str | None = None
    sample: bool = False
    base_dir: Path | None = None
    declared: bool = False  # the task YAML has a `source` block


@dataclass(frozen=True)
class SplitFile:
    """One split file as a run used it: where it was, its content hash and whether that is the pinned one."""

    split: str
    path: Path
    format: str
    sha256: str
    matches_pin: bool | None  # None: nothing pinned (a user's own file)
    origin: str  # local, bundled-sample, download, hf
    name: str  # the path relative to its source (the same on every machine)
    extra: Mapping[str, Any] | None = None

    def as_record(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "path": str(self.path),
            "name": self.name,
            "format": self.format,
            "sha256": self.sha256,
            "matches_pin": self.matches_pin,
            "origin": self.origin,
            **(self.extra or {}),
        }


def sample_dir() -> Path:
    return Path(str(resources.files("jglue_bench") / "sample_data"))


def locate_file(entry: FileEntry, source: Source, data_cfg: Mapping[str, Any]) -> SplitFile:
    """The file of `entry`, found per `source` and data.source, hashed and checked against its pin."""
    path, origin = find_file(entry, source, data_cfg)
    pin_sha256, pin_blob = pin_of(entry, source)
    sha256 = file_sha256(path)
    matches = matches_pin(path, sha256, pin_sha256, pin_blob)
    expanded = Path(entry.path).expanduser()
    return SplitFile(
        entry.split,
        path.resolve(),
        format_of(path, entry.format),
        sha256,
        matches,
        origin,
        entry.path if not expanded.is_absolute() else expanded.name,
    )


def find_file(entry: FileEntry, source: Source, data_cfg: Mapping[str, Any]) -> tuple[Path, str]:
    """Where the file of `entry` is (downloading it if data.source asks for that), and its origin; not hashed."""
    mode = str(data_cfg.get("source") or "auto")
    if mode not in SOURCE_MODES:
        raise UserError(f"data.source is {mode!r}; expected one of {', '.join(SOURCE_MODES)}.")
    expanded = Path(entry.path).expanduser()
    pin_of(entry, source)  # first: a file the pinned release lacks is named as such
    if expanded.is_absolute():
        return _existing(expanded, entry), "local"
    if not source.declared:
        return _existing((source.base_dir or Path.cwd()) / expanded, entry), "local"
    return _from_source(entry, source, mode, data_cfg)


def pin_of(entry: FileEntry, source: Source) -> tuple[str | None, str | None]:
    """The pinned sha256 and git blob id of a file: its own entry's, else its pin table's."""
    if entry.sha256 or entry.git_blob:
        return entry.sha256, entry.git_blob
    if source.pins == "jglue":
        release = releases.release_file_at(entry.path)
        if release is None:
            raise UserError(f"{entry.path} is not a file of any pinned JGLUE release ({releases.describe_releases()}).")
        return release.sha256, release.git_blob
    if source.pins:
        raise UserError(
            f"source.pins is {source.pins!r}; the only pin table is 'jglue' (give other files their "
            f"own sha256 in the task YAML)."
        )
    return None, None


def _from_source(entry: FileEntry, source: Source, mode: str, data_cfg: Mapping[str, Any]) -> tuple[Path, str]:
    if mode != "download" and source.dir not in (None, ""):
        root = Path(str(source.dir)).expanduser()
        if not root.is_dir():
            raise UserError(f"{root} is not a folder; the task's source.dir should hold {entry.path}.")
        return _existing(root / entry.path, entry), "local"
    if mode != "download" and source.sample:
        path = sample_dir() / entry.path
        if path.is_file():
            return path, "bundled-sample"
        if mode == "local" or not source.url:
            raise UserError(
                f"The bundled sample has no {entry.path} (it follows JGLUE v{SAMPLE_VERSION} only, "
                f"and JCoLA v1.0); set data.dir to your JGLUE datasets/ folder, or data.source=download."
            )
    if mode == "local":
        raise UserError(
            f"No folder is set for {entry.path} (the task's source.dir is null) and data.source=local "
            f"forbids a download; set the folder, or data.source=auto."
        )
    if not source.url:
        raise UserError(
            f"No folder is set for {entry.path} (the task's source.dir is null) and the task names no "
            f"source.url to download it from."
        )
    return _download(entry, source, data_cfg), "download"


def _download(entry: FileEntry, source: Source, data_cfg: Mapping[str, Any]) -> Path:
    sha256, git_blob = pin_of(entry, source)
    if sha256 is None and git_blob is None:
        raise UserError(
            f"{entry.path} has no pinned sha256 (or git blob id), so it is not downloaded: a download is "
            f"used only when it matches its pin. Add `sha256:` to its entry in the task YAML."
        )
    url = f"{str(source.url).rstrip('/')}/{entry.path}"
    site = hashlib.sha256(str(source.url).rstrip("/").encode()).hexdigest()[:12]
    dest = Path(str(data_cfg.get("cache_dir") or "~/.cache/jglue-bench")).expanduser() / "downloads" / site / entry.path
    return fetch_verified(url, dest, sha256=sha256, git_blob=git_blob)


def _existing(path: Path, entry: FileEntry) -> Path:
    if not path.is_file():
        hint = (
            " MARC-ja is no longer distributed: build it with `jglue-bench data build-marc-ja`."
            if "marc_ja" in entry.path
            else f" Check files.{entry.split} in the task YAML, or choose another split (e.g. data.train_split=test)."
        )
        raise UserError(f"{path} does not exist ({entry.split} split).{hint}")
    return path
