"""Regression (JSTS, users' own): one text or a pair, one real-valued score (MSE loss); Pearson and Spearman."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from transformers import AutoModelForSequenceClassification

from jglue_bench.data.readers import Row
from jglue_bench.errors import DataError
from jglue_bench.tasks.common import Example, featurize_texts, logits_rows, model_forward, score_labels, texts_example
from jglue_bench.tasks.spec import TaskSpec


def _score(row: Row, spec: TaskSpec) -> float:
    field = spec.fields["label"]
    raw = row.values.get(field)
    low, high = spec.label_range or (-math.inf, math.inf)
    expected = f"a number in [{low}, {high}]" if spec.label_range else "a number"
    # JSTS v1.0 stored scores as strings ("3.8"), as CSV does; a numeric string is accepted, anything else is not.
    try:
        value = float(raw) if isinstance(raw, (int, float, str)) and not isinstance(raw, bool) else math.nan
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # NaN fails too
        raise DataError.at(row.path, row.where, field, expected, found=raw, missing=field not in row.values)
    return value


def head_config(spec: TaskSpec) -> dict[str, Any]:
    return {"num_labels": 1, "problem_type": "regression"}


def decode(
    feature_outputs: Sequence[np.ndarray],
    features: Sequence[dict],
    examples: Sequence[Example],
    spec: TaskSpec,
    tokenizer=None,
) -> list[float]:
    return [float(row[0]) for row in feature_outputs]


def prediction_rows(examples: Sequence[Example], predictions: Sequence[float], spec: TaskSpec) -> list[dict]:
    return [
        {
            "id": example.id,
            "gold": example.label,
            "prediction": float(prediction),  # unrounded: intervals recomputed from this file match the record
            "error": round(prediction - example.label, 6),
        }
        for example, prediction in zip(examples, predictions)
    ]


def output_rows(
    examples: Sequence[Example], feature_outputs: Sequence[np.ndarray], features: Sequence[dict], spec: TaskSpec
) -> list[dict]:
    """For `predict`: the input texts and the predicted score."""
    return [
        {"id": example.id, "texts": list(example.texts), "prediction": round(float(row[0]), 6)}
        for example, row in zip(examples, feature_outputs)
    ]


def label_summary(examples: Sequence[Example], spec: TaskSpec) -> str:
    values = [example.label for example in examples]
    return f"label mean {sum(values) / len(values):.2f}, min {min(values):g}, max {max(values):g}"


def text_names(spec: TaskSpec) -> list[str]:
    return list(spec.fields["texts"])


# What the regression kind shares with classification; its head has one output (num_labels=1: MSE loss).
AUTO_MODEL = AutoModelForSequenceClassification
forward = model_forward
batch_outputs = logits_rows
featurize = featurize_texts
score = score_labels
# to_example(row, spec, labelled=True): one text or a pair, then the score (None for a row to predict)
to_example = partial(texts_example, read_label=_score)
