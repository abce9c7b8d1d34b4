"""Classification (MARC-ja, JNLI): one or two texts, one label from a fixed list, scored by accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from transformers import AutoModelForSequenceClassification

from jglue_bench import metrics
from jglue_bench.errors import DataError
from jglue_bench.tasks.common import Example, encode, id_field, logits_rows, one_feature_per_example, text_field
from jglue_bench.tasks.spec import TaskSpec

AUTO_MODEL = AutoModelForSequenceClassification
batch_outputs = logits_rows


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


def featurize(examples: Sequence[Example], tokenizer, spec: TaskSpec, max_seq_length: int,
              with_token_types: bool) -> list[dict]:
    firsts = [example.texts[0] for example in examples]
    seconds = [example.texts[1] for example in examples] if len(spec.fields["texts"]) > 1 else None
    encoded = encode(tokenizer, firsts, seconds, max_seq_length, with_token_types)
    return one_feature_per_example(examples, encoded, [example.label for example in examples])


def decode(feature_outputs: Sequence[np.ndarray], features: Sequence[dict], examples: Sequence[Example],
           spec: TaskSpec) -> list[int]:
    return [int(np.argmax(row)) for row in feature_outputs]


def score(examples: Sequence[Example], predictions: Sequence[int], spec: TaskSpec) -> dict[str, float]:
    return {"accuracy": metrics.accuracy([example.label for example in examples], predictions)}


def prediction_rows(examples: Sequence[Example], predictions: Sequence[int], spec: TaskSpec) -> list[dict]:
    return [{"id": example.id, "gold": spec.labels[example.label], "prediction": spec.labels[prediction],
             "correct": example.label == prediction} for example, prediction in zip(examples, predictions)]
