"""Classification (MARC-ja, JNLI, JCoLA, users' own): one or two texts, one label from a list; accuracy,
macro F1 or MCC."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from transformers import AutoModelForSequenceClassification

from jglue_bench.data.readers import Row
from jglue_bench.errors import DataError
from jglue_bench.tasks.common import (
    Example,
    decode_argmax,
    featurize_texts,
    logits_rows,
    model_forward,
    prediction_probabilities,
    score_labels,
    texts_example,
)
from jglue_bench.tasks.spec import TaskSpec

AUTO_MODEL = AutoModelForSequenceClassification
forward = model_forward
batch_outputs = logits_rows
featurize = featurize_texts
decode = decode_argmax
score = score_labels


def raw_label(row: Row, spec: TaskSpec) -> str:
    """The row's label as written, for inferring a task's labels from its train file."""
    field = spec.fields["label"]
    value = row.values.get(field)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise DataError.at(
            row.path, row.where, field, "a label (a string or an integer)", found=value, missing=field not in row.values
        )
    return str(value)


def label_index(row: Row, spec: TaskSpec) -> int:
    """The index of the row's label in `spec.labels`. A label is matched by name; an integer (or, in CSV and
    TSV, a string of digits) is read as an index when no label name is itself a number, so a 0/1 column with
    `labels: [unacceptable, acceptable]` reads as those two."""
    field, labels = spec.fields["label"], spec.labels
    value = row.values.get(field)
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is not None and text in labels:
        return labels.index(text)
    is_index = isinstance(value, int) or (not row.typed and isinstance(value, str) and value.strip().isdigit())
    if text is not None and is_index and not any(label.lstrip("-").isdigit() for label in labels):
        if 0 <= int(value) < len(labels):
            return int(value)
    names = ", ".join(labels)
    indices = "" if any(label.lstrip("-").isdigit() for label in labels) else f" (or an index 0-{len(labels) - 1})"
    raise DataError.at(
        row.path, row.where, field, f"one of {names}{indices}", found=value, missing=field not in row.values
    )


def head_config(spec: TaskSpec) -> dict[str, Any]:
    return {
        "num_labels": len(spec.labels),
        "id2label": dict(enumerate(spec.labels)),
        "label2id": {label: i for i, label in enumerate(spec.labels)},
    }


def prediction_rows(examples: Sequence[Example], predictions: Sequence[int], spec: TaskSpec) -> list[dict]:
    return [
        {
            "id": example.id,
            "gold": spec.labels[example.label],
            "prediction": spec.labels[prediction],
            "correct": example.label == prediction,
        }
        for example, prediction in zip(examples, predictions)
    ]


def output_rows(
    examples: Sequence[Example], feature_outputs: Sequence[np.ndarray], features: Sequence[dict], spec: TaskSpec
) -> list[dict]:
    """For `predict`: the input texts, the predicted label and every label's probability."""
    return [
        {
            "id": example.id,
            "texts": list(example.texts),
            "prediction": spec.labels[label],
            "probabilities": {name: round(float(p), 6) for name, p in zip(spec.labels, probabilities)},
        }
        for example, (label, probabilities) in zip(examples, prediction_probabilities(feature_outputs))
    ]


def label_summary(examples: Sequence[Example], spec: TaskSpec) -> str:
    counts = Counter(spec.labels[example.label] for example in examples)
    return "labels " + ", ".join(f"{label} {counts[label]}" for label in spec.labels)


def text_names(spec: TaskSpec) -> list[str]:
    return list(spec.fields["texts"])


# to_example(row, spec, labelled=True): one text or a pair, then the label (None for a row to predict)
to_example = partial(texts_example, read_label=label_index)
