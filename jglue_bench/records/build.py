"""The RunRecord of a run: what ran (task, data, model, tokenizer, config), what it scored, where and how fast."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from jglue_bench.prepare.stage import SplitData
from jglue_bench.records.store import (
    RECORD_SCHEMA_VERSION,
    append_record,
    device_info,
    git_state,
    package_versions,
    write_json_atomic,
)
from jglue_bench.tasks import TaskSpec
from jglue_bench.tokenization import tokenizer_fingerprint


def build_record(
    cfg: DictConfig,
    spec: TaskSpec,
    kind: str,
    splits: Sequence[SplitData],
    tokenizer,
    metrics: dict[str, dict[str, Any]],
    history: list[dict[str, Any]],
    device,
    num_processes: int,
    model_facts: dict[str, Any],
    experiment: dict[str, Any] | None = None,
    parallelism: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`splits`: the train split first (for a training run), then the eval splits; `metrics`: scores per eval
    split. The first eval split's scores are the record's headline `metrics`. `model_facts`: plain values the
    loop measured (`num_parameters`, and `first_token_last_layer`: whether that speed-up ran), so records know
    nothing of the model code. `experiment`: its key, and the sweep and grid cell the run belongs to. `parallelism`: how a training run
    was spread (strategy, per-device and global batch), kept in the record's `device` beside num_processes."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    eval_splits = list(metrics)
    origins = sorted({data.file.origin for data in splits})
    return {
        "schema_version": RECORD_SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex[:12],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_kind": kind,
        "task": {
            "name": spec.name,
            "kind": spec.kind,
            "data_version": spec.version,
            "data_source": "+".join(origins),
            "train_split": cfg.data.train_split if kind == "train" else None,
            "eval_splits": eval_splits,
            "labels": list(spec.labels) if spec.labels else None,
            "origin": spec.origin,
            "files": [{**data.file.as_record(), "examples": data.total, "used": len(data.examples)} for data in splits],
        },
        "preprocessing": {data.split: data.preprocessing() for data in splits if hasattr(data, "preprocessing")},
        "model": {
            "name": cfg.model.name,
            "pretrained": cfg.model.pretrained,
            "revision": cfg.model.revision,
            "num_parameters": model_facts["num_parameters"],
            "trainable_parameters": model_facts.get("trainable_parameters"),
            "peft": model_facts.get("peft"),  # LoRA's settings (model.peft); None: every weight fine-tuned
            "first_token_last_layer": model_facts["first_token_last_layer"],
            "tokenizer_recipe": dict(tokenizer.jglue_recipe),
            "tokenizer_fingerprint": tokenizer_fingerprint(tokenizer),
            # where the special tokens' places came from (the unigram recipe reads them from the model's files)
            "tokenizer_layout": getattr(tokenizer, "jglue_layout_source", "the tokenizer class's own"),
        },
        "split": eval_splits[0],
        "metrics": metrics[eval_splits[0]],
        "eval_metrics": metrics,
        "metrics_scale": "x100 (as in the published JGLUE tables)",
        "main_metric": spec.main_metric,
        "history": history,
        "seed": cfg.seed,
        "hyperparameters": {
            "learning_rate": cfg.learning_rate,
            "num_train_epochs": cfg.num_train_epochs,
            "batch_size": cfg.batch_size,
            "max_seq_length": cfg.max_seq_length,
            "precision": cfg.trainer.precision,
        },
        "protocol": cfg.get("protocol", "single"),
        "experiment": experiment or {},
        "config": resolved,
        "git": git_state(),
        "packages": package_versions(),
        "device": {**device_info(device, cfg.trainer.precision, num_processes), **(parallelism or {})},
    }


def finish_record(
    record: dict[str, Any],
    output_dir: Path,
    store: str | Path,
    started: float,
    throughput: dict[str, Any],
    write: bool = True,
) -> None:
    """Add timing, then write record.json into the run folder and append it to the records store."""
    record["wall_time_s"] = round(time.perf_counter() - started, 2)
    record["throughput"] = throughput
    record["output_dir"] = str(output_dir)
    if write:
        write_json_atomic(output_dir / "record.json", record)
        append_record(store, record)
