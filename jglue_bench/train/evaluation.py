"""Predict with a model over features, decode per example, score, and write the predictions file."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from tqdm.auto import tqdm

from jglue_bench.records.store import write_jsonl_atomic
from jglue_bench.tasks import TaskSpec
from jglue_bench.tasks.common import Example
from jglue_bench.train.batching import (
    LABEL_KEYS,
    Collator,
    evaluation_batches,
    feature_length,
    shard_batches,
    to_device,
)

PERCENT = 100.0  # records and tables use the published tables' scale: accuracy 88.9, Pearson 89.2, F1 93.3


@torch.inference_mode()
def predict(
    model,
    features: Sequence[dict],
    kind: ModuleType,
    collator: Collator,
    batch_size: int,
    device: torch.device,
    autocast,
    progress: bool = True,
    desc: str = "predict",
    processes: tuple[int, int] = (1, 0),
) -> tuple[list[Any], float]:
    """Per-feature outputs in feature order, and the wall time spent. `processes`: (how many, this one's index)
    under a distributed launch: each process predicts its share of the batches and every process gets all
    the outputs back."""
    started = time.perf_counter()
    model.eval()
    num_processes, process_index = processes
    # Every process takes the same number of batches (a share is padded with repeats of the first batches), as
    # a sharded model's forward is collective; the repeats land on indices already filled.
    batches = shard_batches(
        evaluation_batches([feature_length(feature) for feature in features], batch_size), num_processes, process_index
    )
    outputs: list[tuple[int, Any]] = []
    for indices in tqdm(batches, desc=desc, unit="batch", leave=False, disable=None if progress else True):
        batch = collator([features[i] for i in indices])
        inputs = to_device({name: value for name, value in batch.items() if name not in LABEL_KEYS}, device)
        with autocast():
            rows = kind.batch_outputs(kind.forward(model, inputs), inputs)
        outputs.extend(zip(indices, rows))
    return in_feature_order(gathered(outputs, num_processes), len(features)), time.perf_counter() - started


def gathered(outputs: list[tuple[int, Any]], num_processes: int) -> list[tuple[int, Any]]:
    """Every process's (feature index, output) pairs, on every process."""
    if num_processes == 1:
        return outputs
    everyone: list[Any] = [None] * num_processes
    torch.distributed.all_gather_object(everyone, outputs)
    return [pair for share in everyone for pair in share]


def in_feature_order(outputs: list[tuple[int, Any]], count: int) -> list[Any]:
    """One output per feature, by index: a padding repeat of a batch fills a place already filled."""
    ordered: list[Any] = [None] * count
    filled = [False] * count
    for index, row in outputs:
        ordered[index], filled[index] = row, True
    if not all(filled):
        raise RuntimeError(f"predictions for {filled.count(False)} of {count} features never came back")
    return ordered


def score_outputs(
    kind: ModuleType,
    spec: TaskSpec,
    outputs: Sequence[Any],
    features: Sequence[dict],
    examples: Sequence[Example],
    tokenizer=None,
) -> tuple[list[Any], dict[str, float]]:
    """Decoded predictions per example and the metrics on the published tables' scale (x100). The tokenizer
    lets extractive QA rebuild answers from tokens too, for the *_official metrics."""
    predictions = kind.decode(outputs, features, examples, spec, tokenizer)
    scores = kind.score(examples, predictions, spec)
    return predictions, {name: round(value * PERCENT, 4) for name, value in scores.items()}


def write_predictions(
    path: Path, kind: ModuleType, spec: TaskSpec, examples: Sequence[Example], predictions: Sequence[Any]
) -> None:
    write_jsonl_atomic(path, kind.prediction_rows(examples, predictions, spec))
