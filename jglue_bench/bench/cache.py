"""`bench cache`: preprocessing time of each task without the feature cache (every run tokenizes: the
baseline), on a cold cache (tokenize, then store) and on a warm one (load the stored features: ours), through
prepare.prepare_split with BandaiNamco's tokenizer. The cache lives in a temporary folder, so nothing of the
user's cache is read or written."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from jglue_bench.bench.common import bandainamco_tokenizer, inputs, present_splits, ratio, report, task_config
from jglue_bench.bench.padding import TASK_SPLITS

REPEATS = 5  # the median of five: one timing on a shared machine can be off by half


def run(
    data: Path,
    vocab: Path | None,
    *,
    version: str = "1.3",
    limit: int | None = None,
    out_dir: Path | None = None,
    tasks=TASK_SPLITS,
) -> dict:
    from jglue_bench.tokenization import tokenizer_fingerprint

    tokenizer = bandainamco_tokenizer(vocab)
    tokenizer_fingerprint(tokenizer)  # computed once per tokenizer (it hashes the vocabulary): not a task's cost
    with tempfile.TemporaryDirectory(prefix="jglue-bench-cache-") as cache_dir:
        warm_up(tasks[0], data, version, tokenizer, Path(cache_dir))
        measures = [
            measure_task(task, split, data, version, tokenizer, limit, Path(cache_dir)) for task, split in tasks
        ]
    rows = [
        [
            m["data"],
            m["features"],
            m["no_cache"]["seconds"],
            m["cold"]["seconds"],
            m["warm"]["seconds"],
            m["no_cache"]["featurize_or_load_seconds"],
            m["warm"]["featurize_or_load_seconds"],
            m["warm"]["cache_hit"],
            ratio(m["no_cache"]["seconds"], m["warm"]["seconds"]),
        ]
        for m in measures
    ]
    baseline = sum(m["no_cache"]["seconds"] for m in measures)
    ours = sum(m["warm"]["seconds"] for m in measures)
    result = {**inputs(data, vocab, version), "tasks": measures, "ratio_no_cache_over_warm": ratio(baseline, ours)}
    headers = [
        "data",
        "features",
        "no cache (baseline)",
        "cold cache (featurize + store)",
        "warm cache (ours)",
        "featurize only",
        "load only",
        "cache hit",
        "no cache / warm",
    ]
    per_task = ", ".join(f"{m['task']} {ratio(m['no_cache']['seconds'], m['warm']['seconds']):.1f}x" for m in measures)
    report(
        "cache",
        "bench cache: preprocessing seconds per split (read + featurize, or read + load; then featurize "
        "or load alone), BandaiNamco tokenizer",
        headers,
        rows,
        result,
        f"ratio no-cache/warm-cache preprocessing time: {per_task}; all tasks together {ratio(baseline, ours):.1f}x",
        out_dir,
    )
    return result


def measure_task(
    task: str, split: str, data: Path, version: str, tokenizer, limit: int | None, cache_dir: Path
) -> dict[str, Any]:
    from omegaconf import OmegaConf

    from jglue_bench.prepare.stage import read_split, task_spec

    cfg = task_config(task, data, version)
    spec = task_spec(cfg)
    split = (present_splits(spec, data, (split, "valid", "train", "test")) or [split])[0]
    data_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    read_split(spec, data_cfg, split, limit)  # the file in the page cache for every side alike
    timings = {}
    for name, cached, repeats in (("no_cache", False, REPEATS), ("cold", True, 1), ("warm", True, REPEATS)):
        tries = [
            timed_prepare(
                spec,
                {**data_cfg, "cache": cached, "cache_dir": str(cache_dir)},
                split,
                tokenizer,
                int(cfg.max_seq_length),
                limit,
            )
            for _ in range(repeats)
        ]
        timings[name] = sorted(tries, key=lambda timing: timing["seconds"])[len(tries) // 2]
    return {
        "task": task,
        "split": split,
        "data": f"{task} {split}",
        "features": timings["warm"].pop("features"),
        **{
            name: {key: value for key, value in timing.items() if key != "features"} for name, timing in timings.items()
        },
    }


def warm_up(task_split: tuple[str, str], data: Path, version: str, tokenizer, cache_dir: Path) -> None:
    """One small round trip through the cache first, so lazy imports and first calls (MeCab, Arrow) are not
    charged to the first task measured."""
    measure_task(*task_split, data, version, tokenizer, 8, cache_dir / "warm-up")


def timed_prepare(spec, data_cfg: dict, split: str, tokenizer, max_seq_length: int, limit: int | None) -> dict:
    from jglue_bench.prepare.stage import prepare_split

    started = time.perf_counter()
    prepared = prepare_split(spec, data_cfg, split, tokenizer, max_seq_length, False, limit)
    return {
        "seconds": time.perf_counter() - started,
        "featurize_or_load_seconds": prepared.seconds,
        "cache_hit": bool(getattr(prepared, "cache_hit", False)),
        "features": len(prepared.features),
    }
