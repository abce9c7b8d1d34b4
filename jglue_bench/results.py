"""Run records: one JSON document per run, also appended to an append-only JSON Lines store.

Every write goes to a temporary file that is renamed into place, so an interrupted run never leaves a
half-written record; the store gets whole lines only.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch

RECORD_SCHEMA_VERSION = 1
PACKAGES = ("jglue-bench", "torch", "transformers", "accelerate", "tokenizers", "datasets", "hydra-core",
            "omegaconf", "fugashi", "unidic-lite", "ipadic", "sentencepiece", "scikit-learn", "scipy", "numpy")


def write_json_atomic(path: str | Path, document: Any) -> None:
    _write_atomic(Path(path), json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")


def write_jsonl_atomic(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> None:
    _write_atomic(Path(path), "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows))


def append_record(store: str | Path, record: Mapping[str, Any]) -> None:
    """Append one line; a single write of a whole line with O_APPEND keeps concurrent sweep jobs' lines whole."""
    store = Path(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    descriptor = os.open(store, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def read_records(store: str | Path) -> list[dict[str, Any]]:
    path = Path(store)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def config_hash(resolved_config: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(resolved_config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state() -> dict[str, Any]:
    """The commit of the jglue-bench checkout that ran (None when not run from a git checkout)."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}
    return {"sha": sha, "dirty": dirty}


def device_info(device: torch.device, precision: str, num_processes: int) -> dict[str, Any]:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {"type": device.type, "name": name, "num_processes": num_processes, "precision": precision,
            "torch_threads": torch.get_num_threads()}


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
