"""Rows of a split of a Hugging Face `datasets` dataset: a hub id at a pinned revision, or a local folder.

Only script-free datasets (data files the library reads itself: CSV, JSON Lines, Parquet, ...) load; the
content hash of the rows stands in for a file's sha256, so records of two machines compare.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jglue_bench.data.readers import Row
from jglue_bench.data.sources import SplitFile
from jglue_bench.errors import UserError


def read_hf_split(
    hf: Mapping[str, Any], hf_split: str, split: str, cache_dir: str | Path
) -> tuple[list[Row], SplitFile]:
    """Every row of `hf_split` of the dataset, and the split's provenance."""
    source = str(hf["path"])
    local = Path(source).expanduser()
    revision, name = hf.get("revision"), hf.get("name")
    if not local.is_dir() and not revision:
        raise UserError(
            f"hf_dataset {source!r} has no revision: pin one (a commit sha of the dataset repo) so the "
            f"data cannot change under a benchmark."
        )
    from datasets import load_dataset

    try:
        dataset = load_dataset(
            str(local) if local.is_dir() else source,
            name,
            revision=revision,
            split=hf_split,
            cache_dir=str(Path(str(cache_dir)).expanduser() / "hf-datasets"),
        )
    except Exception as error:  # datasets raises many kinds (missing split, offline, no such repo); all are input
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(
            f"Could not load split {hf_split!r} of the Hugging Face dataset {source!r} (revision "
            f"{revision}): {first_line}"
        ) from error
    digest = hashlib.sha256()
    rows = []
    for index, record in enumerate(dataset):
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode() + b"\n")
        rows.append(Row(record, local if local.is_dir() else Path(source), f"row {index + 1}", index + 1))
    split_file = SplitFile(
        split,
        local.resolve() if local.is_dir() else Path(source),
        "hf",
        digest.hexdigest(),
        None,
        "hf",
        f"{local.name if local.is_dir() else source}:{hf_split}",
        extra={"hf_dataset": source, "revision": revision, "config_name": name},
    )
    return rows, split_file
