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
from jglue_bench.train.batching import LABEL_KEYS, Collator, evaluation_batches, feature_length, to_device

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
) -> tuple[list[Any], float]:
    """Per-feature outputs in feature order, and the wall time spent."""
    started = time.perf_counter()
    model.eval()
    outputs_by_index: list[Any] = [None] * len(features)
    batches = evaluation_batches([feature_length(feature) for feature in features], batch_size)
    for indices in tqdm(batches, desc=desc, unit="batch", leave=False, disable=None if progress else True):
        batch = collator([features[i] for i in indices])
        inputs = to_device({name: value for name, value in batch.items() if name not in LABEL_KEYS}, device)
        with autocast():
            outputs = kind.forward(model, inputs)
        for i, row in zip(indices, kind.batch_outputs(outputs, inputs)):
            outputs_by_index[i] = row
    return outputs_by_index, time.perf_counter() - started


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
