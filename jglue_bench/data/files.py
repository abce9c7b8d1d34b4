"""Find a task's split file: in a local JGLUE `datasets/` folder, in the bundled sample, or downloaded from
the pinned JGLUE release into the cache (checked against its pinned checksum before use)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from jglue_bench.data.download import fetch_verified, file_sha256, matches_pin
from jglue_bench.data.releases import (NOT_DISTRIBUTED, RELEASE_TAGS, has_split, normalize_version, relative_path,
                                       release_file)
from jglue_bench.errors import UserError

SAMPLE_VERSION = "1.3"


@dataclass(frozen=True)
class SplitFile:
    """One split file as used by a run; `matches_release` says whether its content is the pinned release's."""

    split: str
    path: Path
    sha256: str
    matches_release: bool | None

    def as_record(self) -> dict[str, Any]:
        return {"split": self.split, "path": str(self.path), "sha256": self.sha256,
                "matches_release": self.matches_release}


def sample_dir() -> Path:
    return Path(str(resources.files("jglue_bench") / "sample_data"))


def locate_split(data_cfg: Mapping[str, Any], dir_name: str, split: str) -> SplitFile:
    """The file of `split` for the task stored under `dir_name`, per the `data` config."""
    version = normalize_version(data_cfg["version"])
    if not has_split(version, split):
        available = "train, valid, test" if version == "1.3" else "train, valid (test files exist from v1.3)"
        raise UserError(f"JGLUE v{version} has no '{split}' split; choose data.train_split / data.eval_split "
                        f"among {available}.")
    source = data_cfg.get("source", "local")
    if source == "download":
        path = _download(data_cfg, dir_name, version, split)
    elif source == "local":
        path = _local(data_cfg, dir_name, version, split)
    else:
        raise UserError(f"data.source is {source!r}; expected 'local' or 'download'.")
    sha256 = file_sha256(path)
    pinned = release_file(dir_name, version, split)
    matches = matches_pin(path, sha256, pinned.sha256, pinned.git_blob) if pinned else None
    return SplitFile(split, path.resolve(), sha256, matches)


def _local(data_cfg: Mapping[str, Any], dir_name: str, version: str, split: str) -> Path:
    root = data_cfg.get("dir")
    if root is None:
        if version != SAMPLE_VERSION:
            raise UserError(f"The bundled sample follows JGLUE v{SAMPLE_VERSION} only; set data.version="
                            f"{SAMPLE_VERSION}, or point data.dir at a JGLUE datasets/ folder.")
        root = sample_dir()
    root = Path(str(root)).expanduser()
    if not root.is_dir():
        raise UserError(f"data.dir {root} is not a folder; expected JGLUE's datasets/ layout "
                        f"(<task>-v<version>/<split>-v<version>.json).")
    path = root / relative_path(dir_name, version, split)
    if not path.is_file():
        hint = (" MARC-ja is no longer distributed: build it with `jglue-bench data build-marc-ja`."
                if dir_name in NOT_DISTRIBUTED else
                " Choose another split (e.g. data.train_split=test), or data.source=download.")
        raise UserError(f"{path} does not exist.{hint}")
    return path


def _download(data_cfg: Mapping[str, Any], dir_name: str, version: str, split: str) -> Path:
    if dir_name in NOT_DISTRIBUTED:
        raise UserError("MARC-ja cannot be downloaded (Amazon withdrew the corpus); build it from your own copy "
                        "of the reviews with `jglue-bench data build-marc-ja`, then use data.source=local.")
    pinned = release_file(dir_name, version, split)
    if pinned is None:
        raise UserError(f"'{dir_name}' is not a JGLUE task, so there is no release to download; use "
                        f"data.source=local with data.dir pointing at its files.")
    tag = RELEASE_TAGS[version]
    url = f"{str(data_cfg['download_url']).rstrip('/')}/{tag}/datasets/{pinned.relative_path}"
    dest = Path(str(data_cfg["cache_dir"])).expanduser() / "jglue" / tag / "datasets" / pinned.relative_path
    return fetch_verified(url, dest, sha256=pinned.sha256, git_blob=pinned.git_blob)

