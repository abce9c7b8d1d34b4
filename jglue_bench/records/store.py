"""Run records: one JSON document per run, also appended to an append-only JSON Lines store.

Every write goes to a temporary file that is renamed into place, so an interrupted run never leaves a
half-written record; the store gets whole lines only.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from jglue_bench.errors import DataError
from jglue_bench.support.atomic import write_text_atomic

RECORD_SCHEMA_VERSION = 2
PACKAGES = (
    "jglue-bench",
    "torch",
    "transformers",
    "accelerate",
    "tokenizers",
    "datasets",
    "hydra-core",
    "omegaconf",
    "fugashi",
    "unidic-lite",
    "ipadic",
    "sentencepiece",
    "scikit-learn",
    "scipy",
    "numpy",
)


def write_json_atomic(path: str | Path, document: Any) -> None:
    text = json.dumps(without_nan(document), ensure_ascii=False, indent=2, default=str, allow_nan=False)
    write_text_atomic(path, text + "\n")


def write_yaml_atomic(path: str | Path, document: Any) -> None:
    import yaml

    write_text_atomic(path, yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def write_jsonl_atomic(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> None:
    write_text_atomic(
        path,
        "".join(json.dumps(without_nan(row), ensure_ascii=False, default=str, allow_nan=False) + "\n" for row in rows),
    )


def append_record(store: str | Path, record: Mapping[str, Any]) -> None:
    """Append one record as one line. Writers take a lock file beside the store (parallel jobs, SLURM jobs on a
    shared file system, where O_APPEND alone does not keep lines whole), write the line in full, and fsync; a
    write that fails half way (a full disk) is cut back, so the store never holds half a line."""
    from filelock import FileLock

    store = Path(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(without_nan(record), ensure_ascii=False, default=str, allow_nan=False) + "\n").encode("utf-8")
    with FileLock(str(store) + ".lock", timeout=600):
        descriptor = os.open(store, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(descriptor).st_size
            try:
                written = 0
                while written < len(line):
                    written += os.write(descriptor, line[written:])
                os.fsync(descriptor)
            except OSError:
                os.ftruncate(descriptor, size)
                raise
        finally:
            os.close(descriptor)


def find_record(store: str | Path, key: str) -> dict[str, Any] | None:
    """The last training record in the store with this experiment key, or None."""
    found = None
    for record in read_records(store, skip_corrupt=True):
        if record.get("run_kind") == "train" and (record.get("experiment") or {}).get("key") == key:
            found = record
    return found


def read_records(store: str | Path, skip_corrupt: bool = False) -> list[dict[str, Any]]:
    """The store's records in file order. A line that is not a JSON run record raises a DataError naming its
    line, or with `skip_corrupt` is reported on stderr and skipped: one bad line must not hide every other run."""
    path = Path(store)
    if not path.is_file():
        return []
    records = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                problem = record_problem(record)
            except json.JSONDecodeError as error:
                problem = f"invalid JSON ({error.msg})"
            if problem is None:
                records.append(record)
                continue
            error = DataError.at(path, number, None, "one JSON run record on each line", found_text=problem)
            if not skip_corrupt:
                raise error
            print(f"jglue-bench: warning: {error} (skipped)", file=sys.stderr)
    return records


def record_problem(record: Any) -> str | None:
    """What keeps a parsed line from being a run record the tables can use, or None."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    for part in ("task", "model"):
        if not isinstance(record.get(part), dict) or not isinstance(record[part].get("name"), str):
            return f"no {part}.name"
    scores = record.get("eval_metrics") or {"": record.get("metrics")}
    if not isinstance(scores, dict) or not all(isinstance(metrics, dict) for metrics in scores.values()):
        return "no metrics object"
    for part in ("hyperparameters", "device", "throughput"):
        if record.get(part) is not None and not isinstance(record[part], dict):
            return f"'{part}' that is not an object"
    return None


def without_nan(value: Any) -> Any:
    """NaN (say, a correlation over constant predictions) becomes null, so records stay strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nan(item) for item in value]
    return value


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
    root = Path(__file__).resolve().parents[2]  # the checkout holding jglue_bench/records/store.py
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = (
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
            != ""
        )
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}
    return {"sha": sha, "dirty": dirty}


def device_info(device, precision: str, num_processes: int) -> dict[str, Any]:
    import torch  # here, not at the top: `report` reads records without torch

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {
        "type": device.type,
        "name": name,
        "num_processes": num_processes,
        "precision": precision,
        "torch_threads": torch.get_num_threads(),
    }
