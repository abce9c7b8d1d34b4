"""Classification (MARC-ja, JNLI): one or two texts, one label from a fixed list, scored by accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from transformers import AutoModelForSequenceClassification

from jglue_bench.errors import DataError
from jglue_bench.tasks.common import (Example, decode_argmax, featurize_texts, id_field, logits_rows, score_accuracy,
                                      text_field)
from jglue_bench.tasks.spec import TaskSpec

AUTO_MODEL = AutoModelForSequenceClassification
batch_outputs = logits_rows
featurize = featurize_texts
decode = decode_argmax
score = score_accuracy


def to_example(record: Mapping[str, Any], spec: TaskSpec, path: Path, where: int | str) -> Example:
    texts = tuple(text_field(record, field, path, where) for field in spec.fields["texts"])
    label_field = spec.fields["label"]
    label = record.get(label_field)
    # Labels in YAML are strings; a user's file may hold them as integers (0, 1), which match "0", "1".
    name = str(label) if isinstance(label, (str, int)) and not isinstance(label, bool) else None
    if name not in spec.labels:
        raise DataError.at(path, where, label_field, f"one of {', '.join(spec.labels)}", found=label)
    return Example(id_field(record, spec.fields["id"], path, where), texts, spec.labels.index(name), where)


def head_config(spec: TaskSpec) -> dict[str, Any]:
    return {"num_labels": len(spec.labels), "id2label": dict(enumerate(spec.labels)),
            "label2id": {label: i for i, label in enumerate(spec.labels)}}








def prediction_rows(examples: Sequence[Example], predictions: Sequence[int], spec: TaskSpec) -> list[dict]:
    return [{"id": example.id, "gold": spec.labels[example.label], "prediction": spec.labels[prediction],
             "correct": example.label == prediction} for example, prediction in zip(examples, predictions)]
