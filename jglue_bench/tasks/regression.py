"""Regression (JSTS): a sentence pair, one real-valued score (MSE loss), scored by Pearson and Spearman."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from transformers import AutoModelForSequenceClassification

from jglue_bench import metrics
from jglue_bench.errors import DataError
from jglue_bench.tasks.common import Example, featurize_texts, id_field, logits_rows, text_field
from jglue_bench.tasks.spec import TaskSpec

AUTO_MODEL = AutoModelForSequenceClassification
batch_outputs = logits_rows
featurize = featurize_texts


def to_example(record: Mapping[str, Any], spec: TaskSpec, path: Path, where: int | str) -> Example:
    texts = tuple(text_field(record, field, path, where) for field in spec.fields["texts"])
    return Example(id_field(record, spec.fields["id"], path, where), texts, _score(record, spec, path, where), where)


def _score(record: Mapping[str, Any], spec: TaskSpec, path: Path, where: int | str) -> float:
    field = spec.fields["label"]
    raw = record.get(field)
    low, high = spec.label_range or (-math.inf, math.inf)
    expected = f"a number in [{low}, {high}]"
    # JSTS v1.0 stored scores as strings ("3.8"); a numeric string is accepted, anything else is not.
    try:
        value = float(raw) if not isinstance(raw, bool) and raw is not None else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not low <= value <= high:
        raise DataError.at(path, where, field, expected, found=raw)
    return value


def head_config(spec: TaskSpec) -> dict[str, Any]:
    return {"num_labels": 1, "problem_type": "regression"}




def decode(feature_outputs: Sequence[np.ndarray], features: Sequence[dict], examples: Sequence[Example],
           spec: TaskSpec) -> list[float]:
    return [float(row[0]) for row in feature_outputs]


def score(examples: Sequence[Example], predictions: Sequence[float], spec: TaskSpec) -> dict[str, float]:
    golds = [example.label for example in examples]
    return {name: metrics.METRICS[name](golds, predictions) for name in spec.metrics}


def prediction_rows(examples: Sequence[Example], predictions: Sequence[float], spec: TaskSpec) -> list[dict]:
    return [{"id": example.id, "gold": example.label, "prediction": round(prediction, 6),
             "error": round(prediction - example.label, 6)} for example, prediction in zip(examples, predictions)]
